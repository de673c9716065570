/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Guest memory through QEMU's QMP socket, with no agent: VMCOREINFO from a
 * one-page dump-guest-memory (or a scan of guest RAM), physical reads with
 * pmemsave into a memfd passed over the socket (HMP xp as the fallback),
 * and stop/cont for a consistent snapshot. */

/* ---- VMCOREINFO: the guest kernel's KEY=VALUE note, pure parsing ---- */

typedef struct _ClientVmcoreinfo GmemVmcoreinfo;

/**
 * gmem_vmcoreinfo_parse:
 * Parses the note's text: one KEY=VALUE a line, as the kernel's
 * vmcoreinfo_append_str() writes them.
 * Returns: (transfer full): the entries, or NULL with G_IO_ERROR_INVALID_DATA
 * when the text holds no OSRELEASE (it is not VMCOREINFO)
 */
GmemVmcoreinfo *gmem_vmcoreinfo_parse(const gchar *text, gsize len, GError **error);
void gmem_vmcoreinfo_free(GmemVmcoreinfo *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemVmcoreinfo, gmem_vmcoreinfo_free)

/* Returns: (transfer none) (nullable): the value of @key ("SYMBOL(prb)") */
const gchar *gmem_vmcoreinfo_get(const GmemVmcoreinfo *self, const gchar *key);

/**
 * gmem_vmcoreinfo_get_u64:
 * The value of @key as a number: hex for SYMBOL() and KERNELOFFSET, decimal
 * (signed: NUMBER(phys_base) may be negative, taken modulo 2^64) otherwise.
 * Returns: FALSE with G_IO_ERROR_NOT_FOUND for a missing key,
 * G_IO_ERROR_INVALID_DATA for a value that is not a number
 */
gboolean gmem_vmcoreinfo_get_u64(const GmemVmcoreinfo *self, const gchar *key, guint64 *value,
				   GError **error);

/**
 * gmem_vmcore_elf_find_vmcoreinfo:
 * Finds the VMCOREINFO note in the PT_NOTE segments of an ELF64 core (what
 * dump-guest-memory writes).
 * Returns: (transfer full): the note's text, NUL-terminated, or NULL with
 * G_IO_ERROR_NOT_FOUND (no such note) or G_IO_ERROR_INVALID_DATA (not ELF64)
 */
gchar *gmem_vmcore_elf_find_vmcoreinfo(const guint8 *elf, gsize len, gsize *text_len,
					 GError **error);

/**
 * gmem_vmcore_scan_buffer:
 * Looks in @buf for the note the kernel keeps in RAM: an ELF note header
 * (namesz 11, type 0), "VMCOREINFO\0", then text starting "OSRELEASE=".
 * @offset: (out): where the note's text starts in @buf
 * @text_len: (out): its length (descsz, up to the first NUL)
 * Returns: TRUE when one was found whole in @buf
 */
gboolean gmem_vmcore_scan_buffer(const guint8 *buf, gsize len, gsize *offset, gsize *text_len);

/* ---- the QMP connection ---- */

typedef struct _ClientVmcore GmemVmcore;

/* reports a RAM scan's progress */
typedef void (*GmemVmcoreProgressFunc)(guint64 done, guint64 total, gpointer user_data);

/**
 * gmem_vmcore_connect:
 * Connects to QEMU's QMP socket at @qmp_path, reads the greeting and
 * negotiates capabilities.
 * Returns: (transfer full): the connection, or NULL with @error
 */
GmemVmcore *gmem_vmcore_connect(const gchar *qmp_path, guint timeout_ms, GError **error);

/* resumes the guest if this connection paused it, then closes; NULL is a no-op */
void gmem_vmcore_free(GmemVmcore *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemVmcore, gmem_vmcore_free)

/* physical reads with HMP xp instead of pmemsave (the fallback; tests) */
void gmem_vmcore_set_use_xp(GmemVmcore *self, gboolean use_xp);
gboolean gmem_vmcore_get_use_xp(GmemVmcore *self);

/* query-status: is the guest running */
gboolean gmem_vmcore_query_running(GmemVmcore *self, gboolean *running, GError **error);

/**
 * gmem_vmcore_pause:
 * Stops the guest if it runs (and remembers that it did). Until
 * gmem_vmcore_resume() or gmem_vmcore_free(), SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT are caught and held, so that Ctrl-C cannot leave the guest
 * stopped: once it runs again their old handlers are back and a held signal
 * is raised. (SIGKILL cannot be held: a guest paused by a killed client
 * stays paused until someone sends cont.)
 */
gboolean gmem_vmcore_pause(GmemVmcore *self, GError **error);

/* sends cont if this connection stopped the guest; the signals held back go */
gboolean gmem_vmcore_resume(GmemVmcore *self, GError **error);

/* guest RAM size (query-memory-size-summary base-memory) */
gboolean gmem_vmcore_get_ram_size(GmemVmcore *self, guint64 *size, GError **error);

/* reads @len bytes of guest physical memory at @paddr */
gboolean gmem_vmcore_read_phys(GmemVmcore *self, guint64 paddr, void *buf, gsize len,
				 GError **error);

/**
 * gmem_vmcore_dump_vmcoreinfo:
 * dump-guest-memory of one page into a memfd passed with getfd; QEMU adds
 * the guest's VMCOREINFO note to the dump when it has `-device vmcoreinfo`
 * and the guest's qemu_fw_cfg driver filled it in.
 * Returns: (transfer full): the note's text, or NULL with G_IO_ERROR_NOT_FOUND
 * when the dump has none, or another error
 */
gchar *gmem_vmcore_dump_vmcoreinfo(GmemVmcore *self, gsize *text_len, GError **error);

/**
 * gmem_vmcore_scan_vmcoreinfo:
 * @limit: bytes of guest RAM to scan at most (0: all of it)
 * Scans guest RAM for the VMCOREINFO note.
 * Returns: (transfer full): the note's text, or NULL with G_IO_ERROR_NOT_FOUND
 */
gchar *gmem_vmcore_scan_vmcoreinfo(GmemVmcore *self, guint64 limit,
				     GmemVmcoreProgressFunc progress, gpointer user_data,
				     gsize *text_len, GError **error);

/* QMP round trips so far (for timing reports) */
guint gmem_vmcore_get_commands(GmemVmcore *self);

G_END_DECLS
