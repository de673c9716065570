/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "bench-common.h"

/* Workload 5: what each agent costs the guest. Both are restarted the way the guest's /init
 * starts them, so that "after start" means it; their RSS is read once they answer, again after
 * a mix of requests, and then their wakeups (voluntary context switches of all their threads)
 * are counted while no host is connected, both over the same seconds, inside the guest. */

#define WORKLOAD "footprint"

enum { AGENT_QGATRACE, AGENT_QEMU_GA, N_AGENTS };

typedef struct {
	const gchar *name;   /* for qgatrace-vm-agent */
	const gchar *socket; /* vm_guest_socket() */
	const gchar *port;
} FootprintAgent;

static const FootprintAgent agents[N_AGENTS] = {
	{"qgatrace-agent", "qgatrace", "/dev/virtio-ports/org.qgatrace.0"},
	{"qemu-ga", "qga", "/dev/virtio-ports/org.qemu.guest_agent.0"},
};

/* read-only commands both agents answer, from the cheapest to guest-info's whole list */
static const gchar *const request_mix[] = {"guest-ping", "guest-get-time", "guest-fsfreeze-status",
					   "guest-get-osinfo", "guest-info"};

static gchar *
pidfile_of(guint agent)
{
	return g_strdup_printf("/run/%s.vm-pid", agents[agent].name);
}

static gboolean
restart(BenchContext *ctx, guint agent, GError **error)
{
	g_autofree gchar *pidfile = pidfile_of(agent);

	if (!bench_guest_run(ctx, error, "qgatrace-vm-agent stop %s && qgatrace-vm-agent start %s",
			     agents[agent].name, agents[agent].name) ||
	    !bench_guest_wait_port(ctx, pidfile, agents[agent].port, error)) {
		g_prefix_error(error, "restarting %s: ", agents[agent].name);
		return FALSE;
	}
	return TRUE;
}

/* Returns: (transfer full): a guest command printing the sum of a /proc/PID/status field
 * over the threads of each agent, in agent order */
static gchar *
status_sum_cmd(const guint *pids, const gchar *field)
{
	GString *cmd = g_string_new(NULL);

	for (guint k = 0; k < N_AGENTS; k++) {
		g_string_append_printf(cmd,
				       "cat /proc/%u/task/*/status | awk '/^%s:/ { n += $2 } "
				       "END { printf \"%%d \", n }'; ",
				       pids[k], field);
	}
	return g_string_free(cmd, FALSE);
}

/* @values: (out caller-allocates) (array fixed-size=N_AGENTS) */
static gboolean
parse_numbers(const gchar *output, guint n, gdouble *values, GError **error)
{
	g_auto(GStrv) words = g_strsplit(output, " ", -1);

	if (g_strv_length(words) != n) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "expected %u numbers from the guest, got '%s'", n, output);
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		guint64 number;

		if (!g_ascii_string_to_unsigned(words[i], 10, 0, G_MAXUINT64, &number, error))
			return FALSE;
		values[i] = (gdouble)number;
	}
	return TRUE;
}

/* @rss_kb: (out caller-allocates) (array fixed-size=2 * N_AGENTS): VmRSS of each agent,
 * then RssAnon of each */
static gboolean
read_rss(BenchContext *ctx, const guint *pids, gdouble *rss_kb, GError **error)
{
	/* threads share the address space: the main thread's status is the process's */
	g_autofree gchar *line = g_strdup_printf("for f in VmRSS RssAnon; do awk -v f=\"$f:\" "
						 "'$1 == f { printf \"%%d \", $2 }' "
						 "/proc/%u/status /proc/%u/status; done",
						 pids[AGENT_QGATRACE], pids[AGENT_QEMU_GA]);
	g_autofree gchar *output = vm_guest_shell_ok(ctx->guest, line, error);

	return output != NULL && parse_numbers(output, 2 * N_AGENTS, rss_kb, error);
}

/* @per_s: (out caller-allocates) (array fixed-size=N_AGENTS): voluntary switches a second */
static gboolean
count_wakeups(BenchContext *ctx, const guint *pids, guint seconds, gdouble *per_s, GError **error)
{
	g_autofree gchar *sum = status_sum_cmd(pids, "voluntary_ctxt_switches");
	/* a second first, for the agents to be done with the hang-up */
	g_autofree gchar *line = g_strdup_printf("sleep 1; %s sleep %u; %s", sum, seconds, sum);
	g_autofree gchar *output = vm_guest_shell_ok(ctx->guest, line, error);
	gdouble counts[2 * N_AGENTS];

	if (output == NULL || !parse_numbers(output, 2 * N_AGENTS, counts, error))
		return FALSE;
	for (guint k = 0; k < N_AGENTS; k++)
		per_s[k] = (counts[N_AGENTS + k] - counts[k]) / seconds;
	return TRUE;
}

/* requests from the mix to both agents in turn */
static gboolean
send_requests(BenchContext *ctx, guint n, GError **error)
{
	QgaClient *clients[N_AGENTS] = {NULL};
	gboolean ok = TRUE;

	for (guint k = 0; ok && k < N_AGENTS; k++) {
		clients[k] = bench_context_connect(ctx, agents[k].socket, error);
		ok = clients[k] != NULL;
	}
	for (guint i = 0; ok && i < n; i++) {
		for (guint k = 0; ok && k < N_AGENTS; k++) {
			g_autoptr(JsonNode) reply =
				qga_client_execute(clients[k],
						   request_mix[i % G_N_ELEMENTS(request_mix)], NULL,
						   error);

			ok = reply != NULL;
		}
	}
	/* the wakeup count wants no host connected */
	for (guint k = 0; k < N_AGENTS; k++)
		g_clear_pointer(&clients[k], qga_client_free);
	return ok;
}

static void
print_pair(const gchar *metric, const gchar *unit, const gdouble *values, const gchar *target,
	   guint samples, const gchar *note)
{
	BenchResult result = {
		.workload = WORKLOAD,
		.metric = metric,
		.unit = unit,
		.value = values[AGENT_QGATRACE],
		.baseline = "qemu-ga",
		.baseline_value = values[AGENT_QEMU_GA],
		.target = target,
		.samples = samples,
		.note = note,
	};

	bench_result_print(&result);
}

static gboolean
run(BenchContext *ctx, GError **error)
{
	guint n = bench_context_iterations(ctx, 1000, 1000, 20);
	guint seconds = bench_context_iterations(ctx, 10, 10, 2);
	guint pids[N_AGENTS];
	gdouble rss_start[2 * N_AGENTS];
	gdouble rss_after[2 * N_AGENTS];
	gdouble wakeups[N_AGENTS];
	g_autofree gchar *metric = g_strdup_printf("RSS after %u requests", n);
	g_autofree gchar *metric_anon = g_strdup_printf("private (RssAnon) after %u requests", n);
	/* the guest's root is an initramfs: the pages of binaries and libraries
	 * count as RssShmem there, as RssFile (page cache) on a disk */
	const gchar *anon_note =
		"anonymous memory only: VmRSS also counts the library pages touched";
	g_autofree gchar *note = g_strdup_printf("no host connected, over %u s", seconds);

	for (guint k = 0; k < N_AGENTS; k++) {
		g_autofree gchar *pidfile = pidfile_of(k);

		if (!restart(ctx, k, error))
			return FALSE;
		pids[k] = bench_guest_read_pid(ctx, pidfile, error);
		if (pids[k] == 0)
			return FALSE;
	}
	if (!read_rss(ctx, pids, rss_start, error) || !send_requests(ctx, n, error) ||
	    !read_rss(ctx, pids, rss_after, error) ||
	    !count_wakeups(ctx, pids, seconds, wakeups, error))
		return FALSE;
	print_pair("RSS after start", "kB", rss_start, "ratio <= 1.0", 1, NULL);
	print_pair(metric, "kB", rss_after, "ratio <= 1.0", n, NULL);
	print_pair("private (RssAnon) after start", "kB", rss_start + N_AGENTS, NULL, 1, anon_note);
	print_pair(metric_anon, "kB", rss_after + N_AGENTS, NULL, n, anon_note);
	print_pair("idle wakeups", "/s", wakeups, "value <= 0", seconds, note);
	return TRUE;
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-footprint", run);
}
