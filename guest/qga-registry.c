/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-registry.h"

/* one table a line, as qga-registry.h declares them */
/* clang-format off */
static const QgaCommand *const qga_command_tables[] = {
	qga_cmd_core_commands,
	qga_cmd_dmesg_commands,
	qga_cmd_fsfreeze_commands,
	qga_cmd_fsinfo_commands,
	qga_cmd_system_commands,
	qga_cmd_trace_commands,
};
/* clang-format on */

const QgaCommand *
qga_registry_lookup(const gchar *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(qga_command_tables); i++) {
		for (const QgaCommand *cmd = qga_command_tables[i]; cmd->name != NULL; cmd++) {
			if (g_strcmp0(cmd->name, name) == 0)
				return cmd;
		}
	}
	return NULL;
}

void
qga_registry_foreach(void (*func)(const QgaCommand *cmd, gpointer user_data), gpointer user_data)
{
	for (gsize i = 0; i < G_N_ELEMENTS(qga_command_tables); i++) {
		for (const QgaCommand *cmd = qga_command_tables[i]; cmd->name != NULL; cmd++)
			func(cmd, user_data);
	}
}
