/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-output.h"

static const gchar ping_summary[] =
	"Checks that the guest agent answers: the handshake (0xFF, then guest-sync-delimited with a\n"
	"random id, skipping whatever a previous client left on the channel), then guest-ping.\n"
	"Under --domain with the default port, libvirt makes its own guest-sync and qgatrace sends\n"
	"guest-ping through libvirt's agent API.";

static const gchar ping_description[] =
	"Output:\n"
	"  'agent at SOCKET answered: handshake 1.2 ms, guest-ping 0.8 ms'\n"
	"  --json: {\"target\": STRING, \"transport\": \"socket\"|\"libvirt\",\n"
	"           \"handshake-us\": INT|null, \"ping-us\": INT}\n\n" CLIENT_HELP_EXIT_STATUS
	"\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock ping\n"
	"  qgatrace --domain vm1 --timeout 3 ping\n";

static gboolean
ping_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	ClientConn *conn = inv->conn;
	g_autoptr(JsonNode) ret = NULL;
	gdouble start = client_now_ms();
	gdouble ping_ms;
	gdouble handshake_ms;

	ret = client_conn_execute(conn, "guest-ping", NULL,
				  client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
	if (ret == NULL)
		return FALSE;
	ping_ms = client_now_ms() - start;
	handshake_ms = client_conn_get_handshake_ms(conn);
	if (ctx->json) {
		g_autoptr(JsonObject) out = json_object_new();

		json_object_set_string_member(out, "target", client_conn_describe(conn));
		json_object_set_string_member(
			out, "transport",
			client_conn_get_kind(conn) == CLIENT_CONN_LIBVIRT ? "libvirt" : "socket");
		if (handshake_ms >= 0)
			json_object_set_int_member(out, "handshake-us",
						   (gint64)(handshake_ms * 1000));
		else
			json_object_set_null_member(out, "handshake-us");
		json_object_set_int_member(out, "ping-us", (gint64)(ping_ms * 1000));
		client_print_json_object(out, TRUE);
		return TRUE;
	}
	if (handshake_ms >= 0)
		client_print("agent at %s answered: handshake %.1f ms, guest-ping %.1f ms\n",
			     client_conn_describe(conn), handshake_ms, ping_ms);
	else
		client_print(
			"agent at %s answered: guest-ping %.1f ms (with libvirt's guest-sync)\n",
			client_conn_describe(conn), ping_ms);
	return TRUE;
}

const ClientCommand client_cmd_ping = {
	.name = "ping",
	.summary = "check that the agent answers (handshake and guest-ping latency)",
	.help = ping_summary,
	.help_tail = ping_description,
	.flags = CLIENT_COMMAND_AGENT,
	.run = ping_run,
};
