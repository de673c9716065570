/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The protocol suite against stock qemu-ga in unix-listen mode, with its
 * fsfreeze and host-changing commands blocked; the reference our agent is
 * measured by. A missing qemu-ga is a skip. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "agent-process.h"
#include "protocol-suite.h"
#include "wire.h"

typedef struct {
	AgentProcess *agent;
	AgentProcess *own; /* a test's own agent, freed in teardown */
	WireConn *conns[2];
} StockContext;

static gboolean
stock_is_alive(gpointer user_data)
{
	return agent_process_is_alive(user_data);
}

static void
test_stock_missing(void **state)
{
	skip();
}

static int
stock_teardown(void **state)
{
	StockContext *ctx = *state;

	for (guint i = 0; i < G_N_ELEMENTS(ctx->conns); i++)
		g_clear_pointer(&ctx->conns[i], wire_conn_free);
	g_clear_pointer(&ctx->own, agent_process_free);
	return 0;
}

#define assert_no_gerror(err)                                                                      \
	do {                                                                                       \
		if ((err) != NULL) {                                                               \
			print_error("%s\n", (err)->message);                                       \
			g_clear_error(&(err));                                                     \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* qemu-ga's wording for a blocked command, recorded per version: 7.2 says
 * "Command X has been disabled"; 9.1 and later append ": the command is
 * not allowed" (qga-protocol.md 1.3), the text our agent copies */
static void
test_stock_blocked_command_text(void **state)
{
	StockContext *ctx = *state;
	GError *error = NULL;
	WireReply *reply;
	const gchar *kind;
	const gchar *desc;

	ctx->own = agent_process_new(AGENT_KIND_QEMU_GA, &error);
	assert_no_gerror(error);
	agent_process_block(ctx->own, "guest-get-time");
	agent_process_test_begin(ctx->own);
	agent_process_start(ctx->own, &error);
	assert_no_gerror(error);
	kind = agent_process_get_kind_name(ctx->own);

	ctx->conns[0] = wire_conn_connect_unix(agent_process_get_socket_path(ctx->own), &error);
	assert_no_gerror(error);
	wire_conn_send_str(ctx->conns[0], "{\"execute\":\"guest-get-time\",\"id\":1}", &error);
	assert_no_gerror(error);
	reply = wire_conn_read_reply(ctx->conns[0], &error);
	assert_no_gerror(error);
	assert_string_equal(wire_reply_get_error_class(reply), "CommandNotFound");
	desc = wire_reply_get_error_desc(reply);
	assert_non_null(desc);
	print_message("# %s: blocked command: %s\n", kind, desc);
	assert_non_null(strstr(desc, "has been disabled"));
	if (g_str_has_prefix(kind, "qemu-ga-7.") || g_str_has_prefix(kind, "qemu-ga-8."))
		assert_string_equal(desc, "Command guest-get-time has been disabled");
	wire_reply_free(reply);
	agent_process_test_passed(ctx->own);
}

/* qemu-ga keeps one JSON parser for the process (qga-protocol.md 1.6): a
 * half request left by a client that hung up swallows the next client's
 * first request, which is why clients resync. Our agent starts every
 * connection clean instead (test-agent-robustness). */
static void
test_stock_parser_survives_disconnect(void **state)
{
	StockContext *ctx = *state;
	GError *error = NULL;
	GPtrArray *skipped = NULL;
	WireReply *reply;
	const gchar *path;

	ctx->own = agent_process_new(AGENT_KIND_QEMU_GA, &error);
	assert_no_gerror(error);
	agent_process_test_begin(ctx->own);
	agent_process_start(ctx->own, &error);
	assert_no_gerror(error);
	path = agent_process_get_socket_path(ctx->own);

	ctx->conns[0] = wire_conn_connect_unix(path, &error);
	assert_no_gerror(error);
	wire_conn_send_str(ctx->conns[0], "{\"execute\":\"guest-ping\",\"id\":", &error);
	assert_no_gerror(error);
	g_clear_pointer(&ctx->conns[0], wire_conn_free);

	ctx->conns[1] = wire_conn_connect_unix(path, &error);
	assert_no_gerror(error);
	wire_conn_send_str(ctx->conns[1], "{\"execute\":\"guest-ping\",\"id\":\"fresh\"}", &error);
	assert_no_gerror(error);
	/* the request became the id of the old half request, still open */
	assert_true(wire_conn_expect_silence(ctx->conns[1], 500));
	/* the reset answers with an error, then everything works again */
	wire_conn_resync(ctx->conns[1], &skipped, &error);
	assert_no_gerror(error);
	assert_int_equal(skipped->len, 1);
	assert_string_equal(wire_reply_get_error_class(g_ptr_array_index(skipped, 0)),
			    "GenericError");
	g_ptr_array_unref(skipped);
	wire_conn_send_str(ctx->conns[1], "{\"execute\":\"guest-ping\",\"id\":\"again\"}", &error);
	assert_no_gerror(error);
	reply = wire_conn_read_reply(ctx->conns[1], &error);
	assert_no_gerror(error);
	assert_non_null(wire_reply_get_return(reply));
	assert_string_equal(json_node_get_string(wire_reply_get_id(reply)), "again");
	wire_reply_free(reply);
	agent_process_test_passed(ctx->own);
}

int
main(void)
{
	g_autoptr(AgentProcess) agent = NULL;
	g_autoptr(ProtocolSuite) suite = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) tests = g_array_new(FALSE, TRUE, sizeof(struct CMUnitTest));
	const struct CMUnitTest *suite_tests;
	StockContext ctx = {0};
	ProtocolSuiteTarget target = {0};
	gsize n_suite = 0;
	gint failed;

	if (agent_process_binary(AGENT_KIND_QEMU_GA) == NULL) {
		const struct CMUnitTest missing[] = {
			cmocka_unit_test(test_stock_missing),
		};
		print_message("# qemu-ga not found (set QEMU_GA): skipping\n");
		return cmocka_run_group_tests_name("protocol-stock", missing, NULL, NULL);
	}
	suite = protocol_suite_load(NULL, &error);
	if (suite == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	agent = agent_process_new(AGENT_KIND_QEMU_GA, &error);
	if (agent == NULL || !agent_process_start(agent, &error)) {
		g_printerr("cannot start qemu-ga: %s\n", error->message);
		return 1;
	}
	ctx.agent = agent;
	target.agent_kind = agent_process_get_kind_name(agent);
	target.socket_path = agent_process_get_socket_path(agent);
	target.is_alive = stock_is_alive;
	target.user_data = agent;

	suite_tests = protocol_suite_cmocka_tests(suite, &target, &n_suite);
	print_message("# %u of %u protocol cases apply to %s\n", (guint)n_suite,
		      protocol_suite_get_n_cases(suite), target.agent_kind);
	g_array_append_vals(tests, suite_tests, (guint)n_suite);
	{
		const struct CMUnitTest extra[] = {
			cmocka_unit_test_prestate_setup_teardown(test_stock_blocked_command_text,
								 NULL, stock_teardown, &ctx),
			cmocka_unit_test_prestate_setup_teardown(
				test_stock_parser_survives_disconnect, NULL, stock_teardown, &ctx),
		};
		g_array_append_vals(tests, extra, G_N_ELEMENTS(extra));
	}
	agent_process_test_begin(agent);
	failed = _cmocka_run_group_tests("protocol-stock",
					 (const struct CMUnitTest *)(gpointer)tests->data,
					 tests->len, NULL, NULL);
	if (failed == 0)
		agent_process_test_passed(agent);
	if (!agent_process_stop_cleanly(agent, &error)) {
		g_printerr("%s\n", error->message);
		agent_process_dump_stderr(agent, "unclean exit");
		failed++;
	}
	return failed;
}
