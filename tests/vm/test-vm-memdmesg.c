/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `qgatrace dmesg --from-memory` in a real QEMU guest: the kernel log read
 * from guest memory through QMP (VMCOREINFO from a one-page dump, a page
 * walk, the printk ring decoded on the host) with the agent NOT running,
 * checked record for record against what the agent's guest-dmesg said
 * about the same records; then a guest without -device vmcoreinfo, whose
 * note only a RAM scan finds. */
#include "config.h"

#include <glib/gstdio.h>

#include "gmem-dmesg.h"
#include "gmem-live.h"
#include "vm-test.h"

#define APPEND_1M "printk.devkmsg=on log_buf_len=1M"

/* writes @count lines "<7>@tag-N" padded to about 120 bytes, one write(2) each */
static void
flood(const gchar *tag, guint count)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"P=$(head -c 100 /dev/zero | tr '\\0' m); "
		"awk -v p=$P 'BEGIN{for(i=0;i<%u;i++){printf \"<7>%s-%%d %%s\\n\", i, p; fflush()}}' > /dev/kmsg",
		count, tag);

	g_free(vm_test_sh(cmd));
}

static const gchar *
qmp_path(void)
{
	return vm_guest_socket(vm_test_guest(), "qmp");
}

static void
assert_guest_running(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GmemLive) vmcore = gmem_live_connect(qmp_path(), 10000, &error);
	gboolean running = FALSE;

	if (vmcore == NULL)
		fail_msg("QMP: %s", error->message);
	if (!gmem_live_query_running(vmcore, &running, &error))
		fail_msg("query-status: %s", error->message);
	assert_true(running);
}

/* one QMP command on a connection of its own; @args_json: (nullable) */
static void
qmp_command_args(const gchar *command, const gchar *args_json)
{
	QmpClient *qmp = vm_test_connect_qmp();
	g_autoptr(JsonNode) ret = NULL;

	/* a dump of all guest RAM takes a while under TCG */
	if (args_json != NULL)
		qmp_client_set_timeout(qmp, 120000);
	ret = vm_test_qmp_execute_ok(qmp, command, args_json);
	vm_test_close_qmp(qmp);
}

static void
qmp_command(const gchar *command)
{
	qmp_command_args(command, NULL);
}

static JsonObject *
read_memory(const GmemDmesgOptions *opts, gdouble *seconds)
{
	g_autoptr(GError) error = NULL;
	gint64 started = g_get_monotonic_time();
	JsonObject *reply = gmem_dmesg_read(qmp_path(), opts, &error);

	if (reply == NULL)
		fail_msg("from memory: %s", error->message);
	if (seconds != NULL)
		*seconds = (g_get_monotonic_time() - started) / 1e6;
	return reply;
}

/* every record the agent has, by seq: guest-dmesg until the cursor stops */
static GHashTable *
agent_records(gint64 *first, gint64 *last)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	GHashTable *by_seq = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
						   (GDestroyNotify)json_object_unref);
	gint64 since = -1;

	*first = -1;
	*last = -1;
	for (guint calls = 0; calls < 100; calls++) {
		g_autofree gchar *args =
			since < 0 ? g_strdup("{\"max-bytes\":8388608}")
				  : g_strdup_printf(
					    "{\"max-bytes\":8388608,\"since-seq\":%" G_GINT64_FORMAT
					    "}",
					    since);
		g_autoptr(JsonNode) ret = vm_test_execute_ok(agent, "guest-dmesg", args);
		JsonArray *records =
			json_object_get_array_member(json_node_get_object(ret), "records");
		guint n = json_array_get_length(records);

		for (guint i = 0; i < n; i++) {
			JsonObject *r = json_array_get_object_element(records, i);
			gint64 *key = g_new(gint64, 1);

			*key = json_object_get_int_member(r, "seq");
			if (*first < 0)
				*first = *key;
			*last = *key;
			g_hash_table_replace(by_seq, key, json_object_ref(r));
		}
		if (n == 0 ||
		    !json_object_get_boolean_member(json_node_get_object(ret), "truncated"))
			break;
		since = json_object_get_int_member(json_node_get_object(ret), "next-seq");
	}
	vm_test_close(agent);
	return by_seq;
}

static void
assert_same_record(JsonObject *agent, JsonObject *memory)
{
	static const gchar *const members[] = {"seq", "ts-us", "level", "facility"};
	g_autoptr(JsonNode) a = NULL;
	g_autoptr(JsonNode) m = NULL;
	g_autofree gchar *a_text = NULL;
	g_autofree gchar *m_text = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(members); i++) {
		if (json_object_get_int_member(agent, members[i]) !=
		    json_object_get_int_member(memory, members[i]))
			fail_msg("seq %" G_GINT64_FORMAT ": %s %" G_GINT64_FORMAT
				 " from the agent, %" G_GINT64_FORMAT " from memory",
				 json_object_get_int_member(agent, "seq"), members[i],
				 json_object_get_int_member(agent, members[i]),
				 json_object_get_int_member(memory, members[i]));
	}
	/* message, continuation and dictionary: the whole objects, as JSON */
	a = json_node_init_object(json_node_alloc(), agent);
	m = json_node_init_object(json_node_alloc(), memory);
	a_text = json_to_string(a, FALSE);
	m_text = json_to_string(m, FALSE);
	if (!json_node_equal(a, m))
		fail_msg("the agent has %s, memory %s", a_text, m_text);
}

static JsonObject *
find_message(JsonArray *records, const gchar *message)
{
	for (guint i = json_array_get_length(records); i > 0; i--) {
		JsonObject *r = json_array_get_object_element(records, i - 1);

		if (g_strcmp0(json_object_get_string_member(r, "message"), message) == 0)
			return r;
	}
	fail_msg("'%s' is not in the records from memory", message);
	return NULL;
}

static void
test_vm_memdmesg_full_buffer_no_agent(void **state)
{
	g_autoptr(GHashTable) agent = NULL;
	g_autoptr(JsonObject) reply = NULL;
	g_autofree gchar *cmdline = vm_test_sh("cat /proc/cmdline");
	GmemDmesgOptions opts;
	JsonObject *memory;
	JsonArray *records;
	JsonObject *marker;
	gint64 a_first, a_last, m_first, m_last;
	guint compared = 0;
	gdouble seconds = 0;
	gsize text_bytes = 0;

	/* KASLR on (Debian's default), and the 1 MiB ring in the randomized direct map */
	assert_null(strstr(cmdline, "nokaslr"));
	/* 12000 x ~120 bytes: the 1 MiB text ring wraps */
	flood("qgatrace-memfill", 12000);
	g_free(vm_test_sh("echo '<3>qgatrace-mem-marker-1' > /dev/kmsg"));
	agent = agent_records(&a_first, &a_last);
	assert_true(g_hash_table_size(agent) > 5000);

	/* no agent from here on */
	g_free(vm_test_sh(
		"kill $(pidof qgatrace-agent); i=0; while pidof qgatrace-agent >/dev/null && "
		"[ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ! pidof qgatrace-agent"));
	g_free(vm_test_sh("echo '<2>qgatrace-mem-marker-2' > /dev/kmsg"));

	gmem_dmesg_options_init(&opts);
	reply = read_memory(&opts, &seconds);
	records = json_object_get_array_member(reply, "records");
	memory = json_object_get_object_member(reply, "memory");
	m_first = json_object_get_int_member(json_array_get_object_element(records, 0), "seq");
	m_last = json_object_get_int_member(
		json_array_get_object_element(records, json_array_get_length(records) - 1), "seq");
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *r = json_array_get_object_element(records, i);
		gint64 seq = json_object_get_int_member(r, "seq");
		JsonObject *a = g_hash_table_lookup(agent, &seq);

		/* complete: no record missing between the oldest and the newest */
		assert_int_equal(seq, m_first + i);
		text_bytes += strlen(json_object_get_string_member(r, "message"));
		if (a != NULL) {
			assert_same_record(a, r);
			compared++;
		}
	}
	/* every record the agent saw that is still in the ring was compared */
	assert_int_equal(compared, a_last - MAX(a_first, m_first) + 1);
	assert_true(compared > 5000);
	marker = find_message(records, "qgatrace-mem-marker-2");
	assert_int_equal(json_object_get_int_member(marker, "level"), 2);
	assert_int_equal(json_object_get_int_member(marker, "facility"), 1);
	assert_int_equal(json_object_get_int_member(marker, "seq"), m_last);
	assert_int_equal(json_object_get_int_member(find_message(records, "qgatrace-mem-marker-1"),
						    "level"),
			 3);
	assert_int_equal(json_object_get_int_member(memory, "buffer-bytes"), 1024 * 1024);
	/* the text of a full ring: most of its 1 MiB */
	assert_true(text_bytes > 800 * 1024);

	print_message(
		"# from memory, 1 MiB ring at %s (%s, KASLR on): %u records (seq %" G_GINT64_FORMAT
		"-%" G_GINT64_FORMAT "), %zu bytes of text, %" G_GINT64_FORMAT
		" bytes read with %s in %" G_GINT64_FORMAT
		" QMP commands; %.3f s in all, guest paused %" G_GINT64_FORMAT
		" ms; %u records compared with the agent's guest-dmesg (seq %" G_GINT64_FORMAT
		"-%" G_GINT64_FORMAT ")\n",
		json_object_get_string_member(memory, "buffer-address"),
		json_object_get_string_member(memory, "osrelease"), json_array_get_length(records),
		m_first, m_last, text_bytes, json_object_get_int_member(memory, "read-bytes"),
		json_object_get_string_member(memory, "reads"),
		json_object_get_int_member(memory, "qmp-commands"), seconds,
		json_object_get_int_member(memory, "paused-ms"), compared, MAX(a_first, m_first),
		a_last);
	/* the goal is < 1 s; TCG on a shared machine gets a margin */
	assert_true(seconds < 5.0);
	assert_guest_running();
}

static void
test_vm_memdmesg_no_pause_and_tail(void **state)
{
	g_autoptr(JsonObject) reply = NULL;
	GmemDmesgOptions opts;
	JsonArray *records;

	g_free(vm_test_sh("echo '<4>qgatrace-mem-tail' > /dev/kmsg"));
	gmem_dmesg_options_init(&opts);
	opts.no_pause = TRUE;
	opts.tail = 1;
	opts.level = 4;
	reply = read_memory(&opts, NULL);
	records = json_object_get_array_member(reply, "records");
	assert_int_equal(json_array_get_length(records), 1);
	assert_string_equal(json_object_get_string_member(json_array_get_object_element(records, 0),
							  "message"),
			    "qgatrace-mem-tail");
	assert_false(json_object_get_boolean_member(json_object_get_object_member(reply, "memory"),
						    "paused"));
	assert_guest_running();
}

/* what `virsh dump --memory-only --format elf` writes, decoded offline: the
 * same records as the live read */
static void
test_vm_memdmesg_from_dump_file(void **state)
{
	g_autofree gchar *path =
		g_build_filename(vm_guest_run_dir(vm_test_guest()), "memory.elf", NULL);
	g_autofree gchar *args =
		g_strdup_printf("{\"paging\":false,\"protocol\":\"file:%s\"}", path);
	g_autoptr(JsonObject) live = NULL;
	g_autoptr(JsonObject) dumped = NULL;
	g_autoptr(GError) error = NULL;
	JsonArray *rl, *rd;
	guint nl, nd;
	gint64 started;
	gdouble dump_s, decode_s;

	g_free(vm_test_sh("echo '<3>qgatrace-mem-dumpfile' > /dev/kmsg"));
	started = g_get_monotonic_time();
	qmp_command_args("dump-guest-memory", args);
	dump_s = (g_get_monotonic_time() - started) / 1e6;
	live = read_memory(NULL, NULL);
	started = g_get_monotonic_time();
	dumped = gmem_dmesg_read_from_dump(path, NULL, &error);
	decode_s = (g_get_monotonic_time() - started) / 1e6;
	g_unlink(path);
	if (dumped == NULL)
		fail_msg("from the dump: %s", error->message);
	rl = json_object_get_array_member(live, "records");
	rd = json_object_get_array_member(dumped, "records");
	nl = json_array_get_length(rl);
	nd = json_array_get_length(rd);
	find_message(rd, "qgatrace-mem-dumpfile");
	/* the live read may have a few newer records, and lost as many old ones */
	assert_true(nd > 1000);
	for (guint i = 0, j = 0; i < nd; i++) {
		JsonObject *d = json_array_get_object_element(rd, i);

		while (j < nl &&
		       json_object_get_int_member(json_array_get_object_element(rl, j), "seq") <
			       json_object_get_int_member(d, "seq"))
			j++;
		if (j < nl)
			assert_same_record(d, json_array_get_object_element(rl, j));
	}
	print_message(
		"# from an ELF dump of all RAM: %u records; the dump took %.2f s, decoding it %.3f s\n",
		nd, dump_s, decode_s);
	assert_guest_running();
}

/* an error while the guest is paused: it runs again */
static void
test_vm_memdmesg_forced_error_resumes(void **state)
{
	g_autoptr(GError) error = NULL;
	GmemDmesgOptions opts;

	gmem_dmesg_options_init(&opts);
	opts.fail_after_pause = TRUE;
	assert_null(gmem_dmesg_read(qmp_path(), &opts, &error));
	assert_non_null(error);
	assert_guest_running();
	/* and a guest the operator stopped stays stopped */
	qmp_command("stop");
	{
		g_autoptr(JsonObject) reply = gmem_dmesg_read(qmp_path(), NULL, &error);
		g_autoptr(GmemLive) vmcore = NULL;
		gboolean running = TRUE;

		if (reply == NULL)
			fail_msg("from memory, stopped: %s", error->message);
		vmcore = gmem_live_connect(qmp_path(), 10000, &error);
		assert_non_null(vmcore);
		assert_true(gmem_live_query_running(vmcore, &running, &error));
		assert_false(running);
	}
	qmp_command("cont");
	assert_guest_running();
	/* the agent is back for whoever comes next */
	vm_test_restart_agent(NULL);
}

/* ---- a guest without -device vmcoreinfo ---- */

static void
test_vm_memdmesg_no_device_error(void **state)
{
	g_autoptr(GError) error = NULL;

	g_free(vm_test_sh("echo '<3>qgatrace-mem-nodev' > /dev/kmsg"));
	assert_null(gmem_dmesg_read(qmp_path(), NULL, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
	assert_non_null(strstr(error->message, "-device vmcoreinfo"));
	assert_non_null(strstr(error->message, "<vmcoreinfo state='on'/>"));
	print_message("# no vmcoreinfo device: %s\n", error->message);
	assert_guest_running();
}

static void
progress_cb(guint64 done, guint64 total, gpointer user_data)
{
	guint *calls = user_data;

	(*calls)++;
}

static void
test_vm_memdmesg_scan_finds_note(void **state)
{
	g_autoptr(JsonObject) reply = NULL;
	GmemDmesgOptions opts;
	JsonObject *memory;
	gdouble seconds = 0;
	guint calls = 0;

	g_free(vm_test_sh("echo '<3>qgatrace-mem-scan' > /dev/kmsg"));
	gmem_dmesg_options_init(&opts);
	opts.scan = TRUE;
	opts.progress = progress_cb;
	opts.progress_data = &calls;
	reply = read_memory(&opts, &seconds);
	memory = json_object_get_object_member(reply, "memory");
	assert_string_equal(json_object_get_string_member(memory, "vmcoreinfo"), "scan");
	find_message(json_object_get_array_member(reply, "records"), "qgatrace-mem-scan");
	assert_true(calls > 0);
	print_message("# RAM scan: VMCOREINFO found, %u progress reports, %.3f s in all\n", calls,
		      seconds);
	assert_guest_running();
}

/* HMP xp instead of pmemsave: the same records, slower */
static void
test_vm_memdmesg_xp_matches_pmemsave(void **state)
{
	g_autoptr(JsonObject) a = NULL;
	g_autoptr(JsonObject) b = NULL;
	GmemDmesgOptions opts;
	JsonArray *ra, *rb;
	gdouble seconds = 0;

	gmem_dmesg_options_init(&opts);
	a = read_memory(&opts, NULL);
	opts.use_xp = TRUE;
	b = read_memory(&opts, &seconds);
	assert_string_equal(
		json_object_get_string_member(json_object_get_object_member(b, "memory"), "reads"),
		"xp");
	ra = json_object_get_array_member(a, "records");
	rb = json_object_get_array_member(b, "records");
	assert_int_equal(json_array_get_length(ra), json_array_get_length(rb));
	for (guint i = 0; i < json_array_get_length(ra); i++)
		assert_same_record(json_array_get_object_element(ra, i),
				   json_array_get_object_element(rb, i));
	print_message("# xp instead of pmemsave: %u records, %" G_GINT64_FORMAT
		      " bytes read in %.3f s\n",
		      json_array_get_length(rb),
		      json_object_get_int_member(json_object_get_object_member(b, "memory"),
						 "read-bytes"),
		      seconds);
	assert_guest_running();
}

/* ---- -cpu max: 5-level paging, the 1 MiB ring in its direct map ---- */

static void
test_vm_memdmesg_five_level(void **state)
{
	g_autoptr(JsonObject) reply = NULL;
	g_autoptr(JsonNode) tail = NULL;
	GmemDmesgOptions opts;
	JsonObject *memory;
	JsonArray *records;
	JsonArray *agent;
	guint n, an;
	guint64 address;
	gdouble seconds = 0;

	if (vm_test_sh_status("grep -qw la57 /proc/cpuinfo") != 0) {
		print_message("# this QEMU's -cpu max has no la57 under TCG\n");
		skip();
	}
	flood("qgatrace-mem5", 9000);
	g_free(vm_test_sh("echo '<1>qgatrace-mem-5level' > /dev/kmsg"));
	tail = vm_test_execute_ok(vm_test_connect("qgatrace", TRUE), "guest-dmesg",
				  "{\"tail\":200}");
	gmem_dmesg_options_init(&opts);
	reply = read_memory(&opts, &seconds);
	memory = json_object_get_object_member(reply, "memory");
	records = json_object_get_array_member(reply, "records");
	assert_int_equal(json_object_get_int_member(memory, "paging-levels"), 5);
	/* the randomized direct map, at an address only 5-level paging has */
	address =
		g_ascii_strtoull(json_object_get_string_member(memory, "buffer-address"), NULL, 16);
	assert_true(address >= G_GUINT64_CONSTANT(0xff00000000000000) &&
		    address < G_GUINT64_CONSTANT(0xffff800000000000));
	assert_int_equal(json_object_get_int_member(find_message(records, "qgatrace-mem-5level"),
						    "level"),
			 1);
	/* the agent's last 200 are memory's last 200 */
	agent = json_object_get_array_member(json_node_get_object(tail), "records");
	an = json_array_get_length(agent);
	n = json_array_get_length(records);
	assert_int_equal(an, 200);
	for (guint i = 0; i < an; i++)
		assert_same_record(json_array_get_object_element(agent, i),
				   json_array_get_object_element(records, n - an + i));
	print_message("# 5-level paging: %u records, ring at %s, %.3f s, paused %" G_GINT64_FORMAT
		      " ms\n",
		      n, json_object_get_string_member(memory, "buffer-address"), seconds,
		      json_object_get_int_member(memory, "paused-ms"));
	assert_guest_running();
}

int
main(void)
{
	const struct CMUnitTest with_device[] = {
		vm_test(test_vm_memdmesg_full_buffer_no_agent),
		vm_test(test_vm_memdmesg_no_pause_and_tail),
		vm_test(test_vm_memdmesg_xp_matches_pmemsave),
		vm_test(test_vm_memdmesg_from_dump_file),
		vm_test(test_vm_memdmesg_forced_error_resumes),
	};
	const struct CMUnitTest five_level[] = {
		vm_test(test_vm_memdmesg_five_level),
	};
	const struct CMUnitTest without_device[] = {
		vm_test(test_vm_memdmesg_no_device_error),
		vm_test(test_vm_memdmesg_scan_finds_note),
	};
	gint rc = vm_test_run_append(with_device, APPEND_1M);

	if (rc == 77)
		return rc;
	/* qgatrace-vm leaves -device vmcoreinfo out */
	g_setenv("QGATRACE_VM_NO_VMCOREINFO", "1", TRUE);
	rc = vm_test_run_append(without_device, "printk.devkmsg=on") || rc;
	g_unsetenv("QGATRACE_VM_NO_VMCOREINFO");
	/* a CPU with la57: the kernel turns 5-level paging on */
	g_setenv("QGATRACE_VM_CPU", "max", TRUE);
	rc = vm_test_run_append(five_level, APPEND_1M) || rc;
	g_unsetenv("QGATRACE_VM_CPU");
	return rc;
}
