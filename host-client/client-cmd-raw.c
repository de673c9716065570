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

/* the request, checked: an object with an "execute" string and maybe an "arguments" object */
static JsonNode *
raw_parse_request(gchar **args, GError **error)
{
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonObject *obj;
	JsonNode *arguments;

	if (args[0] == NULL || args[1] != NULL) {
		client_set_usage_error(error, "give the request as one JSON argument");
		return NULL;
	}
	request = json_from_string(args[0], &error_local);
	if (request == NULL || !JSON_NODE_HOLDS_OBJECT(request)) {
		client_set_usage_error(error, "the request is not a JSON object: %s",
				       error_local != NULL ? error_local->message : args[0]);
		return NULL;
	}
	obj = json_node_get_object(request);
	arguments = json_object_get_member(obj, "arguments");
	if (client_json_string(obj, "execute") == NULL) {
		client_set_usage_error(error, "the request has no \"execute\" string");
		return NULL;
	}
	if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT(arguments)) {
		client_set_usage_error(error, "\"arguments\" must be an object");
		return NULL;
	}
	return g_steal_pointer(&request);
}

static gboolean
raw_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	g_autoptr(JsonNode) request = raw_parse_request(args, error);

	return request != NULL;
}

static gboolean
raw_run(ClientInvocation *inv, GError **error)
{
	g_autoptr(JsonNode) request = raw_parse_request(inv->args, error);
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonObject) reply = json_object_new();
	g_autoptr(GError) error_local = NULL;
	JsonObject *obj;
	JsonNode *arguments;

	if (request == NULL)
		return FALSE;
	obj = json_node_get_object(request);
	arguments = json_object_get_member(obj, "arguments");
	ret = client_conn_execute(inv->conn, client_json_string(obj, "execute"),
				  arguments != NULL ? json_node_get_object(arguments) : NULL,
				  client_context_timeout_ms(inv->ctx, CLIENT_TIMEOUT_DEFAULT_MS),
				  &error_local);
	if (ret == NULL) {
		if (error_local->domain == QGA_ERROR) {
			/* the class too, as the reply carried it */
			g_set_error(error, QGA_ERROR, error_local->code, "%s: %s",
				    qga_error_class_name((QgaErrorCode)error_local->code),
				    error_local->message);
			return FALSE;
		}
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	json_object_set_member(reply, "return", g_steal_pointer(&ret));
	client_print_json_object(reply, !inv->ctx->json);
	return TRUE;
}

const ClientCommand client_cmd_raw = {
	.name = "raw",
	.summary = "pass one JSON request through, print the reply",
	.params = "JSON",
	.help = raw_summary,
	.help_tail = raw_description,
	.flags = CLIENT_COMMAND_AGENT,
	.check = raw_check,
	.run = raw_run,
};
