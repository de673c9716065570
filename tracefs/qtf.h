/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * qtf: proof from the kernel's own ftrace records that a filesystem was
 * frozen and thawed.
 *
 * A typical session, in the agent:
 *
 *   tracer = qtf_tracer_new(&opts, &error);        at start-up: tracefs, instance, probe
 *   qtf_tracer_arm(tracer, gettid(), &error);      before the freeze hook runs
 *     ...FIFREEZE each mount, recording a QtfIoctl around each call...
 *     ...FITHAW loops, again recorded...
 *   capture = qtf_tracer_collect(tracer, &error);  after thaw: nothing here may run frozen
 *   qtf_tracer_pause(tracer, &error);              after collect: the next arm for the same
 *                                                  thread finds it recording, writes nothing
 *   (or qtf_tracer_disarm(tracer, &error);          after collect: undo it all, 'nop' tracer)
 *   verdicts = qtf_verify(capture, mounts, n, ioctls, m);
 *   qtf_capture_to_json(capture), qtf_verdicts_to_json(verdicts)
 *   qtf_tracer_free(tracer);                        at exit: removes the instance
 *
 * Everything lives in a private ftrace instance (default 'qgatrace'): the
 * top-level buffer and the guest's own tracing are never touched. All
 * calls are synchronous, for one thread at a time, and none of them logs
 * above g_debug. Nothing that
 * reads or parses runs between arm and collect, so nothing of ours can
 * write to a frozen filesystem; tracefs itself is never frozen.
 *
 * Timestamps are CLOCK_MONOTONIC nanoseconds (trace_clock 'mono'), the
 * clock qtf_clock_now_ns() reads, so the agent's own readings around its
 * ioctls compare directly with the kernel's records.
 */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* errors */

#define QTF_ERROR (qtf_error_quark())

typedef enum {
	QTF_ERROR_FAILED,      /* anything else: I/O, parse, an unexpected kernel reply */
	QTF_ERROR_UNAVAILABLE, /* the kernel lacks it: no tracefs, no function tracer, no event */
	QTF_ERROR_REFUSED,     /* the kernel has it but said no: lockdown, an LSM, no privilege */
	QTF_ERROR_UNSAFE,      /* we refused: the function filter read back empty ("trace all") */
	QTF_ERROR_BUSY,	       /* the instance is in use: another process holds it */
} QtfErrorCode;

GQuark qtf_error_quark(void);

/* how events were recorded; the JSON names are in quotes */
typedef enum {
	QTF_METHOD_NONE,     /* "unavailable": nothing recorded */
	QTF_METHOD_FUNCTION, /* "function": the function tracer on freeze_super and friends */
	QTF_METHOD_EVENTS,   /* "events": syscall tracepoints on FIFREEZE/FITHAW (fallback) */
} QtfMethod;

/**
 * qtf_method_to_string:
 * Returns: (transfer none): "unavailable", "function" or "events"
 */
const gchar *qtf_method_to_string(QtfMethod method);

/**
 * qtf_clock_now_ns:
 * CLOCK_MONOTONIC in ns: what the trace clock 'mono' records. Read it
 * just before and just after each FIFREEZE/FITHAW for QtfIoctl.
 */
guint64 qtf_clock_now_ns(void);

/* ---------------------------------------------------------------------------------------- */
/* the tracer: an ftrace instance of our own */

typedef struct _QtfTracer QtfTracer;
typedef struct _QtfCapture QtfCapture;

/*
 * Options; a zeroed struct gives the defaults. The tracer copies what it
 * needs: the caller keeps ownership of every string.
 */
typedef struct {
	/* the instance's name; NULL: "qgatrace". One process per name: a
	 * leftover instance of that name is taken as stale and removed */
	const gchar *instance;
	/* tracefs; NULL: where it is mounted, else mounted (and at free
	 * unmounted again) at /sys/kernel/tracing. Note libtracefs keeps
	 * this process-wide (tracefs_set_tracing_dir) */
	const gchar *tracing_dir;
	/* NULL: "/proc/kallsyms" */
	const gchar *kallsyms;
	/* ring buffer per CPU in KB; 0: QTF_DEFAULT_BUFFER_KB */
	guint buffer_kb;
	/* exact function names (no globs: "thaw_super*" would also catch
	 * thaw_super_locked); NULL: qtf_default_functions(). Names absent
	 * from available_filter_functions are left out when arming */
	const gchar *const *functions;
	/* "system:event" tracepoints recorded alongside, for the device
	 * number of the superblock being synced; NULL: qtf_default_fs_events() */
	const gchar *const *fs_events;
	/* never try the function tracer: go straight to the fallback */
	gboolean events_only;
} QtfOptions;

#define QTF_DEFAULT_INSTANCE  "qgatrace"
#define QTF_DEFAULT_BUFFER_KB 128

/**
 * qtf_default_functions:
 * freeze_super, thaw_super, sync_filesystem, deactivate_locked_super (the
 * tell-tale of a successful thaw and of a failed freeze: see qtf_verify)
 * and the freeze_fs/unfreeze_fs ops of ext4, xfs, btrfs, f2fs, ext2, jfs,
 * nilfs2 and reiserfs.
 * Returns: (transfer none): a NULL-terminated list
 */
const gchar *const *qtf_default_functions(void);

/**
 * qtf_default_fs_events:
 * ext4:ext4_sync_fs and xfs:xfs_fs_sync_fs (both carry the device
 * number), btrfs:btrfs_sync_fs.
 * Returns: (transfer none): a NULL-terminated list
 */
const gchar *const *qtf_default_fs_events(void);

/**
 * qtf_tracer_new:
 * @opts: (nullable): NULL for the defaults
 * Finds (or mounts) tracefs, removes a stale instance of the same name,
 * creates the instance with tracing off and a small buffer, and finds
 * what works by trying it, first the function tracer, then the event
 * fallback: a full arm for the calling thread, one FITHAW on tracefs
 * itself (it can never be frozen, so this always fails harmlessly inside
 * thaw_super), a check that it left an event, and a disarm. Files a
 * security module refuses, and a kernel.ftrace_enabled=0 that refuses
 * nothing and records nothing, are only found that way; available_tracers
 * may list "function" all the same. Costs one arm and disarm (~0.1 s on
 * KVM, ~0.7 s under TCG).
 * Returns: (transfer full): the tracer, disarmed; NULL with @error when
 * neither method works (QTF_ERROR_UNAVAILABLE or _REFUSED, the message
 * giving both reasons)
 */
QtfTracer *qtf_tracer_new(const QtfOptions *opts, GError **error);

/* the method the probe found; arming may still fall back to EVENTS */
QtfMethod qtf_tracer_get_method(QtfTracer *self);

/**
 * qtf_tracer_get_fallback_reason:
 * Returns: (transfer none) (nullable): why the function tracer is not
 * used, or NULL when it is
 */
const gchar *qtf_tracer_get_fallback_reason(QtfTracer *self);

/* Returns: (transfer none): the tracefs root in use */
const gchar *qtf_tracer_get_tracing_dir(QtfTracer *self);

/* Returns: (transfer none): the instance's name */
const gchar *qtf_tracer_get_instance_name(QtfTracer *self);

/**
 * qtf_tracer_arm:
 * @pid: the thread (gettid()) that will issue FIFREEZE/FITHAW; what it
 * forks from now on (the hooks) is followed too
 * Function tracer: tracing off, buffer size, clock 'mono', function
 * filter (read back: empty means every function, so that refuses to
 * arm), function-fork, set_ftrace_pid, the fs events with set_event_pid
 * and event-fork, the 'function' tracer, clear, tracing on. The tracer
 * and the clock both clear the buffer, hence before 'on'.
 * Events fallback (when the probe found no function tracer, or when
 * arming it fails now): set_event_pid, event-fork, sys_enter_ioctl
 * filtered on FIFREEZE/FITHAW, sys_exit_ioctl, the fs events.
 * Re-arming an armed tracer disarms it first. On failure nothing stays
 * armed. The slow steps are the filter (the kernel matches each name
 * against every traceable function; skipped while the filter reads back
 * as armed) and switching to the 'function' tracer (call sites patched).
 * A session paused for the same @pid, still intact, skips everything:
 * it is recording already.
 * Returns: FALSE with @error
 */
gboolean qtf_tracer_arm(QtfTracer *self, GPid pid, GError **error);

/**
 * qtf_tracer_follow_pid:
 * @pid: another task to record, e.g. a process that will fork the hooks
 * but was forked before the arm, so function-fork/event-fork do not follow it
 * After qtf_tracer_arm(): appends @pid to set_ftrace_pid (function
 * tracer) and to set_event_pid (when the arm set it: the events method, or
 * fs events or other events recorded), each read back; what it
 * forks from now on is followed too. Its calls are recorded under its own
 * pid: qtf_verify() only matches the ioctls' thread's. Lasts until the
 * disarm; a paused session so changed arms in full next time.
 * Returns: FALSE with @error (not armed, or the kernel refused)
 */
gboolean qtf_tracer_follow_pid(QtfTracer *self, GPid pid, GError **error);

/* TRUE between a successful arm and the next disarm */
gboolean qtf_tracer_is_armed(QtfTracer *self);

/**
 * qtf_tracer_collect:
 * Turns tracing off, reads the per-CPU loss counters, then builds the
 * event parser (formats, /proc/kallsyms, saved_cmdlines: after the
 * capture, so modules loaded and tasks named meanwhile resolve) and
 * drains the buffer. Reading consumes: a second collect finds nothing
 * new. Costs ~100-200 ms, mostly kallsyms; call it after thaw only.
 * Returns: (transfer full): the capture, or NULL with @error
 */
QtfCapture *qtf_tracer_collect(QtfTracer *self, GError **error);

/**
 * qtf_tracer_pause:
 * After qtf_tracer_collect(): ends a function-tracer session without
 * undoing it. The tracer, filter, pid lists and events stay and tracing is
 * turned on again (which resets the drained buffer and its loss counters),
 * so that the next qtf_tracer_arm() for the same pid, finding all of it as
 * it was left, writes nothing at all: no call sites patched, no buffer
 * reset with its RCU grace period before the freeze (under TCG each of
 * those slows the freeze that follows by tens of ms). Meanwhile the
 * filtered functions are recorded for that pid alone (it calls none of
 * them between freezes), and the pid filters keep their sched_switch and
 * fork probes. An events session (the syscall events slow every task's
 * syscalls) is disarmed instead. Not armed afterwards
 * (qtf_tracer_is_armed()); qtf_tracer_disarm() and qtf_tracer_free() undo
 * a paused session.
 * Returns: FALSE with @error, after disarming
 */
gboolean qtf_tracer_pause(QtfTracer *self, GError **error);

/**
 * qtf_tracer_disarm:
 * Undoes everything arm did: tracing off, 'nop' tracer (tracing_on=0
 * alone keeps the callbacks and their cost), pid lists emptied, fork
 * options off, filter reset, events and their filters off. Every step is
 * tried even when one fails. Disarming a disarmed tracer does nothing.
 * Returns: FALSE with @error (the first failure)
 */
gboolean qtf_tracer_disarm(QtfTracer *self, GError **error);

/**
 * qtf_tracer_free:
 * Disarms, removes the instance, and unmounts tracefs if qtf_tracer_new()
 * mounted it (left mounted when busy). NULL is a no-op.
 */
void qtf_tracer_free(QtfTracer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfTracer, qtf_tracer_free)

/* ---------------------------------------------------------------------------------------- */
/* a capture: what the kernel recorded */

typedef enum {
	QTF_EVENT_FUNCTION,    /* ftrace:function (or ftrace:func_repeats) */
	QTF_EVENT_IOCTL_ENTER, /* syscalls:sys_enter_ioctl */
	QTF_EVENT_IOCTL_EXIT,  /* syscalls:sys_exit_ioctl */
	QTF_EVENT_TRACEPOINT,  /* any other event, e.g. ext4:ext4_sync_fs */
} QtfEventKind;

#define QTF_FIFREEZE 0xc0045877u /* _IOWR('X', 119, int) */
#define QTF_FITHAW   0xc0045878u /* _IOWR('X', 120, int) */

typedef struct {
	QtfEventKind kind;
	guint64 ts_ns; /* trace clock: ns of CLOCK_MONOTONIC with 'mono' */
	gint cpu;
	gint pid;     /* the kernel task id (a thread's tid) */
	gchar *comm;  /* nullable: saved_cmdlines did not know the pid */
	gchar *event; /* "system:name", e.g. "ftrace:function" */
	/* FUNCTION */
	gchar *function; /* nullable: ip did not resolve (kallsyms hidden?) */
	gchar *parent;	 /* nullable: the caller, from parent_ip */
	guint64 ip;
	guint64 parent_ip;
	guint repeats; /* ftrace:func_repeats: further identical calls */
	/* IOCTL_ENTER: the command; IOCTL_EXIT: the return value */
	guint64 cmd;
	gint64 ret;
	/* TRACEPOINT with a "dev" field: the superblock's device */
	gboolean has_dev;
	guint dev_major;
	guint dev_minor;
	/* events the kernel lost on this CPU just before this one:
	 * 0 none, -1 some (count unknown) */
	gint64 lost_before;
} QtfEvent;

/* what the kernel dropped, per CPU, from per_cpu/cpuN/stats and the pages */
typedef struct {
	gint cpu;
	guint64 overrun;	/* oldest events overwritten (overwrite mode) */
	guint64 commit_overrun; /* lost to nested writes filling a page */
	guint64 dropped;	/* newest events refused (no-overwrite mode) */
	gint64 missed;		/* reported by the pages read; -1: a page said "some" without a
	                         * count, or the stats could not be read */
	guint64 read;		/* events we decoded from this CPU */
} QtfCpuLoss;

struct _QtfCapture {
	QtfMethod method;
	gchar *reason; /* nullable: why not METHOD_FUNCTION (or why nothing) */
	gchar *clock;  /* the trace clock, normally "mono" */
	gchar *instance;
	gint pid;	     /* what was armed for */
	gchar **functions;   /* the filter as the kernel read it back (METHOD_FUNCTION) */
	gchar **tracepoints; /* the events that were enabled, "system:name" */
	GPtrArray *events;   /* QtfEvent, oldest first (merged across CPUs by timestamp) */
	GArray *cpus;	     /* QtfCpuLoss */
};

/**
 * qtf_capture_new_unavailable:
 * For a session that could not trace: method "unavailable", no events.
 * Returns: (transfer full)
 */
QtfCapture *qtf_capture_new_unavailable(const gchar *reason);

/**
 * qtf_capture_lost:
 * @unknown: (out) (optional): TRUE when some loss had no count
 * Returns: the events lost over all CPUs: per CPU the larger of what the
 * pages reported and what the counters say (both count the same
 * overwritten events, so they are not added)
 */
guint64 qtf_capture_lost(const QtfCapture *self, gboolean *unknown);

/* TRUE when nothing was lost: absence of an event then means it did not happen */
gboolean qtf_capture_is_complete(const QtfCapture *self);

/**
 * qtf_capture_to_json:
 * {"method", "reason", "clock", "instance", "pid", "functions",
 *  "tracepoints", "complete", "lost-events": {"total", "unknown", "cpus":
 *  [{"cpu", "overrun", "commit-overrun", "dropped", "missed", "read"}]},
 *  "events": [{"ts-ns", "cpu", "pid", "comm", "event", "function",
 *  "parent", "ip", "parent-ip", ...}]}; addresses are "0x..." strings,
 *  an unresolved name is null.
 * Returns: (transfer full)
 */
JsonNode *qtf_capture_to_json(const QtfCapture *self);

/**
 * qtf_capture_new_from_json:
 * The inverse of qtf_capture_to_json(), for recorded sessions and tests.
 * Returns: (transfer full): the capture, or NULL with @error
 */
QtfCapture *qtf_capture_new_from_json(JsonNode *node, GError **error);

void qtf_capture_free(QtfCapture *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfCapture, qtf_capture_free)

/* ---------------------------------------------------------------------------------------- */
/* verification: which mounts the kernel froze and thawed */

/* a mount the agent froze or thawed; the caller owns the strings */
typedef struct {
	const gchar *mountpoint;
	const gchar *fstype; /* nullable: no check of the fs's own ops */
	guint dev_major;     /* 0:0: unknown, no device check */
	guint dev_minor;
} QtfMount;

typedef enum {
	QTF_IOCTL_FREEZE, /* one FIFREEZE */
	QTF_IOCTL_THAW,	  /* one FITHAW loop: FITHAW until it fails, as freezes nest */
} QtfIoctlKind;

/*
 * The agent's account of one call, in the order it made them. With a
 * window (end_ns != 0 on every ioctl) kernel calls are attributed by task
 * and time: a task runs one syscall at a time, so a freeze_super in the
 * task during its FIFREEZE on mount M is M's. Without windows they are
 * attributed by order, per task, which needs the list to match the trace
 * exactly: every FIFREEZE that reached freeze_super (with the function
 * tracer, one refused with EOPNOTSUPP never does; with the events
 * fallback every FIFREEZE shows) and every FITHAW loop; anything left
 * over or out of step makes every verdict unattributable. Prefer windows.
 */
typedef struct {
	QtfIoctlKind kind;
	guint mount;	  /* index into the mounts */
	gint tid;	  /* the calling task; 0: the capture's armed pid */
	guint64 start_ns; /* qtf_clock_now_ns() just before; 0 with end_ns 0: order only */
	guint64 end_ns;	  /* just after (for THAW: after the loop's last FITHAW) */
} QtfIoctl;

typedef struct {
	gchar *mountpoint;
	gboolean verified;	  /* frozen, then thawed, by the kernel's record */
	gboolean frozen;	  /* a successful freeze of this mount was recorded */
	gboolean thawed;	  /* a successful thaw after it was recorded */
	const gchar *attribution; /* "window" or "order" */
	guint64 freeze_ts_ns;	  /* entry of the freeze (freeze_super, or the FIFREEZE syscall) */
	guint64 thaw_ts_ns;	  /* entry of the successful thaw */
	guint64 frozen_ns;	  /* thaw_ts_ns - freeze_ts_ns, when both are known */
	gchar **fs_ops;	   /* the fs's own ops and events seen in its calls, e.g. ext4_freeze */
	gboolean dev_seen; /* a traced sync of this freeze named a device */
	guint dev_major;
	guint dev_minor;
	gchar *reason;	/* nullable: why it is not verified */
	GArray *events; /* guint indexes into the capture's events used as evidence */
} QtfVerdict;

/* a GPtrArray of QtfVerdict, one per mount, in the mounts' order */
typedef GPtrArray QtfVerdicts;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfVerdicts, g_ptr_array_unref)

/**
 * qtf_verify:
 * Decides from recorded kernel events only (never from what the ioctls
 * returned to the agent) whether each mount was frozen and thawed.
 *
 * Function tracer, on Linux 6.1 (fs/super.c):
 *   freeze: freeze_super ran in the task, and within that call
 *     deactivate_locked_super did not (every failure path of freeze_super
 *     after taking its reference drops it that way: EBUSY, sync or
 *     freeze_fs errors). That absence only counts when no CPU may have
 *     lost events during the call: each loss is placed between the
 *     records around it, and one the pages do not place counts as
 *     anywhere. The fs's freeze op (e.g. ext4_freeze) must show when it
 *     was traced and sync_filesystem ran (a read-only superblock freezes
 *     and thaws without either op); a fs op or event of another
 *     filesystem type is a mismatch.
 *   thaw: thaw_super followed, within the same call, by
 *     deactivate_locked_super, which only the success path of
 *     thaw_super_locked reaches (plus the unfreeze op if traced).
 *   device: ext4_sync_fs/xfs_fs_sync_fs during the freeze carry the
 *     superblock's device; a different device than the mount's is a
 *     mismatch. Only then is the superblock itself identified; otherwise
 *     the mount is the one the agent says it passed to the ioctl.
 * Events fallback: sys_enter_ioctl(FIFREEZE/FITHAW) and the matching
 *   sys_exit_ioctl in the same task with ret 0, as recorded by the
 *   kernel: this shows the syscall succeeded, not which functions ran.
 * No events, a method of "unavailable", or no attributable call: not
 * verified, with the reason. Windows need the trace clock 'mono'.
 * Per mount, its first FIFREEZE and the first FITHAW loop after it count.
 * What it cannot prove: that the agent's mount M is the superblock it
 * froze, beyond the device check; what happened in other tasks
 * (kworkers, jbd2) on the task's behalf; that the fs stayed frozen
 * between the two records: a thaw by an untraced task (another
 * process's FITHAW, SysRq-j's emergency thaw) leaves no record here,
 * while the hooks' are traced through function-fork.
 * @ioctls: each one's mount must be < @n_mounts
 * Returns: (transfer full): one verdict per mount
 */
QtfVerdicts *qtf_verify(const QtfCapture *capture, const QtfMount *mounts, guint n_mounts,
			const QtfIoctl *ioctls, guint n_ioctls);

/* TRUE when every verdict is verified (and there is at least one) */
gboolean qtf_verdicts_all_verified(QtfVerdicts *verdicts);

/**
 * qtf_verdicts_to_json:
 * [{"mountpoint", "verified", "frozen", "thawed", "attribution",
 *   "freeze-ts-ns", "thaw-ts-ns", "frozen-ns", "fs-ops", "dev", "reason",
 *   "events"}]; "dev" is "MAJOR:MINOR" or null, absent values are null.
 * Returns: (transfer full)
 */
JsonNode *qtf_verdicts_to_json(QtfVerdicts *verdicts);

/* ---------------------------------------------------------------------------------------- */
/* stalls: the tasks a freeze blocked, from the kernel's records */

/*
 * A second instance of our own ("<name>-stalls"), system-wide, records
 * three kprobe events of the group QTF_STALL_GROUP: freeze_super's entry
 * (the superblock's address and device), percpu_rwsem_wait's entry for a
 * reader (a task that found a superblock's write-freeze semaphore held:
 * it is about to sleep) and __percpu_down_read's return (it holds it
 * now). The events are created once and left defined for the next
 * process (creating them is slow; a defined kprobe costs nothing until
 * an instance enables it). Each session costs one write to tracing_on
 * before the freeze; everything else runs after the thaw.
 */

#define QTF_STALL_GROUP		    "qgatrace"
#define QTF_STALL_DEFAULT_BUFFER_KB 128
/* a semaphore of a superblock lies within the struct (~1.4 KiB on 6.1) */
#define QTF_STALL_SUPER_BLOCK_MAX 4096

typedef struct _QtfStallRecorder QtfStallRecorder;

typedef enum {
	QTF_STALL_RECORD_FREEZE,   /* freeze_super: addr = the superblock, dev = its s_dev */
	QTF_STALL_RECORD_WAIT,	   /* percpu_rwsem_wait, reader: addr = the semaphore */
	QTF_STALL_RECORD_ACQUIRED, /* __percpu_down_read returned */
} QtfStallRecordKind;

typedef struct {
	QtfStallRecordKind kind;
	guint64 ts_ns; /* trace clock 'mono' */
	gint pid;      /* the task (thread) id */
	gchar *comm;   /* nullable */
	guint64 addr;
	guint32 dev; /* the kernel's dev_t: major << 20 | minor */
} QtfStallRecord;

/* what one session recorded: waits of the excluded processes are left out */
typedef struct {
	GArray *records;   /* QtfStallRecord, oldest first */
	gboolean complete; /* no record lost (buffers, counters, kretprobe misses) */
	guint64 end_ns;	   /* when recording stopped: a task still blocked counts to here */
} QtfStallLog;

QtfStallLog *qtf_stall_log_new(void);
/* @comm: (nullable), copied */
void qtf_stall_log_add(QtfStallLog *self, QtfStallRecordKind kind, guint64 ts_ns, gint pid,
		       const gchar *comm, guint64 addr, guint32 dev);
void qtf_stall_log_free(QtfStallLog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfStallLog, qtf_stall_log_free)

/**
 * qtf_stall_recorder_new:
 * @tracing_dir: the tracefs root (qtf_tracer_get_tracing_dir())
 * @instance: the instance's name; a leftover of that name is replaced
 * @buffer_kb: per CPU; 0: QTF_STALL_DEFAULT_BUFFER_KB
 * Defines the kprobe events when missing (one of our names with another
 * definition is replaced) and creates the instance, tracing off.
 * Returns: (transfer full): the recorder, or NULL with @error
 */
QtfStallRecorder *qtf_stall_recorder_new(const gchar *tracing_dir, const gchar *instance,
					 guint buffer_kb, GError **error);

/* before the freeze: one write, tracing on. Returns: FALSE with @error */
gboolean qtf_stall_recorder_start(QtfStallRecorder *self, GError **error);

/**
 * qtf_stall_recorder_collect:
 * @exclude: (array length=n_exclude): processes whose threads are left out
 *   (the agent itself), listed from /proc/PID/task now
 * After the thaw: tracing off, loss counters, drains the buffer.
 * Returns: (transfer full): the log, or NULL with @error
 */
QtfStallLog *qtf_stall_recorder_collect(QtfStallRecorder *self, const GPid *exclude,
					guint n_exclude, GError **error);

/* removes the instance (the kprobe events stay defined); NULL is a no-op */
void qtf_stall_recorder_free(QtfStallRecorder *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfStallRecorder, qtf_stall_recorder_free)

typedef struct {
	gint pid;
	gchar *comm; /* nullable */
	gchar *mountpoint;
	guint64 first_blocked_ns;
	guint64 blocked_ns; /* every wait of the task on that mount, added up */
} QtfStall;

/* a GPtrArray of QtfStall, the longest first */
typedef GPtrArray QtfStalls;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfStalls, g_ptr_array_unref)

/**
 * qtf_stalls_match:
 * Pairs each task's wait with its next acquisition (a task waits on one
 * semaphore at a time), and gives the wait to the superblock frozen in
 * the log whose address is the nearest below the semaphore, within
 * QTF_STALL_SUPER_BLOCK_MAX, whose device is one of @mounts'. A wait not
 * acquired by the log's end lasts until then. One entry per task and
 * mount: the first wait's start, all its waits' time.
 * Returns: (transfer full)
 */
QtfStalls *qtf_stalls_match(const QtfStallLog *log, const QtfMount *mounts, guint n_mounts);

/* [{"pid", "comm", "mountpoint", "first-blocked-ns", "blocked-ns"}]; Returns: (transfer full) */
JsonNode *qtf_stalls_to_json(QtfStalls *stalls);

G_END_DECLS
