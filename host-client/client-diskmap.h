/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "client-host.h"

G_BEGIN_DECLS

/* Which host disk holds which guest filesystem. guest-get-fsinfo names each
 * filesystem's disks by serial and by address (the PCI function of a
 * virtio-blk disk, or the SCSI controller's PCI function plus target and
 * unit); the host knows the same from QMP (query-pci, qom-get) or from the
 * domain XML. Serial first, then the address; the guest's claims are
 * hostile input, so every number is range-checked and an address that
 * fits more than one host disk maps to none. Pure: no I/O. */

typedef struct {
	const gchar *mountpoint;    /* (transfer none): the filesystem's, from fsinfo */
	const gchar *dev;	    /* (transfer none) (nullable): the guest's device node */
	const ClientHostDisk *host; /* (transfer none) (nullable): NULL when unmapped */
	const gchar *method;	    /* "serial", "pci", "scsi"; NULL when unmapped */
	gchar *unmapped_reason;	    /* (nullable): why @host is NULL */
} ClientDiskMapEntry;

typedef struct {
	JsonNode *fsinfo;   /* holds the strings the entries point into */
	GPtrArray *entries; /* of ClientDiskMapEntry: one per filesystem and disk */
} ClientDiskMap;

/**
 * client_disk_map_new:
 * @fsinfo: (transfer none): guest-get-fsinfo's return value
 * @host_disks: (nullable) (transfer none): of ClientHostDisk; NULL: no host view
 * Returns: (transfer full): the mapping; a filesystem without any disk
 * gets one unmapped entry. The entries point into @host_disks, which must
 * outlive the map.
 */
ClientDiskMap *client_disk_map_new(JsonNode *fsinfo, GPtrArray *host_disks);
void client_disk_map_free(ClientDiskMap *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientDiskMap, client_disk_map_free)

/* Returns: (transfer none) (nullable): the entry that puts @mountpoint on @disk */
const ClientDiskMapEntry *client_disk_map_find(const ClientDiskMap *self, const gchar *mountpoint,
					       const ClientHostDisk *disk);
/* Returns: (transfer none) (nullable): @mountpoint's first mapped entry,
 * else its first unmapped one; NULL for a mountpoint fsinfo did not list */
const ClientDiskMapEntry *client_disk_map_lookup(const ClientDiskMap *self,
						 const gchar *mountpoint);
/* Returns: (transfer full): [{"mountpoint", "dev", "host-disk": null, "unmapped-reason"}] */
JsonArray *client_disk_map_unmapped_to_json(const ClientDiskMap *self);

/**
 * client_disk_map_match:
 * @guest_disk: one object of a filesystem's fsinfo "disk" array
 * @method: (out) (transfer none): "serial", "pci" or "scsi" on a match
 * @reason: (out) (transfer full): why there is none, otherwise NULL
 * Returns: (transfer none) (nullable): the host disk behind @guest_disk
 */
const ClientHostDisk *client_disk_map_match(JsonObject *guest_disk, GPtrArray *host_disks,
					    const gchar **method, gchar **reason);

/* ---- the host's side: PCI addresses from QMP ---- */

/* Returns: (transfer full) (nullable): the value of @property of the QOM
 * object at @path, or NULL (client_qmp: qom-get) */
typedef JsonNode *(*ClientQomGetFunc)(const gchar *path, const gchar *property, gpointer user_data);

/**
 * client_disk_map_qmp_address:
 * @query_pci: (transfer none): query-pci's return value
 * @qdev: query-block's "qdev" of the disk (a QOM path or a device id)
 * Fills @out with the disk's address as the guest sees it: its PCI function
 * (virtio-blk) or its SCSI controller's plus scsi-id and lun (scsi-hd).
 * Returns: FALSE with @error when the host cannot tell
 */
gboolean client_disk_map_qmp_address(JsonArray *query_pci, const gchar *qdev,
				     ClientQomGetFunc qom_get, gpointer user_data,
				     ClientDiskAddress *out, GError **error);

/* "0000:00:04.0", or with a SCSI part "0000:00:04.0 scsi 0:2:1" (transfer full) */
gchar *client_disk_address_to_string(const ClientDiskAddress *address);

G_END_DECLS
