/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "vm-guest.h"

G_BEGIN_DECLS

/* The harness's guest under a real libvirtd, for test-vm-libvirt.c and bench/bench-client.c:
 * libvirtd and virtlogd run as root as ../shared/reference/libvirt-on-build-machine.md
 * describes (unless one already answers), and the image boots as a transient domain
 * type='qemu' with a virtio-blk ext4 data disk (serial qgatrace-data, at /mnt/data) and unix
 * channels for org.qemu.guest_agent.0 and org.qgatrace.0 (sockets libvirt names) and the test
 * shell (shell.sock in the run dir). */
typedef struct _VmLibvirt VmLibvirt;

/* what the domain leaves out of the harness's layout, for the layouts users have */
typedef enum {
	VM_LIBVIRT_LAYOUT_FULL = 0,
	VM_LIBVIRT_NO_DATA_SERIAL = 1 << 0,   /* the data disk only by its PCI address */
	VM_LIBVIRT_NO_QGATRACE_PORT = 1 << 1, /* org.qemu.guest_agent.0 as the one agent channel */
	/* an ISA pvpanic device and <on_crash>preserve</on_crash>: a panic pauses the
	 * domain (crashed) with its memory kept, for test-vm-panic.c */
	VM_LIBVIRT_PANIC_PRESERVE = 1 << 2,
} VmLibvirtLayout;

#define VM_LIBVIRT_URI "qemu:///system"

/**
 * vm_libvirt_start:
 * @image_dir: vmlinuz and initramfs.img, from vm_guest_build_image() or `qgatrace-vm build`
 * @name: the domain's name; the process id is appended
 * @append: (nullable): kernel parameters after the harness's own, e.g. "qgatrace.agents=none"
 *
 * Waits for the machine's libvirt lock (one libvirt user at a time: another would share
 * our libvirtd and stop it under us), starts libvirtd, a watcher that destroys the domain
 * and stops the daemons if this process dies, and boots the domain until
 * QGATRACE-GUEST-READY. On failure everything started is stopped again.
 * Returns: (transfer full): the running domain, or NULL with @error;
 * G_IO_ERROR_NOT_SUPPORTED when libvirtd cannot run here (not root, not installed)
 */
VmLibvirt *vm_libvirt_start(const gchar *image_dir, const gchar *name, const gchar *append,
			    GError **error);

/* vm_libvirt_start() with the parts of the layout @layout leaves out */
VmLibvirt *vm_libvirt_start_layout(const gchar *image_dir, const gchar *name, const gchar *append,
				   VmLibvirtLayout layout, GError **error);

/**
 * vm_libvirt_start_beside:
 * @first: a domain from vm_libvirt_start_layout(): its libvirtd and lock
 * Boots one more domain of the harness's image under @first's libvirtd, with a run
 * dir and a watcher of its own. Free it before @first.
 * Returns: (transfer full): the running domain, or NULL with @error
 */
VmLibvirt *vm_libvirt_start_beside(VmLibvirt *first, const gchar *image_dir, const gchar *name,
				   const gchar *append, VmLibvirtLayout layout, GError **error);

/* destroys the domain, stops what vm_libvirt_start() started, removes the run dir and
 * releases the lock; NULL is a no-op */
void vm_libvirt_free(VmLibvirt *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmLibvirt, vm_libvirt_free)

/* Returns: (transfer none): the domain's name */
const gchar *vm_libvirt_get_domain(VmLibvirt *self);

/* Returns: (transfer none): the run dir (data.img, console.log, shell.sock, libvirtd.log) */
const gchar *vm_libvirt_get_run_dir(VmLibvirt *self);

/* Returns: (transfer none): the domain's test shell (vm_guest_shell()) */
VmGuest *vm_libvirt_get_guest(VmLibvirt *self);

/**
 * vm_libvirt_run:
 * @argv: a host command, looked up in PATH
 * @out: (out) (optional) (transfer full): its stdout
 * @err: (out) (optional) (transfer full): its stderr
 * Runs @argv to its end in the C.UTF-8 locale.
 * Returns: its exit status (128 + signal when killed); 127 when it cannot be run, as a
 * shell would say, with the reason in @err
 */
gint vm_libvirt_run(const gchar *const *argv, gchar **out, gchar **err);

/* ---- a guest panic (a domain of layout VM_LIBVIRT_PANIC_PRESERVE) ---- */

/* checks the guest has its pvpanic driver, writes @marker to /dev/kmsg at level crit, and
 * has the guest crash itself (sysrq c) a second after the shell answered */
gboolean vm_libvirt_crash(VmLibvirt *self, const gchar *marker, GError **error);

/* Returns: (transfer full): the .json saved beside a panic's @log_path (NAME.log) */
gchar *vm_libvirt_panic_json_path(const gchar *log_path);

/* checks a panic capture's .log (the panic message and @marker) and its .json (parses,
 * source "memory", the .log's records, both the marker and the panic's record, capture
 * {domain: @domain} and the same state before and after); FALSE with what differs */
gboolean vm_libvirt_check_panic_log(const gchar *log_path, const gchar *marker, const gchar *domain,
				    GError **error);

G_END_DECLS
