/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "vm-run.h"

void
vm_run_free(VmRun *run)
{
	if (run == NULL)
		return;
	g_free(run->out);
	g_free(run->err);
	g_free(run);
}

const gchar *
vm_run_client_path(void)
{
	const gchar *path = g_getenv("QGATRACE_CLIENT");

	if (path == NULL || path[0] == '\0')
		fail_msg("QGATRACE_CLIENT is not set (meson test sets it)");
	return path;
}

GSubprocess *
vm_run_spawn(const gchar *const *argv, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
	return g_subprocess_launcher_spawnv(launcher, argv, error);
}

VmRun *
vm_run_wait(GSubprocess *proc, gint64 started)
{
	g_autoptr(GError) error = NULL;
	VmRun *run = g_new0(VmRun, 1);

	if (!g_subprocess_communicate_utf8(proc, NULL, NULL, &run->out, &run->err, &error))
		fail_msg("waiting for a host command: %s", error->message);
	run->seconds = (gdouble)(g_get_monotonic_time() - started) / G_USEC_PER_SEC;
	run->status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc)
						       : 128 + g_subprocess_get_term_sig(proc);
	g_printerr("# exit %d in %.1f s\n# stdout: %s# stderr: %s\n", run->status, run->seconds,
		   run->out != NULL ? run->out : "", run->err != NULL ? run->err : "");
	return run;
}

VmRun *
vm_run_client(const gchar *first, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	gint64 started = g_get_monotonic_time();
	va_list ap;

	g_ptr_array_add(args, (gpointer)vm_run_client_path());
	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(args, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(args, NULL);
	proc = vm_run_spawn((const gchar *const *)args->pdata, &error);
	if (proc == NULL)
		fail_msg("spawning %s: %s", vm_run_client_path(), error->message);
	return vm_run_wait(proc, started);
}

JsonObject *
vm_run_json(VmRun *run)
{
	g_autoptr(JsonNode) node = json_from_string(run->out, NULL);

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node))
		fail_msg("not a JSON object: %s", run->out);
	return json_object_ref(json_node_get_object(node));
}
