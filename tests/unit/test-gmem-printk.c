/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "gmem-sim.h"
#include "gmem-printk.h"

/* where the tests put things, in a virtual address space read directly */
#define PRB_SYM G_GUINT64_CONSTANT(0xffffffff822622c0)
#define RB_AT	G_GUINT64_CONSTANT(0xff11000012340000)

typedef struct {
	SimMem *mem;
	SimRing ring;
	GmemVmcoreinfo *info;
} Fixture;

static void
fixture_init(Fixture *f, guint count_bits, guint size_bits)
{
	g_autofree gchar *text = sim_vmcoreinfo(PRB_SYM, 0, 0, TRUE);

	f->mem = sim_mem_new();
	sim_ring_init(&f->ring, count_bits, size_bits);
	f->info = gmem_vmcoreinfo_parse(text, strlen(text), NULL);
	assert_non_null(f->info);
}

static void
fixture_clear(Fixture *f)
{
	sim_mem_free(f->mem);
	sim_ring_clear(&f->ring);
	gmem_vmcoreinfo_free(f->info);
}

static GPtrArray *
fixture_decode(Fixture *f, GmemPrintkStats *stats)
{
	g_autoptr(GError) error = NULL;
	GPtrArray *records;

	sim_ring_store(&f->ring, f->mem, PRB_SYM, RB_AT);
	records = gmem_printk_read(f->info, sim_mem_read, f->mem, stats, &error);
	if (records == NULL)
		fail_msg("decode: %s", error->message);
	return records;
}

static const gchar *
record_text(GPtrArray *records, guint i, gsize *len)
{
	const GmemPrintkRecord *r = g_ptr_array_index(records, i);

	return g_bytes_get_data(r->text, len);
}

static void
assert_record_text(GPtrArray *records, guint i, const gchar *want)
{
	gsize len = 0;
	const gchar *text = record_text(records, i, &len);

	if (len != strlen(want) || (len > 0 && memcmp(text, want, len) != 0))
		fail_msg("record %u is '%.*s', not '%s'", i, (gint)len, text, want);
}

/* the record as guest-dmesg writes it, decoded */
static JsonObject *
record_json(const GmemPrintkRecord *r)
{
	g_autoptr(KmsgRecord) record = gmem_printk_record_to_kmsg(r);
	g_autofree gchar *text = kmsg_record_to_json(record);
	g_autoptr(JsonNode) node = json_from_string(text, NULL);

	assert_non_null(node);
	return json_object_ref(json_node_get_object(node));
}

static void
test_gmem_printk_fields(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(JsonObject) json = NULL;
	const GmemPrintkRecord *r;
	JsonObject *dict;

	fixture_init(&f, 4, 10);
	sim_ring_push(&f.ring, "Linux version 6.1.0-sim", 5);
	sim_ring_push_full(&f.ring, "virtio_blk virtio1: [vda]",
			   strlen("virtio_blk virtio1: [vda]"), 6, 0, 2, 1234567891, 42, "virtio",
			   "+virtio:virtio1");
	sim_ring_push_full(&f.ring, "cont", 4, 4, 1, 8, 5000, 0x80000003u, NULL, NULL);
	records = fixture_decode(&f, NULL);
	assert_int_equal(records->len, 3);
	assert_record_text(records, 0, "Linux version 6.1.0-sim");
	r = g_ptr_array_index(records, 1);
	assert_int_equal(r->seq, 1);
	assert_int_equal(r->ts_nsec, 1234567891);
	assert_int_equal(r->level, 6);
	assert_int_equal(r->facility, 0);
	assert_int_equal(r->caller_id, 42);
	assert_string_equal(r->subsystem, "virtio");
	assert_string_equal(r->device, "+virtio:virtio1");

	json = record_json(r);
	assert_int_equal(json_object_get_int_member(json, "seq"), 1);
	assert_int_equal(json_object_get_int_member(json, "ts-us"), 1234567);
	assert_int_equal(json_object_get_int_member(json, "level"), 6);
	assert_false(json_object_has_member(json, "continuation"));
	dict = json_object_get_object_member(json, "dictionary");
	assert_string_equal(json_object_get_string_member(dict, "SUBSYSTEM"), "virtio");
	assert_string_equal(json_object_get_string_member(dict, "DEVICE"), "+virtio:virtio1");

	r = g_ptr_array_index(records, 2);
	assert_int_equal(r->level, 4);
	assert_int_equal(r->facility, 1);
	g_clear_pointer(&json, json_object_unref);
	json = record_json(r);
	assert_true(json_object_get_boolean_member(json, "continuation"));
	assert_false(json_object_has_member(json, "dictionary"));
	fixture_clear(&f);
}

static void
test_gmem_printk_escape(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(JsonObject) json = NULL;
	static const gchar raw[] = "a\\b\nc\x01\xc3\xa9~";

	fixture_init(&f, 3, 9);
	sim_ring_push_full(&f.ring, raw, sizeof(raw) - 1, 6, 0, 2, 1, 1, NULL, NULL);
	records = fixture_decode(&f, NULL);
	assert_int_equal(records->len, 1);
	json = record_json(g_ptr_array_index(records, 0));
	/* as /dev/kmsg: the backslash too */
	assert_string_equal(json_object_get_string_member(json, "message"),
			    "a\\x5cb\\x0ac\\x01\\xc3\\xa9~");
	fixture_clear(&f);
}

/* many times around both rings: only the newest survive, in order, whole */
static void
test_gmem_printk_wrap_around(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	GmemPrintkStats stats = {0};
	guint n = 1000;
	guint64 first;

	fixture_init(&f, 5, 10);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *text = g_strdup_printf("message %u %.*s", i, (gint)(i % 37),
							 "abcdefghijklmnopqrstuvwxyz0123456789!");

		sim_ring_push(&f.ring, text, i % 8);
	}
	records = fixture_decode(&f, &stats);
	assert_true(records->len > 5);
	assert_false(stats.legacy);
	assert_int_equal(stats.buffer_bytes, 1024);
	first = ((GmemPrintkRecord *)g_ptr_array_index(records, 0))->seq;
	/* the newest one is there, and nothing between first and last is lost */
	assert_int_equal(first + records->len, n);
	for (guint i = 0; i < records->len; i++) {
		const GmemPrintkRecord *r = g_ptr_array_index(records, i);
		guint k = (guint)r->seq;
		g_autofree gchar *want = g_strdup_printf("message %u %.*s", k, (gint)(k % 37),
							 "abcdefghijklmnopqrstuvwxyz0123456789!");

		assert_int_equal(r->seq, first + i);
		assert_int_equal(r->level, k % 8);
		assert_record_text(records, i, want);
	}
	fixture_clear(&f);
}

/* a block that ends the data ring exactly, and one wrapped to its start */
static void
test_gmem_printk_block_at_ring_end(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	gchar text[57];

	fixture_init(&f, 4, 8);
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	/* 3 blocks of 64 bytes, then one of 64 that ends at 256: exactly the end */
	for (guint i = 0; i < 4; i++) {
		text[0] = (gchar)('a' + i);
		sim_ring_push(&f.ring, text, 6);
	}
	/* the next one goes to the start */
	text[0] = 'e';
	sim_ring_push(&f.ring, text, 6);
	records = fixture_decode(&f, NULL);
	assert_true(records->len >= 2);
	text[0] = 'd';
	assert_record_text(records, records->len - 2, text);
	text[0] = 'e';
	assert_record_text(records, records->len - 1, text);
	fixture_clear(&f);
}

/* descriptors being reserved, reused or torn are skipped, like the kernel's reader */
static void
test_gmem_printk_reused_descriptors(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	GmemPrintkStats stats = {0};
	guint8 *d;
	guint64 id;

	fixture_init(&f, 4, 12);
	for (guint i = 0; i < 10; i++) {
		g_autofree gchar *text = g_strdup_printf("rec %u", i);

		sim_ring_push(&f.ring, text, 6);
	}
	/* record 3: reusable now; record 5: its slot already holds another id;
	 * record 7: its data block was overwritten by another record */
	id = (f.ring.tail_id + 4) & SIM_ID_MASK; /* tail is the reusable DESC0: +1 is rec 0 */
	d = sim_ring_desc(&f.ring, id);
	sim_put_u64(d, (G_GUINT64_CONSTANT(3) << 62) | id);
	id = (f.ring.tail_id + 6) & SIM_ID_MASK;
	d = sim_ring_desc(&f.ring, id);
	sim_put_u64(d, (G_GUINT64_CONSTANT(2) << 62) | ((id + 16) & SIM_ID_MASK));
	id = (f.ring.tail_id + 8) & SIM_ID_MASK;
	d = sim_ring_desc(&f.ring, id);
	sim_put_u64(f.ring.data + (sim_get_u64(d + 8) & (f.ring.size - 1)), id + 1);
	/* record 9, the head: still reserved (state 0) */
	id = f.ring.head_id;
	d = sim_ring_desc(&f.ring, id);
	sim_put_u64(d, id);
	records = fixture_decode(&f, &stats);
	/* DESC0 and the four above */
	assert_int_equal(stats.skipped, 5);
	assert_int_equal(records->len, 6);
	assert_record_text(records, 0, "rec 0");
	assert_record_text(records, 3, "rec 4");
	assert_record_text(records, 4, "rec 6");
	assert_record_text(records, 5, "rec 8");
	fixture_clear(&f);
}

/* a text_len longer than its block (a torn record) is skipped; an empty
 * line (data-less NO_LPOS) is an empty message; a failed one is skipped */
static void
test_gmem_printk_truncated(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	GmemPrintkStats stats = {0};
	guint8 *info;
	guint8 *d;
	guint64 id;

	fixture_init(&f, 4, 12);
	sim_ring_push(&f.ring, "first", 6);
	sim_ring_push(&f.ring, "torn", 6);
	sim_ring_push_full(&f.ring, "", 0, 6, 0, 2, 7, 1, NULL, NULL);
	sim_ring_push(&f.ring, "failed", 6);
	sim_ring_push(&f.ring, "last", 6);
	id = (f.ring.tail_id + 2) & SIM_ID_MASK;
	info = sim_ring_info(&f.ring, id);
	info[16] = 200;
	id = (f.ring.tail_id + 4) & SIM_ID_MASK;
	d = sim_ring_desc(&f.ring, id);
	sim_put_u64(d + 8, 1);
	sim_put_u64(d + 16, 1);
	records = fixture_decode(&f, &stats);
	assert_int_equal(records->len, 3);
	assert_record_text(records, 0, "first");
	assert_record_text(records, 1, "");
	assert_int_equal(((GmemPrintkRecord *)g_ptr_array_index(records, 1))->seq, 2);
	assert_record_text(records, 2, "last");
	assert_int_equal(stats.skipped, 3);
	fixture_clear(&f);
}

/* ---- the log_buf format, Linux 3.5 to 5.9 ---- */

#define LOG_BUF_SYM G_GUINT64_CONSTANT(0xffffffff82000000)
#define LOG_BUF_AT  G_GUINT64_CONSTANT(0xffff888010000000)
#define LOG_BUF_LEN 256
#define LOG_HDR	    16

static const gchar legacy_vmcoreinfo[] = SIM_LEGACY_VMCOREINFO;

static guint32
legacy_put(guint8 *buf, guint32 idx, const gchar *text, const gchar *dict, guint level, guint64 ts)
{
	gsize tlen = strlen(text);
	gsize dlen = dict != NULL ? strlen(dict) + 1 : 0;
	guint16 len = (guint16)((LOG_HDR + tlen + dlen + 7) & ~7u);

	if (idx + len > LOG_BUF_LEN) {
		memset(buf + idx, 0, MIN((guint32)LOG_HDR, LOG_BUF_LEN - idx));
		idx = 0;
	}
	memset(buf + idx, 0, len);
	sim_put_u64(buf + idx, ts);
	memcpy(buf + idx + 8, &len, 2);
	buf[idx + 10] = (guint8)tlen;
	buf[idx + 12] = (guint8)dlen;
	buf[idx + 15] = (guint8)(2 | (level << 5));
	memcpy(buf + idx + LOG_HDR, text, tlen);
	if (dict != NULL) {
		memcpy(buf + idx + LOG_HDR + tlen, dict, dlen - 1);
		/* "SUBSYSTEM=a\0DEVICE=b": the NUL between them */
		for (gsize i = 0; i < dlen - 1; i++)
			if (buf[idx + LOG_HDR + tlen + i] == '\n')
				buf[idx + LOG_HDR + tlen + i] = '\0';
	}
	return idx + len;
}

/* a struct printk_log header with lengths as a hostile guest writes them */
static void
legacy_header(guint8 *buf, guint32 idx, guint16 len, guint16 text_len, guint16 dict_len)
{
	memset(buf + idx, 0, LOG_HDR);
	sim_put_u64(buf + idx, 1000);
	memcpy(buf + idx + 8, &len, 2);
	memcpy(buf + idx + 10, &text_len, 2);
	memcpy(buf + idx + 12, &dict_len, 2);
	buf[idx + 15] = (guint8)(2 | (6 << 5));
}

/* @buf as log_buf, with its indexes, decoded */
static GPtrArray *
legacy_decode(const guint8 *buf, guint32 len, guint32 first, guint32 next, GmemPrintkStats *stats,
	      GError **error)
{
	g_autoptr(GmemVmcoreinfo) info =
		gmem_vmcoreinfo_parse(legacy_vmcoreinfo, strlen(legacy_vmcoreinfo), NULL);
	SimMem *mem = sim_mem_new();
	GPtrArray *records;

	sim_mem_write_u64(mem, LOG_BUF_SYM, LOG_BUF_AT);
	sim_mem_write(mem, LOG_BUF_SYM + 8, &len, 4);
	sim_mem_write(mem, LOG_BUF_SYM + 12, &first, 4);
	sim_mem_write(mem, LOG_BUF_SYM + 16, &next, 4);
	sim_mem_write(mem, LOG_BUF_AT, buf, len);
	records = gmem_printk_read(info, sim_mem_read, mem, stats, error);
	sim_mem_free(mem);
	return records;
}

static void
test_gmem_printk_legacy(void **state)
{
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	GmemPrintkStats stats = {0};
	guint8 buf[LOG_BUF_LEN] = {0};
	guint32 first, next;
	const GmemPrintkRecord *r;

	/* first at 160: one record to the end (96 bytes), then a wrap to 0 */
	first = 160;
	next = legacy_put(buf, first, "old record that fills the end of the buffer", NULL, 3, 1000);
	next = legacy_put(buf, next, "wrapped", "SUBSYSTEM=pci\nDEVICE=+pci:0000:00:01.0", 6, 2000);
	next = legacy_put(buf, next, "newest", NULL, 7, 3000);
	assert_true(next < first);
	records = legacy_decode(buf, sizeof(buf), first, next, &stats, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_true(stats.legacy);
	assert_true(stats.seq_synthesized);
	assert_int_equal(records->len, 3);
	assert_record_text(records, 0, "old record that fills the end of the buffer");
	assert_record_text(records, 1, "wrapped");
	assert_record_text(records, 2, "newest");
	r = g_ptr_array_index(records, 1);
	assert_int_equal(r->level, 6);
	assert_int_equal(r->ts_nsec, 2000);
	assert_string_equal(r->subsystem, "pci");
	assert_string_equal(r->device, "+pci:0000:00:01.0");
	assert_int_equal(((GmemPrintkRecord *)g_ptr_array_index(records, 2))->level, 7);
}

static void
test_gmem_printk_no_layout(void **state)
{
	static const gchar text[] = "OSRELEASE=6.1\nSYMBOL(init_top_pgt)=ffffffff82000000\n";
	g_autoptr(GmemVmcoreinfo) info = gmem_vmcoreinfo_parse(text, strlen(text), NULL);
	g_autoptr(GError) error = NULL;
	SimMem *mem = sim_mem_new();

	assert_null(gmem_printk_read(info, sim_mem_read, mem, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
	sim_mem_free(mem);
}

/* garbage where the ring should be: an error, not a crash or a huge allocation */
static void
test_gmem_printk_garbage(void **state)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	guint8 junk[88];

	fixture_init(&f, 4, 10);
	sim_ring_push(&f.ring, "x", 6);
	sim_ring_store(&f.ring, f.mem, PRB_SYM, RB_AT);
	memset(junk, 0xff, sizeof(junk));
	sim_mem_write(f.mem, RB_AT, junk, sizeof(junk));
	assert_null(gmem_printk_read(f.info, sim_mem_read, f.mem, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	fixture_clear(&f);
}

/* a dictionary that ends in "DEVICE" or "SUBSYSTEM", a '=' in the padding
 * after it: no key, and no length underflow */
static void
test_gmem_printk_legacy_dict_padding(void **state)
{
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	guint8 buf[LOG_BUF_LEN] = {0};
	const GmemPrintkRecord *r;

	legacy_header(buf, 0, 40, 1, 18);
	memcpy(buf + LOG_HDR, "xSUBSYSTEM=a\0DEVICE", 19);
	buf[LOG_HDR + 19] = '=';
	legacy_header(buf, 40, 32, 1, 9);
	memcpy(buf + 40 + LOG_HDR, "ySUBSYSTEM", 10);
	buf[40 + LOG_HDR + 10] = '=';
	records = legacy_decode(buf, sizeof(buf), 0, 72, NULL, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(records->len, 2);
	r = g_ptr_array_index(records, 0);
	assert_string_equal(r->subsystem, "a");
	assert_null(r->device);
	r = g_ptr_array_index(records, 1);
	assert_null(r->subsystem);
	assert_null(r->device);
}

/* a dictionary that ends exactly at the end of log_buf: nothing read past it */
static void
test_gmem_printk_legacy_dict_at_buffer_end(void **state)
{
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	guint8 buf[LOG_BUF_LEN] = {0};

	legacy_header(buf, LOG_BUF_LEN - 24, 24, 2, 6);
	memcpy(buf + LOG_BUF_LEN - 8, "abDEVICE", 8);
	records = legacy_decode(buf, sizeof(buf), LOG_BUF_LEN - 24, 0, NULL, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(records->len, 1);
	assert_record_text(records, 0, "ab");
	assert_null(((GmemPrintkRecord *)g_ptr_array_index(records, 0))->device);
}

/* a key given twice: the last one, and the first not leaked */
static void
test_gmem_printk_legacy_dict_repeat(void **state)
{
	static const gchar dict[] = "SUBSYSTEM=a\0SUBSYSTEM=b\0DEVICE=c\0DEVICE=d";
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	guint8 buf[LOG_BUF_LEN] = {0};
	const GmemPrintkRecord *r;

	legacy_header(buf, 0, 64, 1, sizeof(dict) - 1);
	buf[LOG_HDR] = 'z';
	memcpy(buf + LOG_HDR + 1, dict, sizeof(dict) - 1);
	records = legacy_decode(buf, sizeof(buf), 0, 64, NULL, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(records->len, 1);
	r = g_ptr_array_index(records, 0);
	assert_string_equal(r->subsystem, "b");
	assert_string_equal(r->device, "d");
}

static gsize
records_text_bytes(GPtrArray *records)
{
	gsize total = 0;

	for (guint i = 0; i < records->len; i++)
		total +=
			g_bytes_get_size(((GmemPrintkRecord *)g_ptr_array_index(records, i))->text);
	return total;
}

/* a record, then a zero length that wraps back to it, and a next index the
 * walk never reaches: each record once, not once per lap */
static void
test_gmem_printk_legacy_walk_once(void **state)
{
	const guint32 big_len = 128 * 1024;
	g_autofree guint8 *big = g_malloc0(big_len);
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	guint8 buf[4096] = {0};

	legacy_header(buf, 0, 64, 4, 0);
	memcpy(buf + LOG_HDR, "loop", 4);
	legacy_header(buf, 64, 0, 0, 0);
	records = legacy_decode(buf, sizeof(buf), 0, 128, NULL, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(records->len, 1);
	assert_record_text(records, 0, "loop");
	g_clear_pointer(&records, g_ptr_array_unref);

	/* the same with a record of 64 KiB: longer than any kernel's, and once at most */
	legacy_header(big, 0, 65528, 65000, 0);
	memset(big + LOG_HDR, 'a', 65000);
	legacy_header(big, 65528, 0, 0, 0);
	records = legacy_decode(big, big_len, 0, 65536 + 64, NULL, &error);
	if (records == NULL)
		fail_msg("%s", error->message);
	assert_true(records->len <= 1);
	assert_true(records_text_bytes(records) <= 1024);
}

/* a ring header that claims 2^24 descriptors of 4 KiB, or 1 GiB of text:
 * refused before anything that size is allocated or read */
static void
test_gmem_printk_huge_ring(void **state)
{
	static const guint32 claims[][2] = {{24, 10}, {4, 30}, {22, 26}};
	g_autofree gchar *text = sim_vmcoreinfo(PRB_SYM, 0, 0, TRUE);
	g_autoptr(GString) big_info = g_string_new(text);

	g_string_replace(big_info, "SIZE(printk_info)=88", "SIZE(printk_info)=4096", 1);
	for (guint i = 0; i < G_N_ELEMENTS(claims); i++) {
		Fixture f;
		g_autoptr(GError) error = NULL;

		fixture_init(&f, 4, 10);
		if (i == 0) {
			gmem_vmcoreinfo_free(f.info);
			f.info = gmem_vmcoreinfo_parse(big_info->str, big_info->len, NULL);
		}
		sim_ring_push(&f.ring, "x", 6);
		sim_ring_store(&f.ring, f.mem, PRB_SYM, RB_AT);
		sim_mem_write(f.mem, RB_AT, &claims[i][0], 4);
		sim_mem_write(f.mem, RB_AT + 48, &claims[i][1], 4);
		assert_null(gmem_printk_read(f.info, sim_mem_read, f.mem, NULL, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
		assert_true(f.mem->read_bytes < 64 * 1024);
		fixture_clear(&f);
	}
}

/* every descriptor's block 8 bytes after the previous one's start, each
 * with its id there: overlapping blocks are read once, not once each */
static void
test_gmem_printk_lockless_overlap(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	GmemPrintkStats stats = {0};

	fixture_init(&f, 11, 16);
	for (guint64 k = 0; k < f.ring.count; k++) {
		guint64 id = f.ring.count + k;
		guint8 *d = sim_ring_desc(&f.ring, id);
		guint8 *info = sim_ring_info(&f.ring, id);
		guint16 text_len = 1000;

		sim_put_u64(d, (G_GUINT64_CONSTANT(2) << 62) | id);
		sim_put_u64(d + 8, 8 * k);
		sim_put_u64(d + 16, 8 * k + 1008);
		memset(info, 0, 88);
		sim_put_u64(info, k);
		memcpy(info + 16, &text_len, 2);
		sim_put_u64(f.ring.data + 8 * k, id);
	}
	f.ring.tail_id = f.ring.count;
	f.ring.head_id = 2 * f.ring.count - 1;
	records = fixture_decode(&f, &stats);
	assert_true(records->len > 0);
	assert_true(records_text_bytes(records) <= f.ring.size);
	assert_int_equal(records->len + stats.skipped, f.ring.count);
	fixture_clear(&f);
}

/* text longer than the kernel's record maximum (1024) is not taken */
static void
test_gmem_printk_long_text(void **state)
{
	Fixture f;
	g_autoptr(GPtrArray) records = NULL;
	g_autofree gchar *text = g_strnfill(2000, 'x');
	GmemPrintkStats stats = {0};

	fixture_init(&f, 4, 14);
	sim_ring_push(&f.ring, "before", 6);
	sim_ring_push(&f.ring, text, 6);
	sim_ring_push(&f.ring, "after", 6);
	records = fixture_decode(&f, &stats);
	assert_int_equal(records->len, 2);
	assert_record_text(records, 0, "before");
	assert_record_text(records, 1, "after");
	fixture_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmem_printk_fields),
		cmocka_unit_test(test_gmem_printk_escape),
		cmocka_unit_test(test_gmem_printk_wrap_around),
		cmocka_unit_test(test_gmem_printk_block_at_ring_end),
		cmocka_unit_test(test_gmem_printk_reused_descriptors),
		cmocka_unit_test(test_gmem_printk_truncated),
		cmocka_unit_test(test_gmem_printk_legacy),
		cmocka_unit_test(test_gmem_printk_no_layout),
		cmocka_unit_test(test_gmem_printk_garbage),
		cmocka_unit_test(test_gmem_printk_legacy_dict_padding),
		cmocka_unit_test(test_gmem_printk_legacy_dict_at_buffer_end),
		cmocka_unit_test(test_gmem_printk_legacy_dict_repeat),
		cmocka_unit_test(test_gmem_printk_legacy_walk_once),
		cmocka_unit_test(test_gmem_printk_lockless_overlap),
		cmocka_unit_test(test_gmem_printk_long_text),
		cmocka_unit_test(test_gmem_printk_huge_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
