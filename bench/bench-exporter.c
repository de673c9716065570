/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-exporter: qgatrace exporter's scrape time and RSS with 200 domains whose agents all
 * hang. No guest: the domains are libvirt's test driver's (test:///FILE, a node of 200
 * running domains, in the exporter's own process), each with an org.qgatrace.0 unix channel
 * whose socket this program listens on and never accepts: the exporter's connect succeeds,
 * its handshake is never answered, and every probe waits out its timeout (--timeout 2), the
 * way a SIGSTOPped or wedged agent behaves. The scrapes are taken while those probes run.
 *
 *   bench-exporter [--quick|--smoke]
 *
 * Needs $QGATRACE_CLIENT (bench/run sets it) or the client next to it in the build tree.
 * One JSON line per result on stdout (bench/README.md); exit 1 on failure. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "bench-common.h"

#define BENCH_DOMAINS  200
#define BENCH_WORKLOAD "exporter"

/* a unix socket listening at @path that nobody accepts on: a hung agent */
static gint
bench_hung_agent(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gint fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s': %s", path,
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* the test driver's node: BENCH_DOMAINS running domains, each with its hung channel */
static gchar *
bench_node_xml(const gchar *dir, GArray *fds, GError **error)
{
	g_autoptr(GString) xml = g_string_new("<node>\n");

	for (guint i = 0; i < BENCH_DOMAINS; i++) {
		g_autofree gchar *sock = g_strdup_printf("%s/a%03u.sock", dir, i);
		gint fd = bench_hung_agent(sock, error);

		if (fd < 0)
			return NULL;
		g_array_append_val(fds, fd);
		g_string_append_printf(
			xml,
			"<domain type='test'><name>sim-%03u</name><memory>65536</memory>"
			"<os><type>hvm</type></os><devices><channel type='unix'>"
			"<source mode='bind' path='%s'/><target type='virtio' name='org.qgatrace.0'/>"
			"</channel></devices></domain>\n",
			i, sock);
	}
	g_string_append(xml, "</node>\n");
	return g_string_free(g_steal_pointer(&xml), FALSE);
}

static const gchar *
bench_client_path(void)
{
	const gchar *env = g_getenv("QGATRACE_CLIENT");

	return env != NULL ? env : BENCH_BUILD_DIR "/host-client/qgatrace";
}

/* the exporter's VmRSS in KiB, or 0 */
static guint64
bench_rss_kib(GSubprocess *proc)
{
	g_autofree gchar *path =
		g_strdup_printf("/proc/%s/status", g_subprocess_get_identifier(proc));
	g_autofree gchar *text = NULL;
	const gchar *line;

	if (!g_file_get_contents(path, &text, NULL, NULL) ||
	    (line = strstr(text, "\nVmRSS:")) == NULL)
		return 0;
	return g_ascii_strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}

static gchar *
bench_get(SoupSession *session, const gchar *url, gdouble *ms, GError **error)
{
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
	gint64 start = g_get_monotonic_time();
	g_autoptr(GBytes) body = soup_session_send_and_read(session, msg, NULL, error);

	*ms = (g_get_monotonic_time() - start) / 1000.0;
	if (body == NULL)
		return NULL;
	return g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
}

/* the scrapes, while every probe waits on its hung agent, and the rows */
static gboolean
bench_measure(GSubprocess *proc, guint scrapes, GError **error)
{
	g_autoptr(GDataInputStream) out =
		g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	g_autoptr(GArray) samples = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(SoupSession) session = soup_session_new_with_options("timeout", 30, NULL);
	g_autofree gchar *line = g_data_input_stream_read_line(out, NULL, NULL, error);
	g_autofree gchar *note = NULL;
	const gchar *url;

	if (line == NULL)
		return FALSE;
	if (!g_str_has_prefix(line, "listening on ")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the exporter said '%s'", line);
		return FALSE;
	}
	url = line + strlen("listening on ");
	g_usleep(3 * G_USEC_PER_SEC);
	for (guint i = 0; i < scrapes; i++) {
		gdouble ms = 0;
		g_autofree gchar *body = bench_get(session, url, &ms, error);

		if (body == NULL)
			return FALSE;
		if (strstr(body, "qgatrace_exporter_domains_watched " G_STRINGIFY(BENCH_DOMAINS) "\n") == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "the exporter does not watch %d domains", BENCH_DOMAINS);
			return FALSE;
		}
		g_array_append_val(samples, ms);
		g_usleep(200 * 1000);
	}
	note = g_strdup_printf(
		"%d simulated domains (libvirt's test driver, test:///FILE), each with an "
		"org.qgatrace.0 socket that never answers: every probe waits out --timeout 2, 8 at a "
		"time; scrapes while they wait",
		BENCH_DOMAINS);
	bench_result_print(&(BenchResult){BENCH_WORKLOAD, "scrape p50, 200 hung agents", "ms",
					  bench_median(samples), NULL, 0, "value <= 1000",
					  samples->len, note});
	bench_result_print(&(BenchResult){BENCH_WORKLOAD, "scrape p99, 200 hung agents", "ms",
					  bench_percentile(samples, 99), NULL, 0, "value <= 1000",
					  samples->len, note});
	bench_result_print(&(BenchResult){BENCH_WORKLOAD, "exporter RSS, 200 domains", "KiB",
					  (gdouble)bench_rss_kib(proc), NULL, 0, NULL, 1,
					  "VmRSS after the scrapes"});
	return TRUE;
}

static gboolean
bench_run(guint scrapes, GError **error)
{
	g_autofree gchar *dir = g_dir_make_tmp("qgatrace-bench-exporter-XXXXXX", error);
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(gint));
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *xml = NULL;
	g_autofree gchar *node = NULL;
	g_autofree gchar *uri = NULL;
	g_autofree gchar *conf = NULL;
	gboolean ok = FALSE;

	if (dir == NULL)
		return FALSE;
	node = g_build_filename(dir, "node.xml", NULL);
	conf = g_build_filename(dir, "exporter.conf", NULL);
	uri = g_strdup_printf("test://%s", node);
	xml = bench_node_xml(dir, fds, error);
	if (xml != NULL && g_file_set_contents(node, xml, -1, error) &&
	    g_file_set_contents(conf, "[exporter]\nparallel=8\n", -1, error))
		proc = g_subprocess_new(
			G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, error,
			bench_client_path(), "--connect", uri, "--timeout", "2", "exporter",
			"--config", conf, "--listen", "127.0.0.1:0", "--interval", "1", NULL);
	if (proc != NULL) {
		ok = bench_measure(proc, scrapes, error);
		g_subprocess_send_signal(proc, SIGTERM);
		g_subprocess_wait(proc, NULL, NULL);
	}
	for (guint i = 0; i < fds->len; i++) {
		g_autofree gchar *sock = g_strdup_printf("%s/a%03u.sock", dir, i);

		close(g_array_index(fds, gint, i));
		g_unlink(sock);
	}
	g_unlink(node);
	g_unlink(conf);
	g_rmdir(dir);
	return ok;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	guint scrapes = 50;

	if (argc > 1 && g_strcmp0(argv[1], "--quick") == 0)
		scrapes = 20;
	else if (argc > 1 && g_strcmp0(argv[1], "--smoke") == 0)
		scrapes = 5;
	if (!bench_run(scrapes, &error)) {
		g_printerr("bench-exporter: %s\n", error != NULL ? error->message : "failed");
		return 1;
	}
	return 0;
}
