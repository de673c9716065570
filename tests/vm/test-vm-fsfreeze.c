/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsfreeze in a real QEMU guest: qgatrace-agent on org.qgatrace.0 and stock
 * qemu-ga on org.qemu.guest_agent.0 freeze the guest's virtio-blk ext4
 * data disk, driven from the host over the ports' UNIX sockets. */
#include "config.h"

#include "qga-error.h"
#include "vm-test.h"

#define DATA "/mnt/data"

static void
assert_status(QgaClient *client, const gchar *expected)
{
	g_autoptr(JsonNode) ret = vm_test_execute_ok(client, "guest-fsfreeze-status", NULL);

	assert_string_equal(json_node_get_string(ret), expected);
}

/* the kernel's word, not the agent's: FITHAW on a thawed ext4 is EINVAL,
 * so busybox fsfreeze --unfreeze fails exactly when nothing was frozen
 * (and thaws what was, leaving the guest usable either way) */
static gboolean
kernel_says_frozen(void)
{
	return vm_test_sh_status("fsfreeze --unfreeze " DATA " 2>/dev/null") == 0;
}

/* starts a write to the data disk in the background; it blocks while the
 * disk is frozen */
static void
start_background_write(const gchar *name)
{
	g_autofree gchar *cmd =
		g_strdup_printf("rm -f /tmp/%s.done; (echo %s > " DATA
				"/%s && echo ok > /tmp/%s.done) </dev/null >/dev/null 2>&1 &",
				name, name, name, name);
	g_free(vm_test_sh(cmd));
}

static gboolean
background_write_done(const gchar *name, guint wait_s)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"i=0; while [ ! -e /tmp/%s.done ] && [ $i -lt %u ]; do sleep 0.2; i=$((i+1)); done; test -e /tmp/%s.done",
		name, wait_s * 5, name);
	return vm_test_sh_status(cmd) == 0;
}

static void
test_vm_freeze_list_blocks_writes_until_thaw(void **state)
{
	QgaClient *agent;
	g_autofree gchar *content = NULL;

	agent = vm_test_connect("qgatrace", TRUE);
	assert_status(agent, "thawed");
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	assert_status(agent, "frozen");
	assert_true(g_str_has_prefix(vm_test_sh("head -1 /run/qgatrace.frozen"), "pid="));

	start_background_write("blocked");
	/* the write waits on the frozen superblock */
	assert_false(background_write_done("blocked", 2));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	assert_status(agent, "thawed");
	assert_true(background_write_done("blocked", 10));
	content = vm_test_sh("cat " DATA "/blocked");
	assert_string_equal(content, "blocked");
	assert_int_equal(vm_test_sh_status("test -e /run/qgatrace.frozen"), 1);
	assert_false(kernel_says_frozen());
}

static void
test_vm_freeze_all_and_thaw_counts(void **state)
{
	QgaClient *agent;

	agent = vm_test_connect("qgatrace", TRUE);
	/* the initramfs root and tmpfs have no block device: only the disk */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze", NULL), 1);
	assert_true(kernel_says_frozen()); /* ...and that thawed it */
	/* FITHAW found nothing frozen any more: 0 thawed, state cleared */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 0);
	assert_status(agent, "thawed");
	/* thaw when thawed is harmless */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 0);
}

static void
assert_disabled(QgaClient *client, const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = vm_test_execute(client, cmd, NULL, &error);

	assert_null(ret);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND));
	assert_non_null(strstr(error->message, "has been disabled"));
}

static void
test_vm_frozen_refuses_other_commands(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) ping = NULL;
	g_autoptr(JsonNode) info = NULL;

	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	assert_disabled(agent, "guest-get-fsinfo");
	assert_disabled(agent, "guest-get-time");
	assert_disabled(agent, "guest-fsfreeze-freeze");
	ping = vm_test_execute_ok(agent, "guest-ping", NULL);
	info = vm_test_execute_ok(agent, "guest-info", NULL);
	assert_true(json_object_has_member(json_node_get_object(info), "supported_commands"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	g_clear_pointer(&ping, json_node_unref);
	ping = vm_test_execute_ok(agent, "guest-get-time", NULL);
}

static void
test_vm_freeze_list_rejects_unmounted(void **state)
{
	QgaClient *agent;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = NULL;

	agent = vm_test_connect("qgatrace", TRUE);
	ret = vm_test_execute(agent, "guest-fsfreeze-freeze-list",
			      "{\"mountpoints\":[\"" DATA "\",\"/mnt/none\"]}", &error);
	assert_null(ret);
	assert_non_null(strstr(error->message, "'/mnt/none' is not a mounted filesystem"));
	g_clear_error(&error);
	ret = vm_test_execute(agent, "guest-fsfreeze-freeze-list", "{\"mountpoints\":[\"/run\"]}",
			      &error);
	assert_null(ret);
	assert_non_null(strstr(error->message, "has no block device"));
	/* nothing was frozen on the way */
	assert_status(agent, "thawed");
	assert_false(kernel_says_frozen());
}

static JsonObject *
fsinfo_for(JsonNode *fsinfo, const gchar *mountpoint)
{
	JsonArray *list = json_node_get_array(fsinfo);

	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *fs = json_array_get_object_element(list, i);
		if (g_strcmp0(json_object_get_string_member(fs, "mountpoint"), mountpoint) == 0)
			return fs;
	}
	fail_msg("no fsinfo entry for %s", mountpoint);
	return NULL;
}

static void
test_vm_get_fsinfo_matches_qemu_ga(void **state)
{
	QgaClient *agent;
	QgaClient *stock;
	g_autoptr(JsonNode) ours = NULL;
	g_autoptr(JsonNode) theirs = NULL;
	JsonObject *a, *b, *disk_a, *disk_b;

	agent = vm_test_connect("qgatrace", TRUE);
	stock = vm_test_connect("qga", TRUE);
	ours = vm_test_execute_ok(agent, "guest-get-fsinfo", NULL);
	theirs = vm_test_execute_ok(stock, "guest-get-fsinfo", NULL);
	assert_int_equal(json_array_get_length(json_node_get_array(ours)),
			 json_array_get_length(json_node_get_array(theirs)));
	a = fsinfo_for(ours, DATA);
	b = fsinfo_for(theirs, DATA);
	assert_string_equal(json_object_get_string_member(a, "name"),
			    json_object_get_string_member(b, "name"));
	assert_string_equal(json_object_get_string_member(a, "type"), "ext4");
	assert_string_equal(json_object_get_string_member(b, "type"), "ext4");
	assert_int_equal(json_object_get_int_member(a, "total-bytes"),
			 json_object_get_int_member(b, "total-bytes"));
	assert_true(json_object_get_int_member(a, "used-bytes") > 0);
	disk_a = json_array_get_object_element(json_object_get_array_member(a, "disk"), 0);
	disk_b = json_array_get_object_element(json_object_get_array_member(b, "disk"), 0);
	assert_non_null(disk_a);
	assert_non_null(disk_b);
	assert_string_equal(json_object_get_string_member(disk_a, "bus-type"), "virtio");
	assert_string_equal(json_object_get_string_member(disk_a, "bus-type"),
			    json_object_get_string_member(disk_b, "bus-type"));
	assert_true(json_node_equal(json_object_get_member(disk_a, "pci-controller"),
				    json_object_get_member(disk_b, "pci-controller")));
	assert_string_equal(json_object_get_string_member(disk_a, "dev"), "/dev/vda");
}

static void
test_vm_stock_qemu_ga_freezes_the_same(void **state)
{
	QgaClient *stock;

	stock = vm_test_connect("qga", TRUE);
	assert_int_equal(vm_test_execute_int(stock, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	assert_status(stock, "frozen");
	start_background_write("stock");
	assert_false(background_write_done("stock", 2));
	assert_int_equal(vm_test_execute_int(stock, "guest-fsfreeze-thaw", NULL), 1);
	assert_true(background_write_done("stock", 10));
	assert_status(stock, "thawed");
}

/* @signal (a kill(1) name) while frozen: the agent thaws, then exits */
static void
assert_signal_while_frozen_thaws(const gchar *signal)
{
	QgaClient *agent;
	g_autofree gchar *kill = g_strdup_printf(
		"n=$(grep -c 'thawed before exit' " VM_TEST_AGENT_LOG
		"); kill -%s $(pidof qgatrace-agent); "
		"i=0; while pidof qgatrace-agent >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
		"! pidof qgatrace-agent && [ $(grep -c 'thawed before exit' " VM_TEST_AGENT_LOG
		") -gt $n ]",
		signal);

	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	start_background_write(signal);
	/* what it logged while frozen came out after the thaw */
	g_free(vm_test_sh(kill));
	assert_true(background_write_done(signal, 10));
	assert_int_equal(vm_test_sh_status("test -e /run/qgatrace.frozen"), 1);
	assert_false(kernel_says_frozen());
	vm_test_restart_agent(NULL);
}

static void
test_vm_sigterm_while_frozen_thaws(void **state)
{
	assert_signal_while_frozen_thaws("TERM");
}

static void
test_vm_sigint_while_frozen_thaws(void **state)
{
	assert_signal_while_frozen_thaws("INT");
}

static void
test_vm_sigkill_while_frozen_next_start_thaws(void **state)
{
	QgaClient *agent;
	QgaClient *again;

	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	vm_test_close(agent);
	g_free(vm_test_sh("kill -KILL $(pidof qgatrace-agent); sleep 0.3; ! pidof qgatrace-agent"));
	/* the kernel keeps the disk frozen after its freezer died */
	start_background_write("sigkill");
	assert_false(background_write_done("sigkill", 1));
	g_free(vm_test_sh("test -e /run/qgatrace.frozen"));
	vm_test_restart_agent(NULL);
	assert_true(background_write_done("sigkill", 10));
	g_free(vm_test_sh("grep -q 'died frozen' " VM_TEST_AGENT_LOG));
	again = vm_test_connect("qgatrace", TRUE);
	assert_status(again, "thawed");
}

static void
test_vm_auto_thaw_after_timeout(void **state)
{
	QgaClient *agent;

	vm_test_restart_agent("--freeze-timeout=2");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	start_background_write("autothaw");
	/* the watchdog thaws; the host never sent a thaw */
	assert_true(background_write_done("autothaw", 15));
	assert_status(agent, "thawed");
	g_free(vm_test_sh("grep -q 'auto-thaw' " VM_TEST_AGENT_LOG));
	vm_test_close(agent);
	vm_test_restart_agent(NULL);
}

/* with the agent restarted on @agent_args, a freeze of the data disk fails
 * with @expected in its error and leaves nothing frozen */
static void
assert_hook_fails_freeze(const gchar *agent_args, const gchar *expected)
{
	QgaClient *agent;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = NULL;

	vm_test_restart_agent(agent_args);
	agent = vm_test_connect("qgatrace", TRUE);
	ret = vm_test_execute(agent, "guest-fsfreeze-freeze-list",
			      "{\"mountpoints\":[\"" DATA "\"]}", &error);
	assert_null(ret);
	assert_non_null(strstr(error->message, expected));
	assert_status(agent, "thawed");
	assert_false(kernel_says_frozen());
	vm_test_close(agent);
}

static void
test_vm_failed_hook_freezes_nothing(void **state)
{
	g_free(vm_test_sh(
		"printf '#!/bin/sh\\necho \"hook $1\" >> /run/hook.log\\n[ \"$1\" = freeze ] && { echo refusing; exit 3; }\\nexit 0\\n' "
		"> /run/fail-hook && chmod +x /run/fail-hook && rm -f /run/hook.log"));
	assert_hook_fails_freeze("-F/run/fail-hook", "exit status 3: refusing");
	/* the thaw hook ran too, so a lock the freeze hook took is released */
	assert_string_equal(vm_test_sh("cat /run/hook.log | tr '\\n' ' '"),
			    "hook freeze hook thaw");
	vm_test_restart_agent(NULL);
}

static void
test_vm_hung_hook_is_killed(void **state)
{
	/* a background child keeps the output pipe open forever, and the hook
	 * itself hangs on freeze: qemu-ga would block for good */
	g_free(vm_test_sh(
		"printf '#!/bin/sh\\n(sleep 1000 &)\\n[ \"$1\" = freeze ] && sleep 1000\\nexit 0\\n' "
		"> /run/hung-hook && chmod +x /run/hung-hook"));
	g_free(vm_test_sh(
		"printf '[general]\\nfsfreeze-hook-timeout=2\\n' > /run/hook-timeout.conf"));
	assert_hook_fails_freeze("-F/run/hung-hook -c /run/hook-timeout.conf",
				 "did not finish within 2 s");
	vm_test_restart_agent(NULL);
	g_free(vm_test_sh("pkill -f 'sleep 1000' ; true"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_freeze_list_blocks_writes_until_thaw),
		vm_test(test_vm_freeze_all_and_thaw_counts),
		vm_test(test_vm_frozen_refuses_other_commands),
		vm_test(test_vm_freeze_list_rejects_unmounted),
		vm_test(test_vm_get_fsinfo_matches_qemu_ga),
		vm_test(test_vm_stock_qemu_ga_freezes_the_same),
		vm_test(test_vm_sigterm_while_frozen_thaws),
		vm_test(test_vm_sigint_while_frozen_thaws),
		vm_test(test_vm_sigkill_while_frozen_next_start_thaws),
		vm_test(test_vm_auto_thaw_after_timeout),
		vm_test(test_vm_failed_hook_freezes_nothing),
		vm_test(test_vm_hung_hook_is_killed),
	};

	return vm_test_run(tests);
}
