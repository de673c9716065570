/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "guest-fixture.h"
#include "qga-codec.h"
#include "qga-registry.h"
#include "qga-dispatch.h"

static int
fixture_setup(void **state)
{
	*state = guest_fixture_new(FIXTURES_DIR "/guest/root");
	return 0;
}

static int
fixture_teardown(void **state)
{
	guest_fixture_free(*state);
	return 0;
}

static JsonNode *
dispatch(GuestFixture *f, const gchar *request, gboolean *delimited)
{
	return guest_fixture_dispatch(f, request, delimited, NULL);
}

static void
test_qga_dispatch_unknown_command(void **state)
{
	g_autoptr(JsonNode) reply =
		dispatch(*state, "{\"execute\":\"guest-nope\",\"id\":[1,2]}", NULL);
	JsonArray *id = json_object_get_array_member(json_node_get_object(reply), "id");

	guest_fixture_assert_error(reply, "CommandNotFound",
				   "The command guest-nope has not been found");
	/* the id comes back with errors too, whatever its type */
	assert_int_equal(json_array_get_length(id), 2);
}

static void
test_qga_dispatch_argument_errors(void **state)
{
	GuestFixture *f = *state;
	struct {
		const gchar *request;
		const gchar *desc;
	} cases[] = {
		{"{\"execute\":\"guest-ping\",\"arguments\":{\"foo\":1}}",
		 "Parameter 'foo' is unexpected"},
		{"{\"execute\":\"guest-sync\"}", "Parameter 'id' is missing"},
		{"{\"execute\":\"guest-sync\",\"arguments\":{}}", "Parameter 'id' is missing"},
		{"{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"7\"}}",
		 "Invalid parameter type for 'id', expected: integer"},
		{"{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.5}}",
		 "Invalid parameter type for 'id', expected: integer"},
		{"{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":\"/\"}}",
		 "Invalid parameter type for 'mountpoints', expected: array"},
		{"{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[\"/a\",2]}}",
		 "Invalid parameter type for 'mountpoints[1]', expected: string"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) reply = dispatch(f, cases[i].request, NULL);
		guest_fixture_assert_error(reply, "GenericError", cases[i].desc);
	}
	assert_false(qga_state_is_frozen(f->state));
}

static void
test_qga_dispatch_sync(void **state)
{
	gboolean delimited = FALSE;
	g_autoptr(JsonNode) plain =
		dispatch(*state,
			 "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9007199254740993}}",
			 &delimited);
	g_autoptr(JsonNode) delim = NULL;

	assert_false(delimited);
	assert_int_equal(json_object_get_int_member(json_node_get_object(plain), "return"),
			 9007199254740993LL);
	delim = dispatch(*state, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":5}}",
			 &delimited);
	assert_true(delimited);
	assert_int_equal(json_object_get_int_member(json_node_get_object(delim), "return"), 5);
}

static void
test_qga_dispatch_block_list(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(
		qga_config_add_rpcs(&f->config->block_rpcs, "guest-get-time,guest-ping", &error));
	reply = dispatch(f, "{\"execute\":\"guest-get-time\"}", NULL);
	guest_fixture_assert_error(
		reply, "CommandNotFound",
		"Command guest-get-time has been disabled: the command is not allowed");
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	assert_false(guest_fixture_info_enabled(info, "guest-get-time"));
	assert_false(guest_fixture_info_enabled(info, "guest-ping"));
	assert_true(guest_fixture_info_enabled(info, "guest-get-osinfo"));
}

static void
test_qga_dispatch_allow_list(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(
		qga_config_add_rpcs(&f->config->allow_rpcs, "guest-info,guest-get-time", &error));
	assert_true(qga_config_add_rpcs(&f->config->block_rpcs, "guest-get-time", &error));
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	/* the block list wins over the allow list */
	assert_false(guest_fixture_info_enabled(info, "guest-get-time"));
	assert_false(guest_fixture_info_enabled(info, "guest-ping"));
	assert_true(guest_fixture_info_enabled(info, "guest-info"));
	reply = dispatch(f, "{\"execute\":\"guest-ping\"}", NULL);
	guest_fixture_assert_error(
		reply, "CommandNotFound",
		"Command guest-ping has been disabled: the command is not allowed");
}

static void
add_name(const QgaCommand *cmd, gpointer user_data)
{
	g_ptr_array_add(user_data, (gpointer)cmd->name);
}

/* every registered command, read from the command tables as guest-info
 * reads them: a new command is covered by the list tests below unchanged */
static GPtrArray *
all_commands(void)
{
	GPtrArray *names = g_ptr_array_new();
	static const gchar *const extensions[] = {"guest-dmesg", "guest-trace-status",
						  "guest-trace-fetch"};

	qga_registry_foreach(add_name, names);
	for (guint i = 0; i < G_N_ELEMENTS(extensions); i++)
		assert_true(
			g_ptr_array_find_with_equal_func(names, extensions[i], g_str_equal, NULL));
	return names;
}

static void
set_rpcs(gchar ***rpcs, const gchar *name)
{
	g_strfreev(*rpcs);
	*rpcs = g_new0(gchar *, 2);
	(*rpcs)[0] = g_strdup(name);
}

static gboolean
command_enabled(GuestFixture *f, const gchar *name)
{
	return qga_dispatch_is_enabled(&f->ctx, qga_registry_lookup(name), NULL);
}

/* refused before its arguments are read or its handler runs */
static void
assert_not_allowed(GuestFixture *f, const gchar *name)
{
	g_autofree gchar *request =
		g_strdup_printf("{\"execute\":\"%s\",\"arguments\":{\"bogus\":1}}", name);
	g_autofree gchar *desc =
		g_strdup_printf("Command %s has been disabled: the command is not allowed", name);
	g_autoptr(JsonNode) reply = dispatch(f, request, NULL);

	guest_fixture_assert_error(reply, "CommandNotFound", desc);
}

static void
test_qga_dispatch_block_each_command(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GPtrArray) names = all_commands();
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < names->len; i++) {
		const gchar *name = g_ptr_array_index(names, i);

		set_rpcs(&f->config->block_rpcs, name);
		assert_not_allowed(f, name);
		/* the block list is not lifted by the frozen allow-list */
		assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
		assert_not_allowed(f, name);
		assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
		for (guint j = 0; j < names->len; j++)
			assert_int_equal(command_enabled(f, g_ptr_array_index(names, j)), j != i);
		if (g_strcmp0(name, "guest-info") != 0) {
			g_autoptr(JsonNode) info =
				dispatch(f, "{\"execute\":\"guest-info\"}", NULL);

			assert_false(guest_fixture_info_enabled(info, name));
		}
	}
}

static void
test_qga_dispatch_allow_each_command(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GPtrArray) names = all_commands();

	for (guint i = 0; i < names->len; i++) {
		set_rpcs(&f->config->allow_rpcs, g_ptr_array_index(names, i));
		for (guint j = 0; j < names->len; j++) {
			const gchar *other = g_ptr_array_index(names, j);

			assert_int_equal(command_enabled(f, other), j == i);
			if (j != i)
				assert_not_allowed(f, other);
		}
	}
}

/* [dmesg] enabled=false and [trace] export=false: no kernel log and no
 * trace leaves the guest, frozen or not */
static void
test_qga_dispatch_export_switches(void **state)
{
	GuestFixture *f = *state;
	const gchar *exports[] = {"guest-dmesg", "guest-trace-status", "guest-trace-fetch"};
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(GError) error = NULL;

	qga_config_set_dmesg_enabled(f->config, FALSE);
	qga_config_set_trace_export(f->config, FALSE);
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	for (guint i = 0; i < G_N_ELEMENTS(exports); i++) {
		assert_false(guest_fixture_info_enabled(info, exports[i]));
		assert_not_allowed(f, exports[i]);
	}
	assert_true(guest_fixture_info_enabled(info, "guest-ping"));
	assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
	for (guint i = 0; i < G_N_ELEMENTS(exports); i++)
		assert_not_allowed(f, exports[i]);
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
}

static void
test_qga_dispatch_frozen_filter(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(JsonNode) ping = NULL;
	g_autoptr(JsonNode) time = NULL;
	g_autoptr(JsonNode) freeze = NULL;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(qga_config_add_rpcs(&f->config->block_rpcs, "guest-ping", &error));
	assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
	/* freezing only disables more: a blocked command stays blocked */
	ping = dispatch(f, "{\"execute\":\"guest-ping\"}", NULL);
	guest_fixture_assert_error(
		ping, "CommandNotFound",
		"Command guest-ping has been disabled: the command is not allowed");
	time = dispatch(f, "{\"execute\":\"guest-get-time\"}", NULL);
	guest_fixture_assert_error(
		time, "CommandNotFound",
		"Command guest-get-time has been disabled: the agent is in frozen state");
	freeze = dispatch(f, "{\"execute\":\"guest-fsfreeze-freeze\"}", NULL);
	guest_fixture_assert_error(
		freeze, "CommandNotFound",
		"Command guest-fsfreeze-freeze has been disabled: the agent is in frozen state");
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	assert_true(guest_fixture_info_enabled(info, "guest-fsfreeze-thaw"));
	assert_true(guest_fixture_info_enabled(info, "guest-fsfreeze-status"));
	assert_false(guest_fixture_info_enabled(info, "guest-ping"));
	assert_false(guest_fixture_info_enabled(info, "guest-get-fsinfo"));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
}

static void
test_qga_dispatch_frozen_marker(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *contents = NULL;
	gchar *mounts[] = {(gchar *)"/mnt/data", NULL};

	assert_false(qga_state_has_marker(f->state));
	assert_true(qga_state_set_frozen(f->state, TRUE, mounts, &error));
	assert_true(qga_state_has_marker(f->state));
	assert_true(
		g_file_get_contents(qga_state_get_marker_path(f->state), &contents, NULL, NULL));
	assert_non_null(strstr(contents, "/mnt/data"));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
	assert_false(qga_state_has_marker(f->state));
}

static void
test_qga_dispatch_freeze_list_not_mounted(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(JsonNode) reply = dispatch(
		f,
		"{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[\"/qgatrace-fixture/nope\"]},\"id\":3}",
		NULL);

	/* qemu-ga returns 0 here; a snapshot must not believe in it */
	guest_fixture_assert_error(reply, "GenericError",
				   "'/qgatrace-fixture/nope' is not a mounted filesystem");
	assert_false(qga_state_is_frozen(f->state));
	assert_false(qga_state_has_marker(f->state));
}

/* the mount points of the plan's array @name, space-separated */
static gchar *
plan_mountpoints(JsonObject *plan, const gchar *name)
{
	JsonArray *array = json_object_get_array_member(plan, name);
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < json_array_get_length(array); i++)
		g_string_append_printf(
			out, "%s%s", i > 0 ? " " : "",
			json_object_get_string_member(json_array_get_object_element(array, i),
						      "mountpoint"));
	return g_strdup(out->str);
}

/* a plan freezes nothing, is answered frozen too, and says who froze what */
static void
test_qga_dispatch_fsfreeze_plan(void **state)
{
	GuestFixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) thawed = dispatch(f, "{\"execute\":\"guest-fsfreeze-plan\"}", NULL);
	g_autoptr(JsonNode) frozen = NULL;
	g_autoptr(JsonNode) unknown = NULL;
	g_autofree gchar *order = NULL;
	g_autofree gchar *order_frozen = NULL;
	g_autofree gchar *skipped = NULL;
	gchar *mounts[] = {(gchar *)"/qgatrace-fixture/mnt/data", NULL};
	JsonObject *plan = guest_fixture_return_object(thawed);
	JsonObject *frozen_by;

	frozen_by =
		json_array_get_object_element(json_object_get_array_member(plan, "frozen-by"), 0);
	/* proc/net/unix of the fixture: qemu-ga froze with the qgatrace hook */
	assert_string_equal(json_object_get_string_member(frozen_by, "who"), "qemu-ga");
	assert_non_null(strstr(json_object_get_string_member(frozen_by, "evidence"),
			       "qgatrace-fsfreeze-hook armed"));
	order = plan_mountpoints(plan, "freeze");
	assert_string_equal(order, "/qgatrace-fixture/shadowed /qgatrace-fixture/with space "
				   "/qgatrace-fixture/mnt/data/img /qgatrace-fixture/mnt/data "
				   "/qgatrace-fixture");
	assert_false(qga_state_is_frozen(f->state));
	assert_false(qga_state_has_marker(f->state));

	assert_true(qga_state_set_frozen(f->state, TRUE, mounts, &error));
	frozen = dispatch(f, "{\"execute\":\"guest-fsfreeze-plan\"}", NULL);
	plan = guest_fixture_return_object(frozen);
	order_frozen = plan_mountpoints(plan, "freeze");
	skipped = plan_mountpoints(plan, "skip");
	assert_null(strstr(order_frozen, "/qgatrace-fixture/mnt/data "));
	assert_non_null(strstr(skipped, "/qgatrace-fixture/mnt/data "));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));

	unknown = dispatch(f,
			   "{\"execute\":\"guest-fsfreeze-plan\",\"arguments\":{\"mountpoints\":"
			   "[\"/qgatrace-fixture/nope\"]}}",
			   NULL);
	guest_fixture_assert_error(unknown, "GenericError",
				   "'/qgatrace-fixture/nope' is not a mounted filesystem");
}

static void
test_qga_dispatch_status_and_osinfo(void **state)
{
	g_autoptr(JsonNode) status =
		dispatch(*state, "{\"execute\":\"guest-fsfreeze-status\"}", NULL);
	g_autoptr(JsonNode) os = dispatch(*state, "{\"execute\":\"guest-get-osinfo\"}", NULL);
	JsonObject *ret = json_object_get_object_member(json_node_get_object(os), "return");

	assert_string_equal(json_object_get_string_member(json_node_get_object(status), "return"),
			    "thawed");
	assert_string_equal(json_object_get_string_member(ret, "id"), "fixture");
	assert_string_equal(json_object_get_string_member(ret, "pretty-name"),
			    "Fixture Linux 7 (test)");
	assert_string_equal(json_object_get_string_member(ret, "variant"), "Cloud Edition");
	assert_string_equal(json_object_get_string_member(ret, "version-id"), "7");
	assert_true(json_object_has_member(ret, "kernel-release"));
}

static void
test_qga_dispatch_request_shape_errors(void **state)
{
	struct {
		const gchar *request;
		const gchar *desc;
	} cases[] = {
		{"[1]", "QMP input must be a JSON object"},
		{"{\"arguments\":{}}", "QMP input lacks member 'execute'"},
		{"{\"execute\":1}", "QMP input member 'execute' must be a string"},
		{"{\"execute\":\"guest-ping\",\"arguments\":[]}",
		 "QMP input member 'arguments' must be an object"},
		{"{\"execute\":\"guest-ping\",\"foo\":1}", "QMP input member 'foo' is unexpected"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) reply = dispatch(*state, cases[i].request, NULL);
		guest_fixture_assert_error(reply, "GenericError", cases[i].desc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qga_dispatch_unknown_command, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_argument_errors, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_sync, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_block_list, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_allow_list, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_block_each_command, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_allow_each_command, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_export_switches, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_frozen_filter, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_frozen_marker, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_fsfreeze_plan, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_freeze_list_not_mounted,
						fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_status_and_osinfo, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_request_shape_errors,
						fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
