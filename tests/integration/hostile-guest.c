/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hostile-guest.h"
#include "hostile-run.h"

/* where the kernel keeps what the reader looks up (kernel image offsets) */
#define HOSTILE_OFF_INIT_TOP_PGT 0x2000
#define HOSTILE_OFF_VARS	 0x1000 /* prb; or log_buf and its indexes */
#define HOSTILE_OFF_RB		 0x3000 /* struct printk_ringbuffer */
#define HOSTILE_OFF_BUF		 0x10000

HostileGuest *
hostile_guest_new(void)
{
	HostileGuest *guest = g_new0(HostileGuest, 1);

	guest->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	/* an empty top-level page table: every lookup outside the image fails */
	hostile_guest_write(guest, HOSTILE_OFF_INIT_TOP_PGT, "", 0);
	return guest;
}

void
hostile_guest_free(HostileGuest *guest)
{
	if (guest == NULL)
		return;
	g_hash_table_unref(guest->pages);
	g_free(guest->vmcoreinfo);
	g_free(guest);
}

static guint8 *
hostile_guest_page(HostileGuest *guest, guint64 paddr, gboolean create)
{
	guint64 key = paddr & ~(guint64)(HOSTILE_PAGE - 1);
	guint8 *page = g_hash_table_lookup(guest->pages, &key);

	if (page == NULL && create) {
		page = g_malloc0(HOSTILE_PAGE);
		g_hash_table_insert(guest->pages, g_memdup2(&key, sizeof(key)), page);
	}
	return page;
}

void
hostile_guest_write(HostileGuest *guest, guint64 off, const void *data, gsize len)
{
	guint64 addr = HOSTILE_KERNEL_PA + off;
	const guint8 *p = data;

	hostile_guest_page(guest, addr, TRUE);
	while (len > 0) {
		gsize at = addr & (HOSTILE_PAGE - 1);
		gsize n = MIN(len, HOSTILE_PAGE - at);

		memcpy(hostile_guest_page(guest, addr, TRUE) + at, p, n);
		addr += n;
		p += n;
		len -= n;
	}
}

void
hostile_guest_write_u64(HostileGuest *guest, guint64 off, guint64 v)
{
	v = GUINT64_TO_LE(v);
	hostile_guest_write(guest, off, &v, sizeof(v));
}

void
hostile_guest_write_u32(HostileGuest *guest, guint64 off, guint32 v)
{
	v = GUINT32_TO_LE(v);
	hostile_guest_write(guest, off, &v, sizeof(v));
}

void
hostile_guest_read_phys(HostileGuest *guest, guint64 paddr, void *buf, gsize len)
{
	guint8 *out = buf;

	while (len > 0) {
		gsize at = paddr & (HOSTILE_PAGE - 1);
		gsize n = MIN(len, HOSTILE_PAGE - at);
		const guint8 *page = hostile_guest_page(guest, paddr, FALSE);

		if (page != NULL)
			memcpy(out, page + at, n);
		else
			memset(out, 0, n);
		paddr += n;
		out += n;
		len -= n;
	}
}

/* what every x86-64 kernel exports for the page walk */
static GString *
hostile_vmcoreinfo_base(const gchar *osrelease)
{
	GString *text = g_string_new(NULL);

	g_string_append_printf(text,
			       "OSRELEASE=%s\n"
			       "BUILD-ID=0123456789abcdef\n"
			       "PAGESIZE=4096\n"
			       "SYMBOL(init_top_pgt)=%" G_GINT64_MODIFIER "x\n"
			       "NUMBER(pgtable_l5_enabled)=0\n"
			       "NUMBER(phys_base)=0\n"
			       "NUMBER(sme_mask)=0\n"
			       "KERNELOFFSET=0\n",
			       osrelease, HOSTILE_KERNEL_VA + HOSTILE_OFF_INIT_TOP_PGT);
	return text;
}

/* ---- log_buf ---- */

void
hostile_log_append(GByteArray *buf, const void *text, guint16 text_len, const void *dict,
		   guint16 dict_len, guint8 pad, guint16 len)
{
	guint8 hdr[16] = {0};
	gsize real = 16 + (gsize)text_len + dict_len;
	gsize padded = (real + 7) & ~(gsize)7;
	guint64 ts = GUINT64_TO_LE(G_GUINT64_CONSTANT(1000000) * (buf->len + 1));
	guint16 v;

	memcpy(hdr, &ts, 8);
	v = GUINT16_TO_LE(len != 0 ? len : (guint16)padded);
	memcpy(hdr + 8, &v, 2);
	v = GUINT16_TO_LE(text_len);
	memcpy(hdr + 10, &v, 2);
	v = GUINT16_TO_LE(dict_len);
	memcpy(hdr + 12, &v, 2);
	hdr[14] = 0;		/* facility */
	hdr[15] = (6 << 5) | 2; /* level info, LOG_NEWLINE */
	g_byte_array_append(buf, hdr, sizeof(hdr));
	g_byte_array_append(buf, text, text_len);
	g_byte_array_append(buf, dict, dict_len);
	for (gsize i = real; i < padded; i++)
		g_byte_array_append(buf, &pad, 1);
}

HostileGuest *
hostile_guest_new_legacy(const GByteArray *buf, guint32 first, guint32 next)
{
	HostileGuest *guest = hostile_guest_new();
	GString *text = hostile_vmcoreinfo_base("4.19.0-hostile");

	g_string_append_printf(text,
			       "SYMBOL(log_buf)=%" G_GINT64_MODIFIER "x\n"
			       "SYMBOL(log_buf_len)=%" G_GINT64_MODIFIER "x\n"
			       "SYMBOL(log_first_idx)=%" G_GINT64_MODIFIER "x\n"
			       "SYMBOL(log_next_idx)=%" G_GINT64_MODIFIER "x\n"
			       "SIZE(printk_log)=16\n"
			       "OFFSET(printk_log.ts_nsec)=0\n"
			       "OFFSET(printk_log.len)=8\n"
			       "OFFSET(printk_log.text_len)=10\n"
			       "OFFSET(printk_log.dict_len)=12\n",
			       HOSTILE_KERNEL_VA + HOSTILE_OFF_VARS,
			       HOSTILE_KERNEL_VA + HOSTILE_OFF_VARS + 8,
			       HOSTILE_KERNEL_VA + HOSTILE_OFF_VARS + 16,
			       HOSTILE_KERNEL_VA + HOSTILE_OFF_VARS + 24);
	guest->vmcoreinfo = g_string_free(text, FALSE);
	/* log_buf is a pointer (to __log_buf, in the image); the rest u32 */
	hostile_guest_write_u64(guest, HOSTILE_OFF_VARS, HOSTILE_KERNEL_VA + HOSTILE_OFF_BUF);
	hostile_guest_write_u32(guest, HOSTILE_OFF_VARS + 8, buf->len);
	hostile_guest_write_u32(guest, HOSTILE_OFF_VARS + 16, first);
	hostile_guest_write_u32(guest, HOSTILE_OFF_VARS + 24, next);
	hostile_guest_write(guest, HOSTILE_OFF_BUF, buf->data, buf->len);
	return guest;
}

/* ---- printk_ringbuffer, the layout of tests/unit/gmem-sim.h (Linux 6.1) ---- */

HostileGuest *
hostile_guest_new_lockless(const HostileRing *ring)
{
	HostileGuest *guest = hostile_guest_new();
	GString *text = hostile_vmcoreinfo_base("6.1.0-hostile");
	guint64 count = G_GUINT64_CONSTANT(1) << ring->count_bits;
	guint64 descs = HOSTILE_OFF_BUF;
	guint64 infos = descs + ((count * ring->desc_size + 4095) & ~G_GUINT64_CONSTANT(4095));
	guint64 data = infos + ((count * ring->info_size + 4095) & ~G_GUINT64_CONSTANT(4095));
	guint8 rb[88] = {0};
	guint64 v;
	guint32 w;

	g_string_append_printf(text,
			       "SYMBOL(prb)=%" G_GINT64_MODIFIER "x\n"
			       "SIZE(printk_ringbuffer)=88\n"
			       "OFFSET(printk_ringbuffer.desc_ring)=0\n"
			       "OFFSET(printk_ringbuffer.text_data_ring)=48\n"
			       "OFFSET(printk_ringbuffer.fail)=80\n"
			       "SIZE(prb_desc_ring)=48\n"
			       "OFFSET(prb_desc_ring.count_bits)=0\n"
			       "OFFSET(prb_desc_ring.descs)=8\n"
			       "OFFSET(prb_desc_ring.infos)=16\n"
			       "OFFSET(prb_desc_ring.head_id)=24\n"
			       "OFFSET(prb_desc_ring.tail_id)=32\n"
			       "SIZE(prb_desc)=%u\n"
			       "OFFSET(prb_desc.state_var)=0\n"
			       "OFFSET(prb_desc.text_blk_lpos)=8\n"
			       "SIZE(prb_data_blk_lpos)=16\n"
			       "OFFSET(prb_data_blk_lpos.begin)=0\n"
			       "OFFSET(prb_data_blk_lpos.next)=8\n"
			       "SIZE(printk_info)=%u\n"
			       "OFFSET(printk_info.seq)=0\n"
			       "OFFSET(printk_info.ts_nsec)=8\n"
			       "OFFSET(printk_info.text_len)=16\n"
			       "OFFSET(printk_info.caller_id)=20\n"
			       "OFFSET(printk_info.dev_info)=24\n"
			       "SIZE(dev_printk_info)=64\n"
			       "OFFSET(dev_printk_info.subsystem)=0\n"
			       "LENGTH(printk_info_subsystem)=16\n"
			       "OFFSET(dev_printk_info.device)=16\n"
			       "LENGTH(printk_info_device)=48\n"
			       "SIZE(prb_data_ring)=32\n"
			       "OFFSET(prb_data_ring.size_bits)=0\n"
			       "OFFSET(prb_data_ring.data)=8\n"
			       "OFFSET(prb_data_ring.head_lpos)=16\n"
			       "OFFSET(prb_data_ring.tail_lpos)=24\n"
			       "SIZE(atomic_long_t)=8\n"
			       "OFFSET(atomic_long_t.counter)=0\n",
			       HOSTILE_KERNEL_VA + HOSTILE_OFF_VARS, ring->desc_size,
			       ring->info_size);
	guest->vmcoreinfo = g_string_free(text, FALSE);
	/* prb points to printk_rb_static; its arrays follow it in the image */
	hostile_guest_write_u64(guest, HOSTILE_OFF_VARS, HOSTILE_KERNEL_VA + HOSTILE_OFF_RB);
	w = GUINT32_TO_LE(ring->count_bits);
	memcpy(rb, &w, 4);
	v = GUINT64_TO_LE(HOSTILE_KERNEL_VA + descs);
	memcpy(rb + 8, &v, 8);
	v = GUINT64_TO_LE(HOSTILE_KERNEL_VA + infos);
	memcpy(rb + 16, &v, 8);
	v = GUINT64_TO_LE(ring->head_id);
	memcpy(rb + 24, &v, 8);
	v = GUINT64_TO_LE(ring->tail_id);
	memcpy(rb + 32, &v, 8);
	w = GUINT32_TO_LE(ring->size_bits);
	memcpy(rb + 48, &w, 4);
	v = GUINT64_TO_LE(HOSTILE_KERNEL_VA + data);
	memcpy(rb + 56, &v, 8);
	hostile_guest_write(guest, HOSTILE_OFF_RB, rb, sizeof(rb));
	if (ring->descs != NULL)
		hostile_guest_write(guest, descs, ring->descs, count * ring->desc_size);
	if (ring->infos != NULL)
		hostile_guest_write(guest, infos, ring->infos, count * ring->info_size);
	if (ring->data != NULL)
		hostile_guest_write(guest, data, ring->data,
				    G_GUINT64_CONSTANT(1) << ring->size_bits);
	return guest;
}

/* ---- an ELF core ---- */

static void
hostile_note_append(GByteArray *out, const gchar *name, const void *desc, guint32 descsz)
{
	guint32 hdr[3] = {(guint32)strlen(name) + 1, descsz, 0};
	static const guint8 zero[4] = {0};

	g_byte_array_append(out, (const guint8 *)hdr, sizeof(hdr));
	g_byte_array_append(out, (const guint8 *)name, hdr[0]);
	g_byte_array_append(out, zero, (4 - hdr[0] % 4) % 4);
	g_byte_array_append(out, desc, descsz);
	g_byte_array_append(out, zero, (4 - descsz % 4) % 4);
}

static gint
hostile_u64_compare(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a;
	guint64 y = *(const guint64 *)b;

	return x < y ? -1 : x > y;
}

GBytes *
hostile_guest_elf(HostileGuest *guest)
{
	g_autoptr(GByteArray) notes = g_byte_array_new();
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GArray) keys = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GList) key_list = g_hash_table_get_keys(guest->pages);
	g_autoptr(GArray) phdrs = g_array_new(FALSE, TRUE, sizeof(Elf64_Phdr));
	Elf64_Ehdr eh = {0};
	Elf64_Phdr note = {0};
	guint64 offset;

	hostile_note_append(notes, "VMCOREINFO", guest->vmcoreinfo,
			    (guint32)strlen(guest->vmcoreinfo));
	for (GList *l = key_list; l != NULL; l = l->next)
		g_array_append_val(keys, *(guint64 *)l->data);
	g_array_sort(keys, hostile_u64_compare);
	/* runs of consecutive pages */
	for (guint i = 0; i < keys->len; i++) {
		guint64 page = g_array_index(keys, guint64, i);
		Elf64_Phdr *last =
			phdrs->len > 0 ? &g_array_index(phdrs, Elf64_Phdr, phdrs->len - 1) : NULL;

		if (last != NULL && last->p_paddr + last->p_filesz == page) {
			last->p_filesz += HOSTILE_PAGE;
			last->p_memsz += HOSTILE_PAGE;
		} else {
			Elf64_Phdr ph = {0};

			ph.p_type = PT_LOAD;
			ph.p_paddr = page;
			ph.p_vaddr = 0;
			ph.p_filesz = ph.p_memsz = HOSTILE_PAGE;
			g_array_append_val(phdrs, ph);
		}
	}
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
	eh.e_phnum = (guint16)(phdrs->len + 1);
	offset = sizeof(eh) + (guint64)(phdrs->len + 1) * sizeof(Elf64_Phdr);
	note.p_type = PT_NOTE;
	note.p_offset = offset;
	note.p_filesz = notes->len;
	offset += notes->len;
	for (guint i = 0; i < phdrs->len; i++) {
		Elf64_Phdr *ph = &g_array_index(phdrs, Elf64_Phdr, i);

		ph->p_offset = offset;
		offset += ph->p_filesz;
	}
	g_byte_array_append(out, (const guint8 *)&eh, sizeof(eh));
	g_byte_array_append(out, (const guint8 *)&note, sizeof(note));
	g_byte_array_append(out, (const guint8 *)phdrs->data, phdrs->len * sizeof(Elf64_Phdr));
	g_byte_array_append(out, notes->data, notes->len);
	for (guint i = 0; i < phdrs->len; i++) {
		Elf64_Phdr *ph = &g_array_index(phdrs, Elf64_Phdr, i);

		for (guint64 at = 0; at < ph->p_filesz; at += HOSTILE_PAGE)
			g_byte_array_append(out, hostile_guest_page(guest, ph->p_paddr + at, FALSE),
					    HOSTILE_PAGE);
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* ---- a fake QEMU QMP monitor ---- */

struct _HostileQmp {
	HostileGuest *guest;
	gchar *dir;
	gchar *path;
	gint listen_fd;
	GThread *thread;
	gint stop;
	GMutex lock;
	GCond cond;
	guint stops, conts;
	gboolean running;
	GPid kill_pid;
	gint64 killed_at;
};

static void
hostile_qmp_send(gint fd, const gchar *text)
{
	hostile_write_all(fd, text, strlen(text));
}

static void
hostile_qmp_reply(gint fd, JsonNode *id, const gchar *ret, const gchar *error_desc)
{
	g_autofree gchar *id_text = id != NULL ? json_to_string(id, FALSE) : NULL;
	g_autofree gchar *line = NULL;

	if (error_desc != NULL)
		line = g_strdup_printf(
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}%s%s}\r\n",
			error_desc, id_text != NULL ? ", \"id\": " : "",
			id_text != NULL ? id_text : "");
	else
		line = g_strdup_printf("{\"return\": %s%s%s}\r\n", ret != NULL ? ret : "{}",
				       id_text != NULL ? ", \"id\": " : "",
				       id_text != NULL ? id_text : "");
	hostile_qmp_send(fd, line);
}

typedef struct {
	gint passed_fd;
	gint dump_fd;
	gint pmem_fd; /* QEMU's fdset, until the connection ends */
} HostileQmpConn;

/* one command; the reply text (or *error_desc) */
static gchar *
hostile_qmp_handle(HostileQmp *qmp, HostileQmpConn *conn, gint fd, const gchar *cmd,
		   JsonObject *args, const gchar **error_desc)
{
	if (g_str_equal(cmd, "qmp_capabilities"))
		return NULL;
	if (g_str_equal(cmd, "query-status")) {
		gboolean running;

		g_mutex_lock(&qmp->lock);
		running = qmp->running;
		g_mutex_unlock(&qmp->lock);
		return g_strdup_printf("{\"running\": %s, \"status\": \"%s\"}",
				       running ? "true" : "false", running ? "running" : "paused");
	}
	if (g_str_equal(cmd, "stop") || g_str_equal(cmd, "cont")) {
		g_mutex_lock(&qmp->lock);
		qmp->running = g_str_equal(cmd, "cont");
		if (qmp->running)
			qmp->conts++;
		else
			qmp->stops++;
		g_cond_broadcast(&qmp->cond);
		g_mutex_unlock(&qmp->lock);
		return NULL;
	}
	if (g_str_equal(cmd, "getfd")) {
		if (conn->dump_fd >= 0)
			close(conn->dump_fd);
		conn->dump_fd = conn->passed_fd;
		conn->passed_fd = -1;
		return NULL;
	}
	if (g_str_equal(cmd, "add-fd")) {
		/* kept open as QEMU's fdset: /proc/self/fd/N names it */
		if (conn->pmem_fd >= 0)
			close(conn->pmem_fd);
		conn->pmem_fd = conn->passed_fd;
		conn->passed_fd = -1;
		return g_strdup_printf("{\"fd\": %d, \"fdset-id\": 0}", conn->pmem_fd);
	}
	if (g_str_equal(cmd, "remove-fd") || g_str_equal(cmd, "closefd"))
		return NULL;
	if (g_str_equal(cmd, "query-memory-size-summary"))
		return g_strdup("{\"base-memory\": 134217728}");
	if (g_str_equal(cmd, "dump-guest-memory")) {
		g_autoptr(HostileGuest) page = hostile_guest_new();
		g_autoptr(GBytes) elf = NULL;

		if (conn->dump_fd < 0) {
			*error_desc = "fd 'qgatrace-vmcoreinfo' not found";
			return NULL;
		}
		page->vmcoreinfo = g_strdup(qmp->guest->vmcoreinfo);
		elf = hostile_guest_elf(page);
		hostile_write_all(conn->dump_fd, g_bytes_get_data(elf, NULL),
				  g_bytes_get_size(elf));
		close(conn->dump_fd);
		conn->dump_fd = -1;
		hostile_qmp_send(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
				     "\"event\": \"DUMP_COMPLETED\", \"data\": {}}\r\n");
		return NULL;
	}
	if (g_str_equal(cmd, "pmemsave")) {
		guint64 paddr = (guint64)json_object_get_int_member(args, "val");
		guint64 size = (guint64)json_object_get_int_member(args, "size");
		gint out;

		g_mutex_lock(&qmp->lock);
		if (qmp->kill_pid != 0 && qmp->killed_at == 0) {
			/* the client dies inside the read, the guest paused */
			kill(qmp->kill_pid, SIGKILL);
			qmp->killed_at = g_get_monotonic_time();
			g_mutex_unlock(&qmp->lock);
			g_usleep(500 * 1000);
		} else {
			g_mutex_unlock(&qmp->lock);
		}
		if (size > G_GUINT64_CONSTANT(256) << 20) {
			*error_desc = "pmemsave: too large for this fake";
			return NULL;
		}
		out = open(json_object_get_string_member(args, "filename"),
			   O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (out < 0) {
			*error_desc = "Could not open the file";
			return NULL;
		}
		for (guint64 at = 0; at < size;) {
			guint8 chunk[65536];
			gsize n = (gsize)MIN((guint64)sizeof(chunk), size - at);

			hostile_guest_read_phys(qmp->guest, paddr + at, chunk, n);
			hostile_write_all(out, chunk, n);
			at += n;
		}
		close(out);
		return NULL;
	}
	*error_desc = "The command is not found";
	return NULL;
}

static void
hostile_qmp_serve(HostileQmp *qmp, gint fd)
{
	g_autoptr(GString) pending = g_string_new(NULL);
	HostileQmpConn conn = {-1, -1, -1};

	hostile_qmp_send(
		fd,
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, "
		"\"capabilities\": [\"oob\"]}}\r\n");
	while (!g_atomic_int_get(&qmp->stop)) {
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
		struct pollfd pfd = {fd, POLLIN, 0};
		gchar *nl;
		gssize n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				if (conn.passed_fd >= 0)
					close(conn.passed_fd);
				memcpy(&conn.passed_fd, CMSG_DATA(c), sizeof(gint));
			}
		}
		g_string_append_len(pending, buf, n);
		while ((nl = strchr(pending->str, '\n')) != NULL) {
			g_autoptr(JsonParser) parser = json_parser_new();
			g_autofree gchar *line = g_strndup(pending->str, nl - pending->str);
			g_autofree gchar *ret = NULL;
			const gchar *error_desc = NULL;
			JsonObject *req;

			g_string_erase(pending, 0, nl - pending->str + 1);
			if (!json_parser_load_from_data(parser, line, -1, NULL) ||
			    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
				continue;
			req = json_node_get_object(json_parser_get_root(parser));
			ret = hostile_qmp_handle(
				qmp, &conn, fd,
				json_object_get_string_member_with_default(req, "execute", ""),
				json_object_has_member(req, "arguments")
					? json_object_get_object_member(req, "arguments")
					: NULL,
				&error_desc);
			hostile_qmp_reply(fd, json_object_get_member(req, "id"), ret, error_desc);
		}
	}
	if (conn.passed_fd >= 0)
		close(conn.passed_fd);
	if (conn.dump_fd >= 0)
		close(conn.dump_fd);
	if (conn.pmem_fd >= 0)
		close(conn.pmem_fd);
}

static gpointer
hostile_qmp_thread(gpointer data)
{
	HostileQmp *qmp = data;

	/* one client at a time, as QEMU; the next may be a helper left behind */
	while (!g_atomic_int_get(&qmp->stop)) {
		struct pollfd pfd = {qmp->listen_fd, POLLIN, 0};
		gint fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept4(qmp->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		hostile_qmp_serve(qmp, fd);
		close(fd);
	}
	return NULL;
}

HostileQmp *
hostile_qmp_start(HostileGuest *guest)
{
	HostileQmp *qmp = g_new0(HostileQmp, 1);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	qmp->guest = guest;
	qmp->running = TRUE;
	g_mutex_init(&qmp->lock);
	g_cond_init(&qmp->cond);
	qmp->dir = g_dir_make_tmp("test-gmem-hostile-XXXXXX", NULL);
	g_assert(qmp->dir != NULL);
	qmp->path = g_build_filename(qmp->dir, "qmp.sock", NULL);
	g_strlcpy(addr.sun_path, qmp->path, sizeof(addr.sun_path));
	qmp->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert(qmp->listen_fd >= 0);
	g_assert(bind(qmp->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	g_assert(listen(qmp->listen_fd, 4) == 0);
	qmp->thread = g_thread_new("hostile-qmp", hostile_qmp_thread, qmp);
	return qmp;
}

void
hostile_qmp_stop(HostileQmp *qmp)
{
	g_atomic_int_set(&qmp->stop, 1);
	g_thread_join(qmp->thread);
	close(qmp->listen_fd);
	g_unlink(qmp->path);
	g_rmdir(qmp->dir);
	g_free(qmp->path);
	g_free(qmp->dir);
	g_mutex_clear(&qmp->lock);
	g_cond_clear(&qmp->cond);
	g_free(qmp);
}

const gchar *
hostile_qmp_path(HostileQmp *qmp)
{
	return qmp->path;
}

void
hostile_qmp_kill_on_pmemsave(HostileQmp *qmp, GPid pid)
{
	g_mutex_lock(&qmp->lock);
	qmp->kill_pid = pid;
	g_mutex_unlock(&qmp->lock);
}

void
hostile_qmp_counts(HostileQmp *qmp, guint *stops, guint *conts, gboolean *running)
{
	g_mutex_lock(&qmp->lock);
	*stops = qmp->stops;
	*conts = qmp->conts;
	*running = qmp->running;
	g_mutex_unlock(&qmp->lock);
}

gboolean
hostile_qmp_wait_running(HostileQmp *qmp, guint timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	gboolean running;

	g_mutex_lock(&qmp->lock);
	while (!qmp->running && g_cond_wait_until(&qmp->cond, &qmp->lock, end))
		;
	running = qmp->running;
	g_mutex_unlock(&qmp->lock);
	return running;
}

gint64
hostile_qmp_killed_at(HostileQmp *qmp)
{
	gint64 at;

	g_mutex_lock(&qmp->lock);
	at = qmp->killed_at;
	g_mutex_unlock(&qmp->lock);
	return at;
}
