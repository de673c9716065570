/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* x86-64 kernel virtual to guest physical: the 4- or 5-level walk from
 * init_top_pgt that makedumpfile does (arch/x86_64.c vtop4_x86_64), on
 * physical reads the caller provides, so the tests can use synthetic memory */

#define GMEM_PGTABLE_START_KERNEL_MAP G_GUINT64_CONSTANT(0xffffffff80000000)
/* the kernel's default when VMCOREINFO has no NUMBER(KERNEL_IMAGE_SIZE) */
#define GMEM_PGTABLE_KERNEL_IMAGE_SIZE_DEFAULT (G_GUINT64_CONSTANT(1) << 30)

/* reads @len bytes of guest physical memory at @paddr into @buf */
typedef gboolean (*GmemPgtableReadFunc)(gpointer user_data, guint64 paddr, void *buf, gsize len,
					GError **error);

typedef struct _ClientPgtable GmemPgtable;

/**
 * gmem_pgtable_new:
 * @root_paddr: the physical address of the top level table (init_top_pgt)
 * @five_level: NUMBER(pgtable_l5_enabled)
 * @sme_mask: NUMBER(sme_mask), masked out of every entry (0 without SME)
 * @phys_base: NUMBER(phys_base), for the kernel image mapping
 * @kernel_image_size: NUMBER(KERNEL_IMAGE_SIZE), 0 for the default
 * Returns: (transfer full): a walker; table pages it reads are cached
 */
GmemPgtable *gmem_pgtable_new(guint64 root_paddr, gboolean five_level, guint64 sme_mask,
			      guint64 phys_base, guint64 kernel_image_size,
			      GmemPgtableReadFunc read, gpointer user_data);
void gmem_pgtable_free(GmemPgtable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemPgtable, gmem_pgtable_free)

/**
 * gmem_pgtable_translate:
 * @paddr: (out): the physical address of @vaddr
 * @run: (out) (optional): how many bytes from @vaddr on are physically
 *   contiguous: to the end of its page (4 KiB, 2 MiB or 1 GiB), or of the
 *   kernel image mapping
 * Returns: FALSE with G_IO_ERROR_NOT_FOUND for an address that is not
 * mapped, or the read function's error
 */
gboolean gmem_pgtable_translate(GmemPgtable *self, guint64 vaddr, guint64 *paddr, guint64 *run,
				GError **error);

/**
 * gmem_pgtable_walk:
 * As gmem_pgtable_translate(), through the tables for the kernel image too
 * (no fixed offset): that they map the kernel where VMCOREINFO says it is
 * tells that they are the running kernel's
 */
gboolean gmem_pgtable_walk(GmemPgtable *self, guint64 vaddr, guint64 *paddr, guint64 *run,
			   GError **error);

/* table pages read so far (for the tests: the cache works) */
guint gmem_pgtable_get_reads(GmemPgtable *self);

G_END_DECLS
