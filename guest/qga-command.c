/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-command.h"

JsonNode *
qga_return_empty(void)
{
	return qga_return_object(json_object_new());
}

JsonNode *
qga_return_int(gint64 value)
{
	return json_node_init_int(json_node_alloc(), value);
}

JsonNode *
qga_return_string(const gchar *value)
{
	return json_node_init_string(json_node_alloc(), value);
}

JsonNode *
qga_return_object(JsonObject *object)
{
	JsonNode *node = json_node_init_object(json_node_alloc(), object);

	json_object_unref(object);
	return node;
}

JsonNode *
qga_return_array(JsonArray *array)
{
	JsonNode *node = json_node_init_array(json_node_alloc(), array);

	json_array_unref(array);
	return node;
}

gchar **
qga_args_dup_strv(JsonObject *args, const gchar *name)
{
	JsonArray *array;
	g_autoptr(GStrvBuilder) builder = NULL;

	if (args == NULL || !json_object_has_member(args, name))
		return NULL;
	array = json_object_get_array_member(args, name);
	builder = g_strv_builder_new();
	for (guint i = 0; i < json_array_get_length(array); i++)
		g_strv_builder_add(builder, json_array_get_string_element(array, i));
	return g_strv_builder_end(builder);
}
