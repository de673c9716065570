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

#include "qga-json.h"

static JsonNode *
parse_json(const gchar *text)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!json_parser_load_from_data(parser, text, -1, &error))
		fail_msg("cannot parse '%s': %s", text, error->message);
	return json_parser_steal_root(parser);
}

static void
assert_ascii(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		guchar c = (guchar)*p;

		if (c < 0x20 || c >= 0x7f)
			fail_msg("byte %td of '%s' is 0x%02x", p - text, text, c);
	}
}

static gchar *
string_to_ascii(const gchar *value)
{
	g_autoptr(JsonNode) node = json_node_init_string(json_node_alloc(), value);

	return qga_json_to_ascii(node);
}

static void
test_qga_json_compact(void **state)
{
	g_autoptr(JsonNode) node = parse_json(
		"{ \"execute\" : \"guest-ping\",\n \"arguments\" : { \"list\" : [ 1 , -2 , true ,"
		" false , null , { } , [ ] ] } , \"id\" : \"c1\" }");
	g_autofree gchar *text = qga_json_to_ascii(node);

	/* member order is kept, no whitespace, no trailing newline */
	assert_string_equal(text, "{\"execute\":\"guest-ping\",\"arguments\":{\"list\":[1,-2,true,"
				  "false,null,{},[]]},\"id\":\"c1\"}");
}

static void
test_qga_json_non_ascii(void **state)
{
	const struct {
		const gchar *in;
		const gchar *out;
	} cases[] = {
		{"\xc3\xa9", "\"\\u00e9\""},		    /* é, 2 bytes */
		{"\xe6\xbc\xa2", "\"\\u6f22\""},	    /* 漢, 3 bytes */
		{"\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\""}, /* 😀, a surrogate pair */
		{"\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\""}, /* U+10FFFF */
		{"\xc3\xbf", "\"\\u00ff\""},		    /* ÿ: U+00FF, never the byte 0xff */
		{"\xc2\x80", "\"\\u0080\""},
		{"\x7f", "\"\\u007f\""},
		{"a\xc3\xa9z \xe6\xbc\xa2!", "\"a\\u00e9z \\u6f22!\""},
		{"plain ascii ~", "\"plain ascii ~\""},
		{"", "\"\""},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *text = string_to_ascii(cases[i].in);

		assert_ascii(text);
		assert_string_equal(text, cases[i].out);
	}
}

static void
test_qga_json_control_chars(void **state)
{
	g_autofree gchar *all = g_malloc(0x20);
	g_autofree gchar *text = NULL;
	g_autoptr(JsonNode) back = NULL;

	for (gint c = 1; c < 0x20; c++)
		all[c - 1] = (gchar)c;
	all[0x1f] = '\0';
	text = string_to_ascii(all);
	/* whatever escape json-glib picks, no raw control byte remains */
	assert_ascii(text);
	assert_non_null(strstr(text, "\\u0001"));
	assert_non_null(strstr(text, "\\u001f"));
	back = parse_json(text);
	assert_string_equal(json_node_get_string(back), all);
}

static void
test_qga_json_member_names(void **state)
{
	g_autoptr(JsonObject) object = json_object_new();
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *text = NULL;

	json_object_set_int_member(object, "cl\xc3\xa9 \x01\"", 1);
	node = qga_json_object_new_node(g_steal_pointer(&object));
	text = qga_json_to_ascii(node);
	assert_ascii(text);
	assert_string_equal(text, "{\"cl\\u00e9 \\u0001\\\"\":1}");
}

/* invalid UTF-8 in a string cannot pass as raw bytes: U+FFFD as qemu-ga */
static void
test_qga_json_invalid_utf8(void **state)
{
	g_autofree gchar *text = string_to_ascii("a\xff"
						 "b\xfe\xc3(\xe6\xbc");

	assert_ascii(text);
	assert_null(strchr(text, '\xff'));
	assert_string_equal(text, "\"a\\ufffdb\\ufffd\\ufffd(\\ufffd\\ufffd\"");
}

/* what json-glib reads back is what went in */
static void
test_qga_json_round_trip(void **state)
{
	g_autoptr(JsonNode) node = parse_json(
		"{\"s\":\"\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80 \\u0001 \\\" \\\\ / \\n\\t\","
		"\"n\":[0,-9223372036854775807,1.5e10,true,null],\"o\":{\"\xe6\xbc\xa2\":{}}}");
	g_autofree gchar *text = qga_json_to_ascii(node);
	g_autoptr(JsonNode) back = NULL;

	assert_ascii(text);
	back = parse_json(text);
	assert_true(json_node_equal(node, back));
}

static void
test_qga_json_scalars(void **state)
{
	g_autoptr(JsonNode) i = json_node_init_int(json_node_alloc(), -42);
	g_autoptr(JsonNode) b = json_node_init_boolean(json_node_alloc(), TRUE);
	g_autoptr(JsonNode) n = json_node_init_null(json_node_alloc());
	g_autofree gchar *ti = qga_json_to_ascii(i);
	g_autofree gchar *tb = qga_json_to_ascii(b);
	g_autofree gchar *tn = qga_json_to_ascii(n);

	assert_string_equal(ti, "-42");
	assert_string_equal(tb, "true");
	assert_string_equal(tn, "null");
}

/* written without a tree, a string comes out as json-glib plus the ASCII
 * rewrite write it: every byte alone and in UTF-8 and invalid sequences */
static void
test_qga_json_append_string_as_tree(void **state)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	const gchar *fixed[] = {"",
				"plain",
				"q\"b\\s/",
				"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
				"\xff\xfe\xc3",
				"\xed\xa0\x80 lone surrogate",
				"\x7f\x1b[0m"};

	for (guint i = 0; i < 256 + G_N_ELEMENTS(fixed) + 2000; i++) {
		gchar buf[16];
		const gchar *s = buf;
		gsize len;
		g_autofree gchar *copy = NULL;
		g_autoptr(GString) whole = g_string_new(NULL);
		g_autoptr(GString) counted = g_string_new(NULL);
		g_autoptr(JsonNode) node = json_node_alloc();
		g_autofree gchar *tree = NULL;

		if (i < 256) {
			/* one byte; NUL ends a C string, so it stands alone at 0 */
			buf[0] = (gchar)i;
			len = i == 0 ? 0 : 1;
		} else if (i < 256 + G_N_ELEMENTS(fixed)) {
			s = fixed[i - 256];
			len = strlen(s);
		} else {
			len = g_rand_int_range(rand, 1, sizeof(buf));
			for (gsize k = 0; k < len; k++)
				buf[k] = (gchar)g_rand_int_range(rand, 1, 256);
		}
		/* json-glib keeps a string up to its NUL */
		copy = g_strndup(s, len);
		json_node_init_string(node, copy);
		tree = qga_json_to_ascii(node);
		qga_json_append_string(whole, copy, -1);
		qga_json_append_string(counted, copy, strlen(copy));
		assert_string_equal(whole->str, tree);
		assert_string_equal(counted->str, tree);
	}
}

static void
test_qga_json_object_new_node(void **state)
{
	JsonObject *object = json_object_new();
	g_autoptr(JsonNode) node = NULL;

	json_object_set_string_member(object, "k", "v");
	/* the node takes the caller's reference: no unref here */
	node = qga_json_object_new_node(object);
	assert_true(JSON_NODE_HOLDS_OBJECT(node));
	assert_ptr_equal(json_node_get_object(node), object);
	assert_string_equal(json_object_get_string_member(json_node_get_object(node), "k"), "v");
}

static void
test_qga_json_builder_string_or_null(void **state)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *text = NULL;

	json_builder_begin_object(b);
	qga_json_builder_add_string_or_null(b, "set", "v");
	qga_json_builder_add_string_or_null(b, "unset", NULL);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	text = qga_json_to_ascii(root);
	assert_string_equal(text, "{\"set\":\"v\",\"unset\":null}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_json_compact),
		cmocka_unit_test(test_qga_json_non_ascii),
		cmocka_unit_test(test_qga_json_control_chars),
		cmocka_unit_test(test_qga_json_member_names),
		cmocka_unit_test(test_qga_json_invalid_utf8),
		cmocka_unit_test(test_qga_json_round_trip),
		cmocka_unit_test(test_qga_json_scalars),
		cmocka_unit_test(test_qga_json_append_string_as_tree),
		cmocka_unit_test(test_qga_json_object_new_node),
		cmocka_unit_test(test_qga_json_builder_string_or_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
