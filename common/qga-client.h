/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A blocking QGA client on a stream socket: what the host client and the
 * tests use to talk to an agent (ours or stock qemu-ga). Every wait is
 * bounded by the timeout; a timeout is G_IO_ERROR_TIMED_OUT, the peer
 * closing is G_IO_ERROR_CONNECTION_CLOSED, a refused connection keeps its
 * G_IO_ERROR code. */
typedef struct _QgaClient QgaClient;

#define QGA_CLIENT_TIMEOUT_DEFAULT_MS 5000
/* the largest reply taken: guest-file-read returns up to 48 MiB, which is
 * 64 MiB once in base64 */
#define QGA_CLIENT_MAX_REPLY (80 * 1024 * 1024)

/**
 * qga_client_connect_unix:
 * Returns: (transfer full): a client on the UNIX socket at @path, not yet synced
 */
QgaClient *qga_client_connect_unix(const gchar *path, GError **error);

/**
 * qga_client_new_for_fd:
 * Returns: (transfer full): a client on a connected stream @fd, which it now owns
 */
QgaClient *qga_client_new_for_fd(gint fd);
void qga_client_free(QgaClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaClient, qga_client_free)

void qga_client_set_timeout(QgaClient *self, guint timeout_ms);

/* the connected socket, which the client keeps owning (a helper process
 * holding a copy of it, as guest-memory's watcher does) */
gint qga_client_get_fd(QgaClient *self);

/* writes all of @data (a partial write is resumed; bounded by the timeout) */
gboolean qga_client_send_raw(QgaClient *self, const void *data, gsize len, GError **error);

/**
 * qga_client_recv:
 * The next message the agent sent, whatever it is: a value, or a decoder
 * error for bytes that are not JSON.
 * Returns: (transfer full): the value, or NULL with @error
 */
JsonNode *qga_client_recv(QgaClient *self, GError **error);

/**
 * qga_client_recv_until:
 * As qga_client_recv(), waiting until @deadline (g_get_monotonic_time()
 * microseconds) rather than for the timeout.
 * Returns: (transfer full): the value, or NULL with @error
 */
JsonNode *qga_client_recv_until(QgaClient *self, gint64 deadline, GError **error);

/**
 * qga_client_sync:
 * 0xff, then guest-sync-delimited with a random id; discards everything up
 * to the delimiter and every reply whose return is not that id. Needed on
 * every connect and after every timeout: the agent's parser and the
 * channel may hold a previous client's bytes.
 */
gboolean qga_client_sync(QgaClient *self, GError **error);

/**
 * qga_client_execute:
 * @arguments: (nullable) (transfer none)
 * Sends @command with a fresh unique "id", skips replies with other ids.
 * Returns: (transfer full): the "return" value; an error reply becomes a
 * QGA_ERROR GError with the reply's class and desc
 */
JsonNode *qga_client_execute(QgaClient *self, const gchar *command, JsonObject *arguments,
			     GError **error);

/**
 * qga_client_execute_with_fd:
 * As qga_client_execute(), with @fd passed along the request's first byte
 * (SCM_RIGHTS, what QMP's getfd and add-fd take); the caller keeps @fd.
 * A channel that is no socket fails with G_IO_ERROR_NOT_SUPPORTED.
 * Returns: (transfer full): the "return" value
 */
JsonNode *qga_client_execute_with_fd(QgaClient *self, const gchar *command, JsonObject *arguments,
				     gint fd, GError **error);

/* a message execute skips (transfer none): an event, a reply to another id */
typedef void (*QgaClientSkippedFunc)(JsonNode *message, gpointer user_data);

/* @func sees every message execute skips from now on; NULL: none does */
void qga_client_set_skipped_func(QgaClient *self, QgaClientSkippedFunc func, gpointer user_data);

G_END_DECLS
