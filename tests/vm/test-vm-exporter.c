/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace exporter and fleet against a real libvirtd (vm-libvirt.c) with
 * three transient domains: the harness's guest with qgatrace-agent on
 * org.qemu.guest_agent.0, a second domain whose agent channel has no
 * agent behind it, and a third that panics (an ISA pvpanic device,
 * <vmcoreinfo state='on'/>, <on_crash>preserve</on_crash>). The exporter
 * runs with --panic-dir. Debian's prometheus server, started here with a
 * 1-second scrape interval on free ports, scrapes the exporter:
 *   - its query API returns qgatrace_agent_up 1 and 0 for the two;
 *   - after qgatrace --domain snapshot, the first shows a verified freeze;
 *   - promtool check metrics finds nothing wrong in a scrape;
 *   - with the guest frozen, and with its agent SIGSTOPped, a scrape still
 *     takes under a second (the probes wait, not the scrape);
 *   - qgatrace fleet --json says reachable for the first, and for the
 *     second not, with the doctor's reason;
 *   - the third writes a marker to /dev/kmsg and crashes (sysrq c): the
 *     exporter saves its kernel log (the panic and the marker) as .log and
 *     .json in the panic dir, Prometheus sees qgatrace_guest_panics_total 1
 *     and the state crashed, fleet says crashed, and the domain stays
 *     crashed: the exporter neither resumes nor destroys it.
 * Exit 77 (skip) only where libvirtd or the guest image cannot be had. */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "vm-libvirt.h"
#include "vm-run.h"

#define URI  VM_LIBVIRT_URI
#define DATA "/mnt/data"
#define SKIP 77

/* the one timing assertion: a scrape never waits on a guest */
#define SCRAPE_MAX_S 1.0

/* TCG on a loaded machine: the crash, libvirt's event and a dump of the guest's RAM */
#define PANIC_SAVED_S 300

static struct {
	gboolean skip;
	VmLibvirt *libvirt;
	const gchar *domain; /* with qgatrace-agent */
	gchar *silent;	     /* the second: no agent on its channel */
	VmLibvirt *crashing; /* the third: it panics */
	gchar *dir;	     /* prometheus's config and data */
	gchar *panic_dir;    /* the exporter's --panic-dir, in dir */
	GSubprocess *exporter;
	gchar *metrics_url;
	GSubprocess *prometheus;
	gchar *query_url; /* http://127.0.0.1:PORT/api/v1/query */
	SoupSession *http;
} ex;

static gchar *
sh(const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	gchar *out = vm_guest_shell_ok(vm_libvirt_get_guest(ex.libvirt), cmd, &error);

	if (out == NULL)
		fail_msg("guest command '%s': %s", cmd, error->message);
	return out;
}

/* GET @url: the body of a 200, or NULL with @error; how long it took in @seconds */
static gchar *
http_try_get(const gchar *url, gdouble *seconds, GError **error)
{
	g_autoptr(SoupMessage) msg = soup_message_new("GET", url);
	g_autoptr(GBytes) body = NULL;
	gint64 start = g_get_monotonic_time();

	body = soup_session_send_and_read(ex.http, msg, NULL, error);
	if (seconds != NULL)
		*seconds = (g_get_monotonic_time() - start) / 1e6;
	if (body == NULL)
		return NULL;
	if (soup_message_get_status(msg) != 200) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "status %u",
			    soup_message_get_status(msg));
		return NULL;
	}
	return g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
}

static gchar *
http_get(const gchar *url, gdouble *seconds)
{
	g_autoptr(GError) error = NULL;
	gchar *body = http_try_get(url, seconds, &error);

	if (body == NULL)
		fail_msg("GET %s: %s", url, error->message);
	return body;
}

/* a free TCP port on 127.0.0.1 (for prometheus, which takes no port 0) */
static guint16
free_port(void)
{
	g_autoptr(GSocketListener) listener = g_socket_listener_new();
	guint16 port = g_socket_listener_add_any_inet_port(listener, NULL, NULL);

	assert_true(port > 0);
	g_socket_listener_close(listener);
	return port;
}

/* Prometheus's value of @promql for the domain @domain, or NULL when it has none yet */
static gchar *
query_value(const gchar *promql, const gchar *domain)
{
	g_autofree gchar *escaped = g_uri_escape_string(promql, NULL, FALSE);
	g_autofree gchar *url = g_strdup_printf("%s?query=%s", ex.query_url, escaped);
	g_autofree gchar *body = http_get(url, NULL);
	g_autoptr(JsonNode) node = json_from_string(body, NULL);
	JsonArray *result;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		fail_msg("prometheus: not JSON: %s", body);
	result = json_object_get_array_member(
		json_object_get_object_member(json_node_get_object(node), "data"), "result");
	for (guint i = 0; result != NULL && i < json_array_get_length(result); i++) {
		JsonObject *sample = json_array_get_object_element(result, i);
		JsonObject *metric = json_object_get_object_member(sample, "metric");

		if (g_strcmp0(json_object_get_string_member_with_default(metric, "domain", ""),
			      domain) == 0)
			return g_strdup(json_array_get_string_element(
				json_object_get_array_member(sample, "value"), 1));
	}
	return NULL;
}

/* waits up to @timeout_s for Prometheus to say @want for @promql of @domain */
static void
wait_value(const gchar *promql, const gchar *domain, const gchar *want, guint timeout_s)
{
	g_autofree gchar *last = NULL;

	for (guint i = 0; i < timeout_s * 2; i++) {
		g_free(last);
		last = query_value(promql, domain);
		if (g_strcmp0(last, want) == 0)
			return;
		g_usleep(500 * 1000);
	}
	fail_msg("prometheus: %s for '%s' is %s after %u s, not %s", promql, domain,
		 last != NULL ? last : "absent", timeout_s, want);
}

/* a scrape of the exporter, timed */
static gchar *
scrape_timed(void)
{
	gdouble seconds = 0;
	gchar *body = http_get(ex.metrics_url, &seconds);

	if (seconds >= SCRAPE_MAX_S)
		fail_msg("a scrape took %.2f s", seconds);
	return body;
}

/* scrapes every half second for @duration_s, each under a second */
static void
scrape_fast_for(guint duration_s)
{
	for (guint i = 0; i < duration_s * 2; i++) {
		g_free(scrape_timed());
		g_usleep(500 * 1000);
	}
}

/* ---- setup ---- */

/* the second domain: the harness's kernel, an agent channel and nothing behind it */
static gboolean
start_silent_domain(const gchar *image_dir, GError **error)
{
	g_autofree gchar *xml_path = g_build_filename(ex.dir, "silent.xml", NULL);
	g_autofree gchar *err = NULL;
	g_autofree gchar *xml = g_strdup_printf(
		"<domain type='qemu'><name>%s</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>"
		"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s/vmlinuz</kernel>"
		"<initrd>%s/initramfs.img</initrd>"
		"<cmdline>console=ttyS0 panic=-1 qgatrace.agents=none</cmdline></os>"
		"<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
		"<on_crash>destroy</on_crash><devices>"
		"<emulator>/usr/bin/qemu-system-x86_64</emulator>"
		"<controller type='virtio-serial' index='0'/>"
		"<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
		"<memballoon model='none'/></devices>"
		"<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>"
		"</domain>",
		ex.silent, image_dir, image_dir);

	if (!g_file_set_contents(xml_path, xml, -1, error))
		return FALSE;
	if (vm_libvirt_run((const gchar *[]){"virsh", "-c", URI, "create", xml_path, NULL}, NULL,
			   &err) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "virsh create: %s", err);
		return FALSE;
	}
	return TRUE;
}

static gboolean
start_exporter(GError **error)
{
	const gchar *argv[] = {vm_run_client_path(), "--connect",  URI,		  "--timeout",	"5",
			       "exporter",	     "--listen",   "127.0.0.1:0", "--interval", "2",
			       "--panic-dir",	     ex.panic_dir, NULL};
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autofree gchar *log = g_build_filename(ex.dir, "exporter.log", NULL);
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree gchar *line = NULL;

	g_subprocess_launcher_set_stderr_file_path(launcher, log);
	ex.exporter = g_subprocess_launcher_spawnv(launcher, argv, error);
	if (ex.exporter == NULL)
		return FALSE;
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(ex.exporter));
	line = g_data_input_stream_read_line(out, NULL, NULL, error);
	if (line == NULL || !g_str_has_prefix(line, "listening on http://")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the exporter said '%s'",
			    line != NULL ? line : "nothing");
		return FALSE;
	}
	ex.metrics_url = g_strdup(line + strlen("listening on "));
	return TRUE;
}

static gboolean
start_prometheus(GError **error)
{
	g_autofree gchar *config = g_build_filename(ex.dir, "prometheus.yml", NULL);
	g_autofree gchar *data = g_build_filename(ex.dir, "data", NULL);
	g_autofree gchar *log = g_build_filename(ex.dir, "prometheus.log", NULL);
	g_autofree gchar *target = g_strndup(ex.metrics_url + strlen("http://"),
					     strlen(ex.metrics_url) - strlen("http:///metrics"));
	g_autofree gchar *text = g_strdup_printf("global:\n"
						 "  scrape_interval: 1s\n"
						 "  scrape_timeout: 1s\n"
						 "scrape_configs:\n"
						 "  - job_name: qgatrace\n"
						 "    static_configs:\n"
						 "      - targets: ['%s']\n",
						 target);
	guint16 port = free_port();
	g_autofree gchar *config_arg = g_strdup_printf("--config.file=%s", config);
	g_autofree gchar *data_arg = g_strdup_printf("--storage.tsdb.path=%s", data);
	g_autofree gchar *listen_arg = g_strdup_printf("--web.listen-address=127.0.0.1:%u", port);
	const gchar *argv[] = {"prometheus", config_arg, data_arg, listen_arg, NULL};
	g_autoptr(GSubprocessLauncher) launcher =
		g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_autofree gchar *ready = NULL;
	g_autofree gchar *program = g_find_program_in_path("prometheus");

	if (program == NULL) {
		/* tests/install-deps installs it: missing is a failure, not a skip */
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "prometheus is not installed (Debian's prometheus package)");
		return FALSE;
	}
	if (!g_file_set_contents(config, text, -1, error))
		return FALSE;
	g_subprocess_launcher_set_stdout_file_path(launcher, log);
	g_subprocess_launcher_set_stderr_file_path(launcher, log);
	ex.prometheus = g_subprocess_launcher_spawnv(launcher, argv, error);
	if (ex.prometheus == NULL)
		return FALSE;
	ex.query_url = g_strdup_printf("http://127.0.0.1:%u/api/v1/query", port);
	ready = g_strdup_printf("http://127.0.0.1:%u/-/ready", port);
	for (guint i = 0; i < 600; i++) {
		g_autofree gchar *body = NULL;

		g_clear_error(error);
		if ((body = http_try_get(ready, NULL, error)) != NULL)
			return TRUE;
		g_usleep(100 * 1000);
	}
	g_prefix_error(error, "prometheus was not ready within 60 s: ");
	return FALSE;
}

static int
group_setup(void **state)
{
	g_autoptr(GError) error = NULL;
	const gchar *image_dir = vm_guest_build_image(&error);

	if (image_dir != NULL)
		ex.libvirt = vm_libvirt_start_layout(image_dir, "qgatrace-exporter",
						     "qgatrace.agents=none",
						     VM_LIBVIRT_NO_QGATRACE_PORT, &error);
	if (ex.libvirt == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		ex.skip = TRUE;
		g_printerr("skipping the exporter tests: %s\n", error->message);
		return 0;
	}
	if (ex.libvirt == NULL) {
		g_printerr("# setting up: %s\n", error->message);
		return -1;
	}
	ex.domain = vm_libvirt_get_domain(ex.libvirt);
	ex.silent = g_strdup_printf("qgatrace-silent-%d", (gint)getpid());
	ex.dir = g_dir_make_tmp("qgatrace-exporter-XXXXXX", &error);
	ex.panic_dir = ex.dir != NULL ? g_build_filename(ex.dir, "panics", NULL) : NULL;
	ex.http = soup_session_new_with_options("timeout", 30, NULL);
	g_free(sh("qgatrace-agent -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 "
		  "-t /run -v </dev/null >>/run/qgatrace-agent.log 2>&1 & sleep 0.5; "
		  "pidof qgatrace-agent"));
	if (ex.dir == NULL || !start_silent_domain(image_dir, &error) ||
	    (ex.crashing = vm_libvirt_start_beside(ex.libvirt, image_dir, "qgatrace-crashing",
						   "qgatrace.agents=none",
						   VM_LIBVIRT_PANIC_PRESERVE, &error)) == NULL ||
	    !start_exporter(&error) || !start_prometheus(&error)) {
		g_printerr("# setting up: %s\n", error->message);
		return -1;
	}
	return 0;
}

static void
stop_process(GSubprocess **proc)
{
	if (*proc == NULL)
		return;
	g_subprocess_send_signal(*proc, SIGTERM);
	g_subprocess_wait(*proc, NULL, NULL);
	g_clear_object(proc);
}

/* everything under @path, then @path */
static void
remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *entry;

	while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, entry, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

static int
group_teardown(void **state)
{
	g_autofree gchar *log = NULL;
	g_autofree gchar *log_path =
		ex.dir != NULL ? g_build_filename(ex.dir, "exporter.log", NULL) : NULL;

	stop_process(&ex.prometheus);
	stop_process(&ex.exporter);
	if (log_path != NULL && g_file_get_contents(log_path, &log, NULL, NULL))
		g_printerr("---- exporter's stderr ----\n%s", log);
	if (ex.silent != NULL)
		vm_libvirt_run((const gchar *[]){"virsh", "-c", URI, "destroy", ex.silent, NULL},
			       NULL, NULL);
	if (ex.dir != NULL)
		remove_tree(ex.dir);
	/* before the first: it stops libvirtd */
	g_clear_pointer(&ex.crashing, vm_libvirt_free);
	g_clear_pointer(&ex.libvirt, vm_libvirt_free);
	g_clear_object(&ex.http);
	g_clear_pointer(&ex.silent, g_free);
	g_clear_pointer(&ex.dir, g_free);
	g_clear_pointer(&ex.panic_dir, g_free);
	g_clear_pointer(&ex.metrics_url, g_free);
	g_clear_pointer(&ex.query_url, g_free);
	return 0;
}

/* ---- the tests, in order ---- */

static void
skip_if_unsupported(void)
{
	if (ex.skip)
		skip();
}

static void
test_exporter_agent_up(void **state)
{
	skip_if_unsupported();
	wait_value("qgatrace_agent_up", ex.domain, "1", 180);
	wait_value("qgatrace_agent_up", ex.silent, "0", 60);
	wait_value("qgatrace_agent_up", vm_libvirt_get_domain(ex.crashing), "0", 60);
	wait_value("qgatrace_exporter_domains_watched", "", "3", 30);
}

static void
test_exporter_verified_freeze(void **state)
{
	g_autoptr(VmRun) snap = NULL;
	g_autofree gchar *frozen_s = NULL;

	skip_if_unsupported();
	snap = vm_run_client("--domain", ex.domain, "--connect", URI, "snapshot", "-m", DATA, NULL);
	if (snap->status != 0)
		fail_msg("snapshot: %d: %s%s", snap->status, snap->out, snap->err);
	assert_non_null(strstr(snap->out, "snapshot VERIFIED"));
	wait_value("qgatrace_freezes_total{result=\"verified\"} >= bool 1", ex.domain, "1", 60);
	wait_value("qgatrace_trace_last_verified", ex.domain, "1", 30);
	frozen_s = query_value("qgatrace_trace_last_frozen_seconds", ex.domain);
	assert_non_null(frozen_s);
	assert_true(g_ascii_strtod(frozen_s, NULL) > 0);
}

static void
test_exporter_promtool(void **state)
{
	g_autofree gchar *body = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *cmd = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = -1;

	skip_if_unsupported();
	body = scrape_timed();
	assert_non_null(strstr(body, "qgatrace_agent_info{domain="));
	assert_non_null(strstr(body, "qgatrace_kernel_log_records_total{domain="));
	path = g_build_filename(ex.dir, "scrape.txt", NULL);
	assert_true(g_file_set_contents(path, body, -1, NULL));
	cmd = g_strdup_printf("sh -c 'promtool check metrics < %s'", path);
	assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
	if (status != 0 || out[0] != '\0' || err[0] != '\0')
		fail_msg("promtool check metrics: %d: %s%s", status, out, err);
}

static JsonObject *
fleet_row(JsonArray *rows, const gchar *domain)
{
	for (guint i = 0; i < json_array_get_length(rows); i++) {
		JsonObject *row = json_array_get_object_element(rows, i);

		if (g_strcmp0(json_object_get_string_member(row, "domain"), domain) == 0)
			return row;
	}
	fail_msg("fleet has no row for '%s'", domain);
	return NULL;
}

static void
test_fleet_json(void **state)
{
	g_autoptr(VmRun) fleet = NULL;
	g_autoptr(JsonNode) node = NULL;
	JsonObject *up;
	JsonObject *down;

	skip_if_unsupported();
	fleet = vm_run_client("--connect", URI, "--timeout", "5", "--json", "fleet", NULL);
	if (fleet->status != 0)
		fail_msg("fleet: %d: %s%s", fleet->status, fleet->out, fleet->err);
	node = json_from_string(fleet->out, NULL);
	assert_non_null(node);
	assert_true(JSON_NODE_HOLDS_ARRAY(node));
	up = fleet_row(json_node_get_array(node), ex.domain);
	down = fleet_row(json_node_get_array(node), ex.silent);
	assert_string_equal(json_object_get_string_member(up, "state"), "running");
	assert_true(json_object_get_boolean_member(up, "reachable"));
	assert_string_equal(json_object_get_string_member(up, "agent"), "qgatrace-agent");
	assert_true(json_object_get_null_member(up, "reason"));
	assert_false(json_object_get_boolean_member(up, "frozen"));
	assert_true(json_object_get_boolean_member(up, "last-verified"));
	assert_string_equal(json_object_get_string_member(down, "state"), "running");
	assert_false(json_object_get_boolean_member(down, "reachable"));
	assert_true(json_object_get_null_member(down, "agent"));
	assert_non_null(strstr(json_object_get_string_member(down, "reason"), "channel"));
	assert_true(json_object_get_null_member(down, "last-verified"));
}

static void
test_exporter_scrape_fast_while_frozen(void **state)
{
	g_autoptr(VmRun) freeze = NULL;
	g_autoptr(VmRun) thaw = NULL;

	skip_if_unsupported();
	freeze = vm_run_client("--domain", ex.domain, "--connect", URI, "freeze", "-m", DATA, NULL);
	if (freeze->status != 0)
		fail_msg("freeze: %d: %s%s", freeze->status, freeze->out, freeze->err);
	wait_value("qgatrace_fsfreeze_frozen", ex.domain, "1", 30);
	scrape_fast_for(6);
	thaw = vm_run_client("--domain", ex.domain, "--connect", URI, "thaw", NULL);
	assert_int_equal(thaw->status, 0);
	wait_value("qgatrace_fsfreeze_frozen", ex.domain, "0", 30);
}

static void
test_exporter_scrape_fast_while_agent_stopped(void **state)
{
	skip_if_unsupported();
	g_free(sh("kill -STOP $(pidof qgatrace-agent)"));
	/* the probes now wait out their timeout on the agent; the scrapes must not */
	scrape_fast_for(12);
	wait_value("qgatrace_agent_up", ex.domain, "0", 60);
	scrape_fast_for(2);
	g_free(sh("kill -CONT $(pidof qgatrace-agent)"));
	wait_value("qgatrace_agent_up", ex.domain, "1", 90);
}

/* libvirt's state of @domain (virsh domstate --reason), e.g. "crashed (panicked)" */
static gchar *
virsh_state(const gchar *domain)
{
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	if (vm_libvirt_run((const gchar *[]){"virsh", "-c", URI, "domstate", "--reason", domain,
					     NULL},
			   &out, &err) != 0)
		fail_msg("virsh domstate %s: %s", domain, err);
	return g_strdup(g_strstrip(out));
}

/* the .log of the first capture in the panic dir, once its .json is there (written last) */
static gchar *
wait_panic_log(const gchar *domain, guint timeout_s)
{
	g_autofree gchar *prefix = g_strdup_printf("%s-", domain);

	for (guint i = 0; i < timeout_s * 2; i++) {
		g_autoptr(GDir) dir = g_dir_open(ex.panic_dir, 0, NULL);
		const gchar *entry;

		while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL) {
			if (g_str_has_prefix(entry, prefix) && g_str_has_suffix(entry, ".json")) {
				g_autofree gchar *base =
					g_strndup(entry, strlen(entry) - strlen(".json"));

				return g_strdup_printf("%s/%s.log", ex.panic_dir, base);
			}
		}
		g_usleep(500 * 1000);
	}
	fail_msg("no panic log of '%s' in %s within %u s (domain: %s)", domain, ex.panic_dir,
		 timeout_s, virsh_state(domain));
	return NULL;
}

static void
test_exporter_guest_panic(void **state)
{
	const gchar *domain = NULL;
	g_autofree gchar *marker = g_strdup_printf("qgatrace-exporter-marker-%d", (gint)getpid());
	g_autofree gchar *log_path = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(VmRun) fleet = NULL;
	g_autoptr(JsonNode) node = NULL;
	JsonObject *row;

	skip_if_unsupported();
	domain = vm_libvirt_get_domain(ex.crashing);
	wait_value("qgatrace_guest_panics_total", domain, "0", 30);
	if (!vm_libvirt_crash(ex.crashing, marker, &error))
		fail_msg("%s", error->message);

	/* the exporter saw libvirt's crashed event and saved the log by itself */
	log_path = wait_panic_log(domain, PANIC_SAVED_S);
	g_printerr("# the exporter saved %s\n", log_path);
	if (!vm_libvirt_check_panic_log(log_path, marker, domain, &error))
		fail_msg("%s", error->message);
	assert_true(g_file_get_contents(log_path, &log, NULL, NULL));
	assert_non_null(strstr(log, "Kernel panic"));
	wait_value("qgatrace_guest_panics_total", domain, "1", 60);
	wait_value("qgatrace_domain_state{state=\"crashed\"}", domain, "1", 60);
	wait_value("qgatrace_agent_up", domain, "0", 30);

	/* fleet: crashed, unreachable, and the reason says to save the log, not to resume */
	fleet = vm_run_client("--connect", URI, "--timeout", "5", "--json", "fleet", NULL);
	if (fleet->status != 0)
		fail_msg("fleet: %d: %s%s", fleet->status, fleet->out, fleet->err);
	node = json_from_string(fleet->out, NULL);
	assert_non_null(node);
	row = fleet_row(json_node_get_array(node), domain);
	assert_string_equal(json_object_get_string_member(row, "state"), "crashed");
	assert_false(json_object_get_boolean_member(row, "reachable"));
	assert_non_null(strstr(json_object_get_string_member(row, "reason"), "panicked"));

	/* left as libvirt's policy says: the exporter's probes and capture neither resumed
	 * nor destroyed it, now and after more probes (--interval 2) */
	before = virsh_state(domain);
	g_printerr("# %s: %s\n", domain, before);
	assert_true(g_str_has_prefix(before, "crashed"));
	g_usleep(6 * G_USEC_PER_SEC);
	after = virsh_state(domain);
	assert_string_equal(after, before);
	wait_value("qgatrace_guest_panics_total", domain, "1", 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exporter_agent_up),
		cmocka_unit_test(test_exporter_verified_freeze),
		cmocka_unit_test(test_exporter_promtool),
		cmocka_unit_test(test_fleet_json),
		cmocka_unit_test(test_exporter_scrape_fast_while_frozen),
		cmocka_unit_test(test_exporter_scrape_fast_while_agent_stopped),
		cmocka_unit_test(test_exporter_guest_panic),
	};
	gint rc = cmocka_run_group_tests_name("exporter", tests, group_setup, group_teardown);

	return ex.skip ? SKIP : rc;
}
