/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>

#include "client-conn.h"

G_BEGIN_DECLS

/* Reading one file of the guest through stock qemu-ga: guest-file-open
 * (mode "r"), guest-file-read, guest-file-close; read-only, bounded. */

/**
 * client_guest_file_read:
 * @max: the largest file accepted, in bytes
 * Reads the guest file @path whole; the handle is closed whatever happens.
 * Returns: (transfer full): its bytes, or NULL with @error:
 * G_IO_ERROR_NOT_SUPPORTED when the agent refuses one of the commands (not
 * in its guest-info, disabled, or not found), naming it; the agent's error
 * (a QGA_ERROR) for a file it cannot open; G_IO_ERROR_INVALID_DATA for a
 * reply that is not one, or a file larger than @max
 */
GBytes *client_guest_file_read(ClientConn *conn, const gchar *path, gsize max, guint timeout_ms,
			       GError **error);

G_END_DECLS
