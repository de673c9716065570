/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-cli.h"

G_BEGIN_DECLS

/* the most of each list a plan may hold: fs.mount-max's default */
#define CLIENT_FREEZE_PLAN_MOUNTS_MAX	100000
#define CLIENT_FREEZE_PLAN_WARNINGS_MAX 1024
/* a member longer than PATH_MAX, or a warning longer than this, is a lie */
#define CLIENT_FREEZE_PLAN_TEXT_MAX 8192

/**
 * client_freeze_plan_parse:
 * @ret: guest-fsfreeze-plan's return value, hostile
 * Checks every member's type and every size against its bound.
 * Returns: (transfer full): a copy holding only the members
 * docs/protocol.md names, or NULL with G_IO_ERROR_INVALID_DATA
 */
JsonObject *client_freeze_plan_parse(JsonNode *ret, GError **error);

/* Returns: (transfer full): @plan (client_freeze_plan_parse()) as tables
 * for a person, every guest string escaped */
gchar *client_freeze_plan_format(ClientContext *ctx, JsonObject *plan);

/**
 * client_freeze_plan_run:
 * @args: (nullable): the freeze's arguments
 * @mountpoints: (transfer full): -m as a JSON array, or null
 * `freeze --plan`: asks guest-fsfreeze-plan on the qgatrace-agent channel
 * and prints the plan, or its --json.
 */
gboolean client_freeze_plan_run(ClientInvocation *inv, JsonObject *args, JsonNode *mountpoints,
				GError **error);

G_END_DECLS
