/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-output.h"
#include "client-terminal.h"

static const gchar info_summary[] =
	"Shows what the guest agent is and what it can do: its version (guest-info), whether it is\n"
	"qgatrace-agent (it lists guest-trace-fetch) or stock qemu-ga, the guest's host name and\n"
	"OS (guest-get-host-name, guest-get-osinfo, where the agent has them), how many commands\n"
	"it supports and which are disabled (qemu-ga's --block-rpcs/--allow-rpcs, or frozen).";

static const gchar info_description[] =
	"Output:\n"
	"  --json: {\"target\", \"version\", \"agent\": \"qgatrace-agent\"|\"qemu-ga\",\n"
	"           \"hostname\": STRING|null, \"os\": {guest-get-osinfo}|null,\n"
	"           \"commands\": [NAME...], \"disabled\": [NAME...],\n"
	"           \"tracing\": BOOL, \"dmesg\": BOOL}\n\n" CLIENT_HELP_EXIT_STATUS "\nExample:\n"
	"  qgatrace --agent /run/vm1/qga.sock info\n";

/* an optional call: NULL when the agent lacks it, has it disabled or fails */
static JsonNode *
info_try(ClientConn *conn, const gchar *command, guint timeout_ms)
{
	g_autoptr(GError) error_local = NULL;
	gboolean enabled = FALSE;
	JsonNode *ret;

	if (!client_conn_has_command(conn, command, &enabled) || !enabled)
		return NULL;
	ret = client_conn_execute(conn, command, NULL, timeout_ms, &error_local);
	if (ret == NULL)
		g_debug("%s: %s, ignoring", command, error_local->message);
	return ret;
}

static gboolean
info_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	ClientConn *conn = inv->conn;
	g_autoptr(JsonObject) out = json_object_new();
	g_autoptr(JsonNode) host = NULL;
	g_autoptr(JsonNode) os = NULL;
	g_autoptr(GPtrArray) enabled_names = g_ptr_array_new();
	g_autoptr(GPtrArray) disabled_names = g_ptr_array_new();
	g_autofree gchar *safe_version = NULL;
	guint timeout_ms = client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS);
	JsonArray *commands_json = json_array_new();
	JsonArray *disabled_json = json_array_new();
	gboolean tracing;
	gboolean dmesg;
	JsonObject *info;
	JsonArray *supported;
	const gchar *version;
	const gchar *agent;

	json_object_set_array_member(out, "commands", commands_json);
	json_object_set_array_member(out, "disabled", disabled_json);
	info = client_conn_get_info(conn, timeout_ms, error);
	if (info == NULL)
		return FALSE;
	version = client_json_string(info, "version");
	supported = client_json_array(info, "supported_commands");
	for (guint i = 0; supported != NULL && i < json_array_get_length(supported); i++) {
		JsonNode *node = json_array_get_element(supported, i);
		const gchar *name;

		if (!JSON_NODE_HOLDS_OBJECT(node))
			continue;
		name = client_json_string(json_node_get_object(node), "name");
		if (name == NULL)
			continue;
		json_array_add_string_element(commands_json, name);
		if (client_json_bool(json_node_get_object(node), "enabled", TRUE))
			g_ptr_array_add(enabled_names, (gpointer)name);
		else {
			json_array_add_string_element(disabled_json, name);
			g_ptr_array_add(disabled_names, (gpointer)name);
		}
	}
	tracing = client_conn_has_command(conn, "guest-trace-fetch", NULL);
	dmesg = client_conn_has_command(conn, "guest-dmesg", NULL);
	agent = tracing ? "qgatrace-agent" : "qemu-ga";
	host = info_try(conn, "guest-get-host-name", timeout_ms);
	os = info_try(conn, "guest-get-osinfo", timeout_ms);

	json_object_set_string_member(out, "target", client_conn_describe(conn));
	json_object_set_string_member(out, "version", version != NULL ? version : "");
	json_object_set_string_member(out, "agent", agent);
	if (host != NULL && JSON_NODE_HOLDS_OBJECT(host) &&
	    client_json_string(json_node_get_object(host), "host-name") != NULL)
		json_object_set_string_member(out, "hostname",
					      client_json_string(json_node_get_object(host),
								 "host-name"));
	else
		json_object_set_null_member(out, "hostname");
	if (os != NULL && JSON_NODE_HOLDS_OBJECT(os))
		json_object_set_object_member(out, "os", json_object_ref(json_node_get_object(os)));
	else
		json_object_set_null_member(out, "os");
	json_object_set_boolean_member(out, "tracing", tracing);
	json_object_set_boolean_member(out, "dmesg", dmesg);
	if (ctx->json) {
		client_print_json_object(out, TRUE);
		return TRUE;
	}

	safe_version = client_json_text(info, "version", "(no version)");
	client_print("agent      %s %s\n", agent, safe_version);
	client_print("target     %s\n", client_conn_describe(conn));
	if (host != NULL) {
		g_autofree gchar *hostname = client_json_text(out, "hostname", "?");

		client_print("host name  %s\n", hostname);
	}
	if (os != NULL && JSON_NODE_HOLDS_OBJECT(os)) {
		JsonObject *o = json_node_get_object(os);
		g_autofree gchar *name = client_json_text(o, "pretty-name", NULL);
		g_autofree gchar *release = client_json_text(o, "kernel-release", "?");
		g_autofree gchar *machine = client_json_text(o, "machine", "");

		if (name == NULL)
			name = client_json_text(o, "name", "?");
		client_print("os         %s, kernel %s %s\n", name, release, machine);
	}
	client_print("commands   %u supported, %u disabled\n",
		     enabled_names->len + disabled_names->len, disabled_names->len);
	if (disabled_names->len > 0) {
		g_ptr_array_add(disabled_names, NULL);
		g_autofree gchar *list = g_strjoinv(", ", (gchar **)disabled_names->pdata);
		g_autofree gchar *safe_list = client_terminal_escape(list);

		client_print("disabled   %s\n", safe_list);
	}
	client_print("tracing    %s\n",
		     tracing ? "yes (guest-trace-status, guest-trace-fetch)"
			     : "no: this agent cannot prove a freeze (not qgatrace-agent)");
	client_print("dmesg      %s\n", dmesg ? "yes (guest-dmesg)" : "no guest-dmesg");
	return TRUE;
}

const ClientCommand client_cmd_info = {
	.name = "info",
	.summary = "the agent's version, commands, and the guest's name and OS",
	.help = info_summary,
	.help_tail = info_description,
	.flags = CLIENT_COMMAND_AGENT,
	.run = info_run,
};
