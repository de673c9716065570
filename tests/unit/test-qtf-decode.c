/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "qtf-private.h"

/*
 * Real ring-buffer pages recorded in the QEMU guest (Debian 6.1 cloud
 * kernel, 2 vCPUs) by qgatrace-tracefs-tool session --snapshot: see
 * tests/fixtures/tracefs/README.md. They go through libtraceevent's
 * header page and format parsers and kbuffer, as the live path does.
 */
#define FIXTURE(name) FIXTURES_DIR "/tracefs/" name

static QtfCapture *
decode(const gchar *dir, QtfMethod method, const gchar *const *tracepoints, gboolean kallsyms)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *syms = g_build_filename(dir, "kallsyms", NULL);
	QtfCapture *capture = qtf_capture_new(method);

	g_strfreev(capture->tracepoints);
	capture->tracepoints = g_strdupv((gchar **)tracepoints);
	assert_true(qtf_snapshot_decode(dir, kallsyms ? syms : NULL, capture, &error));
	assert_null(error);
	return capture;
}

static const gchar *const function_tracepoints[] = {"ext4:ext4_sync_fs", NULL};
static const gchar *const events_tracepoints[] = {
	"syscalls:sys_enter_ioctl", "syscalls:sys_exit_ioctl", "ext4:ext4_sync_fs", NULL};

static QtfEvent *
event_at(QtfCapture *capture, guint i)
{
	assert_true(i < capture->events->len);
	return g_ptr_array_index(capture->events, i);
}

static JsonNode *
load_json(const gchar *path)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	assert_true(json_parser_load_from_file(parser, path, &error));
	return json_node_copy(json_parser_get_root(parser));
}

/* @array NULL: the "child" object */
static gint64
session_int(const gchar *dir, const gchar *array, guint index, const gchar *member)
{
	g_autofree gchar *path = g_build_filename(dir, "session.json", NULL);
	g_autoptr(JsonNode) root = load_json(path);
	JsonObject *obj = json_node_get_object(root);
	JsonArray *a;

	if (array == NULL)
		return json_object_get_int_member(json_object_get_object_member(obj, "child"),
						  member);
	a = json_object_get_array_member(obj, array);
	return json_object_get_int_member(json_array_get_object_element(a, index), member);
}

/*
 * The kernel's own rendering of the same buffer (the instance's "trace",
 * read before the pages were consumed) against our decode: task, CPU,
 * microseconds (the kernel rounds), function and caller, or event.
 */
static void
assert_matches_kernel_text(const gchar *dir, QtfCapture *capture)
{
	g_autofree gchar *path = g_build_filename(dir, "trace.txt", NULL);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;
	/* " qgatrace-tracef-152     [000] .....    11.272773: freeze_super <-__x64_sys_ioctl" */
	g_autoptr(GRegex) re = g_regex_new(
		"^\\s*(.+)-(\\d+)\\s+\\[(\\d+)\\]\\s+\\S+\\s+(\\d+)\\.(\\d{6}): (.*)$", 0, 0, NULL);
	guint n = 0;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(GMatchInfo) m = NULL;
		g_autofree gchar *pid = NULL, *cpu = NULL, *sec = NULL, *usec = NULL, *rest = NULL;
		QtfEvent *ev;

		if (lines[i][0] == '#' || lines[i][0] == '\0')
			continue;
		if (!g_regex_match(re, lines[i], 0, &m))
			fail_msg("unexpected trace.txt line '%s'", lines[i]);
		pid = g_match_info_fetch(m, 2);
		cpu = g_match_info_fetch(m, 3);
		sec = g_match_info_fetch(m, 4);
		usec = g_match_info_fetch(m, 5);
		rest = g_match_info_fetch(m, 6);
		ev = event_at(capture, n++);
		assert_int_equal(ev->pid, atoi(pid));
		assert_int_equal(ev->cpu, atoi(cpu));
		assert_int_equal((ev->ts_ns + 500) / 1000,
				 g_ascii_strtoull(sec, NULL, 10) * 1000000 +
					 g_ascii_strtoull(usec, NULL, 10));
		switch (ev->kind) {
		case QTF_EVENT_FUNCTION: {
			g_autofree gchar *expected =
				g_strdup_printf("%s <-%s", ev->function, ev->parent);
			assert_string_equal(rest, expected);
			break;
		}
		case QTF_EVENT_IOCTL_ENTER: {
			g_autofree gchar *cmd =
				g_strdup_printf("cmd: %" G_GINT64_MODIFIER "x,", ev->cmd);
			assert_true(g_str_has_prefix(rest, "sys_ioctl("));
			assert_non_null(strstr(rest, cmd));
			break;
		}
		case QTF_EVENT_IOCTL_EXIT: {
			g_autofree gchar *ret = g_strdup_printf(
				"sys_ioctl -> 0x%" G_GINT64_MODIFIER "x", (guint64)ev->ret);
			assert_string_equal(rest, ret);
			break;
		}
		case QTF_EVENT_TRACEPOINT:
		default: {
			g_autofree gchar *name =
				g_strdup_printf("%s: ", strchr(ev->event, ':') + 1);
			assert_true(g_str_has_prefix(rest, name));
			if (ev->has_dev) {
				g_autofree gchar *dev =
					g_strdup_printf("dev %u,%u ", ev->dev_major, ev->dev_minor);
				assert_non_null(strstr(rest, dev));
			}
			break;
		}
		}
	}
	/* every record, none more */
	assert_int_equal(n, capture->events->len);
}

static void
assert_ts_monotonic(QtfCapture *capture)
{
	for (guint i = 1; i < capture->events->len; i++)
		assert_true(event_at(capture, i - 1)->ts_ns <= event_at(capture, i)->ts_ns);
}

static void
test_qtf_decode_function_ext4(void **state)
{
	const gchar *dir = FIXTURE("function-ext4");
	g_autoptr(QtfCapture) capture =
		decode(dir, QTF_METHOD_FUNCTION, function_tracepoints, TRUE);
	gint tid = (gint)session_int(dir, "ioctls", 0, "tid");
	gint child = (gint)session_int(dir, NULL, 0, "pid");
	/* as the kernel printed them in trace.txt */
	const struct {
		const gchar *function;
		const gchar *parent;
	} expected[] = {
		{"freeze_super", "__x64_sys_ioctl"},
		{"sync_filesystem", "freeze_super"},
		{NULL, NULL}, /* ext4_sync_fs wait 0 */
		{NULL, NULL}, /* ext4_sync_fs wait 1 */
		{"ext4_freeze", "freeze_super"},
		{"thaw_super", "__x64_sys_ioctl"},
		{"ext4_unfreeze", "thaw_super_locked"},
		{"deactivate_locked_super", "thaw_super_locked"},
		{"thaw_super", "__x64_sys_ioctl"}, /* the loop's failing FITHAW */
	};

	/* 9 events of the agent's thread on CPU 0, then 9 of the child on CPU 1 */
	assert_int_equal(capture->events->len, 18);
	for (guint i = 0; i < capture->events->len; i++) {
		QtfEvent *ev = event_at(capture, i);

		assert_int_equal(ev->cpu, i < 9 ? 0 : 1);
		assert_int_equal(ev->pid, i < 9 ? tid : child);
		assert_string_equal(ev->comm, "qgatrace-tracef"); /* TASK_COMM_LEN cut it */
		if (expected[i % 9].function == NULL) {
			assert_int_equal(ev->kind, QTF_EVENT_TRACEPOINT);
			assert_string_equal(ev->event, "ext4:ext4_sync_fs");
			assert_true(ev->has_dev);
			assert_int_equal(ev->dev_major, 254);
			assert_int_equal(ev->dev_minor, 0);
			continue;
		}
		assert_int_equal(ev->kind, QTF_EVENT_FUNCTION);
		assert_string_equal(ev->event, "ftrace:function");
		assert_string_equal(ev->function, expected[i % 9].function);
		assert_string_equal(ev->parent, expected[i % 9].parent);
		assert_false(ev->has_dev);
		assert_int_equal(ev->lost_before, 0);
	}
	/* the same function, the same address */
	assert_true(event_at(capture, 5)->ip == event_at(capture, 8)->ip);
	assert_ts_monotonic(capture);

	assert_int_equal(capture->cpus->len, 2);
	assert_int_equal(g_array_index(capture->cpus, QtfCpuLoss, 0).read, 9);
	assert_int_equal(g_array_index(capture->cpus, QtfCpuLoss, 1).read, 9);
	assert_int_equal(qtf_capture_lost(capture, NULL), 0);
	assert_true(qtf_capture_is_complete(capture));
}

static void
assert_matches_guest(const gchar *dir, QtfCapture *capture)
{
	g_autofree gchar *path = g_build_filename(dir, "capture.json", NULL);
	g_autoptr(JsonNode) guest = load_json(path);
	g_autoptr(JsonNode) host = qtf_capture_to_json(capture);
	const gchar *members[] = {"events", "lost-events", "complete"};

	/* the guest also knew what it armed; what the pages say must come
	 * out of them the same here */
	for (guint i = 0; i < G_N_ELEMENTS(members); i++)
		assert_true(json_node_equal(
			json_object_get_member(json_node_get_object(guest), members[i]),
			json_object_get_member(json_node_get_object(host), members[i])));
}

static void
test_qtf_decode_matches_guest_and_kernel(void **state)
{
	struct {
		const gchar *dir;
		QtfMethod method;
		const gchar *const *tracepoints;
	} cases[] = {
		{FIXTURE("function-ext4"), QTF_METHOD_FUNCTION, function_tracepoints},
		{FIXTURE("function-ebusy"), QTF_METHOD_FUNCTION, function_tracepoints},
		{FIXTURE("function-overrun"), QTF_METHOD_FUNCTION, function_tracepoints},
		{FIXTURE("function-readonly"), QTF_METHOD_FUNCTION, function_tracepoints},
		{FIXTURE("events-ext4"), QTF_METHOD_EVENTS, events_tracepoints},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(QtfCapture) capture =
			decode(cases[i].dir, cases[i].method, cases[i].tracepoints, TRUE);
		assert_matches_guest(cases[i].dir, capture);
		assert_matches_kernel_text(cases[i].dir, capture);
	}
}

static void
test_qtf_decode_events_ext4(void **state)
{
	g_autoptr(QtfCapture) capture =
		decode(FIXTURE("events-ext4"), QTF_METHOD_EVENTS, events_tracepoints, TRUE);
	/* FIFREEZE, two syncs, back with 0; FITHAW 0; FITHAW -EINVAL: twice */
	const QtfEventKind kinds[] = {QTF_EVENT_IOCTL_ENTER, QTF_EVENT_TRACEPOINT,
				      QTF_EVENT_TRACEPOINT,  QTF_EVENT_IOCTL_EXIT,
				      QTF_EVENT_IOCTL_ENTER, QTF_EVENT_IOCTL_EXIT,
				      QTF_EVENT_IOCTL_ENTER, QTF_EVENT_IOCTL_EXIT};

	assert_int_equal(capture->events->len, 16);
	for (guint i = 0; i < capture->events->len; i++) {
		QtfEvent *ev = event_at(capture, i);

		assert_int_equal(ev->kind, kinds[i % 8]);
		assert_int_equal(ev->cpu, i < 8 ? 0 : 1);
		assert_null(ev->function);
	}
	assert_int_equal(event_at(capture, 0)->cmd, QTF_FIFREEZE);
	assert_string_equal(event_at(capture, 0)->event, "syscalls:sys_enter_ioctl");
	assert_int_equal(event_at(capture, 3)->ret, 0);
	assert_int_equal(event_at(capture, 4)->cmd, QTF_FITHAW);
	assert_int_equal(event_at(capture, 5)->ret, 0);
	assert_int_equal(event_at(capture, 6)->cmd, QTF_FITHAW);
	assert_int_equal(event_at(capture, 7)->ret, -22); /* not frozen: the loop ends */
	assert_ts_monotonic(capture);
	assert_true(qtf_capture_is_complete(capture));
}

static void
test_qtf_decode_overrun(void **state)
{
	g_autoptr(QtfCapture) capture = decode(FIXTURE("function-overrun"), QTF_METHOD_FUNCTION,
					       function_tracepoints, TRUE);
	const QtfCpuLoss *cpu1;
	QtfEvent *first_on_cpu1 = NULL;
	gboolean unknown = TRUE;
	guint n_read = 0;

	/* a 4 KB buffer and 3000 vfs_read calls of dd on CPU 1 */
	assert_int_equal(capture->cpus->len, 2);
	cpu1 = &g_array_index(capture->cpus, QtfCpuLoss, 1);
	assert_int_equal(cpu1->cpu, 1);
	assert_true(cpu1->overrun > 0);
	assert_int_equal(cpu1->missed, (gint64)cpu1->overrun); /* the page header said so too */
	assert_int_equal(g_array_index(capture->cpus, QtfCpuLoss, 0).overrun, 0);
	for (guint i = 0; i < capture->events->len; i++) {
		QtfEvent *ev = event_at(capture, i);

		if (ev->cpu == 1 && first_on_cpu1 == NULL)
			first_on_cpu1 = ev;
		else
			assert_int_equal(ev->lost_before, 0);
		if (ev->cpu == 1) {
			n_read++;
			assert_string_equal(ev->function, "vfs_read");
			assert_string_equal(ev->parent, "ksys_read");
		}
	}
	/* the loss is reported where it happened, never dropped silently */
	if (first_on_cpu1 == NULL)
		fail_msg("no event on CPU 1");
	else
		assert_int_equal(first_on_cpu1->lost_before, (gint64)cpu1->overrun);
	assert_int_equal(cpu1->read, n_read);
	assert_int_equal(qtf_capture_lost(capture, &unknown), cpu1->overrun);
	assert_false(unknown);
	assert_false(qtf_capture_is_complete(capture));
	assert_ts_monotonic(capture);
}

static void
test_qtf_decode_without_kallsyms(void **state)
{
	g_autoptr(QtfCapture) capture =
		decode(FIXTURE("function-ext4"), QTF_METHOD_FUNCTION, function_tracepoints, FALSE);
	g_autoptr(JsonNode) json = qtf_capture_to_json(capture);
	JsonObject *first = json_array_get_object_element(
		json_object_get_array_member(json_node_get_object(json), "events"), 0);

	/* kptr_restrict: no names, but never a wrong one, and the address stays */
	assert_null(event_at(capture, 0)->function);
	assert_true(event_at(capture, 0)->ip != 0);
	assert_true(json_object_get_null_member(first, "function"));
	assert_true(g_str_has_prefix(json_object_get_string_member(first, "ip"), "0xffffffff"));
}

static void
test_qtf_decode_missing_format(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qtf-decode-XXXXXX", NULL);
	g_autofree gchar *header = g_build_filename(dir, "events", "header_page", NULL);
	g_autofree gchar *events = g_path_get_dirname(header);
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);

	assert_true(g_file_get_contents(FIXTURE("function-ext4/events/header_page"), &text, NULL,
					NULL));
	assert_int_equal(g_mkdir_with_parents(events, 0755), 0);
	assert_true(g_file_set_contents(header, text, -1, NULL));
	/* without the function format every record would be skipped unseen */
	assert_false(qtf_snapshot_decode(dir, NULL, capture, &error));
	assert_true(g_error_matches(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE));
	assert_non_null(strstr(error->message, "ftrace/function"));
	g_unlink(header);
	g_rmdir(events);
	g_rmdir(dir);
}

static void
test_qtf_decode_partial_page(void **state)
{
	const gchar *dir = FIXTURE("function-ext4");
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);
	g_autoptr(TepHandle) tep = NULL;
	g_autoptr(QtfDecoder) decoder = NULL;
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(required, g_strdup("ftrace/function"));
	tep = qtf_tep_load(dir, NULL, required, NULL, &error);
	assert_non_null(tep);
	assert_int_equal(tep_get_sub_buffer_size(tep), 4096);
	decoder = qtf_decoder_new(tep, capture);
	g_ptr_array_add(pages, g_bytes_new_static("\0\0\0", 3));
	assert_false(qtf_decoder_feed_pages(decoder, pages, &error));
	assert_true(g_error_matches(error, QTF_ERROR, QTF_ERROR_FAILED));
	assert_int_equal(capture->events->len, 0);
}

/* function-ext4's formats for @capture, as decode() loads them */
static TepHandle *
function_ext4_tep(QtfCapture *capture)
{
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *kallsyms = g_build_filename(FIXTURE("function-ext4"), "kallsyms", NULL);
	TepHandle *tep;

	g_strfreev(capture->tracepoints);
	capture->tracepoints = g_strdupv((gchar **)function_tracepoints);
	qtf_capture_event_formats(capture, required, optional);
	tep = qtf_tep_load(FIXTURE("function-ext4"), kallsyms, required, optional, NULL);
	assert_non_null(tep);
	return tep;
}

/* found by fuzz/fuzz-trace.c: kbuffer read past a page whose header gave
 * a data size larger than the page; such a page is skipped, the other
 * CPU's pages still decode */
static void
test_qtf_decode_page_larger_than_page(void **state)
{
	const gchar *dir = FIXTURE("function-ext4");
	g_autoptr(QtfCapture) whole = decode(dir, QTF_METHOD_FUNCTION, function_tracepoints, TRUE);
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);
	g_autoptr(TepHandle) tep = function_ext4_tep(capture);
	g_autoptr(QtfDecoder) decoder = NULL;
	g_autoptr(GError) error = NULL;
	guint on_cpu0 = 0;

	for (gint cpu = 0; cpu < 2; cpu++) {
		g_autofree gchar *path =
			g_strdup_printf("%s/per_cpu/cpu%d/trace_pipe_raw", dir, cpu);
		gchar *raw = NULL;
		gsize len = 0;

		assert_true(g_file_get_contents(path, &raw, &len, NULL));
		assert_int_equal(len, 4096);
		/* CPU 1's commit (after the u64 time stamp): all 27 bits set */
		if (cpu == 1)
			memset(raw + 8, 0xff, 8);
		g_ptr_array_add(pages, g_bytes_new_take(raw, len));
	}
	decoder = qtf_decoder_new(tep, capture);
	assert_true(qtf_decoder_feed_pages(decoder, pages, &error));
	for (guint i = 0; i < whole->events->len; i++)
		on_cpu0 += event_at(whole, i)->cpu == 0;
	assert_true(on_cpu0 > 0 && on_cpu0 < whole->events->len);
	assert_int_equal(capture->events->len, on_cpu0);
	for (guint i = 0; i < capture->events->len; i++)
		assert_int_equal(event_at(capture, i)->cpu, 0);
}

/* found by fuzz/fuzz-trace.c (its input: fuzz/record-stuck.raw): a record
 * whose length does not move kbuffer on was decoded forever, until memory
 * ran out; now the rest of its page is skipped and decoding ends */
static void
test_qtf_decode_record_stuck(void **state)
{
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);
	g_autoptr(TepHandle) tep = function_ext4_tep(capture);
	g_autoptr(QtfDecoder) decoder = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *raw = NULL;
	gsize len = 0;

	assert_true(g_file_get_contents(FIXTURE("fuzz/record-stuck.raw"), &raw, &len, NULL));
	assert_int_equal(len, 3 * 4096);
	/* as the fuzzer fed it: one page for CPU 0, two for CPU 1 */
	g_ptr_array_add(pages, g_bytes_new(raw, 4096));
	g_ptr_array_add(pages, g_bytes_new(raw + 4096, len - 4096));
	decoder = qtf_decoder_new(tep, capture);
	assert_true(qtf_decoder_feed_pages(decoder, pages, &error));
	/* no more records than 8-byte ones filling every page */
	assert_true(capture->events->len <= len / 8);
}

static void
test_qtf_decode_json_roundtrip(void **state)
{
	g_autoptr(QtfCapture) capture =
		decode(FIXTURE("events-ext4"), QTF_METHOD_EVENTS, events_tracepoints, TRUE);
	g_autoptr(QtfCapture) back = NULL;
	g_autoptr(JsonNode) json = NULL;
	g_autoptr(JsonNode) again = NULL;
	g_autoptr(GError) error = NULL;

	capture->clock = g_strdup("mono");
	capture->reason = g_strdup("function tracer: refused");
	json = qtf_capture_to_json(capture);
	back = qtf_capture_new_from_json(json, &error);
	assert_null(error);
	assert_non_null(back);
	assert_int_equal(back->method, QTF_METHOD_EVENTS);
	assert_int_equal(back->events->len, capture->events->len);
	assert_int_equal(event_at(back, 7)->ret, -22);
	assert_int_equal(event_at(back, 0)->cmd, QTF_FIFREEZE);
	again = qtf_capture_to_json(back);
	assert_true(json_node_equal(json, again));
}

static void
test_qtf_decode_json_errors(void **state)
{
	const gchar *bad[] = {
		"[]",
		"{\"events\": {}}",
		"{\"events\": [{\"cpu\": 0, \"pid\": 1}]}", /* no ts-ns */
		"{\"events\": [{\"ts-ns\": 1, \"cpu\": 0, \"pid\": 1, \"ip\": \"zz\"}]}",
		"{\"events\": [{\"ts-ns\": 1, \"cpu\": 0, \"pid\": 1, \"dev\": \"254\"}]}",
		"{\"lost-events\": {\"cpus\": [{\"overrun\": 1}]}}", /* no cpu */
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonNode) node = json_from_string(bad[i], NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(QtfCapture) capture = qtf_capture_new_from_json(node, &error);

		assert_null(capture);
		assert_true(g_error_matches(error, QTF_ERROR, QTF_ERROR_FAILED));
	}
}

static void
test_qtf_decode_stats(void **state)
{
	QtfCpuLoss loss = {0};

	qtf_cpu_loss_parse_stats(&loss,
				 "entries: 245\noverrun: 2755\ncommit overrun: 3\n"
				 "bytes: 6880\noldest event ts:    19.923056\n"
				 "now ts:    19.937115\ndropped events: 7\nread events: 0\n");
	assert_int_equal(loss.overrun, 2755);
	assert_int_equal(loss.commit_overrun, 3);
	assert_int_equal(loss.dropped, 7);
}

static void
test_qtf_decode_lost_unknown(void **state)
{
	g_autoptr(QtfCapture) capture = qtf_capture_new(QTF_METHOD_FUNCTION);
	gboolean unknown = FALSE;

	qtf_capture_get_cpu(capture, 3)->missed = -1;
	qtf_capture_get_cpu(capture, 1)->overrun = 5;
	/* kept in CPU order */
	assert_int_equal(g_array_index(capture->cpus, QtfCpuLoss, 0).cpu, 1);
	assert_int_equal(qtf_capture_lost(capture, &unknown), 5);
	assert_true(unknown);
	assert_false(qtf_capture_is_complete(capture));
}

static void
test_qtf_decode_options_checked(void **state)
{
	const gchar *const glob[] = {"thaw_super*", NULL};
	const gchar *const none[] = {NULL};
	const gchar *const bad_event[] = {"ext4_sync_fs", NULL};
	QtfOptions opts[] = {
		{.instance = "../escape"},
		{.functions = glob},
		{.functions = none},
		{.fs_events = bad_event},
	};

	/* rejected before tracefs is looked at */
	for (guint i = 0; i < G_N_ELEMENTS(opts); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(QtfTracer) tracer = qtf_tracer_new(&opts[i], &error);

		assert_null(tracer);
		assert_true(g_error_matches(error, QTF_ERROR, QTF_ERROR_FAILED));
	}
}

static void
test_qtf_error_domain_name(void **state)
{
	assert_string_equal(g_quark_to_string(QTF_ERROR), "qtf-error-quark");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qtf_error_domain_name),
		cmocka_unit_test(test_qtf_decode_function_ext4),
		cmocka_unit_test(test_qtf_decode_matches_guest_and_kernel),
		cmocka_unit_test(test_qtf_decode_events_ext4),
		cmocka_unit_test(test_qtf_decode_overrun),
		cmocka_unit_test(test_qtf_decode_without_kallsyms),
		cmocka_unit_test(test_qtf_decode_missing_format),
		cmocka_unit_test(test_qtf_decode_partial_page),
		cmocka_unit_test(test_qtf_decode_page_larger_than_page),
		cmocka_unit_test(test_qtf_decode_record_stuck),
		cmocka_unit_test(test_qtf_decode_json_roundtrip),
		cmocka_unit_test(test_qtf_decode_json_errors),
		cmocka_unit_test(test_qtf_decode_stats),
		cmocka_unit_test(test_qtf_decode_lost_unknown),
		cmocka_unit_test(test_qtf_decode_options_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
