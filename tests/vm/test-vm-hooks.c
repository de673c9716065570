/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hook report in a real QEMU guest: qgatrace-agent runs its fsfreeze
 * hook (-F) around a freeze of the data disk, and the trace session's
 * "hooks" says how each run ended and how long it took; the host client
 * prints them. Durations are checked within wide bounds only: TCG under
 * load is slow. */
#include "config.h"

#include "vm-run.h"
#include "vm-test.h"

#define DATA		  "/mnt/data"
#define FREEZE_LIST_ARGS  "{\"mountpoints\":[\"" DATA "\"]}"
#define NS_PER_S	  G_GINT64_CONSTANT(1000000000)
#define HOOK_DURATION_MAX (60 * NS_PER_S)

/* writes the shell script @body as the executable @path in the guest */
static void
write_hook(const gchar *path, const gchar *body)
{
	g_autofree gchar *cmd =
		g_strdup_printf("printf '#!/bin/sh\\n%s\\n' > %s && chmod +x %s", body, path, path);

	g_free(vm_test_sh(cmd));
}

/* the newest session's hooks, @n of them */
static JsonArray *
fetch_hooks(QgaClient *agent, JsonNode **session, guint n)
{
	JsonArray *hooks;

	*session = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	hooks = json_object_get_array_member(json_node_get_object(*session), "hooks");
	assert_non_null(hooks);
	assert_int_equal(json_array_get_length(hooks), n);
	return hooks;
}

static JsonObject *
hook_at(JsonArray *hooks, guint i, const gchar *phase, const gchar *path)
{
	JsonObject *hook = json_array_get_object_element(hooks, i);

	assert_string_equal(json_object_get_string_member(hook, "phase"), phase);
	assert_string_equal(json_object_get_string_member(hook, "path"), path);
	return hook;
}

static void
assert_duration_between(JsonObject *hook, gint64 min_ns, gint64 max_ns)
{
	gint64 ns = json_object_get_int_member(hook, "duration-ns");

	print_message("%s: %" G_GINT64_FORMAT " ns\n", json_object_get_string_member(hook, "phase"),
		      ns);
	assert_true(ns >= min_ns);
	assert_true(ns < max_ns);
}

/* a freeze of the data disk fails, naming @expected */
static void
assert_freeze_fails(QgaClient *agent, const gchar *expected)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret =
		vm_test_execute(agent, "guest-fsfreeze-freeze-list", FREEZE_LIST_ARGS, &error);

	assert_null(ret);
	print_message("freeze: %s\n", error->message);
	assert_non_null(strstr(error->message, expected));
}

static void
test_vm_hooks_sleep_and_succeed(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;
	g_autoptr(VmRun) trace = NULL;
	JsonArray *hooks;
	JsonObject *freeze;
	JsonObject *thaw;

	write_hook("/run/hook-ok", "echo \"ok $1\"; sleep 0.3; exit 0");
	vm_test_restart_agent("-F/run/hook-ok");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_LIST_ARGS),
			 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	hooks = fetch_hooks(agent, &session, 2);
	freeze = hook_at(hooks, 0, "freeze", "/run/hook-ok");
	thaw = hook_at(hooks, 1, "thaw", "/run/hook-ok");
	assert_int_equal(json_object_get_int_member(freeze, "exit-status"), 0);
	assert_true(json_object_get_null_member(freeze, "signal"));
	assert_false(json_object_get_boolean_member(freeze, "timed-out"));
	assert_string_equal(json_object_get_string_member(freeze, "output-tail"), "ok freeze");
	assert_string_equal(json_object_get_string_member(thaw, "output-tail"), "ok thaw");
	assert_duration_between(freeze, 300 * G_GINT64_CONSTANT(1000000), HOOK_DURATION_MAX);
	assert_duration_between(thaw, 300 * G_GINT64_CONSTANT(1000000), HOOK_DURATION_MAX);
	assert_true(json_object_get_boolean_member(json_node_get_object(session), "verified"));

	vm_test_close(agent);
	trace = vm_run_client("--agent", vm_guest_socket(vm_test_guest(), "qgatrace"), "trace",
			      NULL);
	assert_int_equal(trace->status, 0);
	assert_non_null(strstr(trace->out, "hook         freeze /run/hook-ok: exit status 0, "));
	assert_non_null(strstr(trace->out, "             | ok freeze\n"));
}

static void
test_vm_hooks_exit_status(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;
	JsonArray *hooks;
	JsonObject *freeze;
	JsonObject *thaw;

	write_hook("/run/hook-3", "echo \"refusing $1\"; [ \"$1\" = freeze ] && exit 3; exit 0");
	vm_test_restart_agent("-F/run/hook-3");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_freeze_fails(agent, "fsfreeze hook '/run/hook-3 freeze' failed with exit status 3: "
				   "refusing freeze");
	/* the thaw hook ran after the failed freeze: both are reported */
	hooks = fetch_hooks(agent, &session, 2);
	freeze = hook_at(hooks, 0, "freeze", "/run/hook-3");
	thaw = hook_at(hooks, 1, "thaw", "/run/hook-3");
	assert_int_equal(json_object_get_int_member(freeze, "exit-status"), 3);
	assert_true(json_object_get_null_member(freeze, "signal"));
	assert_false(json_object_get_boolean_member(freeze, "timed-out"));
	assert_non_null(strstr(json_object_get_string_member(freeze, "error"), "exit status 3"));
	assert_string_equal(json_object_get_string_member(freeze, "output-tail"),
			    "refusing freeze");
	assert_duration_between(freeze, 0, HOOK_DURATION_MAX);
	assert_int_equal(json_object_get_int_member(thaw, "exit-status"), 0);
	assert_true(json_object_get_null_member(thaw, "error"));
}

static void
test_vm_hooks_hung_is_reported(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;
	JsonArray *hooks;
	JsonObject *freeze;

	/* a background child holds the output pipe, and the hook hangs */
	write_hook("/run/hook-hung",
		   "(sleep 1000 &); [ \"$1\" = freeze ] && { echo hanging; sleep 1000; }; exit 0");
	g_free(vm_test_sh(
		"printf '[general]\\nfsfreeze-hook-timeout=2\\n' > /run/hook-timeout.conf"));
	vm_test_restart_agent("-F/run/hook-hung -c /run/hook-timeout.conf");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_freeze_fails(agent, "did not finish within 2 s and was killed");
	hooks = fetch_hooks(agent, &session, 2);
	freeze = hook_at(hooks, 0, "freeze", "/run/hook-hung");
	assert_true(json_object_get_boolean_member(freeze, "timed-out"));
	assert_int_equal(json_object_get_int_member(freeze, "signal"), 9);
	assert_true(json_object_get_null_member(freeze, "exit-status"));
	assert_string_equal(json_object_get_string_member(freeze, "output-tail"), "hanging");
	assert_duration_between(freeze, 2 * NS_PER_S, HOOK_DURATION_MAX);
	vm_test_close(agent);
	vm_test_restart_agent(NULL);
	g_free(vm_test_sh("pkill -f 'sleep 1000' ; true"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_hooks_sleep_and_succeed),
		vm_test(test_vm_hooks_exit_status),
		vm_test(test_vm_hooks_hung_is_reported),
	};

	return vm_test_run(tests);
}
