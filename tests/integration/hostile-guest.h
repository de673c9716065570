/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A crafted x86-64 guest for the memory reader: a sparse physical memory
 * (after tests/unit/gmem-sim.h), the kernel image mapped as __pa_symbol()
 * does (no page tables needed), a VMCOREINFO note, and a printk buffer of
 * either layout with whatever lies a test writes into it. It is served as
 * an ELF dump (dmesg --from-dump) or by a fake QMP monitor (--from-memory). */

#include <glib.h>

#define HOSTILE_PAGE 4096
/* the kernel image: virtual __START_KERNEL, physical 16 MiB (phys_base 0) */
#define HOSTILE_KERNEL_VA G_GUINT64_CONSTANT(0xffffffff81000000)
#define HOSTILE_KERNEL_PA G_GUINT64_CONSTANT(0x1000000)

typedef struct {
	GHashTable *pages; /* page address -> guint8[HOSTILE_PAGE] */
	gchar *vmcoreinfo;
} HostileGuest;

HostileGuest *hostile_guest_new(void);
void hostile_guest_free(HostileGuest *guest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostileGuest, hostile_guest_free)

/* writes @len bytes at kernel image offset @off (virtual HOSTILE_KERNEL_VA + off) */
void hostile_guest_write(HostileGuest *guest, guint64 off, const void *data, gsize len);
void hostile_guest_write_u64(HostileGuest *guest, guint64 off, guint64 v);
void hostile_guest_write_u32(HostileGuest *guest, guint64 off, guint32 v);
/* reads guest physical memory; unwritten memory reads as 0 */
void hostile_guest_read_phys(HostileGuest *guest, guint64 paddr, void *buf, gsize len);

/* ---- Linux 3.5 to 5.9: struct printk_log records in log_buf ---- */

/* appends a record: the header, the text, the dictionary, then padding to 8
 * bytes made of @pad (as LOG_ALIGN); @len: the header's len, 0 for the real one */
void hostile_log_append(GByteArray *buf, const void *text, guint16 text_len, const void *dict,
			guint16 dict_len, guint8 pad, guint16 len);

/* a guest whose log_buf holds @buf, its first and next record at @first and @next */
HostileGuest *hostile_guest_new_legacy(const GByteArray *buf, guint32 first, guint32 next);

/* ---- Linux >= 5.10: the lockless printk_ringbuffer ---- */

typedef struct {
	guint32 count_bits;
	guint32 size_bits;
	guint desc_size; /* SIZE(prb_desc), 24 in every kernel */
	guint info_size; /* SIZE(printk_info), 88 */
	guint64 head_id;
	guint64 tail_id;
	const guint8 *descs; /* (1 << count_bits) * desc_size, or NULL: not in memory */
	const guint8 *infos; /* (1 << count_bits) * info_size */
	const guint8 *data;  /* 1 << size_bits */
} HostileRing;

HostileGuest *hostile_guest_new_lockless(const HostileRing *ring);

/* ---- serving it ---- */

/* an ELF core as dump-guest-memory writes it: the VMCOREINFO note, one
 * PT_LOAD per run of pages the guest has */
GBytes *hostile_guest_elf(HostileGuest *guest);

typedef struct _HostileQmp HostileQmp;

HostileQmp *hostile_qmp_start(HostileGuest *guest);
void hostile_qmp_stop(HostileQmp *qmp);
const gchar *hostile_qmp_path(HostileQmp *qmp);
/* the first pmemsave SIGKILLs @pid, then answers late */
void hostile_qmp_kill_on_pmemsave(HostileQmp *qmp, GPid pid);
/* stop and cont commands seen; whether the guest runs */
void hostile_qmp_counts(HostileQmp *qmp, guint *stops, guint *conts, gboolean *running);
/* waits up to @timeout_ms for the guest to run again; FALSE: it stays paused */
gboolean hostile_qmp_wait_running(HostileQmp *qmp, guint timeout_ms);
/* monotonic time of the kill, 0: none yet */
gint64 hostile_qmp_killed_at(HostileQmp *qmp);
