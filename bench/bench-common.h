/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-client.h"
#include "vm-guest.h"

G_BEGIN_DECLS

/* What every bench/bench-<workload> program shares: bench/run boots one guest and passes its
 * run dir; each program attaches, measures, and prints one JSON line per result (the keys
 * bench/README.md lists), which bench-report turns into the table. */

typedef enum { BENCH_MODE_FULL, BENCH_MODE_QUICK, BENCH_MODE_SMOKE } BenchMode;

typedef struct {
	VmGuest *guest; /* attached to --run-dir (vm_guest_attach): not stopped on free */
	BenchMode mode;
} BenchContext;

typedef gboolean (*BenchRunFunc)(BenchContext *ctx, GError **error);

/* the whole main() of a workload program: bench_context_new(), then @run; a failure is one
 * line "@program: message" on stderr and exit status 1 */
gint bench_main(gint argc, gchar **argv, const gchar *program, BenchRunFunc run);

/* parses --run-dir DIR, --quick, --smoke (GOption); attaches to the guest */
BenchContext *bench_context_new(gint *argc, gchar ***argv, GError **error);
void bench_context_free(BenchContext *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchContext, bench_context_free)

/* @full, @quick or @smoke by mode */
guint bench_context_iterations(BenchContext *self, guint full, guint quick, guint smoke);

/* TCG makes one request take milliseconds and a freeze far longer; a wait this long only
 * ends a bench that is stuck, never a slow one */
#define BENCH_CLIENT_TIMEOUT_MS 60000

/* Returns: (transfer full): a synced client on the guest's @which socket ("qga", "qgatrace", "spare") */
QgaClient *bench_context_connect(BenchContext *self, const gchar *which, GError **error);

gint64 bench_now_ns(void); /* CLOCK_MONOTONIC */

/* runs one line of shell in the guest with vm_guest_shell_ok(), its output dropped */
gboolean bench_guest_run(BenchContext *self, GError **error, const gchar *format, ...)
	G_GNUC_PRINTF(3, 4);

/* the guest's spare virtio port, free for a workload's own reader (bench-round-trip's echo,
 * bench-freeze's second agent) as long as it stops it again */
#define BENCH_SPARE_PORT "/dev/virtio-ports/org.qgatrace.spare.0"

/**
 * bench_guest_spawn:
 * @name: what bench_guest_stop() knows it by; its pid goes to /run/bench-@name.pid
 * @cmd: one simple command with its own redirections (nothing of it may go to the test shell)
 * @port: (nullable): a virtio port; returns only once the process has it open
 * Starts @cmd in the background in the guest. A guest reading a virtio port the host has not
 * connected to sees end-of-file: connect to @port's socket first.
 */
gboolean bench_guest_spawn(BenchContext *self, const gchar *name, const gchar *cmd,
			   const gchar *port, GError **error);

/* waits until the process whose pid is in the guest file @pidfile has virtio port @port open */
gboolean bench_guest_wait_port(BenchContext *self, const gchar *pidfile, const gchar *port,
			       GError **error);

/* stops what bench_guest_spawn(@name) started and waits until it has exited */
gboolean bench_guest_stop(BenchContext *self, const gchar *name, GError **error);

/**
 * bench_spare_start:
 * Connects to the spare port's socket (not synced), then starts @cmd as
 * bench_guest_spawn(@name) with BENCH_SPARE_PORT: the host end must be there first.
 * Returns: (transfer full): the client, or NULL with @error and nothing left running
 */
QgaClient *bench_spare_start(BenchContext *self, const gchar *name, const gchar *cmd,
			     GError **error);

/* Returns: the pid in the guest file @pidfile (e.g. "/run/qemu-ga.vm-pid"), or 0 with @error */
guint bench_guest_read_pid(BenchContext *self, const gchar *pidfile, GError **error);

/**
 * bench_time_execute_us:
 * Runs @command on @client, the reply discarded.
 * Returns: its round trip in microseconds, or a negative value with @error
 */
gdouble bench_time_execute_us(QgaClient *client, const gchar *command, JsonObject *arguments,
			      GError **error);

/* of a GArray of gdouble; the array is sorted in place */
gdouble bench_median(GArray *samples);
gdouble bench_percentile(GArray *samples, gdouble percent);

typedef struct {
	const gchar *workload, *metric, *unit;
	gdouble value;
	const gchar *baseline; /* (nullable): what value is compared with */
	gdouble baseline_value;
	const gchar *target; /* (nullable): "ratio <= 1.0", "value >= 1000000", ... */
	guint samples;
	const gchar *note; /* (nullable) */
} BenchResult;

/* prints @result as one JSON line on stdout (ratio and met computed here) */
void bench_result_print(const BenchResult *result);

/* prints a skip line for a part that cannot run on this machine */
void bench_skip_print(const gchar *workload, const gchar *metric, const gchar *reason);

G_END_DECLS
