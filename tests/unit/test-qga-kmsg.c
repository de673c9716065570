/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-codec.h"
#include "qga-registry.h"
#include "qga-context.h"
#include "guest-fixture.h"
#include "qga-json.h"
#include "qga-kmsg.h"

#define KMSG_ROOT   FIXTURES_DIR "/kmsg/root"
#define KMSG_DEV    KMSG_ROOT "/dev"
#define KMSG_EDGE   FIXTURES_DIR "/kmsg/edge"
#define KMSG_SYSLOG FIXTURES_DIR "/kmsg/syslog-read-all.bin"

/* the recorded boot: 361 records, seq 0-360 */
#define BOOT_RECORDS 361

static KmsgRecord *
parse_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	KmsgRecord *record = qga_kmsg_record_parse(text, strlen(text), &error);

	if (record == NULL)
		fail_msg("'%s' did not parse: %s", text, error->message);
	return record;
}

static gchar *
to_ascii(JsonObject *object)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);

	return qga_json_to_ascii(node);
}

/* @text parsed: it must be 7-bit ASCII JSON, and json-glib plus the reply
 * encoder must write the same values as the very same text */
static JsonObject *
parse_written(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *again = NULL;
	JsonObject *object;

	for (const gchar *p = text; *p != '\0'; p++)
		assert_true((guchar)*p >= 0x20 && (guchar)*p < 0x7f);
	if (!json_parser_load_from_data(parser, text, -1, &error))
		fail_msg("not JSON: %s: %s", error->message, text);
	assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	object = json_object_ref(json_node_get_object(json_parser_get_root(parser)));
	again = to_ascii(json_object_ref(object));
	assert_string_equal(again, text);
	return object;
}

static JsonObject *
record_json(const KmsgRecord *record)
{
	g_autofree gchar *text = kmsg_record_to_json(record);

	return parse_written(text);
}

/* every record of @reader, the reader's malformed count in @malformed */
static GPtrArray *
read_all(QgaKmsgReader *reader)
{
	GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)kmsg_record_free);
	g_autoptr(GError) error = NULL;
	KmsgRecord *record;

	while ((record = qga_kmsg_reader_next(reader, &error)) != NULL)
		g_ptr_array_add(records, record);
	assert_null(error);
	return records;
}

static KmsgRecord *
find_message(GPtrArray *records, const gchar *prefix)
{
	for (guint i = 0; i < records->len; i++) {
		KmsgRecord *record = g_ptr_array_index(records, i);
		if (g_str_has_prefix(record->message, prefix))
			return record;
	}
	fail_msg("no record starts with '%s'", prefix);
	return NULL;
}

static const gchar *
dict_get(const KmsgRecord *record, const gchar *key)
{
	gsize key_len = strlen(key);

	for (guint i = 0; record->dict != NULL && record->dict[i] != NULL; i++) {
		if (strncmp(record->dict[i], key, key_len) == 0 && record->dict[i][key_len] == '=')
			return record->dict[i] + key_len + 1;
	}
	return NULL;
}

/* ---- the record parser ---- */

static void
test_qga_kmsg_parse_plain(void **state)
{
	g_autoptr(KmsgRecord) r = parse_ok("6,1,0,-;Command line: console=ttyS0 panic=-1\n");
	g_autoptr(KmsgRecord) user = parse_ok("11,350,12872846,-;qgatrace-marker-1\n");
	g_autoptr(KmsgRecord) local7 = parse_ok("190,354,12873497,-;local7 notice");

	assert_int_equal(r->seq, 1);
	assert_int_equal(r->ts_usec, 0);
	assert_int_equal(r->level, 6);
	assert_int_equal(r->facility, 0);
	assert_false(r->continuation);
	assert_string_equal(r->message, "Command line: console=ttyS0 panic=-1");
	assert_null(r->dict);
	/* <3> written to /dev/kmsg: level 3, facility forced to LOG_USER */
	assert_int_equal(user->level, 3);
	assert_int_equal(user->facility, 1);
	assert_int_equal(user->ts_usec, 12872846);
	/* no trailing newline is fine too */
	assert_int_equal(local7->level, 6);
	assert_int_equal(local7->facility, 23);
	assert_string_equal(local7->message, "local7 notice");
}

static void
test_qga_kmsg_parse_dictionary(void **state)
{
	g_autoptr(KmsgRecord) r =
		parse_ok("6,169,829770,-;acpi PNP0A03:00: _OSC: OS supports [ASPM ClockPM]\n"
			 " SUBSYSTEM=acpi\n"
			 " DEVICE=+acpi:PNP0A03:00\n");
	g_autoptr(KmsgRecord) odd = parse_ok("3,105,1500,-;odd dictionary\n"
					     " SUBSYSTEM=block\n"
					     " SUBSYSTEM=other\n"
					     " NOEQUALS\n"
					     " =no key\n"
					     " DEVICE=b254:0\n"
					     " VALUE=with=equals and \x01 raw");
	g_autoptr(JsonObject) json = record_json(odd);
	JsonObject *dict = json_object_get_object_member(json, "dictionary");

	assert_string_equal(r->message, "acpi PNP0A03:00: _OSC: OS supports [ASPM ClockPM]");
	assert_int_equal(g_strv_length(r->dict), 2);
	assert_string_equal(dict_get(r, "SUBSYSTEM"), "acpi");
	assert_string_equal(dict_get(r, "DEVICE"), "+acpi:PNP0A03:00");
	/* the first of a repeated key wins; lines without a key are dropped */
	assert_int_equal(g_strv_length(odd->dict), 3);
	assert_string_equal(dict_get(odd, "SUBSYSTEM"), "block");
	assert_string_equal(dict_get(odd, "DEVICE"), "b254:0");
	assert_string_equal(dict_get(odd, "VALUE"), "with=equals and \\x01 raw");
	assert_int_equal(json_object_get_size(dict), 3);
	assert_string_equal(json_object_get_string_member(dict, "SUBSYSTEM"), "block");
	assert_string_equal(json_object_get_string_member(dict, "VALUE"),
			    "with=equals and \\x01 raw");
}

static void
test_qga_kmsg_parse_continuation(void **state)
{
	g_autoptr(KmsgRecord) start = parse_ok("4,101,1100,c;continuation start\n");
	g_autoptr(KmsgRecord) cont = parse_ok("4,102,1200,+;continued\n");
	g_autoptr(KmsgRecord) plain = parse_ok("4,103,1300,-;plain\n");
	g_autoptr(KmsgRecord) caller = parse_ok("6,104,1400,c,caller=T42;with a caller\n");
	g_autoptr(JsonObject) json_start = record_json(start);
	g_autoptr(JsonObject) json_plain = record_json(plain);

	assert_true(start->continuation);
	assert_true(cont->continuation);
	assert_false(plain->continuation);
	assert_true(caller->continuation);
	assert_string_equal(caller->message, "with a caller");
	/* the member is there only when true */
	assert_true(json_object_get_boolean_member(json_start, "continuation"));
	assert_false(json_object_has_member(json_plain, "continuation"));
}

static void
test_qga_kmsg_escapes(void **state)
{
	/* as the guest's kernel wrote it: already escaped */
	const gchar *kernel =
		"11,350,12872846,-;esc \\x1b[31mred\\x1b[0m tab\\x09here backslash\\x5c end\n";
	/* raw bytes no kernel writes to /dev/kmsg: escaped the same way */
	const gchar raw[] = "6,1,0,-;\xff\xfe \xc3\xa9 \x01\x7f \"q\" {\"a\":1}\n";
	g_autoptr(KmsgRecord) k = parse_ok(kernel);
	g_autoptr(KmsgRecord) r = parse_ok(raw);
	g_autoptr(JsonObject) json = record_json(r);
	g_autofree gchar *text = to_ascii(json_object_ref(json));
	g_autoptr(JsonNode) back = NULL;
	g_autoptr(GError) error = NULL;

	assert_string_equal(k->message, "esc \\x1b[31mred\\x1b[0m tab\\x09here backslash\\x5c end");
	assert_string_equal(r->message, "\\xff\\xfe \\xc3\\xa9 \\x01\\x7f \"q\" {\"a\":1}");
	/* the reply stays ASCII and JSON, and gives the escaped text back */
	for (const gchar *p = text; *p != '\0'; p++)
		assert_true((guchar)*p >= 0x20 && (guchar)*p < 0x7f);
	back = json_from_string(text, &error);
	assert_non_null(back);
	assert_string_equal(json_object_get_string_member(json_node_get_object(back), "message"),
			    r->message);
}

static void
assert_malformed(const gchar *data, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(KmsgRecord) r = qga_kmsg_record_parse(data, len, &error);

	if (r != NULL)
		fail_msg("'%.*s' parsed", (gint)MIN(len, 80), data);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

static void
test_qga_kmsg_parse_malformed(void **state)
{
	const gchar *bad[] = {
		"",
		"\n",
		"no prefix at all\n",
		"6,108,1800;too few fields\n",
		"6,108;too few fields\n",
		"6;no fields\n",
		"6,x109,1900,-;seq is not a number\n",
		"6,-110,2000,-;negative seq\n",
		"6,+110,2000,-;signed seq\n",
		"6, 110,2000,-;space in seq\n",
		"6,99999999999999999999999,2100,-;seq overflows\n",
		"6,9223372036854775808,2100,-;seq above G_MAXINT64\n",
		"4294967296,1,0,-;prio overflows 32 bits\n",
		"6,111,2200,;no flags\n",
		"6,112,2300,-;message\nsecond line without the space\n",
		"6,112,2300,-;message\n SUBSYSTEM=x\n\n",
	};
	gchar *huge = g_malloc(QGA_KMSG_RECORD_MAX + 64);
	gint n;

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_malformed(bad[i], strlen(bad[i]));
	/* the ';' must come within the prefix's bound */
	n = g_snprintf(huge, QGA_KMSG_RECORD_MAX, "6,1,0,-%0200d;late\n", 0);
	assert_malformed(huge, n);
	/* longer than any record /dev/kmsg returns */
	n = g_snprintf(huge, 64, "6,1,0,-;");
	memset(huge + n, 'A', QGA_KMSG_RECORD_MAX + 1 - n);
	assert_malformed(huge, QGA_KMSG_RECORD_MAX + 1);
	/* ...the bound itself is fine */
	huge[QGA_KMSG_RECORD_MAX - 1] = '\n';
	{
		g_autoptr(KmsgRecord) r = qga_kmsg_record_parse(huge, QGA_KMSG_RECORD_MAX, NULL);
		assert_non_null(r);
		assert_int_equal(strlen(r->message), QGA_KMSG_RECORD_MAX - 1 - n);
	}
	g_free(huge);
}

/* random bytes and every cut of real records: errors, never a crash */
static void
test_qga_kmsg_parse_fuzz(void **state)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(4);
	g_autofree gchar *boot = NULL;
	gsize boot_len = 0;
	guint parsed = 0;
	const gchar alphabet[] = "0123456789,;-c+ =\n\\x\xff";

	assert_true(g_file_get_contents(KMSG_DEV "/kmsg", &boot, &boot_len, NULL));
	for (gsize cut = 0; cut < 2048 && cut <= boot_len; cut++) {
		g_autoptr(KmsgRecord) r = qga_kmsg_record_parse(boot, cut, NULL);

		kmsg_record_free(qga_kmsg_syslog_line_parse(boot, cut, 0, NULL));
		parsed += r != NULL;
	}
	assert_true(parsed > 0);
	for (guint i = 0; i < 20000; i++) {
		gchar buf[64];
		gsize len = g_rand_int_range(rand, 0, sizeof(buf));

		for (gsize j = 0; j < len; j++)
			buf[j] = g_rand_boolean(rand)
					 ? alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)]
					 : (gchar)g_rand_int_range(rand, 0, 256);
		{
			g_autoptr(KmsgRecord) r = qga_kmsg_record_parse(buf, len, NULL);
			g_autoptr(KmsgRecord) s = qga_kmsg_syslog_line_parse(buf, len, i, NULL);
			const KmsgRecord *both[] = {r, s};

			for (guint k = 0; k < G_N_ELEMENTS(both); k++) {
				for (const gchar *p = both[k] != NULL ? both[k]->message : "";
				     *p != '\0'; p++)
					assert_true((guchar)*p >= 0x20 && (guchar)*p < 0x7f);
			}
		}
	}
}

/* ---- readers on the recorded guest ---- */

static void
test_qga_kmsg_recorded_boot(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, &error);
	g_autoptr(GPtrArray) records = NULL;
	KmsgRecord *r;
	guint with_dict = 0;

	assert_non_null(reader);
	assert_int_equal(qga_kmsg_reader_get_source(reader), QGA_KMSG_SOURCE_KMSG);
	records = read_all(reader);
	assert_int_equal(qga_kmsg_reader_get_malformed(reader), 0);
	assert_int_equal(records->len, BOOT_RECORDS);
	for (guint i = 0; i < records->len; i++) {
		r = g_ptr_array_index(records, i);
		assert_int_equal(r->seq, i);
		assert_false(r->continuation);
		with_dict += r->dict != NULL;
	}
	r = g_ptr_array_index(records, 0);
	assert_int_equal(r->level, 5);
	assert_true(g_str_has_prefix(r->message, "Linux version 6.1.0-56-cloud-amd64"));
	assert_int_equal(with_dict, 42);
	r = find_message(records, "acpi PNP0A03:00: _OSC: OS supports");
	assert_string_equal(dict_get(r, "SUBSYSTEM"), "acpi");
	assert_string_equal(dict_get(r, "DEVICE"), "+acpi:PNP0A03:00");
	r = find_message(records, "qgatrace-fixture esc");
	assert_int_equal(r->level, 3);
	assert_int_equal(r->facility, 1);
	assert_int_equal(r->seq, 350);
	assert_string_equal(
		r->message,
		"qgatrace-fixture esc \\x1b[31mred\\x1b[0m tab\\x09here backslash\\x5c end");
	r = find_message(records, "qgatrace-fixture bad utf8");
	assert_string_equal(
		r->message,
		"qgatrace-fixture bad utf8 \\xff\\xfe and \\xc3\\xa9 e-acute and \\xe2\\x82\\xac euro");
	r = find_message(records, "qgatrace-fixture line one");
	assert_string_equal(r->message, "qgatrace-fixture line one\\x0aline two");
	assert_int_equal(r->level, 5);
	r = find_message(records, "qgatrace-fixture local7");
	assert_int_equal(r->facility, 23);
	/* the longest: 970 bytes of 0x01 */
	r = find_message(records, "\\x01\\x01");
	assert_int_equal(strlen(r->message), 970 * 4);
	assert_int_equal(r->level, 7);
}

static void
test_qga_kmsg_recorded_edge(void **state)
{
	g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_EDGE, NULL);
	g_autoptr(GPtrArray) records = NULL;
	const guint64 seqs[] = {100, 101, 102, 103, 104, 105, 106, 107, 115, 116, 117};
	KmsgRecord *r;

	assert_non_null(reader);
	records = read_all(reader);
	/* no prefix, too few fields, x109, -110, overflow, no flags, and the
	 * blank line that took the orphan dictionary line along */
	assert_int_equal(qga_kmsg_reader_get_malformed(reader), 7);
	assert_int_equal(records->len, G_N_ELEMENTS(seqs));
	for (guint i = 0; i < records->len; i++)
		assert_int_equal(((KmsgRecord *)g_ptr_array_index(records, i))->seq, seqs[i]);
	assert_true(((KmsgRecord *)g_ptr_array_index(records, 1))->continuation);
	assert_true(((KmsgRecord *)g_ptr_array_index(records, 2))->continuation);
	r = g_ptr_array_index(records, 6);
	assert_string_equal(
		r->message,
		"raw bytes a kernel would have escaped: \\xff\\xfe \\xc3\\xa9 \\x01 tab\\x09here \\x7f del");
	r = g_ptr_array_index(records, 10);
	assert_int_equal(r->level, 0);
	assert_string_equal(r->message, "");
}

static void
test_qga_kmsg_missing_device(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaKmsgReader) reader =
		qga_kmsg_reader_open(FIXTURES_DIR "/kmsg/nonexistent", &error);

	assert_null(reader);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "/kmsg/nonexistent/kmsg"));
}

/* this machine's own /dev/kmsg when it can be read (root, no
 * dmesg_restrict): whatever kernel it runs, every record parses */
static void
test_qga_kmsg_host_kmsg(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open("/dev", &error);
	g_autoptr(GPtrArray) records = NULL;
	guint64 last = 0;

	if (reader == NULL || qga_kmsg_reader_get_source(reader) != QGA_KMSG_SOURCE_KMSG) {
		print_message("# no readable /dev/kmsg here: %s\n",
			      error != NULL ? error->message : "not a device");
		skip();
	}
	records = read_all(reader);
	if (records->len == 0) {
		print_message("# /dev/kmsg gave no record (EPERM under a container?)\n");
		skip();
	}
	assert_int_equal(qga_kmsg_reader_get_malformed(reader), 0);
	for (guint i = 0; i < records->len; i++) {
		KmsgRecord *r = g_ptr_array_index(records, i);

		assert_true(i == 0 || r->seq > last);
		last = r->seq;
		for (const gchar *p = r->message; *p != '\0'; p++)
			assert_true((guchar)*p >= 0x20 && (guchar)*p < 0x7f);
	}
	print_message("# host /dev/kmsg: %u records, seq %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
		      ", %u overruns\n",
		      records->len, ((KmsgRecord *)g_ptr_array_index(records, 0))->seq, last,
		      qga_kmsg_reader_get_overruns(reader));
}

/* the size an export budgets is the size the reply encoder writes */
static void
test_qga_kmsg_json_size_exact(void **state)
{
	const gchar *dirs[] = {KMSG_DEV, KMSG_EDGE};
	g_autofree gchar *syslog = NULL;
	gsize syslog_len = 0;
	guint checked = 0;

	assert_true(g_file_get_contents(KMSG_SYSLOG, &syslog, &syslog_len, NULL));
	for (guint d = 0; d < G_N_ELEMENTS(dirs) + 1; d++) {
		g_autoptr(QgaKmsgReader) reader =
			d < G_N_ELEMENTS(dirs) ? qga_kmsg_reader_open(dirs[d], NULL)
					       : qga_kmsg_reader_new_syslog(syslog, syslog_len);
		g_autoptr(GPtrArray) records = read_all(reader);

		for (guint i = 0; i < records->len; i++) {
			KmsgRecord *r = g_ptr_array_index(records, i);
			g_autofree gchar *text = kmsg_record_to_json(r);

			if (strlen(text) != kmsg_record_json_size(r))
				fail_msg("seq %" G_GUINT64_FORMAT ": %zu != %zu: %s", r->seq,
					 kmsg_record_json_size(r), strlen(text), text);
			checked++;
		}
	}
	assert_true(checked > 2 * BOOT_RECORDS);
}

/* ---- klogctl's text ---- */

static void
test_qga_kmsg_syslog_lines(void **state)
{
	struct {
		const gchar *line;
		guint level, facility;
		guint64 ts;
		const gchar *message;
	} cases[] = {
		{"<6>[    0.000000] Linux version", 6, 0, 0, "Linux version"},
		{"<11>[   12.872846] marker", 3, 1, 12872846, "marker"},
		{"<190>[123456.5] half", 6, 23, 123456500000, "half"},
		{"<4>no timestamp (printk.time=0)", 4, 0, 0, "no timestamp (printk.time=0)"},
		{"<6>[    1.000001][    T1] with a caller", 6, 0, 1000001, "with a caller"},
		{"<6>[    1.000001][    C0] cpu caller", 6, 0, 1000001, "cpu caller"},
		{"<6>[drm] not a timestamp", 6, 0, 0, "[drm] not a timestamp"},
		{"<6>[    2.000000] [drm] after one", 6, 0, 2000000, "[drm] after one"},
		{"<3>[    3.000000] raw \x1b[0m\t\\ \xff", 3, 0, 3000000,
		 "raw \\x1b[0m\\x09\\x5c \\xff"},
	};
	const gchar *bad[] = {"", "no prefix", "<>[1.0] empty", "<x>bad", "<6", "<99999999999>big"};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KmsgRecord) r =
			qga_kmsg_syslog_line_parse(cases[i].line, strlen(cases[i].line), i, &error);

		assert_non_null(r);
		assert_int_equal(r->seq, i);
		assert_int_equal(r->level, cases[i].level);
		assert_int_equal(r->facility, cases[i].facility);
		assert_int_equal(r->ts_usec, cases[i].ts);
		assert_string_equal(r->message, cases[i].message);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KmsgRecord) r =
			qga_kmsg_syslog_line_parse(bad[i], strlen(bad[i]), 0, &error);

		assert_null(r);
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	}
}

/* the same buffer through klogctl and /dev/kmsg: the same levels and text */
static void
test_qga_kmsg_syslog_matches_kmsg(void **state)
{
	g_autofree gchar *text = NULL;
	gsize len = 0;
	g_autoptr(QgaKmsgReader) syslog = NULL;
	g_autoptr(QgaKmsgReader) kmsg = qga_kmsg_reader_open(KMSG_DEV, NULL);
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(GPtrArray) records = read_all(kmsg);
	guint matched = 0;

	assert_true(g_file_get_contents(KMSG_SYSLOG, &text, &len, NULL));
	syslog = qga_kmsg_reader_new_syslog(text, len);
	assert_int_equal(qga_kmsg_reader_get_source(syslog), QGA_KMSG_SOURCE_KLOGCTL);
	lines = read_all(syslog);
	assert_int_equal(qga_kmsg_reader_get_malformed(syslog), 0);
	/* one more: the two-line record is two lines */
	assert_int_equal(lines->len, BOOT_RECORDS + 1);
	for (guint i = 0, j = 0; i < lines->len && j < records->len; i++, j++) {
		KmsgRecord *l = g_ptr_array_index(lines, i);
		KmsgRecord *r = g_ptr_array_index(records, j);

		assert_int_equal(l->seq, i);
		assert_int_equal(l->ts_usec, r->ts_usec);
		assert_int_equal(l->level, r->level);
		assert_int_equal(l->facility, r->facility);
		if (strstr(r->message, "\\x0a") != NULL) {
			i++; /* its second line */
			continue;
		}
		assert_string_equal(l->message, r->message);
		matched++;
	}
	assert_int_equal(matched, BOOT_RECORDS - 1);
}

/* ---- the export, on scripted reads ---- */

typedef struct {
	const gchar *const *script; /* records, or "!EPIPE", "!EINTR", "!EIO", "!EINVAL" */
	guint pos;
} Script;

static gssize
script_read(gpointer user_data, gchar *buf, gsize len)
{
	Script *s = user_data;
	const gchar *item = s->script[s->pos];
	gsize n;

	if (item == NULL) {
		errno = EAGAIN;
		return -1;
	}
	s->pos++;
	if (item[0] == '!') {
		errno = g_str_equal(item, "!EPIPE")    ? EPIPE
			: g_str_equal(item, "!EINTR")  ? EINTR
			: g_str_equal(item, "!EINVAL") ? EINVAL
						       : EIO;
		return -1;
	}
	n = strlen(item);
	assert_true(n <= len);
	memcpy(buf, item, n);
	return n;
}

static JsonObject *
export_script(const gchar *const *script, const QgaKmsgQuery *query, GError **error)
{
	Script s = {script, 0};
	g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_new_func(script_read, &s);
	g_autofree gchar *text = qga_kmsg_export(reader, query, NULL, error);

	return text != NULL ? parse_written(text) : NULL;
}

static JsonObject *
export_ok(QgaKmsgReader *reader, const QgaKmsgQuery *query)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = qga_kmsg_export(reader, query, NULL, &error);

	if (text == NULL)
		fail_msg("export: %s", error->message);
	return parse_written(text);
}

static gint64
member_int(JsonObject *o, const gchar *name)
{
	assert_true(json_object_has_member(o, name));
	return json_object_get_int_member(o, name);
}

static gint64
record_seq(JsonObject *result, guint i)
{
	return json_object_get_int_member(
		json_array_get_object_element(json_object_get_array_member(result, "records"), i),
		"seq");
}

static guint
n_records(JsonObject *result)
{
	return json_array_get_length(json_object_get_array_member(result, "records"));
}

static void
test_qga_kmsg_export_epipe(void **state)
{
	const gchar *script[] = {
		"6,10,1,-;ten\n",
		"!EINTR",
		"6,11,2,-;eleven\n",
		/* 12-14 overwritten while we read */
		"!EPIPE",
		"6,15,3,-;fifteen\n",
		"garbage\n",
		"6,16,4,-;sixteen\n",
		NULL,
	};
	QgaKmsgQuery q;
	g_autoptr(JsonObject) all = NULL;
	g_autoptr(JsonObject) since = NULL;
	g_autoptr(JsonObject) old = NULL;

	qga_kmsg_query_init(&q);
	all = export_script(script, &q, NULL);
	assert_non_null(all);
	assert_string_equal(json_object_get_string_member(all, "source"), "kmsg");
	assert_string_equal(json_object_get_string_member(all, "encoding"), "kmsg-escaped");
	assert_false(json_object_get_boolean_member(all, "seq-synthesized"));
	assert_int_equal(n_records(all), 4);
	assert_int_equal(member_int(all, "first-seq"), 10);
	assert_int_equal(member_int(all, "next-seq"), 16);
	assert_int_equal(member_int(all, "missed"), 3);
	assert_false(json_object_get_boolean_member(all, "truncated"));

	/* from a cursor: only newer records */
	q.since_seq = 11;
	q.follow = TRUE;
	since = export_script(script, &q, NULL);
	assert_int_equal(n_records(since), 2);
	assert_int_equal(record_seq(since, 0), 15);
	assert_int_equal(member_int(since, "missed"), 3);
	assert_int_equal(member_int(since, "next-seq"), 16);

	/* a cursor older than the buffer: the gap is missed too */
	q.since_seq = 4;
	old = export_script(script, &q, NULL);
	assert_int_equal(n_records(old), 4);
	assert_int_equal(member_int(old, "first-seq"), 10);
	/* 5-9 and 12-14 */
	assert_int_equal(member_int(old, "missed"), 5 + 3);
	assert_int_equal(n_records(old) + member_int(old, "missed"),
			 member_int(old, "next-seq") - q.since_seq);
}

static void
test_qga_kmsg_export_read_errors(void **state)
{
	const gchar *eio[] = {"6,1,0,-;one\n", "!EIO", NULL};
	const gchar *einval[] = {"!EINVAL", NULL};
	const gchar *empty[] = {NULL};
	QgaKmsgQuery q;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) result = NULL;

	qga_kmsg_query_init(&q);
	assert_null(export_script(eio, &q, &error));
	assert_non_null(strstr(error->message, "reading the kernel log"));
	g_clear_error(&error);
	/* a record larger than the buffer: /dev/kmsg would return it forever */
	assert_null(export_script(einval, &q, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE));
	g_clear_error(&error);
	q.since_seq = 41;
	q.follow = TRUE;
	result = export_script(empty, &q, &error);
	assert_int_equal(n_records(result), 0);
	assert_int_equal(member_int(result, "next-seq"), 41);
	assert_int_equal(member_int(result, "missed"), 0);
}

static void
test_qga_kmsg_export_level(void **state)
{
	g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
	g_autoptr(JsonObject) result = NULL;
	JsonArray *records;
	QgaKmsgQuery q;

	qga_kmsg_query_init(&q);
	q.filter.level = 3;
	result = export_ok(reader, &q);
	records = json_object_get_array_member(result, "records");
	assert_true(json_array_get_length(records) > 0);
	for (guint i = 0; i < json_array_get_length(records); i++)
		assert_true(json_object_get_int_member(json_array_get_object_element(records, i),
						       "level") <= 3);
	/* filtered records are behind the cursor too */
	assert_int_equal(member_int(result, "next-seq"), BOOT_RECORDS - 1);
	assert_int_equal(member_int(result, "missed"), 0);
}

/* a follower's loop: every record once, in order, within the bounds */
static void
cursor_loop(const gchar *dev, guint max_records, gsize max_bytes, guint expected, guint *calls)
{
	gint64 since = -1;
	gint64 last = -1;
	guint total = 0;

	*calls = 0;
	for (;;) {
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(dev, NULL);
		g_autoptr(JsonObject) result = NULL;
		g_autofree gchar *text = NULL;
		QgaKmsgQuery q;
		guint n;

		qga_kmsg_query_init(&q);
		q.since_seq = since;
		q.follow = TRUE;
		q.filter.max_records = max_records;
		q.filter.max_bytes = max_bytes;
		result = export_ok(reader, &q);
		n = n_records(result);
		for (guint i = 0; i < n; i++) {
			assert_true(record_seq(result, i) > last);
			last = record_seq(result, i);
		}
		total += n;
		text = to_ascii(json_object_ref(result));
		if (strlen(text) > max_bytes)
			fail_msg("reply of %zu bytes above max-bytes %zu", strlen(text), max_bytes);
		(*calls)++;
		assert_true(*calls < 10000);
		if (!json_object_get_boolean_member(result, "truncated"))
			break;
		assert_true(n > 0 || max_records == 0);
		assert_true(member_int(result, "next-seq") >= since);
		since = member_int(result, "next-seq");
	}
	assert_int_equal(total, expected);
}

static void
test_qga_kmsg_export_cursor_loop(void **state)
{
	guint calls;

	cursor_loop(KMSG_DEV, QGA_KMSG_MAX_RECORDS_DEFAULT, QGA_KMSG_MAX_BYTES_DEFAULT,
		    BOOT_RECORDS, &calls);
	assert_int_equal(calls, 1);
	cursor_loop(KMSG_DEV, 7, QGA_KMSG_MAX_BYTES_DEFAULT, BOOT_RECORDS, &calls);
	assert_int_equal(calls, (BOOT_RECORDS + 6) / 7);
	/* the recorded buffer is about 40 KB as JSON */
	cursor_loop(KMSG_DEV, QGA_KMSG_MAX_RECORDS_DEFAULT, 8 * 1024, BOOT_RECORDS, &calls);
	assert_true(calls >= 5);
	cursor_loop(KMSG_EDGE, 1, QGA_KMSG_MAX_BYTES_DEFAULT, 11, &calls);
	assert_int_equal(calls, 11);
}

/* truncation keeps the books: records + missed == next-seq - since-seq */
static void
test_qga_kmsg_export_truncated_gap(void **state)
{
	const gchar *script[] = {"6,10,1,-;ten\n", "!EPIPE", "6,20,2,-;twenty\n",
				 "6,21,3,-;twenty-one\n", NULL};
	QgaKmsgQuery q;
	g_autoptr(JsonObject) first = NULL;
	g_autoptr(JsonObject) second = NULL;

	qga_kmsg_query_init(&q);
	q.since_seq = 9;
	q.follow = TRUE;
	q.filter.max_records = 1;
	first = export_script(script, &q, NULL);
	assert_int_equal(n_records(first), 1);
	assert_true(json_object_get_boolean_member(first, "truncated"));
	/* the gap 11-19 was seen before stopping at 20: it is this reply's */
	assert_int_equal(member_int(first, "missed"), 9);
	assert_int_equal(member_int(first, "next-seq"), 19);
	assert_int_equal(1 + 9, member_int(first, "next-seq") - q.since_seq);
	q.since_seq = member_int(first, "next-seq");
	second = export_script(script, &q, NULL);
	assert_int_equal(n_records(second), 1);
	assert_int_equal(record_seq(second, 0), 20);
	assert_int_equal(member_int(second, "missed"), 0);
	assert_true(json_object_get_boolean_member(second, "truncated"));
}

static void
test_qga_kmsg_export_tail(void **state)
{
	QgaKmsgQuery q;

	qga_kmsg_query_init(&q);
	q.filter.tail = 5;
	{
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
		g_autoptr(JsonObject) result = export_ok(reader, &q);

		assert_int_equal(n_records(result), 5);
		assert_int_equal(record_seq(result, 0), BOOT_RECORDS - 5);
		assert_int_equal(record_seq(result, 4), BOOT_RECORDS - 1);
		assert_int_equal(member_int(result, "next-seq"), BOOT_RECORDS - 1);
		assert_false(json_object_get_boolean_member(result, "truncated"));
	}
	/* tail 0: just the cursor at the end */
	q.filter.tail = 0;
	{
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
		g_autoptr(JsonObject) result = export_ok(reader, &q);

		assert_int_equal(n_records(result), 0);
		assert_int_equal(member_int(result, "next-seq"), BOOT_RECORDS - 1);
		assert_int_equal(member_int(result, "first-seq"), 0);
		assert_false(json_object_get_boolean_member(result, "truncated"));
	}
	/* more than max-records allows: the newest, truncated */
	q.filter.tail = 100;
	q.filter.max_records = 3;
	{
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
		g_autoptr(JsonObject) result = export_ok(reader, &q);

		assert_int_equal(n_records(result), 3);
		assert_int_equal(record_seq(result, 2), BOOT_RECORDS - 1);
		assert_true(json_object_get_boolean_member(result, "truncated"));
	}
	/* ...or than max-bytes: the newest that fit */
	q.filter.tail = 1000;
	q.filter.max_records = QGA_KMSG_MAX_RECORDS_DEFAULT;
	q.filter.max_bytes = 16384;
	{
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
		g_autoptr(JsonObject) result = export_ok(reader, &q);
		g_autofree gchar *text = to_ascii(json_object_ref(result));

		assert_true(n_records(result) > 0);
		assert_true(n_records(result) < BOOT_RECORDS);
		assert_int_equal(record_seq(result, n_records(result) - 1), BOOT_RECORDS - 1);
		assert_true(json_object_get_boolean_member(result, "truncated"));
		assert_true(strlen(text) <= 16384);
	}
	/* tail after a cursor: the last of the newer ones */
	q.filter.tail = 3;
	q.filter.max_bytes = QGA_KMSG_MAX_BYTES_DEFAULT;
	q.since_seq = BOOT_RECORDS - 3;
	q.follow = TRUE;
	{
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_open(KMSG_DEV, NULL);
		g_autoptr(JsonObject) result = export_ok(reader, &q);

		assert_int_equal(n_records(result), 2);
		assert_int_equal(record_seq(result, 0), BOOT_RECORDS - 2);
	}
}

static void
test_qga_kmsg_export_klogctl_text(void **state)
{
	g_autofree gchar *text = NULL;
	gsize len = 0;
	g_autoptr(QgaKmsgReader) reader = NULL;
	g_autoptr(JsonObject) result = NULL;
	QgaKmsgQuery q;

	assert_true(g_file_get_contents(KMSG_SYSLOG, &text, &len, NULL));
	reader = qga_kmsg_reader_new_syslog(text, len);
	qga_kmsg_query_init(&q);
	result = export_ok(reader, &q);
	assert_string_equal(json_object_get_string_member(result, "source"), "klogctl");
	assert_true(json_object_get_boolean_member(result, "seq-synthesized"));
	assert_int_equal(n_records(result), BOOT_RECORDS + 1);
	assert_int_equal(member_int(result, "first-seq"), 0);
	assert_int_equal(member_int(result, "next-seq"), BOOT_RECORDS);
}

/* ---- the command, through the dispatcher ---- */

static int
fixture_setup(void **state)
{
	*state = guest_fixture_new(KMSG_ROOT);
	return 0;
}

static int
fixture_teardown(void **state)
{
	guest_fixture_free(*state);
	return 0;
}

static JsonNode *
dispatch(GuestFixture *f, const gchar *request, gsize *len)
{
	return guest_fixture_dispatch(f, request, NULL, len);
}

static gboolean
dmesg_enabled(GuestFixture *f)
{
	g_autoptr(JsonNode) info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);

	return guest_fixture_info_enabled(info, "guest-dmesg");
}

static void
test_qga_kmsg_command(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(JsonNode) all = dispatch(f, "{\"execute\":\"guest-dmesg\",\"id\":1}", NULL);
	g_autoptr(JsonNode) newer = NULL;
	g_autoptr(JsonNode) bounded = NULL;
	JsonObject *ret = guest_fixture_return_object(all);
	JsonObject *marker = NULL;
	JsonArray *records = json_object_get_array_member(ret, "records");
	gsize len = 0;

	assert_true(dmesg_enabled(f));
	assert_string_equal(json_object_get_string_member(ret, "source"), "kmsg");
	assert_string_equal(json_object_get_string_member(ret, "encoding"), "kmsg-escaped");
	assert_string_equal(json_object_get_string_member(ret, "boot-id"),
			    "6c1f6f8e-8d0b-4b6e-9a57-5d0e8f3c2a11");
	assert_int_equal(json_array_get_length(records), BOOT_RECORDS);
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *r = json_array_get_object_element(records, i);
		if (g_str_has_prefix(json_object_get_string_member(r, "message"),
				     "qgatrace-fixture esc"))
			marker = r;
	}
	assert_non_null(marker);
	assert_int_equal(json_object_get_int_member(marker, "level"), 3);
	assert_int_equal(json_object_get_int_member(marker, "facility"), 1);
	assert_int_equal(json_object_get_int_member(marker, "ts-us"), 12872846);
	assert_string_equal(
		json_object_get_string_member(marker, "message"),
		"qgatrace-fixture esc \\x1b[31mred\\x1b[0m tab\\x09here backslash\\x5c end");

	newer = dispatch(f, "{\"execute\":\"guest-dmesg\",\"arguments\":{\"since-seq\":355}}",
			 NULL);
	ret = guest_fixture_return_object(newer);
	assert_int_equal(json_array_get_length(json_object_get_array_member(ret, "records")), 5);
	assert_int_equal(json_object_get_int_member(ret, "next-seq"), 360);
	assert_int_equal(json_object_get_int_member(ret, "missed"), 0);

	bounded = dispatch(
		f,
		"{\"execute\":\"guest-dmesg\",\"arguments\":{\"max-bytes\":65536,\"max-records\":10,\"level\":5}}",
		&len);
	ret = guest_fixture_return_object(bounded);
	records = json_object_get_array_member(ret, "records");
	assert_true(len <= 65536);
	assert_int_equal(json_array_get_length(records), 10);
	for (guint i = 0; i < json_array_get_length(records); i++)
		assert_true(json_object_get_int_member(json_array_get_object_element(records, i),
						       "level") <= 5);
	assert_true(json_object_get_boolean_member(ret, "truncated"));
}

static void
test_qga_kmsg_command_arguments(void **state)
{
	struct {
		const gchar *args;
		const gchar *desc;
	} cases[] = {
		{"{\"level\":8}", "Parameter 'level' expects a value between 0 and 7"},
		{"{\"level\":-1}", "Parameter 'level' expects a value between 0 and 7"},
		{"{\"since-seq\":-2}",
		 "Parameter 'since-seq' expects a value between -1 and 9223372036854775806"},
		{"{\"max-bytes\":1024}",
		 "Parameter 'max-bytes' expects a value between 65536 and 8388608"},
		{"{\"max-bytes\":10485760}",
		 "Parameter 'max-bytes' expects a value between 65536 and 8388608"},
		{"{\"max-records\":-1}",
		 "Parameter 'max-records' expects a value between 0 and 1000000"},
		{"{\"tail\":1000001}", "Parameter 'tail' expects a value between 0 and 1000000"},
		{"{\"level\":\"err\"}", "Invalid parameter type for 'level', expected: integer"},
		{"{\"follow\":true}", "Parameter 'follow' is unexpected"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *request = g_strdup_printf(
			"{\"execute\":\"guest-dmesg\",\"arguments\":%s}", cases[i].args);
		g_autoptr(JsonNode) reply = dispatch(*state, request, NULL);

		guest_fixture_assert_error(reply, "GenericError", cases[i].desc);
	}
}

static void
test_qga_kmsg_command_frozen(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;

	assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
	reply = dispatch(f, "{\"execute\":\"guest-dmesg\",\"arguments\":{\"tail\":1}}", NULL);
	assert_int_equal(json_array_get_length(json_object_get_array_member(
				 guest_fixture_return_object(reply), "records")),
			 1);
	assert_true(dmesg_enabled(f));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
}

static void
test_qga_kmsg_command_disabled(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(JsonNode) frozen = NULL;

	qga_config_set_dmesg_enabled(f->config, FALSE);
	reply = dispatch(f, "{\"execute\":\"guest-dmesg\"}", NULL);
	guest_fixture_assert_error(
		reply, "CommandNotFound",
		"Command guest-dmesg has been disabled: the command is not allowed");
	assert_false(dmesg_enabled(f));
	/* freezing never lifts a block, frozen-safe or not */
	assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
	frozen = dispatch(f, "{\"execute\":\"guest-dmesg\"}", NULL);
	guest_fixture_assert_error(
		frozen, "CommandNotFound",
		"Command guest-dmesg has been disabled: the command is not allowed");
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_kmsg_parse_plain),
		cmocka_unit_test(test_qga_kmsg_parse_dictionary),
		cmocka_unit_test(test_qga_kmsg_parse_continuation),
		cmocka_unit_test(test_qga_kmsg_escapes),
		cmocka_unit_test(test_qga_kmsg_parse_malformed),
		cmocka_unit_test(test_qga_kmsg_parse_fuzz),
		cmocka_unit_test(test_qga_kmsg_recorded_boot),
		cmocka_unit_test(test_qga_kmsg_recorded_edge),
		cmocka_unit_test(test_qga_kmsg_missing_device),
		cmocka_unit_test(test_qga_kmsg_host_kmsg),
		cmocka_unit_test(test_qga_kmsg_json_size_exact),
		cmocka_unit_test(test_qga_kmsg_syslog_lines),
		cmocka_unit_test(test_qga_kmsg_syslog_matches_kmsg),
		cmocka_unit_test(test_qga_kmsg_export_epipe),
		cmocka_unit_test(test_qga_kmsg_export_read_errors),
		cmocka_unit_test(test_qga_kmsg_export_level),
		cmocka_unit_test(test_qga_kmsg_export_cursor_loop),
		cmocka_unit_test(test_qga_kmsg_export_truncated_gap),
		cmocka_unit_test(test_qga_kmsg_export_tail),
		cmocka_unit_test(test_qga_kmsg_export_klogctl_text),
		cmocka_unit_test_setup_teardown(test_qga_kmsg_command, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_kmsg_command_arguments, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_kmsg_command_frozen, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_kmsg_command_disabled, fixture_setup,
						fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
