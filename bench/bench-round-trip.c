/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "bench-common.h"
#include "qga-codec.h"

/* Workload 1: guest-ping round trips on qgatrace-agent and stock qemu-ga, and the same bytes
 * echoed by a trivial reader/writer on the spare port: the floor of the virtio-serial channel.
 * The three are timed in turn within every iteration (the order rotating), so that a slow
 * stretch of the shared host weighs on all of them alike. */

#define WORKLOAD "round-trip"

enum { TARGET_QGATRACE, TARGET_QEMU_GA, TARGET_ECHO, N_TARGETS };

/* busybox cat opens the port once, read-write (virtio_console allows one open at a time),
 * and writes back each read as it comes */
#define ECHO_CMD "cat 0<>" BENCH_SPARE_PORT " 1>&0 2>/dev/null"

/* one echo round trip: the request guest-ping would be, back as it went; the id has the
 * shape qga_client_execute() gives it, so the bytes are as many */
static gdouble
echo_time_us(QgaClient *echo, guint i, GError **error)
{
	g_autofree gchar *id_string =
		g_strdup_printf("qgatrace-%u-%08" G_GINT32_MODIFIER "x", i, g_random_int());
	g_autoptr(JsonNode) id = json_node_init_string(json_node_alloc(), id_string);
	g_autofree gchar *request = qga_request_encode("guest-ping", NULL, id);
	gint64 start = bench_now_ns();
	g_autoptr(JsonNode) back = NULL;

	if (!qga_client_send_raw(echo, request, strlen(request), error))
		return -1.0;
	back = qga_client_recv(echo, error);
	if (back == NULL)
		return -1.0;
	return (bench_now_ns() - start) / 1000.0;
}

static gdouble
time_one(QgaClient *client, guint target, guint i, GError **error)
{
	if (target == TARGET_ECHO)
		return echo_time_us(client, i, error);
	return bench_time_execute_us(client, "guest-ping", NULL, error);
}

/* @samples: NULL for the warm-up */
static gboolean
run_rounds(QgaClient **clients, GArray **samples, guint n, GError **error)
{
	for (guint i = 0; i < n; i++) {
		for (guint k = 0; k < N_TARGETS; k++) {
			guint target = (i + k) % N_TARGETS;
			gdouble us = time_one(clients[target], target, i, error);

			if (us < 0)
				return FALSE;
			if (samples != NULL)
				g_array_append_val(samples[target], us);
		}
	}
	return TRUE;
}

static void
print_percentile(GArray **samples, gdouble percent, guint baseline, const gchar *target)
{
	g_autofree gchar *metric = g_strdup_printf("guest-ping p%.0f", percent);
	BenchResult result = {
		.workload = WORKLOAD,
		.metric = metric,
		.unit = "us",
		.value = bench_percentile(samples[TARGET_QGATRACE], percent),
		.baseline = baseline == TARGET_QEMU_GA ? "qemu-ga" : "raw echo",
		.baseline_value = bench_percentile(samples[baseline], percent),
		.target = target,
		.samples = samples[TARGET_QGATRACE]->len,
		.note = baseline == TARGET_ECHO
				? "echo: the same request bytes through busybox cat on "
				  "the spare port"
				: NULL,
	};

	bench_result_print(&result);
}

static gboolean
run(BenchContext *ctx, GError **error)
{
	guint n = bench_context_iterations(ctx, 2000, 500, 20);
	guint warm_up = bench_context_iterations(ctx, 100, 50, 5);
	g_autoptr(QgaClient) qgatrace = NULL;
	g_autoptr(QgaClient) qemu_ga = NULL;
	g_autoptr(QgaClient) echo = NULL;
	GArray *samples[N_TARGETS];
	gboolean ok;

	qgatrace = bench_context_connect(ctx, "qgatrace", error);
	if (qgatrace == NULL)
		return FALSE;
	qemu_ga = bench_context_connect(ctx, "qga", error);
	if (qemu_ga == NULL)
		return FALSE;
	/* not synced: an echo would answer the sync with the sync */
	echo = bench_spare_start(ctx, "echo", ECHO_CMD, error);
	if (echo == NULL)
		return FALSE;

	for (guint k = 0; k < N_TARGETS; k++)
		samples[k] = g_array_sized_new(FALSE, FALSE, sizeof(gdouble), n);
	{
		QgaClient *clients[N_TARGETS] = {qgatrace, qemu_ga, echo};

		ok = run_rounds(clients, NULL, warm_up, error) &&
		     run_rounds(clients, samples, n, error);
	}
	/* the spare port is free again for the next workload, whatever happened */
	g_clear_pointer(&echo, qga_client_free);
	if (!bench_guest_stop(ctx, "echo", ok ? error : NULL))
		ok = FALSE;
	if (ok) {
		print_percentile(samples, 50, TARGET_QEMU_GA, "ratio <= 1.0");
		print_percentile(samples, 99, TARGET_QEMU_GA, "ratio <= 1.0");
		print_percentile(samples, 50, TARGET_ECHO, "ratio <= 1.2");
		print_percentile(samples, 99, TARGET_ECHO, NULL);
	}
	for (guint k = 0; k < N_TARGETS; k++)
		g_array_unref(samples[k]);
	return ok;
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-round-trip", run);
}
