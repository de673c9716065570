/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "qga-agent.h"
#include "qga-cmd-dmesg.h"
#include "qga-registry.h"
#include "qga-config.h"
#include "qga-log.h"

/* the command line, applied over the config file: it is read after it */
typedef struct {
	gchar *config;
	gchar *method;
	gchar *path;
	gchar *statedir;
	gchar *logfile;
	gchar *pidfile;
	gchar *hook;
	gboolean hook_set;
	gchar **block_rpcs;
	gchar **allow_rpcs;
	gint freeze_timeout;
	gboolean no_trace;
	gchar *trace_functions;
	gint trace_buffer_kb;
	gint trace_sessions;
	gchar *trace_plugin_dir;
	gboolean verbose;
	gboolean dump_conf;
	gboolean version;
	gchar *dmesg;
	gchar *root;
	GPtrArray *rewritten; /* argv entries we replaced */
} AgentOptions;

static AgentOptions opts = {.freeze_timeout = -1, .trace_buffer_kb = -1, .trace_sessions = -1};

static gboolean
agent_option_hook_cb(const gchar *name, const gchar *value, gpointer data, GError **error)
{
	/* -F alone enables the default hook, as qemu-ga */
	opts.hook_set = TRUE;
	g_free(opts.hook);
	opts.hook = g_strdup(value != NULL ? value : QGA_DEFAULT_HOOK);
	return TRUE;
}

/* qemu-ga takes the hook path glued to -F ("-F/etc/hook", getopt's
 * optional argument); GOption knows that only in the long form */
static void
agent_normalize_hook_option(gint argc, gchar **argv)
{
	for (gint i = 1; i < argc && g_strcmp0(argv[i], "--") != 0; i++) {
		if (g_str_has_prefix(argv[i], "-F") && argv[i][2] != '\0') {
			/* GOption drops parsed entries from argv: own them here */
			argv[i] = g_strconcat("--fsfreeze-hook=", argv[i] + 2, NULL);
			g_ptr_array_add(opts.rewritten, argv[i]);
		}
	}
}

static const GOptionEntry agent_options[] = {
	{"config", 'c', 0, G_OPTION_ARG_FILENAME, &opts.config,
	 "configuration file (default " QGA_DEFAULT_CONFIG ")", "PATH"},
	{"method", 'm', 0, G_OPTION_ARG_STRING, &opts.method,
	 "transport: virtio-serial (default), isa-serial or unix-listen", "METHOD"},
	{"path", 'p', 0, G_OPTION_ARG_FILENAME, &opts.path,
	 "device path, virtio port name (default " QGA_DEFAULT_PORT_NAME ") or socket path",
	 "PATH"},
	{"statedir", 't', 0, G_OPTION_ARG_FILENAME, &opts.statedir,
	 "directory for state files, on tmpfs (default " QGA_DEFAULT_STATEDIR ")", "DIR"},
	{"logfile", 'l', 0, G_OPTION_ARG_FILENAME, &opts.logfile, "log file (default stderr)",
	 "PATH"},
	{"pidfile", 'f', 0, G_OPTION_ARG_FILENAME, &opts.pidfile, "write the pid to PATH", "PATH"},
	{"fsfreeze-hook", 'F', G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
	 agent_option_hook_cb, "run an fsfreeze hook (default " QGA_DEFAULT_HOOK ")", "PATH"},
	{"block-rpcs", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &opts.block_rpcs,
	 "comma-separated commands to disable ('help' lists them)", "LIST"},
	{"allow-rpcs", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &opts.allow_rpcs,
	 "comma-separated commands to allow, all others disabled ('help' lists them)", "LIST"},
	{"freeze-timeout", 0, 0, G_OPTION_ARG_INT, &opts.freeze_timeout,
	 "thaw automatically after SECONDS frozen (default 60, 0: never)", "SECONDS"},
	{"no-trace", 0, 0, G_OPTION_ARG_NONE, &opts.no_trace, "do not trace freezes with ftrace",
	 NULL},
	{"trace-functions", 0, 0, G_OPTION_ARG_STRING, &opts.trace_functions,
	 "comma-separated kernel functions traced around a freeze (default: freeze_super, thaw_super, ...)",
	 "LIST"},
	{"trace-buffer-kb", 0, 0, G_OPTION_ARG_INT, &opts.trace_buffer_kb,
	 "trace ring buffer per CPU in KB (default 128)", "KB"},
	{"trace-sessions", 0, 0, G_OPTION_ARG_INT, &opts.trace_sessions,
	 "trace sessions kept in memory (default 16)", "N"},
	{"trace-plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &opts.trace_plugin_dir,
	 "where qgatrace-fsfreeze-hook stores the sessions of stock qemu-ga (default " QGA_DEFAULT_TRACE_PLUGIN_DIR
	 ")",
	 "DIR"},
	{"verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose, "log debug messages", NULL},
	{"dump-conf", 'D', 0, G_OPTION_ARG_NONE, &opts.dump_conf,
	 "print the effective configuration and exit", NULL},
	{"version", 'V', 0, G_OPTION_ARG_NONE, &opts.version, "print the version and exit", NULL},
	{"dmesg", 0, 0, G_OPTION_ARG_STRING, &opts.dmesg,
	 "print guest-dmesg's reply to the arguments ARGS (JSON, '{}' for none) and exit, "
	 "with no channel (for stock qemu-ga's guest-exec)",
	 "ARGS"},
	/* tests: the root /dev, /proc and /sys are read under */
	{"root", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opts.root, NULL, "DIR"},
	{NULL},
};

static void
agent_options_clear(void)
{
	g_free(opts.config);
	g_free(opts.method);
	g_free(opts.path);
	g_free(opts.statedir);
	g_free(opts.logfile);
	g_free(opts.pidfile);
	g_free(opts.hook);
	g_free(opts.trace_functions);
	g_free(opts.trace_plugin_dir);
	g_free(opts.dmesg);
	g_free(opts.root);
	g_strfreev(opts.block_rpcs);
	g_strfreev(opts.allow_rpcs);
	g_ptr_array_unref(opts.rewritten);
}

static void
agent_print_command(const QgaCommand *cmd, gpointer user_data)
{
	g_print("%s\n", cmd->name);
}

static gboolean
agent_wants_rpc_help(gchar **lists)
{
	return lists != NULL && g_strv_contains((const gchar *const *)lists, "help");
}

static void
agent_replace(gchar **dest, const gchar *value)
{
	if (value == NULL)
		return;
	g_free(*dest);
	*dest = g_strdup(value);
}

static gboolean
agent_apply_trace_options(QgaConfig *config, GError **error)
{
	if (opts.no_trace)
		config->trace_enabled = FALSE;
	if (opts.trace_functions != NULL &&
	    !qga_config_set_trace_functions(config, opts.trace_functions, error))
		return FALSE;
	if (opts.trace_buffer_kb != -1) {
		if (opts.trace_buffer_kb < 1 || opts.trace_buffer_kb > QGA_TRACE_BUFFER_KB_MAX) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--trace-buffer-kb wants 1 to %d", QGA_TRACE_BUFFER_KB_MAX);
			return FALSE;
		}
		config->trace_buffer_kb = opts.trace_buffer_kb;
	}
	if (opts.trace_sessions != -1) {
		if (opts.trace_sessions < 1 || opts.trace_sessions > QGA_TRACE_SESSIONS_MAX) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--trace-sessions wants 1 to %d", QGA_TRACE_SESSIONS_MAX);
			return FALSE;
		}
		config->trace_sessions = opts.trace_sessions;
	}
	if (opts.trace_plugin_dir != NULL) {
		if (!g_path_is_absolute(opts.trace_plugin_dir)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--trace-plugin-dir wants an absolute path, not '%s'",
				    opts.trace_plugin_dir);
			return FALSE;
		}
		agent_replace(&config->trace_plugin_dir, opts.trace_plugin_dir);
	}
	return TRUE;
}

static gboolean
agent_apply_options(QgaConfig *config, GError **error)
{
	if (!qga_config_load_file(config, opts.config ? opts.config : QGA_DEFAULT_CONFIG,
				  opts.config != NULL, error))
		return FALSE;
	if (opts.method != NULL && !qga_method_from_string(opts.method, &config->method, error))
		return FALSE;
	agent_replace(&config->path, opts.path);
	agent_replace(&config->statedir, opts.statedir);
	agent_replace(&config->logfile, opts.logfile);
	agent_replace(&config->pidfile, opts.pidfile);
	if (opts.hook_set)
		agent_replace(&config->fsfreeze_hook, opts.hook);
	for (guint i = 0; opts.block_rpcs != NULL && opts.block_rpcs[i] != NULL; i++) {
		if (!qga_config_add_rpcs(&config->block_rpcs, opts.block_rpcs[i], error))
			return FALSE;
	}
	for (guint i = 0; opts.allow_rpcs != NULL && opts.allow_rpcs[i] != NULL; i++) {
		if (!qga_config_add_rpcs(&config->allow_rpcs, opts.allow_rpcs[i], error))
			return FALSE;
	}
	if (opts.freeze_timeout >= 0)
		config->freeze_timeout = opts.freeze_timeout;
	if (!agent_apply_trace_options(config, error))
		return FALSE;
	config->verbose |= opts.verbose;
	if (qga_config_get_path(config) == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "unix-listen needs a socket path (-p)");
		return FALSE;
	}
	return TRUE;
}

static gboolean
agent_write_pidfile(const gchar *path, GError **error)
{
	g_autofree gchar *pid = g_strdup_printf("%d\n", (gint)getpid());

	if (!g_file_set_contents(path, pid, -1, error)) {
		g_prefix_error(error, "writing pidfile: ");
		return FALSE;
	}
	return TRUE;
}

/* --dmesg: no config, channel, log or pidfile; the reply on stdout, an
 * error as its desc on stderr */
static gint
agent_dmesg_once(void)
{
	g_autoptr(QgaPaths) paths = qga_paths_new(opts.root != NULL ? opts.root : "/");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply = qga_cmd_dmesg_once(paths, opts.dmesg, &error);

	if (reply == NULL) {
		g_printerr("qgatrace-agent: %s\n", error->message);
		return EXIT_FAILURE;
	}
	g_print("%s\n", reply);
	return EXIT_SUCCESS;
}

static gint
agent_run(QgaConfig *config, const gchar *root)
{
	g_autoptr(QgaState) state = qga_state_new(config->statedir);
	g_autoptr(QgaPaths) paths = qga_paths_new(root != NULL ? root : "/");
	g_autoptr(QgaLog) log = NULL;
	g_autoptr(QgaAgent) agent = NULL;
	g_autoptr(GError) error = NULL;
	gint status = EXIT_SUCCESS;

	log = qga_log_new(state, config->logfile, config->verbose, &error);
	if (log == NULL) {
		g_printerr("qgatrace-agent: %s\n", error->message);
		return EXIT_FAILURE;
	}
	agent = qga_agent_new(config, paths, state, &error);
	if (agent == NULL) {
		g_critical("%s", error->message);
		return EXIT_FAILURE;
	}
	/* only once nothing is frozen: the pidfile may be on any filesystem */
	if (config->pidfile != NULL && !agent_write_pidfile(config->pidfile, &error)) {
		g_critical("%s", error->message);
		return EXIT_FAILURE;
	}
	g_message("qgatrace-agent %s started on %s '%s'", PACKAGE_VERSION,
		  qga_method_to_string(config->method), qga_config_get_path(config));
	if (!qga_agent_run(agent, &error)) {
		g_critical("%s", error->message);
		status = EXIT_FAILURE;
	}
	g_clear_pointer(&agent, qga_agent_free);
	if (config->pidfile != NULL)
		unlink(config->pidfile);
	return status;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- qgatrace guest agent");
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *root = NULL;
	sigset_t sigio;
	gint status;

	/* before any thread exists: SIGIO is read through a signalfd, and its
	 * default action would kill us */
	sigemptyset(&sigio);
	sigaddset(&sigio, SIGIO);
	pthread_sigmask(SIG_BLOCK, &sigio, NULL);
	signal(SIGPIPE, SIG_IGN);

	opts.rewritten = g_ptr_array_new_with_free_func(g_free);
	agent_normalize_hook_option(argc, argv);
	g_option_context_add_main_entries(context, agent_options, NULL);
	g_option_context_set_summary(
		context,
		"A QEMU Guest Agent compatible daemon with traced fsfreeze and kernel log export.");
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("qgatrace-agent: %s\n", error->message);
		agent_options_clear();
		return 2;
	}
	if (argc > 1) {
		g_printerr("qgatrace-agent: unexpected argument '%s'\n", argv[1]);
		agent_options_clear();
		return 2;
	}
	if (opts.version) {
		g_print("qgatrace-agent %s (QEMU Guest Agent protocol)\n", PACKAGE_VERSION);
		agent_options_clear();
		return EXIT_SUCCESS;
	}
	if (opts.dmesg != NULL) {
		status = agent_dmesg_once();
		agent_options_clear();
		return status;
	}
	if (agent_wants_rpc_help(opts.block_rpcs) || agent_wants_rpc_help(opts.allow_rpcs)) {
		qga_registry_foreach(agent_print_command, NULL);
		agent_options_clear();
		return EXIT_SUCCESS;
	}
	if (!agent_apply_options(config, &error)) {
		g_printerr("qgatrace-agent: %s\n", error->message);
		agent_options_clear();
		return 2;
	}
	root = g_steal_pointer(&opts.root);
	agent_options_clear();
	if (opts.dump_conf) {
		g_autofree gchar *data = qga_config_to_data(config);
		g_print("%s", data);
		return EXIT_SUCCESS;
	}
	status = agent_run(config, root);
	return status;
}
