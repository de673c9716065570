/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "qga-json.h"

static void
qga_json_append_escape(GString *out, gunichar cp)
{
	g_string_append_printf(out, "\\u%04x", cp);
}

/* the code point of valid UTF-8 at *@p as \uXXXX (a surrogate pair above
 * the BMP), or, as qemu-ga, one invalid byte as U+FFFD; advances *@p */
static void
qga_json_append_non_ascii(GString *out, const gchar **p, const gchar *end)
{
	gunichar cp = g_utf8_get_char_validated(*p, end - *p);

	if (cp == (gunichar)-1 || cp == (gunichar)-2) {
		qga_json_append_escape(out, 0xfffd);
		(*p)++;
		return;
	}
	if (cp >= 0x10000) {
		gunichar v = cp - 0x10000;

		qga_json_append_escape(out, 0xd800 + (v >> 10));
		qga_json_append_escape(out, 0xdc00 + (v & 0x3ff));
	} else {
		qga_json_append_escape(out, cp);
	}
	*p = g_utf8_next_char(*p);
}

/*
 * json-glib writes UTF-8 as is; qemu-ga's json-writer (quoted_str) writes
 * every code point >= 0x7f and every control character as \uXXXX, and the
 * 0xff sync delimiter is unambiguous only because of that. Outside strings
 * the generator only emits ASCII, so rewriting the whole text is safe.
 */
static gchar *
qga_json_ascii_rewrite(const gchar *text, gsize len)
{
	GString *out = g_string_sized_new(len + 16);
	const gchar *p = text;
	const gchar *end = text + len;

	while (p < end) {
		guchar c = (guchar)*p;

		if (c >= 0x20 && c < 0x7f) {
			const gchar *run = p;

			while (p < end && (guchar)*p >= 0x20 && (guchar)*p < 0x7f)
				p++;
			g_string_append_len(out, run, p - run);
		} else if (c < 0x80) {
			qga_json_append_escape(out, c);
			p++;
		} else {
			qga_json_append_non_ascii(out, &p, end);
		}
	}
	return g_string_free(out, FALSE);
}

/* json-glib's two-character escape for @c, or 0 */
static gchar
qga_json_short_escape(guchar c)
{
	switch (c) {
	case '"':
	case '\\':
		return (gchar)c;
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

void
qga_json_append_string(GString *out, const gchar *s, gssize len)
{
	const gchar *p = s;
	const gchar *end = s + (len < 0 ? strlen(s) : (gsize)len);

	g_string_append_c(out, '"');
	while (p < end) {
		const gchar *run = p;
		guchar c;
		gchar short_escape;

		while (p < end && (guchar)*p >= 0x20 && (guchar)*p < 0x7f && *p != '"' &&
		       *p != '\\')
			p++;
		g_string_append_len(out, run, p - run);
		if (p == end)
			break;
		c = (guchar)*p;
		short_escape = qga_json_short_escape(c);
		if (short_escape != 0) {
			g_string_append_c(out, '\\');
			g_string_append_c(out, short_escape);
			p++;
		} else if (c < 0x80) {
			qga_json_append_escape(out, c);
			p++;
		} else {
			qga_json_append_non_ascii(out, &p, end);
		}
	}
	g_string_append_c(out, '"');
}

gchar *
qga_json_to_ascii(JsonNode *node)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;
	gsize len = 0;

	g_return_val_if_fail(node != NULL, NULL);

	json_generator_set_pretty(gen, FALSE);
	json_generator_set_root(gen, node);
	text = json_generator_to_data(gen, &len);
	return qga_json_ascii_rewrite(text, len);
}

JsonNode *
qga_json_object_new_node(JsonObject *object)
{
	JsonNode *node;

	g_return_val_if_fail(object != NULL, NULL);

	node = json_node_init(json_node_alloc(), JSON_NODE_OBJECT);
	json_node_take_object(node, object);
	return node;
}

void
qga_json_builder_add_string_or_null(JsonBuilder *builder, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(builder, name);
	if (value != NULL)
		json_builder_add_string_value(builder, value);
	else
		json_builder_add_null_value(builder);
}
