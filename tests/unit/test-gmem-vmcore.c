/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gmem-sim.h"
#include "gmem-dmesg.h"
#include "gmem-live.h"
#include "gmem-vmcoreinfo.h"

/* ---- VMCOREINFO parsing ---- */

static void
test_gmem_vmcore_parse(void **state)
{
	static const gchar text[] = "OSRELEASE=6.1.0-56-cloud-amd64\n"
				    "SYMBOL(prb)=ffffffffb52622c0\n"
				    "NUMBER(phys_base)=-784334848\n"
				    "NUMBER(pgtable_l5_enabled)=1\n"
				    "KERNELOFFSET=32800000\n"
				    "SIZE(printk_info)=88\n"
				    "CRASHTIME=\n"
				    "junk line without equals\n"
				    "NUMBER(bad)=12x\n";
	g_autoptr(GmemVmcoreinfo) info = gmem_vmcoreinfo_parse(text, strlen(text), NULL);
	g_autoptr(GError) error = NULL;
	guint64 v = 0;

	assert_non_null(info);
	assert_string_equal(gmem_vmcoreinfo_get(info, "OSRELEASE"), "6.1.0-56-cloud-amd64");
	assert_true(gmem_vmcoreinfo_get_u64(info, "SYMBOL(prb)", &v, NULL));
	assert_int_equal(v, G_GUINT64_CONSTANT(0xffffffffb52622c0));
	assert_true(gmem_vmcoreinfo_get_u64(info, "NUMBER(phys_base)", &v, NULL));
	assert_int_equal(v, (guint64)G_GINT64_CONSTANT(-784334848));
	assert_true(gmem_vmcoreinfo_get_u64(info, "KERNELOFFSET", &v, NULL));
	assert_int_equal(v, 0x32800000);
	assert_true(gmem_vmcoreinfo_get_u64(info, "SIZE(printk_info)", &v, NULL));
	assert_int_equal(v, 88);
	assert_false(gmem_vmcoreinfo_get_u64(info, "SYMBOL(log_buf)", &v, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_false(gmem_vmcoreinfo_get_u64(info, "NUMBER(bad)", &v, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	g_clear_error(&error);
	assert_false(gmem_vmcoreinfo_get_u64(info, "CRASHTIME", &v, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

static void
test_gmem_vmcore_parse_not_vmcoreinfo(void **state)
{
	g_autoptr(GError) error = NULL;

	assert_null(gmem_vmcoreinfo_parse("hello=world\n", 12, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

/* ---- notes: in an ELF core, and in raw RAM ---- */

static void
append_note(GByteArray *out, const gchar *name, guint32 type, const void *desc, guint32 descsz)
{
	guint32 hdr[3] = {(guint32)strlen(name) + 1, descsz, type};
	static const guint8 zero[4] = {0};

	g_byte_array_append(out, (const guint8 *)hdr, sizeof(hdr));
	g_byte_array_append(out, (const guint8 *)name, hdr[0]);
	g_byte_array_append(out, zero, (4 - hdr[0] % 4) % 4);
	g_byte_array_append(out, desc, descsz);
	g_byte_array_append(out, zero, (4 - descsz % 4) % 4);
}

/* an ELF core as dump-guest-memory writes it: PT_NOTE (CORE, QEMU and
 * maybe VMCOREINFO), then one PT_LOAD of @ram */
static GByteArray *
build_elf(const gchar *vmcoreinfo, const guint8 *ram, gsize ram_len)
{
	GByteArray *elf = g_byte_array_new();
	g_autoptr(GByteArray) notes = g_byte_array_new();
	guint8 prstatus[336] = {0};
	guint8 qemu_cpu[0x1b8] = {0};
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[2] = {{0}};

	append_note(notes, "CORE", NT_PRSTATUS, prstatus, sizeof(prstatus));
	append_note(notes, "QEMU", 0, qemu_cpu, sizeof(qemu_cpu));
	if (vmcoreinfo != NULL)
		append_note(notes, "VMCOREINFO", 0, vmcoreinfo, (guint32)strlen(vmcoreinfo));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = sizeof(eh) + sizeof(ph);
	ph[0].p_filesz = notes->len;
	ph[1].p_type = PT_LOAD;
	ph[1].p_offset = ph[0].p_offset + notes->len;
	ph[1].p_filesz = ph[1].p_memsz = ram_len;
	g_byte_array_append(elf, (const guint8 *)&eh, sizeof(eh));
	g_byte_array_append(elf, (const guint8 *)ph, sizeof(ph));
	g_byte_array_append(elf, notes->data, notes->len);
	g_byte_array_append(elf, ram, (guint)ram_len);
	return elf;
}

static void
test_gmem_vmcore_elf_note(void **state)
{
	static const gchar note[] = "OSRELEASE=6.1.0\nSYMBOL(prb)=ffffffff822622c0\n";
	guint8 page[4096] = {0};
	g_autoptr(GByteArray) elf = build_elf(note, page, sizeof(page));
	g_autoptr(GByteArray) bare = build_elf(NULL, page, sizeof(page));
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	gsize len = 0;

	text = gmem_vmcoreinfo_find_in_elf(elf->data, elf->len, &len, &error);
	assert_non_null(text);
	assert_string_equal(text, note);
	assert_int_equal(len, strlen(note));

	assert_null(gmem_vmcoreinfo_find_in_elf(bare->data, bare->len, &len, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	g_clear_error(&error);
	/* cut inside the program headers, and not ELF at all */
	assert_null(gmem_vmcoreinfo_find_in_elf(elf->data, 80, &len, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	g_clear_error(&error);
	assert_null(gmem_vmcoreinfo_find_in_elf(page, sizeof(page), &len, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	g_clear_error(&error);
	/* a note cut short: not found rather than read past the end */
	assert_null(
		gmem_vmcoreinfo_find_in_elf(elf->data, elf->len - sizeof(page) - 8, &len, &error));
	assert_non_null(error);
}

static void
test_gmem_vmcore_scan_buffer(void **state)
{
	static const gchar note[] = "OSRELEASE=6.1.0\nPAGESIZE=4096\n";
	g_autofree guint8 *ram = g_malloc0(256 * 1024);
	g_autoptr(GByteArray) blob = g_byte_array_new();
	gsize offset = 0;
	gsize len = 0;

	/* decoys: the raw vmcoreinfo_data (no header), a string in a message */
	memcpy(ram + 1000, "VMCOREINFO\0\0OSRELEASE=x", 23);
	memcpy(ram + 5000, "OSRELEASE=6.1.0\nPAGESIZE=4096\n", 30);
	assert_false(gmem_vmcoreinfo_scan_buffer(ram, 256 * 1024, &offset, &len));
	append_note(blob, "VMCOREINFO", 0, note, sizeof(note) - 1);
	memcpy(ram + 200 * 1024 + 4, blob->data, blob->len);
	assert_true(gmem_vmcoreinfo_scan_buffer(ram, 256 * 1024, &offset, &len));
	assert_int_equal(offset, 200 * 1024 + 4 + 24);
	assert_int_equal(len, strlen(note));
	/* the note cut by the end of the buffer is not taken */
	assert_false(gmem_vmcoreinfo_scan_buffer(ram, 200 * 1024 + 4 + 30, &offset, &len));
}

/* ---- a fake QEMU QMP server over synthetic guest memory ---- */

#define FAKE_RAM	  (64 * 1024 * 1024)
#define FAKE_DIRECT_MAP	  G_GUINT64_CONSTANT(0xff11000000000000)
#define FAKE_KERNEL_VA	  G_GUINT64_CONSTANT(0xffffffff81000000)
#define FAKE_KERNEL_PA	  G_GUINT64_CONSTANT(0x1000000)
#define FAKE_PRB_SYM	  (FAKE_KERNEL_VA + 0x12622c0)
#define FAKE_INIT_TOP_PGT (FAKE_KERNEL_VA + 0x1a00000)
#define FAKE_RING_PA	  G_GUINT64_CONSTANT(0x3000000)
#define FAKE_NOTE_PA	  G_GUINT64_CONSTANT(0x3e00000)
#define FAKE_UTS_SYM	  (FAKE_KERNEL_VA + 0x1800000)
#define FAKE_IMAGE_SIZE	  (32 * 1024 * 1024)

typedef struct {
	SimMem *phys;
	gchar *vmcoreinfo;
	gboolean has_device; /* -device vmcoreinfo: the dump carries the note */
	gboolean pmemsave_fails;
	gboolean sigint_while_paused; /* Ctrl-C arrives during the first pmemsave */
	gboolean running;
	guint stops, conts, pmemsaves, xps, dumps;
	/* pmemsave waits while block_pmemsave; conts and pmemsaves_blocked are
	 * counted under the lock, for a test that waits for them */
	GMutex lock;
	GCond cond;
	gboolean block_pmemsave;
	guint pmemsaves_blocked;
	gint listen_fd;
	gchar *dir;
	gchar *path;
	GThread *thread;
} FakeQemu;

static void
fake_reply(gint fd, JsonNode *id, JsonNode *ret, const gchar *error_desc)
{
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *line = NULL;
	gssize n;

	if (error_desc != NULL) {
		JsonObject *err = json_object_new();

		json_object_set_string_member(err, "class", "GenericError");
		json_object_set_string_member(err, "desc", error_desc);
		json_object_set_object_member(obj, "error", err);
	} else {
		json_object_set_member(obj, "return",
				       ret != NULL ? ret
						   : json_node_init_object(json_node_alloc(),
									   json_object_new()));
	}
	if (id != NULL)
		json_object_set_member(obj, "id", json_node_copy(id));
	root = json_node_init_object(json_node_alloc(), obj);
	text = json_to_string(root, FALSE);
	line = g_strconcat(text, "\r\n", NULL);
	n = send(fd, line, strlen(line), MSG_NOSIGNAL);
	/* a client the test killed is gone */
	g_assert(n == (gssize)strlen(line) || (n < 0 && errno == EPIPE));
}

static void
fake_write_phys(FakeQemu *fake, gint out, guint64 paddr, guint64 size)
{
	g_autofree guint8 *buf = g_malloc(size);

	sim_mem_read(fake->phys, paddr, buf, size, NULL);
	g_assert(write(out, buf, size) == (gssize)size);
}

static JsonNode *
fake_handle(FakeQemu *fake, gint fd, const gchar *cmd, JsonObject *args, gint *passed_fd,
	    gint *dump_fd, gint *pmem_fd, const gchar **error_desc)
{
	JsonObject *ret = json_object_new();

	if (g_str_equal(cmd, "query-status")) {
		json_object_set_boolean_member(ret, "running", fake->running);
		json_object_set_string_member(ret, "status", fake->running ? "running" : "paused");
	} else if (g_str_equal(cmd, "stop")) {
		fake->running = FALSE;
		fake->stops++;
	} else if (g_str_equal(cmd, "cont")) {
		g_mutex_lock(&fake->lock);
		fake->running = TRUE;
		fake->conts++;
		g_cond_broadcast(&fake->cond);
		g_mutex_unlock(&fake->lock);
	} else if (g_str_equal(cmd, "getfd")) {
		*dump_fd = *passed_fd;
		*passed_fd = -1;
	} else if (g_str_equal(cmd, "add-fd")) {
		*pmem_fd = *passed_fd;
		*passed_fd = -1;
		json_object_set_int_member(ret, "fd", *pmem_fd);
		json_object_set_int_member(ret, "fdset-id", 0);
	} else if (g_str_equal(cmd, "remove-fd") || g_str_equal(cmd, "closefd")) {
	} else if (g_str_equal(cmd, "query-memory-size-summary")) {
		json_object_set_int_member(ret, "base-memory", FAKE_RAM);
	} else if (g_str_equal(cmd, "dump-guest-memory")) {
		g_autofree guint8 *page = g_malloc0(4096);
		g_autoptr(GByteArray) elf =
			build_elf(fake->has_device ? fake->vmcoreinfo : NULL, page, 4096);
		g_autofree gchar *event = g_strdup(
			"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
			"\"DUMP_COMPLETED\", \"data\": {}}\r\n");

		g_assert(*dump_fd >= 0);
		g_assert(g_str_equal(json_object_get_string_member(args, "protocol"),
				     "fd:qgatrace-vmcoreinfo"));
		g_assert(write(*dump_fd, elf->data, elf->len) == (gssize)elf->len);
		close(*dump_fd);
		*dump_fd = -1;
		fake->dumps++;
		/* an event before the reply: the client must skip it */
		g_assert(write(fd, event, strlen(event)) == (gssize)strlen(event));
	} else if (g_str_equal(cmd, "pmemsave")) {
		const gchar *filename = json_object_get_string_member(args, "filename");
		gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
		gint out;

		/* as QEMU: busy with this pmemsave, the next command waits */
		g_mutex_lock(&fake->lock);
		if (fake->block_pmemsave) {
			fake->pmemsaves_blocked++;
			g_cond_broadcast(&fake->cond);
		}
		while (fake->block_pmemsave && g_cond_wait_until(&fake->cond, &fake->lock, end))
			;
		g_mutex_unlock(&fake->lock);

		if (fake->sigint_while_paused) {
			fake->sigint_while_paused = FALSE;
			g_assert(!fake->running);
			kill(getpid(), SIGINT);
		}
		if (fake->pmemsave_fails) {
			*error_desc = "Could not open '/proc/self/fd/99': Permission denied";
			json_object_unref(ret);
			return NULL;
		}
		/* QEMU fopen()s it "wb", which truncates */
		out = open(filename, O_WRONLY | O_TRUNC | O_CLOEXEC);
		g_assert(out >= 0);
		fake_write_phys(fake, out, (guint64)json_object_get_int_member(args, "val"),
				(guint64)json_object_get_int_member(args, "size"));
		close(out);
		fake->pmemsaves++;
	} else if (g_str_equal(cmd, "human-monitor-command")) {
		const gchar *line = json_object_get_string_member(args, "command-line");
		g_autoptr(GString) out = g_string_new(NULL);
		guint n = 0;
		guint64 addr = 0;

		json_object_unref(ret);
		g_assert(sscanf(line, "xp /%ug 0x%" G_GINT64_MODIFIER "x", &n, &addr) == 2);
		for (guint i = 0; i < n; i++) {
			guint64 q = 0;

			sim_mem_read(fake->phys, addr + i * 8, &q, 8, NULL);
			if (i % 2 == 0)
				g_string_append_printf(out,
						       "%016" G_GINT64_MODIFIER "x:", addr + i * 8);
			g_string_append_printf(out, " 0x%016" G_GINT64_MODIFIER "x", q);
			if (i % 2 == 1 || i + 1 == n)
				g_string_append(out, "\r\n");
		}
		fake->xps++;
		return json_node_init_string(json_node_alloc(), out->str);
	} else {
		*error_desc = "The command is not found";
		json_object_unref(ret);
		return NULL;
	}
	return json_node_init_object(json_node_alloc(), ret);
}

static gpointer
fake_thread(gpointer data)
{
	FakeQemu *fake = data;
	g_autoptr(GString) pending = g_string_new(NULL);
	static const gchar greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "
		"\"capabilities\": [\"oob\"]}}\r\n";
	gint passed_fd = -1, dump_fd = -1, pmem_fd = -1;
	gint fd = accept4(fake->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	g_assert(write(fd, greeting, strlen(greeting)) == (gssize)strlen(greeting));
	for (;;) {
		gchar buf[4096];
		union {
			struct cmsghdr align;
			gchar buf[CMSG_SPACE(sizeof(gint))];
		} control;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		gssize n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		gchar *nl;

		if (n <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				if (passed_fd >= 0)
					close(passed_fd);
				memcpy(&passed_fd, CMSG_DATA(c), sizeof(gint));
			}
		}
		g_string_append_len(pending, buf, n);
		while ((nl = strchr(pending->str, '\n')) != NULL) {
			g_autoptr(JsonParser) parser = json_parser_new();
			g_autofree gchar *line = g_strndup(pending->str, nl - pending->str);
			const gchar *error_desc = NULL;
			JsonObject *req;
			JsonNode *ret;
			JsonObject *args;

			g_string_erase(pending, 0, nl - pending->str + 1);
			g_assert(json_parser_load_from_data(parser, line, -1, NULL));
			req = json_node_get_object(json_parser_get_root(parser));
			args = json_object_get_object_member(req, "arguments");
			if (g_str_equal(json_object_get_string_member(req, "execute"),
					"qmp_capabilities")) {
				fake_reply(fd, json_object_get_member(req, "id"), NULL, NULL);
				continue;
			}
			ret = fake_handle(fake, fd, json_object_get_string_member(req, "execute"),
					  args, &passed_fd, &dump_fd, &pmem_fd, &error_desc);
			fake_reply(fd, json_object_get_member(req, "id"), ret, error_desc);
		}
	}
	close(fd);
	if (passed_fd >= 0)
		close(passed_fd);
	if (dump_fd >= 0)
		close(dump_fd);
	if (pmem_fd >= 0)
		close(pmem_fd);
	return NULL;
}

/* copies a virtually addressed SimMem to physical memory */
static void
fake_store_virt(FakeQemu *fake, SimMem *virt)
{
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, virt->pages);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		guint64 va = *(guint64 *)key;
		guint64 pa = va >= FAKE_KERNEL_VA ? va - FAKE_KERNEL_VA + FAKE_KERNEL_PA
						  : va - FAKE_DIRECT_MAP;

		sim_mem_write(fake->phys, pa, value, SIM_PAGE);
	}
}

static FakeQemu *
fake_start(guint n_records, gboolean has_device)
{
	FakeQemu *fake = g_new0(FakeQemu, 1);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	SimMem *virt = sim_mem_new();
	SimRing ring;
	SimMmu mmu;
	g_autoptr(GByteArray) note = g_byte_array_new();
	g_autofree gchar *base = NULL;

	fake->phys = sim_mem_new();
	g_mutex_init(&fake->lock);
	g_cond_init(&fake->cond);
	fake->running = TRUE;
	fake->has_device = has_device;
	base = sim_vmcoreinfo(FAKE_PRB_SYM, FAKE_INIT_TOP_PGT, 0, TRUE);
	fake->vmcoreinfo = g_strdup_printf("%sSYMBOL(init_uts_ns)=%" G_GINT64_MODIFIER "x\n"
					   "OFFSET(uts_namespace.name)=4\n",
					   base, FAKE_UTS_SYM);
	/* the release in init_uts_ns.name: after sysname and nodename */
	sim_mem_write(fake->phys, FAKE_UTS_SYM - FAKE_KERNEL_VA + FAKE_KERNEL_PA + 4 + 2 * 65,
		      "6.1.0-sim", sizeof("6.1.0-sim"));
	/* the page tables: the kernel image, the direct map in 2 MiB pages, one 4 KiB page */
	sim_mmu_init(&mmu, fake->phys, TRUE, FAKE_INIT_TOP_PGT - FAKE_KERNEL_VA + FAKE_KERNEL_PA);
	for (guint64 off = 0; off < FAKE_IMAGE_SIZE; off += 2 * 1024 * 1024)
		sim_mmu_map(&mmu, FAKE_KERNEL_VA + off, FAKE_KERNEL_PA + off, 2 * 1024 * 1024);
	for (guint64 pa = 0; pa < FAKE_RAM; pa += 2 * 1024 * 1024)
		if (pa != FAKE_RING_PA)
			sim_mmu_map(&mmu, FAKE_DIRECT_MAP + pa, pa, 2 * 1024 * 1024);
	for (guint64 pa = FAKE_RING_PA; pa < FAKE_RING_PA + 2 * 1024 * 1024; pa += 4096)
		sim_mmu_map(&mmu, FAKE_DIRECT_MAP + pa, pa, 4096);
	/* the ring, as log_buf_len= puts it: in the direct map */
	sim_ring_init(&ring, 9, 15);
	for (guint i = 0; i < n_records; i++) {
		g_autofree gchar *text = g_strdup_printf("fake record %u", i);

		sim_ring_push(&ring, text, i % 8);
	}
	sim_ring_store(&ring, virt, FAKE_PRB_SYM, FAKE_DIRECT_MAP + FAKE_RING_PA);
	sim_ring_clear(&ring);
	fake_store_virt(fake, virt);
	sim_mem_free(virt);
	/* the note where the kernel keeps it, for the RAM scan */
	append_note(note, "VMCOREINFO", 0, fake->vmcoreinfo, (guint32)strlen(fake->vmcoreinfo));
	sim_mem_write(fake->phys, FAKE_NOTE_PA, note->data, note->len);

	fake->dir = g_dir_make_tmp("test-gmem-vmcore-XXXXXX", NULL);
	fake->path = g_build_filename(fake->dir, "qmp.sock", NULL);
	strcpy(addr.sun_path, fake->path);
	fake->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert(bind(fake->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	g_assert(listen(fake->listen_fd, 1) == 0);
	fake->thread = g_thread_new("fake-qemu", fake_thread, fake);
	return fake;
}

static void
fake_stop(FakeQemu *fake)
{
	shutdown(fake->listen_fd, SHUT_RDWR);
	g_thread_join(fake->thread);
	close(fake->listen_fd);
	g_unlink(fake->path);
	g_rmdir(fake->dir);
	g_free(fake->path);
	g_free(fake->dir);
	g_free(fake->vmcoreinfo);
	sim_mem_free(fake->phys);
	g_mutex_clear(&fake->lock);
	g_cond_clear(&fake->cond);
	g_free(fake);
}

static void
assert_records(JsonObject *reply, guint n_records, guint expect)
{
	JsonArray *records = json_object_get_array_member(reply, "records");
	guint len = json_array_get_length(records);

	assert_int_equal(len, expect);
	for (guint i = 0; i < len; i++) {
		JsonObject *r = json_array_get_object_element(records, i);
		guint64 seq = (guint64)json_object_get_int_member(r, "seq");
		g_autofree gchar *want = g_strdup_printf("fake record %" G_GUINT64_FORMAT, seq);

		assert_string_equal(json_object_get_string_member(r, "message"), want);
		assert_int_equal(json_object_get_int_member(r, "level"), seq % 8);
	}
	if (len > 0) {
		JsonObject *last = json_array_get_object_element(records, len - 1);

		assert_int_equal(json_object_get_int_member(last, "seq"), n_records - 1);
		assert_int_equal(json_object_get_int_member(reply, "next-seq"), n_records - 1);
	}
}

static void
test_gmem_vmcore_read_dmesg(void **state)
{
	FakeQemu *fake = fake_start(3000, TRUE);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;
	JsonObject *memory;

	gmem_dmesg_options_init(&opts);
	reply = gmem_dmesg_read(fake->path, &opts, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_string_equal(json_object_get_string_member(reply, "source"), "memory");
	assert_string_equal(json_object_get_string_member(reply, "encoding"), "kmsg-escaped");
	/* 512 descriptors: the last 512 records (DESC0 was evicted long ago) */
	assert_records(reply, 3000, 512);
	memory = json_object_get_object_member(reply, "memory");
	assert_string_equal(json_object_get_string_member(memory, "vmcoreinfo"), "dump");
	assert_string_equal(json_object_get_string_member(memory, "reads"), "pmemsave");
	assert_true(json_object_get_boolean_member(memory, "paused"));
	assert_int_equal(fake->dumps, 1);
	assert_int_equal(fake->stops, 1);
	assert_int_equal(fake->conts, 1);
	assert_true(fake->running);
	/* the direct map's 2 MiB pages and the contiguous arrays: few reads */
	assert_true(fake->pmemsaves < 40);
	fake_stop(fake);
}

static void
test_gmem_vmcore_filters(void **state)
{
	FakeQemu *fake = fake_start(100, TRUE);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;
	JsonArray *records;

	gmem_dmesg_options_init(&opts);
	opts.level = 3;
	opts.tail = 5;
	opts.no_pause = TRUE;
	reply = gmem_dmesg_read(fake->path, &opts, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	records = json_object_get_array_member(reply, "records");
	assert_int_equal(json_array_get_length(records), 5);
	for (guint i = 0; i < 5; i++)
		assert_true(json_object_get_int_member(json_array_get_object_element(records, i),
						       "level") <= 3);
	/* the last of levels 0..3 below 100: 99 is 3 */
	assert_int_equal(
		json_object_get_int_member(json_array_get_object_element(records, 4), "seq"), 99);
	assert_int_equal(fake->stops, 0);
	fake_stop(fake);
}

static void
test_gmem_vmcore_xp(void **state)
{
	FakeQemu *fake = fake_start(40, TRUE);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;

	gmem_dmesg_options_init(&opts);
	opts.use_xp = TRUE;
	reply = gmem_dmesg_read(fake->path, &opts, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_records(reply, 40, 40);
	assert_int_equal(fake->pmemsaves, 0);
	assert_true(fake->xps > 0);
	assert_true(fake->running);
	fake_stop(fake);
}

/* a QEMU that cannot open /proc/self/fd (confined): xp takes over */
static void
test_gmem_vmcore_pmemsave_fallback(void **state)
{
	FakeQemu *fake = fake_start(40, TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;

	fake->pmemsave_fails = TRUE;
	reply = gmem_dmesg_read(fake->path, NULL, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_records(reply, 40, 40);
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(reply, "memory"), "reads"),
			    "xp");
	assert_true(fake->running);
	fake_stop(fake);
}

static void
test_gmem_vmcore_no_device(void **state)
{
	FakeQemu *fake = fake_start(10, FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;

	reply = gmem_dmesg_read(fake->path, NULL, &error);
	assert_null(reply);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "-device vmcoreinfo"));
	assert_non_null(strstr(error->message, "<vmcoreinfo state='on'/>"));
	assert_true(fake->running);
	assert_int_equal(fake->stops, 0);
	fake_stop(fake);
}

static void
progress_cb(guint64 done, guint64 total, gpointer user_data)
{
	guint *calls = user_data;

	g_assert(done <= total);
	(*calls)++;
}

static void
test_gmem_vmcore_scan(void **state)
{
	FakeQemu *fake = fake_start(10, FALSE);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;
	guint calls = 0;

	gmem_dmesg_options_init(&opts);
	opts.scan = TRUE;
	opts.progress = progress_cb;
	opts.progress_data = &calls;
	reply = gmem_dmesg_read(fake->path, &opts, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_records(reply, 10, 10);
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(reply, "memory"), "vmcoreinfo"),
			    "scan");
	assert_true(calls > 0);
	fake_stop(fake);

	/* a limit below the note's address: not found, and said so */
	fake = fake_start(10, FALSE);
	opts.scan_limit = 16 * 1024 * 1024;
	g_clear_error(&error);
	assert_null(gmem_dmesg_read(fake->path, &opts, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "16 MiB"));
	assert_true(fake->running);
	fake_stop(fake);
}

/* a VMCOREINFO note written into guest RAM at @paddr, with @from in the
 * fake's own replaced by @to */
static void
plant_note(FakeQemu *fake, guint64 paddr, const gchar *from, const gchar *to)
{
	g_autoptr(GString) text = g_string_new(fake->vmcoreinfo);
	g_autoptr(GByteArray) note = g_byte_array_new();

	assert_int_equal(g_string_replace(text, from, to, 1), 1);
	append_note(note, "VMCOREINFO", 0, text->str, (guint32)text->len);
	sim_mem_write(fake->phys, paddr, note->data, note->len);
}

/* notes a guest process planted lower in RAM than the kernel's: each fails
 * a check against the kernel's own layout, and the kernel's is taken */
static void
test_gmem_vmcore_scan_planted(void **state)
{
	FakeQemu *fake = fake_start(10, FALSE);
	g_autofree gchar *prb =
		g_strdup_printf("SYMBOL(prb)=%" G_GINT64_MODIFIER "x", FAKE_PRB_SYM);
	g_autofree gchar *pgt =
		g_strdup_printf("SYMBOL(init_top_pgt)=%" G_GINT64_MODIFIER "x", FAKE_INIT_TOP_PGT);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;
	JsonObject *scan;

	/* the ring steered to memory the planter chose; page tables of its own;
	 * a release that is not the kernel's; one that is no release */
	plant_note(fake, 0x400000, prb, "SYMBOL(prb)=ffffffff81100000");
	plant_note(fake, 0x500000, pgt, "SYMBOL(init_top_pgt)=ffffffff81200000");
	plant_note(fake, 0x600000, "OSRELEASE=6.1.0-sim", "OSRELEASE=6.6.6-planted");
	plant_note(fake, 0x700000, "OSRELEASE=6.1.0-sim", "OSRELEASE=\x1b[2J");
	gmem_dmesg_options_init(&opts);
	opts.scan = TRUE;
	reply = gmem_dmesg_read(fake->path, &opts, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_records(reply, 10, 10);
	scan = json_object_get_object_member(json_object_get_object_member(reply, "memory"),
					     "scan");
	assert_non_null(scan);
	assert_int_equal(json_object_get_int_member(scan, "refused"), 4);
	assert_string_equal(json_object_get_string_member(scan, "note-address"), "0x3e00000");
	assert_true(fake->running);
	fake_stop(fake);
}

/* an error while paused: the guest runs again */
static void
test_gmem_vmcore_resume_on_error(void **state)
{
	FakeQemu *fake = fake_start(10, TRUE);
	GmemDmesgOptions opts;
	g_autoptr(GError) error = NULL;

	gmem_dmesg_options_init(&opts);
	opts.fail_after_pause = TRUE;
	assert_null(gmem_dmesg_read(fake->path, &opts, &error));
	assert_non_null(error);
	assert_int_equal(fake->stops, 1);
	assert_int_equal(fake->conts, 1);
	assert_true(fake->running);
	fake_stop(fake);
}

/* a guest stopped by someone else stays stopped */
static void
test_gmem_vmcore_already_stopped(void **state)
{
	FakeQemu *fake = fake_start(10, TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;

	fake->running = FALSE;
	reply = gmem_dmesg_read(fake->path, NULL, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(fake->stops, 0);
	assert_int_equal(fake->conts, 0);
	assert_false(fake->running);
	fake_stop(fake);
}

static FakeQemu *sigint_fake;
static volatile sig_atomic_t sigint_count;
static volatile sig_atomic_t sigint_guest_running;

static void
sigint_handler(gint sig)
{
	sigint_count++;
	sigint_guest_running = sigint_fake->running;
}

/* Ctrl-C while the guest is paused: it runs again first, then the signal
 * reaches the program's own handler */
static void
test_gmem_vmcore_sigint_while_paused(void **state)
{
	struct sigaction action = {0};
	struct sigaction old;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;

	sigint_fake = fake_start(40, TRUE);
	sigint_fake->sigint_while_paused = TRUE;
	action.sa_handler = sigint_handler;
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, &old);
	reply = gmem_dmesg_read(sigint_fake->path, NULL, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_false(sigint_fake->sigint_while_paused);
	assert_int_equal(sigint_count, 1);
	assert_true(sigint_guest_running);
	assert_int_equal(sigint_fake->conts, 1);
	/* and the program's handler is its own again */
	{
		struct sigaction now;

		sigaction(SIGINT, NULL, &now);
		assert_ptr_equal(now.sa_handler, sigint_handler);
	}
	sigaction(SIGINT, &old, NULL);
	fake_stop(sigint_fake);
	sigint_fake = NULL;
}

/* waits up to @seconds for *@counter to reach @want */
static gboolean
fake_wait(FakeQemu *fake, guint *counter, guint want, gint seconds)
{
	gint64 end = g_get_monotonic_time() + seconds * G_TIME_SPAN_SECOND;
	gboolean reached;

	g_mutex_lock(&fake->lock);
	while (*counter < want && g_cond_wait_until(&fake->cond, &fake->lock, end))
		;
	reached = *counter >= want;
	g_mutex_unlock(&fake->lock);
	return reached;
}

/* the reader SIGKILLed in the middle of a pmemsave, the guest paused: the
 * watcher it left sends cont */
static void
test_gmem_vmcore_kill_while_paused(void **state)
{
	FakeQemu *fake = fake_start(40, TRUE);
	gint status = 0;
	pid_t pid;

	fake->block_pmemsave = TRUE;
	pid = fork();
	g_assert(pid >= 0);
	if (pid == 0) {
		JsonObject *reply = gmem_dmesg_read(fake->path, NULL, NULL);

		_exit(reply != NULL ? 0 : 1);
	}
	assert_true(fake_wait(fake, &fake->pmemsaves_blocked, 1, 10));
	assert_int_equal(fake->stops, 1);
	assert_false(fake->running);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* QEMU ends the pmemsave it was busy with, then takes the watcher's cont */
	g_mutex_lock(&fake->lock);
	fake->block_pmemsave = FALSE;
	g_cond_broadcast(&fake->cond);
	g_mutex_unlock(&fake->lock);
	assert_true(fake_wait(fake, &fake->conts, 1, 5));
	assert_true(fake->running);
	fake_stop(fake);
}

/* a normal run: the watcher is gone when the read returns, reaped */
static void
test_gmem_vmcore_watcher_reaped(void **state)
{
	FakeQemu *fake = fake_start(40, TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = gmem_dmesg_read(fake->path, NULL, &error);

	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_int_equal(fake->stops, 1);
	assert_int_equal(fake->conts, 1);
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	fake_stop(fake);
}

/* an ELF dump of the fake's memory, one PT_LOAD per page it has */
static gchar *
write_dump(FakeQemu *fake, gboolean with_note)
{
	g_autoptr(GByteArray) notes = g_byte_array_new();
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GList) keys = g_hash_table_get_keys(fake->phys->pages);
	g_autoptr(GError) error = NULL;
	guint n = g_list_length(keys);
	g_autofree Elf64_Phdr *ph = g_new0(Elf64_Phdr, n + 1);
	Elf64_Ehdr eh = {0};
	guint64 offset;
	guint i = 1;
	gchar *path = NULL;
	gint fd = g_file_open_tmp("test-gmem-vmcore-XXXXXX.elf", &path, &error);

	g_assert(fd >= 0);
	close(fd);
	if (with_note)
		append_note(notes, "VMCOREINFO", 0, fake->vmcoreinfo,
			    (guint32)strlen(fake->vmcoreinfo));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_CORE;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (guint16)MIN(n + 1, 65535u);
	g_assert(n + 1 < 65535);
	offset = sizeof(eh) + (n + 1) * sizeof(Elf64_Phdr);
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = offset;
	ph[0].p_filesz = notes->len;
	offset += notes->len;
	for (GList *l = keys; l != NULL; l = l->next, i++) {
		ph[i].p_type = PT_LOAD;
		ph[i].p_paddr = *(guint64 *)l->data;
		ph[i].p_offset = offset;
		ph[i].p_filesz = ph[i].p_memsz = SIM_PAGE;
		offset += SIM_PAGE;
	}
	g_byte_array_append(out, (const guint8 *)&eh, sizeof(eh));
	g_byte_array_append(out, (const guint8 *)ph, (n + 1) * sizeof(Elf64_Phdr));
	g_byte_array_append(out, notes->data, notes->len);
	for (GList *l = keys; l != NULL; l = l->next)
		g_byte_array_append(out, g_hash_table_lookup(fake->phys->pages, l->data), SIM_PAGE);
	g_assert(g_file_set_contents(path, (const gchar *)out->data, out->len, NULL));
	return path;
}

static void
test_gmem_vmcore_from_dump(void **state)
{
	FakeQemu *fake = fake_start(300, TRUE);
	g_autofree gchar *path = write_dump(fake, TRUE);
	g_autofree gchar *bare = write_dump(fake, FALSE);
	g_autofree gchar *kdump = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) reply = NULL;
	gint fd;

	reply = gmem_dmesg_read_from_dump(path, NULL, &error);
	if (reply == NULL)
		fail_msg("%s", error->message);
	assert_records(reply, 300, 300);
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(reply, "memory"), "vmcoreinfo"),
			    "dump-file");
	/* no QMP at all */
	assert_int_equal(fake->dumps, 0);
	assert_int_equal(fake->pmemsaves, 0);

	assert_null(gmem_dmesg_read_from_dump(bare, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "-device vmcoreinfo"));
	g_clear_error(&error);

	fd = g_file_open_tmp("test-gmem-vmcore-XXXXXX.kdump", &kdump, NULL);
	g_assert(fd >= 0);
	g_assert(write(fd, "KDUMP   \x06\0\0\0", 12) == 12);
	close(fd);
	assert_null(gmem_dmesg_read_from_dump(kdump, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
	g_clear_error(&error);
	assert_null(gmem_dmesg_read_from_dump("/nonexistent.elf", NULL, &error));
	assert_non_null(error);

	g_unlink(path);
	g_unlink(bare);
	g_unlink(kdump);
	fake_stop(fake);
}

/* a QMP socket some other client holds: QEMU never greets the next one */
static void
test_gmem_vmcore_busy(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("test-gmem-vmcore-XXXXXX", NULL);
	g_autofree gchar *path = g_build_filename(dir, "qmp.sock", NULL);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_autoptr(GError) error = NULL;
	gint fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(addr.sun_path, path);
	g_assert(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	g_assert(listen(fd, 1) == 0);
	assert_null(gmem_live_connect(path, 200, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_non_null(strstr(error->message, "one QMP client at a time"));
	close(fd);
	g_unlink(path);
	g_rmdir(dir);
}

static void
test_gmem_vmcore_not_qmp(void **state)
{
	g_autoptr(GError) error = NULL;

	assert_null(gmem_live_connect("/nonexistent/qmp.sock", 1000, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "/nonexistent/qmp.sock"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmem_vmcore_parse),
		cmocka_unit_test(test_gmem_vmcore_parse_not_vmcoreinfo),
		cmocka_unit_test(test_gmem_vmcore_elf_note),
		cmocka_unit_test(test_gmem_vmcore_scan_buffer),
		cmocka_unit_test(test_gmem_vmcore_read_dmesg),
		cmocka_unit_test(test_gmem_vmcore_filters),
		cmocka_unit_test(test_gmem_vmcore_xp),
		cmocka_unit_test(test_gmem_vmcore_pmemsave_fallback),
		cmocka_unit_test(test_gmem_vmcore_no_device),
		cmocka_unit_test(test_gmem_vmcore_scan),
		cmocka_unit_test(test_gmem_vmcore_scan_planted),
		cmocka_unit_test(test_gmem_vmcore_resume_on_error),
		cmocka_unit_test(test_gmem_vmcore_already_stopped),
		cmocka_unit_test(test_gmem_vmcore_sigint_while_paused),
		cmocka_unit_test(test_gmem_vmcore_kill_while_paused),
		cmocka_unit_test(test_gmem_vmcore_watcher_reaped),
		cmocka_unit_test(test_gmem_vmcore_from_dump),
		cmocka_unit_test(test_gmem_vmcore_busy),
		cmocka_unit_test(test_gmem_vmcore_not_qmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
