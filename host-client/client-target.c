/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-output.h"
#include "client-target.h"

struct _ClientTarget {
	ClientContext *ctx; /* borrowed: the options */
	ClientConn *conn;
	ClientConn *trace_conn; /* NULL: the same as conn */
	gboolean trace_conn_looked;
	ClientQmp *qmp;
	ClientLibvirt *libvirt;
};

#define CLIENT_TARGET_NO_HOST_VIEW "the host's view of the guest needs --qmp or --domain"

ClientTarget *
client_target_new(ClientContext *ctx)
{
	ClientTarget *self = g_new0(ClientTarget, 1);

	self->ctx = ctx;
	return self;
}

void
client_target_free(ClientTarget *self)
{
	if (self == NULL)
		return;
	/* the agent connection may borrow the libvirt one */
	client_conn_free(self->conn);
	client_conn_free(self->trace_conn);
	client_qmp_free(self->qmp);
	client_libvirt_free(self->libvirt);
	g_free(self);
}

ClientLibvirt *
client_target_get_libvirt(ClientTarget *self, GError **error)
{
	ClientContext *ctx = self->ctx;

	if (self->libvirt != NULL)
		return self->libvirt;
	if (ctx->domain == NULL) {
		client_set_usage_error(error, "this needs --domain NAME");
		return NULL;
	}
	self->libvirt = client_libvirt_open(ctx->uri, ctx->domain, error);
	return self->libvirt;
}

void
client_target_set_libvirt(ClientTarget *self, ClientLibvirt *libvirt)
{
	/* an agent connection may borrow the one it replaces */
	client_target_close_conn(self);
	client_libvirt_free(self->libvirt);
	self->libvirt = libvirt;
}

/* the agent's transport under --domain: libvirt's agent API for the port
 * libvirtd holds, the channel's socket for any other */
static ClientConn *
client_target_open_domain(ClientTarget *self, GError **error)
{
	ClientContext *ctx = self->ctx;
	ClientLibvirt *lv = client_target_get_libvirt(self, error);
	const gchar *port = ctx->port != NULL ? ctx->port : CLIENT_PORT_QEMU_GA;
	g_autofree gchar *path = NULL;
	g_autofree gchar *description = NULL;

	if (lv == NULL)
		return NULL;
	if (g_strcmp0(port, CLIENT_PORT_QEMU_GA) == 0) {
		/* libvirtd holds this socket: its agent API is the only way in */
		description =
			g_strdup_printf("domain '%s' through libvirt's agent API", ctx->domain);
		return client_conn_new_libvirt(lv, description);
	}
	path = client_libvirt_channel_path(lv, port, error);
	if (path == NULL)
		return NULL;
	description =
		g_strdup_printf("domain '%s' port '%s' (socket '%s')", ctx->domain, port, path);
	return client_conn_new_socket(path, description, error);
}

static ClientConn *
client_target_open_conn(ClientTarget *self, GError **error)
{
	ClientContext *ctx = self->ctx;

	if (ctx->agent_path != NULL && ctx->domain != NULL) {
		client_set_usage_error(error, "give --agent or --domain, not both");
		return NULL;
	}
	if (ctx->trace_agent_path != NULL && ctx->agent_path == NULL) {
		client_set_usage_error(error, "--trace-agent goes with --agent (under --domain, "
					      "the org.qgatrace.0 channel is found by itself)");
		return NULL;
	}
	if (ctx->domain != NULL)
		return client_target_open_domain(self, error);
	if (ctx->agent_path == NULL) {
		client_set_usage_error(error,
				       "no agent given: use --agent PATH (the host end of the "
				       "agent's channel) or --domain NAME");
		return NULL;
	}
	if (ctx->port != NULL) {
		client_set_usage_error(error, "--port selects a channel of a --domain");
		return NULL;
	}
	return client_conn_new_socket(ctx->agent_path, NULL, error);
}

/* the 0xff + guest-sync-delimited handshake, its failure said with where;
 * takes @conn: Returns it, or frees it */
static ClientConn *
client_target_handshake(ClientTarget *self, ClientConn *conn, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (!client_conn_handshake(conn,
				   client_context_timeout_ms(self->ctx, CLIENT_TIMEOUT_DEFAULT_MS),
				   &error_local)) {
		g_propagate_prefixed_error(
			error, g_steal_pointer(&error_local),
			"cannot reach the agent at %s: ", client_conn_describe(conn));
		if (client_error_is_unreachable(*error)) {
			/* the cause is not knowable from here: point at who can tell */
			g_autofree gchar *message = g_strdup_printf(
				"%s (is the agent running in the guest? 'qgatrace doctor' checks)",
				(*error)->message);

			g_free((*error)->message);
			(*error)->message = g_steal_pointer(&message);
		}
		client_conn_free(conn);
		return NULL;
	}
	return conn;
}

ClientConn *
client_target_get_conn(ClientTarget *self, GError **error)
{
	ClientConn *conn;

	if (self->conn != NULL)
		return self->conn;
	conn = client_target_open_conn(self, error);
	if (conn == NULL)
		return NULL;
	self->conn = client_target_handshake(self, conn, error);
	return self->conn;
}

/* the second port: --trace-agent, or the domain's org.qgatrace.0; NULL
 * without @error when there is none */
static ClientConn *
client_target_open_trace_conn(ClientTarget *self, GError **error)
{
	ClientContext *ctx = self->ctx;
	g_autoptr(ClientDomainXml) xml = NULL;
	g_autofree gchar *description = NULL;
	const ClientDomainChannel *channel;
	ClientLibvirt *lv;

	/* client_target_open_conn() refused it without --agent */
	if (ctx->trace_agent_path != NULL && ctx->agent_path != NULL)
		return client_conn_new_socket(ctx->trace_agent_path, NULL, error);
	/* --port chose the one port to use */
	if (ctx->domain == NULL ||
	    (ctx->port != NULL && g_strcmp0(ctx->port, CLIENT_PORT_QEMU_GA) != 0))
		return NULL;
	lv = client_target_get_libvirt(self, error);
	if (lv == NULL)
		return NULL;
	xml = client_libvirt_get_xml(lv, error);
	if (xml == NULL)
		return NULL;
	channel = client_domain_xml_find_channel(xml, CLIENT_PORT_QGATRACE);
	if (channel == NULL || g_strcmp0(channel->type, "unix") != 0 || channel->path == NULL) {
		g_debug("no unix %s channel", CLIENT_PORT_QGATRACE);
		return NULL;
	}
	/* the guest has not opened the port: nothing there to wait a handshake for */
	if (g_strcmp0(channel->state, "disconnected") == 0) {
		g_debug("%s is disconnected in the guest", CLIENT_PORT_QGATRACE);
		return NULL;
	}
	description = g_strdup_printf("domain '%s' port '%s' (socket '%s')", ctx->domain,
				      CLIENT_PORT_QGATRACE, channel->path);
	return client_conn_new_socket(channel->path, description, error);
}

ClientConn *
client_target_get_trace_port(ClientTarget *self, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	ClientConn *conn;

	if (self->trace_conn != NULL || self->trace_conn_looked)
		return self->trace_conn;
	conn = client_target_open_trace_conn(self, &error_local);
	if (conn == NULL && error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	self->trace_conn_looked = TRUE;
	if (conn == NULL)
		return NULL;
	self->trace_conn = client_target_handshake(self, conn, &error_local);
	if (self->trace_conn != NULL)
		return self->trace_conn;
	/* a port the user named must answer; a discovered one is a bonus */
	if (self->ctx->trace_agent_path != NULL || !client_error_is_unreachable(error_local)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	client_print_warning(self->ctx, "%s; using the agent's own port", error_local->message);
	return NULL;
}

ClientConn *
client_target_get_trace_conn(ClientTarget *self, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	ClientConn *conn = client_target_get_trace_port(self, &error_local);

	if (conn != NULL)
		return conn;
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	return client_target_get_conn(self, error);
}

void
client_target_close_conn(ClientTarget *self)
{
	g_clear_pointer(&self->conn, client_conn_free);
	g_clear_pointer(&self->trace_conn, client_conn_free);
	self->trace_conn_looked = FALSE;
}

ClientQmp *
client_target_get_qmp(ClientTarget *self, GError **error)
{
	ClientContext *ctx = self->ctx;

	if (self->qmp != NULL)
		return self->qmp;
	if (ctx->qmp_path == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "no --qmp socket given");
		return NULL;
	}
	self->qmp = client_qmp_connect(
		ctx->qmp_path, client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
	return self->qmp;
}

void
client_target_close_qmp(ClientTarget *self)
{
	g_clear_pointer(&self->qmp, client_qmp_free);
}

GPtrArray *
client_target_host_disks(ClientTarget *self, const gchar **source, GError **error)
{
	if (self->ctx->qmp_path != NULL) {
		ClientQmp *qmp = client_target_get_qmp(self, error);

		if (source != NULL)
			*source = "qmp";
		return qmp != NULL ? client_qmp_host_disks(qmp, error) : NULL;
	}
	if (self->ctx->domain != NULL) {
		ClientLibvirt *lv = client_target_get_libvirt(self, error);

		if (source != NULL)
			*source = "libvirt";
		return lv != NULL ? client_libvirt_host_disks(lv, error) : NULL;
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    CLIENT_TARGET_NO_HOST_VIEW);
	return NULL;
}

gboolean
client_target_host_disks_update(ClientTarget *self, GPtrArray *disks, GError **error)
{
	/* the connection client_target_host_disks() used is the one open */
	if (self->qmp != NULL)
		return client_qmp_update_stats(self->qmp, disks, error);
	if (self->libvirt != NULL)
		return client_libvirt_update_stats(self->libvirt, disks, error);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    CLIENT_TARGET_NO_HOST_VIEW);
	return FALSE;
}

gchar *
client_target_run_state(ClientTarget *self, gboolean *running, GError **error)
{
	/* from where client_target_host_disks() reads: QMP first */
	if (self->ctx->qmp_path != NULL) {
		ClientQmp *qmp = client_target_get_qmp(self, error);

		return qmp != NULL ? client_qmp_run_state(qmp, running, error) : NULL;
	}
	if (self->ctx->domain != NULL) {
		ClientLibvirt *lv = client_target_get_libvirt(self, error);

		return lv != NULL ? client_libvirt_get_state(lv, running, error) : NULL;
	}
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    CLIENT_TARGET_NO_HOST_VIEW);
	return NULL;
}
