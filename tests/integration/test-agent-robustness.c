/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace-agent under abuse: garbage, resets, limits, pipelining, slow
 * and vanishing clients, the unix-listen one-client rule, allow/block lists
 * and the command line. Every test ends by checking that the agent still
 * answers. The agent runs in unix-listen mode on a temporary socket.
 *
 * QGATRACE_ROBUSTNESS_KIND=qemu-ga runs what applies against stock qemu-ga
 * instead (tests that need our agent's extensions or limits skip): a way to
 * check the tests themselves against the reference. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "agent-process.h"
#include "qga-client.h"
#include "qga-codec.h"
#include "wire.h"

#define ROBUST_MAX_CONNS 4
/* the wording of QEMU >= 9.1 (qga/main.c), which qgatrace copies */
#define ROBUST_DISABLED_FMT "Command %s has been disabled: the command is not allowed"

typedef struct {
	AgentKind kind;
	AgentProcess *shared; /* default options, used by most tests */
	AgentProcess *own;    /* a test's own agent, freed in teardown */
	WireConn *conns[ROBUST_MAX_CONNS];
} RobustContext;

#define assert_no_gerror(err)                                                                      \
	do {                                                                                       \
		if ((err) != NULL) {                                                               \
			print_error("%s:%d: %s\n", __FILE__, __LINE__, (err)->message);            \
			g_clear_error(&(err));                                                     \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- fixtures ---- */

static gboolean
robust_is_stock(RobustContext *ctx)
{
	return ctx->kind == AGENT_KIND_QEMU_GA;
}

static void
robust_require_qgatrace(RobustContext *ctx, const gchar *why)
{
	if (robust_is_stock(ctx)) {
		print_message("# skipped for stock qemu-ga: %s\n", why);
		agent_process_test_passed(ctx->shared);
		skip();
	}
}

static int
robust_setup(void **state)
{
	RobustContext *ctx = *state;

	agent_process_test_begin(ctx->shared);
	/* say so once, rather than as a refused connection in every test */
	if (!agent_process_is_alive(ctx->shared)) {
		print_error("the shared agent is no longer running\n");
		return -1;
	}
	return 0;
}

static int
robust_teardown(void **state)
{
	RobustContext *ctx = *state;

	for (guint i = 0; i < ROBUST_MAX_CONNS; i++)
		g_clear_pointer(&ctx->conns[i], wire_conn_free);
	g_clear_pointer(&ctx->own, agent_process_free);
	return 0;
}

/* a test that got here passed: the agents need not show their stderr */
static void
robust_passed(RobustContext *ctx)
{
	agent_process_test_passed(ctx->shared);
	if (ctx->own != NULL)
		agent_process_test_passed(ctx->own);
}

/* starts the test's own agent; @config (nullable) goes to -c */
static AgentProcess *
robust_start_own(RobustContext *ctx, const gchar *config, const gchar *const *blocked,
		 const gchar *const *extra_args)
{
	GError *error = NULL;

	g_clear_pointer(&ctx->own, agent_process_free);
	ctx->own = agent_process_new(ctx->kind, &error);
	assert_no_gerror(error);
	agent_process_test_begin(ctx->own);
	if (config != NULL)
		agent_process_set_config(ctx->own, config);
	for (guint i = 0; blocked != NULL && blocked[i] != NULL; i++)
		agent_process_block(ctx->own, blocked[i]);
	for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
		agent_process_add_args(ctx->own, extra_args[i], NULL);
	agent_process_start(ctx->own, &error);
	assert_no_gerror(error);
	return ctx->own;
}

/* a raw connection in slot @slot, closed in teardown */
static WireConn *
robust_connect(RobustContext *ctx, guint slot, AgentProcess *agent)
{
	GError *error = NULL;

	g_clear_pointer(&ctx->conns[slot], wire_conn_free);
	ctx->conns[slot] = wire_conn_connect_unix(agent_process_get_socket_path(agent), &error);
	assert_no_gerror(error);
	return ctx->conns[slot];
}

static void
robust_close(RobustContext *ctx, guint slot)
{
	g_clear_pointer(&ctx->conns[slot], wire_conn_free);
}

static void
robust_send(WireConn *conn, const void *data, gsize len)
{
	GError *error = NULL;

	wire_conn_send(conn, data, len, &error);
	assert_no_gerror(error);
}

static void
robust_send_str(WireConn *conn, const gchar *text)
{
	robust_send(conn, text, strlen(text));
}

static void
robust_resync(WireConn *conn)
{
	GError *error = NULL;

	wire_conn_resync(conn, NULL, &error);
	assert_no_gerror(error);
}

static WireReply *
robust_read(WireConn *conn)
{
	GError *error = NULL;
	WireReply *reply = wire_conn_read_reply(conn, &error);

	assert_no_gerror(error);
	return reply;
}

static void
robust_print_reply(const gchar *what, const WireReply *reply)
{
	g_autofree gchar *shown = wire_reply_to_display(reply);

	print_error("%s: %s\n", what, shown);
}

/* a parse error or reset answer: GenericError, no id, no 0xff, ASCII */
static void
robust_assert_plain_error(const WireReply *reply)
{
	if (reply->delimited || wire_reply_get_id(reply) != NULL ||
	    g_strcmp0(wire_reply_get_error_class(reply), "GenericError") != 0 ||
	    !wire_reply_check_framing(reply, NULL)) {
		robust_print_reply("expected a GenericError without id", reply);
		fail();
	}
}

static gboolean
robust_reply_has_string_id(const WireReply *reply, const gchar *id)
{
	JsonNode *node = wire_reply_get_id(reply);

	return node != NULL && json_node_get_value_type(node) == G_TYPE_STRING &&
	       g_strcmp0(json_node_get_string(node), id) == 0;
}

/* the reply is {"return": {}, "id": "<id>"} */
static void
robust_assert_pong(const WireReply *reply, const gchar *id)
{
	JsonNode *ret = wire_reply_get_return(reply);

	if (reply->delimited || ret == NULL || !JSON_NODE_HOLDS_OBJECT(ret) ||
	    json_object_get_size(json_node_get_object(ret)) != 0 ||
	    !robust_reply_has_string_id(reply, id) || !wire_reply_check_framing(reply, NULL)) {
		g_autofree gchar *want = g_strdup_printf("a guest-ping reply with id \"%s\"", id);
		robust_print_reply(want, reply);
		fail();
	}
}

static gchar *
robust_ping_request(const gchar *id)
{
	return g_strdup_printf("{\"execute\":\"guest-ping\",\"id\":\"%s\"}", id);
}

/* sends guest-ping with @id and expects exactly its reply next */
static void
robust_ping(WireConn *conn, const gchar *id)
{
	g_autofree gchar *req = robust_ping_request(id);
	WireReply *reply;

	robust_send_str(conn, req);
	reply = robust_read(conn);
	robust_assert_pong(reply, id);
	wire_reply_free(reply);
}

/* reads up to the pong for @id; everything before must be a plain error;
 * Returns: how many errors came first */
static guint
robust_read_errors_until_pong(WireConn *conn, const gchar *id, guint timeout_ms)
{
	guint n_errors = 0;

	for (;;) {
		GError *error = NULL;
		WireReply *reply = wire_conn_read_reply_timeout(conn, timeout_ms, &error);

		if (reply == NULL) {
			print_error("after %u error replies: ", n_errors);
			assert_no_gerror(error);
		}
		if (robust_reply_has_string_id(reply, id)) {
			robust_assert_pong(reply, id);
			wire_reply_free(reply);
			return n_errors;
		}
		robust_assert_plain_error(reply);
		wire_reply_free(reply);
		n_errors++;
	}
}

/* the agent process runs, and a fresh client can sync and ping it; the
 * test's connections are closed first (one client at a time) */
static void
robust_assert_alive(RobustContext *ctx, AgentProcess *agent)
{
	GError *error = NULL;
	QgaClient *client;
	JsonNode *ret;

	for (guint i = 0; i < ROBUST_MAX_CONNS; i++)
		robust_close(ctx, i);
	assert_true(agent_process_is_alive(agent));
	client = qga_client_connect_unix(agent_process_get_socket_path(agent), &error);
	assert_no_gerror(error);
	qga_client_sync(client, &error);
	if (error != NULL)
		qga_client_free(client);
	assert_no_gerror(error);
	ret = qga_client_execute(client, "guest-ping", NULL, &error);
	qga_client_free(client);
	assert_no_gerror(error);
	assert_true(JSON_NODE_HOLDS_OBJECT(ret));
	json_node_unref(ret);
}

/* a request of exactly @size bytes: guest-ping whose id is a long string */
static GByteArray *
robust_sized_ping(gsize size, const gchar *id_prefix)
{
	const gchar *head = "{\"execute\":\"guest-ping\",\"id\":\"";
	const gchar *tail = "\"}";
	gsize fixed = strlen(head) + strlen(id_prefix) + strlen(tail);
	GByteArray *out = g_byte_array_sized_new((guint)size);
	const guint8 pad = 'a';

	g_assert(size > fixed);
	g_byte_array_append(out, (const guint8 *)head, (guint)strlen(head));
	g_byte_array_append(out, (const guint8 *)id_prefix, (guint)strlen(id_prefix));
	while (out->len < size - strlen(tail))
		g_byte_array_append(out, &pad, 1);
	g_byte_array_append(out, (const guint8 *)tail, (guint)strlen(tail));
	g_assert(out->len == size);
	return out;
}

/* guest-info's supported_commands, or NULL */
static JsonArray *
robust_info_commands(JsonNode *info)
{
	JsonNode *cmds;

	if (info == NULL || !JSON_NODE_HOLDS_OBJECT(info))
		return NULL;
	cmds = json_object_get_member(json_node_get_object(info), "supported_commands");
	if (cmds == NULL || !JSON_NODE_HOLDS_ARRAY(cmds))
		return NULL;
	return json_node_get_array(cmds);
}

/* the guest-info entry of @name, or NULL */
static JsonObject *
robust_info_command(JsonNode *info, const gchar *name)
{
	JsonArray *cmds = robust_info_commands(info);

	for (guint i = 0; cmds != NULL && i < json_array_get_length(cmds); i++) {
		JsonObject *cmd = json_array_get_object_element(cmds, i);

		if (g_strcmp0(json_object_get_string_member(cmd, "name"), name) == 0)
			return cmd;
	}
	return NULL;
}

static void
robust_assert_enabled(JsonNode *info, const gchar *name, gboolean enabled)
{
	JsonObject *cmd = robust_info_command(info, name);

	if (cmd == NULL) {
		print_error("guest-info does not list '%s'\n", name);
		fail();
	}
	if (json_object_get_boolean_member(cmd, "enabled") != enabled) {
		print_error("guest-info says '%s' is %s\n", name, enabled ? "disabled" : "enabled");
		fail();
	}
}

/* runs @command on a fresh connection without any sync (an allow list may
 * disable guest-sync) and returns its one reply */
static WireReply *
robust_request(RobustContext *ctx, AgentProcess *agent, const gchar *command)
{
	g_autofree gchar *req = g_strdup_printf("{\"execute\":\"%s\",\"id\":\"r\"}", command);
	WireConn *conn = robust_connect(ctx, 3, agent);
	WireReply *reply;

	robust_send_str(conn, req);
	reply = robust_read(conn);
	robust_close(ctx, 3);
	if (!robust_reply_has_string_id(reply, "r") || reply->delimited) {
		robust_print_reply("reply without the request id", reply);
		fail();
	}
	return reply;
}

static void
robust_assert_disabled_reply(const WireReply *reply, const gchar *command)
{
	g_autofree gchar *want = g_strdup_printf(ROBUST_DISABLED_FMT, command);

	if (g_strcmp0(wire_reply_get_error_class(reply), "CommandNotFound") != 0 ||
	    g_strcmp0(wire_reply_get_error_desc(reply), want) != 0) {
		robust_print_reply(want, reply);
		fail();
	}
}

static JsonNode *
robust_guest_info(RobustContext *ctx, AgentProcess *agent)
{
	WireReply *reply = robust_request(ctx, agent, "guest-info");
	JsonNode *info = wire_reply_get_return(reply);

	if (info == NULL) {
		robust_print_reply("guest-info failed", reply);
		fail();
	}
	info = json_node_ref(info);
	wire_reply_free(reply);
	return info;
}

/* -b guest-get-time, however it was given */
static void
robust_check_get_time_blocked(RobustContext *ctx, AgentProcess *agent)
{
	WireReply *reply = robust_request(ctx, agent, "guest-get-time");
	JsonNode *info;

	robust_assert_disabled_reply(reply, "guest-get-time");
	wire_reply_free(reply);
	info = robust_guest_info(ctx, agent);
	robust_assert_enabled(info, "guest-get-time", FALSE);
	robust_assert_enabled(info, "guest-ping", TRUE);
	robust_assert_enabled(info, "guest-get-host-name", TRUE);
	json_node_unref(info);
	reply = robust_request(ctx, agent, "guest-get-host-name");
	assert_non_null(wire_reply_get_return(reply));
	wire_reply_free(reply);
	robust_assert_alive(ctx, agent);
}

/* -a guest-ping,guest-info: everything else is off, guest-sync too */
static void
robust_check_allow_ping_info(RobustContext *ctx, AgentProcess *agent)
{
	const gchar *const denied[] = {"guest-get-time", "guest-sync", "guest-sync-delimited",
				       "guest-get-host-name", NULL};
	WireReply *reply = robust_request(ctx, agent, "guest-ping");
	JsonNode *info;
	JsonArray *cmds;

	assert_non_null(wire_reply_get_return(reply));
	wire_reply_free(reply);
	for (guint i = 0; denied[i] != NULL; i++) {
		reply = robust_request(ctx, agent, denied[i]);
		robust_assert_disabled_reply(reply, denied[i]);
		wire_reply_free(reply);
	}
	info = robust_guest_info(ctx, agent);
	cmds = robust_info_commands(info);
	assert_non_null(cmds);
	for (guint i = 0; i < json_array_get_length(cmds); i++) {
		JsonObject *cmd = json_array_get_object_element(cmds, i);
		const gchar *name = json_object_get_string_member(cmd, "name");
		gboolean want =
			g_strcmp0(name, "guest-ping") == 0 || g_strcmp0(name, "guest-info") == 0;

		if (json_object_get_boolean_member(cmd, "enabled") != want) {
			print_error("with -a guest-ping,guest-info, '%s' is %s\n", name,
				    want ? "disabled" : "enabled");
			fail();
		}
	}
	json_node_unref(info);
	assert_true(agent_process_is_alive(agent));
}

/* ---- tests ---- */

/* garbage of every kind, then a reset byte: only plain errors, then the
 * request after it is answered */
static void
test_robust_garbage_bytes(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	static const guint8 garbage[] = "\x01\x02\x03}}]]::,,\x80\xfe\xc3nul tru fals 1e 0x12 - "
					"@#$%^&*()=+\x7f\x1b[31m\\u12 \"\\q\" ''' }{\x00\x00";
	g_autofree gchar *req = robust_ping_request("after-garbage");
	guint n;

	robust_resync(conn);
	robust_send(conn, garbage, sizeof(garbage) - 1);
	robust_send(conn, "\xff", 1);
	robust_send_str(conn, req);
	n = robust_read_errors_until_pong(conn, "after-garbage", 5000);
	print_message("# %u error replies for the garbage\n", n);
	assert_true(n >= 1);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* 256 KiB of pseudo-random bytes (fixed seed), a reset, a request */
static void
test_robust_random_bytes(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	g_autoptr(GRand) rand = g_rand_new_with_seed(20240607);
	g_autoptr(GByteArray) junk = g_byte_array_new();
	g_autofree gchar *req = robust_ping_request("after-random");
	guint n;

	for (guint i = 0; i < 256 * 1024; i++) {
		guint8 b = (guint8)g_rand_int_range(rand, 0, 256);
		g_byte_array_append(junk, &b, 1);
	}
	robust_resync(conn);
	robust_send(conn, junk->data, junk->len);
	robust_send(conn, "\xff", 1);
	robust_send_str(conn, req);
	n = robust_read_errors_until_pong(conn, "after-random", 30000);
	print_message("# %u error replies for 256 KiB of random bytes\n", n);
	assert_true(n >= 1);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* half a request, 0xff, a request: one error, then the answer */
static void
test_robust_half_message_then_ff(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	g_autofree gchar *req = robust_ping_request("after-ff");
	WireReply *reply;

	robust_resync(conn);
	robust_send_str(conn, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":[1,{\"a\":\"b");
	robust_send(conn, "\xff", 1);
	robust_send_str(conn, req);
	reply = robust_read(conn);
	robust_assert_plain_error(reply);
	wire_reply_free(reply);
	reply = robust_read(conn);
	robust_assert_pong(reply, "after-ff");
	wire_reply_free(reply);
	assert_true(wire_conn_expect_silence(conn, 200));
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* a client leaves half a request behind; the next client's very first
 * request, sent without any resync, is answered: our agent parses every
 * connection from a clean state (qemu-ga does not, qga-protocol.md 1.6) */
static void
test_robust_half_message_then_disconnect(void **state)
{
	RobustContext *ctx = *state;
	g_autofree gchar *req = NULL;
	WireConn *conn;
	WireReply *reply;

	robust_require_qgatrace(ctx, "qemu-ga keeps its parser across connections");
	req = robust_ping_request("fresh");
	conn = robust_connect(ctx, 0, ctx->shared);
	robust_resync(conn);
	robust_send_str(conn, "{\"execute\":\"guest-ping\",\"arguments\":{\"x\":[1,\"abc");
	robust_close(ctx, 0);

	conn = robust_connect(ctx, 1, ctx->shared);
	robust_send_str(conn, req);
	reply = robust_read(conn);
	robust_assert_pong(reply, "fresh");
	wire_reply_free(reply);
	assert_true(wire_conn_expect_silence(conn, 200));
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* a message of exactly @limit bytes is served, one byte more is refused
 * with one GenericError, and the connection goes on */
static void
robust_check_message_limit(RobustContext *ctx, AgentProcess *agent, gsize limit)
{
	g_autoptr(GByteArray) at_limit = robust_sized_ping(limit, "at-limit-");
	g_autoptr(GByteArray) over = robust_sized_ping(limit + 1, "over-limit-");
	g_autofree gchar *after = robust_ping_request("after-over-limit");
	WireConn *conn;
	WireReply *reply;
	JsonNode *id;

	/* fresh connections: no byte before the message may count toward it */
	conn = robust_connect(ctx, 0, agent);
	wire_conn_set_timeout(conn, 60000);
	robust_send(conn, at_limit->data, at_limit->len);
	reply = robust_read(conn);
	id = wire_reply_get_id(reply);
	if (wire_reply_get_return(reply) == NULL || id == NULL ||
	    json_node_get_value_type(id) != G_TYPE_STRING ||
	    !g_str_has_prefix(json_node_get_string(id), "at-limit-")) {
		print_error("a %" G_GSIZE_FORMAT "-byte message (the limit) was not served\n",
			    limit);
		robust_print_reply("got", reply);
		fail();
	}
	wire_reply_free(reply);
	robust_close(ctx, 0);

	conn = robust_connect(ctx, 1, agent);
	wire_conn_set_timeout(conn, 60000);
	robust_send(conn, over->data, over->len);
	robust_send_str(conn, after);
	reply = robust_read(conn);
	robust_assert_plain_error(reply);
	print_message("# %" G_GSIZE_FORMAT " bytes: %s\n", limit + 1,
		      wire_reply_get_error_desc(reply));
	wire_reply_free(reply);
	reply = robust_read(conn);
	robust_assert_pong(reply, "after-over-limit");
	wire_reply_free(reply);
	assert_true(wire_conn_expect_silence(conn, 200));
	robust_ping(conn, "still-usable");
	robust_assert_alive(ctx, agent);
}

static void
test_robust_message_limit_default(void **state)
{
	RobustContext *ctx = *state;

	robust_require_qgatrace(ctx, "qemu-ga's limit is 64 MiB of tokens, not 16 MiB");
	robust_check_message_limit(ctx, ctx->shared, QGA_MAX_MESSAGE_DEFAULT);
	robust_passed(ctx);
}

static void
test_robust_message_limit_configured(void **state)
{
	RobustContext *ctx = *state;
	AgentProcess *agent;

	robust_require_qgatrace(ctx, "max-message-size is a qgatrace config key");
	agent = robust_start_own(ctx, "[general]\nmax-message-size=4096\n", NULL, NULL);
	robust_check_message_limit(ctx, agent, 4096);
	robust_passed(ctx);
}

/* 200,000 nested arrays, closed again: errors only, no crash, then service */
static void
test_robust_deep_nesting(void **state)
{
	RobustContext *ctx = *state;
	const gsize depth = 200000;
	g_autoptr(GByteArray) deep = g_byte_array_sized_new((guint)(2 * depth));
	g_autofree gchar *req = robust_ping_request("after-nesting");
	const guint8 open = '[';
	const guint8 close = ']';
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	guint n;

	for (gsize i = 0; i < depth; i++)
		g_byte_array_append(deep, &open, 1);
	for (gsize i = 0; i < depth; i++)
		g_byte_array_append(deep, &close, 1);
	robust_resync(conn);
	wire_conn_set_timeout(conn, 60000);
	robust_send(conn, deep->data, deep->len);
	robust_send_str(conn, req);
	n = robust_read_errors_until_pong(conn, "after-nesting", 60000);
	print_message("# %u error replies for %" G_GSIZE_FORMAT "-deep nesting\n", n, depth);
	assert_true(n >= 1);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* 200 requests in one write: 200 replies, in order */
static void
test_robust_pipelined_requests(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	g_autoptr(GString) batch = g_string_new(NULL);
	const guint n = 200;

	for (guint i = 0; i < n; i++) {
		if (i % 2 == 0)
			g_string_append_printf(batch, "{\"execute\":\"guest-ping\",\"id\":%u}", i);
		else
			g_string_append_printf(batch,
					       "{\"execute\":\"guest-ping\",\"id\":\"p%u\"}\n", i);
	}
	robust_resync(conn);
	robust_send(conn, batch->str, batch->len);
	for (guint i = 0; i < n; i++) {
		WireReply *reply = robust_read(conn);
		JsonNode *id = wire_reply_get_id(reply);
		gboolean ok;

		if (i % 2 == 0) {
			ok = id != NULL && json_node_get_value_type(id) == G_TYPE_INT64 &&
			     json_node_get_int(id) == i;
		} else {
			g_autofree gchar *want = g_strdup_printf("p%u", i);
			ok = robust_reply_has_string_id(reply, want);
		}
		if (!ok || wire_reply_get_return(reply) == NULL) {
			print_error("reply %u of %u out of order or wrong:\n", i + 1, n);
			robust_print_reply("got", reply);
			fail();
		}
		wire_reply_free(reply);
	}
	assert_true(wire_conn_expect_silence(conn, 200));
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* a request trickling in one byte per write */
static void
test_robust_byte_at_a_time(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	g_autofree gchar *req = robust_ping_request("slow");
	g_autofree gchar *sync =
		g_strdup("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":987654321}}");
	WireReply *reply;
	JsonNode *ret;

	robust_resync(conn);
	for (const gchar *p = req; *p != '\0'; p++) {
		robust_send(conn, p, 1);
		g_usleep(1000);
		if (p[1] != '\0')
			assert_int_equal(wire_conn_get_pending(conn), 0);
	}
	reply = robust_read(conn);
	robust_assert_pong(reply, "slow");
	wire_reply_free(reply);
	for (const gchar *p = sync; *p != '\0'; p++) {
		robust_send(conn, p, 1);
		g_usleep(500);
	}
	reply = robust_read(conn);
	ret = wire_reply_get_return(reply);
	assert_true(reply->delimited);
	assert_non_null(ret);
	assert_int_equal(json_node_get_int(ret), 987654321);
	wire_reply_free(reply);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* clients that send and vanish before reading: the next client gets no
 * stale reply, during its resync or after */
static void
test_robust_disconnect_before_reply(void **state)
{
	RobustContext *ctx = *state;
	g_autoptr(GString) batch = g_string_new(NULL);
	g_autoptr(GPtrArray) skipped = NULL;
	GError *error = NULL;
	WireConn *conn;

	for (guint i = 0; i < 500; i++)
		g_string_append(batch, "{\"execute\":\"guest-info\",\"id\":\"stale\"}");
	for (guint round = 0; round < 5; round++) {
		conn = robust_connect(ctx, 0, ctx->shared);
		robust_send(conn, batch->str, batch->len);
		robust_close(ctx, 0);
	}
	conn = robust_connect(ctx, 0, ctx->shared);
	wire_conn_resync(conn, &skipped, &error);
	assert_no_gerror(error);
	for (guint i = 0; i < skipped->len; i++) {
		if (robust_reply_has_string_id(g_ptr_array_index(skipped, i), "stale")) {
			print_error("a reply meant for a client that left reached the next one\n");
			robust_print_reply("stale", g_ptr_array_index(skipped, i));
			fail();
		}
	}
	robust_ping(conn, "fresh");
	assert_true(wire_conn_expect_silence(conn, 300));
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* unix-listen serves one client at a time; the next is served once the
 * first hangs up (qga/channel-posix.c: ga_channel_listen_accept) */
static void
test_robust_one_client_at_a_time(void **state)
{
	RobustContext *ctx = *state;
	WireConn *a = robust_connect(ctx, 0, ctx->shared);
	WireConn *b;
	g_autofree gchar *req_b = robust_ping_request("b");
	WireReply *reply;

	robust_resync(a);
	b = robust_connect(ctx, 1, ctx->shared);
	robust_send_str(b, req_b);
	assert_true(wire_conn_expect_silence(b, 500));
	robust_ping(a, "a");
	assert_true(wire_conn_expect_silence(b, 200));
	robust_close(ctx, 0);
	reply = robust_read(b);
	robust_assert_pong(reply, "b");
	wire_reply_free(reply);
	robust_resync(b);
	robust_ping(b, "b2");
	robust_close(ctx, 1);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

static void
test_robust_block_rpcs_option(void **state)
{
	RobustContext *ctx = *state;
	const gchar *const blocked[] = {"guest-get-time", NULL};

	robust_require_qgatrace(ctx, "qemu-ga 7.2 words the error differently");
	robust_check_get_time_blocked(ctx, robust_start_own(ctx, NULL, blocked, NULL));
	robust_passed(ctx);
}

static void
test_robust_block_rpcs_config(void **state)
{
	RobustContext *ctx = *state;

	robust_require_qgatrace(ctx, "-c arrived in qemu-ga 9.1");
	robust_check_get_time_blocked(
		ctx, robust_start_own(ctx, "[general]\nblock-rpcs=guest-get-time\n", NULL, NULL));
	robust_passed(ctx);
}

static void
test_robust_allow_rpcs_option(void **state)
{
	RobustContext *ctx = *state;
	const gchar *const args[] = {"-a", "guest-ping,guest-info", NULL};

	robust_require_qgatrace(ctx, "-a arrived in qemu-ga 8.1");
	robust_check_allow_ping_info(ctx, robust_start_own(ctx, NULL, NULL, args));
	robust_passed(ctx);
}

static void
test_robust_allow_rpcs_config(void **state)
{
	RobustContext *ctx = *state;

	robust_require_qgatrace(ctx, "-c and allow-rpcs are newer than qemu-ga 7.2");
	robust_check_allow_ping_info(
		ctx,
		robust_start_own(ctx, "[general]\nallow-rpcs=guest-ping,guest-info\n", NULL, NULL));
	robust_passed(ctx);
}

/* block lists from the config file and the command line add up */
static void
test_robust_block_rpcs_accumulate(void **state)
{
	RobustContext *ctx = *state;
	const gchar *const blocked[] = {"guest-get-host-name", NULL};
	AgentProcess *agent;
	WireReply *reply;
	JsonNode *info;

	robust_require_qgatrace(ctx, "-c arrived in qemu-ga 9.1");
	agent = robust_start_own(ctx, "[general]\nblock-rpcs=guest-get-time\n", blocked, NULL);
	reply = robust_request(ctx, agent, "guest-get-time");
	robust_assert_disabled_reply(reply, "guest-get-time");
	wire_reply_free(reply);
	reply = robust_request(ctx, agent, "guest-get-host-name");
	robust_assert_disabled_reply(reply, "guest-get-host-name");
	wire_reply_free(reply);
	info = robust_guest_info(ctx, agent);
	robust_assert_enabled(info, "guest-get-time", FALSE);
	robust_assert_enabled(info, "guest-get-host-name", FALSE);
	robust_assert_enabled(info, "guest-get-osinfo", TRUE);
	json_node_unref(info);
	robust_assert_alive(ctx, agent);
	robust_passed(ctx);
}

static gchar **
robust_keyfile_list(GKeyFile *kf, const gchar *key)
{
	g_autofree gchar *value = g_key_file_get_string(kf, "general", key, NULL);

	if (value == NULL)
		return g_new0(gchar *, 1);
	return g_strsplit(value, ",", -1);
}

/* -D prints the effective configuration as a keyfile and exits 0 */
static void
test_robust_dump_conf(void **state)
{
	RobustContext *ctx = *state;
	GError *error = NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree gchar *tmp = g_dir_make_tmp("qgatrace-dump-XXXXXX", NULL);
	g_autofree gchar *sock = g_build_filename(tmp, "agent.sock", NULL);
	g_autofree gchar *statedir = g_build_filename(tmp, "state", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *method = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *kf_statedir = NULL;
	g_autofree gchar *shown = NULL;
	g_auto(GStrv) blocked = NULL;
	const gchar *args[] = {"-m", "unix-listen", "-p", sock,
			       "-t", statedir,	    "-b", "guest-get-time,guest-fsfreeze-freeze",
			       "-D", NULL};
	gint status = -1;

	assert_non_null(tmp);
	agent_process_run_sync(ctx->kind, args, &out, &err, &status, &error);
	g_rmdir(tmp);
	assert_no_gerror(error);
	if (!g_spawn_check_wait_status(status, &error)) {
		print_error("-D: %s; stderr: %s\n", error->message, err);
		g_clear_error(&error);
		fail();
	}
	if (!g_key_file_load_from_data(kf, out, (gsize)-1, G_KEY_FILE_NONE, &error)) {
		print_error("-D output is not a keyfile (%s):\n%s\n", error->message, out);
		g_clear_error(&error);
		fail();
	}
	shown = g_strdelimit(g_strchomp(g_strdup(out)), "\n", ' ');
	print_message("# -D printed: %s\n", shown);
	method = g_key_file_get_string(kf, "general", "method", NULL);
	path = g_key_file_get_string(kf, "general", "path", NULL);
	kf_statedir = g_key_file_get_string(kf, "general", "statedir", NULL);
	assert_string_equal(method, "unix-listen");
	assert_string_equal(path, sock);
	assert_string_equal(kf_statedir, statedir);
	blocked = robust_keyfile_list(kf, "block-rpcs");
	assert_true(g_strv_contains((const gchar *const *)blocked, "guest-get-time"));
	assert_true(g_strv_contains((const gchar *const *)blocked, "guest-fsfreeze-freeze"));
	/* -D only prints: no socket was made */
	assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
	robust_passed(ctx);
}

/* the effective configuration includes the config file's values */
static void
test_robust_dump_conf_with_config(void **state)
{
	RobustContext *ctx = *state;
	GError *error = NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree gchar *tmp = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *sock = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_auto(GStrv) blocked = NULL;
	g_auto(GStrv) allowed = NULL;
	const gchar *args[] = {"-c", NULL, "-m", "unix-listen",
			       "-p", NULL, "-b", "guest-get-host-name",
			       "-D", NULL};
	gint status = -1;

	robust_require_qgatrace(ctx, "-c arrived in qemu-ga 9.1");
	tmp = g_dir_make_tmp("qgatrace-dump-XXXXXX", NULL);
	assert_non_null(tmp);
	conf = g_build_filename(tmp, "agent.conf", NULL);
	sock = g_build_filename(tmp, "agent.sock", NULL);
	args[1] = conf;
	args[5] = sock;
	assert_true(g_file_set_contents(conf,
					"[general]\nblock-rpcs=guest-get-time\n"
					"allow-rpcs=guest-ping,guest-info\n",
					-1, NULL));
	agent_process_run_sync(ctx->kind, args, &out, &err, &status, &error);
	g_unlink(conf);
	g_rmdir(tmp);
	assert_no_gerror(error);
	if (!g_spawn_check_wait_status(status, &error)) {
		print_error("-c -D: %s; stderr: %s\n", error->message, err);
		g_clear_error(&error);
		fail();
	}
	if (!g_key_file_load_from_data(kf, out, (gsize)-1, G_KEY_FILE_NONE, &error)) {
		print_error("-D output is not a keyfile (%s):\n%s\n", error->message, out);
		g_clear_error(&error);
		fail();
	}
	blocked = robust_keyfile_list(kf, "block-rpcs");
	allowed = robust_keyfile_list(kf, "allow-rpcs");
	assert_true(g_strv_contains((const gchar *const *)blocked, "guest-get-time"));
	assert_true(g_strv_contains((const gchar *const *)blocked, "guest-get-host-name"));
	assert_true(g_strv_contains((const gchar *const *)allowed, "guest-ping"));
	assert_true(g_strv_contains((const gchar *const *)allowed, "guest-info"));
	robust_passed(ctx);
}

static void
test_robust_version(void **state)
{
	RobustContext *ctx = *state;
	GError *error = NULL;
	const gchar *args[] = {"-V", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	agent_process_run_sync(ctx->kind, args, &out, &err, &status, &error);
	assert_no_gerror(error);
	print_message("# -V: %s", out);
	assert_true(g_spawn_check_wait_status(status, NULL));
	assert_true(g_regex_match_simple("[0-9]+\\.[0-9]+", out, 0, 0));
	robust_passed(ctx);
}

/* an unknown option or method: a message and a failure exit, at once */
static void
test_robust_bad_options(void **state)
{
	RobustContext *ctx = *state;
	const gchar *bad_option[] = {"--no-such-option", NULL};
	g_autofree gchar *tmp = g_dir_make_tmp("qgatrace-bad-XXXXXX", NULL);
	g_autofree gchar *sock = g_build_filename(tmp, "agent.sock", NULL);
	/* a usable statedir, so that the method is what fails */
	const gchar *bad_method[] = {"-m", "no-such-method", "-p", sock, "-t", tmp, NULL};
	const gchar *const *cases[] = {bad_option, bad_method};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		GError *error = NULL;
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		gint status = 0;

		agent_process_run_sync(ctx->kind, cases[i], &out, &err, &status, &error);
		assert_no_gerror(error);
		print_message("# %s: status 0x%x, stderr: %s", cases[i][0], (guint)status, err);
		assert_false(g_spawn_check_wait_status(status, NULL));
		/* died of its own accord, not of a crash */
		assert_true(WIFEXITED(status));
		assert_true(g_strstrip(err)[0] != '\0');
	}
	{
		/* qemu-ga 7.2 writes its state file before it checks the method */
		g_autofree gchar *state_file = g_build_filename(tmp, "qga.state", NULL);
		g_unlink(state_file);
	}
	g_unlink(sock);
	g_rmdir(tmp);
	robust_passed(ctx);
}

/* last: the shared agent went through everything above */
static void
test_robust_alive_after_everything(void **state)
{
	RobustContext *ctx = *state;
	WireConn *conn = robust_connect(ctx, 0, ctx->shared);
	WireReply *reply;

	robust_resync(conn);
	robust_ping(conn, "last");
	robust_send_str(conn, "{\"execute\":\"guest-info\",\"id\":\"info\"}");
	reply = robust_read(conn);
	assert_non_null(wire_reply_get_return(reply));
	wire_reply_free(reply);
	robust_close(ctx, 0);
	robust_assert_alive(ctx, ctx->shared);
	robust_passed(ctx);
}

/* SIGTERM ends an idle (thawed) agent promptly and with status 0, as
 * systemd's stop expects */
static void
test_robust_sigterm_exits_cleanly(void **state)
{
	RobustContext *ctx = *state;
	AgentProcess *agent = robust_start_own(ctx, NULL, NULL, NULL);
	WireConn *conn = robust_connect(ctx, 0, agent);
	gint status;

	robust_resync(conn);
	robust_ping(conn, "before-sigterm");
	robust_close(ctx, 0);
	status = agent_process_stop(agent);
	if (status == -1) {
		print_error("the agent did not exit on SIGTERM within the bound\n");
		fail();
	}
	print_message("# wait status after SIGTERM: 0x%x\n", (guint)status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	robust_passed(ctx);
}

static void
test_robust_missing(void **state)
{
	skip();
}

#define ROBUST_TEST(fn)                                                                            \
	cmocka_unit_test_prestate_setup_teardown(fn, robust_setup, robust_teardown, &ctx)

int
main(void)
{
	g_autoptr(AgentProcess) shared = NULL;
	g_autoptr(GError) error = NULL;
	RobustContext ctx = {0};
	const gchar *kind_env = g_getenv("QGATRACE_ROBUSTNESS_KIND");
	const struct CMUnitTest tests[] = {
		ROBUST_TEST(test_robust_garbage_bytes),
		ROBUST_TEST(test_robust_random_bytes),
		ROBUST_TEST(test_robust_half_message_then_ff),
		ROBUST_TEST(test_robust_half_message_then_disconnect),
		ROBUST_TEST(test_robust_message_limit_default),
		ROBUST_TEST(test_robust_message_limit_configured),
		ROBUST_TEST(test_robust_deep_nesting),
		ROBUST_TEST(test_robust_pipelined_requests),
		ROBUST_TEST(test_robust_byte_at_a_time),
		ROBUST_TEST(test_robust_disconnect_before_reply),
		ROBUST_TEST(test_robust_one_client_at_a_time),
		ROBUST_TEST(test_robust_block_rpcs_option),
		ROBUST_TEST(test_robust_block_rpcs_config),
		ROBUST_TEST(test_robust_allow_rpcs_option),
		ROBUST_TEST(test_robust_allow_rpcs_config),
		ROBUST_TEST(test_robust_block_rpcs_accumulate),
		ROBUST_TEST(test_robust_dump_conf),
		ROBUST_TEST(test_robust_dump_conf_with_config),
		ROBUST_TEST(test_robust_version),
		ROBUST_TEST(test_robust_bad_options),
		ROBUST_TEST(test_robust_sigterm_exits_cleanly),
		ROBUST_TEST(test_robust_alive_after_everything),
	};
	gint failed;

	ctx.kind = g_strcmp0(kind_env, "qemu-ga") == 0 ? AGENT_KIND_QEMU_GA : AGENT_KIND_QGATRACE;
	if (agent_process_binary(ctx.kind) == NULL) {
		const struct CMUnitTest missing[] = {
			cmocka_unit_test(test_robust_missing),
		};
		print_message("# agent binary not found: skipping\n");
		return cmocka_run_group_tests_name("agent-robustness", missing, NULL, NULL);
	}
	shared = agent_process_new(ctx.kind, &error);
	if (shared == NULL || !agent_process_start(shared, &error)) {
		g_printerr("cannot start the agent: %s\n", error->message);
		return 1;
	}
	ctx.shared = shared;
	failed = cmocka_run_group_tests_name("agent-robustness", tests, NULL, NULL);
	if (!agent_process_stop_cleanly(shared, &error)) {
		g_printerr("%s\n", error->message);
		agent_process_dump_stderr(shared, "unclean exit");
		failed++;
	}
	return failed;
}
