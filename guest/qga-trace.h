/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qga-config.h"
#include "qga-mounts.h"
#include "qtf.h"

G_BEGIN_DECLS

/*
 * Trace sessions: one freeze/thaw cycle each, recorded by the kernel
 * through tracefs/ (qtf.h) and verified from its records only.
 *
 * The agent's own cycles (QgaTrace): armed before the freeze hook and the
 * first FIFREEZE, each FIFREEZE and FITHAW loop timed, collected after the
 * last FITHAW and the thaw hook, then verified; the last N are kept in
 * memory. Stock qemu-ga's cycles are traced by qgatrace-fsfreeze-hook
 * (qga-plugin/), which stores each as a JSON file in the plugin dir; the
 * agent serves those too, by the same session format.
 */

#define QGA_TRACE_SOURCE_AGENT   "qgatrace-agent"
#define QGA_TRACE_SOURCE_QEMU_GA "qemu-ga"

/* ---------------------------------------------------------------------------------------- */
/* one session */

typedef struct _QgaTraceSession QgaTraceSession;

/**
 * qga_trace_session_new:
 * @id: see qga_trace_id_is_valid()
 * @source: QGA_TRACE_SOURCE_AGENT or QGA_TRACE_SOURCE_QEMU_GA
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

/* no verdict can be had (the plugin cannot tell which mounts qemu-ga
 * froze): every verdict says @reason and is not verified */
void qga_trace_session_set_unattributable(QgaTraceSession *self, const gchar *reason);

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
 *  "notes", "verified", "method", "reason", "clock", "instance",
 *  "functions", "tracepoints", "complete", "lost-events", "events",
 *  "mounts", "ioctls", "verification"}: the capture's members as
 *  qtf_capture_to_json() names them, the verdicts as
 *  qtf_verdicts_to_json() (reported mounts only)
 * Returns: (transfer full)
 */
JsonNode *qga_trace_session_to_json(const QgaTraceSession *self);

/* letters, digits, '.', '_' and '-', not starting with '.', at most 128: safe as a file name */
gboolean qga_trace_id_is_valid(const gchar *id);

/**
 * qga_trace_store_session:
 * Writes @self as DIR/<id>.json (a temporary file renamed over it, so a
 * reader never sees half of one), creating @dir, then removes the oldest
 * files beyond @keep. @dir must be on a filesystem that is not frozen.
 * Returns: FALSE with @error
 */
gboolean qga_trace_store_session(const QgaTraceSession *self, const gchar *dir, guint keep,
				 GError **error);

/* ---------------------------------------------------------------------------------------- */
/* the agent's sessions */

typedef struct _QgaTrace QgaTrace;

/**
 * qga_trace_new:
 * @config: must outlive it
 * @root: the system's root: "/" lets the tracing library find (or mount)
 *   tracefs; another (a test's fixture tree) takes ROOT/sys/kernel/tracing
 *   and ROOT/proc/kallsyms
 * Nothing is probed until a freeze or a status.
 */
QgaTrace *qga_trace_new(const QgaConfig *config, const gchar *root);

/* ends a session still open and removes the ftrace instance; NULL is a no-op */
void qga_trace_free(QgaTrace *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaTrace, qga_trace_free)

/**
 * qga_trace_begin:
 * @self: (nullable): NULL or disabled: no session
 * @mounts: what is about to be frozen
 * Before the freeze hook: opens a session and arms the tracer for the
 * calling thread. Never fails: a tracer that cannot arm leaves the
 * session "untraced" with the reason.
 */
void qga_trace_begin(QgaTrace *self, QgaMountList *mounts);

/* after a FIFREEZE or a FITHAW loop on @mount: its window goes to the open
 * session (nothing when none is open, or @mount is not the session's) */
void qga_trace_freeze_done(QgaTrace *self, const QgaMount *mount, const QgaIoctlWindow *window);
void qga_trace_thaw_done(QgaTrace *self, const QgaMount *mount, const QgaIoctlWindow *window);

/* a note for the open session, if any */
void qga_trace_note(QgaTrace *self, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

/**
 * qga_trace_end:
 * @error: (nullable): why the freeze failed
 * After the last FITHAW (never while anything is frozen): ends the open
 * session, if any. It is collected, paused (qtf_tracer_pause()), verified and kept from an
 * idle callback, once the reply is out, or at once by the next begin,
 * status, fetch or free, whichever comes first.
 */
void qga_trace_end(QgaTrace *self, const gchar *error);

/* collects the session that ended, if any, now; never while frozen */
void qga_trace_collect(QgaTrace *self);

/* TRUE between begin and end */
gboolean qga_trace_is_open(QgaTrace *self);

/* at start-up, once nothing is frozen: an instance a dead agent left
 * holds its buffers and, if it died frozen, is still armed, costing every
 * traced call; replace it now rather than at the next freeze. Only looks
 * for it (no mount): nothing when there is none. */
void qga_trace_replace_stale(QgaTrace *self);

/* keeps @session (transfer full) as the newest, dropping the oldest beyond the configured number */
void qga_trace_add_session(QgaTrace *self, QgaTraceSession *session);

/**
 * qga_trace_get_status:
 * @self: (nullable)
 * @frozen: answer from memory only: no probe, no plugin dir
 * Returns: (transfer full): the guest-trace-status object
 */
JsonNode *qga_trace_get_status(QgaTrace *self, gboolean frozen);

/**
 * qga_trace_fetch:
 * @id: (nullable): NULL: the newest session, the agent's or the plugin's
 * Returns: (transfer full): the session (qga_trace_session_to_json()), or
 * NULL with @error
 */
JsonNode *qga_trace_fetch(QgaTrace *self, const gchar *id, GError **error);

G_END_DECLS
