/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-guest-file.h"
#include "client-output.h"
#include "client-terminal.h"
#include "client-trace.h"
#include "qga-codec.h"
#include "qga-session-index.h"

/* an agent that serves sessions itself lists guest-trace-fetch, enabled or not */
static gboolean
client_trace_agent_serves(ClientConn *conn, guint timeout_ms)
{
	client_conn_get_info(conn, timeout_ms, NULL);
	return client_conn_has_command(conn, "guest-trace-fetch", NULL);
}

/* a guest file the hook wrote, through qemu-ga; an agent that cannot
 * give it is one without tracing, said with the way out */
static GBytes *
client_trace_hook_file(ClientConn *conn, const gchar *path, gsize max, guint timeout_ms,
		       GError **error)
{
	g_autoptr(GError) error_local = NULL;
	GBytes *bytes = client_guest_file_read(conn, path, max, timeout_ms, &error_local);

	if (bytes != NULL)
		return bytes;
	if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    CLIENT_TRACE_HOOK_REFUSED_FMT, error_local->message);
	else if (error_local->domain == QGA_ERROR)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    CLIENT_TRACE_HOOK_MISSING_FMT, path, error_local->message);
	else
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "reading '%s' through qemu-ga: ", path);
	return NULL;
}

/* the ids the hook's index lists, newest first */
static GStrv
client_trace_hook_ids(ClientConn *conn, guint timeout_ms, GError **error)
{
	g_autoptr(GBytes) bytes = client_trace_hook_file(conn, QGA_SESSION_INDEX_PATH,
							 QGA_SESSION_INDEX_MAX, timeout_ms, error);
	gsize len = 0;
	const gchar *text;

	if (bytes == NULL)
		return NULL;
	text = g_bytes_get_data(bytes, &len);
	return qga_session_index_parse(text != NULL ? text : "", len, error);
}

static JsonObject *
client_trace_hook_status(ClientConn *conn, guint timeout_ms, GError **error)
{
	g_auto(GStrv) ids = client_trace_hook_ids(conn, timeout_ms, error);
	JsonObject *status;
	JsonArray *sessions;

	if (ids == NULL)
		return NULL;
	/* guest-trace-status's shape, with what an index tells */
	status = json_object_new();
	sessions = json_array_new();
	json_object_set_boolean_member(status, "enabled", TRUE);
	json_object_set_boolean_member(status, "available", TRUE);
	json_object_set_string_member(status, "method", "fsfreeze-hook");
	json_object_set_null_member(status, "reason");
	json_object_set_string_member(status, "session-source", CLIENT_TRACE_SOURCE_HOOK);
	for (guint i = 0; ids[i] != NULL; i++) {
		JsonObject *entry = json_object_new();

		json_object_set_string_member(entry, "session", ids[i]);
		json_object_set_string_member(entry, "source", "qemu-ga");
		if (i == 0)
			json_object_set_object_member(status, "last-session",
						      json_object_ref(entry));
		json_array_add_object_element(sessions, entry);
	}
	json_object_set_array_member(status, "sessions", sessions);
	return status;
}

static JsonObject *
client_trace_hook_fetch(ClientConn *conn, const gchar *id, guint timeout_ms, GError **error)
{
	g_auto(GStrv) ids = client_trace_hook_ids(conn, timeout_ms, error);
	g_autofree gchar *name = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonObject *session;
	const gchar *text;
	gsize len = 0;

	if (ids == NULL)
		return NULL;
	if (id == NULL)
		id = ids[0];
	/* only what the hook listed: the host never guesses a guest path */
	if (id == NULL || !g_strv_contains((const gchar *const *)ids, id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the hook's index (%s) lists no session%s%s%s", QGA_SESSION_INDEX_PATH,
			    id != NULL ? " '" : "", id != NULL ? id : "", id != NULL ? "'" : "");
		return NULL;
	}
	name = g_strdup_printf("%s.json", id);
	path = g_build_filename(QGA_SESSION_DIR, name, NULL);
	bytes = client_trace_hook_file(conn, path, QGA_SESSION_FILE_MAX, timeout_ms, error);
	if (bytes == NULL)
		return NULL;
	text = g_bytes_get_data(bytes, &len);
	/* the reply's limits: the file is the guest's as much as a reply is */
	node = qga_decoder_parse_one(text != NULL ? text : "", len, QGA_SESSION_FILE_MAX,
				     &error_local);
	session = node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	if (session == NULL || g_strcmp0(client_json_string(session, "session"), id) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' does not hold trace session '%s'%s%s", path, id,
			    error_local != NULL ? ": " : "",
			    error_local != NULL ? error_local->message : "");
		return NULL;
	}
	json_object_set_string_member(session, "session-source", CLIENT_TRACE_SOURCE_HOOK);
	return json_object_ref(session);
}

static JsonObject *
client_trace_call(ClientConn *conn, const gchar *command, JsonObject *args, guint timeout_ms,
		  GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonNode) ret =
		client_conn_execute(conn, command, args, timeout_ms, &error_local);

	if (ret == NULL) {
		/* disabled (or refused while frozen) is not lacking */
		if (client_error_is_command_not_found(error_local) &&
		    strstr(error_local->message, "has been disabled") == NULL) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
					    CLIENT_TRACE_LACKING);
			return NULL;
		}
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local), "%s: ", command);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT(ret)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s did not return an object", command);
		return NULL;
	}
	return json_object_ref(json_node_get_object(ret));
}

JsonObject *
client_trace_status(ClientConn *conn, guint timeout_ms, GError **error)
{
	if (!client_trace_agent_serves(conn, timeout_ms))
		return client_trace_hook_status(conn, timeout_ms, error);
	return client_trace_call(conn, "guest-trace-status", NULL, timeout_ms, error);
}

JsonObject *
client_trace_fetch(ClientConn *conn, const gchar *id, guint timeout_ms, GError **error)
{
	g_autoptr(JsonObject) args = NULL;

	if (!client_trace_agent_serves(conn, timeout_ms))
		return client_trace_hook_fetch(conn, id, timeout_ms, error);
	if (id != NULL) {
		args = json_object_new();
		json_object_set_string_member(args, "session", id);
	}
	return client_trace_call(conn, "guest-trace-fetch", args, timeout_ms, error);
}

gchar *
client_trace_format_summary(ClientContext *ctx, JsonObject *session)
{
	GString *out = g_string_new(NULL);
	JsonArray *events = client_json_array(session, "events");
	JsonObject *lost = client_json_object(session, "lost-events");
	JsonArray *notes = client_json_array(session, "notes");
	gint64 started = client_json_int(session, "started-ns", -1);
	gint64 ended = client_json_int(session, "ended-ns", -1);
	g_autofree gchar *id = client_json_text(session, "session", "?");
	g_autofree gchar *source = client_json_text(session, "source", "?");
	g_autofree gchar *state = client_json_text(session, "state", "?");
	g_autofree gchar *method = client_json_text(session, "method", "?");
	g_autofree gchar *reason = client_json_text(session, "reason", NULL);
	g_autofree gchar *failure = client_json_text(session, "error", NULL);

	g_string_append_printf(out, "session      %s (%s), %s, method %s\n", id, source, state,
			       method);
	if (started >= 0) {
		g_autofree gchar *s = client_format_monotonic_ns((guint64)started);

		if (ended >= 0 && ended >= started) {
			g_autofree gchar *d = client_format_duration_ns((guint64)(ended - started));

			g_string_append_printf(out, "armed        %s s, for %s\n", s, d);
		} else {
			g_string_append_printf(out, "armed        %s s\n", s);
		}
	}
	g_string_append_printf(out, "events       %u recorded, %" G_GINT64_FORMAT " lost%s\n",
			       events != NULL ? json_array_get_length(events) : 0,
			       client_json_int(lost, "total", 0),
			       client_json_bool(session, "complete", FALSE) ? " (complete)"
									    : " (INCOMPLETE)");
	if (reason != NULL)
		g_string_append_printf(out, "method note  %s\n", reason);
	if (failure != NULL)
		g_string_append_printf(out, "%serror%s        %s\n",
				       client_style_on(ctx, CLIENT_STYLE_RED),
				       client_style_off(ctx, CLIENT_STYLE_RED), failure);
	for (guint i = 0; notes != NULL && i < json_array_get_length(notes); i++) {
		JsonNode *n = json_array_get_element(notes, i);

		if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
			g_string_append(out, "note         ");
			client_terminal_append(out, json_node_get_string(n), -1);
			g_string_append_c(out, '\n');
		}
	}
	return g_string_free(out, FALSE);
}

/* "exit status 0", "killed by signal 9", ...: how @hook ended */
static gchar *
client_trace_hook_outcome(ClientContext *ctx, JsonObject *hook)
{
	gint64 status = client_json_int(hook, "exit-status", -1);
	gint64 signal = client_json_int(hook, "signal", -1);
	g_autofree gchar *error = client_json_text(hook, "error", NULL);

	if (client_json_bool(hook, "timed-out", FALSE))
		return g_strdup_printf("%sTIMED OUT%s and killed",
				       client_style_on(ctx, CLIENT_STYLE_RED),
				       client_style_off(ctx, CLIENT_STYLE_RED));
	if (status == 0)
		return g_strdup("exit status 0");
	if (status > 0)
		return g_strdup_printf("%sexit status %" G_GINT64_FORMAT "%s",
				       client_style_on(ctx, CLIENT_STYLE_RED), status,
				       client_style_off(ctx, CLIENT_STYLE_RED));
	if (signal >= 0)
		return g_strdup_printf("%skilled by signal %" G_GINT64_FORMAT "%s",
				       client_style_on(ctx, CLIENT_STYLE_RED), signal,
				       client_style_off(ctx, CLIENT_STYLE_RED));
	if (error != NULL)
		return g_strdup_printf("%snot run%s: %s", client_style_on(ctx, CLIENT_STYLE_RED),
				       client_style_off(ctx, CLIENT_STYLE_RED), error);
	return g_strdup("ended, status not known");
}

gchar *
client_trace_format_hooks(ClientContext *ctx, JsonObject *session)
{
	GString *out = g_string_new(NULL);
	JsonArray *hooks = client_json_array(session, "hooks");

	for (guint i = 0; hooks != NULL && i < json_array_get_length(hooks); i++) {
		JsonObject *hook = client_json_array_object(hooks, i);
		gint64 duration = client_json_int(hook, "duration-ns", -1);
		const gchar *tail = client_json_string(hook, "output-tail");
		const gchar *text = tail != NULL ? tail : "";
		g_autofree gchar *phase = client_json_text(hook, "phase", "?");
		/* stock qemu-ga's scripts are known by name only */
		g_autofree gchar *path = client_json_string(hook, "path") != NULL
						 ? client_json_text(hook, "path", "?")
						 : client_json_text(hook, "comm", "?");
		g_autofree gchar *outcome = NULL;
		g_auto(GStrv) lines = NULL;

		if (hook == NULL)
			continue;
		outcome = client_trace_hook_outcome(ctx, hook);
		g_string_append_printf(out, "hook         %s %s: %s", phase, path, outcome);
		if (duration >= 0) {
			g_autofree gchar *d = client_format_duration_ns((guint64)duration);

			g_string_append_printf(out, ", %s", d);
		}
		g_string_append_c(out, '\n');
		/* the agent bounds it; a lying one is cut at the same 20 lines */
		lines = g_strsplit(text, "\n", 21);
		for (guint k = 0; lines[k] != NULL && k < 20 && *text != '\0'; k++) {
			g_string_append(out, "             | ");
			client_terminal_append(out, lines[k], -1);
			g_string_append_c(out, '\n');
		}
	}
	return g_string_free(out, FALSE);
}

gchar *
client_trace_format_events(JsonObject *session)
{
	GString *out = g_string_new(NULL);
	JsonArray *events = client_json_array(session, "events");

	if (events == NULL || json_array_get_length(events) == 0)
		return g_string_free(out, FALSE);
	g_string_append_printf(out, "  %-20s %3s %7s %-16s %s\n", "TIME (s)", "CPU", "PID", "COMM",
			       "FUNCTION <- CALLER");
	for (guint i = 0; i < json_array_get_length(events); i++) {
		JsonObject *e = client_json_array_object(events, i);
		g_autofree gchar *ts =
			client_format_monotonic_ns((guint64)MAX(client_json_int(e, "ts-ns", 0), 0));
		g_autofree gchar *comm = client_json_text(e, "comm", "?");
		g_autofree gchar *function = client_json_text(e, "function", NULL);
		g_autofree gchar *parent = client_json_text(e, "parent", NULL);
		g_autofree gchar *event = client_json_text(e, "event", "?");

		if (parent == NULL)
			parent = client_json_text(e, "parent-ip", "?");
		g_string_append_printf(out,
				       "  %-20s %3" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %-16s ",
				       ts, client_json_int(e, "cpu", -1),
				       client_json_int(e, "pid", -1), comm);
		if (function != NULL)
			g_string_append_printf(out, "%s <- %s\n", function, parent);
		else
			g_string_append_printf(out, "%s\n", event);
	}
	return g_string_free(out, FALSE);
}
