/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "qga-client.h"
#include "qga-codec.h"

#define QGA_CLIENT_READ_SIZE (64 * 1024)
/* the ids guest-sync-delimited carries stay exact in any JSON reader */
#define QGA_CLIENT_SYNC_ID_MASK ((G_GINT64_CONSTANT(1) << 53) - 1)

struct _QgaClient {
	gint fd;
	guint timeout_ms;
	gboolean is_socket; /* send(MSG_NOSIGNAL) works */
	gboolean closed;    /* the agent hung up */
	guint64 counter;    /* of requests, for unique ids */
	QgaDecoder *decoder;
	guint8 *rbuf;
	QgaClientSkippedFunc skipped_func;
	gpointer skipped_data;
};

static gint64
qga_client_deadline(QgaClient *self)
{
	return g_get_monotonic_time() + (gint64)self->timeout_ms * G_TIME_SPAN_MILLISECOND;
}

static gboolean
qga_client_set_closed_error(QgaClient *self, GError **error)
{
	self->closed = TRUE;
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
			    "connection closed by the agent");
	return FALSE;
}

static gboolean
qga_client_set_errno_error(QgaClient *self, gint errsv, const gchar *doing, GError **error)
{
	if (errsv == EPIPE || errsv == ECONNRESET)
		return qga_client_set_closed_error(self, error);
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", doing,
		    g_strerror(errsv));
	return FALSE;
}

/* waits for @events on the channel, or fails once @deadline has passed */
static gboolean
qga_client_wait(QgaClient *self, gshort events, gint64 deadline, const gchar *what, GError **error)
{
	for (;;) {
		struct pollfd pfd = {.fd = self->fd, .events = events};
		gint64 now = g_get_monotonic_time();
		gint64 remaining_ms;
		gint rc;

		if (now >= deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "timed out after %u ms waiting for %s", self->timeout_ms, what);
			return FALSE;
		}
		/* rounded up: poll() must not wake just before the deadline */
		remaining_ms = (deadline - now + 999) / 1000;
		rc = poll(&pfd, 1, (gint)MIN(remaining_ms, G_MAXINT));
		if (rc < 0) {
			gint errsv = errno;

			if (errsv == EINTR)
				continue;
			return qga_client_set_errno_error(self, errsv, "cannot poll the channel",
							  error);
		}
		/* POLLHUP and POLLERR too: the read or write that follows reports them */
		if (rc > 0)
			return TRUE;
	}
}

/*
 * write() on a channel that is not a socket: a pipe's reader going away
 * raises SIGPIPE, which must not kill the host client, so it is blocked
 * around the write and a signal this write raised is consumed.
 */
static gssize
qga_client_write_nosigpipe(gint fd, const void *data, gsize len)
{
	sigset_t pipe_set;
	sigset_t old_set;
	sigset_t pending;
	gboolean was_pending;
	gssize n;
	gint errsv;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	n = write(fd, data, len);
	errsv = errno;
	if (n < 0 && errsv == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	errno = errsv;
	return n;
}

static gboolean
qga_client_write_all(QgaClient *self, const void *data, gsize len, gint64 deadline,
		     const gchar *what, GError **error)
{
	const guint8 *p = data;
	gsize done = 0;

	if (self->closed)
		return qga_client_set_closed_error(self, error);
	while (done < len) {
		gssize n;

		if (self->is_socket)
			n = send(self->fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = qga_client_write_nosigpipe(self->fd, p + done, len - done);
		if (n < 0) {
			gint errsv = errno;

			if (errsv == EINTR)
				continue;
			if (errsv == EAGAIN || errsv == EWOULDBLOCK) {
				if (!qga_client_wait(self, POLLOUT, deadline, what, error))
					return FALSE;
				continue;
			}
			return qga_client_set_errno_error(self, errsv, "cannot write to the agent",
							  error);
		}
		/* a partial write: the rest goes once the channel drains */
		done += (gsize)n;
	}
	return TRUE;
}

/*
 * Sends the start of @data with @fd attached (SCM_RIGHTS): the fd travels
 * with the first byte the peer reads. Returns: the bytes sent, or -1 with
 * @error.
 */
static gssize
qga_client_send_fd(QgaClient *self, const void *data, gsize len, gint fd, gint64 deadline,
		   const gchar *what, GError **error)
{
	union {
		struct cmsghdr align;
		gchar buf[CMSG_SPACE(sizeof(gint))];
	} control;
	struct iovec iov = {.iov_base = (gpointer)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cmsg;

	if (!self->is_socket) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "cannot pass a file descriptor: the channel is no socket");
		return -1;
	}
	if (self->closed) {
		qga_client_set_closed_error(self, error);
		return -1;
	}
	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(gint));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(gint));
	for (;;) {
		gssize n = sendmsg(self->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		gint errsv;

		if (n >= 0)
			return n;
		errsv = errno;
		if (errsv == EINTR)
			continue;
		if (errsv == EAGAIN || errsv == EWOULDBLOCK) {
			if (!qga_client_wait(self, POLLOUT, deadline, what, error))
				return -1;
			continue;
		}
		qga_client_set_errno_error(self, errsv, "cannot pass a file descriptor", error);
		return -1;
	}
}

/* reads what the channel holds into the decoder */
static gboolean
qga_client_read_some(QgaClient *self, gint64 deadline, const gchar *what, GError **error)
{
	gssize n;

	if (self->closed)
		return qga_client_set_closed_error(self, error);
	if (!qga_client_wait(self, POLLIN, deadline, what, error))
		return FALSE;
	n = read(self->fd, self->rbuf, QGA_CLIENT_READ_SIZE);
	if (n < 0) {
		gint errsv = errno;

		if (errsv == EINTR || errsv == EAGAIN || errsv == EWOULDBLOCK)
			return TRUE;
		return qga_client_set_errno_error(self, errsv, "cannot read from the agent", error);
	}
	if (n == 0)
		return qga_client_set_closed_error(self, error);
	qga_decoder_feed(self->decoder, self->rbuf, (gsize)n);
	return TRUE;
}

/*
 * The next decoded item: a value, or NULL with an error that is either a
 * decoder error (QGA_ERROR: bytes that are not JSON; the stream goes on)
 * or a channel error (G_IO_ERROR).
 */
static JsonNode *
qga_client_next(QgaClient *self, gint64 deadline, const gchar *what, GError **error)
{
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		JsonNode *value = NULL;

		if (qga_decoder_pop(self->decoder, &value, &error_local))
			return value;
		if (error_local != NULL) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (!qga_client_read_some(self, deadline, what, error))
			return NULL;
	}
}

QgaClient *
qga_client_new_for_fd(gint fd)
{
	QgaClient *self;
	gint type = 0;
	socklen_t type_len = sizeof(type);
	gint flags;

	g_return_val_if_fail(fd >= 0, NULL);

	self = g_new0(QgaClient, 1);
	self->fd = fd;
	self->timeout_ms = QGA_CLIENT_TIMEOUT_DEFAULT_MS;
	self->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0;
	self->decoder = qga_decoder_new(QGA_CLIENT_MAX_REPLY);
	self->rbuf = g_malloc(QGA_CLIENT_READ_SIZE);
	/* every wait is a poll() with the timeout, never a blocking read or write */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && (flags & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && (flags & FD_CLOEXEC) == 0)
		(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	return self;
}

QgaClient *
qga_client_connect_unix(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {
		.tv_sec = QGA_CLIENT_TIMEOUT_DEFAULT_MS / 1000,
		.tv_usec = (QGA_CLIENT_TIMEOUT_DEFAULT_MS % 1000) * 1000,
	};
	struct timeval no_tv = {0, 0};
	gint fd;

	g_return_val_if_fail(path != NULL, NULL);

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path '%s' is too long", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gint errsv = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot create a socket: %s", g_strerror(errsv));
		return NULL;
	}
	/* a UNIX connect() waits while the listener's backlog is full; bound it */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		gint errsv = errno;

		if (errsv == EINTR)
			continue;
		g_close(fd, NULL);
		if (errsv == EAGAIN || errsv == EINPROGRESS) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "timed out after %u ms connecting to '%s'",
				    (guint)QGA_CLIENT_TIMEOUT_DEFAULT_MS, path);
		} else {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "cannot connect to '%s': %s", path, g_strerror(errsv));
		}
		return NULL;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &no_tv, sizeof(no_tv));
	return qga_client_new_for_fd(fd);
}

void
qga_client_free(QgaClient *self)
{
	if (self == NULL)
		return;
	g_close(self->fd, NULL);
	qga_decoder_free(self->decoder);
	g_free(self->rbuf);
	g_free(self);
}

gint
qga_client_get_fd(QgaClient *self)
{
	g_return_val_if_fail(self != NULL, -1);

	return self->fd;
}

void
qga_client_set_timeout(QgaClient *self, guint timeout_ms)
{
	g_return_if_fail(self != NULL);

	/* 0 is the default: an unbounded wait is what this client never does */
	self->timeout_ms = timeout_ms != 0 ? timeout_ms : QGA_CLIENT_TIMEOUT_DEFAULT_MS;
}

gboolean
qga_client_send_raw(QgaClient *self, const void *data, gsize len, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(data != NULL || len == 0, FALSE);

	return qga_client_write_all(self, data, len, qga_client_deadline(self),
				    "the agent to take the data", error);
}

JsonNode *
qga_client_recv(QgaClient *self, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);

	return qga_client_next(self, qga_client_deadline(self), "a message from the agent", error);
}

JsonNode *
qga_client_recv_until(QgaClient *self, gint64 deadline, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);

	return qga_client_next(self, deadline, "a message from the agent", error);
}

void
qga_client_set_skipped_func(QgaClient *self, QgaClientSkippedFunc func, gpointer user_data)
{
	g_return_if_fail(self != NULL);

	self->skipped_func = func;
	self->skipped_data = user_data;
}

static gboolean
qga_client_is_sync_reply(JsonNode *value, gint64 sync_id)
{
	JsonNode *ret;

	if (!JSON_NODE_HOLDS_OBJECT(value))
		return FALSE;
	ret = json_object_get_member(json_node_get_object(value), "return");
	return ret != NULL && JSON_NODE_HOLDS_VALUE(ret) &&
	       json_node_get_value_type(ret) == G_TYPE_INT64 && json_node_get_int(ret) == sync_id;
}

gboolean
qga_client_sync(QgaClient *self, GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autofree gchar *request = NULL;
	g_autofree gchar *wire = NULL;
	gint64 deadline;
	gint64 sync_id;

	g_return_val_if_fail(self != NULL, FALSE);

	sync_id = (gint64)((((guint64)g_random_int() << 32) | g_random_int()) &
			   QGA_CLIENT_SYNC_ID_MASK);
	if (sync_id == 0)
		sync_id = 1;
	json_object_set_int_member(args, "id", sync_id);
	request = qga_request_encode("guest-sync-delimited", args, NULL);
	/* 0xff first: it makes the agent drop whatever partial request it holds */
	wire = g_strdup_printf("%c%s", QGA_SYNC_DELIMITER, request);
	deadline = qga_client_deadline(self);

	/* what is queued or in flight is a previous exchange's: skip to our 0xff */
	qga_decoder_skip_to_delimiter(self->decoder);
	if (!qga_client_write_all(self, wire, strlen(wire), deadline,
				  "the agent to take guest-sync-delimited", error))
		return FALSE;
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(JsonNode) value = NULL;

		value = qga_client_next(self, deadline, "the guest-sync-delimited reply",
					&error_local);
		if (value == NULL) {
			if (g_error_matches(error_local, QGA_ERROR, QGA_ERROR_GENERIC)) {
				g_debug("sync: %s, ignoring", error_local->message);
				continue;
			}
			g_propagate_error(error, g_steal_pointer(&error_local));
			return FALSE;
		}
		/* stale replies, and the agent's complaint about our 0xff */
		if (qga_client_is_sync_reply(value, sync_id))
			return TRUE;
		g_debug("sync: a reply that is not ours, ignoring");
	}
}

static gboolean
qga_client_is_our_reply(JsonNode *reply, const gchar *id)
{
	JsonNode *reply_id = qga_reply_get_id(reply);

	return reply_id != NULL && JSON_NODE_HOLDS_VALUE(reply_id) &&
	       json_node_get_value_type(reply_id) == G_TYPE_STRING &&
	       g_strcmp0(json_node_get_string(reply_id), id) == 0;
}

/* @fd >= 0 goes with the request's first byte */
static JsonNode *
qga_client_execute_full(QgaClient *self, const gchar *command, JsonObject *arguments, gint fd,
			GError **error)
{
	g_autofree gchar *id = NULL;
	g_autoptr(JsonNode) id_node = NULL;
	g_autofree gchar *request = NULL;
	g_autofree gchar *sending = NULL;
	g_autofree gchar *awaiting = NULL;
	gint64 deadline;
	gssize sent = 0;

	/* the random part keeps a previous client's replies from matching */
	id = g_strdup_printf("qgatrace-%" G_GUINT64_FORMAT "-%08" G_GINT32_MODIFIER "x",
			     ++self->counter, g_random_int());
	id_node = json_node_init_string(json_node_alloc(), id);
	request = qga_request_encode(command, arguments, id_node);
	sending = g_strdup_printf("the agent to take '%s'", command);
	awaiting = g_strdup_printf("the reply to '%s'", command);
	deadline = qga_client_deadline(self);

	if (fd >= 0) {
		sent = qga_client_send_fd(self, request, strlen(request), fd, deadline, sending,
					  error);
		if (sent < 0)
			return NULL;
	}
	if (!qga_client_write_all(self, request + sent, strlen(request) - (gsize)sent, deadline,
				  sending, error))
		return NULL;
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(JsonNode) reply = NULL;
		JsonNode *value = NULL;

		reply = qga_client_next(self, deadline, awaiting, &error_local);
		if (reply == NULL) {
			if (g_error_matches(error_local, QGA_ERROR, QGA_ERROR_GENERIC)) {
				g_debug("execute: %s, ignoring", error_local->message);
				continue;
			}
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (!qga_client_is_our_reply(reply, id)) {
			if (self->skipped_func != NULL)
				self->skipped_func(reply, self->skipped_data);
			else
				g_debug("execute: a reply without id '%s', ignoring", id);
			continue;
		}
		if (!qga_reply_parse(reply, &value, error))
			return NULL;
		return value;
	}
}

JsonNode *
qga_client_execute(QgaClient *self, const gchar *command, JsonObject *arguments, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(command != NULL, NULL);

	return qga_client_execute_full(self, command, arguments, -1, error);
}

JsonNode *
qga_client_execute_with_fd(QgaClient *self, const gchar *command, JsonObject *arguments, gint fd,
			   GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(command != NULL, NULL);
	g_return_val_if_fail(fd >= 0, NULL);

	return qga_client_execute_full(self, command, arguments, fd, error);
}
