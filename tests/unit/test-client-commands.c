/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host client's commands end to end against a fake agent on a UNIX
 * socket (a thread speaking the QGA protocol with canned replies): exit
 * statuses, --json shapes and the human output, the snapshot's always-thaw,
 * the handshake through garbage, an agent that never answers, and one that
 * lies with terminal escapes in every string and numbers JSON cannot hold. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "client-commands.h"
#include "client-freeze-plan.h"
#include "qga-codec.h"
#include "qga-json.h"
#include "qga-session-index.h"

/* ---- a UNIX socket served by a thread, one connection at a time ---- */

typedef void (*FakeServeFunc)(gpointer data, gint fd);

typedef struct {
	gchar *dir;
	gchar *path;
	gint listen_fd;
	GThread *thread;
	gint stop;
	FakeServeFunc serve;
	gpointer data;
} FakeListener;

static void
fake_listener_open(FakeListener *self, const gchar *name, FakeServeFunc serve, gpointer data)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	self->dir = g_dir_make_tmp("test-client-XXXXXX", NULL);
	assert_non_null(self->dir);
	self->path = g_build_filename(self->dir, name, NULL);
	self->serve = serve;
	self->data = data;
	self->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(self->listen_fd >= 0);
	g_strlcpy(addr.sun_path, self->path, sizeof(addr.sun_path));
	assert_int_equal(bind(self->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(self->listen_fd, 4), 0);
}

static gpointer
fake_listener_thread(gpointer data)
{
	FakeListener *self = data;

	while (!g_atomic_int_get(&self->stop)) {
		struct pollfd pfd = {self->listen_fd, POLLIN, 0};
		gint fd;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept(self->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		self->serve(self->data, fd);
		close(fd);
	}
	return NULL;
}

static void
fake_listener_start(FakeListener *self, const gchar *thread_name)
{
	self->thread = g_thread_new(thread_name, fake_listener_thread, self);
}

static void
fake_listener_close(FakeListener *self)
{
	g_atomic_int_set(&self->stop, 1);
	if (self->thread != NULL)
		g_thread_join(self->thread);
	close(self->listen_fd);
	g_unlink(self->path);
	g_rmdir(self->dir);
	g_free(self->path);
	g_free(self->dir);
}

/* ---- the fake agent ---- */

typedef struct _Fake {
	FakeListener sock;
	const gchar *path;   /* sock.path */
	gboolean silent;     /* accept, read, never answer */
	gboolean no_serials; /* guest-get-fsinfo names no disk serial (a lying agent) */
	/* guest-dmesg lies: "truncated" without moving next-seq, or a new boot id every time */
	enum { FAKE_DMESG_OK, FAKE_DMESG_STALL, FAKE_DMESG_CHURN } dmesg;
	guint dmesg_calls;
	/* stock qemu-ga: no guest-dmesg; guest-exec runs the one-shot agent, or is blocked */
	enum { FAKE_EXEC_NONE, FAKE_EXEC_OK, FAKE_EXEC_BLOCKED } exec;
	gchar *exec_out;   /* the last guest-exec's stdout */
	guint exec_polls;  /* guest-exec-status calls for it */
	gboolean tracing;  /* lists and answers guest-trace-* */
	gboolean hostile;  /* FAKE_POISON in every string, FAKE_NUMBER in every object */
	gchar *garbage;	   /* written to every new connection first */
	JsonNode *session; /* what guest-trace-fetch returns after a thaw */
	/* stock qemu-ga with the hook: guest-file-* over the hook's index and
	 * @session (listed once @freezer thawed); @files_blocked: qemu-ga -b */
	gboolean hook_files;
	gboolean files_blocked;
	gint open_handles;
	struct _Fake *freezer; /* whose thaw makes a new session; NULL: this one */
	GMutex lock;
	GPtrArray *calls; /* of gchar*, every command received */
	gboolean frozen;
	guint thaws;
} Fake;

static const gchar *const fake_commands[] = {"guest-sync-delimited",
					     "guest-sync",
					     "guest-ping",
					     "guest-info",
					     "guest-fsfreeze-status",
					     "guest-fsfreeze-freeze",
					     "guest-fsfreeze-freeze-list",
					     "guest-fsfreeze-thaw",
					     "guest-fsfreeze-plan",
					     "guest-get-fsinfo",
					     "guest-get-host-name",
					     "guest-get-osinfo",
					     "guest-dmesg",
					     "guest-get-time",
					     NULL};

/* what a lying agent puts in its strings: an OSC title change, BEL, a
 * screen clear, and the C1 controls CSI and OSC (U+009B, U+009D) */
#define FAKE_POISON                                                                                \
	"\x1b]0;owned\x07\x1b[2J\xc2\x9b"                                                          \
	"31m\xc2\x9d"                                                                              \
	"0;x\x07"
/* and in every object a member json-glib would write as 1e+30.0 */
#define FAKE_NUMBER_MEMBER	"x-number"
#define FAKE_NUMBER_PLACEHOLDER "\"@number@\""
#define FAKE_NUMBER		"1e30"

static gchar *
fake_fixture(const gchar *name)
{
	g_autofree gchar *path = g_build_filename(FIXTURES_DIR, "client", name, NULL);
	gchar *text = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

static JsonNode *
fake_parse(const gchar *text)
{
	JsonNode *node = json_from_string(text, NULL);

	assert_non_null(node);
	return node;
}

static JsonNode *
fake_info(Fake *fake)
{
	JsonObject *info = json_object_new();
	JsonArray *cmds = json_array_new();

	for (guint i = 0; fake_commands[i] != NULL; i++) {
		JsonObject *c = json_object_new();

		json_object_set_string_member(c, "name", fake_commands[i]);
		json_object_set_boolean_member(c, "enabled", TRUE);
		json_array_add_object_element(cmds, c);
	}
	if (fake->hook_files) {
		static const gchar *const file_cmds[] = {"guest-file-open", "guest-file-read",
							 "guest-file-close"};

		for (guint i = 0; i < G_N_ELEMENTS(file_cmds); i++) {
			JsonObject *c = json_object_new();

			json_object_set_string_member(c, "name", file_cmds[i]);
			json_object_set_boolean_member(c, "enabled", !fake->files_blocked);
			json_array_add_object_element(cmds, c);
		}
	}
	if (fake->tracing) {
		for (guint i = 0; i < 2; i++) {
			JsonObject *c = json_object_new();

			json_object_set_string_member(
				c, "name", i == 0 ? "guest-trace-status" : "guest-trace-fetch");
			json_object_set_boolean_member(c, "enabled", TRUE);
			json_array_add_object_element(cmds, c);
		}
	}
	json_object_set_string_member(info, "version", fake->tracing ? "0.1.0" : "7.2.22");
	if (fake->hostile) {
		JsonObject *c = json_object_new();

		json_object_set_string_member(c, "name", "guest-exec" FAKE_POISON);
		json_object_set_boolean_member(c, "enabled", FALSE);
		json_array_add_object_element(cmds, c);
		json_object_set_string_member(info, "version", "0.1.0" FAKE_POISON);
	}
	json_object_set_array_member(info, "supported_commands", cmds);
	return qga_json_object_new_node(info);
}

/* guest-dmesg's return text for @args (the cursor: no new records) */
static gchar *
fake_dmesg_reply(JsonObject *args)
{
	g_autofree gchar *records = fake_fixture("dmesg-tail.json");

	return g_strdup_printf(
		"{\"source\":\"kmsg\",\"first-seq\":0,\"next-seq\":347,\"missed\":0,\"truncated\":false,"
		"\"boot-id\":\"b\",\"records\":%s}",
		args != NULL && json_object_has_member(args, "since-seq") ? "[]" : records);
}

/* guest-exec of "qgatrace-agent --dmesg ARGS": its stdout is guest-dmesg's reply */
static JsonNode *
fake_exec(Fake *fake, JsonObject *args)
{
	JsonArray *argv = json_object_get_array_member(args, "arg");
	g_autoptr(JsonNode) dmesg_args = NULL;

	assert_string_equal(json_object_get_string_member(args, "path"), "qgatrace-agent");
	assert_true(json_object_get_boolean_member(args, "capture-output"));
	assert_int_equal(json_array_get_length(argv), 2);
	assert_string_equal(json_array_get_string_element(argv, 0), "--dmesg");
	dmesg_args = fake_parse(json_array_get_string_element(argv, 1));
	assert_true(JSON_NODE_HOLDS_OBJECT(dmesg_args));
	g_free(fake->exec_out);
	fake->exec_out = fake_dmesg_reply(json_node_get_object(dmesg_args));
	fake->exec_polls = 0;
	return fake_parse("{\"pid\":4242}");
}

static gboolean
fake_has_new_session(Fake *fake)
{
	Fake *freezer = fake->freezer != NULL ? fake->freezer : fake;

	return freezer->thaws > 0 && fake->session != NULL;
}

/* the hook's files: handle 1 the index, 2 the session file it lists */
static JsonNode *
fake_answer_file(Fake *fake, const gchar *cmd, JsonObject *args, const gchar **klass, gchar **desc)
{
	const gchar *id = fake->session != NULL
				  ? json_object_get_string_member(
					    json_node_get_object(fake->session), "session")
				  : "none";
	g_autofree gchar *session_path = g_strdup_printf("%s/%s.json", QGA_SESSION_DIR, id);
	g_autofree gchar *text = NULL;
	g_autofree gchar *b64 = NULL;
	g_autofree gchar *reply = NULL;
	gint64 handle =
		args != NULL ? json_object_get_int_member_with_default(args, "handle", 0) : 0;

	*klass = "GenericError";
	if (fake->files_blocked) {
		*klass = "CommandNotFound";
		*desc = g_strdup_printf("Command %s has been disabled", cmd);
		return NULL;
	}
	if (g_strcmp0(cmd, "guest-file-open") == 0) {
		const gchar *path = json_object_get_string_member(args, "path");

		/* read-only, and only what the index names */
		assert_string_equal(json_object_get_string_member(args, "mode"), "r");
		if (g_strcmp0(path, QGA_SESSION_INDEX_PATH) != 0 &&
		    !(fake_has_new_session(fake) && g_strcmp0(path, session_path) == 0)) {
			*desc = g_strdup_printf("failed to open file '%s' (mode: 'r'): No such "
						"file or directory",
						path);
			return NULL;
		}
		fake->open_handles++;
		return json_node_init_int(json_node_alloc(),
					  g_strcmp0(path, QGA_SESSION_INDEX_PATH) == 0 ? 1 : 2);
	}
	if (g_strcmp0(cmd, "guest-file-close") == 0) {
		fake->open_handles--;
		return qga_json_object_new_node(json_object_new());
	}
	if (handle == 1 && fake_has_new_session(fake)) {
		const gchar *ids[] = {id, "qemu-ga-1-1"};

		text = qga_session_index_to_text(ids, 2);
	} else if (handle == 1) {
		text = qga_session_index_to_text(NULL, 0);
	} else {
		text = json_to_string(fake->session, FALSE);
	}
	/* all at once: the client asks for more than these few KB */
	b64 = g_base64_encode((const guchar *)text, strlen(text));
	reply = g_strdup_printf("{\"count\":%zu,\"buf-b64\":\"%s\",\"eof\":true}", strlen(text),
				b64);
	return fake_parse(reply);
}

/* the reply value for @cmd, or NULL with *@klass/@desc for an error reply */
static JsonNode *
fake_answer_honest(Fake *fake, const gchar *cmd, JsonObject *args, const gchar **klass,
		   gchar **desc)
{
	g_mutex_lock(&fake->lock);
	g_ptr_array_add(fake->calls, g_strdup(cmd));
	g_mutex_unlock(&fake->lock);
	*klass = "CommandNotFound";
	if (fake->hook_files && g_str_has_prefix(cmd, "guest-file-"))
		return fake_answer_file(fake, cmd, args, klass, desc);
	if (g_strcmp0(cmd, "guest-ping") == 0)
		return qga_json_object_new_node(json_object_new());
	if (g_strcmp0(cmd, "guest-info") == 0)
		return fake_info(fake);
	if (g_strcmp0(cmd, "guest-fsfreeze-status") == 0)
		return json_node_init_string(json_node_alloc(), fake->frozen ? "frozen" : "thawed");
	if (g_str_has_prefix(cmd, "guest-fsfreeze-freeze")) {
		fake->frozen = TRUE;
		return json_node_init_int(json_node_alloc(), 1);
	}
	if (g_strcmp0(cmd, "guest-fsfreeze-plan") == 0) {
		g_autofree gchar *plan = fake_fixture("freeze-plan.json");

		return fake_parse(plan);
	}
	if (g_strcmp0(cmd, "guest-fsfreeze-thaw") == 0) {
		gint n = fake->frozen ? 1 : 0;

		fake->frozen = FALSE;
		fake->thaws++;
		return json_node_init_int(json_node_alloc(), n);
	}
	/* with an element a hostile agent could send: commands skip it */
	if (g_strcmp0(cmd, "guest-get-fsinfo") == 0 && fake->no_serials)
		return fake_parse(
			"[{\"name\":\"vda\",\"mountpoint\":\"/mnt/data\",\"type\":\"ext4\","
			"\"disk\":[{\"bus-type\":\"virtio\"}]}]");
	if (g_strcmp0(cmd, "guest-get-fsinfo") == 0)
		return fake_parse(
			"[1,{\"name\":\"vda\",\"mountpoint\":\"/mnt/data\",\"type\":\"ext4\","
			"\"used-bytes\":14336,\"total-bytes\":52613120,"
			"\"disk\":[{\"serial\":\"qgatrace-data\",\"bus-type\":\"virtio\"}]}]");
	if (g_strcmp0(cmd, "guest-get-host-name") == 0)
		return fake_parse("{\"host-name\":\"fake-guest\"}");
	if (g_strcmp0(cmd, "guest-get-osinfo") == 0)
		return fake_parse(
			"{\"pretty-name\":\"Fake OS 1\",\"kernel-release\":\"6.1.0\",\"machine\":\"x86_64\"}");
	if (g_strcmp0(cmd, "guest-dmesg") == 0 && fake->dmesg != FAKE_DMESG_OK) {
		g_autofree gchar *reply = g_strdup_printf(
			"{\"source\":\"kmsg\",\"first-seq\":0,\"next-seq\":5,\"missed\":0,\"truncated\":%s,"
			"\"boot-id\":\"boot-%u\",\"records\":[]}",
			fake->dmesg == FAKE_DMESG_STALL ? "true" : "false",
			fake->dmesg == FAKE_DMESG_CHURN ? fake->dmesg_calls : 0);

		fake->dmesg_calls++;
		return fake_parse(reply);
	}
	if (g_strcmp0(cmd, "guest-dmesg") == 0 && fake->exec == FAKE_EXEC_NONE) {
		g_autofree gchar *reply = fake_dmesg_reply(args);

		return fake_parse(reply);
	}
	if (g_strcmp0(cmd, "guest-exec") == 0 && fake->exec == FAKE_EXEC_BLOCKED) {
		*klass = "GenericError";
		*desc = g_strdup("The command guest-exec has been disabled for this instance");
		return NULL;
	}
	if (g_strcmp0(cmd, "guest-exec") == 0 && fake->exec == FAKE_EXEC_OK)
		return fake_exec(fake, args);
	if (g_strcmp0(cmd, "guest-exec-status") == 0 && fake->exec == FAKE_EXEC_OK &&
	    fake->exec_out != NULL) {
		g_autofree gchar *b64 =
			g_base64_encode((const guchar *)fake->exec_out, strlen(fake->exec_out));
		g_autofree gchar *reply = g_strdup_printf(
			"{\"exited\":true,\"exitcode\":0,\"out-data\":\"%s\"}", b64);

		/* the first poll finds it running */
		if (fake->exec_polls++ == 0)
			return fake_parse("{\"exited\":false}");
		return fake_parse(reply);
	}
	if (fake->tracing && g_strcmp0(cmd, "guest-trace-status") == 0) {
		/* a new session appears with the first thaw */
		const gchar *id = fake_has_new_session(fake)
					  ? json_object_get_string_member(
						    json_node_get_object(fake->session), "session")
					  : "old-session";
		g_autofree gchar *reply = g_strdup_printf(
			"{\"enabled\":true,\"available\":true,\"method\":\"function\",\"reason\":null,"
			"\"armed\":false,\"last-session\":{\"session\":\"%s\",\"source\":\"qgatrace-agent\","
			"\"state\":\"collected\",\"events\":9,\"verified\":true},\"sessions\":[{\"session\":\"%s\","
			"\"source\":\"qgatrace-agent\",\"state\":\"collected\",\"started-ns\":102761513676,"
			"\"events\":9,\"verified\":true}]}",
			id, id);

		return fake_parse(reply);
	}
	if (fake->tracing && g_strcmp0(cmd, "guest-trace-fetch") == 0 && fake->session != NULL)
		return json_node_copy(fake->session);
	if (fake->tracing && g_strcmp0(cmd, "guest-trace-fetch") == 0) {
		*klass = "GenericError";
		*desc = g_strdup("no trace session yet");
		return NULL;
	}
	*desc = g_strdup_printf("The command %s has not been found", cmd);
	return NULL;
}

/* FAKE_POISON appended to every string in @node, FAKE_NUMBER_MEMBER added to every object */
static void
fake_poison(JsonNode *node)
{
	if (JSON_NODE_HOLDS_OBJECT(node)) {
		JsonObject *object = json_node_get_object(node);
		g_autoptr(GList) values = json_object_get_values(object);

		for (GList *l = values; l != NULL; l = l->next)
			fake_poison(l->data);
		json_object_set_string_member(object, FAKE_NUMBER_MEMBER, "@number@");
	} else if (JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *array = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(array); i++)
			fake_poison(json_array_get_element(array, i));
	} else if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING) {
		g_autofree gchar *text = g_strconcat(json_node_get_string(node), FAKE_POISON, NULL);

		json_node_set_string(node, text);
	}
}

/* as fake_answer_honest(), and a hostile fake lies in every string but the
 * handshake's (guest-info lists a poisoned command instead) and the freeze state */
static JsonNode *
fake_answer(Fake *fake, const gchar *cmd, JsonObject *args, const gchar **klass, gchar **desc)
{
	g_autoptr(JsonNode) value = fake_answer_honest(fake, cmd, args, klass, desc);
	g_autofree gchar *text = NULL;
	JsonNode *lie;

	if (!fake->hostile)
		return g_steal_pointer(&value);
	if (value == NULL) {
		g_autofree gchar *honest = *desc;

		*desc = g_strconcat(honest, FAKE_POISON, NULL);
		return NULL;
	}
	if (g_strcmp0(cmd, "guest-info") == 0 || g_strcmp0(cmd, "guest-fsfreeze-status") == 0)
		return g_steal_pointer(&value);
	/* a deep copy: the value may share the fake's session */
	text = json_to_string(value, FALSE);
	lie = fake_parse(text);
	fake_poison(lie);
	return lie;
}

static void
fake_write(gint fd, const gchar *data, gsize len)
{
	while (len > 0) {
		gssize n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (gsize)n;
	}
}

static void
fake_serve(gpointer data, gint fd)
{
	Fake *fake = data;
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	guint8 buf[4096];

	if (fake->garbage != NULL)
		fake_write(fd, fake->garbage, strlen(fake->garbage));
	while (!g_atomic_int_get(&fake->sock.stop)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		gssize n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		if (fake->silent)
			continue;
		qga_decoder_feed(decoder, buf, (gsize)n);
		for (;;) {
			g_autoptr(GError) error = NULL;
			g_autoptr(JsonNode) msg = NULL;
			g_autoptr(QgaRequest) req = NULL;
			g_autoptr(JsonNode) value = NULL;
			g_autofree gchar *reply = NULL;
			g_autofree gchar *desc = NULL;
			const gchar *klass = NULL;
			gsize len = 0;

			if (!qga_decoder_pop(decoder, &msg, &error)) {
				if (error != NULL)
					continue;
				break;
			}
			req = qga_request_parse(msg, NULL);
			if (req == NULL)
				continue;
			if (g_strcmp0(req->execute, "guest-sync-delimited") == 0) {
				g_autoptr(JsonNode) id = json_node_init_int(
					json_node_alloc(),
					json_object_get_int_member(req->arguments, "id"));

				reply = qga_reply_encode_return(id, req->id, TRUE, &len);
				fake_write(fd, reply, len);
				continue;
			}
			value = fake_answer(fake, req->execute, req->arguments, &klass, &desc);
			if (value != NULL) {
				g_autoptr(GString) text = NULL;

				reply = qga_reply_encode_return(value, req->id, FALSE, &len);
				/* a number json-glib cannot write: put in the text */
				text = g_string_new_len(reply, (gssize)len);
				g_string_replace(text, FAKE_NUMBER_PLACEHOLDER, FAKE_NUMBER, 0);
				g_free(reply);
				len = text->len;
				reply = g_string_free(g_steal_pointer(&text), FALSE);
			} else {
				g_autoptr(GError) e = g_error_new_literal(
					QGA_ERROR, qga_error_code_from_class(klass), desc);

				reply = qga_reply_encode_error(e, req->id);
				len = strlen(reply);
			}
			fake_write(fd, reply, len);
		}
	}
}

static Fake *
fake_new(gboolean tracing)
{
	Fake *fake = g_new0(Fake, 1);

	fake_listener_open(&fake->sock, "agent.sock", fake_serve, fake);
	fake->path = fake->sock.path;
	fake->tracing = tracing;
	fake->calls = g_ptr_array_new_with_free_func(g_free);
	g_mutex_init(&fake->lock);
	return fake;
}

static void
fake_start(Fake *fake)
{
	fake_listener_start(&fake->sock, "fake-agent");
}

static void
fake_free(Fake *fake)
{
	fake_listener_close(&fake->sock);
	g_free(fake->garbage);
	g_free(fake->exec_out);
	if (fake->session != NULL)
		json_node_unref(fake->session);
	g_ptr_array_unref(fake->calls);
	g_mutex_clear(&fake->lock);
	g_free(fake);
}

static gboolean
fake_called(Fake *fake, const gchar *cmd)
{
	gboolean found;

	g_mutex_lock(&fake->lock);
	found = g_ptr_array_find_with_equal_func(fake->calls, cmd, g_str_equal, NULL);
	g_mutex_unlock(&fake->lock);
	return found;
}

/* ---- a fake QEMU monitor: one disk, serial qgatrace-data, whose write
 * counter moves by @writes_per_read at every query-blockstats ---- */

typedef struct {
	FakeListener sock;
	const gchar *path; /* sock.path */
	guint writes_per_read;
	guint64 wr_operations;
} FakeQmp;

static const gchar *
fake_qmp_answer(FakeQmp *qmp, const gchar *cmd, gchar **owned)
{
	if (g_strcmp0(cmd, "qmp_capabilities") == 0)
		return "{}";
	if (g_strcmp0(cmd, "query-block") == 0)
		/* as QEMU: an empty CD-ROM drive has no "inserted", a raw disk's
		 * "image" may be left out by an older one */
		return "[{\"device\":\"vdb\",\"qdev\":\"/machine/peripheral/vdb/virtio-backend\","
		       "\"removable\":false,\"inserted\":{\"node-name\":\"n0\",\"file\":\"/tmp/vdb.img\","
		       "\"drv\":\"raw\"}},{\"device\":\"ide1-cd0\",\"removable\":true,\"locked\":false}]";
	if (g_strcmp0(cmd, "qom-get") == 0)
		return "\"qgatrace-data\"";
	if (g_strcmp0(cmd, "query-status") == 0)
		return "{\"status\":\"running\",\"running\":true}";
	if (g_strcmp0(cmd, "query-blockstats") == 0) {
		qmp->wr_operations += qmp->writes_per_read;
		*owned = g_strdup_printf(
			"[{\"device\":\"vdb\",\"stats\":{\"wr_operations\":%" G_GUINT64_FORMAT
			",\"wr_bytes\":0,\"flush_operations\":0}}]",
			qmp->wr_operations);
		return *owned;
	}
	return NULL;
}

static void
fake_qmp_serve(gpointer data, gint fd)
{
	FakeQmp *qmp = data;
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	static const gchar greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
		"\"major\": 7}, \"package\": \"\"}, \"capabilities\": []}}\r\n";
	guint8 buf[4096];

	fake_write(fd, greeting, strlen(greeting));
	while (!g_atomic_int_get(&qmp->sock.stop)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		gssize n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		qga_decoder_feed(decoder, buf, (gsize)n);
		for (;;) {
			g_autoptr(JsonNode) msg = NULL;
			g_autoptr(QgaRequest) req = NULL;
			g_autofree gchar *owned = NULL;
			g_autofree gchar *id = NULL;
			g_autofree gchar *reply = NULL;
			const gchar *value;

			if (!qga_decoder_pop(decoder, &msg, NULL))
				break;
			req = qga_request_parse(msg, NULL);
			if (req == NULL)
				continue;
			id = req->id != NULL ? qga_json_to_ascii(req->id) : g_strdup("null");
			value = fake_qmp_answer(qmp, req->execute, &owned);
			if (value != NULL)
				reply = g_strdup_printf("{\"return\": %s, \"id\": %s}\r\n", value,
							id);
			else
				reply = g_strdup_printf(
					"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
					"\"The command %s has not been found\"}, \"id\": %s}\r\n",
					req->execute, id);
			fake_write(fd, reply, strlen(reply));
		}
	}
}

static FakeQmp *
fake_qmp_new(guint writes_per_read)
{
	FakeQmp *qmp = g_new0(FakeQmp, 1);

	fake_listener_open(&qmp->sock, "qmp.sock", fake_qmp_serve, qmp);
	qmp->path = qmp->sock.path;
	qmp->writes_per_read = writes_per_read;
	fake_listener_start(&qmp->sock, "fake-qmp");
	return qmp;
}

static void
fake_qmp_free(FakeQmp *qmp)
{
	fake_listener_close(&qmp->sock);
	g_free(qmp);
}

/* ---- running the client in-process, stdout captured ---- */

/* what @fd got while it stood in for @target_fd (flushed with @stream) */
typedef struct {
	gint target_fd;
	FILE *stream;
	gchar *path;
	gint fd;
	gint saved;
} Capture;

static void
capture_start(Capture *c, gint target_fd, FILE *stream)
{
	c->target_fd = target_fd;
	c->stream = stream;
	c->fd = g_file_open_tmp("client-out-XXXXXX", &c->path, NULL);
	c->saved = dup(target_fd);
	assert_true(c->fd >= 0 && c->saved >= 0);
	fflush(stream);
	dup2(c->fd, target_fd);
}

static void
capture_end(Capture *c, gchar **text)
{
	fflush(c->stream);
	dup2(c->saved, c->target_fd);
	close(c->saved);
	close(c->fd);
	if (text != NULL)
		assert_true(g_file_get_contents(c->path, text, NULL, NULL));
	g_unlink(c->path);
	g_free(c->path);
}

/* runs "qgatrace ARGS..." (NULL-terminated); @out, @err (nullable): what it
 * printed on stdout and stderr */
static gint
run_client_err(gchar **out, gchar **err, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	Capture out_capture;
	Capture err_capture;
	const gchar *arg;
	va_list ap;
	gint rc;

	g_ptr_array_add(argv, (gpointer) "qgatrace");
	va_start(ap, err);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	capture_start(&out_capture, STDOUT_FILENO, stdout);
	if (err != NULL)
		capture_start(&err_capture, STDERR_FILENO, stderr);
	rc = client_cli_main(client_commands, NULL, (gint)argv->len - 1, (gchar **)argv->pdata);
	if (err != NULL)
		capture_end(&err_capture, err);
	capture_end(&out_capture, out);
	return rc;
}

/* runs "qgatrace ARGS..." (NULL-terminated); @out: what it printed on stdout */
#define run_client(out, ...) run_client_err(out, NULL, __VA_ARGS__)

static JsonObject *
parse_object(const gchar *text)
{
	g_autoptr(JsonNode) node = json_from_string(text, NULL);

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		fail_msg("not a JSON object: %s", text);
	return json_object_ref(json_node_get_object(node));
}

/* ---- the tests ---- */

static void
test_client_commands_ping(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *out = NULL;
	g_autofree gchar *json = NULL;
	g_autoptr(JsonObject) obj = NULL;

	fake_start(fake);
	assert_int_equal(run_client(&out, "--agent", fake->path, "ping", NULL), 0);
	assert_non_null(strstr(out, "answered: handshake"));
	assert_int_equal(run_client(&json, "--agent", fake->path, "ping", "--json", NULL), 0);
	obj = parse_object(json);
	assert_string_equal(json_object_get_string_member(obj, "transport"), "socket");
	assert_true(json_object_get_int_member(obj, "handshake-us") >= 0);
	assert_true(json_object_get_int_member(obj, "ping-us") >= 0);
	assert_true(fake_called(fake, "guest-ping"));
	fake_free(fake);
}

static void
test_client_commands_info_status(void **state)
{
	Fake *fake = fake_new(TRUE);
	Fake *stock = fake_new(FALSE);
	g_autofree gchar *out = NULL;
	g_autofree gchar *json = NULL;
	g_autofree gchar *stock_json = NULL;
	g_autofree gchar *status = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(JsonObject) stock_obj = NULL;
	g_autoptr(JsonObject) status_obj = NULL;

	fake_start(fake);
	fake_start(stock);
	assert_int_equal(run_client(&out, "--agent", fake->path, "info", NULL), 0);
	assert_non_null(strstr(out, "agent      qgatrace-agent 0.1.0"));
	assert_non_null(strstr(out, "host name  fake-guest"));
	assert_non_null(strstr(out, "Fake OS 1"));
	assert_int_equal(run_client(&json, "--json", "--agent", fake->path, "info", NULL), 0);
	obj = parse_object(json);
	assert_string_equal(json_object_get_string_member(obj, "agent"), "qgatrace-agent");
	assert_true(json_object_get_boolean_member(obj, "tracing"));
	assert_true(json_object_get_boolean_member(obj, "dmesg"));
	assert_string_equal(json_object_get_string_member(obj, "hostname"), "fake-guest");
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "disabled")), 0);

	assert_int_equal(run_client(&stock_json, "--agent", stock->path, "--json", "info", NULL),
			 0);
	stock_obj = parse_object(stock_json);
	assert_string_equal(json_object_get_string_member(stock_obj, "agent"), "qemu-ga");
	assert_false(json_object_get_boolean_member(stock_obj, "tracing"));

	assert_int_equal(run_client(&status, "--agent", stock->path, "status", "--json", NULL), 0);
	status_obj = parse_object(status);
	assert_string_equal(json_object_get_string_member(status_obj, "fsfreeze"), "thawed");
	assert_true(json_object_get_null_member(status_obj, "trace"));
	fake_free(fake);
	fake_free(stock);
}

static void
test_client_commands_freeze_thaw(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;

	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "freeze", "-m",
				    "/mnt/data", NULL),
			 0);
	obj = parse_object(json);
	assert_int_equal(json_object_get_int_member(obj, "frozen"), 1);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "mountpoints")),
			 1);
	assert_true(fake_called(fake, "guest-fsfreeze-freeze-list"));
	assert_true(fake->frozen);
	assert_int_equal(run_client(&out, "--agent", fake->path, "thaw", NULL), 0);
	assert_string_equal(out, "thawed 1 filesystem(s)\n");
	assert_false(fake->frozen);
	fake_free(fake);
}

static void
test_client_commands_freeze_plan(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;
	JsonArray *freeze;

	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "freeze", "--plan",
				    "-m", "/mnt/data", NULL),
			 0);
	obj = parse_object(json);
	freeze = json_object_get_array_member(obj, "freeze");
	assert_int_equal(json_array_get_length(freeze), 2);
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(freeze, 0),
							  "mountpoint"),
			    "/mnt/loop");
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "mountpoints")),
			 1);
	assert_int_equal(run_client(&out, "--agent", fake->path, "freeze", "--plan", NULL), 0);
	assert_non_null(strstr(out, "would freeze, in this order:\n"
				    "    1  /mnt/loop  ext2  7:0     /dev/loop0\n"
				    "    2  /mnt/data  ext4  254:16  /dev/vdb\n"));
	assert_non_null(strstr(out, "order: /mnt/loop before /mnt/data"));
	assert_non_null(strstr(out, "  /mnt/bind  duplicate        a bind mount"));
	assert_non_null(strstr(out, "hook: /etc/qemu/fsfreeze-hook (executable)"));
	assert_non_null(strstr(out, "warning: FUSE daemon 'sshfs'"));
	/* a plan freezes nothing */
	assert_false(fake->frozen);
	assert_false(fake_called(fake, "guest-fsfreeze-freeze"));
	fake_free(fake);
}

static void
assert_plan_refused(const gchar *text)
{
	g_autoptr(JsonNode) node = fake_parse(text);
	g_autoptr(GError) error = NULL;

	assert_null(client_freeze_plan_parse(node, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

/* every member checked: a wrong type or an oversized list is refused */
static void
test_client_commands_freeze_plan_malformed(void **state)
{
	g_autoptr(GString) many = g_string_new("{\"freeze\":[],\"skip\":[],\"dependencies\":[],"
					       "\"frozen-by\":[],\"hook\":null,\"warnings\":[");

	assert_plan_refused("[]");
	/* no "hook" */
	assert_plan_refused(
		"{\"freeze\":[],\"skip\":[],\"dependencies\":[],\"frozen-by\":[],\"warnings\":[]}");
	assert_plan_refused("{\"freeze\":[{\"mountpoint\":1}],\"skip\":[],\"dependencies\":[],"
			    "\"frozen-by\":[],\"warnings\":[],\"hook\":null}");
	assert_plan_refused("{\"freeze\":[],\"skip\":[],\"dependencies\":[],\"frozen-by\":[],"
			    "\"warnings\":[3],\"hook\":null}");
	assert_plan_refused("{\"freeze\":[],\"skip\":[],\"dependencies\":[],\"frozen-by\":[],"
			    "\"warnings\":[],\"hook\":{\"path\":\"/h\",\"executable\":\"yes\"}}");
	for (guint i = 0; i <= CLIENT_FREEZE_PLAN_WARNINGS_MAX; i++)
		g_string_append(many, i == 0 ? "\"w\"" : ",\"w\"");
	g_string_append(many, "]}");
	assert_plan_refused(many->str);
}

/* session-function.json with the hooks the agent ran: one that slept and
 * succeeded, one that failed, one killed after its timeout */
static JsonNode *
fake_session_with_hooks(void)
{
	g_autofree gchar *text = fake_fixture("session-function.json");
	JsonNode *session = fake_parse(text);
	g_autoptr(JsonNode) hooks = fake_parse(
		"[{\"phase\":\"freeze\",\"path\":\"/etc/qemu/fsfreeze-hook\",\"exit-status\":0,"
		"\"signal\":null,\"timed-out\":false,\"duration-ns\":312000000,"
		"\"output-tail\":\"flushed\",\"error\":null},"
		"{\"phase\":\"thaw\",\"path\":\"/etc/qemu/fsfreeze-hook\",\"exit-status\":3,"
		"\"signal\":null,\"timed-out\":false,\"duration-ns\":1000000,"
		"\"output-tail\":\"one\\ntwo\",\"error\":\"failed\"},"
		"{\"phase\":\"freeze\",\"path\":\"/run/hung\",\"exit-status\":null,"
		"\"signal\":9,\"timed-out\":true,\"duration-ns\":2000000000,"
		"\"output-tail\":\"\",\"error\":\"killed\"}]");

	json_object_set_member(json_node_get_object(session), "hooks", json_node_copy(hooks));
	return session;
}

static void
test_client_commands_trace_hooks(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;

	fake->session = fake_session_with_hooks();
	fake_start(fake);
	assert_int_equal(run_client(&out, "--agent", fake->path, "trace", NULL), 0);
	assert_non_null(strstr(out, "hook         freeze /etc/qemu/fsfreeze-hook: exit status 0, "
				    "312.0 ms\n             | flushed\n"));
	assert_non_null(strstr(out, "hook         thaw /etc/qemu/fsfreeze-hook: exit status 3, "
				    "1.0 ms\n             | one\n             | two\n"));
	assert_non_null(
		strstr(out, "hook         freeze /run/hung: TIMED OUT and killed, 2.00 s\n"));
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "trace", NULL), 0);
	obj = parse_object(json);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "hooks")), 3);
	fake_free(fake);
}

static void
test_client_commands_trace(void **state)
{
	Fake *fake = fake_new(TRUE);
	Fake *stock = fake_new(FALSE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;

	fake->session = fake_parse(session);
	fake_start(fake);
	fake_start(stock);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "trace", NULL), 0);
	obj = parse_object(json);
	assert_string_equal(json_object_get_string_member(obj, "session"), "agent-689-1");
	assert_int_equal(run_client(&out, "--agent", fake->path, "trace", NULL), 0);
	assert_non_null(strstr(
		out, "session      agent-689-1 (qgatrace-agent), collected, method function"));
	assert_non_null(strstr(out, "/mnt/data  VERIFIED"));
	assert_non_null(strstr(out, "frozen for"));
	assert_non_null(strstr(out, "freeze_super <- __x64_sys_ioctl"));
	/* stock qemu-ga: a clear failure, not a crash or a timeout */
	assert_int_equal(run_client(NULL, "--agent", stock->path, "trace", NULL), 1);
	fake_free(fake);
	fake_free(stock);
}

static void
test_client_commands_dmesg(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonNode) records = NULL;

	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "dmesg", "--tail", "3",
				    NULL),
			 0);
	records = json_from_string(json, NULL);
	assert_non_null(records);
	assert_true(JSON_NODE_HOLDS_ARRAY(records));
	assert_int_equal(json_array_get_length(json_node_get_array(records)), 3);
	assert_int_equal(run_client(&out, "--agent", fake->path, "dmesg", "--level", "info", NULL),
			 0);
	assert_true(g_str_has_prefix(out, "[    2."));
	assert_int_equal(run_client(NULL, "--agent", fake->path, "dmesg", "--level", "loud", NULL),
			 2);
	fake_free(fake);
}

/* an agent that keeps answering "truncated" without moving its cursor:
 * the client gives up with an error instead of asking forever */
static void
test_client_commands_dmesg_no_progress(void **state)
{
	Fake *fake = fake_new(TRUE);

	fake->dmesg = FAKE_DMESG_STALL;
	fake_start(fake);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "dmesg", NULL), 1);
	assert_true(fake->dmesg_calls >= 2 && fake->dmesg_calls <= 5);
	fake->dmesg_calls = 0;
	assert_int_equal(run_client(NULL, "--agent", fake->path, "--json", "dmesg", "--since", "3",
				    NULL),
			 1);
	assert_true(fake->dmesg_calls <= 5);
	fake_free(fake);
}

/* a boot id that changes with every reply is no reboot: --follow neither
 * re-reads in a tight loop nor goes on forever */
static void
test_client_commands_dmesg_boot_churn(void **state)
{
	Fake *fake = fake_new(TRUE);
	gint64 start;

	fake->dmesg = FAKE_DMESG_CHURN;
	fake_start(fake);
	start = g_get_monotonic_time();
	assert_int_equal(run_client(NULL, "--agent", fake->path, "dmesg", "--follow", "--interval",
				    "0.05", NULL),
			 1);
	/* a few polls, not thousands of requests */
	assert_true(fake->dmesg_calls <= 8);
	assert_true(g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC);
	fake_free(fake);
}

/* stock qemu-ga: no guest-dmesg, so the one-shot agent through guest-exec,
 * with the same tail, cursor and --json as guest-dmesg */
static void
test_client_commands_dmesg_via_exec(void **state)
{
	Fake *fake = fake_new(FALSE);
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(JsonNode) records = NULL;
	JsonObject *first;

	fake->exec = FAKE_EXEC_OK;
	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "dmesg", "--tail", "3",
				    NULL),
			 0);
	records = json_from_string(json, NULL);
	assert_non_null(records);
	assert_true(JSON_NODE_HOLDS_ARRAY(records));
	assert_int_equal(json_array_get_length(json_node_get_array(records)), 3);
	first = json_array_get_object_element(json_node_get_array(records), 0);
	assert_string_equal(json_object_get_string_member(first, "via"), "guest-exec");
	assert_true(fake_called(fake, "guest-dmesg"));
	assert_true(fake_called(fake, "guest-exec-status"));
	assert_int_equal(run_client_err(&out, &err, "--agent", fake->path, "dmesg", "--level",
					"info", NULL),
			 0);
	assert_true(g_str_has_prefix(out, "[    2."));
	assert_non_null(strstr(err, "guest-exec"));
	fake_free(fake);
}

/* guest-exec blocked: the chain goes on to guest memory, and without
 * --qmp or --domain ends in one error naming every source */
static void
test_client_commands_dmesg_exec_blocked(void **state)
{
	Fake *fake = fake_new(FALSE);
	g_autofree gchar *dir = g_dir_make_tmp("dmesg-qmp-XXXXXX", NULL);
	g_autofree gchar *qmp = g_build_filename(dir, "none.sock", NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	fake->exec = FAKE_EXEC_BLOCKED;
	fake_start(fake);
	assert_int_equal(run_client_err(&out, &err, "--agent", fake->path, "dmesg", NULL), 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "qgatrace port: none; guest-exec: refused by the agent "
				    "(The command guest-exec has been disabled for this instance); "
				    "guest memory: no --qmp or --domain"));
	/* a source is named on stderr only once it answers */
	assert_null(strstr(err, "reading the kernel log through guest-exec"));
	g_clear_pointer(&err, g_free);
	g_clear_pointer(&out, g_free);
	/* with --qmp, memory is tried: here its socket is missing */
	assert_int_equal(
		run_client_err(&out, &err, "--agent", fake->path, "--qmp", qmp, "dmesg", NULL), 1);
	assert_non_null(strstr(err, "; guest memory: "));
	assert_null(strstr(err, "guest memory: no --qmp"));
	/* --follow cannot poll memory */
	g_clear_pointer(&err, g_free);
	assert_int_equal(run_client_err(NULL, &err, "--agent", fake->path, "--qmp", qmp, "dmesg",
					"--follow", NULL),
			 1);
	assert_non_null(strstr(err, "guest memory: not with --follow"));
	g_rmdir(dir);
	fake_free(fake);
}

static void
test_client_commands_raw(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *out = NULL;

	fake_start(fake);
	assert_int_equal(run_client(&out, "--agent", fake->path, "--json", "raw",
				    "{\"execute\":\"guest-ping\"}", NULL),
			 0);
	assert_string_equal(out, "{\"return\":{}}\n");
	assert_int_equal(run_client(NULL, "--agent", fake->path, "raw",
				    "{\"execute\":\"guest-nothing\"}", NULL),
			 1);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "raw", "[1]", NULL), 2);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "raw", NULL), 2);
	fake_free(fake);
}

static void
test_client_commands_snapshot_verified(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autoptr(JsonObject) obj = NULL;
	JsonObject *mp;

	fake->session = fake_parse(session);
	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "snapshot", "-m",
				    "/mnt/data", NULL),
			 0);
	obj = parse_object(json);
	assert_true(json_object_get_boolean_member(obj, "verified"));
	assert_true(json_object_get_boolean_member(obj, "ok"));
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "mountpoints")),
			 1);
	mp = json_array_get_object_element(json_object_get_array_member(obj, "mountpoints"), 0);
	assert_string_equal(json_object_get_string_member(mp, "mountpoint"), "/mnt/data");
	assert_true(json_object_get_boolean_member(mp, "verified"));
	assert_true(json_object_get_int_member(mp, "frozen-ns") > 0);
	assert_string_equal(
		json_array_get_string_element(json_object_get_array_member(mp, "functions"), 0),
		"freeze_super");
	assert_string_equal(json_object_get_string_member(
				    json_object_get_object_member(obj, "trace"), "session"),
			    "agent-689-1");
	assert_true(json_object_get_null_member(obj, "host-evidence"));
	assert_false(fake->frozen);
	assert_int_equal(fake->thaws, 1);
	fake_free(fake);
}

static void
test_client_commands_snapshot_failed_exec_thaws(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autoptr(JsonObject) obj = NULL;

	fake->session = fake_parse(session);
	fake_start(fake);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "snapshot", "--exec",
				    "exit 3", NULL),
			 1);
	obj = parse_object(json);
	assert_false(json_object_get_boolean_member(obj, "ok"));
	assert_int_equal(json_object_get_int_member(json_object_get_object_member(obj, "host-step"),
						    "exit-status"),
			 3);
	assert_true(
		json_object_get_boolean_member(json_object_get_object_member(obj, "thaw"), "ok"));
	assert_false(fake->frozen);
	assert_true(fake_called(fake, "guest-fsfreeze-freeze"));
	assert_true(fake_called(fake, "guest-fsfreeze-thaw"));
	fake_free(fake);
}

static void
test_client_commands_snapshot_not_verified(void **state)
{
	Fake *fake = fake_new(TRUE);
	Fake *stock = fake_new(FALSE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autofree gchar *stock_json = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(JsonObject) stock_obj = NULL;
	JsonObject *verdict;
	JsonObject *mp;

	/* the agent's own verdict says no */
	fake->session = fake_parse(session);
	verdict = json_array_get_object_element(
		json_object_get_array_member(json_node_get_object(fake->session), "verification"),
		0);
	json_object_set_boolean_member(verdict, "verified", FALSE);
	json_object_set_string_member(verdict, "reason", "no thaw_super was recorded");
	fake_start(fake);
	fake_start(stock);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "snapshot", "-m",
				    "/mnt/data", NULL),
			 1);
	obj = parse_object(json);
	assert_false(json_object_get_boolean_member(obj, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(obj, "mountpoints"), 0);
	assert_string_equal(json_object_get_string_member(mp, "reason"),
			    "no thaw_super was recorded");
	/* a mount the session knows nothing of */
	g_clear_pointer(&json, g_free);
	assert_int_equal(run_client(&json, "--agent", fake->path, "--json", "snapshot", "-m",
				    "/mnt/other", NULL),
			 1);

	/* stock qemu-ga: frozen and thawed, but nothing proves it */
	assert_int_equal(
		run_client(&stock_json, "--agent", stock->path, "--json", "snapshot", NULL), 1);
	stock_obj = parse_object(stock_json);
	assert_false(json_object_get_boolean_member(stock_obj, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(stock_obj, "mountpoints"),
					   0);
	assert_non_null(strstr(json_object_get_string_member(mp, "reason"), "lacks tracing"));
	assert_false(stock->frozen);
	fake_free(fake);
	fake_free(stock);
}

/* the host's counters against the guest's word: a guest that ties no
 * mountpoint to the disk that wrote inside the window is not verified */
static void
test_client_commands_snapshot_host_evidence(void **state)
{
	Fake *fake = fake_new(TRUE);
	FakeQmp *busy = fake_qmp_new(3);
	FakeQmp *quiet = fake_qmp_new(0);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autofree gchar *lying_json = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(JsonObject) lying = NULL;
	JsonObject *mp;
	JsonArray *items;
	gboolean host_item = FALSE;
	gboolean guest_item = FALSE;

	fake->session = fake_parse(session);
	fake_start(fake);
	/* quiet disk, mapped by serial: verified, and said where each part came from */
	assert_int_equal(run_client(&json, "--agent", fake->path, "--qmp", quiet->path, "--json",
				    "snapshot", NULL),
			 0);
	obj = parse_object(json);
	assert_true(json_object_get_boolean_member(obj, "verified"));
	items = json_object_get_array_member(obj, "evidence");
	assert_non_null(items);
	for (guint i = 0; i < json_array_get_length(items); i++) {
		JsonObject *item = json_array_get_object_element(items, i);
		const gchar *name = json_object_get_string_member(item, "name");
		const gchar *source = json_object_get_string_member(item, "source");

		host_item |=
			g_strcmp0(name, "block-statistics") == 0 && g_strcmp0(source, "host") == 0;
		guest_item |= g_strcmp0(name, "trace") == 0 && g_strcmp0(source, "guest") == 0;
		if (g_strcmp0(name, "run-state") == 0)
			assert_string_equal(json_object_get_string_member(item, "before-thaw"),
					    "running");
	}
	assert_true(host_item && guest_item);

	/* the lying agent: no serial, and the disk wrote while "frozen" */
	fake->no_serials = TRUE;
	assert_int_equal(run_client(&lying_json, "--agent", fake->path, "--qmp", busy->path,
				    "--json", "snapshot", NULL),
			 1);
	lying = parse_object(lying_json);
	assert_false(json_object_get_boolean_member(lying, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(lying, "mountpoints"), 0);
	assert_false(json_object_get_boolean_member(mp, "verified"));
	assert_non_null(strstr(json_object_get_string_member(mp, "reason"), "disk 'vdb'"));
	assert_non_null(strstr(json_object_get_string_member(mp, "reason"), "unknown to the host"));
	assert_false(json_object_get_boolean_member(
		json_object_get_object_member(lying, "host-evidence"), "quiet"));
	assert_int_equal(
		run_client(&out, "--agent", fake->path, "--qmp", busy->path, "snapshot", NULL), 1);
	assert_non_null(strstr(out, "host-measured:\n"));
	assert_non_null(strstr(out, "from the guest:\n"));
	assert_non_null(strstr(out, "snapshot NOT VERIFIED"));
	assert_false(fake->frozen);
	fake_qmp_free(busy);
	fake_qmp_free(quiet);
	fake_free(fake);
}

/* one stock qemu-ga channel: the hook's verdict read through guest-file-* */
static void
test_client_commands_stock_hook_sessions(void **state)
{
	Fake *stock = fake_new(FALSE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *doctor = NULL;
	g_autoptr(JsonObject) obj = NULL;
	g_autoptr(JsonObject) status_obj = NULL;
	JsonObject *trace;

	stock->hook_files = TRUE;
	stock->session = fake_parse(session);
	fake_start(stock);
	assert_int_equal(run_client(&json, "--agent", stock->path, "--json", "snapshot", "-m",
				    "/mnt/data", NULL),
			 0);
	obj = parse_object(json);
	assert_true(json_object_get_boolean_member(obj, "verified"));
	assert_true(fake_called(stock, "guest-file-read"));
	assert_false(fake_called(stock, "guest-trace-fetch"));
	assert_int_equal(run_client(&out, "--agent", stock->path, "trace", NULL), 0);
	assert_non_null(strstr(out, "/mnt/data  VERIFIED"));
	/* a session the index does not list is not read, whatever its name */
	assert_int_equal(run_client(NULL, "--agent", stock->path, "trace", "--session",
				    "qemu-ga-2-2", NULL),
			 1);
	assert_int_equal(run_client(&status, "--agent", stock->path, "--json", "status", NULL), 0);
	status_obj = parse_object(status);
	trace = json_object_get_object_member(status_obj, "trace");
	assert_string_equal(
		json_object_get_string_member(json_object_get_object_member(trace, "last-session"),
					      "session"),
		"agent-689-1");
	assert_int_equal(run_client(&doctor, "--agent", stock->path, "doctor", NULL), 0);
	assert_non_null(strstr(doctor, "guest-file-*"));
	/* every handle opened was closed */
	assert_int_equal(stock->open_handles, 0);
	assert_false(stock->frozen);
	fake_free(stock);
}

/* qemu-ga -b guest-file-open,...: not verified, and it says what was refused and the ways out */
static void
test_client_commands_stock_files_refused(void **state)
{
	Fake *stock = fake_new(FALSE);
	g_autofree gchar *json = NULL;
	g_autoptr(JsonObject) obj = NULL;
	const gchar *reason;

	stock->hook_files = TRUE;
	stock->files_blocked = TRUE;
	fake_start(stock);
	assert_int_equal(run_client(&json, "--agent", stock->path, "--json", "snapshot", "-m",
				    "/mnt/data", NULL),
			 1);
	obj = parse_object(json);
	assert_false(json_object_get_boolean_member(obj, "verified"));
	reason = json_object_get_string_member(
		json_array_get_object_element(json_object_get_array_member(obj, "mountpoints"), 0),
		"reason");
	assert_non_null(strstr(reason, "refused guest-file-open"));
	assert_non_null(strstr(reason, "qemu-ga's config"));
	assert_non_null(strstr(reason, "org.qgatrace.0"));
	assert_false(fake_called(stock, "guest-file-open"));
	assert_true(fake_called(stock, "guest-fsfreeze-thaw"));
	assert_false(stock->frozen);
	fake_free(stock);
}

/* --agent freezes, --trace-agent serves the sessions */
static void
test_client_commands_trace_agent(void **state)
{
	Fake *stock = fake_new(FALSE);
	Fake *tracer = fake_new(TRUE);
	g_autofree gchar *session = fake_fixture("session-function.json");
	g_autofree gchar *json = NULL;
	g_autofree gchar *doctor = NULL;
	g_autoptr(JsonObject) obj = NULL;

	tracer->session = fake_parse(session);
	tracer->freezer = stock;
	fake_start(stock);
	fake_start(tracer);
	assert_int_equal(run_client(&json, "--agent", stock->path, "--trace-agent", tracer->path,
				    "--json", "snapshot", "-m", "/mnt/data", NULL),
			 0);
	obj = parse_object(json);
	assert_true(json_object_get_boolean_member(obj, "verified"));
	assert_true(fake_called(stock, "guest-fsfreeze-freeze-list"));
	assert_false(fake_called(tracer, "guest-fsfreeze-freeze-list"));
	assert_true(fake_called(tracer, "guest-trace-fetch"));
	assert_int_equal(run_client(&doctor, "--agent", stock->path, "--trace-agent", tracer->path,
				    "doctor", NULL),
			 0);
	assert_non_null(strstr(doctor, tracer->path));
	assert_non_null(strstr(doctor, "guest-trace-fetch (qgatrace-agent)"));
	/* only as a second socket */
	assert_int_equal(
		run_client(NULL, "--domain", "x", "--trace-agent", tracer->path, "ping", NULL), 2);
	fake_free(stock);
	fake_free(tracer);
}

/* no GLib critical or warning on a verdict path, whatever the guest leaves out */
static void
test_client_commands_no_criticals(void **state)
{
	Fake *fake = fake_new(TRUE);
	FakeQmp *qmp = fake_qmp_new(3);
	g_autofree gchar *session = fake_fixture("session-function.json");
	/* by domain, not always-fatal: GLib's own critical about setting its
	 * log writer after this process started the fakes' threads is the
	 * in-process harness's, never the one-threaded command's */
	static const gchar *const domains[] = {"Json", "GLib-GIO", "qgatrace-client",
					       "qgatrace-common"};
	const GLogLevelFlags fatal = G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING;
	GLogLevelFlags saved[G_N_ELEMENTS(domains)];

	for (guint i = 0; i < G_N_ELEMENTS(domains); i++)
		saved[i] = g_log_set_fatal_mask(domains[i], fatal);

	fake->session = fake_parse(session);
	fake->no_serials = TRUE;
	fake_start(fake);
	assert_int_equal(
		run_client(NULL, "--agent", fake->path, "--qmp", qmp->path, "snapshot", NULL), 1);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "--qmp", qmp->path, "--json",
				    "snapshot", NULL),
			 1);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "--qmp", qmp->path, "df", NULL),
			 0);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "doctor", NULL), 0);
	for (guint i = 0; i < G_N_ELEMENTS(domains); i++)
		g_log_set_fatal_mask(domains[i], saved[i]);
	assert_false(fake->frozen);
	fake_qmp_free(qmp);
	fake_free(fake);
}

static void
test_client_commands_snapshot_refuses_frozen_guest(void **state)
{
	Fake *fake = fake_new(TRUE);

	fake_start(fake);
	fake->frozen = TRUE;
	/* someone else's freeze: not ours to thaw */
	assert_int_equal(run_client(NULL, "--agent", fake->path, "snapshot", NULL), 1);
	assert_true(fake->frozen);
	assert_int_equal(fake->thaws, 0);
	fake_free(fake);
}

static void
test_client_commands_handshake_through_garbage(void **state)
{
	Fake *fake = fake_new(TRUE);

	/* a previous client's leftovers: a partial request echo, a stale reply, bytes that are not JSON */
	fake->garbage = g_strdup(
		"{\"return\": 12345}\n{\"return\":{},\"id\":\"qgatrace-1-00000000\"}\n\x01\x02garbage{{\n");
	fake_start(fake);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "ping", NULL), 0);
	fake_free(fake);
}

static void
test_client_commands_silent_agent_times_out(void **state)
{
	Fake *fake = fake_new(TRUE);
	gint64 start;

	fake->silent = TRUE;
	fake_start(fake);
	start = g_get_monotonic_time();
	assert_int_equal(run_client(NULL, "--agent", fake->path, "--timeout", "1", "ping", NULL),
			 3);
	/* within the timeout, give or take the scheduler */
	assert_true(g_get_monotonic_time() - start < 3 * G_USEC_PER_SEC);
	assert_int_equal(run_client(NULL, "--agent", fake->path, "--timeout", "1", "doctor", NULL),
			 3);
	fake_free(fake);
}

static void
test_client_commands_unreachable(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("test-client-XXXXXX", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "none.sock", NULL);
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;

	assert_int_equal(run_client(NULL, "--agent", missing, "ping", NULL), 3);
	assert_int_equal(run_client(&out, "--agent", missing, "--json", "doctor", NULL), 3);
	obj = parse_object(out);
	assert_false(json_object_get_boolean_member(obj, "reachable"));
	assert_non_null(strstr(json_object_get_string_member(obj, "verdict"), "socket"));
	g_rmdir(dir);
}

static void
test_client_commands_doctor_ok(void **state)
{
	Fake *fake = fake_new(TRUE);
	g_autofree gchar *out = NULL;
	g_autoptr(JsonObject) obj = NULL;
	JsonArray *checks;

	fake_start(fake);
	assert_int_equal(run_client(&out, "--agent", fake->path, "--json", "doctor", NULL), 0);
	obj = parse_object(out);
	assert_true(json_object_get_boolean_member(obj, "ok"));
	checks = json_object_get_array_member(obj, "checks");
	assert_true(json_array_get_length(checks) >= 5);
	for (guint i = 0; i < json_array_get_length(checks); i++) {
		JsonObject *c = json_array_get_object_element(checks, i);

		assert_non_null(json_object_get_string_member(c, "name"));
		assert_non_null(json_object_get_string_member(c, "detail"));
	}
	fake_free(fake);
}

/* no escape sequence of the guest's, nor its BEL or C1 controls, reaches a terminal */
static void
assert_terminal_safe(const gchar *text, const gchar *what)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '\033' || *p == '\a' ||
		    ((guchar)p[0] == 0xc2 && (guchar)p[1] >= 0x80 && (guchar)p[1] <= 0x9f))
			fail_msg("%s: a control byte at offset %td of: %s", what, p - text, text);
	}
}

/* every command against an agent that lies in every string and number:
 * the human output (stdout and stderr) is safe for a terminal, and --json
 * is JSON that parses */
static void
test_client_commands_hostile_agent(void **state)
{
	static const gchar *const runs[][3] = {
		{"ping"},
		{"info"},
		{"status"},
		{"df"},
		{"trace"},
		{"trace", "--list"},
		{"dmesg"},
		{"dmesg", "--tail", "3"},
		{"freeze", "--plan"},
		{"snapshot"},
		{"doctor"},
		{"raw", "{\"execute\":\"guest-get-osinfo\"}"},
	};
	Fake *fake = fake_new(TRUE);
	Fake *sessionless = fake_new(TRUE);

	fake->hostile = TRUE;
	fake->session = fake_session_with_hooks();
	sessionless->hostile = TRUE;
	fake_start(fake);
	fake_start(sessionless);
	for (gsize i = 0; i < G_N_ELEMENTS(runs); i++) {
		g_autofree gchar *what = g_strjoin(" ", runs[i][0], runs[i][1], runs[i][2], NULL);
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		g_autofree gchar *json = NULL;
		g_autoptr(JsonNode) parsed = NULL;
		g_autoptr(GError) error = NULL;

		run_client_err(&out, &err, "--agent", fake->path, runs[i][0], runs[i][1],
			       runs[i][2], NULL);
		assert_terminal_safe(out, what);
		assert_terminal_safe(err, what);
		run_client(&json, "--agent", fake->path, "--json", runs[i][0], runs[i][1],
			   runs[i][2], NULL);
		parsed = json_from_string(json, &error);
		if (parsed == NULL)
			fail_msg("%s --json: %s: %s", what, error->message, json);
		assert_terminal_safe(json, what);
	}
	assert_false(fake->frozen);

	/* the agent's error text, on the error line: escaped, not dropped */
	{
		g_autofree gchar *err = NULL;

		assert_int_equal(
			run_client_err(NULL, &err, "--agent", sessionless->path, "trace", NULL), 1);
		assert_terminal_safe(err, "trace (error)");
		assert_non_null(strstr(err, "no trace session yet\\x1b]0;owned\\x07"));
	}
	fake_free(fake);
	fake_free(sessionless);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_commands_ping),
		cmocka_unit_test(test_client_commands_info_status),
		cmocka_unit_test(test_client_commands_freeze_thaw),
		cmocka_unit_test(test_client_commands_trace),
		cmocka_unit_test(test_client_commands_dmesg),
		cmocka_unit_test(test_client_commands_dmesg_boot_churn),
		cmocka_unit_test(test_client_commands_dmesg_no_progress),
		cmocka_unit_test(test_client_commands_dmesg_via_exec),
		cmocka_unit_test(test_client_commands_dmesg_exec_blocked),
		cmocka_unit_test(test_client_commands_raw),
		cmocka_unit_test(test_client_commands_snapshot_verified),
		cmocka_unit_test(test_client_commands_snapshot_failed_exec_thaws),
		cmocka_unit_test(test_client_commands_snapshot_not_verified),
		cmocka_unit_test(test_client_commands_snapshot_host_evidence),
		cmocka_unit_test(test_client_commands_no_criticals),
		cmocka_unit_test(test_client_commands_stock_hook_sessions),
		cmocka_unit_test(test_client_commands_stock_files_refused),
		cmocka_unit_test(test_client_commands_trace_agent),
		cmocka_unit_test(test_client_commands_snapshot_refuses_frozen_guest),
		cmocka_unit_test(test_client_commands_handshake_through_garbage),
		cmocka_unit_test(test_client_commands_silent_agent_times_out),
		cmocka_unit_test(test_client_commands_unreachable),
		cmocka_unit_test(test_client_commands_doctor_ok),
		cmocka_unit_test(test_client_commands_hostile_agent),
		cmocka_unit_test(test_client_commands_freeze_plan),
		cmocka_unit_test(test_client_commands_trace_hooks),
		cmocka_unit_test(test_client_commands_freeze_plan_malformed),
	};

	/* the messages the client prints go to stderr; keep the locale fixed */
	g_setenv("LC_ALL", "C.UTF-8", TRUE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
