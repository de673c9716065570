/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QGA_HOOK_OUTPUT_MAX (64 * 1024)
/* what a report keeps of the output: its last lines */
#define QGA_HOOK_TAIL_LINES 20
#define QGA_HOOK_TAIL_BYTES 4096

/* one run of a hook, for the trace session's "hooks" */
typedef struct {
	gchar *phase;
	gchar *path;
	gint exit_status;   /* -1: did not exit */
	gint signal;	    /* -1: not ended by a signal */
	gboolean timed_out; /* killed (SIGKILL) after the timeout */
	gint64 duration_ns; /* -1: did not run */
	gchar *output_tail; /* (nullable): NULL when it did not run */
	gchar *error;	    /* (nullable): NULL when it succeeded */
} QgaHookReport;

void qga_hook_report_free(QgaHookReport *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaHookReport, qga_hook_report_free)

/**
 * qga_hook_run:
 * @report: (out) (optional) (transfer full): what ran and how it ended,
 *   set whether it succeeded or not
 * Runs `@hook @phase` ("freeze" or "thaw") in its own session, stdin from
 * /dev/null, stdout and stderr captured. Unlike qemu-ga it is bounded: the
 * hook's process group is killed after @timeout_s, and the agent stops
 * reading once the hook itself exits, so a background child holding the
 * pipe cannot hang it.
 * Returns: FALSE with @error when the hook could not run, failed, was
 * killed or timed out; the error names the hook, the phase, how it ended
 * and the tail of its output
 */
gboolean qga_hook_run(const gchar *hook, const gchar *phase, guint timeout_s,
		      QgaHookReport **report, GError **error);

/* Returns: (transfer full): the last QGA_HOOK_TAIL_LINES lines of @output,
 * at most QGA_HOOK_TAIL_BYTES, whitespace-trimmed, valid UTF-8 */
gchar *qga_hook_output_tail(const gchar *output, gsize len);

G_END_DECLS
