/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qtf-private.h"

#define QTF_TRACEFS_PATH "/sys/kernel/tracing"
#define QTF_KALLSYMS	 "/proc/kallsyms"
#define QTF_MODULES	 "/proc/modules"
#define QTF_CLOCK	 "mono"
/* sys_enter_ioctl's filter: only the two commands we prove */
#define QTF_IOCTL_FILTER "cmd == 0xc0045877 || cmd == 0xc0045878"

/* what arming changed, so disarm undoes exactly that */
enum {
	QTF_CHANGED_TRACER = 1 << 0,
	QTF_CHANGED_FTRACE_PID = 1 << 1,
	QTF_CHANGED_FUNCTION_FORK = 1 << 2,
	QTF_CHANGED_EVENT_PID = 1 << 3,
	QTF_CHANGED_EVENT_FORK = 1 << 4,
	QTF_CHANGED_IOCTL_FILTER = 1 << 5,
};

struct _QtfTracer {
	gchar *name;
	gchar *tracing_dir;
	gchar *kallsyms;
	gboolean mounted;	  /* we mounted tracefs: unmount at free */
	gboolean set_tracing_dir; /* we told libtracefs where it is */
	guint buffer_kb;
	gchar **functions;
	gchar **fs_events;
	gboolean events_only;
	struct tracefs_instance *tfs;
	QtfMethod method; /* what the probe found */
	gchar *fallback_reason;

	/* the session */
	QtfMethod armed;
	gboolean paused; /* a function session ended by qtf_tracer_pause() */
	guint changed;
	GPid pid;
	gchar *arm_reason;
	gchar **armed_functions; /* set_ftrace_filter as read back */
	GPtrArray *enabled;	 /* "system:name" of the events we enabled */
	gint watch;		 /* inotify on the files a resume keeps, or -1 */

	/* the parser of the last collection and what it was built for */
	struct tep_handle *tep;
	gchar *tep_key;
};

static const gchar *const qtf_default_functions_list[] = {
	"freeze_super",
	"thaw_super",
	"sync_filesystem",
	/* drops the reference freeze_super took: on thaw success, freeze failure */
	"deactivate_locked_super",
	"ext4_freeze",
	"ext4_unfreeze",
	"xfs_fs_freeze",
	"xfs_fs_unfreeze",
	"btrfs_freeze",
	"btrfs_unfreeze",
	"f2fs_freeze",
	"f2fs_unfreeze",
	"ext2_freeze",
	"ext2_unfreeze",
	"jfs_freeze",
	"jfs_unfreeze",
	"nilfs_freeze",
	"nilfs_unfreeze",
	"reiserfs_freeze",
	"reiserfs_unfreeze",
	NULL,
};

static const gchar *const qtf_default_fs_events_list[] = {
	"ext4:ext4_sync_fs",
	"xfs:xfs_fs_sync_fs",
	"btrfs:btrfs_sync_fs",
	NULL,
};

const gchar *const *
qtf_default_functions(void)
{
	return qtf_default_functions_list;
}

const gchar *const *
qtf_default_fs_events(void)
{
	return qtf_default_fs_events_list;
}

QtfMethod
qtf_tracer_get_method(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, QTF_METHOD_NONE);
	return self->method;
}

const gchar *
qtf_tracer_get_fallback_reason(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->fallback_reason;
}

const gchar *
qtf_tracer_get_tracing_dir(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->tracing_dir;
}

const gchar *
qtf_tracer_get_instance_name(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->name;
}

struct tracefs_instance *
qtf_tracer_get_instance(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->tfs;
}

gboolean
qtf_tracer_is_armed(QtfTracer *self)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return self->armed != QTF_METHOD_NONE;
}

/* ---- options ---- */

static gboolean
qtf_name_is_symbol(const gchar *name)
{
	if (name == NULL || name[0] == '\0')
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_options_check(const QtfOptions *opts, GError **error)
{
	const gchar *name = opts->instance != NULL ? opts->instance : QTF_DEFAULT_INSTANCE;

	if (name[0] == '\0' || strchr(name, '/') != NULL || g_strcmp0(name, ".") == 0 ||
	    g_strcmp0(name, "..") == 0) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' is not an instance name",
			    name);
		return FALSE;
	}
	for (guint i = 0; opts->functions != NULL && opts->functions[i] != NULL; i++) {
		/* the filter is a regex: anything but a plain name could widen it */
		if (!qtf_name_is_symbol(opts->functions[i])) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "'%s' is not a function name", opts->functions[i]);
			return FALSE;
		}
	}
	if (opts->functions != NULL && opts->functions[0] == NULL) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "an empty function list would trace every function");
		return FALSE;
	}
	for (guint i = 0; opts->fs_events != NULL && opts->fs_events[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(opts->fs_events[i], ":", -1);

		if (g_strv_length(parts) != 2 || !qtf_name_is_symbol(parts[0]) ||
		    !qtf_name_is_symbol(parts[1])) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "'%s' is not a 'system:event' name", opts->fs_events[i]);
			return FALSE;
		}
	}
	return TRUE;
}

/* ---- tracefs itself ---- */

/* the first tracefs in /proc/self/mounts, as libtracefs would find it,
 * minus its habit of leaking the answer */
static gchar *
qtf_find_tracefs(void)
{
	g_autofree gchar *mounts = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL))
		return NULL;
	lines = g_strsplit(mounts, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) fields = g_strsplit(lines[i], " ", 4);

		if (g_strv_length(fields) >= 3 && g_strcmp0(fields[2], "tracefs") == 0)
			return g_strcompress(fields[1]); /* \040 and friends */
	}
	return NULL;
}

/* "[confidentiality]" in "none integrity [confidentiality]"; NULL: unknown */
static gchar *
qtf_lockdown_mode(void)
{
	g_autofree gchar *text = NULL;
	const gchar *open_bracket;
	const gchar *close_bracket;

	if (!g_file_get_contents("/sys/kernel/security/lockdown", &text, NULL, NULL))
		return NULL;
	open_bracket = strchr(text, '[');
	close_bracket = open_bracket != NULL ? strchr(open_bracket, ']') : NULL;
	if (close_bracket == NULL)
		return NULL;
	return g_strndup(open_bracket + 1, close_bracket - open_bracket - 1);
}

static gboolean
qtf_tracer_find_tracefs(QtfTracer *self, const gchar *tracing_dir, GError **error)
{
	g_autofree gchar *trace_file = NULL;

	if (tracing_dir != NULL) {
		self->tracing_dir = g_strdup(tracing_dir);
	} else {
		self->tracing_dir = qtf_find_tracefs();
		if (self->tracing_dir == NULL) {
			if (mount("nodev", QTF_TRACEFS_PATH, "tracefs",
				  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
				gint errsv = errno;
				qtf_set_error_errno(error, errsv, NULL,
						    "cannot mount tracefs at '%s'",
						    QTF_TRACEFS_PATH);
				return FALSE;
			}
			g_debug("mounted tracefs at '%s'", QTF_TRACEFS_PATH);
			self->mounted = TRUE;
			self->tracing_dir = g_strdup(QTF_TRACEFS_PATH);
		}
	}
	/* a tracefs always has "trace", unless lockdown emptied it */
	trace_file = g_build_filename(self->tracing_dir, "trace", NULL);
	if (!g_file_test(trace_file, G_FILE_TEST_EXISTS)) {
		g_autofree gchar *lockdown = qtf_lockdown_mode();

		if (g_strcmp0(lockdown, "confidentiality") == 0)
			g_set_error(error, QTF_ERROR, QTF_ERROR_REFUSED,
				    "kernel lockdown '%s' forbids tracing", lockdown);
		else
			g_set_error(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
				    "'%s' has no 'trace' (kernel lockdown? not a tracefs?)",
				    self->tracing_dir);
		return FALSE;
	}
	if (tracefs_set_tracing_dir(self->tracing_dir) < 0) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "libtracefs cannot take the tracing dir");
		return FALSE;
	}
	self->set_tracing_dir = TRUE;
	return TRUE;
}

/* an instance of our name is a leftover of a crash: it still holds its
 * buffers and, armed, its ftrace callbacks */
void
qtf_instance_destroy(struct tracefs_instance *tfs, const gchar *name)
{
	if (tracefs_instance_destroy(tfs) < 0)
		g_debug("cannot remove the instance '%s': %s", name, g_strerror(errno));
	tracefs_instance_free(tfs);
}

gboolean
qtf_instance_remove_stale(const gchar *tracing_dir, const gchar *name, GError **error)
{
	g_autoptr(TracefsInstance) stale = NULL;

	if (!tracefs_instance_exists(name))
		return TRUE;
	stale = tracefs_instance_alloc(tracing_dir, name);
	if (stale == NULL) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, NULL, "cannot open the stale instance '%s'",
				    name);
		return FALSE;
	}
	/* rmdir resets the tracer, the filters and the pid lists itself */
	if (tracefs_instance_destroy(stale) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, NULL,
				    "cannot remove the instance '%s' (another agent using it?)",
				    name);
		return FALSE;
	}
	g_debug("removed the stale instance '%s'", name);
	return TRUE;
}

/* ---- writing the instance's files ---- */

/* @append: adds to what @file holds, else replaces it (O_TRUNC) */
static gboolean
qtf_tracer_write_mode(QtfTracer *self, const gchar *file, const gchar *value, gboolean append,
		      GError **error)
{
	if ((append ? tracefs_instance_file_append(self->tfs, file, value)
		    : tracefs_instance_file_write(self->tfs, file, value)) < 0) {
		gint errsv = errno;
		g_autofree gchar *shown = g_strchomp(g_strdup(value));
		qtf_set_error_errno(error, errsv, self->tfs, "cannot write '%s' to %s", shown,
				    file);
		return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_tracer_write(QtfTracer *self, const gchar *file, const gchar *value, GError **error)
{
	return qtf_tracer_write_mode(self, file, value, FALSE, error);
}

static gboolean
qtf_tracer_write_event(QtfTracer *self, const gchar *event, const gchar *file, const gchar *value,
		       GError **error)
{
	g_auto(GStrv) parts = g_strsplit(event, ":", 2);

	if (tracefs_event_file_write(self->tfs, parts[0], parts[1], file, value) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot write '%s' to %s's %s", value,
				    event, file);
		return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_tracer_event_exists(QtfTracer *self, const gchar *event)
{
	g_auto(GStrv) parts = g_strsplit(event, ":", 2);

	return tracefs_event_file_exists(self->tfs, parts[0], parts[1], "enable");
}

static gboolean
qtf_tracer_set_option(QtfTracer *self, enum tracefs_option_id id, gboolean on, GError **error)
{
	if (on && !tracefs_option_is_supported(self->tfs, id)) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
			    "the kernel has no option '%s'", tracefs_option_name(id));
		return FALSE;
	}
	if ((on ? tracefs_option_enable(self->tfs, id) : tracefs_option_disable(self->tfs, id)) <
	    0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot turn option '%s' %s",
				    tracefs_option_name(id), on ? "on" : "off");
		return FALSE;
	}
	return TRUE;
}

/* both pid files reset on O_TRUNC, @append keeps what they hold; read
 * back, as the filter is */
static gboolean
qtf_tracer_add_pid(QtfTracer *self, const gchar *file, GPid pid, gboolean append, GError **error)
{
	/* perf writes a newline: without it the kernel can hide errors */
	g_autofree gchar *value = g_strdup_printf("%d\n", (gint)pid);
	g_autoptr(TracefsString) back = NULL;
	g_auto(GStrv) pids = NULL;

	if (!qtf_tracer_write_mode(self, file, value, append, error))
		return FALSE;
	back = tracefs_instance_file_read(self->tfs, file, NULL);
	if (back == NULL) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot read back %s", file);
		return FALSE;
	}
	pids = g_strsplit_set(back, " \n", -1);
	if (!g_strv_contains((const gchar *const *)pids, g_strchomp(value))) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
			    "%s does not hold pid %d after writing it", file, (gint)pid);
		return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_tracer_set_pid(QtfTracer *self, const gchar *file, GPid pid, GError **error)
{
	return qtf_tracer_add_pid(self, file, pid, FALSE, error);
}

/* ---- arming ---- */

static gboolean
qtf_tracer_prepare(QtfTracer *self, GError **error)
{
	g_autofree gchar *clock = NULL;

	if (tracefs_trace_off(self->tfs) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot turn tracing off");
		return FALSE;
	}
	/* mkdir gives the instance the full default buffer: ~1.4 MB per CPU */
	if (tracefs_instance_set_buffer_size(self->tfs, self->buffer_kb, -1) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs,
				    "cannot set the buffer to %u KB per CPU", self->buffer_kb);
		return FALSE;
	}
	/* the agent's CLOCK_MONOTONIC readings compare with it; also
	 * consistent across CPUs, which the merge by timestamp needs */
	if (!qtf_tracer_write(self, "trace_clock", QTF_CLOCK, error))
		return FALSE;
	clock = tracefs_get_clock(self->tfs);
	if (g_strcmp0(clock, QTF_CLOCK) != 0) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
			    "trace_clock is '%s' after writing '%s'", clock, QTF_CLOCK);
		return FALSE;
	}
	return TRUE;
}

static gchar **
qtf_filter_parse(const gchar *text)
{
	g_autoptr(GStrvBuilder) names = g_strv_builder_new();
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) words = NULL;

		/* "#### all functions enabled ####" is what empty looks like */
		if (lines[i][0] == '#' || lines[i][0] == '\0')
			continue;
		words = g_strsplit(lines[i], " ", 2); /* "xfs_fs_freeze [xfs]" */
		g_strv_builder_add(names, words[0]);
	}
	return g_strv_builder_end(names);
}

/* whether set_ftrace_filter still holds what the last session armed */
static gboolean
qtf_tracer_filter_is_armed(QtfTracer *self)
{
	g_autoptr(TracefsString) back = NULL;
	g_auto(GStrv) names = NULL;

	if (self->armed_functions == NULL)
		return FALSE;
	back = tracefs_instance_file_read(self->tfs, "set_ftrace_filter", NULL);
	if (back == NULL)
		return FALSE;
	names = qtf_filter_parse(back);
	if (g_strv_length(names) != g_strv_length(self->armed_functions))
		return FALSE;
	for (guint i = 0; names[i] != NULL; i++) {
		if (!g_strv_contains((const gchar *const *)self->armed_functions, names[i]))
			return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_tracer_set_filter(QtfTracer *self, GError **error)
{
	g_autoptr(TracefsString) back = NULL;
	guint matched = 0;
	gint errsv;
	gint fd;

	/* Kept from the last session, unless someone changed it: writing it
	 * makes the kernel look up the name of every traceable function for
	 * each name written (about 1 s in a TCG guest), and it is this
	 * instance's own, in effect only under its function tracer. */
	if (qtf_tracer_filter_is_armed(self))
		return TRUE;
	/* The names themselves, one write each, for the kernel to match:
	 * tracefs_function_filter() would read all of available_filter_functions
	 * on top. The names are plain symbols (qtf_options_check): no glob, no
	 * command. O_TRUNC resets; the kernel applies the new filter on close. */
	fd = tracefs_instance_file_open(self->tfs, "set_ftrace_filter",
					O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot open set_ftrace_filter");
		return FALSE;
	}
	for (guint i = 0; self->functions[i] != NULL; i++) {
		/* the newline ends the name: the kernel's parser would join it
		 * with the next write, and it only reports a miss for a name
		 * that has ended */
		g_autofree gchar *line = g_strconcat(self->functions[i], "\n", NULL);
		gsize len = strlen(line);

		if (write(fd, line, len) == (gssize)len) {
			matched++;
			continue;
		}
		errsv = errno;
		/* not on this kernel (not built, inlined, a module not loaded) */
		if (errsv == EINVAL || errsv == ENODEV)
			continue;
		close(fd);
		qtf_set_error_errno(error, errsv, self->tfs,
				    "cannot write '%s' to set_ftrace_filter", self->functions[i]);
		return FALSE;
	}
	if (close(fd) != 0) {
		errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot apply set_ftrace_filter");
		return FALSE;
	}
	if (matched == 0) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
				    "none of the functions is in available_filter_functions");
		return FALSE;
	}
	back = tracefs_instance_file_read(self->tfs, "set_ftrace_filter", NULL);
	if (back == NULL) {
		errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot read back set_ftrace_filter");
		return FALSE;
	}
	g_strfreev(self->armed_functions);
	self->armed_functions = qtf_filter_parse(back);
	if (self->armed_functions[0] == NULL) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNSAFE,
				    "set_ftrace_filter reads back empty, which traces every "
				    "function: not arming");
		return FALSE;
	}
	return TRUE;
}

/* set_event_pid and event-fork, before the first event */
static gboolean
qtf_tracer_set_event_pid(QtfTracer *self, GPid pid, GError **error)
{
	self->changed |= QTF_CHANGED_EVENT_FORK;
	if (!qtf_tracer_set_option(self, TRACEFS_OPTION_EVENT_FORK, TRUE, error))
		return FALSE;
	self->changed |= QTF_CHANGED_EVENT_PID;
	return qtf_tracer_set_pid(self, "set_event_pid", pid, error);
}

static gboolean
qtf_tracer_enable_event(QtfTracer *self, const gchar *event, GError **error)
{
	if (!qtf_tracer_write_event(self, event, "enable", "1", error))
		return FALSE;
	g_ptr_array_add(self->enabled, g_strdup(event));
	return TRUE;
}

/* the superblock's device: best effort, the proof does not depend on it */
static void
qtf_tracer_enable_fs_events(QtfTracer *self, GPid pid, gboolean pid_set)
{
	for (guint i = 0; self->fs_events[i] != NULL; i++) {
		g_autoptr(GError) error_local = NULL;

		if (!qtf_tracer_event_exists(self, self->fs_events[i])) {
			g_debug("no event '%s', ignoring", self->fs_events[i]);
			continue;
		}
		if (!pid_set) {
			if (!qtf_tracer_set_event_pid(self, pid, &error_local)) {
				g_debug("not recording fs events, ignoring: %s",
					error_local->message);
				return;
			}
			pid_set = TRUE;
		}
		if (!qtf_tracer_enable_event(self, self->fs_events[i], &error_local))
			g_debug("not recording '%s', ignoring: %s", self->fs_events[i],
				error_local->message);
	}
}

static gboolean
qtf_tracer_start(QtfTracer *self, GError **error)
{
	/* the tracer and the clock cleared it already; the probe's or a
	 * previous session's leftovers go too */
	if (tracefs_instance_file_clear(self->tfs, "trace") < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot clear the buffer");
		return FALSE;
	}
	if (tracefs_trace_on(self->tfs) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot turn tracing on");
		return FALSE;
	}
	return TRUE;
}

/* the files a paused session keeps as the last full arm wrote them, which change only
 * by a write; tracing_on is not among them: the kernel turns it off by itself */
static const gchar *const qtf_kept_files[] = {
	"current_tracer",
	"set_ftrace_pid",
	"set_ftrace_filter",
	"trace_clock",
};

static void
qtf_tracer_unwatch(QtfTracer *self)
{
	if (self->watch >= 0)
		close(self->watch);
	self->watch = -1;
}

/* Watches the kept files from now on: reading set_ftrace_filter back makes the kernel walk
 * every traceable function (milliseconds under TCG), where a write by anyone shows up as
 * an inotify event. Best effort: without a watch a resume reads the files back. */
static void
qtf_tracer_watch(QtfTracer *self)
{
	qtf_tracer_unwatch(self);
	self->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (guint i = 0; self->watch >= 0 && i < G_N_ELEMENTS(qtf_kept_files); i++) {
		gchar *path = tracefs_instance_get_file(self->tfs, qtf_kept_files[i]);

		if (path == NULL || inotify_add_watch(self->watch, path,
						      IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
							      IN_DELETE_SELF) < 0) {
			g_debug("cannot watch %s: %s, reading it back instead", qtf_kept_files[i],
				g_strerror(errno));
			qtf_tracer_unwatch(self);
		}
		tracefs_put_tracing_file(path);
	}
}

/* whether no kept file was written (or the instance removed) since qtf_tracer_watch() */
static gboolean
qtf_tracer_watch_quiet(QtfTracer *self)
{
	gchar events[sizeof(struct inotify_event) + NAME_MAX + 1];

	return self->watch >= 0 && read(self->watch, events, sizeof(events)) < 0 && errno == EAGAIN;
}

static gboolean
qtf_tracer_arm_function(QtfTracer *self, GPid pid, GError **error)
{
	guint64 t0 = qtf_clock_now_ns();
	guint64 t_filter, t_tracer;

	if (!qtf_tracer_prepare(self, error) || !qtf_tracer_set_filter(self, error))
		return FALSE;
	/* the filter costs the kernel a walk of every traceable function,
	 * the tracer a patching of the call sites: the two slow steps */
	t_filter = qtf_clock_now_ns();
	self->changed |= QTF_CHANGED_FUNCTION_FORK;
	if (!qtf_tracer_set_option(self, TRACEFS_OPTION_FUNCTION_FORK, TRUE, error))
		return FALSE;
	self->changed |= QTF_CHANGED_FTRACE_PID;
	if (!qtf_tracer_set_pid(self, "set_ftrace_pid", pid, error))
		return FALSE;
	qtf_tracer_enable_fs_events(self, pid, FALSE);
	t_tracer = qtf_clock_now_ns();
	/* 'function', never 'function_graph': instances have it from 6.10 only */
	self->changed |= QTF_CHANGED_TRACER;
	if (tracefs_tracer_set(self->tfs, TRACEFS_TRACER_FUNCTION) != 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot set the 'function' tracer");
		return FALSE;
	}
	if (!qtf_tracer_start(self, error))
		return FALSE;
	qtf_tracer_watch(self);
	g_debug("function tracer armed for %d in %" G_GUINT64_FORMAT
		" ms (filter %" G_GUINT64_FORMAT " ms, tracer %" G_GUINT64_FORMAT " ms)",
		(gint)pid, (qtf_clock_now_ns() - t0) / 1000000, (t_filter - t0) / 1000000,
		(qtf_clock_now_ns() - t_tracer) / 1000000);
	return TRUE;
}

static gboolean
qtf_tracer_arm_events(QtfTracer *self, GPid pid, GError **error)
{
	const gchar *enter = "syscalls:sys_enter_ioctl";
	const gchar *exit = "syscalls:sys_exit_ioctl";

	if (!qtf_tracer_prepare(self, error) || !qtf_tracer_set_event_pid(self, pid, error))
		return FALSE;
	if (!qtf_tracer_event_exists(self, enter) || !qtf_tracer_event_exists(self, exit)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
				    "no ioctl syscall events (CONFIG_FTRACE_SYSCALLS)");
		return FALSE;
	}
	/* any syscalls:* event sends every task's syscalls down the slow
	 * path: armed only around a freeze */
	self->changed |= QTF_CHANGED_IOCTL_FILTER;
	if (!qtf_tracer_write_event(self, enter, "filter", QTF_IOCTL_FILTER, error) ||
	    !qtf_tracer_enable_event(self, enter, error) ||
	    !qtf_tracer_enable_event(self, exit, error))
		return FALSE;
	qtf_tracer_enable_fs_events(self, pid, TRUE);
	return qtf_tracer_start(self, error);
}

/* keeps the first failure of a sequence that carries on regardless */
static void
qtf_keep_first(GError **first, GError *error)
{
	if (error == NULL)
		return;
	if (*first == NULL)
		*first = error;
	else
		g_error_free(error);
}

/* every step, even after a failed one; the first failure is reported */
static gboolean
qtf_tracer_undo(QtfTracer *self, GError **error)
{
	g_autoptr(GError) first = NULL;
	GError *step = NULL;

	if (tracefs_trace_off(self->tfs) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(&step, errsv, self->tfs, "cannot turn tracing off");
		qtf_keep_first(&first, g_steal_pointer(&step));
	}
	/* tracing_on=0 alone leaves the callbacks patched in */
	if ((self->changed & QTF_CHANGED_TRACER) != 0 && tracefs_tracer_clear(self->tfs) != 0) {
		gint errsv = errno;
		qtf_set_error_errno(&step, errsv, self->tfs, "cannot set the 'nop' tracer");
		qtf_keep_first(&first, g_steal_pointer(&step));
	}
	if ((self->changed & QTF_CHANGED_FTRACE_PID) != 0 &&
	    !qtf_tracer_write(self, "set_ftrace_pid", "", &step))
		qtf_keep_first(&first, g_steal_pointer(&step));
	if ((self->changed & QTF_CHANGED_FUNCTION_FORK) != 0 &&
	    !qtf_tracer_set_option(self, TRACEFS_OPTION_FUNCTION_FORK, FALSE, &step))
		qtf_keep_first(&first, g_steal_pointer(&step));
	for (guint i = 0; i < self->enabled->len; i++) {
		if (!qtf_tracer_write_event(self, g_ptr_array_index(self->enabled, i), "enable",
					    "0", &step))
			qtf_keep_first(&first, g_steal_pointer(&step));
	}
	if ((self->changed & QTF_CHANGED_IOCTL_FILTER) != 0 &&
	    !qtf_tracer_write_event(self, "syscalls:sys_enter_ioctl", "filter", "0", &step))
		qtf_keep_first(&first, g_steal_pointer(&step));
	if ((self->changed & QTF_CHANGED_EVENT_PID) != 0 &&
	    !qtf_tracer_write(self, "set_event_pid", "", &step))
		qtf_keep_first(&first, g_steal_pointer(&step));
	if ((self->changed & QTF_CHANGED_EVENT_FORK) != 0 &&
	    !qtf_tracer_set_option(self, TRACEFS_OPTION_EVENT_FORK, FALSE, &step))
		qtf_keep_first(&first, g_steal_pointer(&step));

	self->changed = 0;
	g_ptr_array_set_size(self->enabled, 0);
	self->armed = QTF_METHOD_NONE;
	self->paused = FALSE;
	qtf_tracer_unwatch(self);
	if (first != NULL) {
		g_propagate_error(error, g_steal_pointer(&first));
		return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_tracer_arm_method(QtfTracer *self, QtfMethod method, GPid pid, GError **error)
{
	gboolean ok = method == QTF_METHOD_FUNCTION ? qtf_tracer_arm_function(self, pid, error)
						    : qtf_tracer_arm_events(self, pid, error);

	if (!ok) {
		qtf_tracer_undo(self, NULL);
		return FALSE;
	}
	self->armed = method;
	self->pid = pid;
	return TRUE;
}

/* events in the instance's buffers, all CPUs */
static guint64
qtf_tracer_count_entries(QtfTracer *self)
{
	glong n_cpus = sysconf(_SC_NPROCESSORS_CONF);
	guint64 entries = 0;

	for (gint cpu = 0; cpu < n_cpus; cpu++) {
		g_autofree gchar *file = g_strdup_printf("per_cpu/cpu%d/stats", cpu);
		g_autoptr(TracefsString) stats =
			tracefs_file_exists(self->tfs, file)
				? tracefs_instance_file_read(self->tfs, file, NULL)
				: NULL;

		if (stats != NULL && g_str_has_prefix(stats, "entries:"))
			entries += g_ascii_strtoull(stats + strlen("entries:"), NULL, 10);
	}
	return entries;
}

/*
 * Armed is not recording: with kernel.ftrace_enabled=0 every write
 * succeeds and nothing is traced. So make the kernel reach thaw_super
 * once and look: FITHAW on tracefs itself always fails there, with
 * EINVAL, since tracefs has no freeze_fs and can never be frozen. Nobody's
 * filesystem is touched.
 */
static gboolean
qtf_tracer_self_test(QtfTracer *self, GError **error)
{
	gint fd = open(self->tracing_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	guint64 entries;

	if (fd < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, NULL, "cannot open '%s'", self->tracing_dir);
		return FALSE;
	}
	if (ioctl(fd, FITHAW) == 0)
		g_debug("FITHAW on tracefs succeeded, which it cannot");
	close(fd);
	tracefs_trace_off(self->tfs);
	entries = qtf_tracer_count_entries(self);
	if (entries == 0) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
				    "armed, but a FITHAW of ours left no event "
				    "(kernel.ftrace_enabled=0?)");
		return FALSE;
	}
	return TRUE;
}

/* a full arm, a traced call and a disarm for ourselves: some refusals
 * (an LSM on current_tracer) and some silences only show when tried */
static gboolean
qtf_tracer_probe(QtfTracer *self, GError **error)
{
	g_autoptr(GError) function_error = NULL;
	g_autoptr(GError) events_error = NULL;
	GPid tid = gettid();

	if (!self->events_only) {
		if (qtf_tracer_arm_method(self, QTF_METHOD_FUNCTION, tid, &function_error) &&
		    qtf_tracer_self_test(self, &function_error)) {
			self->method = QTF_METHOD_FUNCTION;
			return qtf_tracer_undo(self, error);
		}
		qtf_tracer_undo(self, NULL);
		g_debug("function tracer unusable: %s", function_error->message);
	}
	if (qtf_tracer_arm_method(self, QTF_METHOD_EVENTS, tid, &events_error) &&
	    qtf_tracer_self_test(self, &events_error)) {
		self->method = QTF_METHOD_EVENTS;
		self->fallback_reason =
			function_error != NULL
				? g_strdup_printf("function tracer: %s", function_error->message)
				: g_strdup("function tracer not tried (events only)");
		return qtf_tracer_undo(self, error);
	}
	qtf_tracer_undo(self, NULL);
	if (function_error != NULL) {
		/* refused anywhere is what an operator needs to hear */
		gint code = function_error->code == QTF_ERROR_REFUSED ? QTF_ERROR_REFUSED
								      : events_error->code;
		g_set_error(error, QTF_ERROR, code, "cannot trace: function tracer: %s; events: %s",
			    function_error->message, events_error->message);
	} else {
		g_set_error(error, QTF_ERROR, events_error->code, "cannot trace: events: %s",
			    events_error->message);
	}
	return FALSE;
}

QtfTracer *
qtf_tracer_new(const QtfOptions *opts, GError **error)
{
	const QtfOptions defaults = {0};
	g_autoptr(QtfTracer) self = NULL;

	if (opts == NULL)
		opts = &defaults;
	if (!qtf_options_check(opts, error))
		return NULL;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* fuzz input must not create or arm ftrace instances on the fuzzing host */
	g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
			    "tracing is disabled in a fuzzing build");
	return NULL;
#endif
	self = g_new0(QtfTracer, 1);
	self->name = g_strdup(opts->instance != NULL ? opts->instance : QTF_DEFAULT_INSTANCE);
	self->kallsyms = g_strdup(opts->kallsyms != NULL ? opts->kallsyms : QTF_KALLSYMS);
	self->buffer_kb = opts->buffer_kb > 0 ? opts->buffer_kb : QTF_DEFAULT_BUFFER_KB;
	self->functions = g_strdupv(
		(gchar **)(opts->functions != NULL ? opts->functions : qtf_default_functions()));
	self->fs_events = g_strdupv(
		(gchar **)(opts->fs_events != NULL ? opts->fs_events : qtf_default_fs_events()));
	self->events_only = opts->events_only;
	self->enabled = g_ptr_array_new_with_free_func(g_free);
	self->watch = -1;

	if (!qtf_tracer_find_tracefs(self, opts->tracing_dir, error) ||
	    !qtf_instance_remove_stale(self->tracing_dir, self->name, error))
		return NULL;
	self->tfs = tracefs_instance_create(self->name);
	if (self->tfs == NULL) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, NULL, "cannot create the instance '%s'",
				    self->name);
		return NULL;
	}
	if (!qtf_tracer_probe(self, error))
		return NULL;
	g_debug("instance '%s' in '%s': %s%s%s", self->name, self->tracing_dir,
		qtf_method_to_string(self->method), self->fallback_reason != NULL ? ", " : "",
		self->fallback_reason != NULL ? self->fallback_reason : "");
	return g_steal_pointer(&self);
}

/* NULL when @file of the instance reads back as exactly @expected, else
 * what it holds (transfer full) */
static gchar *
qtf_tracer_file_differs(QtfTracer *self, const gchar *file, const gchar *expected)
{
	g_autoptr(TracefsString) back = tracefs_instance_file_read(self->tfs, file, NULL);

	if (back != NULL && g_strcmp0(g_strstrip(back), expected) == 0)
		return NULL;
	return g_strdup(back != NULL ? back : g_strerror(errno));
}

/* Read back, the kept files hold what a full arm wrote: only without a watch */
static gboolean
qtf_tracer_kept_read_back(QtfTracer *self, const gchar *pid_text)
{
	const struct {
		const gchar *file;
		const gchar *expected;
	} kept[] = {
		{"current_tracer", "function"},
		{"set_ftrace_pid", pid_text},
	};
	g_autofree gchar *clock = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(kept); i++) {
		g_autofree gchar *found =
			qtf_tracer_file_differs(self, kept[i].file, kept[i].expected);

		if (found != NULL) {
			g_debug("not resuming: %s is '%s'", kept[i].file, found);
			return FALSE;
		}
	}
	clock = tracefs_get_clock(self->tfs);
	if (g_strcmp0(clock, QTF_CLOCK) != 0 || !qtf_tracer_filter_is_armed(self)) {
		g_debug("not resuming: the clock or the filter changed");
		return FALSE;
	}
	return TRUE;
}

/*
 * A paused session for the same pid, still as it was left (recording, its
 * buffer drained by the last collection and reset by tracing_on): nothing
 * to write. Anything changed behind our back (`trace-cmd reset`, tracing
 * off, another pid added, the instance gone) means a full arm. A write to
 * a kept file is seen by the watch; what the kernel changes by itself
 * (tracing_on; a filtered function gone with its module, read back after
 * the thaw by qtf_tracer_pause()) by reading.
 */
static gboolean
qtf_tracer_resume(QtfTracer *self, GPid pid)
{
	g_autofree gchar *pid_text = g_strdup_printf("%d", (gint)pid);
	g_autofree gchar *tracing_on = NULL;

	if (!self->paused || self->pid != pid)
		return FALSE;
	if (self->watch < 0) {
		if (!qtf_tracer_kept_read_back(self, pid_text))
			return FALSE;
	} else if (!qtf_tracer_watch_quiet(self)) {
		g_debug("not resuming: the instance's files were written since the last arm");
		return FALSE;
	}
	tracing_on = qtf_tracer_file_differs(self, "tracing_on", "1");
	if (tracing_on != NULL) {
		g_debug("not resuming: tracing_on is '%s'", tracing_on);
		return FALSE;
	}
	self->paused = FALSE;
	self->armed = QTF_METHOD_FUNCTION;
	g_clear_pointer(&self->arm_reason, g_free);
	return TRUE;
}

gboolean
qtf_tracer_arm(QtfTracer *self, GPid pid, GError **error)
{
	g_autoptr(GError) function_error = NULL;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(pid > 0, FALSE);

	if (qtf_tracer_resume(self, pid)) {
		g_debug("function tracer resumed for %d", (gint)pid);
		return TRUE;
	}
	if ((self->armed != QTF_METHOD_NONE || self->changed != 0) &&
	    !qtf_tracer_disarm(self, error))
		return FALSE;
	g_clear_pointer(&self->arm_reason, g_free);
	if (self->method == QTF_METHOD_FUNCTION) {
		if (qtf_tracer_arm_method(self, QTF_METHOD_FUNCTION, pid, &function_error))
			return TRUE;
		g_debug("function tracer failed, falling back to events: %s",
			function_error->message);
	}
	if (!qtf_tracer_arm_method(self, QTF_METHOD_EVENTS, pid, error)) {
		if (function_error != NULL)
			g_prefix_error(error,
				       "function tracer: %s; events: ", function_error->message);
		return FALSE;
	}
	self->arm_reason = function_error != NULL
				   ? g_strdup_printf("function tracer: %s", function_error->message)
				   : g_strdup(self->fallback_reason);
	return TRUE;
}

gboolean
qtf_tracer_follow_pid(QtfTracer *self, GPid pid, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(pid > 0, FALSE);

	if (self->armed == QTF_METHOD_NONE) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "not armed: nothing to follow a pid with");
		return FALSE;
	}
	if (self->armed == QTF_METHOD_FUNCTION &&
	    !qtf_tracer_add_pid(self, "set_ftrace_pid", pid, TRUE, error))
		return FALSE;
	/* the events method always has it, the function tracer with fs events */
	if ((self->changed & QTF_CHANGED_EVENT_PID) != 0 &&
	    !qtf_tracer_add_pid(self, "set_event_pid", pid, TRUE, error))
		return FALSE;
	return TRUE;
}

gboolean
qtf_tracer_pause(QtfTracer *self, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);

	if (self->armed != QTF_METHOD_FUNCTION)
		return qtf_tracer_disarm(self, error);
	/* the one check a resume leaves out, here after the thaw: the kernel
	 * drops a function from the filter with its module, no write seen */
	if (!qtf_tracer_filter_is_armed(self)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "set_ftrace_filter no longer holds the armed functions: "
				    "not pausing, the next freeze arms in full");
		qtf_tracer_undo(self, NULL);
		return FALSE;
	}
	/* on again now, after the thaw: with the function tracer, tracing_on
	 * resets the buffer (and its loss counters) and waits for an RCU grace
	 * period, ~25 ms under TCG, which also slows a freeze_super() right
	 * after it; none of that belongs before the next FIFREEZE */
	if (tracefs_trace_on(self->tfs) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot turn tracing on");
		qtf_tracer_undo(self, NULL);
		return FALSE;
	}
	self->armed = QTF_METHOD_NONE;
	self->paused = TRUE;
	return TRUE;
}

gboolean
qtf_tracer_disarm(QtfTracer *self, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);

	if (self->armed == QTF_METHOD_NONE && self->changed == 0)
		return TRUE;
	return qtf_tracer_undo(self, error);
}

void
qtf_instance_read_losses(struct tracefs_instance *tfs, QtfCapture *capture)
{
	glong n_cpus = sysconf(_SC_NPROCESSORS_CONF);

	/* the same CPUs tracefs_iterate_raw_events() reads */
	for (gint cpu = 0; cpu < n_cpus; cpu++) {
		g_autofree gchar *file = g_strdup_printf("per_cpu/cpu%d/stats", cpu);
		g_autoptr(TracefsString) stats = NULL;

		if (!tracefs_file_exists(tfs, file))
			continue;
		stats = tracefs_instance_file_read(tfs, file, NULL);
		if (stats == NULL) {
			/* unknown is not none */
			qtf_capture_get_cpu(capture, cpu)->missed = -1;
			g_debug("cannot read %s", file);
			continue;
		}
		qtf_cpu_loss_parse_stats(qtf_capture_get_cpu(capture, cpu), stats);
	}
}

gboolean
qtf_instance_drain(struct tracefs_instance *tfs, struct tep_handle *tep,
		   int (*callback)(struct tep_event *, struct tep_record *, int, void *),
		   void *data, GError **error)
{
	if (tracefs_iterate_raw_events(tep, tfs, NULL, 0, callback, data) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, tfs, "cannot read the buffers");
		return FALSE;
	}
	return TRUE;
}

void
qtf_tracer_read_losses(QtfTracer *self, QtfCapture *capture)
{
	qtf_instance_read_losses(self->tfs, capture);
}

QtfCapture *
qtf_tracer_describe(QtfTracer *self)
{
	QtfCapture *capture = qtf_capture_new(self->armed);
	g_autoptr(TracefsString) clock = tracefs_get_clock(self->tfs);
	g_autoptr(GStrvBuilder) tracepoints = g_strv_builder_new();

	capture->reason = g_strdup(self->arm_reason);
	capture->clock = g_strdup(clock);
	capture->instance = g_strdup(self->name);
	capture->pid = self->pid;
	if (self->armed == QTF_METHOD_FUNCTION) {
		g_strfreev(capture->functions);
		capture->functions = g_strdupv(self->armed_functions);
	}
	for (guint i = 0; i < self->enabled->len; i++)
		g_strv_builder_add(tracepoints, g_ptr_array_index(self->enabled, i));
	g_strfreev(capture->tracepoints);
	capture->tracepoints = g_strv_builder_end(tracepoints);
	return capture;
}

/* Loading the formats and kallsyms is most of a collection (about 0.5 s
 * in a TCG guest): the last parser serves again while the same formats
 * are asked for and no module came or went (kernel text does not move
 * within a boot). Only task names are read anew. */
static struct tep_handle *
qtf_tracer_tep(QtfTracer *self, GPtrArray *required, GPtrArray *optional, GError **error)
{
	g_autofree gchar *modules = NULL;
	g_autoptr(GString) key = g_string_new(NULL);

	if (g_file_get_contents(QTF_MODULES, &modules, NULL, NULL)) {
		g_string_append_printf(key, "%s\n%s\n", self->kallsyms, modules);
		for (guint i = 0; i < required->len; i++)
			g_string_append_printf(key, "+%s\n",
					       (const gchar *)g_ptr_array_index(required, i));
		for (guint i = 0; i < optional->len; i++)
			g_string_append_printf(key, "?%s\n",
					       (const gchar *)g_ptr_array_index(optional, i));
		if (self->tep != NULL && g_strcmp0(self->tep_key, key->str) == 0) {
			qtf_tep_update_comms(self->tep, self->tracing_dir);
			return self->tep;
		}
	}
	g_clear_pointer(&self->tep, tep_free);
	g_clear_pointer(&self->tep_key, g_free);
	self->tep = qtf_tep_load(self->tracing_dir, self->kallsyms, required, optional, error);
	if (self->tep != NULL && modules != NULL)
		self->tep_key = g_string_free(g_steal_pointer(&key), FALSE);
	return self->tep;
}

QtfCapture *
qtf_tracer_collect(QtfTracer *self, GError **error)
{
	g_autoptr(QtfCapture) capture = NULL;
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
	struct tep_handle *tep;
	g_autoptr(QtfDecoder) decoder = NULL;

	g_return_val_if_fail(self != NULL, NULL);

	if (self->armed == QTF_METHOD_NONE) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED, "the tracer is not armed");
		return NULL;
	}
	if (tracefs_trace_off(self->tfs) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot turn tracing off");
		return NULL;
	}
	capture = qtf_tracer_describe(self);
	qtf_tracer_read_losses(self, capture);

	/* after the capture: modules loaded and tasks named during it resolve */
	qtf_capture_event_formats(capture, required, optional);
	tep = qtf_tracer_tep(self, required, optional, error);
	if (tep == NULL)
		return NULL;
	decoder = qtf_decoder_new(tep, capture);
	if (!qtf_instance_drain(self->tfs, tep, qtf_decoder_record_cb, decoder, error))
		return NULL;
	return g_steal_pointer(&capture);
}

void
qtf_tracer_free(QtfTracer *self)
{
	if (self == NULL)
		return;
	if (self->tfs != NULL) {
		g_autoptr(GError) error = NULL;

		if (!qtf_tracer_disarm(self, &error))
			g_debug("disarming at exit: %s", error->message);
		qtf_instance_destroy(self->tfs, self->name);
	}
	qtf_tracer_unwatch(self);
	if (self->set_tracing_dir)
		tracefs_set_tracing_dir(NULL);
	/* as we found it; busy means someone else uses it now */
	if (self->mounted && umount2(self->tracing_dir, 0) < 0)
		g_debug("leaving tracefs mounted at '%s': %s", self->tracing_dir,
			g_strerror(errno));
	g_free(self->name);
	g_free(self->tracing_dir);
	g_free(self->kallsyms);
	g_strfreev(self->functions);
	g_strfreev(self->fs_events);
	g_free(self->fallback_reason);
	g_free(self->arm_reason);
	g_strfreev(self->armed_functions);
	if (self->tep != NULL)
		tep_free(self->tep);
	g_free(self->tep_key);
	if (self->enabled != NULL)
		g_ptr_array_unref(self->enabled);
	g_free(self);
}
