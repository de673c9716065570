/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "gmem-printk.h"
#include "gmem-sim.h"
#include "kmsg-record.h"
#include "qga-json.h"
#include "qga-kmsg.h"

/* ---- the shared module ---- */

static void
test_kmsg_record_escape_append(void **state)
{
	g_autoptr(GString) escaped = g_string_new(NULL);
	g_autofree gchar *raw = kmsg_record_escape("a\\b\n\x01\x7f\xc3\xa9~", 9, TRUE);

	/* klogctl's raw text: the backslash too, as the kernel does */
	kmsg_record_escape_append(escaped, "a\\b\tc\xff", 6, TRUE);
	assert_string_equal(escaped->str, "a\\x5cb\\x09c\\xff");
	g_string_truncate(escaped, 0);
	kmsg_record_escape_append(escaped, "a\\x5cb", 6, FALSE);
	assert_string_equal(escaped->str, "a\\x5cb");
	assert_string_equal(raw, "a\\x5cb\\x0a\\x01\\x7f\\xc3\\xa9~");
}

static KmsgRecord *
record_new(guint64 seq, guint level, const gchar *message, const gchar *const *dict)
{
	KmsgRecord *record = g_new0(KmsgRecord, 1);

	record->seq = seq;
	record->ts_usec = seq * 1000;
	record->level = level;
	record->message = g_strdup(message);
	record->dict = g_strdupv((gchar **)dict);
	return record;
}

/* the exact bytes, the exact size, and what json-glib writes for them */
static void
test_kmsg_record_json_text(void **state)
{
	const gchar *const dict[] = {"SUBSYSTEM=pci", "NOEQUALS", "DEVICE=+pci:0000:00:01.0", NULL};
	g_autoptr(KmsgRecord) plain = record_new(7, 6, "tab\\x09 \"q\"", NULL);
	g_autoptr(KmsgRecord) full = record_new(G_MAXUINT64, 0, "", dict);
	g_autofree gchar *plain_text = NULL;
	g_autofree gchar *full_text = NULL;
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *again = NULL;

	full->ts_usec = 1;
	full->facility = 23;
	full->continuation = TRUE;
	plain_text = kmsg_record_to_json(plain);
	full_text = kmsg_record_to_json(full);
	assert_string_equal(plain_text, "{\"seq\":7,\"ts-us\":7000,\"level\":6,\"facility\":0,"
					"\"message\":\"tab\\\\x09 \\\"q\\\"\"}");
	assert_string_equal(
		full_text,
		"{\"seq\":18446744073709551615,\"ts-us\":1,\"level\":0,\"facility\":23,"
		"\"message\":\"\",\"continuation\":true,"
		"\"dictionary\":{\"SUBSYSTEM\":\"pci\",\"DEVICE\":\"+pci:0000:00:01.0\"}}");
	assert_int_equal(kmsg_record_json_size(plain), strlen(plain_text));
	assert_int_equal(kmsg_record_json_size(full), strlen(full_text));
	node = json_from_string(plain_text, NULL);
	assert_non_null(node);
	again = qga_json_to_ascii(node);
	assert_string_equal(again, plain_text);
}

/* records 0..9, level i % 8 */
static KmsgRecordReply *
reply_of_ten(const KmsgRecordFilter *filter, guint *refused)
{
	KmsgRecordReply *reply = kmsg_record_reply_new(filter);

	*refused = 0;
	for (guint i = 0; i < 10; i++) {
		g_autofree gchar *message = g_strdup_printf("r%u", i);
		g_autoptr(KmsgRecord) record = record_new(i, i % 8, message, NULL);

		*refused += !kmsg_record_reply_add(reply, &record);
	}
	return reply;
}

static gchar *
reply_finish(KmsgRecordReply *reply, const gchar *boot_id)
{
	KmsgRecordEnvelope envelope = {"kmsg", FALSE,  0, kmsg_record_reply_get_last_seq(reply),
				       2,      boot_id};

	return kmsg_record_reply_finish(reply, &envelope);
}

static void
test_kmsg_record_reply_filter(void **state)
{
	KmsgRecordFilter filter;
	guint refused;

	kmsg_record_filter_init(&filter);
	{
		g_autoptr(KmsgRecordReply) reply = NULL;
		g_autofree gchar *text = NULL;

		filter.level = 1;
		reply = reply_of_ten(&filter, &refused);
		assert_int_equal(refused, 0);
		assert_int_equal(kmsg_record_reply_get_last_seq(reply), 9);
		text = reply_finish(reply, "b00t");
		assert_string_equal(
			text,
			"{\"source\":\"kmsg\",\"encoding\":\"kmsg-escaped\",\"seq-synthesized\":false,"
			"\"first-seq\":0,\"next-seq\":9,\"missed\":2,\"truncated\":false,\"records\":["
			"{\"seq\":0,\"ts-us\":0,\"level\":0,\"facility\":0,\"message\":\"r0\"},"
			"{\"seq\":1,\"ts-us\":1000,\"level\":1,\"facility\":0,\"message\":\"r1\"},"
			"{\"seq\":8,\"ts-us\":8000,\"level\":0,\"facility\":0,\"message\":\"r8\"},"
			"{\"seq\":9,\"ts-us\":9000,\"level\":1,\"facility\":0,\"message\":\"r9\"}"
			"],\"boot-id\":\"b00t\"}");
	}
	/* the last two of levels 0..3; none fits max-records 0 */
	filter.level = 3;
	filter.tail = 2;
	{
		g_autoptr(KmsgRecordReply) reply = reply_of_ten(&filter, &refused);
		g_autofree gchar *text = reply_finish(reply, NULL);

		assert_int_equal(kmsg_record_reply_get_last_seq(reply), 9);
		assert_non_null(strstr(text, "\"truncated\":false,\"records\":[{\"seq\":8,"));
		assert_non_null(strstr(text, "\"message\":\"r8\"},{\"seq\":9,"));
		assert_true(g_str_has_suffix(text, "\"message\":\"r9\"}]}"));
	}
	filter.max_records = 0;
	{
		g_autoptr(KmsgRecordReply) reply = reply_of_ten(&filter, &refused);
		g_autofree gchar *text = reply_finish(reply, NULL);

		assert_int_equal(kmsg_record_reply_get_last_seq(reply), -1);
		assert_non_null(strstr(
			text, "\"next-seq\":-1,\"missed\":2,\"truncated\":true,\"records\":[]}"));
	}
	/* no tail: the reply is full at max-records, and says so */
	filter.tail = -1;
	filter.max_records = 3;
	{
		g_autoptr(KmsgRecordReply) reply = reply_of_ten(&filter, &refused);
		g_autofree gchar *text = reply_finish(reply, NULL);

		assert_int_equal(refused, 10 - 3 - 4);
		assert_int_equal(kmsg_record_reply_get_last_seq(reply), 2);
		assert_non_null(strstr(text, "\"truncated\":true"));
	}
}

/* ---- the agent and the memory reader write the same record the same ---- */

/* one printk() call, as printk_ringbuffer stores it and as /dev/kmsg shows
 * it (info_print_ext_header() then msg_add_ext_text() and msg_add_dict_text()) */
typedef struct {
	const gchar *raw;
	gsize raw_len;
	guint level, facility, flags;
	guint64 ts_nsec;
	const gchar *subsystem, *device;
	const gchar *kmsg;
} SameRecord;

#define RAW(s) s, sizeof(s) - 1

static const SameRecord same_records[] = {
	{RAW("Linux version 6.1.0"), 5, 0, 2, 0, NULL, NULL, "5,0,0,-;Linux version 6.1.0\n"},
	{RAW("esc \x1b[31mred\x1b[0m tab\there backslash\\ end"), 3, 1, 2, 12872846123, NULL, NULL,
	 "11,1,12872846,-;esc \\x1b[31mred\\x1b[0m tab\\x09here backslash\\x5c end\n"},
	{RAW("bad utf8 \xff\xfe and \xc3\xa9 \x7f\x01 \"q\" {}"), 7, 0, 2, 999, NULL, NULL,
	 "7,2,0,-;bad utf8 \\xff\\xfe and \\xc3\\xa9 \\x7f\\x01 \"q\" {}\n"},
	{RAW("line one\nline two"), 4, 23, 2, 2000000, NULL, NULL,
	 "188,3,2000,-;line one\\x0aline two\n"},
	{RAW("virtio_blk virtio1: [vda]"), 6, 0, 2, 1234567891, "virtio", "+virtio:virtio1",
	 "6,4,1234567,-;virtio_blk virtio1: [vda]\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n"},
	{RAW("odd device"), 2, 0, 2, 5000, NULL, "c\\1\x01",
	 "2,5,5,-;odd device\n DEVICE=c\\x5c1\\x01\n"},
	{RAW("cont start "), 4, 0, 8, 6000, NULL, NULL, "4,6,6,c;cont start \n"},
	{RAW("and more"), 4, 0, 8 | 2, 7000, NULL, NULL, "4,7,7,c;and more\n"},
	{RAW(""), 0, 0, 2, 8000, NULL, NULL, "0,8,8,-;\n"},
	{RAW("debug"), 7, 0, 2, 9000, "pci", NULL, "7,9,9,-;debug\n SUBSYSTEM=pci\n"},
};

#define SAME_PRB_SYM G_GUINT64_CONSTANT(0xffffffff822622c0)
#define SAME_RB_AT   G_GUINT64_CONSTANT(0xff11000012340000)

/* the records from simulated guest memory, decoded by guest-memory/ */
static GPtrArray *
same_from_memory(GmemPrintkStats *stats)
{
	g_autofree gchar *vmcoreinfo = sim_vmcoreinfo(SAME_PRB_SYM, 0, 0, TRUE);
	g_autoptr(GmemVmcoreinfo) info =
		gmem_vmcoreinfo_parse(vmcoreinfo, strlen(vmcoreinfo), NULL);
	g_autoptr(GError) error = NULL;
	SimMem *mem = sim_mem_new();
	SimRing ring;
	GPtrArray *records;

	sim_ring_init(&ring, 5, 12);
	/* DESC0 stays reusable: the ring's first record is seq 0 after it */
	for (guint i = 0; i < G_N_ELEMENTS(same_records); i++) {
		const SameRecord *r = &same_records[i];

		sim_ring_push_full(&ring, r->raw, r->raw_len, r->level, r->facility, r->flags,
				   r->ts_nsec, 1, r->subsystem, r->device);
	}
	sim_ring_store(&ring, mem, SAME_PRB_SYM, SAME_RB_AT);
	records = gmem_printk_read(info, sim_mem_read, mem, stats, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	sim_ring_clear(&ring);
	sim_mem_free(mem);
	assert_int_equal(records->len, G_N_ELEMENTS(same_records));
	return records;
}

static void
test_kmsg_record_agent_matches_memory(void **state)
{
	g_autoptr(GPtrArray) memory = same_from_memory(&(GmemPrintkStats){0});

	for (guint i = 0; i < G_N_ELEMENTS(same_records); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(KmsgRecord) agent = qga_kmsg_record_parse(
			same_records[i].kmsg, strlen(same_records[i].kmsg), &error);
		g_autoptr(KmsgRecord) mem =
			gmem_printk_record_to_kmsg(g_ptr_array_index(memory, i));
		g_autofree gchar *agent_text = NULL;
		g_autofree gchar *mem_text = NULL;

		if (agent == NULL)
			fail_msg("'%s': %s", same_records[i].kmsg, error->message);
		agent_text = kmsg_record_to_json(agent);
		mem_text = kmsg_record_to_json(mem);
		assert_int_equal(agent->seq, i);
		assert_string_equal(mem_text, agent_text);
	}
}

/* /dev/kmsg's read(2) on the same records: one a call, then EAGAIN */
static gssize
same_kmsg_read(gpointer user_data, gchar *buf, gsize len)
{
	guint *pos = user_data;
	gsize n;

	if (*pos >= G_N_ELEMENTS(same_records)) {
		errno = EAGAIN;
		return -1;
	}
	n = strlen(same_records[*pos].kmsg);
	assert_true(n <= len);
	memcpy(buf, same_records[(*pos)++].kmsg, n);
	return (gssize)n;
}

static JsonObject *
parse_object(const gchar *text)
{
	g_autoptr(JsonNode) node = json_from_string(text, NULL);

	assert_non_null(node);
	return json_object_ref(json_node_get_object(node));
}

/* whole replies, filtered alike: the same "records", byte for byte */
static void
test_kmsg_record_agent_reply_matches_memory(void **state)
{
	const struct {
		gint level;
		gint64 tail;
	} filters[] = {{-1, -1}, {3, -1}, {6, 4}, {7, 0}, {0, 100}, {4, 1}};
	GmemPrintkStats stats = {0};
	g_autoptr(GPtrArray) memory = same_from_memory(&stats);

	for (guint f = 0; f < G_N_ELEMENTS(filters); f++) {
		guint pos = 0;
		g_autoptr(QgaKmsgReader) reader = qga_kmsg_reader_new_func(same_kmsg_read, &pos);
		g_autofree gchar *agent_text = NULL;
		g_autofree gchar *mem_text = NULL;
		g_autoptr(JsonObject) agent = NULL;
		g_autoptr(JsonObject) mem = NULL;
		g_autoptr(JsonNode) agent_records = NULL;
		g_autoptr(JsonNode) mem_records = NULL;
		g_autofree gchar *agent_records_text = NULL;
		g_autofree gchar *mem_records_text = NULL;
		QgaKmsgQuery query;

		qga_kmsg_query_init(&query);
		query.filter.level = filters[f].level < 0 ? 7 : (guint)filters[f].level;
		query.filter.tail = filters[f].tail;
		agent_text = qga_kmsg_export(reader, &query, NULL, NULL);
		assert_non_null(agent_text);
		mem_text = gmem_printk_records_to_reply(memory, &stats, filters[f].level,
							filters[f].tail);
		agent = parse_object(agent_text);
		mem = parse_object(mem_text);
		agent_records = json_node_ref(json_object_get_member(agent, "records"));
		mem_records = json_node_ref(json_object_get_member(mem, "records"));
		agent_records_text = qga_json_to_ascii(agent_records);
		mem_records_text = qga_json_to_ascii(mem_records);
		assert_string_equal(mem_records_text, agent_records_text);
		/* and what the records came from and how they are written */
		assert_string_equal(json_object_get_string_member(mem, "source"), "memory");
		assert_string_equal(json_object_get_string_member(mem, "encoding"),
				    json_object_get_string_member(agent, "encoding"));
		assert_int_equal(json_object_get_int_member(mem, "first-seq"),
				 json_object_get_int_member(agent, "first-seq"));
		assert_int_equal(json_object_get_int_member(mem, "missed"), 0);
		assert_int_equal(json_object_get_int_member(agent, "missed"), 0);
		assert_false(json_object_get_boolean_member(mem, "truncated"));
		assert_false(json_object_get_boolean_member(agent, "truncated"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmsg_record_escape_append),
		cmocka_unit_test(test_kmsg_record_json_text),
		cmocka_unit_test(test_kmsg_record_reply_filter),
		cmocka_unit_test(test_kmsg_record_agent_matches_memory),
		cmocka_unit_test(test_kmsg_record_agent_reply_matches_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
