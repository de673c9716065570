/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-dmesg: workload 3, the kernel log export. The guest's 1 MiB ring
 * (log_buf_len=1M) is filled with records written to /dev/kmsg, then:
 *   full export: every record through guest-dmesg calls (qgatrace-agent,
 *     paged by next-seq) against stock qemu-ga's way, guest-exec of the
 *     guest's dmesg with capture-output, guest-exec-status polled until it
 *     exited, out-data base64-decoded on the host;
 *   incremental: 10 new records, read with guest-dmesg since the cursor
 *     against the same guest-exec path, which has no cursor: the whole log
 *     again, the host keeping the lines after the last one it had.
 * Both paths must return the same records (counted) or the program fails.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "bench-common.h"
#include "qga-error.h"

#define WORKLOAD "dmesg"

/* more than fits in the 1 MiB ring, ~120 bytes each: it wraps */
#define FILL_RECORDS 12000
#define NEW_RECORDS  10
/* busybox dmesg reads klogctl into a buffer of log_buf_len: with their "[time] " prefixes
 * the oldest records would not fit, so it gets room for all of them */
#define DMESG_BUFFER "4194304"
/* the reply limit guest-dmesg allows: the fewest calls */
#define DMESG_MAX_BYTES (8 * 1024 * 1024)

typedef struct {
	QgaClient *qgatrace;
	QgaClient *qga;
	gchar *dmesg_path; /* the guest's dmesg, for guest-exec */
	gint64 cursor;	   /* guest-dmesg's next-seq */
	gchar *last_line;  /* the newest line the guest-exec path has seen */
} DmesgBench;

static void
dmesg_bench_clear(DmesgBench *self)
{
	g_clear_pointer(&self->qgatrace, qga_client_free);
	g_clear_pointer(&self->qga, qga_client_free);
	g_clear_pointer(&self->dmesg_path, g_free);
	g_clear_pointer(&self->last_line, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DmesgBench, dmesg_bench_clear)

/* one record per write(2): printk_devkmsg=on lifts the ratelimit of one descriptor, and awk
 * writes a whole ring in well under a second where a shell loop opening /dev/kmsg takes
 * minutes under TCG; level 7 keeps them off the slow serial console */
static gboolean
dmesg_bench_write(BenchContext *ctx, const gchar *tag, guint count, GError **error)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"echo on > /proc/sys/kernel/printk_devkmsg && "
		"awk 'BEGIN{for(i=0;i<%u;i++){printf \"<7>qgatrace-bench-%s %%06d "
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdef\\n\", i; "
		"fflush()}}' > /dev/kmsg; s=$?; echo ratelimit > /proc/sys/kernel/printk_devkmsg; exit $s",
		count, tag);
	g_autofree gchar *out = vm_guest_shell_ok(ctx->guest, cmd, error);

	if (out == NULL) {
		g_prefix_error(error, "writing to the guest's /dev/kmsg: ");
		return FALSE;
	}
	return TRUE;
}

/* ---- qgatrace-agent: guest-dmesg ---- */

/*
 * Every record after @since (-1: all), in as many calls as the reply limit takes.
 * Returns: the number of records, or -1 with @error
 */
static gint64
dmesg_bench_export(DmesgBench *self, gint64 since, GError **error)
{
	gint64 records = 0;
	gboolean truncated = TRUE;

	while (truncated) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		JsonObject *reply;

		json_object_set_int_member(args, "max-bytes", DMESG_MAX_BYTES);
		if (since >= 0)
			json_object_set_int_member(args, "since-seq", since);
		ret = qga_client_execute(self->qgatrace, "guest-dmesg", args, error);
		if (ret == NULL || !JSON_NODE_HOLDS_OBJECT(ret)) {
			if (ret != NULL)
				g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
						    "guest-dmesg returned no object");
			g_prefix_error(error, "guest-dmesg: ");
			return -1;
		}
		reply = json_node_get_object(ret);
		records += json_array_get_length(json_object_get_array_member(reply, "records"));
		since = json_object_get_int_member(reply, "next-seq");
		truncated = json_object_get_boolean_member(reply, "truncated");
	}
	self->cursor = since;
	return records;
}

/* ---- stock qemu-ga: guest-exec dmesg ---- */

/* Returns: (transfer full): the guest's dmesg output as qemu-ga captured it, or NULL */
static gchar *
dmesg_bench_exec(DmesgBench *self, GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonArray) argv = json_array_new();
	g_autoptr(JsonNode) started = NULL;
	gint64 pid;

	json_array_add_string_element(argv, "-s");
	json_array_add_string_element(argv, DMESG_BUFFER);
	json_object_set_string_member(args, "path", self->dmesg_path);
	json_object_set_array_member(args, "arg", g_steal_pointer(&argv));
	json_object_set_boolean_member(args, "capture-output", TRUE);
	started = qga_client_execute(self->qga, "guest-exec", args, error);
	if (started == NULL) {
		g_prefix_error(error, "guest-exec: ");
		return NULL;
	}
	pid = json_object_get_int_member(json_node_get_object(started), "pid");
	/* polled back to back: the best qemu-ga can do, no sleep added to its time */
	for (;;) {
		g_autoptr(JsonObject) status_args = json_object_new();
		g_autoptr(JsonNode) status = NULL;
		JsonObject *st;
		const gchar *b64;
		gint64 exitcode;
		gsize len = 0;
		guchar *out;

		json_object_set_int_member(status_args, "pid", pid);
		status = qga_client_execute(self->qga, "guest-exec-status", status_args, error);
		if (status == NULL) {
			g_prefix_error(error, "guest-exec-status: ");
			return NULL;
		}
		st = json_node_get_object(status);
		if (!json_object_get_boolean_member(st, "exited"))
			continue;
		exitcode = json_object_get_int_member_with_default(st, "exitcode", -1);
		if (exitcode != 0) {
			g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "'%s' in the guest exited with %" G_GINT64_FORMAT,
				    self->dmesg_path, exitcode);
			return NULL;
		}
		b64 = json_object_get_string_member_with_default(st, "out-data", "");
		out = g_base64_decode(b64, &len);
		out = g_realloc(out, len + 1);
		out[len] = '\0';
		return (gchar *)out;
	}
}

static gchar **
dmesg_bench_exec_lines(DmesgBench *self, GError **error)
{
	g_autofree gchar *text = dmesg_bench_exec(self, error);

	if (text == NULL)
		return NULL;
	return g_strsplit(g_strchomp(text), "\n", -1);
}

/* the lines after the last one seen before, whose "[seconds] " make it unique */
static gint64
dmesg_bench_exec_new(DmesgBench *self, GError **error)
{
	g_auto(GStrv) lines = dmesg_bench_exec_lines(self, error);
	guint n;
	guint last;

	if (lines == NULL)
		return -1;
	n = g_strv_length(lines);
	for (last = n; last > 0; last--) {
		if (self->last_line != NULL && g_str_equal(lines[last - 1], self->last_line))
			break;
	}
	if (last == 0 && self->last_line != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the last line seen, '%s', is no longer in dmesg", self->last_line);
		return -1;
	}
	if (n > 0) {
		g_free(self->last_line);
		self->last_line = g_strdup(lines[n - 1]);
	}
	return n - last;
}

/* ---- the two measurements ---- */

typedef gint64 (*DmesgBenchPath)(DmesgBench *self, GError **error);

static gint64
dmesg_bench_qgatrace_full(DmesgBench *self, GError **error)
{
	return dmesg_bench_export(self, -1, error);
}

static gint64
dmesg_bench_qgatrace_new(DmesgBench *self, GError **error)
{
	return dmesg_bench_export(self, self->cursor, error);
}

static gint64
dmesg_bench_exec_full(DmesgBench *self, GError **error)
{
	g_clear_pointer(&self->last_line, g_free);
	return dmesg_bench_exec_new(self, error);
}

/* Returns: the records @path found, timed in ms into @samples; -1 with @error */
static gint64
dmesg_bench_time(DmesgBench *self, DmesgBenchPath path, GArray *samples, GError **error)
{
	gint64 start = bench_now_ns();
	gint64 records = path(self, error);
	gdouble ms = (bench_now_ns() - start) / 1e6;

	if (records >= 0)
		g_array_append_val(samples, ms);
	return records;
}

/*
 * @iterations rounds of both paths, the order alternating; each round first writes
 * @new_records records when that is not 0. Both paths must count the same records in
 * all: a record the kernel logs between the two reads of a round counts in the next
 * round for one of them, so the totals are compared after an untimed catch-up read.
 */
static gboolean
dmesg_bench_compare(BenchContext *ctx, DmesgBench *self, const gchar *metric, guint iterations,
		    guint new_records, DmesgBenchPath ours, DmesgBenchPath theirs,
		    const gchar *target, GError **error)
{
	g_autoptr(GArray) ours_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) theirs_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autofree gchar *note = NULL;
	gint64 ours_records = 0;
	gint64 theirs_records = 0;
	gint64 ours_total = 0;
	gint64 theirs_total = 0;

	for (guint i = 0; i < iterations; i++) {
		if (new_records > 0) {
			g_autofree gchar *tag = g_strdup_printf("new%u", i);

			if (!dmesg_bench_write(ctx, tag, new_records, error))
				return FALSE;
		}
		for (guint k = 0; k < 2; k++) {
			gboolean ours_now = (i + k) % 2 == 0;
			gint64 records = ours_now
						 ? dmesg_bench_time(self, ours, ours_ms, error)
						 : dmesg_bench_time(self, theirs, theirs_ms, error);

			if (records < 0)
				return FALSE;
			*(ours_now ? &ours_records : &theirs_records) = records;
		}
		/* a full export counts everything every time: its last round stands */
		ours_total = (new_records > 0 ? ours_total : 0) + ours_records;
		theirs_total = (new_records > 0 ? theirs_total : 0) + theirs_records;
	}
	/* the catch-up read of an incremental export, untimed */
	if (new_records > 0) {
		gint64 ours_late = ours(self, error);
		gint64 theirs_late = ours_late >= 0 ? theirs(self, error) : -1;

		if (theirs_late < 0)
			return FALSE;
		ours_total += ours_late;
		theirs_total += theirs_late;
	}
	if (ours_total != theirs_total) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%s: guest-dmesg read %" G_GINT64_FORMAT
			    " records, guest-exec dmesg %" G_GINT64_FORMAT " lines",
			    metric, ours_total, theirs_total);
		return FALSE;
	}
	note = g_strdup_printf("both paths read the same records (%" G_GINT64_FORMAT
			       " in the last round); qemu-ga: guest-exec dmesg -s " DMESG_BUFFER
			       ", guest-exec-status polled back to back, base64 decoded",
			       ours_records);
	bench_result_print(&(BenchResult){
		.workload = WORKLOAD,
		.metric = metric,
		.unit = "ms",
		.value = bench_median(ours_ms),
		.baseline = "qemu-ga",
		.baseline_value = bench_median(theirs_ms),
		.target = target,
		.samples = iterations,
		.note = note,
	});
	return TRUE;
}

static gboolean
dmesg_bench_run(BenchContext *ctx, GError **error)
{
	g_auto(DmesgBench) self = {0};
	g_autofree gchar *cmdline = vm_guest_shell_ok(ctx->guest, "cat /proc/cmdline", error);

	if (cmdline == NULL)
		return FALSE;
	if (strstr(cmdline, "log_buf_len=1M") == NULL)
		g_printerr("bench-dmesg: the guest was booted without log_buf_len=1M: '%s'\n",
			   cmdline);
	self.dmesg_path = vm_guest_shell_ok(ctx->guest, "command -v dmesg", error);
	if (self.dmesg_path == NULL || !dmesg_bench_write(ctx, "fill", FILL_RECORDS, error))
		return FALSE;
	self.qgatrace = bench_context_connect(ctx, "qgatrace", error);
	if (self.qgatrace == NULL)
		return FALSE;
	self.qga = bench_context_connect(ctx, "qga", error);
	if (self.qga == NULL)
		return FALSE;
	if (!dmesg_bench_compare(
		    ctx, &self, "full export (1 MiB ring)", bench_context_iterations(ctx, 10, 4, 1),
		    0, dmesg_bench_qgatrace_full, dmesg_bench_exec_full, "ratio <= 0.2", error))
		return FALSE;
	/* both cursors at the newest record */
	if (dmesg_bench_qgatrace_full(&self, error) < 0 || dmesg_bench_exec_full(&self, error) < 0)
		return FALSE;
	return dmesg_bench_compare(ctx, &self, "incremental (10 new records)",
				   bench_context_iterations(ctx, 20, 8, 2), NEW_RECORDS,
				   dmesg_bench_qgatrace_new, dmesg_bench_exec_new, "ratio <= 0.05",
				   error);
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-dmesg", dmesg_bench_run);
}
