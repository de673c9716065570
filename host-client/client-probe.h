/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client-context.h"
#include "client-klog.h"
#include "client-libvirt.h"

G_BEGIN_DECLS

/* One look at one libvirt domain, for fleet and the exporter: its state,
 * whether its agent answers (libvirt's agent API for org.qemu.guest_agent.0,
 * else qgatrace-agent on org.qgatrace.0) and, when not, the doctor's reason;
 * the agent's kind and version, the freeze state, tracing, the trace
 * sessions, and the kernel log counted through guest-dmesg's cursor.
 * Everything the agent says is checked and bounded; the whole probe keeps
 * within one per-domain timeout (a call is never given more than what is
 * left of it). Probes of many domains run in parallel on one connection. */

/* sessions taken from one guest-trace-status, newest last */
#define CLIENT_PROBE_MAX_SESSIONS 256

/* kernel-log pages (guest-dmesg calls) per probe: a flood waits for the next */
#define CLIENT_PROBE_KLOG_PAGES 8

/* the kinds of error a probe counts (the exporter's errors_total{kind}) */
#define CLIENT_PROBE_ERROR_KINDS "libvirt", "unreachable", "timeout", "agent", "invalid-reply"

typedef struct {
	gchar *id;
	gchar *result;	   /* "verified", "not-verified", "untraced"; NULL: not collected yet */
	gint64 started_ns; /* guest CLOCK_MONOTONIC; -1: unknown */
	gint64 ended_ns;   /* -1: unknown */
} ClientProbeSession;

typedef struct {
	gchar *domain;
	gchar *state;	  /* libvirt's: "running", "paused", ... */
	gboolean running; /* its vCPUs run */
	gboolean reachable;
	gchar *reason;	      /* (nullable): why unreachable: the doctor's verdict */
	gchar *transport;     /* (nullable): "libvirt" or "org.qgatrace.0": what answered */
	gchar *agent_kind;    /* (nullable): "qgatrace-agent" or "qemu-ga" (from the guest) */
	gchar *agent_version; /* (nullable): from the guest, at most 64 printable characters */
	gdouble ping_seconds; /* < 0: no answer */
	gint frozen;	      /* guest-fsfreeze-status: 1 frozen, 0 thawed, -1 unknown */
	gint tracing;	      /* tracing available: 1, 0, -1 unknown */
	GPtrArray *sessions;  /* of ClientProbeSession, oldest first */
	gdouble last_frozen_seconds; /* the newest session's longest frozen mount; < 0: unknown */
	gboolean kernel_log;	     /* the follower was brought up to date */
	gdouble duration_seconds;
	GPtrArray *errors; /* of gchar *: one kind of CLIENT_PROBE_ERROR_KINDS per failure */
} ClientProbeResult;

void client_probe_result_free(ClientProbeResult *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientProbeResult, client_probe_result_free)

/* Returns: (transfer none) (nullable): the newest session that is over
 * (collected or untraced), or NULL */
ClientProbeSession *client_probe_result_last_session(ClientProbeResult *self);

typedef struct {
	guint timeout_ms; /* the whole probe's budget */
	gint klog_level;  /* count records at this level or more urgent; < 0: no kernel log */
	const gchar
		*known_session; /* (nullable): the newest session seen before: not fetched again */
	gdouble known_frozen_seconds; /* its frozen seconds */
} ClientProbeOptions;

/**
 * client_probe_domain:
 * @conn: a connection from client_libvirt_connect() or a handle on one
 * @klog: (nullable) (inout): the domain's kernel-log follower, updated
 * Returns: (transfer full): what was seen; failures are in its errors and
 * reason, never a NULL
 */
ClientProbeResult *client_probe_domain(ClientLibvirt *conn, const gchar *domain,
				       const ClientProbeOptions *options, ClientKlog *klog);

/* Trace sessions by result, each counted once over any number of probes,
 * however often the agent lists it again (and it leaves the plugin's out
 * while frozen, then lists them again): a session is its id and start. */

#define CLIENT_PROBE_RESULTS 3 /* verified, not-verified, untraced */

/* the most sessions remembered; beyond, those the agent no longer lists are forgotten */
#define CLIENT_PROBE_TALLY_MAX 4096

typedef struct _ClientProbeTally ClientProbeTally;

ClientProbeTally *client_probe_tally_new(void);
void client_probe_tally_free(ClientProbeTally *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientProbeTally, client_probe_tally_free)

/* counts the sessions of @result not counted before; those not over yet wait */
void client_probe_tally_add(ClientProbeTally *self, ClientProbeResult *result);

/* Returns: the sessions counted with @result ("verified", "not-verified", "untraced") */
guint64 client_probe_tally_get(ClientProbeTally *self, const gchar *result);

/* Returns: (transfer none): the results, in the order of the counts */
const gchar *const *client_probe_tally_results(void);

/* the result of a guest-trace-status session summary: "verified",
 * "not-verified", "untraced", or NULL while it is armed */
const gchar *client_probe_session_result(JsonObject *summary);

G_END_DECLS
