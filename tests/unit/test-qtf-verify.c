/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qtf.h"

/*
 * Verification on recorded sessions: the guest's own captures (decoded
 * there, tests/fixtures/tracefs/<case>/capture.json, with the tool's
 * account of its ioctls in session.json) and hand-written variations.
 */
#define FIXTURE(name) FIXTURES_DIR "/tracefs/" name

typedef struct {
	JsonNode *root; /* the strings of the mounts live in it */
	QtfCapture *capture;
	QtfMount *mounts;
	guint n_mounts;
	QtfIoctl *ioctls;
	guint n_ioctls;
} Session;

static void
session_free(Session *self)
{
	json_node_unref(self->root);
	qtf_capture_free(self->capture);
	g_free(self->mounts);
	g_free(self->ioctls);
	g_free(self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Session, session_free)

static JsonNode *
load_json(const gchar *path)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	assert_true(json_parser_load_from_file(parser, path, &error));
	return json_node_copy(json_parser_get_root(parser));
}

static void
session_parse(Session *self, JsonObject *session)
{
	JsonArray *mounts = json_object_get_array_member(session, "mounts");
	JsonArray *ioctls = json_object_get_array_member(session, "ioctls");

	self->n_mounts = json_array_get_length(mounts);
	self->mounts = g_new0(QtfMount, self->n_mounts);
	for (guint i = 0; i < self->n_mounts; i++) {
		JsonObject *m = json_array_get_object_element(mounts, i);

		self->mounts[i].mountpoint = json_object_get_string_member(m, "mountpoint");
		self->mounts[i].fstype = json_object_get_string_member(m, "fstype");
		assert_int_equal(sscanf(json_object_get_string_member(m, "dev"), "%u:%u",
					&self->mounts[i].dev_major, &self->mounts[i].dev_minor),
				 2);
	}
	self->n_ioctls = json_array_get_length(ioctls);
	self->ioctls = g_new0(QtfIoctl, self->n_ioctls);
	for (guint k = 0; k < self->n_ioctls; k++) {
		JsonObject *o = json_array_get_object_element(ioctls, k);

		self->ioctls[k].kind =
			g_strcmp0(json_object_get_string_member(o, "kind"), "freeze") == 0
				? QTF_IOCTL_FREEZE
				: QTF_IOCTL_THAW;
		self->ioctls[k].mount = (guint)json_object_get_int_member(o, "mount");
		self->ioctls[k].tid = (gint)json_object_get_int_member(o, "tid");
		self->ioctls[k].start_ns = (guint64)json_object_get_int_member(o, "start-ns");
		self->ioctls[k].end_ns = (guint64)json_object_get_int_member(o, "end-ns");
	}
}

/* a recorded case: DIR/capture.json and DIR/session.json */
static Session *
session_load_dir(const gchar *dir)
{
	g_autofree gchar *capture_path = g_build_filename(dir, "capture.json", NULL);
	g_autofree gchar *session_path = g_build_filename(dir, "session.json", NULL);
	g_autoptr(JsonNode) capture = load_json(capture_path);
	g_autoptr(GError) error = NULL;
	Session *self = g_new0(Session, 1);

	self->root = load_json(session_path);
	self->capture = qtf_capture_new_from_json(capture, &error);
	assert_null(error);
	session_parse(self, json_node_get_object(self->root));
	return self;
}

/* a hand-written case: {"capture": ..., "session": ...} in one file */
static Session *
session_load_file(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	Session *self = g_new0(Session, 1);
	JsonObject *obj;

	self->root = load_json(path);
	obj = json_node_get_object(self->root);
	self->capture = qtf_capture_new_from_json(json_object_get_member(obj, "capture"), &error);
	assert_null(error);
	session_parse(self, json_object_get_object_member(obj, "session"));
	return self;
}

static QtfVerdicts *
verify(Session *s)
{
	QtfVerdicts *verdicts =
		qtf_verify(s->capture, s->mounts, s->n_mounts, s->ioctls, s->n_ioctls);

	assert_non_null(verdicts);
	assert_int_equal(verdicts->len, s->n_mounts);
	return verdicts;
}

static QtfVerdict *
verdict_at(QtfVerdicts *verdicts, guint i)
{
	return g_ptr_array_index(verdicts, i);
}

static QtfEvent *
event_at(QtfCapture *capture, guint i)
{
	return g_ptr_array_index(capture->events, i);
}

static void
drop_windows(Session *s)
{
	for (guint k = 0; k < s->n_ioctls; k++)
		s->ioctls[k].start_ns = s->ioctls[k].end_ns = 0;
}

static void
assert_reason(QtfVerdict *v, const gchar *part)
{
	assert_false(v->verified);
	assert_non_null(v->reason);
	if (strstr(v->reason, part) == NULL)
		fail_msg("reason '%s' lacks '%s'", v->reason, part);
}

static void
assert_strv(gchar **strv, const gchar *const *expected)
{
	assert_int_equal(g_strv_length(strv), g_strv_length((gchar **)expected));
	for (guint i = 0; expected[i] != NULL; i++)
		assert_string_equal(strv[i], expected[i]);
}

/* ---- recorded in the guest ---- */

static void
test_qtf_verify_recorded_function(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);
	QtfVerdict *v = verdict_at(verdicts, 0);
	const gchar *const ops[] = {"ext4:ext4_sync_fs", "ext4_freeze", "ext4_unfreeze", NULL};

	assert_null(v->reason);
	assert_true(v->verified);
	assert_true(v->frozen);
	assert_true(v->thawed);
	assert_string_equal(v->mountpoint, "/mnt/data");
	assert_string_equal(v->attribution, "window");
	/* freeze_super and the first (successful) thaw_super */
	assert_int_equal(v->freeze_ts_ns, event_at(s->capture, 0)->ts_ns);
	assert_int_equal(v->thaw_ts_ns, event_at(s->capture, 5)->ts_ns);
	assert_int_equal(v->frozen_ns, v->thaw_ts_ns - v->freeze_ts_ns);
	assert_true(v->freeze_ts_ns >= s->ioctls[0].start_ns);
	assert_true(v->thaw_ts_ns <= s->ioctls[1].end_ns);
	assert_strv(v->fs_ops, ops);
	assert_true(v->dev_seen);
	assert_int_equal(v->dev_major, 254);
	assert_int_equal(v->dev_minor, 0);
	/* the evidence: the agent thread's 9 events; the forked child froze
	 * the same filesystem after, in its own task: not counted */
	assert_int_equal(v->events->len, 9);
	for (guint i = 0; i < v->events->len; i++) {
		guint e = g_array_index(v->events, guint, i);
		assert_int_equal(e, i);
		assert_int_equal(event_at(s->capture, e)->pid, s->ioctls[0].tid);
	}
	assert_true(qtf_verdicts_all_verified(verdicts));
}

static void
test_qtf_verify_recorded_order(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* no windows: the calls of the task go to its ioctls in order; the
	 * child's calls are another task's */
	drop_windows(s);
	verdicts = verify(s);
	assert_null(verdict_at(verdicts, 0)->reason);
	assert_true(verdict_at(verdicts, 0)->verified);
	assert_string_equal(verdict_at(verdicts, 0)->attribution, "order");
	assert_int_equal(verdict_at(verdicts, 0)->thaw_ts_ns, event_at(s->capture, 5)->ts_ns);

	/* tid 0: the capture's armed pid, the same thread here */
	for (guint k = 0; k < s->n_ioctls; k++)
		s->ioctls[k].tid = 0;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_true(verdict_at(verdicts, 0)->verified);
}

static void
test_qtf_verify_recorded_events(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("events-ext4"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);
	QtfVerdict *v = verdict_at(verdicts, 0);
	const gchar *const ops[] = {"ext4:ext4_sync_fs", NULL};

	assert_int_equal(s->capture->method, QTF_METHOD_EVENTS);
	assert_null(v->reason);
	assert_true(v->verified);
	/* sys_enter_ioctl of the FIFREEZE, of the first FITHAW */
	assert_int_equal(v->freeze_ts_ns, event_at(s->capture, 0)->ts_ns);
	assert_int_equal(v->thaw_ts_ns, event_at(s->capture, 4)->ts_ns);
	assert_strv(v->fs_ops, ops);
	assert_true(v->dev_seen);
	assert_int_equal(v->events->len, 8);

	/* a lost record could make another ioctl's exit look like this one's */
	event_at(s->capture, 3)->lost_before = 1;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "may be another's");
	event_at(s->capture, 3)->lost_before = 0;

	drop_windows(s);
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_true(verdict_at(verdicts, 0)->verified);
}

static void
test_qtf_verify_recorded_ebusy(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ebusy"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);

	/* the same mount twice: the second FIFREEZE met EBUSY inside
	 * freeze_super, which then dropped its reference */
	assert_false(verdict_at(verdicts, 0)->frozen);
	assert_reason(verdict_at(verdicts, 0), "deactivate_locked_super ran within it");
	/* the first froze it; its own FITHAW loop came after the other had
	 * thawed it: only a failing thaw_super there */
	assert_true(verdict_at(verdicts, 1)->frozen);
	assert_false(verdict_at(verdicts, 1)->thawed);
	assert_reason(verdict_at(verdicts, 1), "thaw:");
	assert_false(qtf_verdicts_all_verified(verdicts));

	drop_windows(s);
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "deactivate_locked_super ran within it");
	assert_reason(verdict_at(verdicts, 1), "thaw:");
}

static void
test_qtf_verify_recorded_overrun(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-overrun"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);

	/* CPU 1 overwrote its oldest events: one could have been a
	 * deactivate_locked_super of the freeze, had the task run there */
	assert_false(qtf_capture_is_complete(s->capture));
	assert_false(verdict_at(verdicts, 0)->frozen);
	assert_reason(verdict_at(verdicts, 0), "events were lost");
}

static void
test_qtf_verify_recorded_readonly(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-readonly"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);
	QtfVerdict *v = verdict_at(verdicts, 0);

	/* mounted ro: freeze_super marks it frozen without sync_filesystem
	 * or ext4_freeze, thaw_super_locked unfreezes it without
	 * ext4_unfreeze; neither op may be demanded */
	assert_int_equal(s->capture->events->len, 4);
	assert_null(v->reason);
	assert_true(v->verified);
	assert_int_equal(g_strv_length(v->fs_ops), 0);
	assert_false(v->dev_seen);

	/* with sync_filesystem it would have been a rw freeze: then the op
	 * must show */
	{
		QtfEvent *sync = g_new0(QtfEvent, 1);

		sync->kind = QTF_EVENT_FUNCTION;
		sync->event = g_strdup("ftrace:function");
		sync->function = g_strdup("sync_filesystem");
		sync->parent = g_strdup("freeze_super");
		sync->pid = event_at(s->capture, 0)->pid;
		sync->cpu = event_at(s->capture, 0)->cpu;
		sync->ts_ns = event_at(s->capture, 0)->ts_ns + 1;
		g_ptr_array_insert(s->capture->events, 1, sync);
	}
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "ext4_freeze was traced but not recorded");
}

static void
test_qtf_verify_recorded_as_in_guest(void **state)
{
	const gchar *cases[] = {"function-ext4", "events-ext4", "function-ebusy",
				"function-overrun", "function-readonly"};

	/* the guest ran the same verification right after recording */
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *dir = g_build_filename(FIXTURES_DIR, "tracefs", cases[i], NULL);
		g_autofree gchar *path = g_build_filename(dir, "verdicts.json", NULL);
		g_autoptr(Session) s = session_load_dir(dir);
		g_autoptr(QtfVerdicts) verdicts = verify(s);
		g_autoptr(JsonNode) host = qtf_verdicts_to_json(verdicts);
		g_autoptr(JsonNode) guest = load_json(path);

		assert_true(json_node_equal(host, guest));
	}
}

/* ---- variations ---- */

static void
remove_events_from(QtfCapture *capture, guint first, gint pid)
{
	for (guint i = capture->events->len; i > first; i--) {
		if (event_at(capture, i - 1)->pid == pid)
			g_ptr_array_remove_index(capture->events, i - 1);
	}
}

static void
test_qtf_verify_freeze_only(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;
	QtfVerdict *v;

	/* nothing of the thaw was recorded */
	remove_events_from(s->capture, 5, s->ioctls[0].tid);
	verdicts = verify(s);
	v = verdict_at(verdicts, 0);
	assert_true(v->frozen);
	assert_false(v->thawed);
	assert_reason(v, "no thaw_super recorded");
	assert_int_equal(v->freeze_ts_ns, event_at(s->capture, 0)->ts_ns);
	assert_int_equal(v->frozen_ns, 0);
}

static void
test_qtf_verify_no_events(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;
	g_autoptr(QtfCapture) unavailable =
		qtf_capture_new_unavailable("lockdown: confidentiality");

	/* the ioctls returned 0; that proves nothing */
	g_ptr_array_set_size(s->capture->events, 0);
	verdicts = verify(s);
	assert_false(verdict_at(verdicts, 0)->frozen);
	assert_reason(verdict_at(verdicts, 0), "no kernel events were recorded");

	g_ptr_array_unref(verdicts);
	verdicts = qtf_verify(unavailable, s->mounts, s->n_mounts, s->ioctls, s->n_ioctls);
	assert_reason(verdict_at(verdicts, 0), "nothing was traced: lockdown: confidentiality");
	assert_false(qtf_verdicts_all_verified(verdicts));
}

static void
test_qtf_verify_other_pid(void **state)
{
	g_autoptr(Session) s = session_load_file(FIXTURE("verify/other-pid.json"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);

	/* in the window, but another task's: not this mount's */
	assert_false(verdict_at(verdicts, 0)->frozen);
	assert_reason(verdict_at(verdicts, 0), "no freeze_super recorded for its FIFREEZE");
	assert_int_equal(verdict_at(verdicts, 0)->events->len, 0);

	drop_windows(s);
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "cannot attribute by order");
}

static void
test_qtf_verify_two_mounts(void **state)
{
	g_autoptr(Session) s = session_load_file(FIXTURE("verify/two-mounts.json"));
	g_autoptr(QtfVerdicts) verdicts = verify(s);
	const gchar *const root_ops[] = {"ext4:ext4_sync_fs", "ext4_freeze", "ext4_unfreeze", NULL};
	const gchar *const xfs_ops[] = {"xfs:xfs_fs_sync_fs", "xfs_fs_freeze", "xfs_fs_unfreeze",
					NULL};
	g_autoptr(JsonNode) json = NULL;
	JsonObject *first;

	assert_true(qtf_verdicts_all_verified(verdicts));
	assert_int_equal(verdict_at(verdicts, 0)->freeze_ts_ns, 2100);
	assert_int_equal(verdict_at(verdicts, 0)->thaw_ts_ns, 9100);
	assert_int_equal(verdict_at(verdicts, 0)->frozen_ns, 7000);
	assert_strv(verdict_at(verdicts, 0)->fs_ops, root_ops);
	assert_int_equal(verdict_at(verdicts, 0)->dev_minor, 1);
	assert_int_equal(verdict_at(verdicts, 1)->freeze_ts_ns, 1100);
	assert_int_equal(verdict_at(verdicts, 1)->thaw_ts_ns, 9200);
	assert_strv(verdict_at(verdicts, 1)->fs_ops, xfs_ops);
	assert_int_equal(verdict_at(verdicts, 1)->dev_minor, 16);
	/* the hook's sync (task 101) is nobody's evidence */
	for (guint m = 0; m < 2; m++) {
		for (guint i = 0; i < verdict_at(verdicts, m)->events->len; i++)
			assert_true(g_array_index(verdict_at(verdicts, m)->events, guint, i) >= 2);
	}

	json = qtf_verdicts_to_json(verdicts);
	first = json_array_get_object_element(json_node_get_array(json), 0);
	assert_string_equal(json_object_get_string_member(first, "mountpoint"), "/");
	assert_true(json_object_get_boolean_member(first, "verified"));
	assert_int_equal(json_object_get_int_member(first, "frozen-ns"), 7000);
	assert_string_equal(json_object_get_string_member(first, "dev"), "253:1");
	assert_true(json_object_get_null_member(first, "reason"));
	assert_string_equal(json_object_get_string_member(first, "attribution"), "window");
	/* its freeze call, both calls of its FITHAW loop */
	assert_int_equal(json_array_get_length(json_object_get_array_member(first, "events")), 9);

	/* by order, the same answer */
	drop_windows(s);
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_true(qtf_verdicts_all_verified(verdicts));
	assert_int_equal(verdict_at(verdicts, 1)->thaw_ts_ns, 9200);
}

static void
test_qtf_verify_swapped_mounts(void **state)
{
	g_autoptr(Session) s = session_load_file(FIXTURE("verify/two-mounts.json"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* the agent's account names the wrong mounts: the devices and the fs
	 * ops the kernel recorded give it away */
	s->ioctls[0].mount = 0;
	s->ioctls[1].mount = 1;
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0),
		      "the kernel synced device 253:16, the mount is 253:1");
	assert_reason(verdict_at(verdicts, 1),
		      "the kernel synced device 253:1, the mount is 253:16");

	/* without device numbers the fs type still does */
	s->mounts[0].dev_major = s->mounts[0].dev_minor = 0;
	s->mounts[1].dev_major = s->mounts[1].dev_minor = 0;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "xfs:xfs_fs_sync_fs recorded for a ext4 mount");
	assert_reason(verdict_at(verdicts, 1), "ext4:ext4_sync_fs recorded for a xfs mount");
}

static void
test_qtf_verify_dev_mismatch(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	s->mounts[0].dev_minor = 16;
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "synced device 254:0, the mount is 254:16");
	assert_false(verdict_at(verdicts, 0)->frozen);
}

static void
test_qtf_verify_fs_op_missing(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* ext4_freeze was traced, so a real ext4 freeze shows it */
	g_ptr_array_remove_index(s->capture->events, 4);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "ext4_freeze was traced but not recorded");
}

static void
test_qtf_verify_deactivate_untraced(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;
	const gchar *const functions[] = {"thaw_super",	 "freeze_super",  "sync_filesystem",
					  "ext4_freeze", "ext4_unfreeze", NULL};

	g_strfreev(s->capture->functions);
	s->capture->functions = g_strdupv((gchar **)functions);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "deactivate_locked_super was not traced");
}

static void
test_qtf_verify_losses_placed(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;
	QtfCpuLoss *cpu1 = &g_array_index(s->capture->cpus, QtfCpuLoss, 1);

	/* lost on CPU 1 between the child's last two events, long after the
	 * freeze: it cannot hide anything of it */
	assert_int_equal(cpu1->cpu, 1);
	cpu1->overrun = 4;
	cpu1->missed = 4;
	event_at(s->capture, 17)->lost_before = 4;
	verdicts = verify(s);
	assert_false(qtf_capture_is_complete(s->capture));
	assert_true(verdict_at(verdicts, 0)->verified);

	/* lost before the child's first event on CPU 1: for all we know
	 * during the freeze, where the agent's thread could have run */
	event_at(s->capture, 17)->lost_before = 0;
	event_at(s->capture, 9)->lost_before = 4;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "events were lost");

	/* counted but not placed by any page: anywhere */
	event_at(s->capture, 9)->lost_before = 0;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "events were lost");

	/* a page that only said "some": placed, count unknown */
	cpu1->overrun = 0;
	cpu1->missed = -1;
	event_at(s->capture, 17)->lost_before = -1;
	g_ptr_array_unref(verdicts);
	verdicts = verify(s);
	assert_true(verdict_at(verdicts, 0)->verified);
}

static void
test_qtf_verify_order_incomplete(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* the agent left its FITHAW out: the trace has more than it says */
	drop_windows(s);
	s->n_ioctls = 1;
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "made more freeze/thaw calls than reported");
}

static void
test_qtf_verify_unreported_mount(void **state)
{
	g_autoptr(Session) s = session_load_file(FIXTURE("verify/two-mounts.json"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* only / was reported: /mnt/xfs has nothing to go on */
	s->ioctls[0] = s->ioctls[1];
	s->ioctls[1] = s->ioctls[2];
	s->n_ioctls = 2;
	verdicts = verify(s);
	assert_true(verdict_at(verdicts, 0)->verified);
	assert_reason(verdict_at(verdicts, 1), "the agent reported no FIFREEZE of it");
}

static void
test_qtf_verify_clock(void **state)
{
	g_autoptr(Session) s = session_load_dir(FIXTURE("function-ext4"));
	g_autoptr(QtfVerdicts) verdicts = NULL;

	/* 'local' is not what the agent's windows were read with */
	g_free(s->capture->clock);
	s->capture->clock = g_strdup("local");
	verdicts = verify(s);
	assert_reason(verdict_at(verdicts, 0), "trace clock 'local'");
}

static void
test_qtf_verify_func_repeats(void **state)
{
	g_autoptr(Session) s = session_load_file(FIXTURE("verify/two-mounts.json"));
	g_autoptr(QtfVerdicts) verdicts = NULL;
	QtfEvent *ev = event_at(s->capture, 15);

	/* func-no-repeats (global on 6.1) folds a repeated call into
	 * ftrace:func_repeats: still a function event */
	assert_string_equal(ev->function, "thaw_super");
	g_free(ev->event);
	ev->event = g_strdup("ftrace:func_repeats");
	ev->repeats = 1;
	verdicts = verify(s);
	assert_true(qtf_verdicts_all_verified(verdicts));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qtf_verify_recorded_function),
		cmocka_unit_test(test_qtf_verify_recorded_order),
		cmocka_unit_test(test_qtf_verify_recorded_events),
		cmocka_unit_test(test_qtf_verify_recorded_ebusy),
		cmocka_unit_test(test_qtf_verify_recorded_overrun),
		cmocka_unit_test(test_qtf_verify_recorded_readonly),
		cmocka_unit_test(test_qtf_verify_recorded_as_in_guest),
		cmocka_unit_test(test_qtf_verify_freeze_only),
		cmocka_unit_test(test_qtf_verify_no_events),
		cmocka_unit_test(test_qtf_verify_other_pid),
		cmocka_unit_test(test_qtf_verify_two_mounts),
		cmocka_unit_test(test_qtf_verify_swapped_mounts),
		cmocka_unit_test(test_qtf_verify_dev_mismatch),
		cmocka_unit_test(test_qtf_verify_fs_op_missing),
		cmocka_unit_test(test_qtf_verify_deactivate_untraced),
		cmocka_unit_test(test_qtf_verify_losses_placed),
		cmocka_unit_test(test_qtf_verify_order_incomplete),
		cmocka_unit_test(test_qtf_verify_unreported_mount),
		cmocka_unit_test(test_qtf_verify_clock),
		cmocka_unit_test(test_qtf_verify_func_repeats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
