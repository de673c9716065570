/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-hook.h"

extern char **environ;

typedef struct {
	pid_t pid;
	gint pidfd;
	gint out_fd;
	GString *output;
} QgaHookRun;

static void
qga_hook_run_clear(QgaHookRun *run)
{
	if (run->pidfd >= 0)
		close(run->pidfd);
	if (run->out_fd >= 0)
		close(run->out_fd);
	if (run->output != NULL)
		g_string_free(run->output, TRUE);
}

static gboolean
qga_hook_spawn(QgaHookRun *run, const gchar *hook, const gchar *phase, GError **error)
{
	gint pipefd[2];
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none;
	gchar *argv[] = {(gchar *)hook, (gchar *)phase, NULL};
	gint rc;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "pipe: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	/* its own session, so a timeout kills its children too; and none of
	 * the agent's blocked signals (SIGIO) */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawn(&run->pid, hook, &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	run->out_fd = pipefd[0];
	if (rc != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(rc),
			    "cannot run fsfreeze hook '%s': %s", hook, g_strerror(rc));
		return FALSE;
	}
	run->pidfd = syscall(SYS_pidfd_open, run->pid, 0);
	if (run->pidfd < 0) {
		gint errsv = errno;
		kill(-run->pid, SIGKILL);
		waitpid(run->pid, NULL, 0);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "pidfd_open: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	g_unix_set_fd_nonblocking(run->out_fd, TRUE, NULL);
	return TRUE;
}

static void
qga_hook_drain(QgaHookRun *run)
{
	gchar buf[4096];
	gssize n;

	/* the last bytes are kept: a report shows the output's tail */
	while ((n = read(run->out_fd, buf, sizeof(buf))) > 0) {
		g_string_append_len(run->output, buf, n);
		if (run->output->len > QGA_HOOK_OUTPUT_MAX)
			g_string_erase(run->output, 0, run->output->len - QGA_HOOK_OUTPUT_MAX);
	}
}

/* waits for the hook to exit; FALSE when the deadline passed first */
static gboolean
qga_hook_wait(QgaHookRun *run, gint64 deadline)
{
	for (;;) {
		struct pollfd pfds[2] = {
			{.fd = run->pidfd, .events = POLLIN},
			{.fd = run->out_fd, .events = POLLIN},
		};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;

		if (left <= 0)
			return FALSE;
		if (poll(pfds, run->out_fd >= 0 ? 2 : 1, (gint)MIN(left, G_MAXINT)) < 0 &&
		    errno != EINTR)
			return FALSE;
		if (pfds[1].revents & POLLIN)
			qga_hook_drain(run);
		else if (pfds[1].revents & (POLLHUP | POLLERR)) {
			close(run->out_fd);
			run->out_fd = -1;
		}
		if (pfds[0].revents & POLLIN)
			return TRUE;
	}
}

void
qga_hook_report_free(QgaHookReport *self)
{
	if (self == NULL)
		return;
	g_free(self->phase);
	g_free(self->path);
	g_free(self->output_tail);
	g_free(self->error);
	g_free(self);
}

gchar *
qga_hook_output_tail(const gchar *output, gsize len)
{
	const gchar *start = output;
	const gchar *end = output + len;
	guint lines = 0;
	g_autofree gchar *raw = NULL;

	while (end > output && g_ascii_isspace(end[-1]))
		end--;
	for (const gchar *p = end; p > output; p--) {
		if (p[-1] == '\n' && ++lines == QGA_HOOK_TAIL_LINES) {
			start = p;
			break;
		}
	}
	if (end - start > QGA_HOOK_TAIL_BYTES)
		start = end - QGA_HOOK_TAIL_BYTES;
	raw = g_strndup(start, end - start);
	/* JSON carries it: a cut character or a binary byte becomes U+FFFD */
	return g_strstrip(g_utf8_make_valid(raw, -1));
}

/* how @run ended, for @report and the error */
static gboolean
qga_hook_finish(QgaHookReport *report, gint status, GError **error)
{
	const gchar *sep = *report->output_tail ? ": " : "";

	if (WIFEXITED(status)) {
		report->exit_status = WEXITSTATUS(status);
		if (report->exit_status == 0) {
			g_message("fsfreeze hook '%s %s' succeeded%s%s", report->path,
				  report->phase, sep, report->output_tail);
			return TRUE;
		}
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "fsfreeze hook '%s %s' failed with exit status %d%s%s", report->path,
			    report->phase, report->exit_status, sep, report->output_tail);
	} else {
		report->signal = WTERMSIG(status);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "fsfreeze hook '%s %s' was terminated by signal %d%s%s", report->path,
			    report->phase, report->signal, sep, report->output_tail);
	}
	return FALSE;
}

static gboolean
qga_hook_run_report(QgaHookReport *report, guint timeout_s, GError **error)
{
	QgaHookRun run = {.pidfd = -1, .out_fd = -1, .output = g_string_new(NULL)};
	const gchar *hook = report->path;
	const gchar *phase = report->phase;
	gint64 started;
	gint status = 0;
	gboolean ok;

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* fuzz input must not start programs on the fuzzing host */
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "fsfreeze hook '%s %s' not run: hooks are disabled in a fuzzing build", hook,
		    phase);
	qga_hook_run_clear(&run);
	return FALSE;
#endif
	if (access(hook, X_OK) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "can't access fsfreeze hook '%s': %s", hook, g_strerror(errsv));
		qga_hook_run_clear(&run);
		return FALSE;
	}
	g_message("running fsfreeze hook '%s %s'", hook, phase);
	started = g_get_monotonic_time();
	if (!qga_hook_spawn(&run, hook, phase, error)) {
		qga_hook_run_clear(&run);
		return FALSE;
	}
	if (!qga_hook_wait(&run, started + (gint64)timeout_s * G_USEC_PER_SEC)) {
		kill(-run.pid, SIGKILL);
		waitpid(run.pid, NULL, 0);
		report->duration_ns = (g_get_monotonic_time() - started) * 1000;
		report->timed_out = TRUE;
		report->signal = SIGKILL;
		report->output_tail = qga_hook_output_tail(run.output->str, run.output->len);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "fsfreeze hook '%s %s' did not finish within %u s and was killed", hook,
			    phase, timeout_s);
		qga_hook_run_clear(&run);
		return FALSE;
	}
	waitpid(run.pid, &status, 0);
	report->duration_ns = (g_get_monotonic_time() - started) * 1000;
	/* what the hook wrote before it exited; children it left behind
	 * may hold the pipe open, so no waiting for EOF */
	if (run.out_fd >= 0)
		qga_hook_drain(&run);
	report->output_tail = qga_hook_output_tail(run.output->str, run.output->len);
	ok = qga_hook_finish(report, status, error);
	qga_hook_run_clear(&run);
	return ok;
}

gboolean
qga_hook_run(const gchar *hook, const gchar *phase, guint timeout_s, QgaHookReport **report,
	     GError **error)
{
	g_autoptr(QgaHookReport) self = g_new0(QgaHookReport, 1);
	g_autoptr(GError) error_local = NULL;
	gboolean ok;

	self->phase = g_strdup(phase);
	self->path = g_strdup(hook);
	self->exit_status = -1;
	self->signal = -1;
	self->duration_ns = -1;
	ok = qga_hook_run_report(self, timeout_s, &error_local);
	if (!ok) {
		self->error = g_strdup(error_local->message);
		g_propagate_error(error, g_steal_pointer(&error_local));
	}
	if (report != NULL)
		*report = g_steal_pointer(&self);
	return ok;
}
