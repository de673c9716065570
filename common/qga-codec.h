/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qga-error.h"

G_BEGIN_DECLS

#define QGA_SYNC_DELIMITER	0xff
#define QGA_MAX_MESSAGE_DEFAULT (16 * 1024 * 1024)
#define QGA_MAX_NESTING		1024

/* ---- stream decoder: bytes in, top-level JSON values or errors out ---- */

typedef struct _QgaDecoder QgaDecoder;

/**
 * qga_decoder_new:
 * @max_message: the largest message in bytes; 0 means QGA_MAX_MESSAGE_DEFAULT
 *
 * The decoder splits a byte stream into top-level JSON values without
 * needing newlines, as QEMU's json-streamer does, and parses each with
 * json-glib. Single-quoted strings (a QMP extension) are accepted. 0xff and
 * any ASCII control byte other than \t \r \n drop the partial message.
 * Returns: (transfer full)
 */
QgaDecoder *qga_decoder_new(gsize max_message);
void qga_decoder_free(QgaDecoder *self);

/* feeds any number of bytes; complete items are queued for _pop() */
void qga_decoder_feed(QgaDecoder *self, const guint8 *data, gsize len);

/**
 * qga_decoder_pop:
 * @value: (out) (transfer full) (optional): the next complete value
 * @error: the next stream error (invalid JSON or UTF-8, a limit, a reset byte)
 *
 * Items come out in stream order. Returns FALSE with @error unset when
 * nothing is queued; FALSE with @error set for an error item (the stream
 * stays usable); TRUE with @value set for a value.
 */
gboolean qga_decoder_pop(QgaDecoder *self, JsonNode **value, GError **error);

/* drops the partial message and everything queued: a new peer starts clean */
void qga_decoder_reset(QgaDecoder *self);

/**
 * qga_decoder_skip_to_delimiter:
 * Host side of guest-sync-delimited: discard every byte (and every queued
 * item) until the next 0xff, which then only resets the parser and yields
 * no error item.
 */
void qga_decoder_skip_to_delimiter(QgaDecoder *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaDecoder, qga_decoder_free)

/**
 * qga_decoder_parse_one:
 * @max_message: as for qga_decoder_new()
 * Decodes @text, which must hold exactly one complete JSON value, with the
 * stream decoder's rules and limits (size, nesting): for a message another
 * program framed already, as libvirt's agent API hands over a reply.
 * Returns: (transfer full): the value, or NULL with a GenericError
 */
JsonNode *qga_decoder_parse_one(const gchar *text, gsize len, gsize max_message, GError **error);

/* ---- requests (host encodes, agent validates) ---- */

typedef struct {
	gchar *execute;
	JsonObject *arguments; /* (nullable) */
	JsonNode *id;	       /* (nullable): any JSON type, echoed verbatim */
} QgaRequest;

void qga_request_free(QgaRequest *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaRequest, qga_request_free)

/**
 * qga_request_encode:
 * @arguments: (nullable) (transfer none)
 * @id: (nullable) (transfer none)
 * Returns: (transfer full): one ASCII request line ending in \n
 */
gchar *qga_request_encode(const gchar *execute, JsonObject *arguments, JsonNode *id);

/**
 * qga_request_peek_id:
 * Returns: (transfer full) (nullable): a copy of the top-level "id" of
 * @message when it is an object holding one, so that even a request that
 * fails validation is answered with its id
 */
JsonNode *qga_request_peek_id(JsonNode *message);

/**
 * qga_request_parse:
 * Validates @message as qemu-ga does (qapi/qmp-dispatch.c): an object with
 * "execute" (string), optional "arguments" (object) and "id" (any), no
 * other member; "exec-oob" is refused since qemu-ga allows no OOB.
 * Returns: (transfer full): the request, or NULL with a GenericError
 */
QgaRequest *qga_request_parse(JsonNode *message, GError **error);

/* ---- replies (agent encodes, host decodes) ---- */

/**
 * qga_reply_encode_return:
 * @value: (transfer none): the "return" member
 * @id: (nullable) (transfer none)
 * @delimited: put the 0xff sync delimiter before the object
 * Returns: (transfer full): the reply bytes ending in \n, ASCII except a
 * leading 0xff; @len receives the length
 */
gchar *qga_reply_encode_return(JsonNode *value, JsonNode *id, gboolean delimited, gsize *len);

/**
 * qga_reply_encode_return_text:
 * @value: the "return" member as JSON text, 7-bit ASCII (qga_json_to_ascii()
 * or qga_json_append_string() made)
 * The same reply as qga_reply_encode_return() for a value already written
 * as text.
 */
gchar *qga_reply_encode_return_text(const gchar *value, JsonNode *id, gboolean delimited,
				    gsize *len);

/**
 * qga_reply_encode_error:
 * Encodes {"error": {"class", "desc"}} from @error (see qga_error_class_for).
 * Returns: (transfer full): the reply line ending in \n
 */
gchar *qga_reply_encode_error(const GError *error, JsonNode *id);

/**
 * qga_reply_get_id:
 * Returns: (transfer none) (nullable): the reply's "id" member
 */
JsonNode *qga_reply_get_id(JsonNode *reply);

/**
 * qga_reply_parse:
 * @value: (out) (transfer full) (optional): the "return" member
 *
 * An error reply becomes a QGA_ERROR GError whose code is its class and
 * whose message is its desc; a message that is neither shape is a
 * GenericError.
 */
gboolean qga_reply_parse(JsonNode *reply, JsonNode **value, GError **error);

G_END_DECLS
