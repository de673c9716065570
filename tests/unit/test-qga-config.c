/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "qga-config.h"

static gchar *
write_config(const gchar *contents)
{
	g_autoptr(GError) error = NULL;
	gchar *path = NULL;
	gint fd = g_file_open_tmp("qgatrace-config-XXXXXX.conf", &path, &error);

	assert_true(fd >= 0);
	close(fd);
	assert_true(g_file_set_contents(path, contents, -1, &error));
	return path;
}

static void
test_qga_config_defaults(void **state)
{
	g_autoptr(QgaConfig) config = qga_config_new();

	assert_int_equal(config->method, QGA_METHOD_VIRTIO_SERIAL);
	assert_string_equal(qga_config_get_path(config), "org.qemu.guest_agent.0");
	assert_string_equal(config->statedir, "/run");
	assert_null(config->fsfreeze_hook);
	assert_int_equal(config->freeze_timeout, 60);
	assert_int_equal(config->max_message, 16 * 1024 * 1024);
	config->method = QGA_METHOD_ISA_SERIAL;
	assert_string_equal(qga_config_get_path(config), "/dev/ttyS0");
	config->method = QGA_METHOD_UNIX_LISTEN;
	assert_null(qga_config_get_path(config));
}

static void
test_qga_config_load_all_keys(void **state)
{
	g_autofree gchar *path = write_config("[general]\n"
					      "method=unix-listen\n"
					      "path=/run/agent.sock\n"
					      "statedir=/run/qgatrace\n"
					      "fsfreeze-hook=/etc/qemu/fsfreeze-hook\n"
					      "fsfreeze-hook-timeout=5\n"
					      "freeze-timeout=0\n"
					      "max-message-size=4096\n"
					      "verbose=true\n"
					      "pidfile=/run/qgatrace-agent.pid\n"
					      "logfile=/var/log/qgatrace.log\n"
					      "block-rpcs=guest-get-time,guest-get-osinfo\n"
					      "allow-rpcs=guest-ping\n");
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(GError) error = NULL;

	assert_true(qga_config_load_file(config, path, TRUE, &error));
	assert_int_equal(config->method, QGA_METHOD_UNIX_LISTEN);
	assert_string_equal(config->path, "/run/agent.sock");
	assert_string_equal(config->statedir, "/run/qgatrace");
	assert_string_equal(config->fsfreeze_hook, "/etc/qemu/fsfreeze-hook");
	assert_int_equal(config->hook_timeout, 5);
	assert_int_equal(config->freeze_timeout, 0);
	assert_int_equal(config->max_message, 4096);
	assert_true(config->verbose);
	assert_string_equal(config->pidfile, "/run/qgatrace-agent.pid");
	assert_string_equal(config->logfile, "/var/log/qgatrace.log");
	assert_int_equal(g_strv_length(config->block_rpcs), 2);
	assert_string_equal(config->allow_rpcs[0], "guest-ping");
	/* lists accumulate with the command line's, as qemu-ga */
	assert_true(qga_config_add_rpcs(&config->block_rpcs, "guest-info", &error));
	assert_int_equal(g_strv_length(config->block_rpcs), 3);
	g_unlink(path);
}

static void
test_qga_config_bad_values(void **state)
{
	const gchar *bad[] = {
		"[general]\nmethod=vsock\n",
		"[general]\nfreeze-timeout=-1\n",
		"[general]\nmax-message-size=0\n",
		"[general]\nverbose=maybe\n",
		"[general]\nblock-rpcs=guest-ping,,guest-info\n",
		"not a keyfile\n",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *path = write_config(bad[i]);
		g_autoptr(QgaConfig) config = qga_config_new();
		g_autoptr(GError) error = NULL;

		assert_false(qga_config_load_file(config, path, TRUE, &error));
		assert_non_null(error);
		/* the message names the file */
		assert_non_null(strstr(error->message, path));
		g_unlink(path);
	}
}

static void
test_qga_config_missing_file(void **state)
{
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(GError) error = NULL;

	/* the default file may be absent, one named with -c may not */
	assert_true(qga_config_load_file(config, "/nonexistent/qgatrace.conf", FALSE, &error));
	assert_false(qga_config_load_file(config, "/nonexistent/qgatrace.conf", TRUE, &error));
	assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
}

static void
test_qga_config_dump_round_trip(void **state)
{
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(QgaConfig) again = qga_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *path = NULL;

	config->method = QGA_METHOD_ISA_SERIAL;
	config->freeze_timeout = 7;
	assert_true(qga_config_add_rpcs(&config->block_rpcs, "guest-get-time", &error));
	data = qga_config_to_data(config);
	assert_non_null(strstr(data, "[general]"));
	assert_non_null(strstr(data, "method=isa-serial"));
	assert_non_null(strstr(data, "path=/dev/ttyS0"));
	path = write_config(data);
	assert_true(qga_config_load_file(again, path, TRUE, &error));
	assert_int_equal(again->method, QGA_METHOD_ISA_SERIAL);
	assert_int_equal(again->freeze_timeout, 7);
	assert_string_equal(again->block_rpcs[0], "guest-get-time");
	g_unlink(path);
}

/*
 * An export switch: @text turns it off, which leaves exactly @blocked on the
 * block list, where the dispatcher and guest-info apply it; -D shows @dumped
 * and its output reads back without a second entry. @bad_text has a bad
 * value, an error that names @bad_key.
 */
static QgaConfig *
check_export_switch(const gchar *text, const gchar *const *blocked, const gchar *dumped,
		    const gchar *bad_text, const gchar *bad_key)
{
	g_autofree gchar *path = write_config(text);
	g_autofree gchar *bad = write_config(bad_text);
	g_autofree gchar *again_path = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(QgaConfig) defaults = qga_config_new();
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(QgaConfig) again = qga_config_new();
	g_autoptr(QgaConfig) broken = qga_config_new();
	g_autoptr(GError) error = NULL;

	assert_int_equal(g_strv_length(defaults->block_rpcs), 0);
	assert_true(qga_config_load_file(config, path, TRUE, &error));
	assert_int_equal(g_strv_length(config->block_rpcs), g_strv_length((gchar **)blocked));
	for (guint i = 0; blocked[i] != NULL; i++)
		assert_true(g_strv_contains((const gchar *const *)config->block_rpcs, blocked[i]));
	data = qga_config_to_data(config);
	assert_non_null(strstr(data, dumped));
	again_path = write_config(data);
	assert_true(qga_config_load_file(again, again_path, TRUE, &error));
	assert_int_equal(g_strv_length(again->block_rpcs), g_strv_length((gchar **)blocked));
	assert_false(qga_config_load_file(broken, bad, TRUE, &error));
	assert_non_null(strstr(error->message, bad_key));
	g_unlink(path);
	g_unlink(bad);
	g_unlink(again_path);
	return g_steal_pointer(&again);
}

static void
test_qga_config_dmesg_switch(void **state)
{
	const gchar *const blocked[] = {"guest-get-time", "guest-dmesg", NULL};
	g_autoptr(QgaConfig) defaults = qga_config_new();
	g_autoptr(QgaConfig) config = check_export_switch(
		"[general]\nblock-rpcs=guest-get-time\n[dmesg]\nenabled=false\n", blocked,
		"[dmesg]\nenabled=false", "[dmesg]\nenabled=maybe\n", "[dmesg] key 'enabled'");

	assert_true(defaults->dmesg_enabled);
	assert_false(config->dmesg_enabled);
}

/* export=false keeps the trace in the guest, whatever enabled says */
static void
test_qga_config_trace_export(void **state)
{
	const gchar *const blocked[] = {"guest-trace-status", "guest-trace-fetch", NULL};
	g_autoptr(QgaConfig) defaults = qga_config_new();
	g_autoptr(QgaConfig) config =
		check_export_switch("[trace]\nexport=false\n", blocked,
				    "[trace]\nenabled=true\nexport=false\n",
				    "[trace]\nexport=sometimes\n", "[trace] key 'export'");

	assert_true(defaults->trace_export);
	assert_false(config->trace_export);
	assert_true(config->trace_enabled);
}

static void
test_qga_config_trace(void **state)
{
	g_autofree gchar *path =
		write_config("[trace]\n"
			     "enabled=false\n"
			     "functions=freeze_super, thaw_super,deactivate_locked_super\n"
			     "buffer-kb=64\n"
			     "sessions=4\n"
			     "plugin-dir=/run/qgatrace/hook\n");
	g_autofree gchar *again_path = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *default_data = NULL;
	g_autoptr(QgaConfig) defaults = qga_config_new();
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(QgaConfig) again = qga_config_new();
	g_autoptr(GError) error = NULL;
	const gchar *bad[] = {
		"[trace]\nenabled=maybe\n",
		"[trace]\nfunctions=freeze_*\n", /* the kernel reads a regex */
		"[trace]\nfunctions=thaw_super,\n",
		"[trace]\nfunctions=\n", /* empty traces every function */
		"[trace]\nbuffer-kb=0\n",
		"[trace]\nbuffer-kb=lots\n",
		"[trace]\nsessions=0\n",
		"[trace]\nsessions=100000\n",
		"[trace]\nplugin-dir=run/sessions\n",
	};

	assert_true(defaults->trace_enabled);
	assert_null(defaults->trace_functions);
	assert_int_equal(defaults->trace_buffer_kb, 128);
	assert_int_equal(defaults->trace_sessions, 16);
	assert_string_equal(defaults->trace_plugin_dir, "/run/qgatrace/sessions");
	/* -D shows the effective list: the library's default */
	default_data = qga_config_to_data(defaults);
	assert_non_null(
		strstr(default_data,
		       "[trace]\nenabled=true\nexport=true\nfunctions=freeze_super,thaw_super,"));

	assert_true(qga_config_load_file(config, path, TRUE, &error));
	assert_false(config->trace_enabled);
	assert_int_equal(g_strv_length(config->trace_functions), 3);
	assert_string_equal(config->trace_functions[1], "thaw_super");
	assert_int_equal(config->trace_buffer_kb, 64);
	assert_int_equal(config->trace_sessions, 4);
	assert_string_equal(config->trace_plugin_dir, "/run/qgatrace/hook");
	data = qga_config_to_data(config);
	assert_non_null(
		strstr(data, "functions=freeze_super,thaw_super,deactivate_locked_super\n"));
	again_path = write_config(data);
	assert_true(qga_config_load_file(again, again_path, TRUE, &error));
	assert_false(again->trace_enabled);
	assert_int_equal(again->trace_sessions, 4);
	assert_int_equal(g_strv_length(again->trace_functions), 3);

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *bad_path = write_config(bad[i]);
		g_autoptr(QgaConfig) broken = qga_config_new();
		g_autoptr(GError) bad_error = NULL;

		assert_false(qga_config_load_file(broken, bad_path, TRUE, &bad_error));
		assert_non_null(strstr(bad_error->message, "[trace] key '"));
		g_unlink(bad_path);
	}
	g_unlink(path);
	g_unlink(again_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_config_defaults),
		cmocka_unit_test(test_qga_config_load_all_keys),
		cmocka_unit_test(test_qga_config_bad_values),
		cmocka_unit_test(test_qga_config_missing_file),
		cmocka_unit_test(test_qga_config_dump_round_trip),
		cmocka_unit_test(test_qga_config_dmesg_switch),
		cmocka_unit_test(test_qga_config_trace),
		cmocka_unit_test(test_qga_config_trace_export),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
