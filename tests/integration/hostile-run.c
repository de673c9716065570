/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "hostile-run.h"

const gchar *
hostile_client_path(void)
{
	const gchar *path = g_getenv("QGATRACE_CLIENT");

	if (path == NULL || path[0] == '\0')
		fail_msg("QGATRACE_CLIENT is not set (meson test sets it)");
	return path;
}

static void
hostile_child_setup(gpointer user_data)
{
	struct rlimit limit = {HOSTILE_AS_LIMIT, HOSTILE_AS_LIMIT};

	/* ASan reserves terabytes of shadow: there its own limits apply */
	if (user_data == NULL)
		setrlimit(RLIMIT_AS, &limit);
}

HostileRun *
hostile_run_spawn(const gchar *const *args, const gchar *const *env_extra)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) error = NULL;
	const gchar *asan = g_getenv("ASAN_OPTIONS");
	g_autofree gchar *asan_options = NULL;
	HostileRun *run = g_new0(HostileRun, 1);

	g_ptr_array_add(argv, (gpointer)hostile_client_path());
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	/* a GLib critical is input reaching a programmer error: a crash here */
	envp = g_environ_setenv(envp, "G_DEBUG", "fatal-criticals", TRUE);
	/* sanitizer reports must not look like the exit status 1 of a refusal;
	 * the memory bounds of RLIMIT_AS, for ASan (meson sets HOSTILE_SANITIZED) */
	asan_options = g_strdup_printf("%s%sexitcode=86:hard_rss_limit_mb=%" G_GUINT64_FORMAT
				       ":max_allocation_size_mb=%" G_GUINT64_FORMAT,
				       asan != NULL ? asan : "",
				       asan != NULL && asan[0] != '\0' ? ":" : "",
				       HOSTILE_AS_LIMIT >> 20, HOSTILE_AS_LIMIT >> 20);
	envp = g_environ_setenv(envp, "ASAN_OPTIONS", asan_options, TRUE);
	envp = g_environ_setenv(envp, "UBSAN_OPTIONS", "halt_on_error=1:exitcode=87", TRUE);
	envp = g_environ_unsetenv(envp, "G_MESSAGES_DEBUG");
	for (guint i = 0; env_extra != NULL && env_extra[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(env_extra[i], "=", 2);

		envp = g_environ_setenv(envp, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
	}
	run->out = g_string_new(NULL);
	run->err = g_string_new(NULL);
	run->started = g_get_monotonic_time();
	if (!g_spawn_async_with_pipes(NULL, (gchar **)argv->pdata, envp, G_SPAWN_DO_NOT_REAP_CHILD,
				      hostile_child_setup,
				      g_getenv("HOSTILE_SANITIZED") != NULL ? (gpointer) "asan"
									    : NULL,
				      &run->pid, NULL, &run->out_fd, &run->err_fd, &error))
		fail_msg("cannot start %s: %s", hostile_client_path(), error->message);
	fcntl(run->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(run->err_fd, F_SETFL, O_NONBLOCK);
	return run;
}

/* reads what is there; FALSE at EOF */
static gboolean
hostile_run_drain(HostileRun *run, gint fd, GString *keep, guint64 *total)
{
	gchar buf[65536];

	for (;;) {
		gssize n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return TRUE; /* EAGAIN */
		if (n == 0)
			return FALSE;
		*total += (guint64)n;
		if (keep->len < HOSTILE_OUTPUT_MAX)
			g_string_append_len(keep, buf,
					    MIN((gsize)n, HOSTILE_OUTPUT_MAX - keep->len));
	}
}

static void
hostile_run_reaped(HostileRun *run, gint status)
{
	run->elapsed_s = (gdouble)(g_get_monotonic_time() - run->started) / G_USEC_PER_SEC;
	if (WIFEXITED(status)) {
		run->exited = TRUE;
		run->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		run->term_signal = WTERMSIG(status);
	}
	run->pid = 0;
}

void
hostile_run_wait(HostileRun *run, guint timeout_ms)
{
	gint64 deadline = run->started + (gint64)timeout_ms * 1000;
	gboolean out_open = TRUE;
	gboolean err_open = TRUE;

	while (run->pid != 0) {
		struct pollfd pfd[2] = {{out_open ? run->out_fd : -1, POLLIN, 0},
					{err_open ? run->err_fd : -1, POLLIN, 0}};
		gint status = 0;
		pid_t done;

		poll(pfd, 2, 20);
		if (out_open)
			out_open = hostile_run_drain(run, run->out_fd, run->out, &run->out_total);
		if (err_open)
			err_open = hostile_run_drain(run, run->err_fd, run->err, &run->err_total);
		if (run->out_total + run->err_total > HOSTILE_OUTPUT_MAX && !run->too_much) {
			run->too_much = TRUE;
			kill(run->pid, SIGKILL);
		}
		if (g_get_monotonic_time() > deadline && !run->timed_out && !run->too_much) {
			run->timed_out = TRUE;
			kill(run->pid, SIGKILL);
		}
		done = waitpid(run->pid, &status, WNOHANG);
		if (done == run->pid) {
			hostile_run_reaped(run, status);
			/* a child of the child may hold the pipes: take what is there */
			if (out_open)
				hostile_run_drain(run, run->out_fd, run->out, &run->out_total);
			if (err_open)
				hostile_run_drain(run, run->err_fd, run->err, &run->err_total);
		}
	}
}

HostileRun *
hostile_run(guint timeout_ms, const gchar *const *args)
{
	HostileRun *run = hostile_run_spawn(args, NULL);

	hostile_run_wait(run, timeout_ms);
	return run;
}

void
hostile_run_free(HostileRun *run)
{
	if (run == NULL)
		return;
	if (run->pid != 0) {
		kill(run->pid, SIGKILL);
		waitpid(run->pid, NULL, 0);
	}
	close(run->out_fd);
	close(run->err_fd);
	g_string_free(run->out, TRUE);
	g_string_free(run->err, TRUE);
	g_free(run);
}

gchar *
hostile_run_describe(const HostileRun *run)
{
	g_autofree gchar *err_head = g_strndup(run->err->str, MIN(run->err->len, 600));
	g_autofree gchar *status =
		run->exited ? g_strdup_printf("exited %d", run->exit_status)
			    : g_strdup_printf("killed by signal %d (%s)", run->term_signal,
					      g_strsignal(run->term_signal));
	const gchar *how = run->timed_out  ? " (killed at the deadline)"
			   : run->too_much ? " (killed for too much output)"
					   : "";

	return g_strdup_printf("%s%s after %.1f s, %" G_GUINT64_FORMAT
			       " bytes on stdout, %" G_GUINT64_FORMAT
			       " on stderr; stderr starts: %s",
			       status, how, run->elapsed_s, run->out_total, run->err_total,
			       err_head);
}

void
hostile_write_all(gint fd, const void *data, gsize len)
{
	const guint8 *p = data;

	while (len > 0) {
		gssize n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (gsize)n;
	}
}

gssize
hostile_find_unsafe(const gchar *text, gsize len)
{
	const gchar *p = text;
	const gchar *end = text + len;

	while (p < end) {
		guchar c = (guchar)*p;
		gunichar u;
		const gchar *next;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return p - text;
			p++;
			continue;
		}
		u = g_utf8_get_char_validated(p, end - p);
		if (u == (gunichar)-1 || u == (gunichar)-2)
			return p - text;
		if (u >= 0x80 && u <= 0x9f)
			return p - text;
		next = g_utf8_next_char(p);
		p = next;
	}
	return -1;
}

gchar *
hostile_check_terminal_safe(const gchar *what, const gchar *text, gsize len)
{
	gssize at = hostile_find_unsafe(text, len);
	gsize from;
	g_autoptr(GString) context = NULL;

	if (at < 0)
		return NULL;
	from = at > 40 ? (gsize)at - 40 : 0;
	context = g_string_new(NULL);
	for (gsize i = from; i < MIN(len, (gsize)at + 40); i++) {
		guchar c = (guchar)text[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			g_string_append_c(context, (gchar)c);
		else
			g_string_append_printf(context, "\\x%02x", c);
	}
	return g_strdup_printf("%s holds byte 0x%02x at %zd, unsafe for a terminal: ...%s...", what,
			       (guchar)text[at], at, context->str);
}

void
hostile_assert_terminal_safe(const gchar *what, const gchar *text, gsize len)
{
	g_autofree gchar *problem = hostile_check_terminal_safe(what, text, len);

	if (problem != NULL)
		fail_msg("%s", problem);
}

static gchar *
hostile_check_json_value(const gchar *text, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *head = g_strndup(text, MIN(len, 300));

	if (!json_parser_load_from_data(parser, text, (gssize)len, &error))
		return g_strdup_printf("--json output does not parse (%s): %s", error->message,
				       head);
	return NULL;
}

gchar *
hostile_check_json(const gchar *text, gboolean lines)
{
	/* json-glib reads these; JSON has no such numbers (nor "1e+30.0") */
	g_autoptr(GRegex) number_word =
		g_regex_new("[:,\\[]\\s*-?(inf|nan|Infinity|NaN)\\b|[0-9]e[+-]?[0-9]+\\.",
			    G_REGEX_CASELESS, 0, NULL);
	g_autoptr(GMatchInfo) match = NULL;
	g_auto(GStrv) split = NULL;

	if (g_regex_match(number_word, text, 0, &match)) {
		g_autofree gchar *word = g_match_info_fetch(match, 0);

		return g_strdup_printf("--json output holds a number JSON does not have: '%s'",
				       word);
	}
	if (!lines)
		return hostile_check_json_value(text, strlen(text));
	split = g_strsplit(text, "\n", -1);
	for (guint i = 0; split[i] != NULL; i++) {
		gchar *problem = split[i][0] != '\0'
					 ? hostile_check_json_value(split[i], strlen(split[i]))
					 : NULL;

		if (problem != NULL)
			return problem;
	}
	return NULL;
}

gchar *
hostile_check_ended_cleanly(const HostileRun *run)
{
	g_autofree gchar *how = hostile_run_describe(run);

	if (run->too_much)
		return g_strdup_printf("unbounded output: %s", how);
	if (run->timed_out)
		return g_strdup_printf("did not end in time: %s", how);
	if (!run->exited)
		return g_strdup_printf("crashed: %s", how);
	if (run->exit_status >= 80)
		return g_strdup_printf("a sanitizer reported an error: %s", how);
	return NULL;
}

void
hostile_assert_ended_cleanly(const HostileRun *run)
{
	g_autofree gchar *problem = hostile_check_ended_cleanly(run);

	if (problem != NULL)
		fail_msg("%s", problem);
}
