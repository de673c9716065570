/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qga-hook.h"
#include "qga-trace-session.h"

/* a hook script in a temporary directory; removed by hook_remove() */
static gchar *
hook_write(const gchar *body)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-hook-XXXXXX", NULL);
	gchar *path = g_build_filename(dir, "hook", NULL);
	g_autofree gchar *script = g_strdup_printf("#!/bin/sh\n%s\n", body);

	assert_true(g_file_set_contents(path, script, -1, NULL));
	assert_int_equal(g_chmod(path, 0700), 0);
	return path;
}

static void
hook_remove(gchar *path)
{
	g_autofree gchar *dir = g_path_get_dirname(path);

	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
}

static void
test_qga_hook_output_tail(void **state)
{
	g_autoptr(GString) many = g_string_new(NULL);
	g_autofree gchar *tail = NULL;
	g_autofree gchar *wide = NULL;
	g_autofree gchar *binary = NULL;
	g_autofree gchar *long_line = g_strnfill(3 * QGA_HOOK_TAIL_BYTES, 'x');

	for (guint i = 1; i <= 30; i++)
		g_string_append_printf(many, "line %u\n", i);
	g_string_append(many, "\n\n");
	tail = qga_hook_output_tail(many->str, many->len);
	/* the last 20, the trailing blank lines trimmed */
	assert_true(g_str_has_prefix(tail, "line 11\n"));
	assert_true(g_str_has_suffix(tail, "line 30"));
	wide = qga_hook_output_tail(long_line, strlen(long_line));
	assert_int_equal(strlen(wide), QGA_HOOK_TAIL_BYTES);
	/* cut inside a character, or not text at all: still valid UTF-8 */
	binary = qga_hook_output_tail("ok \xff\xfe end", 10);
	assert_true(g_utf8_validate(binary, -1, NULL));
	assert_true(g_str_has_prefix(binary, "ok "));
}

static void
test_qga_hook_report_success(void **state)
{
	gchar *path = hook_write("echo \"ran $1\"; sleep 0.3; exit 0");
	g_autoptr(QgaHookReport) report = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(qga_hook_run(path, "freeze", 30, &report, &error));
	assert_null(error);
	assert_string_equal(report->phase, "freeze");
	assert_string_equal(report->path, path);
	assert_int_equal(report->exit_status, 0);
	assert_int_equal(report->signal, -1);
	assert_false(report->timed_out);
	/* not a timing test: it slept, and took less than the timeout */
	assert_true(report->duration_ns >= 300 * G_GINT64_CONSTANT(1000000));
	assert_true(report->duration_ns < 30 * G_GINT64_CONSTANT(1000000000));
	assert_string_equal(report->output_tail, "ran freeze");
	assert_null(report->error);
	hook_remove(path);
}

static void
test_qga_hook_report_failure(void **state)
{
	gchar *path = hook_write("echo 'database busy' >&2; exit 3");
	gchar *killed = hook_write("kill -TERM $$");
	g_autoptr(QgaHookReport) report = NULL;
	g_autoptr(QgaHookReport) killed_report = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) killed_error = NULL;

	assert_false(qga_hook_run(path, "freeze", 30, &report, &error));
	assert_int_equal(report->exit_status, 3);
	assert_int_equal(report->signal, -1);
	assert_string_equal(report->output_tail, "database busy");
	/* the error names the script and why */
	assert_non_null(strstr(error->message, path));
	assert_non_null(strstr(error->message, "exit status 3: database busy"));
	assert_string_equal(report->error, error->message);

	assert_false(qga_hook_run(killed, "thaw", 30, &killed_report, &killed_error));
	assert_int_equal(killed_report->exit_status, -1);
	assert_int_equal(killed_report->signal, SIGTERM);
	assert_false(killed_report->timed_out);
	hook_remove(path);
	hook_remove(killed);
}

static void
test_qga_hook_report_timeout(void **state)
{
	gchar *path = hook_write("echo waiting; exec sleep 100");
	g_autoptr(QgaHookReport) report = NULL;
	g_autoptr(GError) error = NULL;

	assert_false(qga_hook_run(path, "freeze", 1, &report, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_true(report->timed_out);
	assert_int_equal(report->signal, SIGKILL);
	assert_int_equal(report->exit_status, -1);
	assert_true(report->duration_ns >= G_GINT64_CONSTANT(1000000000));
	assert_string_equal(report->output_tail, "waiting");
	hook_remove(path);
}

static void
test_qga_hook_report_not_executable(void **state)
{
	g_autoptr(QgaHookReport) report = NULL;
	g_autoptr(GError) error = NULL;

	assert_false(qga_hook_run("/nonexistent/hook", "freeze", 30, &report, &error));
	assert_int_equal(report->duration_ns, -1);
	assert_null(report->output_tail);
	assert_non_null(strstr(report->error, "can't access fsfreeze hook '/nonexistent/hook'"));
}

/* a session's "hooks": what is not known is null */
static void
test_qga_hook_session_json(void **state)
{
	g_autoptr(QgaTraceSession) session = qga_trace_session_new("s-1", "qemu-ga", 1, 0);
	QgaTraceSessionHook ran = {"freeze", "/etc/qemu/fsfreeze-hook", 0, -1, 0, 300, "ok", NULL};
	QgaTraceSessionHook seen = {"thaw", "/etc/qemu/fsfreeze-hook.d/db", -1, -1, -1, 5, NULL,
				    NULL};
	g_autoptr(JsonNode) json = NULL;
	JsonArray *hooks;
	JsonObject *first;
	JsonObject *second;

	qga_trace_session_add_hook(session, &ran);
	qga_trace_session_add_hook(session, &seen);
	json = qga_trace_session_to_json(session);
	hooks = json_object_get_array_member(json_node_get_object(json), "hooks");
	assert_int_equal(json_array_get_length(hooks), 2);
	first = json_array_get_object_element(hooks, 0);
	second = json_array_get_object_element(hooks, 1);
	assert_string_equal(json_object_get_string_member(first, "phase"), "freeze");
	assert_int_equal(json_object_get_int_member(first, "exit-status"), 0);
	assert_true(json_object_get_null_member(first, "signal"));
	assert_false(json_object_get_boolean_member(first, "timed-out"));
	assert_int_equal(json_object_get_int_member(first, "duration-ns"), 300);
	assert_string_equal(json_object_get_string_member(first, "output-tail"), "ok");
	assert_true(json_object_get_null_member(second, "exit-status"));
	assert_true(json_object_get_null_member(second, "timed-out"));
	assert_true(json_object_get_null_member(second, "output-tail"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_hook_output_tail),
		cmocka_unit_test(test_qga_hook_report_success),
		cmocka_unit_test(test_qga_hook_report_failure),
		cmocka_unit_test(test_qga_hook_report_timeout),
		cmocka_unit_test(test_qga_hook_report_not_executable),
		cmocka_unit_test(test_qga_hook_session_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
