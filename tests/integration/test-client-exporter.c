/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace exporter as a subprocess on libvirt's test driver (test:///default,
 * in-process: one running domain "test", no agent): /metrics in the
 * Prometheus text format with HELP and TYPE for every family, clean under
 * promtool check metrics; other paths 404, other methods 405; garbage on
 * the socket does not end it; the [privacy] switch drops the kernel log;
 * SIGTERM ends it with status 0. On a test:// node file, a crashed domain:
 * its state in the exporter and in fleet. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

typedef struct {
	GSubprocess *proc;
	gchar *url; /* http://127.0.0.1:PORT/metrics */
	guint16 port;
	gchar *dir;
} Exporter;

static void
exporter_stop(Exporter *e)
{
	if (e->proc != NULL) {
		g_subprocess_send_signal(e->proc, SIGTERM);
		assert_true(g_subprocess_wait(e->proc, NULL, NULL));
		assert_true(g_subprocess_get_if_exited(e->proc));
		assert_int_equal(g_subprocess_get_exit_status(e->proc), 0);
		g_clear_object(&e->proc);
	}
	if (e->dir != NULL) {
		g_autofree gchar *conf = g_build_filename(e->dir, "exporter.conf", NULL);

		g_unlink(conf);
		g_rmdir(e->dir);
	}
	g_clear_pointer(&e->dir, g_free);
	g_clear_pointer(&e->url, g_free);
}

/* starts it on @uri with @conf as its config file and reads the URL it prints */
static void
exporter_start_on(Exporter *e, const gchar *uri, const gchar *conf)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *conf_path = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree gchar *line = NULL;
	const gchar *client = g_getenv("QGATRACE_CLIENT");

	assert_non_null(client);
	e->dir = g_dir_make_tmp("qgatrace-exporter-XXXXXX", &error);
	assert_non_null(e->dir);
	conf_path = g_build_filename(e->dir, "exporter.conf", NULL);
	assert_true(g_file_set_contents(conf_path, conf, -1, &error));
	e->proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, client, "--connect", uri,
				   "exporter", "--listen", "127.0.0.1:0", "--interval", "1",
				   "--config", conf_path, NULL);
	assert_non_null(e->proc);
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(e->proc));
	line = g_data_input_stream_read_line(out, NULL, NULL, &error);
	assert_non_null(line);
	assert_true(g_str_has_prefix(line, "listening on http://127.0.0.1:"));
	e->url = g_strdup(line + strlen("listening on "));
	e->port = (guint16)g_ascii_strtoull(e->url + strlen("http://127.0.0.1:"), NULL, 10);
	assert_true(e->port > 0);
}

static void
exporter_start(Exporter *e, const gchar *conf)
{
	exporter_start_on(e, "test:///default", conf);
}

/* @method on @url: its status, and its body in @body */
static guint
http(const gchar *method, const gchar *url, gchar **body, gchar **content_type)
{
	g_autoptr(SoupSession) session = soup_session_new();
	g_autoptr(SoupMessage) msg = soup_message_new(method, url);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;

	assert_non_null(msg);
	bytes = soup_session_send_and_read(session, msg, NULL, &error);
	if (bytes == NULL)
		fail_msg("%s %s: %s", method, url, error->message);
	if (body != NULL)
		*body = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	if (content_type != NULL)
		*content_type = g_strdup(soup_message_headers_get_one(
			soup_message_get_response_headers(msg), "Content-Type"));
	return soup_message_get_status(msg);
}

/* a scrape once the first probe of @domain is in */
static gchar *
scrape_probed_domain(Exporter *e, const gchar *domain)
{
	g_autofree gchar *up = g_strdup_printf("qgatrace_agent_up{domain=\"%s\"}", domain);

	for (guint i = 0; i < 100; i++) {
		gchar *body = NULL;

		assert_int_equal(http("GET", e->url, &body, NULL), 200);
		if (strstr(body, up) != NULL)
			return body;
		g_free(body);
		g_usleep(100 * 1000);
	}
	fail_msg("no qgatrace_agent_up for domain '%s' within 10 s", domain);
	return NULL;
}

static gchar *
scrape_probed(Exporter *e)
{
	return scrape_probed_domain(e, "test");
}

/* every sample's family has one HELP and one TYPE line before it */
static void
assert_help_and_type(const gchar *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) help = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) type = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; lines[i] != NULL; i++) {
		g_autofree gchar *name = NULL;

		if (lines[i][0] == '\0')
			continue;
		if (g_str_has_prefix(lines[i], "# HELP ") ||
		    g_str_has_prefix(lines[i], "# TYPE ")) {
			g_auto(GStrv) words = g_strsplit(lines[i], " ", 4);
			GHashTable *seen = lines[i][2] == 'H' ? help : type;

			assert_non_null(words[2]);
			assert_false(g_hash_table_contains(seen, words[2]));
			g_hash_table_add(seen, g_strdup(words[2]));
			continue;
		}
		name = g_strndup(lines[i], strcspn(lines[i], "{ "));
		if (!g_hash_table_contains(help, name) || !g_hash_table_contains(type, name))
			fail_msg("no HELP or TYPE before '%s'", lines[i]);
	}
}

static void
test_client_exporter_metrics(void **state)
{
	Exporter e = {0};
	g_autofree gchar *body = NULL;
	g_autofree gchar *content_type = NULL;
	g_autofree gchar *scrape_path = NULL;
	g_autofree gchar *promtool_out = NULL;
	g_autofree gchar *promtool_err = NULL;
	g_autofree gchar *cmd = NULL;
	g_autofree gchar *promtool = g_find_program_in_path("promtool");
	gint status = -1;

	exporter_start(&e, "[exporter]\n");
	g_free(scrape_probed(&e));
	assert_int_equal(http("GET", e.url, &body, &content_type), 200);
	assert_string_equal(content_type, "text/plain; version=0.0.4; charset=utf-8");
	/* test:///default's domain has no agent channel */
	assert_non_null(strstr(body, "\nqgatrace_agent_up{domain=\"test\"} 0\n"));
	assert_non_null(
		strstr(body, "qgatrace_freezes_total{domain=\"test\",result=\"verified\"} 0"));
	assert_non_null(
		strstr(body, "qgatrace_kernel_log_records_total{domain=\"test\",level=\"err\"} 0"));
	assert_non_null(strstr(body, "\nqgatrace_exporter_domains_watched 1\n"));
	assert_non_null(strstr(body, "\nqgatrace_exporter_libvirt_up 1\n"));
	/* no session, no verdict */
	assert_null(strstr(body, "qgatrace_trace_last_verified"));
	assert_help_and_type(body);
	scrape_path = g_build_filename(e.dir, "scrape.txt", NULL);
	assert_true(g_file_set_contents(scrape_path, body, -1, NULL));
	/* Debian's prometheus package (tests/install-deps): missing is a failure */
	if (promtool == NULL)
		fail_msg("promtool is not installed (the prometheus package)");
	cmd = g_strdup_printf("sh -c 'promtool check metrics < %s'", scrape_path);
	assert_true(g_spawn_command_line_sync(cmd, &promtool_out, &promtool_err, &status, NULL));
	if (status != 0 || promtool_out[0] != '\0' || promtool_err[0] != '\0')
		fail_msg("promtool check metrics: %d: %s%s", status, promtool_out, promtool_err);
	g_unlink(scrape_path);
	exporter_stop(&e);
}

static void
test_client_exporter_paths(void **state)
{
	Exporter e = {0};
	g_autofree gchar *base = NULL;
	g_autofree gchar *other = NULL;
	g_autofree gchar *query = NULL;

	exporter_start(&e, "[exporter]\n");
	base = g_strndup(e.url, strlen(e.url) - strlen("metrics"));
	other = g_strconcat(base, "metricsx", NULL);
	query = g_strconcat(e.url, "?x=1", NULL);
	assert_int_equal(http("GET", base, NULL, NULL), 404);
	assert_int_equal(http("GET", other, NULL, NULL), 404);
	assert_int_equal(http("POST", e.url, NULL, NULL), 405);
	assert_int_equal(http("DELETE", e.url, NULL, NULL), 405);
	assert_int_equal(http("HEAD", e.url, NULL, NULL), 200);
	assert_int_equal(http("GET", query, NULL, NULL), 200);
	exporter_stop(&e);
}

/* raw bytes on the socket, the connection closed as soon as they are sent */
static void
send_raw(guint16 port, const gchar *data, gsize len)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	gchar reply[256];

	g_socket_client_set_timeout(client, 2);
	conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &error);
	assert_non_null(conn);
	g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), data, len, NULL,
				  NULL, NULL);
	/* whatever comes back, if anything, within the timeout */
	if (len > 0)
		g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), reply,
				    sizeof(reply), NULL, NULL);
}

static void
test_client_exporter_garbage(void **state)
{
	Exporter e = {0};
	g_autofree gchar *body = NULL;
	g_autoptr(GString) huge = g_string_new("GET /metrics HTTP/1.1\r\nX-Big: ");
	static const gchar *const garbage[] = {
		"\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics HTTP/9.9\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
		"POST /metrics HTTP/1.1\r\nContent-Length: 999999999\r\n\r\nabc",
		"GET /%00%ff/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};

	exporter_start(&e, "[exporter]\n");
	for (guint i = 0; i < G_N_ELEMENTS(garbage); i++)
		send_raw(e.port, garbage[i], strlen(garbage[i]));
	send_raw(e.port, "\x00\xff\xfe\x01binary", 10);
	for (guint i = 0; i < 1024 * 1024; i++)
		g_string_append_c(huge, 'a');
	g_string_append(huge, "\r\n\r\n");
	send_raw(e.port, huge->str, huge->len);
	/* and connections that say nothing */
	for (guint i = 0; i < 50; i++)
		send_raw(e.port, "", 0);
	assert_int_equal(http("GET", e.url, &body, NULL), 200);
	assert_non_null(strstr(body, "# TYPE qgatrace_exporter_libvirt_up gauge"));
	exporter_stop(&e);
}

static void
test_client_exporter_privacy(void **state)
{
	Exporter e = {0};
	g_autofree gchar *body = NULL;

	exporter_start(&e, "[exporter]\n[privacy]\ndomains=other;t*\n");
	body = scrape_probed(&e);
	assert_non_null(strstr(body, "qgatrace_agent_up{domain=\"test\"} 0"));
	assert_null(strstr(body, "qgatrace_kernel_log"));
	exporter_stop(&e);
}

static void
test_client_exporter_bad_config(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-exporter-XXXXXX", NULL);
	g_autofree gchar *conf = g_build_filename(dir, "bad.conf", NULL);
	g_autofree gchar *err = NULL;
	g_autoptr(GSubprocess) proc = NULL;

	assert_true(g_file_set_contents(conf, "[exporter]\ninterval=0\n", -1, NULL));
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_PIPE, NULL, g_getenv("QGATRACE_CLIENT"),
				"--connect", "test:///default", "exporter", "--config", conf, NULL);
	assert_non_null(proc);
	assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err, NULL));
	assert_int_equal(g_subprocess_get_exit_status(proc), 1);
	assert_non_null(strstr(err, "interval"));
	g_unlink(conf);
	g_rmdir(dir);
}

/* a panicked guest kept by <on_crash>preserve</on_crash>, as libvirt's test driver can
 * describe one (its runstate, 6: VIR_DOMAIN_CRASHED) */
#define CRASHED_NODE                                                                               \
	"<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"       \
	"<name>crashed-vm</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os>"     \
	"<test:runstate>6</test:runstate></domain></node>"

/* the exporter says crashed and agent down, never "running"; fleet says crashed with a
 * reason that saves the log rather than resume a dead kernel */
static void
test_client_exporter_crashed_domain(void **state)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-crashed-XXXXXX", NULL);
	g_autofree gchar *node = g_build_filename(dir, "node.xml", NULL);
	g_autofree gchar *uri = g_strdup_printf("test://%s", node);
	g_autofree gchar *body = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(GSubprocess) fleet = NULL;
	g_autoptr(JsonNode) rows = NULL;
	JsonObject *row;
	Exporter e = {0};

	assert_true(g_file_set_contents(node, CRASHED_NODE, -1, NULL));
	exporter_start_on(&e, uri, "[exporter]\n");
	body = scrape_probed_domain(&e, "crashed-vm");
	assert_non_null(strstr(body, "\nqgatrace_agent_up{domain=\"crashed-vm\"} 0\n"));
	assert_non_null(strstr(
		body, "\nqgatrace_domain_state{domain=\"crashed-vm\",state=\"crashed\"} 1\n"));
	assert_non_null(strstr(body, "\nqgatrace_exporter_domains_watched 1\n"));
	assert_help_and_type(body);
	exporter_stop(&e);

	fleet = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, NULL, g_getenv("QGATRACE_CLIENT"),
				 "--connect", uri, "--json", "fleet", NULL);
	assert_non_null(fleet);
	assert_true(g_subprocess_communicate_utf8(fleet, NULL, NULL, &out, NULL, NULL));
	rows = json_from_string(out, NULL);
	assert_non_null(rows);
	assert_int_equal(json_array_get_length(json_node_get_array(rows)), 1);
	row = json_array_get_object_element(json_node_get_array(rows), 0);
	assert_string_equal(json_object_get_string_member(row, "state"), "crashed");
	assert_false(json_object_get_boolean_member(row, "reachable"));
	assert_non_null(strstr(json_object_get_string_member(row, "reason"), "panicked"));
	assert_non_null(strstr(json_object_get_string_member(row, "reason"), "--save-dir"));
	assert_null(strstr(json_object_get_string_member(row, "reason"), "resume"));
	g_unlink(node);
	g_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_exporter_metrics),
		cmocka_unit_test(test_client_exporter_paths),
		cmocka_unit_test(test_client_exporter_garbage),
		cmocka_unit_test(test_client_exporter_privacy),
		cmocka_unit_test(test_client_exporter_bad_config),
		cmocka_unit_test(test_client_exporter_crashed_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
