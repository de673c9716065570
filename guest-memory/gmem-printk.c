/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "gmem-printk.h"

/* printk_ringbuffer.h: the state in the top two bits of state_var */
#define GMEM_PRINTK_SV_SHIFT	 62
#define GMEM_PRINTK_ID_MASK	 (~(G_GUINT64_CONSTANT(3) << GMEM_PRINTK_SV_SHIFT))
#define GMEM_PRINTK_COMMITTED	 1
#define GMEM_PRINTK_FINALIZED	 2
/* data-less blocks: an empty line has both lpos NO_LPOS, a failed one FAILED_LPOS */
#define GMEM_PRINTK_NO_LPOS	 G_GUINT64_CONSTANT(0x3)
#define GMEM_PRINTK_LOG_CONT	 8
/* sanity bounds on what guest memory claims */
#define GMEM_PRINTK_COUNT_BITS_MAX 24
#define GMEM_PRINTK_SIZE_BITS_MAX  30
#define GMEM_PRINTK_STRUCT_MAX     4096

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

void
gmem_printk_escape_append(GString *out, const guint8 *data, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		guint8 c = data[i];

		/* as the kernel's msg_add_ext_text() */
		if (c < 0x20 || c >= 0x7f || c == '\\')
			g_string_append_printf(out, "\\x%02x", c);
		else
			g_string_append_c(out, (gchar)c);
	}
}

JsonObject *
gmem_printk_record_to_json(const GmemPrintkRecord *self)
{
	JsonObject *object = json_object_new();
	g_autoptr(GString) message = g_string_new(NULL);
	gsize len = 0;
	const guint8 *text = self->text != NULL ? g_bytes_get_data(self->text, &len) : NULL;

	gmem_printk_escape_append(message, text, len);
	json_object_set_int_member(object, "seq", (gint64)self->seq);
	json_object_set_int_member(object, "ts-us", (gint64)(self->ts_nsec / 1000));
	json_object_set_int_member(object, "level", self->level);
	json_object_set_int_member(object, "facility", self->facility);
	json_object_set_string_member(object, "message", message->str);
	if ((self->flags & GMEM_PRINTK_LOG_CONT) != 0)
		json_object_set_boolean_member(object, "continuation", TRUE);
	if ((self->subsystem != NULL && self->subsystem[0] != '\0') ||
	    (self->device != NULL && self->device[0] != '\0')) {
		JsonObject *dict = json_object_new();

		if (self->subsystem != NULL && self->subsystem[0] != '\0') {
			g_autoptr(GString) v = g_string_new(NULL);

			gmem_printk_escape_append(v, (const guint8 *)self->subsystem,
						    strlen(self->subsystem));
			json_object_set_string_member(dict, "SUBSYSTEM", v->str);
		}
		if (self->device != NULL && self->device[0] != '\0') {
			g_autoptr(GString) v = g_string_new(NULL);

			gmem_printk_escape_append(v, (const guint8 *)self->device,
						    strlen(self->device));
			json_object_set_string_member(dict, "DEVICE", v->str);
		}
		json_object_set_object_member(object, "dictionary", dict);
	}
	return object;
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
	l->have_dev = l->dev_off != G_MAXSIZE &&
		      l->dev_off + MAX(l->subsys_off + l->subsys_len,
				       l->device_off + l->device_len) <= l->info_size;
	if (l->sv_off + 8 > l->desc_size || l->lpos_off + l->begin_off + 8 > l->desc_size ||
	    l->lpos_off + l->next_off + 8 > l->desc_size || l->seq_off + 8 > l->info_size ||
	    l->ts_off + 8 > l->info_size || l->text_len_off + 4 > l->info_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk offsets do not fit their structures");
		return FALSE;
	}
	return TRUE;
}

static GPtrArray *
gmem_printk_read_lockless(GmemPrintkCtx *ctx, GmemPrintkStats *stats, GError **error)
{
	g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)gmem_printk_record_free);
	g_autofree guint8 *rb = NULL;
	g_autofree guint8 *descs = NULL;
	g_autofree guint8 *infos = NULL;
	g_autofree guint8 *data = NULL;
	GmemPrintkLayout l = {0};
	guint64 prb_sym, prb, v, descs_addr, infos_addr, data_addr, head_id, tail_id, n_ids;
	gsize rb_size, desc_ring, text_ring, count_bits_off, descs_off, infos_off, head_off,
	    tail_off, size_bits_off, data_off;
	gsize counter = gmem_printk_get_small_or(ctx, "OFFSET(atomic_long_t.counter)", 0);
	guint32 count_bits, size_bits;
	guint64 count, size;

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
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_ring.size_bits)", &size_bits_off,
				     error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(prb_data_ring.data)", &data_off, error) ||
	    !gmem_printk_layout(ctx, &l, error))
		return NULL;
	if (desc_ring + MAX(MAX(count_bits_off + 4, descs_off + 8),
			    MAX(infos_off + 8, MAX(head_off, tail_off) + counter + 8)) > rb_size ||
	    text_ring + MAX(size_bits_off + 4, data_off + 8) > rb_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk_ringbuffer offsets do not fit its size");
		return NULL;
	}

	/* prb is a pointer: to printk_rb_static, or to the log_buf_len= one */
	if (!ctx->read(ctx->user_data, prb_sym, &v, sizeof(v), error)) {
		g_prefix_error(error, "reading prb at 0x%" G_GINT64_MODIFIER "x: ", prb_sym);
		return NULL;
	}
	prb = GUINT64_FROM_LE(v);
	rb = gmem_printk_read_alloc(ctx, prb, rb_size, "the printk ring buffer", error);
	if (rb == NULL)
		return NULL;
	count_bits = gmem_printk_u32(rb + desc_ring + count_bits_off);
	descs_addr = gmem_printk_u64(rb + desc_ring + descs_off);
	infos_addr = gmem_printk_u64(rb + desc_ring + infos_off);
	head_id = gmem_printk_u64(rb + desc_ring + head_off + counter);
	tail_id = gmem_printk_u64(rb + desc_ring + tail_off + counter);
	size_bits = gmem_printk_u32(rb + text_ring + size_bits_off);
	data_addr = gmem_printk_u64(rb + text_ring + data_off);
	if (count_bits > GMEM_PRINTK_COUNT_BITS_MAX || size_bits > GMEM_PRINTK_SIZE_BITS_MAX ||
	    size_bits < 3) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "implausible printk ring buffer at 0x%" G_GINT64_MODIFIER
			    "x: 2^%u descriptors, 2^%u bytes of text",
			    prb, count_bits, size_bits);
		return NULL;
	}
	count = G_GUINT64_CONSTANT(1) << count_bits;
	size = G_GUINT64_CONSTANT(1) << size_bits;
	g_debug("printk ring at 0x%" G_GINT64_MODIFIER "x: %" G_GUINT64_FORMAT
		" descriptors, %" G_GUINT64_FORMAT " bytes of text, ids %" G_GUINT64_FORMAT
		"..%" G_GUINT64_FORMAT,
		prb, count, size, tail_id, head_id);
	descs = gmem_printk_read_alloc(ctx, descs_addr, count * l.desc_size, "the descriptors",
					 error);
	if (descs == NULL)
		return NULL;
	infos = gmem_printk_read_alloc(ctx, infos_addr, count * l.info_size,
					 "the record infos", error);
	if (infos == NULL)
		return NULL;
	data = gmem_printk_read_alloc(ctx, data_addr, size, "the text ring", error);
	if (data == NULL)
		return NULL;
	if (stats != NULL) {
		stats->buffer_bytes = size;
		stats->text_address = data_addr;
	}

	/* tail to head inclusive, as prb_read_valid() walks them by seq */
	n_ids = ((head_id - tail_id) & GMEM_PRINTK_ID_MASK) + 1;
	if (n_ids > count) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "printk tail id %" G_GUINT64_FORMAT " and head id %" G_GUINT64_FORMAT
			    " span more than %" G_GUINT64_FORMAT " descriptors",
			    tail_id, head_id, count);
		return NULL;
	}
	for (guint64 k = 0, id = tail_id; k < n_ids; k++, id = (id + 1) & GMEM_PRINTK_ID_MASK) {
		const guint8 *desc = descs + (id & (count - 1)) * l.desc_size;
		const guint8 *info = infos + (id & (count - 1)) * l.info_size;
		guint64 sv = gmem_printk_u64(desc + l.sv_off);
		guint state = (guint)(sv >> GMEM_PRINTK_SV_SHIFT);
		guint64 begin = gmem_printk_u64(desc + l.lpos_off + l.begin_off);
		guint64 next = gmem_printk_u64(desc + l.lpos_off + l.next_off);
		guint text_len = gmem_printk_u16(info + l.text_len_off);
		g_autoptr(GmemPrintkRecord) rec = NULL;
		const guint8 *text = NULL;
		guint64 data_size = 0;

		/* a reserved record is still being written, a reusable one is gone */
		if ((sv & GMEM_PRINTK_ID_MASK) != id ||
		    (state != GMEM_PRINTK_COMMITTED && state != GMEM_PRINTK_FINALIZED)) {
			if (stats != NULL)
				stats->skipped++;
			continue;
		}
		if ((begin & 1) != 0) {
			/* data-less: an empty line, or text that found no room */
			if (begin != GMEM_PRINTK_NO_LPOS || next != GMEM_PRINTK_NO_LPOS) {
				if (stats != NULL)
					stats->skipped++;
				continue;
			}
			text_len = 0;
		} else {
			const guint8 *block;

			/* as get_data(): in one wrap, or wrapping to the ring's start; a
			 * block that ends the ring exactly is in one wrap (Linux >= 6.x
			 * stores it there, older kernels wrap it: both decode) */
			if (next - begin - 1 < size &&
			    (begin >> size_bits) == ((next - 1) >> size_bits)) {
				block = data + (begin & (size - 1));
				data_size = next - begin;
			} else if (((begin + size) >> size_bits) == (next >> size_bits)) {
				block = data;
				data_size = next & (size - 1);
			} else {
				block = NULL;
			}
			/* the block starts with its descriptor's id: another means it was reused */
			if (block == NULL || data_size < 8 || (data_size & 7) != 0 ||
			    gmem_printk_u64(block) != id || data_size - 8 < text_len) {
				if (stats != NULL)
					stats->skipped++;
				continue;
			}
			text = block + 8;
		}
		rec = g_new0(GmemPrintkRecord, 1);
		rec->seq = gmem_printk_u64(info + l.seq_off);
		rec->ts_nsec = gmem_printk_u64(info + l.ts_off);
		/* u16 text_len; u8 facility; u8 flags:5, level:3; not exported, and
		 * unchanged since 5.10: used where caller_id sits right after them */
		if (l.caller_off == l.text_len_off + 4 || l.caller_off == G_MAXSIZE) {
			rec->facility = info[l.text_len_off + 2];
			rec->flags = info[l.text_len_off + 3] & 0x1f;
			rec->level = info[l.text_len_off + 3] >> 5;
		} else {
			rec->level = 4; /* the kernel's default message level */
		}
		if (l.caller_off != G_MAXSIZE && l.caller_off + 4 <= l.info_size)
			rec->caller_id = gmem_printk_u32(info + l.caller_off);
		rec->text = g_bytes_new(text, text_len);
		if (l.have_dev) {
			rec->subsystem = gmem_printk_strndup_nonempty(
			    info + l.dev_off + l.subsys_off, l.subsys_len);
			rec->device = gmem_printk_strndup_nonempty(info + l.dev_off + l.device_off,
								     l.device_len);
		}
		g_ptr_array_add(records, g_steal_pointer(&rec));
	}
	return g_steal_pointer(&records);
}

/* Linux 3.5 to 5.9: struct printk_log records in log_buf, a zero len wraps */
static GPtrArray *
gmem_printk_read_legacy(GmemPrintkCtx *ctx, GmemPrintkStats *stats, GError **error)
{
	g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)gmem_printk_record_free);
	g_autofree guint8 *buf = NULL;
	guint64 sym_buf, sym_len, sym_first, sym_next, v;
	guint64 buf_addr;
	guint32 buf_len, first_idx, next_idx;
	gsize hdr_size, ts_off, len_off, text_len_off;
	guint64 seq = 0;

	if (!gmem_printk_get(ctx, "SYMBOL(log_buf)", &sym_buf, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_buf_len)", &sym_len, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_first_idx)", &sym_first, error) ||
	    !gmem_printk_get(ctx, "SYMBOL(log_next_idx)", &sym_next, error) ||
	    !gmem_printk_get_small(ctx, "SIZE(printk_log)", &hdr_size, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.ts_nsec)", &ts_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.len)", &len_off, error) ||
	    !gmem_printk_get_small(ctx, "OFFSET(printk_log.text_len)", &text_len_off, error))
		return NULL;
	if (ts_off + 8 > hdr_size || len_off + 2 > hdr_size || text_len_off + 6 > hdr_size) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "VMCOREINFO's printk_log offsets do not fit its size");
		return NULL;
	}
	if (!ctx->read(ctx->user_data, sym_buf, &v, 8, error) ||
	    !ctx->read(ctx->user_data, sym_len, &buf_len, 4, error) ||
	    !ctx->read(ctx->user_data, sym_first, &first_idx, 4, error) ||
	    !ctx->read(ctx->user_data, sym_next, &next_idx, 4, error)) {
		g_prefix_error(error, "reading log_buf's variables: ");
		return NULL;
	}
	buf_addr = GUINT64_FROM_LE(v);
	buf_len = GUINT32_FROM_LE(buf_len);
	first_idx = GUINT32_FROM_LE(first_idx);
	next_idx = GUINT32_FROM_LE(next_idx);
	if (buf_len == 0 || buf_len > (1u << GMEM_PRINTK_SIZE_BITS_MAX) || first_idx >= buf_len ||
	    next_idx >= buf_len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "implausible log_buf: %u bytes, first %u, next %u", buf_len, first_idx,
			    next_idx);
		return NULL;
	}
	buf = gmem_printk_read_alloc(ctx, buf_addr, buf_len, "log_buf", error);
	if (buf == NULL)
		return NULL;
	if (stats != NULL) {
		stats->buffer_bytes = buf_len;
		stats->text_address = buf_addr;
		stats->seq_synthesized = TRUE;
	}
	/* every record is at least a header: that bounds the walk */
	for (guint32 idx = first_idx, n = 0; idx != next_idx && n <= buf_len / hdr_size + 1; n++) {
		g_autoptr(GmemPrintkRecord) rec = NULL;
		guint16 len, text_len, dict_len;
		const guint8 *hdr;

		if ((guint64)idx + hdr_size > buf_len) {
			idx = 0;
			continue;
		}
		hdr = buf + idx;
		len = gmem_printk_u16(hdr + len_off);
		if (len == 0) {
			/* the end of the buffer: the next record is at its start */
			idx = 0;
			continue;
		}
		text_len = gmem_printk_u16(hdr + text_len_off);
		dict_len = gmem_printk_u16(hdr + text_len_off + 2);
		if (len < hdr_size || (guint64)idx + len > buf_len ||
		    hdr_size + (gsize)text_len + dict_len > len) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "corrupt log_buf record at index %u", idx);
			return NULL;
		}
		rec = g_new0(GmemPrintkRecord, 1);
		rec->seq = seq++;
		rec->ts_nsec = gmem_printk_u64(hdr + ts_off);
		/* u16 dict_len; u8 facility; u8 flags:5, level:3 after text_len */
		rec->facility = hdr[text_len_off + 4];
		rec->flags = hdr[text_len_off + 5] & 0x1f;
		rec->level = hdr[text_len_off + 5] >> 5;
		rec->text = g_bytes_new(hdr + hdr_size, text_len);
		if (dict_len > 0) {
			/* "SUBSYSTEM=x\0DEVICE=y" */
			for (gsize at = 0; at < dict_len;) {
				const gchar *kv = (const gchar *)hdr + hdr_size + text_len + at;
				gsize kvlen = strnlen(kv, dict_len - at);

				if (strncmp(kv, "SUBSYSTEM=", 10) == 0)
					rec->subsystem = g_strndup(kv + 10, kvlen - 10);
				else if (strncmp(kv, "DEVICE=", 7) == 0)
					rec->device = g_strndup(kv + 7, kvlen - 7);
				at += kvlen + 1;
			}
		}
		g_ptr_array_add(records, g_steal_pointer(&rec));
		idx += len;
	}
	return g_steal_pointer(&records);
}

GPtrArray *
gmem_printk_read(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
		   GmemPrintkStats *stats, GError **error)
{
	GmemPrintkCtx ctx = {info, read, user_data};
	GmemPrintkStats local = {0};
	GPtrArray *records;

	g_return_val_if_fail(info != NULL, NULL);
	g_return_val_if_fail(read != NULL, NULL);

	if (gmem_vmcoreinfo_get(info, "SYMBOL(prb)") != NULL) {
		records = gmem_printk_read_lockless(&ctx, &local, error);
	} else if (gmem_vmcoreinfo_get(info, "SYMBOL(log_buf)") != NULL) {
		local.legacy = TRUE;
		records = gmem_printk_read_legacy(&ctx, &local, error);
	} else {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "VMCOREINFO describes no printk buffer (neither SYMBOL(prb) "
				    "nor SYMBOL(log_buf))");
		return NULL;
	}
	if (records != NULL && stats != NULL)
		*stats = local;
	return records;
}
