/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz-support.h"
#include "gmem-dmesg.h"
#include "gmem-printk.h"
#include "gmem-sim.h"

/*
 * The host's guest-memory reader (guest-memory/), in two modes chosen by
 * the first byte:
 *  - 0x7f: the input is an ELF memory dump (it starts "\x7fELF"), read by
 *    gmem_dmesg_read_from_elf(): program headers, the VMCOREINFO note, the
 *    page walk from init_top_pgt on the PT_LOADs, both printk formats;
 *  - else: the printk decoders (gmem_printk_read()) on a simulated kernel
 *    memory, so the fuzzer reaches them without building an ELF: bit 0
 *    picks the log_buf format (1) or the lockless ring (0). Then: level and
 *    tail of the reply (0xff: none), a length and that much VMCOREINFO text
 *    that overrides the Linux 6.1 (or 4.18) layout line by line, the
 *    ring's (count bits, size bits, tail id, head - tail) or log_buf's
 *    (length, first index, next index) header, and the rest is memory:
 *    descriptors, infos, then text (lockless) or log_buf itself, readable
 *    up to FUZZ_GMEM_SLACK bytes past the input (zeros), an error beyond.
 * What must hold besides the sanitizers: a reply or an error, never both;
 * every message and dictionary entry printable ASCII; the reply one JSON
 * object on the wire; no more records than the ring has descriptors (or
 * log_buf has room for headers).
 */

/* where the simulated kernel keeps things (the ELF seeds use the same;
 * SIM_LEGACY_VMCOREINFO's log_buf symbols are there too) */
#define FUZZ_GMEM_SYMBOLS G_GUINT64_CONSTANT(0xffffffff82000000)
#define FUZZ_GMEM_RB	  G_GUINT64_CONSTANT(0xffffffff82001000)
#define FUZZ_GMEM_MEMORY  G_GUINT64_CONSTANT(0xffff888010000000)
#define FUZZ_GMEM_SLACK	  (1u << 20)

/* a simulated region of kernel virtual memory */
typedef struct {
	guint64 base;
	const guint8 *data;
	gsize len;  /* of @data */
	gsize size; /* readable: @data, then zeros */
} FuzzGmemRegion;

typedef struct {
	FuzzGmemRegion regions[3];
} FuzzGmemMemory;

static gboolean
fuzz_gmem_read(gpointer user_data, guint64 vaddr, void *buf, gsize len, GError **error)
{
	FuzzGmemMemory *mem = user_data;

	for (guint i = 0; i < G_N_ELEMENTS(mem->regions); i++) {
		const FuzzGmemRegion *r = &mem->regions[i];
		guint64 off = vaddr - r->base;
		gsize n;

		if (vaddr < r->base || off > r->size || len > r->size - off)
			continue;
		n = off < r->len ? (gsize)MIN((guint64)len, r->len - off) : 0;
		if (n > 0)
			memcpy(buf, r->data + off, n);
		memset((guint8 *)buf + n, 0, len - n);
		return TRUE;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "0x%" G_GINT64_MODIFIER "x (%" G_GSIZE_FORMAT " bytes) is not mapped", vaddr,
		    len);
	return FALSE;
}

/* guest-dmesg's reply: records with printable text, at most @max of them */
static void
fuzz_gmem_check_reply(JsonObject *reply, guint64 max)
{
	JsonNode *member = json_object_get_member(reply, "records");
	JsonArray *records = member != NULL ? json_node_get_array(member) : NULL;

	if (records == NULL || json_array_get_length(records) > max) {
		g_printerr("%u records, at most %" G_GUINT64_FORMAT " expected\n",
			   records != NULL ? json_array_get_length(records) : 0, max);
		abort();
	}
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *record = json_array_get_object_element(records, i);
		JsonNode *dict_node = json_object_get_member(record, "dictionary");
		JsonObject *dict = dict_node != NULL ? json_node_get_object(dict_node) : NULL;
		g_autoptr(GList) keys = dict != NULL ? json_object_get_members(dict) : NULL;

		fuzz_support_assert_printable(json_object_get_string_member(record, "message"));
		for (GList *k = keys; k != NULL; k = k->next) {
			fuzz_support_assert_printable(k->data);
			fuzz_support_assert_printable(json_object_get_string_member(dict, k->data));
		}
	}
}

static void
fuzz_gmem_dump(const guint8 *data, gsize size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply =
		gmem_dmesg_read_from_elf(data, size, "fuzz-input", NULL, &error);
	gsize offset, text_len;

	if ((reply == NULL) == (error == NULL))
		abort();
	/* a record takes at least 8 bytes of the dump (a legacy header; a
	 * descriptor is 24): more is a dump whose PT_LOADs show the same
	 * bytes many times over */
	if (reply != NULL)
		fuzz_gmem_check_reply(reply, size / 8 + 2);
	/* what a scan of guest RAM for the note would find in these bytes */
	if (gmem_vmcoreinfo_scan_buffer(data, size, &offset, &text_len) &&
	    (offset > size || text_len > size - offset))
		abort();
}

static void
fuzz_gmem_sim(FuzzInput *in, gboolean legacy)
{
	guint8 level = fuzz_input_byte(in);
	guint8 tail = fuzz_input_byte(in);
	gsize override_len;
	const guint8 *override = fuzz_input_take(in, fuzz_input_byte(in), &override_len);
	g_autofree gchar *base = legacy ? g_strdup(SIM_LEGACY_VMCOREINFO)
					: sim_vmcoreinfo(FUZZ_GMEM_SYMBOLS, 0, 0, FALSE);
	g_autofree gchar *text =
		g_strdup_printf("%s%.*s", base, (gint)override_len, (const gchar *) override);
	g_autoptr(GmemVmcoreinfo) info = gmem_vmcoreinfo_parse(text, strlen(text), NULL);
	guint8 symbols[24] = {0};
	guint8 rb[88] = {0};
	FuzzGmemMemory mem = {{{FUZZ_GMEM_SYMBOLS, symbols, sizeof(symbols), sizeof(symbols)}}};
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply = NULL;
	g_autofree gchar *line = NULL;
	g_autoptr(JsonNode) node = NULL;
	GmemPrintkStats stats = {0};
	guint64 max;

	/* an override can remove OSRELEASE ("OSRELEASE" without '=' is no entry) */
	if (info == NULL)
		return;
	if (legacy) {
		guint32 buf_len = (guint32)fuzz_input_uint(in, 4);
		guint32 first = (guint32)fuzz_input_uint(in, 4);
		guint32 next = (guint32)fuzz_input_uint(in, 4);

		sim_put_u64(symbols, FUZZ_GMEM_MEMORY);
		memcpy(symbols + 8, &buf_len, 4);
		memcpy(symbols + 12, &first, 4);
		memcpy(symbols + 16, &next, 4);
		/* a header takes at least 8 bytes (ts_nsec), and the walk may wrap once */
		max = (guint64)buf_len / 8 + 2;
	} else {
		guint32 count_bits = fuzz_input_byte(in) % 32;
		guint32 size_bits = fuzz_input_byte(in) % 32;
		guint64 tail_id = fuzz_input_uint(in, 8) & SIM_ID_MASK;
		guint64 head_id = (tail_id + fuzz_input_uint(in, 2)) & SIM_ID_MASK;
		guint64 count = G_GUINT64_CONSTANT(1) << count_bits;

		/* as sim_ring_store(), the arrays one after the other in the input */
		sim_put_u64(symbols, FUZZ_GMEM_RB);
		memcpy(rb, &count_bits, 4);
		sim_put_u64(rb + 8, FUZZ_GMEM_MEMORY);
		sim_put_u64(rb + 16, FUZZ_GMEM_MEMORY + count * 24);
		sim_put_u64(rb + 24, head_id);
		sim_put_u64(rb + 32, tail_id);
		memcpy(rb + 48, &size_bits, 4);
		sim_put_u64(rb + 56, FUZZ_GMEM_MEMORY + count * (24 + 88));
		mem.regions[1] = (FuzzGmemRegion){FUZZ_GMEM_RB, rb, sizeof(rb), sizeof(rb)};
		max = count;
	}
	mem.regions[2] =
		(FuzzGmemRegion){FUZZ_GMEM_MEMORY, in->data, in->len, in->len + FUZZ_GMEM_SLACK};

	records = gmem_printk_read(info, fuzz_gmem_read, &mem, &stats, &error);
	if ((records == NULL) == (error == NULL))
		abort();
	if (records == NULL)
		return;
	/* an override naming the other format's symbols switches formats */
	if (stats.legacy != legacy)
		max = G_MAXUINT;
	if (records->len > max) {
		g_printerr("%u records, at most %" G_GUINT64_FORMAT " expected\n", records->len,
			   max);
		abort();
	}
	reply = gmem_printk_records_to_reply(records, &stats, level == 0xff ? -1 : level % 8,
					     tail == 0xff ? -1 : tail);
	line = g_strconcat(reply, "\n", NULL);
	node = fuzz_support_decode_line(line, strlen(line));
	if (!JSON_NODE_HOLDS_OBJECT(node))
		abort();
	fuzz_gmem_check_reply(json_node_get_object(node), max);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	guint8 mode;

	if (size > 0 && data[0] == 0x7f) {
		fuzz_gmem_dump(data, size);
		return 0;
	}
	mode = fuzz_input_byte(&in);
	fuzz_gmem_sim(&in, (mode & 1) != 0);
	return 0;
}
