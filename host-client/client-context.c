/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <glib-unix.h>

#include "client-context.h"
#include "client-terminal.h"

static gboolean
client_context_use_color(void)
{
	const gchar *term = g_getenv("TERM");

	/* https://no-color.org */
	if (g_getenv("NO_COLOR") != NULL && g_getenv("NO_COLOR")[0] != '\0')
		return FALSE;
	return term != NULL && g_strcmp0(term, "dumb") != 0;
}

ClientContext *
client_context_new(void)
{
	ClientContext *self = g_new0(ClientContext, 1);

	self->stdout_tty = isatty(STDOUT_FILENO) == 1;
	self->stderr_tty = isatty(STDERR_FILENO) == 1;
	self->color = self->stdout_tty && client_context_use_color();
	self->command = "qgatrace";
	return self;
}

void
client_context_free(ClientContext *self)
{
	if (self == NULL)
		return;
	for (guint i = 0; i < G_N_ELEMENTS(self->signal_ids); i++) {
		if (self->signal_ids[i] != 0)
			g_source_remove(self->signal_ids[i]);
	}
	g_free(self->agent_path);
	g_free(self->trace_agent_path);
	g_free(self->qmp_path);
	g_free(self->domain);
	g_free(self->uri);
	g_free(self->port);
	g_free(self);
}

guint
client_context_timeout_ms(ClientContext *self, guint default_ms)
{
	return self->timeout_ms != 0 ? self->timeout_ms : default_ms;
}

gchar *
client_context_describe_target(ClientContext *self)
{
	if (self->domain != NULL)
		return g_strdup_printf("domain '%s' (port '%s')", self->domain,
				       self->port != NULL ? self->port : CLIENT_PORT_QEMU_GA);
	if (self->agent_path != NULL)
		return g_strdup_printf("socket '%s'", self->agent_path);
	return g_strdup("no agent");
}

typedef struct {
	ClientContext *ctx;
	gint signum;
} ClientSignal;

static gboolean
client_context_on_signal(gpointer user_data)
{
	ClientSignal *sig = user_data;

	if (sig->ctx->signal == 0)
		sig->ctx->signal = sig->signum;
	return G_SOURCE_CONTINUE;
}

void
client_context_catch_signals(ClientContext *self)
{
	static const gint signals[] = {SIGINT, SIGTERM, SIGHUP};

	for (guint i = 0; i < G_N_ELEMENTS(signals); i++) {
		ClientSignal *sig;

		if (self->signal_ids[i] != 0)
			continue;
		sig = g_new0(ClientSignal, 1);
		sig->ctx = self;
		sig->signum = signals[i];
		self->signal_ids[i] = g_unix_signal_add_full(G_PRIORITY_HIGH, signals[i],
							     client_context_on_signal, sig, g_free);
	}
}

gboolean
client_context_interrupted(ClientContext *self)
{
	/* GLib's handler only wakes the context: the source runs on iteration */
	while (g_main_context_iteration(NULL, FALSE))
		;
	return self->signal != 0;
}

const gchar *
client_context_signal_name(ClientContext *self)
{
	switch (self->signal) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return NULL;
	}
}

void
client_context_progress(ClientContext *self, const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	g_autofree gchar *safe = NULL;
	va_list ap;

	if (self->json || !self->stderr_tty)
		return;
	va_start(ap, format);
	text = g_strdup_vprintf(format, ap);
	va_end(ap);
	/* it names guest things too (a trace session) */
	safe = client_terminal_escape(text);
	fprintf(stderr, "%s%s%s\n", self->color ? "\033[2m" : "", safe,
		self->color ? "\033[0m" : "");
	fflush(stderr);
}

gboolean
client_error_is_unreachable(const GError *error)
{
	if (error == NULL || error->domain != G_IO_ERROR)
		return FALSE;
	switch (error->code) {
	case G_IO_ERROR_TIMED_OUT:
	case G_IO_ERROR_CONNECTION_REFUSED:
	case G_IO_ERROR_CONNECTION_CLOSED:
	case G_IO_ERROR_NOT_CONNECTED:
	case G_IO_ERROR_HOST_UNREACHABLE:
	case G_IO_ERROR_NOT_FOUND:
	case G_IO_ERROR_PERMISSION_DENIED:
		return TRUE;
	default:
		return FALSE;
	}
}

ClientExit
client_exit_for_error(const GError *error)
{
	if (error == NULL)
		return CLIENT_EXIT_OK;
	if (error->domain == G_OPTION_ERROR ||
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
		return CLIENT_EXIT_USAGE;
	if (client_error_is_unreachable(error))
		return CLIENT_EXIT_UNREACHABLE;
	return CLIENT_EXIT_FAILED;
}

void
client_set_usage_error(GError **error, const gchar *format, ...)
{
	g_autofree gchar *text = NULL;
	va_list ap;

	va_start(ap, format);
	text = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, text);
}
