/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "qga-context.h"

G_BEGIN_DECLS

/**
 * qga_cmd_dmesg_once:
 * @paths: where /dev/kmsg and /proc are read
 * @args_text: (nullable): guest-dmesg's arguments as JSON object text; NULL
 * or "": none
 *
 * guest-dmesg run once without a channel, for `qgatrace-agent --dmesg`
 * under stock qemu-ga's guest-exec: the same argument checks and the same
 * reader, so the text equals what guest-dmesg would return.
 * Returns: (transfer full): the reply's "return" JSON text, or NULL with
 * @error (as guest-dmesg's error reply would say)
 */
gchar *qga_cmd_dmesg_once(QgaPaths *paths, const gchar *args_text, GError **error);

G_END_DECLS
