/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-codec.h"
#include "qga-registry.h"
#include "qga-context.h"
#include "qga-dispatch.h"

gboolean
qga_dispatch_is_enabled(QgaContext *ctx, const QgaCommand *cmd, const gchar **reason)
{
	const gchar *why = NULL;

	if ((ctx->config->allow_rpcs[0] != NULL &&
	     !g_strv_contains((const gchar *const *)ctx->config->allow_rpcs, cmd->name)) ||
	    g_strv_contains((const gchar *const *)ctx->config->block_rpcs, cmd->name))
		why = "the command is not allowed";
	else if (qga_state_is_frozen(ctx->state) && !(cmd->flags & QGA_CMD_FROZEN_OK))
		why = "the agent is in frozen state";
	if (reason != NULL)
		*reason = why;
	return why == NULL;
}

static const gchar *
qga_arg_type_name(QgaArgType type)
{
	switch (type) {
	case QGA_ARG_INT:
		return "integer";
	case QGA_ARG_NUMBER:
		return "number";
	case QGA_ARG_STRING:
		return "string";
	case QGA_ARG_BOOL:
		return "boolean";
	case QGA_ARG_STRING_LIST:
		return "array";
	}
	return "value";
}

static gboolean
qga_arg_value_has_type(JsonNode *node, GType want)
{
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == want;
}

static gboolean
qga_arg_has_type(JsonNode *node, QgaArgType type, const gchar *name, GError **error)
{
	gboolean ok = FALSE;

	switch (type) {
	case QGA_ARG_INT:
		ok = qga_arg_value_has_type(node, G_TYPE_INT64);
		break;
	case QGA_ARG_NUMBER:
		ok = qga_arg_value_has_type(node, G_TYPE_INT64) ||
		     qga_arg_value_has_type(node, G_TYPE_DOUBLE);
		break;
	case QGA_ARG_STRING:
		ok = qga_arg_value_has_type(node, G_TYPE_STRING);
		break;
	case QGA_ARG_BOOL:
		ok = qga_arg_value_has_type(node, G_TYPE_BOOLEAN);
		break;
	case QGA_ARG_STRING_LIST:
		ok = JSON_NODE_HOLDS_ARRAY(node);
		for (guint i = 0; ok && i < json_array_get_length(json_node_get_array(node)); i++) {
			JsonNode *elem = json_array_get_element(json_node_get_array(node), i);
			g_autofree gchar *elem_name = g_strdup_printf("%s[%u]", name, i);

			if (!qga_arg_has_type(elem, QGA_ARG_STRING, elem_name, error))
				return FALSE;
		}
		break;
	}
	if (!ok)
		g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
			    "Invalid parameter type for '%s', expected: %s", name,
			    qga_arg_type_name(type));
	return ok;
}

gboolean
qga_dispatch_check_args(const QgaArgSpec *spec, JsonObject *args, GError **error)
{
	g_autoptr(GList) members = args != NULL ? json_object_get_members(args) : NULL;

	for (GList *l = members; l != NULL; l = l->next) {
		gboolean known = FALSE;

		for (const QgaArgSpec *s = spec; s != NULL && s->name != NULL && !known; s++)
			known = g_strcmp0(s->name, l->data) == 0;
		if (!known) {
			g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "Parameter '%s' is unexpected", (const gchar *)l->data);
			return FALSE;
		}
	}
	for (const QgaArgSpec *s = spec; s != NULL && s->name != NULL; s++) {
		JsonNode *node = args != NULL ? json_object_get_member(args, s->name) : NULL;

		if (node == NULL) {
			if (s->optional)
				continue;
			g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
				    "Parameter '%s' is missing", s->name);
			return FALSE;
		}
		if (!qga_arg_has_type(node, s->type, s->name, error))
			return FALSE;
	}
	return TRUE;
}

static JsonNode *
qga_dispatch_run(QgaContext *ctx, QgaRequest *request, QgaCommandFlags *flags, GError **error)
{
	const QgaCommand *cmd = qga_registry_lookup(request->execute);
	const gchar *reason = NULL;

	if (cmd == NULL) {
		g_set_error(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND,
			    "The command %s has not been found", request->execute);
		return NULL;
	}
	if (!qga_dispatch_is_enabled(ctx, cmd, &reason)) {
		g_set_error(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND,
			    "Command %s has been disabled: %s", cmd->name, reason);
		return NULL;
	}
	if (!qga_dispatch_check_args(cmd->args, request->arguments, error))
		return NULL;
	*flags = cmd->flags;
	g_debug("%s called", cmd->name);
	return cmd->func(ctx, request->arguments, error);
}

gchar *
qga_dispatch_message(QgaContext *ctx, JsonNode *message, gsize *len)
{
	g_autoptr(JsonNode) id = qga_request_peek_id(message);
	g_autoptr(QgaRequest) request = NULL;
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error = NULL;
	QgaCommandFlags flags = 0;
	gchar *reply;

	request = qga_request_parse(message, &error);
	if (request != NULL)
		value = qga_dispatch_run(ctx, request, &flags, &error);
	if (value == NULL) {
		if (error == NULL)
			g_set_error_literal(&error, QGA_ERROR, QGA_ERROR_GENERIC, "command failed");
		g_debug("replying error: %s", error->message);
		reply = qga_reply_encode_error(error, id);
		*len = strlen(reply);
		return reply;
	}
	if ((flags & QGA_CMD_RETURNS_TEXT) != 0)
		return qga_reply_encode_return_text(json_node_get_string(value), id,
						    (flags & QGA_CMD_REPLY_DELIMITED) != 0, len);
	return qga_reply_encode_return(value, id, (flags & QGA_CMD_REPLY_DELIMITED) != 0, len);
}

gchar *
qga_dispatch_stream_error(const GError *error, gsize *len)
{
	gchar *reply = qga_reply_encode_error(error, NULL);

	*len = strlen(reply);
	return reply;
}
