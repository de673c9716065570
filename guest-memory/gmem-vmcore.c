/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gmem-vmcore.h"
#include "qga-client.h"
#include "qga-codec.h"

/* what one pmemsave writes at most: the memfd holds it */
#define GMEM_VMCORE_PMEMSAVE_MAX (64 * 1024 * 1024)
/* HMP xp: quadwords per command */
#define GMEM_VMCORE_XP_QUADS 512
/* the RAM scan reads this much at a time; a note straddling two chunks is
 * found by overlapping them by one note */
#define GMEM_VMCORE_SCAN_CHUNK (16 * 1024 * 1024)
#define GMEM_VMCORE_NOTE_MAX	 4096
#define GMEM_VMCORE_NOTE_NAME	 "VMCOREINFO"
/* ELF note header (12) and the padded name (12) */
#define GMEM_VMCORE_NOTE_HDR 24

/* ---- VMCOREINFO ---- */

struct _ClientVmcoreinfo {
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
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "VMCOREINFO has no '%s'", key);
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
gmem_vmcore_note_text(const guint8 *desc, gsize descsz, gsize *text_len)
{
	gsize n = strnlen((const gchar *)desc, descsz);

	if (text_len != NULL)
		*text_len = n;
	return g_strndup((const gchar *)desc, n);
}

gchar *
gmem_vmcore_elf_find_vmcoreinfo(const guint8 *elf, gsize len, gsize *text_len, GError **error)
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
			if (nh.n_namesz == sizeof(GMEM_VMCORE_NOTE_NAME) &&
			    memcmp(p + name_off, GMEM_VMCORE_NOTE_NAME,
				   sizeof(GMEM_VMCORE_NOTE_NAME)) == 0)
				return gmem_vmcore_note_text(p + desc_off, nh.n_descsz, text_len);
			off += end;
		}
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "the dump carries no VMCOREINFO note");
	return NULL;
}

gboolean
gmem_vmcore_scan_buffer(const guint8 *buf, gsize len, gsize *offset, gsize *text_len)
{
	static const guint8 name[12] = GMEM_VMCORE_NOTE_NAME;
	const guint8 *p = buf;
	const guint8 *end = buf + len;

	while ((p = memmem(p, end - p, name, sizeof(name))) != NULL) {
		const guint8 *hdr = p - 12;
		const guint8 *desc = p + 12;
		guint32 nh[3];

		if (hdr >= buf && desc + strlen("OSRELEASE=") <= end) {
			memcpy(nh, hdr, sizeof(nh));
			if (GUINT32_FROM_LE(nh[0]) == sizeof(GMEM_VMCORE_NOTE_NAME) &&
			    GUINT32_FROM_LE(nh[2]) == 0 && GUINT32_FROM_LE(nh[1]) > 0 &&
			    GUINT32_FROM_LE(nh[1]) <= GMEM_VMCORE_NOTE_MAX &&
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

/* ---- QMP ---- */

struct _ClientVmcore {
	QgaClient *client;
	gint sock;	/* a dup of the client's socket, for sendmsg() with fds */
	guint timeout_ms;
	guint64 counter;
	guint commands;
	gint memfd;	/* what pmemsave writes into, through QEMU's copy of it */
	gint qemu_fd;	/* that copy's number in QEMU, from add-fd; -1: not yet */
	gint64 fdset_id;
	gboolean use_xp;
	gboolean paused_by_us;
	gboolean signals_held;
	struct sigaction old_actions[4];
};

/* the signals that would end the process while the guest is paused */
static const gint gmem_vmcore_held_signals[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static volatile sig_atomic_t gmem_vmcore_pending_signal;

static void
gmem_vmcore_hold_handler(gint sig)
{
	gmem_vmcore_pending_signal = sig;
}

static gboolean
gmem_vmcore_send_with_fd(GmemVmcore *self, const gchar *data, gsize len, gint fd, GError **error)
{
	union {
		struct cmsghdr align;
		gchar buf[CMSG_SPACE(sizeof(gint))];
	} control;
	struct iovec iov = {.iov_base = (gpointer)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cmsg;
	gssize n;

	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(gint));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(gint));
	for (;;) {
		n = sendmsg(self->sock, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = {.fd = self->sock, .events = POLLOUT};

			if (poll(&pfd, 1, (gint)self->timeout_ms) > 0)
				continue;
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
					    "timed out passing a file descriptor to QEMU");
			return FALSE;
		}
		{
			gint errsv = errno;

			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "cannot pass a file descriptor to QEMU: %s", g_strerror(errsv));
			return FALSE;
		}
	}
	/* the fd went with the first byte; the rest is plain data */
	if ((gsize)n < len)
		return qga_client_send_raw(self->client, data + n, len - n, error);
	return TRUE;
}

/*
 * Runs a QMP command; @fd >= 0 goes with it (SCM_RIGHTS), for getfd and
 * add-fd. Events and replies to other ids are skipped.
 * Returns: (transfer full): the "return" member
 */
static JsonNode *
gmem_vmcore_execute(GmemVmcore *self, const gchar *command, JsonObject *args, gint fd,
		      GError **error)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *id = g_strdup_printf("qgatrace-mem-%" G_GUINT64_FORMAT, ++self->counter);
	g_autofree gchar *text = NULL;
	g_autofree gchar *line = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "execute");
	json_builder_add_string_value(builder, command);
	if (args != NULL) {
		json_builder_set_member_name(builder, "arguments");
		json_builder_add_value(builder, json_node_init_object(json_node_alloc(), args));
	}
	json_builder_set_member_name(builder, "id");
	json_builder_add_string_value(builder, id);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	line = g_strconcat(text, "\n", NULL);

	self->commands++;
	if (fd >= 0) {
		if (!gmem_vmcore_send_with_fd(self, line, strlen(line), fd, error))
			return NULL;
	} else if (!qga_client_send_raw(self->client, line, strlen(line), error)) {
		return NULL;
	}
	for (;;) {
		g_autoptr(JsonNode) reply = qga_client_recv(self->client, error);
		JsonObject *obj;
		JsonNode *member;

		if (reply == NULL) {
			g_prefix_error(error, "QMP '%s': ", command);
			return NULL;
		}
		if (!JSON_NODE_HOLDS_OBJECT(reply))
			continue;
		obj = json_node_get_object(reply);
		if (g_strcmp0(json_object_get_string_member_with_default(obj, "id", ""), id) != 0)
			continue; /* events, and replies to someone else */
		member = json_object_get_member(obj, "error");
		if (member != NULL && JSON_NODE_HOLDS_OBJECT(member)) {
			JsonObject *err = json_node_get_object(member);

			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "QMP '%s' failed: %s",
				    command,
				    json_object_get_string_member_with_default(err, "desc", "?"));
			return NULL;
		}
		member = json_object_get_member(obj, "return");
		if (member == NULL)
			return json_node_init_object(json_node_alloc(), json_object_new());
		return json_node_copy(member);
	}
}

GmemVmcore *
gmem_vmcore_connect(const gchar *qmp_path, guint timeout_ms, GError **error)
{
	g_autoptr(GmemVmcore) self = g_new0(GmemVmcore, 1);
	g_autoptr(JsonNode) greeting = NULL;
	g_autoptr(JsonNode) caps = NULL;
	g_autoptr(GError) error_local = NULL;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gint fd;

	g_return_val_if_fail(qmp_path != NULL, NULL);

	self->sock = -1;
	self->memfd = -1;
	self->qemu_fd = -1;
	self->timeout_ms = timeout_ms != 0 ? timeout_ms : 30000;
	if (strlen(qmp_path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path '%s' is too long", qmp_path);
		return NULL;
	}
	strcpy(addr.sun_path, qmp_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		gint errsv = errno;

		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot connect to the QMP socket '%s': %s", qmp_path,
			    g_strerror(errsv));
		return NULL;
	}
	self->sock = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (self->sock < 0) {
		gint errsv = errno;

		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "dup: %s",
			    g_strerror(errsv));
		return NULL;
	}
	self->client = qga_client_new_for_fd(fd);
	qga_client_set_timeout(self->client, self->timeout_ms);
	greeting = qga_client_recv(self->client, &error_local);
	if (greeting == NULL) {
		/* QEMU accepts one QMP client at a time: the next waits in the backlog */
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "no QMP greeting on '%s' (QEMU serves one QMP client "
						   "at a time: is another one connected?): ",
						   qmp_path);
		else
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "waiting for the QMP greeting on '%s': ", qmp_path);
		return NULL;
	}
	if (!JSON_NODE_HOLDS_OBJECT(greeting) ||
	    !json_object_has_member(json_node_get_object(greeting), "QMP")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is not a QMP socket (no greeting)", qmp_path);
		return NULL;
	}
	caps = gmem_vmcore_execute(self, "qmp_capabilities", NULL, -1, error);
	if (caps == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

/*
 * A handler, not a signal mask: a mask holds the signal back in this thread
 * only, and the process may have others (GLib's). The signal is noted and
 * raised again once the guest runs, with the old disposition back.
 */
static void
gmem_vmcore_hold_signals(GmemVmcore *self)
{
	struct sigaction hold;

	if (self->signals_held)
		return;
	memset(&hold, 0, sizeof(hold));
	hold.sa_handler = gmem_vmcore_hold_handler;
	sigemptyset(&hold.sa_mask);
	hold.sa_flags = SA_RESTART;
	gmem_vmcore_pending_signal = 0;
	for (guint i = 0; i < G_N_ELEMENTS(gmem_vmcore_held_signals); i++) {
		sigaction(gmem_vmcore_held_signals[i], NULL, &self->old_actions[i]);
		/* an ignored signal stays ignored */
		if (self->old_actions[i].sa_handler != SIG_IGN)
			sigaction(gmem_vmcore_held_signals[i], &hold, NULL);
	}
	self->signals_held = TRUE;
}

static void
gmem_vmcore_release_signals(GmemVmcore *self)
{
	gint pending;

	if (!self->signals_held)
		return;
	self->signals_held = FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(gmem_vmcore_held_signals); i++)
		sigaction(gmem_vmcore_held_signals[i], &self->old_actions[i], NULL);
	pending = gmem_vmcore_pending_signal;
	gmem_vmcore_pending_signal = 0;
	if (pending != 0) {
		g_debug("delivering signal %d held while the guest was paused", pending);
		raise(pending);
	}
}

void
gmem_vmcore_free(GmemVmcore *self)
{
	if (self == NULL)
		return;
	if (self->paused_by_us && self->client != NULL) {
		g_autoptr(GError) error_local = NULL;

		if (!gmem_vmcore_resume(self, &error_local))
			g_warning("cannot resume the guest: %s", error_local->message);
	}
	gmem_vmcore_release_signals(self);
	if (self->qemu_fd >= 0 && self->client != NULL) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;

		json_object_set_int_member(args, "fdset-id", self->fdset_id);
		ret = gmem_vmcore_execute(self, "remove-fd", args, -1, NULL);
	}
	qga_client_free(self->client);
	if (self->sock >= 0)
		close(self->sock);
	if (self->memfd >= 0)
		close(self->memfd);
	g_free(self);
}

void
gmem_vmcore_set_use_xp(GmemVmcore *self, gboolean use_xp)
{
	g_return_if_fail(self != NULL);
	self->use_xp = use_xp;
}

gboolean
gmem_vmcore_get_use_xp(GmemVmcore *self)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return self->use_xp;
}

guint
gmem_vmcore_get_commands(GmemVmcore *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return self->commands;
}

gboolean
gmem_vmcore_query_running(GmemVmcore *self, gboolean *running, GError **error)
{
	g_autoptr(JsonNode) ret = gmem_vmcore_execute(self, "query-status", NULL, -1, error);

	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "query-status returned no object");
		return FALSE;
	}
	*running = json_object_get_boolean_member_with_default(json_node_get_object(ret),
								"running", FALSE);
	return TRUE;
}

gboolean
gmem_vmcore_pause(GmemVmcore *self, GError **error)
{
	g_autoptr(JsonNode) ret = NULL;
	gboolean running = FALSE;

	g_return_val_if_fail(self != NULL, FALSE);

	if (self->paused_by_us)
		return TRUE;
	/* held from before stop: a Ctrl-C between stop and cont must wait for cont */
	gmem_vmcore_hold_signals(self);
	if (!gmem_vmcore_query_running(self, &running, error)) {
		gmem_vmcore_release_signals(self);
		return FALSE;
	}
	if (!running) {
		/* stopped already (by the operator, or crashed): leave it so */
		gmem_vmcore_release_signals(self);
		return TRUE;
	}
	/* counted as ours before the reply: a lost reply must still mean cont */
	self->paused_by_us = TRUE;
	ret = gmem_vmcore_execute(self, "stop", NULL, -1, error);
	if (ret == NULL) {
		g_autoptr(GError) error_local = NULL;

		if (!gmem_vmcore_resume(self, &error_local))
			g_debug("resume after a failed stop: %s", error_local->message);
		return FALSE;
	}
	return TRUE;
}

gboolean
gmem_vmcore_resume(GmemVmcore *self, GError **error)
{
	g_autoptr(JsonNode) ret = NULL;

	g_return_val_if_fail(self != NULL, FALSE);

	if (!self->paused_by_us) {
		gmem_vmcore_release_signals(self);
		return TRUE;
	}
	ret = gmem_vmcore_execute(self, "cont", NULL, -1, error);
	if (ret == NULL)
		return FALSE;
	self->paused_by_us = FALSE;
	gmem_vmcore_release_signals(self);
	return TRUE;
}

gboolean
gmem_vmcore_get_ram_size(GmemVmcore *self, guint64 *size, GError **error)
{
	g_autoptr(JsonNode) ret =
	    gmem_vmcore_execute(self, "query-memory-size-summary", NULL, -1, error);

	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret) ||
	    !json_object_has_member(json_node_get_object(ret), "base-memory")) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "query-memory-size-summary returned no base-memory");
		return FALSE;
	}
	*size = (guint64)json_object_get_int_member(json_node_get_object(ret), "base-memory");
	return TRUE;
}

/* the memfd pmemsave writes into, handed to QEMU once with add-fd */
static gboolean
gmem_vmcore_setup_memfd(GmemVmcore *self, GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonNode) ret = NULL;
	g_autofree gchar *proc = NULL;
	gint wfd;

	if (self->qemu_fd >= 0)
		return TRUE;
	if (self->memfd < 0) {
		self->memfd = memfd_create("qgatrace-pmemsave", MFD_CLOEXEC);
		if (self->memfd < 0) {
			gint errsv = errno;

			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "memfd_create: %s", g_strerror(errsv));
			return FALSE;
		}
	}
	/* write-only, as QEMU opens what it saves to */
	proc = g_strdup_printf("/proc/self/fd/%d", self->memfd);
	wfd = open(proc, O_WRONLY | O_CLOEXEC);
	if (wfd < 0) {
		gint errsv = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot reopen the memfd: %s", g_strerror(errsv));
		return FALSE;
	}
	json_object_set_string_member(args, "opaque", "qgatrace pmemsave");
	ret = gmem_vmcore_execute(self, "add-fd", args, wfd, error);
	close(wfd);
	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret) || !json_object_has_member(json_node_get_object(ret), "fd")) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "add-fd returned no fd");
		return FALSE;
	}
	self->qemu_fd = (gint)json_object_get_int_member(json_node_get_object(ret), "fd");
	self->fdset_id = json_object_get_int_member_with_default(json_node_get_object(ret),
								 "fdset-id", 0);
	return TRUE;
}

static gboolean
gmem_vmcore_pread_all(gint fd, void *buf, gsize len, guint64 offset, GError **error)
{
	gsize done = 0;

	while (done < len) {
		gssize n = pread(fd, (guint8 *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			gint errsv = n < 0 ? errno : EIO;

			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "reading what QEMU saved: %s",
				    n < 0 ? g_strerror(errsv) : "short file");
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

static gboolean
gmem_vmcore_pmemsave(GmemVmcore *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	g_autofree gchar *path = NULL;

	if (!gmem_vmcore_setup_memfd(self, error))
		return FALSE;
	/* /proc/self/fd/N in QEMU is our memfd: pmemsave's fopen("wb") truncates it */
	path = g_strdup_printf("/proc/self/fd/%d", self->qemu_fd);
	while (len > 0) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		gsize n = MIN(len, (gsize)GMEM_VMCORE_PMEMSAVE_MAX);

		/* 'val' is an int64 in QEMU <= 9: a physical address fits */
		json_object_set_int_member(args, "val", (gint64)paddr);
		json_object_set_int_member(args, "size", (gint64)n);
		json_object_set_string_member(args, "filename", path);
		ret = gmem_vmcore_execute(self, "pmemsave", args, -1, error);
		if (ret == NULL)
			return FALSE;
		if (!gmem_vmcore_pread_all(self->memfd, buf, n, 0, error))
			return FALSE;
		buf = (guint8 *)buf + n;
		paddr += n;
		len -= n;
	}
	return TRUE;
}

/* HMP "xp /Ng ADDR": "0000000000001000: 0x0123456789abcdef 0x..." lines */
static gboolean
gmem_vmcore_xp(GmemVmcore *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	guint64 start = paddr & ~G_GUINT64_CONSTANT(7);
	guint64 end = (paddr + len + 7) & ~G_GUINT64_CONSTANT(7);

	for (guint64 at = start; at < end;) {
		guint quads = (guint)MIN((end - at) / 8, (guint64)GMEM_VMCORE_XP_QUADS);
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		g_autofree gchar *cmd = g_strdup_printf("xp /%ug 0x%" G_GINT64_MODIFIER "x", quads, at);
		g_auto(GStrv) lines = NULL;
		guint got = 0;

		json_object_set_string_member(args, "command-line", cmd);
		ret = gmem_vmcore_execute(self, "human-monitor-command", args, -1, error);
		if (ret == NULL)
			return FALSE;
		if (!JSON_NODE_HOLDS_VALUE(ret) || json_node_get_value_type(ret) != G_TYPE_STRING) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "xp returned no text");
			return FALSE;
		}
		lines = g_strsplit(json_node_get_string(ret), "\n", -1);
		for (guint i = 0; lines[i] != NULL && got < quads; i++) {
			gchar *p = strchr(lines[i], ':');

			if (p == NULL)
				continue;
			p++;
			while (got < quads) {
				gchar *next = NULL;
				guint64 q;
				guint64 qaddr = at + (guint64)got * 8;

				while (*p == ' ')
					p++;
				if (!g_str_has_prefix(p, "0x"))
					break;
				q = g_ascii_strtoull(p, &next, 16);
				if (next == p)
					break;
				p = next;
				q = GUINT64_TO_LE(q);
				/* the part of this quadword inside [paddr, paddr + len) */
				for (guint b = 0; b < 8; b++) {
					guint64 a = qaddr + b;

					if (a >= paddr && a < paddr + len)
						((guint8 *)buf)[a - paddr] = ((const guint8 *)&q)[b];
				}
				got++;
			}
		}
		if (got != quads) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "xp at 0x%" G_GINT64_MODIFIER "x returned %u of %u quadwords: '%s'",
				    at, got, quads, json_node_get_string(ret));
			return FALSE;
		}
		at += (guint64)quads * 8;
	}
	return TRUE;
}

gboolean
gmem_vmcore_read_phys(GmemVmcore *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(self != NULL, FALSE);

	if (len == 0)
		return TRUE;
	if (!self->use_xp) {
		if (gmem_vmcore_pmemsave(self, paddr, buf, len, &error_local))
			return TRUE;
		/* a QEMU that cannot open /proc/self/fd (confined) still has xp */
		g_debug("pmemsave: %s; falling back to HMP xp", error_local->message);
		self->use_xp = TRUE;
	}
	return gmem_vmcore_xp(self, paddr, buf, len, error);
}

gchar *
gmem_vmcore_dump_vmcoreinfo(GmemVmcore *self, gsize *text_len, GError **error)
{
	g_autoptr(JsonObject) getfd_args = json_object_new();
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonNode) dump = NULL;
	g_autofree guint8 *elf = NULL;
	struct stat st;
	gint fd;

	g_return_val_if_fail(self != NULL, NULL);

	fd = memfd_create("qgatrace-vmcoreinfo", MFD_CLOEXEC);
	if (fd < 0) {
		gint errsv = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "memfd_create: %s",
			    g_strerror(errsv));
		return NULL;
	}
	json_object_set_string_member(getfd_args, "fdname", "qgatrace-vmcoreinfo");
	ret = gmem_vmcore_execute(self, "getfd", getfd_args, fd, error);
	if (ret == NULL) {
		close(fd);
		return NULL;
	}
	/* one page of RAM at 0: QEMU appends the note wherever the range is */
	json_object_set_boolean_member(args, "paging", FALSE);
	json_object_set_string_member(args, "protocol", "fd:qgatrace-vmcoreinfo");
	json_object_set_int_member(args, "begin", 0);
	json_object_set_int_member(args, "length", 4096);
	dump = gmem_vmcore_execute(self, "dump-guest-memory", args, -1, error);
	if (dump == NULL) {
		g_autoptr(JsonNode) closed = NULL;

		/* QEMU keeps a named fd it did not use */
		closed = gmem_vmcore_execute(self, "closefd", getfd_args, -1, NULL);
		close(fd);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > 64 * 1024 * 1024) {
		close(fd);
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "dump-guest-memory wrote no usable dump");
		return NULL;
	}
	elf = g_malloc((gsize)st.st_size);
	if (!gmem_vmcore_pread_all(fd, elf, (gsize)st.st_size, 0, error)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return gmem_vmcore_elf_find_vmcoreinfo(elf, (gsize)st.st_size, text_len, error);
}

gchar *
gmem_vmcore_scan_vmcoreinfo(GmemVmcore *self, guint64 limit, GmemVmcoreProgressFunc progress,
			      gpointer user_data, gsize *text_len, GError **error)
{
	/* x86 PCs map RAM below 4 GiB up to 2 GiB (q35) or 3 to 3.5 GiB (pc), the
	 * rest from 4 GiB. Above 2 GiB low, PCI holes start: reading a device's
	 * registers may have side effects, so only [0, 2 GiB) is scanned low
	 * (a pc guest's RAM between 2 and 3.5 GiB is not) */
	const guint64 low_max = G_GUINT64_CONSTANT(0x80000000);
	const guint64 high_start = G_GUINT64_CONSTANT(0x100000000);
	g_autofree guint8 *chunk = NULL;
	guint64 ram = 0;
	guint64 total;
	guint64 done = 0;
	struct {
		guint64 start;
		guint64 size;
	} ranges[2];

	g_return_val_if_fail(self != NULL, NULL);

	if (!gmem_vmcore_get_ram_size(self, &ram, error))
		return NULL;
	ranges[0].start = 0;
	ranges[0].size = MIN(ram, low_max);
	ranges[1].start = high_start;
	ranges[1].size = ram <= low_max ? 0 : ram - low_max;
	total = ranges[0].size + ranges[1].size;
	if (limit != 0)
		total = MIN(total, limit);
	chunk = g_malloc(GMEM_VMCORE_SCAN_CHUNK + GMEM_VMCORE_NOTE_MAX + GMEM_VMCORE_NOTE_HDR);
	for (guint r = 0; r < G_N_ELEMENTS(ranges); r++) {
		gsize carry = 0;

		for (guint64 at = 0; at < ranges[r].size && done < total;) {
			guint64 n = MIN(MIN((guint64)GMEM_VMCORE_SCAN_CHUNK, ranges[r].size - at),
					total - done);
			gsize offset = 0;
			gsize len = 0;

			if (!gmem_vmcore_read_phys(self, ranges[r].start + at, chunk + carry, n,
						     error)) {
				g_prefix_error(error, "scanning guest RAM for VMCOREINFO: ");
				return NULL;
			}
			if (gmem_vmcore_scan_buffer(chunk, carry + n, &offset, &len)) {
				g_debug("VMCOREINFO note at guest physical 0x%" G_GINT64_MODIFIER "x",
					ranges[r].start + at - carry + offset);
				if (text_len != NULL)
					*text_len = len;
				return g_strndup((const gchar *)chunk + offset, len);
			}
			/* the tail goes first in the next chunk: a note across the border */
			{
				gsize have = carry + (gsize)n;
				gsize keep = MIN(have, (gsize)(GMEM_VMCORE_NOTE_MAX +
							      GMEM_VMCORE_NOTE_HDR));

				memmove(chunk, chunk + have - keep, keep);
				carry = keep;
			}
			at += n;
			done += n;
			if (progress != NULL)
				progress(done, total, user_data);
		}
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "no VMCOREINFO note in %" G_GUINT64_FORMAT " MiB of guest RAM", done >> 20);
	return NULL;
}
