/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "hook-qemu-ga.h"
#include "qga-mounts.h"

#define HOOK_ANCESTORS_MAX 32

/* PROC/PID/stat: "pid (comm) state ppid ... starttime(22nd) ..."; the comm
 * may hold spaces and parentheses, so the fields follow its last ')' */
static gboolean
hook_read_stat(const gchar *proc, GPid pid, gchar **comm, GPid *ppid, guint64 *starttime)
{
	g_autofree gchar *name = g_strdup_printf("%d", (gint)pid);
	g_autofree gchar *path = g_build_filename(proc, name, "stat", NULL);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) fields = NULL;
	const gchar *open_paren;
	const gchar *close_paren;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	open_paren = strchr(text, '(');
	close_paren = strrchr(text, ')');
	if (open_paren == NULL || close_paren == NULL || close_paren < open_paren ||
	    close_paren[1] != ' ')
		return FALSE;
	/* fields[0] is the state (field 3): starttime (22) is fields[19] */
	fields = g_strsplit(close_paren + 2, " ", 21);
	if (g_strv_length(fields) < 20)
		return FALSE;
	if (comm != NULL)
		*comm = g_strndup(open_paren + 1, close_paren - open_paren - 1);
	if (ppid != NULL)
		*ppid = (GPid)g_ascii_strtoll(fields[1], NULL, 10);
	if (starttime != NULL)
		*starttime = g_ascii_strtoull(fields[19], NULL, 10);
	return TRUE;
}

HookAgent
hook_find_agent(const gchar *proc, GPid pid, GPid *found, GArray *between)
{
	*found = 0;
	if (between != NULL)
		g_array_set_size(between, 0);
	for (guint step = 0; step < HOOK_ANCESTORS_MAX && pid > 1; step++) {
		g_autofree gchar *comm = NULL;
		GPid ppid = 0;

		if (!hook_read_stat(proc, pid, &comm, &ppid, NULL))
			return HOOK_AGENT_NONE;
		/* comm is the first 15 bytes of the name: both fit */
		if (g_strcmp0(comm, "qemu-ga") == 0) {
			*found = pid;
			return HOOK_AGENT_QEMU_GA;
		}
		if (g_strcmp0(comm, "qgatrace-agent") == 0) {
			*found = pid;
			return HOOK_AGENT_QGATRACE;
		}
		if (between != NULL)
			g_array_append_val(between, pid);
		pid = ppid;
	}
	return HOOK_AGENT_NONE;
}

guint64
hook_process_starttime(const gchar *proc, GPid pid)
{
	guint64 starttime = 0;

	if (!hook_read_stat(proc, pid, NULL, NULL, &starttime))
		return 0;
	return starttime;
}

void
hook_mount_free(HookMount *self)
{
	if (self == NULL)
		return;
	g_free(self->mountpoint);
	g_free(self->fstype);
	g_free(self);
}

GPtrArray *
hook_qemu_ga_mounts(const gchar *mountinfo, GError **error)
{
	g_autoptr(QgaMountList) all = qga_mount_list_read(mountinfo, error);
	GPtrArray *mounts;

	if (all == NULL)
		return NULL;
	mounts = g_ptr_array_new_with_free_func((GDestroyNotify)hook_mount_free);
	for (guint i = 0; i < all->len; i++) {
		const QgaMount *m = g_ptr_array_index(all, i);
		HookMount *mount;

		/* qga_mount_list_read() gave btrfs its disk's number already */
		if (major(m->devnum) == 0)
			continue;
		mount = g_new0(HookMount, 1);
		mount->mountpoint = g_strdup(m->mountpoint);
		mount->fstype = g_strdup(m->fstype);
		mount->dev_major = major(m->devnum);
		mount->dev_minor = minor(m->devnum);
		g_ptr_array_add(mounts, mount);
	}
	return mounts;
}

/* a freeze call of the task: where it starts, the device it synced */
typedef struct {
	gboolean has_dev;
	guint dev_major;
	guint dev_minor;
} HookFreezeCall;

/* the task's freeze calls, in order, cut as qtf_verify() cuts them: a call
 * runs from its freeze_super (or FIFREEZE syscall) to the task's next one */
static GArray *
hook_freeze_calls(const QtfCapture *capture, GPid tid)
{
	GArray *calls = g_array_new(FALSE, TRUE, sizeof(HookFreezeCall));
	gboolean in_freeze = FALSE;

	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);
		gboolean freeze = FALSE;
		gboolean thaw = FALSE;

		if (ev->pid != tid)
			continue;
		if (ev->kind == QTF_EVENT_FUNCTION && ev->function != NULL) {
			freeze = strcmp(ev->function, "freeze_super") == 0;
			thaw = strcmp(ev->function, "thaw_super") == 0;
		} else if (ev->kind == QTF_EVENT_IOCTL_ENTER) {
			freeze = ev->cmd == QTF_FIFREEZE;
			thaw = !freeze; /* any other ioctl ends the call */
		}
		if (freeze) {
			HookFreezeCall call = {0};

			g_array_append_val(calls, call);
			in_freeze = TRUE;
		} else if (thaw) {
			in_freeze = FALSE;
		} else if (in_freeze && ev->has_dev) {
			HookFreezeCall *call =
				&g_array_index(calls, HookFreezeCall, calls->len - 1);

			if (!call->has_dev) {
				call->has_dev = TRUE;
				call->dev_major = ev->dev_major;
				call->dev_minor = ev->dev_minor;
			}
		}
	}
	return calls;
}

/*
 * Each call's device, in trace order, matched walking the mounts
 * backwards as qemu-ga does. Returns: FALSE when a call has no device or
 * none is left that matches.
 */
static gboolean
hook_place_by_device(GPtrArray *mounts, GArray *calls, guint *placed)
{
	gint cursor = (gint)mounts->len - 1;

	for (guint c = 0; c < calls->len; c++) {
		const HookFreezeCall *call = &g_array_index(calls, HookFreezeCall, c);

		if (!call->has_dev)
			return FALSE;
		for (; cursor >= 0; cursor--) {
			const HookMount *m = g_ptr_array_index(mounts, cursor);

			if (m->dev_major == call->dev_major && m->dev_minor == call->dev_minor)
				break;
		}
		if (cursor < 0)
			return FALSE;
		placed[c] = (guint)cursor--;
	}
	return TRUE;
}

void
hook_qemu_ga_replay(QgaTraceSession *session, GPtrArray *mounts, const QtfCapture *capture,
		    GPid tid, gboolean thawed)
{
	g_autoptr(GArray) calls = hook_freeze_calls(capture, tid);
	g_autofree guint *placed = g_new0(guint, MAX(calls->len, 1));
	g_autofree gboolean *froze = g_new0(gboolean, MAX(mounts->len, 1));
	g_autofree gchar *unknown = NULL;
	gboolean by_device = calls->len > 0 && hook_place_by_device(mounts, calls, placed);

	if (by_device) {
		for (guint c = 0; c < calls->len; c++)
			froze[placed[c]] = TRUE;
		qga_trace_session_add_note(session, "the mounts qemu-ga froze were told by the "
						    "devices its freezes synced");
	} else if (calls->len == 0 || calls->len == mounts->len) {
		/* none recorded says nothing of what it was asked: the
		 * default, all of them, lets the verdicts say what is missing */
		for (guint i = 0; i < mounts->len; i++)
			froze[i] = TRUE;
		qga_trace_session_add_note(session, "taken as a freeze of every mount qemu-ga "
						    "lists");
	} else {
		unknown = g_strdup_printf("cannot tell which of the %u mounts qemu-ga froze: %u "
					  "freeze calls, not all with a device",
					  mounts->len, calls->len);
		for (guint i = 0; i < mounts->len; i++)
			froze[i] = TRUE;
	}
	for (guint i = 0; i < mounts->len; i++) {
		const HookMount *m = g_ptr_array_index(mounts, i);

		qga_trace_session_add_mount(session, m->mountpoint, m->fstype, m->dev_major,
					    m->dev_minor, froze[i]);
	}
	if (unknown != NULL) {
		qga_trace_session_set_unattributable(session, unknown);
		return;
	}
	/* qga/commands-posix.c: FIFREEZE from the last mount to the first */
	if (by_device) {
		for (guint c = 0; c < calls->len; c++)
			qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, placed[c], tid, 0,
						    0);
	} else {
		for (guint i = mounts->len; i > 0; i--)
			qga_trace_session_add_ioctl(session, QTF_IOCTL_FREEZE, i - 1, tid, 0, 0);
	}
	/* then a FITHAW loop on every mount, first to last, frozen or not */
	for (guint i = 0; thawed && i < mounts->len; i++)
		qga_trace_session_add_ioctl(session, QTF_IOCTL_THAW, i, tid, 0, 0);
}

typedef struct {
	gint pid;
	const gchar *comm;
	guint64 exec_ns;
	guint64 exit_ns; /* 0: not seen */
} HookScript;

/* when qemu-ga's first freeze began: its first freeze_super, else its
 * first FIFREEZE; G_MAXUINT64 when neither was recorded */
static guint64
hook_qemu_ga_first_freeze_ns(const QtfCapture *capture, GPid tid)
{
	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);

		if (ev->pid != tid)
			continue;
		if ((ev->kind == QTF_EVENT_FUNCTION &&
		     g_strcmp0(ev->function, "freeze_super") == 0) ||
		    (ev->kind == QTF_EVENT_IOCTL_ENTER && ev->cmd == QTF_FIFREEZE))
			return ev->ts_ns;
	}
	return G_MAXUINT64;
}

void
hook_qemu_ga_scripts(QgaTraceSession *session, const QtfCapture *capture, GPid tid, GPid own)
{
	g_autoptr(GArray) scripts = g_array_new(FALSE, TRUE, sizeof(HookScript));
	/* pid → index + 1 in @scripts of its running program */
	g_autoptr(GHashTable) running = g_hash_table_new(NULL, NULL);
	guint64 first_freeze = hook_qemu_ga_first_freeze_ns(capture, tid);

	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);
		gpointer key = GINT_TO_POINTER(ev->pid);
		guint index = GPOINTER_TO_UINT(g_hash_table_lookup(running, key));

		if (ev->kind != QTF_EVENT_TRACEPOINT || (own > 0 && ev->pid == own))
			continue;
		if (g_strcmp0(ev->event, HOOK_EVENT_EXEC) == 0 && index == 0 &&
		    scripts->len < HOOK_SCRIPTS_MAX) {
			HookScript script = {ev->pid, ev->comm, ev->ts_ns, 0};

			g_array_append_val(scripts, script);
			g_hash_table_insert(running, key, GUINT_TO_POINTER(scripts->len));
		} else if (g_strcmp0(ev->event, HOOK_EVENT_EXIT) == 0 && index > 0) {
			g_array_index(scripts, HookScript, index - 1).exit_ns = ev->ts_ns;
			/* a pid used again is another program */
			g_hash_table_remove(running, key);
		}
	}
	for (guint i = 0; i < scripts->len; i++) {
		const HookScript *script = &g_array_index(scripts, HookScript, i);
		QgaTraceSessionHook hook = {
			.phase = first_freeze == G_MAXUINT64	  ? NULL
				 : script->exec_ns < first_freeze ? "freeze"
								  : "thaw",
			.exit_status = -1,
			.signal = -1,
			.timed_out = -1,
			.duration_ns = script->exit_ns != 0
					       ? (gint64)(script->exit_ns - script->exec_ns)
					       : -1,
			.comm = script->comm,
		};

		qga_trace_session_add_hook(session, &hook);
	}
}
