/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client-context.h"
#include "client-output.h"
#include "client-trace.h"
#include "client-verdict.h"
#include "fuzz-support.h"
#include "qga-client.h"
#include "qga-codec.h"

/*
 * The host client's side of the wire: common/qga-client.c reading what an
 * agent sent on a socket, then the host-client/ code that interprets a
 * reply (trace sessions and their verdicts, guest-dmesg records) on every
 * value that came back. Input: one byte picks how the client reads (reply
 * after reply; guest-sync-delimited; guest-ping), the rest is what the
 * agent says, followed by the end of the connection.
 * What must hold: every call ends (with the stream's end, an error), and
 * the interpreters take any JSON without a critical warning.
 */

static ClientContext *fuzz_client_ctx;

/* everything host-client/ derives from one "return" object */
static void
fuzz_client_interpret(JsonObject *ret)
{
	g_autoptr(JsonArray) verdicts = client_verdict_mountpoints(NULL, ret, NULL, NULL);
	g_autofree gchar *summary = client_trace_format_summary(fuzz_client_ctx, ret);
	g_autofree gchar *events = client_trace_format_events(ret);
	JsonArray *verifications = client_json_array(ret, "verification");
	JsonArray *records = client_json_array(ret, "records");

	/* what reaches the terminal is text, whatever the agent sent */
	if (!g_utf8_validate(summary, -1, NULL) || !g_utf8_validate(events, -1, NULL))
		abort();
	(void)client_verdict_all_verified(verdicts);
	for (guint i = 0; i < json_array_get_length(verdicts); i++) {
		g_free(client_verdict_format(fuzz_client_ctx,
					     json_array_get_object_element(verdicts, i)));
	}
	for (guint i = 0; verifications != NULL && i < json_array_get_length(verifications); i++) {
		JsonNode *node = json_array_get_element(verifications, i);

		if (JSON_NODE_HOLDS_OBJECT(node))
			g_strfreev(client_verdict_functions(ret, json_node_get_object(node)));
	}
	for (guint i = 0; records != NULL && i < json_array_get_length(records); i++) {
		JsonNode *node = json_array_get_element(records, i);

		if (JSON_NODE_HOLDS_OBJECT(node)) {
			g_free(client_format_dmesg_record(json_node_get_object(node), FALSE));
			g_free(client_format_dmesg_record(json_node_get_object(node), TRUE));
		}
	}
}

static void
fuzz_client_reply(JsonNode *reply)
{
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(GError) error = NULL;

	if (!qga_reply_parse(reply, &value, &error)) {
		if (error == NULL)
			abort();
		return;
	}
	if (JSON_NODE_HOLDS_OBJECT(value))
		fuzz_client_interpret(json_node_get_object(value));
}

/* FALSE once the stream ended; a stream error is an item like a reply */
static gboolean
fuzz_client_recv(QgaClient *client)
{
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(GError) error = NULL;

	reply = qga_client_recv(client, &error);
	if (reply != NULL) {
		fuzz_client_reply(reply);
		return TRUE;
	}
	if (error == NULL)
		abort();
	return g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_client_ctx = client_context_new();
	fuzz_client_ctx->color = TRUE; /* the styled output too */
	return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	guint8 mode = fuzz_input_byte(&in);
	g_autoptr(QgaClient) client = NULL;
	g_autoptr(GError) error = NULL;
	gint fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	/* what the agent says fits the socket's buffer (max_len is 4 KiB) */
	if (write(fds[1], in.data, in.len) != (gssize)in.len)
		abort();
	shutdown(fds[1], SHUT_WR);
	client = qga_client_new_for_fd(fds[0]);
	qga_client_set_timeout(client, 2000);
	switch (mode % 3) {
	case 0:
		while (fuzz_client_recv(client))
			;
		break;
	case 1:
		/* no reply can carry the client's random sync id */
		if (qga_client_sync(client, &error) || error == NULL)
			abort();
		break;
	default: {
		/* nor its random request id */
		g_autoptr(JsonNode) value = qga_client_execute(client, "guest-ping", NULL, &error);

		if (value != NULL || error == NULL)
			abort();
		break;
	}
	}
	close(fds[1]);
	return 0;
}
