/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Prometheus text the exporter serves: HELP and TYPE once per family,
 * families without samples left out, label values from guests escaped and
 * made valid UTF-8, counters and odd values written as the format wants. */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "client-metrics.h"

#define LABELS(...) ((const gchar *const[]){__VA_ARGS__, NULL})

static guint
count_lines_with_prefix(const gchar *text, const gchar *prefix)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;

	for (guint i = 0; lines[i] != NULL; i++)
		n += g_str_has_prefix(lines[i], prefix) ? 1 : 0;
	return n;
}

static void
test_client_metrics_help_type_once(void **state)
{
	g_autoptr(ClientMetrics) m = client_metrics_new();
	g_autofree gchar *text = NULL;

	client_metrics_declare(m, "qgatrace_agent_up", CLIENT_METRICS_GAUGE, "agent answers");
	client_metrics_declare(m, "qgatrace_freezes_total", CLIENT_METRICS_COUNTER,
			       "sessions by result");
	client_metrics_declare(m, "qgatrace_unused", CLIENT_METRICS_GAUGE, "no samples");
	/* a second declaration changes nothing */
	client_metrics_declare(m, "qgatrace_agent_up", CLIENT_METRICS_COUNTER, "other");
	client_metrics_add(m, "qgatrace_freezes_total",
			   LABELS("domain", "vm1", "result", "verified"), 3);
	client_metrics_add(m, "qgatrace_agent_up", LABELS("domain", "vm1"), 1);
	client_metrics_add(m, "qgatrace_agent_up", LABELS("domain", "vm2"), 0);
	client_metrics_add(m, "qgatrace_freezes_total",
			   LABELS("domain", "vm1", "result", "untraced"), 0);
	text = client_metrics_render(m);
	assert_string_equal(text, "# HELP qgatrace_agent_up agent answers\n"
				  "# TYPE qgatrace_agent_up gauge\n"
				  "qgatrace_agent_up{domain=\"vm1\"} 1\n"
				  "qgatrace_agent_up{domain=\"vm2\"} 0\n"
				  "# HELP qgatrace_freezes_total sessions by result\n"
				  "# TYPE qgatrace_freezes_total counter\n"
				  "qgatrace_freezes_total{domain=\"vm1\",result=\"verified\"} 3\n"
				  "qgatrace_freezes_total{domain=\"vm1\",result=\"untraced\"} 0\n");
	assert_int_equal(count_lines_with_prefix(text, "# TYPE"), 2);
	assert_null(strstr(text, "qgatrace_unused"));
}

static void
test_client_metrics_label_escaping(void **state)
{
	g_autoptr(ClientMetrics) m = client_metrics_new();
	g_autofree gchar *text = NULL;
	g_autofree gchar *escaped = client_metrics_escape_label("a\\b\"c\nd");
	g_autofree gchar *invalid = client_metrics_escape_label("bad\xff\xfe utf8");

	assert_string_equal(escaped, "a\\\\b\\\"c\\nd");
	assert_true(g_utf8_validate(invalid, -1, NULL));
	assert_non_null(strstr(invalid, "utf8"));
	client_metrics_declare(m, "qgatrace_agent_info", CLIENT_METRICS_GAUGE,
			       "help with a \\ and a\nnewline");
	/* a guest's version string tries to close the label and add a sample */
	client_metrics_add(m, "qgatrace_agent_info",
			   LABELS("domain", "vm1", "version", "1\"} 1\nqgatrace_agent_up 1 #",
				  "kind", NULL),
			   1);
	text = client_metrics_render(m);
	assert_string_equal(
		text,
		"# HELP qgatrace_agent_info help with a \\\\ and a\\nnewline\n"
		"# TYPE qgatrace_agent_info gauge\n"
		"qgatrace_agent_info{domain=\"vm1\",version=\"1\\\"} 1\\nqgatrace_agent_up 1 #\"} 1\n");
	assert_int_equal(count_lines_with_prefix(text, "qgatrace_agent_up"), 0);
}

static void
test_client_metrics_values(void **state)
{
	g_autoptr(ClientMetrics) m = client_metrics_new();
	g_autofree gchar *text = NULL;

	client_metrics_declare(m, "qgatrace_x", CLIENT_METRICS_GAUGE, "values");
	client_metrics_add(m, "qgatrace_x", NULL, 0.00037);
	client_metrics_add(m, "qgatrace_x", LABELS("a", "1"), NAN);
	client_metrics_add(m, "qgatrace_x", LABELS("a", "2"), INFINITY);
	client_metrics_add(m, "qgatrace_x", LABELS("a", "3"), -INFINITY);
	client_metrics_add(m, "qgatrace_x", LABELS("a", "4"), 1765087450.123456);
	client_metrics_add(m, "qgatrace_x", LABELS("a", "5"), 18446744073709551615.0);
	text = client_metrics_render(m);
	assert_non_null(strstr(text, "\nqgatrace_x 0.00037\n"));
	assert_non_null(strstr(text, "{a=\"1\"} NaN\n"));
	assert_non_null(strstr(text, "{a=\"2\"} +Inf\n"));
	assert_non_null(strstr(text, "{a=\"3\"} -Inf\n"));
	assert_non_null(strstr(text, "{a=\"4\"} 1765087450.123456\n"));
	assert_non_null(strstr(text, "{a=\"5\"} 1.8446744073709552e+19\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_metrics_help_type_once),
		cmocka_unit_test(test_client_metrics_label_escaping),
		cmocka_unit_test(test_client_metrics_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
