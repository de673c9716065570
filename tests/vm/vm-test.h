/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every real-guest test program shares: one guest per program, shell
 * helpers, and agent connections that a failed test cannot leak (cmocka
 * leaves a failed test by longjmp, past any g_autoptr, and QEMU's socket
 * chardev accepts one host at a time). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "qga-client.h"
#include "qmp-client.h"
#include "vm-guest.h"

G_BEGIN_DECLS

#define VM_TEST_AGENT_LOG "/run/qgatrace-agent.log"

/* per-test teardown: closes the connections the test opened */
int vm_test_teardown(void **state);

#define vm_test(f) cmocka_unit_test_teardown(f, vm_test_teardown)

/* runs @tests on one guest; 77 (meson's skip) when no guest can be had */
#define vm_test_run(tests) vm_test_run_group(#tests, tests, G_N_ELEMENTS(tests))
int vm_test_run_group(const gchar *name, const struct CMUnitTest *tests, gsize n_tests);
/* the same on a guest booted with more kernel parameters, e.g. "log_buf_len=1M" */
#define vm_test_run_append(tests, append)                                                          \
	vm_test_run_group_append(#tests, tests, G_N_ELEMENTS(tests), append)
int vm_test_run_group_append(const gchar *name, const struct CMUnitTest *tests, gsize n_tests,
			     const gchar *append);

/* Returns: (transfer none): the guest; skips the test when there is none */
VmGuest *vm_test_guest(void);

/* runs @cmd in the guest; fails the test unless it exits 0.
 * Returns: (transfer full): its output, trimmed */
gchar *vm_test_sh(const gchar *cmd);
/* runs @cmd in the guest and returns its exit status */
gint vm_test_sh_status(const gchar *cmd);
/* waits up to 10 s for the shell @condition to hold; fails the test if not */
void vm_test_wait(const gchar *condition);

/* Returns: (transfer none): a client on the guest's @which socket (see
 * vm_guest_socket), synced when @sync; closed by vm_test_teardown */
QgaClient *vm_test_connect(const gchar *which, gboolean sync);
/* the same on any host socket of the guest's */
QgaClient *vm_test_connect_path(const gchar *path, gboolean sync);
/* closes @client now, before the test's end */
void vm_test_close(QgaClient *client);

/* @args_json: (nullable): the arguments object as JSON text */
JsonNode *vm_test_execute(QgaClient *client, const gchar *cmd, const gchar *args_json,
			  GError **error);
/* as vm_test_execute, failing the test on an error reply */
JsonNode *vm_test_execute_ok(QgaClient *client, const gchar *cmd, const gchar *args_json);
gint64 vm_test_execute_int(QgaClient *client, const gchar *cmd, const gchar *args_json);

/* Returns: (transfer none): a client on the guest's QMP monitor, past
 * qmp_capabilities; closed by vm_test_teardown */
QmpClient *vm_test_connect_qmp(void);
/* closes @qmp now, before the test's end */
void vm_test_close_qmp(QmpClient *qmp);
/* a QMP command, failing the test on an error; @args_json: (nullable) */
JsonNode *vm_test_qmp_execute_ok(QmpClient *qmp, const gchar *cmd, const gchar *args_json);

/* restarts the guest's qgatrace-agent on org.qgatrace.0 (found by port
 * name) with @extra_args, logging to VM_TEST_AGENT_LOG */
void vm_test_restart_agent(const gchar *extra_args);
/* the same with @env ("NAME=value ...", nullable) in the agent's environment */
void vm_test_restart_agent_env(const gchar *env, const gchar *extra_args);

G_END_DECLS
