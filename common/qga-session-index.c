/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "qga-codec.h"
#include "qga-json.h"
#include "qga-session-index.h"

#define QGA_SESSION_ID_MAX 128

gboolean
qga_session_id_is_valid(const gchar *id)
{
	gsize len = id != NULL ? strlen(id) : 0;

	if (len == 0 || len > QGA_SESSION_ID_MAX || id[0] == '.' || g_strcmp0(id, "index") == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-')
			return FALSE;
	}
	return TRUE;
}

gchar *
qga_session_index_to_text(const gchar *const *ids, guint n_ids)
{
	JsonObject *index = json_object_new();
	JsonArray *sessions = json_array_new();
	g_autoptr(JsonNode) node = NULL;

	for (guint i = 0;
	     i < n_ids && json_array_get_length(sessions) < QGA_SESSION_INDEX_ENTRIES_MAX; i++) {
		g_autofree gchar *file = g_strdup_printf("%s.json", ids[i]);
		JsonObject *entry;

		/* a reader refuses the whole index for one bad entry */
		if (!qga_session_id_is_valid(ids[i]))
			continue;
		entry = json_object_new();
		json_object_set_string_member(entry, "session", ids[i]);
		json_object_set_string_member(entry, "file", file);
		json_array_add_object_element(sessions, entry);
	}
	json_object_set_int_member(index, "version", 1);
	json_object_set_array_member(index, "sessions", sessions);
	node = qga_json_object_new_node(index);
	return json_to_string(node, FALSE);
}

/* the id of an index entry, or NULL when it is not a valid one */
static const gchar *
qga_session_index_entry_id(JsonNode *node)
{
	JsonObject *entry = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	JsonNode *id = entry != NULL ? json_object_get_member(entry, "session") : NULL;
	JsonNode *file = entry != NULL ? json_object_get_member(entry, "file") : NULL;
	const gchar *id_text;
	g_autofree gchar *want = NULL;

	if (id == NULL || file == NULL || !JSON_NODE_HOLDS_VALUE(id) ||
	    !JSON_NODE_HOLDS_VALUE(file) || json_node_get_value_type(id) != G_TYPE_STRING ||
	    json_node_get_value_type(file) != G_TYPE_STRING)
		return NULL;
	id_text = json_node_get_string(id);
	if (!qga_session_id_is_valid(id_text))
		return NULL;
	/* the file is the id's: a name from the guest never becomes a path */
	want = g_strdup_printf("%s.json", id_text);
	return g_strcmp0(json_node_get_string(file), want) == 0 ? id_text : NULL;
}

GStrv
qga_session_index_parse(const gchar *text, gsize len, GError **error)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error_local = NULL;
	/* the wire's nesting limit, and a size limit of its own */
	g_autoptr(JsonNode) root =
		qga_decoder_parse_one(text, len, QGA_SESSION_INDEX_MAX, &error_local);
	JsonObject *index;
	JsonNode *sessions;
	JsonArray *array;

	if (root == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the session index is not valid: %s", error_local->message);
		return NULL;
	}
	index = root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	sessions = index != NULL ? json_object_get_member(index, "sessions") : NULL;
	if (sessions == NULL || !JSON_NODE_HOLDS_ARRAY(sessions)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the session index has no \"sessions\" list");
		return NULL;
	}
	array = json_node_get_array(sessions);
	for (guint i = 0;
	     i < json_array_get_length(array) && ids->len < QGA_SESSION_INDEX_ENTRIES_MAX; i++) {
		const gchar *id = qga_session_index_entry_id(json_array_get_element(array, i));

		if (id == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the session index's entry %u is not a valid session", i);
			return NULL;
		}
		g_ptr_array_add(ids, g_strdup(id));
	}
	g_ptr_array_add(ids, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&ids), FALSE);
}
