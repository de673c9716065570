/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "qga-command.h"

G_BEGIN_DECLS

/**
 * qga_dispatch_is_enabled:
 * @reason: (out) (optional): why not, as qemu-ga words it
 * qemu-ga's policy (qga/main.c: ga_command_is_allowed): an allow list,
 * when given, must name the command, and the block list wins; while frozen
 * only the frozen allow-list may run on top of that (freezing never
 * enables a blocked command).
 */
gboolean qga_dispatch_is_enabled(QgaContext *ctx, const QgaCommand *cmd, const gchar **reason);

/**
 * qga_dispatch_message:
 * Validates and runs one decoded message. Only here does a GError become
 * a wire error.
 * Returns: (transfer full): the reply bytes (with a leading 0xff for
 * guest-sync-delimited), @len set
 */
gchar *qga_dispatch_message(QgaContext *ctx, JsonNode *message, gsize *len);

/* the reply to a stream error from the decoder (no id: nothing parsed) */
gchar *qga_dispatch_stream_error(const GError *error, gsize *len);

/* checks @args against @spec with qemu's visitor texts */
gboolean qga_dispatch_check_args(const QgaArgSpec *spec, JsonObject *args, GError **error);

G_END_DECLS
