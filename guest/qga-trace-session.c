/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-json.h"
#include "qga-session-index.h"
#include "qga-trace-session.h"

/* ---- one session ---- */

typedef struct {
	gchar *mountpoint;
	gchar *fstype;
	guint dev_major;
	guint dev_minor;
	gboolean reported;
} QgaTraceSessionMount;

struct _QgaTraceSession {
	gchar *id;
	gchar *source;
	GPid pid;
	guint64 started_ns;
	guint64 ended_ns;
	gchar *error;
	GPtrArray *notes;  /* gchar * */
	GPtrArray *hooks;  /* JsonNode, objects */
	GPtrArray *mounts; /* QgaTraceSessionMount */
	GArray *ioctls;	   /* QtfIoctl */
	gchar *unattributable;
	QtfCapture *capture; /* NULL until finished */
	QtfVerdicts *verdicts;
	QtfStallLog *stalls; /* NULL: not recorded */
};

static void
qga_trace_session_mount_free(QgaTraceSessionMount *self)
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
	self->hooks = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	self->mounts = g_ptr_array_new_with_free_func((GDestroyNotify)qga_trace_session_mount_free);
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
	g_ptr_array_unref(self->hooks);
	g_ptr_array_unref(self->mounts);
	g_array_unref(self->ioctls);
	g_free(self->unattributable);
	if (self->capture != NULL)
		qtf_capture_free(self->capture);
	if (self->verdicts != NULL)
		g_ptr_array_unref(self->verdicts);
	qtf_stall_log_free(self->stalls);
	g_free(self);
}

const gchar *
qga_trace_session_get_id(const QgaTraceSession *self)
{
	return self->id;
}

const QtfCapture *
qga_trace_session_get_capture(const QgaTraceSession *self)
{
	return self->capture;
}

guint
qga_trace_session_add_mount(QgaTraceSession *self, const gchar *mountpoint, const gchar *fstype,
			    guint dev_major, guint dev_minor, gboolean reported)
{
	QgaTraceSessionMount *mount = g_new0(QgaTraceSessionMount, 1);

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
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, i);

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

/* @value, or null when negative (not known) */
static void
qga_trace_session_json_add_known(JsonBuilder *b, const gchar *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	if (value < 0)
		json_builder_add_null_value(b);
	else
		json_builder_add_int_value(b, value);
}

void
qga_trace_session_add_hook(QgaTraceSession *self, const QgaTraceSessionHook *hook)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	qga_json_builder_add_string_or_null(b, "phase", hook->phase);
	qga_json_builder_add_string_or_null(b, "path", hook->path);
	qga_trace_session_json_add_known(b, "exit-status", hook->exit_status);
	qga_trace_session_json_add_known(b, "signal", hook->signal);
	json_builder_set_member_name(b, "timed-out");
	if (hook->timed_out < 0)
		json_builder_add_null_value(b);
	else
		json_builder_add_boolean_value(b, hook->timed_out != 0);
	qga_trace_session_json_add_known(b, "duration-ns", hook->duration_ns);
	qga_json_builder_add_string_or_null(b, "output-tail", hook->output_tail);
	qga_json_builder_add_string_or_null(b, "error", hook->error);
	qga_json_builder_add_string_or_null(b, "comm", hook->comm);
	json_builder_end_object(b);
	g_ptr_array_add(self->hooks, json_builder_get_root(b));
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
qga_trace_session_set_stalls(QgaTraceSession *self, QtfStallLog *log)
{
	qtf_stall_log_free(self->stalls);
	self->stalls = log;
}

/* the mounts as the tracing library takes them; @reported_only: the
 * others get no device, so nothing is matched to them */
static QtfMount *
qga_trace_session_qtf_mounts(const QgaTraceSession *self, gboolean reported_only)
{
	QtfMount *mounts = g_new0(QtfMount, MAX(self->mounts->len, 1));

	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, i);

		mounts[i] = (QtfMount){m->mountpoint, m->fstype, m->dev_major, m->dev_minor};
		if (reported_only && !m->reported)
			mounts[i].dev_major = mounts[i].dev_minor = 0;
	}
	return mounts;
}

void
qga_trace_session_finish(QgaTraceSession *self, QtfCapture *capture, guint64 ended_ns)
{
	g_autofree QtfMount *mounts = qga_trace_session_qtf_mounts(self, FALSE);

	g_return_if_fail(capture != NULL);
	if (self->capture != NULL) {
		g_warning("trace session '%s' finished twice, ignoring", self->id);
		qtf_capture_free(capture);
		return;
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
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, i);
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
qga_trace_session_json_add_ns(JsonBuilder *b, const gchar *name, guint64 ns)
{
	json_builder_set_member_name(b, name);
	if (ns != 0)
		json_builder_add_int_value(b, (gint64)ns);
	else
		json_builder_add_null_value(b);
}

/* the capture's own members, under the names qtf_capture_to_json() gives them */
static const gchar *const qga_trace_session_capture_members[] = {
	"method",      "reason",   "clock",	  "instance", "functions",
	"tracepoints", "complete", "lost-events", "events",   NULL,
};

static void
qga_trace_session_add_capture(const QgaTraceSession *self, JsonBuilder *b)
{
	g_autoptr(JsonNode) capture =
		self->capture != NULL ? qtf_capture_to_json(self->capture) : NULL;
	JsonObject *obj = capture != NULL ? json_node_get_object(capture) : NULL;

	for (guint i = 0; qga_trace_session_capture_members[i] != NULL; i++) {
		const gchar *name = qga_trace_session_capture_members[i];
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
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, i);

		if (m->reported)
			json_builder_add_value(b, json_node_copy(json_array_get_element(all, i)));
	}
	json_builder_end_array(b);
}

static void
qga_trace_session_add_stalls(const QgaTraceSession *self, JsonBuilder *b)
{
	g_autofree QtfMount *mounts = qga_trace_session_qtf_mounts(self, TRUE);
	g_autoptr(QtfStalls) stalls =
		self->stalls != NULL ? qtf_stalls_match(self->stalls, mounts, self->mounts->len)
				     : g_ptr_array_new();

	json_builder_set_member_name(b, "stalls");
	json_builder_add_value(b, qtf_stalls_to_json(stalls));
	json_builder_set_member_name(b, "stalls-complete");
	json_builder_add_boolean_value(b, self->stalls != NULL && self->stalls->complete);
}

JsonNode *
qga_trace_session_to_json(const QgaTraceSession *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	qga_json_builder_add_string_or_null(b, "session", self->id);
	qga_json_builder_add_string_or_null(b, "source", self->source);
	qga_json_builder_add_string_or_null(b, "state", qga_trace_session_state(self));
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, self->pid);
	qga_trace_session_json_add_ns(b, "started-ns", self->started_ns);
	qga_trace_session_json_add_ns(b, "ended-ns", self->ended_ns);
	qga_json_builder_add_string_or_null(b, "error", self->error);
	json_builder_set_member_name(b, "notes");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->notes->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(self->notes, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "hooks");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->hooks->len; i++)
		json_builder_add_value(b, json_node_copy(g_ptr_array_index(self->hooks, i)));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "verified");
	json_builder_add_boolean_value(b, qga_trace_session_is_verified(self));
	qga_trace_session_add_capture(self, b);

	json_builder_set_member_name(b, "mounts");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, i);
		g_autofree gchar *dev = g_strdup_printf("%u:%u", m->dev_major, m->dev_minor);

		if (!m->reported)
			continue;
		json_builder_begin_object(b);
		qga_json_builder_add_string_or_null(b, "mountpoint", m->mountpoint);
		qga_json_builder_add_string_or_null(b, "fstype", m->fstype);
		qga_json_builder_add_string_or_null(b, "dev", dev);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);

	/* the agent's (or the plugin's) account of its calls */
	json_builder_set_member_name(b, "ioctls");
	json_builder_begin_array(b);
	for (guint k = 0; k < self->ioctls->len; k++) {
		const QtfIoctl *ioctl = &g_array_index(self->ioctls, QtfIoctl, k);
		const QgaTraceSessionMount *m = g_ptr_array_index(self->mounts, ioctl->mount);

		json_builder_begin_object(b);
		qga_json_builder_add_string_or_null(
			b, "kind", ioctl->kind == QTF_IOCTL_FREEZE ? "freeze" : "thaw");
		qga_json_builder_add_string_or_null(b, "mountpoint", m->mountpoint);
		json_builder_set_member_name(b, "tid");
		json_builder_add_int_value(b, ioctl->tid);
		qga_trace_session_json_add_ns(b, "start-ns", ioctl->start_ns);
		qga_trace_session_json_add_ns(b, "end-ns", ioctl->end_ns);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	qga_trace_session_add_verdicts(self, b);
	qga_trace_session_add_stalls(self, b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

gboolean
qga_trace_session_id_is_valid(const gchar *id)
{
	/* the host checks the index's ids with the same rule */
	return qga_session_id_is_valid(id);
}

/* ---- storage: DIR/<id>.json ---- */

/* "ID.json" with a valid ID: the session's id, else NULL */
static gchar *
qga_trace_session_file_id(const gchar *name)
{
	g_autofree gchar *id = NULL;

	if (!g_str_has_suffix(name, ".json"))
		return NULL;
	id = g_strndup(name, strlen(name) - strlen(".json"));
	return qga_trace_session_id_is_valid(id) ? g_steal_pointer(&id) : NULL;
}

typedef struct {
	gchar *path;
	gint64 mtime_ns;
} QgaTraceSessionFile;

static void
qga_trace_session_file_free(QgaTraceSessionFile *self)
{
	g_free(self->path);
	g_free(self);
}

static gint
qga_trace_session_file_newest_first(gconstpointer a, gconstpointer b)
{
	const QgaTraceSessionFile *x = *(QgaTraceSessionFile *const *)a;
	const QgaTraceSessionFile *y = *(QgaTraceSessionFile *const *)b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return -g_strcmp0(x->path, y->path);
}

/* Returns: (element-type QgaTraceSessionFile): the session files of @dir, newest first */
static GPtrArray *
qga_trace_session_list_files(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	GPtrArray *files =
		g_ptr_array_new_with_free_func((GDestroyNotify)qga_trace_session_file_free);
	const gchar *name;

	if (d == NULL)
		return files;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *id = qga_trace_session_file_id(name);
		QgaTraceSessionFile *file;
		struct stat st;

		if (id == NULL)
			continue;
		file = g_new0(QgaTraceSessionFile, 1);
		file->path = g_build_filename(dir, name, NULL);
		if (lstat(file->path, &st) < 0 || !S_ISREG(st.st_mode)) {
			qga_trace_session_file_free(file);
			continue;
		}
		file->mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) +
				 st.st_mtim.tv_nsec;
		g_ptr_array_add(files, file);
	}
	g_ptr_array_sort(files, qga_trace_session_file_newest_first);
	return files;
}

/* the session files of @dir beyond the @keep newest go */
static void
qga_trace_session_prune(const gchar *dir, guint keep)
{
	g_autoptr(GPtrArray) files = qga_trace_session_list_files(dir);

	for (guint i = keep; i < files->len; i++) {
		const QgaTraceSessionFile *file = g_ptr_array_index(files, i);

		if (g_unlink(file->path) < 0)
			g_debug("cannot remove '%s': %s, ignoring", file->path, g_strerror(errno));
	}
}

gboolean
qga_trace_session_store(const QgaTraceSession *self, const gchar *dir, guint keep, GError **error)
{
	g_autoptr(JsonNode) node = qga_trace_session_to_json(self);
	g_autofree gchar *text = json_to_string(node, FALSE);
	g_autofree gchar *name = g_strdup_printf("%s.json", self->id);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	if (!qga_trace_session_id_is_valid(self->id)) {
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
	qga_trace_session_prune(dir, MAX(keep, 1));
	return TRUE;
}

gboolean
qga_trace_session_write_index(const gchar *dir, GError **error)
{
	g_autoptr(GPtrArray) files = qga_trace_session_list_files(dir);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *path = g_build_filename(dir, QGA_SESSION_INDEX_NAME, NULL);
	g_autofree gchar *text = NULL;

	for (guint i = 0; i < files->len; i++) {
		const QgaTraceSessionFile *file = g_ptr_array_index(files, i);
		g_autofree gchar *name = g_path_get_basename(file->path);

		g_ptr_array_add(ids, qga_trace_session_file_id(name));
	}
	text = qga_session_index_to_text((const gchar *const *)ids->pdata, ids->len);
	/* renamed over, like the sessions: a reader sees one index or the other */
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
				      error)) {
		g_prefix_error(error, "writing the trace session index: ");
		return FALSE;
	}
	return TRUE;
}

/* ---- loading, for the agent that serves them ---- */

JsonNode *
qga_trace_session_load(const gchar *dir, const gchar *id, GError **error)
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
	if (!S_ISREG(st.st_mode) || st.st_size > QGA_SESSION_FILE_MAX) {
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
qga_trace_session_json_started(JsonNode *session)
{
	return json_object_get_int_member_with_default(json_node_get_object(session), "started-ns",
						       0);
}

gint
qga_trace_session_json_oldest_first(gconstpointer a, gconstpointer b)
{
	gint64 x = qga_trace_session_json_started(*(JsonNode *const *)a);
	gint64 y = qga_trace_session_json_started(*(JsonNode *const *)b);

	return x < y ? -1 : x > y;
}

GPtrArray *
qga_trace_session_load_dir(const gchar *path)
{
	GPtrArray *sessions = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *id = qga_trace_session_file_id(name);
		g_autoptr(GError) error = NULL;
		JsonNode *node;

		if (id == NULL)
			continue;
		node = qga_trace_session_load(path, id, &error);
		if (node == NULL) {
			g_debug("skipping a trace session file: %s", error->message);
			continue;
		}
		g_ptr_array_add(sessions, node);
	}
	g_ptr_array_sort(sessions, qga_trace_session_json_oldest_first);
	return sessions;
}
