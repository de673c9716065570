/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-output.h"
#include "client-probe.h"
#include "client-terminal.h"

static const gchar fleet_summary[] =
	"One line per domain of the libvirt connection (--connect), running or not: its state,\n"
	"the agent (kind and version, or the doctor's one-line reason it is unreachable), frozen,\n"
	"tracing available, the newest trace session's verdict and when it ended (guest uptime:\n"
	"the guest's monotonic clock is all a session carries), and the kernel log's warnings\n"
	"and errors since the guest booted. Domains are probed in parallel, at most --parallel\n"
	"at once, each within --timeout (default 10 s).";

static const gchar fleet_description[] =
	"Output:\n"
	"  DOMAIN  STATE  FROZEN  TRACING  LAST FREEZE  WARN  ERR  AGENT (or why unreachable)\n"
	"  --json: [{\"domain\", \"state\", \"reachable\": BOOL, \"agent\": STRING|null,\n"
	"    \"agent-version\": STRING|null, \"transport\": \"libvirt\"|\"org.qgatrace.0\"|null,\n"
	"    \"reason\": STRING|null, \"frozen\": BOOL|null, \"tracing\": BOOL|null,\n"
	"    \"last-session\": STRING|null, \"last-result\": \"verified\"|\"not-verified\"|\n"
	"    \"untraced\"|null, \"last-verified\": BOOL|null, \"last-frozen-seconds\": NUMBER|null,\n"
	"    \"last-ended-uptime-seconds\": NUMBER|null, \"kernel-log-warnings\": INT|null,\n"
	"    \"kernel-log-errors\": INT|null, \"probe-seconds\": NUMBER, \"errors\": [KIND]}]\n\n"
	"Exit status: 0 the table was made (whatever the agents said); 1 libvirt failed;\n"
	"2 usage; 3 libvirt is unreachable.\n\n"
	"Examples:\n"
	"  qgatrace --connect qemu:///system fleet\n"
	"  qgatrace fleet --json --parallel 32 --timeout 5\n";

typedef struct {
	gint parallel;
} FleetOptions;

static const FleetOptions fleet_defaults = {.parallel = 8};

static const GOptionEntry fleet_entries[] = {
	{"parallel", 'P', 0, G_OPTION_ARG_INT, CLIENT_OPTION(FleetOptions, parallel),
	 "probe at most N domains at once (default 8)", "N"},
	{NULL},
};

static gboolean
fleet_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	const FleetOptions *opts = options;

	if (ctx->domain != NULL || ctx->agent_path != NULL) {
		client_set_usage_error(error,
				       "fleet looks at every domain: no --domain or --agent");
		return FALSE;
	}
	if (opts->parallel < 1 || opts->parallel > 256) {
		client_set_usage_error(error, "--parallel %d is not from 1 to 256", opts->parallel);
		return FALSE;
	}
	return TRUE;
}

/* a domain's probe, filled in by a pool thread */
typedef struct {
	ClientLibvirt *libvirt; /* a handle of its own on the connection */
	gchar *name;
	ClientProbeOptions options;
	ClientKlog *klog; /* from the oldest record: since boot */
	ClientProbeResult *result;
} FleetRow;

static void
fleet_row_free(FleetRow *row)
{
	client_libvirt_free(row->libvirt);
	g_free(row->name);
	client_klog_free(row->klog);
	client_probe_result_free(row->result);
	g_free(row);
}

static void
fleet_probe(gpointer data, gpointer user_data)
{
	FleetRow *row = data;

	row->result = client_probe_domain(row->libvirt, row->name, &row->options, row->klog);
}

/* 4 (warn) and 0-3 (err, crit, alert, emerg) */
static void
fleet_kernel_log(FleetRow *row, gint64 *warnings, gint64 *errors)
{
	*warnings = -1;
	*errors = -1;
	if (!row->result->kernel_log)
		return;
	*errors = (gint64)client_klog_count_upto(row->klog, 3);
	*warnings = (gint64)client_klog_count_upto(row->klog, 4) - *errors;
}

static JsonNode *
fleet_row_json(FleetRow *row)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	ClientProbeResult *r = row->result;
	ClientProbeSession *last = client_probe_result_last_session(r);
	gint64 warnings;
	gint64 errors;

	fleet_kernel_log(row, &warnings, &errors);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "domain");
	json_builder_add_string_value(b, r->domain);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, r->state);
	json_builder_set_member_name(b, "reachable");
	json_builder_add_boolean_value(b, r->reachable);
	json_builder_set_member_name(b, "agent");
	json_builder_add_string_value(b, r->agent_kind);
	json_builder_set_member_name(b, "agent-version");
	json_builder_add_string_value(b, r->agent_version);
	json_builder_set_member_name(b, "transport");
	json_builder_add_string_value(b, r->transport);
	json_builder_set_member_name(b, "reason");
	json_builder_add_string_value(b, r->reachable ? NULL : r->reason);
#define FLEET_TRISTATE(name, value)                                                                \
	json_builder_set_member_name(b, name);                                                     \
	if ((value) < 0)                                                                           \
		json_builder_add_null_value(b);                                                    \
	else                                                                                       \
		json_builder_add_boolean_value(b, (value) > 0)
	FLEET_TRISTATE("frozen", r->frozen);
	FLEET_TRISTATE("tracing", r->tracing);
	json_builder_set_member_name(b, "last-session");
	json_builder_add_string_value(b, last != NULL ? last->id : NULL);
	json_builder_set_member_name(b, "last-result");
	json_builder_add_string_value(b, last != NULL ? last->result : NULL);
	FLEET_TRISTATE("last-verified",
		       last == NULL ? -1 : g_strcmp0(last->result, "verified") == 0);
#undef FLEET_TRISTATE
	json_builder_set_member_name(b, "last-frozen-seconds");
	if (last != NULL && r->last_frozen_seconds >= 0)
		json_builder_add_double_value(b, r->last_frozen_seconds);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "last-ended-uptime-seconds");
	if (last != NULL && last->ended_ns >= 0)
		json_builder_add_double_value(b, last->ended_ns / 1e9);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "kernel-log-warnings");
	if (warnings >= 0)
		json_builder_add_int_value(b, warnings);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "kernel-log-errors");
	if (errors >= 0)
		json_builder_add_int_value(b, errors);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "probe-seconds");
	json_builder_add_double_value(b, r->duration_seconds);
	json_builder_set_member_name(b, "errors");
	json_builder_begin_array(b);
	for (guint i = 0; i < r->errors->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(r->errors, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static const gchar *
fleet_tristate(gint value, const gchar *yes, const gchar *no)
{
	return value < 0 ? "-" : value > 0 ? yes : no;
}

static void
fleet_print_row(FleetRow *row)
{
	ClientProbeResult *r = row->result;
	ClientProbeSession *last = client_probe_result_last_session(r);
	g_autofree gchar *domain = client_terminal_escape(r->domain);
	g_autofree gchar *agent = NULL;
	g_autofree gchar *freeze = NULL;
	g_autofree gchar *warn = NULL;
	g_autofree gchar *err = NULL;
	gint64 warnings;
	gint64 errors;

	fleet_kernel_log(row, &warnings, &errors);
	if (r->reachable)
		agent = g_strdup_printf("%s %s", r->agent_kind != NULL ? r->agent_kind : "agent",
					r->agent_version != NULL ? r->agent_version : "?");
	else
		agent = client_terminal_escape(r->reason != NULL ? r->reason : "unreachable");
	if (last == NULL)
		freeze = g_strdup("-");
	else if (last->ended_ns >= 0)
		freeze = g_strdup_printf("%s @%" G_GINT64_FORMAT "s", last->result,
					 last->ended_ns / 1000000000);
	else
		freeze = g_strdup(last->result);
	warn = warnings >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, warnings) : g_strdup("-");
	err = errors >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, errors) : g_strdup("-");
	client_print("%-20s %-10s %-7s %-8s %-24s %5s %5s  %s\n", domain, r->state,
		     fleet_tristate(r->frozen, "frozen", "no"),
		     fleet_tristate(r->tracing, "yes", "no"), freeze, warn, err, agent);
}

static gboolean
fleet_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	const FleetOptions *opts = inv->options;
	g_autoptr(ClientLibvirt) libvirt = client_libvirt_connect(ctx->uri, error);
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)fleet_row_free);
	g_auto(GStrv) names = NULL;
	GThreadPool *pool;

	if (libvirt == NULL)
		return FALSE;
	names = client_libvirt_list_domains(libvirt, FALSE, error);
	if (names == NULL)
		return FALSE;
	pool = g_thread_pool_new(fleet_probe, NULL, opts->parallel, FALSE, error);
	if (pool == NULL)
		return FALSE;
	for (guint i = 0; names[i] != NULL; i++) {
		FleetRow *row = g_new0(FleetRow, 1);

		row->libvirt = client_libvirt_open_domain(libvirt, NULL, NULL);
		row->name = g_strdup(names[i]);
		row->klog = client_klog_new();
		row->options.timeout_ms = client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS);
		row->options.klog_level = 4;
		g_ptr_array_add(rows, row);
		g_thread_pool_push(pool, row, NULL);
	}
	/* waits for every probe; each ends within its timeout */
	g_thread_pool_free(pool, FALSE, TRUE);
	if (ctx->json) {
		g_autoptr(JsonArray) out = json_array_new();
		g_autoptr(JsonNode) node = json_node_new(JSON_NODE_ARRAY);

		for (guint i = 0; i < rows->len; i++)
			json_array_add_element(out, fleet_row_json(g_ptr_array_index(rows, i)));
		json_node_set_array(node, out);
		client_print_json(node, TRUE);
		return TRUE;
	}
	client_print("%-20s %-10s %-7s %-8s %-24s %5s %5s  %s\n", "DOMAIN", "STATE", "FROZEN",
		     "TRACING", "LAST FREEZE (uptime)", "WARN", "ERR", "AGENT");
	for (guint i = 0; i < rows->len; i++)
		fleet_print_row(g_ptr_array_index(rows, i));
	return TRUE;
}

const ClientCommand client_cmd_fleet = {
	.name = "fleet",
	.summary = "one table of every domain: agent or why not, frozen, last freeze, kernel log",
	.help = fleet_summary,
	.help_tail = fleet_description,
	.options = fleet_entries,
	.options_size = sizeof(FleetOptions),
	.options_defaults = &fleet_defaults,
	.check = fleet_check,
	.run = fleet_run,
};
