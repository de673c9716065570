/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smoke test of the VM harness: one guest for the whole group, each test checks one thing the
 * later VM tests rely on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "qga-client.h"
#include "vm-guest.h"

#define QGA_RAW_TIMEOUT_US (30 * G_TIME_SPAN_SECOND)

/* set when the group setup found no qemu or kernel: every test skips and main exits 77 */
static gboolean vm_unsupported = FALSE;

static int
test_vm_boot_setup(void **state)
{
	g_autoptr(GError) error = NULL;
	VmGuest *guest = vm_guest_start(NULL, &error);

	if (guest == NULL) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
			g_printerr("skipping the VM tests: %s\n", error->message);
			vm_unsupported = TRUE;
			*state = NULL;
			return 0;
		}
		g_printerr("cannot start the guest: %s\n", error->message);
		return -1;
	}
	*state = guest;
	return 0;
}

static int
test_vm_boot_teardown(void **state)
{
	vm_guest_free(*state);
	return 0;
}

static VmGuest *
test_vm_boot_guest(void **state)
{
	if (*state == NULL)
		skip();
	return *state;
}

/* runs @cmd, fails the test unless it exits 0; (transfer full) trimmed output */
static gchar *
test_vm_boot_sh(VmGuest *guest, const gchar *cmd)
{
	g_autoptr(GError) error = NULL;
	gchar *output = vm_guest_shell_ok(guest, cmd, &error);

	if (output == NULL)
		fail_msg("%s", error->message);
	return output;
}

static void
test_vm_boot_shell_port(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	g_autofree gchar *release = test_vm_boot_sh(guest, "uname -r");
	g_autofree gchar *output = NULL;
	g_autoptr(GError) error = NULL;
	gint status = -1;

	assert_non_null(strstr(release, "cloud-amd64"));

	/* the status and both streams come back, and an unterminated line gets its newline */
	assert_true(vm_guest_shell(guest, "echo out; echo err >&2; printf tail; exit 3", &output,
				   &status, VM_GUEST_SHELL_TIMEOUT_MS, &error));
	assert_int_equal(status, 3);
	assert_string_equal(output, "out\nerr\ntail\n");
	g_clear_pointer(&output, g_free);

	/* a command the host gave up on must not answer the next one */
	assert_false(vm_guest_shell(guest, "sleep 3; echo late", &output, &status, 500, &error));
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	g_clear_error(&error);
	assert_true(vm_guest_shell(guest, "echo next", &output, &status, VM_GUEST_SHELL_TIMEOUT_MS,
				   &error));
	assert_int_equal(status, 0);
	assert_string_equal(output, "next\n");
}

static void
test_vm_boot_data_disk(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	g_autofree gchar *line = test_vm_boot_sh(guest, "grep ' /mnt/data ' /proc/mounts");
	g_auto(GStrv) fields = g_strsplit(line, " ", -1);

	assert_true(g_strv_length(fields) >= 3);
	assert_string_equal(fields[0], "/dev/vda");
	assert_string_equal(fields[1], "/mnt/data");
	assert_string_equal(fields[2], "ext4");
}

static void
test_vm_boot_tracefs(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	g_autofree gchar *line =
		test_vm_boot_sh(guest, "grep ' /sys/kernel/tracing ' /proc/mounts");
	g_autofree gchar *tracers =
		test_vm_boot_sh(guest, "cat /sys/kernel/tracing/available_tracers");

	assert_true(g_str_has_prefix(line, "tracefs /sys/kernel/tracing tracefs "));
	assert_non_null(strstr(tracers, "function"));
}

static void
test_vm_boot_virtio_ports(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	const gchar *names[] = {"org.qemu.guest_agent.0", "org.qgatrace.0", "org.qgatrace.test.0",
				"org.qgatrace.spare.0"};

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *cmd = g_strdup_printf(
			"test -L /dev/virtio-ports/%s && test -c /dev/virtio-ports/%s && "
			"readlink /dev/virtio-ports/%s",
			names[i], names[i], names[i]);
		g_autofree gchar *target = test_vm_boot_sh(guest, cmd);

		assert_true(g_str_has_prefix(target, "../vport"));
	}
}

static void
test_vm_boot_kmsg(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	/* /dev/kmsg never ends: read one record in the background and stop it */
	g_autofree gchar *first = test_vm_boot_sh(
		guest,
		"head -n 1 /dev/kmsg >/tmp/kmsg.1 2>&1 & sleep 1; kill $! 2>/dev/null; cat /tmp/kmsg.1");

	assert_non_null(strstr(first, "Linux version"));
}

/* a QGA exchange on a raw socket, the wire as the protocol notes give it: 0xff, then
 * guest-sync-delimited, whose reply starts with 0xff too */
static JsonNode *
test_vm_boot_qga_raw(GSocket *sock, GString *buf, const gchar *request, gboolean delimited)
{
	gint64 deadline = g_get_monotonic_time() + QGA_RAW_TIMEOUT_US;
	gchar *nl;
	gsize skip = 0;

	assert_int_equal(g_socket_send(sock, request, strlen(request), NULL, NULL),
			 strlen(request));
	for (;;) {
		gchar chunk[4096];
		gssize n;
		gint64 left = deadline - g_get_monotonic_time();

		if (delimited) {
			gchar *ff = memchr(buf->str, 0xff, buf->len);
			if (ff != NULL)
				skip = ff - buf->str + 1;
		}
		nl = (delimited && skip == 0) ? NULL
					      : memchr(buf->str + skip, '\n', buf->len - skip);
		if (nl != NULL)
			break;
		assert_true(left > 0);
		assert_true(g_socket_condition_timed_wait(sock, G_IO_IN, left, NULL, NULL));
		n = g_socket_receive(sock, chunk, sizeof(chunk), NULL, NULL);
		assert_true(n > 0);
		g_string_append_len(buf, chunk, n);
	}
	{
		g_autofree gchar *line = g_strndup(buf->str + skip, nl - (buf->str + skip));
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;

		g_string_erase(buf, 0, nl - buf->str + 1);
		if (!json_parser_load_from_data(parser, line, -1, &error))
			fail_msg("reply '%s': %s", line, error->message);
		return json_node_copy(json_parser_get_root(parser));
	}
}

static void
test_vm_boot_qemu_ga_ping_raw(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSocketAddress) address =
		g_unix_socket_address_new(vm_guest_socket(guest, "qga"));
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(JsonNode) sync = NULL;
	g_autoptr(JsonNode) pong = NULL;
	g_autoptr(GError) error = NULL;
	guint32 id = g_random_int_range(1, G_MAXINT32);
	g_autofree gchar *request = g_strdup_printf(
		"\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%u}}\n", id);
	JsonObject *reply;

	sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
			    &error);
	assert_non_null(sock);
	if (!g_socket_connect(sock, address, NULL, &error))
		fail_msg("%s", error->message);
	g_socket_set_blocking(sock, FALSE);

	sync = test_vm_boot_qga_raw(sock, buf, request, TRUE);
	reply = json_node_get_object(sync);
	assert_true(json_object_has_member(reply, "return"));
	assert_int_equal(json_object_get_int_member(reply, "return"), id);

	pong = test_vm_boot_qga_raw(sock, buf, "{\"execute\":\"guest-ping\"}\n", FALSE);
	reply = json_node_get_object(pong);
	assert_true(json_object_has_member(reply, "return"));
	assert_int_equal(json_object_get_size(json_object_get_object_member(reply, "return")), 0);
}

static void
test_vm_boot_qemu_ga_ping(void **state)
{
	VmGuest *guest = test_vm_boot_guest(state);
	g_autoptr(GError) error = NULL;
	g_autoptr(QgaClient) client =
		qga_client_connect_unix(vm_guest_socket(guest, "qga"), &error);
	g_autoptr(JsonNode) pong = NULL;

	if (client == NULL)
		fail_msg("%s", error->message);
	qga_client_set_timeout(client, 30000);
	if (!qga_client_sync(client, &error))
		fail_msg("guest-sync-delimited: %s", error->message);
	pong = qga_client_execute(client, "guest-ping", NULL, &error);
	if (pong == NULL)
		fail_msg("guest-ping: %s", error->message);
	assert_true(JSON_NODE_HOLDS_OBJECT(pong));
	assert_int_equal(json_object_get_size(json_node_get_object(pong)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_boot_shell_port),
		cmocka_unit_test(test_vm_boot_data_disk),
		cmocka_unit_test(test_vm_boot_tracefs),
		cmocka_unit_test(test_vm_boot_virtio_ports),
		cmocka_unit_test(test_vm_boot_kmsg),
		cmocka_unit_test(test_vm_boot_qemu_ga_ping_raw),
		cmocka_unit_test(test_vm_boot_qemu_ga_ping),
	};
	gint failed = cmocka_run_group_tests_name("vm-boot", tests, test_vm_boot_setup,
						  test_vm_boot_teardown);

	/* a skip is not a pass: meson reports 77 as SKIP */
	if (failed == 0 && vm_unsupported)
		return 77;
	return failed;
}
