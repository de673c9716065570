/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/* One line of /proc/self/mountinfo. mountinfo, not /etc/mtab: reading the
 * latter updated its atime and blocked a frozen agent (QEMU 9e2fa418fb). */
typedef struct {
	gchar *mountpoint;
	gchar *fstype;
	gchar *source;
	dev_t devnum;
	/* backed by a block device, and the first mount of it: FIFREEZE
	 * acts on the superblock, so bind mounts and repeats are skipped */
	gboolean freezable;
} QgaMount;

void qga_mount_free(QgaMount *self);

/* a GPtrArray of QgaMount, in mount order */
typedef GPtrArray QgaMountList;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaMountList, g_ptr_array_unref)

/**
 * qga_mount_list_read:
 * @mountinfo: a /proc/PID/mountinfo file
 * Returns: (transfer full): every mount, or NULL with @error
 */
QgaMountList *qga_mount_list_read(const gchar *mountinfo, GError **error);

/* Returns: (transfer full): the mounts of the mountinfo text @contents;
 * a malformed line is skipped */
QgaMountList *qga_mount_list_parse(const gchar *contents);

/**
 * qga_mount_list_select:
 * @wanted: (nullable): mount points; NULL selects every freezable mount
 * Returns: (transfer full): the freezable mounts named, in mount order, or
 * NULL when a name is not a mounted filesystem or cannot be frozen
 */
QgaMountList *qga_mount_list_select(QgaMountList *mounts, gchar *const *wanted, GError **error);

/* Returns: (transfer none) (nullable): the mount of @devnum that FIFREEZE acts on */
QgaMount *qga_mount_list_find_freezable(QgaMountList *mounts, dev_t devnum);

/* the mount points of @mounts, for logs and the frozen marker */
gchar **qga_mount_list_dup_mountpoints(QgaMountList *mounts);

/* CLOCK_MONOTONIC ns just before and just after an ioctl (or a FITHAW
 * loop): the trace clock 'mono' reads the same clock, so the kernel's
 * records during the call can be told from those of the next one */
typedef struct {
	guint64 start_ns;
	guint64 end_ns;
} QgaIoctlWindow;

/**
 * qga_mount_freeze:
 * @window: (out) (optional): when the FIFREEZE ran; zeroed if it did not
 * Returns: 1 frozen, 0 skipped as qemu-ga skips (EOPNOTSUPP: the
 * filesystem cannot freeze; EBUSY: already frozen), -1 with @error
 */
gint qga_mount_freeze(const QgaMount *mount, QgaIoctlWindow *window, GError **error);

/* FITHAW until it fails, since freezes nest; TRUE when one succeeded.
 * @window: (out) (optional): around the whole loop; zeroed if none ran */
gboolean qga_mount_thaw(const QgaMount *mount, QgaIoctlWindow *window);

G_END_DECLS
