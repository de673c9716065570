/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-cli.h"

G_BEGIN_DECLS

/* the commands, one client-cmd-<name>.c each */
extern const ClientCommand client_cmd_ping;
extern const ClientCommand client_cmd_info;
extern const ClientCommand client_cmd_status;
extern const ClientCommand client_cmd_freeze;
extern const ClientCommand client_cmd_thaw;
extern const ClientCommand client_cmd_snapshot;
extern const ClientCommand client_cmd_trace;
extern const ClientCommand client_cmd_dmesg;
extern const ClientCommand client_cmd_df;
extern const ClientCommand client_cmd_doctor;
extern const ClientCommand client_cmd_raw;
extern const ClientCommand client_cmd_fleet;
extern const ClientCommand client_cmd_exporter;

/**
 * client_cmd_doctor_diagnose:
 * The doctor's checks on @target, printing nothing when @ctx is quiet or
 * under --json (fleet and the exporter say why an agent is unreachable).
 * @unreachable: (out) (optional): whether the agent could not be reached
 * Returns: (transfer full): the verdict line: the first failed check and its fix
 */
gchar *client_cmd_doctor_diagnose(ClientContext *ctx, ClientTarget *target, gboolean *unreachable);

/* all of them, in the overview's order (NULL-terminated), and the text
 * `qgatrace --help` prints after their list */
extern const ClientCommand *const client_commands[];
extern const gchar client_commands_overview[];

/* the exit status section every command's --help shares */
#define CLIENT_HELP_EXIT_STATUS                                                                    \
	"Exit status:\n"                                                                           \
	"  0  success\n"                                                                           \
	"  1  the command ran and failed (an error reply, a verification that failed)\n"           \
	"  2  usage: a bad option or argument\n"                                                   \
	"  3  the agent is unreachable or did not answer within --timeout\n"                       \
	"Errors are one line on stderr: 'qgatrace: COMMAND: CAUSE'.\n"

G_END_DECLS
