/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Following a guest's kernel log through guest-dmesg's cursor: records
 * counted by level once each, across truncated pages and guest reboots
 * (a new boot-id restarts the cursor without counting twice), and a hostile
 * reply counted not at all. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "client-klog.h"

static JsonNode *
parse(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_from_string(text, &error);

	assert_non_null(node);
	return node;
}

/* a reply with records of @levels (one character each, '0'-'7'), seqs from @first */
static JsonNode *
reply(const gchar *boot_id, gint64 first, const gchar *levels, gint64 next_seq, gboolean truncated)
{
	g_autoptr(GString) text =
		g_string_new("{\"source\":\"kmsg\",\"first-seq\":0,\"missed\":0,");
	g_autoptr(JsonNode) node = NULL;

	g_string_append_printf(text, "\"next-seq\":%" G_GINT64_FORMAT ",\"truncated\":%s,",
			       next_seq, truncated ? "true" : "false");
	if (boot_id != NULL)
		g_string_append_printf(text, "\"boot-id\":\"%s\",", boot_id);
	g_string_append(text, "\"records\":[");
	for (guint i = 0; levels[i] != '\0'; i++)
		g_string_append_printf(text,
				       "%s{\"seq\":%" G_GINT64_FORMAT ",\"ts-us\":1,\"level\":%c,"
				       "\"facility\":0,\"message\":\"m\"}",
				       i > 0 ? "," : "", first + i, levels[i]);
	g_string_append(text, "]}");
	return parse(text->str);
}

static gint64
since_seq(ClientKlog *klog)
{
	g_autoptr(JsonObject) args = client_klog_next_args(klog, 7);

	return json_object_get_int_member(args, "since-seq");
}

static void
apply_ok(ClientKlog *klog, JsonNode *node, gboolean expect_more)
{
	g_autoptr(GError) error = NULL;
	gboolean more = !expect_more;

	assert_true(client_klog_apply(klog, node, &more, &error));
	assert_null(error);
	assert_int_equal(more, expect_more);
	json_node_unref(node);
}

static void
test_client_klog_counts_pages_once(void **state)
{
	g_autoptr(ClientKlog) klog = client_klog_new();

	assert_int_equal(since_seq(klog), -1);
	/* the first page: seqs 0-3, truncated */
	apply_ok(klog, reply("boot-a", 0, "6634", 3, TRUE), TRUE);
	assert_int_equal(since_seq(klog), 3);
	apply_ok(klog, reply("boot-a", 4, "3", 4, FALSE), FALSE);
	assert_int_equal(klog->counts[6], 2);
	assert_int_equal(klog->counts[3], 2);
	assert_int_equal(klog->counts[4], 1);
	assert_int_equal(client_klog_count_upto(klog, 4), 3);
	/* nothing new: the cursor stays, nothing counted */
	apply_ok(klog, reply("boot-a", 5, "", 4, FALSE), FALSE);
	assert_int_equal(client_klog_count_upto(klog, 7), 5);
	/* records skipped by level still move the cursor */
	apply_ok(klog, reply("boot-a", 5, "", 9, FALSE), FALSE);
	assert_int_equal(since_seq(klog), 9);
}

static void
test_client_klog_reboot_continues(void **state)
{
	g_autoptr(ClientKlog) klog = client_klog_new();

	apply_ok(klog, reply("boot-a", 0, "666", 2, FALSE), FALSE);
	apply_ok(klog, reply("boot-a", 3, "4", 3, FALSE), FALSE);
	assert_int_equal(client_klog_count_upto(klog, 7), 4);
	/* the guest rebooted: the reply after since-seq 3 lacks the new boot's
	 * records 0-3, so it counts nothing and the cursor starts over */
	apply_ok(klog, reply("boot-b", 4, "00", 5, FALSE), TRUE);
	assert_int_equal(client_klog_count_upto(klog, 7), 4);
	assert_int_equal(since_seq(klog), -1);
	assert_int_equal(klog->boots, 1);
	/* from the new boot's oldest: every record of it once, added to the old ones */
	apply_ok(klog, reply("boot-b", 0, "666600", 5, FALSE), FALSE);
	assert_int_equal(client_klog_count_upto(klog, 7), 10);
	assert_int_equal(klog->counts[0], 2);
	assert_int_equal(klog->counts[6], 7);
	apply_ok(klog, reply("boot-b", 6, "3", 6, FALSE), FALSE);
	assert_int_equal(client_klog_count_upto(klog, 7), 11);
}

static void
test_client_klog_hostile(void **state)
{
	g_autoptr(ClientKlog) klog = client_klog_new();
	static const gchar *const bad[] = {
		"[]",
		"{\"records\":[]}",
		"{\"next-seq\":\"5\",\"records\":[]}",
		"{\"next-seq\":5,\"records\":{}}",
		"{\"next-seq\":5,\"records\":[{\"seq\":1,\"level\":8}]}",
		"{\"next-seq\":5,\"records\":[{\"seq\":1,\"level\":-1}]}",
		"{\"next-seq\":5,\"records\":[{\"seq\":1,\"level\":\"3\"}]}",
		"{\"next-seq\":5,\"records\":[{\"seq\":2,\"level\":3},{\"seq\":2,\"level\":3}]}",
		"{\"next-seq\":1,\"records\":[{\"seq\":2,\"level\":3}]}",
		"{\"next-seq\":5,\"records\":[7]}",
		"{\"next-seq\":5,\"missed\":-1,\"records\":[]}",
		"{\"next-seq\":5,\"boot-id\":7,\"records\":[]}",
		"{\"next-seq\":-7,\"records\":[]}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = parse(bad[i]);
		gboolean more = TRUE;

		assert_false(client_klog_apply(klog, node, &more, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
		assert_false(more);
		assert_int_equal(client_klog_count_upto(klog, 7), 0);
		assert_int_equal(since_seq(klog), -1);
	}
	/* a record at or before since-seq is not counted again */
	apply_ok(klog, reply("boot-a", 0, "66", 1, FALSE), FALSE);
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = reply("boot-a", 1, "66", 3, FALSE);
		gboolean more = FALSE;

		assert_false(client_klog_apply(klog, node, &more, &error));
		assert_int_equal(client_klog_count_upto(klog, 7), 2);
	}
	/* a cursor that went backwards within a boot is taken over, uncounted */
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) node = reply("boot-a", 0, "", 0, FALSE);
		gboolean more = FALSE;

		assert_false(client_klog_apply(klog, node, &more, &error));
		assert_int_equal(since_seq(klog), 0);
		assert_int_equal(client_klog_count_upto(klog, 7), 2);
	}
	/* a truncated reply that does not move the cursor does not loop */
	apply_ok(klog, reply("boot-a", 1, "", 0, TRUE), FALSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_klog_counts_pages_once),
		cmocka_unit_test(test_client_klog_reboot_continues),
		cmocka_unit_test(test_client_klog_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
