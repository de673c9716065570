/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "wire.h"

#define WIRE_CONN_TIMEOUT_DEFAULT_MS 5000
#define WIRE_CONN_READ_CHUNK	     65536
#define WIRE_DISPLAY_MAX	     600

struct _WireConn {
	gint fd;
	guint timeout_ms;
	GByteArray *buf; /* received, not yet returned */
	gsize scanned;	 /* bytes of @buf known to hold no '\n' */
	gboolean eof;
};

void
wire_reply_free(WireReply *self)
{
	if (self == NULL)
		return;
	g_free(self->raw);
	if (self->node != NULL)
		json_node_unref(self->node);
	g_free(self->parse_error);
	g_free(self);
}

gchar *
wire_bytes_to_display(const void *data, gsize len, gsize max_len)
{
	const guint8 *p = data;
	GString *out = g_string_sized_new(MIN(len, max_len) + 16);

	for (gsize i = 0; i < len; i++) {
		if (i == max_len) {
			g_string_append_printf(out, "...(%" G_GSIZE_FORMAT " bytes in all)", len);
			break;
		}
		if (p[i] == '\\')
			g_string_append(out, "\\\\");
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			g_string_append_c(out, (gchar)p[i]);
		else if (p[i] == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_printf(out, "\\x%02x", p[i]);
	}
	return g_string_free(out, FALSE);
}

gchar *
wire_reply_to_display(const WireReply *self)
{
	g_autofree gchar *body = wire_bytes_to_display(self->raw, self->raw_len, WIRE_DISPLAY_MAX);

	return g_strdup_printf("%s%s", self->delimited ? "\\xff" : "", body);
}

gboolean
wire_reply_check_framing(const WireReply *self, GError **error)
{
	for (gsize i = 0; i < self->raw_len; i++) {
		if (self->raw[i] < 0x20 || self->raw[i] > 0x7e) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "reply byte %" G_GSIZE_FORMAT " is 0x%02x: replies must be "
				    "printable 7-bit ASCII (non-ASCII as \\uXXXX) ending in a "
				    "single '\\n'",
				    i, self->raw[i]);
			return FALSE;
		}
	}
	return TRUE;
}

static JsonObject *
wire_reply_get_object(const WireReply *self)
{
	if (self->node == NULL || !JSON_NODE_HOLDS_OBJECT(self->node))
		return NULL;
	return json_node_get_object(self->node);
}

JsonNode *
wire_reply_get_return(const WireReply *self)
{
	JsonObject *obj = wire_reply_get_object(self);

	if (obj == NULL)
		return NULL;
	return json_object_get_member(obj, "return");
}

JsonNode *
wire_reply_get_id(const WireReply *self)
{
	JsonObject *obj = wire_reply_get_object(self);

	if (obj == NULL)
		return NULL;
	return json_object_get_member(obj, "id");
}

static const gchar *
wire_reply_get_error_member(const WireReply *self, const gchar *name)
{
	JsonObject *obj = wire_reply_get_object(self);
	JsonNode *err;
	JsonNode *member;

	if (obj == NULL)
		return NULL;
	err = json_object_get_member(obj, "error");
	if (err == NULL || !JSON_NODE_HOLDS_OBJECT(err))
		return NULL;
	member = json_object_get_member(json_node_get_object(err), name);
	if (member == NULL || json_node_get_value_type(member) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(member);
}

const gchar *
wire_reply_get_error_class(const WireReply *self)
{
	return wire_reply_get_error_member(self, "class");
}

const gchar *
wire_reply_get_error_desc(const WireReply *self)
{
	return wire_reply_get_error_member(self, "desc");
}

WireConn *
wire_conn_new_for_fd(gint fd)
{
	WireConn *self = g_new0(WireConn, 1);

	self->fd = fd;
	self->timeout_ms = WIRE_CONN_TIMEOUT_DEFAULT_MS;
	self->buf = g_byte_array_new();
	return self;
}

WireConn *
wire_conn_connect_unix(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gint fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "socket path '%s' is too long", path);
		return NULL;
	}
	memcpy(addr.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot create socket: %s", g_strerror(errsv));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot connect to '%s': %s", path, g_strerror(errsv));
		close(fd);
		return NULL;
	}
	return wire_conn_new_for_fd(fd);
}

void
wire_conn_free(WireConn *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close(self->fd);
	g_byte_array_unref(self->buf);
	g_free(self);
}

gint
wire_conn_get_fd(WireConn *self)
{
	return self->fd;
}

gint
wire_conn_steal_fd(WireConn *self, GError **error)
{
	gint fd = self->fd;

	if (self->buf->len > 0) {
		g_autofree gchar *shown =
			wire_bytes_to_display(self->buf->data, self->buf->len, WIRE_DISPLAY_MAX);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "unread bytes would be lost: %s", shown);
		return -1;
	}
	self->fd = -1;
	return fd;
}

void
wire_conn_set_timeout(WireConn *self, guint timeout_ms)
{
	self->timeout_ms = timeout_ms > 0 ? timeout_ms : WIRE_CONN_TIMEOUT_DEFAULT_MS;
}

guint
wire_conn_get_timeout(WireConn *self)
{
	return self->timeout_ms;
}

gsize
wire_conn_get_pending(WireConn *self)
{
	return self->buf->len;
}

/* one read into the buffer; FALSE on error, EOF just sets self->eof */
static gboolean
wire_conn_fill(WireConn *self, GError **error)
{
	guint8 chunk[WIRE_CONN_READ_CHUNK];
	gssize n;

	do {
		n = read(self->fd, chunk, sizeof(chunk));
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		gint errsv = errno;
		if (errsv == EAGAIN)
			return TRUE;
		if (errsv == ECONNRESET) {
			self->eof = TRUE;
			return TRUE;
		}
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot read from the agent: %s", g_strerror(errsv));
		return FALSE;
	}
	if (n == 0)
		self->eof = TRUE;
	else
		g_byte_array_append(self->buf, chunk, (guint)n);
	return TRUE;
}

static gint
wire_remaining_ms(gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();

	if (left <= 0)
		return 0;
	return (gint)MIN((left + 999) / 1000, G_MAXINT);
}

gboolean
wire_conn_send(WireConn *self, const void *data, gsize len, GError **error)
{
	const guint8 *p = data;
	gsize done = 0;
	gint64 deadline;

	if (self->fd < 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "connection is closed");
		return FALSE;
	}
	/* big writes get time in proportion: 16 MiB must not trip a 5 s bound */
	deadline = g_get_monotonic_time() + (gint64)self->timeout_ms * 1000 +
		   (gint64)(len / 1024) * 1000;
	while (done < len) {
		struct pollfd pfd = {.fd = self->fd, .events = POLLOUT | POLLIN};
		gint timeout = wire_remaining_ms(deadline);
		gint rc;

		if (timeout == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "timed out writing to the agent after %" G_GSIZE_FORMAT
				    " of %" G_GSIZE_FORMAT " bytes",
				    done, len);
			return FALSE;
		}
		if (self->eof)
			pfd.events = POLLOUT;
		rc = poll(&pfd, 1, timeout);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			gint errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "poll: %s",
				    g_strerror(errsv));
			return FALSE;
		}
		if (pfd.revents & POLLIN) {
			if (!wire_conn_fill(self, error))
				return FALSE;
		}
		if (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) {
			gssize n =
				send(self->fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				gint errsv = errno;
				if (errsv == EINTR || errsv == EAGAIN)
					continue;
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
					    "cannot write to the agent after %" G_GSIZE_FORMAT
					    " of %" G_GSIZE_FORMAT " bytes: %s",
					    done, len, g_strerror(errsv));
				return FALSE;
			}
			done += (gsize)n;
		}
	}
	return TRUE;
}

gboolean
wire_conn_send_str(WireConn *self, const gchar *text, GError **error)
{
	return wire_conn_send(self, text, strlen(text), error);
}

gboolean
wire_conn_shutdown_write(WireConn *self, GError **error)
{
	if (shutdown(self->fd, SHUT_WR) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "shutdown: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	return TRUE;
}

/* pops one complete line off the buffer, or returns NULL */
static WireReply *
wire_conn_pop_line(WireConn *self)
{
	guint8 *nl = NULL;
	WireReply *reply;
	const guint8 *start;
	gsize len;
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error_local = NULL;

	/* an empty GByteArray has no data pointer for memchr() */
	if (self->buf->len > self->scanned)
		nl = memchr(self->buf->data + self->scanned, '\n', self->buf->len - self->scanned);
	if (nl == NULL) {
		self->scanned = self->buf->len;
		return NULL;
	}
	start = self->buf->data;
	len = (gsize)(nl - start);
	reply = g_new0(WireReply, 1);
	if (len > 0 && start[0] == 0xff) {
		reply->delimited = TRUE;
		start++;
		len--;
	}
	reply->raw = g_malloc(len + 1);
	memcpy(reply->raw, start, len);
	reply->raw[len] = '\0';
	reply->raw_len = len;
	g_byte_array_remove_range(self->buf, 0, (guint)(nl - self->buf->data) + 1);
	self->scanned = 0;

	parser = json_parser_new_immutable();
	if (!g_utf8_validate((const gchar *)reply->raw, (gssize)len, NULL)) {
		reply->parse_error = g_strdup("reply is not valid UTF-8");
	} else if (!json_parser_load_from_data(parser, (const gchar *)reply->raw, (gssize)len,
					       &error_local)) {
		reply->parse_error = g_strdup(error_local->message);
	} else if (json_parser_get_root(parser) == NULL) {
		reply->parse_error = g_strdup("reply is empty");
	} else {
		reply->node = json_node_copy(json_parser_get_root(parser));
	}
	return reply;
}

WireReply *
wire_conn_read_reply_timeout(WireConn *self, guint timeout_ms, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	if (self->fd < 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "connection is closed");
		return NULL;
	}
	for (;;) {
		struct pollfd pfd = {.fd = self->fd, .events = POLLIN};
		WireReply *reply = wire_conn_pop_line(self);
		gint timeout;
		gint rc;

		if (reply != NULL)
			return reply;
		if (self->eof) {
			g_autofree gchar *shown = wire_bytes_to_display(
				self->buf->data, self->buf->len, WIRE_DISPLAY_MAX);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
				    "the agent closed the connection (unterminated bytes: '%s')",
				    shown);
			return NULL;
		}
		timeout = wire_remaining_ms(deadline);
		if (timeout == 0) {
			g_autofree gchar *shown = wire_bytes_to_display(
				self->buf->data, self->buf->len, WIRE_DISPLAY_MAX);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "no reply within %u ms (unterminated bytes: '%s')", timeout_ms,
				    shown);
			return NULL;
		}
		rc = poll(&pfd, 1, timeout);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			gint errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "poll: %s",
				    g_strerror(errsv));
			return NULL;
		}
		if (rc > 0 && !wire_conn_fill(self, error))
			return NULL;
	}
}

WireReply *
wire_conn_read_reply(WireConn *self, GError **error)
{
	return wire_conn_read_reply_timeout(self, self->timeout_ms, error);
}

gboolean
wire_conn_expect_silence(WireConn *self, guint ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;

	while (self->buf->len == 0 && !self->eof) {
		struct pollfd pfd = {.fd = self->fd, .events = POLLIN};
		gint timeout = wire_remaining_ms(deadline);
		gint rc;

		if (timeout == 0)
			return TRUE;
		rc = poll(&pfd, 1, timeout);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return FALSE;
		if (rc > 0 && !wire_conn_fill(self, NULL))
			return FALSE;
	}
	return FALSE;
}

static gboolean
wire_reply_returns(const WireReply *reply, gint64 id)
{
	JsonNode *ret = wire_reply_get_return(reply);

	return ret != NULL && json_node_get_value_type(ret) == G_TYPE_INT64 &&
	       json_node_get_int(ret) == id;
}

static gboolean
wire_conn_sync_common(WireConn *self, gboolean delimited, GPtrArray **skipped, GError **error)
{
	/* 52 bits: exact as a double too, should an agent mangle it */
	gint64 id = (gint64)g_random_int() << 20 ^ (gint64)g_random_int_range(0, 1 << 20);
	g_autofree gchar *req = NULL;
	g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func((GDestroyNotify)wire_reply_free);
	gint64 deadline;

	if (delimited) {
		req = g_strdup_printf(
			"\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%" G_GINT64_FORMAT
			"}}\n",
			id);
	} else {
		req = g_strdup_printf(
			"{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%" G_GINT64_FORMAT
			"}}\n",
			id);
	}
	if (!wire_conn_send_str(self, req, error))
		return FALSE;
	deadline = g_get_monotonic_time() + (gint64)self->timeout_ms * 1000;
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		gint timeout = wire_remaining_ms(deadline);
		WireReply *reply;

		reply = wire_conn_read_reply_timeout(self, (guint)MAX(timeout, 1), &error_local);
		if (reply == NULL) {
			g_propagate_prefixed_error(
				error, g_steal_pointer(&error_local),
				"waiting for %s id %" G_GINT64_FORMAT " (%u replies skipped): ",
				delimited ? "guest-sync-delimited" : "guest-sync", id, seen->len);
			return FALSE;
		}
		if (wire_reply_returns(reply, id) && reply->delimited == delimited) {
			wire_reply_free(reply);
			break;
		}
		g_ptr_array_add(seen, reply);
	}
	if (skipped != NULL)
		*skipped = g_steal_pointer(&seen);
	return TRUE;
}

gboolean
wire_conn_resync(WireConn *self, GPtrArray **skipped, GError **error)
{
	return wire_conn_sync_common(self, TRUE, skipped, error);
}

gboolean
wire_conn_sync_plain(WireConn *self, GPtrArray **before, GError **error)
{
	return wire_conn_sync_common(self, FALSE, before, error);
}
