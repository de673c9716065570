/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "hook-qemu-ga.h"
#include "trace-fixture.h"

/*
 * The qemu-ga plugin's knowledge of qemu-ga: its process among the hook's
 * ancestors, its mount list, and its freeze/thaw replayed against what the
 * kernel recorded. The captures are the plugin's own sessions from the
 * QEMU guest (tests/fixtures/trace-sessions/, README.md there), with
 * qemu-ga's mountinfo there.
 */
#define MOUNTINFO FIXTURES_DIR "/trace-sessions/mountinfo"

/* PROC/PID/stat with what the walk reads: comm, ppid, starttime (field 22) */
static void
write_stat(const gchar *proc, gint pid, const gchar *comm, gint ppid, guint64 starttime)
{
	g_autofree gchar *name = g_strdup_printf("%d", pid);
	g_autofree gchar *dir = g_build_filename(proc, name, NULL);
	g_autofree gchar *path = g_build_filename(dir, "stat", NULL);
	g_autofree gchar *text = g_strdup_printf(
		"%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %" G_GUINT64_FORMAT
		" 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		pid, comm, ppid, pid, pid, starttime);

	assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
	assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
test_hook_find_agent(void **state)
{
	g_autofree gchar *proc = trace_fixture_make_tmp_dir();
	g_autoptr(GArray) between = g_array_new(FALSE, FALSE, sizeof(GPid));
	GPid found = -1;

	/* qemu-ga -F/etc/qemu/fsfreeze-hook: the dispatcher shell runs us */
	write_stat(proc, 200, "qemu-ga", 1, 500);
	write_stat(proc, 250, "fsfreeze-hook", 200, 600);
	write_stat(proc, 300, "qgatrace", 250, 700);
	/* a comm with spaces and parentheses */
	write_stat(proc, 310, "sh (x) y", 200, 700);
	/* qgatrace-agent -F...: it traces itself */
	write_stat(proc, 400, "qgatrace-agent", 1, 800);
	write_stat(proc, 410, "sh", 400, 900);
	/* run by hand from a shell */
	write_stat(proc, 500, "bash", 1, 1000);
	write_stat(proc, 1, "init", 0, 1);

	assert_int_equal(hook_find_agent(proc, 250, &found, NULL), HOOK_AGENT_QEMU_GA);
	assert_int_equal(found, 200);
	assert_int_equal(hook_find_agent(proc, 200, &found, NULL), HOOK_AGENT_QEMU_GA);
	assert_int_equal(found, 200);
	/* the dispatcher in between, to be followed; none when qemu-ga runs us */
	assert_int_equal(hook_find_agent(proc, 250, &found, between), HOOK_AGENT_QEMU_GA);
	assert_int_equal(between->len, 1);
	assert_int_equal(g_array_index(between, GPid, 0), 250);
	assert_int_equal(hook_find_agent(proc, 200, &found, between), HOOK_AGENT_QEMU_GA);
	assert_int_equal(between->len, 0);
	assert_int_equal(hook_find_agent(proc, 310, &found, NULL), HOOK_AGENT_QEMU_GA);
	assert_int_equal(found, 200);
	assert_int_equal(hook_find_agent(proc, 410, &found, NULL), HOOK_AGENT_QGATRACE);
	assert_int_equal(found, 400);
	assert_int_equal(hook_find_agent(proc, 500, &found, NULL), HOOK_AGENT_NONE);
	assert_int_equal(found, 0);
	/* gone meanwhile */
	assert_int_equal(hook_find_agent(proc, 999, &found, NULL), HOOK_AGENT_NONE);
	assert_int_equal(hook_process_starttime(proc, 310), 700);
	assert_int_equal(hook_process_starttime(proc, 999), 0);
	trace_fixture_remove_tree(proc);
}

static void
test_hook_find_agent_loop(void **state)
{
	g_autofree gchar *proc = trace_fixture_make_tmp_dir();
	GPid found = -1;

	/* a /proc that lies cannot hold the hook */
	write_stat(proc, 20, "a", 30, 1);
	write_stat(proc, 30, "b", 20, 1);
	assert_int_equal(hook_find_agent(proc, 20, &found, NULL), HOOK_AGENT_NONE);
	trace_fixture_remove_tree(proc);
}

static void
test_hook_qemu_ga_mounts(void **state)
{
	g_autofree gchar *tmp = trace_fixture_make_tmp_dir();
	g_autofree gchar *path = g_build_filename(tmp, "mountinfo", NULL);
	g_autofree gchar *guest = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GPtrArray) mounts = NULL;
	g_autoptr(GError) error = NULL;
	HookMount *m;

	/* the guest's, a bind mount (qemu-ga 7.2 lists repeats), a btrfs whose
	 * source is gone (no number: skipped), an escaped space */
	assert_true(g_file_get_contents(MOUNTINFO, &guest, NULL, NULL));
	text = g_strconcat(guest,
			   "31 30 254:0 /sub /mnt/bind rw,relatime - ext4 /dev/vda rw\n"
			   "32 1 0:40 / /mnt/btrfs rw - btrfs /nonexistent/disk rw\n"
			   "33 1 254:16 / /mnt/with\\040space rw - xfs /dev/vdb rw\n",
			   NULL);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	mounts = hook_qemu_ga_mounts(path, &error);
	assert_non_null(mounts);
	assert_int_equal(mounts->len, 3);
	m = g_ptr_array_index(mounts, 0);
	assert_string_equal(m->mountpoint, "/mnt/data");
	assert_string_equal(m->fstype, "ext4");
	assert_int_equal(m->dev_major, 254);
	assert_int_equal(m->dev_minor, 0);
	assert_string_equal(((HookMount *)g_ptr_array_index(mounts, 1))->mountpoint, "/mnt/bind");
	m = g_ptr_array_index(mounts, 2);
	assert_string_equal(m->mountpoint, "/mnt/with space");
	assert_int_equal(m->dev_minor, 16);
	g_clear_pointer(&mounts, g_ptr_array_unref);
	assert_null(hook_qemu_ga_mounts("/nonexistent/mountinfo", &error));
	assert_non_null(error);
	trace_fixture_remove_tree(tmp);
}

/* ---- replay ---- */

static HookMount *
hook_mount(const gchar *mountpoint, const gchar *fstype, guint major, guint minor)
{
	HookMount *m = g_new0(HookMount, 1);

	m->mountpoint = g_strdup(mountpoint);
	m->fstype = g_strdup(fstype);
	m->dev_major = major;
	m->dev_minor = minor;
	return m;
}

static GPtrArray *
mounts_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)hook_mount_free);
}

/* replays a capture (a session's JSON) as qemu-ga's; Returns: the session's JSON */
static JsonNode *
replay(JsonNode *recorded, GPtrArray *mounts, gboolean thawed)
{
	JsonObject *rec = json_node_get_object(recorded);
	GPid pid = (GPid)json_object_get_int_member(rec, "pid");
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("qemu-ga-1-2", QGA_TRACE_SESSION_SOURCE_QEMU_GA, pid, 1);
	g_autoptr(GError) error = NULL;
	QtfCapture *capture = qtf_capture_new_from_json(recorded, &error);

	assert_non_null(capture);
	hook_qemu_ga_replay(session, mounts, capture, pid, thawed);
	qga_trace_session_finish(session, capture, 2);
	return qga_trace_session_to_json(session);
}

static JsonArray *
verdicts_of(JsonNode *session)
{
	return json_object_get_array_member(json_node_get_object(session), "verification");
}

static JsonObject *
verdict(JsonNode *session, guint i)
{
	return json_array_get_object_element(verdicts_of(session), i);
}

static gboolean
verified(JsonNode *session)
{
	return json_object_get_boolean_member(json_node_get_object(session), "verified");
}

static const gchar *
reason(JsonNode *session, guint i)
{
	return json_object_get_string_member_with_default(verdict(session, i), "reason", "");
}

/* what the guest verified, verified again from its record and qemu-ga's mountinfo */
static void
test_hook_replay_recorded(void **state)
{
	const gchar *names[] = {TRACE_FIXTURE_SESSION("qemu-ga-dispatcher"),
				TRACE_FIXTURE_SESSION("qemu-ga-direct")};

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(JsonNode) recorded = trace_fixture_load_json(names[i]);
		g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
		g_autoptr(JsonNode) again = replay(recorded, mounts, TRUE);
		JsonObject *rec = json_node_get_object(recorded);
		JsonObject *obj = json_node_get_object(again);

		assert_true(verified(again));
		assert_true(json_node_equal(json_object_get_member(obj, "verification"),
					    json_object_get_member(rec, "verification")));
		assert_true(json_node_equal(json_object_get_member(obj, "notes"),
					    json_object_get_member(rec, "notes")));
		assert_true(json_node_equal(json_object_get_member(obj, "mounts"),
					    json_object_get_member(rec, "mounts")));
		assert_string_equal(json_object_get_string_member(verdict(again, 0), "attribution"),
				    "order");
	}
}

/* the agent's events fallback capture, taken as qemu-ga's: the syscall
 * records and ext4_sync_fs's device place the freeze as well */
static void
test_hook_replay_events(void **state)
{
	g_autoptr(JsonNode) recorded = trace_fixture_load_session("agent-events");
	g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
	g_autoptr(JsonNode) again = replay(recorded, mounts, TRUE);

	assert_true(verified(again));
	assert_string_equal(json_object_get_string_member(json_node_get_object(again), "method"),
			    "events");
}

static void
remove_events(JsonNode *capture, const gchar *event)
{
	JsonArray *events = json_object_get_array_member(json_node_get_object(capture), "events");

	for (guint i = json_array_get_length(events); i > 0; i--) {
		JsonObject *ev = json_array_get_object_element(events, i - 1);

		if (g_strcmp0(json_object_get_string_member(ev, "event"), event) == 0)
			json_array_remove_element(events, i - 1);
	}
}

/* a failing FITHAW of qemu-ga after everything: its loop on another mount */
static void
add_failed_thaw(JsonNode *capture)
{
	JsonObject *root = json_node_get_object(capture);
	JsonArray *events = json_object_get_array_member(root, "events");
	JsonObject *last = json_array_get_object_element(events, json_array_get_length(events) - 1);
	JsonObject *ev = json_object_new();

	json_object_set_int_member(ev, "ts-ns", json_object_get_int_member(last, "ts-ns") + 1000);
	json_object_set_int_member(ev, "cpu", 0);
	json_object_set_int_member(ev, "pid", json_object_get_int_member(root, "pid"));
	json_object_set_string_member(ev, "comm", "qemu-ga");
	json_object_set_string_member(ev, "event", "ftrace:function");
	json_object_set_string_member(ev, "function", "thaw_super");
	json_object_set_string_member(ev, "parent", "__x64_sys_ioctl");
	json_array_add_object_element(events, ev);
}

/* freeze-list of one of two mounts: qemu-ga thaws both, reports one */
static void
test_hook_replay_subset_by_device(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = mounts_new();
	g_autoptr(JsonNode) again = NULL;
	JsonObject *obj;

	g_ptr_array_add(mounts, hook_mount("/mnt/data", "ext4", 254, 0));
	g_ptr_array_add(mounts, hook_mount("/mnt/logs", "xfs", 254, 16));
	add_failed_thaw(capture);
	again = replay(capture, mounts, TRUE);
	obj = json_node_get_object(again);
	assert_true(verified(again));
	assert_int_equal(json_array_get_length(verdicts_of(again)), 1);
	assert_string_equal(json_object_get_string_member(verdict(again, 0), "mountpoint"),
			    "/mnt/data");
	/* both thaw loops are the replay's */
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "ioctls")), 3);
	assert_int_equal(json_array_get_length(json_object_get_array_member(obj, "mounts")), 1);
}

/* no device in the record: one freeze call for one mount is all of them */
static void
test_hook_replay_by_count(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
	g_autoptr(JsonNode) again = NULL;

	remove_events(capture, "ext4:ext4_sync_fs");
	again = replay(capture, mounts, TRUE);
	assert_true(verified(again));
	assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(verdict(again, 0), "dev")));
	assert_non_null(strstr(
		json_array_get_string_element(
			json_object_get_array_member(json_node_get_object(again), "notes"), 0),
		"every mount"));
}

/* no device, one freeze call, two mounts: which one cannot be told */
static void
test_hook_replay_cannot_tell(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = mounts_new();
	g_autoptr(JsonNode) again = NULL;

	g_ptr_array_add(mounts, hook_mount("/mnt/data", "ext4", 254, 0));
	g_ptr_array_add(mounts, hook_mount("/mnt/logs", "ext4", 254, 16));
	remove_events(capture, "ext4:ext4_sync_fs");
	add_failed_thaw(capture);
	again = replay(capture, mounts, TRUE);
	assert_false(verified(again));
	assert_int_equal(json_array_get_length(verdicts_of(again)), 2);
	for (guint i = 0; i < 2; i++) {
		assert_false(json_object_get_boolean_member(verdict(again, i), "verified"));
		assert_non_null(strstr(reason(again, i), "cannot tell which of the 2 mounts"));
	}
}

/* the kernel synced another device than qemu-ga's only mount */
static void
test_hook_replay_wrong_device(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = mounts_new();
	g_autoptr(JsonNode) again = NULL;

	g_ptr_array_add(mounts, hook_mount("/mnt/data", "ext4", 254, 16));
	again = replay(capture, mounts, TRUE);
	assert_false(verified(again));
	assert_non_null(strstr(reason(again, 0), "synced device 254:0"));
}

/* qemu-ga exited (or an hour passed) before the thaw hook */
static void
test_hook_replay_not_thawed(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
	g_autoptr(JsonNode) again = NULL;

	again = replay(capture, mounts, FALSE);
	assert_false(verified(again));
	assert_false(json_object_get_boolean_member(verdict(again, 0), "verified"));
}

/* ftrace recorded nothing: nothing is verified, whatever qemu-ga said */
static void
test_hook_replay_nothing_recorded(void **state)
{
	g_autoptr(JsonNode) capture = trace_fixture_load_session("qemu-ga-direct");
	g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
	g_autoptr(JsonNode) again = NULL;

	json_object_set_array_member(json_node_get_object(capture), "events", json_array_new());
	again = replay(capture, mounts, TRUE);
	assert_false(verified(again));
	assert_non_null(strstr(reason(again, 0), "no kernel events were recorded"));
}

static void
test_hook_replay_untraced(void **state)
{
	g_autoptr(GPtrArray) mounts = hook_qemu_ga_mounts(MOUNTINFO, NULL);
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("qemu-ga-1-3", QGA_TRACE_SESSION_SOURCE_QEMU_GA, 5, 1);
	QtfCapture *capture = qtf_capture_new_unavailable("cannot arm: refused");
	g_autoptr(JsonNode) json = NULL;
	JsonObject *obj;

	hook_qemu_ga_replay(session, mounts, capture, 5, TRUE);
	qga_trace_session_finish(session, capture, 2);
	json = qga_trace_session_to_json(session);
	obj = json_node_get_object(json);
	assert_string_equal(json_object_get_string_member(obj, "state"), "untraced");
	assert_string_equal(json_object_get_string_member(obj, "reason"), "cannot arm: refused");
	assert_false(verified(json));
	assert_non_null(strstr(reason(json, 0), "nothing was traced"));
}

/* the dispatcher and its scripts, from the exec and exit records of
 * qemu-ga's children: a script still running at collection has no
 * duration; this hook itself on thaw is not listed */
static void
test_hook_scripts(void **state)
{
	g_autoptr(JsonNode) recorded = trace_fixture_load_session("qemu-ga-dispatcher");
	JsonObject *rec = json_node_get_object(recorded);
	GPid pid = (GPid)json_object_get_int_member(rec, "pid");
	guint64 freeze_ns = (guint64)json_object_get_int_member(
		json_array_get_object_element(json_object_get_array_member(rec, "events"), 0),
		"ts-ns");
	g_autofree gchar *events = g_strdup_printf(
		"[{\"ts-ns\":%" G_GUINT64_FORMAT
		",\"cpu\":0,\"pid\":900,\"comm\":\"fsfreeze-hook\","
		"\"event\":\"" HOOK_EVENT_EXEC "\"},"
		"{\"ts-ns\":%" G_GUINT64_FORMAT ",\"cpu\":0,\"pid\":901,\"comm\":\"db-flush\","
		"\"event\":\"" HOOK_EVENT_EXEC "\"},"
		"{\"ts-ns\":%" G_GUINT64_FORMAT ",\"cpu\":0,\"pid\":901,\"comm\":\"db-flush\","
		"\"event\":\"" HOOK_EVENT_EXIT "\"},"
		"{\"ts-ns\":%" G_GUINT64_FORMAT ",\"cpu\":0,\"pid\":900,\"comm\":\"fsfreeze-hook\","
		"\"event\":\"" HOOK_EVENT_EXIT "\"},"
		"{\"ts-ns\":%" G_GUINT64_FORMAT ",\"cpu\":0,\"pid\":902,\"comm\":\"db-resume\","
		"\"event\":\"" HOOK_EVENT_EXEC "\"},"
		/* this hook on thaw: left out */
		"{\"ts-ns\":%" G_GUINT64_FORMAT ",\"cpu\":0,\"pid\":903,\"comm\":\"qgatrace\","
		"\"event\":\"" HOOK_EVENT_EXEC "\"}]",
		freeze_ns - 5000, freeze_ns - 4000, freeze_ns - 1000, freeze_ns - 500,
		freeze_ns + 9000, freeze_ns + 9500);
	g_autoptr(JsonNode) extra = json_from_string(events, NULL);
	g_autoptr(QgaTraceSession) session =
		qga_trace_session_new("qemu-ga-1-3", QGA_TRACE_SESSION_SOURCE_QEMU_GA, pid, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) json = NULL;
	JsonArray *all = json_object_get_array_member(rec, "events");
	JsonArray *hooks;
	JsonObject *hook;
	QtfCapture *capture;

	assert_non_null(extra);
	for (guint i = 0; i < json_array_get_length(json_node_get_array(extra)); i++)
		json_array_add_element(
			all, json_node_copy(json_array_get_element(json_node_get_array(extra), i)));
	capture = qtf_capture_new_from_json(recorded, &error);
	assert_non_null(capture);
	hook_qemu_ga_scripts(session, capture, pid, 903);
	qga_trace_session_finish(session, capture, 2);
	json = qga_trace_session_to_json(session);
	hooks = json_object_get_array_member(json_node_get_object(json), "hooks");
	assert_int_equal(json_array_get_length(hooks), 3);
	hook = json_array_get_object_element(hooks, 0);
	assert_string_equal(json_object_get_string_member(hook, "comm"), "fsfreeze-hook");
	assert_string_equal(json_object_get_string_member(hook, "phase"), "freeze");
	assert_int_equal(json_object_get_int_member(hook, "duration-ns"), 4500);
	assert_true(json_object_get_null_member(hook, "path"));
	assert_true(json_object_get_null_member(hook, "exit-status"));
	assert_true(json_object_get_null_member(hook, "timed-out"));
	hook = json_array_get_object_element(hooks, 1);
	assert_string_equal(json_object_get_string_member(hook, "comm"), "db-flush");
	assert_int_equal(json_object_get_int_member(hook, "duration-ns"), 3000);
	hook = json_array_get_object_element(hooks, 2);
	assert_string_equal(json_object_get_string_member(hook, "comm"), "db-resume");
	assert_string_equal(json_object_get_string_member(hook, "phase"), "thaw");
	assert_true(json_object_get_null_member(hook, "duration-ns"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_find_agent),
		cmocka_unit_test(test_hook_find_agent_loop),
		cmocka_unit_test(test_hook_qemu_ga_mounts),
		cmocka_unit_test(test_hook_replay_recorded),
		cmocka_unit_test(test_hook_replay_events),
		cmocka_unit_test(test_hook_replay_subset_by_device),
		cmocka_unit_test(test_hook_replay_by_count),
		cmocka_unit_test(test_hook_replay_cannot_tell),
		cmocka_unit_test(test_hook_replay_wrong_device),
		cmocka_unit_test(test_hook_replay_not_thawed),
		cmocka_unit_test(test_hook_replay_nothing_recorded),
		cmocka_unit_test(test_hook_replay_untraced),
		cmocka_unit_test(test_hook_scripts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
