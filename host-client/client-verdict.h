/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "client-context.h"

G_BEGIN_DECLS

/* Verdicts per mountpoint: did the guest kernel really freeze and thaw it?
 * Only the trace session's own verification counts (the agent's, made from
 * recorded kernel events: tracefs/qtf.h), and host-side evidence can only
 * take a verdict away: writes to the disk inside the frozen window, or to
 * any disk the guest tied to no mountpoint (the guest says which disk holds
 * which filesystem: unknown is not verified). Pure functions over the
 * agent's JSON, for the tests. */

/**
 * client_verdict_functions:
 * @session: a guest-trace-fetch session
 * @verification: one of its "verification" entries
 * Returns: (transfer full): the kernel functions (or tracepoints) of the
 * events the verification used, in order of first appearance
 */
GStrv client_verdict_functions(JsonObject *session, JsonObject *verification);

/* Returns: (transfer none) (nullable): the session's verification of @mountpoint */
JsonObject *client_verdict_find(JsonObject *session, const gchar *mountpoint);

/**
 * client_verdict_mountpoints:
 * @requested: (nullable): the mountpoints asked for; NULL: those the
 *   session verified or failed to (every "verification" entry)
 * @session: (nullable): the session recorded for this freeze
 * @no_session_reason: (nullable): why there is none (it then applies to every mount)
 * @host_evidence: (nullable): {"disks": [{"id", "mountpoints": [...],
 *   "conclusive": BOOL, "writes-in-window": N}], "unmapped": [{"mountpoint",
 *   "unmapped-reason"}]}
 * Returns: (transfer full): [{"mountpoint", "verified", "frozen-at-ns",
 *   "thawed-at-ns", "frozen-ns", "functions", "fs-ops", "attribution",
 *   "reason", "host-disk", "unmapped-reason", "host-writes-in-window", "host-unknown-disks":
 *   [{"id", "writes-in-window"}], "stalled-tasks" (client_verdict_stalls(), null when
 *   the session has none), "longest-stall-ns" (null: none), "stalls-complete"}]
 */
JsonArray *client_verdict_mountpoints(const gchar *const *requested, JsonObject *session,
				      const gchar *no_session_reason, JsonObject *host_evidence);

/* bounds on the guest's "stalls": entries examined, a comm's length, a pid
 * (the kernel's PID_MAX_LIMIT), lines printed per mountpoint */
#define CLIENT_VERDICT_STALLS_MAX   4096
#define CLIENT_VERDICT_COMM_MAX	    64
#define CLIENT_VERDICT_PID_MAX	    4194304
#define CLIENT_VERDICT_STALLS_SHOWN 10

/**
 * client_verdict_stalls:
 * @session: a guest-trace-fetch session
 * @complete: (out): the guest's "stalls-complete", and nothing rejected
 * The guest's "stalls" of @mountpoint, checked: a pid in 1..PID_MAX_LIMIT,
 * non-negative integer times, a short comm or null; any other entry is
 * dropped (and the list is then not complete), as is everything past
 * CLIENT_VERDICT_STALLS_MAX entries.
 * Returns: (transfer full) (nullable): [{"pid", "comm", "first-blocked-ns",
 * "blocked-ns"}], the longest first; NULL when the session has no "stalls"
 */
JsonArray *client_verdict_stalls(JsonObject *session, const gchar *mountpoint, gboolean *complete);

/* TRUE when @mountpoints is not empty and every entry is verified */
gboolean client_verdict_all_verified(JsonArray *mountpoints);

/**
 * client_verdict_format:
 * A mountpoint's verdict as the snapshot and trace commands print it:
 * its name and VERIFIED / NOT VERIFIED, then frozen at, thawed at, frozen
 * for, the kernel functions seen, the host's evidence, and why not.
 * Returns: (transfer full): newline-terminated lines
 */
gchar *client_verdict_format(ClientContext *ctx, JsonObject *mountpoint);

/* Where each part of a verdict comes from: what the host measured itself
 * (block statistics, QEMU's run state, the frozen window on its own clock)
 * and what only the guest says (its trace, fsinfo, the agent's counts),
 * which a compromised guest can forge (docs/security.md). */
typedef enum {
	CLIENT_VERDICT_HOST,
	CLIENT_VERDICT_GUEST,
} ClientVerdictSource;

/**
 * client_verdict_evidence_add:
 * Appends {"name", "source": "host"|"guest", "summary"} to @items.
 * Returns: (transfer none): the new item, for members of its own
 */
JsonObject *client_verdict_evidence_add(JsonArray *items, const gchar *name,
					ClientVerdictSource source, const gchar *format, ...)
	G_GNUC_PRINTF(4, 5);

/**
 * client_verdict_format_evidence:
 * @items as two sections, "host-measured:" then "from the guest:", a line
 * per item: its name and summary.
 * Returns: (transfer full): newline-terminated lines
 */
gchar *client_verdict_format_evidence(JsonArray *items);

G_END_DECLS
