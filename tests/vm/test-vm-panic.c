/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest kernel panic saved by client_panic_capture() (host-client/client-panic.c) under
 * a real libvirtd: vm-libvirt.c boots the harness's guest as a transient domain with an
 * ISA pvpanic device, <vmcoreinfo state='on'/> and <on_crash>preserve</on_crash>. The
 * guest writes a marker to /dev/kmsg and crashes itself (sysrq c); the test waits for
 * libvirt's crashed lifecycle event (its default event loop on a thread of its own, as a
 * daemon would run it), captures from a worker thread, and checks the .log and .json and
 * that the domain is still crashed (paused), not resumed. Exit 77 (skip) only where
 * libvirtd or the guest image cannot be had. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "client-panic.h"
#include "vm-libvirt.h"

#define SKIP 77
/* TCG under a loaded machine: the crash and libvirt's event can take a while */
#define CRASH_WAIT_S 180

static struct {
	gboolean skip;
	VmLibvirt *libvirt;
	virConnectPtr conn;
	virDomainPtr dom;
	gint callback;
	GThread *loop;
	gint loop_stop; /* atomic */
	gint tick;	/* the loop's wake-up timer */
	GMutex lock;
	GCond cond;
	gboolean crashed;
	gint crash_detail;
	gchar *dir; /* the panic directory */
} pt;

/* ---- libvirt's events ---- */

static int
lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	if (event != VIR_DOMAIN_EVENT_CRASHED)
		return 0;
	g_mutex_lock(&pt.lock);
	pt.crashed = TRUE;
	pt.crash_detail = detail;
	g_cond_broadcast(&pt.cond);
	g_mutex_unlock(&pt.lock);
	return 0;
}

static void
tick_cb(int timer, void *opaque)
{
}

static gpointer
event_loop(gpointer data)
{
	while (!g_atomic_int_get(&pt.loop_stop))
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

static gboolean
wait_crashed(guint seconds)
{
	gint64 deadline = g_get_monotonic_time() + seconds * G_TIME_SPAN_SECOND;
	gboolean crashed;

	g_mutex_lock(&pt.lock);
	while (!pt.crashed && g_cond_wait_until(&pt.cond, &pt.lock, deadline))
		;
	crashed = pt.crashed;
	g_mutex_unlock(&pt.lock);
	return crashed;
}

/* ---- setup ---- */

static int
group_setup(void **state)
{
	g_autoptr(GError) error = NULL;
	const gchar *image_dir = vm_guest_build_image(&error);

	if (image_dir != NULL)
		pt.libvirt =
			vm_libvirt_start_layout(image_dir, "qgatrace-panic", "qgatrace.agents=none",
						VM_LIBVIRT_PANIC_PRESERVE, &error);
	if (pt.libvirt == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
		g_printerr("skipping the panic test: %s\n", error->message);
		pt.skip = TRUE;
		return 0;
	}
	if (pt.libvirt == NULL) {
		g_printerr("# setting up the panic test: %s\n", error->message);
		return -1;
	}
	/* before the connection: its events go through the default loop */
	if (virEventRegisterDefaultImpl() < 0)
		return -1;
	pt.tick = virEventAddTimeout(100, tick_cb, NULL, NULL);
	pt.loop = g_thread_new("libvirt-events", event_loop, NULL);
	pt.conn = virConnectOpen(VM_LIBVIRT_URI);
	if (pt.conn == NULL)
		return -1;
	pt.dom = virDomainLookupByName(pt.conn, vm_libvirt_get_domain(pt.libvirt));
	if (pt.dom == NULL)
		return -1;
	pt.callback =
		virConnectDomainEventRegisterAny(pt.conn, pt.dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), NULL,
						 NULL);
	if (pt.callback < 0)
		return -1;
	pt.dir = g_build_filename(vm_libvirt_get_run_dir(pt.libvirt), "panics", NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	if (pt.callback > 0)
		virConnectDomainEventDeregisterAny(pt.conn, pt.callback);
	if (pt.dom != NULL)
		virDomainFree(g_steal_pointer(&pt.dom));
	if (pt.conn != NULL)
		virConnectClose(g_steal_pointer(&pt.conn));
	if (pt.loop != NULL) {
		g_atomic_int_set(&pt.loop_stop, TRUE);
		g_thread_join(g_steal_pointer(&pt.loop));
		virEventRemoveTimeout(pt.tick);
	}
	/* the tests removed what they saved: a file left behind fails this */
	if (pt.dir != NULL && g_file_test(pt.dir, G_FILE_TEST_EXISTS) && g_rmdir(pt.dir) < 0)
		g_printerr("# cannot remove %s: %s\n", pt.dir, g_strerror(errno));
	g_clear_pointer(&pt.dir, g_free);
	/* vm-libvirt destroys the crashed domain */
	g_clear_pointer(&pt.libvirt, vm_libvirt_free);
	return 0;
}

/* ---- the capture, on a worker thread as the exporter runs it ---- */

typedef struct {
	gchar *log_path;
	GError *error;
	gboolean ok;
} Capture;

static gpointer
capture_thread(gpointer data)
{
	Capture *c = data;

	c->ok = client_panic_capture(pt.conn, pt.dom, pt.dir, &c->log_path, &c->error);
	return NULL;
}

static void
capture_run(Capture *c)
{
	g_thread_join(g_thread_new("capture", capture_thread, c));
}

static void
remove_saved(const gchar *log_path)
{
	g_autofree gchar *json_path = vm_libvirt_panic_json_path(log_path);

	assert_int_equal(g_unlink(log_path), 0);
	assert_int_equal(g_unlink(json_path), 0);
}

static int
domain_state(void)
{
	int st = VIR_DOMAIN_NOSTATE;
	int reason = 0;

	assert_int_equal(virDomainGetState(pt.dom, &st, &reason, 0), 0);
	return st;
}

/* a running domain holds no crash: refused, nothing read or written */
static void
test_panic_refuses_running_domain(void **state)
{
	Capture c = {0};

	if (pt.skip)
		skip();
	capture_run(&c);
	assert_false(c.ok);
	assert_true(g_error_matches(c.error, G_IO_ERROR, G_IO_ERROR_BUSY));
	assert_non_null(strstr(c.error->message, "<on_crash>preserve</on_crash>"));
	assert_false(g_file_test(pt.dir, G_FILE_TEST_EXISTS));
	assert_int_equal(domain_state(), VIR_DOMAIN_RUNNING);
	g_error_free(c.error);
}

static void
test_panic_capture(void **state)
{
	g_autofree gchar *marker = g_strdup_printf("qgatrace-panic-marker-%d", (gint)getpid());
	g_autoptr(GError) error = NULL;
	Capture c = {0};
	int st;

	if (pt.skip)
		skip();
	if (!vm_libvirt_crash(pt.libvirt, marker, &error))
		fail_msg("%s", error->message);
	if (!wait_crashed(CRASH_WAIT_S))
		fail_msg("no crashed event from libvirt within %d s (domain state %d)",
			 CRASH_WAIT_S, domain_state());
	assert_int_equal(pt.crash_detail, VIR_DOMAIN_EVENT_CRASHED_PANICKED);
	st = domain_state();
	g_printerr("# crashed event; domain state %d\n", st);
	assert_true(st == VIR_DOMAIN_CRASHED || st == VIR_DOMAIN_PAUSED);

	capture_run(&c);
	if (!c.ok)
		fail_msg("client_panic_capture: %s", c.error->message);
	g_printerr("# saved %s\n", c.log_path);
	/* the .log with the panic and the marker written before it; the .json, guest-dmesg's
	 * reply with the same records and the capture's domain and states */
	if (!vm_libvirt_check_panic_log(c.log_path, marker, vm_libvirt_get_domain(pt.libvirt),
					&error))
		fail_msg("%s", error->message);

	/* left as libvirt's policy says: still crashed (paused), now and a little later */
	assert_int_equal(domain_state(), st);
	g_usleep(2 * G_USEC_PER_SEC);
	assert_int_equal(domain_state(), st);
	remove_saved(c.log_path);
	g_free(c.log_path);
}

/* the same by hand: qgatrace --domain dmesg --from-memory --save-dir, on the domain
 * still crashed from the test before */
static void
test_panic_save_dir_by_hand(void **state)
{
	const gchar *client = g_getenv("QGATRACE_CLIENT");
	const gchar *argv[] = {client,	"--connect",	 VM_LIBVIRT_URI, "--domain", NULL,
			       "dmesg", "--from-memory", "--save-dir",	 pt.dir,     NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *log = NULL;
	g_autoptr(GError) error = NULL;
	gint status = 0;
	int st;

	if (pt.skip)
		skip();
	assert_non_null(client);
	st = domain_state();
	assert_true(st == VIR_DOMAIN_CRASHED || st == VIR_DOMAIN_PAUSED);
	argv[4] = vm_libvirt_get_domain(pt.libvirt);
	if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			  &status, &error))
		fail_msg("%s: %s", client, error->message);
	g_printerr("# qgatrace dmesg --save-dir: status %d, stdout %s, stderr %s\n", status, out,
		   err);
	assert_true(g_spawn_check_wait_status(status, NULL));
	/* the .log's name, one line */
	g_strchomp(out);
	assert_true(g_str_has_prefix(out, pt.dir) && g_str_has_suffix(out, ".log"));
	assert_true(g_file_get_contents(out, &log, NULL, NULL));
	assert_non_null(strstr(log, "sysrq triggered crash"));
	/* libvirt's dump left the crashed domain as it was */
	assert_int_equal(domain_state(), st);
	remove_saved(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_panic_refuses_running_domain),
		cmocka_unit_test(test_panic_capture),
		cmocka_unit_test(test_panic_save_dir_by_hand),
	};
	gint rc = cmocka_run_group_tests_name("panic", tests, group_setup, group_teardown);

	return pt.skip ? SKIP : rc;
}
