/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-context.h"

G_BEGIN_DECLS

/* The connection to the guest agent: the host end of its channel (a UNIX
 * socket, --agent or a libvirt channel's socket), or libvirt's agent API
 * for org.qemu.guest_agent.0, which libvirtd holds. Either way a request is
 * a command and its arguments in, the "return" value or a QGA_ERROR out. */

typedef enum {
	CLIENT_CONN_SOCKET,  /* our own socket: 0xff + guest-sync-delimited, unique ids */
	CLIENT_CONN_LIBVIRT, /* virDomainQemuAgentCommand: libvirt syncs and frames */
} ClientConnKind;

/**
 * client_conn_get:
 * The agent connection of @ctx, opened on first use: --agent PATH, or under
 * --domain the port's channel (client-libvirt.c). On a socket it makes the
 * 0xff + guest-sync-delimited handshake (a random id; stale bytes and
 * replies with other ids are dropped), retried within the --timeout.
 * Returns: (transfer none): the connection, or NULL with @error (an
 * unreachable agent is one of client_error_is_unreachable()'s errors,
 * prefixed with where it was looked for)
 */
ClientConn *client_conn_get(ClientContext *ctx, GError **error);

/* opens a socket connection without handshaking (doctor checks the steps apart) */
ClientConn *client_conn_new_socket(const gchar *path, GError **error);
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
