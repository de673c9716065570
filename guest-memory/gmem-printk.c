/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "gmem-printk.h"
#include "kmsg-record.h"

/* printk_ringbuffer.h: the state in the top two bits of state_var */
#define GMEM_PRINTK_SV_SHIFT  62
#define GMEM_PRINTK_ID_MASK   (~(G_GUINT64_CONSTANT(3) << GMEM_PRINTK_SV_SHIFT))
#define GMEM_PRINTK_COMMITTED 1
#define GMEM_PRINTK_FINALIZED 2
/* data-less blocks: an empty line has both lpos NO_LPOS, a failed one FAILED_LPOS */
#define GMEM_PRINTK_NO_LPOS  G_GUINT64_CONSTANT(0x3)
#define GMEM_PRINTK_LOG_CONT 8
/*
 * What guest memory claims, bounded by what a real kernel can have
 * (kernel/printk/printk.c, printk_ringbuffer.h); the limits are in
 * docs/security.md and the man page too:
 * - the text ring (or log_buf): log_buf_len= allows up to LOG_BUF_LEN_MAX
 *   (2 GiB), but the whole ring is copied while the guest is paused: 64 MiB
 *   is eight times what the largest distribution default (CONFIG_LOG_BUF_SHIFT
 *   25 is the Kconfig maximum, 32 MiB) and log_buf_len=64M allow
 * - descriptors: the kernel gives a ring of 2^n bytes 2^(n - PRB_AVGBITS (5))
 * - struct prb_desc is 24 bytes and struct printk_info 88 on every kernel
 *   since 5.10, struct printk_log 16 before it
 * - a record's text: PRINTKRB_RECORD_MAX (LOG_LINE_MAX before), 1024 bytes;
 *   a log_buf dictionary: dev_vprintk_emit()'s dict[128]
 * So at most 64 MiB + 2^21 * (32 + 128) bytes = 384 MiB are copied.
 */
#define GMEM_PRINTK_SIZE_BITS_MAX  26
#define GMEM_PRINTK_COUNT_BITS_MAX (GMEM_PRINTK_SIZE_BITS_MAX - 5)
#define GMEM_PRINTK_DESC_MAX	   32
#define GMEM_PRINTK_INFO_MAX	   128
#define GMEM_PRINTK_LOG_HDR_MAX	   64
#define GMEM_PRINTK_TEXT_MAX	   1024
#define GMEM_PRINTK_DICT_MAX	   256
/* an OFFSET() inside one of those structures */
#define GMEM_PRINTK_STRUCT_MAX 4096

void
gmem_printk_record_free(GmemPrintkRecord *self)
{
	if (self == NULL)
		return;
	g_bytes_unref(self->text);
	g_free(self->subsystem);
	g_free(self->device);
	g_free(self);
}

/* "KEY=value", the value escaped as /dev/kmsg has it; none when empty */
static void
gmem_printk_dict_add(GPtrArray *dict, const gchar *key, const gchar *value)
{
	g_autoptr(GString) entry = NULL;

	if (value == NULL || value[0] == '\0')
		return;
	entry = g_string_new(key);
	g_string_append_c(entry, '=');
	kmsg_record_escape_append(entry, value, strlen(value), TRUE);
	g_ptr_array_add(dict, g_string_free(g_steal_pointer(&entry), FALSE));
}

KmsgRecord *
gmem_printk_record_to_kmsg(const GmemPrintkRecord *self)
{
	KmsgRecord *record = g_new0(KmsgRecord, 1);
	g_autoptr(GPtrArray) dict = g_ptr_array_new_with_free_func(g_free);
	gsize len = 0;
	const gchar *text = self->text != NULL ? g_bytes_get_data(self->text, &len) : NULL;

	g_return_val_if_fail(self != NULL, NULL);

	record->seq = self->seq;
	record->ts_usec = self->ts_nsec / 1000;
	record->level = self->level;
	record->facility = self->facility;
	record->continuation = (self->flags & GMEM_PRINTK_LOG_CONT) != 0;
	/* raw bytes: the backslash too, as the kernel's msg_add_ext_text() */
	record->message = kmsg_record_escape(text, len, TRUE);
	gmem_printk_dict_add(dict, "SUBSYSTEM", self->subsystem);
	gmem_printk_dict_add(dict, "DEVICE", self->device);
	if (dict->len > 0) {
		g_ptr_array_add(dict, NULL);
		record->dict = (gchar **)g_ptr_array_free(g_steal_pointer(&dict), FALSE);
	}
	return record;
}

gchar *
gmem_printk_records_to_reply(GPtrArray *records, const GmemPrintkStats *stats, gint level,
			     gint64 tail)
{
	KmsgRecordFilter filter;
	g_autoptr(KmsgRecordReply) reply = NULL;
	KmsgRecordEnvelope envelope = {.source = "memory"};

	g_return_val_if_fail(records != NULL, NULL);
	g_return_val_if_fail(stats != NULL, NULL);

	kmsg_record_filter_init(&filter);
	if (level >= 0)
		filter.level = (guint)level;
	filter.tail = tail;
	reply = kmsg_record_reply_new(&filter);
	for (guint i = 0; i < records->len; i++) {
		g_autoptr(KmsgRecord) record =
			gmem_printk_record_to_kmsg(g_ptr_array_index(records, i));

		/* no bounds: every record fits */
		(void)kmsg_record_reply_add(reply, &record);
	}
	envelope.seq_synthesized = stats->seq_synthesized;
	envelope.first_seq =
		records->len > 0 ? ((GmemPrintkRecord *)g_ptr_array_index(records, 0))->seq : 0;
	/* the whole buffer, read at once: the cursor is the newest record returned */
	envelope.next_seq = kmsg_record_reply_get_last_seq(reply);
	return kmsg_record_reply_finish(reply, &envelope);
}

/* ---- reading what VMCOREINFO describes ---- */

typedef struct {
	const GmemVmcoreinfo *info;
	GmemPrintkReadFunc read;
	gpointer user_data;
} GmemPrintkCtx;

static gboolean
gmem_printk_get(GmemPrintkCtx *ctx, const gchar *key, guint64 *value, GError **error)
{
	return gmem_vmcoreinfo_get_u64(ctx->info, key, value, error);
}

/* an OFFSET()/SIZE() that must lie inside a structure we read */
static gboolean
gmem_printk_get_small(GmemPrintkCtx *ctx, const gchar *key, gsize *value, GError **error)
{
	guint64 v;

	if (!gmem_printk_get(ctx, key, &v, error))
		return FALSE;
	if (v > GMEM_PRINTK_STRUCT_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "VMCOREINFO '%s' is implausible: %" G_GUINT64_FORMAT, key, v);
		return FALSE;
	}
	*value = (gsize)v;
	return TRUE;
}

static gsize
gmem_printk_get_small_or(GmemPrintkCtx *ctx, const gchar *key, gsize fallback)
{
	gsize v;

	return gmem_printk_get_small(ctx, key, &v, NULL) ? v : fallback;
}

static guint8 *
gmem_printk_read_alloc(GmemPrintkCtx *ctx, guint64 vaddr, gsize len, const gchar *what,
		       GError **error)
{
	g_autofree guint8 *buf = g_malloc(MAX(len, 1));

	if (!ctx->read(ctx->user_data, vaddr, buf, len, error)) {
		g_prefix_error(error, "reading %s at 0x%" G_GINT64_MODIFIER "x: ", what, vaddr);
		return NULL;
	}
	return g_steal_pointer(&buf);
}

static guint64
gmem_printk_u64(const guint8 *p)
{
	guint64 v;

	memcpy(&v, p, sizeof(v));
	return GUINT64_FROM_LE(v);
}

static guint32
gmem_printk_u32(const guint8 *p)
{
	guint32 v;

	memcpy(&v, p, sizeof(v));
	return GUINT32_FROM_LE(v);
}

static guint16
gmem_printk_u16(const guint8 *p)
{
	guint16 v;

	memcpy(&v, p, sizeof(v));
	return GUINT16_FROM_LE(v);
}

static gchar *
gmem_printk_strndup_nonempty(const guint8 *p, gsize max)
{
	gsize n = strnlen((const gchar *)p, max);

	return n > 0 ? g_strndup((const gchar *)p, n) : NULL;
}

typedef struct {
	gsize desc_size, sv_off, lpos_off, begin_off, next_off;
	gsize info_size, seq_off, ts_off, text_len_off, caller_off, dev_off;
	gsize subsys_off, subsys_len, device_off, device_len;
	gboolean have_dev;
} GmemPrintkLayout;

static gboolean
gmem_printk_layout(GmemPrintkCtx *ctx, GmemPrintkLayout *l, GError **error)
{
	gsize counter = gmem_printk_get_small_or(ctx, "OFFSET(atomic_long_t.counter)", 0);

	if (!gmem_printk_get_small(ctx, "SIZE(prb_desc)", &l->desc_size, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc.state_var)", &l->sv_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc.text_blk_lpos)", &l->lpos_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_blk_lpos.begin)", &l->begin_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_blk_lpos.next)", &l->next_off, error) ||
	    !gmem_printk_get_small(ctx, "SIZE(printk_info)", &l->info_size, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_info.seq)", &l->seq_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_info.ts_nsec)", &l->ts_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_info.text_len)", &l->text_len_off, error))
		return FALSE;
	l->sv_off += counter;
	l->caller_off = gmem_printk_get_small_or(ctx, "OFFSET(printk_info.caller_id)", G_MAXSIZE);
	l->dev_off = gmem_printk_get_small_or(ctx, "OFFSET(printk_info.dev_info)", G_MAXSIZE);
	l->subsys_off = gmem_printk_get_small_or(ctx, "OFFSET(dev_printk_info.subsystem)", 0);
	l->subsys_len = gmem_printk_get_small_or(ctx, "LENGTH(printk_info_subsystem)", 0);
	l->device_off = gmem_printk_get_small_or(ctx, "OFFSET(dev_printk_info.device)", 0);
	l->device_len = gmem_printk_get_small_or(ctx, "LENGTH(printk_info_device)", 0);
	if (l->desc_size > GMEM_PRINTK_DESC_MAX || l->info_size > GMEM_PRINTK_INFO_MAX) {
		g_set_error(
			error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			"VMCOREINFO's printk structures are implausible: prb_desc %" G_GSIZE_FORMAT
			" bytes (at most %u), printk_info %" G_GSIZE_FORMAT " (at most %u)",
			l->desc_size, GMEM_PRINTK_DESC_MAX, l->info_size, GMEM_PRINTK_INFO_MAX);
		return FALSE;
	}
	l->have_dev = l->dev_off != G_MAXSIZE && l->dev_off + MAX(l->subsys_off + l->subsys_len,
								  l->device_off + l->device_len) <=
							 l->info_size;
	if (l->sv_off + 8 > l->desc_size || l->lpos_off + l->begin_off + 8 > l->desc_size ||
	    l->lpos_off + l->next_off + 8 > l->desc_size || l->seq_off + 8 > l->info_size ||
	    l->ts_off + 8 > l->info_size || l->text_len_off + 4 > l->info_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk offsets do not fit their structures");
		return FALSE;
	}
	return TRUE;
}

/* the lockless ring, its header and then its arrays read from the guest */
typedef struct {
	GmemPrintkLayout l;
	guint64 prb;
	guint32 count_bits, size_bits;
	guint64 count, size;
	guint64 descs_addr, infos_addr, data_addr;
	guint64 head_id, tail_id;
	guint8 *descs, *infos, *data;
} GmemPrintkRing;

static void
gmem_printk_ring_clear(GmemPrintkRing *ring)
{
	g_clear_pointer(&ring->descs, g_free);
	g_clear_pointer(&ring->infos, g_free);
	g_clear_pointer(&ring->data, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GmemPrintkRing, gmem_printk_ring_clear)

/* struct printk_ringbuffer, through the pointer prb, as VMCOREINFO lays it out */
static gboolean
gmem_printk_ring_locate(GmemPrintkCtx *ctx, GmemPrintkRing *ring, GError **error)
{
	g_autofree guint8 *rb = NULL;
	guint64 prb_sym, v;
	gsize rb_size, desc_ring, text_ring, count_bits_off, descs_off, infos_off, head_off,
		tail_off, size_bits_off, data_off;
	gsize counter = gmem_printk_get_small_or(ctx, "OFFSET(atomic_long_t.counter)", 0);

	if (!gmem_printk_get(ctx, "SYMBOL(prb)", &prb_sym, error) ||
	    !gmem_printk_get_small(ctx, "SIZE(printk_ringbuffer)", &rb_size, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_ringbuffer.desc_ring)", &desc_ring, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_ringbuffer.text_data_ring)", &text_ring,
				   error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc_ring.count_bits)", &count_bits_off,
				   error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc_ring.descs)", &descs_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc_ring.infos)", &infos_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc_ring.head_id)", &head_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_desc_ring.tail_id)", &tail_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_ring.size_bits)", &size_bits_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_ring.data)", &data_off, error) ||
	    !gmem_printk_layout(ctx, &ring->l, error))
		return FALSE;
	if (desc_ring + MAX(MAX(count_bits_off + 4, descs_off + 8),
			    MAX(infos_off + 8, MAX(head_off, tail_off) + counter + 8)) >
		    rb_size ||
	    text_ring + MAX(size_bits_off + 4, data_off + 8) > rb_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk_ringbuffer offsets do not fit its size");
		return FALSE;
	}

	/* prb is a pointer: to printk_rb_static, or to the log_buf_len= one */
	if (!ctx->read(ctx->user_data, prb_sym, &v, sizeof(v), error)) {
		g_prefix_error(error, "reading prb at 0x%" G_GINT64_MODIFIER "x: ", prb_sym);
		return FALSE;
	}
	ring->prb = GUINT64_FROM_LE(v);
	rb = gmem_printk_read_alloc(ctx, ring->prb, rb_size, "the printk ring buffer", error);
	if (rb == NULL)
		return FALSE;
	ring->count_bits = gmem_printk_u32(rb + desc_ring + count_bits_off);
	ring->descs_addr = gmem_printk_u64(rb + desc_ring + descs_off);
	ring->infos_addr = gmem_printk_u64(rb + desc_ring + infos_off);
	ring->head_id = gmem_printk_u64(rb + desc_ring + head_off + counter);
	ring->tail_id = gmem_printk_u64(rb + desc_ring + tail_off + counter);
	ring->size_bits = gmem_printk_u32(rb + text_ring + size_bits_off);
	ring->data_addr = gmem_printk_u64(rb + text_ring + data_off);
	if (ring->count_bits > GMEM_PRINTK_COUNT_BITS_MAX ||
	    ring->size_bits > GMEM_PRINTK_SIZE_BITS_MAX || ring->size_bits < 3) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "implausible printk ring buffer at 0x%" G_GINT64_MODIFIER
			    "x: 2^%u descriptors (at most 2^%u), 2^%u bytes of text (at most 2^%u)",
			    ring->prb, ring->count_bits, GMEM_PRINTK_COUNT_BITS_MAX,
			    ring->size_bits, GMEM_PRINTK_SIZE_BITS_MAX);
		return FALSE;
	}
	ring->count = G_GUINT64_CONSTANT(1) << ring->count_bits;
	ring->size = G_GUINT64_CONSTANT(1) << ring->size_bits;
	g_debug("printk ring at 0x%" G_GINT64_MODIFIER "x: %" G_GUINT64_FORMAT
		" descriptors, %" G_GUINT64_FORMAT " bytes of text, ids %" G_GUINT64_FORMAT
		"..%" G_GUINT64_FORMAT,
		ring->prb, ring->count, ring->size, ring->tail_id, ring->head_id);
	return TRUE;
}

/* the descriptors, their infos and the text ring, each in one read */
static gboolean
gmem_printk_ring_fetch(GmemPrintkCtx *ctx, GmemPrintkRing *ring, GError **error)
{
	ring->descs = gmem_printk_read_alloc(ctx, ring->descs_addr, ring->count * ring->l.desc_size,
					     "the descriptors", error);
	if (ring->descs == NULL)
		return FALSE;
	ring->infos = gmem_printk_read_alloc(ctx, ring->infos_addr, ring->count * ring->l.info_size,
					     "the record infos", error);
	if (ring->infos == NULL)
		return FALSE;
	ring->data =
		gmem_printk_read_alloc(ctx, ring->data_addr, ring->size, "the text ring", error);
	return ring->data != NULL;
}

/* the text of descriptor @id, as prb_read_valid() would find it, and the
 * logical positions its data block spans (@begin == @next: none); FALSE
 * when the record is not (or no longer) readable */
static gboolean
gmem_printk_ring_text(const GmemPrintkRing *ring, guint64 id, const guint8 **text, guint *text_len,
		      guint64 *lpos_begin, guint64 *lpos_next)
{
	const GmemPrintkLayout *l = &ring->l;
	const guint8 *desc = ring->descs + (id & (ring->count - 1)) * l->desc_size;
	const guint8 *info = ring->infos + (id & (ring->count - 1)) * l->info_size;
	guint64 sv = gmem_printk_u64(desc + l->sv_off);
	guint state = (guint)(sv >> GMEM_PRINTK_SV_SHIFT);
	guint64 begin = gmem_printk_u64(desc + l->lpos_off + l->begin_off);
	guint64 next = gmem_printk_u64(desc + l->lpos_off + l->next_off);
	const guint8 *block;
	guint64 data_size = 0;

	/* a reserved record is still being written, a reusable one is gone */
	if ((sv & GMEM_PRINTK_ID_MASK) != id ||
	    (state != GMEM_PRINTK_COMMITTED && state != GMEM_PRINTK_FINALIZED))
		return FALSE;
	if ((begin & 1) != 0) {
		/* data-less: an empty line, or text that found no room */
		*text = NULL;
		*text_len = 0;
		*lpos_begin = *lpos_next = 0;
		return begin == GMEM_PRINTK_NO_LPOS && next == GMEM_PRINTK_NO_LPOS;
	}
	/* as get_data(): in one wrap, or wrapping to the ring's start; a block
	 * that ends the ring exactly is in one wrap (Linux >= 6.x stores it
	 * there, older kernels wrap it: both decode) */
	if (next - begin - 1 < ring->size &&
	    (begin >> ring->size_bits) == ((next - 1) >> ring->size_bits)) {
		block = ring->data + (begin & (ring->size - 1));
		data_size = next - begin;
	} else if (((begin + ring->size) >> ring->size_bits) == (next >> ring->size_bits)) {
		block = ring->data;
		data_size = next & (ring->size - 1);
	} else {
		return FALSE;
	}
	*text_len = gmem_printk_u16(info + l->text_len_off);
	/* the block starts with its descriptor's id: another means it was reused */
	if (data_size < 8 || (data_size & 7) != 0 || gmem_printk_u64(block) != id ||
	    data_size - 8 < *text_len || *text_len > GMEM_PRINTK_TEXT_MAX)
		return FALSE;
	*text = block + 8;
	*lpos_begin = begin;
	*lpos_next = next;
	return TRUE;
}

/* the record descriptor @id's info describes */
static GmemPrintkRecord *
gmem_printk_ring_record(const GmemPrintkRing *ring, guint64 id, const guint8 *text, guint text_len)
{
	const GmemPrintkLayout *l = &ring->l;
	const guint8 *info = ring->infos + (id & (ring->count - 1)) * l->info_size;
	GmemPrintkRecord *rec = g_new0(GmemPrintkRecord, 1);

	rec->seq = gmem_printk_u64(info + l->seq_off);
	rec->ts_nsec = gmem_printk_u64(info + l->ts_off);
	/* u16 text_len; u8 facility; u8 flags:5, level:3; not exported, and
	 * unchanged since 5.10: used where caller_id sits right after them */
	if (l->caller_off == l->text_len_off + 4 || l->caller_off == G_MAXSIZE) {
		rec->facility = info[l->text_len_off + 2];
		rec->flags = info[l->text_len_off + 3] & 0x1f;
		rec->level = info[l->text_len_off + 3] >> 5;
	} else {
		rec->level = 4; /* the kernel's default message level */
	}
	if (l->caller_off != G_MAXSIZE && l->caller_off + 4 <= l->info_size)
		rec->caller_id = gmem_printk_u32(info + l->caller_off);
	rec->text = g_bytes_new(text, text_len);
	if (l->have_dev) {
		rec->subsystem = gmem_printk_strndup_nonempty(info + l->dev_off + l->subsys_off,
							      l->subsys_len);
		rec->device = gmem_printk_strndup_nonempty(info + l->dev_off + l->device_off,
							   l->device_len);
	}
	return rec;
}

/*
 * Linux >= 5.10: the lockless ring (kernel/printk/printk_ringbuffer.c),
 * fetched. Each descriptor from tail to head is visited once, and the data
 * blocks taken follow each other without overlap inside one ring's worth of
 * positions, as the kernel lays them out: whatever the descriptors claim,
 * the records hold at most the ring's size of text.
 */
static GPtrArray *
gmem_printk_decode_lockless(const GmemPrintkRing *ring, GmemPrintkStats *stats, GError **error)
{
	g_autoptr(GPtrArray) records =
		g_ptr_array_new_with_free_func((GDestroyNotify)gmem_printk_record_free);
	guint64 n_ids;
	guint64 window = 0;
	guint64 taken_next = 0;
	gboolean taken_any = FALSE;

	stats->buffer_bytes = ring->size;
	stats->text_address = ring->data_addr;
	/* tail to head inclusive, as prb_read_valid() walks them by seq */
	n_ids = ((ring->head_id - ring->tail_id) & GMEM_PRINTK_ID_MASK) + 1;
	if (n_ids > ring->count) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "printk tail id %" G_GUINT64_FORMAT " and head id %" G_GUINT64_FORMAT
			    " span more than %" G_GUINT64_FORMAT " descriptors",
			    ring->tail_id, ring->head_id, ring->count);
		return NULL;
	}
	for (guint64 k = 0, id = ring->tail_id; k < n_ids;
	     k++, id = (id + 1) & GMEM_PRINTK_ID_MASK) {
		const guint8 *text = NULL;
		guint text_len = 0;
		guint64 begin = 0;
		guint64 next = 0;

		if (!gmem_printk_ring_text(ring, id, &text, &text_len, &begin, &next)) {
			stats->skipped++;
			continue;
		}
		if (begin != next) {
			/* before the last block taken, or more than a ring after the first */
			if (taken_any &&
			    ((gint64)(begin - taken_next) < 0 || next - window > ring->size)) {
				stats->skipped++;
				continue;
			}
			if (!taken_any)
				window = begin;
			taken_any = TRUE;
			taken_next = next;
		}
		g_ptr_array_add(records, gmem_printk_ring_record(ring, id, text, text_len));
	}
	return g_steal_pointer(&records);
}

/* log_buf and its indexes, read from the guest */
typedef struct {
	gsize hdr_size, ts_off, len_off, text_len_off;
	guint64 buf_addr;
	guint32 buf_len, first_idx, next_idx;
	guint8 *buf;
} GmemPrintkLogBuf;

static void
gmem_printk_log_buf_clear(GmemPrintkLogBuf *lb)
{
	g_clear_pointer(&lb->buf, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GmemPrintkLogBuf, gmem_printk_log_buf_clear)

/* struct printk_log's layout, and where log_buf and its indexes are */
static gboolean
gmem_printk_log_buf_locate(GmemPrintkCtx *ctx, GmemPrintkLogBuf *lb, GError **error)
{
	guint64 sym_buf, sym_len, sym_first, sym_next, v;

	if (!gmem_printk_get(ctx, "SYMBOL(log_buf)", &sym_buf, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_buf_len)", &sym_len, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_first_idx)", &sym_first, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_next_idx)", &sym_next, error) ||
	    !gmem_printk_get_small(ctx, "SIZE(printk_log)", &lb->hdr_size, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.ts_nsec)", &lb->ts_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.len)", &lb->len_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.text_len)", &lb->text_len_off, error))
		return FALSE;
	if (lb->hdr_size > GMEM_PRINTK_LOG_HDR_MAX || lb->ts_off + 8 > lb->hdr_size ||
	    lb->len_off + 2 > lb->hdr_size || lb->text_len_off + 6 > lb->hdr_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk_log offsets do not fit its size");
		return FALSE;
	}
	if (!ctx->read(ctx->user_data, sym_buf, &v, 8, error) ||
	    !ctx->read(ctx->user_data, sym_len, &lb->buf_len, 4, error) ||
	    !ctx->read(ctx->user_data, sym_first, &lb->first_idx, 4, error) ||
	    !ctx->read(ctx->user_data, sym_next, &lb->next_idx, 4, error)) {
		g_prefix_error(error, "reading log_buf's variables: ");
		return FALSE;
	}
	lb->buf_addr = GUINT64_FROM_LE(v);
	lb->buf_len = GUINT32_FROM_LE(lb->buf_len);
	lb->first_idx = GUINT32_FROM_LE(lb->first_idx);
	lb->next_idx = GUINT32_FROM_LE(lb->next_idx);
	if (lb->buf_len == 0 || lb->buf_len > (1u << GMEM_PRINTK_SIZE_BITS_MAX) ||
	    lb->first_idx >= lb->buf_len || lb->next_idx >= lb->buf_len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "implausible log_buf: %u bytes (at most %u), first %u, next %u",
			    lb->buf_len, 1u << GMEM_PRINTK_SIZE_BITS_MAX, lb->first_idx,
			    lb->next_idx);
		return FALSE;
	}
	return TRUE;
}

/* "KEY=value" of @len bytes (no NUL) at @kv: when it is @key's, its value
 * replaces what @slot held */
static gboolean
gmem_printk_dict_take(gchar **slot, const gchar *kv, gsize len, const gchar *key)
{
	gsize key_len = strlen(key);

	if (len < key_len || memcmp(kv, key, key_len) != 0)
		return FALSE;
	g_free(*slot);
	*slot = g_strndup(kv + key_len, len - key_len);
	return TRUE;
}

/* the record of @len bytes at @idx, its text and dictionary within them;
 * NULL without @error for one longer than a kernel writes */
static GmemPrintkRecord *
gmem_printk_log_buf_record(const GmemPrintkLogBuf *lb, guint32 idx, guint16 len, guint64 seq,
			   GError **error)
{
	const guint8 *hdr = lb->buf + idx;
	guint16 text_len = gmem_printk_u16(hdr + lb->text_len_off);
	guint16 dict_len = gmem_printk_u16(hdr + lb->text_len_off + 2);
	const gchar *dict = (const gchar *)hdr + lb->hdr_size + text_len;
	GmemPrintkRecord *rec;

	if (len < lb->hdr_size || (guint64)idx + len > lb->buf_len ||
	    lb->hdr_size + (gsize)text_len + dict_len > len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "corrupt log_buf record at index %u", idx);
		return NULL;
	}
	if (text_len > GMEM_PRINTK_TEXT_MAX || dict_len > GMEM_PRINTK_DICT_MAX)
		return NULL;
	rec = g_new0(GmemPrintkRecord, 1);
	rec->seq = seq;
	rec->ts_nsec = gmem_printk_u64(hdr + lb->ts_off);
	/* u16 dict_len; u8 facility; u8 flags:5, level:3 after text_len */
	rec->facility = hdr[lb->text_len_off + 4];
	rec->flags = hdr[lb->text_len_off + 5] & 0x1f;
	rec->level = hdr[lb->text_len_off + 5] >> 5;
	rec->text = g_bytes_new(hdr + lb->hdr_size, text_len);
	/* "SUBSYSTEM=x\0DEVICE=y", every key=value inside dict_len */
	for (gsize at = 0; at < dict_len;) {
		const gchar *kv = dict + at;
		gsize kv_len = strnlen(kv, dict_len - at);

		if (!gmem_printk_dict_take(&rec->subsystem, kv, kv_len, "SUBSYSTEM="))
			(void)gmem_printk_dict_take(&rec->device, kv, kv_len, "DEVICE=");
		at += kv_len + 1;
	}
	return rec;
}

/*
 * Linux 3.5 to 5.9: struct printk_log records in log_buf, fetched, from
 * first_idx to next_idx; a zero len (or no room for a header) wraps to the
 * start. The walk covers log_buf once at most: whatever the lengths claim,
 * no record is visited twice.
 */
static GPtrArray *
gmem_printk_decode_legacy(const GmemPrintkLogBuf *lb, GmemPrintkStats *stats, GError **error)
{
	g_autoptr(GPtrArray) records =
		g_ptr_array_new_with_free_func((GDestroyNotify)gmem_printk_record_free);
	guint64 seq = 0;
	guint64 walked = 0;

	stats->buffer_bytes = lb->buf_len;
	stats->text_address = lb->buf_addr;
	stats->seq_synthesized = TRUE;
	for (guint32 idx = lb->first_idx; idx != lb->next_idx;) {
		g_autoptr(GError) error_local = NULL;
		GmemPrintkRecord *rec;
		guint16 len = 0;
		guint64 step;

		if ((guint64)idx + lb->hdr_size <= lb->buf_len)
			len = gmem_printk_u16(lb->buf + idx + lb->len_off);
		/* a zero len ends the buffer: the next record is at its start */
		step = len != 0 ? len : lb->buf_len - idx;
		if (walked + step > lb->buf_len) {
			g_debug("log_buf walk from %u came back round before %u", lb->first_idx,
				lb->next_idx);
			stats->skipped++;
			break;
		}
		walked += step;
		if (len == 0) {
			idx = 0;
			continue;
		}
		rec = gmem_printk_log_buf_record(lb, idx, len, seq++, &error_local);
		if (error_local != NULL) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (rec != NULL)
			g_ptr_array_add(records, rec);
		else
			stats->skipped++;
		idx += len;
	}
	return g_steal_pointer(&records);
}

/* what gmem_printk_fetch() copied: one of the two layouts */
struct _GmemPrintkSnapshot {
	gboolean legacy;
	GmemPrintkRing ring;
	GmemPrintkLogBuf lb;
};

void
gmem_printk_snapshot_free(GmemPrintkSnapshot *self)
{
	if (self == NULL)
		return;
	gmem_printk_ring_clear(&self->ring);
	gmem_printk_log_buf_clear(&self->lb);
	g_free(self);
}

/* which layout VMCOREINFO describes; FALSE with @error for neither */
static gboolean
gmem_printk_is_legacy(const GmemVmcoreinfo *info, gboolean *legacy, GError **error)
{
	*legacy = gmem_vmcoreinfo_get(info, "SYMBOL(prb)") == NULL;
	if (*legacy && gmem_vmcoreinfo_get(info, "SYMBOL(log_buf)") == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "VMCOREINFO describes no printk buffer (neither SYMBOL(prb) "
				    "nor SYMBOL(log_buf))");
		return FALSE;
	}
	return TRUE;
}

GmemPrintkSnapshot *
gmem_printk_fetch(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
		  GError **error)
{
	GmemPrintkCtx ctx = {info, read, user_data};
	g_autoptr(GmemPrintkSnapshot) self = g_new0(GmemPrintkSnapshot, 1);

	g_return_val_if_fail(info != NULL, NULL);
	g_return_val_if_fail(read != NULL, NULL);

	if (!gmem_printk_is_legacy(info, &self->legacy, error))
		return NULL;
	if (!self->legacy) {
		if (!gmem_printk_ring_locate(&ctx, &self->ring, error) ||
		    !gmem_printk_ring_fetch(&ctx, &self->ring, error))
			return NULL;
		return g_steal_pointer(&self);
	}
	if (!gmem_printk_log_buf_locate(&ctx, &self->lb, error))
		return NULL;
	self->lb.buf =
		gmem_printk_read_alloc(&ctx, self->lb.buf_addr, self->lb.buf_len, "log_buf", error);
	return self->lb.buf != NULL ? g_steal_pointer(&self) : NULL;
}

GPtrArray *
gmem_printk_decode(const GmemPrintkSnapshot *self, GmemPrintkStats *stats, GError **error)
{
	GmemPrintkStats local = {0};
	GPtrArray *records;

	g_return_val_if_fail(self != NULL, NULL);

	local.legacy = self->legacy;
	if (self->legacy)
		records = gmem_printk_decode_legacy(&self->lb, &local, error);
	else
		records = gmem_printk_decode_lockless(&self->ring, &local, error);
	if (records != NULL && stats != NULL)
		*stats = local;
	return records;
}

gboolean
gmem_printk_probe(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
		  GError **error)
{
	GmemPrintkCtx ctx = {info, read, user_data};
	g_auto(GmemPrintkRing) ring = {0};
	g_auto(GmemPrintkLogBuf) lb = {0};
	gboolean legacy = FALSE;
	guint64 q;

	g_return_val_if_fail(info != NULL, FALSE);
	g_return_val_if_fail(read != NULL, FALSE);

	if (!gmem_printk_is_legacy(info, &legacy, error))
		return FALSE;
	if (legacy)
		return gmem_printk_log_buf_locate(&ctx, &lb, error) &&
		       read(user_data, lb.buf_addr, &q, sizeof(q), error) &&
		       read(user_data, lb.buf_addr + lb.buf_len - sizeof(q), &q, sizeof(q), error);
	/* the header, then the first and last words of each array: mapped */
	return gmem_printk_ring_locate(&ctx, &ring, error) &&
	       read(user_data, ring.descs_addr, &q, sizeof(q), error) &&
	       read(user_data, ring.descs_addr + ring.count * ring.l.desc_size - sizeof(q), &q,
		    sizeof(q), error) &&
	       read(user_data, ring.infos_addr, &q, sizeof(q), error) &&
	       read(user_data, ring.infos_addr + ring.count * ring.l.info_size - sizeof(q), &q,
		    sizeof(q), error) &&
	       read(user_data, ring.data_addr, &q, sizeof(q), error) &&
	       read(user_data, ring.data_addr + ring.size - sizeof(q), &q, sizeof(q), error);
}

GPtrArray *
gmem_printk_read(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
		 GmemPrintkStats *stats, GError **error)
{
	g_autoptr(GmemPrintkSnapshot) snapshot = gmem_printk_fetch(info, read, user_data, error);

	return snapshot != NULL ? gmem_printk_decode(snapshot, stats, error) : NULL;
}
