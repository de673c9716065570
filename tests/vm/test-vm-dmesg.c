/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guest-dmesg in a real QEMU guest: the kernel log of Debian's 6.1 cloud
 * kernel read through /dev/kmsg by qgatrace-agent on org.qgatrace.0, checked
 * against what the test writes to /dev/kmsg, what busybox dmesg reads with
 * klogctl, and what stock qemu-ga's guest-exec returns. Two guests: the
 * kernel's default 128 KiB buffer (the smallest log_buf_len allows) for the
 * overrun tests, and a 1 MiB one for the complete export. */
#include "config.h"

#include <stdio.h>

#include "qga-error.h"
#include "qga-json.h"
#include "vm-run.h"
#include "vm-test.h"

#define DATA "/mnt/data"

/* no ratelimit on /dev/kmsg writes: a flood through one descriptor */
#define APPEND_SMALL "printk.devkmsg=on"
#define APPEND_1M    "printk.devkmsg=on log_buf_len=1M"

/* writes @count lines "<7>@tag-N" padded to about 220 bytes, one write(2) each */
static void
flood(const gchar *tag, guint count)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"P=$(head -c 200 /dev/zero | tr '\\0' p); "
		"awk -v p=$P 'BEGIN{for(i=0;i<%u;i++){printf \"<7>%s-%%d %%s\\n\", i, p; fflush()}}' > /dev/kmsg",
		count, tag);

	g_free(vm_test_sh(cmd));
}

static JsonNode *
dmesg(QgaClient *client, const gchar *args_json)
{
	g_autoptr(JsonNode) ret = vm_test_execute_ok(client, "guest-dmesg", args_json);

	if (!JSON_NODE_HOLDS_OBJECT(ret))
		fail_msg("guest-dmesg did not return an object");
	return g_steal_pointer(&ret);
}

static JsonNode *
dmesg_since(QgaClient *client, gint64 since, const gchar *more)
{
	g_autofree gchar *args = g_strdup_printf("{\"since-seq\":%" G_GINT64_FORMAT "%s%s}", since,
						 more != NULL ? "," : "", more != NULL ? more : "");

	return dmesg(client, args);
}

static JsonObject *
obj(JsonNode *node)
{
	return json_node_get_object(node);
}

static JsonArray *
records_of(JsonNode *ret)
{
	return json_object_get_array_member(obj(ret), "records");
}

static gint64
seq_at(JsonNode *ret, guint i)
{
	return json_object_get_int_member(json_array_get_object_element(records_of(ret), i), "seq");
}

/* the cursor at the end of the log */
static gint64
cursor_now(QgaClient *client)
{
	g_autoptr(JsonNode) ret = dmesg(client, "{\"tail\":0}");

	assert_int_equal(json_array_get_length(records_of(ret)), 0);
	return json_object_get_int_member(obj(ret), "next-seq");
}

static JsonObject *
find_message(JsonNode *ret, const gchar *message)
{
	JsonArray *records = records_of(ret);

	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *r = json_array_get_object_element(records, i);
		if (g_strcmp0(json_object_get_string_member(r, "message"), message) == 0)
			return r;
	}
	return NULL;
}

/* the books of one reply without level or tail: every seq in
 * (since, next-seq] is a record or missed, and records only go up */
static void
assert_accounted(JsonNode *ret, gint64 since)
{
	JsonArray *records = records_of(ret);
	guint n = json_array_get_length(records);
	gint64 next = json_object_get_int_member(obj(ret), "next-seq");
	gint64 missed = json_object_get_int_member(obj(ret), "missed");
	gint64 last = since;

	for (guint i = 0; i < n; i++) {
		gint64 seq = seq_at(ret, i);

		if (seq <= last)
			fail_msg("seq %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT, seq, last);
		last = seq;
	}
	assert_true(last <= next);
	if ((gint64)n + missed != next - since)
		fail_msg("%u records + %" G_GINT64_FORMAT " missed != %" G_GINT64_FORMAT
			 " - %" G_GINT64_FORMAT,
			 n, missed, next, since);
}

static gboolean
info_enabled(QgaClient *client, const gchar *name)
{
	g_autoptr(JsonNode) info = vm_test_execute_ok(client, "guest-info", NULL);
	JsonArray *cmds = json_object_get_array_member(obj(info), "supported_commands");

	for (guint i = 0; i < json_array_get_length(cmds); i++) {
		JsonObject *cmd = json_array_get_object_element(cmds, i);
		if (g_strcmp0(json_object_get_string_member(cmd, "name"), name) == 0)
			return json_object_get_boolean_member(cmd, "enabled");
	}
	fail_msg("%s is not in guest-info", name);
	return FALSE;
}

/* ---- the default buffer ---- */

static void
test_vm_dmesg_marker_level(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = NULL;
	g_autofree gchar *boot_id = vm_test_sh("cat /proc/sys/kernel/random/boot_id");
	JsonObject *marker;

	assert_true(info_enabled(agent, "guest-dmesg"));
	g_free(vm_test_sh("echo '<3>qgatrace-marker-1' > /dev/kmsg"));
	ret = dmesg(agent, "{\"tail\":20}");
	assert_string_equal(json_object_get_string_member(obj(ret), "source"), "kmsg");
	assert_string_equal(json_object_get_string_member(obj(ret), "encoding"), "kmsg-escaped");
	assert_false(json_object_get_boolean_member(obj(ret), "seq-synthesized"));
	assert_string_equal(json_object_get_string_member(obj(ret), "boot-id"), boot_id);
	marker = find_message(ret, "qgatrace-marker-1");
	assert_non_null(marker);
	assert_int_equal(json_object_get_int_member(marker, "level"), 3);
	/* a /dev/kmsg write without a facility is LOG_USER */
	assert_int_equal(json_object_get_int_member(marker, "facility"), 1);
	assert_true(json_object_get_int_member(marker, "ts-us") > 0);
	assert_false(json_object_has_member(marker, "continuation"));
	/* the level filter keeps it, and drops the info-level boot messages */
	g_clear_pointer(&ret, json_node_unref);
	ret = dmesg(agent, "{\"level\":3}");
	assert_non_null(find_message(ret, "qgatrace-marker-1"));
	for (guint i = 0; i < json_array_get_length(records_of(ret)); i++)
		assert_true(json_object_get_int_member(
				    json_array_get_object_element(records_of(ret), i), "level") <=
			    3);
}

static void
test_vm_dmesg_dictionary(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = dmesg(agent, NULL);
	JsonArray *records = records_of(ret);
	guint with_dict = 0;

	/* the boot log has device messages (pci, acpi, virtio) */
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *r = json_array_get_object_element(records, i);
		JsonObject *dict;

		if (!json_object_has_member(r, "dictionary"))
			continue;
		dict = json_object_get_object_member(r, "dictionary");
		assert_non_null(json_object_get_string_member(dict, "SUBSYSTEM"));
		assert_non_null(json_object_get_string_member(dict, "DEVICE"));
		with_dict++;
	}
	assert_true(with_dict > 0);
}

static void
test_vm_dmesg_since_seq(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	gint64 cursor = cursor_now(agent);
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonNode) again = NULL;
	g_autoptr(JsonNode) fresh = NULL;
	g_autoptr(JsonNode) behind = NULL;
	gint64 next;

	g_free(vm_test_sh(
		"echo '<5>qgatrace-since-a' > /dev/kmsg; echo '<6>qgatrace-since-b' > /dev/kmsg"));
	ret = dmesg_since(agent, cursor, NULL);
	assert_accounted(ret, cursor);
	assert_int_equal(json_object_get_int_member(obj(ret), "missed"), 0);
	/* only what came after the cursor: our two, maybe a kernel message */
	assert_true(json_array_get_length(records_of(ret)) >= 2);
	assert_int_equal(seq_at(ret, 0), cursor + 1);
	assert_non_null(find_message(ret, "qgatrace-since-a"));
	assert_int_equal(json_object_get_int_member(find_message(ret, "qgatrace-since-b"), "level"),
			 6);
	next = json_object_get_int_member(obj(ret), "next-seq");
	assert_true(json_object_get_int_member(find_message(ret, "qgatrace-since-b"), "seq") <=
		    next);
	/* caught up: nothing new, the cursor stays; the agent resumed its
	 * reader, yet first-seq is still the oldest record the kernel holds */
	again = dmesg_since(agent, next, NULL);
	assert_int_equal(json_array_get_length(records_of(again)), 0);
	assert_int_equal(json_object_get_int_member(obj(again), "next-seq"), next);
	assert_int_equal(json_object_get_int_member(obj(again), "missed"), 0);
	/* a cursor behind the resumed reader: read again from the start */
	behind = dmesg_since(agent, cursor, NULL);
	assert_int_equal(seq_at(behind, 0), cursor + 1);
	assert_true(json_object_get_int_member(obj(behind), "next-seq") >= next);
	fresh = dmesg(agent, "{\"max-records\":1}");
	assert_int_equal(json_object_get_int_member(obj(again), "first-seq"),
			 json_object_get_int_member(obj(fresh), "first-seq"));
}

static void
test_vm_dmesg_escapes(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = NULL;

	g_free(vm_test_sh("printf '<4>qgatrace-esc \\033[31mred\\033[0m \\377\\376 \\303\\251 "
			  "tab\\there back\\\\slash \"q\"\\n' > /dev/kmsg"));
	ret = dmesg(agent, "{\"tail\":5}");
	/* the kernel's escapes, exactly, whatever the bytes */
	assert_non_null(find_message(ret, "qgatrace-esc \\x1b[31mred\\x1b[0m \\xff\\xfe \\xc3\\xa9 "
					  "tab\\x09here back\\x5cslash \"q\""));
}

static void
test_vm_dmesg_flood_reports_missed(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	gint64 cursor = cursor_now(agent);
	g_autoptr(JsonNode) ret = NULL;
	g_autofree gchar *pad = g_strnfill(200, 'p');
	g_autofree gchar *last = g_strconcat("qgatrace-flood-2999 ", pad, NULL);
	gint64 first, missed;

	/* 3000 x 220 bytes: the 128 KiB buffer wraps several times */
	flood("qgatrace-flood", 3000);
	ret = dmesg_since(agent, cursor, NULL);
	assert_accounted(ret, cursor);
	first = json_object_get_int_member(obj(ret), "first-seq");
	missed = json_object_get_int_member(obj(ret), "missed");
	print_message("# flood: cursor %" G_GINT64_FORMAT ", first-seq %" G_GINT64_FORMAT
		      ", missed %" G_GINT64_FORMAT ", %u records\n",
		      cursor, first, missed, json_array_get_length(records_of(ret)));
	assert_true(first > cursor + 1);
	/* the overwritten part, and whatever a kernel message overwrote
	 * while we read (nothing, usually) */
	assert_true(missed >= first - cursor - 1);
	assert_int_equal(seq_at(ret, 0), first);
	assert_non_null(find_message(ret, last));
	/* a cursor overtaken long ago, a second time: the same gap */
	g_clear_pointer(&ret, json_node_unref);
	ret = dmesg_since(agent, cursor, "\"max-records\":10");
	assert_accounted(ret, cursor);
	assert_true(json_object_get_boolean_member(obj(ret), "truncated"));
	assert_int_equal(json_array_get_length(records_of(ret)), 10);
}

/* records overwritten while the agent reads them (EPIPE): accounted for,
 * never an error */
static void
test_vm_dmesg_overrun_while_reading(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	gint64 since = cursor_now(agent);
	gint64 total_missed = 0, total_records = 0;
	guint calls = 0, gaps_inside = 0;
	gint64 start = g_get_monotonic_time();

	g_free(vm_test_sh(
		"P=$(head -c 200 /dev/zero | tr '\\0' p); "
		"awk -v p=$P 'BEGIN{for(i=0;i<400000;i++){printf \"<7>qgatrace-storm-%d %s\\n\", i, p; fflush()}}' "
		"> /dev/kmsg 2>/dev/null </dev/null & echo $! > /run/storm.pid"));
	while (g_get_monotonic_time() - start < 8 * G_USEC_PER_SEC) {
		g_autoptr(JsonNode) ret = dmesg_since(agent, since, NULL);
		guint n = json_array_get_length(records_of(ret));
		gint64 missed = json_object_get_int_member(obj(ret), "missed");

		assert_accounted(ret, since);
		/* a gap after the first record returned opened while reading */
		for (guint i = 1; i < n; i++)
			gaps_inside += seq_at(ret, i) != seq_at(ret, i - 1) + 1;
		total_missed += missed;
		total_records += n;
		since = json_object_get_int_member(obj(ret), "next-seq");
		calls++;
	}
	g_free(vm_test_sh("kill $(cat /run/storm.pid) 2>/dev/null; rm -f /run/storm.pid; true"));
	print_message("# storm: %u calls, %" G_GINT64_FORMAT " records, %" G_GINT64_FORMAT
		      " missed, %u gaps inside a reply\n",
		      calls, total_records, total_missed, gaps_inside);
	assert_true(calls > 1);
	assert_true(total_missed > 0);
	/* still serving */
	json_node_unref(vm_test_execute_ok(agent, "guest-ping", NULL));
}

static void
test_vm_dmesg_while_frozen(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) refused = NULL;

	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	/* the test shell lives on the initramfs root, not on the frozen disk */
	g_free(vm_test_sh("echo '<2>qgatrace-frozen-marker' > /dev/kmsg"));
	ret = dmesg(agent, "{\"tail\":10}");
	assert_int_equal(json_object_get_int_member(find_message(ret, "qgatrace-frozen-marker"),
						    "level"),
			 2);
	assert_true(info_enabled(agent, "guest-dmesg"));
	refused = vm_test_execute(agent, "guest-get-fsinfo", NULL, &error);
	assert_null(refused);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
}

static void
assert_disabled(QgaClient *client)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) ret = vm_test_execute(client, "guest-dmesg", NULL, &error);

	assert_null(ret);
	assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND_NOT_FOUND));
	assert_non_null(strstr(error->message, "has been disabled"));
}

static void
test_vm_dmesg_disabled_by_config(void **state)
{
	QgaClient *agent;
	g_autofree gchar *dump = NULL;

	g_free(vm_test_sh("printf '[dmesg]\\nenabled=false\\n' > /run/dmesg-off.conf"));
	dump = vm_test_sh("qgatrace-agent -c /run/dmesg-off.conf -D");
	assert_non_null(strstr(dump, "[dmesg]\nenabled=false"));
	vm_test_restart_agent("-c /run/dmesg-off.conf");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_disabled(agent);
	assert_false(info_enabled(agent, "guest-dmesg"));
	/* frozen: still disabled */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	assert_disabled(agent);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	vm_test_close(agent);
	vm_test_restart_agent(NULL);
}

static void
test_vm_dmesg_klogctl_fallback(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = NULL;
	JsonObject *marker;

	g_free(vm_test_sh(
		"echo '<3>qgatrace-klogctl-marker' > /dev/kmsg; mv /dev/kmsg /dev/kmsg.qgatrace-off"));
	ret = dmesg(agent, "{\"tail\":10}");
	assert_string_equal(json_object_get_string_member(obj(ret), "source"), "klogctl");
	assert_true(json_object_get_boolean_member(obj(ret), "seq-synthesized"));
	marker = find_message(ret, "qgatrace-klogctl-marker");
	assert_non_null(marker);
	assert_int_equal(json_object_get_int_member(marker, "level"), 3);
	assert_int_equal(json_object_get_int_member(marker, "facility"), 1);
	g_free(vm_test_sh("mv /dev/kmsg.qgatrace-off /dev/kmsg"));
	g_clear_pointer(&ret, json_node_unref);
	ret = dmesg(agent, "{\"tail\":1}");
	assert_string_equal(json_object_get_string_member(obj(ret), "source"), "kmsg");
}

/* ---- a 1 MiB buffer ---- */

typedef struct {
	guint calls;
	gint64 records;
	gint64 first_seq;
	gint64 last_seq;
	gint64 missed;
	gint64 fill_first; /* the first qgatrace-fill-N seen, then each N in order */
	gint64 fill_next;
	gsize text_bytes;
	gsize max_reply;
	gint64 usec;
} Export;

static void
export_all(QgaClient *agent, gsize max_bytes, Export *e)
{
	gint64 start = g_get_monotonic_time();
	gint64 since = -1;
	gboolean truncated = TRUE;

	memset(e, 0, sizeof(*e));
	e->fill_first = -1;
	e->last_seq = -1;
	while (truncated) {
		g_autofree gchar *args =
			since < 0 ? g_strdup_printf("{\"max-bytes\":%zu}", max_bytes)
				  : g_strdup_printf("{\"since-seq\":%" G_GINT64_FORMAT
						    ",\"max-bytes\":%zu}",
						    since, max_bytes);
		g_autoptr(JsonNode) ret = dmesg(agent, args);
		g_autofree gchar *wire = qga_json_to_ascii(ret);
		JsonArray *records = records_of(ret);
		gint64 missed;

		if (since < 0)
			e->first_seq = json_object_get_int_member(obj(ret), "first-seq");
		else
			assert_accounted(ret, since);
		/* the "return" value as the agent encoded it */
		if (strlen(wire) > max_bytes)
			fail_msg("a reply of %zu bytes, max-bytes %zu", strlen(wire), max_bytes);
		e->max_reply = MAX(e->max_reply, strlen(wire));
		missed = json_object_get_int_member(obj(ret), "missed");
		e->missed += missed;
		for (guint i = 0; i < json_array_get_length(records); i++) {
			JsonObject *r = json_array_get_object_element(records, i);
			gint64 seq = json_object_get_int_member(r, "seq");
			const gchar *message = json_object_get_string_member(r, "message");
			guint64 n;

			/* contiguous across calls: nothing twice, nothing lost
			 * unless reported (the buffer is full: a kernel message
			 * overwrites the oldest record, which may be unread) */
			if (e->last_seq >= 0 &&
			    (missed == 0 ? seq != e->last_seq + 1 : seq <= e->last_seq))
				fail_msg("seq %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT, seq,
					 e->last_seq);
			e->last_seq = seq;
			e->text_bytes += strlen(message);
			if (sscanf(message, "qgatrace-fill-%" G_GUINT64_FORMAT, &n) == 1) {
				if (e->fill_first < 0)
					e->fill_first = e->fill_next = n;
				if ((gint64)n != e->fill_next)
					fail_msg("qgatrace-fill-%" G_GUINT64_FORMAT
						 " where %" G_GINT64_FORMAT " was due",
						 n, e->fill_next);
				e->fill_next++;
			}
		}
		e->records += json_array_get_length(records);
		truncated = json_object_get_boolean_member(obj(ret), "truncated");
		since = json_object_get_int_member(obj(ret), "next-seq");
		e->calls++;
		assert_true(e->calls < 1000);
	}
	assert_int_equal(since, e->last_seq);
	e->usec = g_get_monotonic_time() - start;
}

static void
test_vm_dmesg_full_buffer_export(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autofree gchar *fills = NULL;
	g_autofree gchar *size = NULL;
	Export e;

	/* 6000 x 220 bytes: more than the buffer holds */
	flood("qgatrace-fill", 6000);
	export_all(agent, 256 * 1024, &e);
	fills = vm_test_sh("dmesg | grep -c qgatrace-fill-");
	size = vm_test_sh("dmesg | wc -c");
	print_message(
		"# 1 MiB buffer: %" G_GINT64_FORMAT " records (seq %" G_GINT64_FORMAT
		"-%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
		" missed), %zu bytes of text, %u calls of max-bytes 256 KiB (largest reply %zu), "
		"%.2f s; busybox dmesg: %s bytes, %s fill lines\n",
		e.records, e.first_seq, e.last_seq, e.missed, e.text_bytes, e.calls, e.max_reply,
		e.usec / 1e6, size, fills);
	assert_int_equal(e.records + e.missed, e.last_seq - e.first_seq + 1);
	assert_true(e.missed <= 3);
	assert_true(e.calls >= 4);
	/* the buffer was full: about 1 MiB of text came out */
	assert_true(e.text_bytes > 900 * 1024);
	assert_int_equal(e.fill_next, 6000);
	/* at least what busybox dmesg (klogctl into a log_buf_len buffer)
	 * shows: it loses the oldest, their text does not fit with prefixes */
	assert_true(e.fill_next - e.fill_first >= g_ascii_strtoll(fills, NULL, 10));
}

static void
test_vm_dmesg_tail_of_full_buffer(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = dmesg(agent, "{\"tail\":3}");
	g_autoptr(JsonNode) one = NULL;

	assert_int_equal(json_array_get_length(records_of(ret)), 3);
	assert_int_equal(seq_at(ret, 2), json_object_get_int_member(obj(ret), "next-seq"));
	assert_int_equal(seq_at(ret, 1) + 1, seq_at(ret, 2));
	one = dmesg(agent, "{\"max-records\":1}");
	assert_int_equal(seq_at(one, 0), json_object_get_int_member(obj(one), "first-seq"));
	assert_true(json_object_get_boolean_member(obj(one), "truncated"));
}

/* what `guest-exec dmesg` through stock qemu-ga takes for the same buffer
 * (informative timing), and that it shows the same records */
static void
test_vm_dmesg_vs_guest_exec(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	QgaClient *stock = vm_test_connect("qga", TRUE);
	g_autofree gchar *dmesg_path = vm_test_sh("command -v dmesg");
	g_autofree gchar *args =
		g_strdup_printf("{\"path\":\"%s\",\"capture-output\":true}", dmesg_path);
	g_autoptr(JsonNode) started = NULL;
	g_autofree guchar *out = NULL;
	gsize out_len = 0;
	gsize b64_len = 0;
	guint polls = 0;
	gint64 start, exec_usec;
	guint exec_fills = 0;
	Export e;

	start = g_get_monotonic_time();
	started = vm_test_execute_ok(stock, "guest-exec", args);
	for (;;) {
		g_autofree gchar *status_args =
			g_strdup_printf("{\"pid\":%" G_GINT64_FORMAT "}",
					json_object_get_int_member(obj(started), "pid"));
		g_autoptr(JsonNode) status =
			vm_test_execute_ok(stock, "guest-exec-status", status_args);

		polls++;
		if (json_object_get_boolean_member(obj(status), "exited")) {
			const gchar *b64 = json_object_get_string_member(obj(status), "out-data");

			assert_int_equal(json_object_get_int_member(obj(status), "exitcode"), 0);
			b64_len = strlen(b64);
			out = g_base64_decode(b64, &out_len);
			break;
		}
		assert_true(polls < 2000);
		g_usleep(20 * 1000);
	}
	exec_usec = g_get_monotonic_time() - start;
	for (const gchar *p = (const gchar *)out;
	     p != NULL && (p = strstr(p, "qgatrace-fill-")) != NULL; p++)
		exec_fills++;
	export_all(agent, 1024 * 1024, &e);
	print_message(
		"# guest-exec dmesg (stock qemu-ga): %.2f s, %u status polls, %zu bytes of base64 for %zu bytes "
		"of text; guest-dmesg: %.2f s, %u calls of 1 MiB, %" G_GINT64_FORMAT
		" structured records\n",
		exec_usec / 1e6, polls, b64_len, out_len, e.usec / 1e6, e.calls, e.records);
	assert_true(exec_fills > 0);
	assert_true(exec_fills <= e.fill_next - e.fill_first);
}

/* the fallback reads the same records: klogctl into a buffer large enough */
static void
test_vm_dmesg_klogctl_full_buffer(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) ret = NULL;
	Export kmsg, klog;

	export_all(agent, 8 * 1024 * 1024, &kmsg);
	g_free(vm_test_sh("mv /dev/kmsg /dev/kmsg.qgatrace-off"));
	export_all(agent, 8 * 1024 * 1024, &klog);
	ret = dmesg(agent, "{\"tail\":1}");
	g_free(vm_test_sh("mv /dev/kmsg.qgatrace-off /dev/kmsg"));
	assert_string_equal(json_object_get_string_member(obj(ret), "source"), "klogctl");
	print_message("# klogctl fallback: %" G_GINT64_FORMAT " lines, fill %" G_GINT64_FORMAT
		      "-%" G_GINT64_FORMAT " in %.2f s; /dev/kmsg: %" G_GINT64_FORMAT
		      " records, fill %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "\n",
		      klog.records, klog.fill_first, klog.fill_next - 1, klog.usec / 1e6,
		      kmsg.records, kmsg.fill_first, kmsg.fill_next - 1);
	/* a kernel message in between would overwrite the oldest */
	assert_true(klog.fill_first >= kmsg.fill_first && klog.fill_first <= kmsg.fill_first + 3);
	assert_int_equal(klog.fill_next, kmsg.fill_next);
}

/* restarts stock qemu-ga on its port with @extra_args, as the image's /init does */
static void
restart_qemu_ga(const gchar *extra_args)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"qgatrace-vm-agent stop qemu-ga; mkdir -p /run/qemu-ga; "
		"/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 "
		"-t /run/qemu-ga %s </dev/null >>/run/qemu-ga.log 2>&1 & "
		"echo $! >/run/qemu-ga.vm-pid; sleep 0.5; kill -0 $(cat /run/qemu-ga.vm-pid)",
		extra_args);

	g_free(vm_test_sh(cmd));
}

/* `qgatrace dmesg` with stock qemu-ga on the channel: no guest-dmesg, so
 * its guest-exec runs the installed qgatrace-agent --dmesg */
static void
test_vm_dmesg_stock_via_guest_exec(void **state)
{
	g_autoptr(VmRun) tail = NULL;
	g_autoptr(VmRun) json = NULL;
	g_autoptr(JsonNode) records = NULL;
	g_auto(GStrv) lines = NULL;
	JsonArray *array;

	if (vm_test_sh_status("test -x /usr/sbin/qemu-ga") != 0)
		skip();
	g_free(vm_test_sh("echo '<4>qgatrace-exec-marker' > /dev/kmsg"));
	tail = vm_run_client("--agent", vm_guest_socket(vm_test_guest(), "qga"), "dmesg", "--tail",
			     "5", NULL);
	assert_int_equal(tail->status, 0);
	assert_non_null(strstr(tail->out, "qgatrace-exec-marker"));
	assert_non_null(strstr(tail->err, "guest-exec"));
	/* five records: five lines */
	lines = g_strsplit(tail->out, "\n", -1);
	assert_int_equal(g_strv_length(lines) - 1, 5);
	json = vm_run_client("--agent", vm_guest_socket(vm_test_guest(), "qga"), "--json", "dmesg",
			     "--tail", "2", NULL);
	assert_int_equal(json->status, 0);
	records = json_from_string(json->out, NULL);
	assert_non_null(records);
	array = json_node_get_array(records);
	assert_int_equal(json_array_get_length(array), 2);
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(array, 0),
							  "via"),
			    "guest-exec");
}

/* qemu-ga -b guest-exec: with --qmp the log comes from guest memory, and
 * without it one error names every source */
static void
test_vm_dmesg_stock_exec_blocked(void **state)
{
	g_autoptr(VmRun) memory = NULL;
	g_autoptr(VmRun) none = NULL;

	if (vm_test_sh_status("test -x /usr/sbin/qemu-ga") != 0)
		skip();
	restart_qemu_ga("-b guest-exec");
	g_free(vm_test_sh("echo '<4>qgatrace-memory-marker' > /dev/kmsg"));
	memory = vm_run_client("--agent", vm_guest_socket(vm_test_guest(), "qga"), "--qmp",
			       vm_guest_socket(vm_test_guest(), "qmp"), "dmesg", "--tail", "5",
			       NULL);
	none = vm_run_client("--agent", vm_guest_socket(vm_test_guest(), "qga"), "dmesg", "--tail",
			     "5", NULL);
	restart_qemu_ga("");
	assert_int_equal(memory->status, 0);
	assert_non_null(strstr(memory->out, "qgatrace-memory-marker"));
	assert_non_null(strstr(memory->err, "from guest memory"));
	assert_int_equal(none->status, 1);
	assert_non_null(strstr(none->err, "qgatrace port: none; guest-exec: refused by the agent"));
	assert_non_null(strstr(none->err, "guest memory: no --qmp or --domain"));
}

int
main(void)
{
	const struct CMUnitTest small[] = {
		vm_test(test_vm_dmesg_marker_level),
		vm_test(test_vm_dmesg_dictionary),
		vm_test(test_vm_dmesg_since_seq),
		vm_test(test_vm_dmesg_escapes),
		vm_test(test_vm_dmesg_flood_reports_missed),
		vm_test(test_vm_dmesg_overrun_while_reading),
		vm_test(test_vm_dmesg_while_frozen),
		vm_test(test_vm_dmesg_disabled_by_config),
		vm_test(test_vm_dmesg_stock_via_guest_exec),
		vm_test(test_vm_dmesg_stock_exec_blocked),
		/* last: a failure halfway leaves /dev/kmsg renamed */
		vm_test(test_vm_dmesg_klogctl_fallback),
	};
	const struct CMUnitTest large[] = {
		vm_test(test_vm_dmesg_full_buffer_export),
		vm_test(test_vm_dmesg_tail_of_full_buffer),
		vm_test(test_vm_dmesg_vs_guest_exec),
		/* last: a failure halfway leaves /dev/kmsg renamed */
		vm_test(test_vm_dmesg_klogctl_full_buffer),
	};
	gint rc = vm_test_run_append(small, APPEND_SMALL);

	if (rc == 77)
		return rc;
	return vm_test_run_append(large, APPEND_1M) || rc;
}
