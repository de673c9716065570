/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-mounts.h"

void
qga_mount_free(QgaMount *self)
{
	g_free(self->mountpoint);
	g_free(self->fstype);
	g_free(self->source);
	g_free(self);
}

/* the next space-separated field of @line from *@pos: its start and length,
 * or FALSE at the end of the line */
static gboolean
qga_mount_next_field(const gchar *line, gsize len, gsize *pos, const gchar **field,
		     gsize *field_len)
{
	const gchar *space;

	if (*pos >= len)
		return FALSE;
	*field = line + *pos;
	space = memchr(*field, ' ', len - *pos);
	*field_len = space != NULL ? (gsize)(space - *field) : len - *pos;
	*pos += *field_len + 1;
	return TRUE;
}

/* "MAJOR:MINOR" */
static gboolean
qga_mount_parse_devnum(const gchar *field, gsize len, dev_t *devnum)
{
	g_autofree gchar *text = g_strndup(field, len);
	gchar *colon = strchr(text, ':');
	guint64 major_num;
	guint64 minor_num;

	if (colon == NULL)
		return FALSE;
	*colon = '\0';
	/* digits only: no sign, no space, nothing after them */
	if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT32, &major_num, NULL) ||
	    !g_ascii_string_to_unsigned(colon + 1, 10, 0, G_MAXUINT32, &minor_num, NULL))
		return FALSE;
	*devnum = makedev(major_num, minor_num);
	return TRUE;
}

/* the kernel escapes space, tab, newline and backslash as \ooo */
static gchar *
qga_mount_unescape(const gchar *field, gsize len)
{
	g_autofree gchar *raw = g_strndup(field, len);

	return g_strcompress(raw);
}

/*
 * "36 35 98:0 /root /mnt rw,noatime master:1 - ext4 /dev/vda rw": walked
 * field by field; splitting every line into strings and sscanf() were two
 * thirds of the agent's instructions for a freeze and thaw (callgrind)
 */
static QgaMount *
qga_mount_parse_line(const gchar *line, gsize len)
{
	const gchar *fields[5];
	gsize lens[5];
	const gchar *field;
	gsize field_len;
	gsize pos = 0;
	guint n = 0;
	dev_t devnum;
	QgaMount *self;

	/* mount id, parent id, MAJOR:MINOR, root, mount point */
	for (; n < G_N_ELEMENTS(fields); n++) {
		if (!qga_mount_next_field(line, len, &pos, &fields[n], &lens[n]))
			return NULL;
	}
	if (!qga_mount_parse_devnum(fields[2], lens[2], &devnum))
		return NULL;
	/* options, optional fields, then "-" */
	if (!qga_mount_next_field(line, len, &pos, &field, &field_len))
		return NULL;
	do {
		if (!qga_mount_next_field(line, len, &pos, &field, &field_len))
			return NULL;
	} while (field_len != 1 || *field != '-');
	/* fs type, source, super options */
	if (!qga_mount_next_field(line, len, &pos, &fields[0], &lens[0]) ||
	    !qga_mount_next_field(line, len, &pos, &fields[1], &lens[1]) ||
	    !qga_mount_next_field(line, len, &pos, &field, &field_len))
		return NULL;
	self = g_new0(QgaMount, 1);
	self->mountpoint = qga_mount_unescape(fields[4], lens[4]);
	self->fstype = qga_mount_unescape(fields[0], lens[0]);
	self->source = qga_mount_unescape(fields[1], lens[1]);
	self->devnum = devnum;
	return self;
}

static void
qga_mount_resolve_anonymous_dev(QgaMount *self)
{
	struct stat st;

	/* btrfs reports an anonymous device; its source names the disk */
	if (major(self->devnum) == 0 && g_strcmp0(self->fstype, "btrfs") == 0 &&
	    stat(self->source, &st) == 0 && S_ISBLK(st.st_mode))
		self->devnum = st.st_rdev;
}

QgaMountList *
qga_mount_list_read(const gchar *mountinfo, GError **error)
{
	g_autofree gchar *contents = NULL;

	if (!g_file_get_contents(mountinfo, &contents, NULL, error)) {
		g_prefix_error(error, "reading the mount table: ");
		return NULL;
	}
	return qga_mount_list_parse(contents);
}

QgaMountList *
qga_mount_list_parse(const gchar *contents)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
	QgaMountList *mounts = g_ptr_array_new_with_free_func((GDestroyNotify)qga_mount_free);

	for (const gchar *line = contents; *line != '\0';) {
		const gchar *newline = strchr(line, '\n');
		gsize len = newline != NULL ? (gsize)(newline - line) : strlen(line);
		QgaMount *mount = qga_mount_parse_line(line, len);

		line += newline != NULL ? len + 1 : len;
		if (mount == NULL)
			continue;
		qga_mount_resolve_anonymous_dev(mount);
		g_ptr_array_add(mounts, mount);
		if (major(mount->devnum) == 0)
			continue;
		/* a non-zero major makes a non-NULL key */
		mount->freezable = g_hash_table_add(seen, GSIZE_TO_POINTER((gsize)mount->devnum));
	}
	return mounts;
}

static gchar *
qga_mount_normalize(const gchar *path)
{
	gsize len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return g_strndup(path, len);
}

static QgaMount *
qga_mount_list_find(QgaMountList *mounts, const gchar *mountpoint)
{
	QgaMount *found = NULL;

	/* the last mount on a path is the one visible there */
	for (guint i = 0; i < mounts->len; i++) {
		QgaMount *m = g_ptr_array_index(mounts, i);
		if (g_strcmp0(m->mountpoint, mountpoint) == 0)
			found = m;
	}
	return found;
}

QgaMount *
qga_mount_list_find_freezable(QgaMountList *mounts, dev_t devnum)
{
	for (guint i = 0; i < mounts->len; i++) {
		QgaMount *m = g_ptr_array_index(mounts, i);
		if (m->freezable && m->devnum == devnum)
			return m;
	}
	return NULL;
}

QgaMountList *
qga_mount_list_select(QgaMountList *mounts, gchar *const *wanted, GError **error)
{
	g_autoptr(GPtrArray) selected = g_ptr_array_new();
	g_autoptr(GHashTable) chosen = g_hash_table_new(NULL, NULL);

	for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++) {
		g_autofree gchar *path = qga_mount_normalize(wanted[i]);
		QgaMount *m = qga_mount_list_find(mounts, path);

		if (m == NULL) {
			/* qemu-ga ignores it and may freeze nothing: a snapshot
			 * would then claim a consistency it never had */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "'%s' is not a mounted filesystem", wanted[i]);
			return NULL;
		}
		if (major(m->devnum) == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "'%s' cannot be frozen: %s has no block device", wanted[i],
				    m->fstype);
			return NULL;
		}
		g_hash_table_add(chosen, qga_mount_list_find_freezable(mounts, m->devnum));
	}
	for (guint i = 0; i < mounts->len; i++) {
		QgaMount *m = g_ptr_array_index(mounts, i);
		if (m->freezable && (wanted == NULL || g_hash_table_contains(chosen, m)))
			g_ptr_array_add(selected, m);
	}
	/* the selection borrows the mounts: no free func */
	return g_steal_pointer(&selected);
}

gchar **
qga_mount_list_dup_mountpoints(QgaMountList *mounts)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	for (guint i = 0; i < mounts->len; i++)
		g_strv_builder_add(builder, ((QgaMount *)g_ptr_array_index(mounts, i))->mountpoint);
	return g_strv_builder_end(builder);
}

static gint
qga_mount_open(const QgaMount *mount, GError **error)
{
	gint fd = open(mount->mountpoint, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot open '%s': %s",
			    mount->mountpoint, g_strerror(errsv));
	}
	return fd;
}

/* a fuzzing build (fuzz/README.md) must never freeze the machine it runs
 * on: every filesystem answers as one that cannot be frozen */
static gint
qga_mount_ioctl(gint fd, gulong request)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	errno = EOPNOTSUPP;
	return -1;
#else
	return ioctl(fd, request);
#endif
}

static guint64
qga_mount_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (guint64)ts.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64)ts.tv_nsec;
}

gint
qga_mount_freeze(const QgaMount *mount, QgaIoctlWindow *window, GError **error)
{
	QgaIoctlWindow when = {0};
	gint fd = qga_mount_open(mount, error);
	gint rc;
	gint errsv;

	if (window != NULL)
		*window = when;
	if (fd < 0)
		return -1;
	when.start_ns = qga_mount_now_ns();
	rc = qga_mount_ioctl(fd, FIFREEZE);
	errsv = errno;
	when.end_ns = qga_mount_now_ns();
	close(fd);
	if (window != NULL)
		*window = when;
	if (rc == 0)
		return 1;
	if (errsv == EOPNOTSUPP || errsv == EBUSY) {
		g_debug("not freezing '%s' (%s): %s", mount->mountpoint, mount->fstype,
			g_strerror(errsv));
		return 0;
	}
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
		    "failed to freeze '%s' (%s): %s", mount->mountpoint, mount->fstype,
		    g_strerror(errsv));
	return -1;
}

gboolean
qga_mount_thaw(const QgaMount *mount, QgaIoctlWindow *window)
{
	g_autoptr(GError) error = NULL;
	QgaIoctlWindow when = {0};
	gint fd = qga_mount_open(mount, &error);
	gboolean thawed = FALSE;

	if (window != NULL)
		*window = when;
	if (fd < 0) {
		g_debug("not thawing: %s", error->message);
		return FALSE;
	}
	when.start_ns = qga_mount_now_ns();
	while (qga_mount_ioctl(fd, FITHAW) == 0)
		thawed = TRUE;
	when.end_ns = qga_mount_now_ns();
	close(fd);
	if (window != NULL)
		*window = when;
	return thawed;
}
