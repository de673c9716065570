/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-json.h"
#include "qga-trace.h"

struct _QgaTrace {
	const QgaConfig *config; /* (not owned) */
	gchar *tracing_dir;	 /* NULL: the library's */
	gchar *kallsyms;	 /* NULL: the library's */
	QtfTracer *tracer;	 /* NULL until a probe succeeds */
	gboolean tried;		 /* qtf_tracer_new() ran */
	gchar *unavailable;	 /* why it failed last */
	guint seq;
	QgaTraceSession *open;	  /* between begin and end */
	QgaTraceSession *ended;	  /* after end, until collected */
	guint collect_idle;	  /* collects @ended once the reply is out */
	gboolean armed;		  /* the tracer is armed for @open or @ended */
	gchar *untraced;	  /* why @open is not traced */
	GQueue *sessions;	  /* QgaTraceSession, finished, oldest first */
	QtfStallRecorder *stalls; /* NULL when it could not be set up */
	gchar *stalls_unavailable;
	gboolean stalls_started; /* recording for @open or @ended */
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
	qtf_stall_recorder_free(self->stalls);
	g_free(self->stalls_unavailable);
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

/* the stall recorder beside the tracer: its kprobe events are defined
 * once, here, not per freeze */
static void
qga_trace_ensure_stalls(QgaTrace *self)
{
	g_autofree gchar *name =
		g_strdup_printf("%s-stalls", qtf_tracer_get_instance_name(self->tracer));
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&self->stalls_unavailable, g_free);
	self->stalls =
		qtf_stall_recorder_new(qtf_tracer_get_tracing_dir(self->tracer), name, 0, &error);
	if (self->stalls == NULL) {
		self->stalls_unavailable = g_strdup(error->message);
		g_warning("stalled tasks are not recorded: %s", error->message);
	}
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
	qga_trace_ensure_stalls(self);
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
	g_clear_pointer(&self->stalls, qtf_stall_recorder_free);
	self->stalls_started = FALSE;
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

static void
qga_trace_start_stalls(QgaTrace *self)
{
	g_autoptr(GError) error = NULL;

	if (self->stalls == NULL) {
		qga_trace_note(self, "stalled tasks not recorded: %s", self->stalls_unavailable);
		return;
	}
	if (!qtf_stall_recorder_start(self->stalls, &error)) {
		qga_trace_note(self, "stalled tasks not recorded: %s", error->message);
		return;
	}
	self->stalls_started = TRUE;
}

/* after the thaw: what the stall recorder holds goes to @session */
static void
qga_trace_collect_stalls(QgaTrace *self, QgaTraceSession *session)
{
	g_autoptr(GError) error = NULL;
	GPid agent = getpid();
	QtfStallLog *log;

	if (!self->stalls_started)
		return;
	self->stalls_started = FALSE;
	/* the agent's own threads are not what a freeze stalled */
	log = qtf_stall_recorder_collect(self->stalls, &agent, 1, &error);
	if (log == NULL) {
		g_warning("collecting stalled tasks: %s", error->message);
		qga_trace_session_add_note(session, "stalled tasks not collected");
		return;
	}
	qga_trace_session_set_stalls(session, log);
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
	self->open =
		qga_trace_session_new(id, QGA_TRACE_SESSION_SOURCE_AGENT, tid, qtf_clock_now_ns());
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
	qga_trace_start_stalls(self);
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

void
qga_trace_add_hook(QgaTrace *self, const QgaTraceSessionHook *hook)
{
	if (self != NULL && self->open != NULL)
		qga_trace_session_add_hook(self->open, hook);
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
	const QtfCapture *recorded;
	gboolean lost_unknown = FALSE;
	guint64 lost;

	if (self == NULL || self->ended == NULL)
		return;
	g_clear_handle_id(&self->collect_idle, g_source_remove);
	session = g_steal_pointer(&self->ended);
	qga_trace_collect_stalls(self, session);
	if (self->armed) {
		capture = qtf_tracer_collect(self->tracer, &error_local);
		if (capture == NULL) {
			g_warning("collecting trace session '%s': %s",
				  qga_trace_session_get_id(session), error_local->message);
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
	recorded = qga_trace_session_get_capture(session);
	lost = qtf_capture_lost(recorded, &lost_unknown);
	g_message("trace session '%s': %s, %u kernel events, %" G_GUINT64_FORMAT "%s lost, %s",
		  qga_trace_session_get_id(session), qtf_method_to_string(recorded->method),
		  recorded->events->len, lost, lost_unknown ? "+" : "",
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

/* Returns: (element-type JsonNode): the agent's sessions and the plugin's
 * (unless @memory_only), oldest first */
static GPtrArray *
qga_trace_all_sessions(QgaTrace *self, gboolean memory_only)
{
	GPtrArray *all = memory_only
				 ? g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref)
				 : qga_trace_session_load_dir(self->config->trace_plugin_dir);

	for (GList *l = self->sessions->head; l != NULL; l = l->next)
		g_ptr_array_add(all, qga_trace_session_to_json(l->data));
	if (self->ended != NULL)
		g_ptr_array_add(all, qga_trace_session_to_json(self->ended));
	if (self->open != NULL)
		g_ptr_array_add(all, qga_trace_session_to_json(self->open));
	/* stable: a tie keeps the plugin's before the agent's */
	g_ptr_array_sort(all, qga_trace_session_json_oldest_first);
	return all;
}

/* what guest-trace-status tells of a session */
static void
qga_trace_add_summary(JsonBuilder *b, JsonNode *session)
{
	JsonObject *obj = json_node_get_object(session);
	JsonNode *events = json_object_get_member(obj, "events");
	JsonNode *lost = json_object_get_member(obj, "lost-events");
	static const gchar *const copied[] = {"session",  "source", "state",	"started-ns",
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
		qga_json_builder_add_string_or_null(b, "reason", "the agent has no trace state");
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
	qga_json_builder_add_string_or_null(
		b, "method",
		qtf_method_to_string(self->tracer != NULL ? qtf_tracer_get_method(self->tracer)
							  : QTF_METHOD_NONE));
	qga_json_builder_add_string_or_null(b, "reason", qga_trace_status_reason(self));
	qga_json_builder_add_string_or_null(
		b, "instance",
		self->tracer != NULL ? qtf_tracer_get_instance_name(self->tracer) : NULL);
	qga_json_builder_add_string_or_null(
		b, "tracing-dir",
		self->tracer != NULL ? qtf_tracer_get_tracing_dir(self->tracer) : NULL);
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
	qga_json_builder_add_string_or_null(b, "plugin-dir", self->config->trace_plugin_dir);
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
	if (self->open != NULL && g_strcmp0(qga_trace_session_get_id(self->open), id) == 0)
		return qga_trace_session_to_json(self->open);
	for (GList *l = self->sessions->head; l != NULL; l = l->next) {
		const QgaTraceSession *session = l->data;

		if (g_strcmp0(qga_trace_session_get_id(session), id) == 0)
			return qga_trace_session_to_json(session);
	}
	/* the id becomes a file name: nothing that could leave the directory */
	if (!qga_trace_session_id_is_valid(id)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a trace session id", id);
		return NULL;
	}
	node = qga_trace_session_load(self->config->trace_plugin_dir, id, &error_local);
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
