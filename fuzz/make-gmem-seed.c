/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "gmem-dmesg.h"

/*
 * make-gmem-seed DUMP OUT: a seed for fuzz-gmem from an ELF memory dump
 * of a real guest (QMP dump-guest-memory, paging false). The dump is mapped
 * with no access, and gmem_dmesg_read_from_elf() reads it: each page it
 * touches faults once, is noted and opened. OUT is then an ELF of DUMP's
 * PT_NOTEs and only the pages read, as PT_LOADs at their guest physical
 * addresses; the reader must give the same reply on it (but elapsed-ms),
 * or nothing is written.
 */

#define SEED_PAGE 4096

static guint8 *seed_map;
static gsize seed_map_len;
static guint8 *seed_touched; /* one byte a page of the dump */

static void
seed_fault(int sig, siginfo_t *info, void *context)
{
	guint8 *addr = info->si_addr;

	(void)context;
	if (addr < seed_map || addr >= seed_map + seed_map_len) {
		signal(sig, SIG_DFL); /* a real crash: fault again, and die */
		return;
	}
	seed_touched[(addr - seed_map) / SEED_PAGE] = 1;
	if (mprotect(seed_map + (addr - seed_map) / SEED_PAGE * SEED_PAGE, SEED_PAGE, PROT_READ) !=
	    0)
		signal(sig, SIG_DFL);
}

/* the reply as text, without what differs between two runs */
static gchar *
seed_reply_text(JsonObject *reply)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), reply);

	json_object_remove_member(json_object_get_object_member(reply, "memory"), "elapsed-ms");
	return json_to_string(node, FALSE);
}

/* DUMP's PT_NOTEs, and a PT_LOAD for each run of pages read within a PT_LOAD */
static GByteArray *
seed_write_elf(const guint8 *dump, gsize len)
{
	Elf64_Ehdr eh;
	g_autoptr(GArray) phdrs = g_array_new(FALSE, TRUE, sizeof(Elf64_Phdr));
	g_autoptr(GByteArray) body = g_byte_array_new();
	GByteArray *out = g_byte_array_new();
	gsize body_at;

	memcpy(&eh, dump, sizeof(eh));
	for (guint i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, dump + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			Elf64_Phdr note = ph;

			note.p_offset = body->len;
			g_byte_array_append(body, dump + ph.p_offset, (guint)ph.p_filesz);
			g_array_append_val(phdrs, note);
			continue;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		for (guint64 at = ph.p_offset; at < ph.p_offset + ph.p_filesz && at < len;) {
			guint64 page_end = (at / SEED_PAGE + 1) * SEED_PAGE;
			guint64 end = MIN(MIN(page_end, ph.p_offset + ph.p_filesz), len);
			Elf64_Phdr load = ph;

			if (!seed_touched[at / SEED_PAGE]) {
				at = end;
				continue;
			}
			/* extend over the following pages read, as one segment */
			while (end < MIN(ph.p_offset + ph.p_filesz, len) &&
			       seed_touched[end / SEED_PAGE])
				end = MIN(MIN((end / SEED_PAGE + 1) * SEED_PAGE,
					      ph.p_offset + ph.p_filesz),
					  len);
			load.p_offset = body->len;
			load.p_paddr = ph.p_paddr + (at - ph.p_offset);
			load.p_vaddr = ph.p_vaddr != 0 ? ph.p_vaddr + (at - ph.p_offset) : 0;
			load.p_filesz = load.p_memsz = end - at;
			g_byte_array_append(body, dump + at, (guint)(end - at));
			g_array_append_val(phdrs, load);
			at = end;
		}
	}
	eh.e_phoff = sizeof(eh);
	eh.e_phnum = (Elf64_Half)phdrs->len;
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	body_at = sizeof(eh) + phdrs->len * sizeof(Elf64_Phdr);
	for (guint i = 0; i < phdrs->len; i++)
		g_array_index(phdrs, Elf64_Phdr, i).p_offset += body_at;
	g_byte_array_append(out, (const guint8 *)&eh, sizeof(eh));
	g_byte_array_append(out, (const guint8 *)phdrs->data, phdrs->len * sizeof(Elf64_Phdr));
	g_byte_array_append(out, body->data, body->len);
	return out;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) full = NULL;
	g_autoptr(JsonObject) seed = NULL;
	g_autoptr(GByteArray) elf = NULL;
	g_autofree gchar *full_text = NULL;
	g_autofree gchar *seed_text = NULL;
	struct sigaction sa = {0};
	gint fd;

	if (argc != 3) {
		g_printerr("usage: make-gmem-seed DUMP OUT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (seed_map_len = (gsize)lseek(fd, 0, SEEK_END)) < sizeof(Elf64_Ehdr)) {
		g_printerr("make-gmem-seed: cannot read '%s'\n", argv[1]);
		return 1;
	}
	seed_map = mmap(NULL, seed_map_len, PROT_NONE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (seed_map == MAP_FAILED) {
		g_printerr("make-gmem-seed: cannot map '%s': %s\n", argv[1], g_strerror(errno));
		return 1;
	}
	seed_touched = g_malloc0(seed_map_len / SEED_PAGE + 1);
	sa.sa_sigaction = seed_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);

	full = gmem_dmesg_read_from_elf(seed_map, seed_map_len, argv[1], NULL, &error);
	mprotect(seed_map, seed_map_len, PROT_READ);
	signal(SIGSEGV, SIG_DFL);
	if (full == NULL) {
		g_printerr("make-gmem-seed: %s\n", error->message);
		return 1;
	}
	elf = seed_write_elf(seed_map, seed_map_len);
	seed = gmem_dmesg_read_from_elf(elf->data, elf->len, argv[2], NULL, &error);
	if (seed == NULL) {
		g_printerr("make-gmem-seed: the seed does not read: %s\n", error->message);
		return 1;
	}
	full_text = seed_reply_text(full);
	seed_text = seed_reply_text(seed);
	if (strcmp(full_text, seed_text) != 0) {
		g_printerr("make-gmem-seed: the seed reads differently from the dump\n");
		return 1;
	}
	if (!g_file_set_contents(argv[2], (const gchar *)elf->data, elf->len, &error)) {
		g_printerr("make-gmem-seed: %s\n", error->message);
		return 1;
	}
	g_print("%s: %u bytes, %u records\n", argv[2], elf->len,
		json_array_get_length(json_object_get_array_member(seed, "records")));
	return 0;
}
