/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "qga-command.h"

G_BEGIN_DECLS

/**
 * qga_fsfreeze_freeze:
 * @mountpoints: (nullable): NULL freezes every freezable filesystem
 * As qemu-ga, safer: the mount points are checked before anything runs;
 * the freeze hook runs first; FIFREEZE goes in reverse mount order (a
 * filesystem in a loop-mounted image before the one holding the image).
 * A failure thaws what was already frozen, runs the thaw hook (a hook that
 * took a lock on freeze must release it) and names the mount that failed.
 * Returns: the number frozen, or -1 with @error and nothing left frozen
 */
gint qga_fsfreeze_freeze(QgaContext *ctx, gchar *const *mountpoints, GError **error);

/**
 * qga_fsfreeze_thaw:
 * FITHAW on every freezable filesystem in mount order, then the thaw hook
 * when the agent had frozen anything.
 * Returns: the number thawed, or -1 with @error (the filesystems may
 * still be thawed when only the hook failed, as with qemu-ga)
 */
gint qga_fsfreeze_thaw(QgaContext *ctx, GError **error);

/**
 * qga_fsfreeze_plan:
 * @mountpoints: (nullable): as for qga_fsfreeze_freeze()
 * What qga_fsfreeze_freeze() would do, touching nothing: the
 * guest-fsfreeze-plan reply (qga_freeze_plan_to_json()), with what is
 * frozen already (this agent's marker, stock qemu-ga's state file), the
 * hook and FUSE daemons on filesystems it freezes.
 * Returns: (transfer full): the plan, or NULL with @error
 */
JsonNode *qga_fsfreeze_plan(QgaContext *ctx, gchar *const *mountpoints, GError **error);

/* at start-up: a marker left by an agent that died frozen means thaw;
 * then an ftrace instance a dead agent left is replaced (qga-trace.h) */
void qga_fsfreeze_recover(QgaContext *ctx);

G_END_DECLS
