/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-registry.h"
#include "qga-context.h"
#include "qga-trace.h"

static JsonNode *
cmd_guest_trace_status(QgaContext *ctx, JsonObject *args, GError **error)
{
	return qga_trace_get_status(ctx->trace, qga_state_is_frozen(ctx->state));
}

static JsonNode *
cmd_guest_trace_fetch(QgaContext *ctx, JsonObject *args, GError **error)
{
	const gchar *id = args != NULL && json_object_has_member(args, "session")
				  ? json_object_get_string_member(args, "session")
				  : NULL; /* NULL: the newest */

	return qga_trace_fetch(ctx->trace, id, error);
}

static const QgaArgSpec fetch_args[] = {
	{"session", QGA_ARG_STRING, TRUE},
	{NULL},
};

/*
 * qemu-ga allows while frozen only what cannot block on a frozen
 * filesystem. guest-trace-status qualifies: frozen, it answers from memory
 * alone (no probe, no read of the plugin dir, which may be on any
 * filesystem), and shows the host that the session is armed. Fetching waits
 * for the thaw: the session is collected only then.
 */
const QgaCommand qga_cmd_trace_commands[] = {
	{"guest-trace-status", cmd_guest_trace_status, NULL, QGA_CMD_FROZEN_OK},
	{"guest-trace-fetch", cmd_guest_trace_fetch, fetch_args, 0},
	{NULL},
};
