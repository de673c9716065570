/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "gmem-live.h"

G_BEGIN_DECLS

/* `qgatrace dmesg --from-memory`: the guest's kernel log read from its
 * memory through QEMU's QMP socket, with no agent */

#define GMEM_DMESG_VMCOREINFO_HINT                                                                 \
	"QEMU needs '-device vmcoreinfo' (libvirt: <features><vmcoreinfo state='on'/>"             \
	"</features>) and the guest its qemu_fw_cfg driver (modprobe qemu_fw_cfg)"

typedef struct {
	gboolean no_pause;	       /* read the running guest: faster, records may tear */
	gboolean scan;		       /* scan guest RAM for VMCOREINFO when the dump has none; each
			      * note found is checked against the kernel's own layout */
	guint64 scan_limit;	       /* bytes of RAM the scan reads at most; 0: all */
	gboolean use_xp;	       /* HMP xp instead of pmemsave */
	guint timeout_ms;	       /* per QMP command; 0: 30 s */
	gint level;		       /* records at this level or more urgent; -1: all */
	gint64 tail;		       /* only the last @tail records; -1: all */
	GmemLiveProgressFunc progress; /* (nullable): the RAM scan's progress */
	gpointer progress_data;
	gboolean fail_after_pause; /* tests: fail once the guest is paused */
} GmemDmesgOptions;

/* no filter, pause, no scan, pmemsave */
void gmem_dmesg_options_init(GmemDmesgOptions *opts);

/**
 * gmem_dmesg_read:
 * @qmp_path: QEMU's QMP UNIX socket (not libvirt's: it holds it)
 *
 * Finds VMCOREINFO, pauses the guest, reads and decodes its printk buffer,
 * resumes it (on every path). The reply is guest-dmesg's: {"source":
 * "memory", "encoding", "seq-synthesized", "first-seq", "next-seq",
 * "missed" (0), "truncated" (FALSE), "records"}, plus "memory": {"osrelease",
 * "vmcoreinfo" ("dump" or "scan"), "layout" ("lockless" or "log_buf"), "paging-levels",
 * "buffer-bytes", "buffer-address", "read-bytes", "skipped", "paused", "paused-ms",
 * "elapsed-ms", "qmp-commands", "reads" ("pmemsave" or "xp"), and after a scan "scan":
 * {"note-address", "refused"}}. The guest is paused only while its memory is
 * copied (see gmem_live_pause()); the decode runs after cont. What guest
 * memory holds is refused with an error that starts "guest memory: ".
 * Returns: (transfer full): the reply, or NULL with @error; a guest with no
 * VMCOREINFO is G_IO_ERROR_NOT_FOUND with GMEM_DMESG_VMCOREINFO_HINT
 */
JsonObject *gmem_dmesg_read(const gchar *qmp_path, const GmemDmesgOptions *opts, GError **error);

/**
 * gmem_dmesg_read_from_dump:
 * @path: an ELF memory dump: `virsh dump --memory-only --format elf`, QMP
 *   dump-guest-memory (paging false), /proc/vmcore
 *
 * The same from a dump file: VMCOREINFO from its PT_NOTE (present when the
 * guest had the vmcoreinfo device), physical memory from its PT_LOADs.
 * Compressed kdump files are G_IO_ERROR_NOT_SUPPORTED. @opts' level and
 * tail apply; "memory" has "vmcoreinfo": "dump-file", "reads": "file".
 * Returns: (transfer full): the reply, or NULL with @error
 */
JsonObject *gmem_dmesg_read_from_dump(const gchar *path, const GmemDmesgOptions *opts,
				      GError **error);

/**
 * gmem_dmesg_read_from_elf:
 * @elf: (array length=len): an ELF memory dump already in memory, borrowed for the call
 * @path: what the messages call it (a file name)
 *
 * gmem_dmesg_read_from_dump() on a buffer (the fuzzer; a dump read some other way).
 * Returns: (transfer full): the reply, or NULL with @error
 */
JsonObject *gmem_dmesg_read_from_elf(const guint8 *elf, gsize len, const gchar *path,
				     const GmemDmesgOptions *opts, GError **error);

G_END_DECLS
