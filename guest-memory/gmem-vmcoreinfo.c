/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "gmem-vmcoreinfo.h"

#define GMEM_VMCOREINFO_NOTE_NAME "VMCOREINFO"

struct _GmemVmcoreinfo {
	GHashTable *entries; /* key -> value */
};

GmemVmcoreinfo *
gmem_vmcoreinfo_parse(const gchar *text, gsize len, GError **error)
{
	g_autoptr(GmemVmcoreinfo) self = g_new0(GmemVmcoreinfo, 1);
	g_autofree gchar *copy = g_strndup(text, len);
	g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);

	self->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *eq = strchr(lines[i], '=');

		if (eq == NULL || eq == lines[i])
			continue;
		*eq = '\0';
		g_hash_table_replace(self->entries, g_strdup(lines[i]), g_strdup(eq + 1));
	}
	if (!g_hash_table_contains(self->entries, "OSRELEASE")) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the VMCOREINFO note holds no OSRELEASE");
		return NULL;
	}
	return g_steal_pointer(&self);
}

void
gmem_vmcoreinfo_free(GmemVmcoreinfo *self)
{
	if (self == NULL)
		return;
	if (self->entries != NULL)
		g_hash_table_unref(self->entries);
	g_free(self);
}

const gchar *
gmem_vmcoreinfo_get(const GmemVmcoreinfo *self, const gchar *key)
{
	g_return_val_if_fail(self != NULL, NULL);
	return g_hash_table_lookup(self->entries, key);
}

gboolean
gmem_vmcoreinfo_get_u64(const GmemVmcoreinfo *self, const gchar *key, guint64 *value,
			GError **error)
{
	const gchar *text = gmem_vmcoreinfo_get(self, key);
	gboolean hex = g_str_has_prefix(key, "SYMBOL(") || g_strcmp0(key, "KERNELOFFSET") == 0;
	gchar *end = NULL;
	guint64 v;

	if (text == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "VMCOREINFO has no '%s'", key);
		return FALSE;
	}
	errno = 0;
	if (hex)
		v = g_ascii_strtoull(text, &end, 16);
	else if (text[0] == '-')
		v = (guint64)g_ascii_strtoll(text, &end, 10);
	else
		v = g_ascii_strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "VMCOREINFO '%s' is not a number: '%s'", key, text);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

static gchar *
gmem_vmcoreinfo_note_text(const guint8 *desc, gsize descsz, gsize *text_len)
{
	gsize n = strnlen((const gchar *)desc, descsz);

	if (text_len != NULL)
		*text_len = n;
	return g_strndup((const gchar *)desc, n);
}

gchar *
gmem_vmcoreinfo_find_in_elf(const guint8 *elf, gsize len, gsize *text_len, GError **error)
{
	Elf64_Ehdr eh;

	if (len < sizeof(eh) || memcmp(elf, ELFMAG, SELFMAG) != 0 || elf[EI_CLASS] != ELFCLASS64 ||
	    elf[EI_DATA] != ELFDATA2LSB) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the dump is not a little-endian ELF64 file");
		return NULL;
	}
	memcpy(&eh, elf, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (guint64)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the dump's program headers are out of bounds");
		return NULL;
	}
	for (guint i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		guint64 off;

		memcpy(&ph, elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "the dump's PT_NOTE is out of bounds");
			return NULL;
		}
		off = 0;
		while (off + sizeof(Elf64_Nhdr) <= ph.p_filesz) {
			Elf64_Nhdr nh;
			const guint8 *p = elf + ph.p_offset + off;
			guint64 name_off = sizeof(nh);
			guint64 desc_off;
			guint64 end;

			memcpy(&nh, p, sizeof(nh));
			desc_off = name_off + (((guint64)nh.n_namesz + 3) & ~G_GUINT64_CONSTANT(3));
			end = desc_off + (((guint64)nh.n_descsz + 3) & ~G_GUINT64_CONSTANT(3));
			if (desc_off + nh.n_descsz > ph.p_filesz - off)
				break;
			if (nh.n_namesz == sizeof(GMEM_VMCOREINFO_NOTE_NAME) &&
			    memcmp(p + name_off, GMEM_VMCOREINFO_NOTE_NAME,
				   sizeof(GMEM_VMCOREINFO_NOTE_NAME)) == 0)
				return gmem_vmcoreinfo_note_text(p + desc_off, nh.n_descsz,
								 text_len);
			off += end;
		}
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "the dump carries no VMCOREINFO note");
	return NULL;
}

gboolean
gmem_vmcoreinfo_scan_buffer(const guint8 *buf, gsize len, gsize *offset, gsize *text_len)
{
	static const guint8 name[12] = GMEM_VMCOREINFO_NOTE_NAME;
	const guint8 *p = buf;
	const guint8 *end = buf + len;

	while ((p = memmem(p, end - p, name, sizeof(name))) != NULL) {
		const guint8 *hdr = p - 12;
		const guint8 *desc = p + 12;
		guint32 nh[3];

		if (hdr >= buf && desc + strlen("OSRELEASE=") <= end) {
			memcpy(nh, hdr, sizeof(nh));
			if (GUINT32_FROM_LE(nh[0]) == sizeof(GMEM_VMCOREINFO_NOTE_NAME) &&
			    GUINT32_FROM_LE(nh[2]) == 0 && GUINT32_FROM_LE(nh[1]) > 0 &&
			    GUINT32_FROM_LE(nh[1]) <= GMEM_VMCOREINFO_NOTE_MAX &&
			    desc + GUINT32_FROM_LE(nh[1]) <= end &&
			    memcmp(desc, "OSRELEASE=", strlen("OSRELEASE=")) == 0) {
				*offset = desc - buf;
				*text_len = strnlen((const gchar *)desc, GUINT32_FROM_LE(nh[1]));
				return TRUE;
			}
		}
		p++;
	}
	return FALSE;
}
