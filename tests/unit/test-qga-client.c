/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qga-client.h"
#include "qga-codec.h"
#include "qga-json.h"

/*
 * A fake agent: a thread on the other end of a socketpair that runs a
 * script. cmocka's asserts longjmp and belong to the main thread, so the
 * peer records the first thing that went wrong and the test checks it
 * after joining.
 */
typedef struct _Peer Peer;
typedef void (*PeerScript)(Peer *peer);

struct _Peer {
	gint fd;
	gint listen_fd; /* for the connect test: accept first */
	PeerScript script;
	QgaDecoder *decoder;
	GThread *thread;
	gchar *failure;
	guint n_decoder_errors;
	gchar *first_decoder_error;
	gsize bytes_read;
	gsize big_len; /* what the partial write test received */
};

#define PEER_CHECK(peer, cond)                                                                     \
	G_STMT_START                                                                               \
	{                                                                                          \
		if (!(cond)) {                                                                     \
			if ((peer)->failure == NULL)                                               \
				(peer)->failure =                                                  \
					g_strdup_printf("%s:%d: %s", __FILE__, __LINE__, #cond);   \
			return;                                                                    \
		}                                                                                  \
	}                                                                                          \
	G_STMT_END

static gpointer
peer_thread(gpointer data)
{
	Peer *peer = data;

	if (peer->listen_fd >= 0) {
		peer->fd = accept4(peer->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (peer->fd < 0) {
			peer->failure = g_strdup_printf("accept: %s", g_strerror(errno));
			return NULL;
		}
	}
	peer->script(peer);
	return NULL;
}

static Peer *
peer_start_on(gint fd, gint listen_fd, PeerScript script)
{
	Peer *peer = g_new0(Peer, 1);

	peer->fd = fd;
	peer->listen_fd = listen_fd;
	peer->script = script;
	peer->decoder = qga_decoder_new(0);
	peer->thread = g_thread_new("fake-agent", peer_thread, peer);
	return peer;
}

/* a client on one end of a socketpair, the peer on the other */
static QgaClient *
client_with_peer(PeerScript script, Peer **peer)
{
	gint fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	*peer = peer_start_on(fds[1], -1, script);
	return qga_client_new_for_fd(fds[0]);
}

/* joins the peer and fails the test if its script did */
static void
peer_finish(Peer *peer)
{
	g_thread_join(peer->thread);
	if (peer->fd >= 0)
		close(peer->fd);
	if (peer->listen_fd >= 0)
		close(peer->listen_fd);
	qga_decoder_free(peer->decoder);
	if (peer->failure != NULL) {
		g_autofree gchar *failure = peer->failure;

		g_free(peer->first_decoder_error);
		g_free(peer);
		fail_msg("fake agent: %s", failure);
	}
	g_free(peer->first_decoder_error);
	g_free(peer);
}

static void
peer_write(Peer *peer, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len > 0) {
		gssize n = send(peer->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (peer->failure == NULL)
				peer->failure = g_strdup_printf("send: %s", g_strerror(errno));
			return;
		}
		p += n;
		len -= (gsize)n;
	}
}

static void
peer_write_str(Peer *peer, const gchar *text)
{
	peer_write(peer, text, strlen(text));
}

/* the next request, NULL at EOF or after 10 s; decoder errors are counted */
static JsonNode *
peer_read_value(Peer *peer, gsize read_size)
{
	g_autofree guint8 *buf = g_malloc(read_size);

	for (;;) {
		g_autoptr(GError) error = NULL;
		struct pollfd pfd = {.fd = peer->fd, .events = POLLIN};
		JsonNode *value = NULL;
		gssize n;

		if (qga_decoder_pop(peer->decoder, &value, &error))
			return value;
		if (error != NULL) {
			if (peer->n_decoder_errors++ == 0)
				peer->first_decoder_error = g_strdup(error->message);
			continue;
		}
		if (poll(&pfd, 1, 10000) <= 0)
			return NULL;
		n = read(peer->fd, buf, read_size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		peer->bytes_read += (gsize)n;
		qga_decoder_feed(peer->decoder, buf, (gsize)n);
	}
}

static JsonNode *
peer_read_request(Peer *peer)
{
	return peer_read_value(peer, 4096);
}

/* waits for the client to hang up */
static void
peer_wait_eof(Peer *peer)
{
	for (;;) {
		g_autoptr(JsonNode) value = peer_read_request(peer);

		if (value == NULL)
			return;
	}
}

static const gchar *
request_execute(JsonNode *request)
{
	if (request == NULL || !JSON_NODE_HOLDS_OBJECT(request))
		return NULL;
	return json_object_get_string_member_with_default(json_node_get_object(request), "execute",
							  NULL);
}

static gchar *
request_id_text(JsonNode *request)
{
	JsonNode *id = json_object_get_member(json_node_get_object(request), "id");

	return id != NULL ? qga_json_to_ascii(id) : NULL;
}

/* ---- sync ---- */

static void
script_sync_with_stale(Peer *peer)
{
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(JsonNode) ping = NULL;
	g_autofree gchar *garbage = NULL;
	g_autofree gchar *reply = NULL;
	g_autofree gchar *ping_id = NULL;
	g_autofree gchar *ping_reply = NULL;
	JsonObject *args;
	gint64 id;

	/* what a previous session left in the channel, before the client asks */
	peer_write_str(peer, "{\"return\": {}, \"id\": \"qgatrace-9-00000000\"}\n"
			     "not json at all } ]\x04\n"
			     "\xff{\"return\": 99}\n"
			     "{\"return\": {\"half");
	request = peer_read_request(peer);
	PEER_CHECK(peer, request != NULL);
	/* the 0xff went first: the agent's parser complained about it */
	PEER_CHECK(peer, peer->n_decoder_errors == 1);
	PEER_CHECK(peer, g_strcmp0(peer->first_decoder_error,
				   "JSON parse error, stray '\xef\xbf\xbd'") == 0);
	PEER_CHECK(peer, g_strcmp0(request_execute(request), "guest-sync-delimited") == 0);
	args = json_object_get_object_member(json_node_get_object(request), "arguments");
	PEER_CHECK(peer, args != NULL && json_object_has_member(args, "id"));
	id = json_object_get_int_member(args, "id");
	PEER_CHECK(peer, id > 0 && id < (G_GINT64_CONSTANT(1) << 53));
	PEER_CHECK(peer, !json_object_has_member(json_node_get_object(request), "id"));

	/* as qemu-ga: the complaint, then (here) a stale delimited reply and ours */
	garbage = g_strdup_printf(
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray "
		"'\\uFFFD'\"}}\n"
		"\xff{\"return\": %" G_GINT64_FORMAT "}\n"
		"{\"return\": %" G_GINT64_FORMAT ", \"id\": 1}\n"
		"\"%" G_GINT64_FORMAT "\" ]\n",
		id + 1, id - 1, id);
	peer_write_str(peer, garbage);
	reply = g_strdup_printf("\xff{\"return\": %" G_GINT64_FORMAT "}\n", id);
	peer_write_str(peer, reply);

	/* then an ordinary command goes through on the synced stream */
	ping = peer_read_request(peer);
	PEER_CHECK(peer, g_strcmp0(request_execute(ping), "guest-ping") == 0);
	ping_id = request_id_text(ping);
	PEER_CHECK(peer, ping_id != NULL);
	ping_reply = g_strdup_printf("{\"return\": {}, \"id\": %s}\n", ping_id);
	peer_write_str(peer, ping_reply);
	peer_wait_eof(peer);
}

static void
test_qga_client_sync_skips_stale(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_sync_with_stale, &peer);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;

	assert_true(qga_client_sync(client, &error));
	assert_null(error);
	value = qga_client_execute(client, "guest-ping", NULL, &error);
	assert_null(error);
	assert_non_null(value);
	assert_true(JSON_NODE_HOLDS_OBJECT(value));
	assert_int_equal(json_object_get_size(json_node_get_object(value)), 0);
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

static void
script_silent(Peer *peer)
{
	peer_wait_eof(peer);
}

static void
test_qga_client_sync_timeout(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_silent, &peer);
	g_autoptr(GError) error = NULL;

	qga_client_set_timeout(client, 150);
	assert_false(qga_client_sync(client, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_non_null(strstr(error->message, "guest-sync-delimited"));
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

/* ---- execute ---- */

static void
script_execute_ids(Peer *peer)
{
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(JsonNode) second = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *id2 = NULL;
	g_autofree gchar *replies = NULL;
	g_autofree gchar *error_reply = NULL;
	JsonObject *args;

	request = peer_read_request(peer);
	PEER_CHECK(peer, g_strcmp0(request_execute(request), "guest-file-open") == 0);
	args = json_object_get_object_member(json_node_get_object(request), "arguments");
	PEER_CHECK(peer, args != NULL);
	PEER_CHECK(peer,
		   g_strcmp0(json_object_get_string_member(args, "path"), "/etc/\xc3\xa9") == 0);
	id = request_id_text(request);
	PEER_CHECK(peer, id != NULL);

	/* no id, another id, an id of another type, garbage: all skipped */
	replies =
		g_strdup_printf("{\"return\": \"no id\"}\n"
				"{\"return\": \"other\", \"id\": \"qgatrace-0-00000000\"}\n"
				"{\"return\": \"int\", \"id\": 1}\n"
				"{\"error\": {\"class\": \"GenericError\", \"desc\": \"stale\"}}\n"
				"]]\n"
				"{\"return\": 1000, \"id\": %s}\n",
				id);
	peer_write_str(peer, replies);

	second = peer_read_request(peer);
	PEER_CHECK(peer, g_strcmp0(request_execute(second), "guest-nope") == 0);
	id2 = request_id_text(second);
	/* every request has an id of its own */
	PEER_CHECK(peer, id2 != NULL && g_strcmp0(id, id2) != 0);
	error_reply =
		g_strdup_printf("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
				"\"The command guest-nope has not been found\"}, \"id\": %s}\n",
				id2);
	peer_write_str(peer, error_reply);
	peer_wait_eof(peer);
}

static void
test_qga_client_execute_ignores_other_ids(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_execute_ids, &peer);
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;
	g_autoptr(JsonNode) none = NULL;

	json_object_set_string_member(args, "path", "/etc/\xc3\xa9");
	value = qga_client_execute(client, "guest-file-open", args, &error);
	assert_null(error);
	assert_non_null(value);
	assert_int_equal(json_node_get_int(value), 1000);

	none = qga_client_execute(client, "guest-nope", NULL, &error);
	assert_null(none);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND));
	assert_string_equal(error->message, "The command guest-nope has not been found");
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

static void
test_qga_client_execute_timeout(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_silent, &peer);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;
	gint64 start = g_get_monotonic_time();
	gint64 elapsed_ms;

	qga_client_set_timeout(client, 200);
	value = qga_client_execute(client, "guest-ping", NULL, &error);
	elapsed_ms = (g_get_monotonic_time() - start) / 1000;
	assert_null(value);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_non_null(strstr(error->message, "guest-ping"));
	assert_true(elapsed_ms >= 190);
	assert_true(elapsed_ms < 4000);
	g_clear_error(&error);

	/* recv is bounded the same way */
	assert_null(qga_client_recv(client, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

static void
script_close_after_request(Peer *peer)
{
	g_autoptr(JsonNode) request = peer_read_request(peer);

	PEER_CHECK(peer, g_strcmp0(request_execute(request), "guest-ping") == 0);
	/* a partial reply, then the agent goes away */
	peer_write_str(peer, "{\"return\": {");
	close(peer->fd);
	peer->fd = -1;
}

static void
test_qga_client_peer_close(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_close_after_request, &peer);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;

	qga_client_set_timeout(client, 5000);
	value = qga_client_execute(client, "guest-ping", NULL, &error);
	assert_null(value);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
	assert_string_equal(error->message, "connection closed by the agent");
	g_clear_error(&error);
	peer_finish(peer);

	/* writing to the closed peer: an error, and no SIGPIPE kills the test */
	assert_false(qga_client_send_raw(client, "{}", 2, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
	g_clear_error(&error);
	assert_null(qga_client_recv(client, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
}

static void
test_qga_client_write_to_closed_peer(void **state)
{
	gint fds[2];
	g_autoptr(QgaClient) client = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	close(fds[1]);
	client = qga_client_new_for_fd(fds[0]);
	value = qga_client_execute(client, "guest-ping", NULL, &error);
	assert_null(value);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
}

/* a pipe is no socket: no MSG_NOSIGNAL there, SIGPIPE must still not kill us */
static void
test_qga_client_pipe_no_sigpipe(void **state)
{
	gint fds[2];
	g_autoptr(QgaClient) client = NULL;
	g_autoptr(GError) error = NULL;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	close(fds[0]);
	client = qga_client_new_for_fd(fds[1]);
	assert_false(qga_client_send_raw(client, "\xff", 1, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED));
}

/* ---- raw I/O ---- */

#define BIG_ARG_LEN (8 * 1024 * 1024)

static void
script_big_request(Peer *peer)
{
	/* small reads: the client's writes fill the socket and resume */
	g_autoptr(JsonNode) request = peer_read_value(peer, 1024);
	g_autofree gchar *id = NULL;
	g_autofree gchar *reply = NULL;
	JsonObject *args;

	PEER_CHECK(peer, g_strcmp0(request_execute(request), "guest-file-write") == 0);
	args = json_object_get_object_member(json_node_get_object(request), "arguments");
	PEER_CHECK(peer, args != NULL);
	peer->big_len = strlen(json_object_get_string_member(args, "buf-b64"));
	id = request_id_text(request);
	reply = g_strdup_printf("{\"return\": {\"count\": %" G_GSIZE_FORMAT "}, \"id\": %s}\n",
				peer->big_len, id);
	peer_write_str(peer, reply);
	peer_wait_eof(peer);
}

static void
test_qga_client_partial_writes(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_big_request, &peer);
	g_autoptr(JsonObject) args = json_object_new();
	g_autofree gchar *big = g_malloc(BIG_ARG_LEN + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) value = NULL;

	/* 8 MiB is far more than a socket buffer: the writes must resume */
	memset(big, 'B', BIG_ARG_LEN);
	big[BIG_ARG_LEN] = '\0';
	json_object_set_string_member(args, "buf-b64", big);
	qga_client_set_timeout(client, 30000);
	value = qga_client_execute(client, "guest-file-write", args, &error);
	assert_null(error);
	assert_non_null(value);
	assert_int_equal(json_object_get_int_member(json_node_get_object(value), "count"),
			 BIG_ARG_LEN);
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

static void
script_raw(Peer *peer)
{
	g_autoptr(JsonNode) request = peer_read_request(peer);

	PEER_CHECK(peer, request != NULL);
	PEER_CHECK(peer, JSON_NODE_HOLDS_ARRAY(request));
	peer_write_str(peer, "} \"not an object\"\n{\"return\": 1}");
	peer_wait_eof(peer);
}

static void
test_qga_client_raw_send_recv(void **state)
{
	Peer *peer = NULL;
	g_autoptr(QgaClient) client = client_with_peer(script_raw, &peer);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) str = NULL;
	g_autoptr(JsonNode) obj = NULL;

	assert_true(qga_client_send_raw(client, "[1, 2]", 6, &error));
	assert_null(error);
	/* recv hands out whatever came, decoder errors included */
	assert_null(qga_client_recv(client, &error));
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC));
	assert_string_equal(error->message, "JSON parse error, stray '}'");
	g_clear_error(&error);
	str = qga_client_recv(client, &error);
	assert_null(error);
	assert_string_equal(json_node_get_string(str), "not an object");
	obj = qga_client_recv(client, &error);
	assert_null(error);
	assert_int_equal(json_object_get_int_member(json_node_get_object(obj), "return"), 1);
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);
}

/* ---- connect ---- */

static void
script_ping(Peer *peer)
{
	g_autoptr(JsonNode) request = peer_read_request(peer);
	g_autofree gchar *id = NULL;
	g_autofree gchar *reply = NULL;

	PEER_CHECK(peer, g_strcmp0(request_execute(request), "guest-ping") == 0);
	id = request_id_text(request);
	reply = g_strdup_printf("{\"return\": {}, \"id\": %s}\n", id);
	peer_write_str(peer, reply);
	peer_wait_eof(peer);
}

static gint
bind_unix(const gchar *path, gboolean do_listen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gint fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

static void
test_qga_client_connect_unix(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("qga-client-XXXXXX", &error);
	g_autofree gchar *path = NULL;
	g_autofree gchar *dead_path = NULL;
	g_autofree gchar *missing = NULL;
	g_autofree gchar *long_path = NULL;
	g_autoptr(QgaClient) client = NULL;
	g_autoptr(JsonNode) value = NULL;
	Peer *peer;
	gint dead_fd;

	assert_non_null(dir);
	path = g_build_filename(dir, "qga.sock", NULL);
	peer = peer_start_on(-1, bind_unix(path, TRUE), script_ping);
	client = qga_client_connect_unix(path, &error);
	assert_null(error);
	assert_non_null(client);
	value = qga_client_execute(client, "guest-ping", NULL, &error);
	assert_null(error);
	assert_non_null(value);
	g_clear_pointer(&client, qga_client_free);
	peer_finish(peer);

	/* the G_IO_ERROR code of a failed connect is kept */
	missing = g_build_filename(dir, "missing.sock", NULL);
	assert_null(qga_client_connect_unix(missing, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	g_clear_error(&error);

	dead_path = g_build_filename(dir, "dead.sock", NULL);
	dead_fd = bind_unix(dead_path, FALSE);
	assert_null(qga_client_connect_unix(dead_path, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED));
	g_clear_error(&error);
	close(dead_fd);

	long_path = g_strnfill(200, 'x');
	assert_null(qga_client_connect_unix(long_path, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));

	g_unlink(path);
	g_unlink(dead_path);
	g_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_client_sync_skips_stale),
		cmocka_unit_test(test_qga_client_sync_timeout),
		cmocka_unit_test(test_qga_client_execute_ignores_other_ids),
		cmocka_unit_test(test_qga_client_execute_timeout),
		cmocka_unit_test(test_qga_client_peer_close),
		cmocka_unit_test(test_qga_client_write_to_closed_peer),
		cmocka_unit_test(test_qga_client_pipe_no_sigpipe),
		cmocka_unit_test(test_qga_client_partial_writes),
		cmocka_unit_test(test_qga_client_raw_send_recv),
		cmocka_unit_test(test_qga_client_connect_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
