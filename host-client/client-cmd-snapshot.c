/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "client-commands.h"
#include "client-diskmap.h"
#include "client-output.h"
#include "client-terminal.h"
#include "client-trace.h"
#include "client-verdict.h"

#define SNAPSHOT_EXEC_TIMEOUT_S 45
/* a thaw is retried (resyncing first) this long at least */
#define SNAPSHOT_THAW_MIN_MS 30000

static const gchar snapshot_summary[] =
	"Takes a host-side snapshot while the guest's filesystems are frozen, and proves from the\n"
	"guest kernel's own trace that the freeze really happened:\n\n"
	"  1. freeze the mountpoints given with -m, or every freezable filesystem;\n"
	"  2. run the host step while frozen: --exec a command (qemu-img, virsh snapshot-create\n"
	"     --disk-only, a storage array's CLI), or --qmp-snapshot: one QMP 'transaction' of\n"
	"     blockdev-snapshot-sync on every guest disk (a qcow2 overlay next to each image\n"
	"     becomes the active layer; the image itself is the snapshot);\n"
	"  3. thaw, always: after an error, a timeout, a failed host step, Ctrl-C or SIGTERM\n"
	"     (the thaw is retried, resyncing the channel, until it succeeds or time runs out);\n"
	"  4. fetch the trace session the agent recorded for this freeze (guest-trace-fetch) and\n"
	"     print a verdict per mountpoint: frozen at, thawed at, frozen for, the kernel\n"
	"     functions seen, VERIFIED or NOT VERIFIED and why.\n\n"
	"With --qmp (or --domain, through libvirt's block statistics) the disks' write counters are\n"
	"read after the freeze and before the thaw: they must not move inside the frozen window.\n"
	"Writes the host saw to a disk whose filesystems were all frozen make its mountpoints NOT\n"
	"verified, and writes to a disk the guest tied to no mountpoint make every mountpoint NOT\n"
	"verified. Disks are matched by serial, else by the PCI address (and SCSI target and unit)\n"
	"guest-get-fsinfo reports against the host's (QMP query-pci and qom-get, or the domain\n"
	"XML); a filesystem whose disk cannot be matched is listed as unmapped, with the reason:\n"
	"writes to its disk then count as writes to a disk of unknown filesystems, which\n"
	"make every mountpoint NOT verified: its filesystems are unknown to the host, and unknown is\n"
	"not verified. The guest must still be frozen when the host step ends (the agent's own freeze\n"
	"timeout may have thawed it): otherwise nothing is verified.\n\n"
	"Trust: all but the block statistics, run state and timing is the guest's word (qgatrace(1), TRUST).\n\n"
	"The --exec command runs with /bin/sh -c, stdin at end of file, in its own process group (killed\n"
	"on timeout or Ctrl-C), with QGATRACE_MOUNTPOINTS (space-separated, empty for all) in its\n"
	"environment; under --json its output goes to stderr.";

static const gchar snapshot_description[] =
	"Output:\n"
	"  the steps with their durations, a verdict block per mountpoint, the host evidence, where\n"
	"  each part came from ('host-measured:' and 'from the guest:'), and a final line:\n"
	"  'snapshot VERIFIED: ...' or 'snapshot NOT VERIFIED: ...'.\n"
	"  --json: {\"verified\": BOOL, \"mountpoints\": [{\"mountpoint\", \"verified\",\n"
	"  \"frozen-at-ns\", \"thawed-at-ns\", \"frozen-ns\", \"functions\", \"fs-ops\", \"attribution\",\n"
	"  \"reason\", \"host-disk\", \"unmapped-reason\", \"host-writes-in-window\",\n"
	"  \"host-unknown-disks\": [{\"id\",\n"
	"  \"writes-in-window\"}]}], \"trace\": {the guest-trace-fetch\n"
	"  session}|null, \"host-evidence\": {\"source\": \"qmp\"|\"libvirt\", \"quiet\": BOOL, \"disks\":\n"
	"  [{\"id\", \"serial\", \"mountpoints\", \"matched-by\", \"conclusive\", \"before-freeze\",\n"
	"  \"frozen\", \"before-thaw\", \"writes-during-freeze\", \"writes-in-window\"}], \"unmapped\":\n"
	"  [{\"mountpoint\", \"dev\", \"host-disk\": null, \"unmapped-reason\"}]}|null, \"freeze\",\n"
	"  \"host-step\", \"thaw\", \"interrupted\": SIGNAL|null, \"evidence\": [{\"name\", \"source\":\n"
	"  \"host\"|\"guest\", \"summary\", ...}], \"ok\": BOOL}\n"
	"  Timestamps (-ns) are the guest's CLOCK_MONOTONIC, as the kernel's trace recorded them.\n\n"
	"Exit status: 0 when every mountpoint is VERIFIED, the host step succeeded and the guest is\n"
	"thawed; 1 when any of that failed (NOT verified included); 2 usage; 3 when the agent could\n"
	"not be reached (before the freeze, or for the thaw: the guest may then still be frozen\n"
	"until the agent's freeze timeout).\n\n"
	"Examples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --qmp /run/vm1/qmp.sock snapshot -m /mnt/data \\\n"
	"      --qmp-snapshot\n"
	"  qgatrace --domain vm1 --port org.qgatrace.0 snapshot \\\n"
	"      --exec 'virsh snapshot-create-as vm1 --disk-only --no-metadata'\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --json snapshot --exec 'cp --sparse=always disk.img /backup/'\n";

typedef struct {
	gchar **mounts; /* -m, or NULL */
	gchar *exec;
	gboolean qmp_snapshot;
	gdouble exec_timeout;
} SnapshotOptions;

static const SnapshotOptions snapshot_defaults = {.exec_timeout = SNAPSHOT_EXEC_TIMEOUT_S};

static const GOptionEntry snapshot_entries[] = {
	{"mountpoint", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, CLIENT_OPTION(SnapshotOptions, mounts),
	 "freeze and verify this mountpoint (repeatable); default: every freezable filesystem",
	 "MOUNT"},
	{"exec", 'e', 0, G_OPTION_ARG_STRING, CLIENT_OPTION(SnapshotOptions, exec),
	 "the host step: run COMMAND (/bin/sh -c) while frozen", "COMMAND"},
	{"qmp-snapshot", 0, 0, G_OPTION_ARG_NONE, CLIENT_OPTION(SnapshotOptions, qmp_snapshot),
	 "the host step: QMP blockdev-snapshot-sync of every guest disk in one transaction (needs --qmp)",
	 NULL},
	{"exec-timeout", 0, 0, G_OPTION_ARG_DOUBLE, CLIENT_OPTION(SnapshotOptions, exec_timeout),
	 "stop the --exec command after SECONDS (default 45; qgatrace-agent thaws by itself after 60)",
	 "SECONDS"},
	{NULL},
};

typedef struct {
	ClientContext *ctx;
	ClientTarget *target;
	ClientConn *conn;
	const SnapshotOptions *opts;
	ClientConn *trace_conn; /* the sessions' agent: conn, or a second port */

	JsonNode *fsinfo;      /* guest-get-fsinfo's list */
	GPtrArray *fs_mounts;  /* every freezable mountpoint, in fsinfo's order */
	ClientDiskMap *fs_map; /* which host disk holds which of them */

	GPtrArray *host_disks; /* of ClientHostDisk */
	const gchar *host_source;
	gchar *host_error;
	GArray *before; /* ClientWriteCounters per host disk */
	GArray *frozen;
	GArray *before_thaw;

	gchar *prev_session;
	JsonObject *freeze;
	JsonObject *step;
	JsonObject *thaw;
	gboolean freeze_ok;
	gboolean step_ok;
	gboolean thaw_ok;
	gboolean thaw_unreachable;
	gboolean still_frozen; /* the guest was still frozen when the host step ended */
	JsonObject *session;
	gchar *no_session_reason;

	/* the frozen window on the host's clock (client_now_ms; 0: did not happen) */
	gdouble freeze_sent_ms;
	gdouble freeze_reply_ms;
	gdouble thaw_sent_ms;
	gdouble thaw_reply_ms;
	/* QEMU's run state inside the window, as the host reads it */
	gchar *run_after_freeze;
	gchar *run_before_thaw;
	gchar *run_error;
} Snapshot;

static void
snapshot_clear(Snapshot *s)
{
	g_clear_pointer(&s->fs_map, client_disk_map_free);
	g_clear_pointer(&s->fsinfo, json_node_unref);
	g_clear_pointer(&s->fs_mounts, g_ptr_array_unref);
	g_clear_pointer(&s->host_disks, g_ptr_array_unref);
	g_free(s->host_error);
	g_clear_pointer(&s->before, g_array_unref);
	g_clear_pointer(&s->frozen, g_array_unref);
	g_clear_pointer(&s->before_thaw, g_array_unref);
	g_free(s->prev_session);
	g_clear_pointer(&s->freeze, json_object_unref);
	g_clear_pointer(&s->step, json_object_unref);
	g_clear_pointer(&s->thaw, json_object_unref);
	g_clear_pointer(&s->session, json_object_unref);
	g_free(s->no_session_reason);
	g_free(s->run_after_freeze);
	g_free(s->run_before_thaw);
	g_free(s->run_error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Snapshot, snapshot_clear)

static guint
snapshot_timeout(Snapshot *s)
{
	return client_context_timeout_ms(s->ctx, CLIENT_TIMEOUT_DEFAULT_MS);
}

/* ---- before the freeze ---- */

/* the guest's filesystems and their disks: the host evidence's map (client_disk_map_new) */
static void
snapshot_read_fsinfo(Snapshot *s)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonNode) ret = NULL;
	gboolean enabled = FALSE;
	JsonArray *list;

	if (!client_conn_has_command(s->conn, "guest-get-fsinfo", &enabled) || !enabled)
		return;
	ret = client_conn_execute(s->conn, "guest-get-fsinfo", NULL, snapshot_timeout(s),
				  &error_local);
	if (ret == NULL || !JSON_NODE_HOLDS_ARRAY(ret)) {
		g_debug("guest-get-fsinfo: %s, ignoring",
			error_local != NULL ? error_local->message : "not a list");
		return;
	}
	s->fsinfo = json_node_ref(ret);
	s->fs_mounts = g_ptr_array_new_with_free_func(g_free);
	list = json_node_get_array(ret);
	for (guint i = 0; i < json_array_get_length(list); i++) {
		const gchar *mp =
			client_json_string(client_json_array_object(list, i), "mountpoint");

		if (mp != NULL)
			g_ptr_array_add(s->fs_mounts, g_strdup(mp));
	}
}

static GArray *
snapshot_counters(Snapshot *s)
{
	GArray *out =
		g_array_sized_new(FALSE, TRUE, sizeof(ClientWriteCounters), s->host_disks->len);

	for (guint i = 0; i < s->host_disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(s->host_disks, i);

		g_array_append_val(out, disk->stats);
	}
	return out;
}

/* reads the counters now; NULL (and the evidence dropped, with why) when that fails */
static GArray *
snapshot_read_counters(Snapshot *s)
{
	g_autoptr(GError) error_local = NULL;

	if (s->host_disks == NULL)
		return NULL;
	if (!client_target_host_disks_update(s->target, s->host_disks, &error_local)) {
		s->host_error = g_strdup(error_local->message);
		g_clear_pointer(&s->host_disks, g_ptr_array_unref);
		return NULL;
	}
	return snapshot_counters(s);
}

/* QEMU's run state now, from QMP or libvirt; NULL (the first error kept) without one */
static gchar *
snapshot_read_run_state(Snapshot *s)
{
	g_autoptr(GError) error_local = NULL;
	gboolean running = FALSE;
	gchar *state;

	if (s->ctx->qmp_path == NULL && s->ctx->domain == NULL)
		return NULL;
	state = client_target_run_state(s->target, &running, &error_local);
	if (state == NULL && s->run_error == NULL)
		s->run_error = g_strdup(error_local->message);
	return state;
}

/* ---- the freeze ---- */

static void
snapshot_freeze(Snapshot *s)
{
	g_autoptr(JsonObject) args = NULL;
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(GError) error_local = NULL;
	const gchar *command = "guest-fsfreeze-freeze";
	gdouble start = client_now_ms();

	s->freeze = json_object_new();
	if (s->opts->mounts != NULL) {
		JsonArray *list = json_array_new();

		for (guint i = 0; s->opts->mounts[i] != NULL; i++)
			json_array_add_string_element(list, s->opts->mounts[i]);
		args = json_object_new();
		json_object_set_array_member(args, "mountpoints", list);
		command = "guest-fsfreeze-freeze-list";
	}
	client_context_progress(s->ctx, "freezing %s...",
				s->opts->mounts != NULL ? "the given mountpoints"
							: "every guest filesystem");
	s->freeze_sent_ms = start;
	ret = client_conn_execute(s->conn, command, args,
				  client_context_timeout_ms(s->ctx, CLIENT_TIMEOUT_FREEZE_MS),
				  &error_local);
	s->freeze_reply_ms = client_now_ms();
	json_object_set_int_member(s->freeze, "duration-us",
				   (gint64)((s->freeze_reply_ms - start) * 1000));
	if (ret != NULL && JSON_NODE_HOLDS_VALUE(ret) &&
	    json_node_get_value_type(ret) == G_TYPE_INT64) {
		s->freeze_ok = json_node_get_int(ret) > 0;
		json_object_set_int_member(s->freeze, "frozen", json_node_get_int(ret));
		if (!s->freeze_ok)
			json_object_set_string_member(s->freeze, "error",
						      "the agent froze no filesystem");
		else
			json_object_set_null_member(s->freeze, "error");
	} else {
		json_object_set_null_member(s->freeze, "frozen");
		json_object_set_string_member(s->freeze, "error",
					      error_local != NULL ? error_local->message
								  : "the freeze returned no count");
	}
	json_object_set_boolean_member(s->freeze, "ok", s->freeze_ok);
}

/* ---- the host step ---- */

typedef struct {
	gboolean done;
	GError *error;
} SnapshotWait;

static void
snapshot_wait_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	SnapshotWait *w = user_data;

	(void)g_subprocess_wait_finish(G_SUBPROCESS(source), result, &w->error);
	w->done = TRUE;
}

static gboolean
snapshot_tick_cb(gpointer user_data)
{
	return G_SOURCE_CONTINUE;
}

static void
snapshot_child_setup(gpointer user_data)
{
	/* its own process group: a terminal's Ctrl-C is ours to handle, and
	 * killing the group ends whatever the command started */
	setpgid(0, 0);
}

static void
snapshot_run_exec(Snapshot *s)
{
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	const gchar *ident;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *mounts =
		s->opts->mounts != NULL ? g_strjoinv(" ", s->opts->mounts) : g_strdup("");
	const gchar *argv[] = {"/bin/sh", "-c", s->opts->exec, NULL};
	SnapshotWait w = {0};
	gint64 deadline = g_get_monotonic_time() + (gint64)(s->opts->exec_timeout * G_USEC_PER_SEC);
	gdouble start = client_now_ms();
	const gchar *killed_for = NULL;
	guint tick;
	pid_t pid = 0;

	json_object_set_string_member(s->step, "kind", "exec");
	json_object_set_string_member(s->step, "command", s->opts->exec);
	g_subprocess_launcher_setenv(launcher, "QGATRACE_MOUNTPOINTS", mounts, TRUE);
	g_subprocess_launcher_set_child_setup(launcher, snapshot_child_setup, NULL, NULL);
	/* --json owns stdout */
	if (s->ctx->json)
		g_subprocess_launcher_take_stdout_fd(launcher, dup(STDERR_FILENO));
	client_context_progress(s->ctx, "running the host step while frozen: %s", s->opts->exec);
	proc = g_subprocess_launcher_spawnv(launcher, argv, &error_local);
	if (proc == NULL) {
		json_object_set_string_member(s->step, "error", error_local->message);
		json_object_set_null_member(s->step, "exit-status");
		return;
	}
	/* NULL once GLib reaped a child that exited at once: nothing to kill.
	 * A crash here would leave the guest frozen */
	ident = g_subprocess_get_identifier(proc);
	pid = ident != NULL ? (pid_t)g_ascii_strtoll(ident, NULL, 10) : 0;
	/* stdin: a pipe closed now, so the command reads EOF, never the terminal */
	g_output_stream_close(g_subprocess_get_stdin_pipe(proc), NULL, NULL);
	g_subprocess_wait_async(proc, NULL, snapshot_wait_cb, &w);
	/* wakes the loop for the deadline check */
	tick = g_timeout_add(100, snapshot_tick_cb, NULL);
	while (!w.done) {
		g_main_context_iteration(NULL, TRUE);
		if (w.done)
			break;
		if (killed_for == NULL && client_context_interrupted(s->ctx))
			killed_for = client_context_signal_name(s->ctx);
		else if (killed_for == NULL && g_get_monotonic_time() >= deadline)
			killed_for = "timeout";
		if (killed_for != NULL && pid > 0) {
			g_debug("host step: killing process group %d (%s)", (gint)pid, killed_for);
			/* TERM first; what ignores it gets KILL on the next deadline */
			if (kill(-pid, SIGTERM) < 0)
				g_subprocess_send_signal(proc, SIGTERM);
			deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
			pid = -pid; /* marks "TERM sent" */
		} else if (killed_for != NULL && pid < 0 && g_get_monotonic_time() >= deadline) {
			if (kill(pid, SIGKILL) < 0)
				g_subprocess_force_exit(proc);
			pid = 0;
		}
	}
	g_source_remove(tick);
	json_object_set_int_member(s->step, "duration-us",
				   (gint64)((client_now_ms() - start) * 1000));
	if (g_subprocess_get_if_exited(proc)) {
		gint status = g_subprocess_get_exit_status(proc);

		json_object_set_int_member(s->step, "exit-status", status);
		s->step_ok = status == 0 && killed_for == NULL;
		if (killed_for != NULL) {
			g_autofree gchar *why =
				g_strdup_printf("the command was stopped (%s)", killed_for);

			json_object_set_string_member(s->step, "error", why);
		} else if (status != 0) {
			g_autofree gchar *why =
				g_strdup_printf("the command failed with exit status %d", status);

			json_object_set_string_member(s->step, "error", why);
		}
	} else {
		g_autofree gchar *why = g_strdup_printf("the command was killed by signal %d%s%s%s",
							g_subprocess_get_term_sig(proc),
							killed_for != NULL ? " (" : "",
							killed_for != NULL ? killed_for : "",
							killed_for != NULL ? ")" : "");

		json_object_set_null_member(s->step, "exit-status");
		json_object_set_string_member(s->step, "error", why);
	}
	if (w.error != NULL)
		g_error_free(w.error);
}

/* IMAGE.qgatrace-STAMP.qcow2 beside the image; a previous overlay's own stamp is dropped so
 * that names do not grow with every snapshot, and a name taken gets a counter */
static gchar *
snapshot_overlay_path(const ClientHostDisk *disk, const gchar *stamp)
{
	g_autofree gchar *dir = g_path_get_dirname(disk->file);
	g_autofree gchar *base = g_path_get_basename(disk->file);
	gchar *ours = strstr(base, ".qgatrace-");

	if (ours != NULL)
		*ours = '\0';
	for (guint n = 0;; n++) {
		g_autofree gchar *name = n == 0 ? g_strdup_printf("%s.%s.qcow2", base, stamp)
						: g_strdup_printf("%s.%s-%u.qcow2", base, stamp, n);
		gchar *path = g_build_filename(dir, name, NULL);

		if (!g_file_test(path, G_FILE_TEST_EXISTS) || n >= 1000)
			return path;
		g_free(path);
	}
}

static void
snapshot_run_qmp(Snapshot *s)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree gchar *stamp = g_date_time_format(now, "qgatrace-%Y%m%d-%H%M%S");
	JsonArray *actions = json_array_new();
	JsonArray *overlays = json_array_new();
	gdouble start = client_now_ms();
	ClientQmp *qmp;

	json_object_set_string_member(s->step, "kind", "qmp-snapshot");
	json_object_set_array_member(s->step, "overlays", overlays);
	json_object_set_array_member(args, "actions", actions);
	qmp = client_target_get_qmp(s->target, &error_local);
	if (qmp == NULL || s->host_disks == NULL || s->host_disks->len == 0) {
		json_object_set_string_member(s->step, "error",
					      qmp == NULL ? error_local->message
							  : "QEMU shows no disk to snapshot");
		return;
	}
	for (guint i = 0; i < s->host_disks->len; i++) {
		ClientHostDisk *disk = g_ptr_array_index(s->host_disks, i);
		g_autofree gchar *overlay = NULL;
		JsonObject *action;
		JsonObject *data;
		JsonObject *entry;

		if (disk->file == NULL)
			continue;
		overlay = snapshot_overlay_path(disk, stamp);
		data = json_object_new();
		/* a -drive has a device name; a -blockdev (libvirt) only nodes */
		if (disk->node != NULL && (disk->id == NULL || disk->id[0] == '/'))
			json_object_set_string_member(data, "node-name", disk->node);
		else
			json_object_set_string_member(data, "device", disk->id);
		json_object_set_string_member(data, "snapshot-file", overlay);
		json_object_set_string_member(data, "format", "qcow2");
		if (disk->node != NULL && (disk->id == NULL || disk->id[0] == '/')) {
			g_autofree gchar *node = g_strdup_printf("%s-%u", stamp, i);

			json_object_set_string_member(data, "snapshot-node-name", node);
		}
		action = json_object_new();
		json_object_set_string_member(action, "type", "blockdev-snapshot-sync");
		json_object_set_object_member(action, "data", data);
		json_array_add_object_element(actions, action);
		entry = json_object_new();
		json_object_set_string_member(entry, "disk", disk->id);
		json_object_set_string_member(entry, "image", disk->file);
		json_object_set_string_member(entry, "overlay", overlay);
		json_array_add_object_element(overlays, entry);
	}
	client_context_progress(s->ctx, "QMP transaction: blockdev-snapshot-sync on %u disk(s)...",
				json_array_get_length(actions));
	ret = client_qmp_execute(qmp, "transaction", args, &error_local);
	json_object_set_int_member(s->step, "duration-us",
				   (gint64)((client_now_ms() - start) * 1000));
	if (ret == NULL) {
		json_object_set_string_member(s->step, "error", error_local->message);
		return;
	}
	s->step_ok = json_array_get_length(actions) > 0;
	if (!s->step_ok)
		json_object_set_string_member(s->step, "error",
					      "no disk has an image file to snapshot");
}

static void
snapshot_host_step(Snapshot *s)
{
	s->step = json_object_new();
	if (!s->freeze_ok) {
		json_object_set_string_member(s->step, "kind",
					      s->opts->exec != NULL   ? "exec"
					      : s->opts->qmp_snapshot ? "qmp-snapshot"
								      : "none");
		json_object_set_string_member(s->step, "error", "not run: the freeze failed");
		json_object_set_boolean_member(s->step, "ok", FALSE);
		return;
	}
	if (client_context_interrupted(s->ctx)) {
		json_object_set_string_member(s->step, "kind",
					      s->opts->exec != NULL   ? "exec"
					      : s->opts->qmp_snapshot ? "qmp-snapshot"
								      : "none");
		json_object_set_string_member(s->step, "error", "not run: interrupted");
		json_object_set_boolean_member(s->step, "ok", FALSE);
		return;
	}
	if (s->opts->exec != NULL) {
		snapshot_run_exec(s);
	} else if (s->opts->qmp_snapshot) {
		snapshot_run_qmp(s);
	} else {
		json_object_set_string_member(s->step, "kind", "none");
		s->step_ok = TRUE;
	}
	if (!json_object_has_member(s->step, "error"))
		json_object_set_null_member(s->step, "error");
	json_object_set_boolean_member(s->step, "ok", s->step_ok);
}

/* ---- the thaw, whatever happened ---- */

static gboolean
snapshot_status_is(Snapshot *s, const gchar *want, gboolean *known)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonNode) ret = client_conn_execute(s->conn, "guest-fsfreeze-status", NULL,
						      snapshot_timeout(s), &error_local);

	*known = ret != NULL && JSON_NODE_HOLDS_VALUE(ret) &&
		 json_node_get_value_type(ret) == G_TYPE_STRING;
	return *known && g_strcmp0(json_node_get_string(ret), want) == 0;
}

static void
snapshot_thaw(Snapshot *s)
{
	guint timeout_ms = client_context_timeout_ms(s->ctx, CLIENT_TIMEOUT_FREEZE_MS);
	gint64 deadline =
		g_get_monotonic_time() + (gint64)MAX(timeout_ms, SNAPSHOT_THAW_MIN_MS) * 1000;
	gdouble start = client_now_ms();
	g_autofree gchar *last_error = NULL;
	guint attempts = 0;

	s->thaw = json_object_new();
	client_context_progress(s->ctx, "thawing...");
	s->thaw_sent_ms = start;
	while (!s->thaw_ok && (attempts == 0 || g_get_monotonic_time() < deadline)) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(JsonNode) ret = NULL;
		gboolean known = FALSE;
		gdouble replied_ms;

		if (attempts++ > 0)
			g_usleep(200 * 1000);
		ret = client_conn_execute(s->conn, "guest-fsfreeze-thaw", NULL, timeout_ms,
					  &error_local);
		replied_ms = client_now_ms();
		if (ret == NULL) {
			g_free(last_error);
			last_error = g_strdup(error_local->message);
			/* only a silent channel is worth retrying; an error reply is final */
			s->thaw_unreachable = client_error_is_unreachable(error_local);
			if (!s->thaw_unreachable)
				break;
			continue;
		}
		if (JSON_NODE_HOLDS_VALUE(ret) && json_node_get_value_type(ret) == G_TYPE_INT64)
			json_object_set_int_member(s->thaw, "thawed", json_node_get_int(ret));
		/* the agent's word that nothing stays frozen */
		if (snapshot_status_is(s, "thawed", &known)) {
			s->thaw_ok = TRUE;
			s->thaw_unreachable = FALSE;
			s->thaw_reply_ms = replied_ms;
		} else if (known) {
			g_free(last_error);
			last_error = g_strdup("the agent still reports 'frozen' after the thaw");
		}
	}
	json_object_set_int_member(s->thaw, "duration-us",
				   (gint64)((client_now_ms() - start) * 1000));
	json_object_set_int_member(s->thaw, "attempts", attempts);
	json_object_set_boolean_member(s->thaw, "ok", s->thaw_ok);
	if (!json_object_has_member(s->thaw, "thawed"))
		json_object_set_null_member(s->thaw, "thawed");
	if (s->thaw_ok)
		json_object_set_null_member(s->thaw, "error");
	else
		json_object_set_string_member(s->thaw, "error",
					      last_error != NULL ? last_error : "unknown");
}

/* ---- the trace session ---- */

static void
snapshot_fetch_session(Snapshot *s)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(JsonObject) status = NULL;
	JsonObject *last;
	const gchar *id;

	if (!s->thaw_ok) {
		s->no_session_reason = g_strdup(
			"the guest was not thawed: the trace is collected only after the thaw");
		return;
	}
	status = client_trace_status(s->trace_conn, snapshot_timeout(s), &error_local);
	if (status == NULL) {
		s->no_session_reason =
			g_strdup_printf("cannot read the trace status: %s", error_local->message);
		return;
	}
	last = client_json_object(status, "last-session");
	id = client_json_string(last, "session");
	if (id == NULL || g_strcmp0(id, s->prev_session) == 0) {
		s->no_session_reason =
			g_strdup_printf("the agent recorded no trace session for this freeze%s%s",
					client_json_string(status, "reason") != NULL ? ": " : "",
					client_json_string(status, "reason") != NULL
						? client_json_string(status, "reason")
						: "");
		return;
	}
	client_context_progress(s->ctx, "fetching trace session %s...", id);
	s->session = client_trace_fetch(s->trace_conn, id, snapshot_timeout(s), &error_local);
	if (s->session == NULL)
		s->no_session_reason = g_strdup_printf("cannot fetch trace session '%s': %s", id,
						       error_local->message);
}

/* ---- the host evidence ---- */

static gboolean
snapshot_mount_frozen(Snapshot *s, const gchar *mountpoint)
{
	return s->opts->mounts == NULL ||
	       g_strv_contains((const gchar *const *)s->opts->mounts, mountpoint);
}

/* what the host saw of host disk @i; @quiet becomes FALSE when it saw
 * writes inside the frozen window, or could not tell */
static JsonObject *
snapshot_disk_evidence(Snapshot *s, guint i, gboolean *quiet)
{
	ClientHostDisk *disk = g_ptr_array_index(s->host_disks, i);
	JsonObject *d = json_object_new();
	JsonArray *mounts = json_array_new();
	gboolean all_frozen = TRUE;
	guint n_mounts = 0;
	const gchar *matched_by = NULL;

	json_object_set_string_member(d, "id", disk->id);
	json_object_set_string_member(d, "serial", disk->serial);
	json_object_set_string_member(d, "file", disk->file);
	/* the guest filesystems on this disk: conclusive only when all were frozen */
	for (guint m = 0; s->fs_mounts != NULL && m < s->fs_mounts->len; m++) {
		const gchar *mp = g_ptr_array_index(s->fs_mounts, m);
		const ClientDiskMapEntry *e = client_disk_map_find(s->fs_map, mp, disk);

		if (e == NULL)
			continue;
		if (matched_by == NULL)
			matched_by = e->method;
		json_array_add_string_element(mounts, mp);
		n_mounts++;
		all_frozen &= snapshot_mount_frozen(s, mp);
	}
	json_object_set_array_member(d, "mountpoints", mounts);
	/* how the host tied its filesystems to it: "serial", "pci", "scsi"; null: none */
	json_object_set_string_member(d, "matched-by", matched_by);
	json_object_set_boolean_member(d, "conclusive", n_mounts > 0 && all_frozen && s->freeze_ok);
	if (s->before != NULL)
		json_object_set_object_member(d, "before-freeze",
					      client_write_counters_to_json(&g_array_index(
						      s->before, ClientWriteCounters, i)));
	else
		json_object_set_null_member(d, "before-freeze");
	if (s->frozen != NULL && s->before_thaw != NULL) {
		ClientWriteCounters *a = &g_array_index(s->frozen, ClientWriteCounters, i);
		ClientWriteCounters *b = &g_array_index(s->before_thaw, ClientWriteCounters, i);
		gint64 writes = (gint64)(b->wr_operations - a->wr_operations);

		json_object_set_object_member(d, "frozen", client_write_counters_to_json(a));
		json_object_set_object_member(d, "before-thaw", client_write_counters_to_json(b));
		json_object_set_int_member(d, "writes-in-window", writes);
		json_object_set_int_member(d, "bytes-in-window",
					   (gint64)(b->wr_bytes - a->wr_bytes));
		if (s->before != NULL)
			json_object_set_int_member(
				d, "writes-during-freeze",
				(gint64)(a->wr_operations -
					 g_array_index(s->before, ClientWriteCounters, i)
						 .wr_operations));
		else
			json_object_set_null_member(d, "writes-during-freeze");
		/* a disk of unknown filesystems counts as much as a frozen one */
		if ((n_mounts == 0 || all_frozen) && writes != 0)
			*quiet = FALSE;
	} else {
		json_object_set_null_member(d, "frozen");
		json_object_set_null_member(d, "before-thaw");
		json_object_set_null_member(d, "writes-in-window");
		json_object_set_null_member(d, "bytes-in-window");
		json_object_set_null_member(d, "writes-during-freeze");
		*quiet = FALSE;
	}
	return d;
}

static JsonObject *
snapshot_host_evidence(Snapshot *s)
{
	JsonObject *out;
	JsonArray *disks;
	gboolean quiet = TRUE;

	if (s->host_disks == NULL) {
		if (s->host_error == NULL)
			return NULL;
		out = json_object_new();
		json_object_set_string_member(out, "source", s->host_source);
		json_object_set_string_member(out, "error", s->host_error);
		json_object_set_null_member(out, "quiet");
		json_object_set_array_member(out, "disks", json_array_new());
		return out;
	}
	out = json_object_new();
	disks = json_array_new();
	json_object_set_string_member(out, "source", s->host_source);
	json_object_set_null_member(out, "error");
	for (guint i = 0; i < s->host_disks->len; i++)
		json_array_add_object_element(disks, snapshot_disk_evidence(s, i, &quiet));
	json_object_set_boolean_member(out, "quiet", quiet);
	json_object_set_array_member(out, "disks", disks);
	json_object_set_array_member(out, "unmapped", client_disk_map_unmapped_to_json(s->fs_map));
	return out;
}

/* the host's part: block statistics, run state, the window on its clock */
static void
snapshot_host_items(Snapshot *s, JsonObject *evidence, JsonArray *items)
{
	JsonArray *disks = client_json_array(evidence, "disks");
	const gchar *via = g_strcmp0(s->host_source, "qmp") == 0 ? "QMP query-blockstats"
								 : "libvirt block statistics";
	guint n_disks = disks != NULL ? json_array_get_length(disks) : 0;
	guint n_wrote = 0;
	guint n_unread = 0;
	JsonObject *item;

	for (guint i = 0; i < n_disks; i++) {
		JsonObject *d = client_json_array_object(disks, i);

		if (json_object_get_null_member(d, "writes-in-window"))
			n_unread++;
		else if (client_json_int(d, "writes-in-window", 0) > 0)
			n_wrote++;
	}
	if (evidence == NULL)
		client_verdict_evidence_add(items, "block-statistics", CLIENT_VERDICT_HOST,
					    "not measured (needs --qmp or --domain)");
	else if (client_json_string(evidence, "error") != NULL)
		client_verdict_evidence_add(items, "block-statistics", CLIENT_VERDICT_HOST,
					    "%s: unavailable: %s", via,
					    client_json_string(evidence, "error"));
	else
		client_verdict_evidence_add(
			items, "block-statistics", CLIENT_VERDICT_HOST,
			"%s: %u disk(s), %u with writes inside the frozen window, %u not read", via,
			n_disks, n_wrote, n_unread);
	if (s->run_after_freeze != NULL || s->run_before_thaw != NULL) {
		item = client_verdict_evidence_add(
			items, "run-state", CLIENT_VERDICT_HOST,
			"%s: '%s' after the freeze, '%s' before the thaw",
			s->ctx->qmp_path != NULL ? "QMP query-status" : "libvirt",
			s->run_after_freeze != NULL ? s->run_after_freeze : "?",
			s->run_before_thaw != NULL ? s->run_before_thaw : "?");
		json_object_set_string_member(item, "after-freeze", s->run_after_freeze);
		json_object_set_string_member(item, "before-thaw", s->run_before_thaw);
	} else {
		client_verdict_evidence_add(items, "run-state", CLIENT_VERDICT_HOST,
					    "not measured (%s)",
					    s->run_error != NULL ? s->run_error
					    : s->freeze_ok	 ? "needs --qmp or --domain"
								 : "the freeze failed");
	}
	if (s->freeze_ok && s->thaw_sent_ms > 0) {
		item = client_verdict_evidence_add(
			items, "frozen-window", CLIENT_VERDICT_HOST,
			"%.1f ms from the freeze's reply to the thaw request (host clock)%s",
			s->thaw_sent_ms - s->freeze_reply_ms,
			s->thaw_reply_ms > 0 ? "" : "; the thaw was not confirmed");
		json_object_set_int_member(item, "freeze-reply-to-thaw-us",
					   (gint64)((s->thaw_sent_ms - s->freeze_reply_ms) * 1000));
		if (s->thaw_reply_ms > 0)
			json_object_set_int_member(
				item, "freeze-to-thaw-reply-us",
				(gint64)((s->thaw_reply_ms - s->freeze_sent_ms) * 1000));
		else
			json_object_set_null_member(item, "freeze-to-thaw-reply-us");
	} else {
		client_verdict_evidence_add(items, "frozen-window", CLIENT_VERDICT_HOST,
					    "none (the freeze failed)");
	}
}

/* the guest's part: what a compromised guest kernel or agent can forge */
static void
snapshot_guest_items(Snapshot *s, JsonArray *items)
{
	guint n_tied = 0;

	if (s->session != NULL)
		client_verdict_evidence_add(
			items, "trace", CLIENT_VERDICT_GUEST,
			"session %s: the guest kernel's events, as the agent reports them",
			client_json_string(s->session, "session"));
	else
		client_verdict_evidence_add(items, "trace", CLIENT_VERDICT_GUEST, "none: %s",
					    s->no_session_reason);
	for (guint i = 0; s->fs_mounts != NULL && i < s->fs_mounts->len; i++) {
		const ClientDiskMapEntry *m =
			client_disk_map_lookup(s->fs_map, g_ptr_array_index(s->fs_mounts, i));

		n_tied += m != NULL && m->host != NULL ? 1 : 0;
	}
	if (s->fs_mounts != NULL)
		client_verdict_evidence_add(
			items, "fsinfo", CLIENT_VERDICT_GUEST,
			"%u filesystem(s), %u tied to a host disk by serial or address (which "
			"disk holds which filesystem)",
			s->fs_mounts->len, n_tied);
	else
		client_verdict_evidence_add(items, "fsinfo", CLIENT_VERDICT_GUEST,
					    "none: the agent did not answer guest-get-fsinfo");
	if (s->freeze_ok)
		client_verdict_evidence_add(items, "freeze-count", CLIENT_VERDICT_GUEST,
					    "the agent froze %" G_GINT64_FORMAT " filesystem(s)",
					    client_json_int(s->freeze, "frozen", 0));
	else
		client_verdict_evidence_add(items, "freeze-count", CLIENT_VERDICT_GUEST,
					    "none: the freeze failed");
	if (s->freeze_ok)
		client_verdict_evidence_add(items, "freeze-status", CLIENT_VERDICT_GUEST,
					    "the agent reported '%s' when the host step ended",
					    s->still_frozen ? "frozen" : "not frozen");
}

/* every part of the verdicts with its source; transfer full */
static JsonArray *
snapshot_evidence_items(Snapshot *s, JsonObject *evidence)
{
	JsonArray *items = json_array_new();

	snapshot_host_items(s, evidence, items);
	snapshot_guest_items(s, items);
	return items;
}

/* ---- output ---- */

/* the host's write counters around the frozen window, per disk */
static void
snapshot_print_evidence(JsonObject *evidence)
{
	JsonArray *disks = client_json_array(evidence, "disks");
	g_autofree gchar *failure = client_json_text(evidence, "error", NULL);

	client_print("\nhost evidence (%s):\n",
		     g_strcmp0(client_json_string(evidence, "source"), "qmp") == 0
			     ? "QMP query-blockstats"
			     : "libvirt block statistics");
	if (failure != NULL)
		client_print("  unavailable: %s\n", failure);
	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *d = client_json_array_object(disks, i);
		JsonArray *mounts = client_json_array(d, "mountpoints");
		g_autofree gchar *id = client_json_text(d, "id", "?");

		if (json_object_get_null_member(d, "writes-in-window")) {
			client_print("  disk '%s': counters not read\n", id);
			continue;
		}
		client_print(
			"  disk '%s': %" G_GINT64_FORMAT " write(s) while frozen, %" G_GINT64_FORMAT
			" during the freeze (its flush)%s%s\n",
			id, client_json_int(d, "writes-in-window", 0),
			client_json_int(d, "writes-during-freeze", 0),
			mounts == NULL || json_array_get_length(mounts) == 0
				? "; the guest tied no mountpoint to it: its filesystems are unknown to the host"
			: client_json_bool(d, "conclusive", FALSE)
				? ""
				: "; not conclusive: a filesystem on it was not frozen",
			"");
	}
}

/* the hooks the session saw run, under its line */
static void
snapshot_print_hooks(Snapshot *s)
{
	g_autofree gchar *hooks = client_trace_format_hooks(s->ctx, s->session);

	client_print("%s", hooks);
}

/* the freeze, the host step, the thaw and the trace session, a line each */
static void
snapshot_print_steps(Snapshot *s)
{
	ClientContext *ctx = s->ctx;
	g_autofree gchar *freeze_error = client_json_text(s->freeze, "error", "?");
	g_autofree gchar *step_error = client_json_text(s->step, "error", "?");
	g_autofree gchar *thaw_error = client_json_text(s->thaw, "error", "?");

	client_print("target       %s\n", client_conn_describe(s->conn));
	if (client_json_bool(s->freeze, "ok", FALSE))
		client_print("freeze       %" G_GINT64_FORMAT " filesystem(s) in %.1f ms\n",
			     client_json_int(s->freeze, "frozen", 0),
			     client_json_int(s->freeze, "duration-us", 0) / 1000.0);
	else
		client_print("freeze       %sFAILED%s: %s\n",
			     client_style_on(ctx, CLIENT_STYLE_RED),
			     client_style_off(ctx, CLIENT_STYLE_RED), freeze_error);
	if (g_strcmp0(client_json_string(s->step, "kind"), "none") == 0)
		client_print(
			"host step    none (no --exec, no --qmp-snapshot): a freeze/thaw check only\n");
	else if (client_json_bool(s->step, "ok", FALSE))
		client_print("host step    %s: ok in %.1f ms\n",
			     g_strcmp0(client_json_string(s->step, "kind"), "exec") == 0
				     ? s->opts->exec
				     : "QMP blockdev-snapshot-sync",
			     client_json_int(s->step, "duration-us", 0) / 1000.0);
	else
		client_print("host step    %sFAILED%s: %s\n",
			     client_style_on(ctx, CLIENT_STYLE_RED),
			     client_style_off(ctx, CLIENT_STYLE_RED), step_error);
	{
		JsonArray *overlays = client_json_array(s->step, "overlays");

		for (guint i = 0;
		     s->step_ok && overlays != NULL && i < json_array_get_length(overlays); i++) {
			JsonObject *o = client_json_array_object(overlays, i);
			g_autofree gchar *disk = client_json_text(o, "disk", "?");
			g_autofree gchar *image = client_json_text(o, "image", "?");
			g_autofree gchar *overlay = client_json_text(o, "overlay", "?");

			client_print(
				"             disk '%s': snapshot '%s', new active layer '%s'\n",
				disk, image, overlay);
		}
	}
	if (s->thaw_ok)
		client_print("thaw         %" G_GINT64_FORMAT
			     " filesystem(s) in %.1f ms; the agent reports 'thawed'\n",
			     client_json_int(s->thaw, "thawed", 0),
			     client_json_int(s->thaw, "duration-us", 0) / 1000.0);
	else
		client_print(
			"thaw         %sFAILED%s: %s (the agent's freeze timeout will thaw the guest; "
			"'qgatrace thaw' retries)\n",
			client_style_on(ctx, CLIENT_STYLE_BOLD_RED),
			client_style_off(ctx, CLIENT_STYLE_BOLD_RED), thaw_error);
	if (s->session != NULL) {
		JsonArray *events = client_json_array(s->session, "events");
		g_autofree gchar *id = client_json_text(s->session, "session", "?");
		g_autofree gchar *method = client_json_text(s->session, "method", "?");

		client_print("trace        session %s, method %s, %u event(s), %" G_GINT64_FORMAT
			     " lost\n",
			     id, method, events != NULL ? json_array_get_length(events) : 0,
			     client_json_int(client_json_object(s->session, "lost-events"), "total",
					     0));
		snapshot_print_hooks(s);
	} else {
		g_autofree gchar *reason = client_terminal_escape(s->no_session_reason);

		client_print("trace        none: %s\n", reason);
	}
}

static void
snapshot_print_human(Snapshot *s, JsonObject *doc, gboolean ok)
{
	ClientContext *ctx = s->ctx;
	JsonArray *mountpoints = client_json_array(doc, "mountpoints");
	JsonObject *evidence = client_json_object(doc, "host-evidence");
	guint n_verified = 0;
	guint n = mountpoints != NULL ? json_array_get_length(mountpoints) : 0;
	ClientStyle style = ok ? CLIENT_STYLE_GREEN : CLIENT_STYLE_BOLD_RED;

	snapshot_print_steps(s);
	for (guint i = 0; i < n; i++) {
		JsonObject *mp = client_json_array_object(mountpoints, i);
		g_autofree gchar *text = client_verdict_format(ctx, mp);

		n_verified += client_json_bool(mp, "verified", FALSE) ? 1 : 0;
		client_print("\n%s", text);
	}
	if (evidence != NULL)
		snapshot_print_evidence(evidence);
	{
		g_autofree gchar *sources =
			client_verdict_format_evidence(client_json_array(doc, "evidence"));

		client_print("\n%s", sources);
	}
	client_print("\n%ssnapshot %s%s: ", client_style_on(ctx, style),
		     ok						? "VERIFIED"
		     : client_json_bool(doc, "verified", FALSE) ? "FAILED"
								: "NOT VERIFIED",
		     client_style_off(ctx, style));
	if (ok)
		client_print(
			"%u of %u filesystem(s) frozen and thawed, by the guest kernel's own record\n",
			n_verified, n);
	else if (!s->thaw_ok)
		client_print("the thaw failed: the guest may still be frozen\n");
	else if (client_context_interrupted(ctx))
		client_print("interrupted by %s; the guest was thawed\n",
			     client_context_signal_name(ctx));
	else if (!s->freeze_ok)
		client_print("the freeze failed; the guest was thawed\n");
	else if (!s->step_ok)
		client_print("the host step failed; the guest was thawed%s\n",
			     client_json_bool(doc, "verified", FALSE)
				     ? " (the freeze itself was verified)"
				     : "");
	else
		client_print("%u of %u filesystem(s) verified\n", n_verified, n);
}

static gboolean
snapshot_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	const SnapshotOptions *opts = options;

	if (opts->exec != NULL && opts->qmp_snapshot) {
		client_set_usage_error(error, "--exec and --qmp-snapshot exclude each other");
		return FALSE;
	}
	if (opts->qmp_snapshot && ctx->qmp_path == NULL) {
		client_set_usage_error(
			error, "--qmp-snapshot needs --qmp SOCKET (under libvirt use --exec "
			       "'virsh snapshot-create-as DOMAIN --disk-only --no-metadata')");
		return FALSE;
	}
	if (!(opts->exec_timeout > 0 && opts->exec_timeout <= 24 * 3600)) {
		client_set_usage_error(error, "--exec-timeout wants seconds > 0");
		return FALSE;
	}
	return TRUE;
}

/* ---- the phases ---- */

/* what the verdicts are measured against, read before anything is frozen;
 * FALSE with @error leaves the guest as it was */
static gboolean
snapshot_prepare(Snapshot *s, GError **error)
{
	ClientContext *ctx = s->ctx;
	g_autoptr(JsonNode) status = NULL;
	g_autoptr(JsonObject) trace_status = NULL;
	g_autoptr(GError) error_local = NULL;

	if (client_conn_get_info(s->conn, snapshot_timeout(s), error) == NULL)
		return FALSE;
	/* someone else's freeze is not ours to thaw */
	status = client_conn_execute(s->conn, "guest-fsfreeze-status", NULL, snapshot_timeout(s),
				     error);
	if (status == NULL)
		return FALSE;
	if (JSON_NODE_HOLDS_VALUE(status) &&
	    g_strcmp0(json_node_get_string(status), "frozen") == 0) {
		g_set_error_literal(
			error, G_IO_ERROR, G_IO_ERROR_BUSY,
			"the guest is already frozen (by another client?): nothing was done; "
			"'qgatrace thaw' thaws it");
		return FALSE;
	}
	s->trace_conn = client_target_get_trace_conn(s->target, error);
	if (s->trace_conn == NULL)
		return FALSE;
	trace_status = client_trace_status(s->trace_conn, snapshot_timeout(s), &error_local);
	if (trace_status != NULL)
		s->prev_session = g_strdup(client_json_string(
			client_json_object(trace_status, "last-session"), "session"));
	else
		g_debug("trace status: %s, ignoring", error_local->message);
	g_clear_error(&error_local);
	snapshot_read_fsinfo(s);
	if (ctx->qmp_path != NULL || ctx->domain != NULL) {
		s->host_disks = client_target_host_disks(s->target, &s->host_source, &error_local);
		if (s->host_disks == NULL) {
			/* asked for by name: QMP must work; libvirt's stats are a bonus */
			if (ctx->qmp_path != NULL) {
				g_propagate_error(error, g_steal_pointer(&error_local));
				return FALSE;
			}
			s->host_error = g_strdup(error_local->message);
		} else {
			s->before = snapshot_counters(s);
		}
	}
	s->fs_map = client_disk_map_new(s->fsinfo, s->host_disks);
	if (client_context_interrupted(ctx)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
			    "interrupted by %s before the freeze: nothing was frozen",
			    client_context_signal_name(ctx));
		return FALSE;
	}
	return TRUE;
}

/* freeze, the host step, thaw: no early return, every path goes through the
 * thaw (errors, the host step's timeout and signals are all noted in @s) */
static void
snapshot_frozen_window(Snapshot *s)
{
	snapshot_freeze(s);
	if (s->freeze_ok) {
		s->frozen = snapshot_read_counters(s);
		s->run_after_freeze = snapshot_read_run_state(s);
	}
	snapshot_host_step(s);
	if (s->freeze_ok) {
		gboolean known = FALSE;

		/* the agent's own timeout may have thawed it meanwhile */
		s->still_frozen = snapshot_status_is(s, "frozen", &known);
		json_object_set_boolean_member(s->step, "guest-frozen-at-end", s->still_frozen);
		s->run_before_thaw = snapshot_read_run_state(s);
		if (s->frozen != NULL)
			s->before_thaw = snapshot_read_counters(s);
		if (s->before_thaw == NULL)
			g_clear_pointer(&s->frozen, g_array_unref);
	}
	snapshot_thaw(s);
}

/* the verdict per mountpoint, from the session with the host evidence; transfer full */
static JsonArray *
snapshot_verdicts(Snapshot *s, JsonObject *evidence)
{
	g_auto(GStrv) requested = NULL;
	JsonArray *mountpoints;
	const gchar *why = !s->freeze_ok ? "the freeze failed"
			   : !s->still_frozen
				   ? "the guest was no longer frozen when the host step ended "
				     "(the agent's freeze timeout?)"
				   : NULL;

	if (s->opts->mounts != NULL)
		requested = g_strdupv(s->opts->mounts);
	else if (s->fs_mounts != NULL && s->fs_mounts->len > 0) {
		g_ptr_array_add(s->fs_mounts, NULL);
		requested = g_strdupv((gchar **)s->fs_mounts->pdata);
		g_ptr_array_remove_index(s->fs_mounts, s->fs_mounts->len - 1);
	}
	mountpoints = client_verdict_mountpoints((const gchar *const *)requested, s->session,
						 s->no_session_reason, evidence);
	/* a verdict needs the freeze to have held for the host step */
	for (guint i = 0; why != NULL && i < json_array_get_length(mountpoints); i++) {
		JsonObject *mp = client_json_array_object(mountpoints, i);

		if (client_json_bool(mp, "verified", FALSE)) {
			json_object_set_boolean_member(mp, "verified", FALSE);
			json_object_set_string_member(mp, "reason", why);
		}
	}
	return mountpoints;
}

/* the --json document; @evidence: (transfer full) (nullable) */
static JsonObject *
snapshot_document(Snapshot *s, JsonArray *mountpoints, JsonObject *evidence, gboolean verified,
		  gboolean ok)
{
	ClientContext *ctx = s->ctx;
	JsonObject *doc = json_object_new();

	json_object_set_boolean_member(doc, "verified", verified);
	json_object_set_array_member(doc, "mountpoints", json_array_ref(mountpoints));
	if (s->session != NULL)
		json_object_set_object_member(doc, "trace", json_object_ref(s->session));
	else
		json_object_set_null_member(doc, "trace");
	if (evidence != NULL)
		json_object_set_object_member(doc, "host-evidence", evidence);
	else
		json_object_set_null_member(doc, "host-evidence");
	json_object_set_object_member(doc, "freeze", json_object_ref(s->freeze));
	json_object_set_object_member(doc, "host-step", json_object_ref(s->step));
	json_object_set_object_member(doc, "thaw", json_object_ref(s->thaw));
	if (client_context_interrupted(ctx))
		json_object_set_string_member(doc, "interrupted", client_context_signal_name(ctx));
	else
		json_object_set_null_member(doc, "interrupted");
	if (s->session == NULL)
		json_object_set_string_member(doc, "trace-error", s->no_session_reason);
	json_object_set_array_member(doc, "evidence", snapshot_evidence_items(s, evidence));
	json_object_set_boolean_member(doc, "ok", ok);
	return doc;
}

/* CLIENT_COMMAND_SIGNALS: from before connecting on, a signal is noted and
 * the guest is thawed before we go */
static gboolean
snapshot_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	g_auto(Snapshot) s = {ctx, inv->target, inv->conn, inv->options};
	g_autoptr(JsonObject) doc = NULL;
	g_autoptr(JsonArray) mountpoints = NULL;
	JsonObject *evidence;
	gboolean verified;
	gboolean ok;

	if (!snapshot_prepare(&s, error))
		return FALSE;
	/* ---- frozen from here ---- */
	snapshot_frozen_window(&s);
	/* ---- thawed (or given up on) ---- */
	snapshot_fetch_session(&s);
	evidence = snapshot_host_evidence(&s);
	mountpoints = snapshot_verdicts(&s, evidence);
	verified = client_verdict_all_verified(mountpoints);
	ok = verified && s.step_ok && s.thaw_ok && !client_context_interrupted(ctx);
	doc = snapshot_document(&s, mountpoints, evidence, verified, ok);
	if (ctx->json)
		client_print_json_object(doc, TRUE);
	else
		snapshot_print_human(&s, doc, ok);
	if (!ok)
		client_cli_set_exit(ctx, !s.thaw_ok && s.thaw_unreachable ? CLIENT_EXIT_UNREACHABLE
									  : CLIENT_EXIT_FAILED);
	return TRUE;
}

const ClientCommand client_cmd_snapshot = {
	.name = "snapshot",
	.summary = "freeze, run a host-side snapshot, always thaw, verify from the trace",
	.help = snapshot_summary,
	.help_tail = snapshot_description,
	.options = snapshot_entries,
	.options_size = sizeof(SnapshotOptions),
	.options_defaults = &snapshot_defaults,
	.flags = CLIENT_COMMAND_AGENT | CLIENT_COMMAND_SIGNALS,
	.check = snapshot_check,
	.run = snapshot_run,
};
