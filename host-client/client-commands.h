/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-cli.h"

G_BEGIN_DECLS

/* the commands, one cmd-<name>.c each; @argv[0] is the command's name */
gboolean client_cmd_ping(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_info(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_status(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_freeze(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_thaw(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_snapshot(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_trace(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_dmesg(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_df(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_doctor(ClientContext *ctx, gchar **argv, GError **error);
gboolean client_cmd_raw(ClientContext *ctx, gchar **argv, GError **error);

/* the exit status section every command's --help shares */
#define CLIENT_HELP_EXIT_STATUS                                                                    \
	"Exit status:\n"                                                                           \
	"  0  success\n"                                                                           \
	"  1  the command ran and failed (an error reply, a verification that failed)\n"           \
	"  2  usage: a bad option or argument\n"                                                   \
	"  3  the agent is unreachable or did not answer within --timeout\n"                      \
	"Errors are one line on stderr: 'qgatrace: COMMAND: CAUSE'.\n"

G_END_DECLS
