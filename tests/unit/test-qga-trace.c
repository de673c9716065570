/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "qga-registry.h"
#include "qga-trace.h"
#include "trace-fixture.h"

/*
 * The agent's trace sessions (QgaTrace): kept in memory, served with the
 * qemu-ga plugin's from the sessions dir, and a freeze without tracefs.
 * The sessions themselves are test-qga-trace-session.c's.
 */

typedef struct {
	gchar *tmp; /* a fake root: no tracefs in it */
	QgaConfig *config;
	QgaTrace *trace;
} Fixture;

static int
fixture_setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->tmp = trace_fixture_make_tmp_dir();
	f->config = qga_config_new();
	g_free(f->config->trace_plugin_dir);
	f->config->trace_plugin_dir = g_build_filename(f->tmp, "sessions", NULL);
	f->config->trace_sessions = 2;
	f->trace = qga_trace_new(f->config, f->tmp);
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	Fixture *f = *state;

	qga_trace_free(f->trace);
	qga_config_free(f->config);
	trace_fixture_remove_tree(f->tmp);
	g_free(f->tmp);
	g_free(f);
	return 0;
}

static void
store(Fixture *f, const gchar *id, guint64 started_ns)
{
	g_autoptr(QgaTraceSession) session =
		trace_fixture_finished_session(id, QGA_TRACE_SESSION_SOURCE_QEMU_GA, started_ns);
	g_autoptr(GError) error = NULL;

	assert_true(qga_trace_session_store(session, f->config->trace_plugin_dir, 16, &error));
}

static void
write_file(Fixture *f, const gchar *name, const gchar *contents)
{
	g_autofree gchar *path = g_build_filename(f->config->trace_plugin_dir, name, NULL);

	assert_true(g_file_set_contents(path, contents, -1, NULL));
}

static const gchar *
session_id(JsonNode *node)
{
	return json_object_get_string_member(json_node_get_object(node), "session");
}

static void
test_qga_trace_keeps_the_last_sessions(void **state)
{
	Fixture *f = *state;
	const gchar *agent = QGA_TRACE_SESSION_SOURCE_AGENT;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) newest = NULL;
	g_autoptr(JsonNode) gone = NULL;
	g_autoptr(JsonNode) status = NULL;
	JsonArray *sessions;

	qga_trace_add_session(f->trace, trace_fixture_finished_session("agent-1-1", agent, 100));
	qga_trace_add_session(f->trace, trace_fixture_finished_session("agent-1-2", agent, 200));
	qga_trace_add_session(f->trace, trace_fixture_finished_session("agent-1-3", agent, 300));
	/* two kept */
	gone = qga_trace_fetch(f->trace, "agent-1-1", &error);
	assert_null(gone);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	newest = qga_trace_fetch(f->trace, NULL, NULL);
	assert_string_equal(session_id(newest), "agent-1-3");
	/* frozen: from memory, no probe */
	status = qga_trace_get_status(f->trace, TRUE);
	sessions = json_object_get_array_member(json_node_get_object(status), "sessions");
	assert_int_equal(json_array_get_length(sessions), 2);
	assert_string_equal(json_object_get_string_member(
				    json_array_get_object_element(sessions, 0), "session"),
			    "agent-1-2");
	assert_string_equal(
		json_object_get_string_member(
			json_object_get_object_member(json_node_get_object(status), "last-session"),
			"session"),
		"agent-1-3");
	assert_false(json_object_get_boolean_member(json_node_get_object(status), "available"));
	assert_non_null(
		strstr(json_object_get_string_member(json_node_get_object(status), "reason"),
		       "not probed"));
}

static void
test_qga_trace_serves_the_plugin_sessions(void **state)
{
	Fixture *f = *state;
	const gchar *agent = QGA_TRACE_SESSION_SOURCE_AGENT;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) newest = NULL;
	g_autoptr(JsonNode) by_id = NULL;
	g_autoptr(JsonNode) bad = NULL;
	g_autoptr(JsonNode) broken = NULL;
	g_autoptr(JsonNode) recorded = trace_fixture_load_session("qemu-ga-dispatcher");
	g_autofree gchar *text = json_to_string(recorded, FALSE);
	JsonObject *obj;
	JsonArray *sessions;

	qga_trace_add_session(f->trace, trace_fixture_finished_session("agent-1-1", agent, 500));
	store(f, "qemu-ga-5-1", 400);
	store(f, "qemu-ga-5-2", 600);
	write_file(f, "qemu-ga-235-13587.json", text);
	write_file(f, "qemu-ga-5-3.json", "{\"session\": \"not-its-name\"}");
	write_file(f, "qemu-ga-5-4.json", "{ broken");
	write_file(f, "notes.txt", "not a session");

	/* not frozen: the plugin's too (the fake root has no tracefs: no probe of ours) */
	status = qga_trace_get_status(f->trace, FALSE);
	obj = json_node_get_object(status);
	assert_true(json_object_get_boolean_member(obj, "enabled"));
	assert_false(json_object_get_boolean_member(obj, "available"));
	assert_non_null(json_object_get_string_member(obj, "reason"));
	sessions = json_object_get_array_member(obj, "sessions");
	assert_int_equal(json_array_get_length(sessions), 4);
	assert_string_equal(json_object_get_string_member(
				    json_array_get_object_element(sessions, 0), "session"),
			    "qemu-ga-5-1");
	assert_string_equal(json_object_get_string_member(
				    json_array_get_object_element(sessions, 3), "session"),
			    "qemu-ga-235-13587");
	assert_int_equal(json_object_get_int_member(json_array_get_object_element(sessions, 3),
						    "events"),
			 9);
	assert_true(json_object_get_boolean_member(json_array_get_object_element(sessions, 3),
						   "verified"));
	/* frozen: its own only */
	g_clear_pointer(&status, json_node_unref);
	status = qga_trace_get_status(f->trace, TRUE);
	assert_int_equal(json_array_get_length(json_object_get_array_member(
				 json_node_get_object(status), "sessions")),
			 1);

	/* the newest of all is the real recording (started latest) */
	newest = qga_trace_fetch(f->trace, NULL, &error);
	assert_string_equal(session_id(newest), "qemu-ga-235-13587");
	assert_true(json_node_equal(newest, recorded));
	by_id = qga_trace_fetch(f->trace, "qemu-ga-5-1", &error);
	assert_string_equal(session_id(by_id), "qemu-ga-5-1");

	bad = qga_trace_fetch(f->trace, "../sessions/qemu-ga-5-1", &error);
	assert_null(bad);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
	g_clear_error(&error);
	broken = qga_trace_fetch(f->trace, "qemu-ga-5-3", &error);
	assert_null(broken);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	g_clear_error(&error);
	assert_null(qga_trace_fetch(f->trace, "qemu-ga-5-9", &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "no trace session 'qemu-ga-5-9'"));
}

static void
test_qga_trace_disabled(void **state)
{
	Fixture *f = *state;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaMountList) mounts = g_ptr_array_new();
	JsonObject *obj;

	f->config->trace_enabled = FALSE;
	qga_trace_begin(f->trace, mounts);
	assert_false(qga_trace_is_open(f->trace));
	status = qga_trace_get_status(f->trace, FALSE);
	obj = json_node_get_object(status);
	assert_false(json_object_get_boolean_member(obj, "enabled"));
	assert_false(json_object_get_boolean_member(obj, "available"));
	assert_non_null(strstr(json_object_get_string_member(obj, "reason"), "disabled"));
	assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(obj, "last-session")));
	assert_null(qga_trace_fetch(f->trace, NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
}

/* no tracefs: the freeze goes on, its session says why it is unverified */
static void
test_qga_trace_unavailable_freeze_is_untraced(void **state)
{
	Fixture *f = *state;
	g_autoptr(QgaMountList) mounts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(JsonNode) session = NULL;
	QgaMount data = {.mountpoint = (gchar *)"/mnt/data",
			 .fstype = (gchar *)"ext4",
			 .devnum = makedev(254, 0),
			 .freezable = TRUE};
	QgaMount other = {.mountpoint = (gchar *)"/mnt/other",
			  .fstype = (gchar *)"ext4",
			  .devnum = makedev(254, 16),
			  .freezable = TRUE};
	g_autoptr(JsonNode) status = NULL;
	QgaIoctlWindow window = {1000, 2000};
	QgaIoctlWindow none = {0, 0};
	JsonObject *obj;

	g_ptr_array_add(mounts, g_memdup2(&data, sizeof(data)));
	qga_trace_begin(f->trace, mounts);
	assert_true(qga_trace_is_open(f->trace));
	qga_trace_freeze_done(f->trace, &data, &window);
	/* not the session's, or never ran: not recorded */
	qga_trace_freeze_done(f->trace, &other, &window);
	qga_trace_thaw_done(f->trace, &data, &none);
	window = (QgaIoctlWindow){3000, 4000};
	qga_trace_thaw_done(f->trace, &data, &window);
	qga_trace_note(f->trace, "thawed by %s", "a test");
	qga_trace_end(f->trace, NULL);
	assert_false(qga_trace_is_open(f->trace));
	/* ending twice is harmless */
	qga_trace_end(f->trace, NULL);
	/* collected once the main loop is idle (the reply went out first) */
	while (g_main_context_iteration(NULL, FALSE))
		;
	status = qga_trace_get_status(f->trace, TRUE);
	assert_string_equal(
		json_object_get_string_member(
			json_object_get_object_member(json_node_get_object(status), "last-session"),
			"state"),
		"untraced");

	session = qga_trace_fetch(f->trace, NULL, NULL);
	obj = json_node_get_object(session);
	assert_true(g_str_has_prefix(json_object_get_string_member(obj, "session"), "agent-"));
	assert_string_equal(json_object_get_string_member(obj, "state"), "untraced");
	assert_non_null(strstr(json_object_get_string_member(obj, "reason"), "has no 'trace'"));
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "ioctls")), 2);
	assert_string_equal(
		json_array_get_string_element(json_object_get_array_member(obj, "notes"), 0),
		"thawed by a test");
	assert_false(json_object_get_boolean_member(obj, "verified"));
}

static void
test_qga_trace_commands(void **state)
{
	const QgaCommand *status = qga_registry_lookup("guest-trace-status");
	const QgaCommand *fetch = qga_registry_lookup("guest-trace-fetch");

	assert_non_null(status);
	assert_non_null(fetch);
	/* in-memory while frozen; fetching waits for the thaw */
	assert_true(status->flags & QGA_CMD_FROZEN_OK);
	assert_false(fetch->flags & QGA_CMD_FROZEN_OK);
	assert_string_equal(fetch->args[0].name, "session");
	assert_true(fetch->args[0].optional);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qga_trace_keeps_the_last_sessions,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_trace_serves_the_plugin_sessions,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_trace_disabled, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_trace_unavailable_freeze_is_untraced,
						fixture_setup, fixture_teardown),
		cmocka_unit_test(test_qga_trace_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
