/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A crashed guest's kernel log saved to files (host-client/client-panic.c):
 * names safe whatever the domain is called, both files whole or absent,
 * nothing replaced, sizes bounded. The capture from a real crashed domain
 * is tests/vm/test-vm-panic.c. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "client-panic.h"

static GDateTime *
fixed_time(void)
{
	return g_date_time_new_utc(2026, 12, 7, 2, 45, 16.123);
}

static void
assert_safe_base(const gchar *base)
{
	assert_non_null(base);
	assert_true(base[0] != '.' && base[0] != '-');
	for (const gchar *p = base; *p != '\0'; p++)
		assert_true(g_ascii_isalnum(*p) || strchr("._+-", *p) != NULL);
	/* the name part, a hash, the time */
	assert_true(strlen(base) <= CLIENT_PANIC_MAX_NAME + 9 + 21);
	assert_true(g_str_has_suffix(base, "-20261207T024516.123Z"));
}

static void
test_client_panic_file_base(void **state)
{
	g_autoptr(GDateTime) when = fixed_time();
	g_autoptr(GTimeZone) cet = g_time_zone_new_offset(3600);
	g_autoptr(GDateTime) local = g_date_time_new(cet, 2026, 12, 7, 3, 45, 16.123);
	const gchar *hostile[] = {
		"../../etc/passwd", "..",	   ".",	       ".hidden", "-rf",      "a b", "a_b",
		"\x1b]0;x\a\n",	    "caf\xc3\xa9", "\xff\xfe", "a/b",	  "x\\y:z*?",
	};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree gchar *plain = client_panic_file_base("web-01.prod", when);
	g_autofree gchar *in_cet = client_panic_file_base("web-01.prod", local);
	g_autofree gchar *none = client_panic_file_base(NULL, when);
	g_autofree gchar *empty = client_panic_file_base("", when);
	g_autofree gchar *longer = g_strnfill(300, 'v');
	g_autofree gchar *long_base = client_panic_file_base(longer, when);

	(void)state;
	/* a name that is safe as it is stays as it is */
	assert_string_equal(plain, "web-01.prod-20261207T024516.123Z");
	/* the time is UTC whatever zone it came in */
	assert_string_equal(in_cet, plain);
	assert_string_equal(none, "guest-20261207T024516.123Z");
	assert_string_equal(empty, none);
	assert_safe_base(long_base);
	assert_true(g_str_has_prefix(long_base, "vvvvvvvv"));
	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		gchar *base = client_panic_file_base(hostile[i], when);

		assert_safe_base(base);
		/* two domains never share a name */
		assert_false(g_hash_table_contains(seen, base));
		g_hash_table_add(seen, base);
	}
}

/* a guest-dmesg reply as gmem_dmesg_read_from_dump() gives it: @n records
 * of @size bytes of text after their number, the last one the panic */
static JsonObject *
make_reply(guint n, gsize size)
{
	JsonObject *reply = json_object_new();
	JsonObject *memory = json_object_new();
	JsonArray *records = json_array_new();
	g_autofree gchar *filler = g_strnfill(size, 'x');

	for (guint i = 0; i < n; i++) {
		JsonObject *record = json_object_new();
		g_autofree gchar *message =
			i + 1 == n ? g_strdup("Kernel panic - not syncing: sysrq triggered crash")
				   : g_strdup_printf("record %u %s", i, filler);

		json_object_set_int_member(record, "seq", 100 + i);
		json_object_set_int_member(record, "ts-us", 1000000 + i);
		json_object_set_int_member(record, "level", i + 1 == n ? 0 : 6);
		json_object_set_int_member(record, "facility", 0);
		json_object_set_string_member(record, "message", message);
		json_array_add_object_element(records, record);
	}
	if (n > 1) {
		/* the guest's own bytes, kmsg-escaped: a terminal escape, a dictionary */
		JsonObject *record = json_array_get_object_element(records, 0);
		JsonObject *dict = json_object_new();

		json_object_set_string_member(record, "message", "evil \\x1b]0;owned\\x07 title");
		json_object_set_boolean_member(record, "continuation", TRUE);
		json_object_set_string_member(dict, "SUBSYSTEM", "pci");
		json_object_set_object_member(record, "dictionary", dict);
	}
	json_object_set_string_member(reply, "source", "memory");
	json_object_set_string_member(reply, "encoding", "kmsg-escaped");
	json_object_set_boolean_member(reply, "seq-synthesized", FALSE);
	json_object_set_int_member(reply, "first-seq", 100);
	json_object_set_int_member(reply, "next-seq", 100 + n - 1);
	json_object_set_int_member(reply, "missed", 0);
	json_object_set_boolean_member(reply, "truncated", FALSE);
	json_object_set_array_member(reply, "records", records);
	json_object_set_string_member(memory, "osrelease", "6.1.0-57-cloud-amd64");
	json_object_set_object_member(reply, "memory", memory);
	return reply;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* the names in @dir, sorted, as one string */
static gchar *
list_dir(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	assert_non_null(d);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (gchar **)names->pdata);
}

static void
remove_tree(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			remove_tree(path);
		else
			g_unlink(path);
	}
	g_rmdir(dir);
}

static JsonObject *
load_object(const gchar *path)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	assert_true(json_parser_load_from_file(parser, path, &error));
	assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_object_ref(json_node_get_object(json_parser_get_root(parser)));
}

static void
test_client_panic_save(void **state)
{
	g_autofree gchar *tmp = g_dir_make_tmp("qgatrace-panic-XXXXXX", NULL);
	/* made when missing */
	g_autofree gchar *dir = g_build_filename(tmp, "panics", "new", NULL);
	g_autoptr(GDateTime) when = fixed_time();
	g_autoptr(JsonObject) reply = make_reply(3, 10);
	g_autoptr(JsonObject) extra = json_object_new();
	g_autoptr(JsonObject) saved = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log_path = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *names = NULL;
	g_auto(GStrv) parts = NULL;
	g_autofree gchar *json_path = NULL;
	JsonArray *records;
	JsonObject *capture;
	struct stat st;

	(void)state;
	json_object_set_string_member(extra, "state-before", "crashed");
	assert_true(client_panic_save(dir, "vm\x1b[2J1", when, reply, extra, &log_path, &error));
	assert_null(error);
	names = list_dir(dir);
	parts = g_strsplit(names, " ", -1);
	/* nothing temporary left; the ESC made '_' and a hash */
	assert_non_null(g_strrstr(names, ".log"));
	assert_true(g_str_has_prefix(names, "vm__2J1-"));
	assert_null(strstr(names, ".qgatrace"));
	assert_int_equal(g_strv_length(parts), 2);
	assert_true(g_file_get_contents(log_path, &log, NULL, NULL));
	/* dmesg-style, the guest's control bytes escaped as `qgatrace dmesg` prints them */
	assert_null(strchr(log, '\x1b'));
	assert_null(strchr(log, '\a'));
	assert_non_null(strstr(log, "[    1.000000] evil \\x1b]0;owned\\x07 title\n"));
	assert_non_null(strstr(log, "[    1.000002] Kernel panic - not syncing: sysrq triggered "
				    "crash\n"));
	assert_int_equal(stat(log_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	json_path = g_strdup_printf("%.*s.json", (gint)strlen(log_path) - 4, log_path);
	saved = load_object(json_path);
	assert_string_equal(json_object_get_string_member(saved, "source"), "memory");
	assert_string_equal(json_object_get_string_member(saved, "encoding"), "kmsg-escaped");
	assert_int_equal(json_object_get_int_member(saved, "first-seq"), 100);
	assert_int_equal(json_object_get_int_member(saved, "next-seq"), 102);
	records = json_object_get_array_member(saved, "records");
	assert_int_equal(json_array_get_length(records), 3);
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(records, 0),
							  "message"),
			    "evil \\x1b]0;owned\\x07 title");
	assert_true(json_object_get_boolean_member(json_array_get_object_element(records, 0),
						   "continuation"));
	assert_string_equal(
		json_object_get_string_member(
			json_object_get_object_member(json_array_get_object_element(records, 0),
						      "dictionary"),
			"SUBSYSTEM"),
		"pci");
	assert_int_equal(
		json_object_get_int_member(json_array_get_object_element(records, 2), "level"), 0);
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(saved, "memory"), "osrelease"),
			    "6.1.0-57-cloud-amd64");
	capture = json_object_get_object_member(saved, "capture");
	assert_string_equal(json_object_get_string_member(capture, "domain"), "vm\x1b[2J1");
	assert_string_equal(json_object_get_string_member(capture, "time"),
			    "2026-12-07T02:45:16.123000Z");
	assert_int_equal(json_object_get_int_member(capture, "records-left-out"), 0);
	assert_string_equal(json_object_get_string_member(capture, "state-before"), "crashed");
	remove_tree(tmp);
}

static void
test_client_panic_existing_files(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-panic-XXXXXX", NULL);
	g_autoptr(GDateTime) when = fixed_time();
	g_autoptr(JsonObject) reply = make_reply(2, 10);
	g_autofree gchar *base = client_panic_file_base("vm1", when);
	g_autofree gchar *old_json = g_strdup_printf("%s/%s.json", dir, base);
	g_autofree gchar *old_text = NULL;
	g_autofree gchar *first = NULL;
	g_autofree gchar *second = NULL;
	g_autofree gchar *names = NULL;
	g_autofree gchar *expected = NULL;
	g_autoptr(GError) error = NULL;

	(void)state;
	/* a .json of that name without its .log: neither is taken */
	assert_true(g_file_set_contents(old_json, "old", -1, NULL));
	assert_true(client_panic_save(dir, "vm1", when, reply, NULL, &first, &error));
	assert_null(error);
	assert_true(g_str_has_suffix(first, "/vm1-20261207T024516.123Z-1.log"));
	/* the same second again */
	assert_true(client_panic_save(dir, "vm1", when, reply, NULL, &second, &error));
	assert_null(error);
	assert_true(g_str_has_suffix(second, "/vm1-20261207T024516.123Z-2.log"));
	assert_true(g_file_get_contents(old_json, &old_text, NULL, NULL));
	assert_string_equal(old_text, "old");
	names = list_dir(dir);
	expected = g_strdup_printf("%s-1.json %s-1.log %s-2.json %s-2.log %s.json", base, base,
				   base, base, base);
	assert_string_equal(names, expected);
	remove_tree(dir);
}

static void
test_client_panic_unwritable(void **state)
{
	g_autofree gchar *tmp = g_dir_make_tmp("qgatrace-panic-XXXXXX", NULL);
	g_autofree gchar *file = g_build_filename(tmp, "a-file", NULL);
	g_autofree gchar *under_file = g_build_filename(file, "panics", NULL);
	g_autofree gchar *ro = g_build_filename(tmp, "read-only", NULL);
	g_autoptr(GDateTime) when = fixed_time();
	g_autoptr(JsonObject) reply = make_reply(2, 10);
	g_autofree gchar *log_path = NULL;

	(void)state;
	assert_true(g_file_set_contents(file, "", -1, NULL));
	for (guint i = 0; i < 2; i++) {
		g_autoptr(GError) error = NULL;
		const gchar *dir = i == 0 ? file : under_file;

		assert_false(client_panic_save(dir, "vm1", when, reply, NULL, &log_path, &error));
		assert_non_null(error);
		assert_null(log_path);
		assert_non_null(strstr(error->message, dir));
	}
	assert_int_equal(g_mkdir(ro, 0500), 0);
	if (geteuid() == 0) {
		/* root writes there all the same */
		print_message("# read-only directory: not checked as root\n");
	} else {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *names = NULL;

		assert_false(client_panic_save(ro, "vm1", when, reply, NULL, &log_path, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED));
		names = list_dir(ro);
		assert_string_equal(names, "");
	}
	remove_tree(tmp);
}

static void
test_client_panic_bounded(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-panic-XXXXXX", NULL);
	g_autoptr(GDateTime) when = fixed_time();
	/* 24 records of 1 MiB: more than a file takes */
	g_autoptr(JsonObject) reply = make_reply(24, 1024 * 1024);
	g_autoptr(JsonObject) saved = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *log_path = NULL;
	g_autofree gchar *json_path = NULL;
	g_autofree gchar *log = NULL;
	g_auto(GStrv) lines = NULL;
	gsize log_len = 0;
	JsonArray *records;
	guint kept;
	struct stat st;

	(void)state;
	assert_true(client_panic_save(dir, "big", when, reply, NULL, &log_path, &error));
	assert_null(error);
	json_path = g_strdup_printf("%.*s.json", (gint)strlen(log_path) - 4, log_path);
	assert_true(g_file_get_contents(log_path, &log, &log_len, NULL));
	assert_true(log_len <= CLIENT_PANIC_MAX_FILE_BYTES);
	assert_int_equal(stat(json_path, &st), 0);
	assert_true((gsize)st.st_size <= CLIENT_PANIC_MAX_FILE_BYTES);
	saved = load_object(json_path);
	records = json_object_get_array_member(saved, "records");
	kept = json_array_get_length(records);
	assert_true(kept > 1 && kept < 24);
	assert_int_equal(json_object_get_int_member(json_object_get_object_member(saved, "capture"),
						    "records-left-out"),
			 24 - kept);
	/* the newest kept, the panic last, in both files */
	assert_int_equal(json_object_get_int_member(json_array_get_object_element(records, 0),
						    "seq"),
			 100 + 24 - kept);
	assert_true(g_str_has_suffix(log, "sysrq triggered crash\n"));
	lines = g_strsplit(log, "\n", -1);
	assert_int_equal(g_strv_length(lines) - 1, kept);
	remove_tree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_panic_file_base),
		cmocka_unit_test(test_client_panic_save),
		cmocka_unit_test(test_client_panic_existing_files),
		cmocka_unit_test(test_client_panic_unwritable),
		cmocka_unit_test(test_client_panic_bounded),
	};

	return cmocka_run_group_tests_name("client-panic", tests, NULL, NULL);
}
