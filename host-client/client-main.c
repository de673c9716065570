/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace: the host side of qgatrace; the commands are in client-commands.c */
#include "config.h"

#include "client-commands.h"

int
main(int argc, char **argv)
{
	return client_cli_main(client_commands, client_commands_overview, argc, argv);
}
