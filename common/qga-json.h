/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * qga_json_to_ascii:
 * Serializes @node compactly as 7-bit ASCII: every code point >= 0x7f and
 * every control character is written as \uXXXX (surrogate pairs above the
 * BMP), so the result never holds 0xff, the sync delimiter.
 * Returns: (transfer full): the text, without a trailing newline
 */
gchar *qga_json_to_ascii(JsonNode *node);

/**
 * qga_json_append_string:
 * @len: the bytes of @s, or -1 for all of a NUL-terminated one
 * Appends @s to @out as a JSON string, exactly as qga_json_to_ascii() writes
 * one: for text written without a json-glib tree (guest-dmesg's records).
 */
void qga_json_append_string(GString *out, const gchar *s, gssize len);

/**
 * qga_json_object_new_node:
 * Returns: (transfer full): a node holding @object, whose reference it takes
 */
JsonNode *qga_json_object_new_node(JsonObject *object);

/* adds member @name to @builder's open object: @value, or null when it is NULL */
void qga_json_builder_add_string_or_null(JsonBuilder *builder, const gchar *name,
					 const gchar *value);

G_END_DECLS
