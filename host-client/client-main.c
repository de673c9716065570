/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace: the host side of qgatrace; the command table and the overview */
#include "config.h"

#include "client-commands.h"

static const ClientCommand commands[] = {
	{"ping", client_cmd_ping, "check that the agent answers (handshake and guest-ping latency)"},
	{"info", client_cmd_info, "the agent's version, commands, and the guest's name and OS"},
	{"status", client_cmd_status, "frozen or thawed, and the state of tracing in the guest"},
	{"freeze", client_cmd_freeze, "freeze guest filesystems (all, or -m MOUNT...)"},
	{"thaw", client_cmd_thaw, "thaw every frozen guest filesystem"},
	{"snapshot", client_cmd_snapshot, "freeze, run a host-side snapshot, always thaw, verify from the trace"},
	{"trace", client_cmd_trace, "show a trace session: what the guest kernel recorded, per-mount verdicts"},
	{"dmesg", client_cmd_dmesg, "the guest kernel's log (--follow for new records)"},
	{"df", client_cmd_df, "guest filesystem usage beside the host's view of the disks"},
	{"doctor", client_cmd_doctor, "diagnose an unreachable agent step by step, and say what to fix"},
	{"raw", client_cmd_raw, "pass one JSON request through, print the reply"},
	{NULL},
};

static const gchar overview[] =
	"Exit status: 0 success, 1 the command ran and failed (a snapshot NOT verified included),\n"
	"2 usage, 3 the agent is unreachable or did not answer within --timeout.\n\n"
	"Examples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock ping\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --qmp /run/vm1/qmp.sock snapshot -m /mnt/data --qmp-snapshot\n"
	"  qgatrace --domain vm1 --port org.qgatrace.0 dmesg --tail 20\n"
	"  qgatrace --domain vm1 doctor\n";

int
main(int argc, char **argv)
{
	return client_cli_main(commands, overview, argc, argv);
}
