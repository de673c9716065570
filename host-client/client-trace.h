/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "client-conn.h"
#include "client-context.h"

G_BEGIN_DECLS

/* The agent's trace sessions (guest-trace-status, guest-trace-fetch), for
 * the trace and snapshot commands. An agent without them (stock qemu-ga)
 * gets one clear error, G_IO_ERROR_NOT_SUPPORTED. */

/* the error text for an agent without tracing */
#define CLIENT_TRACE_LACKING                                                                       \
	"the agent lacks tracing: it has no guest-trace-fetch, so it cannot show what the guest "  \
	"kernel did (stock qemu-ga?); use qgatrace-agent, or qemu-ga with the qgatrace fsfreeze "  \
	"hook and qgatrace-agent on a second port"

/* Returns: (transfer full): guest-trace-status, or NULL with @error */
JsonObject *client_trace_status(ClientConn *conn, guint timeout_ms, GError **error);

/* Returns: (transfer full): the session @id (NULL: the newest) from guest-trace-fetch */
JsonObject *client_trace_fetch(ClientConn *conn, const gchar *id, guint timeout_ms, GError **error);

/* the session's summary lines (id, source, state, method, events, lost, error, notes) */
gchar *client_trace_format_summary(ClientContext *ctx, JsonObject *session);

/* the session's events as a table, one line each */
gchar *client_trace_format_events(JsonObject *session);

G_END_DECLS
