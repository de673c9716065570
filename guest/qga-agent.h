/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-config.h"
#include "qga-context.h"

G_BEGIN_DECLS

/* The running agent: the channel, the stream decoder and the command
 * context, on the default main context. */
typedef struct _QgaAgent QgaAgent;

/**
 * qga_agent_new:
 * Thaws what a previous agent left frozen, then opens the channel.
 * Returns: (transfer full): the agent, or NULL with @error
 */
QgaAgent *qga_agent_new(QgaConfig *config, QgaPaths *paths, QgaState *state, GError **error);
void qga_agent_free(QgaAgent *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaAgent, qga_agent_free)

/* runs until SIGTERM/SIGINT or a channel failure; never returns with the
 * guest frozen by us. Returns: FALSE with @error on a channel failure */
gboolean qga_agent_run(QgaAgent *self, GError **error);

G_END_DECLS
