/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <unistd.h>

#include "qga-context.h"
#include "qga-freeze-plan.h"
#include "qga-fsfreeze.h"
#include "qga-hook.h"
#include "qga-mounts.h"
#include "qga-trace.h"

static gchar *
qga_fsfreeze_mountinfo_path(QgaContext *ctx)
{
	return g_build_filename(ctx->paths->proc, "self", "mountinfo", NULL);
}

/* the plan a freeze of @mountpoints follows (qga-freeze-plan.h) */
static QgaFreezePlan *
qga_fsfreeze_plan_new(QgaContext *ctx, QgaMountList *mounts, gchar *const *mountpoints,
		      GError **error)
{
	g_autoptr(GHashTable) backing_files =
		qga_freeze_plan_read_backing_files(ctx->paths->sys, mounts);

	return qga_freeze_plan_new(mounts, mountpoints, backing_files, error);
}

static gboolean
qga_fsfreeze_run_hook(QgaContext *ctx, const gchar *phase, GError **error)
{
	g_autoptr(QgaHookReport) report = NULL;
	QgaTraceSessionHook hook;
	gboolean ok;

	if (ctx->config->fsfreeze_hook == NULL)
		return TRUE;
	ok = qga_hook_run(ctx->config->fsfreeze_hook, phase, ctx->config->hook_timeout, &report,
			  error);
	hook = (QgaTraceSessionHook){
		.phase = report->phase,
		.path = report->path,
		.exit_status = report->exit_status,
		.signal = report->signal,
		.timed_out = report->timed_out,
		.duration_ns = report->duration_ns,
		.output_tail = report->output_tail,
		.error = report->error,
	};
	/* the session's report says which hook and why, as the error does */
	qga_trace_add_hook(ctx->trace, &hook);
	return ok;
}

/* the thaw hook after a failed freeze: its own failure only gets logged,
 * the freeze error is what the host must hear */
static void
qga_fsfreeze_undo_hook(QgaContext *ctx)
{
	g_autoptr(GError) error = NULL;

	if (!qga_fsfreeze_run_hook(ctx, "thaw", &error))
		g_warning("after a failed freeze: %s", error->message);
}

static gboolean
qga_fsfreeze_watchdog_cb(gpointer user_data)
{
	QgaContext *ctx = user_data;
	g_autoptr(GError) error = NULL;
	gint n;

	ctx->freeze_watchdog = 0;
	qga_trace_note(ctx->trace, "thawed by the agent's watchdog after %u s frozen",
		       ctx->config->freeze_timeout);
	n = qga_fsfreeze_thaw(ctx, &error);
	if (n < 0 && qga_state_is_frozen(ctx->state))
		g_warning("auto-thaw after %u s failed: %s", ctx->config->freeze_timeout,
			  error->message);
	else
		g_message("auto-thaw: frozen longer than %u s, thawed %d filesystems%s%s",
			  ctx->config->freeze_timeout, MAX(n, 0), error ? ": " : "",
			  error ? error->message : "");
	return G_SOURCE_REMOVE;
}

/* Returns: 1 if @mount was frozen and is thawed now, else 0 */
static gint
qga_fsfreeze_thaw_one(QgaContext *ctx, const QgaMount *mount)
{
	QgaIoctlWindow window;
	gboolean thawed = qga_mount_thaw(mount, &window);

	qga_trace_thaw_done(ctx->trace, mount, &window);
	return thawed ? 1 : 0;
}

/* in the reverse of the freeze order */
static void
qga_fsfreeze_thaw_list(QgaContext *ctx, QgaMountList *order)
{
	for (guint i = order->len; i > 0; i--)
		qga_fsfreeze_thaw_one(ctx, g_ptr_array_index(order, i - 1));
}

/* the mounts @order borrows from @mounts, taken over from it in the
 * reverse of @order: the order a thaw goes */
static QgaMountList *
qga_fsfreeze_keep(QgaMountList *mounts, QgaMountList *order)
{
	QgaMountList *kept = g_ptr_array_new_with_free_func((GDestroyNotify)qga_mount_free);

	for (guint i = order->len; i > 0; i--) {
		guint index;

		if (g_ptr_array_find(mounts, g_ptr_array_index(order, i - 1), &index))
			g_ptr_array_add(kept, g_ptr_array_steal_index(mounts, index));
	}
	return kept;
}

static gboolean
qga_fsfreeze_list_has_dev(QgaMountList *mounts, dev_t devnum)
{
	for (guint i = 0; mounts != NULL && i < mounts->len; i++) {
		if (((QgaMount *)g_ptr_array_index(mounts, i))->devnum == devnum)
			return TRUE;
	}
	return FALSE;
}

/* the thaw hook after a failed freeze, then the trace: its children are
 * followed too, and everything is thawed by now */
static void
qga_fsfreeze_undo(QgaContext *ctx, const gchar *why)
{
	qga_fsfreeze_undo_hook(ctx);
	qga_trace_end(ctx->trace, why);
}

gint
qga_fsfreeze_freeze(QgaContext *ctx, gchar *const *mountpoints, GError **error)
{
	g_autofree gchar *mountinfo = qga_fsfreeze_mountinfo_path(ctx);
	g_autoptr(QgaMountList) mounts = qga_mount_list_read(mountinfo, error);
	g_autoptr(QgaFreezePlan) plan = NULL;
	g_autoptr(GError) error_local = NULL;
	g_auto(GStrv) names = NULL;
	QgaMountList *order;
	gint n_frozen = 0;

	if (mounts == NULL)
		return -1;
	plan = qga_fsfreeze_plan_new(ctx, mounts, mountpoints, error);
	if (plan == NULL)
		return -1;
	order = qga_freeze_plan_get_order(plan);
	/* armed before the hook, whose children are followed, and before
	 * anything is frozen: arming writes tracefs and allocates */
	qga_trace_begin(ctx->trace, order);
	if (!qga_fsfreeze_run_hook(ctx, "freeze", &error_local)) {
		qga_fsfreeze_undo(ctx, error_local->message);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return -1;
	}
	names = qga_mount_list_dup_mountpoints(order);
	/* from here on a log write could block on a filesystem being frozen */
	if (!qga_state_set_frozen(ctx->state, TRUE, names, &error_local)) {
		qga_fsfreeze_undo(ctx, error_local->message);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return -1;
	}
	for (guint i = 0; i < order->len; i++) {
		const QgaMount *mount = g_ptr_array_index(order, i);
		QgaIoctlWindow window;
		gint rc = qga_mount_freeze(mount, &window, &error_local);

		/* the kernel's record decides whether it froze, not rc */
		qga_trace_freeze_done(ctx->trace, mount, &window);
		if (rc < 0) {
			qga_fsfreeze_thaw_list(ctx, order);
			qga_state_set_frozen(ctx->state, FALSE, NULL, NULL);
			g_warning("freeze failed, thawed everything: %s", error_local->message);
			qga_fsfreeze_undo(ctx, error_local->message);
			g_propagate_error(error, g_steal_pointer(&error_local));
			return -1;
		}
		n_frozen += rc;
	}
	if (n_frozen == 0) {
		qga_state_set_frozen(ctx->state, FALSE, NULL, NULL);
		qga_fsfreeze_undo(ctx, "no filesystem froze");
		return 0;
	}
	if (ctx->config->freeze_timeout > 0)
		ctx->freeze_watchdog = g_timeout_add_seconds(ctx->config->freeze_timeout,
							     qga_fsfreeze_watchdog_cb, ctx);
	g_clear_pointer(&ctx->frozen, g_ptr_array_unref);
	ctx->frozen = qga_fsfreeze_keep(mounts, order);
	g_message("froze %d filesystems", n_frozen);
	return n_frozen;
}

gint
qga_fsfreeze_thaw(QgaContext *ctx, GError **error)
{
	g_autofree gchar *mountinfo = qga_fsfreeze_mountinfo_path(ctx);
	g_autoptr(QgaMountList) frozen = g_steal_pointer(&ctx->frozen);
	g_autoptr(QgaMountList) mounts = NULL;
	gboolean was_frozen = qga_state_is_frozen(ctx->state);
	gboolean hook_ok;
	gint n_thawed = 0;

	/* what we froze first: reading the mount table is no part of the
	 * frozen interval then */
	for (guint i = 0; frozen != NULL && i < frozen->len; i++)
		n_thawed += qga_fsfreeze_thaw_one(ctx, g_ptr_array_index(frozen, i));
	/* then all, as qemu-ga: someone else's freeze too */
	mounts = qga_mount_list_read(mountinfo, error);
	if (mounts == NULL)
		return -1;
	for (guint i = 0; i < mounts->len; i++) {
		QgaMount *mount = g_ptr_array_index(mounts, i);

		if (mount->freezable && !qga_fsfreeze_list_has_dev(frozen, mount->devnum))
			n_thawed += qga_fsfreeze_thaw_one(ctx, mount);
	}
	g_clear_handle_id(&ctx->freeze_watchdog, g_source_remove);
	if (!qga_state_set_frozen(ctx->state, FALSE, NULL, error)) {
		/* the filesystems are thawed all the same */
		qga_trace_end(ctx->trace, NULL);
		return -1;
	}
	if (was_frozen)
		g_message("thawed %d filesystems", n_thawed);
	/* no thaw hook when nothing was frozen: hooks need not be idempotent
	 * (kubevirt/kubevirt#7248) */
	hook_ok = !was_frozen || qga_fsfreeze_run_hook(ctx, "thaw", error);
	/* after the last FITHAW and the hook: collecting reads kallsyms and
	 * allocates, which must never happen frozen; it runs once the reply
	 * is out (qga-trace.h) */
	qga_trace_end(ctx->trace, NULL);
	return hook_ok ? n_thawed : -1;
}

/* the mount points the agent froze, from its marker */
static gchar **
qga_fsfreeze_read_marker(QgaContext *ctx)
{
	g_autofree gchar *contents = NULL;

	if (!g_file_get_contents(qga_state_get_marker_path(ctx->state), &contents, NULL, NULL))
		return NULL;
	return g_strsplit(contents, "\n", -1);
}

/* stock qemu-ga's flag file, in its default state directory */
static gchar *
qga_fsfreeze_find_qemu_ga_flag(QgaContext *ctx)
{
	const gchar *const dirs[] = {"run", "var/run"};

	for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree gchar *path =
			g_build_filename(ctx->paths->root, dirs[i], "qga.state.isfrozen", NULL);

		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return g_steal_pointer(&path);
	}
	return NULL;
}

/* qgatrace-fsfreeze-hook's daemon listening: stock qemu-ga froze */
static gboolean
qga_fsfreeze_hook_daemon_listens(QgaContext *ctx)
{
	g_autofree gchar *path = g_build_filename(ctx->paths->proc, "net", "unix", NULL);
	g_autofree gchar *contents = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &contents, NULL, NULL))
		return FALSE;
	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_suffix(lines[i], " @" QGA_TRACE_SESSION_HOOK_SOCKET))
			return TRUE;
	}
	return FALSE;
}

JsonNode *
qga_fsfreeze_plan(QgaContext *ctx, gchar *const *mountpoints, GError **error)
{
	g_autofree gchar *mountinfo = qga_fsfreeze_mountinfo_path(ctx);
	g_autoptr(QgaMountList) mounts = qga_mount_list_read(mountinfo, error);
	g_autoptr(QgaFreezePlan) plan = NULL;
	g_autofree gchar *qemu_ga_flag = NULL;
	const gchar *hook = ctx->config->fsfreeze_hook;

	if (mounts == NULL)
		return NULL;
	plan = qga_fsfreeze_plan_new(ctx, mounts, mountpoints, error);
	if (plan == NULL)
		return NULL;
	if (qga_state_is_frozen(ctx->state)) {
		g_auto(GStrv) frozen = qga_fsfreeze_read_marker(ctx);

		qga_freeze_plan_set_frozen(plan, frozen, "qgatrace-agent");
		qga_freeze_plan_add_warning(plan, "this agent is frozen: it refuses a freeze "
						  "until 'guest-fsfreeze-thaw'");
	}
	qemu_ga_flag = qga_fsfreeze_find_qemu_ga_flag(ctx);
	if (qemu_ga_flag != NULL)
		qga_freeze_plan_add_frozen_by(plan, "qemu-ga", qemu_ga_flag);
	if (qga_fsfreeze_hook_daemon_listens(ctx))
		qga_freeze_plan_add_frozen_by(
			plan, "qemu-ga",
			"qgatrace-fsfreeze-hook armed: @" QGA_TRACE_SESSION_HOOK_SOCKET
			" in /proc/net/unix");
	qga_freeze_plan_set_hook(plan, hook, hook != NULL && access(hook, X_OK) == 0);
	if (qga_freeze_plan_has_fuse(mounts)) {
		g_autoptr(GPtrArray) daemons = qga_freeze_plan_read_fuse_daemons(ctx->paths->proc);

		qga_freeze_plan_check_fuse(plan, daemons);
	}
	return qga_freeze_plan_to_json(plan);
}

void
qga_fsfreeze_recover(QgaContext *ctx)
{
	g_autoptr(GError) error = NULL;
	gint n;

	if (qga_state_has_marker(ctx->state)) {
		/* until thawed, behave as frozen: nothing may be written */
		qga_state_set_frozen(ctx->state, TRUE, NULL, NULL);
		n = qga_fsfreeze_thaw(ctx, &error);
		if (n < 0)
			g_warning("thawing after a previous agent died frozen: %s", error->message);
		else
			g_message("a previous agent died frozen ('%s'): thawed %d filesystems",
				  qga_state_get_marker_path(ctx->state), n);
	}
	/* an agent that died left its ftrace instance, armed if it died
	 * frozen (a unit's ExecStopPost= may have thawed and removed the
	 * marker since): replace it, never while frozen */
	if (!qga_state_is_frozen(ctx->state))
		qga_trace_replace_stale(ctx->trace);
}
