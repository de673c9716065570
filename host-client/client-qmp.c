/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-diskmap.h"
#include "client-host.h"
#include "client-output.h"
#include "client-qmp.h"
#include "qmp-client.h"

struct _ClientQmp {
	QmpClient *qmp;
};

void
client_chardev_free(ClientChardev *self)
{
	if (self == NULL)
		return;
	g_free(self->label);
	g_free(self->filename);
	g_free(self);
}

ClientQmp *
client_qmp_connect(const gchar *path, guint timeout_ms, GError **error)
{
	g_autoptr(ClientQmp) self = g_new0(ClientQmp, 1);

	self->qmp = qmp_client_connect_unix(path, timeout_ms, error);
	if (self->qmp == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

void
client_qmp_free(ClientQmp *self)
{
	if (self == NULL)
		return;
	qmp_client_free(self->qmp);
	g_free(self);
}

JsonNode *
client_qmp_execute(ClientQmp *self, const gchar *command, JsonObject *args, GError **error)
{
	JsonNode *ret = qmp_client_execute(self->qmp, command, args, error);

	if (ret == NULL)
		g_prefix_error(error, "QMP %s: ", command);
	return ret;
}

const gchar *
client_qmp_get_version(ClientQmp *self)
{
	return qmp_client_get_version(self->qmp);
}

gchar *
client_qmp_run_state(ClientQmp *self, gboolean *running, GError **error)
{
	g_autoptr(JsonNode) ret = client_qmp_execute(self, "query-status", NULL, error);
	JsonObject *obj;

	if (ret == NULL)
		return NULL;
	obj = JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL;
	if (client_json_string(obj, "status") == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "QMP query-status returned no 'status'");
		return NULL;
	}
	*running = client_json_bool(obj, "running", FALSE);
	return g_strdup(client_json_string(obj, "status"));
}

static const gchar *
client_qmp_str(JsonObject *obj, const gchar *name)
{
	const gchar *value = client_json_string(obj, name);

	return value != NULL && value[0] != '\0' ? value : NULL;
}

/* a ClientQomGetFunc over the monitor */
static JsonNode *
client_qmp_qom_get(const gchar *path, const gchar *property, gpointer user_data)
{
	ClientQmp *self = user_data;
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(GError) error_local = NULL;
	JsonNode *ret;

	json_object_set_string_member(args, "path", path);
	json_object_set_string_member(args, "property", property);
	ret = qmp_client_execute(self->qmp, "qom-get", args, &error_local);
	if (ret == NULL)
		g_debug("qom-get %s %s: %s, ignoring", path, property, error_local->message);
	return ret;
}

/* the serial of the virtio-blk/scsi-hd behind @qdev ("" for none) */
static gchar *
client_qmp_serial(ClientQmp *self, const gchar *qdev)
{
	g_autoptr(JsonNode) ret = client_qmp_qom_get(qdev, "serial", self);

	if (ret == NULL || !JSON_NODE_HOLDS_VALUE(ret) ||
	    json_node_get_value_type(ret) != G_TYPE_STRING || json_node_get_string(ret)[0] == '\0')
		return NULL;
	return g_strdup(json_node_get_string(ret));
}

/* where the guest finds each disk (client-diskmap.h); a disk QEMU cannot
 * place keeps has_pci FALSE and says why */
static void
client_qmp_read_addresses(ClientQmp *self, GPtrArray *disks, GPtrArray *qdevs)
{
	g_autoptr(GError) error_pci = NULL;
	g_autoptr(JsonNode) pci = qmp_client_execute(self->qmp, "query-pci", NULL, &error_pci);

	for (guint i = 0; i < disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(disks, i);
		const gchar *qdev = g_ptr_array_index(qdevs, i);
		g_autoptr(GError) error_local = NULL;

		if (qdev == NULL)
			disk->address_error = g_strdup("QEMU names no guest device for it");
		else if (pci == NULL || !JSON_NODE_HOLDS_ARRAY(pci))
			disk->address_error = g_strdup_printf("query-pci: %s",
							      error_pci != NULL ? error_pci->message
										: "not a list");
		else if (!client_disk_map_qmp_address(json_node_get_array(pci), qdev,
						      client_qmp_qom_get, self, &disk->address,
						      &error_local))
			disk->address_error = g_strdup(error_local->message);
	}
}

static void
client_qmp_read_counters(JsonObject *stats, ClientWriteCounters *out)
{
	out->wr_operations = (guint64)MAX(client_json_int(stats, "wr_operations", 0), 0);
	out->wr_bytes = (guint64)MAX(client_json_int(stats, "wr_bytes", 0), 0);
	out->flush_operations = (guint64)MAX(client_json_int(stats, "flush_operations", 0), 0);
	out->has_highest_offset = client_json_int(stats, "wr_highest_offset", -1) >= 0;
	out->wr_highest_offset = (guint64)MAX(client_json_int(stats, "wr_highest_offset", 0), 0);
}

/* matches a query-blockstats entry to a disk: by device, else by node-name */
static JsonObject *
client_qmp_find_stats(JsonArray *all, const ClientHostDisk *disk)
{
	for (guint i = 0; i < json_array_get_length(all); i++) {
		JsonObject *entry = client_json_array_object(all, i);
		const gchar *device = client_qmp_str(entry, "device");
		const gchar *qdev = client_qmp_str(entry, "qdev");
		const gchar *node = client_qmp_str(entry, "node-name");

		if ((device != NULL && g_strcmp0(device, disk->id) == 0) ||
		    (qdev != NULL && g_strcmp0(qdev, disk->id) == 0) ||
		    (node != NULL && g_strcmp0(node, disk->node) == 0))
			return client_json_object(entry, "stats");
	}
	return NULL;
}

gboolean
client_qmp_update_stats(ClientQmp *self, GPtrArray *disks, GError **error)
{
	g_autoptr(JsonNode) ret = client_qmp_execute(self, "query-blockstats", NULL, error);

	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "QMP query-blockstats did not return a list");
		return FALSE;
	}
	for (guint i = 0; i < disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(disks, i);
		JsonObject *stats = client_qmp_find_stats(json_node_get_array(ret), disk);

		if (stats != NULL)
			client_qmp_read_counters(stats, &disk->stats);
	}
	return TRUE;
}

GPtrArray *
client_qmp_host_disks(ClientQmp *self, GError **error)
{
	g_autoptr(JsonNode) ret = client_qmp_execute(self, "query-block", NULL, error);
	g_autoptr(GPtrArray) disks =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);
	g_autoptr(GPtrArray) qdevs = NULL; /* query-block's "qdev" of each disk */
	JsonArray *blocks;

	if (ret == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "QMP query-block did not return a list");
		return NULL;
	}
	blocks = json_node_get_array(ret);
	qdevs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(blocks); i++) {
		JsonObject *block = client_json_array_object(blocks, i);
		JsonObject *inserted = client_json_object(block, "inserted");
		JsonObject *image;
		const gchar *device = client_qmp_str(block, "device");
		const gchar *qdev = client_qmp_str(block, "qdev");
		ClientHostDisk *disk;

		/* an empty CD-ROM or floppy drive is no disk */
		if (inserted == NULL || client_json_bool(block, "removable", FALSE))
			continue;
		disk = g_new0(ClientHostDisk, 1);
		disk->id = g_strdup(
			device != NULL
				? device
				: (qdev != NULL ? qdev : client_qmp_str(inserted, "node-name")));
		disk->node = g_strdup(client_qmp_str(inserted, "node-name"));
		disk->file = g_strdup(client_qmp_str(inserted, "file"));
		disk->format = g_strdup(client_qmp_str(inserted, "drv"));
		image = client_json_object(inserted, "image");
		disk->capacity = (guint64)MAX(client_json_int(image, "virtual-size", 0), 0);
		disk->has_allocation = client_json_int(image, "actual-size", -1) >= 0;
		disk->allocation = (guint64)MAX(client_json_int(image, "actual-size", 0), 0);
		if (qdev != NULL)
			disk->serial = client_qmp_serial(self, qdev);
		g_ptr_array_add(disks, disk);
		g_ptr_array_add(qdevs, g_strdup(qdev));
	}
	client_qmp_read_addresses(self, disks, qdevs);
	if (!client_qmp_update_stats(self, disks, error))
		return NULL;
	return g_steal_pointer(&disks);
}

ClientChardev *
client_qmp_find_chardev(ClientQmp *self, const gchar *socket_path, GError **error)
{
	g_autoptr(JsonNode) ret = client_qmp_execute(self, "query-chardev", NULL, error);
	/* QEMU shows the path it was given: absolute in practice (libvirt, the harness) */
	g_autofree gchar *absolute = g_canonicalize_filename(socket_path, NULL);
	JsonArray *all;

	if (ret == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "QMP query-chardev did not return a list");
		return NULL;
	}
	all = json_node_get_array(ret);
	for (guint i = 0; i < json_array_get_length(all); i++) {
		JsonObject *c = client_json_array_object(all, i);
		const gchar *filename = client_json_string(c, "filename");
		g_autofree gchar *needle = g_strdup_printf("unix:%s", absolute);
		const gchar *found = filename != NULL ? strstr(filename, needle) : NULL;
		ClientChardev *dev;

		/* "unix:/p,server=on": the path must end at a comma or the end */
		if (found == NULL ||
		    (found[strlen(needle)] != '\0' && found[strlen(needle)] != ','))
			continue;
		dev = g_new0(ClientChardev, 1);
		dev->label = g_strdup(json_object_get_string_member_with_default(c, "label", ""));
		dev->filename = g_strdup(filename);
		dev->frontend_open =
			json_object_get_boolean_member_with_default(c, "frontend-open", FALSE);
		/* QEMU renames a socket chardev "disconnected:..." while it has no client */
		dev->host_connected = !g_str_has_prefix(filename, "disconnected:");
		return dev;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "QEMU has no chardev on '%s' (query-chardev)", socket_path);
	return NULL;
}
