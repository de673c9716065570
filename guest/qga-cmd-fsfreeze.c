/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-registry.h"
#include "qga-context.h"
#include "qga-fsfreeze.h"

static JsonNode *
cmd_guest_fsfreeze_status(QgaContext *ctx, JsonObject *args, GError **error)
{
	return qga_return_string(qga_state_is_frozen(ctx->state) ? "frozen" : "thawed");
}

static JsonNode *
cmd_guest_fsfreeze_freeze(QgaContext *ctx, JsonObject *args, GError **error)
{
	gint n = qga_fsfreeze_freeze(ctx, NULL, error);

	return n < 0 ? NULL : qga_return_int(n);
}

static JsonNode *
cmd_guest_fsfreeze_freeze_list(QgaContext *ctx, JsonObject *args, GError **error)
{
	g_auto(GStrv) wanted = qga_args_dup_strv(args, "mountpoints"); /* NULL: all */
	gint n = qga_fsfreeze_freeze(ctx, wanted, error);

	return n < 0 ? NULL : qga_return_int(n);
}

static JsonNode *
cmd_guest_fsfreeze_plan(QgaContext *ctx, JsonObject *args, GError **error)
{
	g_auto(GStrv) wanted = qga_args_dup_strv(args, "mountpoints"); /* NULL: all */

	return qga_fsfreeze_plan(ctx, wanted, error);
}

static JsonNode *
cmd_guest_fsfreeze_thaw(QgaContext *ctx, JsonObject *args, GError **error)
{
	gint n = qga_fsfreeze_thaw(ctx, error);

	return n < 0 ? NULL : qga_return_int(n);
}

static const QgaArgSpec freeze_list_args[] = {
	{"mountpoints", QGA_ARG_STRING_LIST, TRUE},
	{NULL},
};

const QgaCommand qga_cmd_fsfreeze_commands[] = {
	{"guest-fsfreeze-status", cmd_guest_fsfreeze_status, NULL, QGA_CMD_FROZEN_OK},
	{"guest-fsfreeze-freeze", cmd_guest_fsfreeze_freeze, NULL, 0},
	{"guest-fsfreeze-freeze-list", cmd_guest_fsfreeze_freeze_list, freeze_list_args, 0},
	{"guest-fsfreeze-thaw", cmd_guest_fsfreeze_thaw, NULL, QGA_CMD_FROZEN_OK},
	/* reads /proc and /sys only: safe frozen, and it says what is frozen */
	{"guest-fsfreeze-plan", cmd_guest_fsfreeze_plan, freeze_list_args, QGA_CMD_FROZEN_OK},
	{NULL},
};
