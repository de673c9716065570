/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client-output.h"
#include "client-terminal.h"

/* ---- --json ---- */

/* past the digits at @p, or NULL when there is none */
static const gchar *
client_json_skip_digits(const gchar *p, const gchar *end)
{
	const gchar *start = p;

	while (p < end && g_ascii_isdigit(*p))
		p++;
	return p > start ? p : NULL;
}

/* TRUE when @len bytes at @p are a number as RFC 8259 writes one */
static gboolean
client_json_is_number(const gchar *p, gsize len)
{
	const gchar *end = p + len;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if ((p = client_json_skip_digits(p, end)) == NULL)
		return FALSE;
	if (p < end && *p == '.' && (p = client_json_skip_digits(p + 1, end)) == NULL)
		return FALSE;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if ((p = client_json_skip_digits(p, end)) == NULL)
			return FALSE;
	}
	return p == end;
}

/* a literal json-glib wrote outside strings: as it is when it is JSON, a
 * finite number written again, null for infinities and NaN */
static void
client_json_append_literal(GString *out, const gchar *token, gsize len)
{
	g_autofree gchar *copy = NULL;
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
	gdouble value;

	if (client_json_is_number(token, len) || (len == 4 && memcmp(token, "true", 4) == 0) ||
	    (len == 5 && memcmp(token, "false", 5) == 0) ||
	    (len == 4 && memcmp(token, "null", 4) == 0)) {
		g_string_append_len(out, token, (gssize)len);
		return;
	}
	/* "1e+30.0": the number is all but the ".0" json-glib appended */
	copy = g_strndup(token, len);
	value = g_ascii_strtod(copy, NULL);
	if (isfinite(value))
		g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.17g", value));
	else
		g_string_append(out, "null");
}

/*
 * json-glib writes a double whose shortest form has an exponent but no
 * point with ".0" after it (1e+30.0), infinities and NaN as inf.0 and
 * nan.0: no parser takes those. And it writes C1 controls (U+0080-U+009F)
 * in strings as they are, which a terminal takes for escapes. Outside
 * strings its text is ASCII punctuation, numbers, true, false and null
 * only, so the text can be mended as it is.
 */
static gchar *
client_json_mend(const gchar *text, gsize len)
{
	GString *out = g_string_sized_new(len + 16);
	const gchar *p = text;
	const gchar *end = text + len;
	gboolean in_string = FALSE;

	while (p < end) {
		guchar c = (guchar)*p;

		if (in_string && c == '\\' && p + 1 < end) {
			g_string_append_len(out, p, 2);
			p += 2;
		} else if (in_string && c == 0xc2 && p + 1 < end && (guchar)p[1] >= 0x80 &&
			   (guchar)p[1] <= 0x9f) {
			g_string_append_printf(out, "\\u%04x", (guchar)p[1]);
			p += 2;
		} else if (!in_string && (g_ascii_isalnum(c) || c == '-')) {
			const gchar *token = p;

			while (p < end &&
			       (g_ascii_isalnum(*p) || *p == '-' || *p == '+' || *p == '.'))
				p++;
			client_json_append_literal(out, token, (gsize)(p - token));
		} else {
			if (c == '"')
				in_string = !in_string;
			g_string_append_c(out, *p++);
		}
	}
	return g_string_free(out, FALSE);
}

gchar *
client_format_json(JsonNode *node, gboolean pretty)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autofree gchar *text = NULL;
	gsize len = 0;

	json_generator_set_root(gen, node);
	json_generator_set_pretty(gen, pretty);
	json_generator_set_indent(gen, 2);
	text = json_generator_to_data(gen, &len);
	return client_json_mend(text, len);
}

void
client_print_json(JsonNode *node, gboolean pretty)
{
	g_autofree gchar *text = client_format_json(node, pretty);

	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

void
client_print_json_object(JsonObject *object, gboolean pretty)
{
	g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), object);

	client_print_json(node, pretty);
}

void
client_print(const gchar *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vfprintf(stdout, format, ap);
	va_end(ap);
}

void
client_print_warning(ClientContext *ctx, const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *safe = NULL;
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, format);
	text = g_strdup_vprintf(format, ap);
	va_end(ap);
	safe = client_terminal_escape(text);
	fprintf(stderr, "qgatrace: %s: %s\n", ctx->command, safe);
	fflush(stderr);
}

const gchar *
client_style_on(ClientContext *ctx, ClientStyle style)
{
	if (ctx == NULL || !ctx->color)
		return "";
	switch (style) {
	case CLIENT_STYLE_BOLD:
		return "\033[1m";
	case CLIENT_STYLE_DIM:
		return "\033[2m";
	case CLIENT_STYLE_RED:
		return "\033[31m";
	case CLIENT_STYLE_GREEN:
		return "\033[32m";
	case CLIENT_STYLE_YELLOW:
		return "\033[33m";
	case CLIENT_STYLE_BOLD_RED:
		return "\033[1;31m";
	case CLIENT_STYLE_NONE:
	default:
		return "";
	}
}

const gchar *
client_style_off(ClientContext *ctx, ClientStyle style)
{
	if (ctx == NULL || !ctx->color || style == CLIENT_STYLE_NONE)
		return "";
	return "\033[0m";
}

gboolean
client_output_utf8(void)
{
	return g_get_charset(NULL);
}

const gchar *
client_mark(gboolean ok)
{
	if (client_output_utf8())
		return ok ? "\u2713" : "\u2717";
	return ok ? "ok" : "FAIL";
}

gchar *
client_format_bytes(guint64 bytes)
{
	static const gchar *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	gdouble value = (gdouble)bytes;
	guint unit = 0;

	if (bytes < 1024)
		return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
	value /= 1024.0;
	while (value >= 1024.0 && unit + 1 < G_N_ELEMENTS(units)) {
		value /= 1024.0;
		unit++;
	}
	/* three significant digits, as df -h */
	if (value < 10.0)
		return g_strdup_printf("%.2f %s", value, units[unit]);
	if (value < 100.0)
		return g_strdup_printf("%.1f %s", value, units[unit]);
	return g_strdup_printf("%.0f %s", value, units[unit]);
}

gchar *
client_format_duration_ns(guint64 ns)
{
	if (ns < 1000)
		return g_strdup_printf("%" G_GUINT64_FORMAT " ns", ns);
	if (ns < 1000000)
		return g_strdup_printf("%.1f us", (gdouble)ns / 1e3);
	if (ns < 1000000000)
		return g_strdup_printf("%.1f ms", (gdouble)ns / 1e6);
	if (ns < G_GUINT64_CONSTANT(60000000000))
		return g_strdup_printf("%.2f s", (gdouble)ns / 1e9);
	return g_strdup_printf("%" G_GUINT64_FORMAT " min %" G_GUINT64_FORMAT " s",
			       ns / G_GUINT64_CONSTANT(60000000000),
			       (ns / G_GUINT64_CONSTANT(1000000000)) % 60);
}

gchar *
client_format_monotonic_ns(guint64 ns)
{
	return g_strdup_printf("%" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT, ns / 1000000000,
			       ns % 1000000000);
}

/* ---- kernel log ---- */

static const gchar *const client_level_names[] = {"emerg", "alert",  "crit", "err",
						  "warn",  "notice", "info", "debug"};

gint
client_parse_level(const gchar *text, GError **error)
{
	g_autofree gchar *lower = text != NULL ? g_ascii_strdown(text, -1) : NULL;
	const gchar *name = lower;
	gchar *end = NULL;
	gint64 number;

	if (name == NULL || name[0] == '\0') {
		client_set_usage_error(error, "a log level is a name or 0-7, not ''");
		return -1;
	}
	if (g_str_has_prefix(name, "kern_"))
		name += 5;
	number = g_ascii_strtoll(name, &end, 10);
	if (end != name && *end == '\0') {
		if (number < 0 || number > 7) {
			client_set_usage_error(
				error, "log level %" G_GINT64_FORMAT " is not within 0-7", number);
			return -1;
		}
		return (gint)number;
	}
	for (guint i = 0; i < G_N_ELEMENTS(client_level_names); i++) {
		if (g_strcmp0(name, client_level_names[i]) == 0)
			return (gint)i;
	}
	if (g_strcmp0(name, "error") == 0)
		return 3;
	if (g_strcmp0(name, "warning") == 0)
		return 4;
	if (g_strcmp0(name, "emergency") == 0)
		return 0;
	if (g_strcmp0(name, "critical") == 0)
		return 2;
	client_set_usage_error(
		error,
		"unknown log level '%s' (emerg, alert, crit, err, warn, notice, info, "
		"debug, or 0-7)",
		text);
	return -1;
}

const gchar *
client_level_name(gint level)
{
	if (level < 0 || level > 7)
		return "?";
	return client_level_names[level];
}

/* /dev/kmsg's \xNN undone, as dmesg(1) does before it prints; a
 * backslash that starts no such escape stays */
static GString *
client_kmsg_unescape(const gchar *text)
{
	GString *out = g_string_sized_new(strlen(text));

	for (const gchar *p = text; *p != '\0'; p++) {
		gint high;
		gint low;

		if (p[0] == '\\' && p[1] == 'x' && (high = g_ascii_xdigit_value(p[2])) >= 0 &&
		    (low = g_ascii_xdigit_value(p[3])) >= 0) {
			g_string_append_c(out, (gchar)(high << 4 | low));
			p += 3;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return out;
}

gchar *
client_format_dmesg_record(JsonObject *record, gboolean color)
{
	gint64 ts = client_json_int(record, "ts-us", 0);
	gint64 level = client_json_int(record, "level", 6);
	const gchar *message = client_json_string(record, "message");
	g_autoptr(GString) text = client_kmsg_unescape(message != NULL ? message : "");
	GString *out = g_string_new(NULL);
	const gchar *end = text->str + text->len;
	const gchar *on = "";
	const gchar *off = "";
	gsize indent;

	if (ts < 0)
		ts = 0;
	if (color) {
		if (level <= 3)
			on = level <= 2 ? "\033[1;31m" : "\033[31m";
		else if (level == 4)
			on = "\033[33m";
		else if (level == 5)
			on = "\033[1m";
		else if (level == 7)
			on = "\033[2m";
		if (on[0] != '\0')
			off = "\033[0m";
	}
	g_string_append_printf(out, "[%5" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT "] ", ts / 1000000,
			       ts % 1000000);
	indent = out->len;
	g_string_append(out, on);
	/* as dmesg(1): a line break in the message goes on under the text */
	for (const gchar *line = text->str;;) {
		const gchar *nl = memchr(line, '\n', (gsize)(end - line));

		client_terminal_append(out, line, (nl != NULL ? nl : end) - line);
		if (nl == NULL || nl + 1 == end)
			break;
		g_string_append_printf(out, "\n%*s", (gint)indent, "");
		line = nl + 1;
	}
	g_string_append(out, off);
	g_string_append_c(out, '\n');
	return g_string_free(out, FALSE);
}

/* ---- JSON access ---- */

gint64
client_json_int(JsonObject *object, const gchar *name, gint64 fallback)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;
	gdouble d;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
		return fallback;
	switch (json_node_get_value_type(node)) {
	case G_TYPE_INT64:
		return json_node_get_int(node);
	case G_TYPE_DOUBLE:
		/* an integer beyond int64 arrives as a double; casting one out
		 * of range is undefined (found by fuzz/fuzz-client.c) */
		d = json_node_get_double(node);
		if (!(d >= (gdouble)G_MININT64 && d < -(gdouble)G_MININT64))
			return fallback;
		return (gint64)d;
	default:
		return fallback;
	}
}

const gchar *
client_json_string(JsonObject *object, const gchar *name)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

gchar *
client_json_text(JsonObject *object, const gchar *name, const gchar *fallback)
{
	const gchar *value = client_json_string(object, name);

	return value != NULL ? client_terminal_escape(value) : g_strdup(fallback);
}

JsonObject *
client_json_object(JsonObject *object, const gchar *name)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;

	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

JsonArray *
client_json_array(JsonObject *object, const gchar *name)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;

	return node != NULL && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

JsonObject *
client_json_array_object(JsonArray *array, guint index)
{
	JsonNode *node = array != NULL && index < json_array_get_length(array)
				 ? json_array_get_element(array, index)
				 : NULL;

	return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

const gchar *
client_json_array_string(JsonArray *array, guint index)
{
	JsonNode *node = array != NULL && index < json_array_get_length(array)
				 ? json_array_get_element(array, index)
				 : NULL;

	return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
			       json_node_get_value_type(node) == G_TYPE_STRING
		       ? json_node_get_string(node)
		       : NULL;
}

gboolean
client_json_bool(JsonObject *object, const gchar *name, gboolean fallback)
{
	JsonNode *node = object != NULL ? json_object_get_member(object, name) : NULL;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_BOOLEAN)
		return fallback;
	return json_node_get_boolean(node);
}
