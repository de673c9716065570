/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-registry.h"
#include "qga-context.h"

static JsonNode *
cmd_guest_get_time(QgaContext *ctx, JsonObject *args, GError **error)
{
	/* nanoseconds since the epoch, as qemu-ga */
	return qga_return_int(g_get_real_time() * 1000);
}

static JsonNode *
cmd_guest_get_host_name(QgaContext *ctx, JsonObject *args, GError **error)
{
	gchar name[HOST_NAME_MAX + 1] = {0};
	JsonObject *result;

	if (gethostname(name, sizeof(name) - 1) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot get the host name: %s", g_strerror(errsv));
		return NULL;
	}
	result = json_object_new();
	json_object_set_string_member(result, "host-name", name);
	return qga_return_object(result);
}

/* os-release keys and the members qemu-ga reports them as */
static const struct {
	const gchar *key;
	const gchar *member;
} osinfo_keys[] = {
	{"ID", "id"},
	{"NAME", "name"},
	{"PRETTY_NAME", "pretty-name"},
	{"VERSION", "version"},
	{"VERSION_ID", "version-id"},
	{"VARIANT", "variant"},
	{"VARIANT_ID", "variant-id"},
};

static GHashTable *
cmd_osinfo_read_os_release(QgaContext *ctx)
{
	g_autofree gchar *etc_path = g_build_filename(ctx->paths->root, "etc", "os-release", NULL);
	g_autofree gchar *usr_path =
		g_build_filename(ctx->paths->root, "usr", "lib", "os-release", NULL);
	g_autofree gchar *contents = NULL;
	g_auto(GStrv) lines = NULL;
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	if (!g_file_get_contents(etc_path, &contents, NULL, NULL) &&
	    !g_file_get_contents(usr_path, &contents, NULL, NULL))
		return table;
	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *eq = strchr(lines[i], '=');
		g_autofree gchar *value = NULL;

		if (lines[i][0] == '#' || eq == NULL)
			continue;
		*eq = '\0';
		/* os-release values are shell words */
		value = g_shell_unquote(eq + 1, NULL);
		if (value != NULL)
			g_hash_table_insert(table, g_strdup(g_strstrip(lines[i])),
					    g_steal_pointer(&value));
	}
	return table;
}

static JsonNode *
cmd_guest_get_osinfo(QgaContext *ctx, JsonObject *args, GError **error)
{
	g_autoptr(GHashTable) release = cmd_osinfo_read_os_release(ctx);
	JsonObject *result = json_object_new();
	struct utsname uts;

	if (uname(&uts) == 0) {
		json_object_set_string_member(result, "kernel-release", uts.release);
		json_object_set_string_member(result, "kernel-version", uts.version);
		json_object_set_string_member(result, "machine", uts.machine);
	}
	for (guint i = 0; i < G_N_ELEMENTS(osinfo_keys); i++) {
		const gchar *value = g_hash_table_lookup(release, osinfo_keys[i].key);
		if (value != NULL)
			json_object_set_string_member(result, osinfo_keys[i].member, value);
	}
	return qga_return_object(result);
}

const QgaCommand qga_cmd_system_commands[] = {
	{"guest-get-time", cmd_guest_get_time, NULL, 0},
	{"guest-get-host-name", cmd_guest_get_host_name, NULL, 0},
	{"guest-get-osinfo", cmd_guest_get_osinfo, NULL, 0},
	{NULL},
};
