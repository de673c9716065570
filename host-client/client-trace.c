/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-output.h"
#include "client-terminal.h"
#include "client-trace.h"

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
	return client_trace_call(conn, "guest-trace-status", NULL, timeout_ms, error);
}

JsonObject *
client_trace_fetch(ClientConn *conn, const gchar *id, guint timeout_ms, GError **error)
{
	g_autoptr(JsonObject) args = NULL;

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
