/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the exporter makes of the probes' trace sessions: each session
 * counted once by result however often the agent lists it, one that is not
 * over counted when it is, a session id reused after a guest reboot counted
 * again (it started at another time), and the newest finished session. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "client-probe.h"

/* a probe result with sessions "ID:RESULT:STARTED", RESULT "-" for one not over yet */
static ClientProbeResult *
result_new(const gchar *const *sessions)
{
	ClientProbeResult *r = g_new0(ClientProbeResult, 1);

	r->sessions = g_ptr_array_new();
	r->errors = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; sessions[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(sessions[i], ":", 3);
		ClientProbeSession *s = g_new0(ClientProbeSession, 1);

		s->id = g_strdup(parts[0]);
		s->result = g_strcmp0(parts[1], "-") != 0 ? g_strdup(parts[1]) : NULL;
		s->started_ns = g_ascii_strtoll(parts[2], NULL, 10);
		s->ended_ns = -1;
		g_ptr_array_add(r->sessions, s);
	}
	return r;
}

static void
result_free(ClientProbeResult *r)
{
	for (guint i = 0; i < r->sessions->len; i++) {
		ClientProbeSession *s = g_ptr_array_index(r->sessions, i);

		g_free(s->id);
		g_free(s->result);
		g_free(s);
	}
	g_ptr_array_unref(r->sessions);
	g_ptr_array_unref(r->errors);
	g_free(r);
}

static void
tally(ClientProbeTally *t, const gchar *const *sessions)
{
	ClientProbeResult *r = result_new(sessions);

	client_probe_tally_add(t, r);
	result_free(r);
}

#define SESSIONS(...) ((const gchar *const[]){__VA_ARGS__, NULL})

static void
test_client_probe_tally_once(void **state)
{
	g_autoptr(ClientProbeTally) t = client_probe_tally_new();

	tally(t, SESSIONS("agent-1-1:verified:100", "agent-1-2:not-verified:200"));
	tally(t,
	      SESSIONS("agent-1-1:verified:100", "agent-1-2:not-verified:200", "agent-1-3:-:300"));
	assert_int_equal(client_probe_tally_get(t, "verified"), 1);
	assert_int_equal(client_probe_tally_get(t, "not-verified"), 1);
	assert_int_equal(client_probe_tally_get(t, "untraced"), 0);
	/* frozen, the agent leaves the plugin's sessions out; they come back after */
	tally(t, SESSIONS("agent-1-3:-:300"));
	tally(t, SESSIONS("qemu-ga-7-1:untraced:50", "agent-1-1:verified:100",
			  "agent-1-2:not-verified:200", "agent-1-3:verified:300"));
	assert_int_equal(client_probe_tally_get(t, "verified"), 2);
	assert_int_equal(client_probe_tally_get(t, "not-verified"), 1);
	assert_int_equal(client_probe_tally_get(t, "untraced"), 1);
	/* after a reboot the agent's pid and counter may repeat: a new start is a new session */
	tally(t, SESSIONS("agent-1-1:verified:90"));
	assert_int_equal(client_probe_tally_get(t, "verified"), 3);
	/* a result the exporter does not know counts nowhere */
	tally(t, SESSIONS("agent-1-9:bogus:1"));
	assert_int_equal(client_probe_tally_get(t, "bogus"), 0);
	assert_string_equal(client_probe_tally_results()[0], "verified");
	assert_null(client_probe_tally_results()[3]);
}

static void
test_client_probe_tally_bounded(void **state)
{
	g_autoptr(ClientProbeTally) t = client_probe_tally_new();
	g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i <= CLIENT_PROBE_TALLY_MAX; i++)
		g_ptr_array_add(many, g_strdup_printf("s-%u:verified:%u", i, i));
	g_ptr_array_add(many, NULL);
	tally(t, (const gchar *const *)many->pdata);
	assert_int_equal(client_probe_tally_get(t, "verified"), CLIENT_PROBE_TALLY_MAX + 1);
	/* what the agent still lists stays counted once */
	tally(t, SESSIONS("s-0:verified:0"));
	assert_int_equal(client_probe_tally_get(t, "verified"), CLIENT_PROBE_TALLY_MAX + 1);
}

static void
test_client_probe_last_session(void **state)
{
	ClientProbeResult *r = result_new(SESSIONS("a:verified:1", "b:untraced:2", "c:-:3"));

	/* the newest that is over */
	assert_string_equal(client_probe_result_last_session(r)->id, "b");
	result_free(r);
	r = result_new(SESSIONS("c:-:3"));
	assert_null(client_probe_result_last_session(r));
	result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_probe_tally_once),
		cmocka_unit_test(test_client_probe_tally_bounded),
		cmocka_unit_test(test_client_probe_last_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
