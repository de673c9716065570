/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qga-config.h"
#include "qga-mounts.h"
#include "qga-trace-session.h"
#include "qtf.h"

G_BEGIN_DECLS

/*
 * The agent's trace sessions (qga-trace-session.h), one per freeze/thaw
 * cycle: armed before the freeze hook and the first FIFREEZE, each FIFREEZE
 * and FITHAW loop timed, collected after the last FITHAW and the thaw
 * hook, then verified; the last N are kept in memory. Stock qemu-ga's
 * cycles are traced by qgatrace-fsfreeze-hook (qga-plugin/), which stores
 * each as a JSON file in the plugin dir; guest-trace-status and
 * guest-trace-fetch serve those too.
 */

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

/* a hook run for the open session's "hooks", if any */
void qga_trace_add_hook(QgaTrace *self, const QgaTraceSessionHook *hook);

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
