/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-host.h"

void
client_host_disk_free(ClientHostDisk *self)
{
	if (self == NULL)
		return;
	g_free(self->id);
	g_free(self->node);
	g_free(self->serial);
	g_free(self->file);
	g_free(self->format);
	g_free(self->address_error);
	g_free(self);
}

ClientHostDisk *
client_host_disks_find_serial(GPtrArray *disks, const gchar *serial)
{
	if (disks == NULL || serial == NULL)
		return NULL;
	for (guint i = 0; i < disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(disks, i);

		if (g_strcmp0(disk->serial, serial) == 0)
			return disk;
	}
	return NULL;
}

JsonObject *
client_write_counters_to_json(const ClientWriteCounters *counters)
{
	JsonObject *obj = json_object_new();

	json_object_set_int_member(obj, "wr_operations", (gint64)counters->wr_operations);
	json_object_set_int_member(obj, "wr_bytes", (gint64)counters->wr_bytes);
	json_object_set_int_member(obj, "flush_operations", (gint64)counters->flush_operations);
	if (counters->has_highest_offset)
		json_object_set_int_member(obj, "wr_highest_offset",
					   (gint64)counters->wr_highest_offset);
	else
		json_object_set_null_member(obj, "wr_highest_offset");
	return obj;
}
