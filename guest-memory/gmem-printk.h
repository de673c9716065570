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
	guint flags;	    /* LOG_NEWLINE 2, LOG_CONT 8 */
	guint32 caller_id;  /* bit 31: a CPU number, else a task id; 0: unknown */
	GBytes *text;	    /* raw bytes, as printk stored them */
	gchar *subsystem;   /* (nullable): dev_printk's SUBSYSTEM, raw */
	gchar *device;	    /* (nullable): DEVICE, raw */
} GmemPrintkRecord;

void gmem_printk_record_free(GmemPrintkRecord *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemPrintkRecord, gmem_printk_record_free)

typedef struct {
	gboolean legacy;	/* log_buf, not prb */
	gboolean seq_synthesized; /* legacy: record numbers, not the kernel's seq */
	guint skipped;		/* descriptors not (yet) readable: reserved, reused, torn */
	guint64 buffer_bytes;	/* the text ring's (or log_buf's) size */
	guint64 text_address;	/* where it is: the kernel image, or the direct map */
} GmemPrintkStats;

/**
 * gmem_printk_read:
 * Reads the guest's ring buffer through @read and decodes it.
 * @stats: (out) (optional)
 * Returns: (transfer full) (element-type GmemPrintkRecord): the records,
 * oldest first, or NULL with @error (G_IO_ERROR_NOT_SUPPORTED when
 * VMCOREINFO describes neither layout)
 */
GPtrArray *gmem_printk_read(const GmemVmcoreinfo *info, GmemPrintkReadFunc read,
			      gpointer user_data, GmemPrintkStats *stats, GError **error);

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
