/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Running a host command (the qgatrace client, virsh) from a VM test and
 * capturing how it ended. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

typedef struct {
	gint status; /* the exit status, or 128 + signal */
	gchar *out;
	gchar *err;
	gdouble seconds;
} VmRun;

void vm_run_free(VmRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmRun, vm_run_free)

/* $QGATRACE_CLIENT, the client meson built; fails the test when unset */
const gchar *vm_run_client_path(void);

/* spawns @argv with stdout and stderr piped, in the C.UTF-8 locale */
GSubprocess *vm_run_spawn(const gchar *const *argv, GError **error);

/* waits for @proc, spawned at monotonic time @started, and logs how it
 * ended; fails the test when it cannot be waited for */
VmRun *vm_run_wait(GSubprocess *proc, gint64 started);

/* runs the client with ARGS... (NULL-terminated) to the end */
VmRun *vm_run_client(const gchar *first, ...) G_GNUC_NULL_TERMINATED;

/* Returns: (transfer full): @run's stdout as a JSON object; fails the test otherwise */
JsonObject *vm_run_json(VmRun *run);
