#include "config.h"

#include "qga-json.h"

static void
qga_json_append_escape(GString *out, gunichar cp)
{
	g_string_append_printf(out, "\\u%04x", cp);
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
		gunichar cp;
		const gchar *next;

		if (c >= 0x20 && c < 0x7f) {
			const gchar *run = p;

			while (p < end && (guchar)*p >= 0x20 && (guchar)*p < 0x7f)
				p++;
			g_string_append_len(out, run, p - run);
			continue;
		}
		if (c < 0x80) {
			qga_json_append_escape(out, c);
			p++;
			continue;
		}
		cp = g_utf8_get_char_validated(p, end - p);
		if (cp == (gunichar)-1 || cp == (gunichar)-2) {
			/* as qemu-ga: invalid UTF-8 becomes U+FFFD, one byte at a time */
			qga_json_append_escape(out, 0xfffd);
			p++;
			continue;
		}
		next = g_utf8_next_char(p);
		if (cp >= 0x10000) {
			gunichar v = cp - 0x10000;

			qga_json_append_escape(out, 0xd800 + (v >> 10));
			qga_json_append_escape(out, 0xdc00 + (v & 0x3ff));
		} else {
			qga_json_append_escape(out, cp);
		}
		p = next;
	}
	return g_string_free(out, FALSE);
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
