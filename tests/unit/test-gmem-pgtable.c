/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gmem-sim.h"
#include "gmem-pgtable.h"

#define DIRECT_MAP_4L G_GUINT64_CONSTANT(0xffff888000000000)
#define DIRECT_MAP_5L G_GUINT64_CONSTANT(0xff11000000000000)
#define MIB	      (G_GUINT64_CONSTANT(1) << 20)
#define GIB	      (G_GUINT64_CONSTANT(1) << 30)

static void
assert_translates(GmemPgtable *pt, guint64 vaddr, guint64 want_paddr, guint64 want_run)
{
	g_autoptr(GError) error = NULL;
	guint64 paddr = 0;
	guint64 run = 0;

	if (!gmem_pgtable_translate(pt, vaddr, &paddr, &run, &error))
		fail_msg("0x%" G_GINT64_MODIFIER "x: %s", vaddr, error->message);
	assert_int_equal(paddr, want_paddr);
	assert_int_equal(run, want_run);
}

static void
assert_unmapped(GmemPgtable *pt, guint64 vaddr)
{
	g_autoptr(GError) error = NULL;
	guint64 paddr = 0;

	assert_false(gmem_pgtable_translate(pt, vaddr, &paddr, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
}

static void
check_levels(gboolean la57, guint64 direct_map)
{
	SimMem *phys = sim_mem_new();
	SimMmu mmu;
	g_autoptr(GmemPgtable) pt = NULL;
	guint reads;

	sim_mmu_init(&mmu, phys, la57, 0x100000);
	/* NX and a high software bit in every entry must not leak into addresses */
	mmu.entry_bits = G_GUINT64_CONSTANT(1) << 63;
	sim_mmu_map(&mmu, direct_map + 0x5000, 0x7000, 4096);
	sim_mmu_map(&mmu, direct_map + 0x40000000 + 0x200000, 0x1c00000, 2 * MIB);
	sim_mmu_map(&mmu, direct_map + 4 * GIB, 1 * GIB, GIB);
	pt = gmem_pgtable_new(mmu.root, la57, 0, 0, 0, sim_mem_read, phys);

	assert_translates(pt, direct_map + 0x5123, 0x7123, 4096 - 0x123);
	assert_translates(pt, direct_map + 0x40000000 + 0x200000 + 0x12345, 0x1c12345,
			  2 * MIB - 0x12345);
	assert_translates(pt, direct_map + 4 * GIB + 0x3456789, GIB + 0x3456789, GIB - 0x3456789);
	assert_unmapped(pt, direct_map + 0x6000);
	assert_unmapped(pt, direct_map + 0x40000000);
	assert_unmapped(pt, direct_map + 5 * GIB);
	/* the tables are cached: walking again reads nothing */
	reads = gmem_pgtable_get_reads(pt);
	assert_translates(pt, direct_map + 0x5000, 0x7000, 4096);
	assert_int_equal(gmem_pgtable_get_reads(pt), reads);
	sim_mem_free(phys);
}

static void
test_gmem_pgtable_four_level(void **state)
{
	check_levels(FALSE, DIRECT_MAP_4L);
}

static void
test_gmem_pgtable_five_level(void **state)
{
	check_levels(TRUE, DIRECT_MAP_5L);
}

/* a 5-level address walked with 4 levels must not alias another mapping */
static void
test_gmem_pgtable_level_mismatch(void **state)
{
	SimMem *phys = sim_mem_new();
	SimMmu mmu;
	g_autoptr(GmemPgtable) pt = NULL;

	sim_mmu_init(&mmu, phys, TRUE, 0x100000);
	sim_mmu_map(&mmu, DIRECT_MAP_5L + 0x5000, 0x7000, 4096);
	pt = gmem_pgtable_new(mmu.root, FALSE, 0, 0, 0, sim_mem_read, phys);
	assert_unmapped(pt, DIRECT_MAP_5L + 0x5000);
	sim_mem_free(phys);
}

static void
test_gmem_pgtable_kernel_image(void **state)
{
	SimMem *phys = sim_mem_new();
	g_autoptr(GmemPgtable) pt = NULL;
	/* NUMBER(phys_base) is signed: -784334848 was measured */
	guint64 phys_base = (guint64)G_GINT64_CONSTANT(-784334848);
	guint64 va = G_GUINT64_CONSTANT(0xffffffffb52622c0);

	pt = gmem_pgtable_new(0x100000, FALSE, 0, phys_base, 0, sim_mem_read, phys);
	assert_translates(pt, va, va - GMEM_PGTABLE_START_KERNEL_MAP + phys_base,
			  GIB - (va - GMEM_PGTABLE_START_KERNEL_MAP));
	/* no table was read for it */
	assert_int_equal(gmem_pgtable_get_reads(pt), 0);
	sim_mem_free(phys);
}

static void
test_gmem_pgtable_sme_mask(void **state)
{
	SimMem *phys = sim_mem_new();
	SimMmu mmu;
	g_autoptr(GmemPgtable) pt = NULL;
	guint64 sme = G_GUINT64_CONSTANT(1) << 47;

	sim_mmu_init(&mmu, phys, FALSE, 0x100000);
	mmu.entry_bits = sme;
	sim_mmu_map(&mmu, DIRECT_MAP_4L + 0x200000, 0x400000, 2 * MIB);
	pt = gmem_pgtable_new(mmu.root | sme, FALSE, sme, 0, 0, sim_mem_read, phys);
	assert_translates(pt, DIRECT_MAP_4L + 0x200010, 0x400010, 2 * MIB - 0x10);
	sim_mem_free(phys);
}

static gboolean
failing_read(gpointer user_data, guint64 paddr, void *buf, gsize len, GError **error)
{
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no memory here");
	return FALSE;
}

static void
test_gmem_pgtable_read_error(void **state)
{
	g_autoptr(GmemPgtable) pt = gmem_pgtable_new(0x1000, FALSE, 0, 0, 0, failing_read, NULL);
	g_autoptr(GError) error = NULL;
	guint64 paddr;

	assert_false(gmem_pgtable_translate(pt, DIRECT_MAP_4L, &paddr, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_FAILED));
	assert_non_null(strstr(error->message, "no memory here"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmem_pgtable_four_level),
		cmocka_unit_test(test_gmem_pgtable_five_level),
		cmocka_unit_test(test_gmem_pgtable_level_mismatch),
		cmocka_unit_test(test_gmem_pgtable_kernel_image),
		cmocka_unit_test(test_gmem_pgtable_sme_mask),
		cmocka_unit_test(test_gmem_pgtable_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
