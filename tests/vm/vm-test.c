/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "vm-test.h"

#define VM_TEST_SHELL_TIMEOUT_MS 60000
#define VM_TEST_AGENT_TIMEOUT_MS 20000

#define VM_TEST_EXIT_SKIP 77

static VmGuest *vm_test_vm;
static gboolean vm_test_unsupported;
static GPtrArray *vm_test_clients;  /* of QgaClient, open in the current test */
static GPtrArray *vm_test_monitors; /* of QmpClient, the same */
static const gchar *vm_test_append; /* kernel parameters of the group's guest */

/* boots the guest; a machine without QEMU or the kernel skips every test */
static int
vm_test_group_setup(void **state)
{
	g_autoptr(GError) error = NULL;

	vm_test_clients = g_ptr_array_new_with_free_func((GDestroyNotify)qga_client_free);
	vm_test_monitors = g_ptr_array_new_with_free_func((GDestroyNotify)qmp_client_free);
	vm_test_vm = vm_guest_start(vm_test_append, &error);
	if (vm_test_vm == NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
		fail_msg("booting the guest: %s", error->message);
	if (vm_test_vm == NULL) {
		print_message("skipping the VM tests: %s\n", error->message);
		vm_test_unsupported = TRUE;
	}
	return 0;
}

/* stops the guest after printing the agent's log */
static int
vm_test_group_teardown(void **state)
{
	g_autofree gchar *log = NULL;

	/* the agent's own account, for whoever reads a failed run */
	if (vm_test_vm != NULL && vm_guest_shell(vm_test_vm, "cat " VM_TEST_AGENT_LOG, &log, NULL,
						 VM_TEST_SHELL_TIMEOUT_MS, NULL))
		g_printerr("---- guest %s ----\n%s", VM_TEST_AGENT_LOG, log);
	g_clear_pointer(&vm_test_clients, g_ptr_array_unref);
	g_clear_pointer(&vm_test_monitors, g_ptr_array_unref);
	g_clear_pointer(&vm_test_vm, vm_guest_free);
	return 0;
}

int
vm_test_teardown(void **state)
{
	g_ptr_array_set_size(vm_test_clients, 0);
	g_ptr_array_set_size(vm_test_monitors, 0);
	return 0;
}

VmGuest *
vm_test_guest(void)
{
	if (vm_test_vm == NULL)
		skip();
	return vm_test_vm;
}

gchar *
vm_test_sh(const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	gchar *out = vm_guest_shell_ok(vm_test_guest(), cmd, &error);

	if (out == NULL)
		fail_msg("guest command '%s': %s", cmd, error->message);
	return out;
}

gint
vm_test_sh_status(const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	gint status = -1;

	if (!vm_guest_shell(vm_test_guest(), cmd, &out, &status, VM_TEST_SHELL_TIMEOUT_MS, &error))
		fail_msg("guest command '%s': %s", cmd, error->message);
	return status;
}

void
vm_test_wait(const gchar *condition)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"i=0; until %s; do [ $i -ge 100 ] && exit 1; sleep 0.1; i=$((i+1)); done",
		condition);

	g_free(vm_test_sh(cmd));
}

QgaClient *
vm_test_connect(const gchar *which, gboolean sync)
{
	return vm_test_connect_path(vm_guest_socket(vm_test_guest(), which), sync);
}

QgaClient *
vm_test_connect_path(const gchar *path, gboolean sync)
{
	g_autoptr(GError) error = NULL;
	QgaClient *client = qga_client_connect_unix(path, &error);

	if (client == NULL)
		fail_msg("connecting to %s: %s", path, error->message);
	g_ptr_array_add(vm_test_clients, client);
	qga_client_set_timeout(client, VM_TEST_AGENT_TIMEOUT_MS);
	if (sync && !qga_client_sync(client, &error))
		fail_msg("syncing on %s: %s", path, error->message);
	return client;
}

void
vm_test_close(QgaClient *client)
{
	g_ptr_array_remove(vm_test_clients, client);
}

/* Returns: (transfer full) (nullable): @args_json parsed, NULL for NULL */
static JsonNode *
vm_test_parse_args(const gchar *cmd, const gchar *args_json)
{
	JsonNode *args = args_json != NULL ? json_from_string(args_json, NULL) : NULL;

	if (args_json != NULL && (args == NULL || !JSON_NODE_HOLDS_OBJECT(args)))
		fail_msg("test bug: arguments of %s are not a JSON object: %s", cmd, args_json);
	return args;
}

JsonNode *
vm_test_execute(QgaClient *client, const gchar *cmd, const gchar *args_json, GError **error)
{
	g_autoptr(JsonNode) args = vm_test_parse_args(cmd, args_json);

	return qga_client_execute(client, cmd, args != NULL ? json_node_get_object(args) : NULL,
				  error);
}

JsonNode *
vm_test_execute_ok(QgaClient *client, const gchar *cmd, const gchar *args_json)
{
	g_autoptr(GError) error = NULL;
	JsonNode *ret = vm_test_execute(client, cmd, args_json, &error);

	if (ret == NULL)
		fail_msg("%s: %s", cmd, error->message);
	return ret;
}

gint64
vm_test_execute_int(QgaClient *client, const gchar *cmd, const gchar *args_json)
{
	g_autoptr(JsonNode) ret = vm_test_execute_ok(client, cmd, args_json);

	if (!JSON_NODE_HOLDS_VALUE(ret) || json_node_get_value_type(ret) != G_TYPE_INT64)
		fail_msg("%s did not return an integer", cmd);
	return json_node_get_int(ret);
}

QmpClient *
vm_test_connect_qmp(void)
{
	const gchar *path = vm_guest_socket(vm_test_guest(), "qmp");
	g_autoptr(GError) error = NULL;
	QmpClient *qmp = qmp_client_connect_unix(path, VM_TEST_AGENT_TIMEOUT_MS, &error);

	if (qmp == NULL)
		fail_msg("connecting to %s: %s", path, error->message);
	g_ptr_array_add(vm_test_monitors, qmp);
	return qmp;
}

void
vm_test_close_qmp(QmpClient *qmp)
{
	g_ptr_array_remove(vm_test_monitors, qmp);
}

JsonNode *
vm_test_qmp_execute_ok(QmpClient *qmp, const gchar *cmd, const gchar *args_json)
{
	g_autoptr(JsonNode) args = vm_test_parse_args(cmd, args_json);
	g_autoptr(GError) error = NULL;
	JsonNode *ret = qmp_client_execute(
		qmp, cmd, args != NULL ? json_node_get_object(args) : NULL, &error);

	if (ret == NULL)
		fail_msg("QMP %s: %s", cmd, error->message);
	return ret;
}

void
vm_test_restart_agent(const gchar *extra_args)
{
	vm_test_restart_agent_env(NULL, extra_args);
}

void
vm_test_restart_agent_env(const gchar *env, const gchar *extra_args)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"kill -TERM $(pidof qgatrace-agent) 2>/dev/null; "
		"i=0; while pidof qgatrace-agent >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; "
		"%s qgatrace-agent -m virtio-serial -p org.qgatrace.0 -t /run -v %s </dev/null >>" VM_TEST_AGENT_LOG
		" 2>&1 & "
		"sleep 0.5; pidof qgatrace-agent",
		env != NULL ? env : "", extra_args != NULL ? extra_args : "");

	g_free(vm_test_sh(cmd));
}

int
vm_test_run_group(const gchar *name, const struct CMUnitTest *tests, gsize n_tests)
{
	gint rc = _cmocka_run_group_tests(name, tests, n_tests, vm_test_group_setup,
					  vm_test_group_teardown);

	return vm_test_unsupported ? VM_TEST_EXIT_SKIP : rc;
}

int
vm_test_run_group_append(const gchar *name, const struct CMUnitTest *tests, gsize n_tests,
			 const gchar *append)
{
	gint rc;

	vm_test_append = append;
	rc = vm_test_run_group(name, tests, n_tests);
	vm_test_append = NULL;
	return rc;
}
