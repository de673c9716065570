/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Running the qgatrace binary ($QGATRACE_CLIENT) against hostile peers as a
 * subprocess: bounded output, a deadline, an address space limit, and the
 * checks every hostile case shares (what reaches a terminal, --json). */

#include <sys/types.h>

#include <glib.h>

/* more output than this is amplification: the child is killed */
#define HOSTILE_OUTPUT_MAX (64 * 1024 * 1024)
/* RLIMIT_AS of the child (under ASan, its hard_rss_limit_mb and
 * max_allocation_size_mb): a guest-chosen allocation aborts instead of
 * taking the machine's memory */
#define HOSTILE_AS_LIMIT (G_GUINT64_CONSTANT(2) << 30)

typedef struct {
	GPid pid;
	gint out_fd;
	gint err_fd;
	GString *out; /* the first HOSTILE_OUTPUT_MAX bytes */
	GString *err;
	guint64 out_total; /* everything the child wrote, kept or not */
	guint64 err_total;
	gboolean timed_out;
	gboolean too_much;
	gboolean exited;
	gint exit_status; /* with exited */
	gint term_signal; /* 0: no signal */
	gdouble elapsed_s;
	gint64 started;
} HostileRun;

/* the qgatrace binary meson built (fails the test when unset) */
const gchar *hostile_client_path(void);

/* starts qgatrace with @args (NULL-terminated, without argv[0]); @env_extra:
 * NAME=VALUE strings added to the environment, or NULL */
HostileRun *hostile_run_spawn(const gchar *const *args, const gchar *const *env_extra);

/* collects output until the child ends or @timeout_ms passes (then SIGKILL) */
void hostile_run_wait(HostileRun *run, guint timeout_ms);

/* spawn and wait */
HostileRun *hostile_run(guint timeout_ms, const gchar *const *args);

void hostile_run_free(HostileRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostileRun, hostile_run_free)

/* a one-line description of how it ended, for failure messages */
gchar *hostile_run_describe(const HostileRun *run);

/* the first byte a terminal would act on: C0 controls but \n and \t, DEL,
 * C1 (raw 0x80-0x9f or UTF-8 U+0080-U+009F), invalid UTF-8; -1: none */
gssize hostile_find_unsafe(const gchar *text, gsize len);

/* writes all of @data to a socket (no SIGPIPE) or a file; gives up on an error */
void hostile_write_all(gint fd, const void *data, gsize len);

/* The checks return what is wrong (free it), NULL when all is well; the
 * asserts fail the test with it. */

/* @text holds a byte unsafe for a terminal */
gchar *hostile_check_terminal_safe(const gchar *what, const gchar *text, gsize len);
void hostile_assert_terminal_safe(const gchar *what, const gchar *text, gsize len);

/* @text is not JSON (a value, or JSON Lines with @lines), or holds inf/nan */
gchar *hostile_check_json(const gchar *text, gboolean lines);

/* the process did not end by itself, without a signal, in time, with
 * bounded output */
gchar *hostile_check_ended_cleanly(const HostileRun *run);
void hostile_assert_ended_cleanly(const HostileRun *run);
