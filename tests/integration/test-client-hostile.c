/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The qgatrace binary against a hostile agent: every reply carries terminal
 * escape sequences (OSC title, screen clear, colours, BEL, C1 controls as
 * U+009B), invalid UTF-8, numbers JSON readers choke on (1e30, -1e300) and
 * structures that lie. Whatever the agent says, what reaches the operator's
 * terminal is inert, --json parses, and every command ends. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hostile-run.h"

/* a command must end within this, given --timeout 3 */
#define HOSTILE_DEADLINE_MS 15000

typedef enum {
	HOSTILE_ESCAPED, /* control characters as JSON \u escapes: valid JSON */
	HOSTILE_RAW,	 /* raw C1 (as UTF-8) and DEL inside strings: JSON allows them */
	HOSTILE_REFUSED, /* raw C0 controls and invalid UTF-8: the client refuses the reply */
	HOSTILE_ERRORS,	 /* every command fails, with hostile class and desc */
	HOSTILE_TRUNCATED_FOREVER, /* guest-dmesg: truncated, next-seq never moves */
	HOSTILE_NEW_BOOT_ID,	   /* guest-dmesg: a new boot id in every reply */
} HostileMode;

typedef struct {
	HostileMode mode;
	gchar *dir;
	gchar *path;
	gint listen_fd;
	GThread *thread;
	gint stop;
	gint dmesg_calls;
	gint requests;
	gint boot;
} HostileAgent;

/* what replaces %H% at the start of every guest string */
static const gchar hostile_escaped[] =
	"\\u001b]0;qgatrace-hostile-title\\u0007\\u001b[2J\\u001b[H\\u001b[31;1m"
	"\\u009b31m\\u0085\\u0090\\u009d0;osc-c1\\u009c\\u007f\\b\\r\\u0007";
static const gchar hostile_raw[] = "\xc2\x9b"
				   "2J\xc2\x9b"
				   "31m\xc2\x9d"
				   "0;qgatrace-c1-title\xc2\x9c\xc2\x85\x7f";
static const gchar hostile_refused[] =
	"\x1b]0;qgatrace-raw-title\x07\xc3\x28\x80\xfe\xed\xa0\x80\xc2";

/* replies: %H% is poison, numbers beyond any counter are literal */
static const gchar reply_info[] =
	"{\"version\":\"%H%7.2\",\"supported_commands\":["
	"{\"name\":\"guest-ping\",\"enabled\":true},{\"name\":\"guest-info\",\"enabled\":true},"
	"{\"name\":\"guest-sync-delimited\",\"enabled\":true},"
	"{\"name\":\"guest-fsfreeze-status\",\"enabled\":true},"
	"{\"name\":\"guest-fsfreeze-freeze\",\"enabled\":true},"
	"{\"name\":\"guest-fsfreeze-freeze-list\",\"enabled\":true},"
	"{\"name\":\"guest-fsfreeze-thaw\",\"enabled\":true},"
	"{\"name\":\"guest-get-fsinfo\",\"enabled\":true},"
	"{\"name\":\"guest-get-host-name\",\"enabled\":true},"
	"{\"name\":\"guest-get-osinfo\",\"enabled\":true},"
	"{\"name\":\"guest-dmesg\",\"enabled\":true},"
	"{\"name\":\"guest-trace-status\",\"enabled\":true},"
	"{\"name\":\"guest-trace-fetch\",\"enabled\":true},"
	"{\"name\":\"%H%guest-evil\",\"enabled\":\"%H%yes\"},1,\"%H%\",null]}";
static const gchar reply_fsinfo[] =
	"[{\"name\":\"%H%vda\",\"mountpoint\":\"/mnt/data\",\"type\":\"%H%ext4\","
	"\"used-bytes\":1e30,\"total-bytes\":-1e300,"
	"\"disk\":[{\"serial\":\"%H%serial\",\"bus-type\":\"%H%virtio\",\"dev\":\"%H%/dev/vda\"},7]},"
	"{\"name\":\"%H%vdb\",\"mountpoint\":\"%H%/mnt/evil\",\"type\":\"ext4\","
	"\"used-bytes\":-1e300,\"total-bytes\":1e30,\"disk\":\"%H%not-an-array\"},1,\"%H%\"]";
static const gchar reply_dmesg[] =
	"{\"source\":\"%H%kmsg\",\"first-seq\":-1e300,\"next-seq\":%S%,\"missed\":1e30,"
	"\"truncated\":%T%,\"boot-id\":\"%B%\",\"encoding\":\"%H%\",\"records\":["
	"{\"seq\":1,\"ts-us\":1e30,\"level\":1e30,\"facility\":-1e300,\"message\":\"%H%message\","
	"\"continuation\":\"%H%\",\"dictionary\":{\"SUBSYSTEM\":\"%H%virtio\",\"DEVICE\":\"%H%+virtio:1\","
	"\"%H%KEY\":\"%H%value\"}},"
	"{\"seq\":1e30,\"ts-us\":-1e300,\"level\":-1,\"facility\":1e30,\"message\":\"%H%\"},"
	"{\"seq\":2,\"ts-us\":5,\"level\":\"%H%warn\",\"message\":7,\"dictionary\":\"%H%\"},"
	"7,\"%H%record\",null]}";
static const gchar reply_trace_status[] =
	"{\"enabled\":true,\"available\":true,\"method\":\"%H%function\",\"reason\":\"%H%why\","
	"\"armed\":true,\"last-session\":{\"session\":\"%H%s1\",\"source\":\"%H%agent\","
	"\"state\":\"%H%collected\",\"events\":1e30,\"verified\":true},"
	"\"sessions\":[{\"session\":\"%H%s1\",\"source\":\"%H%agent\",\"state\":\"%H%collected\","
	"\"started-ns\":1e30,\"events\":-1e300,\"verified\":true},"
	"{\"session\":\"%H%s2\",\"started-ns\":-1e300,\"events\":1e30},5,\"%H%\"]}";
static const gchar reply_host_name[] = "{\"host-name\":\"%H%fake-guest\"}";
static const gchar reply_osinfo[] =
	"{\"pretty-name\":\"%H%Fake OS\",\"name\":\"%H%fake\",\"kernel-release\":\"%H%6.1\","
	"\"machine\":\"%H%x86_64\",\"version-id\":1e30}";

static gchar *
hostile_expand(HostileAgent *agent, const gchar *template)
{
	g_autoptr(GString) out = g_string_new(template);
	const gchar *poison = agent->mode == HOSTILE_RAW       ? hostile_raw
			      : agent->mode == HOSTILE_REFUSED ? hostile_refused
							       : hostile_escaped;
	/* a boot id of its own per reply, or one poisoned id for all */
	g_autofree gchar *boot =
		agent->mode == HOSTILE_NEW_BOOT_ID
			? g_strdup_printf("boot-%d", g_atomic_int_add(&agent->boot, 1))
			: g_strdup("%H%boot");

	g_string_replace(out, "%B%", boot, 0);
	g_string_replace(out, "%S%", agent->mode == HOSTILE_TRUNCATED_FOREVER ? "5" : "3", 0);
	g_string_replace(out, "%T%", agent->mode == HOSTILE_TRUNCATED_FOREVER ? "true" : "false",
			 0);
	g_string_replace(out, "%H%", poison, 0);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* a recorded trace session with every string value poisoned */
static gchar *
hostile_trace_session(void)
{
	g_autofree gchar *path =
		g_build_filename(FIXTURES_DIR, "trace-sessions", "agent-function.json", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GString) out = NULL;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	out = g_string_new(text);
	g_string_replace(out, "\": \"", "\": \"%H%", 0);
	g_string_replace(out, "\"started-ns\": ", "\"started-ns\": 1e30, \"x-started\": ", 0);
	g_string_replace(out, "\"ts-ns\": ", "\"ts-ns\": -1e300, \"x-ts\": ", 0);
	g_string_replace(out, "\"total\": ", "\"total\": 1e30, \"x-total\": ", 0);
	g_string_replace(out, "\"notes\": []", "\"notes\": [\"%H%note\", 5]", 0);
	g_string_replace(out, "\"error\": null", "\"error\": \"%H%error\"", 0);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static const gchar *
hostile_template(const gchar *cmd)
{
	if (g_strcmp0(cmd, "guest-info") == 0)
		return reply_info;
	if (g_strcmp0(cmd, "guest-ping") == 0)
		return "{\"%H%\":\"%H%\"}";
	if (g_strcmp0(cmd, "guest-get-host-name") == 0)
		return reply_host_name;
	if (g_strcmp0(cmd, "guest-get-osinfo") == 0)
		return reply_osinfo;
	if (g_strcmp0(cmd, "guest-fsfreeze-status") == 0)
		return "\"%H%thawed\"";
	if (g_str_has_prefix(cmd, "guest-fsfreeze-freeze"))
		return "1e30";
	if (g_strcmp0(cmd, "guest-fsfreeze-thaw") == 0)
		return "-1e300";
	if (g_strcmp0(cmd, "guest-get-fsinfo") == 0)
		return reply_fsinfo;
	if (g_strcmp0(cmd, "guest-dmesg") == 0)
		return reply_dmesg;
	if (g_strcmp0(cmd, "guest-trace-status") == 0)
		return reply_trace_status;
	return NULL;
}

/* '{"return": VALUE, "id": ID}' or '{"error": VALUE, ...}' on a line */
static void
hostile_reply(gint fd, const gchar *member, const gchar *value, const gchar *id)
{
	g_autofree gchar *reply =
		g_strdup_printf("{\"%s\": %s%s%s}\n", member, value, id != NULL ? ", \"id\": " : "",
				id != NULL ? id : "");

	hostile_write_all(fd, reply, strlen(reply));
}

static void
hostile_answer(HostileAgent *agent, gint fd, const gchar *line)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree gchar *id = NULL;
	g_autofree gchar *value = NULL;
	g_autofree gchar *reply = NULL;
	JsonObject *req;
	const gchar *cmd;

	if (!json_parser_load_from_data(parser, line, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return;
	req = json_node_get_object(json_parser_get_root(parser));
	cmd = json_object_get_string_member_with_default(req, "execute", "");
	g_atomic_int_inc(&agent->requests);
	if (json_object_has_member(req, "id"))
		id = json_to_string(json_object_get_member(req, "id"), FALSE);
	if (g_strcmp0(cmd, "guest-sync-delimited") == 0 || g_strcmp0(cmd, "guest-sync") == 0) {
		JsonObject *args = json_object_get_object_member(req, "arguments");
		g_autofree gchar *sync_id =
			args != NULL && json_object_has_member(args, "id")
				? json_to_string(json_object_get_member(args, "id"), FALSE)
				: g_strdup("0");

		reply = g_strdup_printf("\xff{\"return\": %s}\n", sync_id);
		hostile_write_all(fd, reply, strlen(reply));
		return;
	}
	if (g_strcmp0(cmd, "guest-dmesg") == 0)
		g_atomic_int_inc(&agent->dmesg_calls);
	if (agent->mode == HOSTILE_ERRORS && g_strcmp0(cmd, "guest-info") != 0) {
		value = hostile_expand(agent,
				       "{\"class\":\"%H%GenericError\",\"desc\":\"%H%failed\"}");
		hostile_reply(fd, "error", value, id);
		return;
	}
	if (g_strcmp0(cmd, "guest-trace-fetch") == 0) {
		g_autofree gchar *session = hostile_trace_session();

		value = hostile_expand(agent, session);
	} else if (hostile_template(cmd) != NULL) {
		value = hostile_expand(agent, hostile_template(cmd));
	} else {
		value = hostile_expand(agent, "{\"class\":\"CommandNotFound\",\"desc\":\"%H%no\"}");
		hostile_reply(fd, "error", value, id);
		return;
	}
	hostile_reply(fd, "return", value, id);
}

static void
hostile_serve(HostileAgent *agent, gint fd)
{
	g_autoptr(GString) pending = g_string_new(NULL);

	while (!g_atomic_int_get(&agent->stop)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		gchar buf[4096];
		gchar *nl;
		gssize n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (gssize i = 0; i < n; i++)
			if ((guchar)buf[i] != 0xff) /* the client's resync byte */
				g_string_append_c(pending, buf[i]);
		while ((nl = strchr(pending->str, '\n')) != NULL) {
			g_autofree gchar *line = g_strndup(pending->str, nl - pending->str);

			g_string_erase(pending, 0, nl - pending->str + 1);
			hostile_answer(agent, fd, line);
		}
	}
}

static gpointer
hostile_thread(gpointer data)
{
	HostileAgent *agent = data;

	while (!g_atomic_int_get(&agent->stop)) {
		struct pollfd pfd = {agent->listen_fd, POLLIN, 0};
		gint fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(agent->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		hostile_serve(agent, fd);
		close(fd);
	}
	return NULL;
}

static HostileAgent *
hostile_agent_start(HostileMode mode)
{
	HostileAgent *agent = g_new0(HostileAgent, 1);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	agent->mode = mode;
	agent->dir = g_dir_make_tmp("test-client-hostile-XXXXXX", NULL);
	assert_non_null(agent->dir);
	agent->path = g_build_filename(agent->dir, "agent.sock", NULL);
	agent->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(agent->listen_fd >= 0);
	g_strlcpy(addr.sun_path, agent->path, sizeof(addr.sun_path));
	assert_int_equal(bind(agent->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(agent->listen_fd, 4), 0);
	agent->thread = g_thread_new("hostile-agent", hostile_thread, agent);
	return agent;
}

static void
hostile_agent_stop(HostileAgent *agent)
{
	g_atomic_int_set(&agent->stop, 1);
	g_thread_join(agent->thread);
	close(agent->listen_fd);
	g_unlink(agent->path);
	g_rmdir(agent->dir);
	g_free(agent->path);
	g_free(agent->dir);
	g_free(agent);
}

/* ---- every command, human and --json ---- */

/* a command must end within HOSTILE_DEADLINE_MS; snapshot retries a thaw
 * the agent does not confirm for at least 30 s (SNAPSHOT_THAW_MIN_MS), by
 * design, so it gets that much longer */
#define HOSTILE_SNAPSHOT_DEADLINE_MS (HOSTILE_DEADLINE_MS + 30000)

static const gchar *const hostile_commands[][4] = {
	{"ping", NULL},	  {"info", NULL},
	{"status", NULL}, {"freeze", NULL},
	{"thaw", NULL},	  {"snapshot", "-m", "/mnt/data", NULL},
	{"trace", NULL},  {"trace", "--list", NULL},
	{"dmesg", NULL},  {"df", NULL},
	{"doctor", NULL},
};

/* runs one command; adds what went wrong to @problems */
static void
hostile_run_command(HostileAgent *agent, gboolean json, const gchar *const *command,
		    GPtrArray *problems)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_autoptr(HostileRun) run = NULL;
	g_autofree gchar *joined = NULL;
	g_autofree gchar *how = NULL;
	g_autofree gchar *out_what = NULL;
	g_autofree gchar *err_what = NULL;
	gchar *checks[4];

	g_ptr_array_add(args, (gpointer) "--agent");
	g_ptr_array_add(args, agent->path);
	g_ptr_array_add(args, (gpointer) "--timeout");
	g_ptr_array_add(args, (gpointer) "3");
	if (json)
		g_ptr_array_add(args, (gpointer) "--json");
	for (guint i = 0; command[i] != NULL; i++)
		g_ptr_array_add(args, (gpointer)command[i]);
	g_ptr_array_add(args, NULL);
	joined = g_strjoinv(" ", (gchar **)args->pdata + 4);
	run = hostile_run(g_strcmp0(command[0], "snapshot") == 0 ? HOSTILE_SNAPSHOT_DEADLINE_MS
								 : HOSTILE_DEADLINE_MS,
			  (const gchar *const *)args->pdata);
	how = hostile_run_describe(run);
	print_message("# qgatrace %s: %s\n", joined, how);
	out_what = g_strdup_printf("stdout of '%s'", joined);
	err_what = g_strdup_printf("stderr of '%s'", joined);
	checks[0] = hostile_check_ended_cleanly(run);
	checks[1] = hostile_check_terminal_safe(out_what, run->out->str, run->out->len);
	checks[2] = hostile_check_terminal_safe(err_what, run->err->str, run->err->len);
	checks[3] = json && run->out->len > 0 ? hostile_check_json(run->out->str, FALSE) : NULL;
	for (guint i = 0; i < G_N_ELEMENTS(checks); i++) {
		if (checks[i] == NULL)
			continue;
		print_message("#   FAIL: %s\n", checks[i]);
		g_ptr_array_add(problems, g_strdup_printf("'%s': %s", joined, checks[i]));
		g_free(checks[i]);
	}
}

/* every command runs, then the test fails with the list of what went wrong */
static void
hostile_all_commands(HostileMode mode, gboolean json)
{
	HostileAgent *agent = hostile_agent_start(mode);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < G_N_ELEMENTS(hostile_commands); i++)
		hostile_run_command(agent, json, hostile_commands[i], problems);
	hostile_agent_stop(agent);
	if (problems->len > 0) {
		g_ptr_array_add(problems, NULL);
		fail_msg("%u command(s) failed:\n%s", problems->len - 1,
			 g_strjoinv("\n", (gchar **)problems->pdata));
	}
}

static void
test_client_hostile_escapes_human(void **state)
{
	hostile_all_commands(HOSTILE_ESCAPED, FALSE);
}

static void
test_client_hostile_escapes_json(void **state)
{
	hostile_all_commands(HOSTILE_ESCAPED, TRUE);
}

static void
test_client_hostile_raw_human(void **state)
{
	hostile_all_commands(HOSTILE_RAW, FALSE);
}

static void
test_client_hostile_raw_json(void **state)
{
	hostile_all_commands(HOSTILE_RAW, TRUE);
}

/* every reply is refused by the JSON reader: each command ends at its
 * --timeout, and says so in words */
static void
test_client_hostile_refused_human(void **state)
{
	hostile_all_commands(HOSTILE_REFUSED, FALSE);
}

static void
test_client_hostile_errors_human(void **state)
{
	hostile_all_commands(HOSTILE_ERRORS, FALSE);
}

static void
test_client_hostile_errors_json(void **state)
{
	hostile_all_commands(HOSTILE_ERRORS, TRUE);
}

/* ---- loops the agent controls ---- */

/* "truncated": true with a next-seq that never moves: no progress, so the
 * client gives up with an error instead of asking forever */
static void
test_client_hostile_dmesg_truncated_forever(void **state)
{
	HostileAgent *agent = hostile_agent_start(HOSTILE_TRUNCATED_FOREVER);
	const gchar *const args[] = {"--agent", agent->path, "--timeout", "3", "dmesg", NULL};
	g_autoptr(HostileRun) run = hostile_run(HOSTILE_DEADLINE_MS, args);
	g_autofree gchar *how = hostile_run_describe(run);
	g_autofree gchar *problem = hostile_check_ended_cleanly(run);

	print_message("# %d guest-dmesg calls; %s\n", g_atomic_int_get(&agent->dmesg_calls), how);
	if (problem != NULL)
		fail_msg("%s", problem);
	if (run->exit_status != 1)
		fail_msg("an agent that never makes progress must end in exit 1: %s", how);
	if (run->err->len == 0)
		fail_msg("no error message: %s", how);
	hostile_assert_terminal_safe("stderr", run->err->str, run->err->len);
	hostile_agent_stop(agent);
}

/* --follow while every reply brings a new boot id: a reboot is worth one
 * fetch from the start, not a tight loop */
static void
test_client_hostile_dmesg_follow_boot_id_churn(void **state)
{
	HostileAgent *agent = hostile_agent_start(HOSTILE_NEW_BOOT_ID);
	const gchar *const args[] = {"--agent", agent->path, "--timeout", "3",
				     "dmesg",	"--follow",  NULL};
	g_autoptr(HostileRun) run = hostile_run_spawn(args, NULL);
	g_autofree gchar *how = NULL;
	gint calls;

	/* followed for 2 s, then killed: --follow has no end of its own */
	hostile_run_wait(run, 2000);
	calls = g_atomic_int_get(&agent->dmesg_calls);
	how = hostile_run_describe(run);
	print_message("# %d guest-dmesg calls in 2 s; %s\n", calls, how);
	if (run->too_much)
		fail_msg("unbounded output: %s", how);
	if (!run->timed_out && !run->exited)
		fail_msg("crashed: %s", how);
	if (calls >= 50)
		fail_msg("%d guest-dmesg requests in 2 s (at most a few per --interval)", calls);
	hostile_assert_terminal_safe("stderr", run->err->str, run->err->len);
	hostile_assert_terminal_safe("stdout", run->out->str, run->out->len);
	hostile_agent_stop(agent);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_hostile_escapes_human),
		cmocka_unit_test(test_client_hostile_escapes_json),
		cmocka_unit_test(test_client_hostile_raw_human),
		cmocka_unit_test(test_client_hostile_raw_json),
		cmocka_unit_test(test_client_hostile_refused_human),
		cmocka_unit_test(test_client_hostile_errors_human),
		cmocka_unit_test(test_client_hostile_errors_json),
		cmocka_unit_test(test_client_hostile_dmesg_truncated_forever),
		cmocka_unit_test(test_client_hostile_dmesg_follow_boot_id_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
