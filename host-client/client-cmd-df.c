/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-diskmap.h"
#include "client-output.h"
#include "client-terminal.h"

static const gchar df_summary[] =
	"Shows each guest filesystem's use as the guest sees it (guest-get-fsinfo: used and total\n"
	"bytes, its disks by serial) and, with --qmp or --domain, beside it the host's view of the\n"
	"same disk: its image file, format, capacity, what the host has allocated for it\n"
	"(query-block actual-size, or libvirt's), and the highest offset the guest ever wrote\n"
	"(wr_highest_offset). A raw file's size or allocation says little about how full the guest\n"
	"is (virsh domblkinfo reports those): the guest's own numbers do. Disks are matched by\n"
	"serial, else by the PCI address (and SCSI target and unit) the guest reports against\n"
	"the host's (QMP query-pci, or the domain XML); a filesystem whose disk the host cannot\n"
	"tell is shown as unmapped, with the reason.";

static const gchar df_description[] =
	"Output:\n"
	"  --json: {\"filesystems\": [{\"mountpoint\", \"type\", \"name\", \"used-bytes\", \"total-bytes\",\n"
	"  \"serials\": [...], \"host-disk\": ID|null, \"host-disk-match\": \"serial\"|\"pci\"|\"scsi\"|null,\n"
	"  \"unmapped-reason\": TEXT|null}], \"host\": {\"source\": \"qmp\"|\"libvirt\",\n"
	"  \"disks\": [{\"id\", \"serial\", \"file\", \"format\", \"capacity\", \"allocation\", \"physical\",\n"
	"  \"wr-highest-offset\", \"guest-used-bytes\", \"mountpoints\"}]}|null}\n\n" CLIENT_HELP_EXIT_STATUS
	"\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --qmp /run/vm1/qmp.sock df\n"
	"  qgatrace --domain vm1 df\n";

static JsonArray *
df_serials(JsonObject *fs)
{
	JsonArray *out = json_array_new();
	JsonArray *disks = client_json_array(fs, "disk");

	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		const gchar *serial =
			client_json_string(client_json_array_object(disks, i), "serial");

		if (serial != NULL)
			json_array_add_string_element(out, serial);
	}
	return out;
}

static gchar *
df_size(guint64 bytes, gboolean known)
{
	return known ? client_format_bytes(bytes) : g_strdup("-");
}

/* the host's view of the disks, when asked for; NULL without it. FALSE
 * only for a usage error: without the host's half the guest's is still
 * worth printing */
static gboolean
df_read_host(ClientInvocation *inv, GPtrArray **disks, const gchar **source, GError **error)
{
	g_autoptr(GError) error_host = NULL;

	*disks = NULL;
	if (inv->ctx->qmp_path == NULL && inv->ctx->domain == NULL)
		return TRUE;
	*disks = client_target_host_disks(inv->target, source, &error_host);
	if (*disks != NULL)
		return TRUE;
	if (client_exit_for_error(error_host) == CLIENT_EXIT_USAGE) {
		g_propagate_error(error, g_steal_pointer(&error_host));
		return FALSE;
	}
	client_print_warning(inv->ctx, "no host view of the disks: %s", error_host->message);
	return TRUE;
}

/* guest-get-fsinfo's filesystems, each with the host disk it is on */
static JsonArray *
df_filesystems(JsonArray *fsinfo, const ClientDiskMap *map, gboolean have_host)
{
	JsonArray *filesystems = json_array_new();

	for (guint i = 0; i < json_array_get_length(fsinfo); i++) {
		JsonObject *fs = client_json_array_object(fsinfo, i);
		JsonObject *entry;
		JsonArray *serials;
		const ClientDiskMapEntry *m;

		if (fs == NULL) /* not an object: a broken or hostile agent */
			continue;
		entry = json_object_new();
		serials = df_serials(fs);
		m = client_disk_map_lookup(map, client_json_string(fs, "mountpoint"));
		json_object_set_string_member(entry, "mountpoint",
					      client_json_string(fs, "mountpoint"));
		json_object_set_string_member(entry, "type", client_json_string(fs, "type"));
		json_object_set_string_member(entry, "name", client_json_string(fs, "name"));
		if (json_object_has_member(fs, "used-bytes"))
			json_object_set_int_member(entry, "used-bytes",
						   client_json_int(fs, "used-bytes", 0));
		else
			json_object_set_null_member(entry, "used-bytes");
		if (json_object_has_member(fs, "total-bytes"))
			json_object_set_int_member(entry, "total-bytes",
						   client_json_int(fs, "total-bytes", 0));
		else
			json_object_set_null_member(entry, "total-bytes");
		json_object_set_array_member(entry, "serials", serials);
		json_object_set_string_member(entry, "host-disk",
					      m != NULL && m->host != NULL ? m->host->id : NULL);
		json_object_set_string_member(entry, "host-disk-match",
					      m != NULL ? m->method : NULL);
		/* without a host view nothing was matched: no reason to give */
		json_object_set_string_member(entry, "unmapped-reason",
					      have_host && m != NULL ? m->unmapped_reason : NULL);
		json_array_add_object_element(filesystems, entry);
	}
	return filesystems;
}

/* one host disk, with the guest filesystems on it and what they use */
static JsonObject *
df_host_disk(const ClientHostDisk *disk, JsonArray *filesystems)
{
	JsonObject *h = json_object_new();
	JsonArray *mounts = json_array_new();
	gint64 used = 0;
	gboolean have_used = FALSE;

	for (guint i = 0; i < json_array_get_length(filesystems); i++) {
		JsonObject *fs = client_json_array_object(filesystems, i);

		if (g_strcmp0(client_json_string(fs, "host-disk"), disk->id) != 0)
			continue;
		json_array_add_string_element(mounts, client_json_string(fs, "mountpoint"));
		if (json_object_has_member(fs, "used-bytes") &&
		    !json_object_get_null_member(fs, "used-bytes")) {
			used += client_json_int(fs, "used-bytes", 0);
			have_used = TRUE;
		}
	}
	json_object_set_string_member(h, "id", disk->id);
	json_object_set_string_member(h, "serial", disk->serial);
	json_object_set_string_member(h, "file", disk->file);
	json_object_set_string_member(h, "format", disk->format);
	json_object_set_int_member(h, "capacity", (gint64)disk->capacity);
	if (disk->has_allocation)
		json_object_set_int_member(h, "allocation", (gint64)disk->allocation);
	else
		json_object_set_null_member(h, "allocation");
	if (disk->physical != 0)
		json_object_set_int_member(h, "physical", (gint64)disk->physical);
	else
		json_object_set_null_member(h, "physical");
	if (disk->stats.has_highest_offset)
		json_object_set_int_member(h, "wr-highest-offset",
					   (gint64)disk->stats.wr_highest_offset);
	else
		json_object_set_null_member(h, "wr-highest-offset");
	if (have_used)
		json_object_set_int_member(h, "guest-used-bytes", used);
	else
		json_object_set_null_member(h, "guest-used-bytes");
	json_object_set_array_member(h, "mountpoints", mounts);
	return h;
}

static JsonObject *
df_host(GPtrArray *host_disks, const gchar *source, JsonArray *filesystems)
{
	JsonObject *host = json_object_new();
	JsonArray *disks = json_array_new();

	json_object_set_string_member(host, "source", source);
	for (guint d = 0; d < host_disks->len; d++)
		json_array_add_object_element(disks, df_host_disk(g_ptr_array_index(host_disks, d),
								  filesystems));
	json_object_set_array_member(host, "disks", disks);
	return host;
}

static void
df_print_filesystems(JsonArray *filesystems)
{
	client_print("%-20s %-6s %10s %10s %5s  %s\n", "MOUNTPOINT", "TYPE", "USED", "TOTAL",
		     "USE%", "DISK");
	for (guint i = 0; i < json_array_get_length(filesystems); i++) {
		JsonObject *fs = client_json_array_object(filesystems, i);
		gint64 used = client_json_int(fs, "used-bytes", -1);
		gint64 total = client_json_int(fs, "total-bytes", -1);
		g_autofree gchar *u = df_size((guint64)MAX(used, 0), used >= 0);
		g_autofree gchar *t = df_size((guint64)MAX(total, 0), total >= 0);
		g_autofree gchar *pct = used >= 0 && total > 0
						? g_strdup_printf("%.0f%%", 100.0 * used / total)
						: g_strdup("-");
		JsonArray *serials = client_json_array(fs, "serials");
		g_autofree gchar *serial =
			client_terminal_escape(serials != NULL && json_array_get_length(serials) > 0
						       ? json_array_get_string_element(serials, 0)
						       : NULL);
		g_autofree gchar *mountpoint = client_json_text(fs, "mountpoint", "?");
		g_autofree gchar *type = client_json_text(fs, "type", "?");
		g_autofree gchar *name = client_json_text(fs, "name", "?");
		g_autofree gchar *host_disk = client_json_text(fs, "host-disk", NULL);
		g_autofree gchar *unmapped = client_json_text(fs, "unmapped-reason", NULL);
		g_autofree gchar *where = NULL;

		if (host_disk != NULL)
			where = g_strdup_printf(", host disk '%s' by %s", host_disk,
						client_json_string(fs, "host-disk-match"));
		else if (unmapped != NULL)
			where = g_strdup_printf(", unmapped: %s", unmapped);
		client_print("%-20s %-6s %10s %10s %5s  %s%s%s%s%s\n", mountpoint, type, u, t, pct,
			     name, serial != NULL ? " (serial " : "", serial != NULL ? serial : "",
			     serial != NULL ? ")" : "", where != NULL ? where : "");
	}
}

static void
df_print_host(JsonObject *host)
{
	JsonArray *disks = client_json_array(host, "disks");

	client_print("\nhost view (%s):\n",
		     g_strcmp0(client_json_string(host, "source"), "qmp") == 0
			     ? "QMP query-block, query-blockstats"
			     : "libvirt block info and stats");
	client_print("%-12s %-7s %10s %10s %13s %11s  %s\n", "DISK", "FORMAT", "CAPACITY",
		     "ALLOCATED", "HIGHEST WRITE", "GUEST USED", "FILE");
	for (guint d = 0; d < json_array_get_length(disks); d++) {
		JsonObject *h = client_json_array_object(disks, d);
		gint64 alloc = client_json_int(h, "allocation", -1);
		gint64 high = client_json_int(h, "wr-highest-offset", -1);
		gint64 used = client_json_int(h, "guest-used-bytes", -1);
		g_autofree gchar *cap = df_size((guint64)client_json_int(h, "capacity", 0),
						client_json_int(h, "capacity", 0) > 0);
		g_autofree gchar *a = df_size((guint64)MAX(alloc, 0), alloc >= 0);
		g_autofree gchar *w = df_size((guint64)MAX(high, 0), high >= 0);
		g_autofree gchar *u = df_size((guint64)MAX(used, 0), used >= 0);
		g_autofree gchar *id = client_json_text(h, "id", "?");
		g_autofree gchar *format = client_json_text(h, "format", "-");
		g_autofree gchar *file = client_json_text(h, "file", "-");

		client_print("%-12s %-7s %10s %10s %13s %11s  %s\n", id, format, cap, a, w, u,
			     file);
	}
}

static gboolean
df_run(ClientInvocation *inv, GError **error)
{
	g_autoptr(JsonNode) fsinfo = NULL;
	g_autoptr(GPtrArray) host_disks = NULL;
	g_autoptr(ClientDiskMap) map = NULL;
	g_autoptr(JsonObject) out = json_object_new();
	JsonArray *filesystems;
	JsonObject *host = NULL;
	const gchar *source = NULL;

	fsinfo = client_conn_execute(inv->conn, "guest-get-fsinfo", NULL,
				     client_context_timeout_ms(inv->ctx, CLIENT_TIMEOUT_DEFAULT_MS),
				     error);
	if (fsinfo == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_ARRAY(fsinfo)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-get-fsinfo did not return a list");
		return FALSE;
	}
	if (!df_read_host(inv, &host_disks, &source, error))
		return FALSE;
	map = client_disk_map_new(fsinfo, host_disks);
	filesystems = df_filesystems(json_node_get_array(fsinfo), map, host_disks != NULL);
	json_object_set_array_member(out, "filesystems", filesystems);
	if (host_disks != NULL) {
		host = df_host(host_disks, source, filesystems);
		json_object_set_object_member(out, "host", host);
	} else {
		json_object_set_null_member(out, "host");
	}
	if (inv->ctx->json) {
		client_print_json_object(out, TRUE);
		return TRUE;
	}
	df_print_filesystems(filesystems);
	if (host != NULL)
		df_print_host(host);
	return TRUE;
}

const ClientCommand client_cmd_df = {
	.name = "df",
	.summary = "guest filesystem usage beside the host's view of the disks",
	.help = df_summary,
	.help_tail = df_description,
	.flags = CLIENT_COMMAND_AGENT,
	.run = df_run,
};
