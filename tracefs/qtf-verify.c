/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "qtf-private.h"

/*
 * Pure logic over a capture: no tracefs, no clock, no I/O.
 *
 * The kernel events are first cut into "calls": per task, a freeze_super
 * or thaw_super entry (function tracer) or a sys_enter_ioctl of
 * FIFREEZE/FITHAW up to its sys_exit_ioctl (events fallback), with the
 * task's later events up to its next call. A task runs one syscall at a
 * time, so everything a task records between the entry of its FIFREEZE
 * and the next one belongs to that FIFREEZE. Calls are then given to the
 * agent's ioctls by task and time window, or by order.
 */

/* the generic VFS functions; anything else traced is a filesystem's op */
static const gchar *const qtf_vfs_functions[] = {
	"freeze_super", "thaw_super", "sync_filesystem", "deactivate_locked_super", NULL,
};

#define QTF_DEACTIVATE "deactivate_locked_super"

/* a filesystem's freeze_fs/unfreeze_fs ops and its event system, as in
 * its super_operations (6.1); ext2 may be served by ext2 or by ext4 */
typedef struct {
	const gchar *fstype;
	const gchar *freeze[3];
	const gchar *unfreeze[3];
	const gchar *system;
} QtfFsOps;

static const QtfFsOps qtf_fs_ops[] = {
	{"ext4", {"ext4_freeze"}, {"ext4_unfreeze"}, "ext4"},
	{"ext3", {"ext4_freeze"}, {"ext4_unfreeze"}, "ext4"},
	{"ext2", {"ext2_freeze", "ext4_freeze"}, {"ext2_unfreeze", "ext4_unfreeze"}, "ext4"},
	{"xfs", {"xfs_fs_freeze"}, {"xfs_fs_unfreeze"}, "xfs"},
	{"btrfs", {"btrfs_freeze"}, {"btrfs_unfreeze"}, "btrfs"},
	{"f2fs", {"f2fs_freeze"}, {"f2fs_unfreeze"}, "f2fs"},
	{"jfs", {"jfs_freeze"}, {"jfs_unfreeze"}, "jfs"},
	{"nilfs2", {"nilfs_freeze"}, {"nilfs_unfreeze"}, "nilfs2"},
	{"reiserfs", {"reiserfs_freeze"}, {"reiserfs_unfreeze"}, "reiserfs"},
};

static const QtfFsOps *
qtf_fs_ops_find(const gchar *fstype)
{
	for (guint i = 0; fstype != NULL && i < G_N_ELEMENTS(qtf_fs_ops); i++) {
		if (strcmp(qtf_fs_ops[i].fstype, fstype) == 0)
			return &qtf_fs_ops[i];
	}
	return NULL;
}

static gboolean
qtf_in(const gchar *const *list, const gchar *name)
{
	for (guint i = 0; list[i] != NULL; i++) {
		if (strcmp(list[i], name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* an op or event of some filesystem we know, but not of @ops */
static gboolean
qtf_fs_op_is_foreign(const QtfFsOps *ops, const gchar *op)
{
	const gchar *colon = strchr(op, ':');

	if (colon != NULL) {
		g_autofree gchar *system = g_strndup(op, colon - op);
		gboolean known = FALSE;

		for (guint i = 0; i < G_N_ELEMENTS(qtf_fs_ops); i++)
			known |= strcmp(qtf_fs_ops[i].system, system) == 0;
		return known && strcmp(ops->system, system) != 0;
	}
	if (qtf_in(ops->freeze, op) || qtf_in(ops->unfreeze, op))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(qtf_fs_ops); i++) {
		if (qtf_in(qtf_fs_ops[i].freeze, op) || qtf_in(qtf_fs_ops[i].unfreeze, op))
			return TRUE;
	}
	return FALSE;
}

/* the op the capture could have shown for @ops: traced and on the list */
static const gchar *
qtf_fs_op_expected(const gchar *const *ops, gchar **traced)
{
	for (guint i = 0; ops[i] != NULL; i++) {
		if (traced != NULL && g_strv_contains((const gchar *const *)traced, ops[i]))
			return ops[i];
	}
	return NULL;
}

/* ---- calls ---- */

typedef struct {
	QtfIoctlKind kind;
	gint tid;
	guint64 ts_ns;
	guint64 end_ns;	 /* the task's next call, or its syscall exit; G_MAXUINT64: open */
	GArray *members; /* guint event indexes, the opening one first */
} QtfCall;

static void
qtf_call_free(QtfCall *call)
{
	g_array_unref(call->members);
	g_free(call);
}

static QtfCall *
qtf_call_new(QtfIoctlKind kind, const QtfEvent *ev, guint index)
{
	QtfCall *call = g_new0(QtfCall, 1);

	call->kind = kind;
	call->tid = ev->pid;
	call->ts_ns = ev->ts_ns;
	call->end_ns = G_MAXUINT64;
	call->members = g_array_new(FALSE, FALSE, sizeof(guint));
	g_array_append_val(call->members, index);
	return call;
}

static GPtrArray *
qtf_calls_from_functions(const QtfCapture *capture)
{
	g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func((GDestroyNotify)qtf_call_free);
	g_autoptr(GHashTable) open = g_hash_table_new(NULL, NULL);

	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);
		gpointer tid = GINT_TO_POINTER(ev->pid);
		QtfCall *call;

		if (ev->kind == QTF_EVENT_FUNCTION && ev->function != NULL &&
		    (strcmp(ev->function, "freeze_super") == 0 ||
		     strcmp(ev->function, "thaw_super") == 0)) {
			call = g_hash_table_lookup(open, tid);
			if (call != NULL)
				call->end_ns = ev->ts_ns;
			call = qtf_call_new(
				ev->function[0] == 'f' ? QTF_IOCTL_FREEZE : QTF_IOCTL_THAW, ev, i);
			g_ptr_array_add(calls, call);
			g_hash_table_insert(open, tid, call);
			continue;
		}
		call = g_hash_table_lookup(open, tid);
		if (call != NULL &&
		    (ev->kind == QTF_EVENT_FUNCTION || ev->kind == QTF_EVENT_TRACEPOINT))
			g_array_append_val(call->members, i);
	}
	return g_steal_pointer(&calls);
}

static GPtrArray *
qtf_calls_from_syscalls(const QtfCapture *capture)
{
	g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func((GDestroyNotify)qtf_call_free);
	g_autoptr(GHashTable) open = g_hash_table_new(NULL, NULL);

	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);
		gpointer tid = GINT_TO_POINTER(ev->pid);
		QtfCall *call = g_hash_table_lookup(open, tid);

		switch (ev->kind) {
		case QTF_EVENT_IOCTL_ENTER:
			g_hash_table_remove(open, tid);
			if (ev->cmd != QTF_FIFREEZE && ev->cmd != QTF_FITHAW)
				break;
			call = qtf_call_new(
				ev->cmd == QTF_FIFREEZE ? QTF_IOCTL_FREEZE : QTF_IOCTL_THAW, ev, i);
			g_ptr_array_add(calls, call);
			g_hash_table_insert(open, tid, call);
			break;
		case QTF_EVENT_IOCTL_EXIT:
			/* the task's next syscall exit is this one's */
			if (call != NULL) {
				g_array_append_val(call->members, i);
				call->end_ns = ev->ts_ns;
				g_hash_table_remove(open, tid);
			}
			break;
		case QTF_EVENT_TRACEPOINT:
			if (call != NULL)
				g_array_append_val(call->members, i);
			break;
		case QTF_EVENT_FUNCTION:
		default:
			break;
		}
	}
	return g_steal_pointer(&calls);
}

/* ---- where events may be missing ---- */

/*
 * Each record that follows a loss bounds it: the lost events of that CPU
 * fell between the CPU's previous record (or the start) and it. A loss
 * the pages do not place (counters above what they reported, unreadable
 * stats) could be anywhere; events dropped because the buffer was full
 * (no-overwrite mode) are the newest, after the CPU's last record.
 */
typedef struct {
	gboolean everywhere;
	GArray *spans; /* pairs of guint64: from, to */
} QtfLosses;

static void
qtf_losses_clear(QtfLosses *losses)
{
	g_clear_pointer(&losses->spans, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QtfLosses, qtf_losses_clear)

static void
qtf_losses_add(QtfLosses *losses, guint64 from, guint64 to)
{
	guint64 span[2] = {from, to};

	g_array_append_vals(losses->spans, span, 2);
}

typedef struct {
	guint64 last; /* the CPU's previous record */
	gboolean any;
	guint64 placed; /* what its pages counted */
	gboolean placed_unknown;
} QtfCpuScan;

static void
qtf_losses_init(QtfLosses *losses, const QtfCapture *capture)
{
	g_autoptr(GHashTable) scans = g_hash_table_new_full(NULL, NULL, NULL, g_free);

	losses->spans = g_array_new(FALSE, FALSE, sizeof(guint64));
	for (guint i = 0; i < capture->events->len; i++) {
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);
		QtfCpuScan *scan = g_hash_table_lookup(scans, GINT_TO_POINTER(ev->cpu));

		if (scan == NULL) {
			scan = g_new0(QtfCpuScan, 1);
			g_hash_table_insert(scans, GINT_TO_POINTER(ev->cpu), scan);
		}
		if (ev->lost_before != 0) {
			qtf_losses_add(losses, scan->any ? scan->last : 0, ev->ts_ns);
			if (ev->lost_before < 0)
				scan->placed_unknown = TRUE;
			else
				scan->placed += (guint64)ev->lost_before;
		}
		scan->last = ev->ts_ns;
		scan->any = TRUE;
	}
	for (guint c = 0; c < capture->cpus->len; c++) {
		const QtfCpuLoss *loss = &g_array_index(capture->cpus, QtfCpuLoss, c);
		QtfCpuScan none = {0};
		QtfCpuScan *scan = g_hash_table_lookup(scans, GINT_TO_POINTER(loss->cpu));

		if (scan == NULL)
			scan = &none;
		if (!scan->placed_unknown &&
		    (loss->missed < 0 || loss->overrun + loss->commit_overrun > scan->placed))
			losses->everywhere = TRUE;
		if (loss->dropped > 0) {
			if (scan->any)
				qtf_losses_add(losses, scan->last, G_MAXUINT64);
			else
				losses->everywhere = TRUE;
		}
	}
}

/* could an event between @from and @to be missing? */
static gboolean
qtf_losses_overlap(const QtfLosses *losses, guint64 from, guint64 to)
{
	if (losses->everywhere)
		return TRUE;
	for (guint i = 0; i + 1 < losses->spans->len; i += 2) {
		if (g_array_index(losses->spans, guint64, i) <= to &&
		    g_array_index(losses->spans, guint64, i + 1) >= from)
			return TRUE;
	}
	return FALSE;
}

/* what a call shows, counting only its events up to @limit_ns */
typedef struct {
	gboolean success;  /* it did what it was for */
	gboolean synced;   /* sync_filesystem ran within it */
	gchar *why;	   /* when not: failed, or cannot tell */
	GPtrArray *fs_ops; /* names (borrowed from the events) */
	gboolean has_dev;
	gboolean dev_conflict;
	guint dev_major;
	guint dev_minor;
	GArray *used; /* guint event indexes */
} QtfCallFacts;

static void
qtf_call_facts_clear(QtfCallFacts *facts)
{
	g_clear_pointer(&facts->why, g_free);
	g_clear_pointer(&facts->fs_ops, g_ptr_array_unref);
	g_clear_pointer(&facts->used, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QtfCallFacts, qtf_call_facts_clear)

static void
qtf_add_unique(GPtrArray *names, const gchar *name)
{
	for (guint i = 0; i < names->len; i++) {
		if (strcmp(g_ptr_array_index(names, i), name) == 0)
			return;
	}
	g_ptr_array_add(names, (gpointer)name);
}

static void
qtf_call_assess(const QtfCapture *capture, const QtfLosses *losses, const QtfCall *call,
		guint64 limit_ns, QtfCallFacts *facts)
{
	gboolean deactivate = FALSE;
	gboolean have_exit = FALSE;
	gint64 ret = 0;

	facts->fs_ops = g_ptr_array_new();
	facts->used = g_array_new(FALSE, FALSE, sizeof(guint));
	for (guint m = 0; m < call->members->len; m++) {
		guint i = g_array_index(call->members, guint, m);
		const QtfEvent *ev = g_ptr_array_index(capture->events, i);

		if (ev->ts_ns > limit_ns)
			break;
		g_array_append_val(facts->used, i);
		if (ev->kind == QTF_EVENT_FUNCTION && ev->function != NULL) {
			if (strcmp(ev->function, QTF_DEACTIVATE) == 0)
				deactivate = TRUE;
			else if (strcmp(ev->function, "sync_filesystem") == 0)
				facts->synced = TRUE;
			else if (!qtf_in(qtf_vfs_functions, ev->function))
				qtf_add_unique(facts->fs_ops, ev->function);
		} else if (ev->kind == QTF_EVENT_TRACEPOINT) {
			qtf_add_unique(facts->fs_ops, ev->event);
		} else if (ev->kind == QTF_EVENT_IOCTL_EXIT) {
			have_exit = TRUE;
			ret = ev->ret;
		}
		if (ev->has_dev) {
			if (facts->has_dev && (facts->dev_major != ev->dev_major ||
					       facts->dev_minor != ev->dev_minor))
				facts->dev_conflict = TRUE;
			facts->has_dev = TRUE;
			facts->dev_major = ev->dev_major;
			facts->dev_minor = ev->dev_minor;
		}
	}

	if (capture->method == QTF_METHOD_EVENTS) {
		/* sys_exit_ioctl has no cmd: the task's next exit is taken as
		 * this one's, which only holds if none of its records was lost */
		if (!have_exit)
			facts->why = g_strdup("its sys_exit_ioctl was not recorded");
		else if (ret != 0)
			facts->why = g_strdup_printf("the kernel returned %" G_GINT64_FORMAT, ret);
		else if (qtf_losses_overlap(losses, call->ts_ns, call->end_ns))
			facts->why = g_strdup("events were lost meanwhile: its sys_exit_ioctl "
					      "may be another's");
		else
			facts->success = TRUE;
		return;
	}
	/* 6.1 fs/super.c: thaw_super_locked() drops freeze_super()'s
	 * reference on success only; freeze_super() drops it on failure only */
	if (call->kind == QTF_IOCTL_THAW) {
		facts->success = deactivate;
		if (!deactivate)
			facts->why = g_strdup("no " QTF_DEACTIVATE " within it: the thaw did not "
					      "happen (or was not seen)");
		return;
	}
	if (deactivate) {
		facts->why = g_strdup("freeze_super failed: " QTF_DEACTIVATE " ran within it");
	} else if (capture->functions == NULL ||
		   !g_strv_contains((const gchar *const *)capture->functions, QTF_DEACTIVATE)) {
		facts->why = g_strdup(QTF_DEACTIVATE " was not traced: a failed freeze cannot be "
						     "told from a good one");
	} else if (qtf_losses_overlap(losses, call->ts_ns, MIN(call->end_ns, limit_ns))) {
		facts->why = g_strdup("events were lost meanwhile: a failed freeze cannot be "
				      "ruled out");
	} else {
		facts->success = TRUE;
	}
}

/* ---- attribution ---- */

/* for each ioctl: its calls (borrowed), the event time limit that applies */
typedef struct {
	GPtrArray *calls;
	guint64 limit_ns;
} QtfAssigned;

static gboolean
qtf_ioctls_have_windows(const QtfIoctl *ioctls, guint n_ioctls)
{
	for (guint k = 0; k < n_ioctls; k++) {
		if (ioctls[k].end_ns == 0 || ioctls[k].end_ns < ioctls[k].start_ns)
			return FALSE;
	}
	return n_ioctls > 0;
}

static gint
qtf_ioctl_tid(const QtfCapture *capture, const QtfIoctl *ioctl)
{
	return ioctl->tid != 0 ? ioctl->tid : capture->pid;
}

static void
qtf_assign_by_window(const QtfCapture *capture, GPtrArray *calls, const QtfIoctl *ioctls,
		     guint n_ioctls, QtfAssigned *assigned)
{
	for (guint k = 0; k < n_ioctls; k++) {
		gint tid = qtf_ioctl_tid(capture, &ioctls[k]);

		assigned[k].limit_ns = ioctls[k].end_ns;
		for (guint c = 0; c < calls->len; c++) {
			QtfCall *call = g_ptr_array_index(calls, c);
			if (call->tid == tid && call->kind == ioctls[k].kind &&
			    call->ts_ns >= ioctls[k].start_ns && call->ts_ns <= ioctls[k].end_ns)
				g_ptr_array_add(assigned[k].calls, call);
		}
	}
}

/* Returns: NULL, or why the ioctls and the calls do not line up */
static gchar *
qtf_assign_by_order(const QtfCapture *capture, const QtfLosses *losses, GPtrArray *calls,
		    const QtfIoctl *ioctls, guint n_ioctls, QtfAssigned *assigned)
{
	g_autoptr(GHashTable) cursor = g_hash_table_new(NULL, NULL); /* tid -> next call + 1 */
	g_autoptr(GHashTable) tids = g_hash_table_new(NULL, NULL);

	for (guint k = 0; k < n_ioctls; k++) {
		gint tid = qtf_ioctl_tid(capture, &ioctls[k]);
		guint c = GPOINTER_TO_UINT(g_hash_table_lookup(cursor, GINT_TO_POINTER(tid)));
		guint taken = 0;

		g_hash_table_add(tids, GINT_TO_POINTER(tid));
		assigned[k].limit_ns = G_MAXUINT64;
		for (; c < calls->len; c++) {
			QtfCall *call = g_ptr_array_index(calls, c);
			g_auto(QtfCallFacts) facts = {0};

			if (call->tid != tid)
				continue;
			if (call->kind != ioctls[k].kind ||
			    (ioctls[k].kind == QTF_IOCTL_FREEZE && taken > 0))
				break;
			g_ptr_array_add(assigned[k].calls, call);
			taken++;
			if (ioctls[k].kind == QTF_IOCTL_FREEZE)
				continue;
			/* a FITHAW loop ends with the call that failed */
			qtf_call_assess(capture, losses, call, G_MAXUINT64, &facts);
			if (!facts.success) {
				c++;
				break;
			}
		}
		g_hash_table_insert(cursor, GINT_TO_POINTER(tid), GUINT_TO_POINTER(c));
		if (taken == 0)
			return g_strdup_printf(
				"ioctl %u (%s of mount %u) has no matching %s call of "
				"task %d",
				k, ioctls[k].kind == QTF_IOCTL_FREEZE ? "FIFREEZE" : "FITHAW",
				ioctls[k].mount,
				ioctls[k].kind == QTF_IOCTL_FREEZE ? "freeze" : "thaw", tid);
	}
	/* left over: the agent's list is not the whole story */
	for (guint c = 0; c < calls->len; c++) {
		QtfCall *call = g_ptr_array_index(calls, c);
		guint next =
			GPOINTER_TO_UINT(g_hash_table_lookup(cursor, GINT_TO_POINTER(call->tid)));

		if (g_hash_table_contains(tids, GINT_TO_POINTER(call->tid)) && c >= next)
			return g_strdup_printf("task %d made more freeze/thaw calls than reported",
					       call->tid);
	}
	return NULL;
}

/* ---- verdicts ---- */

static void
qtf_verdict_free(QtfVerdict *self)
{
	g_free(self->mountpoint);
	g_strfreev(self->fs_ops);
	g_free(self->reason);
	if (self->events != NULL)
		g_array_unref(self->events);
	g_free(self);
}

static void qtf_verdict_fail(QtfVerdict *v, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
qtf_verdict_fail(QtfVerdict *v, const gchar *format, ...)
{
	va_list args;

	if (v->reason != NULL)
		return; /* the first reason is the one that matters */
	va_start(args, format);
	v->reason = g_strdup_vprintf(format, args);
	va_end(args);
}

static void
qtf_verdict_add_facts(QtfVerdict *v, GPtrArray *ops, const QtfCallFacts *facts)
{
	for (guint i = 0; i < facts->fs_ops->len; i++)
		qtf_add_unique(ops, g_ptr_array_index(facts->fs_ops, i));
	g_array_append_vals(v->events, facts->used->data, facts->used->len);
}

/*
 * The freeze of @mount; @froze_fs: its freeze op was seen, so its thaw
 * must show the unfreeze op.
 * Returns: the index of its FIFREEZE, or -1
 */
static gint
qtf_verdict_freeze(QtfVerdict *v, const QtfCapture *capture, const QtfLosses *losses,
		   const QtfMount *mount, guint index, const QtfIoctl *ioctls, guint n_ioctls,
		   QtfAssigned *assigned, GPtrArray *ops, gboolean *froze_fs)
{
	const gboolean syscalls = capture->method == QTF_METHOD_EVENTS;
	const QtfFsOps *fs = qtf_fs_ops_find(mount->fstype);
	g_auto(QtfCallFacts) facts = {0};
	QtfCall *call;
	gint k;

	for (k = 0; k < (gint)n_ioctls; k++) {
		if (ioctls[k].mount == index && ioctls[k].kind == QTF_IOCTL_FREEZE)
			break;
	}
	if (k == (gint)n_ioctls) {
		qtf_verdict_fail(v, "the agent reported no FIFREEZE of it");
		return -1;
	}
	if (assigned[k].calls->len == 0) {
		qtf_verdict_fail(v, "no %s recorded for its FIFREEZE",
				 syscalls ? "FIFREEZE syscall" : "freeze_super");
		return k;
	}
	if (assigned[k].calls->len > 1) {
		qtf_verdict_fail(v, "%u freeze calls recorded for one FIFREEZE",
				 assigned[k].calls->len);
		return k;
	}
	call = g_ptr_array_index(assigned[k].calls, 0);
	qtf_call_assess(capture, losses, call, assigned[k].limit_ns, &facts);
	qtf_verdict_add_facts(v, ops, &facts);
	v->freeze_ts_ns = call->ts_ns;
	if (facts.has_dev) {
		v->dev_seen = TRUE;
		v->dev_major = facts.dev_major;
		v->dev_minor = facts.dev_minor;
	}
	if (!facts.success) {
		qtf_verdict_fail(v, "freeze: %s", facts.why);
		return k;
	}
	if (facts.dev_conflict) {
		qtf_verdict_fail(v, "freeze: more than one device synced within it");
		return k;
	}
	if (facts.has_dev && (mount->dev_major != 0 || mount->dev_minor != 0) &&
	    (facts.dev_major != mount->dev_major || facts.dev_minor != mount->dev_minor)) {
		qtf_verdict_fail(v, "freeze: the kernel synced device %u:%u, the mount is %u:%u",
				 facts.dev_major, facts.dev_minor, mount->dev_major,
				 mount->dev_minor);
		return k;
	}
	if (fs != NULL && !syscalls) {
		const gchar *expected = qtf_fs_op_expected(fs->freeze, capture->functions);
		gboolean sync_traced = capture->functions != NULL &&
				       g_strv_contains((const gchar *const *)capture->functions,
						       "sync_filesystem");

		/* a read-only superblock freezes without sync_filesystem and
		 * without its freeze_fs; it thaws without unfreeze_fs */
		if (sync_traced && !facts.synced)
			expected = NULL;
		for (guint i = 0; i < facts.fs_ops->len; i++) {
			const gchar *op = g_ptr_array_index(facts.fs_ops, i);
			if (qtf_fs_op_is_foreign(fs, op)) {
				qtf_verdict_fail(v, "freeze: %s recorded for a %s mount", op,
						 mount->fstype);
				return k;
			}
		}
		if (expected != NULL &&
		    !g_ptr_array_find_with_equal_func(facts.fs_ops, expected, g_str_equal, NULL)) {
			qtf_verdict_fail(v, "freeze: %s was traced but not recorded", expected);
			return k;
		}
		*froze_fs = expected != NULL;
	}
	v->frozen = TRUE;
	return k;
}

static void
qtf_verdict_thaw(QtfVerdict *v, const QtfCapture *capture, const QtfLosses *losses,
		 const QtfMount *mount, guint index, gint after, const QtfIoctl *ioctls,
		 guint n_ioctls, QtfAssigned *assigned, GPtrArray *ops, gboolean froze_fs)
{
	const gboolean syscalls = capture->method == QTF_METHOD_EVENTS;
	const QtfFsOps *fs = qtf_fs_ops_find(mount->fstype);
	const gchar *expected = fs != NULL && !syscalls && froze_fs
					? qtf_fs_op_expected(fs->unfreeze, capture->functions)
					: NULL;
	g_autofree gchar *why = NULL;
	guint k;

	for (k = (guint)after + 1; k < n_ioctls; k++) {
		if (ioctls[k].mount == index && ioctls[k].kind == QTF_IOCTL_THAW)
			break;
	}
	if (k == n_ioctls) {
		qtf_verdict_fail(v, "the agent reported no FITHAW of it after the freeze");
		return;
	}
	if (assigned[k].calls->len == 0) {
		qtf_verdict_fail(v, "no %s recorded for its FITHAW",
				 syscalls ? "FITHAW syscall" : "thaw_super");
		return;
	}
	for (guint c = 0; c < assigned[k].calls->len; c++) {
		QtfCall *call = g_ptr_array_index(assigned[k].calls, c);
		g_auto(QtfCallFacts) facts = {0};

		qtf_call_assess(capture, losses, call, assigned[k].limit_ns, &facts);
		qtf_verdict_add_facts(v, ops, &facts);
		if (v->thawed)
			continue; /* the loop's later, failing FITHAW: evidence only */
		if (!facts.success) {
			if (why == NULL)
				why = g_steal_pointer(&facts.why);
			continue;
		}
		if (expected != NULL &&
		    !g_ptr_array_find_with_equal_func(facts.fs_ops, expected, g_str_equal, NULL)) {
			if (why == NULL)
				why = g_strdup_printf("%s was traced but not recorded", expected);
			continue;
		}
		if (call->ts_ns < v->freeze_ts_ns) {
			if (why == NULL)
				why = g_strdup("the thaw was recorded before the freeze");
			continue;
		}
		v->thawed = TRUE;
		v->thaw_ts_ns = call->ts_ns;
	}
	if (!v->thawed)
		qtf_verdict_fail(v, "thaw: %s", why != NULL ? why : "no successful thaw recorded");
}

static QtfVerdict *
qtf_verdict_new(const QtfMount *mount)
{
	QtfVerdict *v = g_new0(QtfVerdict, 1);

	v->mountpoint = g_strdup(mount->mountpoint);
	v->events = g_array_new(FALSE, FALSE, sizeof(guint));
	v->fs_ops = g_new0(gchar *, 1);
	return v;
}

static gint
qtf_guint_cmp(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;

	return x < y ? -1 : x > y;
}

static void
qtf_verdict_finish(QtfVerdict *v, GPtrArray *ops, const gchar *attribution)
{
	g_autoptr(GArray) unique = g_array_new(FALSE, FALSE, sizeof(guint));

	v->attribution = attribution;
	v->verified = v->frozen && v->thawed && v->reason == NULL;
	if (v->frozen && v->thawed)
		v->frozen_ns = v->thaw_ts_ns - v->freeze_ts_ns;
	g_ptr_array_add(ops, NULL);
	g_strfreev(v->fs_ops);
	v->fs_ops = g_strdupv((gchar **)ops->pdata);
	/* each event once, in capture order */
	g_array_sort(v->events, qtf_guint_cmp);
	for (guint i = 0; i < v->events->len; i++) {
		guint e = g_array_index(v->events, guint, i);
		if (unique->len == 0 || g_array_index(unique, guint, unique->len - 1) != e)
			g_array_append_val(unique, e);
	}
	g_array_set_size(v->events, 0);
	g_array_append_vals(v->events, unique->data, unique->len);
}

QtfVerdicts *
qtf_verify(const QtfCapture *capture, const QtfMount *mounts, guint n_mounts,
	   const QtfIoctl *ioctls, guint n_ioctls)
{
	g_autoptr(GPtrArray) verdicts =
		g_ptr_array_new_with_free_func((GDestroyNotify)qtf_verdict_free);
	g_autoptr(GPtrArray) calls = NULL;
	g_auto(QtfLosses) losses = {0};
	g_autofree QtfAssigned *assigned = NULL;
	g_autofree gchar *unattributable = NULL;
	const gboolean windows = qtf_ioctls_have_windows(ioctls, n_ioctls);
	const gchar *attribution = windows ? "window" : "order";

	g_return_val_if_fail(capture != NULL, NULL);
	g_return_val_if_fail(mounts != NULL || n_mounts == 0, NULL);
	g_return_val_if_fail(ioctls != NULL || n_ioctls == 0, NULL);

	for (guint k = 0; k < n_ioctls; k++) {
		/* a programmer's error, but a verdict must never index past it */
		g_return_val_if_fail(ioctls[k].mount < n_mounts, NULL);
	}

	if (capture->method == QTF_METHOD_NONE) {
		unattributable = g_strdup_printf("nothing was traced%s%s",
						 capture->reason != NULL ? ": " : "",
						 capture->reason != NULL ? capture->reason : "");
	} else if (capture->events->len == 0) {
		unattributable = g_strdup("no kernel events were recorded");
	} else if (windows && g_strcmp0(capture->clock, "mono") != 0) {
		unattributable = g_strdup_printf("the trace clock '%s' is not CLOCK_MONOTONIC",
						 capture->clock != NULL ? capture->clock : "?");
	}

	qtf_losses_init(&losses, capture);
	calls = capture->method == QTF_METHOD_EVENTS ? qtf_calls_from_syscalls(capture)
						     : qtf_calls_from_functions(capture);
	assigned = g_new0(QtfAssigned, MAX(n_ioctls, 1));
	for (guint k = 0; k < n_ioctls; k++)
		assigned[k].calls = g_ptr_array_new();
	if (unattributable == NULL) {
		if (windows) {
			qtf_assign_by_window(capture, calls, ioctls, n_ioctls, assigned);
		} else {
			g_autofree gchar *why = qtf_assign_by_order(capture, &losses, calls, ioctls,
								    n_ioctls, assigned);
			if (why != NULL)
				unattributable =
					g_strdup_printf("cannot attribute by order: %s", why);
		}
	}

	for (guint m = 0; m < n_mounts; m++) {
		QtfVerdict *v = qtf_verdict_new(&mounts[m]);
		g_autoptr(GPtrArray) ops = g_ptr_array_new();

		g_ptr_array_add(verdicts, v);
		if (unattributable != NULL) {
			qtf_verdict_fail(v, "%s", unattributable);
		} else {
			gboolean froze_fs = FALSE;
			gint k = qtf_verdict_freeze(v, capture, &losses, &mounts[m], m, ioctls,
						    n_ioctls, assigned, ops, &froze_fs);
			if (v->frozen)
				qtf_verdict_thaw(v, capture, &losses, &mounts[m], m, k, ioctls,
						 n_ioctls, assigned, ops, froze_fs);
		}
		qtf_verdict_finish(v, ops, attribution);
	}
	for (guint k = 0; k < n_ioctls; k++)
		g_ptr_array_unref(assigned[k].calls);
	return g_steal_pointer(&verdicts);
}

gboolean
qtf_verdicts_all_verified(QtfVerdicts *verdicts)
{
	g_return_val_if_fail(verdicts != NULL, FALSE);

	for (guint i = 0; i < verdicts->len; i++) {
		if (!((QtfVerdict *)g_ptr_array_index(verdicts, i))->verified)
			return FALSE;
	}
	return verdicts->len > 0;
}

static void
qtf_json_add_u64_or_null(JsonBuilder *b, const gchar *name, gboolean known, guint64 value)
{
	json_builder_set_member_name(b, name);
	if (known)
		json_builder_add_int_value(b, (gint64)value);
	else
		json_builder_add_null_value(b);
}

JsonNode *
qtf_verdicts_to_json(QtfVerdicts *verdicts)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	g_return_val_if_fail(verdicts != NULL, NULL);

	json_builder_begin_array(b);
	for (guint i = 0; i < verdicts->len; i++) {
		const QtfVerdict *v = g_ptr_array_index(verdicts, i);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "mountpoint");
		json_builder_add_string_value(b, v->mountpoint);
		json_builder_set_member_name(b, "verified");
		json_builder_add_boolean_value(b, v->verified);
		json_builder_set_member_name(b, "frozen");
		json_builder_add_boolean_value(b, v->frozen);
		json_builder_set_member_name(b, "thawed");
		json_builder_add_boolean_value(b, v->thawed);
		json_builder_set_member_name(b, "attribution");
		json_builder_add_string_value(b, v->attribution);
		qtf_json_add_u64_or_null(b, "freeze-ts-ns", v->freeze_ts_ns != 0, v->freeze_ts_ns);
		qtf_json_add_u64_or_null(b, "thaw-ts-ns", v->thawed, v->thaw_ts_ns);
		qtf_json_add_u64_or_null(b, "frozen-ns", v->frozen && v->thawed, v->frozen_ns);
		json_builder_set_member_name(b, "fs-ops");
		json_builder_begin_array(b);
		for (guint j = 0; v->fs_ops[j] != NULL; j++)
			json_builder_add_string_value(b, v->fs_ops[j]);
		json_builder_end_array(b);
		json_builder_set_member_name(b, "dev");
		if (v->dev_seen) {
			g_autofree gchar *dev =
				g_strdup_printf("%u:%u", v->dev_major, v->dev_minor);
			json_builder_add_string_value(b, dev);
		} else {
			json_builder_add_null_value(b);
		}
		json_builder_set_member_name(b, "reason");
		if (v->reason != NULL)
			json_builder_add_string_value(b, v->reason);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "events");
		json_builder_begin_array(b);
		for (guint j = 0; j < v->events->len; j++)
			json_builder_add_int_value(b, g_array_index(v->events, guint, j));
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	return json_builder_get_root(b);
}
