/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-host.h"
#include "client-libvirt.h"
#include "client-qmp.h"

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
	g_free(self);
}

GPtrArray *
client_host_disks(ClientContext *ctx, const gchar **source, GError **error)
{
	if (ctx->qmp_path != NULL) {
		ClientQmp *qmp = client_qmp_get(ctx, error);

		if (source != NULL)
			*source = "qmp";
		return qmp != NULL ? client_qmp_host_disks(qmp, error) : NULL;
	}
	if (ctx->domain != NULL) {
		ClientLibvirt *lv = client_libvirt_get(ctx, error);

		if (source != NULL)
			*source = "libvirt";
		return lv != NULL ? client_libvirt_host_disks(lv, error) : NULL;
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "the host's view of the disks needs --qmp or --domain");
	return NULL;
}

gboolean
client_host_disks_update(ClientContext *ctx, GPtrArray *disks, GError **error)
{
	if (ctx->qmp != NULL)
		return client_qmp_update_stats(ctx->qmp, disks, error);
	if (ctx->libvirt != NULL)
		return client_libvirt_update_stats(ctx->libvirt, disks, error);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "the host's view of the disks needs --qmp or --domain");
	return FALSE;
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
		json_object_set_int_member(obj, "wr_highest_offset", (gint64)counters->wr_highest_offset);
	else
		json_object_set_null_member(obj, "wr_highest_offset");
	return obj;
}
