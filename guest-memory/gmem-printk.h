/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "gmem-vmcoreinfo.h"
#include "kmsg-record.h"

G_BEGIN_DECLS

/* The guest kernel's log, decoded from its memory with nothing but the
 * offsets VMCOREINFO exports (no vmlinux, no debug info): the lockless ring
 * buffer of Linux >= 5.10 (kernel/printk/printk_ringbuffer.c), or the
 * variable-length log_buf records before it. Records are what /dev/kmsg
 * would show, in the agent's guest-dmesg record format. */

/* reads @len bytes of guest memory at kernel virtual address @vaddr */
typedef gboolean (*GmemPrintkReadFunc)(gpointer user_data, guint64 vaddr, void *buf, gsize len,
				       GError **error);

typedef struct {
	guint64 seq;
	guint64 ts_nsec;
	guint level;
	guint facility;
	guint flags;	   /* LOG_NEWLINE 2, LOG_CONT 8 */
	guint32 caller_id; /* bit 31: a CPU number, else a task id; 0: unknown */
	GBytes *text;	   /* raw bytes, as printk stored them */
	gchar *subsystem;  /* (nullable): dev_printk's SUBSYSTEM, raw */
	gchar *device;	   /* (nullable): DEVICE, raw */
} GmemPrintkRecord;

void gmem_printk_record_free(GmemPrintkRecord *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemPrintkRecord, gmem_printk_record_free)

typedef struct {
	gboolean legacy;	  /* log_buf, not prb */
	gboolean seq_synthesized; /* legacy: record numbers, not the kernel's seq */
	guint skipped;		  /* descriptors not (yet) readable: reserved, reused, torn */
	guint64 buffer_bytes;	  /* the text ring's (or log_buf's) size */
	guint64 text_address;	  /* where it is: the kernel image, or the direct map */
} GmemPrintkStats;

/* the guest's ring buffer (or log_buf) copied whole: decoding needs no
 * more reads, so a paused guest can run again in between */
typedef struct _GmemPrintkSnapshot GmemPrintkSnapshot;
void gmem_printk_snapshot_free(GmemPrintkSnapshot *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemPrintkSnapshot, gmem_printk_snapshot_free)

/**
 * gmem_printk_fetch:
 * Copies the ring buffer VMCOREINFO describes through @read. Every size
 * guest memory gives is checked against what a kernel can have first: at
 * most 384 MiB are read (64 MiB of text, 2^21 descriptors).
 * Returns: (transfer full): the copy, or NULL with @error
 * (G_IO_ERROR_NOT_SUPPORTED when VMCOREINFO describes neither layout,
 * G_IO_ERROR_INVALID_DATA for implausible sizes, or @read's error)
 */
GmemPrintkSnapshot *gmem_printk_fetch(const GmemVmcoreinfo *info, GmemPrintkReadFunc read,
				      gpointer user_data, GError **error);

/**
 * gmem_printk_decode:
 * Decodes the copy: each record once, at most 1024 bytes of text each, and
 * no more text in all than the ring holds. Records a kernel cannot have
 * written are skipped (counted in @stats).
 * @stats: (out) (optional)
 * Returns: (transfer full) (element-type GmemPrintkRecord): the records,
 * oldest first, or NULL with G_IO_ERROR_INVALID_DATA
 */
GPtrArray *gmem_printk_decode(const GmemPrintkSnapshot *self, GmemPrintkStats *stats,
			      GError **error);

/**
 * gmem_printk_probe:
 * Checks, with a few small reads, that VMCOREINFO's printk symbols are
 * mapped and lead to a plausible ring header whose arrays are mapped too:
 * whether a VMCOREINFO found in RAM is the running kernel's.
 * Returns: FALSE with @error when they are not
 */
gboolean gmem_printk_probe(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
			   GError **error);

/**
 * gmem_printk_read:
 * gmem_printk_fetch(), then gmem_printk_decode().
 * @stats: (out) (optional)
 * Returns: (transfer full) (element-type GmemPrintkRecord): the records,
 * oldest first, or NULL with @error (G_IO_ERROR_NOT_SUPPORTED when
 * VMCOREINFO describes neither layout)
 */
GPtrArray *gmem_printk_read(const GmemVmcoreinfo *info, GmemPrintkReadFunc read, gpointer user_data,
			    GmemPrintkStats *stats, GError **error);

/* Returns: (transfer full): the record as guest-dmesg has it: text and
 * dictionary kmsg-escaped, ts-us, continuation for LOG_CONT */
KmsgRecord *gmem_printk_record_to_kmsg(const GmemPrintkRecord *self);

/**
 * gmem_printk_records_to_reply:
 * @records: (element-type GmemPrintkRecord): gmem_printk_read()'s
 * @level: records at this level or more urgent; -1: all
 * @tail: only the last @tail of those; -1: all
 *
 * guest-dmesg's reply for the whole buffer: source "memory", first-seq the
 * oldest record's (0 for none), next-seq the newest returned (-1 for none),
 * nothing missed or truncated.
 * Returns: (transfer full): the reply as JSON text
 */
gchar *gmem_printk_records_to_reply(GPtrArray *records, const GmemPrintkStats *stats, gint level,
				    gint64 tail);

G_END_DECLS
