/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "client-context.h"

G_BEGIN_DECLS

/* What the commands print: --json documents, and the pieces of the human
 * output (sizes, durations, dmesg lines, check marks, colours on a TTY).
 * Results go to stdout unconverted (UTF-8, as JSON is); the marks fall back
 * to ASCII where the locale's charset is not UTF-8. The guest's strings in
 * the human output go through client-terminal.h first. */

/**
 * client_format_json:
 * @node as JSON text, pretty-printed or on one line, that every parser
 * takes: json-glib's text, but a finite number it cannot write (1e+30.0)
 * written again, infinities and NaN as null, and C1 controls in strings
 * as \u0080-\u009f (the other controls json-glib escapes itself).
 * Returns: (transfer full): the text, without a trailing newline
 */
gchar *client_format_json(JsonNode *node, gboolean pretty);

/* the document on stdout (client_format_json()): pretty-printed, or one
 * line (--follow streams) */
void client_print_json(JsonNode *node, gboolean pretty);
void client_print_json_object(JsonObject *object, gboolean pretty);

/* printf to stdout; strings from the guest among the arguments must be
 * escaped (client_json_text(), client_terminal_escape()) */
void client_print(const gchar *format, ...) G_GNUC_PRINTF(1, 2);

/* "qgatrace: COMMAND: MESSAGE" on stderr, the whole message escaped for
 * the terminal (client_terminal_append()) */
void client_print_warning(ClientContext *ctx, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

typedef enum {
	CLIENT_STYLE_NONE,
	CLIENT_STYLE_BOLD,
	CLIENT_STYLE_DIM,
	CLIENT_STYLE_RED,
	CLIENT_STYLE_GREEN,
	CLIENT_STYLE_YELLOW,
	CLIENT_STYLE_BOLD_RED,
} ClientStyle;

/* the escape starting @style, and the one ending it: "" without colour */
const gchar *client_style_on(ClientContext *ctx, ClientStyle style);
const gchar *client_style_off(ClientContext *ctx, ClientStyle style);

/* TRUE when the locale's charset is UTF-8 (the marks are then ✓ ✗) */
gboolean client_output_utf8(void);

/* "✓" / "✗" (or "ok" / "FAIL"), and "-" for a check not made */
const gchar *client_mark(gboolean ok);
#define CLIENT_MARK_SKIPPED "-"

/* 0 B, 512 B, 1.5 KiB, 64.0 MiB, 2.00 GiB */
gchar *client_format_bytes(guint64 bytes);

/* 850 ns, 12.3 us, 53.7 ms, 1.23 s, 2 min 5 s */
gchar *client_format_duration_ns(guint64 ns);

/* seconds since boot from a CLOCK_MONOTONIC timestamp in ns: "4.432693719" */
gchar *client_format_monotonic_ns(guint64 ns);

/* ---- kernel log levels and records ---- */

/**
 * client_parse_level:
 * A log level by name (emerg alert crit err warn notice info debug, also
 * error, warning, and the KERN_ prefix) or number 0-7.
 * Returns: the level, or -1 with a usage error
 */
gint client_parse_level(const gchar *text, GError **error);

/* Returns: (transfer none): "err" for 3, "?" outside 0-7 */
const gchar *client_level_name(gint level);

/**
 * client_format_dmesg_record:
 * A guest-dmesg record as dmesg(1) shows it: "[    4.432693] message",
 * coloured by level when @color (err and worse red, warn yellow, notice
 * bold, debug dim). The message's kmsg escapes (\xNN) are undone and
 * the text escaped for the terminal (client_terminal_append()): text shows
 * as text, control bytes as \xNN. Continuation lines of the message are
 * indented.
 * Returns: (transfer full): the line(s), newline-terminated
 */
gchar *client_format_dmesg_record(JsonObject *record, gboolean color);

/* ---- JSON access that tolerates absent or null members ---- */

/* the member as an integer, or @fallback when absent, null, not a number
 * or beyond int64 */
gint64 client_json_int(JsonObject *object, const gchar *name, gint64 fallback);
/* the member as a string (transfer none), or NULL */
const gchar *client_json_string(JsonObject *object, const gchar *name);
/* the member as a string escaped for the terminal (client_terminal_escape()),
 * or a copy of @fallback; transfer full */
gchar *client_json_text(JsonObject *object, const gchar *name, const gchar *fallback);
/* the member as an object (transfer none), or NULL */
JsonObject *client_json_object(JsonObject *object, const gchar *name);
/* the member as an array (transfer none), or NULL */
JsonArray *client_json_array(JsonObject *object, const gchar *name);
/* element @index of @array as an object (transfer none), or NULL when it is
 * not one: the agent's arrays are as untrusted as its members */
JsonObject *client_json_array_object(JsonArray *array, guint index);
/* element @index of @array as a string (transfer none), or NULL */
const gchar *client_json_array_string(JsonArray *array, guint index);
/* the member as a boolean, or @fallback */
gboolean client_json_bool(JsonObject *object, const gchar *name, gboolean fallback);

G_END_DECLS
