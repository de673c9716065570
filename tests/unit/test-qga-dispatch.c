#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "qga-codec.h"
#include "qga-commands.h"
#include "qga-context.h"
#include "qga-dispatch.h"

typedef struct {
	gchar *statedir;
	QgaConfig *config;
	QgaState *state;
	QgaPaths *paths;
	QgaContext ctx;
} Fixture;

static int
fixture_setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);

	f->statedir = g_dir_make_tmp("qgatrace-dispatch-XXXXXX", NULL);
	f->config = qga_config_new();
	f->state = qga_state_new(f->statedir);
	/* fixture mount points do not exist here: nothing can be frozen */
	f->paths = qga_paths_new(FIXTURES_DIR "/guest/root");
	f->ctx.config = f->config;
	f->ctx.state = f->state;
	f->ctx.paths = f->paths;
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	Fixture *f = *state;
	g_autofree gchar *marker = g_build_filename(f->statedir, "qgatrace.frozen", NULL);

	g_unlink(marker);
	g_rmdir(f->statedir);
	g_free(f->statedir);
	qga_config_free(f->config);
	qga_state_free(f->state);
	qga_paths_free(f->paths);
	g_free(f);
	return 0;
}

/* dispatches @request and returns the decoded reply */
static JsonNode *
dispatch(Fixture *f, const gchar *request, gboolean *delimited)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) message = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply = NULL;
	JsonNode *value = NULL;
	gsize len = 0;

	qga_decoder_feed(decoder, (const guint8 *)request, strlen(request));
	assert_true(qga_decoder_pop(decoder, &message, &error));
	reply = qga_dispatch_message(&f->ctx, message, &len);
	assert_true(len > 0);
	assert_int_equal(reply[len - 1], '\n');
	if (delimited != NULL)
		*delimited = (guint8)reply[0] == QGA_SYNC_DELIMITER;
	qga_decoder_feed(decoder, (const guint8 *)reply, len);
	g_clear_error(&error);
	/* a leading 0xff only resets the decoder */
	while (!qga_decoder_pop(decoder, &value, &error)) {
		assert_non_null(error);
		g_clear_error(&error);
	}
	return value;
}

static void
assert_error(JsonNode *reply, const gchar *klass, const gchar *desc)
{
	JsonObject *err = json_object_get_object_member(json_node_get_object(reply), "error");

	assert_non_null(err);
	assert_string_equal(json_object_get_string_member(err, "class"), klass);
	assert_string_equal(json_object_get_string_member(err, "desc"), desc);
}

static void
test_qga_dispatch_unknown_command(void **state)
{
	g_autoptr(JsonNode) reply = dispatch(*state, "{\"execute\":\"guest-nope\",\"id\":[1,2]}", NULL);
	JsonArray *id = json_object_get_array_member(json_node_get_object(reply), "id");

	assert_error(reply, "CommandNotFound", "The command guest-nope has not been found");
	/* the id comes back with errors too, whatever its type */
	assert_int_equal(json_array_get_length(id), 2);
}

static void
test_qga_dispatch_argument_errors(void **state)
{
	Fixture *f = *state;
	struct {
		const gchar *request;
		const gchar *desc;
	} cases[] = {
		{"{\"execute\":\"guest-ping\",\"arguments\":{\"foo\":1}}", "Parameter 'foo' is unexpected"},
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
		assert_error(reply, "GenericError", cases[i].desc);
	}
	assert_false(qga_state_is_frozen(f->state));
}

static void
test_qga_dispatch_sync(void **state)
{
	gboolean delimited = FALSE;
	g_autoptr(JsonNode) plain =
		dispatch(*state, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9007199254740993}}", &delimited);
	g_autoptr(JsonNode) delim = NULL;

	assert_false(delimited);
	assert_int_equal(json_object_get_int_member(json_node_get_object(plain), "return"),
			 9007199254740993LL);
	delim = dispatch(*state, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":5}}", &delimited);
	assert_true(delimited);
	assert_int_equal(json_object_get_int_member(json_node_get_object(delim), "return"), 5);
}

static gboolean
info_enabled(JsonNode *reply, const gchar *name)
{
	JsonObject *ret = json_object_get_object_member(json_node_get_object(reply), "return");
	JsonArray *cmds = json_object_get_array_member(ret, "supported_commands");

	for (guint i = 0; i < json_array_get_length(cmds); i++) {
		JsonObject *cmd = json_array_get_object_element(cmds, i);
		if (g_strcmp0(json_object_get_string_member(cmd, "name"), name) == 0)
			return json_object_get_boolean_member(cmd, "enabled");
	}
	fail_msg("%s is not in guest-info", name);
	return FALSE;
}

static void
test_qga_dispatch_block_list(void **state)
{
	Fixture *f = *state;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(qga_config_add_rpcs(&f->config->block_rpcs, "guest-get-time,guest-ping", &error));
	reply = dispatch(f, "{\"execute\":\"guest-get-time\"}", NULL);
	assert_error(reply, "CommandNotFound", "Command guest-get-time has been disabled: the command is not allowed");
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	assert_false(info_enabled(info, "guest-get-time"));
	assert_false(info_enabled(info, "guest-ping"));
	assert_true(info_enabled(info, "guest-get-osinfo"));
}

static void
test_qga_dispatch_allow_list(void **state)
{
	Fixture *f = *state;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(qga_config_add_rpcs(&f->config->allow_rpcs, "guest-info,guest-get-time", &error));
	assert_true(qga_config_add_rpcs(&f->config->block_rpcs, "guest-get-time", &error));
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	/* the block list wins over the allow list */
	assert_false(info_enabled(info, "guest-get-time"));
	assert_false(info_enabled(info, "guest-ping"));
	assert_true(info_enabled(info, "guest-info"));
	reply = dispatch(f, "{\"execute\":\"guest-ping\"}", NULL);
	assert_error(reply, "CommandNotFound", "Command guest-ping has been disabled: the command is not allowed");
}

static void
test_qga_dispatch_frozen_filter(void **state)
{
	Fixture *f = *state;
	g_autoptr(JsonNode) ping = NULL;
	g_autoptr(JsonNode) time = NULL;
	g_autoptr(JsonNode) freeze = NULL;
	g_autoptr(JsonNode) info = NULL;
	g_autoptr(GError) error = NULL;

	assert_true(qga_config_add_rpcs(&f->config->block_rpcs, "guest-ping", &error));
	assert_true(qga_state_set_frozen(f->state, TRUE, NULL, &error));
	/* freezing only disables more: a blocked command stays blocked */
	ping = dispatch(f, "{\"execute\":\"guest-ping\"}", NULL);
	assert_error(ping, "CommandNotFound", "Command guest-ping has been disabled: the command is not allowed");
	time = dispatch(f, "{\"execute\":\"guest-get-time\"}", NULL);
	assert_error(time, "CommandNotFound", "Command guest-get-time has been disabled: the agent is in frozen state");
	freeze = dispatch(f, "{\"execute\":\"guest-fsfreeze-freeze\"}", NULL);
	assert_error(freeze, "CommandNotFound",
		     "Command guest-fsfreeze-freeze has been disabled: the agent is in frozen state");
	info = dispatch(f, "{\"execute\":\"guest-info\"}", NULL);
	assert_true(info_enabled(info, "guest-fsfreeze-thaw"));
	assert_true(info_enabled(info, "guest-fsfreeze-status"));
	assert_false(info_enabled(info, "guest-ping"));
	assert_false(info_enabled(info, "guest-get-fsinfo"));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
}

static void
test_qga_dispatch_frozen_marker(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *contents = NULL;
	gchar *mounts[] = {(gchar *)"/mnt/data", NULL};

	assert_false(qga_state_has_marker(f->state));
	assert_true(qga_state_set_frozen(f->state, TRUE, mounts, &error));
	assert_true(qga_state_has_marker(f->state));
	assert_true(g_file_get_contents(qga_state_get_marker_path(f->state), &contents, NULL, NULL));
	assert_non_null(strstr(contents, "/mnt/data"));
	assert_true(qga_state_set_frozen(f->state, FALSE, NULL, &error));
	assert_false(qga_state_has_marker(f->state));
}

static void
test_qga_dispatch_freeze_list_not_mounted(void **state)
{
	Fixture *f = *state;
	g_autoptr(JsonNode) reply = dispatch(
		f, "{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[\"/qgatrace-fixture/nope\"]},\"id\":3}",
		NULL);

	/* qemu-ga returns 0 here; a snapshot must not believe in it */
	assert_error(reply, "GenericError", "'/qgatrace-fixture/nope' is not a mounted filesystem");
	assert_false(qga_state_is_frozen(f->state));
	assert_false(qga_state_has_marker(f->state));
}

static void
test_qga_dispatch_status_and_osinfo(void **state)
{
	g_autoptr(JsonNode) status = dispatch(*state, "{\"execute\":\"guest-fsfreeze-status\"}", NULL);
	g_autoptr(JsonNode) os = dispatch(*state, "{\"execute\":\"guest-get-osinfo\"}", NULL);
	JsonObject *ret = json_object_get_object_member(json_node_get_object(os), "return");

	assert_string_equal(json_object_get_string_member(json_node_get_object(status), "return"), "thawed");
	assert_string_equal(json_object_get_string_member(ret, "id"), "fixture");
	assert_string_equal(json_object_get_string_member(ret, "pretty-name"), "Fixture Linux 7 (test)");
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
		{"{\"execute\":\"guest-ping\",\"arguments\":[]}", "QMP input member 'arguments' must be an object"},
		{"{\"execute\":\"guest-ping\",\"foo\":1}", "QMP input member 'foo' is unexpected"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) reply = dispatch(*state, cases[i].request, NULL);
		assert_error(reply, "GenericError", cases[i].desc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qga_dispatch_unknown_command, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_argument_errors, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_sync, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_block_list, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_allow_list, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_frozen_filter, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_frozen_marker, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_freeze_list_not_mounted, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_status_and_osinfo, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_qga_dispatch_request_shape_errors, fixture_setup,
						fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
