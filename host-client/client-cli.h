/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-context.h"
#include "client-target.h"

G_BEGIN_DECLS

/* The command line: `qgatrace [GLOBAL] COMMAND [ARGS]`. client-commands.c holds
 * the command table and the overview; each client-cmd-<name>.c describes its
 * command (help, options, what it needs) and prints its own output, --json
 * included. client_cli_main() parses the options, answers --help and opens
 * the agent for the commands that need it. */

typedef enum {
	CLIENT_COMMAND_NONE = 0,
	CLIENT_COMMAND_AGENT = 1 << 0,	 /* connected to the agent before run() */
	CLIENT_COMMAND_SIGNALS = 1 << 1, /* SIGINT/SIGTERM/SIGHUP noted from before connecting on */
} ClientCommandFlags;

/* what run() gets */
typedef struct {
	ClientContext *ctx;
	ClientTarget *target;
	ClientConn *conn; /* with CLIENT_COMMAND_AGENT: the agent, handshaken; else NULL */
	gpointer options; /* the command's options, parsed; NULL when it has none */
	gchar **args;	  /* the positional arguments when it takes some (params); else NULL */
} ClientInvocation;

/* FALSE with @error ends the process with client_exit_for_error(); TRUE
 * with client_cli_set_exit()'s status otherwise */
typedef gboolean (*ClientCommandFunc)(ClientInvocation *inv, GError **error);

/* checks the options and arguments before anything is connected */
typedef gboolean (*ClientCommandCheck)(ClientContext *ctx, gconstpointer options, gchar **args,
				       GError **error);

/* an option's arg_data in ClientCommand.options: where in the options struct it goes */
#define CLIENT_OPTION(type, member) GSIZE_TO_POINTER(G_STRUCT_OFFSET(type, member))

typedef struct {
	const gchar *name;
	const gchar *summary; /* one line, for the overview */
	/* --help: what follows the options in the synopsis ("JSON"; NULL: no
	 * positional arguments), the DESCRIPTION paragraph(s), and what follows
	 * the option list (OUTPUT, EXIT STATUS, EXAMPLES) */
	const gchar *params;
	const gchar *help;
	const gchar *help_tail;
	/* (nullable): its own options, arg_data CLIENT_OPTION(); they fill a
	 * struct of options_size bytes that starts as a copy of
	 * options_defaults (NULL: zeroes) and whose strings are freed after run() */
	const GOptionEntry *options;
	gsize options_size;
	gconstpointer options_defaults;
	ClientCommandFlags flags;
	ClientCommandCheck check; /* (nullable) */
	ClientCommandFunc run;
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
 * Parses a command's options (client_cli_main() does it for every command
 * from its ClientCommand); global options are accepted after the command
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
 * Parses the globals, finds the command in @commands (NULL-terminated),
 * parses its options, answers --help, checks, connects to the agent when
 * the command needs it and runs it; prints a failure as one line on stderr
 * ("qgatrace: COMMAND: MESSAGE") and returns the exit status.
 * @overview: the text `qgatrace --help` prints after the command list
 */
gint client_cli_main(const ClientCommand *const *commands, const gchar *overview, gint argc,
		     gchar **argv);

G_END_DECLS
