/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qga-mounts.h"

G_BEGIN_DECLS

/*
 * What a freeze would do, and the order the freeze really uses: the
 * selected freezable filesystems in reverse mount order, except that a
 * filesystem on a loop device is frozen before the one holding the loop's
 * image (freezing it syncs through the loop into that image, which blocks
 * forever once the image's filesystem is frozen). guest-fsfreeze-plan
 * reports it; qga_fsfreeze_freeze() freezes in qga_freeze_plan_get_order().
 */
typedef struct _QgaFreezePlan QgaFreezePlan;

/**
 * qga_freeze_plan_new:
 * @mounts: every mount (qga_mount_list_read()); must outlive the plan
 * @wanted: (nullable): mount points, as for qga_mount_list_select()
 * @backing_files: (nullable): dev_t of a loop device → the path of its
 *   image (qga_freeze_plan_read_backing_files())
 * Returns: (transfer full): the plan, or NULL with @error when a name in
 * @wanted is not a mounted filesystem that can be frozen
 */
QgaFreezePlan *qga_freeze_plan_new(QgaMountList *mounts, gchar *const *wanted,
				   GHashTable *backing_files, GError **error);
void qga_freeze_plan_free(QgaFreezePlan *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaFreezePlan, qga_freeze_plan_free)

/* Returns: (transfer none): the filesystems to freeze, in freeze order */
QgaMountList *qga_freeze_plan_get_order(QgaFreezePlan *self);

/* @mountpoints, frozen already by @who, leave the order as skipped */
void qga_freeze_plan_set_frozen(QgaFreezePlan *self, gchar *const *mountpoints, const gchar *who);

/* someone else has frozen filesystems, which ones unknown: @evidence says
 * how it was seen (a state file); a warning too */
void qga_freeze_plan_add_frozen_by(QgaFreezePlan *self, const gchar *who, const gchar *evidence);

/* @path: (nullable): the fsfreeze hook that would run, NULL for none */
void qga_freeze_plan_set_hook(QgaFreezePlan *self, const gchar *path, gboolean executable);

/* a task holding /dev/fuse open: a FUSE daemon */
typedef struct {
	gint pid;
	gchar *comm;
	gchar *exe;
} QgaFreezePlanFuseDaemon;

/* warns of each daemon in @daemons (element-type QgaFreezePlanFuseDaemon)
 * whose program lives on a filesystem the plan freezes, when FUSE
 * filesystems are mounted: it may block on it and hang them */
void qga_freeze_plan_check_fuse(QgaFreezePlan *self, GPtrArray *daemons);

/* a warning of the caller's own */
void qga_freeze_plan_add_warning(QgaFreezePlan *self, const gchar *warning);

/**
 * qga_freeze_plan_to_json:
 * {"freeze": [{"mountpoint", "fstype", "source", "device"}...] in order,
 *  "skip": [{"mountpoint", "fstype", "source", "device", "reason",
 *            "detail", "same-as", "frozen-by"}...] in mount order,
 *  "dependencies": [{"mountpoint", "before", "backing-file"}...],
 *  "hook": {"path", "executable"}|null, "frozen-by": [{"who", "evidence"}...],
 *  "warnings": [TEXT...]}
 * Returns: (transfer full)
 */
JsonNode *qga_freeze_plan_to_json(QgaFreezePlan *self);

/**
 * qga_freeze_plan_read_backing_files:
 * @sys: the sysfs root
 * Reads SYS/dev/block/MAJ:MIN/loop/backing_file (or the parent's, for a
 * partition) of every mount of a loop device (or one the kernel numbers
 * in the extended range): no other mount is looked at, so a freeze pays
 * nothing when there is no loop device.
 * Returns: (transfer full): dev_t → path, " (deleted)" stripped
 */
GHashTable *qga_freeze_plan_read_backing_files(const gchar *sys, QgaMountList *mounts);

/**
 * qga_freeze_plan_read_fuse_daemons:
 * @proc: the procfs root
 * Returns: (transfer full) (element-type QgaFreezePlanFuseDaemon): every
 * task with /dev/fuse open, at most 64
 */
GPtrArray *qga_freeze_plan_read_fuse_daemons(const gchar *proc);

/* TRUE when @mounts holds a FUSE filesystem */
gboolean qga_freeze_plan_has_fuse(QgaMountList *mounts);

G_END_DECLS
