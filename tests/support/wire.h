/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A raw byte-level connection to an agent, for tests that must see exactly
 * what goes over the wire: the 0xff delimiter, the line framing, replies
 * that are not JSON. Replies are split on '\n' as qemu-ga writes them
 * (qga/main.c: send_response). Incoming bytes are read while sending too,
 * so a test that provokes a flood of replies cannot deadlock. */
typedef struct _WireConn WireConn;

/* one line the agent sent */
typedef struct {
	gboolean delimited; /* the line began with 0xff, which is not in @raw */
	guint8 *raw;	    /* the line without 0xff and '\n', NUL-terminated */
	gsize raw_len;
	JsonNode *node;	    /* (nullable): @raw parsed, NULL when it is not JSON */
	gchar *parse_error; /* (nullable): why @node is NULL */
} WireReply;

void wire_reply_free(WireReply *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireReply, wire_reply_free)

/**
 * wire_reply_to_display:
 * Returns: (transfer full): the reply as it came, escaped for a log, a
 * leading "\xff" shown when delimited
 */
gchar *wire_reply_to_display(const WireReply *self);

/**
 * wire_reply_check_framing:
 * Replies are 7-bit printable ASCII (qobject/json-writer.c escapes every
 * other code point and control character), so that 0xff can only be the
 * delimiter. Returns FALSE with a message when @self breaks that.
 */
gboolean wire_reply_check_framing(const WireReply *self, GError **error);

/* the reply's "error" member fields, or NULL; (transfer none) */
const gchar *wire_reply_get_error_class(const WireReply *self);
const gchar *wire_reply_get_error_desc(const WireReply *self);
/* (transfer none) (nullable): the "return" or "id" member */
JsonNode *wire_reply_get_return(const WireReply *self);
JsonNode *wire_reply_get_id(const WireReply *self);

/**
 * wire_conn_connect_unix:
 * Returns: (transfer full): a connection to the stream socket at @path
 */
WireConn *wire_conn_connect_unix(const gchar *path, GError **error);

/**
 * wire_conn_new_for_fd:
 * Returns: (transfer full): a connection on the connected stream @fd, which
 * it now owns
 */
WireConn *wire_conn_new_for_fd(gint fd);
void wire_conn_free(WireConn *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WireConn, wire_conn_free)

gint wire_conn_get_fd(WireConn *self);

/**
 * wire_conn_steal_fd:
 * Hands the socket over (to a QgaClient, say) and leaves @self closed.
 * Returns: the fd, or -1 with an error when bytes were already buffered
 * that the new owner would never see
 */
gint wire_conn_steal_fd(WireConn *self, GError **error);

/* the bound for every wait; the default is 5000 ms */
void wire_conn_set_timeout(WireConn *self, guint timeout_ms);
guint wire_conn_get_timeout(WireConn *self);

/* writes all of @data in one go, reading whatever arrives meanwhile */
gboolean wire_conn_send(WireConn *self, const void *data, gsize len, GError **error);
gboolean wire_conn_send_str(WireConn *self, const gchar *text, GError **error);

/* closes the writing half: the agent sees EOF after what was sent */
gboolean wire_conn_shutdown_write(WireConn *self, GError **error);

/**
 * wire_conn_read_reply:
 * Waits (bounded) for the next complete line. The agent closing the
 * connection is G_IO_ERROR_CONNECTION_CLOSED, the timeout
 * G_IO_ERROR_TIMED_OUT; both say what partial line was buffered.
 * Returns: (transfer full): the reply
 */
WireReply *wire_conn_read_reply(WireConn *self, GError **error);

/* like wire_conn_read_reply() with its own bound */
WireReply *wire_conn_read_reply_timeout(WireConn *self, guint timeout_ms, GError **error);

/**
 * wire_conn_expect_silence:
 * Returns: TRUE when nothing at all arrived within @ms (buffered bytes
 * count as something)
 */
gboolean wire_conn_expect_silence(WireConn *self, guint ms);

/* bytes received and not yet returned as a reply */
gsize wire_conn_get_pending(WireConn *self);

/**
 * wire_conn_resync:
 * @skipped: (out) (optional) (transfer full) (element-type WireReply):
 *   every reply read before the matching one
 *
 * The schema's recipe: 0xff, guest-sync-delimited with a random id, then
 * drop everything up to the delimited reply that returns that id.
 */
gboolean wire_conn_resync(WireConn *self, GPtrArray **skipped, GError **error);

/**
 * wire_conn_sync_plain:
 * @before: (out) (optional) (transfer full) (element-type WireReply)
 *
 * guest-sync with a random id and no reset byte: every reply before the
 * matching one is returned in @before. Used after a test's own requests,
 * where any such reply is an unexpected extra.
 */
gboolean wire_conn_sync_plain(WireConn *self, GPtrArray **before, GError **error);

/**
 * wire_bytes_to_display:
 * Returns: (transfer full): @data with printable ASCII as is and
 * everything else as \xNN, cut after @max_len bytes with a note
 */
gchar *wire_bytes_to_display(const void *data, gsize len, gsize max_len);

G_END_DECLS
