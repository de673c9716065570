/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-context.h"

G_BEGIN_DECLS

/* The command line: `qgatrace [GLOBAL] COMMAND [ARGS]`. client-main.c holds the
 * command table and the overview; each client-cmd-<name>.c parses its own options
 * with client_cli_parse() and prints its own output, --json included. */

/* a command: @argv[0] is its name; FALSE with @error ends the process
 * with client_exit_for_error(); TRUE with *@exit_status set otherwise */
typedef gboolean (*ClientCommandFunc)(ClientContext *ctx, gchar **argv, GError **error);

typedef struct {
	const gchar *name;
	ClientCommandFunc run;
	const gchar *summary; /* one line, for the overview */
} ClientCommand;

/* a command's exit status other than 0 without an error line: set by a
 * command that printed its own verdict (snapshot NOT verified, doctor) */
void client_cli_set_exit(ClientContext *ctx, ClientExit status);
ClientExit client_cli_get_exit(ClientContext *ctx);

/* the global options as a group that writes into @ctx (for every command's
 * --help too); transfer full */
GOptionGroup *client_cli_global_group(ClientContext *ctx);

/**
 * client_cli_parse_globals:
 * Parses the global options at the front of @argv (up to the command name).
 * @rest: (out) (transfer full): the command and its arguments
 * @help: (out): --help (or -h) was given before any command
 * Returns: FALSE with a usage error (G_OPTION_ERROR)
 */
gboolean client_cli_parse_globals(ClientContext *ctx, gint argc, gchar **argv, gchar ***rest,
				  gboolean *help, GError **error);

/**
 * client_cli_parse:
 * @argv: the command's arguments, argv[0] its name
 * @entries: its own options (NULL-terminated), or NULL
 * @params: what follows the options in the synopsis ("JSON"), or NULL
 * @summary: the command's DESCRIPTION paragraph(s)
 * @description: what follows the option list: OUTPUT, EXIT STATUS, EXAMPLES
 * @args: (out) (transfer full) (optional): the positional arguments; with
 *   @args NULL any positional argument is a usage error
 * @help: (out): --help was given; its text went to stdout
 *
 * Parses a command's options; global options are accepted after the command
 * name too ("qgatrace ping --json").
 * Returns: FALSE with a usage error (G_OPTION_ERROR)
 */
gboolean client_cli_parse(ClientContext *ctx, gchar **argv, const GOptionEntry *entries,
			  const gchar *params, const gchar *summary, const gchar *description,
			  gchar ***args, gboolean *help, GError **error);

/* the --help text client_cli_parse() prints; for the tests */
gchar *client_cli_help_text(ClientContext *ctx, const gchar *name, const GOptionEntry *entries,
			    const gchar *params, const gchar *summary, const gchar *description);

/**
 * client_cli_main:
 * Parses the globals, finds the command in @commands (NULL-name
 * terminated), runs it, prints a failure as one line on stderr
 * ("qgatrace: COMMAND: MESSAGE") and returns the exit status.
 * @overview: the text `qgatrace --help` prints after the command list
 */
gint client_cli_main(const ClientCommand *commands, const gchar *overview, gint argc, gchar **argv);

G_END_DECLS
