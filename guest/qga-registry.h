/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "qga-command.h"

G_BEGIN_DECLS

/* every command table, one per topic file */
extern const QgaCommand qga_cmd_core_commands[];
extern const QgaCommand qga_cmd_dmesg_commands[];
extern const QgaCommand qga_cmd_fsfreeze_commands[];
extern const QgaCommand qga_cmd_fsinfo_commands[];
extern const QgaCommand qga_cmd_system_commands[];
extern const QgaCommand qga_cmd_trace_commands[];

/**
 * qga_registry_lookup:
 * Returns: (transfer none) (nullable): the command called @name
 */
const QgaCommand *qga_registry_lookup(const gchar *name);

/* calls @func for every command, in registration order */
void qga_registry_foreach(void (*func)(const QgaCommand *cmd, gpointer user_data),
			  gpointer user_data);

G_END_DECLS
