/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Traced freeze/thaw in a real QEMU guest: qgatrace-agent's own sessions
 * (guest-trace-status, guest-trace-fetch) and stock qemu-ga's through the
 * qgatrace-fsfreeze-hook plugin, proven by the guest kernel's ftrace
 * records; with the negative controls that must not verify. */
#include "config.h"

#include "qga-error.h"
#include "vm-run.h"
#include "vm-test.h"

#define DATA	    "/mnt/data"
#define TRACING	    "/sys/kernel/tracing"
#define PLUGIN	    "/usr/libexec/qgatrace/qgatrace-fsfreeze-hook"
#define DISPATCHER  "/etc/qemu/fsfreeze-hook"
#define HOOK_LOG    "/var/log/qga-fsfreeze-hook.log"
#define FREEZE_DATA "{\"mountpoints\":[\"" DATA "\"]}"

/* the top-level settings before anything of ours ran, for the last test */
static gchar *top_level_before;

/* what the guest's own tracing looks like; buffer_size_kb without its
 * "(expanded: N)" remark, a kernel-wide flag that any tracing flips
 * (6.1 kernel/trace/trace.c ring_buffer_expanded) */
static gchar *
top_level_settings(void)
{
	return vm_test_sh(
		"cd " TRACING " && for f in current_tracer tracing_on set_ftrace_filter "
		"set_ftrace_notrace set_ftrace_pid set_event_pid set_event trace_clock "
		"tracing_cpumask options/function-fork options/event-fork "
		"options/func_stack_trace; do printf '%s=%s;' $f \"$(tr '\\n' ' ' <$f)\"; "
		"done; printf 'buffer_size_kb=%s' \"$(cut -d' ' -f1 buffer_size_kb)\"");
}

/* the trimmed output of @cmd is (or, !@equal, is not) @expected */
static void
assert_sh(const gchar *cmd, gboolean equal, const gchar *expected)
{
	g_autofree gchar *out = vm_test_sh(cmd);

	if (equal)
		assert_string_equal(out, expected);
	else
		assert_string_not_equal(out, expected);
}

static gint
guest_pid(const gchar *name)
{
	g_autofree gchar *cmd = g_strdup_printf("pidof %s", name);
	g_autofree gchar *out = vm_test_sh(cmd);

	return (gint)g_ascii_strtoll(out, NULL, 10);
}

/* set once a test got the guest: teardowns must not skip() */
static VmGuest *guest;

static void
need_guest(void)
{
	guest = vm_test_guest(); /* skips when there is none */
}

/* restores what a test may have changed, even after it failed */
static int
trace_teardown(void **state)
{
	g_autofree gchar *out = NULL;

	vm_test_teardown(state);
	if (guest != NULL)
		vm_guest_shell(guest,
			       "echo 1 >/proc/sys/kernel/ftrace_enabled; fsfreeze --unfreeze " DATA
			       " 2>/dev/null; true",
			       &out, NULL, VM_GUEST_SHELL_TIMEOUT_MS, NULL);
	return 0;
}

#define trace_test(f) cmocka_unit_test_teardown(f, trace_teardown)

static JsonNode *
fetch(QgaClient *agent, const gchar *id)
{
	g_autofree gchar *args = id != NULL ? g_strdup_printf("{\"session\":\"%s\"}", id) : NULL;

	return vm_test_execute_ok(agent, "guest-trace-fetch", args);
}

static JsonObject *
verdict_for(JsonObject *session, const gchar *mountpoint)
{
	JsonArray *verdicts = json_object_get_array_member(session, "verification");

	for (guint i = 0; i < json_array_get_length(verdicts); i++) {
		JsonObject *v = json_array_get_object_element(verdicts, i);

		if (g_strcmp0(json_object_get_string_member(v, "mountpoint"), mountpoint) == 0)
			return v;
	}
	fail_msg("no verdict for %s", mountpoint);
	return NULL;
}

/* how many recorded events are @what (a function, or an event's name) in task @pid */
static guint
count_events(JsonObject *session, const gchar *what, gint pid, const gchar *comm)
{
	JsonArray *events = json_object_get_array_member(session, "events");
	guint n = 0;

	for (guint i = 0; i < json_array_get_length(events); i++) {
		JsonObject *ev = json_array_get_object_element(events, i);
		const gchar *function =
			json_object_get_string_member_with_default(ev, "function", NULL);
		const gchar *event = json_object_get_string_member_with_default(ev, "event", NULL);

		if (g_strcmp0(function, what) != 0 && g_strcmp0(event, what) != 0)
			continue;
		if (json_object_get_int_member(ev, "pid") != pid)
			continue;
		if (comm != NULL &&
		    g_strcmp0(json_object_get_string_member_with_default(ev, "comm", NULL), comm) !=
			    0)
			continue;
		n++;
	}
	return n;
}

static void
assert_verified_data(JsonObject *session)
{
	JsonObject *v = verdict_for(session, DATA);

	if (!json_object_get_boolean_member(v, "verified"))
		fail_msg("%s not verified: %s", DATA,
			 json_object_get_string_member_with_default(v, "reason", "(no reason)"));
	assert_true(json_object_get_boolean_member(v, "frozen"));
	assert_true(json_object_get_boolean_member(v, "thawed"));
	assert_true(json_object_get_int_member(v, "frozen-ns") > 0);
	assert_string_equal(json_object_get_string_member(v, "dev"), "254:0");
	assert_true(json_object_get_boolean_member(session, "verified"));
}

static gboolean
strv_node_contains(JsonNode *node, const gchar *value)
{
	JsonArray *array = json_node_get_array(node);

	for (guint i = 0; i < json_array_get_length(array); i++) {
		if (g_strcmp0(json_array_get_string_element(array, i), value) == 0)
			return TRUE;
	}
	return FALSE;
}

/* between sessions: the function tracer stays on the filter for the
 * agent's thread alone, recording (nothing: the agent calls none of those
 * functions between freezes), so that a freeze writes nothing to arm it */
static void
assert_paused(gint pid)
{
	g_autofree gchar *pid_text = g_strdup_printf("%d", pid);

	assert_sh("cat " TRACING "/instances/qgatrace/current_tracer", TRUE, "function");
	assert_sh("cat " TRACING "/instances/qgatrace/tracing_on", TRUE, "1");
	assert_sh("cat " TRACING "/instances/qgatrace/set_ftrace_pid", TRUE, pid_text);
	/* drained by the collection */
	assert_sh("grep -h '^entries:' " TRACING "/instances/qgatrace/per_cpu/cpu*/stats | sort -u",
		  TRUE, "entries: 0");
}

/* ---- qgatrace-agent's own sessions ---- */

static void
test_vm_trace_status(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) status = NULL;
	g_autofree gchar *instances = NULL;
	JsonObject *obj;

	need_guest();

	/* nothing of ours ran yet: the agent probes on first use */
	top_level_before = top_level_settings();
	agent = vm_test_connect("qgatrace", TRUE);
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	obj = json_node_get_object(status);
	assert_true(json_object_get_boolean_member(obj, "enabled"));
	if (!json_object_get_boolean_member(obj, "available"))
		fail_msg("tracing unavailable: %s",
			 json_object_get_string_member_with_default(obj, "reason", "?"));
	assert_string_equal(json_object_get_string_member(obj, "method"), "function");
	assert_string_equal(json_object_get_string_member(obj, "instance"), "qgatrace");
	assert_true(strv_node_contains(json_object_get_member(obj, "functions"), "freeze_super"));
	assert_false(json_object_get_boolean_member(obj, "armed"));
	/* a private instance, idle ('nop') until the first freeze */
	instances = vm_test_sh("ls " TRACING "/instances | tr '\\n' ' '");
	assert_non_null(strstr(instances, "qgatrace"));
	assert_sh("cat " TRACING "/instances/qgatrace/current_tracer", TRUE, "nop");
	assert_true(json_object_has_member(obj, "last-session"));
}

static void
test_vm_trace_freeze_is_verified(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	gint pid = guest_pid("qgatrace-agent");
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) again = NULL;
	g_autoptr(JsonNode) session = NULL;
	g_autoptr(JsonNode) by_id = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) refused = NULL;
	g_autofree gchar *pid_file = NULL;
	JsonObject *s;
	JsonObject *last;
	JsonArray *ioctls;
	const gchar *id;

	need_guest();

	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	/* frozen: status answers from memory and shows the armed session */
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	assert_true(json_object_get_boolean_member(json_node_get_object(status), "armed"));
	last = json_object_get_object_member(json_node_get_object(status), "last-session");
	assert_string_equal(json_object_get_string_member(last, "state"), "armed");
	pid_file = vm_test_sh("cat " TRACING "/instances/qgatrace/set_ftrace_pid");
	assert_int_equal(g_ascii_strtoll(pid_file, NULL, 10), pid);
	/* fetching waits for the thaw, as qemu-ga's allow-list would have it */
	refused = vm_test_execute(agent, "guest-trace-fetch", NULL, &error);
	assert_null(refused);
	assert_non_null(strstr(error->message, "has been disabled"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);

	session = fetch(agent, NULL);
	s = json_node_get_object(session);
	id = json_object_get_string_member(s, "session");
	assert_true(g_str_has_prefix(id, "agent-"));
	assert_string_equal(json_object_get_string_member(s, "source"), "qgatrace-agent");
	assert_string_equal(json_object_get_string_member(s, "state"), "collected");
	assert_string_equal(json_object_get_string_member(s, "method"), "function");
	assert_int_equal(json_object_get_int_member(s, "pid"), pid);
	assert_int_equal(json_object_get_int_member(json_object_get_object_member(s, "lost-events"),
						    "total"),
			 0);
	/* the kernel's record, in the agent's own task */
	assert_int_equal(count_events(s, "freeze_super", pid, "qgatrace-agent"), 1);
	assert_true(count_events(s, "thaw_super", pid, "qgatrace-agent") >= 1);
	assert_int_equal(count_events(s, "ext4_freeze", pid, NULL), 1);
	assert_int_equal(count_events(s, "ext4_unfreeze", pid, NULL), 1);
	assert_verified_data(s);
	assert_string_equal(json_object_get_string_member(verdict_for(s, DATA), "attribution"),
			    "window");
	assert_true(strv_node_contains(json_object_get_member(verdict_for(s, DATA), "fs-ops"),
				       "ext4_freeze"));
	ioctls = json_object_get_array_member(s, "ioctls");
	assert_int_equal(json_array_get_length(ioctls), 2);
	assert_true(
		json_object_get_int_member(json_array_get_object_element(ioctls, 0), "end-ns") >
		json_object_get_int_member(json_array_get_object_element(ioctls, 0), "start-ns"));

	/* the same by id; status names it as the last */
	by_id = fetch(agent, id);
	assert_true(json_node_equal(by_id, session));
	again = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	last = json_object_get_object_member(json_node_get_object(again), "last-session");
	assert_string_equal(json_object_get_string_member(last, "session"), id);
	assert_true(json_object_get_boolean_member(last, "verified"));
	assert_int_equal(json_object_get_int_member(last, "events"),
			 json_array_get_length(json_object_get_array_member(s, "events")));
	/* paused after the collection: nothing recorded, nothing else traced */
	assert_paused(pid);
}

/* the second freeze resumes the paused session without a write (no call
 * sites patched, no buffer reset) and is verified like the first, with
 * its own records only; a pause undone behind the agent's back
 * (trace-cmd reset) means a full arm that is verified too */
static void
test_vm_trace_paused_session_resumes(void **state)
{
	QgaClient *agent;
	gint pid;
	const gchar *resumed_lines =
		"grep -c 'function tracer resumed for' " VM_TEST_AGENT_LOG " || true";
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autofree gchar *after_reset = NULL;
	g_autoptr(JsonNode) resumed = NULL;
	g_autoptr(JsonNode) rearmed = NULL;

	need_guest();
	/* with -v, whose debug lines say how each session was armed */
	vm_test_restart_agent(NULL);
	agent = vm_test_connect("qgatrace", TRUE);
	pid = guest_pid("qgatrace-agent");
	/* a session first, so that the tracer is paused now */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	json_node_unref(fetch(agent, NULL));
	assert_paused(pid);
	before = vm_test_sh(resumed_lines);

	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_sh("cat " TRACING "/instances/qgatrace/tracing_on", TRUE, "1");
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	resumed = fetch(agent, NULL);
	assert_verified_data(json_node_get_object(resumed));
	/* the buffer was cleared: this freeze's records only */
	assert_int_equal(count_events(json_node_get_object(resumed), "freeze_super", pid,
				      "qgatrace-agent"),
			 1);
	after = vm_test_sh(resumed_lines);
	assert_int_equal(g_ascii_strtoll(after, NULL, 10), g_ascii_strtoll(before, NULL, 10) + 1);

	/* undone behind our back: armed in full again, still verified */
	g_free(vm_test_sh("echo nop > " TRACING "/instances/qgatrace/current_tracer"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	rearmed = fetch(agent, NULL);
	assert_verified_data(json_node_get_object(rearmed));
	after_reset = vm_test_sh(resumed_lines);
	assert_string_equal(after_reset, after);
	assert_paused(pid);
}

static void
test_vm_trace_fetch_errors(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	const gchar *bad[] = {"{\"session\":\"../../etc/passwd\"}", "{\"session\":\"agent-0-0\"}"};

	need_guest();

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(JsonNode) ret =
			vm_test_execute(agent, "guest-trace-fetch", bad[i], &error);

		assert_null(ret);
		assert_true(g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC));
	}
}

/* kernel.ftrace_enabled=0 after the probe: every write succeeds, nothing is recorded */
static void
test_vm_trace_ftrace_disabled_is_not_verified(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	gint pid = guest_pid("qgatrace-agent");
	g_autoptr(JsonNode) status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	g_autoptr(JsonNode) session = NULL;
	JsonObject *s;
	JsonObject *v;

	need_guest();

	assert_string_equal(json_object_get_string_member(json_node_get_object(status), "method"),
			    "function");
	g_free(vm_test_sh("echo 0 >/proc/sys/kernel/ftrace_enabled"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	g_free(vm_test_sh("echo 1 >/proc/sys/kernel/ftrace_enabled"));

	session = fetch(agent, NULL);
	s = json_node_get_object(session);
	assert_string_equal(json_object_get_string_member(s, "method"), "function");
	assert_int_equal(count_events(s, "freeze_super", pid, NULL), 0);
	v = verdict_for(s, DATA);
	/* the ioctls succeeded; the kernel's record is what counts */
	assert_false(json_object_get_boolean_member(v, "verified"));
	assert_false(json_object_get_boolean_member(v, "frozen"));
	assert_non_null(json_object_get_string_member(v, "reason"));
	assert_false(json_object_get_boolean_member(s, "verified"));
}

/* frozen by someone else first: the agent's FIFREEZE gets EBUSY, its
 * freeze_super fails, and nothing may claim the agent froze it */
static void
test_vm_trace_not_frozen_is_not_verified(void **state)
{
	QgaClient *agent = vm_test_connect("qgatrace", TRUE);
	g_autoptr(JsonNode) session = NULL;
	JsonObject *s;
	JsonObject *v;

	need_guest();

	g_free(vm_test_sh("fsfreeze --freeze " DATA));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 0);
	g_free(vm_test_sh("fsfreeze --unfreeze " DATA));

	session = fetch(agent, NULL);
	s = json_node_get_object(session);
	assert_string_equal(json_object_get_string_member(s, "state"), "collected");
	assert_string_equal(json_object_get_string_member(s, "error"), "no filesystem froze");
	v = verdict_for(s, DATA);
	assert_false(json_object_get_boolean_member(v, "verified"));
	assert_false(json_object_get_boolean_member(v, "frozen"));
	assert_non_null(strstr(json_object_get_string_member(v, "reason"), "freeze_super failed"));
	assert_false(json_object_get_boolean_member(s, "verified"));
}

/* the function tracer refused (here: kernel.ftrace_enabled=0 when the
 * agent probes): syscall tracepoints prove the FIFREEZE/FITHAW instead */
static void
test_vm_trace_fallback_to_events(void **state)
{
	QgaClient *agent;
	gint pid;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonNode) session = NULL;
	JsonObject *s;

	need_guest();

	g_free(vm_test_sh("echo 0 >/proc/sys/kernel/ftrace_enabled"));
	vm_test_restart_agent(NULL);
	pid = guest_pid("qgatrace-agent");
	agent = vm_test_connect("qgatrace", TRUE);
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	assert_string_equal(json_object_get_string_member(json_node_get_object(status), "method"),
			    "events");
	assert_non_null(
		strstr(json_object_get_string_member(json_node_get_object(status), "reason"),
		       "ftrace_enabled"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	session = fetch(agent, NULL);
	s = json_node_get_object(session);
	assert_string_equal(json_object_get_string_member(s, "method"), "events");
	assert_true(count_events(s, "syscalls:sys_enter_ioctl", pid, "qgatrace-agent") >= 2);
	assert_true(count_events(s, "syscalls:sys_exit_ioctl", pid, NULL) >= 2);
	assert_verified_data(s);
	vm_test_close(agent);
	g_free(vm_test_sh("echo 1 >/proc/sys/kernel/ftrace_enabled"));
	vm_test_restart_agent(NULL);
}

/* the filter is written name by name for the kernel to match: a name
 * this kernel lacks is skipped, the others armed; it stays for the next
 * session (the instance is ours, the tracer paused in between) */
static void
test_vm_trace_filter_skips_unknown_function(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;

	need_guest();

	vm_test_restart_agent(
		"--trace-functions=freeze_super,qgatrace_no_such_function,thaw_super");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_sh("sort " TRACING "/instances/qgatrace/set_ftrace_filter | tr '\\n' ' '", TRUE,
		  "freeze_super thaw_super");
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	session = fetch(agent, NULL);
	assert_string_equal(json_object_get_string_member(json_node_get_object(session), "method"),
			    "function");
	assert_int_equal(count_events(json_node_get_object(session), "freeze_super",
				      guest_pid("qgatrace-agent"), "qgatrace-agent"),
			 1);
	assert_paused(guest_pid("qgatrace-agent"));
	/* changed behind the agent's back: written again */
	g_free(vm_test_sh("echo ext4_sync_fs > " TRACING "/instances/qgatrace/set_ftrace_filter"));
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	assert_sh("sort " TRACING "/instances/qgatrace/set_ftrace_filter | tr '\\n' ' '", TRUE,
		  "freeze_super thaw_super");
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), 1);
	vm_test_close(agent);
	vm_test_restart_agent(NULL);
}

/* the watchdog's thaw ends the session like a host's */
static void
test_vm_trace_auto_thaw_is_traced(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) session = NULL;
	JsonObject *s;

	need_guest();

	vm_test_restart_agent("--freeze-timeout=2");
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	vm_test_wait("grep -q 'auto-thaw' " VM_TEST_AGENT_LOG);
	session = fetch(agent, NULL);
	s = json_node_get_object(session);
	assert_verified_data(s);
	assert_non_null(
		strstr(json_array_get_string_element(json_object_get_array_member(s, "notes"), 0),
		       "watchdog"));
	vm_test_close(agent);
	vm_test_restart_agent(NULL);
}

/* SIGKILL while frozen leaves the instance armed for a dead pid: the next
 * agent thaws, then replaces it at once */
static void
test_vm_trace_killed_frozen_agent_is_cleaned_up(void **state)
{
	QgaClient *agent;

	need_guest();
	agent = vm_test_connect("qgatrace", TRUE);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	vm_test_close(agent);
	g_free(vm_test_sh("kill -KILL $(pidof qgatrace-agent); sleep 0.3; ! pidof qgatrace-agent"));
	assert_sh("cat " TRACING "/instances/qgatrace/current_tracer", TRUE, "function");
	vm_test_restart_agent(NULL);
	/* that line comes first, then the removal and a fresh probe, which logs after it */
	vm_test_wait(
		"r=$(grep -n 'replacing the ftrace instance' " VM_TEST_AGENT_LOG
		" | tail -n 1 | cut -d: -f1); t=$(grep -n 'tracing freezes with' " VM_TEST_AGENT_LOG
		" | tail -n 1 | cut -d: -f1); [ -n \"$r\" ] && [ -n \"$t\" ] && [ \"$t\" -gt "
		"\"$r\" ]");
	assert_sh("cat " TRACING "/instances/qgatrace/current_tracer", TRUE, "nop");
	assert_sh("cat " TRACING "/instances/qgatrace/set_ftrace_pid", TRUE, "no pid");
	g_free(vm_test_sh("fsfreeze --unfreeze " DATA " 2>/dev/null; test $? -ne 0"));
}

/* ---- stock qemu-ga with the plugin ---- */

/* restarts stock qemu-ga with @hook as its fsfreeze hook (NULL: none) and
 * @blocked as its -b list (NULL: none), as qgatrace-vm-agent starts it otherwise */
static void
restart_qemu_ga_blocking(const gchar *hook, const gchar *blocked)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"qgatrace-vm-agent stop qemu-ga; "
		"/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 "
		"-t /run/qemu-ga %s%s %s%s </dev/null >>/run/qemu-ga.log 2>&1 & "
		"echo $! >/run/qemu-ga.vm-pid; sleep 0.5; pidof qemu-ga",
		hook != NULL ? "-F" : "", hook != NULL ? hook : "", blocked != NULL ? "-b " : "",
		blocked != NULL ? blocked : "");

	g_free(vm_test_sh(cmd));
}

static void
restart_qemu_ga(const gchar *hook)
{
	restart_qemu_ga_blocking(hook, NULL);
}

/* the one-channel setup (Proxmox, OpenStack): stock qemu-ga and the hook,
 * the verdict read back through qemu-ga's guest-file-* */
static void
test_vm_trace_stock_qemu_ga_client(void **state)
{
	g_autoptr(VmRun) snap = NULL;
	g_autoptr(VmRun) refused = NULL;
	const gchar *qga;
	const gchar *qmp;

	need_guest();
	qga = vm_guest_socket(vm_test_guest(), "qga");
	qmp = vm_guest_socket(vm_test_guest(), "qmp");

	restart_qemu_ga(PLUGIN);
	snap = vm_run_client("--agent", qga, "--qmp", qmp, "snapshot", "-m", DATA, NULL);
	assert_int_equal(snap->status, 0);
	assert_non_null(strstr(snap->out, "snapshot VERIFIED"));
	g_free(vm_test_sh("test -s /run/qgatrace/sessions/index.json"));

	/* RHEL's way: guest-file-* blocked; thawed all the same, and it says why */
	restart_qemu_ga_blocking(PLUGIN, "guest-file-open,guest-file-read,guest-file-close");
	refused = vm_run_client("--agent", qga, "--qmp", qmp, "snapshot", "-m", DATA, NULL);
	assert_int_equal(refused->status, 1);
	assert_non_null(strstr(refused->out, "NOT VERIFIED"));
	assert_non_null(strstr(refused->out, "guest-file-open"));
	assert_non_null(strstr(refused->out, "org.qgatrace.0"));
	/* the kernel's word: --unfreeze succeeds only on a frozen filesystem */
	assert_int_not_equal(vm_test_sh_status("fsfreeze --unfreeze " DATA " 2>/dev/null"), 0);
}

static int
stock_teardown(void **state)
{
	g_autofree gchar *out = NULL;

	trace_teardown(state);
	if (guest != NULL)
		vm_guest_shell(guest,
			       "qgatrace-vm-agent stop qemu-ga; qgatrace-vm-agent start qemu-ga",
			       &out, NULL, VM_GUEST_SHELL_TIMEOUT_MS, NULL);
	return 0;
}

#define stock_test(f) cmocka_unit_test_teardown(f, stock_teardown)

/* a freeze and thaw through stock qemu-ga; Returns: the session qgatrace-agent serves */
static JsonNode *
stock_freeze_thaw(gint qemu_ga)
{
	QgaClient *stock = vm_test_connect("qga", TRUE);
	QgaClient *agent;
	g_autoptr(JsonNode) status = NULL;
	g_autofree gchar *expected = g_strdup_printf("%d", qemu_ga);
	g_autofree gchar *armed_pid = NULL;
	JsonObject *last;

	assert_int_equal(vm_test_execute_int(stock, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	/* armed for qemu-ga itself, not for the hook or its dispatcher */
	armed_pid = vm_test_sh("cat " TRACING "/instances/qgatrace-hook/set_ftrace_pid");
	assert_string_equal(armed_pid, expected);
	assert_sh("cat " TRACING "/instances/qgatrace-hook/current_tracer", TRUE, "function");
	assert_int_equal(vm_test_execute_int(stock, "guest-fsfreeze-thaw", NULL), 1);
	/* the thaw hook waited for the session to be stored and the instance gone */
	g_free(vm_test_sh("! test -e " TRACING "/instances/qgatrace-hook"));

	agent = vm_test_connect("qgatrace", TRUE);
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	last = json_object_get_object_member(json_node_get_object(status), "last-session");
	assert_string_equal(json_object_get_string_member(last, "source"), "qemu-ga");
	return fetch(agent, json_object_get_string_member(last, "session"));
}

static void
assert_stock_session(JsonObject *s, gint qemu_ga)
{
	g_autofree gchar *prefix = g_strdup_printf("qemu-ga-%d-", qemu_ga);

	assert_true(g_str_has_prefix(json_object_get_string_member(s, "session"), prefix));
	assert_string_equal(json_object_get_string_member(s, "source"), "qemu-ga");
	assert_string_equal(json_object_get_string_member(s, "instance"), "qgatrace-hook");
	assert_string_equal(json_object_get_string_member(s, "method"), "function");
	assert_int_equal(json_object_get_int_member(s, "pid"), qemu_ga);
	assert_int_equal(count_events(s, "freeze_super", qemu_ga, "qemu-ga"), 1);
	assert_true(count_events(s, "thaw_super", qemu_ga, "qemu-ga") >= 1);
	assert_verified_data(s);
	assert_string_equal(json_object_get_string_member(verdict_for(s, DATA), "attribution"),
			    "order");
	/* the hook records stalled tasks too: none here, and none lost */
	assert_int_equal(json_array_get_length(json_object_get_array_member(s, "stalls")), 0);
	assert_true(json_object_get_boolean_member(s, "stalls-complete"));
}

/* the session's "hooks" lists @comm, run in @phase for @min_ms or more,
 * from the exec and exit records: no path, status or output */
static void
assert_stock_script(JsonObject *s, const gchar *comm, const gchar *phase, gint64 min_ms)
{
	JsonArray *hooks = json_object_get_array_member(s, "hooks");

	for (guint i = 0; i < json_array_get_length(hooks); i++) {
		JsonObject *hook = json_array_get_object_element(hooks, i);

		print_message("hook %s %s\n",
			      json_object_get_string_member_with_default(hook, "phase", "?"),
			      json_object_get_string_member_with_default(hook, "comm", "?"));
		if (g_strcmp0(json_object_get_string_member_with_default(hook, "comm", NULL),
			      comm) != 0)
			continue;
		assert_string_equal(json_object_get_string_member(hook, "phase"), phase);
		assert_true(json_object_get_int_member(hook, "duration-ns") >= min_ms * 1000000);
		assert_true(json_object_get_null_member(hook, "exit-status"));
		return;
	}
	fail_msg("no hook '%s' in the session", comm);
}

/* the qgatrace hook's own runs are not among the scripts */
static void
assert_stock_script_absent(JsonObject *s, const gchar *comm)
{
	JsonArray *hooks = json_object_get_array_member(s, "hooks");

	for (guint i = 0; i < json_array_get_length(hooks); i++)
		assert_string_not_equal(json_object_get_string_member_with_default(
						json_array_get_object_element(hooks, i), "comm",
						""),
					comm);
}

/* Debian's way: -F the dispatcher, which runs /etc/qemu/fsfreeze-hook.d/
 * under a shell: the hook's parent is that shell, not qemu-ga */
static void
test_vm_trace_stock_qemu_ga_dispatcher(void **state)
{
	g_autoptr(JsonNode) session = NULL;
	g_autofree gchar *log = NULL;
	gint qemu_ga;

	need_guest();

	if (vm_test_sh_status("test -x " DISPATCHER) != 0) {
		print_message("no %s in the guest (the host lacks qemu-guest-agent's)\n",
			      DISPATCHER);
		skip();
	}
	g_free(vm_test_sh("mkdir -p /etc/qemu/fsfreeze-hook.d && ln -sf " PLUGIN
			  " /etc/qemu/fsfreeze-hook.d/qgatrace && rm -f " HOOK_LOG));
	/* a script the dispatcher runs before the qgatrace hook: on thaw it
	 * is traced (the thaw's dispatcher started with the tracer armed) */
	g_free(vm_test_sh("printf '#!/bin/sh\\nsleep 0.3\\nexit 0\\n' > "
			  "/etc/qemu/fsfreeze-hook.d/aa-sleep && chmod +x "
			  "/etc/qemu/fsfreeze-hook.d/aa-sleep"));
	/* one after the qgatrace hook: on freeze it is traced (the dispatcher is followed
	 * from the arm on), on thaw it runs after the session is stored */
	g_free(vm_test_sh("printf '#!/bin/sh\\nsleep 0.2\\nexit 0\\n' > "
			  "/etc/qemu/fsfreeze-hook.d/zz-sleep && chmod +x "
			  "/etc/qemu/fsfreeze-hook.d/zz-sleep"));
	restart_qemu_ga(DISPATCHER);
	qemu_ga = guest_pid("qemu-ga");
	session = stock_freeze_thaw(qemu_ga);
	assert_stock_session(json_node_get_object(session), qemu_ga);
	assert_stock_script(json_node_get_object(session), "aa-sleep", "thaw", 300);
	assert_stock_script(json_node_get_object(session), "zz-sleep", "freeze", 150);
	assert_stock_script_absent(json_node_get_object(session), "qgatrace");
	log = vm_test_sh("cat " HOOK_LOG);
	assert_non_null(strstr(log, "execute /etc/qemu/fsfreeze-hook.d/qgatrace freeze"));
	assert_non_null(strstr(log, "armed function for qemu-ga"));
	assert_non_null(strstr(log, "thaw: stored qemu-ga-"));
	g_free(vm_test_sh("rm -f /etc/qemu/fsfreeze-hook.d/qgatrace "
			  "/etc/qemu/fsfreeze-hook.d/aa-sleep /etc/qemu/fsfreeze-hook.d/zz-sleep"));
}

/* -F the plugin itself: its parent is qemu-ga */
static void
test_vm_trace_stock_qemu_ga_direct(void **state)
{
	g_autoptr(JsonNode) session = NULL;
	gint qemu_ga;

	need_guest();

	restart_qemu_ga(PLUGIN);
	qemu_ga = guest_pid("qemu-ga");
	session = stock_freeze_thaw(qemu_ga);
	assert_stock_session(json_node_get_object(session), qemu_ga);
	/* stored on tmpfs, atomically: nothing half-written is left */
	g_free(vm_test_sh("ls /run/qgatrace/sessions/qemu-ga-*.json && "
			  "! ls /run/qgatrace/sessions | grep -v '\\.json$'"));
	/* root's only: kernel addresses */
	assert_sh("stat -c %a /run/qgatrace/sessions /run/qgatrace/sessions/qemu-ga-*.json | sort "
		  "-u | "
		  "tr '\\n' ' '",
		  TRUE, "600 700");
}

/* ---- what is left behind ---- */

static void
test_vm_trace_nothing_left_after_exit(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) status = NULL;
	g_autofree gchar *after = NULL;

	need_guest();

	/* a stale instance of a crashed agent is taken over at start-up */
	g_free(vm_test_sh("kill -KILL $(pidof qgatrace-agent); sleep 0.3; mkdir -p " TRACING
			  "/instances/qgatrace && echo 4 > " TRACING
			  "/instances/qgatrace/buffer_size_kb"));
	vm_test_restart_agent(NULL);
	agent = vm_test_connect("qgatrace", TRUE);
	status = vm_test_execute_ok(agent, "guest-trace-status", NULL);
	assert_true(json_object_get_boolean_member(json_node_get_object(status), "available"));
	/* a fresh one: the stale one's 4 KB went with it (128 KB reads back page-rounded) */
	assert_sh("cut -d' ' -f1 " TRACING "/instances/qgatrace/buffer_size_kb", FALSE, "4");
	g_free(vm_test_sh("grep -q 'removed the stale instance' " VM_TEST_AGENT_LOG));

	/* frozen at SIGTERM: thawed, collected, then the instance removed */
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-freeze-list", FREEZE_DATA), 1);
	vm_test_close(agent);
	g_free(vm_test_sh("kill -TERM $(pidof qgatrace-agent); "
			  "i=0; while pidof qgatrace-agent >/dev/null && [ $i -lt 100 ]; do sleep "
			  "0.1; i=$((i+1)); done; "
			  "! pidof qgatrace-agent"));
	g_free(vm_test_sh("grep -q \"trace session 'agent-.*verified\" " VM_TEST_AGENT_LOG));
	g_free(vm_test_sh("! ls " TRACING "/instances | grep ."));
	after = top_level_settings();
	if (top_level_before != NULL)
		assert_string_equal(after, top_level_before);
	vm_test_restart_agent(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		trace_test(test_vm_trace_status),
		trace_test(test_vm_trace_freeze_is_verified),
		trace_test(test_vm_trace_paused_session_resumes),
		trace_test(test_vm_trace_fetch_errors),
		trace_test(test_vm_trace_ftrace_disabled_is_not_verified),
		trace_test(test_vm_trace_not_frozen_is_not_verified),
		trace_test(test_vm_trace_fallback_to_events),
		trace_test(test_vm_trace_filter_skips_unknown_function),
		trace_test(test_vm_trace_auto_thaw_is_traced),
		trace_test(test_vm_trace_killed_frozen_agent_is_cleaned_up),
		stock_test(test_vm_trace_stock_qemu_ga_dispatcher),
		stock_test(test_vm_trace_stock_qemu_ga_direct),
		stock_test(test_vm_trace_stock_qemu_ga_client),
		trace_test(test_vm_trace_nothing_left_after_exit),
	};
	gint rc = vm_test_run(tests);

	g_free(top_level_before);
	return rc;
}
