/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qgatrace-agent's transports in a real QEMU guest: virtio-serial host
 * connect/disconnect without polling, a clean parser per host connection,
 * ports found by name and hot-plugged, and isa-serial. */
#include "config.h"

#include "vm-test.h"

static guint64
voluntary_switches(const gchar *process)
{
	g_autofree gchar *cmd = g_strdup_printf(
		"awk '/^voluntary_ctxt_switches/ {print $2}' /proc/$(pidof %s)/status", process);
	g_autofree gchar *out = vm_test_sh(cmd);

	return g_ascii_strtoull(out, NULL, 10);
}

/* waits until @pattern is in the agent's log at least @count times */
static void
wait_guest_count(const gchar *pattern, guint64 count)
{
	g_autofree gchar *cond = g_strdup_printf("[ $(grep -c '%s' " VM_TEST_AGENT_LOG
						 ") -ge %" G_GUINT64_FORMAT " ]",
						 pattern, count);

	vm_test_wait(cond);
}

static void
test_vm_idle_agent_does_not_wake(void **state)
{
	guint64 ours0, ours1, stock0, stock1;

	/* no host is connected to either port now */
	ours0 = voluntary_switches("qgatrace-agent");
	stock0 = voluntary_switches("qemu-ga");
	g_free(vm_test_sh("sleep 3"));
	ours1 = voluntary_switches("qgatrace-agent");
	stock1 = voluntary_switches("qemu-ga");
	print_message("wakeups in 3 s with no host: qgatrace-agent %" G_GUINT64_FORMAT
		      ", qemu-ga %" G_GUINT64_FORMAT "\n",
		      ours1 - ours0, stock1 - stock0);
	/* the control: qemu-ga's 100 ms EOF loop shows on the same counter */
	assert_true(stock1 - stock0 >= 5);
	assert_true(ours1 - ours0 <= 1);
}

static void
test_vm_reconnect_gets_clean_parser(void **state)
{
	const gchar *half = "{\"execute\":\"guest-ping\",\"arguments\":{\"id\":";
	const gchar *request = "{\"execute\":\"guest-ping\",\"id\":\"after-reconnect\"}";
	QgaClient *first;
	QgaClient *second;
	g_autoptr(JsonNode) reply = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *count = NULL;

	first = vm_test_connect("qgatrace", TRUE);
	assert_true(qga_client_send_raw(first, half, strlen(half), &error));
	count = vm_test_sh("grep -c 'host disconnected' " VM_TEST_AGENT_LOG " || true");
	vm_test_close(first);
	/* a close and a new connect can reach the guest together, and then no
	 * guest can tell them apart (the reason for the 0xff sync); once the
	 * agent saw the host go, the half request must be gone with it */
	wait_guest_count("host disconnected", g_ascii_strtoull(count, NULL, 10) + 1);
	/* no 0xff, no sync */
	second = vm_test_connect("qgatrace", FALSE);
	assert_true(qga_client_send_raw(second, request, strlen(request), &error));
	reply = qga_client_recv(second, &error);
	if (reply == NULL)
		fail_msg("no reply after reconnect: %s", error->message);
	assert_string_equal(json_object_get_string_member(json_node_get_object(reply), "id"),
			    "after-reconnect");
	assert_true(json_object_has_member(json_node_get_object(reply), "return"));
}

static void
test_vm_many_reconnects(void **state)
{
	for (guint i = 0; i < 20; i++) {
		QgaClient *client = vm_test_connect("qgatrace", TRUE);

		json_node_unref(vm_test_execute_ok(client, "guest-ping", NULL));
		vm_test_close(client);
	}
	/* one line per connect and disconnect, no error */
	g_free(vm_test_sh("! grep -qi 'critical\\|failed' " VM_TEST_AGENT_LOG));
}

static void
test_vm_host_leaving_mid_reply(void **state)
{
	const gchar *request = "{\"execute\":\"guest-get-fsinfo\",\"id\":\"gone\"}";
	QgaClient *first;
	QgaClient *second;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < 5; i++) {
		first = vm_test_connect("qgatrace", TRUE);
		assert_true(qga_client_send_raw(first, request, strlen(request), &error));
		vm_test_close(first);
	}
	second = vm_test_connect("qgatrace", TRUE);
	json_node_unref(vm_test_execute_ok(second, "guest-ping", NULL));
	g_free(vm_test_sh("pidof qgatrace-agent"));
}

static void
test_vm_port_by_name_waits_and_survives_unplug(void **state)
{
	g_autofree gchar *hot_sock = NULL;
	g_autofree gchar *chardev = NULL;
	QmpClient *monitor;
	QgaClient *client;
	const gchar *device =
		"{\"driver\":\"virtserialport\",\"bus\":\"vser0.0\",\"chardev\":\"hot0\","
		"\"name\":\"org.qgatrace.hot.0\",\"id\":\"hotport\"}";

	hot_sock = g_build_filename(vm_guest_run_dir(vm_test_guest()), "hot.sock", NULL);
	chardev = g_strdup_printf(
		"{\"id\":\"hot0\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":"
		"{\"type\":\"unix\",\"data\":{\"path\":\"%s\"}},\"server\":true,\"wait\":false}}}",
		hot_sock);
	/* a second agent, by port name, on a port that does not exist yet */
	g_free(vm_test_sh(
		"mkdir -p /run/hot; qgatrace-agent -p org.qgatrace.hot.0 -t /run/hot </dev/null >/run/hot.log 2>&1 & "
		"echo $! > /run/hot.pid"));
	vm_test_wait("grep -q 'is not there yet, waiting' /run/hot.log");

	monitor = vm_test_connect_qmp();
	json_node_unref(vm_test_qmp_execute_ok(monitor, "chardev-add", chardev));
	json_node_unref(vm_test_qmp_execute_ok(monitor, "device_add", device));
	vm_test_wait("grep -q 'opened virtio port' /run/hot.log");
	client = vm_test_connect_path(hot_sock, TRUE);
	json_node_unref(vm_test_execute_ok(client, "guest-ping", NULL));
	vm_test_close(client);

	/* unplugged: the agent stays and waits for the port to come back */
	json_node_unref(vm_test_qmp_execute_ok(monitor, "device_del", "{\"id\":\"hotport\"}"));
	vm_test_wait("grep -q 'removed, waiting for it\\|failed: .*waiting for it' /run/hot.log");
	vm_test_wait("! grep -qs org.qgatrace.hot.0 /sys/class/virtio-ports/*/name");
	g_free(vm_test_sh("kill -0 $(cat /run/hot.pid)"));
	json_node_unref(vm_test_qmp_execute_ok(monitor, "device_add", device));
	vm_test_wait("[ $(grep -c 'opened virtio port' /run/hot.log) -ge 2 ]");
	client = vm_test_connect_path(hot_sock, TRUE);
	json_node_unref(vm_test_execute_ok(client, "guest-ping", NULL));
	g_free(vm_test_sh("kill $(cat /run/hot.pid)"));
}

static void
test_vm_isa_serial(void **state)
{
	QgaClient *client;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) os = NULL;

	g_free(vm_test_sh(
		"mkdir -p /run/isa; qgatrace-agent -m isa-serial -p /dev/ttyS1 -t /run/isa </dev/null >/run/isa.log 2>&1 & "
		"echo $! > /run/isa.pid; sleep 0.5; kill -0 $(cat /run/isa.pid)"));
	client = vm_test_connect("isa", TRUE);
	json_node_unref(vm_test_execute_ok(client, "guest-ping", NULL));
	os = qga_client_execute(client, "guest-get-osinfo", NULL, &error);
	assert_non_null(os);
	assert_true(json_object_has_member(json_node_get_object(os), "kernel-release"));
	g_free(vm_test_sh("kill $(cat /run/isa.pid)"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_idle_agent_does_not_wake),
		vm_test(test_vm_reconnect_gets_clean_parser),
		vm_test(test_vm_many_reconnects),
		vm_test(test_vm_host_leaving_mid_reply),
		vm_test(test_vm_isa_serial),
		vm_test(test_vm_port_by_name_waits_and_survives_unplug),
	};

	return vm_test_run(tests);
}
