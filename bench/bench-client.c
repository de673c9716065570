/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-client: workload 6, the host client. Whole-process times, as a
 * script or an operator pays them (exec, connect, handshake, guest-ping,
 * exit):
 *   - `qgatrace --agent SOCKET ping` on the bench guest's qgatrace.sock;
 *   - on a libvirt domain of the same image (a real libvirtd, vm-libvirt.c),
 *     `virsh qemu-agent-command DOMAIN '{"execute":"guest-ping"}'` (libvirtd
 *     to stock qemu-ga on org.qemu.guest_agent.0) against
 *     `qgatrace --domain DOMAIN ping`, the same path through libvirt's agent
 *     API to the same agent, and `qgatrace --domain DOMAIN --port
 *     org.qgatrace.0 ping`, qgatrace-agent on its own port, the socket taken
 *     from the domain's XML.
 * The bench guest is paused (QMP stop) while the domain runs: one guest at a
 * time on the CPUs. Where libvirtd cannot run, those rows are skip rows that
 * say why.
 */
#include "config.h"

#include <stdio.h>

#include "bench-common.h"
#include "qmp-client.h"
#include "vm-libvirt.h"

#define WORKLOAD   "client"
#define VIRSH_PING "{\"execute\":\"guest-ping\"}"

typedef struct {
	const gchar *client; /* the qgatrace binary */
	guint iterations;
} ClientBench;

/* Returns: @argv's whole-process time in ms, or a negative number with @error */
static gdouble
client_bench_time(const gchar *const *argv, GError **error)
{
	g_autofree gchar *err = NULL;
	gint64 start = bench_now_ns();
	gint status = vm_libvirt_run(argv, NULL, &err);
	gdouble ms = (bench_now_ns() - start) / 1e6;

	if (status != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s %s' exited with %d: %s",
			    argv[0], argv[1], status, g_strstrip(err));
		return -1;
	}
	return ms;
}

/* until @argv succeeds: the agent behind it may still be starting */
static gboolean
client_bench_wait(const gchar *const *argv, GError **error)
{
	for (guint i = 0;; i++) {
		g_autoptr(GError) error_local = NULL;

		if (client_bench_time(argv, &error_local) >= 0)
			return TRUE;
		if (i == 60) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return FALSE;
		}
		g_usleep(G_USEC_PER_SEC);
	}
}

/*
 * Times @ours and @theirs (nullable) alternately, @iterations each after one warm-up
 * run, and prints the row.
 */
static gboolean
client_bench_compare(ClientBench *self, const gchar *metric, const gchar *const *ours,
		     const gchar *const *theirs, const gchar *baseline, const gchar *note,
		     GError **error)
{
	g_autoptr(GArray) ours_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) theirs_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));

	if (!client_bench_wait(ours, error) ||
	    (theirs != NULL && !client_bench_wait(theirs, error)))
		return FALSE;
	for (guint i = 0; i < self->iterations; i++) {
		for (guint k = 0; k < 2; k++) {
			gboolean ours_now = (i + k) % 2 == 0;
			gdouble ms;

			if (!ours_now && theirs == NULL)
				continue;
			ms = client_bench_time(ours_now ? ours : theirs, error);
			if (ms < 0)
				return FALSE;
			g_array_append_val(ours_now ? ours_ms : theirs_ms, ms);
		}
	}
	bench_result_print(&(BenchResult){
		.workload = WORKLOAD,
		.metric = metric,
		.unit = "ms",
		.value = bench_median(ours_ms),
		.baseline = baseline,
		.baseline_value = theirs != NULL ? bench_median(theirs_ms) : 0.0,
		.samples = self->iterations,
		.note = note,
	});
	return TRUE;
}

/* QMP stop on the bench guest; Returns: (transfer full): the monitor, to resume it with */
static QmpClient *
client_bench_pause(BenchContext *ctx, GError **error)
{
	g_autoptr(QmpClient) qmp =
		qmp_client_connect_unix(vm_guest_socket(ctx->guest, "qmp"), 60000, error);
	g_autoptr(JsonNode) stopped = NULL;

	if (qmp == NULL)
		return NULL;
	stopped = qmp_client_execute(qmp, "stop", NULL, error);
	if (stopped == NULL)
		return NULL;
	return g_steal_pointer(&qmp);
}

static gboolean
client_bench_libvirt_rows(ClientBench *self, VmLibvirt *libvirt, GError **error)
{
	const gchar *domain = vm_libvirt_get_domain(libvirt);
	const gchar *virsh[] = {"virsh",    "-c", VM_LIBVIRT_URI, "qemu-agent-command", domain,
				VIRSH_PING, NULL};
	const gchar *via_libvirt[] = {self->client,   "--domain", domain, "--connect",
				      VM_LIBVIRT_URI, "ping",	  NULL};
	const gchar *own_port[] = {self->client,     "--domain",     domain,
				   "--connect",	     VM_LIBVIRT_URI, "--port",
				   "org.qgatrace.0", "ping",	     NULL};

	return client_bench_compare(self, "ping via libvirt (same agent)", via_libvirt, virsh,
				    "virsh qemu-agent-command",
				    "both through libvirtd's agent API to stock qemu-ga on "
				    "org.qemu.guest_agent.0: the clients' own cost",
				    error) &&
	       client_bench_compare(
		       self, "ping, qgatrace-agent port", own_port, virsh,
		       "virsh qemu-agent-command",
		       "qgatrace --port org.qgatrace.0: libvirt only names the socket, "
		       "qgatrace-agent answers; virsh: libvirtd to qemu-ga",
		       error);
}

static void
client_bench_skip_libvirt(const gchar *reason)
{
	bench_skip_print(WORKLOAD, "ping via libvirt (same agent)", reason);
	bench_skip_print(WORKLOAD, "ping, qgatrace-agent port", reason);
}

static gboolean
client_bench_libvirt(BenchContext *ctx, ClientBench *self, GError **error)
{
	const gchar *build = g_getenv("QGATRACE_BENCH_BUILD_DIR");
	g_autofree gchar *image_dir = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(QmpClient) qmp = NULL;
	g_autoptr(JsonNode) resumed = NULL;
	g_autoptr(VmLibvirt) libvirt = NULL;
	gboolean ok;

	if (build == NULL) {
		client_bench_skip_libvirt("QGATRACE_BENCH_BUILD_DIR is not set: bench/run sets it "
					  "(the domain boots <build>/bench/image)");
		return TRUE;
	}
	image_dir = g_build_filename(build, "bench", "image", NULL);
	qmp = client_bench_pause(ctx, error);
	if (qmp == NULL) {
		g_prefix_error(error, "pausing the bench guest: ");
		return FALSE;
	}
	libvirt = vm_libvirt_start(image_dir, "qgatrace-bench", NULL, &error_local);
	if (libvirt != NULL) {
		ok = client_bench_libvirt_rows(self, libvirt, error);
	} else if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		client_bench_skip_libvirt(error_local->message);
		ok = TRUE;
	} else {
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local), "libvirt: ");
		ok = FALSE;
	}
	/* the domain goes before the bench guest runs again */
	g_clear_pointer(&libvirt, vm_libvirt_free);
	resumed = qmp_client_execute(qmp, "cont", NULL, ok ? error : NULL);
	if (resumed == NULL && ok) {
		g_prefix_error(error, "resuming the bench guest: ");
		return FALSE;
	}
	return ok;
}

static gboolean
client_bench_run(BenchContext *ctx, GError **error)
{
	ClientBench self = {
		.client = g_getenv("QGATRACE_CLIENT"),
		.iterations = bench_context_iterations(ctx, 20, 8, 2),
	};
	const gchar *socket = vm_guest_socket(ctx->guest, "qgatrace");
	const gchar *on_socket[] = {self.client, "--agent", socket, "ping", NULL};

	if (self.client == NULL || self.client[0] == '\0') {
		g_set_error_literal(
			error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"QGATRACE_CLIENT is not set: bench/run sets it to the qgatrace binary");
		return FALSE;
	}
	if (!client_bench_compare(&self, "ping on the socket", on_socket, NULL, NULL,
				  "the bench guest's qgatrace.sock, no libvirt", error))
		return FALSE;
	return client_bench_libvirt(ctx, &self, error);
}

int
main(int argc, char **argv)
{
	return bench_main(argc, argv, "bench-client", client_bench_run);
}
