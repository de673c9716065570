/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-trace-session.h"
#include "qtf.h"

G_BEGIN_DECLS

/*
 * What the hook knows of the stock qemu-ga that runs it: which process
 * it is, which mounts it would freeze, and, once the kernel recorded
 * it, what it did. qemu-ga tells its hooks nothing but "freeze" or "thaw".
 */

typedef enum {
	HOOK_AGENT_NONE,     /* no agent among the ancestors */
	HOOK_AGENT_QEMU_GA,  /* stock qemu-ga: trace it */
	HOOK_AGENT_QGATRACE, /* qgatrace-agent: it traces its freezes itself */
} HookAgent;

/**
 * hook_find_agent:
 * @proc: the /proc to read (tests: a fixture tree)
 * @pid: where to start: the hook's parent, which may be the dispatcher
 *   shell /etc/qemu/fsfreeze-hook rather than qemu-ga itself
 * @found: (out): the agent's pid, 0 when none
 * @between: (nullable) (element-type GPid): set to the pids walked below
 *   the agent, @pid first (the dispatcher shell); empty when @pid is the agent
 * Walks up the ppid chain in PROC/PID/stat until a comm is "qemu-ga" or
 * "qgatrace-agent" (at most 32 steps, never past pid 1).
 */
HookAgent hook_find_agent(const gchar *proc, GPid pid, GPid *found, GArray *between);

/* Returns: the starttime field of PROC/PID/stat, 0 when unreadable: a pid
 * that comes back with another starttime is another process */
guint64 hook_process_starttime(const gchar *proc, GPid pid);

typedef struct {
	gchar *mountpoint;
	gchar *fstype;
	guint dev_major;
	guint dev_minor;
} HookMount;

void hook_mount_free(HookMount *self);

/**
 * hook_qemu_ga_mounts:
 * @mountinfo: qemu-ga's /proc/PID/mountinfo
 * qemu-ga 7.2's list (qga/commands-posix.c build_fs_mount_list): every
 * mount with a device number (btrfs's from its source), in mount order,
 * repeats included.
 * Returns: (transfer full) (element-type HookMount): or NULL with @error
 */
GPtrArray *hook_qemu_ga_mounts(const gchar *mountinfo, GError **error);

/**
 * hook_qemu_ga_replay:
 * @mounts: (element-type HookMount): hook_qemu_ga_mounts() at freeze time
 * @tid: qemu-ga's pid
 * @thawed: the thaw hook ran, so qemu-ga's thaw loops happened
 * Fills @session (no mounts yet) with what qemu-ga did: it FIFREEZEs in
 * reverse mount order the mounts it was asked for (all by default), then
 * runs a FITHAW loop on every mount in mount order. Which mounts it was
 * asked for only the trace tells: each freeze call's synced device (ext4,
 * xfs) places it; else a call count equal to the mount count means all.
 * The mounts it froze are reported, the others only carry their thaw
 * loops; the ioctls have no windows (attributed by order). When neither
 * tells, every verdict says so.
 */
void hook_qemu_ga_replay(QgaTraceSession *session, GPtrArray *mounts, const QtfCapture *capture,
			 GPid tid, gboolean thawed);

/* the tracepoints hook_qemu_ga_scripts() reads, recorded for qemu-ga, the
 * dispatcher that runs this hook, and their children (event-fork) alongside
 * the fs events */
#define HOOK_EVENT_EXEC "sched:sched_process_exec"
#define HOOK_EVENT_EXIT "sched:sched_process_exit"
/* a dispatcher running more is not a hook set anyone reads */
#define HOOK_SCRIPTS_MAX 256

/**
 * hook_qemu_ga_scripts:
 * @tid: qemu-ga's pid
 * @own: this hook's thaw process, left out; 0 for none
 * Adds to @session's "hooks" every program executed while traced by
 * qemu-ga's children and by the freeze's dispatcher (followed from the
 * arm, qtf_tracer_follow_pid()), in order, from the exec and exit
 * records: on freeze the fsfreeze-hook.d scripts the dispatcher ran after
 * this hook (those before it ran before the arm: not recorded), on thaw
 * the dispatcher /etc/qemu/fsfreeze-hook itself (by its name, still
 * running at collection) and the scripts it ran before this hook, and
 * what all those ran. The freeze's dispatcher was executed before the arm:
 * its exit alone is recorded and not listed. Each gets the name (comm)
 * and the duration from exec to exit; the phase from qemu-ga's first
 * freeze_super (or FIFREEZE) record. The path, exit status, signal and
 * output are not in the records: null.
 */
void hook_qemu_ga_scripts(QgaTraceSession *session, const QtfCapture *capture, GPid tid, GPid own);

G_END_DECLS
