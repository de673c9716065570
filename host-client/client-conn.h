/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "client-libvirt.h"

G_BEGIN_DECLS

/* The connection to the guest agent: the host end of its channel (a UNIX
 * socket, --agent or a libvirt channel's socket), or libvirt's agent API
 * for org.qemu.guest_agent.0, which libvirtd holds. Either way a request is
 * a command and its arguments in, the "return" value or a QGA_ERROR out. */

typedef enum {
	CLIENT_CONN_SOCKET,  /* our own socket: 0xff + guest-sync-delimited, unique ids */
	CLIENT_CONN_LIBVIRT, /* virDomainQemuAgentCommand: libvirt syncs and frames */
} ClientConnKind;

typedef struct _ClientConn ClientConn;

/**
 * client_conn_new_socket:
 * Connects to the agent socket at @path, without the handshake (see
 * client_conn_handshake; doctor checks the steps apart).
 * @description: (nullable): what messages call it; NULL: "socket '@path'"
 * Returns: (transfer full): or NULL with @error (a missing socket is
 * G_IO_ERROR_NOT_FOUND, said in words)
 */
ClientConn *client_conn_new_socket(const gchar *path, const gchar *description, GError **error);

/* a connection through libvirt's agent API (@libvirt borrowed: it must
 * outlive the connection) for org.qemu.guest_agent.0, which libvirtd holds */
ClientConn *client_conn_new_libvirt(ClientLibvirt *libvirt, const gchar *description);
void client_conn_free(ClientConn *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientConn, client_conn_free)

/* the 0xff + guest-sync-delimited handshake within @timeout_ms, in attempts
 * of a third of it (at least 1 s): a restarting agent loses bytes */
gboolean client_conn_handshake(ClientConn *self, guint timeout_ms, GError **error);

/**
 * client_conn_execute:
 * @args: (nullable) (transfer none)
 * @timeout_ms: the longest wait for the reply
 * Runs @command. After a timeout the next call handshakes again first.
 * Returns: (transfer full): the "return" value; an error reply is a
 * QGA_ERROR with its class and desc
 */
JsonNode *client_conn_execute(ClientConn *self, const gchar *command, JsonObject *args,
			      guint timeout_ms, GError **error);

/**
 * client_conn_parse_reply_text:
 * A reply to @command as libvirt's agent API hands it over, decoded within
 * the same size and nesting limits as a reply read from the socket
 * (common/qga-codec.h).
 * Returns: (transfer full): the "return" value, or NULL with @error
 * (G_IO_ERROR_INVALID_DATA for text that is not one JSON value within the
 * limits; an error reply is a QGA_ERROR with its class and desc)
 */
JsonNode *client_conn_parse_reply_text(const gchar *command, const gchar *text, GError **error);

ClientConnKind client_conn_get_kind(ClientConn *self);

/* Returns: (transfer none): "socket '/run/x.sock'" or "domain 'vm' through libvirt" */
const gchar *client_conn_describe(ClientConn *self);

/* Returns: (transfer none) (nullable): the socket, for CLIENT_CONN_SOCKET */
const gchar *client_conn_get_socket_path(ClientConn *self);

/* the last successful handshake's round trip in ms; < 0: none (libvirt) */
gdouble client_conn_get_handshake_ms(ClientConn *self);

/* the agent's guest-info, fetched once (transfer none), or NULL with @error */
JsonObject *client_conn_get_info(ClientConn *self, guint timeout_ms, GError **error);

/* does guest-info list @command; @enabled (optional) whether it is enabled */
gboolean client_conn_has_command(ClientConn *self, const gchar *command, gboolean *enabled);

/* TRUE for an error reply saying the agent has no such command (or it is disabled) */
gboolean client_error_is_command_not_found(const GError *error);

/* monotonic milliseconds, for latencies */
gdouble client_now_ms(void);

G_END_DECLS
