/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-config.h"

G_BEGIN_DECLS

/* The transport to the host. Nothing else sees its fds.
 *
 * virtio-serial: the port reports POLLHUP (and reads EOF) while no host
 * client is connected, so a level-triggered watch would spin; qemu-ga
 * sleeps 100 ms in a loop. Here the watch is dropped while the host is
 * away, and the port's O_ASYNC mode makes the kernel raise SIGIO when the
 * host side opens again (virtio_console's send_sigio_to_port), read through
 * a signalfd: no wakeup at all while idle. */
typedef struct _QgaChannel QgaChannel;

typedef struct {
	void (*received)(const guint8 *data, gsize len, gpointer user_data);
	/* a host connected or went away: the peer's parser state is void */
	void (*connection_changed)(gboolean connected, gpointer user_data);
	/* the channel cannot go on (a device error, not a host disconnect) */
	void (*failed)(const GError *error, gpointer user_data);
} QgaChannelCallbacks;

/* output held before input is paused: a client that never reads cannot
 * grow the agent without bound */
#define QGA_CHANNEL_OUTPUT_HIGH (32 * 1024 * 1024)

/**
 * qga_channel_new:
 * @path: a device path, a virtio port name (resolved with libudev, waited
 * for while absent), or the socket path for unix-listen
 * Returns: (transfer full): the channel, or NULL when it cannot be opened
 */
QgaChannel *qga_channel_new(QgaMethod method, const gchar *path,
			    const QgaChannelCallbacks *callbacks, gpointer user_data,
			    GError **error);
void qga_channel_free(QgaChannel *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaChannel, qga_channel_free)

/* queues @data for the host. With no host there it is dropped, except on
 * virtio-serial, where it waits (bounded) for the port to take it: a
 * reconnect can overtake the guest's view of the disconnect */
void qga_channel_write(QgaChannel *self, const void *data, gsize len);

gboolean qga_channel_is_connected(QgaChannel *self);

G_END_DECLS
