/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <elf.h>
#include <string.h>

#include "gmem-dmesg.h"
#include "gmem-pgtable.h"
#include "gmem-printk.h"

#define GMEM_DMESG_PAGE 4096
/* what the guest's memory holds is refused: one line, this first */
#define GMEM_DMESG_REFUSED "guest memory: "

void
gmem_dmesg_options_init(GmemDmesgOptions *opts)
{
	g_return_if_fail(opts != NULL);

	memset(opts, 0, sizeof(*opts));
	opts->level = -1;
	opts->tail = -1;
}

/* guest physical reads, from QMP or from a dump file, and the page walk on them */
typedef struct {
	GmemPgtableReadFunc read;
	gpointer read_data;
	GmemPgtable *pgtable;
	guint64 bytes;
} GmemDmesgReader;

static gboolean
gmem_dmesg_read_phys_cb(gpointer user_data, guint64 paddr, void *buf, gsize len, GError **error)
{
	GmemDmesgReader *reader = user_data;

	reader->bytes += len;
	return reader->read(reader->read_data, paddr, buf, len, error);
}

static gboolean
gmem_dmesg_read_vmcore_cb(gpointer user_data, guint64 paddr, void *buf, gsize len, GError **error)
{
	return gmem_live_read_phys(user_data, paddr, buf, len, error);
}

/* kernel virtual reads: translated page by page, one physical read per
 * contiguous run */
static gboolean
gmem_dmesg_read_virt_cb(gpointer user_data, guint64 vaddr, void *buf, gsize len, GError **error)
{
	GmemDmesgReader *reader = user_data;
	guint8 *out = buf;
	guint64 run_paddr = 0;
	gsize run_len = 0;

	while (len > 0) {
		guint64 paddr = 0;
		guint64 contiguous = 0;
		gsize n;

		if (!gmem_pgtable_translate(reader->pgtable, vaddr, &paddr, &contiguous, error))
			return FALSE;
		n = (gsize)MIN((guint64)len, contiguous);
		if (run_len > 0 && run_paddr + run_len == paddr) {
			run_len += n;
		} else {
			if (run_len > 0 &&
			    !gmem_dmesg_read_phys_cb(reader, run_paddr, out, run_len, error))
				return FALSE;
			out += run_len;
			run_paddr = paddr;
			run_len = n;
		}
		vaddr += n;
		len -= n;
	}
	return run_len == 0 || gmem_dmesg_read_phys_cb(reader, run_paddr, out, run_len, error);
}

/* the page walker VMCOREINFO describes; @five_level: (out) */
static GmemPgtable *
gmem_dmesg_pgtable_new(const GmemVmcoreinfo *info, GmemDmesgReader *reader, gboolean *five_level,
		       GError **error)
{
	guint64 init_top_pgt, phys_base = 0, l5 = 0, sme_mask = 0, image_size = 0;

	if (!gmem_vmcoreinfo_get_u64(info, "SYMBOL(init_top_pgt)", &init_top_pgt, error)) {
		g_prefix_error(error, "only x86-64 guests are supported: ");
		return NULL;
	}
	/* all optional: a kernel without them has no such feature */
	(void)gmem_vmcoreinfo_get_u64(info, "NUMBER(phys_base)", &phys_base, NULL);
	(void)gmem_vmcoreinfo_get_u64(info, "NUMBER(pgtable_l5_enabled)", &l5, NULL);
	(void)gmem_vmcoreinfo_get_u64(info, "NUMBER(sme_mask)", &sme_mask, NULL);
	(void)gmem_vmcoreinfo_get_u64(info, "NUMBER(KERNEL_IMAGE_SIZE)", &image_size, NULL);
	*five_level = l5 != 0;
	return gmem_pgtable_new(init_top_pgt - GMEM_PGTABLE_START_KERNEL_MAP + phys_base, l5 != 0,
				sme_mask, phys_base, image_size, gmem_dmesg_read_phys_cb, reader);
}

/* a kernel release as uname -r shows it: "6.1.0-56-cloud-amd64" */
static gboolean
gmem_dmesg_release_is_sane(const gchar *release)
{
	gsize len = release != NULL ? strlen(release) : 0;

	/* __NEW_UTS_LEN */
	if (len == 0 || len > 64 || !g_ascii_isdigit(release[0]))
		return FALSE;
	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isalnum(release[i]) && strchr("._+-~", release[i]) == NULL)
			return FALSE;
	return TRUE;
}

/* OSRELEASE as the kernel itself keeps it: init_uts_ns.name.release, after
 * sysname and nodename in struct new_utsname (65 bytes each); kernels that
 * export no OFFSET(uts_namespace.name) pass */
static gboolean
gmem_dmesg_check_release(const GmemVmcoreinfo *info, GmemDmesgReader *reader, GError **error)
{
	const gchar *release = gmem_vmcoreinfo_get(info, "OSRELEASE");
	gchar kept[65] = {0};
	guint64 uts = 0;
	guint64 name_off = 0;

	if (!gmem_dmesg_release_is_sane(release)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "its OSRELEASE is no kernel release");
		return FALSE;
	}
	if (!gmem_vmcoreinfo_get_u64(info, "SYMBOL(init_uts_ns)", &uts, NULL) ||
	    !gmem_vmcoreinfo_get_u64(info, "OFFSET(uts_namespace.name)", &name_off, NULL))
		return TRUE;
	if (!gmem_dmesg_read_virt_cb(reader, uts + name_off + 2 * sizeof(kept), kept, sizeof(kept),
				     error))
		return FALSE;
	if (strncmp(kept, release, sizeof(kept)) != 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "its OSRELEASE is not the release init_uts_ns holds");
		return FALSE;
	}
	return TRUE;
}

/*
 * A VMCOREINFO note the RAM scan found: anyone in the guest can write one,
 * so it is the running kernel's only if the kernel's own layout bears it
 * out: its release is the one the kernel keeps, init_top_pgt is in the
 * kernel image and the page tables there map it where phys_base puts it,
 * and its printk symbols lead, through those tables, to a plausible ring
 * whose arrays are mapped.
 */
static gboolean
gmem_dmesg_check_note(const gchar *text, gsize text_len, guint64 paddr, gpointer user_data,
		      GError **error)
{
	g_autoptr(GmemVmcoreinfo) info = gmem_vmcoreinfo_parse(text, text_len, error);
	g_autoptr(GmemPgtable) pgtable = NULL;
	GmemDmesgReader reader = {gmem_dmesg_read_vmcore_cb, user_data, NULL, 0};
	guint64 root = 0;
	guint64 by_offset = 0;
	guint64 by_tables = 0;
	gboolean five_level = FALSE;

	if (info == NULL)
		return FALSE;
	pgtable = gmem_dmesg_pgtable_new(info, &reader, &five_level, error);
	if (pgtable == NULL)
		return FALSE;
	reader.pgtable = pgtable;
	(void)gmem_vmcoreinfo_get_u64(info, "SYMBOL(init_top_pgt)", &root, NULL);
	if (root < GMEM_PGTABLE_START_KERNEL_MAP ||
	    root - GMEM_PGTABLE_START_KERNEL_MAP >= GMEM_PGTABLE_KERNEL_IMAGE_SIZE_DEFAULT) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "its init_top_pgt is not in the kernel image");
		return FALSE;
	}
	if (!gmem_pgtable_translate(pgtable, root, &by_offset, NULL, error) ||
	    !gmem_pgtable_walk(pgtable, root, &by_tables, NULL, error))
		return FALSE;
	if (by_offset != by_tables) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "its page tables map init_top_pgt at 0x%" G_GINT64_MODIFIER
			    "x, not at 0x%" G_GINT64_MODIFIER "x",
			    by_tables, by_offset);
		return FALSE;
	}
	return gmem_dmesg_check_release(info, &reader, error) &&
	       gmem_printk_probe(info, gmem_dmesg_read_virt_cb, &reader, error);
}

/* guest-dmesg's reply from decoded records, with the agent's filters
 * (level, then tail), and the "memory" member the callers complete */
static JsonObject *
gmem_dmesg_build_reply(const GmemVmcoreinfo *info, const gchar *note_source, GPtrArray *records,
		       const GmemPrintkStats *stats, const GmemDmesgOptions *opts,
		       gboolean five_level, const GmemDmesgReader *reader, JsonObject **memory_out)
{
	g_autofree gchar *text =
		gmem_printk_records_to_reply(records, stats, opts->level, opts->tail);
	g_autoptr(JsonNode) node = json_from_string(text, NULL);
	JsonObject *result;
	JsonObject *memory;
	g_autofree gchar *address =
		g_strdup_printf("0x%" G_GINT64_MODIFIER "x", stats->text_address);

	/* the shared writer's text is one object, always */
	g_return_val_if_fail(node != NULL && JSON_NODE_HOLDS_OBJECT(node), NULL);
	result = json_object_ref(json_node_get_object(node));
	memory = json_object_new();
	json_object_set_string_member(memory, "osrelease", gmem_vmcoreinfo_get(info, "OSRELEASE"));
	json_object_set_string_member(memory, "vmcoreinfo", note_source);
	json_object_set_string_member(memory, "layout", stats->legacy ? "log_buf" : "lockless");
	json_object_set_int_member(memory, "paging-levels", five_level ? 5 : 4);
	json_object_set_int_member(memory, "buffer-bytes", (gint64)stats->buffer_bytes);
	json_object_set_string_member(memory, "buffer-address", address);
	json_object_set_int_member(memory, "read-bytes", (gint64)reader->bytes);
	json_object_set_int_member(memory, "skipped", stats->skipped);
	json_object_set_object_member(result, "memory", memory);
	*memory_out = memory;
	return result;
}

/* where the scan found the note it took, and how many it refused */
static void
gmem_dmesg_add_scan(JsonObject *memory, const GmemLiveScan *scan)
{
	JsonObject *scanned = json_object_new();
	g_autofree gchar *at = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", scan->note_paddr);

	json_object_set_string_member(scanned, "note-address", at);
	json_object_set_int_member(scanned, "refused", scan->refused);
	json_object_set_object_member(memory, "scan", scanned);
}

JsonObject *
gmem_dmesg_read(const gchar *qmp_path, const GmemDmesgOptions *opts, GError **error)
{
	GmemDmesgOptions defaults;
	g_autoptr(GmemLive) vmcore = NULL;
	g_autoptr(GmemVmcoreinfo) info = NULL;
	g_autoptr(GmemPgtable) pgtable = NULL;
	g_autoptr(GmemPrintkSnapshot) snapshot = NULL;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *note = NULL;
	const gchar *note_source = "dump";
	GmemDmesgReader reader = {0};
	GmemPrintkStats stats = {0};
	GmemLiveScan scan = {0};
	JsonObject *result;
	JsonObject *memory = NULL;
	gboolean five_level = FALSE;
	gint64 started = g_get_monotonic_time();
	gint64 paused_at = 0;
	gint64 paused_us = 0;
	gsize note_len = 0;

	g_return_val_if_fail(qmp_path != NULL, NULL);

	if (opts == NULL) {
		gmem_dmesg_options_init(&defaults);
		opts = &defaults;
	}
	vmcore = gmem_live_connect(qmp_path, opts->timeout_ms, error);
	if (vmcore == NULL)
		return NULL;
	gmem_live_set_use_xp(vmcore, opts->use_xp);

	note = gmem_live_dump_vmcoreinfo(vmcore, &note_len, &error_local);
	if (note == NULL) {
		if (!g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "getting VMCOREINFO: ");
			return NULL;
		}
		if (!opts->scan) {
			g_set_error(
				error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				"the guest's VMCOREINFO is not available: " GMEM_DMESG_VMCOREINFO_HINT
				"; or let qgatrace scan guest RAM for it");
			return NULL;
		}
		g_clear_error(&error_local);
		note_source = "scan";
		scan.limit = opts->scan_limit;
		scan.progress = opts->progress;
		scan.progress_data = opts->progress_data;
		scan.check = gmem_dmesg_check_note;
		scan.check_data = vmcore;
		note = gmem_live_scan_vmcoreinfo(vmcore, &scan, &note_len, &error_local);
		if (note == NULL) {
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   GMEM_DMESG_REFUSED
						   "the guest's VMCOREINFO is not available (%s): ",
						   GMEM_DMESG_VMCOREINFO_HINT);
			return NULL;
		}
		g_message("QEMU published no VMCOREINFO: using the note a scan of guest RAM found "
			  "at 0x%" G_GINT64_MODIFIER "x, checked against the kernel's page tables "
			  "(%u other notes refused)",
			  scan.note_paddr, scan.refused);
	}
	info = gmem_vmcoreinfo_parse(note, note_len, error);
	if (info == NULL) {
		g_prefix_error(error, GMEM_DMESG_REFUSED);
		return NULL;
	}
	reader.read = gmem_dmesg_read_vmcore_cb;
	reader.read_data = vmcore;
	pgtable = gmem_dmesg_pgtable_new(info, &reader, &five_level, error);
	if (pgtable == NULL) {
		g_prefix_error(error, GMEM_DMESG_REFUSED);
		return NULL;
	}
	reader.pgtable = pgtable;

	if (!opts->no_pause) {
		if (!gmem_live_pause(vmcore, error))
			return NULL;
		paused_at = g_get_monotonic_time();
	}
	if (opts->fail_after_pause) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "failing after the pause, as the test asked");
		return NULL; /* gmem_live_free() resumes */
	}
	/* paused only while guest memory is copied: decoding it waits for cont */
	snapshot = gmem_printk_fetch(info, gmem_dmesg_read_virt_cb, &reader, error);
	if (snapshot == NULL) {
		g_prefix_error(error, GMEM_DMESG_REFUSED);
		return NULL; /* gmem_live_free() resumes */
	}
	if (paused_at != 0) {
		if (!gmem_live_resume(vmcore, error)) {
			g_prefix_error(error, "resuming the guest: ");
			return NULL;
		}
		paused_us = g_get_monotonic_time() - paused_at;
	}
	records = gmem_printk_decode(snapshot, &stats, error);
	if (records == NULL) {
		g_prefix_error(error, GMEM_DMESG_REFUSED);
		return NULL;
	}

	result = gmem_dmesg_build_reply(info, note_source, records, &stats, opts, five_level,
					&reader, &memory);
	json_object_set_boolean_member(memory, "paused", paused_at != 0);
	json_object_set_int_member(memory, "paused-ms", paused_us / 1000);
	json_object_set_int_member(memory, "elapsed-ms", (g_get_monotonic_time() - started) / 1000);
	json_object_set_int_member(memory, "qmp-commands", gmem_live_get_commands(vmcore));
	json_object_set_string_member(memory, "reads",
				      gmem_live_get_use_xp(vmcore) ? "xp" : "pmemsave");
	if (scan.check != NULL)
		gmem_dmesg_add_scan(memory, &scan);
	return result;
}

/* ---- an ELF memory dump: virsh dump --memory-only, dump-guest-memory ---- */

typedef struct {
	guint64 paddr;
	guint64 offset;
	guint64 size;
} GmemDmesgSegment;

typedef struct {
	const guint8 *data;
	gsize len;
	GArray *segments; /* of GmemDmesgSegment, PT_LOAD by guest physical address */
} GmemDmesgDump;

static void
gmem_dmesg_dump_clear(GmemDmesgDump *dump)
{
	g_clear_pointer(&dump->segments, g_array_unref);
}

static gboolean
gmem_dmesg_read_dump_cb(gpointer user_data, guint64 paddr, void *buf, gsize len, GError **error)
{
	GmemDmesgDump *dump = user_data;
	guint8 *out = buf;

	while (len > 0) {
		const GmemDmesgSegment *seg = NULL;
		gsize n;

		for (guint i = 0; i < dump->segments->len; i++) {
			const GmemDmesgSegment *s =
				&g_array_index(dump->segments, GmemDmesgSegment, i);

			if (paddr >= s->paddr && paddr - s->paddr < s->size) {
				seg = s;
				break;
			}
		}
		if (seg == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "guest physical 0x%" G_GINT64_MODIFIER "x is not in the dump",
				    paddr);
			return FALSE;
		}
		n = (gsize)MIN((guint64)len, seg->size - (paddr - seg->paddr));
		memcpy(out, dump->data + seg->offset + (paddr - seg->paddr), n);
		out += n;
		paddr += n;
		len -= n;
	}
	return TRUE;
}

static gboolean
gmem_dmesg_dump_open(GmemDmesgDump *dump, const guint8 *elf, gsize len, const gchar *path,
		     GError **error)
{
	Elf64_Ehdr eh;

	dump->data = elf;
	dump->len = len;
	dump->segments = g_array_new(FALSE, FALSE, sizeof(GmemDmesgSegment));
	if (dump->len >= 8 && (memcmp(dump->data, "KDUMP   ", 8) == 0 ||
			       memcmp(dump->data, "makedumpfile", 8) == 0)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "'%s' is a compressed kdump file: only ELF dumps are read (virsh dump "
			    "--memory-only --format elf, or QMP dump-guest-memory)",
			    path);
		return FALSE;
	}
	if (dump->len < sizeof(eh) || memcmp(dump->data, ELFMAG, SELFMAG) != 0 ||
	    dump->data[EI_CLASS] != ELFCLASS64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is not an ELF64 memory dump", path);
		return FALSE;
	}
	memcpy(&eh, dump->data, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > dump->len ||
	    (guint64)eh.e_phnum * sizeof(Elf64_Phdr) > dump->len - eh.e_phoff) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s': the program headers are out of bounds", path);
		return FALSE;
	}
	for (guint i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		GmemDmesgSegment seg;

		memcpy(&ph, dump->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		/* a truncated dump keeps what it has */
		if (ph.p_offset > dump->len)
			continue;
		seg.paddr = ph.p_paddr;
		seg.offset = ph.p_offset;
		seg.size = MIN(ph.p_filesz, dump->len - ph.p_offset);
		g_array_append_val(dump->segments, seg);
	}
	return TRUE;
}

JsonObject *
gmem_dmesg_read_from_dump(const gchar *path, const GmemDmesgOptions *opts, GError **error)
{
	g_autoptr(GMappedFile) file = NULL;

	g_return_val_if_fail(path != NULL, NULL);

	file = g_mapped_file_new(path, FALSE, error);
	if (file == NULL)
		return NULL;
	return gmem_dmesg_read_from_elf((const guint8 *)g_mapped_file_get_contents(file),
					g_mapped_file_get_length(file), path, opts, error);
}

JsonObject *
gmem_dmesg_read_from_elf(const guint8 *elf, gsize len, const gchar *path,
			 const GmemDmesgOptions *opts, GError **error)
{
	GmemDmesgOptions defaults;
	GmemDmesgDump dump = {0};
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GmemVmcoreinfo) info = NULL;
	g_autoptr(GmemPgtable) pgtable = NULL;
	g_autoptr(GPtrArray) records = NULL;
	g_autofree gchar *note = NULL;
	GmemDmesgReader reader = {0};
	GmemPrintkStats stats = {0};
	JsonObject *result = NULL;
	JsonObject *memory = NULL;
	gboolean five_level = FALSE;
	gint64 started = g_get_monotonic_time();
	gsize note_len = 0;

	g_return_val_if_fail(elf != NULL || len == 0, NULL);
	g_return_val_if_fail(path != NULL, NULL);

	if (opts == NULL) {
		gmem_dmesg_options_init(&defaults);
		opts = &defaults;
	}
	if (!gmem_dmesg_dump_open(&dump, elf, len, path, error)) {
		gmem_dmesg_dump_clear(&dump);
		return NULL;
	}
	note = gmem_vmcoreinfo_find_in_elf(dump.data, dump.len, &note_len, &error_local);
	if (note == NULL) {
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_set_error(
				error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				"'%s' carries no VMCOREINFO note: a dump has it when " GMEM_DMESG_VMCOREINFO_HINT,
				path);
		else
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "'%s': ", path);
		gmem_dmesg_dump_clear(&dump);
		return NULL;
	}
	info = gmem_vmcoreinfo_parse(note, note_len, error);
	reader.read = gmem_dmesg_read_dump_cb;
	reader.read_data = &dump;
	if (info != NULL)
		pgtable = gmem_dmesg_pgtable_new(info, &reader, &five_level, error);
	reader.pgtable = pgtable;
	if (pgtable != NULL)
		records = gmem_printk_read(info, gmem_dmesg_read_virt_cb, &reader, &stats, error);
	if (records == NULL)
		g_prefix_error(error, GMEM_DMESG_REFUSED);
	if (records != NULL) {
		result = gmem_dmesg_build_reply(info, "dump-file", records, &stats, opts,
						five_level, &reader, &memory);
		json_object_set_boolean_member(memory, "paused", FALSE);
		json_object_set_int_member(memory, "elapsed-ms",
					   (g_get_monotonic_time() - started) / 1000);
		json_object_set_string_member(memory, "reads", "file");
	}
	gmem_dmesg_dump_clear(&dump);
	return result;
}
