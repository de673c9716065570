/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-trace.h"

#define QGA_TRACE_ID_MAX 128
/* a session file is a few KB: anything far larger is not one of ours */
#define QGA_TRACE_FILE_MAX (16 * 1024 * 1024)

/* ---------------------------------------------------------------------------------------- */
/* one session */

typedef struct {
	gchar *mountpoint;
	gchar *fstype;
	guint dev_major;
	guint dev_minor;
	gboolean reported;
} QgaTraceMount;

struct _QgaTraceSession {
	gchar *id;
	gchar *source;
	GPid pid;
	guint64 started_ns;
	guint64 ended_ns;
	gchar *error;
	GPtrArray *notes;  /* gchar * */
	GPtrArray *mounts; /* QgaTraceMount */
	GArray *ioctls;    /* QtfIoctl */
	gchar *unattributable;
	QtfCapture *capture; /* NULL until finished */
	QtfVerdicts *verdicts;
};

static void
qga_trace_mount_free(QgaTraceMount *self)
{
	g_free(self->mountpoint);
	g_free(self->fstype);
	g_free(self);
}

QgaTraceSession *
qga_trace_session_new(const gchar *id, const gchar *source, GPid pid, guint64 started_ns)
{
	QgaTraceSession *self = g_new0(QgaTraceSession, 1);

	self->id = g_strdup(id);
	self->source = g_strdup(source);
	self->pid = pid;
	self->started_ns = started_ns;
	self->notes = g_ptr_array_new_with_free_func(g_free);
	self->mounts = g_ptr_array_new_with_free_func((GDestroyNotify)qga_trace_mount_free);
	self->ioctls = g_array_new(FALSE, TRUE, sizeof(QtfIoctl));
	return self;
}

void
qga_trace_session_free(QgaTraceSession *self)
{
	if (self == NULL)
		return;
	g_free(self->id);
	g_free(self->source);
	g_free(self->error);
	g_ptr_array_unref(self->notes);
	g_ptr_array_unref(self->mounts);
	g_array_unref(self->ioctls);
	g_free(self->unattributable);
	if (self->capture != NULL)
		qtf_capture_free(self->capture);
	if (self->verdicts != NULL)
		g_ptr_array_unref(self->verdicts);
	g_free(self);
}

const gchar *
qga_trace_session_get_id(const QgaTraceSession *self)
{
	return self->id;
}

guint
qga_trace_session_add_mount(QgaTraceSession *self, const gchar *mountpoint, const gchar *fstype,
			    guint dev_major, guint dev_minor, gboolean reported)
{
	QgaTraceMount *mount = g_new0(QgaTraceMount, 1);

	mount->mountpoint = g_strdup(mountpoint);
	mount->fstype = g_strdup(fstype);
	mount->dev_major = dev_major;
	mount->dev_minor = dev_minor;
	mount->reported = reported;
	g_ptr_array_add(self->mounts, mount);
	return self->mounts->len - 1;
}

gint
qga_trace_session_find_mount(const QgaTraceSession *self, guint dev_major, guint dev_minor)
{
	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, i);

		if (m->dev_major == dev_major && m->dev_minor == dev_minor)
			return (gint)i;
	}
	return -1;
}

void
qga_trace_session_add_ioctl(QgaTraceSession *self, QtfIoctlKind kind, guint mount, gint tid,
			    guint64 start_ns, guint64 end_ns)
{
	QtfIoctl ioctl = {kind, mount, tid, start_ns, end_ns};

	g_return_if_fail(mount < self->mounts->len);
	g_array_append_val(self->ioctls, ioctl);
}

void
qga_trace_session_set_error(QgaTraceSession *self, const gchar *error)
{
	if (self->error == NULL)
		self->error = g_strdup(error);
}

void
qga_trace_session_add_note(QgaTraceSession *self, const gchar *note)
{
	g_ptr_array_add(self->notes, g_strdup(note));
}

void
qga_trace_session_set_unattributable(QgaTraceSession *self, const gchar *reason)
{
	g_free(self->unattributable);
	self->unattributable = g_strdup(reason);
}

void
qga_trace_session_finish(QgaTraceSession *self, QtfCapture *capture, guint64 ended_ns)
{
	g_autofree QtfMount *mounts = g_new0(QtfMount, MAX(self->mounts->len, 1));

	g_return_if_fail(capture != NULL);
	if (self->capture != NULL) {
		g_warning("trace session '%s' finished twice, ignoring", self->id);
		qtf_capture_free(capture);
		return;
	}
	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, i);

		mounts[i] = (QtfMount){m->mountpoint, m->fstype, m->dev_major, m->dev_minor};
	}
	self->capture = capture;
	self->ended_ns = ended_ns;
	self->verdicts =
		qtf_verify(capture, mounts, self->mounts->len,
			   (const QtfIoctl *)(gpointer)self->ioctls->data, self->ioctls->len);
	if (self->verdicts == NULL) /* an ioctl naming no mount: refused */
		self->verdicts = g_ptr_array_new();
	for (guint i = 0; self->unattributable != NULL && i < self->verdicts->len; i++) {
		QtfVerdict *v = g_ptr_array_index(self->verdicts, i);

		v->verified = FALSE;
		g_free(v->reason);
		v->reason = g_strdup(self->unattributable);
	}
}

gboolean
qga_trace_session_is_finished(const QgaTraceSession *self)
{
	return self->capture != NULL;
}

gboolean
qga_trace_session_is_verified(const QgaTraceSession *self)
{
	guint reported = 0;

	if (self->verdicts == NULL)
		return FALSE;
	for (guint i = 0; i < self->verdicts->len && i < self->mounts->len; i++) {
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, i);
		const QtfVerdict *v = g_ptr_array_index(self->verdicts, i);

		if (!m->reported)
			continue;
		if (!v->verified)
			return FALSE;
		reported++;
	}
	return reported > 0;
}

static const gchar *
qga_trace_session_state(const QgaTraceSession *self)
{
	if (self->capture == NULL)
		return "armed";
	return self->capture->method == QTF_METHOD_NONE ? "untraced" : "collected";
}

static void
qga_trace_json_add_ns(JsonBuilder *b, const gchar *name, guint64 ns)
{
	json_builder_set_member_name(b, name);
	if (ns != 0)
		json_builder_add_int_value(b, (gint64)ns);
	else
		json_builder_add_null_value(b);
}

static void
qga_trace_json_add_string(JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

/* the capture's own members, under the names qtf_capture_to_json() gives them */
static const gchar *const qga_trace_capture_members[] = {
	"method",      "reason",   "clock",       "instance", "functions",
	"tracepoints", "complete", "lost-events", "events",   NULL,
};

static void
qga_trace_session_add_capture(const QgaTraceSession *self, JsonBuilder *b)
{
	g_autoptr(JsonNode) capture =
		self->capture != NULL ? qtf_capture_to_json(self->capture) : NULL;
	JsonObject *obj = capture != NULL ? json_node_get_object(capture) : NULL;

	for (guint i = 0; qga_trace_capture_members[i] != NULL; i++) {
		const gchar *name = qga_trace_capture_members[i];
		JsonNode *member = obj != NULL ? json_object_get_member(obj, name) : NULL;

		json_builder_set_member_name(b, name);
		if (member != NULL) {
			json_builder_add_value(b, json_node_copy(member));
		} else if (g_strcmp0(name, "events") == 0) {
			/* not collected yet: none, rather than unknown */
			json_builder_begin_array(b);
			json_builder_end_array(b);
		} else {
			json_builder_add_null_value(b);
		}
	}
}

static void
qga_trace_session_add_verdicts(const QgaTraceSession *self, JsonBuilder *b)
{
	g_autoptr(JsonNode) verdicts =
		self->verdicts != NULL ? qtf_verdicts_to_json(self->verdicts) : NULL;
	JsonArray *all = verdicts != NULL ? json_node_get_array(verdicts) : NULL;

	json_builder_set_member_name(b, "verification");
	json_builder_begin_array(b);
	for (guint i = 0; all != NULL && i < json_array_get_length(all) && i < self->mounts->len;
	     i++) {
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, i);

		if (m->reported)
			json_builder_add_value(b, json_node_copy(json_array_get_element(all, i)));
	}
	json_builder_end_array(b);
}

JsonNode *
qga_trace_session_to_json(const QgaTraceSession *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	qga_trace_json_add_string(b, "session", self->id);
	qga_trace_json_add_string(b, "source", self->source);
	qga_trace_json_add_string(b, "state", qga_trace_session_state(self));
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, self->pid);
	qga_trace_json_add_ns(b, "started-ns", self->started_ns);
	qga_trace_json_add_ns(b, "ended-ns", self->ended_ns);
	qga_trace_json_add_string(b, "error", self->error);
	json_builder_set_member_name(b, "notes");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->notes->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(self->notes, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "verified");
	json_builder_add_boolean_value(b, qga_trace_session_is_verified(self));
	qga_trace_session_add_capture(self, b);

	json_builder_set_member_name(b, "mounts");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, i);
		g_autofree gchar *dev = g_strdup_printf("%u:%u", m->dev_major, m->dev_minor);

		if (!m->reported)
			continue;
		json_builder_begin_object(b);
		qga_trace_json_add_string(b, "mountpoint", m->mountpoint);
		qga_trace_json_add_string(b, "fstype", m->fstype);
		qga_trace_json_add_string(b, "dev", dev);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);

	/* the agent's (or the plugin's) account of its calls */
	json_builder_set_member_name(b, "ioctls");
	json_builder_begin_array(b);
	for (guint k = 0; k < self->ioctls->len; k++) {
		const QtfIoctl *ioctl = &g_array_index(self->ioctls, QtfIoctl, k);
		const QgaTraceMount *m = g_ptr_array_index(self->mounts, ioctl->mount);

		json_builder_begin_object(b);
		qga_trace_json_add_string(b, "kind",
					  ioctl->kind == QTF_IOCTL_FREEZE ? "freeze" : "thaw");
		qga_trace_json_add_string(b, "mountpoint", m->mountpoint);
		json_builder_set_member_name(b, "tid");
		json_builder_add_int_value(b, ioctl->tid);
		qga_trace_json_add_ns(b, "start-ns", ioctl->start_ns);
		qga_trace_json_add_ns(b, "end-ns", ioctl->end_ns);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	qga_trace_session_add_verdicts(self, b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

gboolean
qga_trace_id_is_valid(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > QGA_TRACE_ID_MAX || id[0] == '.')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-')
			return FALSE;
	}
	return TRUE;
}

/* "ID.json" with a valid ID: the session's id, else NULL */
static gchar *
qga_trace_file_id(const gchar *name)
{
	g_autofree gchar *id = NULL;

	if (!g_str_has_suffix(name, ".json"))
		return NULL;
	id = g_strndup(name, strlen(name) - strlen(".json"));
	return qga_trace_id_is_valid(id) ? g_steal_pointer(&id) : NULL;
}

typedef struct {
	gchar *path;
	gint64 mtime_ns;
} QgaTraceFile;

static void
qga_trace_file_free(QgaTraceFile *self)
{
	g_free(self->path);
	g_free(self);
}

static gint
qga_trace_file_newest_first(gconstpointer a, gconstpointer b)
{
	const QgaTraceFile *x = *(QgaTraceFile *const *)a;
	const QgaTraceFile *y = *(QgaTraceFile *const *)b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return -g_strcmp0(x->path, y->path);
}

/* the session files of @dir beyond the @keep newest go */
static void
qga_trace_prune(const gchar *dir, guint keep)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) files =
		g_ptr_array_new_with_free_func((GDestroyNotify)qga_trace_file_free);
	const gchar *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *id = qga_trace_file_id(name);
		QgaTraceFile *file;
		struct stat st;

		if (id == NULL)
			continue;
		file = g_new0(QgaTraceFile, 1);
		file->path = g_build_filename(dir, name, NULL);
		if (lstat(file->path, &st) < 0 || !S_ISREG(st.st_mode)) {
			qga_trace_file_free(file);
			continue;
		}
		file->mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
				 st.st_mtim.tv_nsec;
		g_ptr_array_add(files, file);
	}
	g_ptr_array_sort(files, qga_trace_file_newest_first);
	for (guint i = keep; i < files->len; i++) {
		const QgaTraceFile *file = g_ptr_array_index(files, i);

		if (g_unlink(file->path) < 0)
			g_debug("cannot remove '%s': %s, ignoring", file->path, g_strerror(errno));
	}
}

gboolean
qga_trace_store_session(const QgaTraceSession *self, const gchar *dir, guint keep, GError **error)
{
	g_autoptr(JsonNode) node = qga_trace_session_to_json(self);
	g_autofree gchar *text = json_to_string(node, FALSE);
	g_autofree gchar *name = g_strdup_printf("%s.json", self->id);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	if (!qga_trace_id_is_valid(self->id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a trace session id", self->id);
		return FALSE;
	}
	/* root's only: the events hold kernel text addresses, which
	 * kptr_restrict hides from everyone else */
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot create '%s': %s", dir, g_strerror(errsv));
		return FALSE;
	}
	/* a temporary file renamed over the name: a reader sees all or nothing */
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
				      error)) {
		g_prefix_error(error, "storing trace session '%s': ", self->id);
		return FALSE;
	}
	qga_trace_prune(dir, MAX(keep, 1));
	return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* the agent's sessions */

struct _QgaTrace {
	const QgaConfig *config; /* (not owned) */
	gchar *tracing_dir;      /* NULL: the library's */
	gchar *kallsyms;         /* NULL: the library's */
	QtfTracer *tracer;       /* NULL until a probe succeeds */
	gboolean tried;          /* qtf_tracer_new() ran */
	gchar *unavailable;      /* why it failed last */
	guint seq;
	QgaTraceSession *open;  /* between begin and end */
	QgaTraceSession *ended; /* after end, until collected */
	guint collect_idle;     /* collects @ended once the reply is out */
	gboolean armed;         /* the tracer is armed for @open or @ended */
	gchar *untraced;        /* why @open is not traced */
	GQueue *sessions;       /* QgaTraceSession, finished, oldest first */
};

QgaTrace *
qga_trace_new(const QgaConfig *config, const gchar *root)
{
	QgaTrace *self = g_new0(QgaTrace, 1);

	self->config = config;
	if (root != NULL && g_strcmp0(root, "/") != 0) {
		self->tracing_dir = g_build_filename(root, "sys", "kernel", "tracing", NULL);
		self->kallsyms = g_build_filename(root, "proc", "kallsyms", NULL);
	}
	self->sessions = g_queue_new();
	return self;
}

void
qga_trace_free(QgaTrace *self)
{
	if (self == NULL)
		return;
	/* the caller thawed first: the agent never exits frozen by itself */
	if (self->open != NULL) {
		qga_trace_note(self, "the agent exited before the thaw");
		qga_trace_end(self, NULL);
	}
	qga_trace_collect(self);
	/* disarms and removes the instance: nothing of ours stays in tracefs */
	qtf_tracer_free(self->tracer);
	g_free(self->tracing_dir);
	g_free(self->kallsyms);
	g_free(self->unavailable);
	g_free(self->untraced);
	g_queue_free_full(self->sessions, (GDestroyNotify)qga_trace_session_free);
	g_free(self);
}

static const gchar *const *
qga_trace_functions(const QgaConfig *config)
{
	return config->trace_functions != NULL ? (const gchar *const *)config->trace_functions
					       : qtf_default_functions();
}

/* creates the tracer, which probes the kernel by arming it once; never
 * while frozen: the probe is a full arm and disarm */
static gboolean
qga_trace_ensure_tracer(QgaTrace *self)
{
	QtfOptions opts = {
		.tracing_dir = self->tracing_dir,
		.kallsyms = self->kallsyms,
		.buffer_kb = self->config->trace_buffer_kb,
		.functions = (const gchar *const *)self->config->trace_functions,
	};
	g_autoptr(GError) error = NULL;
	const gchar *fallback;

	if (self->tracer != NULL)
		return TRUE;
	self->tried = TRUE;
	g_clear_pointer(&self->unavailable, g_free);
	self->tracer = qtf_tracer_new(&opts, &error);
	if (self->tracer == NULL) {
		self->unavailable = g_strdup(error->message);
		g_warning("freezes are not traced: %s", error->message);
		return FALSE;
	}
	fallback = qtf_tracer_get_fallback_reason(self->tracer);
	g_message("tracing freezes with the '%s' method in ftrace instance '%s'%s%s",
		  qtf_method_to_string(qtf_tracer_get_method(self->tracer)),
		  qtf_tracer_get_instance_name(self->tracer), fallback != NULL ? ": " : "",
		  fallback != NULL ? fallback : "");
	return TRUE;
}

/* forgets a tracer that stopped working, so the next use probes afresh */
static void
qga_trace_drop_tracer(QgaTrace *self)
{
	g_clear_pointer(&self->tracer, qtf_tracer_free);
	self->tried = FALSE;
}

/* arms the tracer for @tid; one whose instance was removed behind our back
 * (`trace-cmd reset -a` does that) would fail for good: it is replaced once */
static gboolean
qga_trace_arm(QgaTrace *self, GPid tid, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (qtf_tracer_arm(self->tracer, tid, &error_local))
		return TRUE;
	g_message("replacing the tracer, it cannot be armed: %s", error_local->message);
	qga_trace_drop_tracer(self);
	if (!qga_trace_ensure_tracer(self)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, self->unavailable);
		return FALSE;
	}
	return qtf_tracer_arm(self->tracer, tid, error);
}

void
qga_trace_begin(QgaTrace *self, QgaMountList *mounts)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = NULL;
	GPid tid = gettid();

	if (self == NULL || !self->config->trace_enabled)
		return;
	if (self->open != NULL) {
		qga_trace_note(self, "superseded by a new freeze before its thaw");
		qga_trace_end(self, NULL);
	}
	/* before arming again, and before anything is frozen */
	qga_trace_collect(self);
	/* the pid tells this agent's sessions from a previous one's */
	id = g_strdup_printf("agent-%d-%u", (gint)getpid(), ++self->seq);
	self->open = qga_trace_session_new(id, QGA_TRACE_SOURCE_AGENT, tid, qtf_clock_now_ns());
	for (guint i = 0; i < mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(mounts, i);

		qga_trace_session_add_mount(self->open, m->mountpoint, m->fstype, major(m->devnum),
					    minor(m->devnum), TRUE);
	}
	if (!qga_trace_ensure_tracer(self)) {
		self->untraced = g_strdup(self->unavailable);
		return;
	}
	/* tracing must never make a freeze fail: it goes on untraced */
	if (!qga_trace_arm(self, tid, &error)) {
		g_warning("freezing untraced: cannot arm the tracer: %s", error->message);
		self->untraced = g_strdup_printf("cannot arm: %s", error->message);
		return;
	}
	self->armed = TRUE;
	g_debug("trace session '%s' armed for %d", id, (gint)tid);
}

static void
qga_trace_ioctl_done(QgaTrace *self, QtfIoctlKind kind, const QgaMount *mount,
		     const QgaIoctlWindow *window)
{
	gint index;

	/* start 0: the mount could not be opened, no ioctl ran */
	if (self == NULL || self->open == NULL || window->start_ns == 0)
		return;
	index = qga_trace_session_find_mount(self->open, major(mount->devnum),
					     minor(mount->devnum));
	if (index < 0)
		return;
	qga_trace_session_add_ioctl(self->open, kind, (guint)index, gettid(), window->start_ns,
				    window->end_ns);
}

void
qga_trace_freeze_done(QgaTrace *self, const QgaMount *mount, const QgaIoctlWindow *window)
{
	qga_trace_ioctl_done(self, QTF_IOCTL_FREEZE, mount, window);
}

void
qga_trace_thaw_done(QgaTrace *self, const QgaMount *mount, const QgaIoctlWindow *window)
{
	qga_trace_ioctl_done(self, QTF_IOCTL_THAW, mount, window);
}

void
qga_trace_note(QgaTrace *self, const gchar *format, ...)
{
	g_autofree gchar *note = NULL;
	va_list args;

	if (self == NULL || self->open == NULL)
		return;
	va_start(args, format);
	note = g_strdup_vprintf(format, args);
	va_end(args);
	qga_trace_session_add_note(self->open, note);
}

gboolean
qga_trace_is_open(QgaTrace *self)
{
	return self != NULL && self->open != NULL;
}

void
qga_trace_replace_stale(QgaTrace *self)
{
	g_autofree gchar *path = NULL;

	if (self == NULL || !self->config->trace_enabled || self->tried)
		return;
	/* only look: a machine without tracefs mounted gets no mount from us */
	path = g_build_filename(self->tracing_dir != NULL ? self->tracing_dir
							  : "/sys/kernel/tracing",
				"instances", QTF_DEFAULT_INSTANCE, NULL);
	if (!g_file_test(path, G_FILE_TEST_IS_DIR))
		return;
	g_message("replacing the ftrace instance '%s' a previous agent left", QTF_DEFAULT_INSTANCE);
	qga_trace_ensure_tracer(self);
}

void
qga_trace_collect(QgaTrace *self)
{
	g_autoptr(GError) error_local = NULL;
	QgaTraceSession *session;
	QtfCapture *capture;
	gboolean lost_unknown = FALSE;
	guint64 lost;

	if (self == NULL || self->ended == NULL)
		return;
	g_clear_handle_id(&self->collect_idle, g_source_remove);
	session = g_steal_pointer(&self->ended);
	if (self->armed) {
		capture = qtf_tracer_collect(self->tracer, &error_local);
		if (capture == NULL) {
			g_warning("collecting trace session '%s': %s", session->id,
				  error_local->message);
			capture = qtf_capture_new_unavailable(error_local->message);
			g_clear_error(&error_local);
			/* its instance may be gone: status and the next freeze
			 * probe again rather than trust it */
			qga_trace_drop_tracer(self);
		} else if (!qtf_tracer_pause(self->tracer, &error_local)) {
			/* paused, not disarmed: the agent's thread is the same for
			 * every freeze, so the next one only turns tracing on */
			g_warning("pausing the tracer: %s, ignoring", error_local->message);
		}
		self->armed = FALSE;
	} else {
		capture = qtf_capture_new_unavailable(self->untraced != NULL ? self->untraced
									     : "not armed");
	}
	g_clear_pointer(&self->untraced, g_free);
	qga_trace_session_finish(session, capture, qtf_clock_now_ns());
	lost = qtf_capture_lost(session->capture, &lost_unknown);
	g_message("trace session '%s': %s, %u kernel events, %" G_GUINT64_FORMAT "%s lost, %s",
		  session->id, qtf_method_to_string(session->capture->method),
		  session->capture->events->len, lost, lost_unknown ? "+" : "",
		  qga_trace_session_is_verified(session) ? "verified" : "not verified");
	qga_trace_add_session(self, session);
}

static gboolean
qga_trace_collect_cb(gpointer user_data)
{
	QgaTrace *self = user_data;

	self->collect_idle = 0;
	qga_trace_collect(self);
	return G_SOURCE_REMOVE;
}

void
qga_trace_end(QgaTrace *self, const gchar *error)
{
	if (self == NULL || self->open == NULL)
		return;
	/* one collection at a time: a session not collected yet goes first */
	qga_trace_collect(self);
	self->ended = g_steal_pointer(&self->open);
	if (error != NULL)
		qga_trace_session_set_error(self->ended, error);
	/* collecting takes ~0.2 s on KVM (kallsyms), ~1 s under TCG: the
	 * host's thaw (or failed freeze) is answered first, and a status or
	 * fetch meanwhile collects at once */
	self->collect_idle = g_idle_add(qga_trace_collect_cb, self);
}

void
qga_trace_add_session(QgaTrace *self, QgaTraceSession *session)
{
	g_queue_push_tail(self->sessions, session);
	while (g_queue_get_length(self->sessions) > MAX(self->config->trace_sessions, 1))
		qga_trace_session_free(g_queue_pop_head(self->sessions));
}

/* ---- the plugin's sessions, one file each ---- */

static JsonNode *
qga_trace_load_file(const gchar *dir, const gchar *id, GError **error)
{
	g_autofree gchar *name = g_strdup_printf("%s.json", id);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root;
	JsonObject *obj;
	struct stat st;

	if (stat(path, &st) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "'%s': %s", path,
			    g_strerror(errsv));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > QGA_TRACE_FILE_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is not a trace session file", path);
		return NULL;
	}
	if (!json_parser_load_from_file(parser, path, error)) {
		g_prefix_error(error, "'%s': ", path);
		return NULL;
	}
	root = json_parser_get_root(parser);
	obj = root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	if (obj == NULL ||
	    g_strcmp0(json_object_get_string_member_with_default(obj, "session", NULL), id) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' does not hold session '%s'", path, id);
		return NULL;
	}
	return json_node_copy(root);
}

static gint64
qga_trace_json_started(JsonNode *session)
{
	return json_object_get_int_member_with_default(json_node_get_object(session), "started-ns",
						       0);
}

static gint
qga_trace_json_oldest_first(gconstpointer a, gconstpointer b)
{
	gint64 x = qga_trace_json_started(*(JsonNode *const *)a);
	gint64 y = qga_trace_json_started(*(JsonNode *const *)b);

	return x < y ? -1 : x > y;
}

/* Returns: (element-type JsonNode): every session the plugin stored, oldest first */
static GPtrArray *
qga_trace_plugin_sessions(QgaTrace *self)
{
	GPtrArray *sessions = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GDir) dir = g_dir_open(self->config->trace_plugin_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *id = qga_trace_file_id(name);
		g_autoptr(GError) error = NULL;
		JsonNode *node;

		if (id == NULL)
			continue;
		node = qga_trace_load_file(self->config->trace_plugin_dir, id, &error);
		if (node == NULL) {
			g_debug("skipping a trace session file: %s", error->message);
			continue;
		}
		g_ptr_array_add(sessions, node);
	}
	g_ptr_array_sort(sessions, qga_trace_json_oldest_first);
	return sessions;
}

/* Returns: (element-type JsonNode): the agent's sessions and the plugin's
 * (unless @memory_only), oldest first */
static GPtrArray *
qga_trace_all_sessions(QgaTrace *self, gboolean memory_only)
{
	GPtrArray *all = memory_only
				 ? g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref)
				 : qga_trace_plugin_sessions(self);

	for (GList *l = self->sessions->head; l != NULL; l = l->next)
		g_ptr_array_add(all, qga_trace_session_to_json(l->data));
	if (self->ended != NULL)
		g_ptr_array_add(all, qga_trace_session_to_json(self->ended));
	if (self->open != NULL)
		g_ptr_array_add(all, qga_trace_session_to_json(self->open));
	/* stable: a tie keeps the plugin's before the agent's */
	g_ptr_array_sort(all, qga_trace_json_oldest_first);
	return all;
}

/* what guest-trace-status tells of a session */
static void
qga_trace_add_summary(JsonBuilder *b, JsonNode *session)
{
	JsonObject *obj = json_node_get_object(session);
	JsonNode *events = json_object_get_member(obj, "events");
	JsonNode *lost = json_object_get_member(obj, "lost-events");
	static const gchar *const copied[] = {"session",  "source", "state",    "started-ns",
					      "ended-ns", "method", "verified", NULL};

	json_builder_begin_object(b);
	for (guint i = 0; copied[i] != NULL; i++) {
		JsonNode *member = json_object_get_member(obj, copied[i]);

		json_builder_set_member_name(b, copied[i]);
		if (member != NULL)
			json_builder_add_value(b, json_node_copy(member));
		else
			json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "events");
	json_builder_add_int_value(b, events != NULL && JSON_NODE_HOLDS_ARRAY(events)
					      ? json_array_get_length(json_node_get_array(events))
					      : 0);
	json_builder_set_member_name(b, "lost-events");
	if (lost != NULL && JSON_NODE_HOLDS_OBJECT(lost))
		json_builder_add_int_value(b, json_object_get_int_member_with_default(
						      json_node_get_object(lost), "total", 0));
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
}

static const gchar *
qga_trace_status_reason(QgaTrace *self)
{
	if (!self->config->trace_enabled)
		return "tracing is disabled ([trace] enabled=false or --no-trace)";
	if (self->tracer != NULL)
		return qtf_tracer_get_fallback_reason(self->tracer);
	if (self->tried)
		return self->unavailable;
	return "not probed yet: the agent is frozen";
}

JsonNode *
qga_trace_get_status(QgaTrace *self, gboolean frozen)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GPtrArray) sessions = NULL;
	const gchar *const *functions;

	json_builder_begin_object(b);
	if (self == NULL) {
		json_builder_set_member_name(b, "enabled");
		json_builder_add_boolean_value(b, FALSE);
		json_builder_set_member_name(b, "available");
		json_builder_add_boolean_value(b, FALSE);
		qga_trace_json_add_string(b, "reason", "the agent has no trace state");
		json_builder_end_object(b);
		return json_builder_get_root(b);
	}
	/* a probe arms and disarms once, a collection reads kallsyms: never
	 * while frozen */
	if (!frozen)
		qga_trace_collect(self);
	if (self->config->trace_enabled && !frozen && !self->tried)
		qga_trace_ensure_tracer(self);
	json_builder_set_member_name(b, "enabled");
	json_builder_add_boolean_value(b, self->config->trace_enabled);
	json_builder_set_member_name(b, "available");
	json_builder_add_boolean_value(b, self->config->trace_enabled && self->tracer != NULL);
	qga_trace_json_add_string(b, "method",
				  qtf_method_to_string(self->tracer != NULL
							       ? qtf_tracer_get_method(self->tracer)
							       : QTF_METHOD_NONE));
	qga_trace_json_add_string(b, "reason", qga_trace_status_reason(self));
	qga_trace_json_add_string(b, "instance",
				  self->tracer != NULL ? qtf_tracer_get_instance_name(self->tracer)
						       : NULL);
	qga_trace_json_add_string(b, "tracing-dir",
				  self->tracer != NULL ? qtf_tracer_get_tracing_dir(self->tracer)
						       : NULL);
	functions = qga_trace_functions(self->config);
	json_builder_set_member_name(b, "functions");
	json_builder_begin_array(b);
	for (guint i = 0; functions[i] != NULL; i++)
		json_builder_add_string_value(b, functions[i]);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "buffer-kb");
	json_builder_add_int_value(b, self->config->trace_buffer_kb);
	json_builder_set_member_name(b, "sessions-kept");
	json_builder_add_int_value(b, self->config->trace_sessions);
	qga_trace_json_add_string(b, "plugin-dir", self->config->trace_plugin_dir);
	json_builder_set_member_name(b, "armed");
	json_builder_add_boolean_value(b, self->armed);

	/* frozen: the plugin dir may be on a frozen filesystem */
	sessions = qga_trace_all_sessions(self, frozen);
	json_builder_set_member_name(b, "last-session");
	if (sessions->len > 0)
		qga_trace_add_summary(b, g_ptr_array_index(sessions, sessions->len - 1));
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "sessions");
	json_builder_begin_array(b);
	for (guint i = 0; i < sessions->len; i++)
		qga_trace_add_summary(b, g_ptr_array_index(sessions, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

JsonNode *
qga_trace_fetch(QgaTrace *self, const gchar *id, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) sessions = NULL;
	JsonNode *node;

	if (self == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "the agent has no trace state");
		return NULL;
	}
	/* refused while frozen (qga-cmd-trace.c): a session that ended is collected now */
	qga_trace_collect(self);
	if (id == NULL) {
		sessions = qga_trace_all_sessions(self, FALSE);
		if (sessions->len == 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
					    "no trace session yet");
			return NULL;
		}
		return json_node_ref(g_ptr_array_index(sessions, sessions->len - 1));
	}
	if (self->open != NULL && g_strcmp0(self->open->id, id) == 0)
		return qga_trace_session_to_json(self->open);
	for (GList *l = self->sessions->head; l != NULL; l = l->next) {
		const QgaTraceSession *session = l->data;

		if (g_strcmp0(session->id, id) == 0)
			return qga_trace_session_to_json(session);
	}
	/* the id becomes a file name: nothing that could leave the directory */
	if (!qga_trace_id_is_valid(id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a trace session id", id);
		return NULL;
	}
	node = qga_trace_load_file(self->config->trace_plugin_dir, id, &error_local);
	if (node == NULL) {
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "no trace session '%s'", id);
		else
			g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	return node;
}
