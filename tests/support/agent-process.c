/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "agent-process.h"

#define AGENT_START_TIMEOUT_MS 20000 /* sanitizer builds start slowly */
#define AGENT_STOP_TIMEOUT_MS  5000
#define AGENT_RUN_TIMEOUT_MS   20000
#define AGENT_STDERR_SHOWN     (64 * 1024)
#define QEMU_GA_DEFAULT	       "/usr/sbin/qemu-ga"

/* never let a test freeze, stop or reconfigure the host (see the header) */
static const gchar *const agent_process_blocked_always[] = {
	"guest-fsfreeze-freeze",
	"guest-fsfreeze-freeze-list",
	"guest-fsfreeze-thaw",
	NULL,
};

/* stock qemu-ga runs as root here with every command compiled in */
static const gchar *const agent_process_blocked_qemu_ga[] = {
	"guest-shutdown",
	"guest-suspend-disk",
	"guest-suspend-ram",
	"guest-suspend-hybrid",
	"guest-set-time",
	"guest-fstrim",
	"guest-set-vcpus",
	"guest-set-memory-blocks",
	"guest-set-user-password",
	"guest-exec",
	"guest-file-open",
	"guest-ssh-add-authorized-keys",
	"guest-ssh-remove-authorized-keys",
	NULL,
};

struct _AgentProcess {
	AgentKind kind;
	gchar *binary;
	gchar *kind_name;
	gchar *tmp_dir;
	gchar *socket_path;
	gchar *state_dir;
	gchar *stderr_path;
	gchar *config_path; /* (nullable) */
	GPtrArray *blocked;
	GPtrArray *extra_args;
	GPid pid; /* 0 when not running */
	gint wait_status;
	gboolean exited_unexpectedly;
	guint tests_pending;
};

const gchar *
agent_process_binary(AgentKind kind)
{
	const gchar *path;

	if (kind == AGENT_KIND_QGATRACE) {
		path = g_getenv("QGATRACE_AGENT");
	} else {
		path = g_getenv("QEMU_GA");
		if (path == NULL || path[0] == '\0')
			path = QEMU_GA_DEFAULT;
	}
	if (path == NULL || path[0] == '\0')
		return NULL;
	if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) || g_file_test(path, G_FILE_TEST_IS_DIR))
		return NULL;
	return path;
}

static gchar **
agent_process_environ(void)
{
	gchar **envp = g_get_environ();

	/* stock qemu-ga reads its config from $QGA_CONF: keep the host's out */
	envp = g_environ_unsetenv(envp, "QGA_CONF");
	return envp;
}

static gint
agent_process_open_log(const gchar *path, GError **error)
{
	gint fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "cannot create '%s': %s", path, g_strerror(errsv));
	}
	return fd;
}

/* runs in the child: an agent outlives no test program that crashed */
static void
agent_process_child_setup(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* spawns @argv with stdin on /dev/null and stdout/stderr into files */
static gboolean
agent_process_spawn(gchar **argv, const gchar *stdout_path, const gchar *stderr_path, GPid *pid,
		    GError **error)
{
	g_auto(GStrv) envp = agent_process_environ();
	gint in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	gint out_fd = -1;
	gint err_fd = -1;
	gboolean ok = FALSE;

	if (in_fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "cannot open /dev/null: %s", g_strerror(errsv));
		return FALSE;
	}
	out_fd = agent_process_open_log(stdout_path, error);
	if (out_fd >= 0)
		err_fd = agent_process_open_log(stderr_path, error);
	if (out_fd >= 0 && err_fd >= 0) {
		ok = g_spawn_async_with_fds(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD,
					    agent_process_child_setup, NULL, pid, in_fd, out_fd,
					    err_fd, error);
	}
	close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	return ok;
}

/* waits for @pid until @deadline (monotonic µs); TRUE and @status when reaped */
static gboolean
agent_process_wait_until(GPid pid, gint64 deadline, gint *status)
{
	for (;;) {
		pid_t rc = waitpid(pid, status, WNOHANG);

		if (rc == pid)
			return TRUE;
		if (rc < 0 && errno != EINTR)
			return TRUE; /* not our child any more: nothing to wait for */
		if (g_get_monotonic_time() >= deadline)
			return FALSE;
		g_usleep(5000);
	}
}

static void
agent_process_kill_and_reap(GPid pid, gint *status)
{
	if (!agent_process_wait_until(pid, g_get_monotonic_time(), status)) {
		kill(pid, SIGKILL);
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	}
}

static gchar *
agent_process_describe_status(gint status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(status),
				       g_strsignal(WTERMSIG(status)));
	return g_strdup_printf("wait status 0x%x", status);
}

gchar *
agent_process_kind_name(AgentKind kind)
{
	const gchar *args[] = {"-V", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autoptr(GRegex) re = NULL;
	g_autoptr(GMatchInfo) match = NULL;
	gint status = 0;

	if (kind == AGENT_KIND_QGATRACE)
		return g_strdup("qgatrace");
	if (!agent_process_run_sync(kind, args, &out, &err, &status, NULL))
		return g_strdup("qemu-ga");
	/* "QEMU Guest Agent 7.2.22" */
	re = g_regex_new("QEMU Guest Agent ([0-9]+)\\.([0-9]+)", 0, 0, NULL);
	if (re == NULL || !g_regex_match(re, out, 0, &match))
		return g_strdup("qemu-ga");
	{
		g_autofree gchar *major = g_match_info_fetch(match, 1);
		g_autofree gchar *minor = g_match_info_fetch(match, 2);
		return g_strdup_printf("qemu-ga-%s.%s", major, minor);
	}
}

AgentProcess *
agent_process_new(AgentKind kind, GError **error)
{
	const gchar *binary = agent_process_binary(kind);
	g_autoptr(AgentProcess) self = NULL;
	g_autofree gchar *tmp_dir = NULL;

	if (binary == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s is not available (%s)",
			    kind == AGENT_KIND_QGATRACE ? "qgatrace-agent" : "qemu-ga",
			    kind == AGENT_KIND_QGATRACE
				    ? "set QGATRACE_AGENT"
				    : "set QEMU_GA or install " QEMU_GA_DEFAULT);
		return NULL;
	}
	tmp_dir = g_dir_make_tmp("qgatrace-it-XXXXXX", error);
	if (tmp_dir == NULL)
		return NULL;
	self = g_new0(AgentProcess, 1);
	self->kind = kind;
	self->binary = g_strdup(binary);
	self->tmp_dir = g_steal_pointer(&tmp_dir);
	self->socket_path = g_build_filename(self->tmp_dir, "agent.sock", NULL);
	self->state_dir = g_build_filename(self->tmp_dir, "state", NULL);
	self->stderr_path = g_build_filename(self->tmp_dir, "stderr.log", NULL);
	self->blocked = g_ptr_array_new_with_free_func(g_free);
	self->extra_args = g_ptr_array_new_with_free_func(g_free);
	if (g_mkdir(self->state_dir, 0700) < 0) {
		gint errsv = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "cannot create '%s': %s", self->state_dir, g_strerror(errsv));
		return NULL;
	}
	for (guint i = 0; agent_process_blocked_always[i] != NULL; i++)
		agent_process_block(self, agent_process_blocked_always[i]);
	if (kind == AGENT_KIND_QEMU_GA) {
		for (guint i = 0; agent_process_blocked_qemu_ga[i] != NULL; i++)
			agent_process_block(self, agent_process_blocked_qemu_ga[i]);
	}
	return g_steal_pointer(&self);
}

static void
agent_process_remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		dir = g_dir_open(path, 0, NULL);
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			agent_process_remove_tree(child);
		}
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

void
agent_process_free(AgentProcess *self)
{
	if (self == NULL)
		return;
	if (self->pid > 0)
		agent_process_stop(self);
	if (self->tests_pending > 0)
		agent_process_dump_stderr(self, "a test using this agent failed");
	else if (self->exited_unexpectedly)
		agent_process_dump_stderr(self, "the agent exited on its own");
	if (self->tmp_dir != NULL) {
		if (g_getenv("QGATRACE_TEST_KEEP") != NULL)
			g_printerr("# keeping %s\n", self->tmp_dir);
		else
			agent_process_remove_tree(self->tmp_dir);
	}
	g_free(self->binary);
	g_free(self->kind_name);
	g_free(self->tmp_dir);
	g_free(self->socket_path);
	g_free(self->state_dir);
	g_free(self->stderr_path);
	g_free(self->config_path);
	if (self->blocked != NULL)
		g_ptr_array_unref(self->blocked);
	if (self->extra_args != NULL)
		g_ptr_array_unref(self->extra_args);
	g_free(self);
}

void
agent_process_set_config(AgentProcess *self, const gchar *keyfile_text)
{
	g_autoptr(GError) error_local = NULL;

	g_free(self->config_path);
	self->config_path = g_build_filename(self->tmp_dir, "agent.conf", NULL);
	if (!g_file_set_contents(self->config_path, keyfile_text, -1, &error_local))
		g_printerr("# cannot write %s: %s\n", self->config_path, error_local->message);
}

void
agent_process_block(AgentProcess *self, const gchar *command)
{
	for (guint i = 0; i < self->blocked->len; i++) {
		if (g_strcmp0(g_ptr_array_index(self->blocked, i), command) == 0)
			return;
	}
	g_ptr_array_add(self->blocked, g_strdup(command));
}

void
agent_process_add_args(AgentProcess *self, const gchar *first, ...)
{
	va_list ap;

	va_start(ap, first);
	for (const gchar *arg = first; arg != NULL; arg = va_arg(ap, const gchar *))
		g_ptr_array_add(self->extra_args, g_strdup(arg));
	va_end(ap);
}

static gboolean
agent_process_probe_socket(const gchar *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	gint fd;
	gboolean ok;

	if (strlen(path) >= sizeof(addr.sun_path))
		return FALSE;
	memcpy(addr.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FALSE;
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return ok;
}

gboolean
agent_process_start(AgentProcess *self, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *stdout_path = g_build_filename(self->tmp_dir, "stdout.log", NULL);
	g_auto(GStrv) blocked = NULL;
	gint64 deadline;

	g_return_val_if_fail(self->pid == 0, FALSE);

	g_ptr_array_add(argv, g_strdup(self->binary));
	g_ptr_array_add(argv, g_strdup("-m"));
	g_ptr_array_add(argv, g_strdup("unix-listen"));
	g_ptr_array_add(argv, g_strdup("-p"));
	g_ptr_array_add(argv, g_strdup(self->socket_path));
	g_ptr_array_add(argv, g_strdup("-t"));
	g_ptr_array_add(argv, g_strdup(self->state_dir));
	if (self->config_path != NULL) {
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup(self->config_path));
	}
	if (self->blocked->len > 0) {
		g_ptr_array_add(self->blocked, NULL);
		blocked = g_strdupv((gchar **)self->blocked->pdata);
		g_ptr_array_remove_index(self->blocked, self->blocked->len - 1);
		g_ptr_array_add(argv, g_strdup("-b"));
		g_ptr_array_add(argv, g_strjoinv(",", blocked));
	}
	for (guint i = 0; i < self->extra_args->len; i++)
		g_ptr_array_add(argv, g_strdup(g_ptr_array_index(self->extra_args, i)));
	g_ptr_array_add(argv, NULL);

	if (g_getenv("QGATRACE_TEST_VERBOSE") != NULL) {
		g_autofree gchar *cmdline = g_strjoinv(" ", (gchar **)argv->pdata);
		g_printerr("# starting %s\n", cmdline);
	}
	if (!agent_process_spawn((gchar **)argv->pdata, stdout_path, self->stderr_path, &self->pid,
				 error))
		return FALSE;

	deadline = g_get_monotonic_time() + (gint64)AGENT_START_TIMEOUT_MS * 1000;
	while (!agent_process_probe_socket(self->socket_path)) {
		if (!agent_process_is_alive(self)) {
			g_autofree gchar *how = agent_process_describe_status(self->wait_status);
			g_autofree gchar *err = agent_process_read_stderr(self);
			self->exited_unexpectedly = FALSE; /* reported right here */
			g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
				    "agent %s before its socket accepted; stderr:\n%s", how, err);
			return FALSE;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_autofree gchar *err = NULL;
			agent_process_stop(self);
			err = agent_process_read_stderr(self);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "agent socket '%s' did not accept within %d ms; stderr:\n%s",
				    self->socket_path, AGENT_START_TIMEOUT_MS, err);
			return FALSE;
		}
		g_usleep(10000);
	}
	return TRUE;
}

const gchar *
agent_process_get_socket_path(AgentProcess *self)
{
	return self->socket_path;
}

const gchar *
agent_process_get_state_dir(AgentProcess *self)
{
	return self->state_dir;
}

const gchar *
agent_process_get_tmp_dir(AgentProcess *self)
{
	return self->tmp_dir;
}

const gchar *
agent_process_get_kind_name(AgentProcess *self)
{
	if (self->kind_name == NULL)
		self->kind_name = agent_process_kind_name(self->kind);
	return self->kind_name;
}

GPid
agent_process_get_pid(AgentProcess *self)
{
	return self->pid;
}

gboolean
agent_process_is_alive(AgentProcess *self)
{
	pid_t rc;

	if (self->pid <= 0)
		return FALSE;
	do {
		rc = waitpid(self->pid, &self->wait_status, WNOHANG);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return TRUE;
	self->pid = 0;
	self->exited_unexpectedly = TRUE;
	return FALSE;
}

gint
agent_process_stop(AgentProcess *self)
{
	gint status = 0;

	if (!agent_process_is_alive(self))
		return -1;
	kill(self->pid, SIGTERM);
	if (!agent_process_wait_until(self->pid,
				      g_get_monotonic_time() + (gint64)AGENT_STOP_TIMEOUT_MS * 1000,
				      &status)) {
		g_printerr("# agent %d ignored SIGTERM for %d ms, killing it\n", (gint)self->pid,
			   AGENT_STOP_TIMEOUT_MS);
		agent_process_kill_and_reap(self->pid, &status);
		self->pid = 0;
		self->wait_status = status;
		return -1;
	}
	self->pid = 0;
	self->wait_status = status;
	return status;
}

gboolean
agent_process_stop_cleanly(AgentProcess *self, GError **error)
{
	gboolean was_running = agent_process_is_alive(self);
	gint status;
	g_autofree gchar *how = NULL;

	if (!was_running) {
		how = agent_process_describe_status(self->wait_status);
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
			    "the agent was no longer running (%s)", how);
		return FALSE;
	}
	status = agent_process_stop(self);
	if (status == -1) {
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
			    "the agent ignored SIGTERM and was killed");
		return FALSE;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		how = agent_process_describe_status(status);
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "the agent %s on SIGTERM",
			    how);
		return FALSE;
	}
	return TRUE;
}

gchar *
agent_process_read_stderr(AgentProcess *self)
{
	gchar *contents = NULL;

	if (!g_file_get_contents(self->stderr_path, &contents, NULL, NULL))
		return g_strdup("(no stderr captured)");
	return contents;
}

void
agent_process_dump_stderr(AgentProcess *self, const gchar *why)
{
	g_autofree gchar *err = agent_process_read_stderr(self);
	gsize len = strlen(err);
	const gchar *shown = err;

	if (len > AGENT_STDERR_SHOWN)
		shown = err + len - AGENT_STDERR_SHOWN;
	g_printerr("# ---- %s stderr (%s)%s ----\n%s%s# ---- end of agent stderr ----\n",
		   self->binary, why, shown != err ? ", last 64 KiB" : "", shown,
		   len > 0 && err[len - 1] != '\n' ? "\n" : "");
}

void
agent_process_test_begin(AgentProcess *self)
{
	self->tests_pending++;
}

void
agent_process_test_passed(AgentProcess *self)
{
	if (self->tests_pending > 0)
		self->tests_pending--;
}

gboolean
agent_process_run_sync(AgentKind kind, const gchar *const *args, gchar **out, gchar **err,
		       gint *wait_status, GError **error)
{
	const gchar *binary = agent_process_binary(kind);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree gchar *tmp_dir = NULL;
	g_autofree gchar *out_path = NULL;
	g_autofree gchar *err_path = NULL;
	GPid pid = 0;
	gint status = 0;

	if (binary == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "agent binary is not available");
		return FALSE;
	}
	tmp_dir = g_dir_make_tmp("qgatrace-run-XXXXXX", error);
	if (tmp_dir == NULL)
		return FALSE;
	out_path = g_build_filename(tmp_dir, "stdout", NULL);
	err_path = g_build_filename(tmp_dir, "stderr", NULL);
	g_ptr_array_add(argv, (gpointer)binary);
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	if (!agent_process_spawn((gchar **)argv->pdata, out_path, err_path, &pid, error)) {
		agent_process_remove_tree(tmp_dir);
		return FALSE;
	}
	if (!agent_process_wait_until(
		    pid, g_get_monotonic_time() + (gint64)AGENT_RUN_TIMEOUT_MS * 1000, &status)) {
		agent_process_kill_and_reap(pid, &status);
		agent_process_remove_tree(tmp_dir);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not exit within %d ms",
			    binary, AGENT_RUN_TIMEOUT_MS);
		return FALSE;
	}
	if (out != NULL && !g_file_get_contents(out_path, out, NULL, NULL))
		*out = g_strdup("");
	if (err != NULL && !g_file_get_contents(err_path, err, NULL, NULL))
		*err = g_strdup("");
	if (wait_status != NULL)
		*wait_status = status;
	agent_process_remove_tree(tmp_dir);
	return TRUE;
}
