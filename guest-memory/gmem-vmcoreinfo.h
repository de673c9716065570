/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The guest kernel's VMCOREINFO note: its KEY=VALUE text parsed, and the
 * note found in an ELF core or in a buffer of guest RAM. Pure parsing, no
 * I/O. */

typedef struct _GmemVmcoreinfo GmemVmcoreinfo;

/* the longest note text a RAM scan takes, and the note's header before it
 * (12 bytes, then the name padded to 12): a scan that reads RAM in chunks
 * carries this much over from one chunk to the next */
#define GMEM_VMCOREINFO_NOTE_MAX 4096
#define GMEM_VMCOREINFO_NOTE_HDR 24

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
 * gmem_vmcoreinfo_find_in_elf:
 * Finds the VMCOREINFO note in the PT_NOTE segments of an ELF64 core (what
 * dump-guest-memory writes).
 * Returns: (transfer full): the note's text, NUL-terminated, or NULL with
 * G_IO_ERROR_NOT_FOUND (no such note) or G_IO_ERROR_INVALID_DATA (not ELF64)
 */
gchar *gmem_vmcoreinfo_find_in_elf(const guint8 *elf, gsize len, gsize *text_len, GError **error);

/**
 * gmem_vmcoreinfo_scan_buffer:
 * Looks in @buf for the note the kernel keeps in RAM: an ELF note header
 * (namesz 11, type 0), "VMCOREINFO\0", then text starting "OSRELEASE=".
 * Anyone can write such a note into RAM: the caller checks what it says.
 * @offset: (out): where the note's text starts in @buf
 * @text_len: (out): its length (descsz, up to the first NUL)
 * Returns: TRUE when one was found whole in @buf
 */
gboolean gmem_vmcoreinfo_scan_buffer(const guint8 *buf, gsize len, gsize *offset, gsize *text_len);

G_END_DECLS
