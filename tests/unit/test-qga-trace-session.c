/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "qga-session-index.h"
#include "qga-trace-session.h"
#include "trace-fixture.h"

/*
 * Trace sessions on recorded data: tests/fixtures/trace-sessions/ holds
 * sessions the agent and the qemu-ga plugin served in the QEMU guest
 * (README.md there); a session rebuilt from one (mounts, timed ioctls, the
 * kernel's events) must verify exactly as it did in the guest.
 */

static guint64
member_ns(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);

	return node != NULL && !JSON_NODE_HOLDS_NULL(node) ? (guint64)json_node_get_int(node) : 0;
}

/* the session again, from what the guest recorded of it */
static QgaTraceSession *
session_rebuild(JsonNode *recorded)
{
	JsonObject *rec = json_node_get_object(recorded);
	JsonArray *mounts = json_object_get_array_member(rec, "mounts");
	JsonArray *ioctls = json_object_get_array_member(rec, "ioctls");
	JsonArray *notes = json_object_get_array_member(rec, "notes");
	g_autoptr(GError) error = NULL;
	QgaTraceSession *session;
	QtfCapture *capture;

	session = qga_trace_session_new(json_object_get_string_member(rec, "session"),
					json_object_get_string_member(rec, "source"),
					(GPid)json_object_get_int_member(rec, "pid"),
					member_ns(rec, "started-ns"));
	for (guint i = 0; i < json_array_get_length(mounts); i++) {
		JsonObject *m = json_array_get_object_element(mounts, i);
		guint major = 0, minor = 0;

		assert_int_equal(sscanf(json_object_get_string_member(m, "dev"), "%u:%u", &major,
					&minor),
				 2);
		qga_trace_session_add_mount(session, json_object_get_string_member(m, "mountpoint"),
					    json_object_get_string_member(m, "fstype"), major,
					    minor, TRUE);
	}
	for (guint k = 0; k < json_array_get_length(ioctls); k++) {
		JsonObject *o = json_array_get_object_element(ioctls, k);
		const gchar *mountpoint = json_object_get_string_member(o, "mountpoint");
		gint index = -1;

		for (guint i = 0; i < json_array_get_length(mounts); i++) {
			JsonObject *m = json_array_get_object_element(mounts, i);
			if (g_strcmp0(json_object_get_string_member(m, "mountpoint"), mountpoint) ==
			    0)
				index = (gint)i;
		}
		assert_true(index >= 0);
		qga_trace_session_add_ioctl(
			session,
			g_strcmp0(json_object_get_string_member(o, "kind"), "freeze") == 0
				? QTF_IOCTL_FREEZE
				: QTF_IOCTL_THAW,
			(guint)index, (gint)json_object_get_int_member(o, "tid"),
			member_ns(o, "start-ns"), member_ns(o, "end-ns"));
	}
	if (json_object_get_string_member_with_default(rec, "error", NULL) != NULL)
		qga_trace_session_set_error(session, json_object_get_string_member(rec, "error"));
	for (guint i = 0; i < json_array_get_length(notes); i++)
		qga_trace_session_add_note(session, json_array_get_string_element(notes, i));
	/* a session is a capture's JSON with more members */
	capture = qtf_capture_new_from_json(recorded, &error);
	assert_non_null(capture);
	qga_trace_session_finish(session, capture, member_ns(rec, "ended-ns"));
	return session;
}

static void
assert_json_equal(JsonNode *a, JsonNode *b)
{
	if (!json_node_equal(a, b)) {
		g_autofree gchar *x = json_to_string(a, TRUE);
		g_autofree gchar *y = json_to_string(b, TRUE);

		fail_msg("JSON differs:\n%s\n---\n%s", x, y);
	}
}

static JsonObject *
first_verdict(JsonNode *session)
{
	JsonArray *verdicts =
		json_object_get_array_member(json_node_get_object(session), "verification");

	assert_int_equal(json_array_get_length(verdicts), 1);
	return json_array_get_object_element(verdicts, 0);
}

/* ---- sessions ---- */

static void
test_qga_trace_session_recorded_sessions_verify_again(void **state)
{
	const struct {
		const gchar *name;
		const gchar *method;
		gboolean verified;
		const gchar *reason; /* part of the verdict's reason */
	} cases[] = {
		{"agent-function", "function", TRUE, NULL},
		{"agent-events", "events", TRUE, NULL},
		/* frozen by someone else first: EBUSY inside freeze_super */
		{"agent-ebusy", "function", FALSE, "freeze_super failed"},
		/* kernel.ftrace_enabled=0 after the probe: armed, silent */
		{"agent-ftrace-disabled", "function", FALSE, "no freeze_super recorded"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonNode) recorded = trace_fixture_load_session(cases[i].name);
		g_autoptr(QgaTraceSession) session = session_rebuild(recorded);
		g_autoptr(JsonNode) again = qga_trace_session_to_json(session);
		JsonObject *v = first_verdict(again);

		print_message("# %s\n", cases[i].name);
		/* recorded before stalls were: test_qga_trace_session_stalls has those */
		json_object_remove_member(json_node_get_object(again), "stalls");
		json_object_remove_member(json_node_get_object(again), "stalls-complete");
		assert_json_equal(again, recorded);
		assert_string_equal(json_object_get_string_member(json_node_get_object(again),
								  "method"),
				    cases[i].method);
		assert_int_equal(qga_trace_session_is_verified(session), cases[i].verified);
		assert_int_equal(json_object_get_boolean_member(v, "verified"), cases[i].verified);
		if (cases[i].reason != NULL)
			assert_non_null(strstr(json_object_get_string_member(v, "reason"),
					       cases[i].reason));
		else
			assert_string_equal(json_object_get_string_member(v, "attribution"),
					    "window");
	}
}

/* the same kernel record, but the agent claims another mount was frozen too */
static void
test_qga_trace_session_unfrozen_mount_is_not_verified(void **state)
{
	g_autoptr(JsonNode) recorded = trace_fixture_load_session("agent-function");
	g_autoptr(QgaTraceSession) session = NULL;
	g_autoptr(JsonNode) json = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *rec = json_node_get_object(recorded);
	JsonArray *ioctls = json_object_get_array_member(rec, "ioctls");
	JsonObject *freeze = json_array_get_object_element(ioctls, 0);
	JsonObject *thaw = json_array_get_object_element(ioctls, 1);
	gint tid = (gint)json_object_get_int_member(freeze, "tid");
	JsonArray *verdicts;
	guint other;

	session = qga_trace_session_new("agent-1-1", QGA_TRACE_SESSION_SOURCE_AGENT, tid, 1);
	assert_int_equal(qga_trace_session_add_mount(session, "/mnt/data", "ext4", 254, 0, TRUE),
			 0);
	other = qga_trace_session_add_mount(session, "/mnt/other", "xfs", 254, 16, TRUE);
	/* the recorded windows for /mnt/data; /mnt/other's FIFREEZE "ran" just
	 * before, its FITHAW loop just after: the kernel saw neither */
	qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, other, tid,
				    member_ns(freeze, "start-ns") - 1000000,
				    member_ns(freeze, "start-ns") - 1);
	qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, 0, tid,
				    member_ns(freeze, "start-ns"), member_ns(freeze, "end-ns"));
	qga_trace_session_add_ioctl(session, QTF_IOCTL_THAW, 0, tid, member_ns(thaw, "start-ns"),
				    member_ns(thaw, "end-ns"));
	qga_trace_session_add_ioctl(session, QTF_IOCTL_THAW, other, tid,
				    member_ns(thaw, "end-ns") + 1,
				    member_ns(thaw, "end-ns") + 1000000);
	qga_trace_session_finish(session, qtf_capture_new_from_json(recorded, &error),
				 member_ns(rec, "ended-ns"));
	json = qga_trace_session_to_json(session);
	verdicts = json_object_get_array_member(json_node_get_object(json), "verification");
	assert_int_equal(json_array_get_length(verdicts), 2);
	assert_true(json_object_get_boolean_member(json_array_get_object_element(verdicts, 0),
						   "verified"));
	assert_false(json_object_get_boolean_member(json_array_get_object_element(verdicts, 1),
						    "verified"));
	assert_false(json_object_get_boolean_member(json_array_get_object_element(verdicts, 1),
						    "frozen"));
	assert_non_null(strstr(
		json_object_get_string_member(json_array_get_object_element(verdicts, 1), "reason"),
		"no freeze_super recorded"));
	assert_false(qga_trace_session_is_verified(session));
}

static void
test_qga_trace_session_untraced(void **state)
{
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("agent-7-1", QGA_TRACE_SESSION_SOURCE_AGENT, 7, 100);
	g_autoptr(JsonNode) json = NULL;
	JsonObject *obj;
	JsonObject *v;

	qga_trace_session_add_mount(session, "/mnt/data", "ext4", 254, 0, TRUE);
	qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, 0, 7, 110, 120);
	qga_trace_session_add_ioctl(session, QTF_IOCTL_THAW, 0, 7, 130, 140);
	assert_false(qga_trace_session_is_finished(session));
	qga_trace_session_finish(
		session,
		qtf_capture_new_unavailable("kernel lockdown 'confidentiality' forbids tracing"),
		200);
	assert_true(qga_trace_session_is_finished(session));
	json = qga_trace_session_to_json(session);
	obj = json_node_get_object(json);
	assert_string_equal(json_object_get_string_member(obj, "state"), "untraced");
	assert_string_equal(json_object_get_string_member(obj, "method"), "unavailable");
	assert_non_null(strstr(json_object_get_string_member(obj, "reason"), "lockdown"));
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "events")), 0);
	assert_false(json_object_get_boolean_member(obj, "verified"));
	v = first_verdict(json);
	/* the ioctls succeeded: that is never proof */
	assert_false(json_object_get_boolean_member(v, "verified"));
	assert_non_null(strstr(json_object_get_string_member(v, "reason"), "nothing was traced"));
}

static void
test_qga_trace_session_armed_json(void **state)
{
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("agent-7-2", QGA_TRACE_SESSION_SOURCE_AGENT, 7, 100);
	g_autoptr(JsonNode) json = NULL;
	JsonObject *obj;

	qga_trace_session_add_mount(session, "/mnt/data", "ext4", 254, 0, TRUE);
	qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, 0, 7, 110, 120);
	qga_trace_session_add_note(session, "a note");
	qga_trace_session_set_error(session, "first");
	qga_trace_session_set_error(session, "second");
	json = qga_trace_session_to_json(session);
	obj = json_node_get_object(json);
	assert_string_equal(json_object_get_string_member(obj, "state"), "armed");
	assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(obj, "ended-ns")));
	assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(obj, "method")));
	assert_string_equal(json_object_get_string_member(obj, "error"), "first");
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "events")), 0);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "verification")),
			 0);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "ioctls")), 1);
	assert_false(json_object_get_boolean_member(obj, "verified"));
}

static void
test_qga_trace_session_stalls(void **state)
{
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("agent-7-3", QGA_TRACE_SESSION_SOURCE_AGENT, 7, 100);
	QtfStallLog *log = qtf_stall_log_new();
	g_autoptr(JsonNode) json = NULL;
	g_autoptr(JsonNode) unrecorded = NULL;
	JsonObject *obj;
	JsonArray *stalls;
	JsonObject *first;

	/* not recorded: none listed, and that list is not complete */
	qga_trace_session_add_mount(session, "/mnt/data", "ext4", 254, 0, TRUE);
	/* a mount the session does not report: nothing is matched to it */
	qga_trace_session_add_mount(session, "/mnt/hidden", "ext4", 254, 2, FALSE);
	unrecorded = qga_trace_session_to_json(session);
	obj = json_node_get_object(unrecorded);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "stalls")), 0);
	assert_false(json_object_get_boolean_member(obj, "stalls-complete"));

	log->end_ns = 500;
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, 110, 7, NULL, 0x1000, (254u << 20) | 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_FREEZE, 111, 7, NULL, 0x3000, (254u << 20) | 2);
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, 120, 812, "postgres", 0x1278, 0);
	qtf_stall_log_add(log, QTF_STALL_RECORD_WAIT, 121, 813, "hidden", 0x3278, 0);
	/* a lost record: the list may miss a task */
	log->complete = FALSE;
	qga_trace_session_set_stalls(session, log);
	json = qga_trace_session_to_json(session);
	obj = json_node_get_object(json);
	assert_false(json_object_get_boolean_member(obj, "stalls-complete"));
	stalls = json_object_get_array_member(obj, "stalls");
	assert_int_equal(json_array_get_length(stalls), 1);
	first = json_array_get_object_element(stalls, 0);
	assert_int_equal(json_object_get_int_member(first, "pid"), 812);
	assert_string_equal(json_object_get_string_member(first, "mountpoint"), "/mnt/data");
	assert_int_equal(json_object_get_int_member(first, "blocked-ns"), 380);
}

static void
test_qga_trace_session_id_is_valid(void **state)
{
	g_autofree gchar *long_id = g_strnfill(129, 'a');
	const gchar *good[] = {"agent-1-2", "qemu-ga-312-4432", "a", "A.b_c-9"};
	const gchar *bad[] = {"", ".hidden", "../etc/passwd", "a/b", "a b", "a\\b", "é"};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(qga_trace_session_id_is_valid(good[i]));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_false(qga_trace_session_id_is_valid(bad[i]));
	assert_false(qga_trace_session_id_is_valid(NULL));
	assert_false(qga_trace_session_id_is_valid(long_id));
	long_id[128] = '\0';
	assert_true(qga_trace_session_id_is_valid(long_id));
}

/* ---- the sessions dir ---- */

static guint
count_files(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	guint n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

/* stores session qemu-ga-9-@i in @dir, keeping @keep, dated @i */
static void
store_numbered(const gchar *dir, guint i, guint keep)
{
	g_autofree gchar *id = g_strdup_printf("qemu-ga-9-%u", i);
	g_autoptr(QgaTraceSession) session =
		trace_fixture_finished_session(id, QGA_TRACE_SESSION_SOURCE_QEMU_GA, i * 1000);
	g_autofree gchar *name = g_strdup_printf("%s.json", id);
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	struct utimbuf times = {(time_t)i, (time_t)i};
	g_autoptr(GError) error = NULL;

	assert_true(qga_trace_session_store(session, dir, keep, &error));
	/* the oldest go by modification time */
	assert_int_equal(g_utime(path, &times), 0);
}

static void
test_qga_trace_session_store_keeps_the_newest(void **state)
{
	g_autofree gchar *tmp = trace_fixture_make_tmp_dir();
	g_autofree gchar *dir = g_build_filename(tmp, "run", "qgatrace", "sessions", NULL);
	g_autoptr(GError) error = NULL;

	for (guint i = 1; i <= 5; i++)
		store_numbered(dir, i, 3);
	/* only the three newest, no temporary files left */
	assert_int_equal(count_files(dir), 3);
	for (guint i = 3; i <= 5; i++) {
		g_autofree gchar *name = g_strdup_printf("qemu-ga-9-%u.json", i);
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_autoptr(JsonNode) node = trace_fixture_load_json(path);

		assert_string_equal(json_object_get_string_member(json_node_get_object(node),
								  "source"),
				    "qemu-ga");
	}
	{
		g_autoptr(QgaTraceSession) bad =
			trace_fixture_finished_session("../x", QGA_TRACE_SESSION_SOURCE_QEMU_GA, 1);

		assert_false(qga_trace_session_store(bad, dir, 3, &error));
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
	}
	trace_fixture_remove_tree(tmp);
}

/* the index a host reads through qemu-ga: the kept sessions, newest first */
static void
test_qga_trace_session_write_index(void **state)
{
	g_autofree gchar *tmp = trace_fixture_make_tmp_dir();
	g_autofree gchar *dir = g_build_filename(tmp, "sessions", NULL);
	g_autofree gchar *index = g_build_filename(dir, QGA_SESSION_INDEX_NAME, NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) ids = NULL;
	g_autoptr(GPtrArray) loaded = NULL;
	gsize len = 0;

	for (guint i = 1; i <= 4; i++) {
		store_numbered(dir, i, 3);
		assert_true(qga_trace_session_write_index(dir, &error));
	}
	assert_true(g_file_get_contents(index, &text, &len, NULL));
	ids = qga_session_index_parse(text, len, &error);
	assert_non_null(ids);
	assert_int_equal(g_strv_length(ids), 3);
	assert_string_equal(ids[0], "qemu-ga-9-4");
	assert_string_equal(ids[2], "qemu-ga-9-2");
	/* the index is no session, and the next store does not count it */
	assert_false(qga_trace_session_id_is_valid("index"));
	loaded = qga_trace_session_load_dir(dir);
	assert_int_equal(loaded->len, 3);
	trace_fixture_remove_tree(tmp);
}

/* a guest's index is hostile: a name that is not its id's file refuses it all */
static void
test_qga_trace_session_index_parse_rejects(void **state)
{
	const gchar *bad[] = {
		"{\"sessions\":[{\"session\":\"a\",\"file\":\"../../etc/shadow\"}]}",
		"{\"sessions\":[{\"session\":\"../a\",\"file\":\"../a.json\"}]}",
		"{\"sessions\":[{\"session\":\"a\",\"file\":\"b.json\"}]}",
		"{\"sessions\":[{\"session\":{},\"file\":\"a.json\"}]}",
		"{\"sessions\":[1]}",
		"{\"sessions\":{}}",
		"[]",
		"{\"sessions\":[",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	};
	const gchar *none = "{\"version\":1,\"sessions\":[]}";
	g_auto(GStrv) empty = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_auto(GStrv) ids = qga_session_index_parse(bad[i], strlen(bad[i]), &error);

		assert_null(ids);
		assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	}
	empty = qga_session_index_parse(none, strlen(none), NULL);
	assert_non_null(empty);
	assert_null(empty[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qga_trace_session_recorded_sessions_verify_again),
		cmocka_unit_test(test_qga_trace_session_unfrozen_mount_is_not_verified),
		cmocka_unit_test(test_qga_trace_session_untraced),
		cmocka_unit_test(test_qga_trace_session_armed_json),
		cmocka_unit_test(test_qga_trace_session_stalls),
		cmocka_unit_test(test_qga_trace_session_id_is_valid),
		cmocka_unit_test(test_qga_trace_session_store_keeps_the_newest),
		cmocka_unit_test(test_qga_trace_session_write_index),
		cmocka_unit_test(test_qga_trace_session_index_parse_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
