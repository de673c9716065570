/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "gmem-live.h"
#include "gmem-vmcoreinfo.h"
#include "qmp-client.h"

/* what one pmemsave writes at most: the memfd holds it */
#define GMEM_LIVE_PMEMSAVE_MAX (64 * 1024 * 1024)
/* HMP xp: quadwords per command */
#define GMEM_LIVE_XP_QUADS 512
/* the RAM scan reads this much at a time; a note straddling two chunks is
 * found by overlapping them by one note */
#define GMEM_LIVE_SCAN_CHUNK (16 * 1024 * 1024)
/* per QMP command, when the caller gives no timeout: pmemsave of 64 MiB
 * under TCG takes seconds */
#define GMEM_LIVE_TIMEOUT_DEFAULT_MS 30000
/* the watcher's messages, and how long it waits for QEMU to answer its
 * cont: after the pmemsave it may still be busy with (seconds under TCG) */
#define GMEM_LIVE_WATCHER_PAUSED   'P'
#define GMEM_LIVE_WATCHER_RESUMED  'R'
#define GMEM_LIVE_WATCHER_ID	   "\"qgatrace-watcher\""
#define GMEM_LIVE_WATCHER_REPLY_MS 120000

struct _GmemLive {
	QmpClient *qmp;
	gint memfd;   /* what pmemsave writes into, through QEMU's copy of it */
	gint qemu_fd; /* that copy's number in QEMU, from add-fd; -1: not yet */
	gint64 fdset_id;
	gboolean use_xp;
	gboolean paused_by_us;
	gboolean signals_held;
	struct sigaction old_actions[4];
	GPid watcher_pid; /* 0: none */
	gint watcher_fd;  /* our end of the socketpair to it */
};

/* the signals that would end the process while the guest is paused */
static const gint gmem_live_held_signals[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static volatile sig_atomic_t gmem_live_pending_signal;

static void
gmem_live_hold_handler(gint sig)
{
	gmem_live_pending_signal = sig;
}

/*
 * The watcher: a child process that outlives a crash, an abort or a SIGKILL
 * of this one, so that a guest it paused runs again. It holds a copy of the
 * QMP socket and one end of a socketpair; we say "paused" before stop and
 * "resumed" after cont. When our end closes (we exited, or died) while
 * paused, it sends cont on the socket, waits for QEMU's answer (QEMU drops
 * the commands of a client that hangs up) and exits; after "resumed" it
 * exits at once. It is in its own process group, so a terminal's Ctrl-C
 * does not reach it. Between fork and _exit it only makes system calls:
 * this process may have other threads.
 */
static gint64
gmem_live_watcher_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gint64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* waits for @events on @fd until @deadline_ms; FALSE when it passed */
static gboolean
gmem_live_watcher_poll(gint fd, gshort events, gint64 deadline_ms)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		gint64 left = deadline_ms - gmem_live_watcher_now_ms();
		gint n;

		if (left <= 0)
			return FALSE;
		n = poll(&pfd, 1, (gint)MIN(left, (gint64)G_MAXINT));
		if (n > 0)
			return TRUE;
		if (n < 0 && errno != EINTR)
			return FALSE;
	}
}

/* cont on @sock (non-blocking, shared with the dead reader), then QEMU's
 * answer to it: the replies and events before it are drained unread */
static void
gmem_live_watcher_cont(gint sock)
{
	static const gchar cont[] = "{\"execute\": \"cont\", \"id\": " GMEM_LIVE_WATCHER_ID "}\r\n";
	const gsize id_len = sizeof(GMEM_LIVE_WATCHER_ID) - 1;
	gint64 deadline = gmem_live_watcher_now_ms() + GMEM_LIVE_WATCHER_REPLY_MS;
	gchar buf[4096 + sizeof(GMEM_LIVE_WATCHER_ID)];
	gsize sent = 0;
	gsize kept = 0;

	while (sent < sizeof(cont) - 1) {
		gssize n = send(sock, cont + sent, sizeof(cont) - 1 - sent, MSG_NOSIGNAL);

		if (n > 0)
			sent += (gsize)n;
		else if (n < 0 && errno != EINTR && errno != EAGAIN)
			return;
		else if (n < 0 && errno == EAGAIN &&
			 !gmem_live_watcher_poll(sock, POLLOUT, deadline))
			return;
	}
	/* the id may straddle two reads: the tail of one goes before the next */
	while (gmem_live_watcher_poll(sock, POLLIN, deadline)) {
		gssize n = recv(sock, buf + kept, sizeof(buf) - kept, 0);

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return;
		if (n < 0)
			continue;
		kept += (gsize)n;
		if (memmem(buf, kept, GMEM_LIVE_WATCHER_ID, id_len) != NULL)
			return;
		memmove(buf, buf + kept - MIN(kept, id_len - 1), MIN(kept, id_len - 1));
		kept = MIN(kept, id_len - 1);
	}
}

G_GNUC_NORETURN static void
gmem_live_watcher_run(gint sock, gint link)
{
	static const gint ignored[] = {SIGINT,	SIGQUIT, SIGHUP,  SIGTERM,
				       SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU};
	gint lo = MIN(sock, link);
	gint hi = MAX(sock, link);
	gint null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	gboolean paused = FALSE;

	(void)setpgid(0, 0);
	for (guint i = 0; i < G_N_ELEMENTS(ignored); i++)
		(void)signal(ignored[i], SIG_IGN);
	/* nothing of ours but the two: not a terminal, pipe or file of the caller's */
	for (gint fd = 0; fd <= 2; fd++)
		if (null_fd >= 0 && fd != sock && fd != link)
			(void)dup2(null_fd, fd);
	if (lo > 3)
		(void)close_range(3, (guint)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((guint)lo + 1, (guint)hi - 1, 0);
	(void)close_range((guint)hi + 1, ~0u, 0);
	for (;;) {
		gchar c;
		gssize n = read(link, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		paused = c == GMEM_LIVE_WATCHER_PAUSED;
	}
	if (paused)
		gmem_live_watcher_cont(sock);
	_exit(0);
}

static gboolean
gmem_live_watcher_start(GmemLive *self, GError **error)
{
	gint sock = qmp_client_get_fd(self->qmp);
	gint link[2];
	pid_t pid;

	if (self->watcher_pid != 0)
		return TRUE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) < 0) {
		gint errsv = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "socketpair: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	pid = fork();
	if (pid < 0) {
		gint errsv = errno;

		close(link[0]);
		close(link[1]);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "fork: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	if (pid == 0)
		gmem_live_watcher_run(sock, link[1]);
	close(link[1]);
	self->watcher_pid = pid;
	self->watcher_fd = link[0];
	return TRUE;
}

/* tells the watcher; a watcher that is gone already reads nothing */
static void
gmem_live_watcher_say(GmemLive *self, gchar what)
{
	if (self->watcher_fd >= 0 && send(self->watcher_fd, &what, 1, MSG_NOSIGNAL) != 1)
		g_debug("the watcher is gone: %s", g_strerror(errno));
}

/* closes our end: the watcher resumes the guest if we did not, and exits */
static void
gmem_live_watcher_stop(GmemLive *self)
{
	if (self->watcher_pid == 0)
		return;
	close(self->watcher_fd);
	self->watcher_fd = -1;
	while (waitpid(self->watcher_pid, NULL, 0) < 0 && errno == EINTR)
		;
	self->watcher_pid = 0;
}

/* a QMP command; @fd >= 0 goes with it (SCM_RIGHTS), for getfd and add-fd.
 * Returns: (transfer full): the "return" member */
static JsonNode *
gmem_live_execute(GmemLive *self, const gchar *command, JsonObject *args, gint fd, GError **error)
{
	JsonNode *ret = fd >= 0 ? qmp_client_execute_with_fd(self->qmp, command, args, fd, error)
				: qmp_client_execute(self->qmp, command, args, error);

	if (ret == NULL)
		g_prefix_error(error, "QMP '%s': ", command);
	return ret;
}

GmemLive *
gmem_live_connect(const gchar *qmp_path, guint timeout_ms, GError **error)
{
	g_autoptr(GmemLive) self = g_new0(GmemLive, 1);

	g_return_val_if_fail(qmp_path != NULL, NULL);

	self->memfd = -1;
	self->qemu_fd = -1;
	self->watcher_fd = -1;
	self->qmp = qmp_client_connect_unix(
		qmp_path, timeout_ms != 0 ? timeout_ms : GMEM_LIVE_TIMEOUT_DEFAULT_MS, error);
	if (self->qmp == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

/*
 * A handler, not a signal mask: a mask holds the signal back in this thread
 * only, and the process may have others (GLib's). The signal is noted and
 * raised again once the guest runs, with the old disposition back.
 */
static void
gmem_live_hold_signals(GmemLive *self)
{
	struct sigaction hold;

	if (self->signals_held)
		return;
	memset(&hold, 0, sizeof(hold));
	hold.sa_handler = gmem_live_hold_handler;
	sigemptyset(&hold.sa_mask);
	hold.sa_flags = SA_RESTART;
	gmem_live_pending_signal = 0;
	for (guint i = 0; i < G_N_ELEMENTS(gmem_live_held_signals); i++) {
		sigaction(gmem_live_held_signals[i], NULL, &self->old_actions[i]);
		/* an ignored signal stays ignored */
		if (self->old_actions[i].sa_handler != SIG_IGN)
			sigaction(gmem_live_held_signals[i], &hold, NULL);
	}
	self->signals_held = TRUE;
}

static void
gmem_live_release_signals(GmemLive *self)
{
	gint pending;

	if (!self->signals_held)
		return;
	self->signals_held = FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(gmem_live_held_signals); i++)
		sigaction(gmem_live_held_signals[i], &self->old_actions[i], NULL);
	pending = gmem_live_pending_signal;
	gmem_live_pending_signal = 0;
	if (pending != 0) {
		g_debug("delivering signal %d held while the guest was paused", pending);
		raise(pending);
	}
}

void
gmem_live_free(GmemLive *self)
{
	if (self == NULL)
		return;
	if (self->paused_by_us && self->qmp != NULL) {
		g_autoptr(GError) error_local = NULL;

		if (!gmem_live_resume(self, &error_local))
			g_warning("cannot resume the guest: %s", error_local->message);
	}
	gmem_live_release_signals(self);
	if (self->qemu_fd >= 0 && self->qmp != NULL) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;

		json_object_set_int_member(args, "fdset-id", self->fdset_id);
		ret = gmem_live_execute(self, "remove-fd", args, -1, NULL);
	}
	qmp_client_free(self->qmp);
	/* after our last read of the socket: a guest still paused is the watcher's now */
	gmem_live_watcher_stop(self);
	if (self->memfd >= 0)
		close(self->memfd);
	g_free(self);
}

void
gmem_live_set_use_xp(GmemLive *self, gboolean use_xp)
{
	g_return_if_fail(self != NULL);
	self->use_xp = use_xp;
}

gboolean
gmem_live_get_use_xp(GmemLive *self)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return self->use_xp;
}

guint
gmem_live_get_commands(GmemLive *self)
{
	g_return_val_if_fail(self != NULL, 0);
	return qmp_client_get_commands(self->qmp);
}

gboolean
gmem_live_query_running(GmemLive *self, gboolean *running, GError **error)
{
	g_autoptr(JsonNode) ret = gmem_live_execute(self, "query-status", NULL, -1, error);

	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "query-status returned no object");
		return FALSE;
	}
	*running = json_object_get_boolean_member_with_default(json_node_get_object(ret), "running",
							       FALSE);
	return TRUE;
}

gboolean
gmem_live_pause(GmemLive *self, GError **error)
{
	g_autoptr(JsonNode) ret = NULL;
	gboolean running = FALSE;

	g_return_val_if_fail(self != NULL, FALSE);

	if (self->paused_by_us)
		return TRUE;
	/* held from before stop: a Ctrl-C between stop and cont must wait for cont */
	gmem_live_hold_signals(self);
	if (!gmem_live_query_running(self, &running, error)) {
		gmem_live_release_signals(self);
		return FALSE;
	}
	if (!running) {
		/* stopped already (by the operator, or crashed): leave it so */
		gmem_live_release_signals(self);
		return TRUE;
	}
	/* before stop: from now on our death means cont */
	if (!gmem_live_watcher_start(self, error)) {
		g_prefix_error(error, "not pausing the guest without a watcher to resume it: ");
		gmem_live_release_signals(self);
		return FALSE;
	}
	gmem_live_watcher_say(self, GMEM_LIVE_WATCHER_PAUSED);
	/* counted as ours before the reply: a lost reply must still mean cont */
	self->paused_by_us = TRUE;
	ret = gmem_live_execute(self, "stop", NULL, -1, error);
	if (ret == NULL) {
		g_autoptr(GError) error_local = NULL;

		if (!gmem_live_resume(self, &error_local))
			g_debug("resume after a failed stop: %s", error_local->message);
		return FALSE;
	}
	return TRUE;
}

gboolean
gmem_live_resume(GmemLive *self, GError **error)
{
	g_autoptr(JsonNode) ret = NULL;

	g_return_val_if_fail(self != NULL, FALSE);

	if (!self->paused_by_us) {
		gmem_live_release_signals(self);
		return TRUE;
	}
	ret = gmem_live_execute(self, "cont", NULL, -1, error);
	if (ret == NULL)
		return FALSE;
	self->paused_by_us = FALSE;
	gmem_live_watcher_say(self, GMEM_LIVE_WATCHER_RESUMED);
	gmem_live_watcher_stop(self);
	gmem_live_release_signals(self);
	return TRUE;
}

gboolean
gmem_live_get_ram_size(GmemLive *self, guint64 *size, GError **error)
{
	g_autoptr(JsonNode) ret =
		gmem_live_execute(self, "query-memory-size-summary", NULL, -1, error);

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
gmem_live_setup_memfd(GmemLive *self, GError **error)
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
	ret = gmem_live_execute(self, "add-fd", args, wfd, error);
	close(wfd);
	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret) ||
	    !json_object_has_member(json_node_get_object(ret), "fd")) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "add-fd returned no fd");
		return FALSE;
	}
	self->qemu_fd = (gint)json_object_get_int_member(json_node_get_object(ret), "fd");
	self->fdset_id =
		json_object_get_int_member_with_default(json_node_get_object(ret), "fdset-id", 0);
	return TRUE;
}

static gboolean
gmem_live_pread_all(gint fd, void *buf, gsize len, guint64 offset, GError **error)
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
gmem_live_pmemsave(GmemLive *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	g_autofree gchar *path = NULL;

	if (!gmem_live_setup_memfd(self, error))
		return FALSE;
	/* /proc/self/fd/N in QEMU is our memfd: pmemsave's fopen("wb") truncates it */
	path = g_strdup_printf("/proc/self/fd/%d", self->qemu_fd);
	while (len > 0) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		gsize n = MIN(len, (gsize)GMEM_LIVE_PMEMSAVE_MAX);

		/* 'val' is an int64 in QEMU <= 9: a physical address fits */
		json_object_set_int_member(args, "val", (gint64)paddr);
		json_object_set_int_member(args, "size", (gint64)n);
		json_object_set_string_member(args, "filename", path);
		ret = gmem_live_execute(self, "pmemsave", args, -1, error);
		if (ret == NULL)
			return FALSE;
		if (!gmem_live_pread_all(self->memfd, buf, n, 0, error))
			return FALSE;
		buf = (guint8 *)buf + n;
		paddr += n;
		len -= n;
	}
	return TRUE;
}

/* HMP "xp /Ng ADDR": "0000000000001000: 0x0123456789abcdef 0x..." lines */
static gboolean
gmem_live_xp(GmemLive *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	guint64 start = paddr & ~G_GUINT64_CONSTANT(7);
	guint64 end = (paddr + len + 7) & ~G_GUINT64_CONSTANT(7);

	for (guint64 at = start; at < end;) {
		guint quads = (guint)MIN((end - at) / 8, (guint64)GMEM_LIVE_XP_QUADS);
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		g_autofree gchar *cmd =
			g_strdup_printf("xp /%ug 0x%" G_GINT64_MODIFIER "x", quads, at);
		g_auto(GStrv) lines = NULL;
		guint got = 0;

		json_object_set_string_member(args, "command-line", cmd);
		ret = gmem_live_execute(self, "human-monitor-command", args, -1, error);
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
						((guint8 *)buf)[a - paddr] =
							((const guint8 *)&q)[b];
				}
				got++;
			}
		}
		if (got != quads) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "xp at 0x%" G_GINT64_MODIFIER
				    "x returned %u of %u quadwords: '%s'",
				    at, got, quads, json_node_get_string(ret));
			return FALSE;
		}
		at += (guint64)quads * 8;
	}
	return TRUE;
}

gboolean
gmem_live_read_phys(GmemLive *self, guint64 paddr, void *buf, gsize len, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(self != NULL, FALSE);

	if (len == 0)
		return TRUE;
	if (!self->use_xp) {
		if (gmem_live_pmemsave(self, paddr, buf, len, &error_local))
			return TRUE;
		/* a QEMU that cannot open /proc/self/fd (confined) still has xp */
		g_debug("pmemsave: %s; falling back to HMP xp", error_local->message);
		self->use_xp = TRUE;
	}
	return gmem_live_xp(self, paddr, buf, len, error);
}

gchar *
gmem_live_dump_vmcoreinfo(GmemLive *self, gsize *text_len, GError **error)
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
	ret = gmem_live_execute(self, "getfd", getfd_args, fd, error);
	if (ret == NULL) {
		close(fd);
		return NULL;
	}
	/* one page of RAM at 0: QEMU appends the note wherever the range is */
	json_object_set_boolean_member(args, "paging", FALSE);
	json_object_set_string_member(args, "protocol", "fd:qgatrace-vmcoreinfo");
	json_object_set_int_member(args, "begin", 0);
	json_object_set_int_member(args, "length", 4096);
	dump = gmem_live_execute(self, "dump-guest-memory", args, -1, error);
	if (dump == NULL) {
		g_autoptr(JsonNode) closed = NULL;

		/* QEMU keeps a named fd it did not use */
		closed = gmem_live_execute(self, "closefd", getfd_args, -1, NULL);
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
	if (!gmem_live_pread_all(fd, elf, (gsize)st.st_size, 0, error)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return gmem_vmcoreinfo_find_in_elf(elf, (gsize)st.st_size, text_len, error);
}

/* the notes in @chunk (@have bytes, guest physical @chunk_paddr on): the
 * first @scan accepts; a note seen in the previous chunk's carry already
 * (below *@checked_to) is not checked again. Returns: (transfer full): its
 * text; NULL with @error unset when none is */
static gchar *
gmem_live_scan_chunk(GmemLiveScan *scan, const guint8 *chunk, gsize have, guint64 chunk_paddr,
		     guint64 *checked_to, gsize *text_len, GError **error)
{
	gsize offset = 0;
	gsize len = 0;

	for (gsize from = 0;
	     from < have && gmem_vmcoreinfo_scan_buffer(chunk + from, have - from, &offset, &len);
	     from += offset) {
		g_autoptr(GError) error_local = NULL;
		guint64 paddr = chunk_paddr + from + offset - GMEM_VMCOREINFO_NOTE_HDR;
		const gchar *text = (const gchar *)chunk + from + offset;

		if (paddr < *checked_to)
			continue;
		*checked_to = paddr + 1;
		if (scan->check == NULL ||
		    scan->check(text, len, paddr, scan->check_data, &error_local)) {
			scan->note_paddr = paddr;
			if (text_len != NULL)
				*text_len = len;
			return g_strndup(text, len);
		}
		g_debug("the VMCOREINFO-like note at guest physical 0x%" G_GINT64_MODIFIER
			"x is not the kernel's: %s",
			paddr, error_local->message);
		if (++scan->refused > GMEM_LIVE_SCAN_REFUSED_MAX) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "more than %u notes in guest RAM look like VMCOREINFO but are "
				    "not the running kernel's: refusing to look further",
				    GMEM_LIVE_SCAN_REFUSED_MAX);
			return NULL;
		}
	}
	return NULL;
}

gchar *
gmem_live_scan_vmcoreinfo(GmemLive *self, GmemLiveScan *scan, gsize *text_len, GError **error)
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
	guint64 checked_to = 0;
	struct {
		guint64 start;
		guint64 size;
	} ranges[2];

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(scan != NULL, NULL);

	scan->refused = 0;
	if (!gmem_live_get_ram_size(self, &ram, error))
		return NULL;
	ranges[0].start = 0;
	ranges[0].size = MIN(ram, low_max);
	ranges[1].start = high_start;
	ranges[1].size = ram <= low_max ? 0 : ram - low_max;
	total = ranges[0].size + ranges[1].size;
	if (scan->limit != 0)
		total = MIN(total, scan->limit);
	chunk = g_malloc(GMEM_LIVE_SCAN_CHUNK + GMEM_VMCOREINFO_NOTE_MAX +
			 GMEM_VMCOREINFO_NOTE_HDR);
	for (guint r = 0; r < G_N_ELEMENTS(ranges); r++) {
		gsize carry = 0;

		for (guint64 at = 0; at < ranges[r].size && done < total;) {
			guint64 n = MIN(MIN((guint64)GMEM_LIVE_SCAN_CHUNK, ranges[r].size - at),
					total - done);
			g_autoptr(GError) error_local = NULL;
			gchar *note;

			if (!gmem_live_read_phys(self, ranges[r].start + at, chunk + carry, n,
						 error)) {
				g_prefix_error(error, "scanning guest RAM for VMCOREINFO: ");
				return NULL;
			}
			note = gmem_live_scan_chunk(scan, chunk, carry + (gsize)n,
						    ranges[r].start + at - carry, &checked_to,
						    text_len, &error_local);
			if (note != NULL)
				return note;
			if (error_local != NULL) {
				g_propagate_error(error, g_steal_pointer(&error_local));
				return NULL;
			}
			/* the tail goes first in the next chunk: a note across the border */
			{
				gsize have = carry + (gsize)n;
				gsize keep = MIN(have, (gsize)(GMEM_VMCOREINFO_NOTE_MAX +
							       GMEM_VMCOREINFO_NOTE_HDR));

				memmove(chunk, chunk + have - keep, keep);
				carry = keep;
			}
			at += n;
			done += n;
			if (scan->progress != NULL)
				scan->progress(done, total, scan->progress_data);
		}
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "no VMCOREINFO note in %" G_GUINT64_FORMAT " MiB of guest RAM (%u that "
		    "looked like one are not the running kernel's)",
		    done >> 20, scan->refused);
	return NULL;
}
