/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-cli.h"
#include "client-terminal.h"

#define CLIENT_TIMEOUT_MAX_S (24 * 3600)

void
client_cli_set_exit(ClientContext *ctx, ClientExit status)
{
	ctx->exit_status = status;
}

ClientExit
client_cli_get_exit(ClientContext *ctx)
{
	return ctx->exit_status;
}

/* ---- the global options ---- */

static void
client_cli_replace(gchar **slot, const gchar *value)
{
	g_free(*slot);
	*slot = g_strdup(value);
}

static gboolean
client_cli_nonempty(const gchar *name, const gchar *value, GError **error)
{
	if (value == NULL || value[0] == '\0') {
		client_set_usage_error(error, "option '%s' needs a non-empty value", name);
		return FALSE;
	}
	return TRUE;
}

static gboolean
client_cli_global_cb(const gchar *name, const gchar *value, gpointer data, GError **error)
{
	ClientContext *ctx = data;

	if (g_strcmp0(name, "-v") == 0 || g_strcmp0(name, "--verbose") == 0) {
		ctx->verbose++;
		return TRUE;
	}
	if (!client_cli_nonempty(name, value, error))
		return FALSE;
	if (g_strcmp0(name, "--agent") == 0 || g_strcmp0(name, "-a") == 0)
		client_cli_replace(&ctx->agent_path, value);
	else if (g_strcmp0(name, "--trace-agent") == 0)
		client_cli_replace(&ctx->trace_agent_path, value);
	else if (g_strcmp0(name, "--qmp") == 0 || g_strcmp0(name, "-q") == 0)
		client_cli_replace(&ctx->qmp_path, value);
	else if (g_strcmp0(name, "--domain") == 0 || g_strcmp0(name, "-d") == 0)
		client_cli_replace(&ctx->domain, value);
	else if (g_strcmp0(name, "--connect") == 0 || g_strcmp0(name, "-c") == 0)
		client_cli_replace(&ctx->uri, value);
	else if (g_strcmp0(name, "--port") == 0 || g_strcmp0(name, "-p") == 0)
		client_cli_replace(&ctx->port, value);
	else if (g_strcmp0(name, "--timeout") == 0 || g_strcmp0(name, "-t") == 0) {
		gchar *end = NULL;
		gdouble seconds = g_ascii_strtod(value, &end);

		if (end == value || *end != '\0' || !(seconds > 0) ||
		    seconds > CLIENT_TIMEOUT_MAX_S) {
			client_set_usage_error(
				error, "--timeout wants seconds (> 0, at most %d), not '%s'",
				CLIENT_TIMEOUT_MAX_S, value);
			return FALSE;
		}
		ctx->timeout_ms = (guint)MAX(seconds * 1000.0 + 0.5, 1.0);
	}
	return TRUE;
}

/* the callbacks are told the option's name as given: both spellings map above */
static const GOptionEntry client_cli_global_entries[] = {
	{"agent", 'a', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "the host end of the agent's virtio-serial channel: a UNIX socket (QEMU "
	 "-chardev socket,server=on)",
	 "PATH"},
	{"trace-agent", 0, 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "with --agent: qgatrace-agent's socket (port org.qgatrace.0) for the trace sessions "
	 "and the kernel log, while the freeze goes through --agent",
	 "PATH"},
	{"qmp", 'q', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "QEMU's QMP monitor socket: host-side evidence (snapshot), disk usage (df), "
	 "port state (doctor)",
	 "PATH"},
	{"domain", 'd', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "a libvirt domain: its channel sockets come from its XML", "NAME"},
	{"connect", 'c', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "the libvirt URI with --domain (default: libvirt's own default)", "URI"},
	{"port", 'p', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "with --domain: the channel to use (default org.qemu.guest_agent.0, which "
	 "goes through libvirt's agent API; any other is its socket, e.g. org.qgatrace.0)",
	 "NAME"},
	{"timeout", 't', 0, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "the longest wait for any one reply (default 10; freeze and thaw 120)", "SECONDS"},
	{"json", 'j', 0, G_OPTION_ARG_NONE, NULL, "machine-readable output on stdout, no progress",
	 NULL},
	{"verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, client_cli_global_cb,
	 "debug messages on stderr (twice: those of the libraries too)", NULL},
	{NULL},
};

GOptionGroup *
client_cli_global_group(ClientContext *ctx)
{
	GOptionGroup *group = g_option_group_new("global", "Global options",
						 "Show the global options", ctx, NULL);
	GOptionEntry entries[G_N_ELEMENTS(client_cli_global_entries)];

	memcpy(entries, client_cli_global_entries, sizeof(entries));
	for (guint i = 0; entries[i].long_name != NULL; i++) {
		if (entries[i].arg == G_OPTION_ARG_NONE)
			entries[i].arg_data = &ctx->json;
	}
	g_option_group_add_entries(group, entries);
	return group;
}

/* ---- help ---- */

#define CLIENT_HELP_WIDTH  100
#define CLIENT_HELP_COLUMN 30

static void
client_cli_append_entry(GString *out, const GOptionEntry *e)
{
	g_autoptr(GString) left = g_string_new("  ");
	g_auto(GStrv) words = NULL;
	gsize col;

	if (e->flags & G_OPTION_FLAG_HIDDEN)
		return;
	if (e->short_name != 0)
		g_string_append_printf(left, "-%c, ", e->short_name);
	else
		g_string_append(left, "    ");
	g_string_append_printf(left, "--%s", e->long_name);
	if (e->arg_description != NULL)
		g_string_append_printf(left, "=%s", e->arg_description);
	if (left->len < CLIENT_HELP_COLUMN)
		g_string_append_printf(out, "%-*s", CLIENT_HELP_COLUMN, left->str);
	else
		g_string_append_printf(out, "%s\n%-*s", left->str, CLIENT_HELP_COLUMN, "");
	/* the description wrapped at the width, continued under itself */
	words = g_strsplit(e->description, " ", -1);
	col = CLIENT_HELP_COLUMN;
	for (guint i = 0; words[i] != NULL; i++) {
		gsize len = strlen(words[i]);

		if (col > CLIENT_HELP_COLUMN && col + 1 + len > CLIENT_HELP_WIDTH) {
			g_string_append_printf(out, "\n%-*s", CLIENT_HELP_COLUMN, "");
			col = CLIENT_HELP_COLUMN;
		}
		if (col > CLIENT_HELP_COLUMN) {
			g_string_append_c(out, ' ');
			col++;
		}
		g_string_append(out, words[i]);
		col += len;
	}
	g_string_append_c(out, '\n');
}

static void
client_cli_append_paragraphs(GString *out, const gchar *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	g_string_append(out, text);
	if (!g_str_has_suffix(text, "\n"))
		g_string_append_c(out, '\n');
	g_string_append_c(out, '\n');
}

gchar *
client_cli_help_text(ClientContext *ctx, const gchar *name, const GOptionEntry *entries,
		     const gchar *params, const gchar *summary, const gchar *description)
{
	GString *out = g_string_new(NULL);
	static const GOptionEntry help = {
		"help", 'h', 0, G_OPTION_ARG_NONE, NULL, "show this help and exit", NULL};

	g_string_append_printf(out, "Usage: qgatrace [GLOBAL OPTION...] %s%s%s%s\n\n", name,
			       entries != NULL && entries[0].long_name != NULL ? " [OPTION...]"
									       : "",
			       params != NULL ? " " : "", params != NULL ? params : "");
	client_cli_append_paragraphs(out, summary);
	g_string_append(out, "Options:\n");
	for (guint i = 0; entries != NULL && entries[i].long_name != NULL; i++)
		client_cli_append_entry(out, &entries[i]);
	client_cli_append_entry(out, &help);
	g_string_append(out, "\nGlobal options (before or after the command):\n");
	for (guint i = 0; client_cli_global_entries[i].long_name != NULL; i++)
		client_cli_append_entry(out, &client_cli_global_entries[i]);
	g_string_append_c(out, '\n');
	client_cli_append_paragraphs(out, description);
	/* one trailing newline */
	while (out->len > 1 && out->str[out->len - 1] == '\n' && out->str[out->len - 2] == '\n')
		g_string_truncate(out, out->len - 1);
	return g_string_free(out, FALSE);
}

/* ---- parsing ---- */

static void
client_cli_setup_logging(ClientContext *ctx)
{
	/* stdout is for results (and --json): every log line goes to stderr */
	g_log_writer_default_set_use_stderr(TRUE);
	if (ctx->verbose >= 2)
		g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
	else if (ctx->verbose == 1)
		g_setenv("G_MESSAGES_DEBUG", "qgatrace-client qgatrace-common", TRUE);
}

gboolean
client_cli_parse_globals(ClientContext *ctx, gint argc, gchar **argv, gchar ***rest, gboolean *help,
			 GError **error)
{
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_autofree gchar **args = NULL;
	gboolean want_help = FALSE;
	gboolean want_version = FALSE;
	gint n = argc;
	const GOptionEntry extra[] = {
		{"help", 'h', 0, G_OPTION_ARG_NONE, &want_help, "show the overview and exit", NULL},
		{"version", 'V', 0, G_OPTION_ARG_NONE, &want_version, "print the version and exit",
		 NULL},
		{NULL},
	};

	/* the command name ends the global options */
	g_option_context_set_strict_posix(context, TRUE);
	g_option_context_set_help_enabled(context, FALSE);
	g_option_context_set_main_group(context, client_cli_global_group(ctx));
	g_option_context_add_main_entries(context, extra, NULL);
	/* GOption drops what it parsed from the array without freeing it: borrowed strings */
	args = g_new0(gchar *, argc + 1);
	memcpy(args, argv, sizeof(gchar *) * (gsize)argc);
	if (!g_option_context_parse(context, &n, &args, error))
		return FALSE;
	*help = want_help;
	if (want_version) {
		/* as --help: a command of its own, with nothing after it */
		*rest = g_new0(gchar *, 2);
		(*rest)[0] = g_strdup("--version");
		return TRUE;
	}
	/* drop argv[0] */
	*rest = g_strdupv(args + 1);
	return TRUE;
}

gboolean
client_cli_parse(ClientContext *ctx, gchar **argv, const GOptionEntry *entries, const gchar *params,
		 const gchar *summary, const gchar *description, gchar ***args, gboolean *help,
		 GError **error)
{
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	/* borrowed strings, as above */
	g_autofree gchar **copy = g_memdup2(argv, sizeof(gchar *) * (g_strv_length(argv) + 1));
	gint n = (gint)g_strv_length(argv);
	gboolean want_help = FALSE;
	const GOptionEntry help_entries[] = {
		{"help", 'h', 0, G_OPTION_ARG_NONE, &want_help, "show this help and exit", NULL},
		{NULL},
	};

	g_return_val_if_fail(argv != NULL && argv[0] != NULL, FALSE);

	*help = FALSE;
	g_option_context_set_help_enabled(context, FALSE);
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, help_entries, NULL);
	g_option_context_add_group(context, client_cli_global_group(ctx));
	if (!g_option_context_parse(context, &n, &copy, error))
		return FALSE;
	/* -v may come after the command name */
	client_cli_setup_logging(ctx);
	if (want_help) {
		g_autofree gchar *text =
			client_cli_help_text(ctx, argv[0], entries, params, summary, description);

		fputs(text, stdout);
		fflush(stdout);
		*help = TRUE;
		return TRUE;
	}
	/* "--" is left in place by GOption when it ends the options */
	if (n > 1 && g_strcmp0(copy[1], "--") == 0) {
		memmove(&copy[1], &copy[2], sizeof(gchar *) * (gsize)(n - 1));
		n--;
	}
	if (args == NULL && n > 1) {
		client_set_usage_error(error, "unexpected argument '%s'", copy[1]);
		return FALSE;
	}
	if (args != NULL)
		*args = g_strdupv(copy + 1);
	return TRUE;
}

/* ---- main ---- */

static void
client_cli_print_overview(FILE *out, const ClientCommand *const *commands, const gchar *overview)
{
	fputs("Usage: qgatrace [GLOBAL OPTION...] COMMAND [ARGS...]\n\n"
	      "Talks to a QEMU guest agent (qgatrace-agent or stock qemu-ga) from the host: over the\n"
	      "host end of its virtio-serial channel (--agent), QEMU's QMP socket (--qmp) or a libvirt\n"
	      "domain (--domain). 'qgatrace COMMAND --help' describes each command.\n\n"
	      "Commands:\n",
	      out);
	for (guint i = 0; commands[i] != NULL; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\nGlobal options:\n", out);
	for (guint i = 0; client_cli_global_entries[i].long_name != NULL; i++) {
		g_autoptr(GString) line = g_string_new(NULL);

		client_cli_append_entry(line, &client_cli_global_entries[i]);
		fputs(line->str, out);
	}
	fputs("  -h, --help                  show this overview\n"
	      "  -V, --version               print the version\n\n",
	      out);
	if (overview != NULL)
		fputs(overview, out);
}

/* a command's options struct, and its entries pointed into it */
typedef struct {
	const ClientCommand *cmd;
	gpointer data;
	GOptionEntry *entries;
} ClientCliOptions;

static void
client_cli_options_init(ClientCliOptions *self, const ClientCommand *cmd)
{
	guint n = 0;

	self->cmd = cmd;
	if (cmd->options == NULL)
		return;
	self->data = cmd->options_defaults != NULL
			     ? g_memdup2(cmd->options_defaults, cmd->options_size)
			     : g_malloc0(cmd->options_size);
	while (cmd->options[n].long_name != NULL)
		n++;
	self->entries = g_memdup2(cmd->options, sizeof(GOptionEntry) * (n + 1));
	for (guint i = 0; i < n; i++) {
		gsize offset = GPOINTER_TO_SIZE(cmd->options[i].arg_data);

		self->entries[i].arg_data = (guint8 *)self->data + offset;
	}
}

static void
client_cli_options_clear(ClientCliOptions *self)
{
	for (guint i = 0; self->entries != NULL && self->entries[i].long_name != NULL; i++) {
		gpointer field = self->entries[i].arg_data;

		switch (self->entries[i].arg) {
		case G_OPTION_ARG_STRING:
		case G_OPTION_ARG_FILENAME:
			g_free(*(gchar **)field);
			break;
		case G_OPTION_ARG_STRING_ARRAY:
		case G_OPTION_ARG_FILENAME_ARRAY:
			g_strfreev(*(gchar ***)field);
			break;
		default:
			break;
		}
	}
	g_free(self->entries);
	g_free(self->data);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ClientCliOptions, client_cli_options_clear)

/* what every command shares: its options, --help, its checks, the agent */
static gboolean
client_cli_run(ClientContext *ctx, const ClientCommand *cmd, gchar **argv, GError **error)
{
	g_auto(ClientCliOptions) options = {NULL};
	g_autoptr(ClientTarget) target = NULL;
	g_auto(GStrv) args = NULL;
	gboolean help = FALSE;
	ClientInvocation inv = {ctx};

	client_cli_options_init(&options, cmd);
	if (!client_cli_parse(ctx, argv, options.entries, cmd->params, cmd->help, cmd->help_tail,
			      cmd->params != NULL ? &args : NULL, &help, error))
		return FALSE;
	if (help)
		return TRUE;
	if (cmd->check != NULL && !cmd->check(ctx, options.data, args, error))
		return FALSE;
	if (cmd->flags & CLIENT_COMMAND_SIGNALS)
		client_context_catch_signals(ctx);
	target = client_target_new(ctx);
	inv.target = target;
	inv.options = options.data;
	inv.args = args;
	if (cmd->flags & CLIENT_COMMAND_AGENT) {
		inv.conn = client_target_get_conn(target, error);
		if (inv.conn == NULL)
			return FALSE;
	}
	return cmd->run(&inv, error);
}

static void
client_cli_print_error(ClientContext *ctx, const gchar *command, const GError *error)
{
	g_autofree gchar *line = g_strdup(error->message);
	g_autofree gchar *message = NULL;

	/* one line: the cause, whatever the layers below said; the agent's
	 * own error texts reach it too, so it is escaped for the terminal */
	g_strdelimit(line, "\n\r", ' ');
	g_strstrip(line);
	message = client_terminal_escape(line);
	if (command != NULL && client_exit_for_error(error) == CLIENT_EXIT_USAGE)
		fprintf(stderr, "qgatrace: %s: %s (see 'qgatrace %s --help')\n", command, message,
			command);
	else if (command != NULL)
		fprintf(stderr, "qgatrace: %s: %s\n", command, message);
	else
		fprintf(stderr, "qgatrace: %s (see 'qgatrace --help')\n", message);
	fflush(stderr);
}

gint
client_cli_main(const ClientCommand *const *commands, const gchar *overview, gint argc,
		gchar **argv)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) rest = NULL;
	gboolean help = FALSE;
	const ClientCommand *cmd = NULL;
	const gchar *name;

	setlocale(LC_ALL, "");
	if (g_get_prgname() == NULL)
		g_set_prgname("qgatrace");
	if (!client_cli_parse_globals(ctx, argc, argv, &rest, &help, &error)) {
		client_cli_print_error(ctx, NULL, error);
		return CLIENT_EXIT_USAGE;
	}
	name = rest[0];
	if (g_strcmp0(name, "--version") == 0) {
		printf("qgatrace %s\n", PACKAGE_VERSION);
		return CLIENT_EXIT_OK;
	}
	if (help || g_strcmp0(name, "help") == 0) {
		/* "qgatrace help snapshot" is "qgatrace snapshot --help" */
		if (name != NULL && rest[1] != NULL) {
			gchar **help_argv = g_new0(gchar *, 3);

			help_argv[0] = g_strdup(rest[1]);
			help_argv[1] = g_strdup("--help");
			g_strfreev(rest);
			rest = help_argv;
			name = rest[0];
		} else {
			client_cli_print_overview(stdout, commands, overview);
			return CLIENT_EXIT_OK;
		}
	}
	if (name == NULL) {
		fputs("Usage: qgatrace [GLOBAL OPTION...] COMMAND [ARGS...]\nCommands:", stderr);
		for (guint i = 0; commands[i] != NULL; i++)
			fprintf(stderr, " %s", commands[i]->name);
		fputs("\nqgatrace: no command given (see 'qgatrace --help')\n", stderr);
		return CLIENT_EXIT_USAGE;
	}
	for (guint i = 0; commands[i] != NULL; i++) {
		if (g_strcmp0(commands[i]->name, name) == 0)
			cmd = commands[i];
	}
	if (cmd == NULL) {
		g_autoptr(GString) names = g_string_new(NULL);

		for (guint i = 0; commands[i] != NULL; i++)
			g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", commands[i]->name);
		fprintf(stderr,
			"qgatrace: unknown command '%s' (commands: %s; see 'qgatrace --help')\n",
			name, names->str);
		return CLIENT_EXIT_USAGE;
	}
	ctx->command = cmd->name;
	client_cli_setup_logging(ctx);
	if (!client_cli_run(ctx, cmd, rest, &error)) {
		client_cli_print_error(ctx, cmd->name, error);
		return client_exit_for_error(error);
	}
	fflush(stdout);
	return client_cli_get_exit(ctx);
}
