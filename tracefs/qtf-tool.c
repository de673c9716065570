/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qgatrace-tracefs-tool: the library by hand, as root, in a guest.
 *
 *   probe [--events-only] [--instance NAME]
 *       what qtf_tracer_new() finds: method, fallback reason
 *   session [--events-only] [--order] [--child MOUNT] [--child-cpu N] [--run CMD]
 *           [--snapshot DIR] [--instance NAME] [--functions A,B] [--buffer-kb N] MOUNT...
 *       arm for this thread, FIFREEZE the mounts (last first, as the agent
 *       does), FITHAW each until it fails, optionally let a forked child
 *       freeze and thaw one more mount (a task the verdicts must ignore)
 *       and run CMD under sh (e.g. to flood a small buffer), collect,
 *       disarm, verify; prints {"capture", "session", "verdicts"}.
 *       --snapshot saves the instance's raw pages, stats, formats,
 *       saved_cmdlines and the kallsyms lines the events need to DIR, and
 *       decodes from there instead: that is how tests/fixtures/tracefs/
 *       was recorded.
 *   freeze MOUNT | thaw MOUNT
 *       one FIFREEZE / a FITHAW loop, nothing else
 *
 * It freezes real filesystems: never run it on a machine that matters.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qtf-private.h"

typedef struct {
	QtfIoctl ioctl;
	gint ret; /* what the last ioctl said: reported, never used to verify */
} ToolIoctl;

static gint
tool_freeze(const gchar *mountpoint, gint *errsv)
{
	gint fd = open(mountpoint, O_RDONLY | O_CLOEXEC);
	gint rc;

	if (fd < 0) {
		*errsv = errno;
		return -1;
	}
	rc = ioctl(fd, FIFREEZE);
	*errsv = errno;
	close(fd);
	return rc;
}

/* as the agent: FITHAW until it fails, since freezes nest */
static gint
tool_thaw(const gchar *mountpoint, gint *errsv)
{
	gint fd = open(mountpoint, O_RDONLY | O_CLOEXEC);
	gint n = 0;

	if (fd < 0) {
		*errsv = errno;
		return -1;
	}
	while (ioctl(fd, FITHAW) == 0)
		n++;
	*errsv = errno;
	close(fd);
	return n;
}

static gchar *
tool_fstype(const gchar *mountpoint)
{
	g_autofree gchar *mounts = NULL;
	g_auto(GStrv) lines = NULL;
	gchar *fstype = NULL;

	if (!g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL))
		return NULL;
	lines = g_strsplit(mounts, "\n", -1);
	/* the last mount on a path is the one visible there */
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", 4);
		g_autofree gchar *path = g_strv_length(f) >= 3 ? g_strcompress(f[1]) : NULL;

		if (path != NULL && g_strcmp0(path, mountpoint) == 0) {
			g_free(fstype);
			fstype = g_strdup(f[2]);
		}
	}
	return fstype;
}

/* ---- snapshot: a copy of the instance that qtf_snapshot_decode() reads ---- */

static gboolean
tool_write(const gchar *dir, const gchar *rel, const gchar *data, gsize len, GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, rel, NULL);
	g_autofree gchar *parent = g_path_get_dirname(path);

	if (g_mkdir_with_parents(parent, 0755) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "mkdir '%s': %s",
			    parent, g_strerror(errsv));
		return FALSE;
	}
	return g_file_set_contents(path, data, len, error);
}

static gboolean
tool_copy(const gchar *root, const gchar *rel, const gchar *dir, gboolean required, GError **error)
{
	g_autofree gchar *src = g_build_filename(root, rel, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(src, &data, &len, required ? error : NULL))
		return !required;
	return tool_write(dir, rel, data, len, error);
}

/* reads a CPU's trace_pipe_raw to the end, whole pages; consumes them */
static GByteArray *
tool_read_raw(struct tracefs_instance *tfs, gint cpu, gsize page_size, GError **error)
{
	g_autofree gchar *rel = g_strdup_printf("per_cpu/cpu%d/trace_pipe_raw", cpu);
	gchar *path = tracefs_instance_get_file(tfs, rel);
	g_autoptr(GByteArray) pages = g_byte_array_new();
	g_autofree guint8 *page = g_malloc(page_size);
	gint fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	tracefs_put_tracing_file(path);
	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "open %s: %s", rel,
			    g_strerror(errsv));
		return NULL;
	}
	for (;;) {
		gssize n = read(fd, page, page_size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN: drained */
		g_byte_array_append(pages, page, (guint)n);
	}
	close(fd);
	return g_steal_pointer(&pages);
}

static gboolean
tool_snapshot(QtfTracer *tracer, QtfCapture *described, const gchar *dir, GError **error)
{
	struct tracefs_instance *tfs = qtf_tracer_get_instance(tracer);
	const gchar *root = qtf_tracer_get_tracing_dir(tracer);
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(TracefsString) text = NULL;
	glong n_cpus = sysconf(_SC_NPROCESSORS_CONF);

	tracefs_trace_off(tfs);
	/* for people: the kernel's own rendering, read before the raw reads consume it */
	text = tracefs_instance_file_read(tfs, "trace", NULL);
	if (text != NULL && !tool_write(dir, "trace.txt", text, strlen(text), error))
		return FALSE;
	if (!tool_copy(root, "events/header_page", dir, TRUE, error) ||
	    !tool_copy(root, "saved_cmdlines", dir, FALSE, error))
		return FALSE;
	qtf_capture_event_formats(described, required, optional);
	for (guint i = 0; i < required->len + optional->len; i++) {
		const gchar *event = i < required->len
					     ? g_ptr_array_index(required, i)
					     : g_ptr_array_index(optional, i - required->len);
		g_autofree gchar *rel = g_build_filename("events", event, "format", NULL);

		if (!tool_copy(root, rel, dir, i < required->len, error))
			return FALSE;
	}
	for (gint cpu = 0; cpu < n_cpus; cpu++) {
		g_autofree gchar *stats_rel = g_strdup_printf("per_cpu/cpu%d/stats", cpu);
		g_autofree gchar *raw_rel = g_strdup_printf("per_cpu/cpu%d/trace_pipe_raw", cpu);
		g_autoptr(TracefsString) stats = NULL;
		g_autoptr(GByteArray) raw = NULL;

		if (!tracefs_file_exists(tfs, stats_rel))
			continue;
		stats = tracefs_instance_file_read(tfs, stats_rel, NULL);
		raw = tool_read_raw(tfs, cpu, (gsize)getpagesize(), error);
		if (stats == NULL || raw == NULL) {
			if (error != NULL && *error == NULL)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read %s",
					    stats_rel);
			return FALSE;
		}
		if (!tool_write(dir, stats_rel, stats, strlen(stats), error) ||
		    !tool_write(dir, raw_rel, (const gchar *)raw->data, raw->len, error))
			return FALSE;
	}
	return TRUE;
}

typedef struct {
	guint64 addr;
	gchar type;
	guint line;
} ToolSym;

static gint
tool_sym_cmp(gconstpointer a, gconstpointer b)
{
	const ToolSym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static gint
tool_uint_cmp(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;

	return x < y ? -1 : x > y;
}

/*
 * The kallsyms lines that resolve the capture's addresses the way the
 * whole file does: the containing symbol (and its aliases) and the next
 * symbol libtraceevent keeps, which bounds it.
 */
static gchar *
tool_kallsyms_excerpt(const gchar *kallsyms, const QtfCapture *capture)
{
	g_auto(GStrv) lines = g_strsplit(kallsyms, "\n", -1);
	g_autoptr(GArray) syms = g_array_new(FALSE, FALSE, sizeof(ToolSym));
	g_autoptr(GHashTable) keep = g_hash_table_new(NULL, NULL);
	g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(guint));
	GString *out = g_string_new(NULL);

	for (guint i = 0; lines[i] != NULL; i++) {
		ToolSym sym = {.line = i};
		gchar name[2] = "";

		if (sscanf(lines[i], "%" G_GINT64_MODIFIER "x %c %1s", &sym.addr, &sym.type,
			   name) != 3)
			continue;
		g_array_append_val(syms, sym);
	}
	g_array_sort(syms, tool_sym_cmp);
	for (guint e = 0; e < capture->events->len; e++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, e);
		guint64 addrs[] = {ev->ip, ev->parent_ip};

		if (ev->kind != QTF_EVENT_FUNCTION)
			continue;
		for (guint a = 0; a < G_N_ELEMENTS(addrs); a++) {
			guint lo = 0, hi = syms->len;

			/* the last symbol at or below the address */
			while (lo < hi) {
				guint mid = (lo + hi) / 2;
				if (g_array_index(syms, ToolSym, mid).addr <= addrs[a])
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == 0)
				continue;
			for (guint s = lo - 1;; s--) {
				const ToolSym *sym = &g_array_index(syms, ToolSym, s);
				if (sym->addr != g_array_index(syms, ToolSym, lo - 1).addr)
					break;
				g_hash_table_add(keep, GUINT_TO_POINTER(sym->line + 1));
				if (s == 0)
					break;
			}
			for (guint s = lo; s < syms->len; s++) {
				const ToolSym *sym = &g_array_index(syms, ToolSym, s);
				g_hash_table_add(keep, GUINT_TO_POINTER(sym->line + 1));
				if (sym->type != 'a' && sym->type != 'A')
					break;
			}
		}
	}
	{
		GHashTableIter iter;
		gpointer key;

		g_hash_table_iter_init(&iter, keep);
		while (g_hash_table_iter_next(&iter, &key, NULL)) {
			guint line = GPOINTER_TO_UINT(key) - 1;
			g_array_append_val(kept, line);
		}
	}
	g_array_sort(kept, tool_uint_cmp);
	for (guint i = 0; i < kept->len; i++)
		g_string_append_printf(out, "%s\n", lines[g_array_index(kept, guint, i)]);
	return g_string_free(out, FALSE);
}

static gchar *
tool_json(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}

static JsonNode *
tool_capture_json(const QtfCapture *capture)
{
	return qtf_capture_to_json(capture);
}

static gboolean
tool_capture_from_snapshot(QtfTracer *tracer, const gchar *dir, QtfCapture **out, GError **error)
{
	g_autoptr(QtfCapture) full = qtf_tracer_describe(tracer);
	g_autoptr(QtfCapture) cut = qtf_tracer_describe(tracer);
	g_autofree gchar *kallsyms = NULL;
	g_autofree gchar *excerpt = NULL;
	g_autofree gchar *excerpt_path = g_build_filename(dir, "kallsyms", NULL);
	g_autoptr(JsonNode) full_json = NULL;
	g_autoptr(JsonNode) cut_json = NULL;
	g_autofree gchar *full_text = NULL;
	g_autofree gchar *cut_text = NULL;

	if (!tool_snapshot(tracer, full, dir, error) ||
	    !qtf_snapshot_decode(dir, "/proc/kallsyms", full, error))
		return FALSE;
	if (!g_file_get_contents("/proc/kallsyms", &kallsyms, NULL, error))
		return FALSE;
	excerpt = tool_kallsyms_excerpt(kallsyms, full);
	if (!g_file_set_contents(excerpt_path, excerpt, -1, error) ||
	    !qtf_snapshot_decode(dir, excerpt_path, cut, error))
		return FALSE;
	/* the excerpt must name everything as the whole file did */
	full_json = tool_capture_json(full);
	cut_json = tool_capture_json(cut);
	full_text = tool_json(full_json);
	cut_text = tool_json(cut_json);
	if (g_strcmp0(full_text, cut_text) != 0) {
		g_set_error_literal(
			error, G_IO_ERROR, G_IO_ERROR_FAILED,
			"the kallsyms excerpt resolves differently from /proc/kallsyms");
		return FALSE;
	}
	*out = g_steal_pointer(&full);
	return TRUE;
}

static JsonNode *
tool_session_json(const QtfMount *mounts, guint n_mounts, const ToolIoctl *ioctls, guint n_ioctls,
		  gint child_pid, const gchar *child_mount)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "mounts");
	json_builder_begin_array(b);
	for (guint i = 0; i < n_mounts; i++) {
		g_autofree gchar *dev =
			g_strdup_printf("%u:%u", mounts[i].dev_major, mounts[i].dev_minor);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "mountpoint");
		json_builder_add_string_value(b, mounts[i].mountpoint);
		json_builder_set_member_name(b, "fstype");
		json_builder_add_string_value(b, mounts[i].fstype);
		json_builder_set_member_name(b, "dev");
		json_builder_add_string_value(b, dev);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "ioctls");
	json_builder_begin_array(b);
	for (guint k = 0; k < n_ioctls; k++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, ioctls[k].ioctl.kind == QTF_IOCTL_FREEZE ? "freeze"
											  : "thaw");
		json_builder_set_member_name(b, "mount");
		json_builder_add_int_value(b, ioctls[k].ioctl.mount);
		json_builder_set_member_name(b, "tid");
		json_builder_add_int_value(b, ioctls[k].ioctl.tid);
		json_builder_set_member_name(b, "start-ns");
		json_builder_add_int_value(b, (gint64)ioctls[k].ioctl.start_ns);
		json_builder_set_member_name(b, "end-ns");
		json_builder_add_int_value(b, (gint64)ioctls[k].ioctl.end_ns);
		json_builder_set_member_name(b, "ret");
		json_builder_add_int_value(b, ioctls[k].ret);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	if (child_mount != NULL) {
		json_builder_set_member_name(b, "child");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "pid");
		json_builder_add_int_value(b, child_pid);
		json_builder_set_member_name(b, "mountpoint");
		json_builder_add_string_value(b, child_mount);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- commands ---- */

static gboolean opt_events_only;
static gboolean opt_order;
static gchar *opt_instance;
static gchar *opt_snapshot;
static gchar *opt_child;
static gchar *opt_run;
static gchar *opt_functions;
static gint opt_buffer_kb;
static gint opt_child_cpu = -1;

static const GOptionEntry tool_entries[] = {
	{"events-only", 0, 0, G_OPTION_ARG_NONE, &opt_events_only, "skip the function tracer",
	 NULL},
	{"order", 0, 0, G_OPTION_ARG_NONE, &opt_order, "verify by order, without time windows",
	 NULL},
	{"instance", 0, 0, G_OPTION_ARG_STRING, &opt_instance, "instance name", "NAME"},
	{"snapshot", 0, 0, G_OPTION_ARG_FILENAME, &opt_snapshot, "save a decodable copy", "DIR"},
	{"child", 0, 0, G_OPTION_ARG_FILENAME, &opt_child, "a forked child freezes this too",
	 "MOUNT"},
	{"child-cpu", 0, 0, G_OPTION_ARG_INT, &opt_child_cpu, "pin the child to this CPU", "N"},
	{"run", 0, 0, G_OPTION_ARG_STRING, &opt_run, "then run this under sh, traced too", "CMD"},
	{"functions", 0, 0, G_OPTION_ARG_STRING, &opt_functions, "the function filter", "A,B,..."},
	{"buffer-kb", 0, 0, G_OPTION_ARG_INT, &opt_buffer_kb, "ring buffer per CPU", "KB"},
	{NULL},
};

static gint
tool_probe(void)
{
	QtfOptions opts = {.instance = opt_instance, .events_only = opt_events_only};
	g_autoptr(GError) error = NULL;
	g_autoptr(QtfTracer) tracer = qtf_tracer_new(&opts, &error);

	if (tracer == NULL) {
		g_printerr("probe: %s\n", error->message);
		return 1;
	}
	g_print("{\"method\": \"%s\", \"reason\": \"%s\", \"tracing-dir\": \"%s\", \"instance\": "
		"\"%s\"}\n",
		qtf_method_to_string(qtf_tracer_get_method(tracer)),
		qtf_tracer_get_fallback_reason(tracer) != NULL
			? qtf_tracer_get_fallback_reason(tracer)
			: "",
		qtf_tracer_get_tracing_dir(tracer), qtf_tracer_get_instance_name(tracer));
	return 0;
}

static gint
tool_session(gchar **paths)
{
	g_auto(GStrv) functions = opt_functions != NULL ? g_strsplit(opt_functions, ",", -1) : NULL;
	QtfOptions opts = {
		.instance = opt_instance,
		.events_only = opt_events_only,
		.functions = (const gchar *const *)functions,
		.buffer_kb = (guint)MAX(opt_buffer_kb, 0),
	};
	guint n = g_strv_length(paths);
	g_autofree QtfMount *mounts = g_new0(QtfMount, n);
	g_auto(GStrv) fstypes = g_new0(gchar *, n + 1);
	g_autofree ToolIoctl *ioctls = g_new0(ToolIoctl, 2 * n);
	g_autofree QtfIoctl *plain = g_new0(QtfIoctl, 2 * n);
	g_autoptr(GError) error = NULL;
	g_autoptr(QtfTracer) tracer = NULL;
	g_autoptr(QtfCapture) capture = NULL;
	g_autoptr(QtfVerdicts) verdicts = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;
	gint tid = gettid();
	gint child_pid = 0;
	guint k = 0;
	guint64 t0, t_new, t_arm, t_collect, t_disarm;

	for (guint i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) < 0) {
			g_printerr("session: '%s': %s\n", paths[i], g_strerror(errno));
			return 1;
		}
		fstypes[i] = tool_fstype(paths[i]);
		mounts[i] = (QtfMount){paths[i], fstypes[i], major(st.st_dev), minor(st.st_dev)};
	}
	t0 = qtf_clock_now_ns();
	tracer = qtf_tracer_new(&opts, &error);
	t_new = qtf_clock_now_ns();
	if (tracer == NULL) {
		g_printerr("session: %s\n", error->message);
		return 1;
	}
	g_printerr("session: probe found '%s'%s%s\n",
		   qtf_method_to_string(qtf_tracer_get_method(tracer)),
		   qtf_tracer_get_fallback_reason(tracer) != NULL ? ": " : "",
		   qtf_tracer_get_fallback_reason(tracer) != NULL
			   ? qtf_tracer_get_fallback_reason(tracer)
			   : "");
	if (!qtf_tracer_arm(tracer, tid, &error)) {
		g_printerr("session: arm: %s\n", error->message);
		return 1;
	}
	t_arm = qtf_clock_now_ns();

	/* nothing below writes to a disk filesystem until the thaw: stdout
	 * and stderr are the console or the test port */
	for (guint i = n; i > 0; i--, k++) {
		gint errsv = 0;
		ioctls[k].ioctl = (QtfIoctl){QTF_IOCTL_FREEZE, i - 1, tid, qtf_clock_now_ns(), 0};
		ioctls[k].ret = tool_freeze(paths[i - 1], &errsv) == 0 ? 0 : -errsv;
		ioctls[k].ioctl.end_ns = qtf_clock_now_ns();
	}
	for (guint i = 0; i < n; i++, k++) {
		gint errsv = 0;
		ioctls[k].ioctl = (QtfIoctl){QTF_IOCTL_THAW, i, tid, qtf_clock_now_ns(), 0};
		ioctls[k].ret = tool_thaw(paths[i], &errsv);
		ioctls[k].ioctl.end_ns = qtf_clock_now_ns();
	}
	if (opt_child != NULL) {
		child_pid = fork();
		if (child_pid == 0) {
			gint errsv = 0;

			/* its events in another CPU's buffer: the merge has work to do */
			if (opt_child_cpu >= 0) {
				cpu_set_t set;
				CPU_ZERO(&set);
				CPU_SET(opt_child_cpu, &set);
				sched_setaffinity(0, sizeof(set), &set);
			}
			tool_freeze(opt_child, &errsv);
			tool_thaw(opt_child, &errsv);
			_exit(0);
		}
		if (child_pid > 0)
			waitpid(child_pid, NULL, 0);
	}
	if (opt_run != NULL) {
		gint status = 0;
		gchar *argv[] = {(gchar *)"/bin/sh", (gchar *)"-c", opt_run, NULL};

		/* forked: followed by function-fork and event-fork */
		if (!g_spawn_sync(NULL, argv, NULL,
				  G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
				  NULL, NULL, NULL, &status, &error)) {
			g_printerr("session: --run: %s\n", error->message);
			return 1;
		}
	}

	t_collect = qtf_clock_now_ns();
	if (opt_snapshot != NULL) {
		if (!tool_capture_from_snapshot(tracer, opt_snapshot, &capture, &error)) {
			g_printerr("session: snapshot: %s\n", error->message);
			return 1;
		}
	} else {
		capture = qtf_tracer_collect(tracer, &error);
		if (capture == NULL) {
			g_printerr("session: collect: %s\n", error->message);
			return 1;
		}
	}
	t_collect = qtf_clock_now_ns() - t_collect;
	t_disarm = qtf_clock_now_ns();
	if (!qtf_tracer_disarm(tracer, &error)) {
		g_printerr("session: disarm: %s\n", error->message);
		return 1;
	}
	t_disarm = qtf_clock_now_ns() - t_disarm;
	g_printerr("session: new+probe %.1f ms, arm %.1f ms, collect %.1f ms, disarm %.1f ms\n",
		   (t_new - t0) / 1e6, (t_arm - t_new) / 1e6, t_collect / 1e6, t_disarm / 1e6);

	for (guint j = 0; j < k; j++) {
		plain[j] = ioctls[j].ioctl;
		if (opt_order)
			plain[j].start_ns = plain[j].end_ns = 0;
	}
	verdicts = qtf_verify(capture, mounts, n, plain, k);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "capture");
	json_builder_add_value(b, qtf_capture_to_json(capture));
	json_builder_set_member_name(b, "session");
	json_builder_add_value(b, tool_session_json(mounts, n, ioctls, k, child_pid, opt_child));
	json_builder_set_member_name(b, "verdicts");
	json_builder_add_value(b, qtf_verdicts_to_json(verdicts));
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	text = tool_json(root);
	g_print("%s\n", text);

	if (opt_snapshot != NULL) {
		g_autoptr(JsonNode) cap = qtf_capture_to_json(capture);
		g_autoptr(JsonNode) ses =
			tool_session_json(mounts, n, ioctls, k, child_pid, opt_child);
		g_autoptr(JsonNode) ver = qtf_verdicts_to_json(verdicts);
		g_autofree gchar *cap_text = tool_json(cap);
		g_autofree gchar *ses_text = tool_json(ses);
		g_autofree gchar *ver_text = tool_json(ver);

		if (!tool_write(opt_snapshot, "capture.json", cap_text, strlen(cap_text), &error) ||
		    !tool_write(opt_snapshot, "session.json", ses_text, strlen(ses_text), &error) ||
		    !tool_write(opt_snapshot, "verdicts.json", ver_text, strlen(ver_text),
				&error)) {
			g_printerr("session: %s\n", error->message);
			return 1;
		}
	}
	return qtf_verdicts_all_verified(verdicts) ? 0 : 3;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context =
		g_option_context_new("probe | session MOUNT... | freeze MOUNT | thaw MOUNT");
	g_autoptr(GError) error = NULL;
	gint errsv = 0;

	g_option_context_add_main_entries(context, tool_entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("%s\n", error->message);
		return 2;
	}
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return tool_probe();
	if (argc >= 3 && strcmp(argv[1], "session") == 0)
		return tool_session(argv + 2);
	if (argc == 3 && strcmp(argv[1], "freeze") == 0) {
		if (tool_freeze(argv[2], &errsv) < 0) {
			g_printerr("freeze '%s': %s\n", argv[2], g_strerror(errsv));
			return 1;
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "thaw") == 0) {
		gint n = tool_thaw(argv[2], &errsv);
		g_print("thawed %d times ('%s' then)\n", n, g_strerror(errsv));
		return n > 0 ? 0 : 1;
	}
	{
		g_autofree gchar *help = g_option_context_get_help(context, TRUE, NULL);
		g_printerr("%s", help);
	}
	return 2;
}
