/* SPDX-License-Identifier: GPL-2.0-or-later */
/* the command table and the overview, shared by client-main.c and the tests */
#include "config.h"

#include "client-commands.h"

const ClientCommand *const client_commands[] = {
	&client_cmd_ping,     &client_cmd_info,
	&client_cmd_status,   &client_cmd_freeze,
	&client_cmd_thaw,     &client_cmd_snapshot,
	&client_cmd_trace,    &client_cmd_dmesg,
	&client_cmd_df,	      &client_cmd_doctor,
	&client_cmd_raw,      &client_cmd_fleet,
	&client_cmd_exporter, NULL,
};

const gchar client_commands_overview[] =
	"Exit status: 0 success, 1 the command ran and failed (a snapshot NOT verified included),\n"
	"2 usage, 3 the agent is unreachable or did not answer within --timeout.\n\n"
	"Examples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock ping\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --qmp /run/vm1/qmp.sock snapshot -m /mnt/data --qmp-snapshot\n"
	"  qgatrace --domain vm1 --port org.qgatrace.0 dmesg --tail 20\n"
	"  qgatrace --domain vm1 doctor\n"
	"  qgatrace --connect qemu:///system fleet\n";
