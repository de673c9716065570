/* SPDX-License-Identifier: GPL-2.0-or-later */
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

#include <json-glib/json-glib.h>

#include "vm-libvirt.h"

/* one libvirt user at a time on this machine: another build dir's run would share our
 * libvirtd, and stop it under us (or we under it) */
#define LOCK_PATH "/run/lock/qgatrace-libvirt-test.lock"

struct _VmLibvirt {
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
};

gint
vm_libvirt_run(const gchar *const *argv, gchar **out, gchar **err)
{
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) envp = g_environ_setenv(g_get_environ(), "LC_ALL", "C.UTF-8", TRUE);
	g_autofree gchar *stdout_text = NULL;
	g_autofree gchar *stderr_text = NULL;
	gint status = 0;

	if (!g_spawn_sync(NULL, (gchar **)argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &stdout_text,
			  &stderr_text, &status, &error)) {
		if (out != NULL)
			*out = g_strdup("");
		if (err != NULL)
			*err = g_strdup(error->message);
		return 127;
	}
	if (out != NULL)
		*out = g_steal_pointer(&stdout_text);
	if (err != NULL)
		*err = g_steal_pointer(&stderr_text);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static gboolean
vm_libvirt_run_ok(const gchar *const *argv)
{
	return vm_libvirt_run(argv, NULL, NULL) == 0;
}

static gboolean
vm_libvirt_lock(VmLibvirt *self, GError **error)
{
	g_mkdir_with_parents("/run/lock", 0755);
	self->lock_fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (self->lock_fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", LOCK_PATH,
			    g_strerror(errsv));
		return FALSE;
	}
	for (guint i = 0; i < 4500; i++) {
		if (flock(self->lock_fd, LOCK_EX | LOCK_NB) == 0)
			return TRUE;
		if (i == 0)
			g_printerr("# another libvirt user runs on this machine: waiting for it\n");
		g_usleep(100 * 1000);
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "another libvirt user held " LOCK_PATH " for 450 s");
	return FALSE;
}

/* ---- libvirtd ---- */

static gboolean
vm_libvirt_answers(void)
{
	return vm_libvirt_run_ok((const gchar *[]){"virsh", "-c", VM_LIBVIRT_URI, "version", NULL});
}

/* the QEMU driver refuses to start without its user and groups (libvirt-daemon-system
 * makes them; tests/install-deps installs less) */
static void
vm_libvirt_prepare_users(void)
{
	if (!vm_libvirt_run_ok((const gchar *[]){"getent", "group", "kvm", NULL}))
		vm_libvirt_run_ok((const gchar *[]){"groupadd", "-r", "kvm", NULL});
	if (!vm_libvirt_run_ok((const gchar *[]){"getent", "group", "libvirt-qemu", NULL}))
		vm_libvirt_run_ok((const gchar *[]){"groupadd", "-r", "libvirt-qemu", NULL});
	if (!vm_libvirt_run_ok((const gchar *[]){"getent", "passwd", "libvirt-qemu", NULL}))
		vm_libvirt_run_ok((const gchar *[]){"useradd", "-r", "-g", "libvirt-qemu", "-G",
						    "kvm", "-d", "/var/lib/libvirt", "-s",
						    "/usr/sbin/nologin", "libvirt-qemu", NULL});
	g_mkdir_with_parents("/var/log/libvirt", 0755);
	g_mkdir_with_parents("/var/run/libvirt", 0755);
}

/*
 * libvirt probes QEMU's capabilities as its libvirt-qemu user: where /dev/kvm is
 * root-only (no udev rule made it group kvm 0660, as Debian's does), the probe and the
 * cache's check disagree about KVM and every domain start re-probes for a minute.
 * Make it as udev would while the domain runs; the domain uses TCG all the same.
 */
static void
vm_libvirt_prepare_kvm(VmLibvirt *self)
{
	struct stat st;
	g_autofree gchar *group = NULL;
	g_auto(GStrv) fields = NULL;
	gid_t kvm_gid;

	if (stat("/dev/kvm", &st) < 0 ||
	    vm_libvirt_run((const gchar *[]){"getent", "group", "kvm", NULL}, &group, NULL) != 0)
		return;
	fields = g_strsplit(group, ":", -1);
	if (g_strv_length(fields) < 3)
		return;
	kvm_gid = (gid_t)g_ascii_strtoull(fields[2], NULL, 10);
	if (st.st_gid == kvm_gid && (st.st_mode & 0060) == 0060)
		return;
	self->kvm_mode = st.st_mode & 07777;
	self->kvm_gid = st.st_gid;
	if (chown("/dev/kvm", (uid_t)-1, kvm_gid) == 0 &&
	    chmod("/dev/kvm", (st.st_mode & 07777) | 0060) == 0) {
		self->kvm_changed = TRUE;
		g_printerr("# /dev/kvm made group kvm 0660 for libvirt (restored at the end)\n");
	}
}

static void
vm_libvirt_restore_kvm(VmLibvirt *self)
{
	if (!self->kvm_changed)
		return;
	if (chown("/dev/kvm", (uid_t)-1, self->kvm_gid) < 0 ||
	    chmod("/dev/kvm", self->kvm_mode) < 0)
		g_printerr("# cannot restore /dev/kvm: %s\n", g_strerror(errno));
	self->kvm_changed = FALSE;
}

static void
vm_libvirt_new_session(gpointer user_data)
{
	setsid();
}

/* a daemon of ours, in the foreground, in its own session */
static GPid
vm_libvirt_spawn_daemon(const gchar *program, const gchar *log, GError **error)
{
	g_autofree gchar *quoted_log = g_shell_quote(log);
	g_autofree gchar *cmd =
		g_strdup_printf("exec %s </dev/null >>%s 2>&1", program, quoted_log);
	const gchar *sh[] = {"/bin/sh", "-c", cmd, NULL};
	GPid pid = 0;

	if (!g_spawn_async(NULL, (gchar **)sh, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
			   vm_libvirt_new_session, NULL, &pid, error))
		return 0;
	return pid;
}

static void
vm_libvirt_stop_pid(GPid *pid, const gchar *what)
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

static gboolean
vm_libvirt_start_daemons(VmLibvirt *self, GError **error)
{
	g_autofree gchar *log = g_build_filename(self->run_dir, "libvirtd.log", NULL);
	g_autofree gchar *text = NULL;
	g_autofree gchar *libvirtd = NULL;

	if (vm_libvirt_answers()) {
		g_printerr("# a libvirtd already answers at " VM_LIBVIRT_URI ": using it\n");
		return TRUE;
	}
	libvirtd = g_find_program_in_path("libvirtd");
	if (libvirtd == NULL) {
		/* the packages are in tests/install-deps */
		g_set_error_literal(
			error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			"libvirtd is not installed (libvirt-daemon, libvirt-daemon-driver-qemu)");
		return FALSE;
	}
	vm_libvirt_prepare_users();
	self->virtlogd = vm_libvirt_spawn_daemon("virtlogd", log, error);
	if (self->virtlogd == 0)
		return FALSE;
	self->libvirtd = vm_libvirt_spawn_daemon("libvirtd", log, error);
	if (self->libvirtd == 0)
		return FALSE;
	for (guint i = 0; i < 300; i++) {
		if (vm_libvirt_answers())
			return TRUE;
		if (waitpid(self->libvirtd, NULL, WNOHANG) == self->libvirtd) {
			self->libvirtd = 0;
			break;
		}
		g_usleep(100 * 1000);
	}
	g_file_get_contents(log, &text, NULL, NULL);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "libvirtd did not come up within 30 s; its log:\n%s", text != NULL ? text : "");
	return FALSE;
}

/* a shell that destroys the domain and stops the daemons if this process dies first */
static void
vm_libvirt_start_watcher(VmLibvirt *self)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"while kill -0 %d 2>/dev/null; do sleep 1; done; "
		"virsh -c " VM_LIBVIRT_URI " destroy %s >/dev/null 2>&1; "
		"[ %d -gt 0 ] && kill %d 2>/dev/null; [ %d -gt 0 ] && kill %d 2>/dev/null; exit 0",
		(gint)getpid(), self->domain, (gint)self->libvirtd, (gint)self->libvirtd,
		(gint)self->virtlogd, (gint)self->virtlogd);
	const gchar *argv[] = {"/bin/sh", "-c", cmd, NULL};

	if (!g_spawn_async(NULL, (gchar **)argv, NULL,
			   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
				   G_SPAWN_STDERR_TO_DEV_NULL,
			   vm_libvirt_new_session, NULL, &self->watcher, NULL))
		self->watcher = 0;
}

/* ---- the domain ---- */

static gchar *
vm_libvirt_domain_xml(VmLibvirt *self, const gchar *image_dir, const gchar *append,
		      VmLibvirtLayout layout)
{
	const gchar *serial = (layout & VM_LIBVIRT_NO_DATA_SERIAL) != 0
				      ? ""
				      : "      <serial>qgatrace-data</serial>\n";
	const gchar *port =
		(layout & VM_LIBVIRT_NO_QGATRACE_PORT) != 0
			? ""
			: "    <channel type='unix'><target type='virtio' name='org.qgatrace.0'/></channel>\n";
	gboolean panic = (layout & VM_LIBVIRT_PANIC_PRESERVE) != 0;

	return g_strdup_printf(
		"<domain type='qemu'>\n"
		"  <name>%s</name>\n"
		"  <memory unit='MiB'>512</memory>\n"
		"  <vcpu>1</vcpu>\n"
		"  <os>\n"
		"    <type arch='x86_64' machine='pc'>hvm</type>\n"
		"    <kernel>%s/vmlinuz</kernel>\n"
		"    <initrd>%s/initramfs.img</initrd>\n"
		"    <cmdline>console=ttyS0 panic=-1 loglevel=5 %s</cmdline>\n"
		"  </os>\n"
		/* VMCOREINFO in memory dumps: the guest's qemu_fw_cfg fills it in,
		 * and binds only to the ACPI fw_cfg device (libvirt: no <acpi/>, -no-acpi) */
		"  <features><acpi/><vmcoreinfo state='on'/></features>\n"
		"  <on_poweroff>destroy</on_poweroff>\n"
		"  <on_reboot>destroy</on_reboot>\n"
		"  <on_crash>%s</on_crash>\n"
		"  <devices>\n"
		"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
		"    <disk type='file' device='disk'>\n"
		"      <driver name='qemu' type='raw' cache='writeback'/>\n"
		"      <source file='%s/data.img'/>\n"
		"      <target dev='vda' bus='virtio'/>\n"
		"%s"
		"    </disk>\n"
		"    <controller type='virtio-serial' index='0'/>\n"
		"    <serial type='file'><source path='%s/console.log'/><target port='0'/></serial>\n"
		"    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n"
		"%s"
		"    <channel type='unix'><source mode='bind' path='%s/shell.sock'/>"
		"<target type='virtio' name='org.qgatrace.test.0'/></channel>\n"
		"%s"
		"    <memballoon model='none'/>\n"
		"  </devices>\n"
		/* QEMU as root, files as they are: nothing of the host is relabelled */
		"  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>\n"
		"</domain>\n",
		self->domain, image_dir, image_dir, append != NULL ? append : "",
		panic ? "preserve" : "destroy", self->run_dir, serial, self->run_dir, port,
		self->run_dir,
		/* QEMU's pvpanic-isa, the guest's pvpanic-mmio driver (ACPI QEMU0001) */
		panic ? "    <panic model='isa'/>\n" : "");
}

static gboolean
vm_libvirt_domain_start(VmLibvirt *self, const gchar *image_dir, const gchar *append,
			VmLibvirtLayout layout, GError **error)
{
	g_autofree gchar *xml = vm_libvirt_domain_xml(self, image_dir, append, layout);
	g_autofree gchar *xml_path = g_build_filename(self->run_dir, "domain.xml", NULL);
	g_autofree gchar *img = g_build_filename(self->run_dir, "data.img", NULL);
	g_autofree gchar *console = g_build_filename(self->run_dir, "console.log", NULL);
	g_autofree gchar *err = NULL;

	if (!vm_libvirt_run_ok((const gchar *[]){"truncate", "-s", "64M", img, NULL})) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot create the data disk");
		return FALSE;
	}
	if (vm_libvirt_run((const gchar *[]){"mkfs.ext4", "-q", "-F", "-L", "qgatrace-data", img,
					     NULL},
			   NULL, &err) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "mkfs.ext4: %s", err);
		return FALSE;
	}
	if (!g_file_set_contents(xml_path, xml, -1, error))
		return FALSE;
	g_clear_pointer(&err, g_free);
	if (vm_libvirt_run((const gchar *[]){"virsh", "-c", VM_LIBVIRT_URI, "create", xml_path,
					     NULL},
			   NULL, &err) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "virsh create: %s", err);
		return FALSE;
	}
	self->domain_started = TRUE;
	for (guint i = 0; i < 900; i++) {
		g_autofree gchar *text = NULL;

		if (g_file_get_contents(console, &text, NULL, NULL) &&
		    strstr(text, "QGATRACE-GUEST-READY") != NULL)
			return TRUE;
		g_usleep(100 * 1000);
	}
	{
		g_autofree gchar *log_path =
			g_strdup_printf("/var/log/libvirt/qemu/%s.log", self->domain);
		g_autofree gchar *log = NULL;

		g_file_get_contents(log_path, &log, NULL, NULL);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "the guest was not ready within 90 s; %s:\n%s", log_path,
			    log != NULL ? log : "(none)");
	}
	return FALSE;
}

/* ---- the whole ---- */

VmLibvirt *
vm_libvirt_start(const gchar *image_dir, const gchar *name, const gchar *append, GError **error)
{
	return vm_libvirt_start_layout(image_dir, name, append, VM_LIBVIRT_LAYOUT_FULL, error);
}

/* a run dir QEMU can reach (QEMU runs as root: the domain's seclabel) and the domain's name */
static VmLibvirt *
vm_libvirt_new(const gchar *name, GError **error)
{
	g_autoptr(VmLibvirt) self = g_new0(VmLibvirt, 1);

	self->lock_fd = -1;
	if (geteuid() != 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "running libvirtd needs root");
		return NULL;
	}
	self->run_dir = g_dir_make_tmp("qgatrace-lv-XXXXXX", error);
	if (self->run_dir == NULL)
		return NULL;
	g_chmod(self->run_dir, 0755);
	self->domain = g_strdup_printf("%s-%d", name, (gint)getpid());
	return g_steal_pointer(&self);
}

/* the watcher, the domain until it is ready, its shell */
static gboolean
vm_libvirt_boot(VmLibvirt *self, const gchar *image_dir, const gchar *append,
		VmLibvirtLayout layout, GError **error)
{
	vm_libvirt_start_watcher(self);
	if (!vm_libvirt_domain_start(self, image_dir, append, layout, error))
		return FALSE;
	self->guest = vm_guest_attach(self->run_dir);
	return TRUE;
}

VmLibvirt *
vm_libvirt_start_layout(const gchar *image_dir, const gchar *name, const gchar *append,
			VmLibvirtLayout layout, GError **error)
{
	g_autoptr(VmLibvirt) self = vm_libvirt_new(name, error);

	if (self == NULL || !vm_libvirt_lock(self, error))
		return NULL;
	vm_libvirt_prepare_kvm(self);
	if (!vm_libvirt_start_daemons(self, error) ||
	    !vm_libvirt_boot(self, image_dir, append, layout, error))
		return NULL;
	return g_steal_pointer(&self);
}

VmLibvirt *
vm_libvirt_start_beside(VmLibvirt *first, const gchar *image_dir, const gchar *name,
			const gchar *append, VmLibvirtLayout layout, GError **error)
{
	g_autoptr(VmLibvirt) self = NULL;

	/* the first holds the lock and the daemons */
	g_return_val_if_fail(first != NULL && first->lock_fd >= 0, NULL);
	self = vm_libvirt_new(name, error);
	if (self == NULL || !vm_libvirt_boot(self, image_dir, append, layout, error))
		return NULL;
	return g_steal_pointer(&self);
}

void
vm_libvirt_free(VmLibvirt *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->guest, vm_guest_free);
	if (self->domain_started)
		vm_libvirt_run_ok((const gchar *[]){"virsh", "-c", VM_LIBVIRT_URI, "destroy",
						    self->domain, NULL});
	vm_libvirt_stop_pid(&self->libvirtd, "libvirtd");
	vm_libvirt_stop_pid(&self->virtlogd, "virtlogd");
	vm_libvirt_stop_pid(&self->watcher, "the watcher");
	vm_libvirt_restore_kvm(self);
	if (self->run_dir != NULL) {
		g_autoptr(GDir) dir = g_dir_open(self->run_dir, 0, NULL);
		const gchar *entry;

		while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *path = g_build_filename(self->run_dir, entry, NULL);

			g_unlink(path);
		}
		g_rmdir(self->run_dir);
	}
	if (self->lock_fd >= 0)
		close(self->lock_fd);
	g_free(self->run_dir);
	g_free(self->domain);
	g_free(self);
}

const gchar *
vm_libvirt_get_domain(VmLibvirt *self)
{
	return self->domain;
}

const gchar *
vm_libvirt_get_run_dir(VmLibvirt *self)
{
	return self->run_dir;
}

VmGuest *
vm_libvirt_get_guest(VmLibvirt *self)
{
	return self->guest;
}

/* ---- a guest panic ---- */

static gboolean
vm_libvirt_guest_sh(VmLibvirt *self, const gchar *cmd, GError **error)
{
	g_autofree gchar *out = vm_guest_shell_ok(self->guest, cmd, error);

	if (out == NULL) {
		g_prefix_error(error, "guest: %s: ", cmd);
		return FALSE;
	}
	g_printerr("# guest %s: %s: %s\n", self->domain, cmd, out);
	return TRUE;
}

gboolean
vm_libvirt_crash(VmLibvirt *self, const gchar *marker, GError **error)
{
	g_autofree gchar *kmsg = g_strdup_printf("echo '<2>%s' >/dev/kmsg", marker);

	/* Debian's cloud kernel has pvpanic-mmio as a module: the harness loads it */
	return vm_libvirt_guest_sh(self, "grep -w pvpanic_mmio /proc/modules", error) &&
	       vm_libvirt_guest_sh(self, kmsg, error) &&
	       /* after the shell has answered */
	       vm_libvirt_guest_sh(self, "(sleep 1; echo c >/proc/sysrq-trigger) >/dev/null 2>&1 &",
				   error);
}

gchar *
vm_libvirt_panic_json_path(const gchar *log_path)
{
	return g_strdup_printf("%.*s.json", (gint)strlen(log_path) - 4, log_path);
}

static gboolean
vm_libvirt_panic_fail(GError **error, const gchar *path, const gchar *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", path, what);
	return FALSE;
}

gboolean
vm_libvirt_check_panic_log(const gchar *log_path, const gchar *marker, const gchar *domain,
			   GError **error)
{
	g_autofree gchar *log = NULL;
	g_autofree gchar *json_path = vm_libvirt_panic_json_path(log_path);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_auto(GStrv) lines = NULL;
	JsonNode *root;
	JsonObject *saved;
	JsonObject *capture;
	JsonArray *records;
	gboolean marker_json = FALSE, panic_json = FALSE;
	guint log_records = 0;

	/* the .log: dmesg-style, the panic and the marker written before it */
	if (!g_file_get_contents(log_path, &log, NULL, error))
		return FALSE;
	if (strstr(log, marker) == NULL)
		return vm_libvirt_panic_fail(error, log_path, "no marker");
	if (strstr(log, "Kernel panic") == NULL && strstr(log, "sysrq triggered crash") == NULL)
		return vm_libvirt_panic_fail(error, log_path, "no panic message");
	lines = g_strsplit(log, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		log_records += lines[i][0] == '[';
		/* the panic's own lines, for whoever reads the test's log */
		if (strstr(lines[i], marker) != NULL || strstr(lines[i], "Kernel panic") != NULL ||
		    strstr(lines[i], "sysrq") != NULL)
			g_printerr("# .log: %s\n", lines[i]);
	}

	/* the .json: guest-dmesg's reply with the same records */
	if (!json_parser_load_from_file(parser, json_path, error))
		return FALSE;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return vm_libvirt_panic_fail(error, json_path, "not an object");
	saved = json_node_get_object(root);
	if (g_strcmp0(json_object_get_string_member_with_default(saved, "source", ""), "memory") !=
	    0)
		return vm_libvirt_panic_fail(error, json_path, "source is not \"memory\"");
	records = json_object_has_member(saved, "records")
			  ? json_object_get_array_member(saved, "records")
			  : NULL;
	if (records == NULL || json_array_get_length(records) != log_records)
		return vm_libvirt_panic_fail(error, json_path, "not the .log's records");
	for (guint i = 0; i < json_array_get_length(records); i++) {
		const gchar *message = json_object_get_string_member_with_default(
			json_array_get_object_element(records, i), "message", "");

		marker_json |= g_strcmp0(message, marker) == 0;
		panic_json |= strstr(message, "sysrq triggered crash") != NULL;
	}
	if (!marker_json || !panic_json)
		return vm_libvirt_panic_fail(error, json_path, "no marker or no panic record");
	capture = json_object_has_member(saved, "capture")
			  ? json_object_get_object_member(saved, "capture")
			  : NULL;
	if (capture == NULL ||
	    g_strcmp0(json_object_get_string_member_with_default(capture, "domain", ""), domain) !=
		    0)
		return vm_libvirt_panic_fail(error, json_path, "capture.domain is not the domain");
	if (g_strcmp0(json_object_get_string_member_with_default(capture, "state-before", ""),
		      json_object_get_string_member_with_default(capture, "state-after", "")) != 0)
		return vm_libvirt_panic_fail(error, json_path, "the state changed during capture");
	return TRUE;
}
