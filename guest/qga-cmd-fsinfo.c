/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <gio/gio.h>

#include "qga-registry.h"
#include "qga-context.h"
#include "qga-mounts.h"

typedef struct udev QgaUdev;
typedef struct udev_device QgaUdevDevice;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdev, udev_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdevDevice, udev_device_unref)

/* the bus a disk hangs off, from its PCI driver, as qemu-ga's
 * build_guest_fsinfo_for_pci_dev tells them apart */
static const gchar *
cmd_fsinfo_bus_type(const gchar *driver, const gchar *syspath)
{
	if (g_strcmp0(driver, "virtio-pci") == 0)
		return strstr(syspath, "/target") != NULL ? "scsi" : "virtio";
	if (g_strcmp0(driver, "ahci") == 0)
		return "sata";
	if (g_strcmp0(driver, "ata_piix") == 0)
		return "ide";
	if (g_strcmp0(driver, "nvme") == 0)
		return "nvme";
	if (g_strcmp0(driver, "sym53c8xx") == 0 || g_strcmp0(driver, "virtio_scsi") == 0)
		return "scsi";
	if (g_strcmp0(driver, "ehci-pci") == 0 || g_strcmp0(driver, "xhci_hcd") == 0)
		return "usb";
	return "unknown";
}

static JsonObject *
cmd_fsinfo_pci_address(QgaUdevDevice *pci)
{
	JsonObject *addr = json_object_new();
	guint domain = 0, bus = 0, slot = 0, function = 0;

	/* "0000:00:04.0" */
	if (pci != NULL)
		sscanf(udev_device_get_sysname(pci), "%x:%x:%x.%x", &domain, &bus, &slot,
		       &function);
	json_object_set_int_member(addr, "domain", domain);
	json_object_set_int_member(addr, "bus", bus);
	json_object_set_int_member(addr, "slot", slot);
	json_object_set_int_member(addr, "function", function);
	return addr;
}

static JsonObject *
cmd_fsinfo_disk_address(QgaUdevDevice *disk)
{
	JsonObject *addr = json_object_new();
	QgaUdevDevice *pci = udev_device_get_parent_with_subsystem_devtype(disk, "pci", NULL);
	const gchar *syspath = udev_device_get_syspath(disk);
	const gchar *driver = pci != NULL ? udev_device_get_driver(pci) : NULL;
	const gchar *serial = udev_device_get_property_value(disk, "ID_SERIAL");
	const gchar *target = strstr(syspath, "/target");
	guint scsi[3] = {0, 0, 0};

	/* without udevd (an initramfs) there is no udev database; virtio-blk
	 * still has the serial in sysfs */
	if (serial == NULL)
		serial = udev_device_get_sysattr_value(disk, "serial");
	if (target != NULL)
		sscanf(target, "/target%*u:%*u:%*u/%*u:%u:%u:%u", &scsi[0], &scsi[1], &scsi[2]);
	json_object_set_object_member(addr, "pci-controller", cmd_fsinfo_pci_address(pci));
	json_object_set_string_member(addr, "bus-type", cmd_fsinfo_bus_type(driver, syspath));
	json_object_set_int_member(addr, "bus", scsi[0]);
	json_object_set_int_member(addr, "target", scsi[1]);
	json_object_set_int_member(addr, "unit", scsi[2]);
	if (udev_device_get_devnode(disk) != NULL)
		json_object_set_string_member(addr, "dev", udev_device_get_devnode(disk));
	if (serial != NULL && serial[0] != '\0')
		json_object_set_string_member(addr, "serial", serial);
	return addr;
}

/* the whole disks below @dev: itself, its parent disk for a partition,
 * or the disks under a device-mapper/md device */
static void
cmd_fsinfo_add_disks(QgaUdev *udev, QgaUdevDevice *dev, JsonArray *disks, guint depth)
{
	g_autofree gchar *slaves_path =
		g_build_filename(udev_device_get_syspath(dev), "slaves", NULL);
	g_autoptr(GDir) slaves = depth < 8 ? g_dir_open(slaves_path, 0, NULL) : NULL;
	const gchar *name;
	gboolean had_slave = FALSE;

	while (slaves != NULL && (name = g_dir_read_name(slaves)) != NULL) {
		g_autofree gchar *link = g_build_filename(slaves_path, name, NULL);
		g_autofree gchar *target = realpath(link, NULL);
		g_autoptr(QgaUdevDevice) slave =
			target ? udev_device_new_from_syspath(udev, target) : NULL;

		if (slave != NULL)
			cmd_fsinfo_add_disks(udev, slave, disks, depth + 1);
		had_slave = TRUE;
	}
	if (had_slave)
		return;
	if (g_strcmp0(udev_device_get_devtype(dev), "partition") == 0)
		dev = udev_device_get_parent_with_subsystem_devtype(dev, "block", "disk");
	if (dev != NULL)
		json_array_add_object_element(disks, cmd_fsinfo_disk_address(dev));
}

static JsonObject *
cmd_fsinfo_for_mount(QgaUdev *udev, const QgaMount *mount)
{
	JsonObject *fs = json_object_new();
	JsonArray *disks = json_array_new();
	g_autoptr(QgaUdevDevice) dev = udev_device_new_from_devnum(udev, 'b', mount->devnum);
	struct statvfs st;

	json_object_set_string_member(fs, "name",
				      dev ? udev_device_get_sysname(dev) : mount->source);
	json_object_set_string_member(fs, "mountpoint", mount->mountpoint);
	json_object_set_string_member(fs, "type", mount->fstype);
	if (statvfs(mount->mountpoint, &st) == 0) {
		guint64 used = st.f_blocks - st.f_bfree;

		/* as qemu-ga and df: "total" is what a non-root user can reach */
		json_object_set_int_member(fs, "used-bytes", used * st.f_frsize);
		json_object_set_int_member(fs, "total-bytes", (used + st.f_bavail) * st.f_frsize);
		json_object_set_int_member(fs, "total-bytes-privileged", st.f_blocks * st.f_frsize);
	}
	if (dev != NULL)
		cmd_fsinfo_add_disks(udev, dev, disks, 0);
	json_object_set_array_member(fs, "disk", disks);
	return fs;
}

static JsonNode *
cmd_guest_get_fsinfo(QgaContext *ctx, JsonObject *args, GError **error)
{
	g_autofree gchar *mountinfo = g_build_filename(ctx->paths->proc, "self", "mountinfo", NULL);
	g_autoptr(QgaMountList) mounts = qga_mount_list_read(mountinfo, error);
	g_autoptr(QgaUdev) udev = NULL;
	JsonArray *result;

	if (mounts == NULL)
		return NULL;
	udev = udev_new();
	if (udev == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot create a udev context");
		return NULL;
	}
	result = json_array_new();
	for (guint i = 0; i < mounts->len; i++) {
		QgaMount *mount = g_ptr_array_index(mounts, i);
		if (mount->freezable)
			json_array_add_object_element(result, cmd_fsinfo_for_mount(udev, mount));
	}
	return qga_return_array(result);
}

const QgaCommand qga_cmd_fsinfo_commands[] = {
	{"guest-get-fsinfo", cmd_guest_get_fsinfo, NULL, 0},
	{NULL},
};
