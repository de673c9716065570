/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "gmem-pgtable.h"

#define GMEM_PGTABLE_PAGE_SIZE 4096
#define GMEM_PGTABLE_ENTRIES   512
#define GMEM_PGTABLE_PRESENT   (G_GUINT64_CONSTANT(1) << 0)
#define GMEM_PGTABLE_PSE       (G_GUINT64_CONSTANT(1) << 7)
/* bits 12..51: what an entry holds of the next table's or the page's address */
#define GMEM_PGTABLE_ADDR_MASK G_GUINT64_CONSTANT(0x000ffffffffff000)

struct _ClientPgtable {
	guint64 root_paddr;
	gboolean five_level;
	guint64 sme_mask;
	guint64 phys_base;
	guint64 kernel_image_size;
	GmemPgtableReadFunc read;
	gpointer user_data;
	GHashTable *tables; /* table paddr -> guint64[512] */
	guint reads;
};

GmemPgtable *
gmem_pgtable_new(guint64 root_paddr, gboolean five_level, guint64 sme_mask, guint64 phys_base,
		 guint64 kernel_image_size, GmemPgtableReadFunc read, gpointer user_data)
{
	GmemPgtable *self;

	g_return_val_if_fail(read != NULL, NULL);

	self = g_new0(GmemPgtable, 1);
	self->root_paddr = root_paddr;
	self->five_level = five_level;
	self->sme_mask = sme_mask;
	self->phys_base = phys_base;
	self->kernel_image_size =
		kernel_image_size != 0 ? kernel_image_size : GMEM_PGTABLE_KERNEL_IMAGE_SIZE_DEFAULT;
	self->read = read;
	self->user_data = user_data;
	self->tables = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	return self;
}

void
gmem_pgtable_free(GmemPgtable *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->tables);
	g_free(self);
}

guint
gmem_pgtable_get_reads(GmemPgtable *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->reads;
}

/* one entry of the table at @table_paddr; whole tables are read and kept */
static gboolean
gmem_pgtable_entry(GmemPgtable *self, guint64 table_paddr, guint index, guint64 *entry,
		   GError **error)
{
	const guint64 *table = g_hash_table_lookup(self->tables, &table_paddr);

	if (table == NULL) {
		g_autofree guint64 *page = g_new(guint64, GMEM_PGTABLE_ENTRIES);
		guint64 *key = g_new(guint64, 1);

		if (!self->read(self->user_data, table_paddr, page, GMEM_PGTABLE_PAGE_SIZE,
				error)) {
			g_free(key);
			g_prefix_error(error,
				       "reading the page table at 0x%" G_GINT64_MODIFIER "x: ",
				       table_paddr);
			return FALSE;
		}
		/* the guest is little-endian, and so is every host this builds for */
		self->reads++;
		*key = table_paddr;
		table = page;
		g_hash_table_insert(self->tables, key, g_steal_pointer(&page));
	}
	*entry = GUINT64_FROM_LE(table[index]);
	return TRUE;
}

gboolean
gmem_pgtable_translate(GmemPgtable *self, guint64 vaddr, guint64 *paddr, guint64 *run,
		       GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(paddr != NULL, FALSE);

	/* the kernel image: a fixed offset, as __pa_symbol() */
	if (vaddr >= GMEM_PGTABLE_START_KERNEL_MAP &&
	    vaddr - GMEM_PGTABLE_START_KERNEL_MAP < self->kernel_image_size) {
		*paddr = vaddr - GMEM_PGTABLE_START_KERNEL_MAP + self->phys_base;
		if (run != NULL)
			*run = self->kernel_image_size - (vaddr - GMEM_PGTABLE_START_KERNEL_MAP);
		return TRUE;
	}
	return gmem_pgtable_walk(self, vaddr, paddr, run, error);
}

gboolean
gmem_pgtable_walk(GmemPgtable *self, guint64 vaddr, guint64 *paddr, guint64 *run, GError **error)
{
	static const gchar *const level_names[] = {"pte", "pmd", "pud", "p4d", "pgd"};
	guint64 mask;
	guint64 table;
	gint level;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(paddr != NULL, FALSE);

	mask = GMEM_PGTABLE_ADDR_MASK & ~self->sme_mask;
	table = self->root_paddr & mask;
	for (level = self->five_level ? 4 : 3; level >= 0; level--) {
		guint shift = 12 + 9 * (guint)level;
		guint index = (guint)((vaddr >> shift) & (GMEM_PGTABLE_ENTRIES - 1));
		guint64 entry;

		if (!gmem_pgtable_entry(self, table, index, &entry, error))
			return FALSE;
		if ((entry & GMEM_PGTABLE_PRESENT) == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "address 0x%" G_GINT64_MODIFIER "x is not mapped (no %s)",
				    vaddr, level_names[level]);
			return FALSE;
		}
		/* a 1 GiB (pud) or 2 MiB (pmd) page ends the walk */
		if (level == 0 || ((level == 1 || level == 2) && (entry & GMEM_PGTABLE_PSE) != 0)) {
			guint64 size = G_GUINT64_CONSTANT(1) << shift;

			*paddr = (entry & mask & ~(size - 1)) | (vaddr & (size - 1));
			if (run != NULL)
				*run = size - (vaddr & (size - 1));
			return TRUE;
		}
		table = entry & mask;
	}
	g_assert_not_reached();
	return FALSE;
}
