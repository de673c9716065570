/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <linux/major.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <gio/gio.h>

#include "qga-freeze-plan.h"

/* a ps(1)-sized bound: the plan is for a person to read */
#define QGA_FREEZE_PLAN_FUSE_DAEMONS_MAX 64

/* @mount must be frozen before @holder, which holds its loop device's image */
typedef struct {
	const QgaMount *mount;
	const QgaMount *holder;
	const gchar *backing_file; /* (not owned): the backing files' */
} QgaFreezePlanDep;

struct _QgaFreezePlan {
	QgaMountList *mounts; /* (not owned) */
	QgaMountList *order;  /* borrows @mounts' */
	GPtrArray *deps;      /* QgaFreezePlanDep */
	GHashTable *frozen;   /* QgaMount → who froze it (not owned) */
	GHashTable *backing_files;
	GPtrArray *frozen_by; /* JsonObject */
	GPtrArray *warnings;  /* gchar */
	gchar *hook;
	gboolean hook_executable;
};

static void
qga_freeze_plan_fuse_daemon_free(QgaFreezePlanFuseDaemon *self)
{
	g_free(self->comm);
	g_free(self->exe);
	g_free(self);
}

/* @path is @mountpoint or below it */
static gboolean
qga_freeze_plan_path_is_under(const gchar *path, const gchar *mountpoint)
{
	gsize len = strlen(mountpoint);

	if (strcmp(mountpoint, "/") == 0)
		return path[0] == '/';
	return strncmp(path, mountpoint, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

/* the freezable mount holding @path: the longest mount point above it,
 * the last mounted of equals (the visible one), then its device's
 * first mount; NULL when not on a block device */
static const QgaMount *
qga_freeze_plan_holder_of_path(QgaMountList *mounts, const gchar *path)
{
	const QgaMount *best = NULL;
	gsize best_len = 0;

	for (guint i = 0; i < mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(mounts, i);
		gsize len = strlen(m->mountpoint);

		if (qga_freeze_plan_path_is_under(path, m->mountpoint) &&
		    (best == NULL || len >= best_len)) {
			best = m;
			best_len = len;
		}
	}
	if (best == NULL || major(best->devnum) == 0)
		return NULL;
	return qga_mount_list_find_freezable(mounts, best->devnum);
}

static GPtrArray *
qga_freeze_plan_find_deps(QgaMountList *mounts, GHashTable *backing_files)
{
	GPtrArray *deps = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; backing_files != NULL && i < mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(mounts, i);
		const gchar *file;
		QgaFreezePlanDep *dep;

		if (!m->freezable)
			continue;
		file = g_hash_table_lookup(backing_files, GSIZE_TO_POINTER((gsize)m->devnum));
		if (file == NULL)
			continue;
		dep = g_new0(QgaFreezePlanDep, 1);
		dep->mount = m;
		dep->holder = qga_freeze_plan_holder_of_path(mounts, file);
		dep->backing_file = file;
		if (dep->holder == NULL || dep->holder == m) {
			g_free(dep);
			continue;
		}
		g_ptr_array_add(deps, dep);
	}
	return deps;
}

/* @mount after everything in @selected that must be frozen before it */
static void
qga_freeze_plan_visit(QgaFreezePlan *self, GHashTable *selected, GHashTable *placed,
		      const QgaMount *mount)
{
	/* marked first: a cycle (which mounts cannot make) ends here */
	if (!g_hash_table_add(placed, (gpointer)mount))
		return;
	for (guint i = 0; i < self->deps->len; i++) {
		const QgaFreezePlanDep *dep = g_ptr_array_index(self->deps, i);

		if (dep->holder == mount && g_hash_table_contains(selected, dep->mount))
			qga_freeze_plan_visit(self, selected, placed, dep->mount);
	}
	g_ptr_array_add(self->order, (gpointer)mount);
}

/* reverse mount order, as qemu-ga (commit e5d9adbd), which already puts a
 * loop mounted from an image after the image's filesystem; the
 * dependencies cover the rest: a filesystem mounted again after the loop
 * (its first mount gone), or a loop set up in another mount namespace */
static void
qga_freeze_plan_sort(QgaFreezePlan *self, QgaMountList *selected)
{
	g_autoptr(GHashTable) in_selection = g_hash_table_new(NULL, NULL);
	g_autoptr(GHashTable) placed = g_hash_table_new(NULL, NULL);

	for (guint i = 0; i < selected->len; i++)
		g_hash_table_add(in_selection, g_ptr_array_index(selected, i));
	for (guint i = selected->len; i > 0; i--)
		qga_freeze_plan_visit(self, in_selection, placed,
				      g_ptr_array_index(selected, i - 1));
}

QgaFreezePlan *
qga_freeze_plan_new(QgaMountList *mounts, gchar *const *wanted, GHashTable *backing_files,
		    GError **error)
{
	g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, wanted, error);
	QgaFreezePlan *self;

	if (selected == NULL)
		return NULL;
	self = g_new0(QgaFreezePlan, 1);
	self->mounts = mounts;
	self->order = g_ptr_array_new();
	self->backing_files = backing_files != NULL ? g_hash_table_ref(backing_files) : NULL;
	self->deps = qga_freeze_plan_find_deps(mounts, backing_files);
	self->frozen = g_hash_table_new(NULL, NULL);
	self->frozen_by = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
	self->warnings = g_ptr_array_new_with_free_func(g_free);
	qga_freeze_plan_sort(self, selected);
	return self;
}

void
qga_freeze_plan_free(QgaFreezePlan *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->order);
	g_ptr_array_unref(self->deps);
	g_hash_table_unref(self->frozen);
	if (self->backing_files != NULL)
		g_hash_table_unref(self->backing_files);
	g_ptr_array_unref(self->frozen_by);
	g_ptr_array_unref(self->warnings);
	g_free(self->hook);
	g_free(self);
}

QgaMountList *
qga_freeze_plan_get_order(QgaFreezePlan *self)
{
	return self->order;
}

void
qga_freeze_plan_set_frozen(QgaFreezePlan *self, gchar *const *mountpoints, const gchar *who)
{
	for (guint i = 0; mountpoints != NULL && mountpoints[i] != NULL; i++) {
		for (guint j = 0; j < self->order->len; j++) {
			QgaMount *m = g_ptr_array_index(self->order, j);

			if (g_strcmp0(m->mountpoint, mountpoints[i]) != 0)
				continue;
			g_hash_table_insert(self->frozen, m, (gpointer)who);
			g_ptr_array_remove_index(self->order, j);
			break;
		}
	}
}

void
qga_freeze_plan_add_warning(QgaFreezePlan *self, const gchar *warning)
{
	g_ptr_array_add(self->warnings, g_strdup(warning));
}

void
qga_freeze_plan_add_frozen_by(QgaFreezePlan *self, const gchar *who, const gchar *evidence)
{
	JsonObject *object = json_object_new();
	g_autofree gchar *warning = NULL;

	json_object_set_string_member(object, "who", who);
	json_object_set_string_member(object, "evidence", evidence);
	g_ptr_array_add(self->frozen_by, object);
	warning = g_strdup_printf("%s has frozen filesystems ('%s'): a filesystem it froze "
				  "is skipped as already frozen, the others are frozen",
				  who, evidence);
	qga_freeze_plan_add_warning(self, warning);
}

void
qga_freeze_plan_set_hook(QgaFreezePlan *self, const gchar *path, gboolean executable)
{
	g_free(self->hook);
	self->hook = g_strdup(path);
	self->hook_executable = executable;
	if (path != NULL && !executable) {
		g_autofree gchar *warning = g_strdup_printf(
			"the fsfreeze hook '%s' is not executable: the freeze would fail", path);
		qga_freeze_plan_add_warning(self, warning);
	}
}

static gboolean
qga_freeze_plan_is_fuse(const QgaMount *mount)
{
	return g_strcmp0(mount->fstype, "fuse") == 0 || g_str_has_prefix(mount->fstype, "fuse.") ||
	       g_strcmp0(mount->fstype, "fuseblk") == 0;
}

gboolean
qga_freeze_plan_has_fuse(QgaMountList *mounts)
{
	for (guint i = 0; i < mounts->len; i++) {
		if (qga_freeze_plan_is_fuse(g_ptr_array_index(mounts, i)))
			return TRUE;
	}
	return FALSE;
}

void
qga_freeze_plan_check_fuse(QgaFreezePlan *self, GPtrArray *daemons)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) fuse_mounts = NULL;
	g_autofree gchar *list = NULL;

	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(self->mounts, i);

		if (qga_freeze_plan_is_fuse(m))
			g_strv_builder_add(builder, m->mountpoint);
	}
	fuse_mounts = g_strv_builder_end(builder);
	if (fuse_mounts[0] == NULL)
		return;
	list = g_strjoinv("', '", fuse_mounts);
	for (guint i = 0; i < daemons->len; i++) {
		const QgaFreezePlanFuseDaemon *d = g_ptr_array_index(daemons, i);
		const QgaMount *holder = qga_freeze_plan_holder_of_path(self->mounts, d->exe);
		g_autofree gchar *warning = NULL;

		if (holder == NULL || !g_ptr_array_find(self->order, holder, NULL))
			continue;
		warning = g_strdup_printf("FUSE daemon '%s' (pid %d) runs '%s' from '%s', which "
					  "is frozen: a write of its there blocks, and the FUSE "
					  "filesystems ('%s') hang with it",
					  d->comm, d->pid, d->exe, holder->mountpoint, list);
		qga_freeze_plan_add_warning(self, warning);
	}
}

static JsonObject *
qga_freeze_plan_mount_to_json(const QgaMount *mount)
{
	JsonObject *object = json_object_new();
	g_autofree gchar *device =
		g_strdup_printf("%u:%u", major(mount->devnum), minor(mount->devnum));

	json_object_set_string_member(object, "mountpoint", mount->mountpoint);
	json_object_set_string_member(object, "fstype", mount->fstype);
	json_object_set_string_member(object, "source", mount->source);
	json_object_set_string_member(object, "device", device);
	return object;
}

/* why @mount is not in the order: its "reason", "detail", "same-as", "frozen-by" */
static JsonObject *
qga_freeze_plan_skip_to_json(QgaFreezePlan *self, const QgaMount *mount)
{
	JsonObject *object = qga_freeze_plan_mount_to_json(mount);
	const QgaMount *first = NULL;
	const gchar *who = g_hash_table_lookup(self->frozen, mount);
	const gchar *reason;
	g_autofree gchar *detail = NULL;

	if (major(mount->devnum) == 0) {
		reason = "no-block-device";
		detail = g_strdup_printf("%s: no block device (pseudo, network or FUSE)",
					 mount->fstype);
	} else if (!mount->freezable) {
		first = qga_mount_list_find_freezable(self->mounts, mount->devnum);
		reason = "duplicate";
		detail = g_strdup_printf("a bind mount or repeat of '%s': FIFREEZE acts on the "
					 "filesystem, frozen %s",
					 first->mountpoint,
					 g_ptr_array_find(self->order, first, NULL)
						 ? "there"
						 : "only if that one is");
	} else if (who != NULL) {
		reason = "already-frozen";
		detail = g_strdup_printf("frozen already by %s", who);
	} else {
		reason = "not-selected";
		detail = g_strdup("not among the mount points asked for");
	}
	json_object_set_string_member(object, "reason", reason);
	json_object_set_string_member(object, "detail", detail);
	if (first != NULL)
		json_object_set_string_member(object, "same-as", first->mountpoint);
	else
		json_object_set_null_member(object, "same-as");
	if (who != NULL)
		json_object_set_string_member(object, "frozen-by", who);
	else
		json_object_set_null_member(object, "frozen-by");
	return object;
}

/* the dependencies that bear on this freeze; one whose image's
 * filesystem is frozen while the loop's is not gets a warning */
static JsonArray *
qga_freeze_plan_deps_to_json(QgaFreezePlan *self)
{
	JsonArray *array = json_array_new();

	for (guint i = 0; i < self->deps->len; i++) {
		const QgaFreezePlanDep *dep = g_ptr_array_index(self->deps, i);
		gboolean mount_frozen = g_ptr_array_find(self->order, dep->mount, NULL);
		gboolean holder_frozen = g_ptr_array_find(self->order, dep->holder, NULL);
		JsonObject *object;

		if (holder_frozen && !mount_frozen &&
		    !g_hash_table_contains(self->frozen, dep->mount)) {
			g_autofree gchar *warning = g_strdup_printf(
				"'%s' is on a loop device whose image '%s' is on '%s', which is "
				"frozen while '%s' is not: its writes will block",
				dep->mount->mountpoint, dep->backing_file, dep->holder->mountpoint,
				dep->mount->mountpoint);
			qga_freeze_plan_add_warning(self, warning);
		}
		if (!mount_frozen || !holder_frozen)
			continue;
		object = json_object_new();
		json_object_set_string_member(object, "mountpoint", dep->mount->mountpoint);
		json_object_set_string_member(object, "before", dep->holder->mountpoint);
		json_object_set_string_member(object, "backing-file", dep->backing_file);
		json_array_add_object_element(array, object);
	}
	return array;
}

JsonNode *
qga_freeze_plan_to_json(QgaFreezePlan *self)
{
	JsonObject *object = json_object_new();
	JsonArray *freeze = json_array_new();
	JsonArray *skip = json_array_new();
	JsonArray *frozen_by = json_array_new();
	JsonArray *warnings = json_array_new();

	for (guint i = 0; i < self->order->len; i++)
		json_array_add_object_element(
			freeze, qga_freeze_plan_mount_to_json(g_ptr_array_index(self->order, i)));
	for (guint i = 0; i < self->mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(self->mounts, i);

		if (!g_ptr_array_find(self->order, m, NULL))
			json_array_add_object_element(skip, qga_freeze_plan_skip_to_json(self, m));
	}
	json_object_set_array_member(object, "freeze", freeze);
	json_object_set_array_member(object, "skip", skip);
	/* before the warnings: it adds some */
	json_object_set_array_member(object, "dependencies", qga_freeze_plan_deps_to_json(self));
	if (self->hook != NULL) {
		JsonObject *hook = json_object_new();

		json_object_set_string_member(hook, "path", self->hook);
		json_object_set_boolean_member(hook, "executable", self->hook_executable);
		json_object_set_object_member(object, "hook", hook);
	} else {
		json_object_set_null_member(object, "hook");
	}
	for (guint i = 0; i < self->frozen_by->len; i++)
		json_array_add_object_element(
			frozen_by, json_object_ref(g_ptr_array_index(self->frozen_by, i)));
	json_object_set_array_member(object, "frozen-by", frozen_by);
	for (guint i = 0; i < self->warnings->len; i++)
		json_array_add_string_element(warnings, g_ptr_array_index(self->warnings, i));
	json_object_set_array_member(object, "warnings", warnings);
	return json_node_init_object(json_node_alloc(), object);
}

/* SYS/dev/block/MAJ:MIN[/..]/loop/backing_file, or NULL */
static gchar *
qga_freeze_plan_read_backing_file(const gchar *sys, dev_t devnum)
{
	g_autofree gchar *dev = g_strdup_printf("%u:%u", major(devnum), minor(devnum));
	const gchar *const tails[] = {"loop", "../loop"};

	for (guint i = 0; i < G_N_ELEMENTS(tails); i++) {
		g_autofree gchar *path =
			g_build_filename(sys, "dev", "block", dev, tails[i], "backing_file", NULL);
		g_autofree gchar *contents = NULL;

		if (!g_file_get_contents(path, &contents, NULL, NULL))
			continue;
		g_strchomp(contents);
		if (g_str_has_suffix(contents, " (deleted)"))
			contents[strlen(contents) - strlen(" (deleted)")] = '\0';
		return contents[0] == '/' ? g_steal_pointer(&contents) : NULL;
	}
	return NULL;
}

GHashTable *
qga_freeze_plan_read_backing_files(const gchar *sys, QgaMountList *mounts)
{
	GHashTable *files = g_hash_table_new_full(NULL, NULL, NULL, g_free);

	for (guint i = 0; i < mounts->len; i++) {
		const QgaMount *m = g_ptr_array_index(mounts, i);
		gchar *file;

		if (!m->freezable ||
		    (major(m->devnum) != LOOP_MAJOR && major(m->devnum) != BLOCK_EXT_MAJOR))
			continue;
		file = qga_freeze_plan_read_backing_file(sys, m->devnum);
		if (file != NULL)
			g_hash_table_insert(files, GSIZE_TO_POINTER((gsize)m->devnum), file);
	}
	return files;
}

/* PROC/PID/fd holds /dev/fuse */
static gboolean
qga_freeze_plan_holds_fuse(const gchar *proc, const gchar *pid)
{
	g_autofree gchar *fd_dir = g_build_filename(proc, pid, "fd", NULL);
	g_autoptr(GDir) dir = g_dir_open(fd_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *link = g_build_filename(fd_dir, name, NULL);
		g_autofree gchar *target = g_file_read_link(link, NULL);

		if (g_strcmp0(target, "/dev/fuse") == 0)
			return TRUE;
	}
	return FALSE;
}

GPtrArray *
qga_freeze_plan_read_fuse_daemons(const gchar *proc)
{
	GPtrArray *daemons =
		g_ptr_array_new_with_free_func((GDestroyNotify)qga_freeze_plan_fuse_daemon_free);
	g_autoptr(GDir) dir = g_dir_open(proc, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL &&
	       daemons->len < QGA_FREEZE_PLAN_FUSE_DAEMONS_MAX) {
		g_autofree gchar *exe_link = NULL;
		g_autofree gchar *comm_path = NULL;
		g_autofree gchar *exe = NULL;
		g_autofree gchar *comm = NULL;
		guint64 pid;
		QgaFreezePlanFuseDaemon *d;

		if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT, &pid, NULL) ||
		    !qga_freeze_plan_holds_fuse(proc, name))
			continue;
		exe_link = g_build_filename(proc, name, "exe", NULL);
		exe = g_file_read_link(exe_link, NULL);
		if (exe == NULL)
			continue;
		comm_path = g_build_filename(proc, name, "comm", NULL);
		if (!g_file_get_contents(comm_path, &comm, NULL, NULL))
			comm = g_strdup("?");
		d = g_new0(QgaFreezePlanFuseDaemon, 1);
		d->pid = (gint)pid;
		d->comm = g_strdup(g_strchomp(comm));
		d->exe = g_steal_pointer(&exe);
		g_ptr_array_add(daemons, d);
	}
	return daemons;
}
