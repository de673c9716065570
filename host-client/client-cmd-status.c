/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-output.h"
#include "client-target.h"
#include "client-trace.h"
#include "client-terminal.h"

static const gchar status_summary[] =
	"Shows whether the guest's filesystems are frozen (guest-fsfreeze-status) and, with\n"
	"qgatrace-agent, the state of its tracing (guest-trace-status): available or why not,\n"
	"the method, and the newest trace session.";

static const gchar status_description[] =
	"Output:\n"
	"  --json: {\"fsfreeze\": \"thawed\"|\"frozen\", \"trace\": {guest-trace-status}|null}\n\n" CLIENT_HELP_EXIT_STATUS
	"\nExample:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock status\n";

static gboolean
status_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	ClientConn *conn = inv->conn;
	ClientConn *trace_conn;
	g_autoptr(JsonNode) fsfreeze = NULL;
	g_autoptr(JsonObject) trace = NULL;
	g_autoptr(GError) error_trace = NULL;
	g_autofree gchar *safe_state = NULL;
	guint timeout_ms = client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS);
	const gchar *state;
	ClientStyle style;

	fsfreeze = client_conn_execute(conn, "guest-fsfreeze-status", NULL, timeout_ms, error);
	if (fsfreeze == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_VALUE(fsfreeze) ||
	    json_node_get_value_type(fsfreeze) != G_TYPE_STRING) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-fsfreeze-status did not return a string");
		return FALSE;
	}
	state = json_node_get_string(fsfreeze);
	/* guest-trace-status is allowed while frozen: it answers from memory */
	trace_conn = client_target_get_trace_conn(inv->target, error);
	if (trace_conn == NULL)
		return FALSE;
	trace = client_trace_status(trace_conn, timeout_ms, &error_trace);
	if (trace == NULL && !g_error_matches(error_trace, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		g_propagate_error(error, g_steal_pointer(&error_trace));
		return FALSE;
	}
	if (ctx->json) {
		g_autoptr(JsonObject) out = json_object_new();

		json_object_set_string_member(out, "fsfreeze", state);
		if (trace != NULL)
			json_object_set_object_member(out, "trace", json_object_ref(trace));
		else
			json_object_set_null_member(out, "trace");
		client_print_json_object(out, TRUE);
		return TRUE;
	}
	style = g_strcmp0(state, "frozen") == 0 ? CLIENT_STYLE_YELLOW : CLIENT_STYLE_NONE;
	safe_state = client_terminal_escape(state);
	client_print("filesystems  %s%s%s\n", client_style_on(ctx, style), safe_state,
		     client_style_off(ctx, style));
	if (trace == NULL) {
		g_autofree gchar *why = client_terminal_escape(error_trace->message);

		client_print("tracing      not available: %s\n", why);
	} else {
		JsonObject *t = trace;
		JsonObject *last = client_json_object(t, "last-session");

		if (client_json_bool(t, "available", FALSE)) {
			g_autofree gchar *method = client_json_text(t, "method", "?");

			client_print("tracing      available, method %s%s\n", method,
				     client_json_bool(t, "armed", FALSE) ? ", armed" : "");
		} else {
			g_autofree gchar *reason = client_json_text(t, "reason", "no reason given");

			client_print("tracing      not available: %s\n", reason);
		}
		if (last != NULL) {
			g_autofree gchar *session = client_json_text(last, "session", "?");
			g_autofree gchar *source = client_json_text(last, "source", "?");
			g_autofree gchar *last_state = client_json_text(last, "state", "?");

			client_print("last session %s (%s, %s), %" G_GINT64_FORMAT " events, %s\n",
				     session, source, last_state,
				     client_json_int(last, "events", 0),
				     client_json_bool(last, "verified", FALSE) ? "verified"
									       : "not verified");
		}
	}
	return TRUE;
}

const ClientCommand client_cmd_status = {
	.name = "status",
	.summary = "frozen or thawed, and the state of tracing in the guest",
	.help = status_summary,
	.help_tail = status_description,
	.flags = CLIENT_COMMAND_AGENT,
	.run = status_run,
};
