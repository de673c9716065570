/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data-driven protocol suite (tests/fixtures/protocol/cases.json) over
 * virtio-serial in a real QEMU guest: against qgatrace-agent on
 * org.qgatrace.0 and against stock qemu-ga on org.qemu.guest_agent.0 in
 * the same guest, so both answer the shared cases the same way there too. */
#include "config.h"

#include "agent-process.h"
#include "protocol-suite.h"
#include "vm-guest.h"

#define VM_PROTOCOL_EXIT_SKIP  77
#define VM_PROTOCOL_TIMEOUT_MS 20000

typedef struct {
	VmGuest *vm;
	const gchar *process; /* the agent's process name in the guest */
} VmProtocolTarget;

static gboolean
vm_protocol_agent_alive(gpointer user_data)
{
	VmProtocolTarget *t = user_data;
	g_autofree gchar *cmd = g_strdup_printf("pidof %s", t->process);
	gint status = -1;

	return vm_guest_shell(t->vm, cmd, NULL, &status, VM_PROTOCOL_TIMEOUT_MS, NULL) &&
	       status == 0;
}

static gint
vm_protocol_run(ProtocolSuite *suite, VmGuest *vm, const gchar *group, const gchar *kind,
		const gchar *socket, const gchar *process)
{
	VmProtocolTarget t = {vm, process};
	ProtocolSuiteTarget target = {
		.agent_kind = kind,
		.socket_path = vm_guest_socket(vm, socket),
		.is_alive = vm_protocol_agent_alive,
		.user_data = &t,
		.timeout_ms = VM_PROTOCOL_TIMEOUT_MS,
	};

	return protocol_suite_run_cmocka(suite, group, &target);
}

int
main(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ProtocolSuite) suite = protocol_suite_load(NULL, &error);
	g_autoptr(VmGuest) vm = NULL;
	/* the guest runs the host's qemu-ga binary: the same version name */
	g_autofree gchar *stock_kind = agent_process_kind_name(AGENT_KIND_QEMU_GA);
	gint failed;

	if (suite == NULL) {
		g_printerr("loading the protocol cases: %s\n", error->message);
		return 1;
	}
	vm = vm_guest_start(NULL, &error);
	if (vm == NULL) {
		g_printerr("%s\n", error->message);
		return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)
			       ? VM_PROTOCOL_EXIT_SKIP
			       : 1;
	}
	failed = vm_protocol_run(suite, vm, "protocol-vm-qgatrace", "qgatrace", "qgatrace",
				 "qgatrace-agent");
	if (stock_kind != NULL)
		failed += vm_protocol_run(suite, vm, "protocol-vm-qemu-ga", stock_kind, "qga",
					  "qemu-ga");
	return failed == 0 ? 0 : 1;
}
