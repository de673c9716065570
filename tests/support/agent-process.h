/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An agent under test, in unix-listen mode on a fresh temporary directory:
 * <tmp>/agent.sock, <tmp>/state (-t), <tmp>/agent.conf (-c, when set) and
 * <tmp>/stderr.log, which is printed when a test using the agent failed.
 *
 * Host safety: both kinds always run with the fsfreeze commands blocked
 * (-b), and stock qemu-ga also with shutdown, suspend and the other
 * host-changing commands, so that no test, even a broken one, can freeze,
 * stop or reconfigure the machine running the tests. */
typedef enum {
	AGENT_KIND_QGATRACE, /* $QGATRACE_AGENT */
	AGENT_KIND_QEMU_GA,  /* $QEMU_GA, default /usr/sbin/qemu-ga */
} AgentKind;

typedef struct _AgentProcess AgentProcess;

/**
 * agent_process_binary:
 * Returns: (transfer none) (nullable): the executable for @kind, NULL when
 * it is not configured or not executable (then the test is a skip)
 */
const gchar *agent_process_binary(AgentKind kind);

/**
 * agent_process_kind_name:
 * Returns: (transfer full): the name protocol cases filter on: "qgatrace",
 * or "qemu-ga-<major>.<minor>" from `qemu-ga -V` ("qemu-ga" if unknown)
 */
gchar *agent_process_kind_name(AgentKind kind);

/**
 * agent_process_new:
 * Returns: (transfer full): an agent not yet started, or NULL with an error
 * when its binary is missing or no temporary directory can be made
 */
AgentProcess *agent_process_new(AgentKind kind, GError **error);
void agent_process_free(AgentProcess *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentProcess, agent_process_free)

/* keyfile text written to <tmp>/agent.conf and passed with -c */
void agent_process_set_config(AgentProcess *self, const gchar *keyfile_text);
/* commands added to the -b list (one -b option carries all of them) */
void agent_process_block(AgentProcess *self, const gchar *command);
/* extra arguments, appended after the standard ones; NULL-terminated */
void agent_process_add_args(AgentProcess *self, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

/**
 * agent_process_start:
 * Spawns the agent and waits (bounded) until its socket accepts. A probe
 * connection is made and closed, which a unix-listen agent must survive.
 */
gboolean agent_process_start(AgentProcess *self, GError **error);

/* (transfer none) */
const gchar *agent_process_get_socket_path(AgentProcess *self);
const gchar *agent_process_get_state_dir(AgentProcess *self);
const gchar *agent_process_get_tmp_dir(AgentProcess *self);
const gchar *agent_process_get_kind_name(AgentProcess *self);
GPid agent_process_get_pid(AgentProcess *self);

/* TRUE while the process runs (it is reaped here when it has exited) */
gboolean agent_process_is_alive(AgentProcess *self);

/**
 * agent_process_stop:
 * SIGTERM, a bounded wait, then SIGKILL.
 * Returns: the wait status, or -1 when it had to be killed or was not running
 */
gint agent_process_stop(AgentProcess *self);

/**
 * agent_process_stop_cleanly:
 * agent_process_stop(), then FALSE with @error unless the agent exited with
 * status 0 on SIGTERM (under a sanitizer, a leak or error at exit shows here)
 */
gboolean agent_process_stop_cleanly(AgentProcess *self, GError **error);

/* (transfer full): what the agent wrote to stderr so far */
gchar *agent_process_read_stderr(AgentProcess *self);
/* prints the captured stderr (last 64 KiB) to our stderr */
void agent_process_dump_stderr(AgentProcess *self, const gchar *why);

/* a test marks the agent as in use when it starts and releases it when it
 * passed; freeing an agent with a test still marked prints its stderr */
void agent_process_test_begin(AgentProcess *self);
void agent_process_test_passed(AgentProcess *self);

/**
 * agent_process_run_sync:
 * @args: (array zero-terminated=1): arguments after the binary
 * Runs @kind's binary to completion (bounded) for options like -V or -D.
 */
gboolean agent_process_run_sync(AgentKind kind, const gchar *const *args, gchar **out, gchar **err,
				gint *wait_status, GError **error);

G_END_DECLS
