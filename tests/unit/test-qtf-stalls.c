/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qtf.h"

/*
 * Stall matching on hand-made logs shaped like a 6.1 guest's records:
 * superblocks from kmalloc-2k, the write-freeze semaphore at +0x278.
 */
#define SB_DATA		  0xffff89e0c2674000ull
#define SB_OTHER	  0xffff89e0c2674800ull /* the next object in the slab */
#define SEM(sb)		  ((sb) + 0x278)
#define DEV(major, minor) (((guint32)(major) << 20) | (minor))
#define S(x)		  ((guint64)(x)*1000000000ull)

static const QtfMount mounts[] = {
	{"/mnt/data", "ext4", 254, 0},
	{"/", "ext4", 254, 1},
};

static QtfStalls *
match(QtfStallLog *log)
{
	return qtf_stalls_match(log, mounts, G_N_ELEMENTS(mounts));
}

static const QtfStall *
stall(QtfStalls *stalls, guint i)
{
	assert_true(i < stalls->len);
	return g_ptr_array_index(stalls, i);
}

static void
test_qtf_stalls_wait_then_acquired(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = NULL;

	log->end_ns = S(20);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_DATA, DEV(254, 0));
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(11), 812, "postgres", SEM(SB_DATA), 0);
	/* a slow-path acquisition that never waited: no stall */
	qtf_stall_log_add(log, QTF_STALL_RECORD_ACQUIRED, S(11), 900, NULL, 0, 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_ACQUIRED, S(13) + 900, 812, NULL, 0, 0);
	stalls = match(log);
	assert_int_equal(stalls->len, 1);
	assert_int_equal(stall(stalls, 0)->pid, 812);
	assert_string_equal(stall(stalls, 0)->comm, "postgres");
	assert_string_equal(stall(stalls, 0)->mountpoint, "/mnt/data");
	assert_int_equal(stall(stalls, 0)->first_blocked_ns, S(11));
	assert_int_equal(stall(stalls, 0)->blocked_ns, S(2) + 900);
}

/* still waiting at the end of the log: counted up to it */
static void
test_qtf_stalls_still_blocked(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = NULL;

	log->end_ns = S(15);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_DATA, DEV(254, 0));
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(12), 7, "cp", SEM(SB_DATA), 0);
	stalls = match(log);
	assert_int_equal(stalls->len, 1);
	assert_int_equal(stall(stalls, 0)->blocked_ns, S(3));
}

/* the nearest frozen superblock below the semaphore, within a superblock */
static void
test_qtf_stalls_nearest_superblock(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = NULL;

	log->end_ns = S(30);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_DATA, DEV(254, 0));
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_OTHER, DEV(254, 1));
	/* in the second superblock, above the first too */
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(11), 1, "a", SEM(SB_OTHER), 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(12), 2, "b", SEM(SB_DATA), 0);
	/* below every superblock, and far above: another rwsem */
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(12), 3, "c", SB_DATA - 8, 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(12), 4, "d",
			  SB_OTHER + QTF_STALL_SUPER_BLOCK_MAX, 0);
	stalls = match(log);
	assert_int_equal(stalls->len, 2);
	/* longest first */
	assert_int_equal(stall(stalls, 0)->pid, 1);
	assert_string_equal(stall(stalls, 0)->mountpoint, "/");
	assert_int_equal(stall(stalls, 1)->pid, 2);
	assert_string_equal(stall(stalls, 1)->mountpoint, "/mnt/data");
}

/* a superblock frozen by someone else, of no mount of the session: ignored */
static void
test_qtf_stalls_foreign_superblock(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = NULL;

	log->end_ns = S(30);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_DATA, DEV(8, 16));
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(11), 1, "a", SEM(SB_DATA), 0);
	stalls = match(log);
	assert_int_equal(stalls->len, 0);
}

/* a task blocked twice on the same mount: one entry, both waits */
static void
test_qtf_stalls_waits_added(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = NULL;
	g_autoptr(JsonNode) json = NULL;
	g_autofree gchar *text = NULL;

	log->end_ns = S(30);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, S(10), 50, NULL, SB_DATA, DEV(254, 0));
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(11), 5, "w", SEM(SB_DATA), 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_ACQUIRED, S(12), 5, NULL, 0, 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, S(14), 5, "w", SEM(SB_DATA) + 8, 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_ACQUIRED, S(17), 5, NULL, 0, 0);
	stalls = match(log);
	assert_int_equal(stalls->len, 1);
	assert_int_equal(stall(stalls, 0)->first_blocked_ns, S(11));
	assert_int_equal(stall(stalls, 0)->blocked_ns, S(4));
	json = qtf_stalls_to_json(stalls);
	text = json_to_string(json, FALSE);
	assert_string_equal(text, "[{\"pid\":5,\"comm\":\"w\",\"mountpoint\":\"/mnt/data\","
				  "\"first-blocked-ns\":11000000000,\"blocked-ns\":4000000000}]");
}

/* no log entries at all, and a log that lost records, keep their flag */
static void
test_qtf_stalls_empty(void **state)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(QtfStalls) stalls = match(log);
	g_autoptr(JsonNode) json = qtf_stalls_to_json(stalls);
	g_autofree gchar *text = json_to_string(json, FALSE);

	assert_true(log->complete);
	assert_string_equal(text, "[]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qtf_stalls_wait_then_acquired),
		cmocka_unit_test(test_qtf_stalls_still_blocked),
		cmocka_unit_test(test_qtf_stalls_nearest_superblock),
		cmocka_unit_test(test_qtf_stalls_foreign_superblock),
		cmocka_unit_test(test_qtf_stalls_waits_added),
		cmocka_unit_test(test_qtf_stalls_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
