/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-state.h"

G_BEGIN_DECLS

/* The agent's log writer. While the guest is frozen nothing leaves the
 * process but replies: stderr may be a pipe to a journald blocked on a
 * frozen /var, and a log file may sit on a frozen filesystem. Records are
 * held in a bounded ring and written out after the thaw. */
typedef struct _QgaLog QgaLog;

#define QGA_LOG_RING_MAX 1024

/**
 * qga_log_new:
 * @logfile: (nullable): append there instead of stderr
 * Installs itself as GLib's log writer; @state must outlive it.
 */
QgaLog *qga_log_new(QgaState *state, const gchar *logfile, gboolean verbose, GError **error);
void qga_log_free(QgaLog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaLog, qga_log_free)

/* records held since the freeze (for tests) */
guint qga_log_get_held(QgaLog *self);

G_END_DECLS
