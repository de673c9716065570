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
 * qga_json_object_new_node:
 * Returns: (transfer full): a node holding @object, whose reference it takes
 */
JsonNode *qga_json_object_new_node(JsonObject *object);

G_END_DECLS
