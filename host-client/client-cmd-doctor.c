/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client-commands.h"
#include "client-output.h"
#include "client-terminal.h"
#include "client-trace.h"

static const gchar doctor_summary[] =
	"Diagnoses \"the agent is not connected\" step by step and says what to fix. One line per\n"
	"check, then a verdict:\n\n"
	"  - libvirt (--domain): the connection, the domain running, the channel configured in its\n"
	"    XML and its state='connected' (libvirt's view of whether the guest opened the port);\n"
	"  - the channel's host socket: present, a socket, writable by us;\n"
	"  - QEMU (--qmp): query-chardev's frontend-open (has the guest opened the port, i.e. does\n"
	"    an agent run on it?) and whether another host client holds the socket (QEMU serves\n"
	"    one at a time: a second client's connect() succeeds but is never answered);\n"
	"  - connect, then the 0xFF + guest-sync-delimited handshake and its round trip (through\n"
	"    libvirt: guest-ping, behind libvirt's own guest-sync);\n"
	"  - the agent: its version, which commands are disabled, the freeze commands, the state\n"
	"    of the filesystems;\n"
	"  - tracing in the guest (guest-trace-status: available, method, or why not) and the\n"
	"    kernel log export (guest-dmesg).";

static const gchar doctor_description[] =
	"Output:\n"
	"  '\u2713 NAME  DETAIL' or '\u2717 NAME  DETAIL' with 'fix: ...' below, '-' for a check not made,\n"
	"  then 'verdict: ...'. --json: {\"ok\": BOOL, \"reachable\": BOOL, \"verdict\": STRING,\n"
	"  \"checks\": [{\"name\", \"ok\": BOOL|null, \"detail\", \"fix\": STRING|null}]}\n\n"
	"Exit status: 0 every check passed; 1 the agent answers but a check failed (no tracing,\n"
	"commands disabled, frozen); 2 usage; 3 the agent is unreachable.\n\n"
	"Examples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --qmp /run/vm1/qmp.sock doctor\n"
	"  qgatrace --domain vm1 doctor\n"
	"  qgatrace --domain vm1 --port org.qgatrace.0 doctor\n";

typedef struct {
	ClientContext *ctx;
	ClientTarget *target;
	JsonArray *checks;
	gchar *verdict; /* the first failure's fix, or the summary */
	gboolean failed;
	gboolean unreachable;
} Doctor;

/* @ok: 1 passed, 0 failed, -1 not made */
static void doctor_check(Doctor *d, const gchar *name, gint ok, const gchar *fix,
			 const gchar *format, ...) G_GNUC_PRINTF(5, 6);

static void
doctor_check(Doctor *d, const gchar *name, gint ok, const gchar *fix, const gchar *format, ...)
{
	JsonObject *check = json_object_new();
	g_autofree gchar *detail = NULL;
	va_list ap;

	va_start(ap, format);
	detail = g_strdup_vprintf(format, ap);
	va_end(ap);
	json_object_set_string_member(check, "name", name);
	if (ok < 0)
		json_object_set_null_member(check, "ok");
	else
		json_object_set_boolean_member(check, "ok", ok > 0);
	json_object_set_string_member(check, "detail", detail);
	json_object_set_string_member(check, "fix", ok == 0 ? fix : NULL);
	json_array_add_object_element(d->checks, check);
	if (ok == 0 && !d->failed) {
		d->failed = TRUE;
		d->verdict = g_strdup_printf("%s: %s%s%s", name, detail,
					     fix != NULL ? "; fix: " : "", fix != NULL ? fix : "");
	}
	if (!d->ctx->json && !d->ctx->quiet) {
		ClientStyle style = ok > 0    ? CLIENT_STYLE_GREEN
				    : ok == 0 ? CLIENT_STYLE_BOLD_RED
					      : CLIENT_STYLE_DIM;
		/* it quotes the agent: its version, its error texts */
		g_autofree gchar *safe_detail = client_terminal_escape(detail);

		client_print("%s%s%s %-18s %s\n", client_style_on(d->ctx, style),
			     ok < 0 ? CLIENT_MARK_SKIPPED : client_mark(ok > 0),
			     client_style_off(d->ctx, style), name, safe_detail);
		if (ok == 0 && fix != NULL)
			client_print("  %-18s fix: %s\n", "", fix);
		fflush(stdout);
	}
}

/* the libvirt half: connection, domain state, channel; the socket path, or NULL for libvirt's agent */
static gboolean
doctor_libvirt(Doctor *d, gchar **socket_path, gboolean *via_libvirt)
{
	ClientContext *ctx = d->ctx;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(ClientDomainXml) xml = NULL;
	g_autofree gchar *state = NULL;
	const gchar *port = ctx->port != NULL ? ctx->port : CLIENT_PORT_QEMU_GA;
	const ClientDomainChannel *channel;
	ClientLibvirt *lv;
	gboolean running = FALSE;

	lv = client_target_get_libvirt(d->target, &error_local);
	if (lv == NULL) {
		doctor_check(
			d, "libvirt", 0,
			g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
				? "check the name with 'virsh list --all' (and --connect URI)"
				: "is libvirtd running? is --connect right? (root or the libvirt group for qemu:///system)",
			"%s", error_local->message);
		d->unreachable = TRUE;
		return FALSE;
	}
	doctor_check(d, "libvirt", 1, NULL, "connected to %s, domain '%s'",
		     client_libvirt_get_uri(lv), ctx->domain);
	state = client_libvirt_get_state(lv, &running, &error_local);
	if (state == NULL || !running) {
		/* a panicked guest resumed runs nothing: its log first, then a new boot */
		doctor_check(
			d, "domain running", 0,
			g_strcmp0(state, "crashed") == 0
				? "its kernel panicked: save its log with 'qgatrace --domain NAME "
				  "dmesg --from-memory --save-dir DIR', then 'virsh destroy' and "
				  "'virsh start'"
				: "start or resume it: 'virsh start' / 'virsh resume'",
			"the domain is %s", state != NULL ? state : error_local->message);
		d->unreachable = TRUE;
		return FALSE;
	}
	doctor_check(d, "domain running", 1, NULL, "running");
	g_clear_error(&error_local);
	xml = client_libvirt_get_xml(lv, &error_local);
	if (xml == NULL) {
		doctor_check(d, "channel", 0, NULL, "%s", error_local->message);
		d->unreachable = TRUE;
		return FALSE;
	}
	channel = client_domain_xml_find_channel(xml, port);
	if (channel == NULL) {
		g_autofree gchar *fix = g_strdup_printf(
			"add <channel type='unix'><target type='virtio' name='%s'/></channel> to the domain "
			"(virsh edit), then restart it",
			port);

		doctor_check(d, "channel", 0, fix, "the domain has no channel '%s'", port);
		d->unreachable = TRUE;
		return FALSE;
	}
	doctor_check(d, "channel", 1, NULL, "'%s' (%s%s%s)", port, channel->type,
		     channel->path != NULL ? ", " : "", channel->path != NULL ? channel->path : "");
	if (channel->state != NULL && g_strcmp0(channel->state, "connected") != 0) {
		doctor_check(
			d, "channel state", 0,
			"start the agent in the guest (systemctl start qgatrace-agent or qemu-guest-agent); "
			"if it runs, libvirt may hold a stale state after a libvirtd restart: restart the "
			"agent in the guest to reopen the port",
			"state='%s': the guest has not opened port '%s' (libvirt's view)",
			channel->state, port);
		d->unreachable = TRUE;
	} else {
		doctor_check(d, "channel state", channel->state != NULL ? 1 : -1, NULL, "%s",
			     channel->state != NULL
				     ? "state='connected': the guest has opened the port"
				     : "libvirt reports no state for this channel");
	}
	*via_libvirt = g_strcmp0(port, CLIENT_PORT_QEMU_GA) == 0;
	if (!*via_libvirt) {
		if (channel->path == NULL) {
			doctor_check(d, "socket", 0, "give the channel a unix source",
				     "channel '%s' has no socket path", port);
			d->unreachable = TRUE;
			return FALSE;
		}
		*socket_path = g_strdup(channel->path);
	}
	return !d->unreachable;
}

/* the socket file and QEMU's view of it; FALSE when connecting is pointless */
static gboolean
doctor_socket(Doctor *d, const gchar *path)
{
	ClientContext *ctx = d->ctx;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(ClientChardev) chardev = NULL;
	struct stat st;
	ClientQmp *qmp;

	if (stat(path, &st) < 0) {
		gint errsv = errno;

		doctor_check(
			d, "socket", 0,
			"is the VM running? its QEMU needs -chardev socket,path=...,server=on,wait=off on "
			"this path, with a virtserialport using it",
			"'%s': %s", path, g_strerror(errsv));
		d->unreachable = TRUE;
		return FALSE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		doctor_check(d, "socket", 0, "--agent wants the host end of the agent's channel",
			     "'%s' is not a socket", path);
		d->unreachable = TRUE;
		return FALSE;
	}
	if (access(path, W_OK) < 0) {
		doctor_check(d, "socket", 0, "run as root, or as the socket's owner or group",
			     "'%s': no permission to connect (%s)", path, g_strerror(errno));
		d->unreachable = TRUE;
		return FALSE;
	}
	doctor_check(d, "socket", 1, NULL, "'%s' is a socket we may connect to", path);
	if (ctx->qmp_path == NULL) {
		doctor_check(d, "guest port open", -1, NULL,
			     "not checked: give --qmp SOCKET for QEMU's view");
		return TRUE;
	}
	qmp = client_target_get_qmp(d->target, &error_local);
	if (qmp == NULL) {
		doctor_check(d, "QMP", 0,
			     "check --qmp (QEMU's -mon chardev=...,mode=control socket)", "%s",
			     error_local->message);
		return TRUE;
	}
	doctor_check(d, "QMP", 1, NULL, "QEMU %s at '%s'", client_qmp_get_version(qmp),
		     ctx->qmp_path);
	chardev = client_qmp_find_chardev(qmp, path, &error_local);
	if (chardev == NULL) {
		doctor_check(d, "guest port open", 0,
			     "--agent and --qmp must belong to the same VM", "%s",
			     error_local->message);
		return TRUE;
	}
	if (!chardev->frontend_open) {
		doctor_check(
			d, "guest port open", 0,
			"start the agent in the guest (systemctl start qgatrace-agent, or qemu-guest-agent), "
			"and check it is started on this port (qgatrace-agent -p PORT-NAME)",
			"no: chardev '%s' has frontend-open false: the agent is not running in the guest "
			"(nothing has opened its virtio-serial port)",
			chardev->label);
		d->unreachable = TRUE;
	} else {
		doctor_check(d, "guest port open", 1, NULL,
			     "yes: chardev '%s' has frontend-open true", chardev->label);
	}
	if (chardev->host_connected) {
		doctor_check(
			d, "host side free", 0,
			"find the other client (ss -xp | grep the socket path) and stop it, or give this "
			"tool its own channel: QEMU serves one client per socket",
			"another host client is connected to '%s' right now: our connect() would queue behind it",
			path);
		d->unreachable = TRUE;
	} else {
		doctor_check(d, "host side free", 1, NULL, "no other host client holds the socket");
	}
	return !d->unreachable;
}

/* the agent that serves the trace sessions, and where they come from:
 * Returns: (transfer none): @conn or the second port, NULL when that failed */
static ClientConn *
doctor_trace_agent(Doctor *d, ClientConn *conn)
{
	g_autoptr(GError) error_local = NULL;
	ClientConn *port = client_target_get_trace_port(d->target, &error_local);
	ClientConn *trace_conn = port != NULL ? port : conn;
	guint timeout_ms = client_context_timeout_ms(d->ctx, CLIENT_TIMEOUT_DEFAULT_MS);

	if (port == NULL && error_local != NULL) {
		doctor_check(d, "trace agent", 0,
			     "start qgatrace-agent on that port, or leave the port out", "%s",
			     error_local->message);
		return NULL;
	}
	doctor_check(d, "trace agent", 1, NULL, "%s",
		     port != NULL ? client_conn_describe(port)
				  : "the same agent (no second port: --trace-agent, or "
				    "org.qgatrace.0 in the domain)");
	client_conn_get_info(trace_conn, timeout_ms, NULL);
	doctor_check(d, "session source", 1, NULL, "%s",
		     client_conn_has_command(trace_conn, "guest-trace-fetch", NULL)
			     ? "guest-trace-fetch (qgatrace-agent)"
			     : CLIENT_TRACE_SOURCE_HOOK);
	return trace_conn;
}

static void
doctor_agent(Doctor *d, ClientConn *conn)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonObject) trace = NULL;
	g_autoptr(JsonNode) frozen = NULL;
	guint timeout_ms = client_context_timeout_ms(d->ctx, CLIENT_TIMEOUT_DEFAULT_MS);
	g_autoptr(GString) disabled = g_string_new(NULL);
	JsonObject *info;
	JsonArray *supported;
	ClientConn *trace_conn;
	guint n = 0;
	gboolean enabled = FALSE;
	static const gchar *const freeze_cmds[] = {"guest-fsfreeze-freeze",
						   "guest-fsfreeze-freeze-list",
						   "guest-fsfreeze-thaw", "guest-fsfreeze-status",
						   NULL};

	info = client_conn_get_info(conn, timeout_ms, &error_local);
	if (info == NULL) {
		doctor_check(d, "agent", 0, NULL, "guest-info: %s", error_local->message);
		return;
	}
	supported = client_json_array(info, "supported_commands");
	for (guint i = 0; supported != NULL && i < json_array_get_length(supported); i++) {
		JsonObject *c = client_json_array_object(supported, i);

		n++;
		if (!client_json_bool(c, "enabled", TRUE))
			g_string_append_printf(disabled, "%s%s", disabled->len > 0 ? ", " : "",
					       client_json_string(c, "name"));
	}
	doctor_check(d, "agent", 1, NULL, "%s %s, %u commands",
		     client_conn_has_command(conn, "guest-trace-fetch", NULL) ? "qgatrace-agent"
									      : "qemu-ga",
		     client_json_string(info, "version") != NULL
			     ? client_json_string(info, "version")
			     : "?",
		     n);
	doctor_check(d, "disabled commands", 1, NULL, "%s",
		     disabled->len > 0 ? disabled->str : "none");
	for (guint i = 0; freeze_cmds[i] != NULL; i++) {
		if (!client_conn_has_command(conn, freeze_cmds[i], &enabled) || !enabled) {
			doctor_check(
				d, "freeze commands", 0,
				"enable it: remove it from the agent's --block-rpcs / add it to --allow-rpcs",
				"%s is %s", freeze_cmds[i],
				client_conn_has_command(conn, freeze_cmds[i], NULL) ? "disabled"
										    : "missing");
			break;
		}
		if (freeze_cmds[i + 1] == NULL)
			doctor_check(d, "freeze commands", 1, NULL,
				     "freeze, freeze-list, thaw and status enabled");
	}
	frozen = client_conn_execute(conn, "guest-fsfreeze-status", NULL, timeout_ms, NULL);
	if (frozen != NULL && JSON_NODE_HOLDS_VALUE(frozen) &&
	    g_strcmp0(json_node_get_string(frozen), "frozen") == 0)
		doctor_check(d, "filesystems", 0,
			     "'qgatrace thaw', once whoever froze them is done",
			     "frozen now: the agent refuses most commands until a thaw");
	else if (frozen != NULL)
		doctor_check(d, "filesystems", 1, NULL, "thawed");
	g_clear_error(&error_local);
	trace_conn = doctor_trace_agent(d, conn);
	if (trace_conn == NULL)
		return;
	trace = client_trace_status(trace_conn, timeout_ms, &error_local);
	if (trace == NULL && g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		doctor_check(d, "tracing", 0,
			     "install qgatrace-agent in the guest (or qemu-ga's qgatrace fsfreeze "
			     "hook, with guest-file-* allowed or qgatrace-agent on a second port)",
			     "%s", error_local->message);
	} else if (trace == NULL) {
		doctor_check(d, "tracing", 0, NULL, "%s", error_local->message);
	} else if (!client_json_bool(trace, "available", FALSE)) {
		doctor_check(
			d, "tracing", 0,
			"the reason says what the guest kernel refused: tracefs mounted? lockdown? "
			"CONFIG_FUNCTION_TRACER? the agent run as root?",
			"not available in the guest: %s",
			client_json_string(trace, "reason") != NULL
				? client_json_string(trace, "reason")
				: "no reason given");
	} else {
		const gchar *note = client_json_string(trace, "reason");

		doctor_check(d, "tracing", 1, NULL, "available, method %s%s%s%s",
			     client_json_string(trace, "method") != NULL
				     ? client_json_string(trace, "method")
				     : "?",
			     note != NULL ? " (" : "", note != NULL ? note : "",
			     note != NULL ? ")" : "");
	}
	if (client_conn_has_command(conn, "guest-dmesg", &enabled))
		doctor_check(d, "kernel log", enabled ? 1 : 0,
			     "the agent's config disables it ([dmesg] enabled)", "guest-dmesg %s",
			     enabled ? "enabled" : "disabled");
	else
		doctor_check(d, "kernel log", -1, NULL, "the agent has no guest-dmesg");
}

/* the checks in order; stops at the first one that makes the rest pointless */
static void
doctor_run_checks(Doctor *d)
{
	ClientContext *ctx = d->ctx;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *path = NULL;
	gboolean via_libvirt = FALSE;
	guint timeout_ms = client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS);
	g_autoptr(ClientConn) socket_conn = NULL;

	if (ctx->domain != NULL) {
		if (!doctor_libvirt(d, &path, &via_libvirt))
			return;
	} else {
		path = g_strdup(ctx->agent_path);
	}
	if (path != NULL && !doctor_socket(d, path)) {
		doctor_check(d, "handshake", -1, NULL, "not tried: see above");
		return;
	}
	if (via_libvirt) {
		g_autoptr(JsonNode) pong = NULL;
		ClientConn *conn = client_target_get_conn(d->target, &error_local);
		gdouble start;

		start = client_now_ms();
		pong = conn != NULL ? client_conn_execute(conn, "guest-ping", NULL, timeout_ms,
							  &error_local)
				    : NULL;
		if (pong == NULL) {
			doctor_check(
				d, "guest-ping", 0,
				"start the agent in the guest; 'virsh qemu-agent-command DOMAIN "
				"'{\"execute\":\"guest-ping\"}'' shows libvirt's own view",
				"through libvirt: %s", error_local->message);
			d->unreachable = TRUE;
			return;
		}
		doctor_check(d, "guest-ping", 1, NULL,
			     "through libvirt's agent API in %.1f ms (with its guest-sync)",
			     client_now_ms() - start);
		doctor_agent(d, conn);
		return;
	}
	/* the steps of client_target_get_conn() apart, each checked */
	socket_conn = client_conn_new_socket(path, NULL, &error_local);
	if (socket_conn == NULL) {
		doctor_check(d, "connect", 0, "is the VM running?", "%s", error_local->message);
		d->unreachable = TRUE;
		return;
	}
	doctor_check(d, "connect", 1, NULL, "connected to '%s'", path);
	if (!client_conn_handshake(socket_conn, timeout_ms, &error_local)) {
		doctor_check(
			d, "handshake", 0,
			"the agent is not running in the guest, is hung, or another host client holds "
			"the socket; give --qmp to tell which",
			"%s", error_local->message);
		d->unreachable = TRUE;
		return;
	}
	doctor_check(d, "handshake", 1, NULL, "0xFF + guest-sync-delimited answered in %.1f ms",
		     client_conn_get_handshake_ms(socket_conn));
	doctor_agent(d, socket_conn);
}

static gboolean
doctor_check_target(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	if (ctx->domain == NULL && ctx->agent_path == NULL) {
		client_set_usage_error(error, "no agent given: use --agent PATH or --domain NAME");
		return FALSE;
	}
	if (ctx->domain != NULL && ctx->agent_path != NULL) {
		client_set_usage_error(error, "give --agent or --domain, not both");
		return FALSE;
	}
	return TRUE;
}

#define DOCTOR_ALL_PASSED "every check passed: the agent is reachable and can prove a freeze"

gchar *
client_cmd_doctor_diagnose(ClientContext *ctx, ClientTarget *target, gboolean *unreachable)
{
	g_autoptr(JsonArray) checks = json_array_new();
	Doctor d = {ctx, target, checks, NULL, FALSE, FALSE};

	doctor_run_checks(&d);
	if (unreachable != NULL)
		*unreachable = d.unreachable;
	return d.verdict != NULL ? d.verdict : g_strdup(DOCTOR_ALL_PASSED);
}

/* not CLIENT_COMMAND_AGENT: an agent that cannot be reached is what it diagnoses */
static gboolean
doctor_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	g_autoptr(JsonArray) checks = json_array_new();
	Doctor d = {ctx, inv->target, checks, NULL, FALSE, FALSE};

	doctor_run_checks(&d);
	if (d.verdict == NULL)
		d.verdict = g_strdup(DOCTOR_ALL_PASSED);
	if (ctx->json) {
		g_autoptr(JsonObject) out = json_object_new();

		json_object_set_boolean_member(out, "ok", !d.failed);
		json_object_set_boolean_member(out, "reachable", !d.unreachable);
		json_object_set_string_member(out, "verdict", d.verdict);
		json_object_set_array_member(out, "checks", json_array_ref(checks));
		client_print_json_object(out, TRUE);
	} else {
		g_autofree gchar *verdict = client_terminal_escape(d.verdict);

		client_print("\nverdict: %s\n", verdict);
	}
	g_free(d.verdict);
	client_cli_set_exit(ctx, d.unreachable ? CLIENT_EXIT_UNREACHABLE
				 : d.failed    ? CLIENT_EXIT_FAILED
					       : CLIENT_EXIT_OK);
	return TRUE;
}

const ClientCommand client_cmd_doctor = {
	.name = "doctor",
	.summary = "diagnose an unreachable agent step by step, and say what to fix",
	.help = doctor_summary,
	.help_tail = doctor_description,
	.check = doctor_check_target,
	.run = doctor_run,
};
