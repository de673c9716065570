/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "client-diskmap.h"
#include "client-output.h"

/* query-pci nests a bridge's devices; real machines have a few levels */
#define DISKMAP_MAX_BRIDGE_DEPTH 8

static void
client_disk_map_entry_free(ClientDiskMapEntry *self)
{
	g_free(self->unmapped_reason);
	g_free(self);
}

void
client_disk_map_free(ClientDiskMap *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->entries);
	if (self->fsinfo != NULL)
		json_node_unref(self->fsinfo);
	g_free(self);
}

gchar *
client_disk_address_to_string(const ClientDiskAddress *address)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "%04x:%02x:%02x.%x", address->domain, address->bus,
			       address->slot, address->function);
	if (address->is_scsi)
		g_string_append_printf(out, " scsi 0:%u:%u", address->scsi_target,
				       address->scsi_lun);
	return g_string_free(out, FALSE);
}

/* @name of @obj as an integer in [0, @max]; FALSE for anything else */
static gboolean
client_disk_map_uint(JsonObject *obj, const gchar *name, guint max, guint *out)
{
	JsonNode *node = obj != NULL ? json_object_get_member(obj, name) : NULL;
	gint64 v;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64)
		return FALSE;
	v = json_node_get_int(node);
	if (v < 0 || v > (gint64)max)
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* the address @guest_disk claims, checked; FALSE with @reason set */
static gboolean
client_disk_map_guest_address(JsonObject *guest_disk, ClientDiskAddress *out, gchar **reason)
{
	JsonObject *pci = NULL;
	JsonNode *node = json_object_get_member(guest_disk, "pci-controller");
	const gchar *bus_type = client_json_string(guest_disk, "bus-type");
	guint channel = 0;

	if (node != NULL && JSON_NODE_HOLDS_OBJECT(node))
		pci = json_node_get_object(node);
	if (pci == NULL) {
		*reason = g_strdup("the guest reported no PCI address");
		return FALSE;
	}
	if (!client_disk_map_uint(pci, "domain", CLIENT_PCI_MAX_DOMAIN, &out->domain) ||
	    !client_disk_map_uint(pci, "bus", CLIENT_PCI_MAX_BUS, &out->bus) ||
	    !client_disk_map_uint(pci, "slot", CLIENT_PCI_MAX_SLOT, &out->slot) ||
	    !client_disk_map_uint(pci, "function", CLIENT_PCI_MAX_FUNCTION, &out->function)) {
		*reason = g_strdup("the guest reported an invalid PCI address");
		return FALSE;
	}
	out->has_pci = TRUE;
	if (g_strcmp0(bus_type, "virtio") == 0)
		return TRUE;
	if (g_strcmp0(bus_type, "scsi") != 0) {
		g_autofree gchar *text = client_json_text(guest_disk, "bus-type", "none");

		*reason = g_strdup_printf("bus type '%s' is matched by serial only", text);
		return FALSE;
	}
	if (!client_disk_map_uint(guest_disk, "bus", CLIENT_PCI_MAX_BUS, &channel) ||
	    !client_disk_map_uint(guest_disk, "target", CLIENT_SCSI_MAX_TARGET,
				  &out->scsi_target) ||
	    !client_disk_map_uint(guest_disk, "unit", CLIENT_SCSI_MAX_LUN, &out->scsi_lun)) {
		*reason = g_strdup("the guest reported an invalid SCSI address");
		return FALSE;
	}
	/* QEMU's scsi-hd sits on channel 0, always */
	if (channel != 0) {
		*reason = g_strdup_printf("SCSI channel %u: QEMU has channel 0 only", channel);
		return FALSE;
	}
	out->is_scsi = TRUE;
	return TRUE;
}

/* the same PCI function, and for SCSI the same lun; the target is
 * client_disk_map_scsi_pick's */
static gboolean
client_disk_address_fits(const ClientDiskAddress *host, const ClientDiskAddress *guest)
{
	if (!host->has_pci || host->is_scsi != guest->is_scsi)
		return FALSE;
	if (host->domain != guest->domain || host->bus != guest->bus || host->slot != guest->slot ||
	    host->function != guest->function)
		return FALSE;
	return !guest->is_scsi || host->scsi_lun == guest->scsi_lun;
}

/* among the SCSI disks with the guest's controller and lun: qemu-ga
 * reports target 0 for every virtio-scsi disk (recorded with 7.2: scsi-id 2
 * came back as target 0), so a guest's target 0 names the one candidate,
 * whatever its scsi-id, and picks none of several */
static const ClientHostDisk *
client_disk_map_scsi_pick(GPtrArray *candidates, const ClientDiskAddress *guest)
{
	const ClientHostDisk *exact = NULL;
	guint n_exact = 0;

	if (candidates->len == 1) {
		const ClientHostDisk *disk = g_ptr_array_index(candidates, 0);

		return guest->scsi_target == 0 || disk->address.scsi_target == guest->scsi_target
			       ? disk
			       : NULL;
	}
	if (guest->scsi_target == 0)
		return NULL;
	for (guint i = 0; i < candidates->len; i++) {
		const ClientHostDisk *disk = g_ptr_array_index(candidates, i);

		if (disk->address.scsi_target == guest->scsi_target) {
			exact = disk;
			n_exact++;
		}
	}
	return n_exact == 1 ? exact : NULL;
}

const ClientHostDisk *
client_disk_map_match(JsonObject *guest_disk, GPtrArray *host_disks, const gchar **method,
		      gchar **reason)
{
	const gchar *serial = client_json_string(guest_disk, "serial");
	const ClientHostDisk *found = NULL;
	g_autoptr(GPtrArray) candidates = g_ptr_array_new();
	ClientDiskAddress want = {0};
	g_autofree gchar *where = NULL;

	*method = NULL;
	*reason = NULL;
	if (host_disks == NULL) {
		*reason = g_strdup("no host view of the disks");
		return NULL;
	}
	if (serial != NULL) {
		found = client_host_disks_find_serial(host_disks, serial);
		if (found != NULL) {
			*method = "serial";
			return found;
		}
	}
	if (!client_disk_map_guest_address(guest_disk, &want, reason))
		return NULL;
	for (guint i = 0; i < host_disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(host_disks, i);

		if (client_disk_address_fits(&disk->address, &want))
			g_ptr_array_add(candidates, disk);
	}
	where = client_disk_address_to_string(&want);
	if (candidates->len == 0) {
		*reason = g_strdup_printf("no host disk at %s", where);
		return NULL;
	}
	if (want.is_scsi)
		found = client_disk_map_scsi_pick(candidates, &want);
	else if (candidates->len == 1)
		found = g_ptr_array_index(candidates, 0);
	if (found == NULL) {
		*reason = g_strdup_printf("%u host disk(s) at %s, none of them for certain",
					  candidates->len, where);
		return NULL;
	}
	*method = want.is_scsi ? "scsi" : "pci";
	return found;
}

static void
client_disk_map_add(ClientDiskMap *self, const gchar *mountpoint, JsonObject *guest_disk,
		    GPtrArray *host_disks)
{
	ClientDiskMapEntry *entry = g_new0(ClientDiskMapEntry, 1);

	entry->mountpoint = mountpoint;
	if (guest_disk != NULL) {
		entry->dev = client_json_string(guest_disk, "dev");
		entry->host = client_disk_map_match(guest_disk, host_disks, &entry->method,
						    &entry->unmapped_reason);
	} else {
		entry->unmapped_reason = g_strdup("the guest named no disk for it");
	}
	g_ptr_array_add(self->entries, entry);
}

ClientDiskMap *
client_disk_map_new(JsonNode *fsinfo, GPtrArray *host_disks)
{
	ClientDiskMap *self = g_new0(ClientDiskMap, 1);
	JsonArray *list;

	self->entries = g_ptr_array_new_with_free_func((GDestroyNotify)client_disk_map_entry_free);
	if (fsinfo == NULL || !JSON_NODE_HOLDS_ARRAY(fsinfo))
		return self;
	self->fsinfo = json_node_ref(fsinfo);
	list = json_node_get_array(fsinfo);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *fs = client_json_array_object(list, i);
		JsonArray *disks = client_json_array(fs, "disk");
		const gchar *mp = client_json_string(fs, "mountpoint");
		guint n_disks = 0;

		if (mp == NULL)
			continue;
		for (guint d = 0; disks != NULL && d < json_array_get_length(disks); d++) {
			JsonObject *guest_disk = client_json_array_object(disks, d);

			if (guest_disk == NULL)
				continue;
			client_disk_map_add(self, mp, guest_disk, host_disks);
			n_disks++;
		}
		if (n_disks == 0)
			client_disk_map_add(self, mp, NULL, host_disks);
	}
	return self;
}

const ClientDiskMapEntry *
client_disk_map_find(const ClientDiskMap *self, const gchar *mountpoint, const ClientHostDisk *disk)
{
	for (guint i = 0; self != NULL && i < self->entries->len; i++) {
		const ClientDiskMapEntry *e = g_ptr_array_index(self->entries, i);

		if (e->host == disk && g_strcmp0(e->mountpoint, mountpoint) == 0)
			return e;
	}
	return NULL;
}

const ClientDiskMapEntry *
client_disk_map_lookup(const ClientDiskMap *self, const gchar *mountpoint)
{
	const ClientDiskMapEntry *unmapped = NULL;

	for (guint i = 0; self != NULL && i < self->entries->len; i++) {
		const ClientDiskMapEntry *e = g_ptr_array_index(self->entries, i);

		if (g_strcmp0(e->mountpoint, mountpoint) != 0)
			continue;
		if (e->host != NULL)
			return e;
		if (unmapped == NULL)
			unmapped = e;
	}
	return unmapped;
}

JsonArray *
client_disk_map_unmapped_to_json(const ClientDiskMap *self)
{
	JsonArray *out = json_array_new();

	for (guint i = 0; self != NULL && i < self->entries->len; i++) {
		const ClientDiskMapEntry *e = g_ptr_array_index(self->entries, i);
		JsonObject *obj;

		if (e->host != NULL)
			continue;
		obj = json_object_new();
		json_object_set_string_member(obj, "mountpoint", e->mountpoint);
		json_object_set_string_member(obj, "dev", e->dev);
		json_object_set_null_member(obj, "host-disk");
		json_object_set_string_member(obj, "unmapped-reason", e->unmapped_reason);
		json_array_add_object_element(out, obj);
	}
	return out;
}

/* ---- QMP ---- */

/* the device id in a QOM path "/machine/peripheral/ID[/...]", or NULL */
static gchar *
client_disk_map_qdev_id(const gchar *path)
{
	static const gchar prefix[] = "/machine/peripheral/";
	const gchar *end;

	if (!g_str_has_prefix(path, prefix))
		return NULL;
	path += sizeof(prefix) - 1;
	end = strchr(path, '/');
	return end != NULL ? g_strndup(path, (gsize)(end - path)) : g_strdup(path);
}

/* the PCI device that holds @path: up to the "/virtio-backend" child */
static gchar *
client_disk_map_device_path(const gchar *qdev)
{
	const gchar *backend;

	if (qdev[0] != '/')
		return g_strdup_printf("/machine/peripheral/%s", qdev);
	backend = strstr(qdev, "/virtio-backend");
	return backend != NULL ? g_strndup(qdev, (gsize)(backend - qdev)) : g_strdup(qdev);
}

/* a qom-get of an integer in [0, @max] */
static gboolean
client_disk_map_qom_uint(ClientQomGetFunc qom_get, gpointer user_data, const gchar *path,
			 const gchar *property, guint max, guint *out, GError **error)
{
	g_autoptr(JsonNode) node = qom_get(path, property, user_data);
	gint64 v;

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64 || (v = json_node_get_int(node)) < 0 ||
	    v > (gint64)max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no '%s' of '%s' from qom-get",
			    property, path);
		return FALSE;
	}
	*out = (guint)v;
	return TRUE;
}

/* a qom-get of a string (transfer full), or NULL */
static gchar *
client_disk_map_qom_string(ClientQomGetFunc qom_get, gpointer user_data, const gchar *path,
			   const gchar *property)
{
	g_autoptr(JsonNode) node = qom_get(path, property, user_data);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return g_strdup(json_node_get_string(node));
}

/* the devices of one query-pci bus and its bridges that have id @qdev_id
 * (or, with @qdev_id NULL, devfn @devfn): count them, keep the last */
static void
client_disk_map_pci_walk(JsonArray *devices, const gchar *qdev_id, guint devfn, guint depth,
			 ClientDiskAddress *found, guint *n_found)
{
	for (guint i = 0; devices != NULL && i < json_array_get_length(devices); i++) {
		JsonObject *dev = client_json_array_object(devices, i);
		JsonObject *bridge = client_json_object(dev, "pci_bridge");
		ClientDiskAddress addr = {.has_pci = TRUE};

		if (dev == NULL)
			continue;
		if (client_disk_map_uint(dev, "bus", CLIENT_PCI_MAX_BUS, &addr.bus) &&
		    client_disk_map_uint(dev, "slot", CLIENT_PCI_MAX_SLOT, &addr.slot) &&
		    client_disk_map_uint(dev, "function", CLIENT_PCI_MAX_FUNCTION,
					 &addr.function) &&
		    (qdev_id != NULL ? g_strcmp0(client_json_string(dev, "qdev_id"), qdev_id) == 0
				     : (addr.slot << 3 | addr.function) == devfn)) {
			*found = addr;
			(*n_found)++;
		}
		if (bridge != NULL && depth < DISKMAP_MAX_BRIDGE_DEPTH)
			client_disk_map_pci_walk(client_json_array(bridge, "devices"), qdev_id,
						 devfn, depth + 1, found, n_found);
	}
}

/* the guest's address of the PCI device at QOM @path, from query-pci: by
 * its id where it has one, else by devfn (its "addr") when that is unique */
static gboolean
client_disk_map_pci_lookup(JsonArray *query_pci, ClientQomGetFunc qom_get, gpointer user_data,
			   const gchar *path, ClientDiskAddress *out, GError **error)
{
	g_autofree gchar *qdev_id = client_disk_map_qdev_id(path);
	ClientDiskAddress found = {0};
	guint devfn = 0;
	guint n_found = 0;

	if (qdev_id == NULL &&
	    !client_disk_map_qom_uint(qom_get, user_data, path, "addr", 0xff, &devfn, error))
		return FALSE;
	for (guint i = 0; i < json_array_get_length(query_pci); i++)
		client_disk_map_pci_walk(client_json_array(client_json_array_object(query_pci, i),
							   "devices"),
					 qdev_id, devfn, 0, &found, &n_found);
	if (n_found != 1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "%u devices in query-pci fit '%s'", n_found, path);
		return FALSE;
	}
	out->has_pci = TRUE;
	out->domain = 0; /* QEMU's PCI has one domain */
	out->bus = found.bus;
	out->slot = found.slot;
	out->function = found.function;
	return TRUE;
}

gboolean
client_disk_map_qmp_address(JsonArray *query_pci, const gchar *qdev, ClientQomGetFunc qom_get,
			    gpointer user_data, ClientDiskAddress *out, GError **error)
{
	g_autofree gchar *path = client_disk_map_device_path(qdev);
	g_autofree gchar *type = client_disk_map_qom_string(qom_get, user_data, path, "type");
	g_autofree gchar *parent_bus = NULL;
	g_autofree gchar *controller = NULL;
	ClientDiskAddress addr = {0};
	guint channel = 0;

	if (type == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no type of '%s' from qom-get",
			    path);
		return FALSE;
	}
	if (!g_str_has_prefix(type, "scsi-")) {
		if (!client_disk_map_pci_lookup(query_pci, qom_get, user_data, path, &addr, error))
			return FALSE;
		*out = addr;
		return TRUE;
	}
	if (!client_disk_map_qom_uint(qom_get, user_data, path, "channel", 0, &channel, error) ||
	    !client_disk_map_qom_uint(qom_get, user_data, path, "scsi-id", CLIENT_SCSI_MAX_TARGET,
				      &addr.scsi_target, error) ||
	    !client_disk_map_qom_uint(qom_get, user_data, path, "lun", CLIENT_SCSI_MAX_LUN,
				      &addr.scsi_lun, error))
		return FALSE;
	/* "/machine/peripheral/scsi0/virtio-backend/scsi0.0": the bus of the HBA */
	parent_bus = client_disk_map_qom_string(qom_get, user_data, path, "parent_bus");
	if (parent_bus == NULL || strrchr(parent_bus, '/') == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no SCSI bus of '%s' from qom-get", path);
		return FALSE;
	}
	*strrchr(parent_bus, '/') = '\0';
	controller = client_disk_map_device_path(parent_bus);
	if (!client_disk_map_pci_lookup(query_pci, qom_get, user_data, controller, &addr, error))
		return FALSE;
	addr.is_scsi = TRUE;
	*out = addr;
	return TRUE;
}
