/* The host client and qgatrace-agent under a real libvirtd: the test runs
 * libvirtd (and virtlogd) as root, as ../shared/reference/libvirt-on-build-machine.md
 * describes, and boots the harness's kernel and initramfs as a transient
 * domain type='qemu' with a virtio-blk ext4 data disk and unix channels for
 * org.qemu.guest_agent.0, org.qgatrace.0 and the test shell. Then:
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

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vm-run.h"
#include "vm-test.h"

#define URI "qemu:///system"
#define DATA "/mnt/data"
#define SKIP 77

static struct {
	gboolean skip;
	gchar *run_dir;
	gchar *domain;
	gboolean domain_started;
	GPid virtlogd;
	GPid libvirtd;
	GPid watcher;
	gboolean kvm_changed;
	mode_t kvm_mode;
	gid_t kvm_gid;
	VmGuest *guest; /* attached: the test shell */
	gint lock_fd;
} lv = {.lock_fd = -1};

/* one libvirt test at a time on this machine: another build dir's run would share our
 * libvirtd, and stop it under us (or we under it) */
#define LOCK_PATH "/run/lock/qgatrace-libvirt-test.lock"

static gboolean
libvirt_lock(GError **error)
{
	g_mkdir_with_parents("/run/lock", 0755);
	lv.lock_fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lv.lock_fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", LOCK_PATH,
			    g_strerror(errno));
		return FALSE;
	}
	for (guint i = 0; i < 4500; i++) {
		if (flock(lv.lock_fd, LOCK_EX | LOCK_NB) == 0)
			return TRUE;
		if (i == 0)
			g_printerr("# another libvirt test runs on this machine: waiting for it\n");
		g_usleep(100 * 1000);
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "another libvirt test held " LOCK_PATH " for 450 s");
	return FALSE;
}

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

static gboolean
run_ok(const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(VmRun) r = NULL;
	va_list ap;

	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	r = run_argv((const gchar *const *)argv->pdata);
	return r->status == 0;
}

/* qgatrace --domain D --connect URI ARGS... */
static VmRun *
client(const gchar *first, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	va_list ap;

	g_ptr_array_add(argv, (gpointer)vm_run_client_path());
	g_ptr_array_add(argv, (gpointer) "--domain");
	g_ptr_array_add(argv, lv.domain);
	g_ptr_array_add(argv, (gpointer) "--connect");
	g_ptr_array_add(argv, (gpointer)URI);
	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	return run_argv((const gchar *const *)argv->pdata);
}

static void
new_session(gpointer user_data)
{
	setsid();
}

/* a daemon of ours, in the foreground, in its own session */
static GPid
spawn_daemon(const gchar *const *argv, const gchar *log, GError **error)
{
	g_autofree gchar *cmd = NULL;
	g_autofree gchar *quoted_log = g_shell_quote(log);
	g_autoptr(GString) line = g_string_new("exec");
	const gchar *sh[] = {"/bin/sh", "-c", NULL, NULL};
	GPid pid = 0;

	for (guint i = 0; argv[i] != NULL; i++) {
		g_autofree gchar *q = g_shell_quote(argv[i]);

		g_string_append_printf(line, " %s", q);
	}
	g_string_append_printf(line, " </dev/null >>%s 2>&1", quoted_log);
	cmd = g_string_free(g_steal_pointer(&line), FALSE);
	sh[2] = cmd;
	if (!g_spawn_async(NULL, (gchar **)sh, NULL, G_SPAWN_DO_NOT_REAP_CHILD, new_session,
			   NULL, &pid, error))
		return 0;
	return pid;
}

static void
stop_pid(GPid *pid, const gchar *what)
{
	gint status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (guint i = 0; i < 100; i++) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = 0;
			return;
		}
		g_usleep(100 * 1000);
	}
	g_printerr("# %s (pid %d) ignored SIGTERM, killing it\n", what, (gint)*pid);
	kill(*pid, SIGKILL);
	waitpid(*pid, &status, 0);
	*pid = 0;
}

/* ---- libvirtd ---- */

static gboolean
libvirt_answers(void)
{
	g_autoptr(VmRun) r = run("virsh", "-c", URI, "version", NULL);

	return r->status == 0;
}

/* the QEMU driver refuses to start without its user and groups (libvirt-daemon-system
 * makes them; the test installs less) */
static void
libvirt_prepare_users(void)
{
	if (!run_ok("getent", "group", "kvm", NULL))
		run_ok("groupadd", "-r", "kvm", NULL);
	if (!run_ok("getent", "group", "libvirt-qemu", NULL))
		run_ok("groupadd", "-r", "libvirt-qemu", NULL);
	if (!run_ok("getent", "passwd", "libvirt-qemu", NULL))
		run_ok("useradd", "-r", "-g", "libvirt-qemu", "-G", "kvm", "-d", "/var/lib/libvirt", "-s",
		       "/usr/sbin/nologin", "libvirt-qemu", NULL);
	g_mkdir_with_parents("/var/log/libvirt", 0755);
	g_mkdir_with_parents("/var/run/libvirt", 0755);
}

/*
 * libvirt probes QEMU's capabilities as its libvirt-qemu user: where /dev/kvm is
 * root-only (no udev rule made it group kvm 0660, as Debian's does), the probe and the
 * cache's check disagree about KVM and every domain start re-probes for a minute.
 * Make it as udev would for the test's duration; the domain uses TCG all the same.
 */
static void
libvirt_prepare_kvm(void)
{
	struct stat st;
	g_autoptr(VmRun) gid = NULL;
	gid_t kvm_gid;

	if (stat("/dev/kvm", &st) < 0)
		return;
	gid = run("getent", "group", "kvm", NULL);
	if (gid->status != 0)
		return;
	{
		g_auto(GStrv) fields = g_strsplit(gid->out, ":", -1);

		if (g_strv_length(fields) < 3)
			return;
		kvm_gid = (gid_t)g_ascii_strtoull(fields[2], NULL, 10);
	}
	if (st.st_gid == kvm_gid && (st.st_mode & 0060) == 0060)
		return;
	lv.kvm_mode = st.st_mode & 07777;
	lv.kvm_gid = st.st_gid;
	if (chown("/dev/kvm", (uid_t)-1, kvm_gid) == 0 && chmod("/dev/kvm", (st.st_mode & 07777) | 0060) == 0) {
		lv.kvm_changed = TRUE;
		g_printerr("# /dev/kvm made group kvm 0660 for the test (restored at the end)\n");
	}
}

static void
libvirt_restore_kvm(void)
{
	if (!lv.kvm_changed)
		return;
	if (chown("/dev/kvm", (uid_t)-1, lv.kvm_gid) < 0 || chmod("/dev/kvm", lv.kvm_mode) < 0)
		g_printerr("# cannot restore /dev/kvm: %s\n", g_strerror(errno));
	lv.kvm_changed = FALSE;
}

static gboolean
libvirt_start(GError **error)
{
	g_autofree gchar *log = g_build_filename(lv.run_dir, "libvirtd.log", NULL);
	const gchar *virtlogd[] = {"virtlogd", NULL};
	const gchar *libvirtd[] = {"libvirtd", NULL};

	if (libvirt_answers()) {
		g_printerr("# a libvirtd already answers at " URI ": using it\n");
		return TRUE;
	}
	if (g_find_program_in_path("libvirtd") == NULL) {
		/* the packages are in tests/install-deps: without them there is nothing to test */
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "libvirtd is not installed (libvirt-daemon, libvirt-daemon-driver-qemu)");
		return FALSE;
	}
	libvirt_prepare_users();
	lv.virtlogd = spawn_daemon(virtlogd, log, error);
	if (lv.virtlogd == 0)
		return FALSE;
	lv.libvirtd = spawn_daemon(libvirtd, log, error);
	if (lv.libvirtd == 0)
		return FALSE;
	for (guint i = 0; i < 300; i++) {
		if (libvirt_answers())
			return TRUE;
		if (waitpid(lv.libvirtd, NULL, WNOHANG) == lv.libvirtd) {
			lv.libvirtd = 0;
			break;
		}
		g_usleep(100 * 1000);
	}
	{
		g_autofree gchar *text = NULL;

		g_file_get_contents(log, &text, NULL, NULL);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "libvirtd did not come up within 30 s; its log:\n%s", text != NULL ? text : "");
	}
	return FALSE;
}

/* a shell that destroys the domain and stops the daemons if this process dies first */
static void
libvirt_start_watcher(void)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"while kill -0 %d 2>/dev/null; do sleep 1; done; "
		"virsh -c " URI " destroy %s >/dev/null 2>&1; "
		"[ %d -gt 0 ] && kill %d 2>/dev/null; [ %d -gt 0 ] && kill %d 2>/dev/null; exit 0",
		(gint)getpid(), lv.domain, (gint)lv.libvirtd, (gint)lv.libvirtd, (gint)lv.virtlogd,
		(gint)lv.virtlogd);
	const gchar *argv[] = {"/bin/sh", "-c", cmd, NULL};

	if (!g_spawn_async(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
				   G_SPAWN_STDERR_TO_DEV_NULL,
			   new_session, NULL, &lv.watcher, NULL))
		lv.watcher = 0;
}

/* ---- the domain ---- */

static gchar *
domain_xml(const gchar *image_dir)
{
	return g_strdup_printf(
		"<domain type='qemu'>\n"
		"  <name>%s</name>\n"
		"  <memory unit='MiB'>512</memory>\n"
		"  <vcpu>1</vcpu>\n"
		"  <os>\n"
		"    <type arch='x86_64' machine='pc'>hvm</type>\n"
		"    <kernel>%s/vmlinuz</kernel>\n"
		"    <initrd>%s/initramfs.img</initrd>\n"
		"    <cmdline>console=ttyS0 panic=-1 loglevel=5 qgatrace.agents=none</cmdline>\n"
		"  </os>\n"
		/* VMCOREINFO in memory dumps: the guest's qemu_fw_cfg fills it in,
		 * and binds only to the ACPI fw_cfg device (libvirt: no <acpi/>, -no-acpi) */
		"  <features><acpi/><vmcoreinfo state='on'/></features>\n"
		"  <on_poweroff>destroy</on_poweroff>\n"
		"  <on_reboot>destroy</on_reboot>\n"
		"  <on_crash>destroy</on_crash>\n"
		"  <devices>\n"
		"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
		"    <disk type='file' device='disk'>\n"
		"      <driver name='qemu' type='raw' cache='writeback'/>\n"
		"      <source file='%s/data.img'/>\n"
		"      <target dev='vda' bus='virtio'/>\n"
		"      <serial>qgatrace-data</serial>\n"
		"    </disk>\n"
		"    <controller type='virtio-serial' index='0'/>\n"
		"    <serial type='file'><source path='%s/console.log'/><target port='0'/></serial>\n"
		"    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n"
		"    <channel type='unix'><target type='virtio' name='org.qgatrace.0'/></channel>\n"
		"    <channel type='unix'><source mode='bind' path='%s/shell.sock'/>"
		"<target type='virtio' name='org.qgatrace.test.0'/></channel>\n"
		"    <memballoon model='none'/>\n"
		"  </devices>\n"
		/* QEMU as root, files as they are: nothing of the host is relabelled */
		"  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>\n"
		"</domain>\n",
		lv.domain, image_dir, image_dir, lv.run_dir, lv.run_dir, lv.run_dir);
}

static gboolean
domain_start(const gchar *image_dir, GError **error)
{
	g_autofree gchar *xml = domain_xml(image_dir);
	g_autofree gchar *xml_path = g_build_filename(lv.run_dir, "domain.xml", NULL);
	g_autofree gchar *img = g_build_filename(lv.run_dir, "data.img", NULL);
	g_autofree gchar *console = g_build_filename(lv.run_dir, "console.log", NULL);
	g_autoptr(VmRun) mkfs = NULL;
	g_autoptr(VmRun) create = NULL;

	if (!run_ok("truncate", "-s", "64M", img, NULL)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create the data disk");
		return FALSE;
	}
	mkfs = run("mkfs.ext4", "-q", "-F", "-L", "qgatrace-data", img, NULL);
	if (mkfs->status != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "mkfs.ext4: %s", mkfs->err);
		return FALSE;
	}
	if (!g_file_set_contents(xml_path, xml, -1, error))
		return FALSE;
	create = run("virsh", "-c", URI, "create", xml_path, NULL);
	if (create->status != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "virsh create: %s", create->err);
		return FALSE;
	}
	lv.domain_started = TRUE;
	for (guint i = 0; i < 900; i++) {
		g_autofree gchar *text = NULL;

		if (g_file_get_contents(console, &text, NULL, NULL) && strstr(text, "QGATRACE-GUEST-READY") != NULL)
			return TRUE;
		g_usleep(100 * 1000);
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "the guest was not ready within 90 s");
	return FALSE;
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

static int group_teardown(void **state);

/* a setup that fails after starting something cleans up itself: cmocka runs no teardown then */
static int
group_setup_failed(void **state, const gchar *what, const GError *error)
{
	g_printerr("# setting up the libvirt tests: %s: %s\n", what, error != NULL ? error->message : "?");
	group_teardown(state);
	return -1;
}

static void
group_skip(const GError *error)
{
	lv.skip = TRUE;
	g_printerr("skipping the libvirt tests: %s\n", error->message);
}

static int
group_setup(void **state)
{
	g_autoptr(GError) error = NULL;
	const gchar *image_dir;

	if (geteuid() != 0) {
		lv.skip = TRUE;
		g_printerr("skipping the libvirt tests: running libvirtd for the test needs root\n");
		return 0;
	}
	image_dir = vm_guest_build_image(&error);
	if (image_dir == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		group_skip(error);
		return 0;
	}
	if (image_dir == NULL)
		return group_setup_failed(state, "building the guest image", error);
	/* a run dir QEMU can reach; QEMU runs as root (the domain's seclabel) */
	lv.run_dir = g_dir_make_tmp("qgatrace-lv-XXXXXX", &error);
	if (lv.run_dir == NULL)
		return group_setup_failed(state, "a run dir", error);
	g_chmod(lv.run_dir, 0755);
	lv.domain = g_strdup_printf("qgatrace-test-%d", (gint)getpid());
	if (!libvirt_lock(&error))
		return group_setup_failed(state, "waiting for the machine's libvirt", error);
	libvirt_prepare_kvm();
	if (!libvirt_start(&error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
			group_skip(error);
			group_teardown(state);
			return 0;
		}
		return group_setup_failed(state, "starting libvirtd", error);
	}
	libvirt_start_watcher();
	if (!domain_start(image_dir, &error)) {
		g_autofree gchar *log_path = g_strdup_printf("/var/log/libvirt/qemu/%s.log", lv.domain);
		g_autofree gchar *log = NULL;

		g_file_get_contents(log_path, &log, NULL, NULL);
		g_printerr("# %s:\n%s\n", log_path, log != NULL ? log : "(none)");
		return group_setup_failed(state, "starting the domain", error);
	}
	lv.guest = vm_guest_attach(lv.run_dir);
	return 0;
}

static int
group_teardown(void **state)
{
	g_autofree gchar *agent_log = NULL;

	if (lv.guest != NULL &&
	    vm_guest_shell(lv.guest, "cat /run/qgatrace-agent.log", &agent_log, NULL, 10000, NULL))
		g_printerr("---- guest /run/qgatrace-agent.log ----\n%s", agent_log);
	g_clear_pointer(&lv.guest, vm_guest_free);
	if (lv.domain_started)
		run_ok("virsh", "-c", URI, "destroy", lv.domain, NULL);
	stop_pid(&lv.libvirtd, "libvirtd");
	stop_pid(&lv.virtlogd, "virtlogd");
	stop_pid(&lv.watcher, "the watcher");
	libvirt_restore_kvm();
	if (lv.run_dir != NULL) {
		g_autoptr(GDir) dir = g_dir_open(lv.run_dir, 0, NULL);
		const gchar *name;

		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *path = g_build_filename(lv.run_dir, name, NULL);

			g_unlink(path);
		}
		g_rmdir(lv.run_dir);
	}
	g_clear_pointer(&lv.run_dir, g_free);
	g_clear_pointer(&lv.domain, g_free);
	if (lv.lock_fd >= 0) {
		close(lv.lock_fd);
		lv.lock_fd = -1;
	}
	lv.domain_started = FALSE;
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
	assert_non_null(strstr(json_object_get_string_member(p, "target"), "port 'org.qgatrace.0'"));
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
	ping = run("virsh", "-c", URI, "qemu-agent-command", lv.domain, "{\"execute\":\"guest-ping\"}", NULL);
	assert_int_equal(ping->status, 0);
	assert_non_null(strstr(ping->out, "{\"return\":{}}"));
	/* it is ours: it has the trace commands */
	info = run("virsh", "-c", URI, "qemu-agent-command", lv.domain, "{\"execute\":\"guest-info\"}", NULL);
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
	g_autofree gchar *overlay = g_build_filename(lv.run_dir != NULL ? lv.run_dir : "/tmp", "snap1.qcow2", NULL);
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
	assert_true(json_object_get_boolean_member(json_object_get_object_member(doc, "host-step"), "ok"));
	assert_string_equal(json_object_get_string_member(json_object_get_object_member(doc, "host-evidence"), "source"),
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
	gint rc = cmocka_run_group_tests_name("libvirt", tests, group_setup, group_teardown);

	return lv.skip ? SKIP : rc;
}
