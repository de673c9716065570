/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "bench-common.h"
#include "bench-observer.h"

/* Workload 2: freeze-list + thaw of /mnt/data, cycle after cycle, on three agents in turn:
 * qgatrace-agent tracing (the one /init started), a second qgatrace-agent with --no-trace on
 * the spare port, and stock qemu-ga. The thaw is sent as soon as the freeze returns. The
 * frozen window the host sees runs from the freeze's reply to the thaw's: the filesystem is
 * frozen all along, and whatever tracing does between the two ioctls lands in it; arming the
 * tracer before the freeze does not, it is in the freeze latency and the whole cycle. The
 * frozen interval as the kernel saw it comes from the bench's own observer in the guest
 * (bench-observer.h), the same for all three agents, and for the traced agent also from its
 * own record (guest-trace-fetch's verification). */

#define WORKLOAD   "freeze"
#define MOUNTPOINT "/mnt/data"

enum { AGENT_TRACED, AGENT_UNTRACED, AGENT_QEMU_GA, N_AGENTS };

static const gchar *const agent_names[N_AGENTS] = {"qgatrace", "qgatrace --no-trace", "qemu-ga"};

/* the host's: the frozen window is the thaw's latency, the thaw goes out as the freeze's
 * reply comes in; then the observer's frozen interval */
enum {
	SERIES_FREEZE,
	SERIES_WINDOW,
	SERIES_CYCLE,
	N_HOST_SERIES,
	SERIES_OBSERVED = N_HOST_SERIES,
	N_SERIES
};

/* where each agent's pid is in the guest, for the observer's records */
static const gchar *const agent_pidfiles[N_AGENTS] = {
	"/run/qgatrace-agent.vm-pid", "/run/bench-untraced.pid", "/run/qemu-ga.vm-pid"};

typedef struct {
	guint agent;
	gboolean timed;
} FreezeCycle;

typedef struct {
	GArray *series[N_AGENTS][N_SERIES]; /* of gdouble, ms */
	GArray *kernel_frozen;		    /* of gdouble, ms: the traced agent's cycles */
	GArray *cycles;			    /* of FreezeCycle: every cycle the observer saw */
} FreezeSamples;

#define UNTRACED_CMD                                                                                         \
	"mkdir -p /run/bench-untraced && exec /usr/bin/qgatrace-agent -m virtio-serial -p " BENCH_SPARE_PORT \
	" -t /run/bench-untraced --no-trace </dev/null "                                                     \
	">/run/bench-untraced.log 2>&1"

/* the agent collects a session once the thaw's reply is out: how long to wait for it */
#define COLLECT_POLLS	100
#define COLLECT_POLL_US 100000

/* Returns: (transfer full): the newest session once collected, or NULL with @error */
static JsonNode *
fetch_collected(QgaClient *traced, GError **error)
{
	for (guint i = 0; i < COLLECT_POLLS; i++) {
		g_autoptr(JsonNode) session =
			qga_client_execute(traced, "guest-trace-fetch", NULL, error);

		if (session == NULL)
			return NULL;
		if (!JSON_NODE_HOLDS_OBJECT(session) ||
		    g_strcmp0(json_object_get_string_member_with_default(
				      json_node_get_object(session), "state", NULL),
			      "armed") != 0)
			return g_steal_pointer(&session);
		g_usleep(COLLECT_POLL_US);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		    "the newest trace session is still not collected");
	return NULL;
}

/* Returns: the frozen interval of MOUNTPOINT in the newest session, in ms, or -1 with @error */
static gdouble
kernel_frozen_ms(QgaClient *traced, GError **error)
{
	g_autoptr(JsonNode) session = fetch_collected(traced, error);
	JsonNode *member;
	JsonArray *verification = NULL;

	if (session == NULL)
		return -1.0;
	member = JSON_NODE_HOLDS_OBJECT(session)
			 ? json_object_get_member(json_node_get_object(session), "verification")
			 : NULL;
	if (member != NULL && JSON_NODE_HOLDS_ARRAY(member))
		verification = json_node_get_array(member);
	for (guint i = 0; verification != NULL && i < json_array_get_length(verification); i++) {
		JsonObject *verdict = json_array_get_object_element(verification, i);
		JsonNode *frozen_ns = json_object_get_member(verdict, "frozen-ns");

		if (g_strcmp0(json_object_get_string_member_with_default(verdict, "mountpoint",
									 NULL),
			      MOUNTPOINT) != 0)
			continue;
		if (frozen_ns == NULL || JSON_NODE_HOLDS_NULL(frozen_ns))
			break;
		return json_node_get_int(frozen_ns) / 1e6;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "the newest trace session has no frozen interval of '%s'", MOUNTPOINT);
	return -1.0;
}

/* @samples: NULL for the warm-up */
static gboolean
cycle(QgaClient *client, guint agent, FreezeSamples *samples, GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonArray) mountpoints = json_array_new();
	gdouble freeze_us;
	gdouble thaw_us;
	gdouble kernel_ms;

	json_array_add_string_element(mountpoints, MOUNTPOINT);
	json_object_set_array_member(args, "mountpoints", g_steal_pointer(&mountpoints));
	freeze_us = bench_time_execute_us(client, "guest-fsfreeze-freeze-list", args, error);
	if (freeze_us < 0)
		return FALSE;
	thaw_us = bench_time_execute_us(client, "guest-fsfreeze-thaw", NULL, error);
	if (thaw_us < 0) {
		g_prefix_error(error, "'%s' left '%s' frozen: ", agent_names[agent], MOUNTPOINT);
		return FALSE;
	}
	if (agent == AGENT_TRACED) {
		kernel_ms = kernel_frozen_ms(client, error);
		if (kernel_ms < 0)
			return FALSE;
		if (samples != NULL)
			g_array_append_val(samples->kernel_frozen, kernel_ms);
	}
	if (samples != NULL) {
		gdouble ms[N_HOST_SERIES] = {freeze_us / 1000.0, thaw_us / 1000.0,
					     (freeze_us + thaw_us) / 1000.0};
		for (guint s = 0; s < N_HOST_SERIES; s++)
			g_array_append_val(samples->series[agent][s], ms[s]);
	}
	return TRUE;
}

/*
 * The first freeze after a quiet spell waits for RCU grace periods in freeze_super()
 * (percpu_down_write() of the superblock's write levels): ~40 ms under TCG, against ~5 ms
 * right after another freeze (measured with busybox fsfreeze, no agent, no tracing), so
 * every timed cycle comes right after an untimed one, by another agent: qemu-ga before
 * qgatrace's, the --no-trace agent before qemu-ga's. Never by the same agent: a cycle right
 * after one of the same process is faster under TCG, kernel part included (qemu-ga after
 * qemu-ga 3.8 ms freeze_super to thaw_super, after the --no-trace agent 5.9 ms, by the
 * observer). A warm-up through the test shell comes too late: cold again.
 */
static guint
warmer_of(guint agent)
{
	return agent == AGENT_QEMU_GA ? AGENT_UNTRACED : AGENT_QEMU_GA;
}

static gboolean
run_cycles(QgaClient **clients, FreezeSamples *samples, guint n, GError **error)
{
	for (guint i = 0; i < n; i++) {
		for (guint k = 0; k < N_AGENTS; k++) {
			guint agent = (i + k) % N_AGENTS;
			FreezeCycle warm = {warmer_of(agent), FALSE};
			FreezeCycle timed = {agent, TRUE};

			if (!cycle(clients[warm.agent], warm.agent, NULL, error)) {
				g_prefix_error(error, "warming up before %s: ", agent_names[agent]);
				return FALSE;
			}
			if (!cycle(clients[agent], agent, samples, error)) {
				g_prefix_error(error, "%s: ", agent_names[agent]);
				return FALSE;
			}
			if (samples != NULL) {
				g_array_append_val(samples->cycles, warm);
				g_array_append_val(samples->cycles, timed);
			}
		}
	}
	return TRUE;
}

/* The observer's intervals, one for each cycle run, each by the agent that ran it, go to
 * the timed cycles' agents. */
static gboolean
assign_observed(BenchContext *ctx, FreezeSamples *samples, GArray *intervals, GError **error)
{
	gint pids[N_AGENTS];

	for (guint k = 0; k < N_AGENTS; k++) {
		pids[k] = (gint)bench_guest_read_pid(ctx, agent_pidfiles[k], error);
		if (pids[k] == 0)
			return FALSE;
	}
	if (intervals->len != samples->cycles->len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the observer saw %u frozen intervals of '%s' in %u cycles",
			    intervals->len, MOUNTPOINT, samples->cycles->len);
		return FALSE;
	}
	for (guint i = 0; i < intervals->len; i++) {
		const BenchFrozenInterval *seen = &g_array_index(intervals, BenchFrozenInterval, i);
		const FreezeCycle *cycle = &g_array_index(samples->cycles, FreezeCycle, i);

		if (seen->pid != pids[cycle->agent]) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "the observer's interval %u is pid %d's, not %s's (pid %d)", i,
				    seen->pid, agent_names[cycle->agent], pids[cycle->agent]);
			return FALSE;
		}
		if (cycle->timed)
			g_array_append_val(samples->series[cycle->agent][SERIES_OBSERVED],
					   seen->ms);
	}
	return TRUE;
}

static const gchar *const series_notes[N_SERIES] = {
	[SERIES_WINDOW] = "freeze replied to thaw replied, seen by the host",
	[SERIES_CYCLE] = "freeze sent to thaw replied, seen by the host",
	[SERIES_OBSERVED] = "freeze_super entered to thaw_super returned, the bench's kprobes",
};

/* a row: @agent's median of @series against @baseline's */
typedef struct {
	const gchar *metric;
	guint series, agent, baseline;
	const gchar *target;
} FreezeRow;

static const FreezeRow freeze_rows[] = {
	{"freeze-list p50", SERIES_FREEZE, AGENT_TRACED, AGENT_QEMU_GA, "ratio <= 1.0"},
	{"freeze-list p50, tracing on/off", SERIES_FREEZE, AGENT_TRACED, AGENT_UNTRACED, NULL},
	{"frozen window p50, tracing on/off", SERIES_WINDOW, AGENT_TRACED, AGENT_UNTRACED,
	 "ratio <= 1.05"},
	{"frozen window p50", SERIES_WINDOW, AGENT_TRACED, AGENT_QEMU_GA, "ratio <= 1.05"},
	{"frozen window p50, --no-trace", SERIES_WINDOW, AGENT_UNTRACED, AGENT_QEMU_GA, NULL},
	{"whole cycle p50, tracing on/off", SERIES_CYCLE, AGENT_TRACED, AGENT_UNTRACED, NULL},
	{"whole cycle p50", SERIES_CYCLE, AGENT_TRACED, AGENT_QEMU_GA, "ratio <= 1.5"},
	{"whole cycle p50, --no-trace", SERIES_CYCLE, AGENT_UNTRACED, AGENT_QEMU_GA, NULL},
	{"frozen interval (observer) p50", SERIES_OBSERVED, AGENT_TRACED, AGENT_QEMU_GA,
	 "ratio <= 1.05"},
	{"frozen interval (observer) p50, --no-trace", SERIES_OBSERVED, AGENT_UNTRACED,
	 AGENT_QEMU_GA, NULL},
	{"frozen interval (observer) p50, tracing on/off", SERIES_OBSERVED, AGENT_TRACED,
	 AGENT_UNTRACED, NULL},
};

static void
print_median(FreezeSamples *samples, const FreezeRow *row)
{
	BenchResult result = {
		.workload = WORKLOAD,
		.metric = row->metric,
		.unit = "ms",
		.value = bench_median(samples->series[row->agent][row->series]),
		.baseline = agent_names[row->baseline],
		.baseline_value = bench_median(samples->series[row->baseline][row->series]),
		.target = row->target,
		.samples = samples->series[row->agent][row->series]->len,
		.note = series_notes[row->series],
	};

	bench_result_print(&result);
}

static void
print_results(FreezeSamples *samples)
{
	BenchResult kernel = {
		.workload = WORKLOAD,
		.metric = "frozen interval (kernel) p50",
		.unit = "ms",
		.value = bench_median(samples->kernel_frozen),
		.samples = samples->kernel_frozen->len,
		.note = "freeze_super to thaw_super of /mnt/data, from guest-trace-fetch",
	};

	for (guint i = 0; i < G_N_ELEMENTS(freeze_rows); i++)
		print_median(samples, &freeze_rows[i]);
	bench_result_print(&kernel);
}

static gboolean
measure(BenchContext *ctx, QgaClient *untraced, FreezeSamples *samples, GError **error)
{
	guint n = bench_context_iterations(ctx, 50, 20, 3);
	g_autoptr(QgaClient) traced = bench_context_connect(ctx, "qgatrace", error);
	g_autoptr(QgaClient) qemu_ga = NULL;

	if (traced == NULL)
		return FALSE;
	qemu_ga = bench_context_connect(ctx, "qga", error);
	if (qemu_ga == NULL || !qga_client_sync(untraced, error))
		return FALSE;
	{
		QgaClient *clients[N_AGENTS] = {traced, untraced, qemu_ga};
		g_autoptr(BenchObserver) observer = NULL;
		g_autoptr(GArray) intervals = NULL;

		/* one cycle each first: the traced agent probes tracefs on its first freeze */
		if (!run_cycles(clients, NULL, 1, error))
			return FALSE;
		observer = bench_observer_start(ctx, MOUNTPOINT, error);
		if (observer == NULL || !run_cycles(clients, samples, n, error))
			return FALSE;
		intervals = bench_observer_read(observer, error);
		return intervals != NULL && assign_observed(ctx, samples, intervals, error);
	}
}

static gboolean
run(BenchContext *ctx, GError **error)
{
	FreezeSamples samples = {{{NULL}}};
	g_autoptr(QgaClient) untraced = NULL;
	gboolean ok;

	untraced = bench_spare_start(ctx, "untraced", UNTRACED_CMD, error);
	if (untraced == NULL)
		return FALSE;
	for (guint k = 0; k < N_AGENTS; k++) {
		for (guint s = 0; s < N_SERIES; s++)
			samples.series[k][s] = g_array_new(FALSE, FALSE, sizeof(gdouble));
	}
	samples.kernel_frozen = g_array_new(FALSE, FALSE, sizeof(gdouble));
	samples.cycles = g_array_new(FALSE, FALSE, sizeof(FreezeCycle));

	ok = measure(ctx, untraced, &samples, error);
	/* the spare port is free again for the next workload, whatever happened */
	g_clear_pointer(&untraced, qga_client_free);
	if (!bench_guest_stop(ctx, "untraced", ok ? error : NULL))
		ok = FALSE;
	if (ok)
		print_results(&samples);
	for (guint k = 0; k < N_AGENTS; k++) {
		for (guint s = 0; s < N_SERIES; s++)
			g_array_unref(samples.series[k][s]);
	}
	g_array_unref(samples.kernel_frozen);
	g_array_unref(samples.cycles);
	return ok;
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-freeze", run);
}
