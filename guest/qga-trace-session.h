/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qtf.h"

G_BEGIN_DECLS

/*
 * A trace session: one freeze/thaw cycle, recorded by the kernel through
 * tracefs/ (qtf.h) and verified from its records only; its JSON, and its
 * storage as DIR/<id>.json. The agent (qga-trace.h) opens one for each of
 * its own freezes; qgatrace-fsfreeze-hook (qga-plugin/) stores one for
 * each of stock qemu-ga's, which the agent loads and serves.
 */

/* the abstract socket qgatrace-fsfreeze-hook's daemon listens on while
 * stock qemu-ga is frozen (or freezing): from its freeze to its thaw */
#define QGA_TRACE_SESSION_HOOK_SOCKET	 "qgatrace-fsfreeze-hook"
#define QGA_TRACE_SESSION_SOURCE_AGENT	 "qgatrace-agent"
#define QGA_TRACE_SESSION_SOURCE_QEMU_GA "qemu-ga"

/* ---------------------------------------------------------------------------------------- */
/* one session */

typedef struct _QgaTraceSession QgaTraceSession;

/**
 * qga_trace_session_new:
 * @id: see qga_trace_session_id_is_valid()
 * @source: QGA_TRACE_SESSION_SOURCE_AGENT or QGA_TRACE_SESSION_SOURCE_QEMU_GA
 * @pid: the task traced (its forks followed)
 * @started_ns: CLOCK_MONOTONIC when it was armed
 * Returns: (transfer full): a session in state "armed", no mounts yet
 */
QgaTraceSession *qga_trace_session_new(const gchar *id, const gchar *source, GPid pid,
				       guint64 started_ns);
void qga_trace_session_free(QgaTraceSession *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaTraceSession, qga_trace_session_free)

/* Returns: (transfer none) */
const gchar *qga_trace_session_get_id(const QgaTraceSession *self);

/* Returns: (transfer none) (nullable): what was recorded, NULL until finished */
const QtfCapture *qga_trace_session_get_capture(const QgaTraceSession *self);

/**
 * qga_trace_session_add_mount:
 * @fstype: (nullable)
 * @reported: FALSE for a mount only there for the ioctls' sake (the
 *   plugin's: qemu-ga thaws mounts it did not freeze); it gets no verdict
 * Returns: its index for qga_trace_session_add_ioctl()
 */
guint qga_trace_session_add_mount(QgaTraceSession *self, const gchar *mountpoint,
				  const gchar *fstype, guint dev_major, guint dev_minor,
				  gboolean reported);

/* Returns: the first mount of that device, or -1 */
gint qga_trace_session_find_mount(const QgaTraceSession *self, guint dev_major, guint dev_minor);

/* one FIFREEZE or FITHAW loop, in the order made; 0, 0: no window (by order) */
void qga_trace_session_add_ioctl(QgaTraceSession *self, QtfIoctlKind kind, guint mount, gint tid,
				 guint64 start_ns, guint64 end_ns);

/* what went wrong with the freeze itself, for the reader; first one wins */
void qga_trace_session_set_error(QgaTraceSession *self, const gchar *error);

/* a remark for the reader, e.g. who thawed */
void qga_trace_session_add_note(QgaTraceSession *self, const gchar *note);

/* one fsfreeze hook (or hook script) run; a member not known is null */
typedef struct {
	const gchar *phase;	  /* "freeze" or "thaw" */
	const gchar *path;	  /* (nullable) */
	gint exit_status;	  /* -1: did not exit, or not known */
	gint signal;		  /* -1: not ended by a signal, or not known */
	gint timed_out;		  /* -1: not known; else a boolean */
	gint64 duration_ns;	  /* -1: not known */
	const gchar *output_tail; /* (nullable): not captured */
	const gchar *error;	  /* (nullable): why it could not run, or failed */
	const gchar *comm;	  /* (nullable): the task's name, when the path is not known */
} QgaTraceSessionHook;

/* the session's "hooks" gets @hook, as {"phase", "path", "exit-status",
 * "signal", "timed-out", "duration-ns", "output-tail", "error", "comm"} */
void qga_trace_session_add_hook(QgaTraceSession *self, const QgaTraceSessionHook *hook);

/* no verdict can be had (the plugin cannot tell which mounts qemu-ga
 * froze): every verdict says @reason and is not verified */
void qga_trace_session_set_unattributable(QgaTraceSession *self, const gchar *reason);

/**
 * qga_trace_session_set_stalls:
 * @log: (transfer full) (nullable): what the stall recorder collected;
 *   NULL: not recorded ("stalls-complete": false)
 * The session's "stalls" are matched against its reported mounts.
 */
void qga_trace_session_set_stalls(QgaTraceSession *self, QtfStallLog *log);

/**
 * qga_trace_session_finish:
 * @capture: (transfer full): what was recorded; qtf_capture_new_unavailable() when nothing
 * Verifies the mounts from @capture and the ioctls; the session becomes
 * "collected", or "untraced" when the capture's method is "unavailable".
 */
void qga_trace_session_finish(QgaTraceSession *self, QtfCapture *capture, guint64 ended_ns);

gboolean qga_trace_session_is_finished(const QgaTraceSession *self);

/* finished, with at least one reported mount, each verified */
gboolean qga_trace_session_is_verified(const QgaTraceSession *self);

/**
 * qga_trace_session_to_json:
 * {"session", "source", "state", "pid", "started-ns", "ended-ns", "error",
 *  "notes", "hooks", "verified", "method", "reason", "clock", "instance",
 *  "functions", "tracepoints", "complete", "lost-events", "events",
 *  "mounts", "ioctls", "verification"}: the capture's members as
 *  qtf_capture_to_json() names them, the verdicts as
 *  qtf_verdicts_to_json() (reported mounts only)
 * Returns: (transfer full)
 */
JsonNode *qga_trace_session_to_json(const QgaTraceSession *self);

/* letters, digits, '.', '_' and '-', not starting with '.', at most 128, not
 * "index": safe as a file name (qga_session_id_is_valid(), which the host uses) */
gboolean qga_trace_session_id_is_valid(const gchar *id);

/**
 * qga_trace_session_store:
 * Writes @self as DIR/<id>.json (a temporary file renamed over it, so a
 * reader never sees half of one), creating @dir, then removes the oldest
 * files beyond @keep and rewrites DIR/index.json, the list of those kept
 * (common/qga-session-index.h). @dir must be on a filesystem that is not frozen.
 * Returns: FALSE with @error
 */
gboolean qga_trace_session_store(const QgaTraceSession *self, const gchar *dir, guint keep,
				 GError **error);

/**
 * qga_trace_session_write_index:
 * Writes DIR/index.json (common/qga-session-index.h), the ids of the
 * sessions stored in @dir, newest first, replacing the old one at once: what
 * a host reads through stock qemu-ga's guest-file-*, which lists no
 * directory.
 * Returns: FALSE with @error
 */
gboolean qga_trace_session_write_index(const gchar *dir, GError **error);

/* ---------------------------------------------------------------------------------------- */
/* loading, for the agent that serves them */

/**
 * qga_trace_session_load:
 * @id: already checked with qga_trace_session_id_is_valid()
 * Returns: (transfer full): the JSON of DIR/<id>.json, a regular file of
 * at most 16 MiB holding session @id, or NULL with @error
 * (G_IO_ERROR_NOT_FOUND when there is no such file)
 */
JsonNode *qga_trace_session_load(const gchar *dir, const gchar *id, GError **error);

/**
 * qga_trace_session_load_dir:
 * Returns: (transfer full) (element-type JsonNode): every session stored
 * in @path that loads, oldest first; none when @path cannot be read
 */
GPtrArray *qga_trace_session_load_dir(const gchar *path);

/* a GCompareFunc for a GPtrArray of session JSON: oldest "started-ns" first */
gint qga_trace_session_json_oldest_first(gconstpointer a, gconstpointer b);

G_END_DECLS
