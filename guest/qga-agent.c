/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <glib-unix.h>
#include <signal.h>

#include "qga-agent.h"
#include "qga-channel.h"
#include "qga-codec.h"
#include "qga-dispatch.h"
#include "qga-fsfreeze.h"

struct _QgaAgent {
	QgaContext ctx;
	QgaState *state; /* (not owned) */
	QgaDecoder *decoder;
	QgaChannel *channel;
	GMainLoop *loop;
	GError *failure;
};

static void
qga_agent_received(const guint8 *data, gsize len, gpointer user_data)
{
	QgaAgent *self = user_data;
	JsonNode *value = NULL;
	g_autoptr(GError) error = NULL;

	qga_decoder_feed(self->decoder, data, len);
	for (;;) {
		g_autoptr(JsonNode) message = NULL;
		g_autofree gchar *reply = NULL;
		gsize reply_len = 0;

		if (qga_decoder_pop(self->decoder, &value, &error)) {
			message = g_steal_pointer(&value);
			reply = qga_dispatch_message(&self->ctx, message, &reply_len);
		} else if (error != NULL) {
			reply = qga_dispatch_stream_error(error, &reply_len);
			g_clear_error(&error);
		} else {
			break;
		}
		qga_channel_write(self->channel, reply, reply_len);
	}
}

static void
qga_agent_connection_changed(gboolean connected, gpointer user_data)
{
	QgaAgent *self = user_data;

	/* a half request from a host that left must not prefix the next one's */
	qga_decoder_reset(self->decoder);
}

static void
qga_agent_channel_failed(const GError *error, gpointer user_data)
{
	QgaAgent *self = user_data;

	if (self->failure == NULL)
		self->failure = g_error_copy(error);
	g_main_loop_quit(self->loop);
}

static const QgaChannelCallbacks qga_agent_channel_callbacks = {
	.received = qga_agent_received,
	.connection_changed = qga_agent_connection_changed,
	.failed = qga_agent_channel_failed,
};

static gboolean
qga_agent_quit_cb(gpointer user_data)
{
	QgaAgent *self = user_data;

	g_message("terminating on a signal");
	g_main_loop_quit(self->loop);
	return G_SOURCE_CONTINUE;
}

QgaAgent *
qga_agent_new(QgaConfig *config, QgaPaths *paths, QgaState *state, GError **error)
{
	g_autoptr(QgaAgent) self = g_new0(QgaAgent, 1);

	self->state = state;
	self->ctx.config = config;
	self->ctx.paths = paths;
	self->ctx.state = self->state;
	self->ctx.trace = qga_trace_new(config, paths->root);
	self->decoder = qga_decoder_new(config->max_message);
	self->loop = g_main_loop_new(NULL, FALSE);
	qga_fsfreeze_recover(&self->ctx);
	self->channel = qga_channel_new(config->method, qga_config_get_path(config),
					&qga_agent_channel_callbacks, self, error);
	if (self->channel == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

static void
qga_agent_thaw_before_exit(QgaAgent *self)
{
	g_autoptr(GError) error = NULL;

	if (!qga_state_is_frozen(self->state))
		return;
	/* the kernel keeps filesystems frozen after we exit */
	if (qga_fsfreeze_thaw(&self->ctx, &error) < 0)
		g_warning("thawing before exit: %s", error->message);
	else
		g_message("thawed before exit");
}

gboolean
qga_agent_run(QgaAgent *self, GError **error)
{
	guint sigterm = g_unix_signal_add(SIGTERM, qga_agent_quit_cb, self);
	guint sigint = g_unix_signal_add(SIGINT, qga_agent_quit_cb, self);

	g_main_loop_run(self->loop);
	g_source_remove(sigterm);
	g_source_remove(sigint);
	qga_agent_thaw_before_exit(self);
	if (self->failure != NULL) {
		g_propagate_error(error, g_steal_pointer(&self->failure));
		return FALSE;
	}
	return TRUE;
}

void
qga_agent_free(QgaAgent *self)
{
	if (self == NULL)
		return;
	qga_agent_thaw_before_exit(self);
	g_clear_handle_id(&self->ctx.freeze_watchdog, g_source_remove);
	/* after the thaw: removes our ftrace instance */
	qga_trace_free(self->ctx.trace);
	qga_kmsg_reader_free(self->ctx.kmsg_reader);
	g_clear_pointer(&self->ctx.frozen, g_ptr_array_unref);
	qga_channel_free(self->channel);
	qga_decoder_free(self->decoder);
	g_main_loop_unref(self->loop);
	g_clear_error(&self->failure);
	g_free(self);
}
