/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "vm-guest.h"

/* what qgatrace-vm exits with when qemu or the kernel cannot be had */
#define VM_GUEST_EXIT_UNSUPPORTED 77
#define VM_GUEST_EXIT_MARKER	  "@@QGATRACE-EXIT "

struct _VmGuest {
	gchar *script;
	gchar *run_dir;
	gboolean running;    /* qemu was started: free stops it */
	GHashTable *sockets; /* "qga" → path */
	GSocket *shell;	     /* connected on first use */
	GString *shell_buf;  /* received, not yet parsed */
	gboolean shell_synced;
	gboolean attached; /* vm_guest_attach: the run dir is not ours to remove */
};

static const gchar *const vm_guest_socket_names[] = {"qga", "qgatrace", "shell", "spare",
						     "qmp", "isa",	NULL};

static gboolean vm_guest_built = FALSE;

static const gchar *
vm_guest_getenv_required(const gchar *name, GError **error)
{
	const gchar *value = g_getenv(name);

	if (value == NULL || value[0] == '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "environment variable '%s' is not set (meson test sets it)", name);
		return NULL;
	}
	return value;
}

/* runs the script; its exit status 77 becomes G_IO_ERROR_NOT_SUPPORTED */
static gboolean
vm_guest_run_script(const gchar *const *argv, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *output = NULL;
	gint status;

	proc = g_subprocess_newv(
		argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, error);
	if (proc == NULL)
		return FALSE;
	if (!g_subprocess_communicate_utf8(proc, NULL, NULL, &output, NULL, error))
		return FALSE;
	g_strstrip(output);
	g_debug("%s %s: %s", argv[0], argv[1], output);
	if (!g_subprocess_get_if_exited(proc)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s %s' was killed: %s", argv[0],
			    argv[1], output);
		return FALSE;
	}
	status = g_subprocess_get_exit_status(proc);
	if (status == VM_GUEST_EXIT_UNSUPPORTED) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s", output);
		return FALSE;
	}
	if (status != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s %s' failed (status %d): %s",
			    argv[0], argv[1], status, output);
		return FALSE;
	}
	return TRUE;
}

static gboolean
vm_guest_build(GError **error)
{
	const gchar *script = vm_guest_getenv_required("QGATRACE_VM_SCRIPT", error);
	const gchar *agent = NULL;
	const gchar *image_dir = NULL;
	const gchar *qemu_ga = g_getenv("QGATRACE_VM_QEMU_GA");
	const gchar *plugin = g_getenv("QGATRACE_PLUGIN");
	g_autofree gchar *plugin_extra = NULL;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	if (script == NULL)
		return FALSE;
	/* unset only while the tree has no agent target yet: nothing to test */
	agent = g_getenv("QGATRACE_AGENT");
	if (agent == NULL || agent[0] == '\0') {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "no agent to put in the guest: QGATRACE_AGENT is not set");
		return FALSE;
	}
	image_dir = vm_guest_getenv_required("QGATRACE_VM_IMAGE_DIR", error);
	if (image_dir == NULL)
		return FALSE;

	g_ptr_array_add(argv, (gpointer)script);
	g_ptr_array_add(argv, (gpointer) "build");
	g_ptr_array_add(argv, (gpointer) "--out");
	g_ptr_array_add(argv, (gpointer)image_dir);
	g_ptr_array_add(argv, (gpointer) "--agent");
	g_ptr_array_add(argv, (gpointer)agent);
	if (qemu_ga != NULL && qemu_ga[0] != '\0') {
		g_ptr_array_add(argv, (gpointer) "--qemu-ga");
		g_ptr_array_add(argv, (gpointer)qemu_ga);
	}
	/* the qemu-ga plugin, with the Debian dispatcher that runs fsfreeze-hook.d/ if the
	 * host has it (package qemu-guest-agent) */
	if (plugin != NULL && plugin[0] != '\0') {
		plugin_extra = g_strdup_printf("%s:" VM_GUEST_PLUGIN_PATH, plugin);
		g_ptr_array_add(argv, (gpointer) "--extra");
		g_ptr_array_add(argv, plugin_extra);
		if (g_file_test(VM_GUEST_HOOK_DISPATCHER, G_FILE_TEST_IS_REGULAR)) {
			g_ptr_array_add(argv, (gpointer) "--extra");
			g_ptr_array_add(argv, (gpointer)VM_GUEST_HOOK_DISPATCHER
					":" VM_GUEST_HOOK_DISPATCHER);
		}
	}
	g_ptr_array_add(argv, NULL);
	if (!vm_guest_run_script((const gchar *const *)argv->pdata, error)) {
		g_prefix_error(error, "building the guest image: ");
		return FALSE;
	}
	return TRUE;
}

static gboolean
vm_guest_keep(void)
{
	return g_strcmp0(g_getenv("QGATRACE_VM_KEEP"), "1") == 0;
}

/* the run dir holds files and sockets only */
static void
vm_guest_remove_run_dir(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	if (dir == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *file = g_build_filename(path, name, NULL);
		if (g_unlink(file) < 0)
			g_debug("cannot remove '%s': %s, ignoring", file, g_strerror(errno));
	}
	if (g_rmdir(path) < 0)
		g_debug("cannot remove '%s': %s, ignoring", path, g_strerror(errno));
}

VmGuest *
vm_guest_start(const gchar *extra_append, GError **error)
{
	g_autoptr(VmGuest) self = g_new0(VmGuest, 1);
	g_autofree gchar *qemu = g_find_program_in_path("qemu-system-x86_64");
	g_autofree gchar *watch_pid = g_strdup_printf("%d", (gint)getpid());
	const gchar *image_dir;
	const gchar *accel = g_getenv("QGATRACE_VM_ACCEL");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();

	if (qemu == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "qemu-system-x86_64 is not installed");
		return NULL;
	}
	if (!vm_guest_built) {
		if (!vm_guest_build(error))
			return NULL;
		vm_guest_built = TRUE;
	}
	self->script = g_strdup(g_getenv("QGATRACE_VM_SCRIPT"));
	image_dir = g_getenv("QGATRACE_VM_IMAGE_DIR");

	/* short, under $TMPDIR: UNIX socket paths must fit in 108 bytes */
	self->run_dir = g_dir_make_tmp("qgatrace-vm-XXXXXX", error);
	if (self->run_dir == NULL)
		return NULL;
	self->sockets = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	for (guint i = 0; vm_guest_socket_names[i] != NULL; i++) {
		g_autofree gchar *base = g_strdup_printf("%s.sock", vm_guest_socket_names[i]);
		g_hash_table_insert(self->sockets, (gpointer)vm_guest_socket_names[i],
				    g_build_filename(self->run_dir, base, NULL));
	}

	g_ptr_array_add(argv, self->script);
	g_ptr_array_add(argv, (gpointer) "start");
	g_ptr_array_add(argv, (gpointer) "--image");
	g_ptr_array_add(argv, (gpointer)image_dir);
	g_ptr_array_add(argv, (gpointer) "--run");
	g_ptr_array_add(argv, self->run_dir);
	g_ptr_array_add(argv, (gpointer) "--watch-pid");
	g_ptr_array_add(argv, watch_pid);
	if (accel != NULL && accel[0] != '\0') {
		g_ptr_array_add(argv, (gpointer) "--accel");
		g_ptr_array_add(argv, (gpointer)accel);
	}
	if (extra_append != NULL) {
		g_ptr_array_add(argv, (gpointer) "--append");
		g_ptr_array_add(argv, (gpointer)extra_append);
	}
	g_ptr_array_add(argv, NULL);
	/* a failed start may have left qemu behind: free stops it */
	self->running = TRUE;
	if (!vm_guest_run_script((const gchar *const *)argv->pdata, error)) {
		g_prefix_error(error, "booting the guest: ");
		return NULL;
	}
	self->shell_buf = g_string_new(NULL);
	return g_steal_pointer(&self);
}

/* copies the guest's /run logs into the run dir, which is about to be kept */
static void
vm_guest_save_guest_logs(VmGuest *self)
{
	const gchar *names[] = {"qgatrace-agent.log", "qemu-ga.log", "shelld.log"};

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *cmd = g_strdup_printf("cat /run/%s", names[i]);
		g_autofree gchar *base = g_strdup_printf("guest-%s", names[i]);
		g_autofree gchar *path = g_build_filename(self->run_dir, base, NULL);
		g_autofree gchar *output = NULL;
		g_autoptr(GError) error_local = NULL;
		gint status = -1;

		if (!vm_guest_shell(self, cmd, &output, &status, 5000, &error_local)) {
			g_debug("cannot save the guest's %s: %s", names[i], error_local->message);
			return;
		}
		if (status == 0 && !g_file_set_contents(path, output, -1, &error_local))
			g_debug("cannot save the guest's %s: %s", names[i], error_local->message);
	}
}

void
vm_guest_free(VmGuest *self)
{
	if (self == NULL)
		return;
	if (self->running && self->shell_buf != NULL && vm_guest_keep())
		vm_guest_save_guest_logs(self);
	if (self->shell != NULL) {
		g_socket_close(self->shell, NULL);
		g_object_unref(self->shell);
	}
	if (self->running) {
		const gchar *argv[] = {self->script, "stop", "--run", self->run_dir, NULL};
		g_autoptr(GError) error_local = NULL;
		if (!vm_guest_run_script(argv, &error_local))
			g_warning("stopping the guest in '%s': %s, ignoring", self->run_dir,
				  error_local->message);
	}
	if (self->run_dir != NULL && !self->attached) {
		if (vm_guest_keep())
			g_message("keeping the guest's run dir '%s'", self->run_dir);
		else
			vm_guest_remove_run_dir(self->run_dir);
	}
	if (self->sockets != NULL)
		g_hash_table_unref(self->sockets);
	if (self->shell_buf != NULL)
		g_string_free(self->shell_buf, TRUE);
	g_free(self->script);
	g_free(self->run_dir);
	g_free(self);
}

const gchar *
vm_guest_socket(VmGuest *self, const gchar *which)
{
	const gchar *path;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(which != NULL, NULL);
	path = g_hash_table_lookup(self->sockets, which);
	g_return_val_if_fail(path != NULL, NULL);
	return path;
}

const gchar *
vm_guest_run_dir(VmGuest *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->run_dir;
}

/* microseconds left until @deadline (monotonic), 0 if passed */
static gint64
vm_guest_remaining_us(gint64 deadline)
{
	gint64 now = g_get_monotonic_time();

	return now >= deadline ? 0 : deadline - now;
}

static void
vm_guest_shell_drop(VmGuest *self)
{
	if (self->shell == NULL)
		return;
	g_socket_close(self->shell, NULL);
	g_clear_object(&self->shell);
	g_string_truncate(self->shell_buf, 0);
	self->shell_synced = FALSE;
}

static gboolean
vm_guest_shell_connect(VmGuest *self, GError **error)
{
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSocketAddress) address = NULL;
	const gchar *path = vm_guest_socket(self, "shell");

	sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
			    error);
	if (sock == NULL)
		return FALSE;
	address = g_unix_socket_address_new(path);
	if (!g_socket_connect(sock, address, NULL, error)) {
		g_prefix_error(error, "connecting to '%s': ", path);
		return FALSE;
	}
	g_socket_set_blocking(sock, FALSE);
	self->shell = g_steal_pointer(&sock);
	g_string_truncate(self->shell_buf, 0);
	self->shell_synced = FALSE;
	return TRUE;
}

static gboolean
vm_guest_shell_send(VmGuest *self, const gchar *data, gsize len, gint64 deadline, GError **error)
{
	while (len > 0) {
		g_autoptr(GError) error_local = NULL;
		gssize n;

		if (!g_socket_condition_timed_wait(self->shell, G_IO_OUT,
						   vm_guest_remaining_us(deadline), NULL, error))
			return FALSE;
		n = g_socket_send(self->shell, data, len, NULL, &error_local);
		if (n < 0) {
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				continue;
			g_propagate_error(error, g_steal_pointer(&error_local));
			return FALSE;
		}
		data += n;
		len -= n;
	}
	return TRUE;
}

/* finds a complete exit marker line in the buffer; the output is what precedes it */
static gboolean
vm_guest_shell_parse(VmGuest *self, gchar **output, gint *status)
{
	const gchar *buf = self->shell_buf->str;
	gsize line = 0;

	while (line < self->shell_buf->len) {
		const gchar *nl = memchr(buf + line, '\n', self->shell_buf->len - line);
		gsize end;

		if (nl == NULL)
			return FALSE;
		end = nl - buf;
		if (g_str_has_prefix(buf + line, VM_GUEST_EXIT_MARKER)) {
			g_autofree gchar *text = g_strndup(buf + line, end - line);
			const gchar *num = text + strlen(VM_GUEST_EXIT_MARKER);
			gchar *tail = NULL;
			gint64 value = g_ascii_strtoll(num, &tail, 10);

			if (tail != num && g_strcmp0(tail, "@@") == 0) {
				*output = g_strndup(buf, line);
				*status = (gint)value;
				g_string_erase(self->shell_buf, 0, end + 1);
				return TRUE;
			}
		}
		line = end + 1;
	}
	return FALSE;
}

/* reads up to the next exit marker */
static gboolean
vm_guest_shell_reply(VmGuest *self, gint64 deadline, gchar **output, gint *status, GError **error)
{
	while (!vm_guest_shell_parse(self, output, status)) {
		g_autoptr(GError) error_local = NULL;
		gchar chunk[4096];
		gssize n;

		if (!g_socket_condition_timed_wait(self->shell, G_IO_IN,
						   vm_guest_remaining_us(deadline), NULL, error))
			return FALSE;
		n = g_socket_receive(self->shell, chunk, sizeof(chunk), NULL, &error_local);
		if (n < 0) {
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				continue;
			g_propagate_error(error, g_steal_pointer(&error_local));
			return FALSE;
		}
		if (n == 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
					    "the guest's shell port closed");
			return FALSE;
		}
		g_string_append_len(self->shell_buf, chunk, n);
	}
	return TRUE;
}

/* A command the host gave up on still answers later, into whichever connection is open then
 * (the guest's write blocks until a host connects): echo a nonce and skip every reply up to it. */
static gboolean
vm_guest_shell_sync(VmGuest *self, gint64 deadline, GError **error)
{
	g_autofree gchar *nonce =
		g_strdup_printf("@@QGATRACE-SYNC-%08x%08x@@", g_random_int(), g_random_int());
	g_autofree gchar *request = g_strdup_printf("echo %s\n", nonce);
	g_autofree gchar *expected = g_strdup_printf("%s\n", nonce);

	if (!vm_guest_shell_send(self, request, strlen(request), deadline, error))
		return FALSE;
	for (;;) {
		g_autofree gchar *output = NULL;
		gint status = -1;

		if (!vm_guest_shell_reply(self, deadline, &output, &status, error))
			return FALSE;
		if (status == 0 && g_strcmp0(output, expected) == 0)
			break;
		g_debug("discarding a stale shell reply (status %d): %s", status, output);
	}
	self->shell_synced = TRUE;
	return TRUE;
}

static gboolean
vm_guest_shell_exchange(VmGuest *self, const gchar *cmd, gint64 deadline, gchar **output,
			gint *status, GError **error)
{
	g_autofree gchar *request = g_strdup_printf("%s\n", cmd);

	if (!self->shell_synced && !vm_guest_shell_sync(self, deadline, error))
		return FALSE;
	if (!vm_guest_shell_send(self, request, strlen(request), deadline, error))
		return FALSE;
	return vm_guest_shell_reply(self, deadline, output, status, error);
}

gboolean
vm_guest_shell(VmGuest *self, const gchar *cmd, gchar **output, gint *status, guint timeout_ms,
	       GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
	g_autofree gchar *output_local = NULL;
	gint status_local = -1;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(cmd != NULL, FALSE);

	if (strchr(cmd, '\n') != NULL || cmd[0] == '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a guest shell command is one non-empty line, not '%s'", cmd);
		return FALSE;
	}
	if (self->shell == NULL && !vm_guest_shell_connect(self, error))
		return FALSE;
	if (!vm_guest_shell_exchange(self, cmd, deadline, &output_local, &status_local,
				     &error_local)) {
		/* a timed-out command still answers later: the next call syncs past it */
		self->shell_synced = FALSE;
		if (!g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			vm_guest_shell_drop(self);
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "guest shell '%s': ", cmd);
		return FALSE;
	}
	if (output != NULL)
		*output = g_steal_pointer(&output_local);
	if (status != NULL)
		*status = status_local;
	return TRUE;
}

gchar *
vm_guest_shell_ok(VmGuest *self, const gchar *cmd, GError **error)
{
	g_autofree gchar *output = NULL;
	gint status = -1;

	if (!vm_guest_shell(self, cmd, &output, &status, VM_GUEST_SHELL_TIMEOUT_MS, error))
		return NULL;
	if (status != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "guest shell '%s' exited with status %d: %s", cmd, status, output);
		return NULL;
	}
	return g_strdup(g_strstrip(output));
}

const gchar *
vm_guest_build_image(GError **error)
{
	if (!vm_guest_built) {
		if (!vm_guest_build(error))
			return NULL;
		vm_guest_built = TRUE;
	}
	return g_getenv("QGATRACE_VM_IMAGE_DIR");
}

VmGuest *
vm_guest_attach(const gchar *run_dir)
{
	VmGuest *self = g_new0(VmGuest, 1);

	self->run_dir = g_strdup(run_dir);
	self->attached = TRUE;
	self->sockets = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	for (guint i = 0; vm_guest_socket_names[i] != NULL; i++) {
		g_autofree gchar *base = g_strdup_printf("%s.sock", vm_guest_socket_names[i]);
		g_hash_table_insert(self->sockets, (gpointer)vm_guest_socket_names[i],
				    g_build_filename(self->run_dir, base, NULL));
	}
	self->shell_buf = g_string_new(NULL);
	return self;
}
