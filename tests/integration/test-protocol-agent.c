/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The protocol suite against qgatrace-agent in unix-listen mode: it must
 * answer as stock qemu-ga does (test-protocol-stock runs the same cases). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "agent-process.h"
#include "protocol-suite.h"

static gboolean
agent_is_alive_cb(gpointer user_data)
{
	return agent_process_is_alive(user_data);
}

static void
test_agent_missing(void **state)
{
	skip();
}

int
main(void)
{
	g_autoptr(AgentProcess) agent = NULL;
	g_autoptr(ProtocolSuite) suite = NULL;
	g_autoptr(GError) error = NULL;
	ProtocolSuiteTarget target = {0};
	gint failed;

	if (agent_process_binary(AGENT_KIND_QGATRACE) == NULL) {
		const struct CMUnitTest missing[] = {
			cmocka_unit_test(test_agent_missing),
		};
		print_message("# qgatrace-agent not found (set QGATRACE_AGENT): skipping\n");
		return cmocka_run_group_tests_name("protocol-agent", missing, NULL, NULL);
	}
	suite = protocol_suite_load(NULL, &error);
	if (suite == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	agent = agent_process_new(AGENT_KIND_QGATRACE, &error);
	if (agent == NULL || !agent_process_start(agent, &error)) {
		g_printerr("cannot start qgatrace-agent: %s\n", error->message);
		return 1;
	}
	target.agent_kind = agent_process_get_kind_name(agent);
	target.socket_path = agent_process_get_socket_path(agent);
	target.is_alive = agent_is_alive_cb;
	target.user_data = agent;

	agent_process_test_begin(agent);
	failed = protocol_suite_run_cmocka(suite, "protocol-agent", &target);
	if (failed == 0)
		agent_process_test_passed(agent);
	if (!agent_process_stop_cleanly(agent, &error)) {
		g_printerr("%s\n", error->message);
		agent_process_dump_stderr(agent, "unclean exit");
		failed++;
	}
	return failed;
}
