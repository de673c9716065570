/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host client's command line: global options before and after the
 * command, each command's options and positional arguments, --help, and the
 * exit statuses usage errors and failures map to. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "client-commands.h"
#include "qga-error.h"

static gboolean
parse_globals(ClientContext *ctx, GStrv *rest, gboolean *help, GError **error, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const gchar *arg;
	va_list ap;

	g_ptr_array_add(argv, (gpointer) "qgatrace");
	va_start(ap, error);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	return client_cli_parse_globals(ctx, (gint)argv->len - 1, (gchar **)argv->pdata, rest, help,
					error);
}

static void
test_client_cli_globals(void **state)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) rest = NULL;
	gboolean help = TRUE;

	assert_true(parse_globals(ctx, &rest, &help, &error, "--agent", "/run/a.sock", "-q",
				  "/run/qmp.sock", "--timeout", "2.5", "--json", "-v", "-v",
				  "snapshot", "-m", "/mnt/data", "--json", NULL));
	assert_null(error);
	assert_false(help);
	assert_string_equal(ctx->agent_path, "/run/a.sock");
	assert_string_equal(ctx->qmp_path, "/run/qmp.sock");
	assert_int_equal(ctx->timeout_ms, 2500);
	assert_true(ctx->json);
	assert_int_equal(ctx->verbose, 2);
	/* the command name ends the global options: the rest is the command's */
	assert_int_equal(g_strv_length(rest), 4);
	assert_string_equal(rest[0], "snapshot");
	assert_string_equal(rest[1], "-m");
	assert_string_equal(rest[3], "--json");
	assert_int_equal(client_context_timeout_ms(ctx, 99), 2500);
}

static void
test_client_cli_globals_domain(void **state)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) rest = NULL;
	g_autofree gchar *target = NULL;
	gboolean help = FALSE;

	assert_true(parse_globals(ctx, &rest, &help, &error, "-d", "vm1", "--connect",
				  "qemu:///system", "--port", "org.qgatrace.0", "ping", NULL));
	assert_string_equal(ctx->domain, "vm1");
	assert_string_equal(ctx->uri, "qemu:///system");
	assert_string_equal(ctx->port, "org.qgatrace.0");
	assert_int_equal(client_context_timeout_ms(ctx, 1234), 1234);
	target = client_context_describe_target(ctx);
	assert_string_equal(target, "domain 'vm1' (port 'org.qgatrace.0')");
}

static void
test_client_cli_globals_errors(void **state)
{
	static const gchar *const bad_timeouts[] = {"0", "-1", "abc", "1x", "", "100000", NULL};

	for (guint i = 0; bad_timeouts[i] != NULL; i++) {
		g_autoptr(ClientContext) ctx = client_context_new();
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) rest = NULL;
		gboolean help = FALSE;

		assert_false(parse_globals(ctx, &rest, &help, &error, "--timeout", bad_timeouts[i],
					   "ping", NULL));
		assert_int_equal(client_exit_for_error(error), CLIENT_EXIT_USAGE);
	}
	{
		g_autoptr(ClientContext) ctx = client_context_new();
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) rest = NULL;
		gboolean help = FALSE;

		assert_false(parse_globals(ctx, &rest, &help, &error, "--bogus", "ping", NULL));
		assert_int_equal(client_exit_for_error(error), CLIENT_EXIT_USAGE);
	}
	{
		g_autoptr(ClientContext) ctx = client_context_new();
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) rest = NULL;
		gboolean help = FALSE;

		assert_false(parse_globals(ctx, &rest, &help, &error, "--agent", "", "ping", NULL));
		assert_int_equal(client_exit_for_error(error), CLIENT_EXIT_USAGE);
	}
}

static void
test_client_cli_command_options(void **state)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) mounts = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *exec = NULL;
	gboolean help = TRUE;
	gboolean flag = FALSE;
	gchar *argv[] = {"snapshot", "-m",	"/a",	   "--exec", "true", "--mountpoint=/b",
			 "--json",   "--agent", "/x.sock", "-t",     "3",    "--flag",
			 "--",	     "-pos",	NULL};
	const GOptionEntry entries[] = {
		{"mountpoint", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &mounts, "m", "MOUNT"},
		{"exec", 'e', 0, G_OPTION_ARG_STRING, &exec, "e", "CMD"},
		{"flag", 0, 0, G_OPTION_ARG_NONE, &flag, "f", NULL},
		{NULL},
	};

	assert_true(client_cli_parse(ctx, argv, entries, "ARGS", "summary", "description", &args,
				     &help, &error));
	assert_null(error);
	assert_false(help);
	assert_int_equal(g_strv_length(mounts), 2);
	assert_string_equal(mounts[1], "/b");
	assert_string_equal(exec, "true");
	assert_true(flag);
	/* global options after the command name */
	assert_true(ctx->json);
	assert_string_equal(ctx->agent_path, "/x.sock");
	assert_int_equal(ctx->timeout_ms, 3000);
	/* "--" ends the options; what follows is positional */
	assert_int_equal(g_strv_length(args), 1);
	assert_string_equal(args[0], "-pos");
}

static void
test_client_cli_positional_rejected(void **state)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	g_autoptr(GError) error = NULL;
	gboolean help = FALSE;
	gchar *argv[] = {"ping", "extra", NULL};
	gchar *unknown[] = {"ping", "--nope", NULL};

	assert_false(client_cli_parse(ctx, argv, NULL, NULL, "s", "d", NULL, &help, &error));
	assert_int_equal(client_exit_for_error(error), CLIENT_EXIT_USAGE);
	assert_non_null(strstr(error->message, "unexpected argument 'extra'"));
	g_clear_error(&error);
	assert_false(client_cli_parse(ctx, unknown, NULL, NULL, "s", "d", NULL, &help, &error));
	assert_int_equal(client_exit_for_error(error), CLIENT_EXIT_USAGE);
}

static void
test_client_cli_help_text(void **state)
{
	g_autoptr(ClientContext) ctx = client_context_new();
	gboolean flag = FALSE;
	const GOptionEntry entries[] = {
		{"flag", 'f', 0, G_OPTION_ARG_NONE, &flag,
		 "a flag with a description long enough to be wrapped at the help text's width, which is a "
		 "hundred columns, so that it continues under itself",
		 NULL},
		{NULL},
	};
	g_autofree gchar *text = client_cli_help_text(ctx, "demo", entries, "JSON", "What it does.",
						      "Exit status:\n  0  fine\n");
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	assert_true(g_str_has_prefix(text,
				     "Usage: qgatrace [GLOBAL OPTION...] demo [OPTION...] JSON\n"));
	assert_non_null(strstr(text, "What it does."));
	assert_non_null(strstr(text, "  -f, --flag"));
	assert_non_null(strstr(text, "  -h, --help"));
	assert_non_null(strstr(text, "Global options"));
	assert_non_null(strstr(text, "--agent=PATH"));
	assert_non_null(strstr(text, "--timeout=SECONDS"));
	assert_non_null(strstr(text, "Exit status:\n  0  fine\n"));
	for (guint i = 0; lines[i] != NULL; i++)
		assert_true(g_utf8_strlen(lines[i], -1) <= 100);
}

static void
test_client_cli_exit_for_error(void **state)
{
	g_autoptr(GError) usage =
		g_error_new_literal(G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "x");
	g_autoptr(GError) invalid =
		g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "x");
	g_autoptr(GError) timeout = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "x");
	g_autoptr(GError) refused =
		g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "x");
	g_autoptr(GError) closed =
		g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "x");
	g_autoptr(GError) missing = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x");
	g_autoptr(GError) reply = g_error_new_literal(QGA_ERROR, QGA_ERROR_GENERIC, "x");
	g_autoptr(GError) failed = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "x");
	g_autoptr(GError) spawn = g_error_new_literal(G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT, "x");

	assert_int_equal(client_exit_for_error(NULL), CLIENT_EXIT_OK);
	assert_int_equal(client_exit_for_error(usage), CLIENT_EXIT_USAGE);
	assert_int_equal(client_exit_for_error(invalid), CLIENT_EXIT_USAGE);
	assert_int_equal(client_exit_for_error(timeout), CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(client_exit_for_error(refused), CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(client_exit_for_error(closed), CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(client_exit_for_error(missing), CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(client_exit_for_error(reply), CLIENT_EXIT_FAILED);
	assert_int_equal(client_exit_for_error(failed), CLIENT_EXIT_FAILED);
	assert_int_equal(client_exit_for_error(spawn), CLIENT_EXIT_FAILED);
}

/* ---- client_cli_main: dispatch and exit statuses, with commands of the test's own ---- */

static gboolean
cmd_fail_timeout(ClientInvocation *inv, GError **error)
{
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no reply");
	return FALSE;
}

static gboolean
cmd_fail_reply(ClientInvocation *inv, GError **error)
{
	g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC, "the agent said no");
	return FALSE;
}

static gboolean
cmd_verdict(ClientInvocation *inv, GError **error)
{
	client_cli_set_exit(inv->ctx, CLIENT_EXIT_FAILED);
	return TRUE;
}

static gboolean
cmd_ok(ClientInvocation *inv, GError **error)
{
	return TRUE;
}

static const ClientCommand fake_timeout = {.name = "timeout",
					   .summary = "fails unreachable",
					   .run = cmd_fail_timeout};
static const ClientCommand fake_reply = {.name = "reply",
					 .summary = "fails with an error reply",
					 .run = cmd_fail_reply};
static const ClientCommand fake_verdict = {.name = "verdict",
					   .summary = "prints a failed verdict",
					   .run = cmd_verdict};
static const ClientCommand fake_ok = {.name = "ok",
				      .summary = "succeeds",
				      .help = "ok",
				      .help_tail = "ok",
				      .run = cmd_ok};

static const ClientCommand *const fake_commands[] = {
	&fake_timeout, &fake_reply, &fake_verdict, &fake_ok, NULL,
};

/* runs client_cli_main with stdout to /dev/null */
static gint
run_main(const ClientCommand *const *commands, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	gint null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	gint saved = dup(STDOUT_FILENO);
	const gchar *arg;
	va_list ap;
	gint rc;

	g_ptr_array_add(argv, (gpointer) "qgatrace");
	va_start(ap, commands);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	fflush(stdout);
	dup2(null_fd, STDOUT_FILENO);
	rc = client_cli_main(commands, "overview\n", (gint)argv->len - 1, (gchar **)argv->pdata);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null_fd);
	return rc;
}

static void
test_client_cli_main_dispatch(void **state)
{
	assert_int_equal(run_main(fake_commands, NULL), CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(fake_commands, "nosuch", NULL), CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(fake_commands, "--help", NULL), CLIENT_EXIT_OK);
	assert_int_equal(run_main(fake_commands, "--version", NULL), CLIENT_EXIT_OK);
	assert_int_equal(run_main(fake_commands, "help", "ok", NULL), CLIENT_EXIT_OK);
	assert_int_equal(run_main(fake_commands, "ok", "--help", NULL), CLIENT_EXIT_OK);
	assert_int_equal(run_main(fake_commands, "ok", NULL), CLIENT_EXIT_OK);
	assert_int_equal(run_main(fake_commands, "ok", "surplus", NULL), CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(fake_commands, "timeout", NULL), CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(run_main(fake_commands, "reply", NULL), CLIENT_EXIT_FAILED);
	assert_int_equal(run_main(fake_commands, "verdict", NULL), CLIENT_EXIT_FAILED);
	assert_int_equal(run_main(fake_commands, "--timeout", "x", "ok", NULL), CLIENT_EXIT_USAGE);
}

/* every real command has --help, and checks its arguments before connecting anywhere */
static void
test_client_cli_real_commands_usage(void **state)
{
	for (guint i = 0; client_commands[i] != NULL; i++) {
		assert_int_equal(run_main(client_commands, client_commands[i]->name, "--help",
					  NULL),
				 CLIENT_EXIT_OK);
		/* no --agent nor --domain; fleet and the exporter look at every domain */
		if (g_strcmp0(client_commands[i]->name, "raw") != 0 &&
		    g_strcmp0(client_commands[i]->name, "fleet") != 0 &&
		    g_strcmp0(client_commands[i]->name, "exporter") != 0)
			assert_int_equal(run_main(client_commands, client_commands[i]->name, NULL),
					 CLIENT_EXIT_USAGE);
	}
	/* ... and refuse one agent or domain */
	assert_int_equal(run_main(client_commands, "--domain", "vm", "fleet", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/a.sock", "exporter", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "fleet", "--parallel", "0", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "exporter", "--interval", "-1", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "snapshot",
				  "--exec", "true", "--qmp-snapshot", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "snapshot",
				  "--qmp-snapshot", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "snapshot",
				  "--exec-timeout", "0", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "dmesg",
				  "--tail", "3", "--since", "4", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "dmesg",
				  "--level", "7x", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "dmesg",
				  "--tail", "0", NULL),
			 CLIENT_EXIT_USAGE);
	/* --save-dir saves one read from memory, all of it */
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "dmesg",
				  "--save-dir", "/tmp", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--domain", "vm", "dmesg", "--from-memory",
				  "--save-dir", "/tmp", "--since", "4", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "trace",
				  "--list", "--session", "x", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "raw", "{",
				  NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "raw",
				  "{\"arguments\":{}}", NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/a.sock", "--domain", "vm", "ping",
				  NULL),
			 CLIENT_EXIT_USAGE);
	assert_int_equal(run_main(client_commands, "--agent", "/a.sock", "--port", "org.qgatrace.0",
				  "ping", NULL),
			 CLIENT_EXIT_USAGE);
	/* well-formed, and the socket is not there: unreachable */
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "ping", NULL),
			 CLIENT_EXIT_UNREACHABLE);
	assert_int_equal(run_main(client_commands, "--agent", "/nonexistent.sock", "snapshot", "-m",
				  "/mnt/data", "--exec", "true", NULL),
			 CLIENT_EXIT_UNREACHABLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_cli_globals),
		cmocka_unit_test(test_client_cli_globals_domain),
		cmocka_unit_test(test_client_cli_globals_errors),
		cmocka_unit_test(test_client_cli_command_options),
		cmocka_unit_test(test_client_cli_positional_rejected),
		cmocka_unit_test(test_client_cli_help_text),
		cmocka_unit_test(test_client_cli_exit_for_error),
		cmocka_unit_test(test_client_cli_main_dispatch),
		cmocka_unit_test(test_client_cli_real_commands_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
