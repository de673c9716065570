/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "qga-codec.h"
#include "qga-error.h"
#include "qga-json.h"

/* ---- helpers ---- */

static void
feed_str(QgaDecoder *decoder, const gchar *text)
{
	qga_decoder_feed(decoder, (const guint8 *)text, strlen(text));
}

static void
feed_bytewise(QgaDecoder *decoder, const guint8 *data, gsize len)
{
	for (gsize i = 0; i < len; i++)
		qga_decoder_feed(decoder, data + i, 1);
}

/* the next queued item as "v <json>" or "e <message>"; NULL when empty */
static gchar *
decoder_next_item(QgaDecoder *decoder)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;

	if (qga_decoder_pop(decoder, &value, &error)) {
		g_autofree gchar *text = NULL;

		assert_null(error);
		assert_non_null(value);
		text = qga_json_to_ascii(value);
		return g_strdup_printf("v %s", text);
	}
	assert_null(value);
	if (error != NULL) {
		assert_true(error->domain == QGA_ERROR);
		assert_int_equal(error->code, QGA_ERROR_GENERIC);
		return g_strdup_printf("e %s", error->message);
	}
	return NULL;
}

static GPtrArray *
decoder_drain(QgaDecoder *decoder)
{
	GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
	gchar *item;

	while ((item = decoder_next_item(decoder)) != NULL)
		g_ptr_array_add(items, item);
	return items;
}

/* an expected error line ending in '*' matches by prefix */
static gboolean
item_matches(const gchar *item, const gchar *expected)
{
	gsize len = strlen(expected);

	if (item[0] == 'e' && len > 0 && expected[len - 1] == '*')
		return strncmp(item, expected, len - 1) == 0;
	return strcmp(item, expected) == 0;
}

static void
assert_items(GPtrArray *items, const gchar *const *expected)
{
	guint n = g_strv_length((gchar **)expected);

	for (guint i = 0; i < MIN(items->len, n); i++) {
		if (!item_matches(g_ptr_array_index(items, i), expected[i]))
			fail_msg("item %u: got <%s>, expected <%s>", i,
				 (const gchar *)g_ptr_array_index(items, i), expected[i]);
	}
	if (items->len != n) {
		for (guint i = 0; i < items->len; i++)
			print_message("# item %u: %s\n", i,
				      (const gchar *)g_ptr_array_index(items, i));
		fail_msg("got %u items, expected %u", items->len, n);
	}
}

static void
assert_decodes_max(gsize max_message, const gchar *input, const gchar *const *expected)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(max_message);
	g_autoptr(GPtrArray) items = NULL;

	feed_str(decoder, input);
	items = decoder_drain(decoder);
	assert_items(items, expected);
}

static void
assert_decodes(const gchar *input, const gchar *const *expected)
{
	assert_decodes_max(0, input, expected);
}

static guint8 *
load_fixture(const gchar *name, gsize *len)
{
	g_autofree gchar *path = g_build_filename(FIXTURES_DIR, "codec", name, NULL);
	g_autoptr(GError) error = NULL;
	gchar *contents = NULL;

	if (!g_file_get_contents(path, &contents, len, &error))
		fail_msg("cannot load fixture: %s", error->message);
	return (guint8 *)contents;
}

static gchar **
load_expected(const gchar *name)
{
	gsize len = 0;
	g_autofree gchar *text = (gchar *)load_fixture(name, &len);

	g_strchomp(text);
	return g_strsplit(text, "\n", -1);
}

/* ---- the stream splitter ---- */

static void
test_qga_codec_single_request(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;
	JsonObject *object;

	/* no newline needed: the closing brace completes it */
	feed_str(decoder, "{\"execute\":\"guest-ping\"}");
	assert_true(qga_decoder_pop(decoder, &value, &error));
	assert_null(error);
	assert_true(JSON_NODE_HOLDS_OBJECT(value));
	object = json_node_get_object(value);
	assert_string_equal(json_object_get_string_member(object, "execute"), "guest-ping");
	/* nothing more queued: FALSE without an error */
	assert_false(qga_decoder_pop(decoder, NULL, &error));
	assert_null(error);
}

static void
test_qga_codec_pop_contract(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(GError) error = NULL;
	JsonNode *value = NULL;

	assert_false(qga_decoder_pop(decoder, &value, &error));
	assert_null(value);
	assert_null(error);
	/* @value is optional: the value is dropped, the item still counts */
	feed_str(decoder, "{} ]");
	assert_true(qga_decoder_pop(decoder, NULL, NULL));
	assert_false(qga_decoder_pop(decoder, &value, &error));
	assert_null(value);
	assert_non_null(error);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC));
	g_clear_error(&error);
	assert_false(qga_decoder_pop(decoder, &value, &error));
	assert_null(error);
	/* an error item popped with a NULL error is dropped too */
	feed_str(decoder, "]{}");
	assert_false(qga_decoder_pop(decoder, &value, NULL));
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	assert_non_null(value);
	json_node_unref(value);
}

static void
test_qga_codec_back_to_back(void **state)
{
	const gchar *const expected[] = {
		"v {\"execute\":\"a\"}",
		"v {\"execute\":\"b\",\"id\":1}",
		"v [1,2]",
		"v {\"execute\":\"c\",\"arguments\":{\"x\":[{},[]]}}",
		NULL,
	};

	assert_decodes("{\"execute\":\"a\"}{\"execute\":\"b\",\"id\":1}[1,2]"
		       "{\"execute\":\"c\",\"arguments\":{\"x\":[{},[]]}}",
		       expected);
}

static void
test_qga_codec_fixture_whole(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_auto(GStrv) expected = load_expected("host-to-guest.expected");
	g_autoptr(GPtrArray) items = NULL;
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	data = load_fixture("host-to-guest.bin", &len);
	qga_decoder_feed(decoder, data, len);
	items = decoder_drain(decoder);
	assert_items(items, (const gchar *const *)expected);
}

static void
test_qga_codec_fixture_bytewise(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_auto(GStrv) expected = load_expected("host-to-guest.expected");
	g_autoptr(GPtrArray) items = NULL;
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	data = load_fixture("host-to-guest.bin", &len);
	feed_bytewise(decoder, data, len);
	items = decoder_drain(decoder);
	assert_items(items, (const gchar *const *)expected);
}

/* the stream cut in two at every byte position gives the same items */
static void
test_qga_codec_every_chunk_boundary(void **state)
{
	g_auto(GStrv) expected = load_expected("host-to-guest.expected");
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	data = load_fixture("host-to-guest.bin", &len);
	for (gsize cut = 0; cut <= len; cut++) {
		g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
		g_autoptr(GPtrArray) items = NULL;
		g_autoptr(GPtrArray) rest = NULL;

		qga_decoder_feed(decoder, data, cut);
		/* popping between the chunks must not disturb the partial message */
		items = decoder_drain(decoder);
		qga_decoder_feed(decoder, data + cut, len - cut);
		rest = decoder_drain(decoder);
		for (guint i = 0; i < rest->len; i++)
			g_ptr_array_add(items, g_strdup(g_ptr_array_index(rest, i)));
		assert_items(items, (const gchar *const *)expected);
	}
}

static void
test_qga_codec_random_chunks(void **state)
{
	g_auto(GStrv) expected = load_expected("host-to-guest.expected");
	g_autoptr(GRand) rand = g_rand_new_with_seed(0x9a6a);
	g_autofree guint8 *data = NULL;
	gsize len = 0;

	data = load_fixture("host-to-guest.bin", &len);
	for (guint trial = 0; trial < 200; trial++) {
		g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
		g_autoptr(GPtrArray) items = NULL;
		gsize off = 0;

		while (off < len) {
			gsize n = (gsize)g_rand_int_range(rand, 1, 40);

			n = MIN(n, len - off);

			qga_decoder_feed(decoder, data + off, n);
			off += n;
		}
		items = decoder_drain(decoder);
		assert_items(items, (const gchar *const *)expected);
	}
}

static void
test_qga_codec_resync_on_ff(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, stray '\xef\xbf\xbd'",
		"v {\"execute\":\"guest-info\"}",
		NULL,
	};

	assert_decodes("{\"execute\":\"guest-ping\",\"arguments\":{\"a\":[1,\"x"
		       "\xff"
		       "{\"execute\":\"guest-info\"}",
		       expected);
	/* 0xfe is never UTF-8 either: the same reset, the same text */
	assert_decodes("{\"execute\":\"guest-ping\",\"arguments\":{\"a\":[1,\"x"
		       "\xfe"
		       "{\"execute\":\"guest-info\"}",
		       expected);
}

static void
test_qga_codec_control_byte_reset(void **state)
{
	const gchar *const in_string[] = {
		"e JSON parse error, stray '\x04'",
		"v {\"execute\":\"next\"}",
		NULL,
	};
	const gchar *const in_object[] = {
		"e JSON parse error, stray '\x1b'",
		"v {\"execute\":\"next\"}",
		NULL,
	};
	const gchar *const idle[] = {
		"e JSON parse error, stray '\x01'",
		"v {\"execute\":\"next\"}",
		NULL,
	};
	const gchar *const whitespace[] = {
		"v {\"execute\":\"ok\",\"id\":1}",
		NULL,
	};

	/* a control byte resets even inside a string, then " starts afresh */
	assert_decodes("{\"execute\":\"gu\x04{\"execute\":\"next\"}", in_string);
	assert_decodes("{\"execute\":\"x\",\x1b{\"execute\":\"next\"}", in_object);
	assert_decodes("\x01{\"execute\":\"next\"}", idle);
	/* \t \r \n are only whitespace */
	assert_decodes("\r\n\t{\r\n\t\"execute\"\t:\r\n\"ok\",\n\"id\":1}\r\n", whitespace);
}

static void
test_qga_codec_single_quotes(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) value = NULL;
	JsonObject *object;
	JsonObject *args;

	feed_str(decoder, "{'execute':'guest-exec','arguments':{'s':'it\\'s \"quoted\" \\\\ "
			  "back}','d':\"dq \\' too\",'u':'\\u00e9\\n'},'id':'q'}");
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	object = json_node_get_object(value);
	assert_string_equal(json_object_get_string_member(object, "execute"), "guest-exec");
	assert_string_equal(json_object_get_string_member(object, "id"), "q");
	args = json_object_get_object_member(object, "arguments");
	assert_string_equal(json_object_get_string_member(args, "s"), "it's \"quoted\" \\ back}");
	assert_string_equal(json_object_get_string_member(args, "d"), "dq ' too");
	assert_string_equal(json_object_get_string_member(args, "u"), "\xc3\xa9\n");
	assert_false(qga_decoder_pop(decoder, NULL, NULL));
}

/* escaped quotes, backslashes and brackets in strings leave depth alone */
static void
test_qga_codec_strings_hide_structure(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(JsonNode) second = NULL;
	JsonObject *object;

	feed_str(decoder, "{\"a\":\"\\\\\",\"b\":\"\\\"}{[\",\"c\":\"]]}}\\\\\\\"\",\"d\":'}\\''}"
			  "{\"e\":\"{\"}");
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	object = json_node_get_object(value);
	assert_string_equal(json_object_get_string_member(object, "a"), "\\");
	assert_string_equal(json_object_get_string_member(object, "b"), "\"}{[");
	assert_string_equal(json_object_get_string_member(object, "c"), "]]}}\\\"");
	assert_string_equal(json_object_get_string_member(object, "d"), "}'");
	assert_true(qga_decoder_pop(decoder, &second, NULL));
	assert_string_equal(json_object_get_string_member(json_node_get_object(second), "e"), "{");
	assert_false(qga_decoder_pop(decoder, NULL, NULL));
}

static void
test_qga_codec_top_level_scalar(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	const gchar *const expected[] = {
		"v 123", "v \"abc\"", "v true",	 "v null", "v -4.5", "v {}", "v 7",
		"v []",	 "v 8",	      "v \"q\"", "v -1",   "v {}",   NULL,
	};
	g_autoptr(GPtrArray) items = NULL;

	/* a token ends at whitespace, a quote or a bracket; a string at its quote */
	feed_str(decoder, "123 \"abc\"true\nnull\t-4.5{}7[]8'q'-1{}");
	items = decoder_drain(decoder);
	assert_items(items, expected);
	/* an unterminated token waits for the byte that ends it */
	feed_str(decoder, "45");
	assert_null(decoder_next_item(decoder));
	feed_str(decoder, "6 ");
	g_autofree gchar *item = decoder_next_item(decoder);
	assert_string_equal(item, "v 456");
}

static void
test_qga_codec_stray_close(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, stray '}'",
		"e JSON parse error, stray ']'",
		"v {\"execute\":\"ok\"}",
		"e JSON parse error, stray '}'",
		NULL,
	};

	assert_decodes("}\n] {\"execute\":\"ok\"}}", expected);
}

static void
test_qga_codec_json_glib_error(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, *",
		"e JSON parse error, *",
		"e JSON parse error, *",
		"v {\"execute\":\"ok\"}",
		NULL,
	};

	assert_decodes("{\"execute\" \"x\"}[1,,2]tru {\"execute\":\"ok\"}", expected);
}

/* a message of exactly the limit passes; one byte more is one error */
static void
test_qga_codec_size_limit(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(64);
	g_autoptr(GString) exact = g_string_new("{\"execute\":\"");
	g_autoptr(GString) over = NULL;
	g_autoptr(GPtrArray) items = NULL;
	const gchar *const expected[] = {
		"e JSON message exceeds the size limit of 64 bytes",
		"v {\"execute\":\"next\"}",
		NULL,
	};
	g_autofree gchar *item = NULL;

	while (exact->len < 64 - 2)
		g_string_append_c(exact, 'x');
	g_string_append(exact, "\"}");
	assert_int_equal(exact->len, 64);
	/* whitespace between messages is not part of any */
	feed_str(decoder, "\n\n    ");
	feed_str(decoder, exact->str);
	item = decoder_next_item(decoder);
	assert_non_null(item);
	assert_true(g_str_has_prefix(item, "v {\"execute\":\"xxx"));
	assert_null(decoder_next_item(decoder));

	over = g_string_new(exact->str);
	g_string_insert_c(over, 12, 'y');
	feed_str(decoder, over->str);
	feed_str(decoder, "{\"execute\":\"next\"}");
	items = decoder_drain(decoder);
	assert_items(items, expected);
}

/* an oversized message of any shape gives one error and ends cleanly */
static void
test_qga_codec_size_limit_shapes(void **state)
{
	const gchar *const expected[] = {
		"e JSON message exceeds the size limit of 32 bytes",
		"v {\"execute\":\"next\"}",
		NULL,
	};
	const gchar *const prefixes[] = {
		/* a nested structure with brackets inside its strings */
		"[[{\"a\":\"]]]}}}\"},{\"b\":['\\']]]', 1, 2, 3, 4, 5, 6, 7, 8, 9]}]]",
		/* a top-level string */
		"\"a top-level string that is far too long for 32 bytes {[\"",
		/* a top-level scalar token, ended by the next message's brace */
		"123456789012345678901234567890123456789012345678901234567890",
	};

	for (guint i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		g_autofree gchar *input = g_strconcat(prefixes[i], "{\"execute\":\"next\"}", NULL);

		assert_decodes_max(32, input, expected);
	}
}

/* far over the limit, fed in chunks: still one error, and the next parses */
static void
test_qga_codec_size_limit_huge(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(1024);
	g_autofree guint8 *chunk = g_malloc(65536);
	g_autoptr(GPtrArray) items = NULL;
	const gchar *const expected[] = {
		"e JSON message exceeds the size limit of 1024 bytes",
		"v {\"execute\":\"next\"}",
		NULL,
	};

	memset(chunk, 'A', 65536);
	feed_str(decoder, "{\"execute\":\"guest-file-write\",\"arguments\":{\"buf-b64\":\"");
	for (guint i = 0; i < 512; i++)
		qga_decoder_feed(decoder, chunk, 65536);
	feed_str(decoder, "\"}}{\"execute\":\"next\"}");
	items = decoder_drain(decoder);
	assert_items(items, expected);
}

#define BIG_HEAD "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":1,\"buf-b64\":\""
#define BIG_TAIL "\"}}"

static gchar *
make_big_request(gsize total)
{
	const gchar *head = BIG_HEAD;
	const gchar *tail = BIG_TAIL;
	gsize fill = total - strlen(head) - strlen(tail);
	gchar *text = g_malloc(total + 1);

	memcpy(text, head, strlen(head));
	memset(text + strlen(head), 'Q', fill);
	memcpy(text + strlen(head) + fill, tail, strlen(tail) + 1);
	return text;
}

/* 16 MiB in 4 KiB chunks: linear, not rescanned per chunk */
static void
test_qga_codec_default_limit_chunked(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autofree gchar *big = make_big_request(QGA_MAX_MESSAGE_DEFAULT);
	g_autofree gchar *bigger = make_big_request(QGA_MAX_MESSAGE_DEFAULT + 1);
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GTimer) timer = g_timer_new();
	JsonObject *args;

	for (gsize off = 0; off < QGA_MAX_MESSAGE_DEFAULT; off += 4096)
		qga_decoder_feed(decoder, (const guint8 *)big + off,
				 MIN(4096, QGA_MAX_MESSAGE_DEFAULT - off));
	assert_true(qga_decoder_pop(decoder, &value, &error));
	assert_null(error);
	args = json_object_get_object_member(json_node_get_object(value), "arguments");
	assert_int_equal(strlen(json_object_get_string_member(args, "buf-b64")),
			 QGA_MAX_MESSAGE_DEFAULT - strlen(BIG_HEAD) - strlen(BIG_TAIL));
	/* rescanning from the start on each of the 4096 chunks would take minutes */
	assert_true(g_timer_elapsed(timer, NULL) < 20.0);

	for (gsize off = 0; off < QGA_MAX_MESSAGE_DEFAULT + 1; off += 4096)
		qga_decoder_feed(decoder, (const guint8 *)bigger + off,
				 MIN(4096, QGA_MAX_MESSAGE_DEFAULT + 1 - off));
	assert_false(qga_decoder_pop(decoder, NULL, &error));
	assert_non_null(error);
	assert_string_equal(error->message,
			    "JSON message exceeds the size limit of 16777216 bytes");
	g_clear_error(&error);
	assert_false(qga_decoder_pop(decoder, NULL, &error));
	assert_null(error);
}

static gchar *
make_nested(guint depth, const gchar *open, const gchar *inner, const gchar *close)
{
	GString *text = g_string_new(NULL);

	for (guint i = 0; i < depth; i++)
		g_string_append(text, open);
	g_string_append(text, inner);
	for (guint i = 0; i < depth; i++)
		g_string_append(text, close);
	return g_string_free(text, FALSE);
}

static guint
node_depth(JsonNode *node)
{
	guint depth = 0;

	while (node != NULL) {
		if (JSON_NODE_HOLDS_ARRAY(node)) {
			JsonArray *array = json_node_get_array(node);

			depth++;
			node = json_array_get_length(array) > 0 ? json_array_get_element(array, 0)
								: NULL;
		} else if (JSON_NODE_HOLDS_OBJECT(node)) {
			depth++;
			node = json_object_get_member(json_node_get_object(node), "a");
		} else {
			break;
		}
	}
	return depth;
}

static void
test_qga_codec_nesting_limit(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autofree gchar *ok_arrays = make_nested(QGA_MAX_NESTING, "[", "1", "]");
	g_autofree gchar *ok_objects = make_nested(QGA_MAX_NESTING / 2, "{\"a\":[", "1", "]}");
	g_autofree gchar *deep_arrays = make_nested(QGA_MAX_NESTING + 1, "[", "", "]");
	g_autofree gchar *deep_objects = make_nested(QGA_MAX_NESTING + 1, "{\"a\":", "1", "}");
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(JsonNode) value2 = NULL;
	g_autoptr(GPtrArray) items = NULL;
	const gchar *const expected[] = {
		"e JSON nesting exceeds the limit of 1024",
		"v {\"execute\":\"next\"}",
		"e JSON nesting exceeds the limit of 1024",
		"v {\"execute\":\"next\"}",
		NULL,
	};

	feed_str(decoder, ok_arrays);
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	assert_int_equal(node_depth(value), QGA_MAX_NESTING);
	/* objects and arrays count alike */
	feed_str(decoder, ok_objects);
	assert_true(qga_decoder_pop(decoder, &value2, NULL));
	assert_int_equal(node_depth(value2), QGA_MAX_NESTING);

	feed_str(decoder, deep_arrays);
	feed_str(decoder, "{\"execute\":\"next\"}");
	feed_str(decoder, deep_objects);
	feed_str(decoder, "{\"execute\":\"next\"}");
	items = decoder_drain(decoder);
	assert_items(items, expected);
}

static void
test_qga_codec_deep_nesting(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autofree gchar *deep = make_nested(200000, "[", "", "]");
	g_autofree gchar *deep_objects = make_nested(200000, "{'a':", "'}'", "}");
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(GTimer) timer = g_timer_new();
	gsize len = strlen(deep);
	const gchar *const expected[] = {
		"e JSON nesting exceeds the limit of 1024",
		"v {\"execute\":\"next\"}",
		"e JSON nesting exceeds the limit of 1024",
		"v {\"execute\":\"after-objects\"}",
		"e JSON nesting exceeds the limit of 1024",
		"e JSON parse error, stray '\xef\xbf\xbd'",
		"v {\"execute\":\"after-ff\"}",
		NULL,
	};

	for (gsize off = 0; off < len; off += 4096)
		qga_decoder_feed(decoder, (const guint8 *)deep + off, MIN(4096, len - off));
	feed_str(decoder, "{\"execute\":\"next\"}");
	feed_str(decoder, deep_objects);
	feed_str(decoder, "{\"execute\":\"after-objects\"}");
	/* never closed: a reset byte ends the skip too */
	qga_decoder_feed(decoder, (const guint8 *)deep, len / 2);
	feed_str(decoder, "\xff{\"execute\":\"after-ff\"}");
	items = decoder_drain(decoder);
	assert_items(items, expected);
	assert_true(g_timer_elapsed(timer, NULL) < 10.0);
}

static void
test_qga_codec_invalid_utf8(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, invalid UTF-8 sequence",
		"e JSON parse error, invalid UTF-8 sequence",
		"e JSON parse error, invalid UTF-8 sequence",
		"e JSON parse error, invalid UTF-8 sequence",
		"v {\"execute\":\"ok\"}",
		NULL,
	};

	/* a bad continuation, 0xf8 (no UTF-8 lead byte), an overlong '/' and
	 * a UTF-8 surrogate */
	assert_decodes("{\"a\":\"\xc3\x28\"}"
		       "{\"a\":\"\xf8\"}"
		       "['\xc0\xaf']"
		       "{\"a\":\"\xed\xa0\x80\"}"
		       "{\"execute\":\"ok\"}",
		       expected);
}

static void
test_qga_codec_valid_non_ascii(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) value = NULL;
	JsonObject *args;

	feed_str(decoder, "{\"execute\":\"guest-file-write\",\"arguments\":{\"s\":\"é 漢 😀\","
			  "'t':'ÿ\\ud83d\\ude00'}}");
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	args = json_object_get_object_member(json_node_get_object(value), "arguments");
	assert_string_equal(json_object_get_string_member(args, "s"), "é 漢 😀");
	assert_string_equal(json_object_get_string_member(args, "t"), "ÿ😀");
}

/* the host side of guest-sync-delimited */
static void
test_qga_codec_skip_to_delimiter(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(GPtrArray) items = NULL;
	const gchar *const expected[] = {
		"v {\"return\":42}",
		"e JSON parse error, stray '\xef\xbf\xbd'",
		"v {\"return\":43}",
		NULL,
	};

	/* queued items and a partial message are both stale */
	feed_str(decoder, "{\"return\": 1}\n}{\"return\": {\"partial");
	qga_decoder_skip_to_delimiter(decoder);
	assert_null(decoder_next_item(decoder));
	feed_str(decoder, "\"}}\n{\"return\": 2}\x04 garbage ]]] \"unterminated");
	assert_null(decoder_next_item(decoder));
	/* the delimiter yields no error; a later 0xff is an ordinary reset */
	feed_str(decoder, "\xff{\"return\": 42}\n\xff{\"return\": 43}\n");
	items = decoder_drain(decoder);
	assert_items(items, expected);
}

static void
test_qga_codec_skip_fixture(void **state)
{
	g_autofree guint8 *data = NULL;
	gsize len = 0;
	const gchar *const expected[] = {
		"v {\"return\":5829374}",
		NULL,
	};

	data = load_fixture("guest-to-host-sync.bin", &len);
	for (guint bytewise = 0; bytewise < 2; bytewise++) {
		g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
		g_autoptr(GPtrArray) items = NULL;

		feed_str(decoder, "{\"return\": {\"version\": \"10.1");
		qga_decoder_skip_to_delimiter(decoder);
		if (bytewise)
			feed_bytewise(decoder, data, len);
		else
			qga_decoder_feed(decoder, data, len);
		items = decoder_drain(decoder);
		assert_items(items, expected);
	}
}

static void
test_qga_codec_reset(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(GPtrArray) items = NULL;
	const gchar *const expected[] = {
		"v {\"execute\":\"new-peer\"}",
		NULL,
	};

	feed_str(decoder, "{\"execute\":\"old\"} ] {\"execute\":\"half\",\"arguments\":{\"s\":\"x");
	qga_decoder_reset(decoder);
	assert_null(decoder_next_item(decoder));
	feed_str(decoder, "{\"execute\":\"new-peer\"}");
	items = decoder_drain(decoder);
	assert_items(items, expected);

	/* a reset also ends a skip to the delimiter */
	qga_decoder_skip_to_delimiter(decoder);
	qga_decoder_reset(decoder);
	feed_str(decoder, "{\"execute\":\"new-peer\"}");
	g_autofree gchar *item = decoder_next_item(decoder);
	assert_string_equal(item, "v {\"execute\":\"new-peer\"}");
}

/* ---- requests ---- */

static JsonNode *
parse_json(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!json_parser_load_from_data(parser, text, -1, &error))
		fail_msg("bad test JSON '%s': %s", text, error->message);
	return json_parser_steal_root(parser);
}

static void
test_qga_codec_request_parse(void **state)
{
	g_autoptr(JsonNode) message = parse_json(
		"{\"id\":{\"k\":[1]},\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/true\"}}");
	g_autoptr(JsonNode) bare = parse_json("{\"execute\":\"guest-ping\"}");
	g_autoptr(QgaRequest) request = NULL;
	g_autoptr(QgaRequest) request2 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) expected_id = parse_json("{\"k\":[1]}");

	request = qga_request_parse(message, &error);
	assert_null(error);
	assert_non_null(request);
	assert_string_equal(request->execute, "guest-exec");
	assert_non_null(request->arguments);
	assert_string_equal(json_object_get_string_member(request->arguments, "path"), "/bin/true");
	assert_non_null(request->id);
	assert_true(json_node_equal(request->id, expected_id));

	request2 = qga_request_parse(bare, &error);
	assert_null(error);
	assert_string_equal(request2->execute, "guest-ping");
	assert_null(request2->arguments);
	assert_null(request2->id);
	qga_request_free(NULL);
}

static void
test_qga_codec_request_invalid(void **state)
{
	const struct {
		const gchar *json;
		const gchar *message;
	} cases[] = {
		{"[]", "QMP input must be a JSON object"},
		{"123", "QMP input must be a JSON object"},
		{"\"guest-ping\"", "QMP input must be a JSON object"},
		{"null", "QMP input must be a JSON object"},
		{"{}", "QMP input lacks member 'execute'"},
		{"{\"arguments\":{},\"id\":1}", "QMP input lacks member 'execute'"},
		{"{\"execute\":1}", "QMP input member 'execute' must be a string"},
		{"{\"execute\":null}", "QMP input member 'execute' must be a string"},
		{"{\"execute\":[\"guest-ping\"]}", "QMP input member 'execute' must be a string"},
		{"{\"execute\":\"guest-ping\",\"arguments\":[]}",
		 "QMP input member 'arguments' must be an object"},
		{"{\"execute\":\"guest-ping\",\"arguments\":null}",
		 "QMP input member 'arguments' must be an object"},
		{"{\"exec-oob\":\"guest-ping\"}", "QMP input member 'exec-oob' is unexpected"},
		{"{\"execute\":\"guest-ping\",\"exec-oob\":\"guest-ping\"}",
		 "QMP input member 'exec-oob' is unexpected"},
		{"{\"execute\":\"guest-ping\",\"foo\":1}", "QMP input member 'foo' is unexpected"},
		{"{\"execute\":\"guest-ping\",\"control\":{}}",
		 "QMP input member 'control' is unexpected"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) message = parse_json(cases[i].json);
		g_autoptr(GError) error = NULL;
		g_autoptr(QgaRequest) request = qga_request_parse(message, &error);

		assert_null(request);
		assert_non_null(error);
		assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC));
		if (strcmp(error->message, cases[i].message) != 0)
			fail_msg("%s: got '%s', expected '%s'", cases[i].json, error->message,
				 cases[i].message);
	}
}

static void
test_qga_codec_request_peek_id(void **state)
{
	const struct {
		const gchar *json;
		const gchar *id; /* as qga_json_to_ascii writes it; NULL: none */
	} cases[] = {
		{"{\"execute\":\"x\",\"id\":1}", "1"},
		{"{\"execute\":\"x\",\"id\":\"abc\"}", "\"abc\""},
		{"{\"execute\":\"x\",\"id\":{\"a\":[1,{}]}}", "{\"a\":[1,{}]}"},
		{"{\"execute\":\"x\",\"id\":[true]}", "[true]"},
		{"{\"execute\":\"x\",\"id\":null}", "null"},
		{"{\"execute\":\"x\",\"id\":-2.5}", "-2.5"},
		/* an invalid request is still answered with its id */
		{"{\"id\":7,\"foo\":1}", "7"},
		{"{\"execute\":\"x\"}", NULL},
		{"[{\"id\":1}]", NULL},
		{"\"id\"", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) message = parse_json(cases[i].json);
		g_autoptr(JsonNode) id = qga_request_peek_id(message);
		g_autofree gchar *text = NULL;

		if (cases[i].id == NULL) {
			assert_null(id);
			continue;
		}
		assert_non_null(id);
		text = qga_json_to_ascii(id);
		assert_string_equal(text, cases[i].id);
	}
	assert_null(qga_request_peek_id(NULL));
}

static void
assert_ascii(const gchar *text, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if ((guchar)text[i] >= 0x7f || ((guchar)text[i] < 0x20 && text[i] != '\n'))
			fail_msg("byte %zu is 0x%02x", i, (guchar)text[i]);
	}
}

static void
test_qga_codec_request_encode(void **state)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonNode) id = json_node_init_int(json_node_alloc(), 42);
	g_autofree gchar *bare = qga_request_encode("guest-ping", NULL, NULL);
	g_autofree gchar *line = NULL;
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(QgaRequest) request = NULL;
	g_autoptr(GError) error = NULL;

	assert_string_equal(bare, "{\"execute\":\"guest-ping\"}\n");

	json_object_set_string_member(args, "path", "/tmp/漢 \x01");
	line = qga_request_encode("guest-file-open", args, id);
	assert_string_equal(line, "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":"
				  "\"/tmp/\\u6f22 \\u0001\"},\"id\":42}\n");
	assert_ascii(line, strlen(line));
	feed_str(decoder, line);
	assert_true(qga_decoder_pop(decoder, &value, NULL));
	request = qga_request_parse(value, &error);
	assert_null(error);
	assert_string_equal(request->execute, "guest-file-open");
	assert_string_equal(json_object_get_string_member(request->arguments, "path"),
			    "/tmp/漢 \x01");
	assert_int_equal(json_node_get_int(request->id), 42);
}

/* ---- replies ---- */

static void
test_qga_codec_reply_encode_ascii(void **state)
{
	g_autoptr(JsonNode) value =
		json_node_init_string(json_node_alloc(), "é 漢 😀 \x01\x1f\x7f\n\"\\");
	g_autoptr(JsonNode) null_id = json_node_init_null(json_node_alloc());
	g_autoptr(JsonNode) str_id = json_node_init_string(json_node_alloc(), "ÿ");
	g_autofree gchar *plain = NULL;
	g_autofree gchar *with_null = NULL;
	g_autofree gchar *delimited = NULL;
	gsize len = 0;

	plain = qga_reply_encode_return(value, NULL, FALSE, &len);
	assert_int_equal(len, strlen(plain));
	assert_string_equal(plain, "{\"return\":\"\\u00e9 \\u6f22 \\ud83d\\ude00 "
				   "\\u0001\\u001f\\u007f\\n\\\"\\\\\"}\n");
	assert_ascii(plain, len);

	/* a null id is an id: echoed, unlike a missing one */
	with_null = qga_reply_encode_return(value, null_id, FALSE, NULL);
	assert_true(g_str_has_suffix(with_null, ",\"id\":null}\n"));
	assert_ascii(with_null, strlen(with_null));

	delimited = qga_reply_encode_return(value, str_id, TRUE, &len);
	assert_int_equal(len, strlen(delimited));
	assert_int_equal((guchar)delimited[0], 0xff);
	assert_ascii(delimited + 1, len - 1);
	assert_true(g_str_has_suffix(delimited, ",\"id\":\"\\u00ff\"}\n"));
}

static void
test_qga_codec_reply_round_trip_return(void **state)
{
	g_autoptr(JsonNode) value =
		parse_json("{\"name\":\"漢 😀\",\"list\":[1,-2,3.5,true,null,{}]}");
	g_autoptr(JsonNode) id = parse_json("{\"seq\":[1,\"é\"]}");
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(JsonNode) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *wire = NULL;
	gsize len = 0;

	wire = qga_reply_encode_return(value, id, TRUE, &len);
	/* the host skips to the delimiter and parses the rest */
	feed_str(decoder, "{\"return\": \"stale\"}\n");
	qga_decoder_skip_to_delimiter(decoder);
	qga_decoder_feed(decoder, (const guint8 *)wire, len);
	assert_true(qga_decoder_pop(decoder, &reply, &error));
	assert_false(qga_decoder_pop(decoder, NULL, &error));
	assert_null(error);
	assert_true(json_node_equal(qga_reply_get_id(reply), id));
	assert_true(qga_reply_parse(reply, &back, &error));
	assert_null(error);
	assert_true(json_node_equal(back, value));
}

static void
test_qga_codec_reply_round_trip_error(void **state)
{
	const struct {
		GQuark domain;
		gint code;
		const gchar *klass;
		gint wire_code;
	} cases[] = {
		{0, QGA_ERROR_COMMAND_NOT_FOUND, "CommandNotFound", QGA_ERROR_COMMAND_NOT_FOUND},
		{0, QGA_ERROR_GENERIC, "GenericError", QGA_ERROR_GENERIC},
		{0, QGA_ERROR_DEVICE_NOT_FOUND, "DeviceNotFound", QGA_ERROR_DEVICE_NOT_FOUND},
		{1, G_IO_ERROR_NOT_FOUND, "GenericError", QGA_ERROR_GENERIC},
	};
	const gchar *desc = "The command guest-nope has not been found: é \"x\"";

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) in = g_error_new_literal(
			cases[i].domain == 0 ? QGA_ERROR : G_IO_ERROR, cases[i].code, desc);
		g_autoptr(JsonNode) id = json_node_init_int(json_node_alloc(), 5);
		g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
		g_autoptr(JsonNode) reply = NULL;
		g_autoptr(JsonNode) value = NULL;
		g_autoptr(GError) out = NULL;
		g_autofree gchar *wire = qga_reply_encode_error(in, i % 2 ? id : NULL);
		g_autofree gchar *expected_class =
			g_strdup_printf("\"class\":\"%s\"", cases[i].klass);
		JsonNode *reply_id;

		assert_ascii(wire, strlen(wire));
		assert_true(g_str_has_suffix(wire, "}\n"));
		assert_non_null(strstr(wire, expected_class));
		feed_str(decoder, wire);
		assert_true(qga_decoder_pop(decoder, &reply, NULL));
		reply_id = qga_reply_get_id(reply);
		if (i % 2)
			assert_int_equal(json_node_get_int(reply_id), 5);
		else
			assert_null(reply_id);
		assert_false(qga_reply_parse(reply, &value, &out));
		assert_null(value);
		assert_non_null(out);
		assert_true(out->domain == QGA_ERROR);
		assert_int_equal(out->code, cases[i].wire_code);
		assert_string_equal(out->message, desc);
	}
}

static void
test_qga_codec_reply_parse_shapes(void **state)
{
	const struct {
		const gchar *json;
		gint code;
		const gchar *message;
	} cases[] = {
		/* libvirt's legacy classes */
		{"{\"error\":{\"class\":\"CommandDisabled\",\"desc\":\"d1\"}}",
		 QGA_ERROR_COMMAND_NOT_FOUND, "d1"},
		{"{\"error\":{\"class\":\"QgaCommandFailed\",\"desc\":\"d2\"}}", QGA_ERROR_GENERIC,
		 "d2"},
		{"{\"error\":{\"class\":\"Unsupported\",\"desc\":\"d3\"}}", QGA_ERROR_GENERIC,
		 "d3"},
		{"{\"error\":{\"class\":\"KVMMissingCap\",\"desc\":\"d4\"}}",
		 QGA_ERROR_KVM_MISSING_CAP, "d4"},
		{"{\"error\":{\"class\":\"DeviceNotActive\",\"desc\":\"d5\"}}",
		 QGA_ERROR_DEVICE_NOT_ACTIVE, "d5"},
		{"{\"error\":{\"desc\":\"no class\"}}", QGA_ERROR_GENERIC, "no class"},
		{"{\"error\":{\"class\":\"GenericError\"}}", QGA_ERROR_GENERIC,
		 "error reply without a description"},
		{"{\"error\":\"text\"}", QGA_ERROR_GENERIC,
		 "invalid reply: member 'error' is not an object"},
		{"{\"id\":1}", QGA_ERROR_GENERIC, "invalid reply: no member 'return' or 'error'"},
		{"[1]", QGA_ERROR_GENERIC, "invalid reply: not a JSON object"},
	};
	g_autoptr(JsonNode) ok = parse_json("{\"return\":null,\"id\":\"x\"}");
	g_autoptr(JsonNode) value = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) reply = parse_json(cases[i].json);
		g_autoptr(GError) error = NULL;

		assert_false(qga_reply_parse(reply, NULL, &error));
		assert_non_null(error);
		assert_true(error->domain == QGA_ERROR);
		assert_int_equal(error->code, cases[i].code);
		assert_string_equal(error->message, cases[i].message);
	}
	/* "return": null is a value */
	assert_true(qga_reply_parse(ok, &value, NULL));
	assert_true(JSON_NODE_HOLDS_NULL(value));
	assert_true(qga_reply_parse(ok, NULL, NULL));
	assert_string_equal(json_node_get_string(qga_reply_get_id(ok)), "x");
}

/* ---- error classes ---- */

static void
test_qga_codec_error_classes(void **state)
{
	g_autoptr(GError) qga = g_error_new_literal(QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND, "x");
	g_autoptr(GError) io = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "x");

	assert_string_equal(g_quark_to_string(QGA_ERROR), "qga-error-quark");
	assert_string_equal(qga_error_class_name(QGA_ERROR_GENERIC), "GenericError");
	assert_string_equal(qga_error_class_name(QGA_ERROR_COMMAND_NOT_FOUND), "CommandNotFound");
	assert_string_equal(qga_error_class_name(QGA_ERROR_DEVICE_NOT_ACTIVE), "DeviceNotActive");
	assert_string_equal(qga_error_class_name(QGA_ERROR_DEVICE_NOT_FOUND), "DeviceNotFound");
	assert_string_equal(qga_error_class_name(QGA_ERROR_KVM_MISSING_CAP), "KVMMissingCap");

	for (gint code = QGA_ERROR_GENERIC; code <= QGA_ERROR_KVM_MISSING_CAP; code++)
		assert_int_equal(qga_error_code_from_class(qga_error_class_name(code)), code);
	assert_int_equal(qga_error_code_from_class("CommandDisabled"), QGA_ERROR_COMMAND_NOT_FOUND);
	assert_int_equal(qga_error_code_from_class("QgaCommandFailed"), QGA_ERROR_GENERIC);
	assert_int_equal(qga_error_code_from_class("Unsupported"), QGA_ERROR_GENERIC);
	assert_int_equal(qga_error_code_from_class("SomethingNew"), QGA_ERROR_GENERIC);
	assert_int_equal(qga_error_code_from_class(NULL), QGA_ERROR_GENERIC);

	assert_string_equal(qga_error_class_for(qga), "CommandNotFound");
	assert_string_equal(qga_error_class_for(io), "GenericError");
}

static void
test_qga_codec_invalid_escape(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, invalid escape '\\x'",
		"v {\"execute\":\"next\"}",
		NULL,
	};

	/* json-glib would read "\x" as "x"; the rest of the message is dropped */
	assert_decodes(
		"{\"execute\":\"guest-ping\",\"id\":\"\\x\",\"a\":[{}]}{\"execute\":\"next\"}",
		expected);
}

/* found by fuzz/fuzz-codec.c: json-glib took "\\u" with bad hex digits and
 * made a lone surrogate invalid UTF-8, eating the next character, so an
 * echoed id was not the one sent; the texts are stock qemu-ga 7.2's */
static void
test_qga_codec_bad_unicode_escape(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, \\uD83D is not a valid Unicode character",
		"e JSON parse error, \\ude00 is not a valid Unicode character",
		"e JSON parse error, \\udbff is not a valid Unicode character",
		"e JSON parse error, \\uD83L is not a valid Unicode character",
		"e JSON parse error, \\u12\" is not a valid Unicode character",
		"v {\"id\":\"\\ud83d\\ude00\",\"a\":\"\\\\ud800\"}",
		NULL,
	};

	/* a high surrogate without its low half, a low one alone, a high one
	 * followed by another escape, hex digits that are not, too few; then
	 * a pair, and an escaped backslash before "ud800", which is no escape */
	assert_decodes("{\"execute\":\"guest-ping\",\"id\":\"\\uD83D!uDE00\"}"
		       "{'id':'x\\ude00'}"
		       "[\"\\udbff\\u0041\"]"
		       "{\"execute\":\"gues0e9\\uD83L?uD(00\"}"
		       "[\"\\u12\"]"
		       "{\"id\":\"\\ud83d\\ude00\",\"a\":\"\\\\ud800\"}",
		       expected);
}

/* found by fuzz/fuzz-codec.c: "1e400" parsed as infinity, which a reply
 * cannot echo as JSON (stock qemu-ga writes a bare 'inf') */
static void
test_qga_codec_number_out_of_range(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, number out of range",
		"e JSON parse error, number out of range",
		"e JSON parse error, number out of range",
		"v {\"id\":1.0000000000000001e+300,\"n\":[-1.5]}",
		NULL,
	};

	/* at the top, deep inside, negative; a large finite one passes */
	assert_decodes("{\"execute\":\"guest-ping\",\"id\":11e400}"
		       "{\"a\":{\"b\":[0,{\"c\":1E999}]}}"
		       "[-1e400]"
		       "{\"id\":1e300,\"n\":[-1.5]}",
		       expected);
}

static void
test_qga_codec_duplicate_key(void **state)
{
	const gchar *const expected[] = {
		"e JSON parse error, duplicate key",
		"v {\"a\":{\"b\":1,\"c\":\"x:y\"},\"d\":[{\"e\":2}]}",
		NULL,
	};

	/* colons inside strings are no members */
	assert_decodes("{\"execute\":\"x\",\"id\":1,\"id\":2}"
		       "{\"a\":{\"b\":1,\"c\":\"x:y\"},\"d\":[{\"e\":2}]}",
		       expected);
}

static void
test_qga_codec_integer_beyond_int64(void **state)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	const gchar *text =
		"{\"big\":9223372036854775808,\"neg\":-9223372036854775809,"
		"\"max\":9223372036854775807,\"min\":-9223372036854775808,\"s\":\"99999999999999999999\"}";
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *obj;

	qga_decoder_feed(decoder, (const guint8 *)text, strlen(text));
	assert_true(qga_decoder_pop(decoder, &value, &error));
	obj = json_node_get_object(value);
	/* as QEMU's parser: no wrap-around, a float that no int argument takes */
	assert_int_equal(json_node_get_value_type(json_object_get_member(obj, "big")),
			 G_TYPE_DOUBLE);
	assert_int_equal(json_node_get_value_type(json_object_get_member(obj, "neg")),
			 G_TYPE_DOUBLE);
	assert_true(json_object_get_double_member(obj, "big") > 9.2e18);
	assert_true(json_object_get_double_member(obj, "neg") < -9.2e18);
	assert_int_equal(json_object_get_int_member(obj, "max"), G_MAXINT64);
	assert_int_equal(json_object_get_int_member(obj, "min"), G_MININT64);
	assert_string_equal(json_object_get_string_member(obj, "s"), "99999999999999999999");
}

/* one message framed by someone else (libvirt): the stream's rules and limits */
static void
test_qga_codec_parse_one(void **state)
{
	g_autoptr(GError) nest_error = NULL;
	g_autoptr(GError) size_error = NULL;
	g_autoptr(GError) two_error = NULL;
	g_autoptr(GError) cut_error = NULL;
	g_autoptr(JsonNode) value = qga_decoder_parse_one("{'return': 7}", 13, 0, NULL);
	g_autoptr(JsonNode) scalar = qga_decoder_parse_one("42", 2, 0, NULL);
	g_autofree gchar *deep = g_strnfill(QGA_MAX_NESTING + 1, '[');

	assert_non_null(value);
	assert_int_equal(json_object_get_int_member(json_node_get_object(value), "return"), 7);
	assert_non_null(scalar);
	assert_int_equal(json_node_get_int(scalar), 42);
	assert_null(qga_decoder_parse_one(deep, strlen(deep), 0, &nest_error));
	assert_true(g_error_matches(nest_error, QGA_ERROR, QGA_ERROR_GENERIC));
	assert_non_null(strstr(nest_error->message, "nesting"));
	assert_null(qga_decoder_parse_one("\"0123456789\"", 12, 8, &size_error));
	assert_non_null(strstr(size_error->message, "size limit"));
	assert_null(qga_decoder_parse_one("{}{}", 4, 0, &two_error));
	assert_non_null(two_error);
	assert_null(qga_decoder_parse_one("{\"a\":", 5, 0, &cut_error));
	assert_non_null(cut_error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_codec_single_request),
		cmocka_unit_test(test_qga_codec_pop_contract),
		cmocka_unit_test(test_qga_codec_back_to_back),
		cmocka_unit_test(test_qga_codec_fixture_whole),
		cmocka_unit_test(test_qga_codec_fixture_bytewise),
		cmocka_unit_test(test_qga_codec_every_chunk_boundary),
		cmocka_unit_test(test_qga_codec_random_chunks),
		cmocka_unit_test(test_qga_codec_resync_on_ff),
		cmocka_unit_test(test_qga_codec_invalid_escape),
		cmocka_unit_test(test_qga_codec_bad_unicode_escape),
		cmocka_unit_test(test_qga_codec_number_out_of_range),
		cmocka_unit_test(test_qga_codec_duplicate_key),
		cmocka_unit_test(test_qga_codec_integer_beyond_int64),
		cmocka_unit_test(test_qga_codec_control_byte_reset),
		cmocka_unit_test(test_qga_codec_single_quotes),
		cmocka_unit_test(test_qga_codec_strings_hide_structure),
		cmocka_unit_test(test_qga_codec_top_level_scalar),
		cmocka_unit_test(test_qga_codec_stray_close),
		cmocka_unit_test(test_qga_codec_json_glib_error),
		cmocka_unit_test(test_qga_codec_size_limit),
		cmocka_unit_test(test_qga_codec_size_limit_shapes),
		cmocka_unit_test(test_qga_codec_size_limit_huge),
		cmocka_unit_test(test_qga_codec_default_limit_chunked),
		cmocka_unit_test(test_qga_codec_nesting_limit),
		cmocka_unit_test(test_qga_codec_deep_nesting),
		cmocka_unit_test(test_qga_codec_invalid_utf8),
		cmocka_unit_test(test_qga_codec_valid_non_ascii),
		cmocka_unit_test(test_qga_codec_skip_to_delimiter),
		cmocka_unit_test(test_qga_codec_skip_fixture),
		cmocka_unit_test(test_qga_codec_reset),
		cmocka_unit_test(test_qga_codec_request_parse),
		cmocka_unit_test(test_qga_codec_request_invalid),
		cmocka_unit_test(test_qga_codec_request_peek_id),
		cmocka_unit_test(test_qga_codec_request_encode),
		cmocka_unit_test(test_qga_codec_reply_encode_ascii),
		cmocka_unit_test(test_qga_codec_reply_round_trip_return),
		cmocka_unit_test(test_qga_codec_reply_round_trip_error),
		cmocka_unit_test(test_qga_codec_reply_parse_shapes),
		cmocka_unit_test(test_qga_codec_error_classes),
		cmocka_unit_test(test_qga_codec_parse_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
