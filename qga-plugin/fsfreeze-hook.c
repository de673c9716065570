/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qgatrace-fsfreeze-hook: kernel-verified freezes for stock qemu-ga.
 *
 * Installed in qemu-ga's hook directory (/etc/qemu/fsfreeze-hook.d/ on
 * Debian, run by the dispatcher script /etc/qemu/fsfreeze-hook) or given
 * to qemu-ga directly with -F. qemu-ga runs it with "freeze" before its
 * first FIFREEZE and with "thaw" after its last FITHAW.
 *
 * freeze: finds qemu-ga among its ancestors and starts a small daemon that
 *   arms a private ftrace instance ('qgatrace-hook') for qemu-ga's pid with
 *   function-fork, adds the dispatcher between them (forked before the
 *   arm, it runs the scripts that follow this one), then returns as soon as
 *   that is armed. The daemon has to
 *   outlive this process: the tracer's state is needed at collection time.
 * thaw: asks the daemon, over an abstract UNIX socket (no file, so nothing
 *   on a filesystem), to collect, verify, store the session as JSON in
 *   the plugin dir (/run/qgatrace/sessions: tmpfs) with index.json, the
 *   list of those kept, disarm and exit; qgatrace-agent serves those
 *   sessions with guest-trace-fetch, and a host with only qemu-ga reads
 *   the index and a session through qemu-ga's guest-file-*.
 *
 * It always exits 0: a hook that fails aborts the user's snapshot, and
 * tracing must never do that. It never waits without a bound. The daemon
 * writes nothing while qemu-ga is frozen (its stdio is /dev/null), gives
 * up on a qemu-ga that exited, and stores what it has after an hour
 * without a thaw. The [trace] group of /etc/qgatrace/agent.conf applies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "hook-qemu-ga.h"
#include "qga-config.h"
#include "qga-trace-session.h"
#include "qtf.h"

#define HOOK_NAME "qgatrace-fsfreeze-hook"
/* its own instance: qgatrace-agent's 'qgatrace' may be in use meanwhile */
#define HOOK_INSTANCE "qgatrace-hook"
/* abstract namespace: the leading NUL is added when binding */
#define HOOK_SOCKET QGA_TRACE_SESSION_HOOK_SOCKET
/* arming costs ~0.1 s on KVM, ~1 s under TCG: past this the freeze goes on */
#define HOOK_ARM_WAIT_MS 15000
/* collecting reads kallsyms: ~0.2 s on KVM, a few s under TCG */
#define HOOK_STORE_WAIT_MS 30000
#define HOOK_ARMED_MAX_S   3600
#define HOOK_LINE_MAX	   512

static void hook_say(const gchar *format, ...) G_GNUC_PRINTF(1, 2);

/* qemu-ga sends this to /dev/null, the dispatcher to its log file */
static void
hook_say(const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	va_list args;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	fprintf(stderr, "%s: %s\n", HOOK_NAME, text);
}

static gint
hook_socket_address(struct sockaddr_un *addr, socklen_t *len)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path + 1, HOOK_SOCKET, strlen(HOOK_SOCKET));
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(HOOK_SOCKET));
	return 0;
}

/* a connection to the daemon, or -1 when none listens */
static gint
hook_connect(void)
{
	struct sockaddr_un addr;
	socklen_t len;
	gint fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	hook_socket_address(&addr, &len);
	if (connect(fd, (struct sockaddr *)&addr, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* one line from @fd within @timeout_ms; NULL on timeout, EOF or error */
static gchar *
hook_read_line(gint fd, gint timeout_ms)
{
	GString *line = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (line->len < HOOK_LINE_MAX) {
		struct pollfd pfd = {fd, POLLIN, 0};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		gint ready;
		gchar c;
		gssize n;

		if (left <= 0)
			break;
		ready = poll(&pfd, 1, (gint)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (c == '\n')
			return g_string_free(line, FALSE);
		g_string_append_c(line, c);
	}
	g_string_free(line, TRUE);
	return NULL;
}

static gboolean
hook_write_line(gint fd, const gchar *line)
{
	g_autofree gchar *data = g_strdup_printf("%s\n", line);
	gsize done = 0;
	gsize len = strlen(data);

	while (done < len) {
		/* a pipe or a socket: SIGPIPE is ignored */
		gssize n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		done += (gsize)n;
	}
	return TRUE;
}

/* sends @request to the daemon and prints its answer; FALSE when none listens */
static gboolean
hook_ask(const gchar *request, gint timeout_ms)
{
	gint fd = hook_connect();
	g_autofree gchar *reply = NULL;

	if (fd < 0)
		return FALSE;
	if (hook_write_line(fd, request))
		reply = hook_read_line(fd, timeout_ms);
	close(fd);
	if (reply != NULL)
		hook_say("%s: %s", request, reply);
	else
		hook_say("%s: no answer within %d ms, going on", request, timeout_ms);
	return TRUE;
}

/* ---- the daemon ---- */

typedef struct {
	const QgaConfig *config;
	GPid pid;	       /* qemu-ga */
	GArray *dispatchers;   /* GPid: the hook's ancestors below qemu-ga */
	GPid own;	       /* the thaw hook that asked, 0 before */
	guint64 pid_starttime; /* to know it is still the same process */
	gchar *id;
	guint64 started_ns;
	GPtrArray *mounts; /* HookMount: qemu-ga's list at freeze time */
	QtfTracer *tracer;
	gboolean armed;
	QtfStallRecorder *stalls; /* recording, or NULL */
	gchar *stalls_unavailable;
	gchar *untraced;   /* why not armed */
	gchar *unfollowed; /* why the dispatcher's scripts are missing */
} HookDaemon;

static void
hook_daemon_clear(HookDaemon *self)
{
	g_free(self->id);
	if (self->mounts != NULL)
		g_ptr_array_unref(self->mounts);
	/* disarms, removes the instance */
	g_clear_pointer(&self->tracer, qtf_tracer_free);
	g_clear_pointer(&self->stalls, qtf_stall_recorder_free);
	g_clear_pointer(&self->stalls_unavailable, g_free);
	g_clear_pointer(&self->untraced, g_free);
	g_clear_pointer(&self->unfollowed, g_free);
	self->mounts = NULL;
	self->id = NULL;
}

/* nothing of the hook's caller may stay open here: qemu-ga may read the
 * hook's output to its end, and the dispatcher points it at a log file */
static void
hook_daemon_detach(gint *report_fd)
{
	gint null;

	/* out of the way of the standard fds first */
	if (*report_fd <= STDERR_FILENO) {
		gint moved = fcntl(*report_fd, F_DUPFD_CLOEXEC, 10);

		if (moved >= 0) {
			close(*report_fd);
			*report_fd = moved;
		}
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	setsid();
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (*report_fd != 3) {
		dup2(*report_fd, 3);
		close(*report_fd);
		*report_fd = 3;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	close_range(4, ~0U, 0);
	if (chdir("/") < 0)
		return;
}

static gint
hook_daemon_listen(void)
{
	struct sockaddr_un addr;
	socklen_t len;
	gint fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	hook_socket_address(&addr, &len);
	if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
hook_daemon_arm(HookDaemon *self)
{
	g_autoptr(GStrvBuilder) events = g_strv_builder_new();
	g_auto(GStrv) fs_events = NULL;
	QtfOptions opts = {
		.instance = HOOK_INSTANCE,
		.buffer_kb = self->config->trace_buffer_kb,
		.functions = (const gchar *const *)self->config->trace_functions,
	};
	g_autofree gchar *pid_name = g_strdup_printf("%d", (gint)self->pid);
	g_autofree gchar *mountinfo = g_build_filename("/proc", pid_name, "mountinfo", NULL);
	g_autoptr(GError) error = NULL;

	/* its own view of the mounts, before it builds its list */
	self->mounts = hook_qemu_ga_mounts(mountinfo, &error);
	if (self->mounts == NULL) {
		self->untraced =
			g_strdup_printf("cannot read qemu-ga's mounts: %s", error->message);
		return;
	}
	/* the dispatcher's scripts, from their exec and exit records */
	g_strv_builder_addv(events, (const gchar **)qtf_default_fs_events());
	g_strv_builder_add_many(events, HOOK_EVENT_EXEC, HOOK_EVENT_EXIT, NULL);
	fs_events = g_strv_builder_end(events);
	opts.fs_events = (const gchar *const *)fs_events;
	self->tracer = qtf_tracer_new(&opts, &error);
	if (self->tracer == NULL) {
		self->untraced = g_strdup(error->message);
		return;
	}
	if (!qtf_tracer_arm(self->tracer, self->pid, &error)) {
		self->untraced = g_strdup_printf("cannot arm: %s", error->message);
		return;
	}
	self->armed = TRUE;
	/* before the hook returns: the dispatcher runs the next script then */
	for (guint i = 0; i < self->dispatchers->len && self->unfollowed == NULL; i++) {
		if (!qtf_tracer_follow_pid(self->tracer, g_array_index(self->dispatchers, GPid, i),
					   &error)) {
			self->unfollowed = g_strdup_printf(
				"the dispatcher's scripts after this hook are not listed: %s",
				error->message);
			g_clear_error(&error);
		}
	}
	self->stalls = qtf_stall_recorder_new(qtf_tracer_get_tracing_dir(self->tracer),
					      HOOK_INSTANCE "-stalls", 0, &error);
	if (self->stalls == NULL || !qtf_stall_recorder_start(self->stalls, &error)) {
		self->stalls_unavailable = g_strdup(error->message);
		g_clear_pointer(&self->stalls, qtf_stall_recorder_free);
	}
}

/* after the thaw: the tasks the freeze stalled, qemu-ga and this daemon left out */
static void
hook_daemon_collect_stalls(HookDaemon *self, QgaTraceSession *session)
{
	const GPid exclude[] = {getpid(), self->pid};
	g_autoptr(GError) error = NULL;
	QtfStallLog *log;

	if (self->stalls == NULL) {
		g_autofree gchar *note = g_strdup_printf(
			"stalled tasks not recorded: %s",
			self->stalls_unavailable != NULL ? self->stalls_unavailable : "not armed");

		qga_trace_session_add_note(session, note);
		return;
	}
	log = qtf_stall_recorder_collect(self->stalls, exclude, G_N_ELEMENTS(exclude), &error);
	if (log == NULL) {
		g_autofree gchar *note =
			g_strdup_printf("stalled tasks not collected: %s", error->message);

		qga_trace_session_add_note(session, note);
	}
	qga_trace_session_set_stalls(session, log);
}

/* who may ask: root only, as qemu-ga runs its hooks. Returns: its pid, 0 for none */
static GPid
hook_peer_root_pid(gint fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0)
		return 0;
	return cred.pid;
}

/*
 * Waits for the thaw hook, qemu-ga's end, or the limit. Returns: the
 * connection to answer (-1 for none), @request set to what it asked
 */
static gint
hook_daemon_wait(HookDaemon *self, gint listen_fd, gchar **request)
{
	gint64 limit = g_get_monotonic_time() + (gint64)HOOK_ARMED_MAX_S * G_USEC_PER_SEC;

	for (;;) {
		struct pollfd pfd = {listen_fd, POLLIN, 0};
		gint fd;

		if (g_get_monotonic_time() > limit) {
			*request = g_strdup_printf("no thaw within %d s", HOOK_ARMED_MAX_S);
			return -1;
		}
		/* a pid that is gone, or reused by another process */
		if (hook_process_starttime("/proc", self->pid) != self->pid_starttime) {
			*request = g_strdup("qemu-ga exited before the thaw");
			return -1;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		self->own = hook_peer_root_pid(fd);
		*request = self->own > 0 ? hook_read_line(fd, 2000) : NULL;
		if (g_strcmp0(*request, "thaw") == 0 || g_strcmp0(*request, "abort") == 0)
			return fd;
		self->own = 0;
		g_clear_pointer(request, g_free);
		close(fd);
	}
}

/* collects, verifies, stores; Returns: (transfer full): the answer */
static gchar *
hook_daemon_finish(HookDaemon *self, const gchar *request)
{
	g_autoptr(QgaTraceSession) session = qga_trace_session_new(
		self->id, QGA_TRACE_SESSION_SOURCE_QEMU_GA, self->pid, self->started_ns);
	g_autoptr(GError) error = NULL;
	gboolean thawed = g_strcmp0(request, "thaw") == 0;
	QtfCapture *capture;

	hook_daemon_collect_stalls(self, session);
	if (self->armed) {
		capture = qtf_tracer_collect(self->tracer, &error);
		if (capture == NULL) {
			capture = qtf_capture_new_unavailable(error->message);
			g_clear_error(&error);
		}
		qtf_tracer_disarm(self->tracer, NULL);
	} else {
		capture = qtf_capture_new_unavailable(self->untraced);
	}
	if (g_strcmp0(request, "abort") == 0)
		qga_trace_session_add_note(session, "a new freeze began before this one's thaw");
	else if (!thawed)
		qga_trace_session_add_note(session, request);
	if (self->mounts != NULL)
		hook_qemu_ga_replay(session, self->mounts, capture, self->pid, thawed);
	if (self->unfollowed != NULL)
		qga_trace_session_add_note(session, self->unfollowed);
	/* the thaw hook asking is this one, not a script of the user's */
	hook_qemu_ga_scripts(session, capture, self->pid, self->own);
	qga_trace_session_finish(session, capture, qtf_clock_now_ns());
	if (!qga_trace_session_store(session, self->config->trace_plugin_dir,
				     self->config->trace_sessions, &error))
		return g_strdup_printf("not stored: %s", error->message);
	/* for a host that reads it through qemu-ga's guest-file-* */
	if (!qga_trace_session_write_index(self->config->trace_plugin_dir, &error))
		return g_strdup_printf("stored %s, no index: %s", self->id, error->message);
	return g_strdup_printf("stored %s (%s)", self->id,
			       qga_trace_session_is_verified(session) ? "verified"
								      : "not verified");
}

static void
hook_daemon_run(const QgaConfig *config, GPid pid, GArray *dispatchers, gint report_fd)
{
	HookDaemon self = {.config = config, .pid = pid, .dispatchers = dispatchers};
	g_autofree gchar *request = NULL;
	g_autofree gchar *answer = NULL;
	g_autofree gchar *report = NULL;
	gint listen_fd;
	gint fd;

	hook_daemon_detach(&report_fd);
	listen_fd = hook_daemon_listen();
	if (listen_fd < 0) {
		/* another one was faster: it traces this freeze */
		hook_write_line(report_fd, "another daemon is armed");
		return;
	}
	self.pid_starttime = hook_process_starttime("/proc", pid);
	self.started_ns = qtf_clock_now_ns();
	self.id = g_strdup_printf("qemu-ga-%d-%" G_GUINT64_FORMAT, (gint)pid,
				  self.started_ns / 1000000);
	hook_daemon_arm(&self);
	report = self.armed
			 ? g_strdup_printf("armed %s for qemu-ga %d, session %s",
					   qtf_method_to_string(qtf_tracer_get_method(self.tracer)),
					   (gint)pid, self.id)
			 : g_strdup_printf("untraced, session %s: %s", self.id, self.untraced);
	hook_write_line(report_fd, report);
	close(report_fd);

	/* qemu-ga freezes now: from here to the thaw nothing touches a file */
	fd = hook_daemon_wait(&self, listen_fd, &request);
	close(listen_fd);
	answer = hook_daemon_finish(&self, request);
	/* the instance goes before the answer: once the thaw hook returns,
	 * nothing of ours is left in tracefs */
	hook_daemon_clear(&self);
	if (fd >= 0) {
		hook_write_line(fd, answer);
		close(fd);
	}
}

/* ---- the two phases ---- */

static void
hook_freeze(const QgaConfig *config)
{
	g_autofree gchar *report = NULL;
	g_autoptr(GArray) dispatchers = g_array_new(FALSE, FALSE, sizeof(GPid));
	GPid pid = 0;
	gint fds[2];
	pid_t child;

	switch (hook_find_agent("/proc", getppid(), &pid, dispatchers)) {
	case HOOK_AGENT_QGATRACE:
		hook_say("run by qgatrace-agent (pid %d), which traces its freezes itself",
			 (gint)pid);
		return;
	case HOOK_AGENT_NONE:
		hook_say("no qemu-ga among my ancestors: not tracing");
		return;
	case HOOK_AGENT_QEMU_GA:
	default:
		break;
	}
	/* a daemon left from a freeze that never thawed stores what it has */
	hook_ask("abort", HOOK_STORE_WAIT_MS);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		hook_say("pipe: %s: not tracing", g_strerror(errno));
		return;
	}
	child = fork();
	if (child < 0) {
		hook_say("fork: %s: not tracing", g_strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (child == 0) {
		close(fds[0]);
		hook_daemon_run(config, pid, dispatchers, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	report = hook_read_line(fds[0], HOOK_ARM_WAIT_MS);
	close(fds[0]);
	if (report != NULL)
		hook_say("%s", report);
	else
		hook_say("not armed within %d ms: the freeze goes on, maybe untraced",
			 HOOK_ARM_WAIT_MS);
}

static void
hook_thaw(void)
{
	if (!hook_ask("thaw", HOOK_STORE_WAIT_MS))
		hook_say("no armed session");
}

int
main(int argc, char **argv)
{
	g_autoptr(QgaConfig) config = qga_config_new();
	g_autoptr(GError) error = NULL;

	signal(SIGPIPE, SIG_IGN);
	if (argc != 2) {
		g_printerr("usage: %s freeze|thaw (run by qemu-ga as its fsfreeze hook)\n",
			   HOOK_NAME);
		return 0;
	}
	/* a broken config must not abort a snapshot: the defaults apply */
	if (!qga_config_load_file(config, QGA_DEFAULT_CONFIG, FALSE, &error)) {
		hook_say("%s, using the defaults", error->message);
		g_clear_pointer(&config, qga_config_free);
		config = qga_config_new();
	}
	if (!config->trace_enabled)
		return 0;
	if (g_strcmp0(argv[1], "freeze") == 0)
		hook_freeze(config);
	else if (g_strcmp0(argv[1], "thaw") == 0)
		hook_thaw();
	/* any other phase a later qemu-ga may add: nothing to do */
	return 0;
}
