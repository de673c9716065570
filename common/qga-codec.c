/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <math.h>
#include <string.h>

#include "qga-codec.h"
#include "qga-json.h"

/* a message buffer that grew past this is given back once the message ends */
#define QGA_DECODER_KEEP_BUFFER (64 * 1024)

typedef struct {
	JsonNode *value; /* exactly one of value, error */
	GError *error;
} QgaDecoderItem;

typedef enum {
	QGA_DECODER_SKIP_NONE,
	/* over a limit: follow the structure to the message's end, store nothing */
	QGA_DECODER_SKIP_MESSAGE,
	/* the host side of guest-sync-delimited: drop everything up to 0xff */
	QGA_DECODER_SKIP_TO_DELIMITER,
} QgaDecoderSkip;

struct _QgaDecoder {
	gsize max_message;
	GByteArray *buf; /* the partial message, single quotes already translated */
	gsize depth;	 /* open { and [ of the partial message (counted on in a skip) */
	guint8 quote;	 /* 0 outside a string, else the quote that opened it */
	gboolean escape; /* the previous byte in the string was a backslash */
	gboolean scalar; /* a top-level scalar token is in progress */
	QgaDecoderSkip skip;
	GQueue queue; /* of QgaDecoderItem */
	JsonParser *parser;
};

static void
qga_decoder_item_free(gpointer data)
{
	QgaDecoderItem *item = data;

	if (item->value != NULL)
		json_node_unref(item->value);
	g_clear_error(&item->error);
	g_free(item);
}

static void
qga_decoder_queue_value(QgaDecoder *self, JsonNode *value)
{
	QgaDecoderItem *item = g_new0(QgaDecoderItem, 1);

	item->value = value;
	g_queue_push_tail(&self->queue, item);
}

/* stream errors are GenericError, as qemu-ga answers them */
G_GNUC_PRINTF(2, 3)
static void
qga_decoder_queue_error(QgaDecoder *self, const gchar *format, ...)
{
	QgaDecoderItem *item = g_new0(QgaDecoderItem, 1);
	va_list args;

	va_start(args, format);
	item->error = g_error_new_valist(QGA_ERROR, QGA_ERROR_GENERIC, format, args);
	va_end(args);
	g_debug("decoder: %s", item->error->message);
	g_queue_push_tail(&self->queue, item);
}

static void
qga_decoder_clear_buffer(QgaDecoder *self)
{
	if (self->buf->len > QGA_DECODER_KEEP_BUFFER) {
		g_byte_array_unref(self->buf);
		self->buf = g_byte_array_new();
	} else {
		g_byte_array_set_size(self->buf, 0);
	}
}

/* forgets the partial message; a skip to the delimiter survives */
static void
qga_decoder_clear_partial(QgaDecoder *self)
{
	qga_decoder_clear_buffer(self);
	self->depth = 0;
	self->quote = 0;
	self->escape = FALSE;
	self->scalar = FALSE;
	if (self->skip == QGA_DECODER_SKIP_MESSAGE)
		self->skip = QGA_DECODER_SKIP_NONE;
}

/*
 * A limit was hit (and reported once): drop what is stored and keep
 * following the structure without storing until the message ends, so that
 * the next message parses and memory stays bounded.
 */
static void
qga_decoder_overlimit(QgaDecoder *self)
{
	qga_decoder_clear_buffer(self);
	self->skip = QGA_DECODER_SKIP_MESSAGE;
}

static void
qga_decoder_store(QgaDecoder *self, const guint8 *data, gsize len)
{
	if (self->skip != QGA_DECODER_SKIP_NONE)
		return;
	if (len > self->max_message - self->buf->len) {
		qga_decoder_queue_error(self,
					"JSON message exceeds the size limit of %" G_GSIZE_FORMAT
					" bytes",
					self->max_message);
		qga_decoder_overlimit(self);
		return;
	}
	g_byte_array_append(self->buf, data, len);
}

static void
qga_decoder_store_byte(QgaDecoder *self, guint8 c)
{
	qga_decoder_store(self, &c, 1);
}

/*
 * What json-glib does not check of a complete (already double-quoted)
 * message, found in one pass outside strings: the number of object members
 * (one ':' each), and integers beyond int64. QEMU's parser reads those as
 * floating point (json-parser.c: JSON_INTEGER falls back to QNUM_DOUBLE),
 * so they get a ".0" here; json-glib would wrap them around.
 * Returns: (transfer full) (nullable): the text with ".0" added, or NULL
 * when it needs none
 */
/* an integer token, well formed but beyond int64; json-glib rejects the
 * malformed ones itself */
static gboolean
qga_decoder_integer_overflows(const gchar *token, gsize len)
{
	g_autofree gchar *copy = g_strndup(token, len);
	g_autoptr(GError) error = NULL;
	gint64 value;

	if (g_ascii_string_to_signed(copy, 10, G_MININT64, G_MAXINT64, &value, &error))
		return FALSE;
	return g_error_matches(error, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS);
}

static GString *
qga_decoder_scan_message(const gchar *text, gsize len, gsize *n_members)
{
	GString *fixed = NULL;
	gboolean in_string = FALSE;
	gsize done = 0;

	*n_members = 0;
	for (gsize i = 0; i < len; i++) {
		gsize start = i;

		if (in_string) {
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = FALSE;
			continue;
		}
		if (text[i] == '"') {
			in_string = TRUE;
			continue;
		}
		if (text[i] == ':')
			(*n_members)++;
		if (text[i] != '-' && !g_ascii_isdigit(text[i]))
			continue;
		while (i + 1 < len && (g_ascii_isalnum(text[i + 1]) || strchr("+-.", text[i + 1])))
			i++;
		if (memchr(text + start, '.', i + 1 - start) ||
		    memchr(text + start, 'e', i + 1 - start) ||
		    memchr(text + start, 'E', i + 1 - start))
			continue;
		if (!qga_decoder_integer_overflows(text + start, i + 1 - start))
			continue;
		if (fixed == NULL)
			fixed = g_string_sized_new(len + 16);
		g_string_append_len(fixed, text + done, i + 1 - done);
		g_string_append(fixed, ".0");
		done = i + 1;
	}
	if (fixed != NULL)
		g_string_append_len(fixed, text + done, len - done);
	return fixed;
}

/* members of every object in @node, and whether a number in it is not
 * finite (beyond a double: "1e400" parses as infinity) */
static gsize
qga_decoder_walk(JsonNode *node, gboolean *non_finite)
{
	gsize n = 0;

	if (JSON_NODE_HOLDS_OBJECT(node)) {
		g_autoptr(GList) values = json_object_get_values(json_node_get_object(node));

		for (GList *l = values; l != NULL; l = l->next)
			n += 1 + qga_decoder_walk(l->data, non_finite);
	} else if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++)
			n += qga_decoder_walk(json_array_get_element(array, i), non_finite);
	} else if (json_node_get_value_type(node) == G_TYPE_DOUBLE &&
		   !isfinite(json_node_get_double(node))) {
		*non_finite = TRUE;
	}
	return n;
}

static gint
qga_decoder_hex4(const gchar *p, const gchar *end)
{
	gint value = 0;

	if (end - p < 4)
		return -1;
	for (gint i = 0; i < 4; i++) {
		gint digit = g_ascii_xdigit_value(p[i]);

		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	return value;
}

/*
 * json-glib takes "\u" with fewer than 4 hex digits, and turns a UTF-16
 * surrogate that is not half of a pair into invalid UTF-8, swallowing the
 * character after it: an id would come back changed. QEMU refuses both
 * (qobject/json-parser.c: parse_string). Found by fuzz/fuzz-codec.c.
 * Returns: (nullable): the first such escape in @text
 */
static const gchar *
qga_decoder_find_bad_unicode_escape(const gchar *text, gsize len)
{
	const gchar *end = text + len;
	gboolean in_string = FALSE;

	for (const gchar *p = text; p < end; p++) {
		gint unit;
		gint low = -1;

		if (!in_string || *p == '"') {
			in_string = !in_string && *p == '"';
			continue;
		}
		if (*p != '\\')
			continue;
		if (++p == end)
			break;
		if (*p != 'u')
			continue;
		/* p is at the 'u': 4 digits, then maybe "\u" and 4 more */
		unit = qga_decoder_hex4(p + 1, end);
		if (unit < 0)
			return p - 1;
		if (unit < 0xd800 || unit > 0xdfff)
			continue;
		if (unit <= 0xdbff && end - p > 10 && p[5] == '\\' && p[6] == 'u')
			low = qga_decoder_hex4(p + 7, end);
		if (low < 0xdc00 || low > 0xdfff)
			return p - 1;
		p += 10;
	}
	return NULL;
}

/* a top-level value ended: parse it, unless it was being skipped */
static void
qga_decoder_finish_message(QgaDecoder *self)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GString) fixed = NULL;
	const gchar *text = (const gchar *)self->buf->data;
	gsize len = self->buf->len;
	const gchar *bad_escape;
	gsize n_members = 0;
	gboolean non_finite = FALSE;
	JsonNode *root;

	if (self->skip == QGA_DECODER_SKIP_MESSAGE) {
		qga_decoder_clear_partial(self);
		return;
	}
	if (!g_utf8_validate_len(text, len, NULL)) {
		qga_decoder_queue_error(self, "JSON parse error, invalid UTF-8 sequence");
		qga_decoder_clear_partial(self);
		return;
	}
	bad_escape = qga_decoder_find_bad_unicode_escape(text, len);
	if (bad_escape != NULL) {
		/* qemu-ga 7.2's very text: 6 bytes from the backslash, up to the
		 * string's closing quote ("\u12\"") */
		gsize rest = (gsize)(text + len - bad_escape) - 2;
		const gchar *quote = memchr(bad_escape + 2, '"', MIN(4, rest));
		gsize shown = quote != NULL ? (gsize)(quote + 1 - bad_escape) : 6;

		qga_decoder_queue_error(self,
					"JSON parse error, %.*s is not a valid Unicode character",
					(gint)shown, bad_escape);
		qga_decoder_clear_partial(self);
		return;
	}
	fixed = qga_decoder_scan_message(text, len, &n_members);
	if (fixed != NULL) {
		text = fixed->str;
		len = fixed->len;
	}
	if (!json_parser_load_from_data(self->parser, text, (gssize)len, &error_local)) {
		qga_decoder_queue_error(self, "JSON parse error, %s", error_local->message);
		qga_decoder_clear_partial(self);
		return;
	}
	root = json_parser_steal_root(self->parser);
	if (root == NULL) {
		/* json-glib takes a lone comment for an empty document */
		qga_decoder_queue_error(self, "JSON parse error, expecting value");
	} else if (qga_decoder_walk(root, &non_finite) != n_members) {
		/* json-glib keeps the last of two equal keys; QEMU refuses them */
		qga_decoder_queue_error(self, "JSON parse error, duplicate key");
		json_node_unref(root);
	} else if (non_finite) {
		/* JSON has no infinity: qemu-ga 7.2 echoes such an id as a bare
		 * 'inf', which no client parses (found by fuzz/fuzz-codec.c) */
		qga_decoder_queue_error(self, "JSON parse error, number out of range");
		json_node_unref(root);
	} else {
		qga_decoder_queue_value(self, root);
	}
	qga_decoder_clear_partial(self);
}

/* as QEMU's lexer: 0xfe, 0xff (never in UTF-8) and control bytes but
 * \t \r \n are invalid anywhere */
static inline gboolean
qga_decoder_is_reset_byte(guint8 c)
{
	return c >= 0xfe || (c < 0x20 && c != '\t' && c != '\r' && c != '\n');
}

static void
qga_decoder_reset_byte(QgaDecoder *self, guint8 c)
{
	qga_decoder_clear_partial(self);
	/* qemu-ga's very text: its lexer quotes the byte, and its writer turns
	 * invalid UTF-8 into U+FFFD and control characters into \u00XX */
	if (c >= 0x80)
		qga_decoder_queue_error(self, "JSON parse error, stray '\xef\xbf\xbd'");
	else
		qga_decoder_queue_error(self, "JSON parse error, stray '%c'", c);
}

/* how many bytes from @data on need no attention inside the current string */
static gsize
qga_decoder_string_run(QgaDecoder *self, const guint8 *data, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++) {
		guint8 c = data[i];

		if (c == '\\' || c == '"' || c == self->quote || qga_decoder_is_reset_byte(c))
			break;
	}
	return i;
}

/* how many bytes from @data on inside a structure are neither brackets nor quotes */
static gsize
qga_decoder_plain_run(const guint8 *data, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++) {
		guint8 c = data[i];

		if (c == '{' || c == '}' || c == '[' || c == ']' || c == '"' || c == '\'' ||
		    qga_decoder_is_reset_byte(c))
			break;
	}
	return i;
}

static void
qga_decoder_string_byte(QgaDecoder *self, guint8 c)
{
	if (self->escape) {
		self->escape = FALSE;
		/* json-glib would take "\x" for "x"; QEMU's lexer refuses it */
		if (strchr("\"\\/bfnrtu'", c) == NULL) {
			if (self->skip == QGA_DECODER_SKIP_NONE) {
				qga_decoder_queue_error(
					self, "JSON parse error, invalid escape '\\%c'", c);
				qga_decoder_overlimit(self);
			}
			return;
		}
		/* QMP's \' (in either quote); json-glib wants a bare ' */
		if (c == '\'') {
			qga_decoder_store_byte(self, '\'');
		} else {
			guint8 esc[2] = {'\\', c};

			qga_decoder_store(self, esc, sizeof(esc));
		}
		return;
	}
	if (c == '\\') {
		self->escape = TRUE;
		return;
	}
	if (c == self->quote) {
		self->quote = 0;
		qga_decoder_store_byte(self, '"');
		if (self->depth == 0)
			qga_decoder_finish_message(self);
		return;
	}
	if (c == '"') {
		/* inside a single-quoted string */
		qga_decoder_store(self, (const guint8 *)"\\\"", 2);
		return;
	}
	qga_decoder_store_byte(self, c);
}

static void
qga_decoder_structure_byte(QgaDecoder *self, guint8 c)
{
	switch (c) {
	case '{':
	case '[':
		if (self->scalar)
			qga_decoder_finish_message(self);
		self->depth++;
		if (self->depth > QGA_MAX_NESTING && self->skip == QGA_DECODER_SKIP_NONE) {
			/* json-glib recurses per level: it must never see this */
			qga_decoder_queue_error(self, "JSON nesting exceeds the limit of %d",
						QGA_MAX_NESTING);
			qga_decoder_overlimit(self);
			return;
		}
		qga_decoder_store_byte(self, c);
		return;
	case '}':
	case ']':
		if (self->scalar)
			qga_decoder_finish_message(self);
		if (self->depth == 0) {
			qga_decoder_queue_error(self, "JSON parse error, stray '%c'", c);
			return;
		}
		qga_decoder_store_byte(self, c);
		self->depth--;
		if (self->depth == 0)
			qga_decoder_finish_message(self);
		return;
	case '"':
	case '\'':
		if (self->scalar)
			qga_decoder_finish_message(self);
		self->quote = c;
		qga_decoder_store_byte(self, '"');
		return;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		if (self->depth > 0) {
			qga_decoder_store_byte(self, c);
		} else if (self->scalar) {
			/* the end of a top-level token, e.g. "123 " */
			qga_decoder_finish_message(self);
		}
		return;
	default:
		if (self->depth == 0)
			self->scalar = TRUE;
		qga_decoder_store_byte(self, c);
		return;
	}
}

QgaDecoder *
qga_decoder_new(gsize max_message)
{
	QgaDecoder *self = g_new0(QgaDecoder, 1);

	self->max_message = max_message != 0 ? max_message : QGA_MAX_MESSAGE_DEFAULT;
	self->buf = g_byte_array_new();
	self->parser = json_parser_new();
	g_queue_init(&self->queue);
	return self;
}

void
qga_decoder_free(QgaDecoder *self)
{
	if (self == NULL)
		return;
	g_queue_clear_full(&self->queue, qga_decoder_item_free);
	g_byte_array_unref(self->buf);
	g_object_unref(self->parser);
	g_free(self);
}

void
qga_decoder_feed(QgaDecoder *self, const guint8 *data, gsize len)
{
	gsize i = 0;

	g_return_if_fail(self != NULL);
	g_return_if_fail(data != NULL || len == 0);

	while (i < len) {
		guint8 c = data[i];

		if (self->skip == QGA_DECODER_SKIP_TO_DELIMITER) {
			const guint8 *delim = memchr(data + i, QGA_SYNC_DELIMITER, len - i);

			if (delim == NULL)
				return;
			i = (gsize)(delim - data) + 1;
			self->skip = QGA_DECODER_SKIP_NONE;
			qga_decoder_clear_partial(self);
			continue;
		}
		if (qga_decoder_is_reset_byte(c)) {
			qga_decoder_reset_byte(self, c);
			i++;
			continue;
		}
		if (self->quote != 0) {
			gsize run = 0;

			/* the bulk of a large message is string data: take it in runs */
			if (!self->escape)
				run = qga_decoder_string_run(self, data + i, len - i);
			if (run > 0) {
				qga_decoder_store(self, data + i, run);
				i += run;
			} else {
				qga_decoder_string_byte(self, c);
				i++;
			}
			continue;
		}
		if (self->depth > 0) {
			gsize run = qga_decoder_plain_run(data + i, len - i);

			if (run > 0) {
				qga_decoder_store(self, data + i, run);
				i += run;
				continue;
			}
		}
		qga_decoder_structure_byte(self, c);
		i++;
	}
}

gboolean
qga_decoder_pop(QgaDecoder *self, JsonNode **value, GError **error)
{
	QgaDecoderItem *item;

	g_return_val_if_fail(self != NULL, FALSE);

	item = g_queue_pop_head(&self->queue);
	if (item == NULL)
		return FALSE;
	if (item->error != NULL) {
		g_propagate_error(error, g_steal_pointer(&item->error));
		qga_decoder_item_free(item);
		return FALSE;
	}
	if (value != NULL)
		*value = g_steal_pointer(&item->value);
	qga_decoder_item_free(item);
	return TRUE;
}

void
qga_decoder_reset(QgaDecoder *self)
{
	g_return_if_fail(self != NULL);

	self->skip = QGA_DECODER_SKIP_NONE;
	qga_decoder_clear_partial(self);
	g_queue_clear_full(&self->queue, qga_decoder_item_free);
}

void
qga_decoder_skip_to_delimiter(QgaDecoder *self)
{
	g_return_if_fail(self != NULL);

	qga_decoder_reset(self);
	self->skip = QGA_DECODER_SKIP_TO_DELIMITER;
}

JsonNode *
qga_decoder_parse_one(const gchar *text, gsize len, gsize max_message, GError **error)
{
	g_autoptr(QgaDecoder) decoder = NULL;
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(text != NULL || len == 0, NULL);

	decoder = qga_decoder_new(max_message);
	qga_decoder_feed(decoder, (const guint8 *)text, len);
	/* the end of the text ends a top-level scalar ("123") too */
	qga_decoder_feed(decoder, (const guint8 *)"\n", 1);
	if (!qga_decoder_pop(decoder, &value, &error_local)) {
		if (error_local == NULL)
			g_set_error_literal(&error_local, QGA_ERROR, QGA_ERROR_GENERIC,
					    "JSON parse error, incomplete message");
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	if (!g_queue_is_empty(&decoder->queue) || decoder->buf->len > 0 || decoder->depth > 0) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "JSON parse error, more than one message");
		return NULL;
	}
	return g_steal_pointer(&value);
}

/* ---- requests ---- */

void
qga_request_free(QgaRequest *self)
{
	if (self == NULL)
		return;
	g_free(self->execute);
	if (self->arguments != NULL)
		json_object_unref(self->arguments);
	if (self->id != NULL)
		json_node_unref(self->id);
	g_free(self);
}

static gchar *
qga_codec_line(JsonObject *object)
{
	g_autoptr(JsonNode) node = qga_json_object_new_node(json_object_ref(object));
	g_autofree gchar *text = qga_json_to_ascii(node);

	return g_strconcat(text, "\n", NULL);
}

gchar *
qga_request_encode(const gchar *execute, JsonObject *arguments, JsonNode *id)
{
	g_autoptr(JsonObject) object = NULL;

	g_return_val_if_fail(execute != NULL, NULL);

	object = json_object_new();
	json_object_set_string_member(object, "execute", execute);
	if (arguments != NULL)
		json_object_set_object_member(object, "arguments", json_object_ref(arguments));
	if (id != NULL)
		json_object_set_member(object, "id", json_node_copy(id));
	return qga_codec_line(object);
}

JsonNode *
qga_request_peek_id(JsonNode *message)
{
	JsonObject *object;
	JsonNode *id;

	if (message == NULL || !JSON_NODE_HOLDS_OBJECT(message))
		return NULL;
	object = json_node_get_object(message);
	id = json_object_get_member(object, "id");
	return id != NULL ? json_node_copy(id) : NULL;
}

static gboolean
qga_codec_node_is_string(JsonNode *node)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

QgaRequest *
qga_request_parse(JsonNode *message, GError **error)
{
	g_autoptr(QgaRequest) request = NULL;
	g_autoptr(GList) members = NULL;
	JsonObject *object;

	g_return_val_if_fail(message != NULL, NULL);

	/* texts and member order as qapi/qmp-dispatch.c: qmp_dispatch_check_obj */
	if (!JSON_NODE_HOLDS_OBJECT(message)) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "QMP input must be a JSON object");
		return NULL;
	}
	object = json_node_get_object(message);
	request = g_new0(QgaRequest, 1);
	members = json_object_get_members(object);
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		JsonNode *node = json_object_get_member(object, name);

		if (g_strcmp0(name, "execute") == 0) {
			if (!qga_codec_node_is_string(node)) {
				g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
						    "QMP input member 'execute' must be a string");
				return NULL;
			}
			request->execute = g_strdup(json_node_get_string(node));
		} else if (g_strcmp0(name, "arguments") == 0) {
			if (!JSON_NODE_HOLDS_OBJECT(node)) {
				g_set_error_literal(
					error, QGA_ERROR, QGA_ERROR_GENERIC,
					"QMP input member 'arguments' must be an object");
				return NULL;
			}
			request->arguments = json_object_ref(json_node_get_object(node));
		} else if (g_strcmp0(name, "id") == 0) {
			request->id = json_node_copy(node);
		} else {
			/* exec-oob too: qemu-ga dispatches with allow_oob=false */
			g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "QMP input member '%s' is unexpected", name);
			return NULL;
		}
	}
	if (request->execute == NULL) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "QMP input lacks member 'execute'");
		return NULL;
	}
	return g_steal_pointer(&request);
}

/* ---- replies ---- */

gchar *
qga_reply_encode_return_text(const gchar *value, JsonNode *id, gboolean delimited, gsize *len)
{
	GString *out = g_string_sized_new(strlen(value) + 64);

	/* as qemu-ga's send_response: the sentinel goes in front */
	if (delimited)
		g_string_append_c(out, (gchar)QGA_SYNC_DELIMITER);
	/* what qga_codec_line() makes of {"return": value, "id": id} */
	g_string_append(out, "{\"return\":");
	g_string_append(out, value);
	if (id != NULL) {
		g_autofree gchar *id_text = qga_json_to_ascii(id);

		g_string_append(out, ",\"id\":");
		g_string_append(out, id_text);
	}
	g_string_append(out, "}\n");
	if (len != NULL)
		*len = out->len;
	return g_string_free(out, FALSE);
}

gchar *
qga_reply_encode_return(JsonNode *value, JsonNode *id, gboolean delimited, gsize *len)
{
	g_autofree gchar *text = NULL;

	g_return_val_if_fail(value != NULL, NULL);

	text = qga_json_to_ascii(value);
	return qga_reply_encode_return_text(text, id, delimited, len);
}

gchar *
qga_reply_encode_error(const GError *error, JsonNode *id)
{
	g_autoptr(JsonObject) object = NULL;
	JsonObject *body;

	g_return_val_if_fail(error != NULL, NULL);

	body = json_object_new();
	json_object_set_string_member(body, "class", qga_error_class_for(error));
	json_object_set_string_member(body, "desc", error->message != NULL ? error->message : "");
	object = json_object_new();
	json_object_set_object_member(object, "error", body);
	if (id != NULL)
		json_object_set_member(object, "id", json_node_copy(id));
	return qga_codec_line(object);
}

JsonNode *
qga_reply_get_id(JsonNode *reply)
{
	if (reply == NULL || !JSON_NODE_HOLDS_OBJECT(reply))
		return NULL;
	return json_object_get_member(json_node_get_object(reply), "id");
}

gboolean
qga_reply_parse(JsonNode *reply, JsonNode **value, GError **error)
{
	JsonObject *object;
	JsonObject *body;
	JsonNode *node;
	JsonNode *klass;
	JsonNode *desc;
	QgaErrorCode code = QGA_ERROR_GENERIC;

	g_return_val_if_fail(reply != NULL, FALSE);

	if (!JSON_NODE_HOLDS_OBJECT(reply)) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "invalid reply: not a JSON object");
		return FALSE;
	}
	object = json_node_get_object(reply);
	node = json_object_get_member(object, "return");
	if (node != NULL) {
		if (value != NULL)
			*value = json_node_copy(node);
		return TRUE;
	}
	node = json_object_get_member(object, "error");
	if (node == NULL) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "invalid reply: no member 'return' or 'error'");
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "invalid reply: member 'error' is not an object");
		return FALSE;
	}
	body = json_node_get_object(node);
	klass = json_object_get_member(body, "class");
	desc = json_object_get_member(body, "desc");
	if (klass != NULL && qga_codec_node_is_string(klass))
		code = qga_error_code_from_class(json_node_get_string(klass));
	g_set_error_literal(error, QGA_ERROR, code,
			    desc != NULL && qga_codec_node_is_string(desc)
				    ? json_node_get_string(desc)
				    : "error reply without a description");
	return FALSE;
}
