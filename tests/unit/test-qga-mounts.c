/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-mounts.h"

#define MOUNTINFO FIXTURES_DIR "/guest/root/proc/self/mountinfo"
#define ROOT	  "/qgatrace-fixture"

static QgaMountList *
read_fixture(void)
{
	g_autoptr(GError) error = NULL;
	QgaMountList *mounts = qga_mount_list_read(MOUNTINFO, &error);

	assert_null(error);
	assert_non_null(mounts);
	return mounts;
}

static QgaMount *
mount_at(QgaMountList *mounts, guint i)
{
	return g_ptr_array_index(mounts, i);
}

static void
test_qga_mounts_parse_fields(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	QgaMount *data = mount_at(mounts, 3);

	/* the garbage line is skipped, every mount is kept in order */
	assert_int_equal(mounts->len, 10);
	assert_string_equal(data->mountpoint, ROOT "/mnt/data");
	assert_string_equal(data->fstype, "xfs");
	assert_string_equal(data->source, "/dev/vdb");
	assert_int_equal(major(data->devnum), 254);
	assert_int_equal(minor(data->devnum), 16);
	/* \040 is the kernel's escape for a space */
	assert_string_equal(mount_at(mounts, 7)->mountpoint, ROOT "/with space");
}

/* written field by field: every malformed line is skipped, the well-formed
 * ones around it kept, the last even without its newline */
static void
test_qga_mounts_parse_malformed(void **state)
{
	const gchar *table = "20 1 8:1 / /ok rw - ext4 /dev/sda1 rw\n"
			     "21 1 x:1 / /bad-major rw - ext4 /dev/sda2 rw\n"
			     "22 1 8: / /no-minor rw - ext4 /dev/sda2 rw\n"
			     "23 1 :2 / /no-major rw - ext4 /dev/sda2 rw\n"
			     "24 1 8:2:3 / /two-colons rw - ext4 /dev/sda2 rw\n"
			     "25 1 8:99999999999 / /huge rw - ext4 /dev/sda2 rw\n"
			     "26 1 8:2 / /no-dash rw shared:1 ext4 /dev/sda2 rw\n"
			     "27 1 8:2 / /no-source rw - ext4\n"
			     "28 1 8:2\n"
			     "\n"
			     "29 1 8:3 / /opt\\040x rw shared:1 master:2 - xfs /dev/sda3 rw\n"
			     "30 1 8:4 / /last rw - ext4 /dev/sda4 rw";
	g_autofree gchar *path =
		g_build_filename(g_get_tmp_dir(), "qgatrace-mountinfo-XXXXXX", NULL);
	gint fd = g_mkstemp(path);
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaMountList) mounts = NULL;

	assert_true(fd >= 0);
	close(fd);
	assert_true(g_file_set_contents(path, table, -1, NULL));
	mounts = qga_mount_list_read(path, &error);
	g_unlink(path);
	assert_null(error);
	assert_int_equal(mounts->len, 3);
	assert_string_equal(mount_at(mounts, 0)->mountpoint, "/ok");
	assert_string_equal(mount_at(mounts, 1)->mountpoint, "/opt x");
	assert_string_equal(mount_at(mounts, 1)->fstype, "xfs");
	assert_string_equal(mount_at(mounts, 1)->source, "/dev/sda3");
	assert_int_equal(minor(mount_at(mounts, 1)->devnum), 3);
	assert_string_equal(mount_at(mounts, 2)->mountpoint, "/last");
	assert_int_equal(major(mount_at(mounts, 2)->devnum), 8);
}

static void
test_qga_mounts_freezable(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	const gboolean expected[] = {TRUE,  FALSE, FALSE, TRUE, TRUE,
				     FALSE, FALSE, TRUE,  TRUE, FALSE};

	/* proc/tmpfs have no block device; the bind mount of 254:1 repeats
	 * the root's superblock; btrfs whose source is no block device stays
	 * anonymous */
	for (guint i = 0; i < mounts->len; i++)
		assert_int_equal(mount_at(mounts, i)->freezable, expected[i]);
}

static void
test_qga_mounts_select_all(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, NULL, &error);
	g_auto(GStrv) names = NULL;

	assert_non_null(selected);
	names = qga_mount_list_dup_mountpoints(selected);
	assert_int_equal(g_strv_length(names), 5);
	/* mount order: freezing walks it backwards, the loop image first */
	assert_string_equal(names[0], ROOT);
	assert_string_equal(names[1], ROOT "/mnt/data");
	assert_string_equal(names[2], ROOT "/mnt/data/img");
}

static void
test_qga_mounts_select_named(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	g_autoptr(GError) error = NULL;
	gchar *wanted[] = {ROOT "/mnt/data/img/", ROOT "/bind", NULL};
	g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, wanted, &error);

	assert_null(error);
	assert_non_null(selected);
	/* a trailing slash is the same path; a bind mount selects the
	 * superblock's first mount */
	assert_int_equal(selected->len, 2);
	assert_string_equal(mount_at(selected, 0)->mountpoint, ROOT);
	assert_string_equal(mount_at(selected, 1)->mountpoint, ROOT "/mnt/data/img");
}

/* a host's mountpoint only names an entry of the mount table, compared as
 * is: nothing the host sends is resolved, so no path leads elsewhere */
static void
test_qga_mounts_select_rejects_paths(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	const gchar *bad[] = {
		ROOT "/mnt/data/..",
		ROOT "/mnt/nothing/../data",
		ROOT "/./mnt/data",
		ROOT "//mnt/data",
		"qgatrace-fixture/mnt/data",
		"../qgatrace-fixture/mnt/data",
		"",
		ROOT "/mnt/data\n",
		ROOT "/with\\040space",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		gchar *wanted[] = {(gchar *)bad[i], NULL};
		g_autoptr(GError) error = NULL;
		g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, wanted, &error);
		g_autofree gchar *expected =
			g_strdup_printf("'%s' is not a mounted filesystem", bad[i]);

		assert_null(selected);
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
		assert_string_equal(error->message, expected);
	}
}

static void
test_qga_mounts_select_not_mounted(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	g_autoptr(GError) error = NULL;
	gchar *wanted[] = {ROOT "/mnt/data", ROOT "/mnt/nothing", NULL};
	g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, wanted, &error);

	assert_null(selected);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_string_equal(error->message, "'" ROOT "/mnt/nothing' is not a mounted filesystem");
}

static void
test_qga_mounts_select_unfreezable(void **state)
{
	g_autoptr(QgaMountList) mounts = read_fixture();
	g_autoptr(GError) error = NULL;
	/* the tmpfs mounted last over the ext4 is what the path shows */
	gchar *wanted[] = {ROOT "/shadowed", NULL};
	g_autoptr(QgaMountList) selected = qga_mount_list_select(mounts, wanted, &error);

	assert_null(selected);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
	assert_non_null(strstr(error->message, "tmpfs has no block device"));
}

static void
test_qga_mounts_missing_table(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaMountList) mounts =
		qga_mount_list_read(FIXTURES_DIR "/no-such-mountinfo", &error);

	assert_null(mounts);
	assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
	assert_true(g_str_has_prefix(error->message, "reading the mount table: "));
}

static void
test_qga_mounts_freeze_error_names_mount(void **state)
{
	/* a mount point that cannot be opened: the error names it; nothing
	 * on this host is ever frozen by a unit test */
	QgaMount missing = {.mountpoint = (gchar *)ROOT "/gone", .fstype = (gchar *)"ext4"};
	g_autoptr(GError) error = NULL;

	assert_int_equal(qga_mount_freeze(&missing, NULL, &error), -1);
	assert_non_null(strstr(error->message, "'" ROOT "/gone'"));
	assert_false(qga_mount_thaw(&missing, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_mounts_parse_fields),
		cmocka_unit_test(test_qga_mounts_parse_malformed),
		cmocka_unit_test(test_qga_mounts_freezable),
		cmocka_unit_test(test_qga_mounts_select_all),
		cmocka_unit_test(test_qga_mounts_select_named),
		cmocka_unit_test(test_qga_mounts_select_not_mounted),
		cmocka_unit_test(test_qga_mounts_select_rejects_paths),
		cmocka_unit_test(test_qga_mounts_select_unfreezable),
		cmocka_unit_test(test_qga_mounts_missing_table),
		cmocka_unit_test(test_qga_mounts_freeze_error_names_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
