/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz-support.h"
#include "qga-codec.h"
#include "qga-json.h"

/*
 * The stream decoder (common/qga-codec.c) on any bytes, and the request
 * and reply parsers on whatever it decodes.
 * Input: one byte picks the message limit (the default, or a small one to
 * reach the over-limit paths), two seed the chunk sizes, the rest is the
 * stream. Besides ASan/UBSan, what must hold:
 * - the stream fed whole and fed in pieces gives the same items;
 * - a host skipping to the delimiter (guest-sync-delimited) sees exactly
 *   what a fresh decoder sees of the bytes after the first 0xff;
 * - a request that parses re-encodes to one line that parses back equal,
 *   and an id goes through a "return" reply (value and id) unchanged.
 */

/* an invariant broke: say which, on which values, then crash */
G_GNUC_NORETURN static void
fuzz_codec_fail(const gchar *what, JsonNode *expected, JsonNode *got)
{
	g_autofree gchar *a = expected != NULL ? qga_json_to_ascii(expected) : g_strdup("(none)");
	g_autofree gchar *b = got != NULL ? qga_json_to_ascii(got) : g_strdup("(none)");

	g_printerr("%s:\n  expected %s\n  got      %s\n", what, a, b);
	abort();
}

static gboolean
fuzz_codec_equal(JsonNode *a, JsonNode *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return json_node_equal(a, b);
}

static void
fuzz_codec_check_request(JsonNode *message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) id = qga_request_peek_id(message);
	g_autoptr(QgaRequest) request = qga_request_parse(message, &error);
	g_autoptr(JsonNode) args_node = NULL;
	g_autoptr(JsonNode) again_args = NULL;
	g_autoptr(JsonNode) decoded = NULL;
	g_autoptr(QgaRequest) again = NULL;
	g_autofree gchar *line = NULL;

	if (request == NULL) {
		if (error == NULL)
			abort();
		return;
	}
	if (!fuzz_codec_equal(id, request->id))
		fuzz_codec_fail("the peeked id", request->id, id);
	line = qga_request_encode(request->execute, request->arguments, request->id);
	decoded = fuzz_support_decode_line(line, strlen(line));
	again = qga_request_parse(decoded, NULL);
	if (again == NULL || strcmp(again->execute, request->execute) != 0 ||
	    !fuzz_codec_equal(request->id, again->id))
		fuzz_codec_fail("the re-encoded request", message, decoded);
	if (request->arguments != NULL)
		args_node = qga_json_object_new_node(json_object_ref(request->arguments));
	if (again->arguments != NULL)
		again_args = qga_json_object_new_node(json_object_ref(again->arguments));
	if (!fuzz_codec_equal(args_node, again_args))
		fuzz_codec_fail("the re-encoded arguments", args_node, again_args);
}

static void
fuzz_codec_check_reply(JsonNode *message, gboolean delimited)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(JsonNode) id = qga_request_peek_id(message);
	g_autoptr(JsonNode) decoded = NULL;
	g_autoptr(JsonNode) back = NULL;
	g_autofree gchar *line = NULL;
	gsize len = 0;

	if (qga_reply_parse(message, &value, &error) == (error != NULL))
		abort();
	(void)qga_reply_get_id(message);
	if (id == NULL)
		return;
	/* as guest-sync echoes an id: as deep in the reply as in the request */
	line = qga_reply_encode_return(id, id, delimited, &len);
	decoded = fuzz_support_decode_line(line, len);
	if (!qga_reply_parse(decoded, &back, NULL) || !json_node_equal(back, id) ||
	    !json_node_equal(qga_reply_get_id(decoded), id))
		fuzz_codec_fail("the id through a reply", id, decoded);
}

/* every item as text, in order: the invariants compare these; @check runs
 * the parsers on each value too */
static GPtrArray *
fuzz_codec_items(QgaDecoder *decoder, gboolean check, gboolean delimited)
{
	GPtrArray *items = g_ptr_array_new_with_free_func(g_free);

	for (;;) {
		g_autoptr(JsonNode) value = NULL;
		g_autoptr(GError) error = NULL;

		if (qga_decoder_pop(decoder, &value, &error)) {
			g_autofree gchar *text = qga_json_to_ascii(value);

			if (check) {
				fuzz_codec_check_request(value);
				fuzz_codec_check_reply(value, delimited);
			}
			g_ptr_array_add(items, g_strconcat("value ", text, NULL));
		} else if (error != NULL) {
			g_ptr_array_add(items, g_strdup_printf("error %d %s", error->code,
							       error->message));
		} else {
			return items;
		}
	}
}

static void
fuzz_codec_assert_same(GPtrArray *a, GPtrArray *b, const gchar *what)
{
	if (a->len != b->len) {
		g_printerr("%s: %u items, %u expected\n", what, b->len, a->len);
		abort();
	}
	for (guint i = 0; i < a->len; i++) {
		if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0) {
			g_printerr("%s: item %u is\n  %s\nexpected\n  %s\n", what, i,
				   (const gchar *)g_ptr_array_index(b, i),
				   (const gchar *)g_ptr_array_index(a, i));
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	guint8 limit = fuzz_input_byte(&in);
	g_autoptr(GRand) chunks = g_rand_new_with_seed((guint32)fuzz_input_uint(&in, 2));
	gsize max_message = limit < 0x80 ? 0 : 16 + (gsize)(limit - 0x80) * 8;
	g_autoptr(QgaDecoder) whole = qga_decoder_new(max_message);
	g_autoptr(QgaDecoder) pieces = qga_decoder_new(max_message);
	g_autoptr(QgaDecoder) skipping = qga_decoder_new(max_message);
	g_autoptr(QgaDecoder) after = qga_decoder_new(max_message);
	g_autoptr(GPtrArray) whole_items = NULL;
	g_autoptr(GPtrArray) piece_items = NULL;
	g_autoptr(GPtrArray) skipping_items = NULL;
	g_autoptr(GPtrArray) after_items = NULL;
	const guint8 *delimiter;
	gsize off = 0;

	qga_decoder_feed(whole, in.data, in.len);
	whole_items = fuzz_codec_items(whole, TRUE, limit & 1);

	/* pieces of 1 byte to a few KiB, so both single bytes and long
	 * runs cross piece boundaries */
	while (off < in.len) {
		gsize n = 1 + g_rand_int_range(chunks, 0, 1 << g_rand_int_range(chunks, 0, 12));

		n = MIN(n, in.len - off);
		qga_decoder_feed(pieces, in.data + off, n);
		off += n;
	}
	piece_items = fuzz_codec_items(pieces, FALSE, FALSE);
	fuzz_codec_assert_same(whole_items, piece_items, "fed in pieces");

	qga_decoder_skip_to_delimiter(skipping);
	qga_decoder_feed(skipping, in.data, in.len);
	skipping_items = fuzz_codec_items(skipping, FALSE, FALSE);
	delimiter = memchr(in.data, QGA_SYNC_DELIMITER, in.len);
	if (delimiter != NULL)
		qga_decoder_feed(after, delimiter + 1, in.len - (gsize)(delimiter + 1 - in.data));
	after_items = fuzz_codec_items(after, FALSE, FALSE);
	fuzz_codec_assert_same(after_items, skipping_items, "skipping to the delimiter");
	return 0;
}
