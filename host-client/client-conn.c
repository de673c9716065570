/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "client-conn.h"
#include "client-libvirt.h"
#include "client-output.h"
#include "qga-client.h"
#include "qga-codec.h"
#include "qga-json.h"

struct _ClientConn {
	ClientConnKind kind;
	gchar *description;
	gchar *socket_path;	/* CLIENT_CONN_SOCKET */
	QgaClient *client;	/* CLIENT_CONN_SOCKET */
	ClientLibvirt *libvirt; /* CLIENT_CONN_LIBVIRT, borrowed */
	gboolean need_sync;	/* a wait timed out: the next request resyncs first */
	gdouble handshake_ms;
	JsonNode *info; /* guest-info, once fetched */
};

gdouble
client_now_ms(void)
{
	return (gdouble)g_get_monotonic_time() / 1000.0;
}

ClientConn *
client_conn_new_socket(const gchar *path, const gchar *description, GError **error)
{
	g_autoptr(ClientConn) self = g_new0(ClientConn, 1);
	struct stat st;

	self->kind = CLIENT_CONN_SOCKET;
	self->socket_path = g_strdup(path);
	self->description =
		description != NULL ? g_strdup(description) : g_strdup_printf("socket '%s'", path);
	self->handshake_ms = -1;
	/* the usual mistake first, in words: connect() would say "No such file" */
	if (stat(path, &st) < 0) {
		gint errsv = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "no agent socket at '%s': %s (is the VM running, with a -chardev "
			    "socket,server=on at that path?)",
			    path, g_strerror(errsv));
		return NULL;
	}
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(
			error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"'%s' is not a socket (--agent wants the host end of the agent's channel, "
			"a QEMU -chardev socket)",
			path);
		return NULL;
	}
	self->client = qga_client_connect_unix(path, error);
	if (self->client == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

ClientConn *
client_conn_new_libvirt(ClientLibvirt *libvirt, const gchar *description)
{
	ClientConn *self = g_new0(ClientConn, 1);

	self->kind = CLIENT_CONN_LIBVIRT;
	self->libvirt = libvirt;
	self->handshake_ms = -1;
	self->description = g_strdup(description);
	return self;
}

void
client_conn_free(ClientConn *self)
{
	if (self == NULL)
		return;
	qga_client_free(self->client);
	if (self->info != NULL)
		json_node_unref(self->info);
	g_free(self->description);
	g_free(self->socket_path);
	g_free(self);
}

gboolean
client_conn_handshake(ClientConn *self, guint timeout_ms, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint attempt_ms = MAX(timeout_ms / 3, 1000);
	guint attempts = 0;

	if (self->kind != CLIENT_CONN_SOCKET)
		return TRUE;
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		gint64 remaining_ms = (deadline - g_get_monotonic_time()) / 1000;
		gdouble start = client_now_ms();

		qga_client_set_timeout(self->client, (guint)CLAMP(remaining_ms, 1, attempt_ms));
		attempts++;
		if (qga_client_sync(self->client, &error_local)) {
			self->handshake_ms = client_now_ms() - start;
			self->need_sync = FALSE;
			g_debug("handshake on %s: %.1f ms (attempt %u)", self->description,
				self->handshake_ms, attempts);
			return TRUE;
		}
		g_debug("handshake attempt %u on %s: %s", attempts, self->description,
			error_local->message);
		/* only a silent agent is worth another 0xff; a closed channel is not */
		if (!g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
		    g_get_monotonic_time() >= deadline - 1000) {
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
				g_set_error(
					error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
					"no reply to the guest-sync-delimited handshake within %.1f s",
					timeout_ms / 1000.0);
			else
				g_propagate_error(error, g_steal_pointer(&error_local));
			return FALSE;
		}
	}
}

JsonNode *
client_conn_parse_reply_text(const gchar *command, const gchar *text, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonNode) reply =
		qga_decoder_parse_one(text, strlen(text), QGA_CLIENT_MAX_REPLY, &error_local);
	JsonNode *value = NULL;

	/* the guest's bytes, only re-framed by libvirt: the socket's limits hold */
	if (reply == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "libvirt passed on a reply to '%s' that is not valid JSON: %s", command,
			    error_local->message);
		return NULL;
	}
	if (!qga_reply_parse(reply, &value, error))
		return NULL;
	return value;
}

static JsonNode *
client_conn_execute_libvirt(ClientConn *self, const gchar *command, JsonObject *args,
			    guint timeout_ms, GError **error)
{
	g_autoptr(JsonObject) request = json_object_new();
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *reply_text = NULL;

	json_object_set_string_member(request, "execute", command);
	if (args != NULL)
		json_object_set_object_member(request, "arguments", json_object_ref(args));
	node = qga_json_object_new_node(json_object_ref(request));
	text = qga_json_to_ascii(node);
	reply_text =
		client_libvirt_agent_command(self->libvirt, text, (timeout_ms + 999) / 1000, error);
	if (reply_text == NULL)
		return NULL;
	return client_conn_parse_reply_text(command, reply_text, error);
}

JsonNode *
client_conn_execute(ClientConn *self, const gchar *command, JsonObject *args, guint timeout_ms,
		    GError **error)
{
	g_autoptr(GError) error_local = NULL;
	JsonNode *value;

	if (self->kind == CLIENT_CONN_LIBVIRT)
		return client_conn_execute_libvirt(self, command, args, timeout_ms, error);
	/* a reply we gave up on may still come: resync first (QEMU's schema) */
	if (self->need_sync && !client_conn_handshake(self, timeout_ms, error))
		return NULL;
	qga_client_set_timeout(self->client, timeout_ms);
	value = qga_client_execute(self->client, command, args, &error_local);
	if (value == NULL) {
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
			self->need_sync = TRUE;
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "no reply to '%s' within %.1f s", command, timeout_ms / 1000.0);
			return NULL;
		}
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	return value;
}

ClientConnKind
client_conn_get_kind(ClientConn *self)
{
	return self->kind;
}

const gchar *
client_conn_describe(ClientConn *self)
{
	return self->description;
}

const gchar *
client_conn_get_socket_path(ClientConn *self)
{
	return self->socket_path;
}

gdouble
client_conn_get_handshake_ms(ClientConn *self)
{
	return self->handshake_ms;
}

JsonObject *
client_conn_get_info(ClientConn *self, guint timeout_ms, GError **error)
{
	if (self->info == NULL) {
		JsonNode *info = client_conn_execute(self, "guest-info", NULL, timeout_ms, error);

		if (info == NULL)
			return NULL;
		if (!JSON_NODE_HOLDS_OBJECT(info)) {
			json_node_unref(info);
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "the agent's guest-info is not an object");
			return NULL;
		}
		self->info = info;
	}
	return json_node_get_object(self->info);
}

gboolean
client_conn_has_command(ClientConn *self, const gchar *command, gboolean *enabled)
{
	JsonArray *commands;

	if (enabled != NULL)
		*enabled = FALSE;
	if (self->info == NULL)
		return FALSE;
	commands = client_json_array(json_node_get_object(self->info), "supported_commands");
	for (guint i = 0; commands != NULL && i < json_array_get_length(commands); i++) {
		JsonObject *cmd = client_json_array_object(commands, i);

		if (cmd == NULL || g_strcmp0(client_json_string(cmd, "name"), command) != 0)
			continue;
		if (enabled != NULL)
			*enabled = client_json_bool(cmd, "enabled", TRUE);
		return TRUE;
	}
	return FALSE;
}

gboolean
client_error_is_command_not_found(const GError *error)
{
	if (g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND))
		return TRUE;
	/* libvirt turns the class into text: keep what qemu-ga's desc says */
	return error != NULL && error->domain == QGA_ERROR &&
	       (strstr(error->message, "has not been found") != NULL ||
		strstr(error->message, "has been disabled") != NULL);
}
