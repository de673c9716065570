/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace-agent --dmesg, the one-shot mode stock qemu-ga's guest-exec runs:
 * against the fixture /dev/kmsg tree it prints exactly the text guest-dmesg
 * returns on the channel, checks arguments as guest-dmesg does, and needs
 * no channel or configuration. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "agent-process.h"
#include "wire.h"

#define KMSG_ROOT FIXTURES_DIR "/kmsg/root"

/* runs qgatrace-agent --root KMSG_ROOT @extra... --dmesg @args; its exit code */
static gint
dmesg_once(const gchar *args, const gchar *extra, gchar **out, gchar **err)
{
	const gchar *argv[] = {"--root", KMSG_ROOT, "--dmesg", args, extra, NULL};
	g_autoptr(GError) error = NULL;
	gint status = -1;

	assert_true(agent_process_run_sync(AGENT_KIND_QGATRACE, argv, out, err, &status, &error));
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* guest-dmesg's "return" on the channel of an agent reading KMSG_ROOT */
static JsonNode *
dmesg_on_channel(const gchar *args)
{
	g_autoptr(AgentProcess) agent = NULL;
	g_autoptr(WireConn) conn = NULL;
	g_autoptr(WireReply) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *request =
		g_strdup_printf("{\"execute\":\"guest-dmesg\",\"arguments\":%s}\n", args);

	agent = agent_process_new(AGENT_KIND_QGATRACE, &error);
	assert_non_null(agent);
	agent_process_add_args(agent, "--root", KMSG_ROOT, NULL);
	assert_true(agent_process_start(agent, &error));
	conn = wire_conn_connect_unix(agent_process_get_socket_path(agent), &error);
	assert_non_null(conn);
	assert_true(wire_conn_send_str(conn, request, &error));
	reply = wire_conn_read_reply(conn, &error);
	assert_non_null(reply);
	assert_non_null(wire_reply_get_return(reply));
	return json_node_copy(wire_reply_get_return(reply));
}

static void
test_agent_dmesg_once_equals_channel(void **state)
{
	const gchar *const cases[] = {"{}", "{\"tail\":3}", "{\"since-seq\":355,\"level\":6}",
				      "{\"max-bytes\":65536}"};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		g_autoptr(JsonNode) once = NULL;
		g_autoptr(JsonNode) channel = dmesg_on_channel(cases[i]);

		assert_int_equal(dmesg_once(cases[i], NULL, &out, &err), 0);
		assert_string_equal(err, "");
		/* one line of JSON text: the reply, and nothing else */
		assert_true(g_str_has_suffix(out, "}\n"));
		assert_true(strchr(out, '\n') == out + strlen(out) - 1);
		once = json_from_string(out, NULL);
		assert_non_null(once);
		assert_true(json_node_equal(once, channel));
	}
}

static void
test_agent_dmesg_once_cursor(void **state)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(JsonNode) node = NULL;
	JsonObject *reply;
	JsonArray *records;

	assert_int_equal(dmesg_once("{\"since-seq\":357}", NULL, &out, &err), 0);
	node = json_from_string(out, NULL);
	assert_non_null(node);
	reply = json_node_get_object(node);
	assert_int_equal(json_object_get_int_member(reply, "next-seq"), 360);
	records = json_object_get_array_member(reply, "records");
	assert_int_equal(json_array_get_length(records), 3);
	assert_int_equal(
		json_object_get_int_member(json_array_get_object_element(records, 0), "seq"), 358);
	assert_string_equal(json_object_get_string_member(reply, "boot-id"),
			    "6c1f6f8e-8d0b-4b6e-9a57-5d0e8f3c2a11");
}

/* guest-dmesg's argument checks and texts, on stderr with exit code 1 */
static void
test_agent_dmesg_once_bad_args(void **state)
{
	const struct {
		const gchar *args;
		const gchar *desc;
	} cases[] = {
		{"{\"level\":9}", "Parameter 'level' expects a value between 0 and 7"},
		{"{\"color\":1}", "Parameter 'color' is unexpected"},
		{"{\"tail\":\"3\"}", "Invalid parameter type for 'tail', expected: integer"},
		{"[1]", "must be a JSON object"},
		{"{", "JSON"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;

		assert_int_equal(dmesg_once(cases[i].args, NULL, &out, &err), 1);
		assert_string_equal(out, "");
		if (strstr(err, cases[i].desc) == NULL)
			fail_msg("'%s': '%s' has no '%s'", cases[i].args, err, cases[i].desc);
	}
}

/* no channel and no configuration: a missing config file does not matter */
static void
test_agent_dmesg_once_no_config(void **state)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	assert_int_equal(dmesg_once("{\"tail\":1}", "--config=/nonexistent/qgatrace-agent.conf",
				    &out, &err),
			 0);
	assert_true(g_str_has_prefix(out, "{\"source\":\"kmsg\""));
}

static void
test_agent_missing(void **state)
{
	skip();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_dmesg_once_equals_channel),
		cmocka_unit_test(test_agent_dmesg_once_cursor),
		cmocka_unit_test(test_agent_dmesg_once_bad_args),
		cmocka_unit_test(test_agent_dmesg_once_no_config),
	};
	const struct CMUnitTest missing[] = {
		cmocka_unit_test(test_agent_missing),
	};

	if (agent_process_binary(AGENT_KIND_QGATRACE) == NULL)
		return cmocka_run_group_tests_name("agent-dmesg-once", missing, NULL, NULL);
	return cmocka_run_group_tests_name("agent-dmesg-once", tests, NULL, NULL);
}
