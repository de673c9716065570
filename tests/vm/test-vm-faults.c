/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Faults injected into a real QEMU guest while qgatrace-agent works: hosts
 * that leave mid-request, mid-reply and while frozen, a filesystem whose
 * FIFREEZE really fails, tracefs taken away, its ftrace instance removed
 * and its ring buffer overrun during a freeze, and a log file and pidfile
 * on the filesystem being frozen. The agent must survive each one, answer
 * the next host and leave nothing frozen. */
#include "config.h"

#include "vm-test.h"

#define DATA	    "/mnt/data"
#define TRACING	    "/sys/kernel/tracing"
#define FREEZE_DATA "{\"mountpoints\":[\"" DATA "\"]}"

/* the failing filesystem's pieces (test_vm_faults_fifreeze_fails_mid_list) */
#define FULL "/mnt/full"
#define BAD  "/mnt/bad"
#define GOOD "/mnt/good"

/* set once a test got the guest: teardowns must not skip() */
static VmGuest *guest;

static void
need_guest(void)
{
	guest = vm_test_guest(); /* skips when there is none */
}

/* puts back what a test may have changed, even after it failed: nothing
 * frozen, tracefs where it was, no test filesystems, the agent as booted */
static int
faults_teardown(void **state)
{
	g_autofree gchar *out = NULL;

	vm_test_teardown(state);
	if (guest == NULL)
		return 0;
	vm_guest_shell(
		guest,
		"for m in " GOOD " " BAD " " DATA "; do fsfreeze --unfreeze $m; done 2>/dev/null; "
		"umount " GOOD " " BAD " /sys/kernel 2>/dev/null; "
		"for l in /dev/loop*; do losetup -d $l; done 2>/dev/null; umount " FULL
		" 2>/dev/null; "
		"grep -q ' " TRACING " ' /proc/mounts || mount -t tracefs tracefs " TRACING "; "
		"grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug; "
		"rm -f " DATA "/agent.log " DATA "/agent.pid; true",
		&out, NULL, VM_GUEST_SHELL_TIMEOUT_MS, NULL);
	vm_test_restart_agent(NULL);
	return 0;
}

#define faults_test(f) cmocka_unit_test_teardown(f, faults_teardown)

static gchar *
agent_pid(void)
{
	return vm_test_sh("pidof qgatrace-agent");
}

/* the agent that was there at the start survived */
static void
assert_same_agent(const gchar *pid)
{
	g_autofree gchar *now = agent_pid();

	assert_string_equal(now, pid);
}

static void
assert_status(QgaClient *client, const gchar *expected)
{
	g_autoptr(JsonNode) ret = vm_test_execute_ok(client, "guest-fsfreeze-status", NULL);

	assert_string_equal(json_node_get_string(ret), expected);
}

/* the kernel's word: FITHAW on a thawed filesystem is EINVAL, so this fails
 * exactly when nothing was frozen (and thaws what was) */
static gboolean
kernel_says_frozen(const gchar *mountpoint)
{
	g_autofree gchar *cmd = g_strdup_printf("fsfreeze --unfreeze %s 2>/dev/null", mountpoint);

	return vm_test_sh_status(cmd) == 0;
}

/* a write to @path in the background; it blocks while its filesystem is frozen */
static void
start_background_write(const gchar *path)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"rm -f /tmp/write.done; (echo x > %s && echo ok > /tmp/write.done) </dev/null >/dev/null 2>&1 &",
		path);

	g_free(vm_test_sh(cmd));
}

static gboolean
background_write_done(void)
{
	return vm_test_sh_status(
		       "i=0; while [ ! -e /tmp/write.done ] && [ $i -lt 100 ]; do sleep 0.2; "
		       "i=$((i+1)); done; test -e /tmp/write.done") == 0;
}

/* ---- the host goes away ---- */

/* half a JSON object, then the host closes: each time the agent drops the
 * half message with the connection and the next host is served */
static void
test_vm_faults_disconnect_mid_request(void **state)
{
	const gchar *halves[] = {
		"{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":",
		"{\"execute\":\"guest-ping\",\"arguments\":{\"x\":\"abc\\",
		"[[[[{\"execute\":",
		"{\"execute\":\"guest-fsfreeze-freeze-list\",\"arguments\":{\"mountpoints\":[\"" DATA
		"\"",
	};
	g_autofree gchar *pid = NULL;

	need_guest();
	pid = agent_pid();
	for (gsize i = 0; i < G_N_ELEMENTS(halves); i++) {
		g_autoptr(GError) error = NULL;
		QgaClient *first = vm_test_connect("qgatrace", TRUE);
		QgaClient *next;

		assert_true(qga_client_send_raw(first, halves[i], strlen(halves[i]), &error));
		vm_test_close(first);
		next = vm_test_connect("qgatrace", TRUE);
		json_node_unref(vm_test_execute_ok(next, "guest-ping", NULL));
		/* the half freeze-list never ran */
		assert_status(next, "thawed");
		vm_test_close(next);
	}
	assert_same_agent(pid);
}

/* the host asks for the whole kernel log (a reply far larger than the
 * port's buffers) and closes before reading it */
static void
test_vm_faults_disconnect_mid_reply(void **state)
{
	const gchar *request = "{\"execute\":\"guest-dmesg\",\"id\":\"never-read\"}";
	g_autofree gchar *pid = NULL;
	g_autoptr(JsonNode) dmesg = NULL;
	QgaClient *next;

	need_guest();
	pid = agent_pid();
	for (guint i = 0; i < 5; i++) {
		g_autoptr(GError) error = NULL;
		QgaClient *first = vm_test_connect("qgatrace", TRUE);

		assert_true(qga_client_send_raw(first, request, strlen(request), &error));
		vm_test_close(first);
	}
	/* the sync skips whatever of the old replies the port still held */
	next = vm_test_connect("qgatrace", TRUE);
	dmesg = vm_test_execute_ok(next, "guest-dmesg", NULL);
	assert_true(JSON_NODE_HOLDS_OBJECT(dmesg));
	assert_same_agent(pid);
}

/* frozen, then the host vanishes: a new host finds the guest frozen, may
 * thaw it, and if nobody does, the watchdog (here the config key) does */
static void
test_vm_faults_disconnect_while_frozen(void **state)
{
	QgaClient *first;
	QgaClient *next;

	need_guest();
	g_free(vm_test_sh("printf '[general]\\nfreeze-timeout=6\\n' > /run/faults-timeout.conf"));
	vm_test_restart_agent("-c /run/faults-timeout.conf");
	first = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(first, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	vm_test_close(first);
	start_background_write(DATA "/after-disconnect");

	next = vm_test_connect("qgatrace", TRUE);
	assert_status(next, "frozen");
	json_node_unref(vm_test_execute_ok(next, "guest-ping", NULL));
	vm_test_close(next);
	/* nobody thaws: the config's freeze-timeout does */
	assert_true(background_write_done());
	vm_test_wait("grep -q 'auto-thaw: frozen longer than 6 s' " VM_TEST_AGENT_LOG);
	next = vm_test_connect("qgatrace", TRUE);
	assert_status(next, "thawed");
	assert_false(kernel_says_frozen(DATA));
}

/* ---- a filesystem whose FIFREEZE fails ---- */

/* Three filesystems, mounted in this order: /mnt/data (the disk), /mnt/bad
 * and /mnt/good, both ext2 on loop devices. The agent freezes in reverse
 * mount order (as qemu-ga), so /mnt/good is frozen first, then /mnt/bad
 * fails. /mnt/bad's image lives on a 4 MiB tmpfs that is then filled up:
 * the directories created last need blocks that are holes in the image, so
 * the loop device's writes fail with ENOSPC, the block device records a
 * write error, and freeze_super()'s sync_filesystem() returns it (6.1
 * fs/super.c). FIFREEZE then fails with EIO: neither EBUSY nor EOPNOTSUPP,
 * which qemu-ga and the agent skip. The write error is reported once, so
 * each freeze needs fresh directories. */
static void
setup_failing_filesystem(void)
{
	if (vm_test_sh_status("grep -qw loop /proc/modules || test -e /sys/module/loop") != 0) {
		print_message("the guest kernel has no loop driver\n");
		skip();
	}
	g_free(vm_test_sh(
		"mkdir -p " FULL " " BAD " " GOOD " && mount -t tmpfs -o size=4m tmpfs " FULL
		" && truncate -s 32M " FULL "/img && b=$(losetup -f) && losetup $b " FULL
		"/img && mke2fs -q $b && mount $b " BAD " && "
		"truncate -s 8M /tmp/good.img && g=$(losetup -f) && losetup $g /tmp/good.img && "
		"mke2fs -q $g && mount $g " GOOD " && "
		"dd if=/dev/zero of=" FULL "/fill bs=4k 2>/dev/null; true"));
}

static void
dirty_failing_filesystem(const gchar *tag)
{
	g_autofree gchar *cmd =
		g_strdup_printf("i=0; while [ $i -lt 200 ]; do mkdir " BAD "/%s$i && echo x > " BAD
				"/%s$i/f || exit 1; i=$((i+1)); done",
				tag, tag);

	g_free(vm_test_sh(cmd));
}

static void
assert_freeze_fails_on_bad(QgaClient *agent, const gchar *cmd, const gchar *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = vm_test_execute(agent, cmd, args, &error);

	assert_null(ret);
	print_message("%s: %s\n", cmd, error->message);
	assert_non_null(strstr(error->message, "failed to freeze '" BAD "' (ext2)"));
	assert_non_null(strstr(error->message, "Input/output error"));
	assert_status(agent, "thawed");
	/* /mnt/good was frozen before /mnt/bad failed, and is thawed again */
	assert_false(kernel_says_frozen(GOOD));
	assert_false(kernel_says_frozen(DATA));
	assert_false(kernel_says_frozen(BAD));
	start_background_write(GOOD "/written");
	assert_true(background_write_done());
}

static void
test_vm_faults_fifreeze_fails_mid_list(void **state)
{
	QgaClient *agent;

	need_guest();
	setup_failing_filesystem();
	agent = vm_test_connect("qgatrace", TRUE);
	dirty_failing_filesystem("list");
	assert_freeze_fails_on_bad(agent, "guest-fsfreeze-freeze-list",
				   "{\"mountpoints\":[\"" DATA "\",\"" BAD "\",\"" GOOD "\"]}");
	g_free(vm_test_sh("grep -q 'freeze failed, thawed everything' " VM_TEST_AGENT_LOG));
	/* freeze-all meets the same filesystem */
	dirty_failing_filesystem("all");
	assert_freeze_fails_on_bad(agent, "guest-fsfreeze-freeze", NULL);
	/* a failed freeze costs nothing: the disk still freezes and thaws */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
}

/* ---- tracing faults ---- */

static JsonObject *
object_of(JsonNode *node)
{
	return json_node_get_object(node);
}

/* stops the agent, unmounts tracefs (and debugfs, whose tracing/ would
 * mount it again), runs @then and restarts the agent.
 * Returns: (transfer none): a client on it, after a freeze and thaw of the
 * data disk that the missing tracefs must not hinder */
static QgaClient *
freeze_thaw_without_tracefs(const gchar *then)
{
	g_autofree gchar *cmd =
		g_strdup_printf("kill -TERM $(pidof qgatrace-agent); sleep 0.5; umount " TRACING
				" && umount /sys/kernel/debug && %s",
				then);
	QgaClient *agent;

	g_free(vm_test_sh(cmd));
	vm_test_restart_agent(NULL);
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_status(agent, "frozen");
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	assert_false(kernel_says_frozen(DATA));
	return agent;
}

/* tracefs unmounted and /sys/kernel masked by a tmpfs (as a container
 * runtime masks it), so the agent cannot mount tracefs either */
static void
test_vm_faults_tracefs_unavailable(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) session = NULL;
	const gchar *reason;

	need_guest();
	agent = freeze_thaw_without_tracefs(
		"mount -t tmpfs -o size=1m,mode=0555 tmpfs /sys/kernel");
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	assert_false(json_object_get_boolean_member(object_of(status), "available"));
	reason = json_object_get_string_member(object_of(status), "reason");
	print_message("status reason: %s\n", reason);
	assert_non_null(strstr(reason, "cannot mount tracefs at '" TRACING "'"));
	session = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	assert_string_equal(json_object_get_string_member(object_of(session), "state"), "untraced");
	assert_false(json_object_get_boolean_member(object_of(session), "verified"));
	assert_non_null(
		strstr(json_object_get_string_member(object_of(session), "reason"), "tracefs"));
}

/* tracefs unmounted but mountable: the agent mounts it for itself, traces,
 * and unmounts it again on exit, leaving the guest as it found it */
static void
test_vm_faults_tracefs_unmounted(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;

	need_guest();
	agent = freeze_thaw_without_tracefs("! grep -q tracefs /proc/mounts");
	session = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	assert_true(json_object_get_boolean_member(object_of(session), "verified"));
	vm_test_close(agent);
	g_free(vm_test_sh(
		"kill -TERM $(pidof qgatrace-agent); "
		"i=0; while pidof qgatrace-agent >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
		"! grep -q tracefs /proc/mounts"));
}

/* the agent's instance removed while frozen, as `trace-cmd reset -a` does
 * (rmdir succeeds even with the function tracer on): that session is lost
 * and says why; the next freeze gets a fresh instance and is verified */
static void
test_vm_faults_instance_removed_while_frozen(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) lost = NULL;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) next = NULL;
	JsonObject *s;

	need_guest();
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	g_free(vm_test_sh("test \"$(cat " TRACING
			  "/instances/qgatrace/current_tracer)\" = function && "
			  "rmdir " TRACING "/instances/qgatrace"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	assert_false(kernel_says_frozen(DATA));

	lost = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	s = object_of(lost);
	assert_false(json_object_get_boolean_member(s, "verified"));
	print_message("session with its instance removed: %s\n",
		      json_object_get_string_member(s, "reason"));
	assert_non_null(json_object_get_string_member(s, "reason"));
	/* not stuck on the dead instance: status tells the truth, the next
	 * freeze has a fresh instance */
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	assert_true(json_object_get_boolean_member(object_of(status), "available"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	next = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	if (!json_object_get_boolean_member(object_of(next), "verified"))
		fail_msg("the freeze after the instance was removed is not verified: %s",
			 json_object_get_string_member(object_of(next), "reason"));
}

/* a one-page ring buffer, and functions the agent calls on every request:
 * the requests answered while frozen overwrite the freeze's own records */
static void
test_vm_faults_buffer_overrun_while_frozen(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;
	JsonObject *s;
	JsonObject *lost;
	JsonObject *verdict;

	need_guest();
	g_free(vm_test_sh(
		"printf '[trace]\\nbuffer-kb=1\\nfunctions=freeze_super,thaw_super,sync_filesystem,"
		"deactivate_locked_super,ext4_freeze,ext4_unfreeze,vfs_read,vfs_write\\n' > /run/flood.conf"));
	vm_test_restart_agent("-c /run/flood.conf");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	for (guint i = 0; i < 200; i++)
		json_node_unref(vm_test_execute_ok(agent, "guest-ping", NULL));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);

	session = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	s = object_of(session);
	lost = json_object_get_object_member(s, "lost-events");
	print_message("lost events: %" G_GINT64_FORMAT "\n",
		      json_object_get_int_member(lost, "total"));
	assert_true(json_object_get_int_member(lost, "total") > 0);
	assert_false(json_object_get_boolean_member(s, "complete"));
	/* the freeze's records were overwritten: not verified, and why */
	verdict = json_array_get_object_element(json_object_get_array_member(s, "verification"), 0);
	assert_false(json_object_get_boolean_member(verdict, "verified"));
	print_message("verdict: %s\n", json_object_get_string_member(verdict, "reason"));
	assert_non_null(json_object_get_string_member(verdict, "reason"));
	assert_false(json_object_get_boolean_member(s, "verified"));
	g_free(vm_test_sh(
		"grep -q \"trace session 'agent-.* lost, not verified\" " VM_TEST_AGENT_LOG));
}

/* ---- the agent's own files on the frozen filesystem ---- */

/* log file and pidfile on /mnt/data, which the agent freezes: every
 * request is answered while frozen (each bounded by the client's timeout),
 * and what the agent logged meanwhile reaches the file after the thaw */
static void
test_vm_faults_logfile_on_frozen_fs(void **state)
{
	const gchar *commands[] = {"guest-ping", "guest-fsfreeze-status", "guest-info",
				   "guest-trace-status", "guest-dmesg"};
	QgaClient *agent;

	need_guest();
	vm_test_restart_agent("-l " DATA "/agent.log -f " DATA "/agent.pid");
	/* the agent writes its pidfile once started: on a loaded host later than the restart's 0.5 s */
	vm_test_wait("test -s " DATA "/agent.pid && test \"$(cat " DATA
		     "/agent.pid)\" = \"$(pidof qgatrace-agent)\"");
	agent = vm_test_connect("qgatrace", TRUE);
	qga_client_set_timeout(agent, 10000);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	for (guint round = 0; round < 20; round++) {
		for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
			json_node_unref(vm_test_execute_ok(agent, commands[i], NULL));
	}
	/* refused commands are answered too */
	for (guint i = 0; i < 20; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) ret = vm_test_execute(agent, "guest-get-fsinfo", NULL, &error);

		assert_null(ret);
		assert_non_null(strstr(error->message, "has been disabled"));
	}
	/* nothing reached the file yet: the write would have blocked */
	g_free(vm_test_sh("! grep -q 'froze 1 filesystems' " DATA "/agent.log"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	vm_test_wait("grep -q 'froze 1 filesystems' " DATA "/agent.log");
	vm_test_wait("grep -q 'thawed 1 filesystems' " DATA "/agent.log");
	assert_false(kernel_says_frozen(DATA));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		faults_test(test_vm_faults_disconnect_mid_request),
		faults_test(test_vm_faults_disconnect_mid_reply),
		faults_test(test_vm_faults_disconnect_while_frozen),
		faults_test(test_vm_faults_fifreeze_fails_mid_list),
		faults_test(test_vm_faults_tracefs_unavailable),
		faults_test(test_vm_faults_tracefs_unmounted),
		faults_test(test_vm_faults_instance_removed_while_frozen),
		faults_test(test_vm_faults_buffer_overrun_while_frozen),
		faults_test(test_vm_faults_logfile_on_frozen_fs),
	};

	return vm_test_run(tests);
}
