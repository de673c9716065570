/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host client's output pieces: sizes, durations, log levels, dmesg
 * lines, the escaping of guest text for a terminal, --json that stays JSON,
 * the per-mountpoint verdicts from a recorded trace session (and the host's
 * evidence taking one away), and the libvirt domain XML it reads channel
 * sockets and disks from. */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "client-conn.h"
#include "client-libvirt.h"
#include "client-output.h"
#include "client-terminal.h"
#include "client-trace.h"
#include "client-verdict.h"
#include "qga-error.h"

static JsonObject *
load_object(const gchar *name)
{
	g_autofree gchar *path = g_build_filename(FIXTURES_DIR, "client", name, NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(JsonNode) node = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	node = json_from_string(text, NULL);
	assert_non_null(node);
	assert_true(JSON_NODE_HOLDS_OBJECT(node));
	return json_object_ref(json_node_get_object(node));
}

static void
assert_formatted(gchar *text, const gchar *expected)
{
	assert_string_equal(text, expected);
	g_free(text);
}

static void
test_client_output_bytes(void **state)
{
	assert_formatted(client_format_bytes(0), "0 B");
	assert_formatted(client_format_bytes(1023), "1023 B");
	assert_formatted(client_format_bytes(1024), "1.00 KiB");
	assert_formatted(client_format_bytes(14336), "14.0 KiB");
	assert_formatted(client_format_bytes(331776), "324 KiB");
	assert_formatted(client_format_bytes(64 * 1024 * 1024), "64.0 MiB");
	assert_formatted(client_format_bytes(G_GUINT64_CONSTANT(3) << 30), "3.00 GiB");
}

static void
test_client_output_durations(void **state)
{
	assert_formatted(client_format_duration_ns(850), "850 ns");
	assert_formatted(client_format_duration_ns(12300), "12.3 us");
	assert_formatted(client_format_duration_ns(53743500), "53.7 ms");
	assert_formatted(client_format_duration_ns(2690000000), "2.69 s");
	assert_formatted(client_format_duration_ns(G_GUINT64_CONSTANT(125000000000)), "2 min 5 s");
	assert_formatted(client_format_monotonic_ns(4432693719), "4.432693719");
	assert_formatted(client_format_monotonic_ns(5), "0.000000005");
}

static void
test_client_output_levels(void **state)
{
	static const struct {
		const gchar *text;
		gint level;
	} cases[] = {{"emerg", 0},    {"ALERT", 1},   {"crit", 2},   {"err", 3},  {"error", 3},
		     {"warn", 4},     {"warning", 4}, {"notice", 5}, {"info", 6}, {"debug", 7},
		     {"KERN_ERR", 3}, {"0", 0},	      {"7", 7}};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_int_equal(client_parse_level(cases[i].text, NULL), cases[i].level);
	for (const gchar *const *bad = (const gchar *const[]){"8", "-1", "loud", "", "3x", NULL};
	     *bad; bad++) {
		g_autoptr(GError) error = NULL;

		assert_int_equal(client_parse_level(*bad, &error), -1);
		assert_true(error->domain == G_OPTION_ERROR);
	}
	assert_string_equal(client_level_name(3), "err");
	assert_string_equal(client_level_name(9), "?");
}

static void
test_client_output_dmesg_record(void **state)
{
	g_autoptr(JsonNode) node =
		json_from_string("{\"seq\":346,\"ts-us\":2762649,\"level\":3,\"facility\":0,"
				 "\"message\":\"EXT4-fs (vda): bad \\\\x1b thing\"}",
				 NULL);
	JsonObject *record = json_node_get_object(node);

	assert_formatted(client_format_dmesg_record(record, FALSE),
			 "[    2.762649] EXT4-fs (vda): bad \\x1b thing\n");
	assert_formatted(client_format_dmesg_record(record, TRUE),
			 "[    2.762649] \033[31mEXT4-fs (vda): bad \\x1b thing\033[0m\n");
	json_object_set_int_member(record, "level", 6);
	json_object_set_int_member(record, "ts-us", 12345678901);
	assert_formatted(client_format_dmesg_record(record, TRUE),
			 "[12345.678901] EXT4-fs (vda): bad \\x1b thing\n");
}

/* the kernel's /dev/kmsg escapes are undone as dmesg(1) does, then the
 * terminal's escaping applies: text reads as text, control bytes stay
 * escaped, whether the kernel or a lying agent sent them */
static void
test_client_output_dmesg_kmsg_text(void **state)
{
	static const struct {
		const gchar *message;
		const gchar *shown;
	} cases[] = {
		{"ACPI: \\x5c_SB_.LNKB: no IRQ", "ACPI: \\_SB_.LNKB: no IRQ"},
		{"caf\\xc3\\xa9 \\xe2\\x9c\\x93", "caf\u00e9 \u2713"},
		{"bad \\x1b[31m\\x07", "bad \\x1b[31m\\x07"},
		{"c1 \\xc2\\x9b2J \\x7f", "c1 \\xc2\\x9b2J \\x7f"},
		{"invalid \\xff\\xc0\\xaf", "invalid \\xff\\xc0\\xaf"},
		{"tab\\x09kept", "tab\tkept"},
		{"not escapes: \\x \\xZZ \\x4 end\\", "not escapes: \\x \\xZZ \\x4 end\\"},
		/* what a lying agent sends instead of kmsg-escaped text */
		{"raw \033]0;owned\a\302\233", "raw \\x1b]0;owned\\x07\\xc2\\x9b"},
		/* a line break in a message: the next line indented under the text */
		{"first\\x0asecond", "first\n               second"},
	};

	setlocale(LC_ALL, "C.UTF-8");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(JsonObject) record = json_object_new();
		g_autofree gchar *expected = g_strdup_printf("[    1.000000] %s\n", cases[i].shown);

		json_object_set_int_member(record, "ts-us", 1000000);
		json_object_set_int_member(record, "level", 6);
		json_object_set_string_member(record, "message", cases[i].message);
		assert_formatted(client_format_dmesg_record(record, FALSE), expected);
	}
	setlocale(LC_ALL, "C");
}

/* every class of byte through the one escaping function: the guest's
 * controls become \xNN as dmesg(1) shows them, text stays readable */
static void
test_client_output_terminal_escape(void **state)
{
	static const struct {
		const gchar *text;
		const gchar *shown;
	} cases[] = {
		{"plain ASCII, ~!@#$%^&*() \\ \"", "plain ASCII, ~!@#$%^&*() \\ \""},
		/* C0: ESC (an OSC title change, a screen clear), BEL, NUL-free others */
		{"\033]0;owned\a\033[2J\033[31mred", "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred"},
		{"\001\b\v\f\016\037", "\\x01\\x08\\x0b\\x0c\\x0e\\x1f"},
		/* tabs stay; line breaks and carriage returns would forge lines */
		{"a\tb", "a\tb"},
		{"line\nforged\rover", "line\\x0aforged\\x0dover"},
		{"del\177", "del\\x7f"},
		/* C1 as UTF-8: U+0080, U+009B (CSI), U+009D (OSC), U+009F */
		{"\302\200 \302\233"
		 "2J \302\235 \302\237",
		 "\\xc2\\x80 \\xc2\\x9b"
		 "2J \\xc2\\x9d \\xc2\\x9f"},
		/* the first character after C1 is text (U+00A0, U+00E9) */
		{"\302\240\303\251", "\302\240\303\251"},
		/* invalid UTF-8: bytes that never start a character, a truncated one, a lone continuation */
		{"\377\376", "\\xff\\xfe"},
		{"\342\202x", "\\xe2\\x82x"},
		{"\200x", "\\x80x"},
		{"end \342\202", "end \\xe2\\x82"},
		/* overlong encodings of '/' and of NUL, an encoded surrogate, beyond U+10FFFF */
		{"\300\257 \340\200\257 \300\200", "\\xc0\\xaf \\xe0\\x80\\xaf \\xc0\\x80"},
		{"\355\240\200", "\\xed\\xa0\\x80"},
		{"\364\220\200\200", "\\xf4\\x90\\x80\\x80"},
		/* valid multibyte text: 2, 3 and 4 bytes */
		{"caf\303\251 \342\202\254 \342\234\223 \360\235\204\236",
		 "caf\303\251 \342\202\254 \342\234\223 \360\235\204\236"},
		/* a format character that reorders the rest of the line (U+202E) */
		{"gnp.\342\200\256exe", "gnp.\\xe2\\x80\\xaeexe"},
	};
	g_autoptr(GString) out = g_string_new("[");

	setlocale(LC_ALL, "C.UTF-8");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		assert_formatted(client_terminal_escape(cases[i].text), cases[i].shown);
	assert_null(client_terminal_escape(NULL));
	/* with a length: a NUL is a byte like the others */
	client_terminal_append(out, "a\0b\033", 4);
	assert_string_equal(out->str, "[a\\x00b\\x1b");

	/* a terminal that is not UTF-8 takes bytes >= 0x80 for C1 controls:
	 * then nothing above ASCII goes through */
	setlocale(LC_ALL, "C");
	assert_formatted(client_terminal_escape("caf\303\251 \342\234\223"),
			 "caf\\xc3\\xa9 \\xe2\\x9c\\x93");
	assert_formatted(client_terminal_escape("\303\233"), "\\xc3\\x9b");
}

/* --json stays JSON: numbers json-glib cannot write become the number or
 * null, C1 controls in strings are escaped, and strings are kept as they are */
static void
test_client_output_json_text(void **state)
{
	g_autoptr(JsonArray) array = json_array_new();
	g_autoptr(JsonNode) node = NULL;
	g_autoptr(JsonNode) parsed = NULL;
	g_autoptr(GError) error = NULL;
	JsonArray *back;
	static const gchar text[] = "1e+30.0 Infinity NaN \033]0;x\a \302\233 \177 \303\251 \\ \"";

	json_array_add_double_element(array, 1e30);
	json_array_add_double_element(array, -1e300);
	json_array_add_double_element(array, 1.5);
	json_array_add_int_element(array, 3);
	json_array_add_int_element(array, G_MAXINT64);
	json_array_add_int_element(array, G_MININT64);
	json_array_add_double_element(array, 2e-7);
	json_array_add_double_element(array, INFINITY);
	json_array_add_double_element(array, -INFINITY);
	json_array_add_double_element(array, NAN);
	json_array_add_string_element(array, text);
	node = json_node_init_array(json_node_alloc(), json_array_ref(array));

	for (gint pretty = 0; pretty <= 1; pretty++) {
		g_autofree gchar *json = client_format_json(node, pretty);

		g_clear_pointer(&parsed, json_node_unref);
		parsed = json_from_string(json, &error);
		if (parsed == NULL)
			fail_msg("not JSON: %s: %s", error->message, json);
		assert_null(strstr(json, "inf"));
		assert_null(strstr(json, "nan"));
		assert_null(strstr(json, "\302\233"));
		assert_non_null(strstr(json, "\\u009b"));
		back = json_node_get_array(parsed);
		assert_int_equal(json_array_get_length(back), 11);
		assert_true(json_array_get_double_element(back, 0) == 1e30);
		assert_true(json_array_get_double_element(back, 1) == -1e300);
		assert_true(json_array_get_double_element(back, 2) == 1.5);
		assert_true(json_array_get_int_element(back, 3) == 3);
		assert_true(json_array_get_int_element(back, 4) == G_MAXINT64);
		assert_true(json_array_get_int_element(back, 5) == G_MININT64);
		assert_true(json_array_get_double_element(back, 6) == 2e-7);
		for (guint i = 7; i < 10; i++)
			assert_true(json_array_get_null_element(back, i));
		assert_string_equal(json_array_get_string_element(back, 10), text);
	}
}

static void
test_client_output_json_access(void **state)
{
	g_autoptr(JsonNode) node =
		json_from_string("{\"i\":3,\"d\":2.5,\"s\":\"x\",\"n\":null,\"b\":true,"
				 "\"o\":{},\"a\":[],\"big\":1e19,\"nbig\":-1e300,"
				 "\"min\":-9223372036854775808.0}",
				 NULL);
	JsonObject *o = json_node_get_object(node);

	assert_int_equal(client_json_int(o, "i", -1), 3);
	assert_int_equal(client_json_int(o, "d", -1), 2);
	assert_int_equal(client_json_int(o, "n", -1), -1);
	assert_int_equal(client_json_int(o, "s", -1), -1);
	assert_int_equal(client_json_int(o, "missing", -1), -1);
	/* found by fuzz/fuzz-client.c: a double beyond int64 was cast (undefined) */
	assert_int_equal(client_json_int(o, "big", -1), -1);
	assert_int_equal(client_json_int(o, "nbig", -1), -1);
	assert_true(client_json_int(o, "min", -1) == G_MININT64);
	assert_string_equal(client_json_string(o, "s"), "x");
	assert_null(client_json_string(o, "n"));
	assert_true(client_json_bool(o, "b", FALSE));
	assert_true(client_json_bool(o, "n", TRUE));
	assert_non_null(client_json_object(o, "o"));
	assert_null(client_json_object(o, "a"));
	assert_non_null(client_json_array(o, "a"));
	assert_null(client_json_array(NULL, "a"));
}

/* found by fuzz/fuzz-client.c: an agent's array element that is not an
 * object made json-glib print a critical warning on the host; such
 * elements now read as absent */
static void
test_client_output_array_not_objects(void **state)
{
	g_autoptr(JsonNode) node = json_from_string(
		"{\"events\":[1,{\"ts-ns\":1500,\"cpu\":0,\"pid\":7,\"comm\":\"c\",\"event\":\"e:f\"}],"
		"\"verification\":[\"x\",{\"mountpoint\":\"/m\",\"events\":[0,1]}]}",
		NULL);
	JsonObject *session = json_node_get_object(node);
	JsonArray *verification = client_json_array(session, "verification");
	g_autoptr(JsonArray) verdicts = NULL;
	g_auto(GStrv) functions = NULL;
	g_autofree gchar *events = NULL;
	g_auto(GStrv) lines = NULL;
	GLogLevelFlags fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

	assert_null(client_json_array_object(verification, 0));
	assert_non_null(client_json_array_object(verification, 1));
	assert_null(client_json_array_object(verification, 2));
	events = client_trace_format_events(session);
	assert_non_null(strstr(events, " 0.000001500 "));
	lines = g_strsplit(events, "\n", -1);
	assert_int_equal(g_strv_length(lines), 4); /* the header, 2 events, "" */
	functions = client_verdict_functions(session, client_json_array_object(verification, 1));
	assert_int_equal(g_strv_length(functions), 1);
	assert_string_equal(functions[0], "e:f");
	verdicts = client_verdict_mountpoints(NULL, session, NULL, NULL);
	assert_int_equal(json_array_get_length(verdicts), 1);
	g_log_set_always_fatal(fatal);
}

/* ---- verdicts ---- */

static void
test_client_output_verdict_function_session(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-function.json");
	g_autoptr(JsonArray) mps = client_verdict_mountpoints(NULL, session, NULL, NULL);
	JsonObject *v = client_verdict_find(session, "/mnt/data");
	g_auto(GStrv) functions = client_verdict_functions(session, v);
	JsonObject *mp;
	g_autofree gchar *text = NULL;

	assert_non_null(v);
	assert_true(g_strv_contains((const gchar *const *)functions, "freeze_super"));
	assert_true(g_strv_contains((const gchar *const *)functions, "thaw_super"));
	assert_true(g_strv_contains((const gchar *const *)functions, "ext4_freeze"));
	assert_true(g_strv_contains((const gchar *const *)functions, "ext4:ext4_sync_fs"));
	/* each once, in order of first appearance */
	assert_string_equal(functions[0], "freeze_super");
	for (guint i = 0; functions[i] != NULL; i++)
		for (guint j = i + 1; functions[j] != NULL; j++)
			assert_string_not_equal(functions[i], functions[j]);

	assert_int_equal(json_array_get_length(mps), 1);
	assert_true(client_verdict_all_verified(mps));
	mp = json_array_get_object_element(mps, 0);
	assert_string_equal(json_object_get_string_member(mp, "mountpoint"), "/mnt/data");
	assert_true(json_object_get_null_member(mp, "reason"));
	assert_int_equal(json_object_get_int_member(mp, "frozen-ns"),
			 json_object_get_int_member(v, "frozen-ns"));
	assert_int_equal(json_object_get_int_member(mp, "frozen-at-ns"),
			 json_object_get_int_member(v, "freeze-ts-ns"));
	assert_true(json_object_get_null_member(mp, "host-writes-in-window"));

	text = client_verdict_format(NULL, mp);
	assert_true(g_str_has_prefix(text, "/mnt/data  VERIFIED\n"));
	assert_non_null(strstr(text, "  frozen at    "));
	assert_non_null(strstr(text, "  thawed at    "));
	assert_non_null(strstr(text, "  frozen for   "));
	assert_non_null(strstr(text, "  kernel saw   freeze_super, "));
	assert_null(strstr(text, "why not"));
}

static void
test_client_output_verdict_events_session(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-events.json");
	const gchar *requested[] = {"/mnt/data", NULL};
	g_autoptr(JsonArray) mps = client_verdict_mountpoints(requested, session, NULL, NULL);
	JsonObject *mp = json_array_get_object_element(mps, 0);
	JsonArray *functions = json_object_get_array_member(mp, "functions");

	/* the tracepoint fallback names events, not functions */
	assert_true(client_verdict_all_verified(mps));
	assert_string_equal(json_array_get_string_element(functions, 0),
			    "syscalls:sys_enter_ioctl");
}

static void
test_client_output_verdict_not_verified(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-function.json");
	const gchar *requested[] = {"/mnt/data", "/mnt/other", NULL};
	g_autoptr(JsonArray) mps = NULL;
	g_autoptr(JsonArray) none = NULL;
	g_autoptr(JsonArray) empty = json_array_new();
	JsonObject *v = client_verdict_find(session, "/mnt/data");
	JsonObject *mp;
	g_autofree gchar *text = NULL;

	/* a mount the session did not freeze */
	mps = client_verdict_mountpoints(requested, session, NULL, NULL);
	assert_int_equal(json_array_get_length(mps), 2);
	assert_false(client_verdict_all_verified(mps));
	mp = json_array_get_object_element(mps, 1);
	assert_false(json_object_get_boolean_member(mp, "verified"));
	assert_non_null(strstr(json_object_get_string_member(mp, "reason"), "no verdict"));
	g_clear_pointer(&mps, json_array_unref);

	/* the agent's verdict is the verdict */
	json_object_set_boolean_member(v, "verified", FALSE);
	json_object_set_string_member(v, "reason", "thaw_super was not recorded");
	mps = client_verdict_mountpoints(NULL, session, NULL, NULL);
	mp = json_array_get_object_element(mps, 0);
	assert_false(json_object_get_boolean_member(mp, "verified"));
	assert_string_equal(json_object_get_string_member(mp, "reason"),
			    "thaw_super was not recorded");
	text = client_verdict_format(NULL, mp);
	assert_true(g_str_has_prefix(text, "/mnt/data  NOT VERIFIED\n"));
	assert_non_null(strstr(text, "  why not      thaw_super was not recorded\n"));

	/* no session at all */
	none = client_verdict_mountpoints(requested, NULL, "the agent lacks tracing", NULL);
	assert_false(client_verdict_all_verified(none));
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(none, 0),
							  "reason"),
			    "the agent lacks tracing");
	assert_false(client_verdict_all_verified(empty));
}

static void
test_client_output_verdict_host_evidence(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-function.json");
	g_autoptr(JsonNode) quiet = json_from_string(
		"{\"disks\":[{\"id\":\"data\",\"mountpoints\":[\"/mnt/data\"],\"conclusive\":true,"
		"\"writes-in-window\":0}]}",
		NULL);
	g_autoptr(JsonNode) busy = json_from_string(
		"{\"disks\":[{\"id\":\"data\",\"mountpoints\":[\"/mnt/data\"],\"conclusive\":true,"
		"\"writes-in-window\":7}]}",
		NULL);
	g_autoptr(JsonNode) shared = json_from_string(
		"{\"disks\":[{\"id\":\"data\",\"mountpoints\":[\"/mnt/data\",\"/srv\"],\"conclusive\":false,"
		"\"writes-in-window\":7}]}",
		NULL);
	g_autoptr(JsonArray) a =
		client_verdict_mountpoints(NULL, session, NULL, json_node_get_object(quiet));
	g_autoptr(JsonArray) b =
		client_verdict_mountpoints(NULL, session, NULL, json_node_get_object(busy));
	g_autoptr(JsonArray) c =
		client_verdict_mountpoints(NULL, session, NULL, json_node_get_object(shared));
	JsonObject *mp_b = json_array_get_object_element(b, 0);
	g_autofree gchar *text = NULL;

	assert_true(client_verdict_all_verified(a));
	assert_int_equal(json_object_get_int_member(json_array_get_object_element(a, 0),
						    "host-writes-in-window"),
			 0);
	/* writes the host saw inside the window take the verdict away */
	assert_false(client_verdict_all_verified(b));
	assert_string_equal(json_object_get_string_member(mp_b, "reason"),
			    "the host saw 7 write(s) to disk 'data' while it was frozen");
	text = client_verdict_format(NULL, mp_b);
	assert_non_null(strstr(text, "  host         disk 'data': 7 write(s) while frozen\n"));
	/* an unfrozen filesystem on the same disk may write: no conclusion */
	assert_true(client_verdict_all_verified(c));
	assert_true(json_object_get_null_member(json_array_get_object_element(c, 0),
						"host-writes-in-window"));
}

/* the guest's stalls per mountpoint, the host's order, printed escaped */
static void
test_client_output_verdict_stalls(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-function.json");
	g_autoptr(JsonNode) stalls = json_from_string(
		"[{\"pid\": 7, \"comm\": \"cp\", \"mountpoint\": \"/mnt/data\", "
		"\"first-blocked-ns\": 10, \"blocked-ns\": 1000000000},"
		" {\"pid\": 812, \"comm\": \"post\\u001b[2Jgres\", \"mountpoint\": \"/mnt/data\", "
		"\"first-blocked-ns\": 5, \"blocked-ns\": 2900000000},"
		" {\"pid\": 9, \"comm\": null, \"mountpoint\": \"/other\", "
		"\"first-blocked-ns\": 5, \"blocked-ns\": 9000000000}]",
		NULL);
	g_autoptr(JsonArray) mps = NULL;
	JsonObject *mp;
	JsonArray *tasks;
	g_autofree gchar *text = NULL;

	json_object_set_member(session, "stalls", g_steal_pointer(&stalls));
	json_object_set_boolean_member(session, "stalls-complete", TRUE);
	mps = client_verdict_mountpoints(NULL, session, NULL, NULL);
	mp = json_array_get_object_element(mps, 0);
	tasks = json_object_get_array_member(mp, "stalled-tasks");
	assert_int_equal(json_array_get_length(tasks), 2);
	assert_int_equal(json_object_get_int_member(json_array_get_object_element(tasks, 0), "pid"),
			 812);
	assert_int_equal(json_object_get_int_member(mp, "longest-stall-ns"), 2900000000);
	assert_true(json_object_get_boolean_member(mp, "stalls-complete"));
	text = client_verdict_format(NULL, mp);
	assert_non_null(strstr(text, "  stalled: post\\x1b[2Jgres (pid 812) 2.90 s\n"
				     "  stalled: cp (pid 7) 1.00 s\n"));
	assert_null(strstr(text, "\x1b"));
	assert_null(strstr(text, "incomplete"));
}

/* client_verdict_stalls() of @stalls_json on "/m", the guest saying complete */
static JsonArray *
stalls_on_m(const gchar *stalls_json, gboolean *complete)
{
	g_autoptr(JsonObject) session = json_object_new();

	json_object_set_member(session, "stalls", json_from_string(stalls_json, NULL));
	json_object_set_boolean_member(session, "stalls-complete", TRUE);
	*complete = TRUE;
	return client_verdict_stalls(session, "/m", complete);
}

/* a hostile guest's stalls: wrong types, negatives, huge pids, a long
 * comm, too many entries; dropped, and the list then says incomplete */
static void
test_client_output_verdict_stalls_hostile(void **state)
{
	g_autofree gchar *comm = g_strnfill(CLIENT_VERDICT_COMM_MAX + 1, 'c');
	g_autofree gchar *long_comm = g_strdup_printf(
		"{\"pid\": 1, \"comm\": \"%s\", \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, "
		"\"blocked-ns\": 1}",
		comm);
	const gchar *bad[] = {
		"{\"pid\": -1, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": 0, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": 4194305, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": 1.5, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": \"1\", \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": 1, \"mountpoint\": \"/m\", \"first-blocked-ns\": -1, \"blocked-ns\": 1}",
		"{\"pid\": 1, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": -5}",
		"{\"pid\": 1, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, \"blocked-ns\": 1e30}",
		"{\"pid\": 1, \"mountpoint\": 3, \"first-blocked-ns\": 1, \"blocked-ns\": 1}",
		"{\"pid\": 1, \"mountpoint\": \"/m\", \"blocked-ns\": 1}",
		"{\"pid\": 1, \"comm\": 5, \"mountpoint\": \"/m\", \"first-blocked-ns\": 1, "
		"\"blocked-ns\": 1}",
		long_comm,
		"[1, 2]",
		"null",
	};
	g_autoptr(GString) many = g_string_new("[");
	g_autoptr(JsonArray) bounded = NULL;
	g_autoptr(JsonObject) not_array = json_object_new();
	gboolean complete;

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *text = g_strdup_printf("[%s]", bad[i]);
		g_autoptr(JsonArray) tasks = stalls_on_m(text, &complete);

		print_message("# %s\n", bad[i]);
		assert_int_equal(json_array_get_length(tasks), 0);
		assert_false(complete);
	}
	/* past the bound: the rest is not looked at */
	for (guint i = 0; i < CLIENT_VERDICT_STALLS_MAX + 10; i++)
		g_string_append_printf(many,
				       "%s{\"pid\": %u, \"comm\": \"w\", \"mountpoint\": \"/m\", "
				       "\"first-blocked-ns\": 1, \"blocked-ns\": %u}",
				       i > 0 ? "," : "", i + 1, i);
	g_string_append_c(many, ']');
	bounded = stalls_on_m(many->str, &complete);
	assert_int_equal(json_array_get_length(bounded), CLIENT_VERDICT_STALLS_MAX);
	assert_false(complete);
	/* not an array, or none: no stall information at all */
	json_object_set_string_member(not_array, "stalls", "lots");
	assert_null(client_verdict_stalls(not_array, "/m", &complete));
	assert_false(complete);
}

/* a guest that ties no mountpoint to a disk (no serial, a lying agent)
 * does not switch the host's counters off: unknown means not verified */
static void
test_client_output_verdict_unknown_disk(void **state)
{
	g_autoptr(JsonObject) session = load_object("session-function.json");
	g_autoptr(JsonNode) evidence = json_from_string(
		"{\"disks\":[{\"id\":\"data\",\"mountpoints\":[\"/mnt/data\"],\"conclusive\":true,"
		"\"writes-in-window\":0},{\"id\":\"vdb\",\"mountpoints\":[],\"conclusive\":false,"
		"\"writes-in-window\":5},{\"id\":\"vdc\",\"mountpoints\":[],\"conclusive\":false,"
		"\"writes-in-window\":0}]}",
		NULL);
	g_autoptr(JsonNode) quiet = json_from_string(
		"{\"disks\":[{\"id\":\"vdb\",\"mountpoints\":[],\"conclusive\":false,"
		"\"writes-in-window\":0}]}",
		NULL);
	g_autoptr(JsonArray) mps =
		client_verdict_mountpoints(NULL, session, NULL, json_node_get_object(evidence));
	g_autoptr(JsonArray) quiet_mps =
		client_verdict_mountpoints(NULL, session, NULL, json_node_get_object(quiet));
	JsonObject *mp = json_array_get_object_element(mps, 0);
	JsonArray *unknown = json_object_get_array_member(mp, "host-unknown-disks");
	g_autofree gchar *text = NULL;

	assert_false(client_verdict_all_verified(mps));
	assert_false(json_object_get_boolean_member(mp, "verified"));
	assert_string_equal(
		json_object_get_string_member(mp, "reason"),
		"the host saw 5 write(s) to disk 'vdb' while it was frozen, and its "
		"filesystems are unknown to the host (the guest tied no mountpoint to it)");
	assert_non_null(unknown);
	assert_int_equal(json_array_get_length(unknown), 1);
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(unknown, 0),
							  "id"),
			    "vdb");
	assert_int_equal(json_object_get_int_member(json_array_get_object_element(unknown, 0),
						    "writes-in-window"),
			 5);
	text = client_verdict_format(NULL, mp);
	assert_true(g_str_has_prefix(text, "/mnt/data  NOT VERIFIED\n"));
	assert_non_null(strstr(
		text, "disk 'vdb': 5 write(s) while frozen, its filesystems unknown to the host"));
	/* a quiet disk of unknown filesystems takes nothing away */
	assert_true(client_verdict_all_verified(quiet_mps));
}

/* ---- replies through libvirt's agent API ---- */

/* the text libvirt hands over is the guest's: the codec's limits hold, and
 * 200k levels of nesting (json-glib recurses per level) are an error */
static void
test_client_output_libvirt_reply(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) deep_error = NULL;
	g_autoptr(GError) two_error = NULL;
	g_autoptr(GError) cut_error = NULL;
	g_autoptr(JsonNode) value =
		client_conn_parse_reply_text("guest-ping", "{\"return\":{\"a\":1}}", &error);
	g_autoptr(JsonNode) failed = NULL;
	g_autoptr(GString) deep = g_string_sized_new(2 * 200000 + 32);

	assert_non_null(value);
	assert_int_equal(json_object_get_int_member(json_node_get_object(value), "a"), 1);
	failed = client_conn_parse_reply_text(
		"guest-x",
		"{\"error\":{\"class\":\"CommandNotFound\","
		"\"desc\":\"The command guest-x has not been found\"}}",
		&error);
	assert_null(failed);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND));

	g_string_append(deep, "{\"return\":");
	for (guint i = 0; i < 200000; i++)
		g_string_append_c(deep, '[');
	for (guint i = 0; i < 200000; i++)
		g_string_append_c(deep, ']');
	g_string_append_c(deep, '}');
	assert_null(client_conn_parse_reply_text("guest-dmesg", deep->str, &deep_error));
	assert_true(g_error_matches(deep_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	assert_non_null(strstr(deep_error->message, "nesting"));
	assert_null(client_conn_parse_reply_text("guest-ping", "{\"return\":{}}{\"return\":{}}",
						 &two_error));
	assert_true(g_error_matches(two_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
	assert_null(client_conn_parse_reply_text("guest-ping", "{\"return\":{", &cut_error));
	assert_true(g_error_matches(cut_error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

/* ---- the domain XML ---- */

static const gchar domain_xml[] =
	"<domain type='qemu' id='6'>\n"
	"  <name>vm1</name>\n"
	"  <uuid>2b78c088-f818-4279-830b-eca15da47a66</uuid>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='qcow2' cache='writeback'/>\n"
	"      <source file='/tmp/lvtry/snap1.qcow2' index='2'/>\n"
	"      <backingStore type='file' index='1'>\n"
	"        <format type='raw'/>\n"
	"        <source file='/tmp/lvtry/data.img'/>\n"
	"        <backingStore/>\n"
	"      </backingStore>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"      <serial>qgatrace-data</serial>\n"
	"      <alias name='virtio-disk0'/>\n"
	"    </disk>\n"
	"    <disk type='file' device='cdrom'>\n"
	"      <target dev='hdc' bus='ide'/>\n"
	"    </disk>\n"
	"    <controller type='virtio-serial' index='0'/>\n"
	"    <channel type='unix'>\n"
	"      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-6-vm1/org.qemu.guest_agent.0'/>\n"
	"      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>\n"
	"      <alias name='channel0'/>\n"
	"      <address type='virtio-serial' controller='0' bus='0' port='1'/>\n"
	"    </channel>\n"
	"    <channel type='unix'>\n"
	"      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-6-vm1/org.qgatrace.0'/>\n"
	"      <target type='virtio' name='org.qgatrace.0' state='disconnected'/>\n"
	"      <alias name='channel1'/>\n"
	"    </channel>\n"
	"    <channel type='spicevmc'>\n"
	"      <target type='virtio' name='com.redhat.spice.0'/>\n"
	"    </channel>\n"
	"  </devices>\n"
	"</domain>\n";

static void
test_client_output_domain_xml(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ClientDomainXml) xml = client_domain_xml_parse(domain_xml, &error);
	const ClientDomainChannel *qga;
	const ClientDomainChannel *ours;
	const ClientDomainChannel *spice;
	const ClientDomainDisk *disk;

	assert_non_null(xml);
	assert_string_equal(xml->name, "vm1");
	assert_int_equal(xml->channels->len, 3);
	qga = client_domain_xml_find_channel(xml, "org.qemu.guest_agent.0");
	ours = client_domain_xml_find_channel(xml, "org.qgatrace.0");
	spice = client_domain_xml_find_channel(xml, "com.redhat.spice.0");
	assert_non_null(qga);
	assert_string_equal(
		qga->path,
		"/var/lib/libvirt/qemu/channel/target/domain-6-vm1/org.qemu.guest_agent.0");
	assert_string_equal(qga->state, "connected");
	assert_string_equal(qga->alias, "channel0");
	assert_string_equal(ours->state, "disconnected");
	assert_string_equal(ours->type, "unix");
	assert_null(spice->path);
	assert_null(client_domain_xml_find_channel(xml, "org.nothing.0"));
	/* disks only, and the backing chain's sources are not the disk's */
	assert_int_equal(xml->disks->len, 1);
	disk = g_ptr_array_index(xml->disks, 0);
	assert_string_equal(disk->target, "vda");
	assert_string_equal(disk->bus, "virtio");
	assert_string_equal(disk->serial, "qgatrace-data");
	assert_string_equal(disk->source, "/tmp/lvtry/snap1.qcow2");
	assert_string_equal(disk->format, "qcow2");
	assert_string_equal(disk->alias, "virtio-disk0");
}

static void
test_client_output_domain_xml_invalid(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ClientDomainXml) xml =
		client_domain_xml_parse("<domain><name>x</domain>", &error);

	assert_null(xml);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_output_bytes),
		cmocka_unit_test(test_client_output_durations),
		cmocka_unit_test(test_client_output_levels),
		cmocka_unit_test(test_client_output_dmesg_record),
		cmocka_unit_test(test_client_output_dmesg_kmsg_text),
		cmocka_unit_test(test_client_output_terminal_escape),
		cmocka_unit_test(test_client_output_json_text),
		cmocka_unit_test(test_client_output_json_access),
		cmocka_unit_test(test_client_output_array_not_objects),
		cmocka_unit_test(test_client_output_verdict_function_session),
		cmocka_unit_test(test_client_output_verdict_events_session),
		cmocka_unit_test(test_client_output_verdict_not_verified),
		cmocka_unit_test(test_client_output_verdict_host_evidence),
		cmocka_unit_test(test_client_output_verdict_unknown_disk),
		cmocka_unit_test(test_client_output_verdict_stalls),
		cmocka_unit_test(test_client_output_verdict_stalls_hostile),
		cmocka_unit_test(test_client_output_libvirt_reply),
		cmocka_unit_test(test_client_output_domain_xml),
		cmocka_unit_test(test_client_output_domain_xml_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
