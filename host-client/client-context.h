/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* what every command gets: the global options, the terminal, the Ctrl-C
 * state and the exit status; what the options name is opened by the target
 * (client-target.h) */

/* exit statuses (README.md, "qgatrace (host client)") */
typedef enum {
	CLIENT_EXIT_OK = 0,	     /* success */
	CLIENT_EXIT_FAILED = 1,	     /* the command ran and failed, incl. verification */
	CLIENT_EXIT_USAGE = 2,	     /* bad command line */
	CLIENT_EXIT_UNREACHABLE = 3, /* the agent (or QEMU, or libvirt) did not answer in time */
} ClientExit;

/* defaults of --timeout: one wait for a reply; freeze and thaw get longer
 * unless --timeout was given, as a freeze syncs every dirty page first */
#define CLIENT_TIMEOUT_DEFAULT_MS 10000
#define CLIENT_TIMEOUT_FREEZE_MS  120000

/* the agent channel libvirt owns, and the port of qgatrace-agent's own */
#define CLIENT_PORT_QEMU_GA  "org.qemu.guest_agent.0"
#define CLIENT_PORT_QGATRACE "org.qgatrace.0"

typedef struct {
	/* global options */
	gchar *agent_path;	 /* --agent */
	gchar *trace_agent_path; /* --trace-agent */
	gchar *qmp_path;	 /* --qmp */
	gchar *domain;		 /* --domain */
	gchar *uri;		 /* --connect */
	gchar *port;		 /* --port; NULL: org.qemu.guest_agent.0 under --domain */
	guint timeout_ms;	 /* --timeout; 0: not given */
	gboolean json;		 /* --json */
	gint verbose;		 /* -v, repeatable */
	gboolean quiet;		 /* no warnings on stderr: the probes of fleet and the exporter */

	/* the terminal */
	gboolean stdout_tty;
	gboolean stderr_tty;
	gboolean color; /* stdout is a TTY, NO_COLOR unset, TERM not dumb */

	const gchar *command;	/* the command's name, for messages */
	ClientExit exit_status; /* a failure the command reported itself (client_cli_set_exit) */

	/* SIGINT/SIGTERM/SIGHUP once caught (client_context_catch_signals) */
	gint signal;
	guint signal_ids[3];
} ClientContext;

/* Returns: (transfer full): a context with the terminal probed */
ClientContext *client_context_new(void);
void client_context_free(ClientContext *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientContext, client_context_free)

/* --timeout, or @default_ms when it was not given */
guint client_context_timeout_ms(ClientContext *self, guint default_ms);

/* the target, for messages: "socket '/run/x.sock'", "domain 'vm1' (port 'org.qgatrace.0')" */
gchar *client_context_describe_target(ClientContext *self);

/**
 * client_context_catch_signals:
 * From now on SIGINT, SIGTERM and SIGHUP do not end the process: they are
 * recorded (the first one wins) for client_context_interrupted(), so that
 * a frozen guest is always thawed first. Blocking calls all have
 * deadlines, so a signal is seen at the latest when the current one ends.
 */
void client_context_catch_signals(ClientContext *self);

/* dispatches pending signal sources; TRUE once a signal was caught */
gboolean client_context_interrupted(ClientContext *self);

/* the caught signal's name ("SIGINT"), or NULL */
const gchar *client_context_signal_name(ClientContext *self);

/* progress on stderr, on a TTY only and never under --json; escaped for the terminal */
void client_context_progress(ClientContext *self, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

/* ---- errors and exit statuses ---- */

/* TRUE for an error that means the agent (or QEMU, libvirt) could not be reached or answered
 * too late: a timeout, a refused or closed connection, a missing socket */
gboolean client_error_is_unreachable(const GError *error);

/**
 * client_exit_for_error:
 * G_OPTION_ERROR and G_IO_ERROR_INVALID_ARGUMENT: usage (2); unreachable
 * (see client_error_is_unreachable): 3; anything else: 1.
 */
ClientExit client_exit_for_error(const GError *error);

/* a usage error (exit 2) with @format */
void client_set_usage_error(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

G_END_DECLS
