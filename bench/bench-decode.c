/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-decode: workload 4, trace decode. The guest records >= 100k
 * function events (vfs_read and vfs_write of `dd bs=1`) in an ftrace
 * instance of its own with a large buffer, and keeps both what the kernel
 * gives: the raw per-CPU pages (trace_pipe_raw) with the formats, and the
 * instance's text `trace`. They come to the host through the data disk:
 * written to /mnt/data, which is then frozen (the journal flushed, so the
 * image is consistent), read out of the image with debugfs and thawed; no
 * byte goes through a TCG-emulated serial port or base64.
 * Then, on the host, timed: the tracefs library's raw path (the pages
 * through libtraceevent and kbuffer into QtfEvents, as qtf_snapshot_decode()
 * does) against a plain sscanf parser of the same fields from the text.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bench-common.h"
#include "qtf-private.h"

#define WORKLOAD "decode"

#define GUEST_DIR  "/mnt/data/qgatrace-bench-decode"
#define GUEST_DATA "/mnt/data"
#define INSTANCE   "qgatrace-bench"

/*
 * Records in the guest, as root; %s the instance, %u the dd count. The pid filter
 * is set by the shell that then becomes dd, so only dd's calls are recorded. Reading
 * trace_pipe_raw blocks once it is drained and busybox cannot open it O_NONBLOCK:
 * `timeout` ends the copy (the buffer holds a few MiB: a copy takes well under 1 s).
 */
#define RECORD_SCRIPT                                                                                 \
	"set -e; T=/sys/kernel/tracing; I=$T/instances/%s; D=" GUEST_DIR "; "                         \
	"[ ! -d $I ] || rmdir $I; rm -rf $D; mkdir $I; "                                              \
	"echo 16384 > $I/buffer_size_kb; echo mono > $I/trace_clock; "                                \
	"echo 'vfs_read vfs_write' > $I/set_ftrace_filter; "                                          \
	"sh -c \"echo \\$\\$ > $I/set_ftrace_pid; echo function > $I/current_tracer; "                \
	"exec dd if=/dev/zero of=/dev/null bs=1 count=%u 2>/dev/null\"; "                             \
	"echo 0 > $I/tracing_on; "                                                                    \
	"mkdir -p $D/events/ftrace/function $D/events/ftrace/func_repeats; "                          \
	"cp $I/trace $D/trace.txt; cp $T/events/header_page $D/events/; "                             \
	"cp $T/events/ftrace/function/format $D/events/ftrace/function/; "                            \
	"cp $T/events/ftrace/func_repeats/format $D/events/ftrace/func_repeats/; "                    \
	"cp $T/saved_cmdlines /proc/kallsyms $D/; "                                                   \
	"for c in $I/per_cpu/cpu*; do n=${c##*/}; mkdir -p $D/per_cpu/$n; "                           \
	"cp $c/stats $D/per_cpu/$n/; timeout 3 cat $c/trace_pipe_raw > $D/per_cpu/$n/trace_pipe_raw " \
	"|| true; done; "                                                                             \
	"echo nop > $I/current_tracer; rmdir $I; sync"

typedef struct {
	gchar *comm;
	gint pid;
	gint cpu;
	guint64 ts_ns;
	gchar *function;
	gchar *parent;
} TextEvent;

static void
text_event_clear(gpointer data)
{
	TextEvent *ev = data;

	g_free(ev->comm);
	g_free(ev->function);
	g_free(ev->parent);
}

/*
 * One line of the function tracer's text, as a straightforward tool parses it:
 * " dd-123     [000] .....    90.529634: vfs_read <-ksys_read". The comm may hold
 * spaces and dashes: the pid is after the last dash before the CPU's bracket.
 */
static gboolean
decode_bench_parse_line(const gchar *line, TextEvent *ev)
{
	const gchar *bracket = strstr(line, " [");
	const gchar *task = line;
	const gchar *dash;
	const gchar *arrow;
	gchar flags[16];
	guint64 sec = 0, usec = 0;
	gint rest = 0;

	if (bracket == NULL)
		return FALSE;
	while (*task == ' ')
		task++;
	dash = g_strrstr_len(task, bracket - task, "-");
	if (dash == NULL ||
	    sscanf(dash + 1, "%d [%d] %15s %" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT ": %n",
		   &ev->pid, &ev->cpu, flags, &sec, &usec, &rest) != 5 ||
	    rest == 0)
		return FALSE;
	arrow = strstr(dash + 1 + rest, " <-");
	if (arrow == NULL)
		return FALSE;
	ev->comm = g_strndup(task, dash - task);
	ev->ts_ns = (sec * G_USEC_PER_SEC + usec) * 1000;
	ev->function = g_strndup(dash + 1 + rest, arrow - (dash + 1 + rest));
	ev->parent = g_strdup(arrow + 3);
	return TRUE;
}

/* Returns: (transfer full): the events of @path's text, or NULL with @error */
static GArray *
decode_bench_text(const gchar *path, GError **error)
{
	g_autofree gchar *text = NULL;
	g_autoptr(GArray) events = g_array_new(FALSE, TRUE, sizeof(TextEvent));
	gchar *line;
	gchar *next;

	g_array_set_clear_func(events, text_event_clear);
	if (!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	for (line = text; *line != '\0'; line = next) {
		TextEvent ev = {0};

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!decode_bench_parse_line(line, &ev)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: cannot parse '%s'", path, line);
			return NULL;
		}
		g_array_append_val(events, ev);
	}
	return g_steal_pointer(&events);
}

/* Returns: (transfer full): what the library decoded from @dir's raw pages, or NULL */
static QtfCapture *
decode_bench_raw(const gchar *dir, TepHandle *tep, GError **error)
{
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(QtfDecoder) decoder = NULL;

	/* the per-CPU files, as qtf_snapshot_decode() reads them */
	for (gint cpu = 0;; cpu++) {
		g_autofree gchar *rel = g_strdup_printf("per_cpu/cpu%d/trace_pipe_raw", cpu);
		g_autofree gchar *path = g_build_filename(dir, rel, NULL);
		gchar *raw = NULL;
		gsize len = 0;

		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			break;
		if (!g_file_get_contents(path, &raw, &len, error))
			return NULL;
		g_ptr_array_add(pages, g_bytes_new_take(raw, len));
	}
	decoder = qtf_decoder_new(tep, capture);
	if (!qtf_decoder_feed_pages(decoder, pages, error))
		return NULL;
	return g_steal_pointer(&capture);
}

typedef struct {
	BenchContext *ctx;
	gboolean frozen;
	gchar *host_dir; /* the copy on the host */
} DecodeBench;

static void
decode_bench_clear(DecodeBench *self)
{
	g_autoptr(GError) error = NULL;

	/* never leave the guest's data disk frozen for the workloads after this one */
	if (self->frozen && !vm_guest_shell(self->ctx->guest, "fsfreeze --unfreeze " GUEST_DATA,
					    NULL, NULL, VM_GUEST_SHELL_TIMEOUT_MS, &error))
		g_printerr("bench-decode: cannot thaw %s: %s\n", GUEST_DATA, error->message);
	if (self->host_dir != NULL) {
		const gchar *argv[] = {"rm", "-rf", self->host_dir, NULL};

		g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
			     NULL, NULL, NULL);
	}
	g_clear_pointer(&self->host_dir, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DecodeBench, decode_bench_clear)

/* the recording out of the data disk's image: frozen, its journal is flushed to it */
static gboolean
decode_bench_fetch(DecodeBench *self, GError **error)
{
	g_autofree gchar *image =
		g_build_filename(vm_guest_run_dir(self->ctx->guest), "data.img", NULL);
	g_autofree gchar *debugfs = g_find_program_in_path("debugfs");
	g_autofree gchar *request = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = 0;

	if (debugfs == NULL)
		debugfs = g_strdup("/sbin/debugfs"); /* e2fsprogs; /sbin is not on every PATH */
	self->host_dir = g_dir_make_tmp("qgatrace-bench-decode-XXXXXX", error);
	if (self->host_dir == NULL)
		return FALSE;
	out = vm_guest_shell_ok(self->ctx->guest, "fsfreeze --freeze " GUEST_DATA, error);
	if (out == NULL)
		return FALSE;
	self->frozen = TRUE;
	request = g_strdup_printf("rdump %s %s", &GUEST_DIR[strlen(GUEST_DATA)], self->host_dir);
	{
		const gchar *argv[] = {debugfs, "-R", request, image, NULL};

		if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
				  &err, &status, error) ||
		    !g_spawn_check_wait_status(status, error)) {
			g_prefix_error(error, "debugfs on '%s': %s: ", image,
				       err != NULL ? err : "");
			return FALSE;
		}
	}
	g_clear_pointer(&out, g_free);
	/* the copy is no longer needed: the data disk is left as it was */
	out = vm_guest_shell_ok(self->ctx->guest,
				"fsfreeze --unfreeze " GUEST_DATA " && rm -rf " GUEST_DIR, error);
	if (out == NULL)
		return FALSE;
	self->frozen = FALSE;
	return TRUE;
}

/* one row: decode rates in events/s, the raw path's against the text's */
static void
decode_bench_print(GArray *raw_s, GArray *text_s, gint64 n_events, gdouble tep_ms, gsize raw_bytes,
		   gsize text_bytes)
{
	g_autofree gchar *note = g_strdup_printf(
		"%" G_GINT64_FORMAT
		" function events (vfs_read/vfs_write of dd bs=1, 1 vCPU); raw: "
		"%zu bytes of pages through libtraceevent/kbuffer (formats and kallsyms loaded once "
		"before, %.0f ms); text: %zu bytes of `trace` through sscanf; both time reading "
		"the file and decoding, not freeing; transport: the data disk image (freeze, debugfs rdump)",
		n_events, raw_bytes, tep_ms, text_bytes);

	bench_result_print(&(BenchResult){
		.workload = WORKLOAD,
		.metric = "decode rate (raw vs text)",
		.unit = "events/s",
		.value = n_events / bench_median(raw_s),
		.baseline = "text trace parse",
		.baseline_value = n_events / bench_median(text_s),
		.target = "value >= 1000000",
		.samples = raw_s->len,
		.note = note,
	});
}

static gsize
decode_bench_file_size(const gchar *dir, const gchar *rel)
{
	g_autofree gchar *path = g_build_filename(dir, rel, NULL);
	GStatBuf st;

	return g_stat(path, &st) == 0 ? (gsize)st.st_size : 0;
}

static gboolean
decode_bench_run(BenchContext *ctx, GError **error)
{
	g_auto(DecodeBench) self = {.ctx = ctx};
	guint count = bench_context_iterations(ctx, 60000, 60000, 5000); /* 2 events each */
	guint iterations = bench_context_iterations(ctx, 10, 5, 1);
	g_autofree gchar *script = g_strdup_printf(RECORD_SCRIPT, INSTANCE, count);
	g_autofree gchar *out = vm_guest_shell_ok(ctx->guest, script, error);
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GArray) raw_s = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) text_s = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(QtfCapture) described = qtf_capture_new(QTF_METHOD_FUNCTION);
	g_autoptr(TepHandle) tep = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *text_path = NULL;
	g_autofree gchar *kallsyms = NULL;
	gint64 start;
	gdouble tep_ms;
	gint64 n_events = 0;

	if (out == NULL) {
		g_prefix_error(error, "recording in the guest: ");
		return FALSE;
	}
	if (!decode_bench_fetch(&self, error))
		return FALSE;
	dir = g_build_filename(self.host_dir, "qgatrace-bench-decode", NULL);
	text_path = g_build_filename(dir, "trace.txt", NULL);
	kallsyms = g_build_filename(dir, "kallsyms", NULL);
	qtf_capture_event_formats(described, required, optional);
	start = bench_now_ns();
	tep = qtf_tep_load(dir, kallsyms, required, optional, error);
	tep_ms = (bench_now_ns() - start) / 1e6;
	if (tep == NULL)
		return FALSE;
	/* only the decode is timed: freeing what it made comes after */
	for (guint i = 0; i < iterations; i++) {
		g_autoptr(QtfCapture) capture = NULL;
		g_autoptr(GArray) text_events = NULL;
		gdouble s;

		start = bench_now_ns();
		capture = decode_bench_raw(dir, tep, error);
		s = (bench_now_ns() - start) / 1e9;
		if (capture == NULL)
			return FALSE;
		g_array_append_val(raw_s, s);
		start = bench_now_ns();
		text_events = decode_bench_text(text_path, error);
		s = (bench_now_ns() - start) / 1e9;
		if (text_events == NULL)
			return FALSE;
		g_array_append_val(text_s, s);
		n_events = capture->events->len;
		if (n_events != text_events->len || n_events < 2 * (gint64)count) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "the raw pages hold %" G_GINT64_FORMAT
				    " events, the text %u, dd "
				    "made %u calls",
				    n_events, text_events->len, 2 * count);
			return FALSE;
		}
	}
	decode_bench_print(raw_s, text_s, n_events, tep_ms,
			   decode_bench_file_size(dir, "per_cpu/cpu0/trace_pipe_raw"),
			   decode_bench_file_size(dir, "trace.txt"));
	return TRUE;
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-decode", decode_bench_run);
}
