/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Synthetic guest memory for the host-client memory tests: a sparse byte
 * space, x86-64 page tables built in it, a VMCOREINFO text, and a printk
 * ring buffer written the way Linux 6.x's printk_ringbuffer.c writes it. */

#include <string.h>

#include <glib.h>
#include <gio/gio.h>

#define SIM_PAGE    4096
#define SIM_ID_MASK (~(G_GUINT64_CONSTANT(3) << 62))

/* ---- a sparse byte space (physical, or virtual for the ring tests) ---- */

typedef struct {
	GHashTable *pages; /* page address -> guint8[SIM_PAGE] */
	guint reads;
	guint64 read_bytes;
} SimMem;

G_GNUC_UNUSED static SimMem *
sim_mem_new(void)
{
	SimMem *mem = g_new0(SimMem, 1);

	mem->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	return mem;
}

G_GNUC_UNUSED static void
sim_mem_free(SimMem *mem)
{
	g_hash_table_unref(mem->pages);
	g_free(mem);
}

G_GNUC_UNUSED static guint8 *
sim_mem_page(SimMem *mem, guint64 addr, gboolean create)
{
	guint64 key = addr & ~(guint64)(SIM_PAGE - 1);
	guint8 *page = g_hash_table_lookup(mem->pages, &key);

	if (page == NULL && create) {
		guint64 *k = g_new(guint64, 1);

		*k = key;
		page = g_malloc0(SIM_PAGE);
		g_hash_table_insert(mem->pages, k, page);
	}
	return page;
}

G_GNUC_UNUSED static void
sim_mem_write(SimMem *mem, guint64 addr, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len > 0) {
		gsize off = addr & (SIM_PAGE - 1);
		gsize n = MIN(len, SIM_PAGE - off);

		memcpy(sim_mem_page(mem, addr, TRUE) + off, p, n);
		addr += n;
		p += n;
		len -= n;
	}
}

G_GNUC_UNUSED static void
sim_mem_write_u64(SimMem *mem, guint64 addr, guint64 v)
{
	v = GUINT64_TO_LE(v);
	sim_mem_write(mem, addr, &v, 8);
}

/* a GmemPgtableReadFunc/GmemPrintkReadFunc: unwritten memory reads as 0 */
G_GNUC_UNUSED static gboolean
sim_mem_read(gpointer user_data, guint64 addr, void *buf, gsize len, GError **error)
{
	SimMem *mem = user_data;
	guint8 *out = buf;

	mem->reads++;
	mem->read_bytes += len;
	while (len > 0) {
		gsize off = addr & (SIM_PAGE - 1);
		gsize n = MIN(len, SIM_PAGE - off);
		const guint8 *page = sim_mem_page(mem, addr, FALSE);

		if (page != NULL)
			memcpy(out, page + off, n);
		else
			memset(out, 0, n);
		addr += n;
		out += n;
		len -= n;
	}
	return TRUE;
}

/* ---- page tables ---- */

typedef struct {
	SimMem *phys;
	gboolean la57;
	guint64 root;
	guint64 next_table; /* where the next table page goes */
	guint64 entry_bits; /* ORed into every entry: NX, sme, ... */
} SimMmu;

G_GNUC_UNUSED static void
sim_mmu_init(SimMmu *mmu, SimMem *phys, gboolean la57, guint64 tables_at)
{
	memset(mmu, 0, sizeof(*mmu));
	mmu->phys = phys;
	mmu->la57 = la57;
	mmu->root = tables_at;
	mmu->next_table = tables_at + SIM_PAGE;
	sim_mem_page(phys, mmu->root, TRUE);
}

/* maps @vaddr to @paddr with a page of @size (4 KiB, 2 MiB, 1 GiB) */
G_GNUC_UNUSED static void
sim_mmu_map(SimMmu *mmu, guint64 vaddr, guint64 paddr, guint64 size)
{
	guint64 table = mmu->root;
	gint leaf = size == (G_GUINT64_CONSTANT(1) << 30) ? 2 : size == (2u << 20) ? 1 : 0;

	for (gint level = mmu->la57 ? 4 : 3; level >= 0; level--) {
		guint shift = 12 + 9 * (guint)level;
		guint64 slot = table + ((vaddr >> shift) & 511) * 8;
		guint64 entry = 0;

		sim_mem_read(mmu->phys, slot, &entry, 8, NULL);
		if (level == leaf) {
			entry = (paddr & ~(size - 1)) | 0x63 | mmu->entry_bits |
				(leaf > 0 ? 0x80 : 0);
			sim_mem_write_u64(mmu->phys, slot, entry);
			return;
		}
		if ((entry & 1) == 0) {
			entry = mmu->next_table | 0x63 | mmu->entry_bits;
			sim_mem_page(mmu->phys, mmu->next_table, TRUE);
			mmu->next_table += SIM_PAGE;
			sim_mem_write_u64(mmu->phys, slot, entry);
		}
		table = entry & G_GUINT64_CONSTANT(0x000ffffffffff000) & ~mmu->entry_bits;
	}
}

/* ---- VMCOREINFO as Linux 6.1 on x86-64 exports it (measured layout) ---- */

G_GNUC_UNUSED static gchar *
sim_vmcoreinfo(guint64 prb, guint64 init_top_pgt, gint64 phys_base, gboolean la57)
{
	return g_strdup_printf("OSRELEASE=6.1.0-sim\n"
			       "BUILD-ID=0123456789abcdef\n"
			       "PAGESIZE=4096\n"
			       "SYMBOL(init_top_pgt)=%" G_GINT64_MODIFIER "x\n"
			       "NUMBER(pgtable_l5_enabled)=%d\n"
			       "NUMBER(phys_base)=%" G_GINT64_FORMAT "\n"
			       "NUMBER(sme_mask)=0\n"
			       "KERNELOFFSET=32800000\n"
			       "SYMBOL(prb)=%" G_GINT64_MODIFIER "x\n"
			       "SIZE(printk_ringbuffer)=88\n"
			       "OFFSET(printk_ringbuffer.desc_ring)=0\n"
			       "OFFSET(printk_ringbuffer.text_data_ring)=48\n"
			       "OFFSET(printk_ringbuffer.fail)=80\n"
			       "SIZE(prb_desc_ring)=48\n"
			       "OFFSET(prb_desc_ring.count_bits)=0\n"
			       "OFFSET(prb_desc_ring.descs)=8\n"
			       "OFFSET(prb_desc_ring.infos)=16\n"
			       "OFFSET(prb_desc_ring.head_id)=24\n"
			       "OFFSET(prb_desc_ring.tail_id)=32\n"
			       "SIZE(prb_desc)=24\n"
			       "OFFSET(prb_desc.state_var)=0\n"
			       "OFFSET(prb_desc.text_blk_lpos)=8\n"
			       "SIZE(prb_data_blk_lpos)=16\n"
			       "OFFSET(prb_data_blk_lpos.begin)=0\n"
			       "OFFSET(prb_data_blk_lpos.next)=8\n"
			       "SIZE(printk_info)=88\n"
			       "OFFSET(printk_info.seq)=0\n"
			       "OFFSET(printk_info.ts_nsec)=8\n"
			       "OFFSET(printk_info.text_len)=16\n"
			       "OFFSET(printk_info.caller_id)=20\n"
			       "OFFSET(printk_info.dev_info)=24\n"
			       "SIZE(dev_printk_info)=64\n"
			       "OFFSET(dev_printk_info.subsystem)=0\n"
			       "LENGTH(printk_info_subsystem)=16\n"
			       "OFFSET(dev_printk_info.device)=16\n"
			       "LENGTH(printk_info_device)=48\n"
			       "SIZE(prb_data_ring)=32\n"
			       "OFFSET(prb_data_ring.size_bits)=0\n"
			       "OFFSET(prb_data_ring.data)=8\n"
			       "OFFSET(prb_data_ring.head_lpos)=16\n"
			       "OFFSET(prb_data_ring.tail_lpos)=24\n"
			       "SIZE(atomic_long_t)=8\n"
			       "OFFSET(atomic_long_t.counter)=0\n",
			       init_top_pgt, la57 ? 1 : 0, phys_base, prb);
}

/* ---- VMCOREINFO of a log_buf kernel (4.18): the pointer log_buf and its
 * length, first and next index at 0xffffffff82000000, 8, 12, 16 ---- */

#define SIM_LEGACY_VMCOREINFO                                                                      \
	"OSRELEASE=4.18.0-sim\n"                                                                   \
	"SYMBOL(log_buf)=ffffffff82000000\n"                                                       \
	"SYMBOL(log_buf_len)=ffffffff82000008\n"                                                   \
	"SYMBOL(log_first_idx)=ffffffff8200000c\n"                                                 \
	"SYMBOL(log_next_idx)=ffffffff82000010\n"                                                  \
	"SIZE(printk_log)=16\n"                                                                    \
	"OFFSET(printk_log.ts_nsec)=0\n"                                                           \
	"OFFSET(printk_log.len)=8\n"                                                               \
	"OFFSET(printk_log.text_len)=10\n"

/* ---- a printk ring buffer ---- */

typedef struct {
	guint count_bits;
	guint size_bits;
	guint64 count;
	guint64 size;
	guint8 *descs; /* count * 24 */
	guint8 *infos; /* count * 88 */
	guint8 *data;  /* size */
	guint64 head_id, tail_id;
	guint64 head_lpos, tail_lpos;
	guint64 seq;
	guint64 pushed;
} SimRing;

G_GNUC_UNUSED static guint8 *
sim_ring_desc(SimRing *r, guint64 id)
{
	return r->descs + (id & (r->count - 1)) * 24;
}

G_GNUC_UNUSED static guint8 *
sim_ring_info(SimRing *r, guint64 id)
{
	return r->infos + (id & (r->count - 1)) * 88;
}

G_GNUC_UNUSED static void
sim_put_u64(guint8 *p, guint64 v)
{
	v = GUINT64_TO_LE(v);
	memcpy(p, &v, 8);
}

G_GNUC_UNUSED static guint64
sim_get_u64(const guint8 *p)
{
	guint64 v;

	memcpy(&v, p, 8);
	return GUINT64_FROM_LE(v);
}

G_GNUC_UNUSED static void
sim_ring_init(SimRing *r, guint count_bits, guint size_bits)
{
	guint64 desc0;

	memset(r, 0, sizeof(*r));
	r->count_bits = count_bits;
	r->size_bits = size_bits;
	r->count = G_GUINT64_CONSTANT(1) << count_bits;
	r->size = G_GUINT64_CONSTANT(1) << size_bits;
	r->descs = g_malloc0(r->count * 24);
	r->infos = g_malloc0(r->count * 88);
	r->data = g_malloc0(r->size);
	/* as DESC0_ID() and BLK0_LPOS(): ids start just below a 2^32 boundary,
	 * lpos just below 2^64, and the first descriptor is reusable */
	desc0 = (guint64)(guint32)(0u - (guint32)(r->count + 1)) & SIM_ID_MASK;
	r->head_id = r->tail_id = desc0;
	r->head_lpos = r->tail_lpos = G_GUINT64_CONSTANT(0) - r->size;
	sim_put_u64(sim_ring_desc(r, desc0), (G_GUINT64_CONSTANT(3) << 62) | desc0);
	sim_put_u64(sim_ring_desc(r, desc0) + 8, 1);
	sim_put_u64(sim_ring_desc(r, desc0) + 16, 1);
}

G_GNUC_UNUSED static void
sim_ring_clear(SimRing *r)
{
	g_free(r->descs);
	g_free(r->infos);
	g_free(r->data);
}

/* drops the oldest record, as data_make_reusable()/desc_make_reusable() */
G_GNUC_UNUSED static void
sim_ring_evict(SimRing *r)
{
	guint8 *d = sim_ring_desc(r, r->tail_id);
	guint64 next = sim_get_u64(d + 16);

	sim_put_u64(d, (G_GUINT64_CONSTANT(3) << 62) | r->tail_id);
	if ((next & 1) == 0)
		r->tail_lpos = next;
	r->tail_id = (r->tail_id + 1) & SIM_ID_MASK;
}

G_GNUC_UNUSED static void
sim_ring_push_full(SimRing *r, const gchar *text, gsize len, guint level, guint facility,
		   guint flags, guint64 ts_nsec, guint32 caller, const gchar *subsystem,
		   const gchar *device)
{
	guint64 id = (r->head_id + 1) & SIM_ID_MASK;
	guint8 *d;
	guint8 *info;
	guint64 begin, next;

	while (((id - r->tail_id) & SIM_ID_MASK) >= r->count)
		sim_ring_evict(r);
	if (len == 0) {
		begin = next = 3; /* NO_LPOS: an empty line */
	} else {
		guint64 size = (8 + len + 7) & ~G_GUINT64_CONSTANT(7);
		guint8 *block;

		g_assert(size <= r->size / 2);
		begin = r->head_lpos;
		/* get_next_lpos(): a block that does not fit goes to the ring's start */
		if ((begin >> r->size_bits) == ((begin + size - 1) >> r->size_bits))
			next = begin + size;
		else
			next = ((begin + size) & ~(r->size - 1)) + size;
		while (next - r->tail_lpos > r->size && r->tail_id != r->head_id)
			sim_ring_evict(r);
		if (next - r->tail_lpos > r->size)
			r->tail_lpos = next - r->size;
		block = (next - begin == size) ? r->data + (begin & (r->size - 1)) : r->data;
		sim_put_u64(block, id);
		memcpy(block + 8, text, len);
		r->head_lpos = next;
	}
	d = sim_ring_desc(r, id);
	sim_put_u64(d, (G_GUINT64_CONSTANT(2) << 62) | id);
	sim_put_u64(d + 8, begin);
	sim_put_u64(d + 16, next);
	info = sim_ring_info(r, id);
	memset(info, 0, 88);
	sim_put_u64(info, r->seq++);
	sim_put_u64(info + 8, ts_nsec);
	info[16] = (guint8)(len & 0xff);
	info[17] = (guint8)(len >> 8);
	info[18] = (guint8)facility;
	info[19] = (guint8)((flags & 0x1f) | (level << 5));
	memcpy(info + 20, &caller, 4);
	if (subsystem != NULL)
		strncpy((gchar *)info + 24, subsystem, 16);
	if (device != NULL)
		strncpy((gchar *)info + 24 + 16, device, 48);
	r->head_id = id;
	r->pushed++;
}

G_GNUC_UNUSED static void
sim_ring_push(SimRing *r, const gchar *text, guint level)
{
	sim_ring_push_full(r, text, strlen(text), level, 0, 2, 1000000 * (r->seq + 1), 0x80000000u,
			   NULL, NULL);
}

/* writes the ring's structures to @mem: prb (the pointer variable) at
 * @prb_sym, the struct and the arrays after @at */
G_GNUC_UNUSED static void
sim_ring_store(SimRing *r, SimMem *mem, guint64 prb_sym, guint64 at)
{
	guint8 rb[88] = {0};
	guint64 descs = at + 4096;
	guint64 infos = descs + ((r->count * 24 + 4095) & ~G_GUINT64_CONSTANT(4095));
	guint64 data = infos + ((r->count * 88 + 4095) & ~G_GUINT64_CONSTANT(4095));

	sim_mem_write_u64(mem, prb_sym, at);
	memcpy(rb, &r->count_bits, 4);
	sim_put_u64(rb + 8, descs);
	sim_put_u64(rb + 16, infos);
	sim_put_u64(rb + 24, r->head_id);
	sim_put_u64(rb + 32, r->tail_id);
	memcpy(rb + 48, &r->size_bits, 4);
	sim_put_u64(rb + 56, data);
	sim_put_u64(rb + 64, r->head_lpos);
	sim_put_u64(rb + 72, r->tail_lpos);
	sim_mem_write(mem, at, rb, sizeof(rb));
	sim_mem_write(mem, descs, r->descs, r->count * 24);
	sim_mem_write(mem, infos, r->infos, r->count * 88);
	sim_mem_write(mem, data, r->data, r->size);
}
