/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

G_BEGIN_DECLS

/* The data-driven QGA protocol suite: tests/fixtures/protocol/cases.json
 * run against any agent socket, ours or stock qemu-ga, on the host
 * (unix-listen) or in a guest (virtio-serial behind a QEMU chardev). The
 * case format is described at the top of cases.json.
 *
 * Each case gets its own connection and starts with the schema's resync
 * (0xff, guest-sync-delimited), because agents like qemu-ga keep one parser
 * for the process; it then sends the case's bytes, reads one reply per
 * matcher, checks that nothing else follows (guest-sync with a fresh id must
 * be the very next reply) and that the agent is alive (qga_client_sync and
 * guest-ping through common/qga-client).
 *
 * Use from a cmocka program (tests/vm does this with the chardev socket of
 * the guest's agent port; link qga_test_support_dep):
 *
 *	g_autoptr(ProtocolSuite) suite = protocol_suite_load(NULL, &error);
 *	ProtocolSuiteTarget target = {
 *		.agent_kind = "qgatrace",	// or agent_process_kind_name()
 *		.socket_path = chardev_socket,
 *		.timeout_ms = 20000,		// a TCG guest is slow
 *	};
 *	return protocol_suite_run_cmocka(suite, "protocol-vm", &target);
 */
typedef struct _ProtocolSuite ProtocolSuite;

/* connects to the agent; Returns: a connected stream fd, or -1 with @error */
typedef gint (*ProtocolSuiteConnectFunc)(gpointer user_data, GError **error);

typedef struct {
	/* what cases filter on: "qgatrace", "qemu-ga-7.2" (see "agents") */
	const gchar *agent_kind;
	/* the UNIX socket each case connects to, unless @connect is set */
	const gchar *socket_path;
	ProtocolSuiteConnectFunc connect; /* (nullable) */
	/* (nullable): FALSE when the agent process is gone */
	gboolean (*is_alive)(gpointer user_data);
	/* (nullable): called once per failed case, e.g. to show a guest console */
	void (*on_failure)(const gchar *case_name, gpointer user_data);
	gpointer user_data;
	guint timeout_ms; /* bound for each reply; 0 means 5000 */
} ProtocolSuiteTarget;

/**
 * protocol_suite_default_path:
 * Returns: (transfer none): $QGATRACE_PROTOCOL_CASES, or the cases.json of
 * the source tree this was built from
 */
const gchar *protocol_suite_default_path(void);

/**
 * protocol_suite_load:
 * @path: (nullable): a cases file; NULL for protocol_suite_default_path()
 * Checks the whole file (unknown keys are errors, to catch typos).
 * Returns: (transfer full): the suite, or NULL with @error
 */
ProtocolSuite *protocol_suite_load(const gchar *path, GError **error);
void protocol_suite_free(ProtocolSuite *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtocolSuite, protocol_suite_free)

guint protocol_suite_get_n_cases(ProtocolSuite *self);
/* (transfer none) */
const gchar *protocol_suite_get_case_name(ProtocolSuite *self, guint index);

/**
 * protocol_suite_case_applies:
 * A case without "agents" applies to every agent. Otherwise @agent_kind
 * must match one plain entry (if there is any) and no "!"-entry, where an
 * entry matches the kind itself or any kind it prefixes up to a '-':
 * "qemu-ga" matches "qemu-ga-7.2", "qemu-ga-7" does not match "qemu-ga-7.2".
 */
gboolean protocol_suite_case_applies(ProtocolSuite *self, guint index, const gchar *agent_kind);

/**
 * protocol_suite_run_case:
 * Returns: TRUE when the agent answered as the case expects; otherwise FALSE
 * with an @error that names the case and shows the bytes sent, every reply
 * read and what was expected
 */
gboolean protocol_suite_run_case(ProtocolSuite *self, guint index,
				 const ProtocolSuiteTarget *target, GError **error);

/**
 * protocol_suite_cmocka_tests:
 * One cmocka test per case that applies to @target->agent_kind, named after
 * the case; the tests carry their own state, so run them without a group
 * setup (cmocka would hand the group state to them instead).
 * Returns: (transfer none) (array length=n_tests): valid while @self lives;
 * @target must outlive the run
 */
const struct CMUnitTest *protocol_suite_cmocka_tests(ProtocolSuite *self,
						     const ProtocolSuiteTarget *target,
						     gsize *n_tests);

/* runs protocol_suite_cmocka_tests() as a group; Returns: failed tests */
gint protocol_suite_run_cmocka(ProtocolSuite *self, const gchar *group_name,
			       const ProtocolSuiteTarget *target);

G_END_DECLS
