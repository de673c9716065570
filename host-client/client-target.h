/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-conn.h"
#include "client-context.h"
#include "client-host.h"
#include "client-libvirt.h"
#include "client-qmp.h"

G_BEGIN_DECLS

/* What the global options name, opened on first use and kept for the
 * command: the agent (--agent, or --domain and --port), QEMU's QMP monitor
 * (--qmp) and libvirt (--connect, --domain), within --timeout. The
 * transports themselves take plain paths, URIs and names. */

typedef struct _ClientTarget ClientTarget;

/* @ctx: (transfer none): its options are read at each first use; it must
 * outlive the target */
ClientTarget *client_target_new(ClientContext *ctx);
void client_target_free(ClientTarget *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientTarget, client_target_free)

/**
 * client_target_get_conn:
 * The agent connection: --agent PATH, or under --domain the port's channel.
 * On a socket it makes the 0xff + guest-sync-delimited handshake (a random
 * id; stale bytes and replies with other ids are dropped), retried within
 * the --timeout.
 * Returns: (transfer none): the connection, or NULL with @error (a usage
 * error for contradicting options; an unreachable agent is one of
 * client_error_is_unreachable()'s errors, prefixed with where it was
 * looked for)
 */
ClientConn *client_target_get_conn(ClientTarget *self, GError **error);

/**
 * client_target_get_trace_conn:
 * The connection for what only qgatrace-agent serves (trace sessions,
 * guest-dmesg, trace status): --trace-agent PATH; under --domain with the
 * default port, the domain's org.qgatrace.0 channel when its XML has one;
 * else the agent connection itself. The freeze always goes through
 * client_target_get_conn(): under --domain, libvirt's view of it stays right.
 * Returns: (transfer none): or NULL with @error
 */
ClientConn *client_target_get_trace_conn(ClientTarget *self, GError **error);

/* the second port of client_target_get_trace_conn() (transfer none), or
 * NULL: with @error when it failed, without when there is none */
ClientConn *client_target_get_trace_port(ClientTarget *self, GError **error);

/* closes the agent connections, the trace port's too: the next get reconnects */
void client_target_close_conn(ClientTarget *self);

/* the --qmp connection (transfer none), or NULL with G_IO_ERROR_NOT_SUPPORTED
 * without --qmp, or another error */
ClientQmp *client_target_get_qmp(ClientTarget *self, GError **error);

/* closes the QMP connection: QEMU serves one client at a time */
void client_target_close_qmp(ClientTarget *self);

/* --connect and --domain (transfer none), or NULL with a usage error
 * without --domain, or another error */
ClientLibvirt *client_target_get_libvirt(ClientTarget *self, GError **error);

/* @libvirt (transfer full): the domain, on a connection opened already
 * (fleet and the exporter share one), instead of --connect and --domain */
void client_target_set_libvirt(ClientTarget *self, ClientLibvirt *libvirt);

/**
 * client_target_host_disks:
 * The host's view of the guest's disks: from QMP with --qmp, else from
 * libvirt with --domain.
 * @source: (out) (optional) (transfer none): "qmp" or "libvirt"
 * Returns: (transfer full) (element-type ClientHostDisk): or NULL with
 * G_IO_ERROR_NOT_SUPPORTED when neither was given, or another error
 */
GPtrArray *client_target_host_disks(ClientTarget *self, const gchar **source, GError **error);

/* re-reads the write counters of @disks from where they came */
gboolean client_target_host_disks_update(ClientTarget *self, GPtrArray *disks, GError **error);

/**
 * client_target_run_state:
 * The guest's run state as the host sees it: QMP query-status with --qmp,
 * else libvirt's domain state with --domain.
 * @running: (out): whether its vCPUs run
 * Returns: (transfer full): "running", "paused", ...; or NULL with
 * G_IO_ERROR_NOT_SUPPORTED when neither was given, or another error
 */
gchar *client_target_run_state(ClientTarget *self, gboolean *running, GError **error);

G_END_DECLS
