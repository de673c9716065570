/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* QEMU's QMP monitor through common/qmp-client.h: the host's view of the
 * disks and chardevs. One client at a time, as every QEMU socket chardev. */

typedef struct _ClientQmp ClientQmp;

/**
 * client_qmp_connect:
 * Returns: (transfer full): a negotiated connection, or NULL with @error
 */
ClientQmp *client_qmp_connect(const gchar *path, guint timeout_ms, GError **error);
void client_qmp_free(ClientQmp *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientQmp, client_qmp_free)

/**
 * client_qmp_execute:
 * @args: (nullable) (transfer none)
 * Returns: (transfer full): the "return" value, or NULL with @error (an
 * error reply is a QGA_ERROR with QMP's class and desc)
 */
JsonNode *client_qmp_execute(ClientQmp *self, const gchar *command, JsonObject *args,
			     GError **error);

/* the QEMU version from the greeting, "7.2.22" (transfer none) */
const gchar *client_qmp_get_version(ClientQmp *self);

/* Returns: (transfer full): QEMU's run state from query-status ("running",
 * "paused", "shutdown", ...); @running says whether the vCPUs run */
gchar *client_qmp_run_state(ClientQmp *self, gboolean *running, GError **error);

/* the host disks from query-block + query-blockstats (+ qom-get serial),
 * inserted non-removable media only; transfer full, of ClientHostDisk */
GPtrArray *client_qmp_host_disks(ClientQmp *self, GError **error);

/* re-reads the write counters of @disks with query-blockstats */
gboolean client_qmp_update_stats(ClientQmp *self, GPtrArray *disks, GError **error);

/* the chardev whose filename names @socket_path, from query-chardev */
typedef struct {
	gchar *label;		 /* the chardev id */
	gchar *filename;	 /* "unix:/path,server=on", "disconnected:unix:..." */
	gboolean frontend_open;	 /* the guest has opened the port */
	gboolean host_connected; /* some host client is connected now */
} ClientChardev;

void client_chardev_free(ClientChardev *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientChardev, client_chardev_free)

/* Returns: (transfer full): or NULL with G_IO_ERROR_NOT_FOUND when no chardev names it */
ClientChardev *client_qmp_find_chardev(ClientQmp *self, const gchar *socket_path, GError **error);

G_END_DECLS
