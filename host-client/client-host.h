/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The host's view of the guest's disks, from QMP (query-block,
 * query-blockstats) or from libvirt (block stats and info): what snapshot
 * shows as host-side evidence and df beside the guest's usage. Which of the
 * two is asked is the target's choice (client_target_host_disks). */

typedef struct {
	guint64 wr_operations;
	guint64 wr_bytes;
	guint64 flush_operations;
	guint64 wr_highest_offset;
	gboolean has_highest_offset;
} ClientWriteCounters;

/* where the guest finds a disk: the PCI function of the disk itself
 * (virtio-blk) or of its SCSI controller, plus the SCSI target and lun
 * (scsi-hd on virtio-scsi); the numbers are the guest's PCI numbering */
/* the largest numbers PCI and virtio-scsi allow: a guest claiming more is lying */
#define CLIENT_PCI_MAX_DOMAIN	0xffff
#define CLIENT_PCI_MAX_BUS	0xff
#define CLIENT_PCI_MAX_SLOT	0x1f
#define CLIENT_PCI_MAX_FUNCTION 0x7
#define CLIENT_SCSI_MAX_TARGET	0xff   /* virtio-scsi's max_target */
#define CLIENT_SCSI_MAX_LUN	0x3fff /* virtio-scsi's max_lun */

typedef struct {
	gboolean has_pci;
	guint domain;
	guint bus;
	guint slot;
	guint function;
	gboolean is_scsi;
	guint scsi_target; /* QEMU's scsi-id, libvirt's target */
	guint scsi_lun;	   /* QEMU's lun, libvirt's unit */
} ClientDiskAddress;

typedef struct {
	gchar *id;	    /* QMP: the device (or node) name; libvirt: the target, vda */
	gchar *node;	    /* (nullable): QMP's node-name, for blockdev-snapshot-sync */
	gchar *serial;	    /* (nullable): what the guest sees (guest-get-fsinfo "serial") */
	gchar *file;	    /* (nullable): the host file or device */
	gchar *format;	    /* (nullable): raw, qcow2 */
	guint64 capacity;   /* virtual size, bytes; 0: unknown */
	guint64 allocation; /* bytes the host has allocated for it; 0: unknown */
	gboolean has_allocation;
	guint64 physical; /* the host file's size; 0: unknown */
	ClientWriteCounters stats;
	ClientDiskAddress address; /* has_pci FALSE: unknown */
	gchar *address_error;	   /* (nullable): why the address is unknown */
} ClientHostDisk;

void client_host_disk_free(ClientHostDisk *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientHostDisk, client_host_disk_free)

/* Returns: (transfer none) (nullable): the disk the guest knows by @serial */
ClientHostDisk *client_host_disks_find_serial(GPtrArray *disks, const gchar *serial);

/* {"wr_operations", "wr_bytes", "flush_operations", "wr_highest_offset"} */
JsonObject *client_write_counters_to_json(const ClientWriteCounters *counters);

G_END_DECLS
