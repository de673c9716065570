/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host client, build/host-client/qgatrace, against the real guest: every
 * command and its --json shape against qgatrace-agent (org.qgatrace.0, QMP
 * beside it), a verified snapshot of the data disk, a failing --exec and
 * Ctrl-C inside the frozen window (the guest ends thawed), an agent that is
 * not running (exit 3 within the timeout, doctor names it), garbage left on
 * the channel, stock qemu-ga (org.qemu.guest_agent.0), and a verified
 * snapshot of a hot-plugged disk without a serial (matched by PCI address). */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "vm-run.h"
#include "vm-test.h"

#define DATA	      "/mnt/data"
#define FROZEN_MARKER "/run/qgatrace.frozen"

static GSubprocess *
client_spawn_argv(GPtrArray *args)
{
	g_autoptr(GError) error = NULL;
	GSubprocess *proc;

	g_ptr_array_insert(args, 0, (gpointer)vm_run_client_path());
	g_ptr_array_add(args, NULL);
	proc = vm_run_spawn((const gchar *const *)args->pdata, &error);
	if (proc == NULL)
		fail_msg("spawning %s: %s", vm_run_client_path(), error->message);
	return proc;
}

static GPtrArray *
collect_args(const gchar *first, va_list ap)
{
	GPtrArray *args = g_ptr_array_new();

	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(args, (gpointer)arg);
	return args;
}

static GSubprocess *
client_spawn(const gchar *first, ...)
{
	g_autoptr(GPtrArray) args = NULL;
	va_list ap;

	va_start(ap, first);
	args = collect_args(first, ap);
	va_end(ap);
	return client_spawn_argv(args);
}

/* runs qgatrace ARGS... to the end */
static VmRun *
client(const gchar *first, ...)
{
	g_autoptr(GPtrArray) args = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	gint64 started = g_get_monotonic_time();
	va_list ap;

	va_start(ap, first);
	args = collect_args(first, ap);
	va_end(ap);
	proc = client_spawn_argv(args);
	return vm_run_wait(proc, started);
}

static const gchar *
sock(const gchar *which)
{
	return vm_guest_socket(vm_test_guest(), which);
}

/* the kernel's word: busybox fsfreeze --unfreeze succeeds only on a frozen fs (and thaws it) */
static gboolean
kernel_says_frozen(void)
{
	return vm_test_sh_status("fsfreeze --unfreeze " DATA " 2>/dev/null") == 0;
}

static void
assert_guest_thawed(void)
{
	assert_int_equal(vm_test_sh_status("test -e " FROZEN_MARKER), 1);
	assert_false(kernel_says_frozen());
}

/* ---- qgatrace-agent ---- */

static void
test_vm_client_ping_info_status(void **state)
{
	g_autoptr(VmRun) ping = client("--agent", sock("qgatrace"), "ping", NULL);
	g_autoptr(VmRun) ping_json = client("--agent", sock("qgatrace"), "--json", "ping", NULL);
	g_autoptr(VmRun) info = client("--agent", sock("qgatrace"), "info", "--json", NULL);
	g_autoptr(VmRun) status = client("--agent", sock("qgatrace"), "--json", "status", NULL);
	g_autoptr(VmRun) status_human = client("--agent", sock("qgatrace"), "status", NULL);
	g_autoptr(JsonObject) p = NULL;
	g_autoptr(JsonObject) i = NULL;
	g_autoptr(JsonObject) s = NULL;

	assert_int_equal(ping->status, 0);
	assert_non_null(strstr(ping->out, "answered: handshake"));
	assert_int_equal(ping_json->status, 0);
	p = vm_run_json(ping_json);
	assert_string_equal(json_object_get_string_member(p, "transport"), "socket");
	assert_true(json_object_get_int_member(p, "handshake-us") > 0);
	assert_int_equal(info->status, 0);
	i = vm_run_json(info);
	assert_string_equal(json_object_get_string_member(i, "agent"), "qgatrace-agent");
	assert_string_equal(json_object_get_string_member(i, "hostname"), "qgatrace-guest");
	assert_true(json_object_get_boolean_member(i, "tracing"));
	assert_true(json_object_get_boolean_member(i, "dmesg"));
	assert_int_equal(status->status, 0);
	s = vm_run_json(status);
	assert_string_equal(json_object_get_string_member(s, "fsfreeze"), "thawed");
	assert_true(json_object_get_boolean_member(json_object_get_object_member(s, "trace"),
						   "available"));
	assert_int_equal(status_human->status, 0);
	assert_non_null(strstr(status_human->out, "filesystems  thawed"));
}

static void
test_vm_client_freeze_thaw(void **state)
{
	g_autoptr(VmRun) freeze =
		client("--agent", sock("qgatrace"), "--json", "freeze", "-m", DATA, NULL);
	g_autoptr(VmRun) status = NULL;
	g_autoptr(VmRun) thaw = NULL;
	g_autoptr(JsonObject) f = NULL;
	g_autoptr(JsonObject) t = NULL;

	assert_int_equal(freeze->status, 0);
	f = vm_run_json(freeze);
	assert_int_equal(json_object_get_int_member(f, "frozen"), 1);
	assert_int_equal(vm_test_sh_status("test -e " FROZEN_MARKER), 0);
	status = client("--agent", sock("qgatrace"), "status", NULL);
	assert_non_null(strstr(status->out, "filesystems  frozen"));
	thaw = client("--agent", sock("qgatrace"), "--json", "thaw", NULL);
	assert_int_equal(thaw->status, 0);
	t = vm_run_json(thaw);
	assert_int_equal(json_object_get_int_member(t, "thawed"), 1);
	assert_guest_thawed();
}

static void
test_vm_client_snapshot_verified(void **state)
{
	g_autoptr(VmRun) run = client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "--json",
				      "snapshot", "-m", DATA, "--qmp-snapshot", NULL);
	g_autoptr(VmRun) human = NULL;
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *mp;
	JsonObject *trace;
	JsonObject *evidence;
	JsonObject *disk;
	JsonObject *step;
	JsonArray *functions;
	JsonArray *overlays;
	gboolean saw_freeze_super = FALSE;
	gboolean saw_thaw_super = FALSE;

	assert_int_equal(run->status, 0);
	doc = vm_run_json(run);
	assert_true(json_object_get_boolean_member(doc, "verified"));
	assert_true(json_object_get_boolean_member(doc, "ok"));
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_string_equal(json_object_get_string_member(mp, "mountpoint"), DATA);
	assert_true(json_object_get_boolean_member(mp, "verified"));
	assert_true(json_object_get_int_member(mp, "thawed-at-ns") >
		    json_object_get_int_member(mp, "frozen-at-ns"));
	assert_true(json_object_get_int_member(mp, "frozen-ns") > 0);
	functions = json_object_get_array_member(mp, "functions");
	for (guint i = 0; i < json_array_get_length(functions); i++) {
		saw_freeze_super |=
			g_strcmp0(json_array_get_string_element(functions, i), "freeze_super") == 0;
		saw_thaw_super |=
			g_strcmp0(json_array_get_string_element(functions, i), "thaw_super") == 0;
	}
	assert_true(saw_freeze_super && saw_thaw_super);
	trace = json_object_get_object_member(doc, "trace");
	assert_string_equal(json_object_get_string_member(trace, "source"), "qgatrace-agent");
	assert_true(json_array_get_length(json_object_get_array_member(trace, "events")) > 0);
	/* the host's counters did not move while the guest was frozen */
	evidence = json_object_get_object_member(doc, "host-evidence");
	assert_string_equal(json_object_get_string_member(evidence, "source"), "qmp");
	assert_true(json_object_get_boolean_member(evidence, "quiet"));
	disk = json_array_get_object_element(json_object_get_array_member(evidence, "disks"), 0);
	assert_string_equal(json_object_get_string_member(disk, "serial"), "qgatrace-data");
	assert_true(json_object_get_boolean_member(disk, "conclusive"));
	assert_int_equal(json_object_get_int_member(disk, "writes-in-window"), 0);
	assert_int_equal(json_object_get_int_member(mp, "host-writes-in-window"), 0);
	/* the overlay exists and is QEMU's active layer now */
	step = json_object_get_object_member(doc, "host-step");
	assert_true(json_object_get_boolean_member(step, "ok"));
	assert_true(json_object_get_boolean_member(step, "guest-frozen-at-end"));
	overlays = json_object_get_array_member(step, "overlays");
	assert_int_equal(json_array_get_length(overlays), 1);
	assert_true(g_file_test(json_object_get_string_member(
					json_array_get_object_element(overlays, 0), "overlay"),
				G_FILE_TEST_IS_REGULAR));
	assert_true(
		json_object_get_boolean_member(json_object_get_object_member(doc, "thaw"), "ok"));
	assert_guest_thawed();

	/* the human verdict, with an --exec host step */
	human = client("--agent", sock("qgatrace"), "snapshot", "-m", DATA, "--exec",
		       "test -n \"$QGATRACE_MOUNTPOINTS\"", NULL);
	assert_int_equal(human->status, 0);
	assert_non_null(strstr(human->out, DATA "  VERIFIED"));
	assert_non_null(strstr(human->out, "  frozen for   "));
	assert_non_null(strstr(human->out, "  kernel saw   freeze_super"));
	assert_non_null(strstr(human->out, "snapshot VERIFIED: 1 of 1 filesystem(s)"));
}

static void
test_vm_client_snapshot_exec_fails(void **state)
{
	g_autoptr(VmRun) run = client("--agent", sock("qgatrace"), "--json", "snapshot", "-m", DATA,
				      "--exec", "echo doing; exit 3", NULL);
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *step;

	assert_int_equal(run->status, 1);
	doc = vm_run_json(run);
	assert_false(json_object_get_boolean_member(doc, "ok"));
	step = json_object_get_object_member(doc, "host-step");
	assert_int_equal(json_object_get_int_member(step, "exit-status"), 3);
	assert_false(json_object_get_boolean_member(step, "ok"));
	assert_true(
		json_object_get_boolean_member(json_object_get_object_member(doc, "thaw"), "ok"));
	/* under --json the command's output went to stderr */
	assert_non_null(strstr(run->err, "doing"));
	assert_guest_thawed();
}

static void
test_vm_client_snapshot_sigint_thaws(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-client-XXXXXX", NULL);
	g_autofree gchar *pidfile = g_build_filename(dir, "step.pid", NULL);
	g_autofree gchar *step = g_strdup_printf("echo $$ > %s; exec sleep 60", pidfile);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(VmRun) run = NULL;
	g_autoptr(JsonObject) doc = NULL;
	g_autofree gchar *step_pid = NULL;
	gint64 started = g_get_monotonic_time();

	proc = client_spawn("--agent", sock("qgatrace"), "--json", "snapshot", "-m", DATA, "--exec",
			    step, NULL);
	/* inside the frozen window: the agent's marker is there, the host step runs */
	vm_test_wait("test -e " FROZEN_MARKER);
	for (guint i = 0; i < 100 && !g_file_test(pidfile, G_FILE_TEST_EXISTS); i++)
		g_usleep(100 * 1000);
	assert_true(g_file_get_contents(pidfile, &step_pid, NULL, NULL));
	g_subprocess_send_signal(proc, SIGINT);
	run = vm_run_wait(proc, started);
	assert_int_equal(run->status, 1);
	doc = vm_run_json(run);
	assert_string_equal(json_object_get_string_member(doc, "interrupted"), "SIGINT");
	assert_true(
		json_object_get_boolean_member(json_object_get_object_member(doc, "thaw"), "ok"));
	/* well before the step's 60 s: the step was stopped, not waited for */
	assert_true(run->seconds < 40);
	assert_int_equal(kill((pid_t)g_ascii_strtoll(step_pid, NULL, 10), 0), -1);
	assert_guest_thawed();
	g_unlink(pidfile);
	g_rmdir(dir);
}

static void
test_vm_client_trace(void **state)
{
	g_autoptr(VmRun) snap = client("--agent", sock("qgatrace"), "snapshot", "-m", DATA, NULL);
	g_autoptr(VmRun) json = client("--agent", sock("qgatrace"), "--json", "trace", NULL);
	g_autoptr(VmRun) human = client("--agent", sock("qgatrace"), "trace", NULL);
	g_autoptr(VmRun) list = client("--agent", sock("qgatrace"), "trace", "--list", NULL);
	g_autoptr(VmRun) missing =
		client("--agent", sock("qgatrace"), "trace", "--session", "no-such-session", NULL);
	g_autoptr(JsonObject) session = NULL;
	JsonObject *verification;

	assert_int_equal(snap->status, 0);
	assert_int_equal(json->status, 0);
	session = vm_run_json(json);
	assert_string_equal(json_object_get_string_member(session, "state"), "collected");
	verification = json_array_get_object_element(
		json_object_get_array_member(session, "verification"), 0);
	assert_string_equal(json_object_get_string_member(verification, "mountpoint"), DATA);
	assert_true(json_object_get_boolean_member(verification, "verified"));
	assert_int_equal(human->status, 0);
	assert_non_null(strstr(human->out, DATA "  VERIFIED"));
	assert_non_null(strstr(human->out, "freeze_super <- "));
	assert_int_equal(list->status, 0);
	assert_non_null(strstr(list->out, json_object_get_string_member(session, "session")));
	assert_int_equal(missing->status, 1);
}

static void
test_vm_client_dmesg(void **state)
{
	g_autofree gchar *marker = g_strdup_printf("qgatrace-client-marker-%08x", g_random_int());
	g_autofree gchar *marker2 = g_strdup_printf("qgatrace-client-follow-%08x", g_random_int());
	g_autofree gchar *write = g_strdup_printf("echo '<3>%s' > /dev/kmsg", marker);
	g_autofree gchar *write2 = g_strdup_printf("echo '<4>%s' > /dev/kmsg", marker2);
	g_autoptr(VmRun) errs = NULL;
	g_autoptr(VmRun) tail = NULL;
	g_autoptr(VmRun) all = NULL;
	g_autoptr(VmRun) follow = NULL;
	g_autoptr(JsonNode) records = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	JsonArray *list;
	gboolean found = FALSE;
	gint64 started;

	g_free(vm_test_sh(write));
	errs = client("--agent", sock("qgatrace"), "--json", "dmesg", "--level", "err", NULL);
	assert_int_equal(errs->status, 0);
	records = json_from_string(errs->out, NULL);
	assert_true(records != NULL && JSON_NODE_HOLDS_ARRAY(records));
	list = json_node_get_array(records);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		JsonObject *r = json_array_get_object_element(list, i);

		assert_true(json_object_get_int_member(r, "level") <= 3);
		if (g_strcmp0(json_object_get_string_member(r, "message"), marker) == 0)
			found = TRUE;
	}
	assert_true(found);
	tail = client("--agent", sock("qgatrace"), "dmesg", "--tail", "5", NULL);
	assert_int_equal(tail->status, 0);
	assert_non_null(strstr(tail->out, marker));
	assert_true(g_str_has_prefix(tail->out, "["));
	/* everything, in several bounded replies if need be */
	all = client("--agent", sock("qgatrace"), "dmesg", NULL);
	assert_int_equal(all->status, 0);
	assert_non_null(strstr(all->out, "Linux version"));
	assert_non_null(strstr(all->out, marker));

	/* --follow prints what comes later, and ends on Ctrl-C */
	started = g_get_monotonic_time();
	proc = client_spawn("--agent", sock("qgatrace"), "--json", "dmesg", "--tail", "1",
			    "--follow", "--interval", "0.2", NULL);
	g_usleep(1500 * 1000);
	g_free(vm_test_sh(write2));
	g_usleep(2000 * 1000);
	g_subprocess_send_signal(proc, SIGINT);
	follow = vm_run_wait(proc, started);
	assert_int_equal(follow->status, 0);
	assert_non_null(strstr(follow->out, marker2));
	/* JSON Lines: one record per line */
	{
		g_auto(GStrv) lines = g_strsplit(g_strstrip(follow->out), "\n", -1);

		for (guint i = 0; lines[i] != NULL; i++) {
			g_autoptr(JsonNode) line = json_from_string(lines[i], NULL);

			assert_true(line != NULL && JSON_NODE_HOLDS_OBJECT(line));
		}
	}
}

static void
test_vm_client_df_raw(void **state)
{
	g_autoptr(VmRun) df =
		client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "--json", "df", NULL);
	g_autoptr(VmRun) human =
		client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "df", NULL);
	g_autoptr(VmRun) raw = client("--agent", sock("qgatrace"), "raw",
				      "{\"execute\":\"guest-get-time\"}", NULL);
	g_autoptr(VmRun) raw_err =
		client("--agent", sock("qgatrace"), "raw", "{\"execute\":\"guest-no-such\"}", NULL);
	g_autoptr(JsonObject) doc = NULL;
	g_autoptr(JsonObject) reply = NULL;
	JsonObject *fs;
	JsonObject *disk;

	assert_int_equal(df->status, 0);
	doc = vm_run_json(df);
	fs = json_array_get_object_element(json_object_get_array_member(doc, "filesystems"), 0);
	assert_string_equal(json_object_get_string_member(fs, "mountpoint"), DATA);
	assert_true(json_object_get_int_member(fs, "total-bytes") > 0);
	assert_string_equal(json_object_get_string_member(fs, "host-disk"), "data");
	disk = json_array_get_object_element(
		json_object_get_array_member(json_object_get_object_member(doc, "host"), "disks"),
		0);
	assert_int_equal(json_object_get_int_member(disk, "capacity"), 64 * 1024 * 1024);
	assert_int_equal(json_object_get_int_member(disk, "guest-used-bytes"),
			 json_object_get_int_member(fs, "used-bytes"));
	assert_int_equal(human->status, 0);
	assert_non_null(strstr(human->out, "host view (QMP"));
	assert_int_equal(raw->status, 0);
	reply = vm_run_json(raw);
	assert_true(json_object_get_int_member(reply, "return") > 0);
	assert_int_equal(raw_err->status, 1);
	assert_non_null(strstr(raw_err->err, "CommandNotFound"));
}

static void
test_vm_client_doctor_ok(void **state)
{
	g_autoptr(VmRun) run =
		client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "doctor", NULL);

	assert_int_equal(run->status, 0);
	assert_non_null(strstr(run->out, "guest port open"));
	assert_non_null(strstr(run->out, "verdict: every check passed"));
}

static void
test_vm_client_agent_not_running(void **state)
{
	g_autoptr(VmRun) ping = NULL;
	g_autoptr(VmRun) doctor = NULL;
	g_autoptr(VmRun) doctor_noqmp = NULL;
	g_autoptr(VmRun) back = NULL;

	g_free(vm_test_sh(
		"kill -TERM $(pidof qgatrace-agent); i=0; while pidof qgatrace-agent >/dev/null && "
		"[ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ! pidof qgatrace-agent"));
	ping = client("--agent", sock("qgatrace"), "--timeout", "3", "ping", NULL);
	assert_int_equal(ping->status, 3);
	assert_true(ping->seconds < 6);
	assert_non_null(strstr(ping->err, "qgatrace: ping: cannot reach the agent"));
	/* one line */
	assert_int_equal(strchr(ping->err, '\n') - ping->err, (gint)strlen(ping->err) - 1);
	doctor = client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "--timeout", "3",
			"doctor", NULL);
	assert_int_equal(doctor->status, 3);
	assert_non_null(strstr(doctor->out, "the agent is not running in the guest"));
	doctor_noqmp =
		client("--agent", sock("qgatrace"), "--timeout", "3", "--json", "doctor", NULL);
	assert_int_equal(doctor_noqmp->status, 3);
	assert_non_null(strstr(doctor_noqmp->out, "not running in the guest"));
	vm_test_restart_agent(NULL);
	back = client("--agent", sock("qgatrace"), "ping", NULL);
	assert_int_equal(back->status, 0);
}

/* a previous client's partial request and a reply nobody read are still in the channel */
static void
test_vm_client_garbage_before_connect(void **state)
{
	static const gchar *const leftovers[] = {
		"{\"execute\":\"guest-info\",\"arguments\":{\"x",
		"\x01\x02 garbage {{{",
		"{\"execute\":\"guest-get-fsinfo\",\"id\":\"stale\"}\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(leftovers); i++) {
		g_autoptr(GSocket) s =
			g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
		g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(sock("qgatrace"));
		g_autoptr(VmRun) run = NULL;

		assert_true(g_socket_connect(s, addr, NULL, NULL));
		assert_true(g_socket_send(s, leftovers[i], strlen(leftovers[i]), NULL, NULL) > 0);
		g_usleep(300 * 1000);
		g_socket_close(s, NULL);
		run = client("--agent", sock("qgatrace"), "--json", "ping", NULL);
		assert_int_equal(run->status, 0);
	}
}

/* ---- stock qemu-ga ---- */

static void
test_vm_client_stock_qemu_ga(void **state)
{
	g_autoptr(VmRun) ping = client("--agent", sock("qga"), "ping", NULL);
	g_autoptr(VmRun) info = client("--agent", sock("qga"), "--json", "info", NULL);
	g_autoptr(VmRun) status = client("--agent", sock("qga"), "--json", "status", NULL);
	g_autoptr(VmRun) freeze = NULL;
	g_autoptr(VmRun) frozen = NULL;
	g_autoptr(VmRun) thaw = NULL;
	g_autoptr(VmRun) trace = NULL;
	g_autoptr(VmRun) snap = NULL;
	g_autoptr(JsonObject) i = NULL;
	g_autoptr(JsonObject) s = NULL;
	g_autoptr(JsonObject) doc = NULL;
	JsonObject *mp;

	assert_int_equal(ping->status, 0);
	assert_int_equal(info->status, 0);
	i = vm_run_json(info);
	assert_string_equal(json_object_get_string_member(i, "agent"), "qemu-ga");
	assert_false(json_object_get_boolean_member(i, "tracing"));
	assert_int_equal(status->status, 0);
	s = vm_run_json(status);
	assert_string_equal(json_object_get_string_member(s, "fsfreeze"), "thawed");
	assert_true(json_object_get_null_member(s, "trace"));

	freeze = client("--agent", sock("qga"), "freeze", "-m", DATA, NULL);
	assert_int_equal(freeze->status, 0);
	assert_true(g_str_has_prefix(freeze->out, "froze 1 filesystem(s)"));
	frozen = client("--agent", sock("qga"), "status", NULL);
	assert_non_null(strstr(frozen->out, "filesystems  frozen"));
	thaw = client("--agent", sock("qga"), "thaw", NULL);
	assert_int_equal(thaw->status, 0);
	assert_string_equal(thaw->out, "thawed 1 filesystem(s)\n");
	assert_false(kernel_says_frozen());

	trace = client("--agent", sock("qga"), "trace", NULL);
	assert_int_equal(trace->status, 1);
	assert_non_null(strstr(trace->err, "the agent lacks tracing"));

	/* frozen and thawed, but nothing proves it */
	snap = client("--agent", sock("qga"), "--json", "snapshot", "-m", DATA, NULL);
	assert_int_equal(snap->status, 1);
	doc = vm_run_json(snap);
	assert_false(json_object_get_boolean_member(doc, "verified"));
	assert_true(
		json_object_get_boolean_member(json_object_get_object_member(doc, "thaw"), "ok"));
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_non_null(strstr(json_object_get_string_member(mp, "reason"), "lacks tracing"));
	assert_false(kernel_says_frozen());
}

/* ---- a data disk without a serial ---- */

/* a hot-plugged virtio-blk disk with no serial, mapped by its PCI address:
 * the host's counters are conclusive for it all the same */
static void
test_vm_client_snapshot_no_serial(void **state)
{
	g_autofree gchar *image =
		g_build_filename(vm_guest_run_dir(vm_test_guest()), "noserial.img", NULL);
	g_autofree gchar *mkfs = g_strdup_printf(
		"PATH=$PATH:/sbin:/usr/sbin; truncate -s 32M '%s' && mkfs.ext4 -q -F '%s'", image,
		image);
	g_autofree gchar *blockdev =
		g_strdup_printf("{\"driver\":\"raw\",\"node-name\":\"noserial\","
				"\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
				image);
	const gchar *argv[] = {"/bin/sh", "-c", mkfs, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(VmRun) run = NULL;
	g_autoptr(VmRun) df = NULL;
	g_autoptr(JsonObject) doc = NULL;
	g_autoptr(JsonObject) df_doc = NULL;
	g_autofree gchar *dev = NULL;
	g_autofree gchar *mount = NULL;
	JsonArray *disks;
	JsonObject *mp;
	JsonObject *fs = NULL;
	JsonObject *disk = NULL;
	QmpClient *monitor;
	gint status = -1;

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
			  &status, &error) ||
	    !g_spawn_check_wait_status(status, &error))
		fail_msg("making %s: %s", image, error->message);
	monitor = vm_test_connect_qmp();
	json_node_unref(vm_test_qmp_execute_ok(monitor, "blockdev-add", blockdev));
	json_node_unref(vm_test_qmp_execute_ok(
		monitor, "device_add",
		"{\"driver\":\"virtio-blk-pci\",\"drive\":\"noserial\",\"id\":\"noserial-disk\"}"));
	/* the QMP socket takes one client: the host client's, from here */
	vm_test_close_qmp(monitor);
	vm_test_wait("[ $(ls /sys/block | grep -c ^vd) -ge 2 ]");
	/* the data disk has a serial; the new one has none */
	dev = vm_test_sh("for d in /sys/block/vd*; do "
			 "[ -n \"$(cat $d/serial 2>/dev/null)\" ] || echo /dev/${d##*/}; done");
	assert_true(g_str_has_prefix(dev, "/dev/vd") && strchr(dev, '\n') == NULL);
	mount = g_strdup_printf("mkdir -p /mnt/noserial && mount %s /mnt/noserial", dev);
	g_free(vm_test_sh(mount));

	run = client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "--json", "snapshot", "-m",
		     "/mnt/noserial", NULL);
	g_free(vm_test_sh("umount /mnt/noserial"));
	assert_int_equal(run->status, 0);
	doc = vm_run_json(run);
	assert_true(json_object_get_boolean_member(doc, "verified"));
	mp = json_array_get_object_element(json_object_get_array_member(doc, "mountpoints"), 0);
	assert_string_equal(json_object_get_string_member(mp, "mountpoint"), "/mnt/noserial");
	assert_true(json_object_get_null_member(mp, "unmapped-reason"));
	assert_int_equal(json_object_get_int_member(mp, "host-writes-in-window"), 0);
	disks = json_object_get_array_member(json_object_get_object_member(doc, "host-evidence"),
					     "disks");
	for (guint i = 0; i < json_array_get_length(disks); i++) {
		JsonObject *d = json_array_get_object_element(disks, i);

		if (strstr(json_object_get_string_member(d, "id"), "noserial-disk") != NULL)
			disk = d;
	}
	assert_non_null(disk);
	assert_string_equal(json_object_get_string_member(mp, "host-disk"),
			    json_object_get_string_member(disk, "id"));
	assert_true(json_object_get_null_member(disk, "serial"));
	assert_true(json_object_get_boolean_member(disk, "conclusive"));
	assert_string_equal(
		json_array_get_string_element(json_object_get_array_member(disk, "mountpoints"), 0),
		"/mnt/noserial");

	/* df puts the guest's usage beside the host's allocation for it */
	g_free(vm_test_sh(mount));
	df = client("--agent", sock("qgatrace"), "--qmp", sock("qmp"), "--json", "df", NULL);
	g_free(vm_test_sh("umount /mnt/noserial"));
	assert_int_equal(df->status, 0);
	df_doc = vm_run_json(df);
	for (guint i = 0;
	     i < json_array_get_length(json_object_get_array_member(df_doc, "filesystems")); i++) {
		JsonObject *f = json_array_get_object_element(
			json_object_get_array_member(df_doc, "filesystems"), i);

		if (g_strcmp0(json_object_get_string_member(f, "mountpoint"), "/mnt/noserial") == 0)
			fs = f;
	}
	assert_non_null(fs);
	assert_string_equal(json_object_get_string_member(fs, "host-disk-match"), "pci");
	assert_string_equal(json_object_get_string_member(fs, "host-disk"),
			    json_object_get_string_member(disk, "id"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_client_ping_info_status),
		vm_test(test_vm_client_freeze_thaw),
		vm_test(test_vm_client_snapshot_verified),
		vm_test(test_vm_client_snapshot_exec_fails),
		vm_test(test_vm_client_snapshot_sigint_thaws),
		vm_test(test_vm_client_trace),
		vm_test(test_vm_client_dmesg),
		vm_test(test_vm_client_df_raw),
		vm_test(test_vm_client_doctor_ok),
		vm_test(test_vm_client_agent_not_running),
		vm_test(test_vm_client_garbage_before_connect),
		vm_test(test_vm_client_stock_qemu_ga),
		vm_test(test_vm_client_snapshot_no_serial),
	};

	return vm_test_run(tests);
}
