/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-output.h"
#include "qga-error.h"

static const gchar raw_summary[] =
	"Passes one QGA request through and prints the agent's reply, like 'virsh\n"
	"qemu-agent-command': for the commands qgatrace does not wrap. JSON is an object with\n"
	"\"execute\" and optionally \"arguments\"; qgatrace adds its own unique \"id\" on a socket\n"
	"(an \"id\" of yours is replaced), and libvirt does its own framing under --domain. The\n"
	"handshake before it is the same as for every command.";

static const gchar raw_description[] =
	"Output:\n"
	"  the reply, {\"return\": VALUE}, pretty-printed (one line with --json); an error reply\n"
	"  is one line on stderr, 'qgatrace: raw: CLASS: DESC', exit status 1.\n\n" CLIENT_HELP_EXIT_STATUS
	"\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock raw '{\"execute\":\"guest-get-time\"}'\n"
	"  qgatrace --domain vm1 raw '{\"execute\":\"guest-dmesg\",\"arguments\":{\"tail\":5}}'\n";

gboolean
client_cmd_raw(ClientContext *ctx, gchar **argv, GError **error)
{
	g_auto(GStrv) args = NULL;
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonObject) reply = json_object_new();
	g_autoptr(GError) error_local = NULL;
	JsonObject *obj;
	JsonNode *arguments;
	const gchar *execute;
	gboolean help = FALSE;
	ClientConn *conn;

	if (!client_cli_parse(ctx, argv, NULL, "JSON", raw_summary, raw_description, &args, &help, error))
		return FALSE;
	if (help)
		return TRUE;
	if (args[0] == NULL || args[1] != NULL) {
		client_set_usage_error(error, "give the request as one JSON argument");
		return FALSE;
	}
	request = json_from_string(args[0], &error_local);
	if (request == NULL || !JSON_NODE_HOLDS_OBJECT(request)) {
		client_set_usage_error(error, "the request is not a JSON object: %s",
				       error_local != NULL ? error_local->message : args[0]);
		return FALSE;
	}
	obj = json_node_get_object(request);
	execute = client_json_string(obj, "execute");
	arguments = json_object_get_member(obj, "arguments");
	if (execute == NULL) {
		client_set_usage_error(error, "the request has no \"execute\" string");
		return FALSE;
	}
	if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT(arguments)) {
		client_set_usage_error(error, "\"arguments\" must be an object");
		return FALSE;
	}
	conn = client_conn_get(ctx, error);
	if (conn == NULL)
		return FALSE;
	ret = client_conn_execute(conn, execute,
				  arguments != NULL ? json_node_get_object(arguments) : NULL,
				  client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS), &error_local);
	if (ret == NULL) {
		if (error_local->domain == QGA_ERROR) {
			/* the class too, as the reply carried it */
			g_set_error(error, QGA_ERROR, error_local->code, "%s: %s",
				    qga_error_class_name((QgaErrorCode)error_local->code), error_local->message);
			return FALSE;
		}
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	json_object_set_member(reply, "return", g_steal_pointer(&ret));
	client_print_json_object(reply, !ctx->json);
	return TRUE;
}
