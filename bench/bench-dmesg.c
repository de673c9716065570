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
 * Both paths must return the same records over the range both read (each
 * record known by its printk time and text), or the program fails.
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
/* --smoke: the kernel logs all along, between the two paths' reads too, which must not make
 * them differ (bench_guest_spawn(): one command, its own redirections) */
#define NOISE_CMD                                                                                  \
	"sh -c 'while :; do echo \"<7>qgatrace-bench-noise\" > /dev/kmsg; sleep 0.02; done' "      \
	"</dev/null >/dev/null 2>&1"
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

/* what both paths give of a record: its printk time and its text, "TS-US MESSAGE" */
static gchar *
dmesg_bench_key(gint64 ts_us, const gchar *message)
{
	return g_strdup_printf("%" G_GINT64_FORMAT " %s", ts_us, message);
}

/* @message as the kernel has it: guest-dmesg gives it as /dev/kmsg escapes it ("\\xHH"),
 * dmesg through klogctl as it is */
static gchar *
dmesg_bench_unescape(const gchar *message)
{
	GString *text = g_string_new(NULL);

	for (const gchar *p = message; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit(p[2]) &&
		    g_ascii_isxdigit(p[3])) {
			g_string_append_c(text, (gchar)(g_ascii_xdigit_value(p[2]) * 16 +
							g_ascii_xdigit_value(p[3])));
			p += 3;
			continue;
		}
		g_string_append_c(text, *p);
	}
	return g_string_free(text, FALSE);
}

static gint64
dmesg_bench_key_ts(const gchar *key)
{
	return g_ascii_strtoll(key, NULL, 10);
}

/*
 * Every record after @since (-1: all), in as many calls as the reply limit takes, appended
 * to @records as keys (dmesg_bench_key()).
 * Returns: the number of records, or -1 with @error
 */
static gint64
dmesg_bench_export(DmesgBench *self, gint64 since, GPtrArray *records, GError **error)
{
	gint64 n = 0;
	gboolean truncated = TRUE;

	while (truncated) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		JsonObject *reply;
		JsonArray *page;

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
		page = json_object_get_array_member(reply, "records");
		for (guint i = 0; i < json_array_get_length(page); i++) {
			JsonObject *record = json_array_get_object_element(page, i);

			g_autofree gchar *message = dmesg_bench_unescape(
				json_object_get_string_member(record, "message"));

			g_ptr_array_add(records,
					dmesg_bench_key(json_object_get_int_member(record, "ts-us"),
							message));
		}
		n += json_array_get_length(page);
		since = json_object_get_int_member(reply, "next-seq");
		truncated = json_object_get_boolean_member(reply, "truncated");
	}
	self->cursor = since;
	return n;
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

/* "[   72.376054] text" as a key (dmesg_bench_key()), or NULL */
static gchar *
dmesg_bench_line_key(const gchar *line)
{
	guint64 sec;
	guint64 usec;
	gint end = -1;

	if (sscanf(line, "[%" G_GUINT64_FORMAT ".%6" G_GUINT64_FORMAT "]%n", &sec, &usec, &end) !=
		    2 ||
	    end < 0)
		return NULL;
	line += end;
	return dmesg_bench_key((gint64)(sec * G_USEC_PER_SEC + usec),
			       line[0] == ' ' ? line + 1 : line);
}

/* the lines after the last one seen before, whose "[seconds] " make it unique, appended to
 * @records as keys */
static gint64
dmesg_bench_exec_new(DmesgBench *self, GPtrArray *records, GError **error)
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
	for (guint i = last; i < n; i++) {
		gchar *key = dmesg_bench_line_key(lines[i]);

		if (key == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "a dmesg line without its time: '%s'", lines[i]);
			return -1;
		}
		g_ptr_array_add(records, key);
	}
	if (n > 0) {
		g_free(self->last_line);
		self->last_line = g_strdup(lines[n - 1]);
	}
	return n - last;
}

/* ---- the two measurements ---- */

/* appends the records it read to its last argument, as keys */
typedef gint64 (*DmesgBenchPath)(DmesgBench *self, GPtrArray *records, GError **error);

static gint64
dmesg_bench_qgatrace_full(DmesgBench *self, GPtrArray *records, GError **error)
{
	return dmesg_bench_export(self, -1, records, error);
}

static gint64
dmesg_bench_qgatrace_new(DmesgBench *self, GPtrArray *records, GError **error)
{
	return dmesg_bench_export(self, self->cursor, records, error);
}

static gint64
dmesg_bench_exec_full(DmesgBench *self, GPtrArray *records, GError **error)
{
	g_clear_pointer(&self->last_line, g_free);
	return dmesg_bench_exec_new(self, records, error);
}

/* Returns: the records @path found, timed in ms into @samples; -1 with @error */
static gint64
dmesg_bench_time(DmesgBench *self, DmesgBenchPath path, GPtrArray *records, GArray *samples,
		 GError **error)
{
	gint64 start = bench_now_ns();
	gint64 n = path(self, records, error);
	gdouble ms = (bench_now_ns() - start) / 1e6;

	if (n >= 0)
		g_array_append_val(samples, ms);
	return n;
}

static guint
dmesg_bench_count_tagged(GPtrArray *records, guint from, guint to, const gchar *tag)
{
	guint n = 0;

	for (guint i = from; i < to; i++)
		n += strstr(g_ptr_array_index(records, i), tag) != NULL;
	return n;
}

/* [*from, *to) of @records: the keys whose time is within [@lo, @hi] */
static void
dmesg_bench_range(GPtrArray *records, gint64 lo, gint64 hi, guint *from, guint *to)
{
	*from = 0;
	while (*from < records->len && dmesg_bench_key_ts(g_ptr_array_index(records, *from)) < lo)
		(*from)++;
	*to = *from;
	while (*to < records->len && dmesg_bench_key_ts(g_ptr_array_index(records, *to)) <= hi)
		(*to)++;
}

/*
 * The records both paths returned over the range both read must be the same, in the same
 * order: the kernel may log a record between the two reads, which one path has and the
 * other not, at either end. With @tag, every record the bench wrote (@expected of them)
 * must be among those compared.
 */
static gboolean
dmesg_bench_same_records(GPtrArray *ours, GPtrArray *theirs, const gchar *tag, guint expected,
			 GError **error)
{
	gint64 lo;
	gint64 hi;
	guint ours_from, ours_to, theirs_from, theirs_to;

	if (ours->len == 0 || theirs->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "guest-dmesg read %u records, guest-exec dmesg %u lines", ours->len,
			    theirs->len);
		return FALSE;
	}
	lo = MAX(dmesg_bench_key_ts(g_ptr_array_index(ours, 0)),
		 dmesg_bench_key_ts(g_ptr_array_index(theirs, 0)));
	hi = MIN(dmesg_bench_key_ts(g_ptr_array_index(ours, ours->len - 1)),
		 dmesg_bench_key_ts(g_ptr_array_index(theirs, theirs->len - 1)));
	dmesg_bench_range(ours, lo, hi, &ours_from, &ours_to);
	dmesg_bench_range(theirs, lo, hi, &theirs_from, &theirs_to);
	for (guint i = 0; ours_from + i < ours_to || theirs_from + i < theirs_to; i++) {
		const gchar *a =
			ours_from + i < ours_to ? g_ptr_array_index(ours, ours_from + i) : "(none)";
		const gchar *b = theirs_from + i < theirs_to
					 ? g_ptr_array_index(theirs, theirs_from + i)
					 : "(none)";

		if (!g_str_equal(a, b)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "record %u of the range both read differs: guest-dmesg '%s', "
				    "guest-exec dmesg '%s'",
				    i, a, b);
			return FALSE;
		}
	}
	if (tag != NULL && dmesg_bench_count_tagged(ours, ours_from, ours_to, tag) != expected) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "%u of the %u records the bench wrote are in the range both read",
			    dmesg_bench_count_tagged(ours, ours_from, ours_to, tag), expected);
		return FALSE;
	}
	return TRUE;
}

/*
 * @iterations rounds of both paths, the order alternating; each round first writes
 * @new_records records when that is not 0. A full export compares each round's records;
 * an incremental one all its rounds', after an untimed catch-up read (a record the kernel
 * logs between the two reads of a round comes in the next round for one of them).
 */
static gboolean
dmesg_bench_compare(BenchContext *ctx, DmesgBench *self, const gchar *metric, guint iterations,
		    guint new_records, DmesgBenchPath ours, DmesgBenchPath theirs,
		    const gchar *target, GError **error)
{
	g_autoptr(GArray) ours_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) theirs_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GPtrArray) ours_records = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) theirs_records = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *note = NULL;
	gint64 last_round = 0;

	for (guint i = 0; i < iterations; i++) {
		/* a full export has everything every time: its own round is compared */
		if (new_records == 0) {
			g_ptr_array_set_size(ours_records, 0);
			g_ptr_array_set_size(theirs_records, 0);
		} else {
			g_autofree gchar *tag = g_strdup_printf("new%u", i);

			if (!dmesg_bench_write(ctx, tag, new_records, error))
				return FALSE;
		}
		for (guint k = 0; k < 2; k++) {
			gboolean ours_now = (i + k) % 2 == 0;
			gint64 n = ours_now ? dmesg_bench_time(self, ours, ours_records, ours_ms,
							       error)
					    : dmesg_bench_time(self, theirs, theirs_records,
							       theirs_ms, error);

			if (n < 0)
				return FALSE;
			if (ours_now)
				last_round = n;
		}
		if (new_records == 0 &&
		    !dmesg_bench_same_records(ours_records, theirs_records, NULL, 0, error)) {
			g_prefix_error(error, "%s: ", metric);
			return FALSE;
		}
	}
	/* the catch-up read of an incremental export, untimed */
	if (new_records > 0 &&
	    (ours(self, ours_records, error) < 0 || theirs(self, theirs_records, error) < 0 ||
	     !dmesg_bench_same_records(ours_records, theirs_records, "qgatrace-bench-new",
				       iterations * new_records, error))) {
		g_prefix_error(error, "%s: ", metric);
		return FALSE;
	}
	note = g_strdup_printf(
		"both paths read the same records over the range both read (%" G_GINT64_FORMAT
		" in the last round); qemu-ga: guest-exec dmesg -s " DMESG_BUFFER
		", guest-exec-status polled back to back, base64 decoded",
		last_round);
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
dmesg_bench_measure(BenchContext *ctx, GError **error)
{
	g_auto(DmesgBench) self = {0};
	g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func(g_free);
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
	if (dmesg_bench_qgatrace_full(&self, scratch, error) < 0 ||
	    dmesg_bench_exec_full(&self, scratch, error) < 0)
		return FALSE;
	return dmesg_bench_compare(ctx, &self, "incremental (10 new records)",
				   bench_context_iterations(ctx, 20, 8, 2), NEW_RECORDS,
				   dmesg_bench_qgatrace_new, dmesg_bench_exec_new, "ratio <= 0.05",
				   error);
}

static gboolean
dmesg_bench_run(BenchContext *ctx, GError **error)
{
	gboolean noise = ctx->mode == BENCH_MODE_SMOKE;
	gboolean ok;

	if (noise && !bench_guest_spawn(ctx, "kmsg-noise", NOISE_CMD, NULL, error))
		return FALSE;
	ok = dmesg_bench_measure(ctx, error);
	if (noise && !bench_guest_stop(ctx, "kmsg-noise", ok ? error : NULL))
		ok = FALSE;
	return ok;
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-dmesg", dmesg_bench_run);
}
