#include "config.h"

#include "qga-commands.h"

static const QgaCommand *const qga_command_tables[] = {
	cmd_core_commands,
	cmd_dmesg_commands,
	cmd_fsfreeze_commands,
	cmd_fsinfo_commands,
	cmd_system_commands,
	cmd_trace_commands,
};

const QgaCommand *
qga_commands_lookup(const gchar *name)
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
qga_commands_foreach(void (*func)(const QgaCommand *cmd, gpointer user_data), gpointer user_data)
{
	for (gsize i = 0; i < G_N_ELEMENTS(qga_command_tables); i++) {
		for (const QgaCommand *cmd = qga_command_tables[i]; cmd->name != NULL; cmd++)
			func(cmd, user_data);
	}
}
