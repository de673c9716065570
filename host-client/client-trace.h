/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "client-conn.h"
#include "client-context.h"

G_BEGIN_DECLS

/* The agent's trace sessions (guest-trace-status, guest-trace-fetch), for
 * the trace, snapshot, status and doctor commands. From stock qemu-ga (no
 * guest-trace-fetch in its guest-info) they are the qgatrace fsfreeze
 * hook's: its index (common/qga-session-index.h) then a session file it
 * lists, read through guest-file-*. An agent that can give neither gets
 * one clear error, G_IO_ERROR_NOT_SUPPORTED, saying what was refused. */

/* the error text for an agent without tracing */
#define CLIENT_TRACE_LACKING                                                                       \
	"the agent lacks tracing: it has no guest-trace-fetch, so it cannot show what the guest "  \
	"kernel did (stock qemu-ga?); use qgatrace-agent, or qemu-ga with the qgatrace fsfreeze "  \
	"hook and qgatrace-agent on a second port"

/* the "session-source" of a status or session read through stock qemu-ga */
#define CLIENT_TRACE_SOURCE_HOOK "qemu-ga guest-file-* (the qgatrace fsfreeze hook's index)"

/* qemu-ga refused one of guest-file-*: %s says which and how */
#define CLIENT_TRACE_HOOK_REFUSED_FMT                                                              \
	"the agent lacks tracing: it has no guest-trace-fetch, and %s, so the qgatrace hook's "    \
	"sessions cannot be read through it; allow guest-file-open, guest-file-read and "          \
	"guest-file-close in qemu-ga's config (take them out of block-rpcs, or -b), or add the "   \
	"org.qgatrace.0 port with qgatrace-agent"

/* qemu-ga could not open the hook's file: %s the path, %s its error */
#define CLIENT_TRACE_HOOK_MISSING_FMT                                                               \
	"the agent lacks tracing: it has no guest-trace-fetch, and qemu-ga cannot read '%s' (%s): " \
	"install the qgatrace fsfreeze hook in qemu-ga's fsfreeze-hook.d, or add the "              \
	"org.qgatrace.0 port with qgatrace-agent"

/* Returns: (transfer full): guest-trace-status, or NULL with @error */
JsonObject *client_trace_status(ClientConn *conn, guint timeout_ms, GError **error);

/* Returns: (transfer full): the session @id (NULL: the newest) from guest-trace-fetch */
JsonObject *client_trace_fetch(ClientConn *conn, const gchar *id, guint timeout_ms, GError **error);

/* the session's summary lines (id, source, state, method, events, lost, error, notes) */
gchar *client_trace_format_summary(ClientContext *ctx, JsonObject *session);

/* the session's "hooks", two lines or more each (how it ended, then the
 * tail of its output), every guest string escaped; "" when none */
gchar *client_trace_format_hooks(ClientContext *ctx, JsonObject *session);

/* the session's events as a table, one line each */
gchar *client_trace_format_events(JsonObject *session);

G_END_DECLS
