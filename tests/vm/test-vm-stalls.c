/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stalled tasks in a real QEMU guest: a writer blocked by a frozen ext4 is
 * reported from the kernel's records with how long it waited, nothing is
 * reported without one, and under 4 vCPUs with two busy disks the
 * sessions still verify and no record is lost with the default buffer. */
#include "config.h"

#include <string.h>

#include "vm-run.h"
#include "vm-test.h"

#define DATA	     "/mnt/data"
#define LOOP	     "/mnt/stall-loop"
#define PLUGIN	     "/usr/libexec/qgatrace/qgatrace-fsfreeze-hook"
#define WINDOW_MS    2000
#define MIN_STALL_NS 1500000000
/* small synced writes, 20 a second; prints the writer's pid */
#define WRITER_FMT                                                                                 \
	"sh -c 'while :; do echo x >> %s/stall-%d; sync; usleep 50000; done' "                     \
	">/dev/null 2>&1 & echo $!"

static int
stalls_teardown(void **state)
{
	VmGuest *guest = vm_test_guest();
	g_autofree gchar *out = NULL;

	vm_test_teardown(state);
	vm_guest_shell(guest,
		       "kill $(cat /run/stall-writers 2>/dev/null) 2>/dev/null; rm -f "
		       "/run/stall-writers; fsfreeze --unfreeze " DATA " 2>/dev/null; "
		       "fsfreeze --unfreeze " LOOP " 2>/dev/null; true",
		       &out, NULL, VM_GUEST_SHELL_TIMEOUT_MS, NULL);
	return 0;
}

#define stalls_test(f) cmocka_unit_test_teardown(f, stalls_teardown)

/* starts a writer on @dir; Returns: its pid */
static gint
start_writer(const gchar *dir, gint n)
{
	g_autofree gchar *cmd = g_strdup_printf(WRITER_FMT, dir, n);
	g_autofree gchar *pid = vm_test_sh(cmd);
	g_autofree gchar *keep = g_strdup_printf("echo %s >> /run/stall-writers", pid);

	g_free(vm_test_sh(keep));
	return (gint)g_ascii_strtoll(pid, NULL, 10);
}

/* a freeze of @mounts_json held WINDOW_MS, then the thaw; @window_ns: the
 * host's time from sending the freeze to the thaw's answer, which bounds
 * any stall. Returns: (transfer full): the session */
static JsonNode *
frozen_window_by(QgaClient *freezer, QgaClient *agent, const gchar *mounts_json, gint n_mounts,
		 guint64 *window_ns)
{
	g_autoptr(JsonNode) status = NULL;
	g_autofree gchar *args = NULL;
	JsonObject *last;
	gint64 start = g_get_monotonic_time();

	assert_int_equal(vm_test_execute_int(freezer, "guest-fsfreeze-freeze-list", mounts_json),
			 n_mounts);
	g_usleep(WINDOW_MS * 1000);
	assert_int_equal(vm_test_execute_int(freezer, "guest-fsfreeze-thaw", NULL), n_mounts);
	*window_ns = (guint64)(g_get_monotonic_time() - start) * 1000;
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	last = json_object_get_object_member(json_node_get_object(status), "last-session");
	args = g_strdup_printf("{\"session\":\"%s\"}",
			       json_object_get_string_member(last, "session"));
	return vm_test_execute_ok(agent, "guest-trace-fetch", args);
}

/* frozen and thawed by qgatrace-agent itself */
static JsonNode *
frozen_window(QgaClient *agent, const gchar *mounts_json, gint n_mounts, guint64 *window_ns)
{
	return frozen_window_by(agent, agent, mounts_json, n_mounts, window_ns);
}

/* Returns: (transfer none) (nullable): the stall of @pid (0: any) on @mountpoint */
static JsonObject *
stall_of(JsonObject *session, gint pid, const gchar *mountpoint)
{
	JsonArray *stalls = json_object_get_array_member(session, "stalls");

	for (guint i = 0; i < json_array_get_length(stalls); i++) {
		JsonObject *s = json_array_get_object_element(stalls, i);

		if ((pid == 0 || json_object_get_int_member(s, "pid") == pid) &&
		    g_strcmp0(json_object_get_string_member(s, "mountpoint"), mountpoint) == 0)
			return s;
	}
	return NULL;
}

static void
assert_stalled(JsonObject *session, gint pid, const gchar *mountpoint, guint64 window_ns)
{
	JsonObject *stall = stall_of(session, pid, mountpoint);
	gint64 blocked;

	if (stall == NULL)
		fail_msg("writer %d not listed as stalled on %s", pid, mountpoint);
	blocked = json_object_get_int_member(stall, "blocked-ns");
	print_message("writer %d on %s: stalled %.3f s of a %.3f s window\n", pid, mountpoint,
		      blocked / 1e9, window_ns / 1e9);
	assert_true(blocked >= MIN_STALL_NS);
	assert_true((guint64)blocked <= window_ns);
	assert_true(json_object_get_int_member(stall, "first-blocked-ns") >=
		    json_object_get_int_member(session, "started-ns"));
	assert_string_equal(json_object_get_string_member(stall, "comm"), "sh");
}

static void
test_vm_stalls_writer_listed(void **state)
{
	g_autoptr(JsonNode) node = NULL;
	JsonObject *session;
	guint64 window_ns;
	gint writer;

	const gchar *socket = vm_guest_socket(vm_test_guest(), "qgatrace");
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(VmRun) trace = NULL;
	g_autoptr(VmRun) snapshot = NULL;
	g_autoptr(JsonObject) doc = NULL;
	g_autofree gchar *line = NULL;
	JsonObject *mp;

	writer = start_writer(DATA, 0);
	node = frozen_window(agent, "{\"mountpoints\":[\"" DATA "\"]}", 1, &window_ns);
	session = json_node_get_object(node);
	assert_true(json_object_get_boolean_member(session, "verified"));
	assert_true(json_object_get_boolean_member(session, "stalls-complete"));
	assert_stalled(session, writer, DATA, window_ns);

	/* the host client says it under the mountpoint */
	vm_test_close(agent);
	trace = vm_run_client("--agent", socket, "trace", "--session",
			      json_object_get_string_member(session, "session"), NULL);
	assert_int_equal(trace->status, 0);
	line = g_strdup_printf("  stalled: sh (pid %d) ", writer);
	assert_non_null(strstr(trace->out, line));
	snapshot = vm_run_client("--agent", socket, "--json", "snapshot", "-m", DATA, NULL);
	doc = vm_run_json(snapshot);
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_non_null(json_object_get_array_member(mp, "stalled-tasks"));
	assert_true(json_object_get_boolean_member(mp, "stalls-complete"));
	assert_non_null(json_object_get_array_member(json_object_get_object_member(doc, "trace"),
						     "stalls"));
}

static void
test_vm_stalls_none_without_writer(void **state)
{
	g_autoptr(JsonNode) node = NULL;
	JsonObject *session;
	guint64 window_ns;

	vm_test_guest();
	node = frozen_window(vm_test_connect("qgatrace", TRUE), "{\"mountpoints\":[\"" DATA "\"]}",
			     1, &window_ns);
	session = json_node_get_object(node);
	assert_true(json_object_get_boolean_member(session, "verified"));
	assert_true(json_object_get_boolean_member(session, "stalls-complete"));
	assert_null(stall_of(session, 0, DATA));
}

/* stock qemu-ga with the qgatrace hook: its session lists the writer too */
static void
test_vm_stalls_qemu_ga_hook(void **state)
{
	g_autoptr(JsonNode) node = NULL;
	JsonObject *session;
	guint64 window_ns;
	gint writer;

	vm_test_guest();
	g_free(vm_test_sh(
		"qgatrace-vm-agent stop qemu-ga; "
		"/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 "
		"-t /run/qemu-ga -F" PLUGIN " </dev/null >>/run/qemu-ga.log 2>&1 & "
		"sleep 0.5; pidof qemu-ga"));
	writer = start_writer(DATA, 0);
	node = frozen_window_by(vm_test_connect("qga", TRUE), vm_test_connect("qgatrace", TRUE),
				"{\"mountpoints\":[\"" DATA "\"]}", 1, &window_ns);
	session = json_node_get_object(node);
	assert_string_equal(json_object_get_string_member(session, "source"), "qemu-ga");
	assert_true(json_object_get_boolean_member(session, "verified"));
	assert_true(json_object_get_boolean_member(session, "stalls-complete"));
	assert_stalled(session, writer, DATA, window_ns);
}

static int
stalls_hook_teardown(void **state)
{
	g_autofree gchar *out = NULL;

	stalls_teardown(state);
	vm_guest_shell(vm_test_guest(),
		       "qgatrace-vm-agent stop qemu-ga; qgatrace-vm-agent start qemu-ga", &out,
		       NULL, VM_GUEST_SHELL_TIMEOUT_MS, NULL);
	return 0;
}

/* 4 vCPUs, writers on the data disk and on a loop disk: every session
 * verified, every writer listed, nothing lost with the default buffer */
static void
test_vm_stalls_busy_smp(void **state)
{
	const gchar *freeze = "{\"mountpoints\":[\"" DATA "\",\"" LOOP "\"]}";
	g_autofree gchar *cpus = NULL;
	QgaClient *agent;
	gint writers[4];

	vm_test_guest();
	cpus = vm_test_sh("nproc");
	assert_string_equal(cpus, "4");
	g_free(vm_test_sh("mkdir -p " LOOP " && truncate -s 32M /run/stall-loop.img && "
			  "l=$(losetup -f) && losetup $l /run/stall-loop.img && mke2fs -q $l && "
			  "mount $l " LOOP));
	for (guint i = 0; i < G_N_ELEMENTS(writers); i++)
		writers[i] = start_writer(i % 2 == 0 ? DATA : LOOP, (gint)i);
	/* one connection: a sync behind a busy guest's collection can be slow */
	agent = vm_test_connect("qgatrace", TRUE);
	for (guint round = 0; round < 2; round++) {
		g_autoptr(JsonNode) node = NULL;
		JsonObject *session;
		guint64 window_ns;

		node = frozen_window(agent, freeze, 2, &window_ns);
		session = json_node_get_object(node);
		assert_true(json_object_get_boolean_member(session, "verified"));
		assert_true(json_object_get_boolean_member(session, "complete"));
		assert_true(json_object_get_boolean_member(session, "stalls-complete"));
		for (guint i = 0; i < G_N_ELEMENTS(writers); i++)
			assert_stalled(session, writers[i], i % 2 == 0 ? DATA : LOOP, window_ns);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		stalls_test(test_vm_stalls_writer_listed),
		stalls_test(test_vm_stalls_none_without_writer),
		cmocka_unit_test_teardown(test_vm_stalls_qemu_ga_hook, stalls_hook_teardown),
	};
	const struct CMUnitTest smp_tests[] = {
		stalls_test(test_vm_stalls_busy_smp),
	};
	gint rc = vm_test_run(tests);

	if (rc != 0)
		return rc;
	g_setenv("QGATRACE_VM_SMP", "4", TRUE);
	return vm_test_run(smp_tests);
}
