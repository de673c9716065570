/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
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

#include "qga-error.h"
#include "qmp-client.h"

/*
 * A fake QEMU monitor: a thread that accepts on a UNIX socket and runs a
 * script. cmocka's asserts belong to the main thread, so the script uses
 * g_assert and records what the test checks after joining.
 */
typedef struct _FakeQmp FakeQmp;
typedef void (*FakeQmpScript)(FakeQmp *fake);

struct _FakeQmp {
	gchar *dir;
	gchar *path;
	gint listen_fd;
	gint fd;
	FakeQmpScript script;
	GThread *thread;
	GString *pending;
	gint passed_fd;	  /* came with the last request; -1: none */
	GPtrArray *ids;	  /* of every request, as text */
	guint fds_passed; /* requests that came with an fd */
};

#define FAKE_GREETING                                                                              \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "         \
	"\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}"

static void
fake_send(FakeQmp *fake, const gchar *text)
{
	g_autofree gchar *line = g_strconcat(text, "\r\n", NULL);

	/* the client may be gone already (the timeout tests): no SIGPIPE */
	(void)send(fake->fd, line, strlen(line), MSG_NOSIGNAL);
}

/* the next request, or NULL at EOF; an fd that came with it is in passed_fd */
static JsonObject *
fake_recv(FakeQmp *fake)
{
	gchar *nl;

	if (fake->passed_fd >= 0)
		close(fake->passed_fd);
	fake->passed_fd = -1;
	while ((nl = strchr(fake->pending->str, '\n')) == NULL) {
		gchar buf[4096];
		union {
			struct cmsghdr align;
			gchar buf[CMSG_SPACE(sizeof(gint))];
		} control;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buf,
				     .msg_controllen = sizeof(control.buf)};
		gssize n = recvmsg(fake->fd, &msg, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				g_assert(fake->passed_fd < 0);
				memcpy(&fake->passed_fd, CMSG_DATA(c), sizeof(gint));
				fake->fds_passed++;
			}
		}
		g_string_append_len(fake->pending, buf, n);
	}
	{
		g_autofree gchar *line = g_strndup(fake->pending->str, nl - fake->pending->str);
		g_autoptr(JsonNode) root = json_from_string(line, NULL);
		JsonObject *req;

		g_string_erase(fake->pending, 0, nl - fake->pending->str + 1);
		g_assert(root != NULL && JSON_NODE_HOLDS_OBJECT(root));
		req = json_node_dup_object(root);
		g_assert(json_object_has_member(req, "id"));
		g_ptr_array_add(fake->ids,
				json_to_string(json_object_get_member(req, "id"), FALSE));
		return req;
	}
}

/* Returns: (transfer full): the next request, which must be @command */
static JsonObject *
fake_expect(FakeQmp *fake, const gchar *command)
{
	JsonObject *req = fake_recv(fake);

	g_assert(req != NULL);
	g_assert_cmpstr(json_object_get_string_member(req, "execute"), ==, command);
	return req;
}

/* sends {@member: @value_json, "id": the request's id} */
static void
fake_reply(FakeQmp *fake, JsonObject *req, const gchar *member, const gchar *value_json)
{
	g_autofree gchar *id = json_to_string(json_object_get_member(req, "id"), FALSE);
	g_autofree gchar *text =
		g_strdup_printf("{\"%s\": %s, \"id\": %s}", member, value_json, id);

	fake_send(fake, text);
}

static void
fake_event(FakeQmp *fake, const gchar *name, guint n)
{
	g_autofree gchar *text = g_strdup_printf(
		"{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": %u}, \"event\": \"%s\", "
		"\"data\": {\"n\": %u}}",
		n, name, n);

	fake_send(fake, text);
}

/* the greeting and qmp_capabilities, as QEMU has them */
static void
fake_negotiate(FakeQmp *fake)
{
	g_autoptr(JsonObject) caps = NULL;

	fake_send(fake, FAKE_GREETING);
	caps = fake_expect(fake, "qmp_capabilities");
	fake_reply(fake, caps, "return", "{}");
}

/* reads until the client hangs up */
static void
fake_drain(FakeQmp *fake)
{
	JsonObject *req;

	while ((req = fake_recv(fake)) != NULL)
		json_object_unref(req);
}

static gpointer
fake_thread(gpointer data)
{
	FakeQmp *fake = data;

	fake->fd = accept4(fake->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	g_assert(fake->fd >= 0);
	fake->script(fake);
	fake_drain(fake);
	return NULL;
}

/* @script: (nullable): none, for a monitor that never accepts */
static FakeQmp *
fake_start(FakeQmpScript script)
{
	FakeQmp *fake = g_new0(FakeQmp, 1);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	fake->dir = g_dir_make_tmp("test-qmp-client-XXXXXX", NULL);
	fake->path = g_build_filename(fake->dir, "qmp.sock", NULL);
	fake->fd = -1;
	fake->passed_fd = -1;
	fake->pending = g_string_new(NULL);
	fake->ids = g_ptr_array_new_with_free_func(g_free);
	fake->script = script;
	g_assert(strlen(fake->path) < sizeof(addr.sun_path));
	strcpy(addr.sun_path, fake->path);
	fake->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert(bind(fake->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	g_assert(listen(fake->listen_fd, 1) == 0);
	if (script != NULL)
		fake->thread = g_thread_new("fake-qmp", fake_thread, fake);
	return fake;
}

/* joins the script: the client must be gone */
static void
fake_finish(FakeQmp *fake)
{
	if (fake->thread != NULL)
		g_thread_join(fake->thread);
	if (fake->fd >= 0)
		close(fake->fd);
	if (fake->passed_fd >= 0)
		close(fake->passed_fd);
	close(fake->listen_fd);
	g_unlink(fake->path);
	g_rmdir(fake->dir);
	g_free(fake->path);
	g_free(fake->dir);
	g_string_free(fake->pending, TRUE);
	g_ptr_array_unref(fake->ids);
	g_free(fake);
}

static QmpClient *
connect_ok(FakeQmp *fake, guint timeout_ms)
{
	g_autoptr(GError) error = NULL;
	QmpClient *qmp = qmp_client_connect_unix(fake->path, timeout_ms, &error);

	if (qmp == NULL)
		fail_msg("connect: %s", error->message);
	return qmp;
}

static const gchar *
event_name(GPtrArray *events, guint i)
{
	return json_object_get_string_member(json_node_get_object(g_ptr_array_index(events, i)),
					     "event");
}

static gint64
event_n(JsonNode *event)
{
	return json_object_get_int_member(
		json_object_get_object_member(json_node_get_object(event), "data"), "n");
}

/* ---- greeting and capabilities ---- */

static void
script_negotiate_only(FakeQmp *fake)
{
	fake_negotiate(fake);
}

static void
test_qmp_client_greeting(void **state)
{
	FakeQmp *fake = fake_start(script_negotiate_only);
	QmpClient *qmp = connect_ok(fake, 2000);
	const gchar *const *caps = qmp_client_get_capabilities(qmp);
	g_autoptr(GPtrArray) events = NULL;

	assert_string_equal(qmp_client_get_version(qmp), "7.2.22");
	assert_non_null(caps);
	assert_int_equal(g_strv_length((GStrv)caps), 1);
	assert_string_equal(caps[0], "oob");
	assert_int_equal(qmp_client_get_commands(qmp), 1);
	events = qmp_client_take_events(qmp);
	assert_int_equal(events->len, 0);
	qmp_client_free(qmp);
	fake_finish(fake);
}

/* ---- id matching ---- */

static void
script_interleaved(FakeQmp *fake)
{
	g_autoptr(JsonObject) status = NULL;
	g_autoptr(JsonObject) name = NULL;

	fake_negotiate(fake);
	status = fake_expect(fake, "query-status");
	/* a previous client's reply, an event, a reply without id, another event */
	fake_send(fake, "{\"return\": {\"running\": false}, \"id\": \"someone-else\"}");
	fake_event(fake, "STOP", 1);
	fake_send(fake, "{\"return\": {\"running\": false}}");
	fake_event(fake, "RESUME", 2);
	fake_reply(fake, status, "return", "{\"running\": true, \"status\": \"running\"}");
	name = fake_expect(fake, "query-name");
	fake_send(fake, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"stale\"}, "
			"\"id\": \"someone-else\"}");
	fake_reply(fake, name, "return", "{\"name\": \"vm1\"}");
}

static void
test_qmp_client_id_matching(void **state)
{
	FakeQmp *fake = fake_start(script_interleaved);
	QmpClient *qmp = connect_ok(fake, 2000);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) status = qmp_client_execute(qmp, "query-status", NULL, &error);
	g_autoptr(JsonNode) name = NULL;
	g_autoptr(JsonNode) resume = NULL;
	g_autoptr(GPtrArray) events = NULL;
	g_autoptr(GPtrArray) none = NULL;

	assert_non_null(status);
	assert_true(json_object_get_boolean_member(json_node_get_object(status), "running"));
	name = qmp_client_execute(qmp, "query-name", NULL, &error);
	assert_non_null(name);
	assert_string_equal(json_object_get_string_member(json_node_get_object(name), "name"),
			    "vm1");
	assert_int_equal(qmp_client_get_commands(qmp), 3);
	/* a kept event is taken from the queue, the others stay in order */
	resume = qmp_client_wait_event(qmp, "RESUME", 100, &error);
	assert_non_null(resume);
	assert_int_equal(event_n(resume), 2);
	events = qmp_client_take_events(qmp);
	assert_int_equal(events->len, 1);
	assert_string_equal(event_name(events, 0), "STOP");
	none = qmp_client_take_events(qmp);
	assert_int_equal(none->len, 0);
	assert_int_equal(qmp_client_get_events_dropped(qmp), 0);
	qmp_client_free(qmp);
	g_thread_join(fake->thread);
	fake->thread = NULL;
	/* every request had an id of its own */
	assert_int_equal(fake->ids->len, 3);
	for (guint i = 0; i < fake->ids->len; i++)
		for (guint j = i + 1; j < fake->ids->len; j++)
			assert_string_not_equal(g_ptr_array_index(fake->ids, i),
						g_ptr_array_index(fake->ids, j));
	fake_finish(fake);
}

/* ---- error replies ---- */

static void
script_errors(FakeQmp *fake)
{
	g_autoptr(JsonObject) first = NULL;
	g_autoptr(JsonObject) second = NULL;
	g_autoptr(JsonObject) third = NULL;

	fake_negotiate(fake);
	first = fake_expect(fake, "device_del");
	fake_reply(fake, first, "error",
		   "{\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not found\"}");
	second = fake_expect(fake, "pmemsave");
	fake_reply(fake, second, "error",
		   "{\"class\": \"GenericError\", \"desc\": \"Could not open '/x': Permission "
		   "denied\"}");
	third = fake_expect(fake, "query-status");
	fake_reply(fake, third, "return", "{\"running\": true}");
}

static void
test_qmp_client_error_reply(void **state)
{
	FakeQmp *fake = fake_start(script_errors);
	QmpClient *qmp = connect_ok(fake, 2000);
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = NULL;

	json_object_set_string_member(args, "id", "nope");
	assert_null(qmp_client_execute(qmp, "device_del", args, &error));
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_DEVICE_NOT_FOUND));
	assert_string_equal(error->message, "Device 'nope' not found");
	g_clear_error(&error);
	assert_null(qmp_client_execute(qmp, "pmemsave", NULL, &error));
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC));
	assert_string_equal(error->message, "Could not open '/x': Permission denied");
	g_clear_error(&error);
	/* the connection goes on */
	ret = qmp_client_execute(qmp, "query-status", NULL, &error);
	assert_non_null(ret);
	qmp_client_free(qmp);
	fake_finish(fake);
}

/* ---- fd passing ---- */

#define FAKE_FD_TEXT "written by QEMU into the passed fd"

static void
script_getfd(FakeQmp *fake)
{
	g_autoptr(JsonObject) plain = NULL;
	g_autoptr(JsonObject) getfd = NULL;

	fake_negotiate(fake);
	plain = fake_expect(fake, "query-status");
	g_assert(fake->passed_fd < 0);
	fake_reply(fake, plain, "return", "{\"running\": true}");
	getfd = fake_expect(fake, "getfd");
	g_assert(fake->passed_fd >= 0);
	g_assert_cmpstr(json_object_get_string_member(
				json_object_get_object_member(getfd, "arguments"), "fdname"),
			==, "test");
	g_assert(write(fake->passed_fd, FAKE_FD_TEXT, strlen(FAKE_FD_TEXT)) ==
		 (gssize)strlen(FAKE_FD_TEXT));
	fake_reply(fake, getfd, "return", "{}");
}

static void
test_qmp_client_fd_passing(void **state)
{
	FakeQmp *fake = fake_start(script_getfd);
	QmpClient *qmp = connect_ok(fake, 2000);
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) ret = NULL;
	gchar buf[128] = {0};
	gint pipe_fds[2];
	gssize n;

	assert_int_equal(pipe(pipe_fds), 0);
	status = qmp_client_execute(qmp, "query-status", NULL, &error);
	assert_non_null(status);
	json_object_set_string_member(args, "fdname", "test");
	ret = qmp_client_execute_with_fd(qmp, "getfd", args, pipe_fds[1], &error);
	if (ret == NULL)
		fail_msg("getfd: %s", error->message);
	/* the caller keeps its fd; QEMU's copy was written through */
	assert_int_equal(close(pipe_fds[1]), 0);
	qmp_client_free(qmp);
	fake_finish(fake);
	n = read(pipe_fds[0], buf, sizeof(buf) - 1);
	close(pipe_fds[0]);
	assert_int_equal(n, strlen(FAKE_FD_TEXT));
	assert_string_equal(buf, FAKE_FD_TEXT);
}

/* ---- events ---- */

static void
script_event_flood(FakeQmp *fake)
{
	g_autoptr(JsonObject) status = NULL;

	fake_negotiate(fake);
	status = fake_expect(fake, "query-status");
	for (guint i = 0; i < QMP_CLIENT_EVENTS_MAX + 76; i++)
		fake_event(fake, "BLOCK_IO_ERROR", i);
	fake_reply(fake, status, "return", "{\"running\": true}");
}

static void
test_qmp_client_events_bounded(void **state)
{
	FakeQmp *fake = fake_start(script_event_flood);
	QmpClient *qmp = connect_ok(fake, 5000);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) status = qmp_client_execute(qmp, "query-status", NULL, &error);
	g_autoptr(GPtrArray) events = NULL;

	assert_non_null(status);
	events = qmp_client_take_events(qmp);
	/* the newest are kept, the oldest dropped and counted */
	assert_int_equal(events->len, QMP_CLIENT_EVENTS_MAX);
	assert_int_equal(qmp_client_get_events_dropped(qmp), 76);
	assert_int_equal(event_n(g_ptr_array_index(events, 0)), 76);
	assert_int_equal(event_n(g_ptr_array_index(events, events->len - 1)),
			 QMP_CLIENT_EVENTS_MAX + 75);
	qmp_client_free(qmp);
	fake_finish(fake);
}

static void
script_events_after_cont(FakeQmp *fake)
{
	g_autoptr(JsonObject) cont = NULL;

	fake_negotiate(fake);
	cont = fake_expect(fake, "cont");
	fake_reply(fake, cont, "return", "{}");
	g_usleep(50 * G_TIME_SPAN_MILLISECOND);
	fake_event(fake, "STOP", 1);
	fake_send(fake, "{\"return\": {}, \"id\": \"late\"}");
	fake_event(fake, "GUEST_PANICKED", 2);
}

static void
test_qmp_client_wait_event(void **state)
{
	FakeQmp *fake = fake_start(script_events_after_cont);
	QmpClient *qmp = connect_ok(fake, 2000);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = qmp_client_execute(qmp, "cont", NULL, &error);
	g_autoptr(JsonNode) panicked = NULL;
	g_autoptr(GPtrArray) events = NULL;
	gint64 started;

	assert_non_null(ret);
	panicked = qmp_client_wait_event(qmp, "GUEST_PANICKED", 2000, &error);
	if (panicked == NULL)
		fail_msg("waiting for GUEST_PANICKED: %s", error->message);
	assert_int_equal(event_n(panicked), 2);
	/* the event that came first is kept */
	events = qmp_client_take_events(qmp);
	assert_int_equal(events->len, 1);
	assert_string_equal(event_name(events, 0), "STOP");
	/* none comes: bounded by the deadline */
	started = g_get_monotonic_time();
	assert_null(qmp_client_wait_event(qmp, "RESUME", 150, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_true(g_get_monotonic_time() - started < G_USEC_PER_SEC);
	qmp_client_free(qmp);
	fake_finish(fake);
}

/* ---- timeouts and sockets that are not QMP ---- */

static void
script_silent(FakeQmp *fake)
{
}

/* a monitor that accepts and never greets, and one that never accepts */
static void
test_qmp_client_silent_server(void **state)
{
	FakeQmpScript scripts[] = {script_silent, NULL};

	for (guint i = 0; i < G_N_ELEMENTS(scripts); i++) {
		FakeQmp *fake = fake_start(scripts[i]);
		g_autoptr(GError) error = NULL;
		gint64 started = g_get_monotonic_time();

		assert_null(qmp_client_connect_unix(fake->path, 200, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
		assert_non_null(strstr(error->message, "one QMP client at a time"));
		assert_true(g_get_monotonic_time() - started < 2 * G_USEC_PER_SEC);
		fake_finish(fake);
	}
}

/* events keep coming, the reply never does: the wait still ends */
static void
script_no_reply(FakeQmp *fake)
{
	g_autoptr(JsonObject) stop = NULL;

	fake_negotiate(fake);
	stop = fake_expect(fake, "stop");
	for (guint i = 0; i < 40; i++) {
		fake_event(fake, "RTC_CHANGE", i);
		g_usleep(20 * G_TIME_SPAN_MILLISECOND);
	}
}

static void
test_qmp_client_execute_timeout(void **state)
{
	FakeQmp *fake = fake_start(script_no_reply);
	QmpClient *qmp = connect_ok(fake, 2000);
	g_autoptr(GError) error = NULL;
	gint64 started;
	gint64 elapsed;

	qmp_client_set_timeout(qmp, 200);
	started = g_get_monotonic_time();
	assert_null(qmp_client_execute(qmp, "stop", NULL, &error));
	elapsed = g_get_monotonic_time() - started;
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	assert_true(elapsed >= 190 * G_TIME_SPAN_MILLISECOND);
	assert_true(elapsed < 600 * G_TIME_SPAN_MILLISECOND);
	qmp_client_free(qmp);
	fake_finish(fake);
}

static void
script_not_qmp_json(FakeQmp *fake)
{
	/* a QGA agent's reply, say */
	fake_send(fake, "{\"return\": {}}");
}

static void
script_not_qmp_text(FakeQmp *fake)
{
	fake_send(fake, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	fake_send(fake, "{\"QMP\": [1]}");
}

static void
test_qmp_client_not_qmp(void **state)
{
	FakeQmpScript scripts[] = {script_not_qmp_json, script_not_qmp_text};
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(scripts); i++) {
		FakeQmp *fake = fake_start(scripts[i]);

		assert_null(qmp_client_connect_unix(fake->path, 1000, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
		assert_non_null(strstr(error->message, "is not a QMP socket"));
		assert_non_null(strstr(error->message, fake->path));
		g_clear_error(&error);
		fake_finish(fake);
	}
	assert_null(qmp_client_connect_unix("/nonexistent/qmp.sock", 1000, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "/nonexistent/qmp.sock"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qmp_client_greeting),
		cmocka_unit_test(test_qmp_client_id_matching),
		cmocka_unit_test(test_qmp_client_error_reply),
		cmocka_unit_test(test_qmp_client_fd_passing),
		cmocka_unit_test(test_qmp_client_events_bounded),
		cmocka_unit_test(test_qmp_client_wait_event),
		cmocka_unit_test(test_qmp_client_silent_server),
		cmocka_unit_test(test_qmp_client_execute_timeout),
		cmocka_unit_test(test_qmp_client_not_qmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
