/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-registry.h"
#include "qga-context.h"
#include "qga-dispatch.h"

static JsonNode *
cmd_guest_sync(QgaContext *ctx, JsonObject *args, GError **error)
{
	return qga_return_int(json_object_get_int_member(args, "id"));
}

static JsonNode *
cmd_guest_ping(QgaContext *ctx, JsonObject *args, GError **error)
{
	return qga_return_empty();
}

typedef struct {
	QgaContext *ctx;
	JsonArray *commands;
} CmdInfoBuilder;

static void
cmd_info_add_command(const QgaCommand *cmd, gpointer user_data)
{
	CmdInfoBuilder *b = user_data;
	JsonObject *info = json_object_new();

	json_object_set_string_member(info, "name", cmd->name);
	json_object_set_boolean_member(info, "enabled", qga_dispatch_is_enabled(b->ctx, cmd, NULL));
	/* none of ours is a shutdown/suspend that answers by going away */
	json_object_set_boolean_member(info, "success-response", TRUE);
	json_array_add_object_element(b->commands, info);
}

static JsonNode *
cmd_guest_info(QgaContext *ctx, JsonObject *args, GError **error)
{
	JsonObject *result = json_object_new();
	CmdInfoBuilder b = {ctx, json_array_new()};

	qga_registry_foreach(cmd_info_add_command, &b);
	json_object_set_string_member(result, "version", PACKAGE_VERSION);
	json_object_set_array_member(result, "supported_commands", b.commands);
	return qga_return_object(result);
}

static const QgaArgSpec sync_args[] = {
	{"id", QGA_ARG_INT, FALSE},
	{NULL},
};

const QgaCommand qga_cmd_core_commands[] = {
	{"guest-sync-delimited", cmd_guest_sync, sync_args,
	 QGA_CMD_FROZEN_OK | QGA_CMD_REPLY_DELIMITED},
	{"guest-sync", cmd_guest_sync, sync_args, QGA_CMD_FROZEN_OK},
	{"guest-ping", cmd_guest_ping, NULL, QGA_CMD_FROZEN_OK},
	{"guest-info", cmd_guest_info, NULL, QGA_CMD_FROZEN_OK},
	{NULL},
};
