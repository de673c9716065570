/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-freeze-plan.h"
#include "trace-fixture.h"

/* the loop-on-data layout: an image on /mnt/data looped and mounted at
 * /mnt/loop, /mnt/data bound at /mnt/bind */
static const gchar loop_on_data[] = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
				    "2 1 0:5 / /proc rw - proc proc rw\n"
				    "3 1 254:16 / /mnt/data rw - ext4 /dev/vdb rw\n"
				    "4 1 254:16 / /mnt/bind rw - ext4 /dev/vdb rw\n"
				    "5 1 7:0 / /mnt/loop rw - ext2 /dev/loop0 rw\n";

/* loop device @minor's image is @file */
static GHashTable *
backing_new(guint minor, const gchar *file, guint minor2, const gchar *file2)
{
	GHashTable *files = g_hash_table_new_full(NULL, NULL, NULL, g_free);

	g_hash_table_insert(files, GSIZE_TO_POINTER((gsize)makedev(7, minor)), g_strdup(file));
	if (file2 != NULL)
		g_hash_table_insert(files, GSIZE_TO_POINTER((gsize)makedev(7, minor2)),
				    g_strdup(file2));
	return files;
}

static QgaFreezePlan *
plan_new(QgaMountList *mounts, gchar *const *wanted, GHashTable *backing)
{
	g_autoptr(GError) error = NULL;
	QgaFreezePlan *plan = qga_freeze_plan_new(mounts, wanted, backing, &error);

	assert_null(error);
	assert_non_null(plan);
	return plan;
}

/* the order as "a b c" */
static gchar *
order_text(QgaFreezePlan *plan)
{
	g_auto(GStrv) names = qga_mount_list_dup_mountpoints(qga_freeze_plan_get_order(plan));

	return g_strjoinv(" ", names);
}

/* the "skip" entry of @mountpoint in @plan's JSON */
static JsonObject *
find_skip(JsonNode *plan, const gchar *mountpoint)
{
	JsonArray *skip = json_object_get_array_member(json_node_get_object(plan), "skip");

	for (guint i = 0; i < json_array_get_length(skip); i++) {
		JsonObject *entry = json_array_get_object_element(skip, i);

		if (g_strcmp0(json_object_get_string_member(entry, "mountpoint"), mountpoint) == 0)
			return entry;
	}
	fail_msg("'%s' is not skipped", mountpoint);
	return NULL;
}

static guint
count_warnings(JsonNode *plan, const gchar *needle)
{
	JsonArray *warnings = json_object_get_array_member(json_node_get_object(plan), "warnings");
	guint n = 0;

	for (guint i = 0; i < json_array_get_length(warnings); i++)
		n += strstr(json_array_get_string_element(warnings, i), needle) != NULL;
	return n;
}

static void
test_qga_freeze_plan_loop_on_data(void **state)
{
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(loop_on_data);
	g_autoptr(GHashTable) backing = backing_new(0, "/mnt/data/disk.img", 0, NULL);
	g_autoptr(QgaFreezePlan) plan = plan_new(mounts, NULL, backing);
	g_autofree gchar *order = order_text(plan);
	g_autoptr(JsonNode) json = qga_freeze_plan_to_json(plan);
	JsonObject *object = json_node_get_object(json);
	JsonArray *deps = json_object_get_array_member(object, "dependencies");
	JsonObject *bind = find_skip(json, "/mnt/bind");
	JsonObject *dep;

	assert_string_equal(order, "/mnt/loop /mnt/data /");
	assert_string_equal(json_object_get_string_member(bind, "reason"), "duplicate");
	assert_string_equal(json_object_get_string_member(bind, "same-as"), "/mnt/data");
	assert_string_equal(json_object_get_string_member(find_skip(json, "/proc"), "reason"),
			    "no-block-device");
	assert_int_equal(json_array_get_length(deps), 1);
	dep = json_array_get_object_element(deps, 0);
	assert_string_equal(json_object_get_string_member(dep, "mountpoint"), "/mnt/loop");
	assert_string_equal(json_object_get_string_member(dep, "before"), "/mnt/data");
	assert_string_equal(json_object_get_string_member(dep, "backing-file"),
			    "/mnt/data/disk.img");
	assert_true(json_object_get_null_member(object, "hook"));
	assert_int_equal(json_array_get_length(json_object_get_array_member(object, "warnings")),
			 0);
}

/* the image's filesystem mounted again after the loop, its first mount
 * gone: reverse mount order froze it first, and the loop's freeze then
 * synced into a frozen image for ever */
static void
test_qga_freeze_plan_loop_mounted_first(void **state)
{
	const gchar *table = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
			     "5 1 7:0 / /mnt/loop rw - ext2 /dev/loop0 rw\n"
			     "6 1 254:16 / /mnt/data rw - ext4 /dev/vdb rw\n";
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(table);
	g_autoptr(GHashTable) backing = backing_new(0, "/mnt/data/disk.img", 0, NULL);
	g_autoptr(QgaFreezePlan) plan = plan_new(mounts, NULL, backing);
	g_autofree gchar *order = order_text(plan);

	assert_string_equal(order, "/mnt/loop /mnt/data /");
}

/* a loop in an image on a loop filesystem: the innermost first */
static void
test_qga_freeze_plan_nested_loops(void **state)
{
	const gchar *table = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
			     "3 1 254:16 / /mnt/data rw - ext4 /dev/vdb rw\n"
			     "7 1 7:1 / /mnt/inner rw - ext2 /dev/loop1 rw\n"
			     "8 1 7:0 / /mnt/outer rw - ext2 /dev/loop0 rw\n";
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(table);
	g_autoptr(GHashTable) backing =
		backing_new(0, "/mnt/data/outer.img", 1, "/mnt/outer/inner.img");
	g_autoptr(QgaFreezePlan) plan = plan_new(mounts, NULL, backing);
	g_autofree gchar *order = order_text(plan);

	assert_string_equal(order, "/mnt/inner /mnt/outer /mnt/data /");
}

/* only the image's filesystem asked for: the loop is not frozen, and its
 * writes will block on the frozen image, which the plan says */
static void
test_qga_freeze_plan_selection(void **state)
{
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(loop_on_data);
	g_autoptr(GHashTable) backing = backing_new(0, "/mnt/data/disk.img", 0, NULL);
	gchar *wanted[] = {"/mnt/bind/", NULL};
	g_autoptr(QgaFreezePlan) plan = plan_new(mounts, wanted, backing);
	g_autofree gchar *order = order_text(plan);
	g_autoptr(JsonNode) json = qga_freeze_plan_to_json(plan);

	/* a bind mount names its filesystem */
	assert_string_equal(order, "/mnt/data");
	assert_string_equal(json_object_get_string_member(find_skip(json, "/mnt/loop"), "reason"),
			    "not-selected");
	assert_string_equal(json_object_get_string_member(find_skip(json, "/"), "reason"),
			    "not-selected");
	assert_int_equal(count_warnings(json, "'/mnt/loop' is on a loop device"), 1);
}

static void
test_qga_freeze_plan_unknown_mount(void **state)
{
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(loop_on_data);
	gchar *wanted[] = {"/mnt/none", NULL};
	gchar *pseudo[] = {"/proc", NULL};
	g_autoptr(GError) error = NULL;

	assert_null(qga_freeze_plan_new(mounts, wanted, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_null(qga_freeze_plan_new(mounts, pseudo, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
}

static void
test_qga_freeze_plan_frozen_and_hook(void **state)
{
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(loop_on_data);
	g_autoptr(QgaFreezePlan) plan = plan_new(mounts, NULL, NULL);
	gchar *frozen[] = {"pid=1", "/mnt/data", NULL};
	g_autofree gchar *order = NULL;
	g_autoptr(JsonNode) json = NULL;
	JsonObject *data;
	JsonObject *hook;

	qga_freeze_plan_set_frozen(plan, frozen, "qgatrace-agent");
	qga_freeze_plan_add_frozen_by(plan, "qemu-ga", "/run/qga.state.isfrozen");
	qga_freeze_plan_set_hook(plan, "/etc/qemu/fsfreeze-hook", FALSE);
	order = order_text(plan);
	json = qga_freeze_plan_to_json(plan);
	data = find_skip(json, "/mnt/data");
	hook = json_object_get_object_member(json_node_get_object(json), "hook");
	/* without the image's path the loop goes by mount order */
	assert_string_equal(order, "/mnt/loop /");
	assert_string_equal(json_object_get_string_member(data, "reason"), "already-frozen");
	assert_string_equal(json_object_get_string_member(data, "frozen-by"), "qgatrace-agent");
	assert_string_equal(json_object_get_string_member(hook, "path"), "/etc/qemu/fsfreeze-hook");
	assert_false(json_object_get_boolean_member(hook, "executable"));
	assert_int_equal(count_warnings(json, "not executable"), 1);
	assert_int_equal(count_warnings(json, "qemu-ga has frozen filesystems"), 1);
}

static void
test_qga_freeze_plan_fuse_daemon(void **state)
{
	const gchar *table = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
			     "3 1 254:16 / /mnt/data rw - ext4 /dev/vdb rw\n"
			     "9 1 0:50 / /mnt/remote rw - fuse.sshfs host:/ rw\n";
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(table);
	gchar *only_data[] = {"/mnt/data", NULL};
	g_autoptr(QgaFreezePlan) all = plan_new(mounts, NULL, NULL);
	g_autoptr(QgaFreezePlan) data = plan_new(mounts, only_data, NULL);
	g_autoptr(GPtrArray) daemons = g_ptr_array_new();
	QgaFreezePlanFuseDaemon sshfs = {812, "sshfs", "/usr/bin/sshfs"};
	g_autoptr(JsonNode) all_json = NULL;
	g_autoptr(JsonNode) data_json = NULL;

	assert_true(qga_freeze_plan_has_fuse(mounts));
	g_ptr_array_add(daemons, &sshfs);
	qga_freeze_plan_check_fuse(all, daemons);
	qga_freeze_plan_check_fuse(data, daemons);
	all_json = qga_freeze_plan_to_json(all);
	data_json = qga_freeze_plan_to_json(data);
	assert_int_equal(count_warnings(all_json, "FUSE daemon 'sshfs' (pid 812)"), 1);
	/* its program is on /, which this freeze leaves alone */
	assert_int_equal(count_warnings(data_json, "FUSE daemon"), 0);
}

static void
test_qga_freeze_plan_read_backing_files(void **state)
{
	g_autofree gchar *sys = g_dir_make_tmp("qgatrace-plan-sys-XXXXXX", NULL);
	g_autofree gchar *loop = g_build_filename(sys, "dev", "block", "7:0", "loop", NULL);
	g_autofree gchar *file = g_build_filename(loop, "backing_file", NULL);
	g_autoptr(QgaMountList) mounts = qga_mount_list_parse(loop_on_data);
	g_autoptr(GHashTable) files = NULL;

	assert_int_equal(g_mkdir_with_parents(loop, 0700), 0);
	assert_true(g_file_set_contents(file, "/mnt/data/disk.img (deleted)\n", -1, NULL));
	files = qga_freeze_plan_read_backing_files(sys, mounts);
	assert_int_equal(g_hash_table_size(files), 1);
	assert_string_equal(g_hash_table_lookup(files, GSIZE_TO_POINTER((gsize)makedev(7, 0))),
			    "/mnt/data/disk.img");
	trace_fixture_remove_tree(sys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_freeze_plan_loop_on_data),
		cmocka_unit_test(test_qga_freeze_plan_loop_mounted_first),
		cmocka_unit_test(test_qga_freeze_plan_nested_loops),
		cmocka_unit_test(test_qga_freeze_plan_selection),
		cmocka_unit_test(test_qga_freeze_plan_unknown_mount),
		cmocka_unit_test(test_qga_freeze_plan_frozen_and_hook),
		cmocka_unit_test(test_qga_freeze_plan_fuse_daemon),
		cmocka_unit_test(test_qga_freeze_plan_read_backing_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
