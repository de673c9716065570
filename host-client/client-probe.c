/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-commands.h"
#include "client-output.h"
#include "client-probe.h"
#include "client-trace.h"
#include "qga-error.h"

#define CLIENT_PROBE_MAX_VERSION 64
#define CLIENT_PROBE_MAX_ID	 128

static void
client_probe_session_free(ClientProbeSession *self)
{
	g_free(self->id);
	g_free(self->result);
	g_free(self);
}

void
client_probe_result_free(ClientProbeResult *self)
{
	if (self == NULL)
		return;
	g_free(self->domain);
	g_free(self->state);
	g_free(self->reason);
	g_free(self->transport);
	g_free(self->agent_kind);
	g_free(self->agent_version);
	g_ptr_array_unref(self->sessions);
	g_ptr_array_unref(self->errors);
	g_free(self);
}

ClientProbeSession *
client_probe_result_last_session(ClientProbeResult *self)
{
	for (guint i = self->sessions->len; i > 0; i--) {
		ClientProbeSession *session = g_ptr_array_index(self->sessions, i - 1);

		if (session->result != NULL)
			return session;
	}
	return NULL;
}

/* the probe under way: its budget and what it found */
typedef struct {
	ClientProbeResult *result;
	const ClientProbeOptions *options;
	ClientContext *ctx;
	ClientTarget *target;
	gint64 deadline; /* monotonic µs */
} ClientProbe;

/* what is left of the budget, in ms (0: spent) */
static guint
client_probe_left_ms(ClientProbe *p)
{
	gint64 left = (p->deadline - g_get_monotonic_time()) / 1000;

	return left > 0 ? (guint)left : 0;
}

static void
client_probe_error(ClientProbe *p, const GError *error)
{
	const gchar *kind = "agent";

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		kind = "timeout";
	else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
		kind = "invalid-reply";
	else if (client_error_is_unreachable(error))
		kind = "unreachable";
	g_debug("probe of '%s': %s", p->result->domain, error->message);
	g_ptr_array_add(p->result->errors, g_strdup(kind));
}

/* @command on @conn within what is left; a spent budget is a timeout */
static JsonNode *
client_probe_execute(ClientProbe *p, ClientConn *conn, const gchar *command, JsonObject *args)
{
	g_autoptr(GError) error_local = NULL;
	guint left = client_probe_left_ms(p);
	JsonNode *reply;

	if (left == 0) {
		g_set_error(&error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no time left for '%s'",
			    command);
		client_probe_error(p, error_local);
		return NULL;
	}
	reply = client_conn_execute(conn, command, args, left, &error_local);
	if (reply == NULL)
		client_probe_error(p, error_local);
	return reply;
}

/* a string the guest sent, kept only when short and printable */
static gchar *
client_probe_guest_text(const gchar *text, gsize max)
{
	if (text == NULL || strlen(text) > max)
		return NULL;
	for (const gchar *c = text; *c != '\0'; c++) {
		if (!g_ascii_isprint(*c))
			return NULL;
	}
	return g_strdup(text);
}

const gchar *
client_probe_session_result(JsonObject *summary)
{
	const gchar *state = client_json_string(summary, "state");

	if (g_strcmp0(state, "untraced") == 0)
		return "untraced";
	if (g_strcmp0(state, "collected") != 0)
		return NULL;
	return client_json_bool(summary, "verified", FALSE) ? "verified" : "not-verified";
}

/* the agent answers guest-ping: through libvirt, else on org.qgatrace.0 */
static ClientConn *
client_probe_ping(ClientProbe *p)
{
	g_autoptr(GError) error_local = NULL;
	ClientConn *conn = client_target_get_conn(p->target, &error_local);
	gdouble start = client_now_ms();
	g_autoptr(JsonNode) pong = NULL;

	if (conn != NULL) {
		pong = client_probe_execute(p, conn, "guest-ping", NULL);
		if (pong != NULL) {
			p->result->ping_seconds = (client_now_ms() - start) / 1000.0;
			p->result->transport = g_strdup("libvirt");
			return conn;
		}
	} else {
		client_probe_error(p, error_local);
		g_clear_error(&error_local);
	}
	/* qgatrace-agent may serve its own port alone */
	p->ctx->timeout_ms = MAX(client_probe_left_ms(p), 1);
	conn = client_target_get_trace_port(p->target, &error_local);
	if (conn == NULL) {
		if (error_local != NULL)
			client_probe_error(p, error_local);
		return NULL;
	}
	start = client_now_ms();
	pong = client_probe_execute(p, conn, "guest-ping", NULL);
	if (pong == NULL)
		return NULL;
	p->result->ping_seconds = (client_now_ms() - start) / 1000.0;
	p->result->transport = g_strdup(CLIENT_PORT_QGATRACE);
	return conn;
}

static void
client_probe_info(ClientProbe *p, ClientConn *conn)
{
	g_autoptr(GError) error_local = NULL;
	guint left = client_probe_left_ms(p);
	JsonObject *info = left > 0 ? client_conn_get_info(conn, left, &error_local) : NULL;

	if (info == NULL) {
		if (error_local != NULL)
			client_probe_error(p, error_local);
		return;
	}
	p->result->agent_kind =
		g_strdup(client_conn_has_command(conn, "guest-trace-fetch", NULL) ? "qgatrace-agent"
										  : "qemu-ga");
	p->result->agent_version = client_probe_guest_text(client_json_string(info, "version"),
							   CLIENT_PROBE_MAX_VERSION);
}

static void
client_probe_frozen(ClientProbe *p, ClientConn *conn)
{
	g_autoptr(JsonNode) status = client_probe_execute(p, conn, "guest-fsfreeze-status", NULL);
	const gchar *text;

	if (status == NULL)
		return;
	text = JSON_NODE_HOLDS_VALUE(status) && json_node_get_value_type(status) == G_TYPE_STRING
		       ? json_node_get_string(status)
		       : NULL;
	if (g_strcmp0(text, "frozen") == 0)
		p->result->frozen = 1;
	else if (g_strcmp0(text, "thawed") == 0)
		p->result->frozen = 0;
	else
		g_ptr_array_add(p->result->errors, g_strdup("invalid-reply"));
}

/* the newest session's longest frozen mount, from guest-trace-fetch */
static gdouble
client_probe_frozen_seconds(ClientProbe *p, ClientConn *conn, const gchar *id)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonObject) session = NULL;
	JsonArray *verification;
	gint64 longest = -1;
	guint left = client_probe_left_ms(p);

	if (left == 0)
		return -1;
	session = client_trace_fetch(conn, id, left, &error_local);
	if (session == NULL) {
		client_probe_error(p, error_local);
		return -1;
	}
	verification = client_json_array(session, "verification");
	for (guint i = 0; verification != NULL && i < json_array_get_length(verification); i++) {
		gint64 ns =
			client_json_int(client_json_array_object(verification, i), "frozen-ns", -1);

		longest = MAX(longest, ns);
	}
	return longest >= 0 ? longest / 1e9 : -1;
}

static void
client_probe_trace(ClientProbe *p, ClientConn *conn)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonObject) status = NULL;
	ClientProbeSession *last;
	JsonArray *sessions;
	guint n;
	guint left = client_probe_left_ms(p);

	if (left == 0)
		return;
	status = client_trace_status(conn, left, &error_local);
	if (status == NULL) {
		/* an agent without tracing says so: that is an answer, not a failure */
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
			p->result->tracing = 0;
		else
			client_probe_error(p, error_local);
		return;
	}
	p->result->tracing = client_json_bool(status, "available", FALSE) ? 1 : 0;
	sessions = client_json_array(status, "sessions");
	n = sessions != NULL ? json_array_get_length(sessions) : 0;
	for (guint i = n > CLIENT_PROBE_MAX_SESSIONS ? n - CLIENT_PROBE_MAX_SESSIONS : 0; i < n;
	     i++) {
		JsonObject *summary = client_json_array_object(sessions, i);
		ClientProbeSession *session;
		g_autofree gchar *id = client_probe_guest_text(
			client_json_string(summary, "session"), CLIENT_PROBE_MAX_ID);
		const gchar *result = client_probe_session_result(summary);

		if (id == NULL) {
			g_ptr_array_add(p->result->errors, g_strdup("invalid-reply"));
			continue;
		}
		session = g_new0(ClientProbeSession, 1);
		session->id = g_steal_pointer(&id);
		session->result = g_strdup(result);
		session->started_ns = MAX(client_json_int(summary, "started-ns", -1), -1);
		session->ended_ns = MAX(client_json_int(summary, "ended-ns", -1), -1);
		g_ptr_array_add(p->result->sessions, session);
	}
	last = client_probe_result_last_session(p->result);
	if (last == NULL || g_strcmp0(last->result, "untraced") == 0)
		return;
	if (g_strcmp0(last->id, p->options->known_session) == 0)
		p->result->last_frozen_seconds = p->options->known_frozen_seconds;
	else if (p->result->frozen != 1) /* a frozen agent refuses guest-trace-fetch */
		p->result->last_frozen_seconds = client_probe_frozen_seconds(p, conn, last->id);
}

static void
client_probe_kernel_log(ClientProbe *p, ClientConn *conn, ClientKlog *klog)
{
	gboolean enabled = FALSE;

	if (!client_conn_has_command(conn, "guest-dmesg", &enabled) || !enabled)
		return;
	for (guint page = 0; page < CLIENT_PROBE_KLOG_PAGES; page++) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(JsonObject) args = client_klog_next_args(klog, p->options->klog_level);
		g_autoptr(JsonNode) reply = client_probe_execute(p, conn, "guest-dmesg", args);
		gboolean more = FALSE;

		if (reply == NULL)
			return;
		if (!client_klog_apply(klog, reply, &more, &error_local)) {
			client_probe_error(p, error_local);
			return;
		}
		p->result->kernel_log = TRUE;
		if (!more)
			return;
	}
}

/* the agent's half, once it answered */
static void
client_probe_agent(ClientProbe *p, ClientConn *conn, ClientKlog *klog)
{
	g_autoptr(GError) error_local = NULL;
	ClientConn *trace_conn = conn;

	client_probe_info(p, conn);
	client_probe_frozen(p, conn);
	if (g_strcmp0(p->result->transport, "libvirt") == 0) {
		/* the second port serves what only qgatrace-agent has */
		p->ctx->timeout_ms = MAX(client_probe_left_ms(p), 1);
		trace_conn = client_target_get_trace_conn(p->target, &error_local);
		if (trace_conn == NULL) {
			client_probe_error(p, error_local);
			trace_conn = conn;
		} else if (trace_conn != conn && client_probe_left_ms(p) > 0) {
			client_conn_get_info(trace_conn, client_probe_left_ms(p), NULL);
		}
	}
	client_probe_trace(p, trace_conn);
	if (klog != NULL && p->options->klog_level >= 0)
		client_probe_kernel_log(p, trace_conn, klog);
}

ClientProbeResult *
client_probe_domain(ClientLibvirt *conn, const gchar *domain, const ClientProbeOptions *options,
		    ClientKlog *klog)
{
	g_autoptr(ClientProbeResult) result = g_new0(ClientProbeResult, 1);
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(ClientTarget) target = NULL;
	g_autoptr(GError) error_local = NULL;
	ClientLibvirt *lv;
	ClientConn *agent;
	ClientProbe p = {result, options, ctx, NULL, 0};
	gint64 start = g_get_monotonic_time();

	result->domain = g_strdup(domain);
	result->ping_seconds = -1;
	result->frozen = -1;
	result->tracing = -1;
	result->last_frozen_seconds = -1;
	result->sessions =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_probe_session_free);
	result->errors = g_ptr_array_new_with_free_func(g_free);
	p.deadline = start + (gint64)MAX(options->timeout_ms, 1) * 1000;
	ctx->domain = g_strdup(domain);
	ctx->json = TRUE;
	ctx->quiet = TRUE;
	ctx->command = "probe";
	ctx->timeout_ms = MAX(options->timeout_ms, 1);
	target = client_target_new(ctx);
	p.target = target;
	lv = client_libvirt_open_domain(conn, domain, &error_local);
	if (lv == NULL) {
		g_ptr_array_add(result->errors, g_strdup("libvirt"));
		result->state = g_strdup("gone");
		result->reason = g_strdup(error_local->message);
		return g_steal_pointer(&result);
	}
	client_target_set_libvirt(target, lv);
	result->state = client_libvirt_get_state(lv, &result->running, &error_local);
	if (result->state == NULL) {
		g_ptr_array_add(result->errors, g_strdup("libvirt"));
		result->state = g_strdup("unknown");
		g_clear_error(&error_local);
	}
	agent = result->running ? client_probe_ping(&p) : NULL;
	if (agent != NULL) {
		result->reachable = TRUE;
		client_probe_agent(&p, agent, klog);
	} else {
		/* the doctor's checks up to the first failure: cheap (libvirt's view)
		 * unless the agent itself hangs, and then within what is left */
		client_target_close_conn(target);
		ctx->timeout_ms = MAX(client_probe_left_ms(&p), 1);
		result->reason = client_cmd_doctor_diagnose(ctx, target, NULL);
	}
	result->duration_seconds = (g_get_monotonic_time() - start) / 1e6;
	return g_steal_pointer(&result);
}

/* ---- sessions counted once ---- */

static const gchar *const client_probe_results[] = {"verified", "not-verified", "untraced", NULL};

struct _ClientProbeTally {
	GHashTable *seen; /* "ID@STARTED" */
	guint64 counts[CLIENT_PROBE_RESULTS];
};

ClientProbeTally *
client_probe_tally_new(void)
{
	ClientProbeTally *self = g_new0(ClientProbeTally, 1);

	self->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return self;
}

void
client_probe_tally_free(ClientProbeTally *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->seen);
	g_free(self);
}

static gchar *
client_probe_tally_key(ClientProbeSession *session)
{
	return g_strdup_printf("%s@%" G_GINT64_FORMAT, session->id, session->started_ns);
}

void
client_probe_tally_add(ClientProbeTally *self, ClientProbeResult *result)
{
	for (guint i = 0; i < result->sessions->len; i++) {
		ClientProbeSession *s = g_ptr_array_index(result->sessions, i);
		g_autofree gchar *key = NULL;

		if (s->result == NULL)
			continue;
		key = client_probe_tally_key(s);
		if (g_hash_table_contains(self->seen, key))
			continue;
		for (guint r = 0; r < CLIENT_PROBE_RESULTS; r++) {
			if (g_strcmp0(s->result, client_probe_results[r]) == 0)
				self->counts[r]++;
		}
		g_hash_table_add(self->seen, g_steal_pointer(&key));
	}
	if (g_hash_table_size(self->seen) > CLIENT_PROBE_TALLY_MAX) {
		g_autoptr(GHashTable) keep =
			g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

		for (guint i = 0; i < result->sessions->len; i++)
			g_hash_table_add(keep, client_probe_tally_key(
						       g_ptr_array_index(result->sessions, i)));
		g_hash_table_unref(self->seen);
		self->seen = g_steal_pointer(&keep);
	}
}

guint64
client_probe_tally_get(ClientProbeTally *self, const gchar *result)
{
	for (guint r = 0; r < CLIENT_PROBE_RESULTS; r++) {
		if (g_strcmp0(result, client_probe_results[r]) == 0)
			return self->counts[r];
	}
	return 0;
}

const gchar *const *
client_probe_tally_results(void)
{
	return client_probe_results;
}
