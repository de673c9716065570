/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A real QEMU guest for the VM tests, booted by tests/vm/qgatrace-vm: Debian's cloud kernel,
 * busybox, the agent under test on virtio port org.qgatrace.0 and stock qemu-ga on
 * org.qemu.guest_agent.0, an ext4 data disk at /mnt/data, and a test shell on
 * org.qgatrace.test.0. Where things are comes from the environment meson's test() sets:
 *   QGATRACE_VM_SCRIPT     the qgatrace-vm script
 *   QGATRACE_AGENT         the agent binary to put in the image
 *   QGATRACE_VM_IMAGE_DIR  where the image is built
 *   QGATRACE_VM_ACCEL      optional: tcg (default) or kvm
 *   QGATRACE_VM_QEMU_GA    optional: the stock qemu-ga to put in the image
 *   QGATRACE_PLUGIN        optional: qgatrace-fsfreeze-hook, put at VM_GUEST_PLUGIN_PATH with
 *                          the host's VM_GUEST_HOOK_DISPATCHER if it has one
 *   QGATRACE_VM_KEEP=1     optional: keep the run dir (console.log, qemu.log) after the test */
typedef struct _VmGuest VmGuest;

#define VM_GUEST_PLUGIN_PATH	 "/usr/libexec/qgatrace/qgatrace-fsfreeze-hook"
#define VM_GUEST_HOOK_DISPATCHER "/etc/qemu/fsfreeze-hook"

/* TCG is slow: a generous default for one shell command */
#define VM_GUEST_SHELL_TIMEOUT_MS 60000

/**
 * vm_guest_start:
 * @extra_append: (nullable): more kernel parameters, e.g. "qgatrace.agents=qemu-ga"
 *
 * Builds the image (once per process) and boots it in a fresh run dir.
 * Returns: (transfer full): the running guest, or NULL with @error; G_IO_ERROR_NOT_SUPPORTED
 * when qemu-system-x86_64 or the kernel cannot be had on this machine (tests then skip)
 */
VmGuest *vm_guest_start(const gchar *extra_append, GError **error);

/* stops qemu and removes the run dir unless QGATRACE_VM_KEEP=1; NULL is a no-op */
void vm_guest_free(VmGuest *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmGuest, vm_guest_free)

/**
 * vm_guest_socket:
 * @which: "qga", "qgatrace", "shell", "spare", "qmp" or "isa"
 * Returns: (transfer none): the host path of that UNIX socket
 */
const gchar *vm_guest_socket(VmGuest *self, const gchar *which);

/* Returns: (transfer none): the run dir (sockets, console.log, qemu.log, data.img) */
const gchar *vm_guest_run_dir(VmGuest *self);

/**
 * vm_guest_shell:
 * @cmd: one line of shell; background processes it starts must redirect their output
 * @output: (out) (optional) (transfer full): stdout and stderr together, newline-terminated
 * @status: (out) (optional): the exit status of `sh -c cmd`
 *
 * Runs @cmd in the guest through the test shell port, within @timeout_ms. After a timeout the
 * command may still run; the next call discards its late output.
 */
gboolean vm_guest_shell(VmGuest *self, const gchar *cmd, gchar **output, gint *status,
			guint timeout_ms, GError **error);

/**
 * vm_guest_shell_ok:
 * Runs @cmd with VM_GUEST_SHELL_TIMEOUT_MS and requires status 0.
 * Returns: (transfer full): its output, whitespace-trimmed, or NULL with @error
 */
gchar *vm_guest_shell_ok(VmGuest *self, const gchar *cmd, GError **error);

/**
 * vm_guest_build_image:
 * Builds the image (once per process), as vm_guest_start() does, for a test that boots it
 * another way (test-vm-libvirt.c: under libvirtd).
 * Returns: (transfer none): the image dir (vmlinuz, initramfs.img), or NULL with @error;
 * G_IO_ERROR_NOT_SUPPORTED when it cannot be had on this machine
 */
const gchar *vm_guest_build_image(GError **error);

/**
 * vm_guest_attach:
 * A guest booted some other way whose sockets are in @run_dir under the names
 * vm_guest_socket() knows (shell.sock for vm_guest_shell()); free neither stops it nor
 * removes @run_dir.
 * Returns: (transfer full)
 */
VmGuest *vm_guest_attach(const gchar *run_dir);

G_END_DECLS
