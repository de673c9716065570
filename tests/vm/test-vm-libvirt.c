/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host client and qgatrace-agent under a real libvirtd: vm-libvirt.c runs
 * libvirtd (and virtlogd) as root, as ../shared/reference/libvirt-on-build-machine.md
 * describes, and boots the harness's kernel and initramfs as a transient
 * domain type='qemu' with a virtio-blk ext4 data disk and unix channels for
 * org.qemu.guest_agent.0, org.qgatrace.0 and the test shell, no agent started. Then:
 *   - qgatrace --domain --port org.qgatrace.0: the channel's socket from the
 *     domain XML, used directly (ping, dmesg, a verified snapshot);
 *   - doctor names a port the guest has not opened (state='disconnected');
 *   - qgatrace-agent on org.qemu.guest_agent.0, which libvirtd holds: virsh
 *     qemu-agent-command, domfsfreeze/domfsthaw and domfsinfo work against it,
 *     and qgatrace --domain (libvirt's agent API) pings, snapshots (host step
 *     virsh snapshot-create-as --disk-only, libvirt's block statistics as the
 *     host evidence) and reads dmesg.
 * Everything started is stopped at the end, also when a test fails; a watcher
 * process does it if this one dies. Exit 77 (skip) only where libvirtd or the
 * guest image cannot be had. */
#include "config.h"

#include <string.h>

#include "vm-libvirt.h"
#include "vm-run.h"
#include "vm-test.h"

#define URI  VM_LIBVIRT_URI
#define DATA "/mnt/data"
#define SKIP 77

static struct {
	gboolean skip;
	VmLibvirt *libvirt;
	/* of libvirt */
	const gchar *run_dir;
	const gchar *domain;
	VmGuest *guest; /* the test shell */
} lv;

/* ---- running things ---- */

/* a missing tool (virsh, say) is exit status 127, as a shell would say */
static VmRun *
run_argv(const gchar *const *argv)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	gint64 started = g_get_monotonic_time();
	VmRun *run;

	g_printerr("# %s %s ...\n", argv[0], argv[1] != NULL ? argv[1] : "");
	proc = vm_run_spawn(argv, &error);
	if (proc != NULL)
		return vm_run_wait(proc, started);
	run = g_new0(VmRun, 1);
	run->status = 127;
	run->err = g_strdup(error->message);
	run->out = g_strdup("");
	return run;
}

static VmRun *
run(const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	va_list ap;

	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	return run_argv((const gchar *const *)argv->pdata);
}

/* qgatrace --domain D --connect URI ARGS... */
static VmRun *
client(const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	va_list ap;

	g_ptr_array_add(argv, (gpointer)vm_run_client_path());
	g_ptr_array_add(argv, (gpointer) "--domain");
	g_ptr_array_add(argv, (gpointer)lv.domain);
	g_ptr_array_add(argv, (gpointer) "--connect");
	g_ptr_array_add(argv, (gpointer)URI);
	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	return run_argv((const gchar *const *)argv->pdata);
}

static gchar *
sh(const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	gchar *out = vm_guest_shell_ok(lv.guest, cmd, &error);

	if (out == NULL)
		fail_msg("guest command '%s': %s", cmd, error->message);
	return out;
}

/* (re)starts the guest's one qgatrace-agent on @port; the other port is left closed */
static void
agent_on(const gchar *port)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"kill -TERM $(pidof qgatrace-agent) 2>/dev/null; i=0; while pidof qgatrace-agent >/dev/null && "
		"[ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; "
		"qgatrace-agent -m virtio-serial -p /dev/virtio-ports/%s -t /run -v </dev/null "
		">>/run/qgatrace-agent.log 2>&1 & sleep 0.5; pidof qgatrace-agent",
		port);

	g_free(sh(cmd));
}

/* waits for libvirt's view of the port: state='connected' */
static void
wait_channel_state(const gchar *port, const gchar *state)
{
	g_autofree gchar *needle = g_strdup_printf("name='%s' state='%s'", port, state);

	for (guint i = 0; i < 100; i++) {
		g_autoptr(VmRun) r = run("virsh", "-c", URI, "dumpxml", lv.domain, NULL);

		if (strstr(r->out, needle) != NULL)
			return;
		g_usleep(100 * 1000);
	}
	fail_msg("libvirt never showed %s", needle);
}

static void
group_skip(const GError *error)
{
	lv.skip = TRUE;
	g_printerr("skipping the libvirt tests: %s\n", error->message);
}

static int
layout_setup(VmLibvirtLayout layout)
{
	g_autoptr(GError) error = NULL;
	const gchar *image_dir = vm_guest_build_image(&error);

	if (image_dir != NULL)
		lv.libvirt = vm_libvirt_start_layout(image_dir, "qgatrace-test",
						     "qgatrace.agents=none", layout, &error);
	if (lv.libvirt == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		group_skip(error);
		return 0;
	}
	if (lv.libvirt == NULL) {
		g_printerr("# setting up the libvirt tests: %s\n", error->message);
		return -1;
	}
	lv.run_dir = vm_libvirt_get_run_dir(lv.libvirt);
	lv.domain = vm_libvirt_get_domain(lv.libvirt);
	lv.guest = vm_libvirt_get_guest(lv.libvirt);
	return 0;
}

static int
group_setup(void **state)
{
	return layout_setup(VM_LIBVIRT_LAYOUT_FULL);
}

/* Proxmox's and OpenStack's layout: qemu-ga's channel only, no disk serial */
static int
one_channel_setup(void **state)
{
	return layout_setup(VM_LIBVIRT_NO_DATA_SERIAL | VM_LIBVIRT_NO_QGATRACE_PORT);
}

/* the same, plus the org.qgatrace.0 channel */
static int
two_channels_setup(void **state)
{
	return layout_setup(VM_LIBVIRT_NO_DATA_SERIAL);
}

static int
group_teardown(void **state)
{
	g_autofree gchar *agent_log = NULL;

	if (lv.guest != NULL &&
	    vm_guest_shell(lv.guest, "cat /run/qgatrace-agent.log /run/qemu-ga.log 2>/dev/null",
			   &agent_log, NULL, 10000, NULL))
		g_printerr("---- guest /run/qgatrace-agent.log, /run/qemu-ga.log ----\n%s",
			   agent_log);
	lv.guest = NULL;
	lv.run_dir = NULL;
	lv.domain = NULL;
	g_clear_pointer(&lv.libvirt, vm_libvirt_free);
	return 0;
}

static void
skip_if_unsupported(void)
{
	if (lv.skip)
		skip();
}

/* ---- the tests, in order: org.qgatrace.0 first, then the agent on libvirt's channel ---- */

static void
test_libvirt_own_port(void **state)
{
	g_autoptr(VmRun) ping = NULL;
	g_autoptr(VmRun) dmesg = NULL;
	g_autoptr(VmRun) snap = NULL;
	g_autoptr(VmRun) doctor = NULL;
	g_autoptr(JsonObject) p = NULL;
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *evidence;

	skip_if_unsupported();
	agent_on("org.qgatrace.0");
	wait_channel_state("org.qgatrace.0", "connected");
	/* the socket path comes from the live XML (libvirt made it up) */
	ping = client("--port", "org.qgatrace.0", "--json", "ping", NULL);
	assert_int_equal(ping->status, 0);
	p = vm_run_json(ping);
	assert_string_equal(json_object_get_string_member(p, "transport"), "socket");
	assert_non_null(
		strstr(json_object_get_string_member(p, "target"), "port 'org.qgatrace.0'"));
	dmesg = client("--port", "org.qgatrace.0", "dmesg", "--tail", "3", NULL);
	assert_int_equal(dmesg->status, 0);
	assert_true(g_str_has_prefix(dmesg->out, "["));
	snap = client("--port", "org.qgatrace.0", "--json", "snapshot", "-m", DATA, NULL);
	assert_int_equal(snap->status, 0);
	doc = vm_run_json(snap);
	assert_true(json_object_get_boolean_member(doc, "verified"));
	/* host evidence through libvirt's block statistics, mapped by serial */
	evidence = json_object_get_object_member(doc, "host-evidence");
	assert_string_equal(json_object_get_string_member(evidence, "source"), "libvirt");
	assert_true(json_object_get_boolean_member(evidence, "quiet"));
	doctor = client("--port", "org.qgatrace.0", "doctor", NULL);
	assert_int_equal(doctor->status, 0);
	assert_non_null(strstr(doctor->out, "state='connected'"));
}

static void
test_libvirt_doctor_disconnected(void **state)
{
	g_autoptr(VmRun) doctor = NULL;
	g_autoptr(VmRun) ping = NULL;

	skip_if_unsupported();
	/* nothing opened org.qemu.guest_agent.0 in the guest */
	doctor = client("--timeout", "5", "doctor", NULL);
	assert_int_equal(doctor->status, 3);
	assert_non_null(strstr(doctor->out, "state='disconnected'"));
	assert_non_null(strstr(doctor->out, "start the agent in the guest"));
	ping = client("--timeout", "5", "ping", NULL);
	assert_int_equal(ping->status, 3);
	assert_non_null(strstr(ping->err, "not connected"));
}

static void
test_libvirt_virsh_against_qgatrace_agent(void **state)
{
	g_autoptr(VmRun) ping = NULL;
	g_autoptr(VmRun) info = NULL;
	g_autoptr(VmRun) freeze = NULL;
	g_autoptr(VmRun) thaw = NULL;
	g_autoptr(VmRun) fsinfo = NULL;
	g_autofree gchar *marker = NULL;

	skip_if_unsupported();
	agent_on("org.qemu.guest_agent.0");
	wait_channel_state("org.qemu.guest_agent.0", "connected");
	ping = run("virsh", "-c", URI, "qemu-agent-command", lv.domain,
		   "{\"execute\":\"guest-ping\"}", NULL);
	assert_int_equal(ping->status, 0);
	assert_non_null(strstr(ping->out, "{\"return\":{}}"));
	/* it is ours: it has the trace commands */
	info = run("virsh", "-c", URI, "qemu-agent-command", lv.domain,
		   "{\"execute\":\"guest-info\"}", NULL);
	assert_int_equal(info->status, 0);
	assert_non_null(strstr(info->out, "guest-trace-fetch"));
	freeze = run("virsh", "-c", URI, "domfsfreeze", lv.domain, "--mountpoint", DATA, NULL);
	assert_int_equal(freeze->status, 0);
	assert_non_null(strstr(freeze->out, "Froze 1 filesystem(s)"));
	marker = sh("test -e /run/qgatrace.frozen && echo frozen");
	assert_string_equal(marker, "frozen");
	thaw = run("virsh", "-c", URI, "domfsthaw", lv.domain, NULL);
	assert_int_equal(thaw->status, 0);
	assert_non_null(strstr(thaw->out, "Thawed 1 filesystem(s)"));
	g_free(marker);
	marker = sh("test -e /run/qgatrace.frozen; echo $?");
	assert_string_equal(marker, "1");
	fsinfo = run("virsh", "-c", URI, "domfsinfo", lv.domain, NULL);
	assert_int_equal(fsinfo->status, 0);
	assert_non_null(strstr(fsinfo->out, DATA));
	assert_non_null(strstr(fsinfo->out, "ext4"));
	assert_non_null(strstr(fsinfo->out, "vda"));
}

static void
test_libvirt_client_through_agent_api(void **state)
{
	g_autofree gchar *overlay =
		g_build_filename(lv.run_dir != NULL ? lv.run_dir : "/tmp", "snap1.qcow2", NULL);
	g_autofree gchar *step = NULL;
	g_autoptr(VmRun) ping = NULL;
	g_autoptr(VmRun) snap = NULL;
	g_autoptr(VmRun) human = NULL;
	g_autoptr(VmRun) dmesg = NULL;
	g_autoptr(VmRun) doctor = NULL;
	g_autoptr(VmRun) df = NULL;
	g_autoptr(JsonObject) p = NULL;
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *mp;

	skip_if_unsupported();
	step = g_strdup_printf("virsh -c " URI " snapshot-create-as %s --disk-only --no-metadata "
			       "--diskspec vda,file=%s",
			       lv.domain, overlay);
	ping = client("--json", "ping", NULL);
	assert_int_equal(ping->status, 0);
	p = vm_run_json(ping);
	assert_string_equal(json_object_get_string_member(p, "transport"), "libvirt");
	snap = client("--json", "snapshot", "-m", DATA, "--exec", step, NULL);
	assert_int_equal(snap->status, 0);
	doc = vm_run_json(snap);
	assert_true(json_object_get_boolean_member(doc, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_true(json_object_get_boolean_member(mp, "verified"));
	assert_true(json_object_get_boolean_member(json_object_get_object_member(doc, "host-step"),
						   "ok"));
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(doc, "host-evidence"), "source"),
			    "libvirt");
	/* libvirt made the overlay the active layer */
	assert_true(g_file_test(overlay, G_FILE_TEST_IS_REGULAR));
	human = client("snapshot", "-m", DATA, NULL);
	assert_int_equal(human->status, 0);
	assert_non_null(strstr(human->out, "snapshot VERIFIED"));
	dmesg = client("dmesg", "--tail", "3", NULL);
	assert_int_equal(dmesg->status, 0);
	assert_true(g_str_has_prefix(dmesg->out, "["));
	df = client("df", NULL);
	assert_int_equal(df->status, 0);
	assert_non_null(strstr(df->out, "host view (libvirt"));
	doctor = client("doctor", NULL);
	assert_int_equal(doctor->status, 0);
	assert_non_null(strstr(doctor->out, "through libvirt's agent API"));
}

/* the kernel log from a libvirt memory-only dump: no QMP socket, no agent involved */
static void
test_libvirt_dmesg_from_memory_dump(void **state)
{
	g_autoptr(VmRun) dmesg = NULL;
	g_autoptr(VmRun) domstate = NULL;
	g_autoptr(VmRun) taint = NULL;

	skip_if_unsupported();
	g_free(sh("echo '<4>qgatrace-libvirt-mem-marker' > /dev/kmsg"));
	dmesg = client("dmesg", "--from-memory", "--tail", "5", NULL);
	if (dmesg->status != 0)
		fail_msg("dmesg --from-memory: %d: %s", dmesg->status, dmesg->err);
	assert_true(g_str_has_prefix(dmesg->out, "["));
	assert_non_null(strstr(dmesg->out, "qgatrace-libvirt-mem-marker"));
	{
		g_auto(GStrv) lines = g_strsplit(g_strstrip(dmesg->out), "\n", -1);

		assert_int_equal(g_strv_length(lines), 5);
	}
	/* libvirt paused the guest for the dump and resumed it */
	domstate = run("virsh", "-c", URI, "domstate", lv.domain, NULL);
	assert_int_equal(domstate->status, 0);
	assert_string_equal(g_strstrip(domstate->out), "running");
	/* the monitor passthrough is refused, not pretended */
	taint = client("dmesg", "--from-memory", "--allow-taint", NULL);
	assert_int_equal(taint->status, 2);
	assert_non_null(strstr(taint->err, "not supported yet"));
}

/* ---- the layouts users have: stock qemu-ga with the hook, the data disk without a serial ---- */

#define HOOK	  "/usr/libexec/qgatrace/qgatrace-fsfreeze-hook"
#define FILE_CMDS "guest-file-open,guest-file-read,guest-file-close"

/* (re)starts stock qemu-ga on libvirt's channel with the qgatrace hook, @blocked as its -b
 * list (NULL: none), as test-vm-trace.c's stock tests do; -F takes its path attached
 * (an optional argument), a separate word would be the default hook and a stray word */
static void
qemu_ga_on(const gchar *blocked)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"qgatrace-vm-agent stop qemu-ga; mkdir -p /run/qemu-ga; "
		"/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 "
		"-t /run/qemu-ga -F" HOOK " %s%s </dev/null >>/run/qemu-ga.log 2>&1 & "
		"echo $! >/run/qemu-ga.vm-pid; sleep 0.5; pidof qemu-ga",
		blocked != NULL ? "-b " : "", blocked != NULL ? blocked : "");

	g_free(sh(cmd));
	wait_channel_state("org.qemu.guest_agent.0", "connected");
}

/* what the hook left behind, for a failure's log */
static void
print_guest_state(void)
{
	g_autofree gchar *out = NULL;

	vm_guest_shell(lv.guest,
		       "ls -laR /run/qgatrace; ls /sys/kernel/tracing/instances; ps; "
		       "cat /run/qemu-ga.log",
		       &out, NULL, 10000, NULL);
	g_printerr("---- guest state ----\n%s", out != NULL ? out : "");
}

/* the disk's evidence entry that holds @mountpoint, or NULL */
static JsonObject *
evidence_disk_for(JsonObject *evidence, const gchar *mountpoint)
{
	JsonArray *disks = json_object_get_array_member(evidence, "disks");

	for (guint i = 0; i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);
		JsonArray *mounts = json_object_get_array_member(d, "mountpoints");

		for (guint m = 0; m < json_array_get_length(mounts); m++)
			if (g_strcmp0(json_array_get_string_element(mounts, m), mountpoint) == 0)
				return d;
	}
	return NULL;
}

/* a verified snapshot of DATA, its disk tied to a host disk without a serial (by its PCI
 * address, the only other key) and quiet in the frozen window by libvirt's statistics */
static void
assert_snapshot_by_address(void)
{
	g_autoptr(VmRun) snap = client("--json", "snapshot", "-m", DATA, NULL);
	g_autoptr(VmRun) human = NULL;
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *evidence;
	JsonObject *disk;
	JsonObject *mp;
	const gchar *serial;

	if (snap->status != 0) {
		print_guest_state();
		fail_msg("snapshot: %d: %s%s", snap->status, snap->out, snap->err);
	}
	doc = vm_run_json(snap);
	assert_true(json_object_get_boolean_member(doc, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_string_equal(json_object_get_string_member(mp, "mountpoint"), DATA);
	assert_true(json_object_get_boolean_member(mp, "verified"));
	evidence = json_object_get_object_member(doc, "host-evidence");
	assert_string_equal(json_object_get_string_member(evidence, "source"), "libvirt");
	assert_true(json_object_get_boolean_member(evidence, "quiet"));
	assert_int_equal(json_array_get_length(json_object_get_array_member(evidence, "unmapped")),
			 0);
	disk = evidence_disk_for(evidence, DATA);
	assert_non_null(disk);
	serial = json_object_get_string_member(disk, "serial");
	assert_true(serial == NULL || *serial == '\0');
	/* no serial: libvirt's <address> of the disk against the PCI address the guest reports */
	assert_string_equal(json_object_get_string_member(disk, "matched-by"), "pci");
	assert_true(json_object_get_boolean_member(disk, "conclusive"));
	assert_int_equal(json_object_get_int_member(disk, "writes-in-window"), 0);
	human = client("snapshot", "-m", DATA, NULL);
	assert_int_equal(human->status, 0);
	assert_non_null(strstr(human->out, "snapshot VERIFIED"));
}

/* one channel: the freeze and the hook's sessions both through qemu-ga */
static void
test_libvirt_one_channel_stock_qemu_ga(void **state)
{
	skip_if_unsupported();
	qemu_ga_on(NULL);
	assert_snapshot_by_address();
	/* the hook stored the session qgatrace read through guest-file-* */
	g_free(sh("test -s /run/qgatrace/sessions/index.json && echo ok"));
}

/* a doctor check's detail by its name */
static const gchar *
doctor_detail(JsonObject *doc, const gchar *name)
{
	JsonArray *checks = json_object_get_array_member(doc, "checks");

	for (guint i = 0; i < json_array_get_length(checks); i++) {
		JsonObject *c = json_array_get_object_element(checks, i);

		if (g_strcmp0(json_object_get_string_member(c, "name"), name) == 0)
			return json_object_get_string_member(c, "detail");
	}
	fail_msg("doctor has no check '%s'", name);
	return NULL;
}

/* two channels, qemu-ga without guest-file-*: the sessions from qgatrace-agent on the
 * org.qgatrace.0 channel qgatrace found in the domain, the freeze through libvirt */
static void
test_libvirt_two_channels_discovered_port(void **state)
{
	g_autoptr(VmRun) doctor = NULL;
	g_autoptr(JsonObject) doc = NULL;

	skip_if_unsupported();
	qemu_ga_on(FILE_CMDS);
	agent_on("org.qgatrace.0");
	wait_channel_state("org.qgatrace.0", "connected");
	assert_snapshot_by_address();
	doctor = client("--json", "doctor", NULL);
	if (doctor->status != 0)
		fail_msg("doctor: %d: %s%s", doctor->status, doctor->out, doctor->err);
	doc = vm_run_json(doctor);
	assert_true(g_str_has_prefix(doctor_detail(doc, "agent"), "qemu-ga"));
	assert_non_null(strstr(doctor_detail(doc, "trace agent"), "port 'org.qgatrace.0'"));
	assert_string_equal(doctor_detail(doc, "session source"),
			    "guest-trace-fetch (qgatrace-agent)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt_own_port),
		cmocka_unit_test(test_libvirt_doctor_disconnected),
		cmocka_unit_test(test_libvirt_virsh_against_qgatrace_agent),
		cmocka_unit_test(test_libvirt_client_through_agent_api),
		cmocka_unit_test(test_libvirt_dmesg_from_memory_dump),
	};
	const struct CMUnitTest one_channel[] = {
		cmocka_unit_test(test_libvirt_one_channel_stock_qemu_ga),
	};
	const struct CMUnitTest two_channels[] = {
		cmocka_unit_test(test_libvirt_two_channels_discovered_port),
	};
	gint rc = cmocka_run_group_tests_name("libvirt", tests, group_setup, group_teardown);

	if (lv.skip)
		return SKIP;
	/* one domain at a time: the harness holds the machine's libvirt lock per domain */
	rc |= cmocka_run_group_tests_name("libvirt one channel, no serial", one_channel,
					  one_channel_setup, group_teardown);
	rc |= cmocka_run_group_tests_name("libvirt two channels, no serial", two_channels,
					  two_channels_setup, group_teardown);
	return rc;
}
