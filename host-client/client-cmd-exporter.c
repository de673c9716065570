/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <libsoup/soup.h>

#include "client-commands.h"
#include "client-exporter.h"
#include "client-metrics.h"
#include "client-output.h"
#include "client-panic.h"

static const gchar exporter_summary[] =
	"A daemon for Prometheus: follows every running domain of the libvirt connection through\n"
	"libvirt's events (started, stopped, crashed; the agent connecting and disconnecting),\n"
	"probes each in the background (agent up and its ping, frozen, tracing, the newest trace\n"
	"session's verdict, kernel log records by level), at most PARALLEL at once and each within\n"
	"--timeout, and serves the last results on http://ADDR:PORT/metrics. A scrape never waits\n"
	"on a guest: a hung or frozen agent only ages its domain's results\n"
	"(qgatrace_probe_result_age_seconds).";

static const gchar exporter_description[] =
	"Configuration: " CLIENT_EXPORTER_DEFAULT_CONFIG " when it exists (a GKeyFile):\n"
	"  [exporter] connect=URI listen=ADDR:PORT interval=SECONDS timeout=SECONDS parallel=N\n"
	"             panic-dir=DIR kernel-log=true|false kernel-log-level=0-7\n"
	"  [privacy]  domains=GLOB;GLOB;...  no guest-derived label values (agent kind and\n"
	"             version) and no kernel log reading for these domains\n"
	"The command line wins over the file; --timeout is each domain's probe budget\n"
	"(default 10 s).\n\n"
	"Metrics: qgatrace_agent_up, qgatrace_agent_ping_seconds, qgatrace_agent_info,\n"
	"  qgatrace_fsfreeze_frozen, qgatrace_trace_available, qgatrace_trace_last_verified,\n"
	"  qgatrace_trace_last_frozen_seconds, qgatrace_trace_last_timestamp_seconds,\n"
	"  qgatrace_freezes_total{result}, qgatrace_kernel_log_records_total{level},\n"
	"  qgatrace_guest_panics_total, qgatrace_probe_*, qgatrace_exporter_*; all with a domain\n"
	"  label but the exporter's own. Other paths answer 404.\n\n"
	"Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot start (libvirt, the port);\n"
	"2 usage.\n\n"
	"Examples:\n"
	"  qgatrace --connect qemu:///system exporter --listen 0.0.0.0:9919\n"
	"  qgatrace exporter --config /etc/qgatrace/exporter.conf --panic-dir /var/lib/qgatrace/panics\n";

typedef struct {
	gchar *listen;
	gchar *panic_dir;
	gint interval;
	gchar *config;
} ExporterOptions;

static const GOptionEntry exporter_entries[] = {
	{"listen", 'l', 0, G_OPTION_ARG_STRING, CLIENT_OPTION(ExporterOptions, listen),
	 "serve /metrics on ADDR:PORT (default " CLIENT_EXPORTER_DEFAULT_LISTEN
	 "; port 0: any free one, printed at start)",
	 "ADDR:PORT"},
	{"panic-dir", 0, 0, G_OPTION_ARG_FILENAME, CLIENT_OPTION(ExporterOptions, panic_dir),
	 "save a crashed guest's kernel log into DIR", "DIR"},
	{"interval", 'i', 0, G_OPTION_ARG_INT, CLIENT_OPTION(ExporterOptions, interval),
	 "probe each domain every SECONDS (default 15)", "SECONDS"},
	{"config", 0, 0, G_OPTION_ARG_FILENAME, CLIENT_OPTION(ExporterOptions, config),
	 "read FILE instead of " CLIENT_EXPORTER_DEFAULT_CONFIG, "FILE"},
	{NULL},
};

static gboolean
exporter_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	const ExporterOptions *opts = options;

	if (ctx->domain != NULL || ctx->agent_path != NULL) {
		client_set_usage_error(error, "the exporter follows every domain: no --domain or "
					      "--agent");
		return FALSE;
	}
	if (opts->interval < 0 || opts->interval > 86400) {
		client_set_usage_error(error, "--interval %d is not from 1 to 86400",
				       opts->interval);
		return FALSE;
	}
	return TRUE;
}

/* /metrics; every other path 404, every other method 405 */
static void
exporter_serve(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
	       gpointer user_data)
{
	ClientExporter *exporter = user_data;
	const char *method = soup_server_message_get_method(msg);
	static const gchar not_found[] = "not found: the metrics are at /metrics\n";
	gchar *body;

	if (g_strcmp0(path, "/metrics") != 0) {
		soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, NULL);
		soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, not_found,
						 sizeof(not_found) - 1);
		return;
	}
	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
		soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
		soup_message_headers_append(soup_server_message_get_response_headers(msg), "Allow",
					    "GET, HEAD");
		return;
	}
	body = client_exporter_render(exporter);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, CLIENT_METRICS_CONTENT_TYPE, SOUP_MEMORY_TAKE, body,
					 strlen(body));
}

/* ADDR:PORT, [V6ADDR]:PORT, localhost:PORT or :PORT (every address) */
static gboolean
exporter_listen(SoupServer *server, const gchar *listen, GError **error)
{
	g_autoptr(GSocketConnectable) parsed = NULL;
	g_autoptr(GInetAddress) inet = NULL;
	g_autoptr(GSocketAddress) address = NULL;
	const gchar *host;
	guint16 port;

	if (listen[0] == ':') {
		guint64 any;

		if (!g_ascii_string_to_unsigned(listen + 1, 10, 0, 65535, &any, NULL)) {
			client_set_usage_error(error, "--listen '%s' is not ADDR:PORT", listen);
			return FALSE;
		}
		return soup_server_listen_all(server, (guint)any, 0, error);
	}
	parsed = g_network_address_parse(listen, 0, NULL);
	if (parsed == NULL || strchr(listen, ':') == NULL) {
		client_set_usage_error(error, "--listen '%s' is not ADDR:PORT", listen);
		return FALSE;
	}
	host = g_network_address_get_hostname(G_NETWORK_ADDRESS(parsed));
	port = g_network_address_get_port(G_NETWORK_ADDRESS(parsed));
	if (g_strcmp0(host, "localhost") == 0)
		return soup_server_listen_local(server, port, 0, error);
	inet = g_inet_address_new_from_string(host);
	if (inet == NULL) {
		client_set_usage_error(error, "--listen '%s': '%s' is not an IP address", listen,
				       host);
		return FALSE;
	}
	address = g_inet_socket_address_new(inet, port);
	return soup_server_listen(server, address, 0, error);
}

/* a crashed domain, on the exporter's crash thread: its kernel log is read
 * from memory and saved into --panic-dir; the domain is left as it is */
static void
exporter_on_guest_crash(virConnectPtr conn, virDomainPtr domain, gpointer user_data)
{
	const gchar *dir = user_data;
	g_autofree gchar *log_path = NULL;
	g_autoptr(GError) error = NULL;

	if (!client_panic_capture(conn, domain, dir, &log_path, &error)) {
		g_warning("domain '%s' crashed, its kernel log was not saved: %s",
			  virDomainGetName(domain), error->message);
		return;
	}
	g_message("domain '%s' crashed: kernel log saved to %s", virDomainGetName(domain),
		  log_path);
}

static gboolean
exporter_quit(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

static gboolean
exporter_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	const ExporterOptions *opts = inv->options;
	g_autoptr(ClientExporterConfig) config = client_exporter_config_new();
	g_autoptr(ClientExporter) exporter = NULL;
	g_autoptr(SoupServer) server = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autoslist(GUri) uris = NULL;
	guint signals[2];

	if (opts->config != NULL ||
	    g_file_test(CLIENT_EXPORTER_DEFAULT_CONFIG, G_FILE_TEST_EXISTS)) {
		if (!client_exporter_config_load(
			    config,
			    opts->config != NULL ? opts->config : CLIENT_EXPORTER_DEFAULT_CONFIG,
			    error))
			return FALSE;
	}
	if (ctx->uri != NULL) {
		g_free(config->uri);
		config->uri = g_strdup(ctx->uri);
	}
	if (opts->listen != NULL) {
		g_free(config->listen);
		config->listen = g_strdup(opts->listen);
	}
	if (opts->panic_dir != NULL) {
		g_free(config->panic_dir);
		config->panic_dir = g_strdup(opts->panic_dir);
	}
	if (opts->interval > 0)
		config->interval_s = (guint)opts->interval;
	if (ctx->timeout_ms > 0)
		config->timeout_ms = ctx->timeout_ms;
	if (config->panic_dir != NULL && g_mkdir_with_parents(config->panic_dir, 0750) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "--panic-dir '%s': %s",
			    config->panic_dir, g_strerror(errno));
		return FALSE;
	}
	loop = g_main_loop_new(NULL, FALSE);
	exporter = client_exporter_new(config, error);
	if (exporter == NULL)
		return FALSE;
	if (config->panic_dir != NULL)
		client_exporter_set_crash_func(exporter, exporter_on_guest_crash,
					       config->panic_dir);
	server = soup_server_new("server-header", "qgatrace-exporter ", NULL);
	soup_server_add_handler(server, NULL, exporter_serve, exporter, NULL);
	if (!exporter_listen(server, config->listen, error)) {
		g_prefix_error(error, "cannot listen on '%s': ", config->listen);
		return FALSE;
	}
	uris = soup_server_get_uris(server);
	for (GSList *l = uris; l != NULL; l = l->next) {
		g_autofree gchar *text = g_uri_to_string(l->data);

		client_print("listening on %smetrics\n", text);
	}
	fflush(stdout);
	signals[0] = g_unix_signal_add(SIGTERM, exporter_quit, loop);
	signals[1] = g_unix_signal_add(SIGINT, exporter_quit, loop);
	g_main_loop_run(loop);
	g_source_remove(signals[0]);
	g_source_remove(signals[1]);
	soup_server_disconnect(server);
	return TRUE;
}

const ClientCommand client_cmd_exporter = {
	.name = "exporter",
	.summary = "serve every domain's agent, freeze and kernel log state to Prometheus",
	.help = exporter_summary,
	.help_tail = exporter_description,
	.options = exporter_entries,
	.options_size = sizeof(ExporterOptions),
	.check = exporter_check,
	.run = exporter_run,
};
