/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-output.h"
#include "client-trace.h"
#include "client-verdict.h"

static const gchar trace_summary[] =
	"Shows a trace session: what the guest kernel recorded around one freeze/thaw cycle of\n"
	"qgatrace-agent (or of stock qemu-ga with the qgatrace fsfreeze hook), and the agent's\n"
	"verdict per mountpoint, made from those kernel events only (freeze_super and thaw_super\n"
	"with the filesystem's own freeze ops, or the FIFREEZE/FITHAW syscall tracepoints when the\n"
	"function tracer is unavailable), never from what the ioctls returned. Without --session,\n"
	"the newest session. --list shows the sessions the agent keeps.\n\n"
	"An agent without tracing (stock qemu-ga) is an error that says so.\n\n"
	"Trust: all of it is the guest's word, which a compromised guest can forge (qgatrace(1), TRUST).";

static const gchar trace_description[] =
	"Output:\n"
	"  the session (id, source, state, method, events, lost events), each mountpoint VERIFIED\n"
	"  or NOT VERIFIED with its frozen interval, the tasks the freeze stalled (\"stalled:\n"
	"  postgres (pid 812) 2.90 s\", the longest first) and why not, then the events.\n"
	"  --json: the session as guest-trace-fetch returns it: {\"session\", \"source\", \"state\",\n"
	"  \"method\", \"verified\", \"events\": [{\"ts-ns\", \"cpu\", \"pid\", \"comm\", \"function\",\n"
	"  \"parent\", ...}], \"lost-events\", \"verification\": [{\"mountpoint\", \"verified\",\n"
	"  \"freeze-ts-ns\", \"thaw-ts-ns\", \"frozen-ns\", \"fs-ops\", \"reason\", ...}], \"stalls\":\n"
	"  [{\"pid\", \"comm\", \"mountpoint\", \"first-blocked-ns\", \"blocked-ns\"}],\n"
	"  \"stalls-complete\", ...};\n"
	"  with --list, guest-trace-status.\n\n" CLIENT_HELP_EXIT_STATUS "\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock trace\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock trace --list\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --json trace --session SESSION-ID\n";

static gboolean
trace_list(ClientContext *ctx, ClientConn *conn, GError **error)
{
	g_autoptr(JsonObject) status = client_trace_status(
		conn, client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
	JsonArray *sessions;

	if (status == NULL)
		return FALSE;
	if (ctx->json) {
		client_print_json_object(status, TRUE);
		return TRUE;
	}
	if (client_json_bool(status, "available", FALSE)) {
		g_autofree gchar *method = client_json_text(status, "method", "?");

		client_print("tracing: available, method %s\n", method);
	} else {
		g_autofree gchar *reason = client_json_text(status, "reason", "?");

		client_print("tracing: not available: %s\n", reason);
	}
	sessions = client_json_array(status, "sessions");
	if (sessions == NULL || json_array_get_length(sessions) == 0) {
		client_print("no trace sessions yet\n");
		return TRUE;
	}
	client_print("%-32s %-15s %-10s %-20s %7s  %s\n", "SESSION", "SOURCE", "STATE",
		     "STARTED (s)", "EVENTS", "VERDICT");
	for (guint i = 0; i < json_array_get_length(sessions); i++) {
		JsonObject *s = client_json_array_object(sessions, i);
		g_autofree gchar *started = client_format_monotonic_ns(
			(guint64)MAX(client_json_int(s, "started-ns", 0), 0));
		g_autofree gchar *id = client_json_text(s, "session", "?");
		g_autofree gchar *source = client_json_text(s, "source", "?");
		g_autofree gchar *state = client_json_text(s, "state", "?");

		client_print("%-32s %-15s %-10s %-20s %7" G_GINT64_FORMAT "  %s\n", id, source,
			     state, started, client_json_int(s, "events", 0),
			     client_json_bool(s, "verified", FALSE) ? "verified" : "not verified");
	}
	return TRUE;
}

typedef struct {
	gchar *session_id;
	gboolean list;
} TraceOptions;

static const GOptionEntry trace_entries[] = {
	{"session", 's', 0, G_OPTION_ARG_STRING, CLIENT_OPTION(TraceOptions, session_id),
	 "the session to show (default: the newest)", "ID"},
	{"list", 'l', 0, G_OPTION_ARG_NONE, CLIENT_OPTION(TraceOptions, list),
	 "list the sessions the agent keeps", NULL},
	{NULL},
};

static gboolean
trace_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	const TraceOptions *opts = options;

	if (opts->list && opts->session_id != NULL) {
		client_set_usage_error(error, "--list and --session exclude each other");
		return FALSE;
	}
	return TRUE;
}

static gboolean
trace_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	const TraceOptions *opts = inv->options;
	g_autoptr(JsonObject) session = NULL;
	g_autoptr(JsonArray) mountpoints = NULL;
	g_autofree gchar *summary = NULL;
	g_autofree gchar *events = NULL;
	g_autofree gchar *hooks = NULL;
	ClientConn *conn = client_target_get_trace_conn(inv->target, error);

	if (conn == NULL)
		return FALSE;
	if (opts->list)
		return trace_list(ctx, conn, error);
	session = client_trace_fetch(conn, opts->session_id,
				     client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS),
				     error);
	if (session == NULL)
		return FALSE;
	if (ctx->json) {
		client_print_json_object(session, TRUE);
		return TRUE;
	}
	summary = client_trace_format_summary(ctx, session);
	client_print("%s", summary);
	hooks = client_trace_format_hooks(ctx, session);
	client_print("%s", hooks);
	mountpoints = client_verdict_mountpoints(NULL, session, NULL, NULL);
	for (guint i = 0; i < json_array_get_length(mountpoints); i++) {
		g_autofree gchar *text =
			client_verdict_format(ctx, client_json_array_object(mountpoints, i));

		client_print("\n%s", text);
	}
	if (json_array_get_length(mountpoints) == 0)
		client_print("\nno mountpoint was frozen in this session\n");
	events = client_trace_format_events(session);
	if (events[0] != '\0')
		client_print("\nevents:\n%s", events);
	return TRUE;
}

const ClientCommand client_cmd_trace = {
	.name = "trace",
	.summary = "show a trace session: what the guest kernel recorded, per-mount verdicts",
	.help = trace_summary,
	.help_tail = trace_description,
	.options = trace_entries,
	.options_size = sizeof(TraceOptions),
	.flags = CLIENT_COMMAND_AGENT,
	.check = trace_check,
	.run = trace_run,
};
