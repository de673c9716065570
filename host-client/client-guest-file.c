/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-guest-file.h"
#include "client-output.h"

/* qemu-ga reads at most 48 MiB at once; a chunk this size stays well
 * inside the reply limit once in base64 */
#define CLIENT_GUEST_FILE_CHUNK (1024 * 1024)

static const gchar *const client_guest_file_commands[] = {"guest-file-open", "guest-file-read",
							  "guest-file-close", NULL};

/* the first command guest-info lists as absent or disabled, or NULL */
static const gchar *
client_guest_file_refused(ClientConn *conn, guint timeout_ms, gboolean *disabled)
{
	*disabled = FALSE;
	/* no guest-info: the calls tell */
	if (client_conn_get_info(conn, timeout_ms, NULL) == NULL)
		return NULL;
	for (guint i = 0; client_guest_file_commands[i] != NULL; i++) {
		gboolean enabled = FALSE;

		if (!client_conn_has_command(conn, client_guest_file_commands[i], &enabled))
			return client_guest_file_commands[i];
		if (!enabled) {
			*disabled = TRUE;
			return client_guest_file_commands[i];
		}
	}
	return NULL;
}

static void
client_guest_file_set_refused(GError **error, const gchar *command, const gchar *why)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "qemu-ga refused %s (%s)", command,
		    why);
}

static JsonNode *
client_guest_file_call(ClientConn *conn, const gchar *command, JsonObject *args, guint timeout_ms,
		       GError **error)
{
	g_autoptr(GError) error_local = NULL;
	JsonNode *ret = client_conn_execute(conn, command, args, timeout_ms, &error_local);

	if (ret != NULL)
		return ret;
	if (client_error_is_command_not_found(error_local)) {
		client_guest_file_set_refused(error, command, error_local->message);
		return NULL;
	}
	g_propagate_prefixed_error(error, g_steal_pointer(&error_local), "%s: ", command);
	return NULL;
}

/* appends one guest-file-read reply to @out; Returns: whether it was the end */
static gboolean
client_guest_file_chunk(JsonNode *ret, GByteArray *out, gsize max, gboolean *eof, GError **error)
{
	JsonObject *obj = JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL;
	const gchar *b64 = client_json_string(obj, "buf-b64");
	gint64 count = client_json_int(obj, "count", -1);
	g_autofree guchar *data = NULL;
	gsize len = 0;

	if (b64 == NULL || count < 0 || count > CLIENT_GUEST_FILE_CHUNK ||
	    strlen(b64) > (gsize)CLIENT_GUEST_FILE_CHUNK / 3 * 4 + 8) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-file-read returned no valid chunk");
		return FALSE;
	}
	data = g_base64_decode(b64, &len);
	if ((gint64)len != count) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "guest-file-read said %" G_GINT64_FORMAT
			    " bytes and sent %" G_GSIZE_FORMAT,
			    count, len);
		return FALSE;
	}
	if (out->len + len > max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the file is larger than %" G_GSIZE_FORMAT " bytes", max);
		return FALSE;
	}
	g_byte_array_append(out, data, (guint)len);
	/* a read of nothing that is not the end would loop for ever */
	*eof = client_json_bool(obj, "eof", FALSE) || len == 0;
	return TRUE;
}

static gboolean
client_guest_file_read_all(ClientConn *conn, JsonNode *handle, GByteArray *out, gsize max,
			   guint timeout_ms, GError **error)
{
	gboolean eof = FALSE;

	while (!eof) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;

		json_object_set_member(args, "handle", json_node_copy(handle));
		json_object_set_int_member(args, "count", CLIENT_GUEST_FILE_CHUNK);
		ret = client_guest_file_call(conn, "guest-file-read", args, timeout_ms, error);
		if (ret == NULL || !client_guest_file_chunk(ret, out, max, &eof, error))
			return FALSE;
	}
	return TRUE;
}

GBytes *
client_guest_file_read(ClientConn *conn, const gchar *path, gsize max, guint timeout_ms,
		       GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonObject) close_args = json_object_new();
	g_autoptr(JsonNode) handle = NULL;
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GError) error_close = NULL;
	gboolean disabled = FALSE;
	const gchar *refused = client_guest_file_refused(conn, timeout_ms, &disabled);
	gboolean ok;

	if (refused != NULL) {
		client_guest_file_set_refused(
			error, refused,
			disabled ? "disabled: qemu-ga's -b/block-rpcs, or while frozen"
				 : "not in its guest-info");
		return NULL;
	}
	json_object_set_string_member(args, "path", path);
	json_object_set_string_member(args, "mode", "r");
	handle = client_guest_file_call(conn, "guest-file-open", args, timeout_ms, error);
	if (handle == NULL)
		return NULL;
	if (!JSON_NODE_HOLDS_VALUE(handle) || json_node_get_value_type(handle) != G_TYPE_INT64) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-file-open returned no handle");
		return NULL;
	}
	ok = client_guest_file_read_all(conn, handle, out, max, timeout_ms, error);
	/* always: qemu-ga keeps an open handle until it restarts */
	json_object_set_member(close_args, "handle", json_node_copy(handle));
	g_clear_pointer(&handle, json_node_unref);
	handle =
		client_conn_execute(conn, "guest-file-close", close_args, timeout_ms, &error_close);
	if (handle == NULL)
		g_debug("guest-file-close: %s, ignoring", error_close->message);
	if (!ok)
		return NULL;
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}
