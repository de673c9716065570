/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libudev.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-channel.h"

#define QGA_CHANNEL_READ_SIZE 65536

typedef struct udev QgaUdev;
typedef struct udev_monitor QgaUdevMonitor;
typedef struct udev_enumerate QgaUdevEnumerate;
typedef struct udev_device QgaUdevDevice;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdev, udev_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdevMonitor, udev_monitor_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdevEnumerate, udev_enumerate_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaUdevDevice, udev_device_unref)

struct _QgaChannel {
	QgaMethod method;
	gchar *path;
	gchar *devnode; /* the open virtio port, when found by name */
	const QgaChannelCallbacks *callbacks;
	gpointer user_data;

	gint listen_fd;
	guint listen_watch;

	gint fd;
	guint in_watch;
	guint out_watch;
	gboolean connected;
	GByteArray *output;
	gsize output_sent; /* the head of @output already written */

	gint sigio_fd; /* virtio: host connection changes */
	guint sigio_watch;

	QgaUdev *udev; /* virtio by name: the port coming and going */
	QgaUdevMonitor *monitor;
	guint monitor_watch;
};

static void qga_channel_set_connected(QgaChannel *self, gboolean connected);
static void qga_channel_update_in_watch(QgaChannel *self);

static void
qga_channel_remove_source(guint *id)
{
	if (*id != 0) {
		g_source_remove(*id);
		*id = 0;
	}
}

static void
qga_channel_close_fd(gint *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
qga_channel_fail(QgaChannel *self, GError *error)
{
	g_autoptr(GError) error_owned = error;

	qga_channel_remove_source(&self->in_watch);
	qga_channel_remove_source(&self->out_watch);
	self->callbacks->failed(error_owned, self->user_data);
}

static gboolean
qga_channel_is_virtio(QgaChannel *self)
{
	return self->method == QGA_METHOD_VIRTIO_SERIAL;
}

/* ---- output ---- */

static gboolean qga_channel_out_cb(gint fd, GIOCondition cond, gpointer user_data);

/* bytes queued and not yet written */
static gsize
qga_channel_pending(QgaChannel *self)
{
	return self->output->len - self->output_sent;
}

static void
qga_channel_drop_output(QgaChannel *self)
{
	g_byte_array_set_size(self->output, 0);
	self->output_sent = 0;
}

static void
qga_channel_flush(QgaChannel *self)
{
	/* a reply goes out in pieces the port takes (a virtio port at most
	 * 32 KiB a write): moving the rest to the front after each would copy
	 * a large reply over and over */
	while (qga_channel_pending(self) > 0) {
		const guint8 *data = self->output->data + self->output_sent;
		gssize n;

		/* send() for sockets so a vanished peer is EPIPE, not SIGPIPE */
		if (self->method == QGA_METHOD_UNIX_LISTEN)
			n = send(self->fd, data, qga_channel_pending(self), MSG_NOSIGNAL);
		else
			n = write(self->fd, data, qga_channel_pending(self));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* the host went away mid-reply: the read side reports it */
			g_debug("write to host failed: %s, dropping %" G_GSIZE_FORMAT " bytes",
				n < 0 ? g_strerror(errno) : "short write",
				qga_channel_pending(self));
			qga_channel_drop_output(self);
			break;
		}
		self->output_sent += n;
	}
	if (qga_channel_pending(self) == 0)
		qga_channel_drop_output(self);
	if (qga_channel_pending(self) > 0 && self->out_watch == 0)
		self->out_watch = g_unix_fd_add(self->fd, G_IO_OUT, qga_channel_out_cb, self);
	else if (qga_channel_pending(self) == 0)
		qga_channel_remove_source(&self->out_watch);
	qga_channel_update_in_watch(self);
}

static gboolean
qga_channel_out_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	QgaChannel *self = user_data;

	self->out_watch = 0;
	qga_channel_flush(self);
	return G_SOURCE_REMOVE;
}

void
qga_channel_write(QgaChannel *self, const void *data, gsize len)
{
	/* a virtio host may be back already though its close is still being
	 * delivered: hold the reply (bounded) until the port takes it */
	if (!self->connected && (!qga_channel_is_virtio(self) ||
				 qga_channel_pending(self) + len > QGA_CHANNEL_OUTPUT_HIGH)) {
		g_debug("no host connected, dropping a %" G_GSIZE_FORMAT " byte reply", len);
		return;
	}
	if (self->output_sent > 0) {
		g_byte_array_remove_range(self->output, 0, self->output_sent);
		self->output_sent = 0;
	}
	g_byte_array_append(self->output, data, len);
	if (self->connected && self->out_watch == 0)
		qga_channel_flush(self);
}

gboolean
qga_channel_is_connected(QgaChannel *self)
{
	return self->connected;
}

/* ---- input ---- */

static gboolean qga_channel_in_cb(gint fd, GIOCondition cond, gpointer user_data);

static void
qga_channel_update_in_watch(QgaChannel *self)
{
	gboolean want = self->connected && self->fd >= 0 &&
			qga_channel_pending(self) < QGA_CHANNEL_OUTPUT_HIGH;

	if (want && self->in_watch == 0)
		self->in_watch = g_unix_fd_add(self->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					       qga_channel_in_cb, self);
	else if (!want)
		qga_channel_remove_source(&self->in_watch);
}

static void qga_channel_virtio_check_host(QgaChannel *self);
static gboolean qga_channel_listen_cb(gint fd, GIOCondition cond, gpointer user_data);
static void qga_channel_virtio_close(QgaChannel *self);

static void
qga_channel_peer_gone(QgaChannel *self)
{
	qga_channel_set_connected(self, FALSE);
	if (self->method == QGA_METHOD_UNIX_LISTEN) {
		qga_channel_close_fd(&self->fd);
		self->listen_watch =
			g_unix_fd_add(self->listen_fd, G_IO_IN, qga_channel_listen_cb, self);
	} else if (qga_channel_is_virtio(self)) {
		qga_channel_virtio_check_host(self);
	} else {
		qga_channel_fail(self, g_error_new(G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
						   "serial device '%s' hung up", self->path));
	}
}

static gboolean
qga_channel_in_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	QgaChannel *self = user_data;
	guint8 buf[QGA_CHANNEL_READ_SIZE];

	for (;;) {
		gssize n = read(self->fd, buf, sizeof(buf));

		if (n > 0) {
			self->callbacks->received(buf, n, self->user_data);
			/* the callback may have paused input or lost the peer */
			if (self->in_watch == 0 || !self->connected)
				return self->in_watch != 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		self->in_watch = 0;
		if (n == 0 || errno == ECONNRESET) {
			qga_channel_peer_gone(self);
		} else if (qga_channel_is_virtio(self) && self->devnode != NULL) {
			/* hot-unplugged: wait for the port to come back */
			g_message("port '%s' failed: %s, waiting for it", self->path,
				  g_strerror(errno));
			qga_channel_virtio_close(self);
		} else {
			gint errsv = errno;
			qga_channel_fail(self, g_error_new(G_IO_ERROR, g_io_error_from_errno(errsv),
							   "reading '%s': %s", self->path,
							   g_strerror(errsv)));
		}
		return G_SOURCE_REMOVE;
	}
}

static void
qga_channel_set_connected(QgaChannel *self, gboolean connected)
{
	if (self->connected == connected)
		return;
	self->connected = connected;
	/* no POLLOUT watch while the port reports POLLHUP: it would spin */
	qga_channel_remove_source(&self->out_watch);
	/* a unix-listen client's replies die with its socket. On virtio the
	 * guest may see a host's close only after the next host's request was
	 * answered: keep that reply; one really meant for a host that left is
	 * what the 0xff sync makes every client discard */
	if (!qga_channel_is_virtio(self))
		qga_channel_drop_output(self);
	else if (connected && qga_channel_pending(self) > 0)
		qga_channel_flush(self);
	qga_channel_update_in_watch(self);
	g_message("host %s", connected ? "connected" : "disconnected");
	self->callbacks->connection_changed(connected, self->user_data);
}

/* ---- unix-listen: one client at a time, as qemu-ga ---- */

static gboolean
qga_channel_listen_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	QgaChannel *self = user_data;
	gint client = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (client < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			g_warning("accept on '%s': %s, ignoring", self->path, g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	self->fd = client;
	self->listen_watch = 0;
	qga_channel_set_connected(self, TRUE);
	return G_SOURCE_REMOVE;
}

static gboolean
qga_channel_open_unix_listen(QgaChannel *self, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;

	if (strlen(self->path) >= sizeof(addr.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path '%s' is too long", self->path);
		return FALSE;
	}
	strcpy(addr.sun_path, self->path);
	/* a socket left by an earlier run would make bind fail */
	if (lstat(self->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(self->path);
	self->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (self->listen_fd < 0 ||
	    bind(self->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(self->listen_fd, 1) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "listening on '%s': %s", self->path, g_strerror(errsv));
		return FALSE;
	}
	self->listen_watch = g_unix_fd_add(self->listen_fd, G_IO_IN, qga_channel_listen_cb, self);
	return TRUE;
}

/* ---- isa-serial ---- */

static gboolean
qga_channel_open_isa_serial(QgaChannel *self, GError **error)
{
	struct termios tio;

	self->fd = open(self->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (self->fd < 0 || tcgetattr(self->fd, &tio) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "opening serial device '%s': %s", self->path, g_strerror(errsv));
		return FALSE;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	/* stale input from before we opened is another client's */
	if (tcsetattr(self->fd, TCSANOW, &tio) < 0 || tcflush(self->fd, TCIFLUSH) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "setting raw mode on '%s': %s", self->path, g_strerror(errsv));
		return FALSE;
	}
	qga_channel_set_connected(self, TRUE);
	return TRUE;
}

/* ---- virtio-serial ---- */

static gboolean
qga_channel_set_async(QgaChannel *self, gboolean on)
{
	gint flags = fcntl(self->fd, F_GETFL);

	if (flags < 0)
		return FALSE;
	flags = on ? (flags | O_ASYNC) : (flags & ~O_ASYNC);
	return fcntl(self->fd, F_SETFL, flags) == 0;
}

static void
qga_channel_virtio_check_host(QgaChannel *self)
{
	struct pollfd pfd = {.fd = self->fd, .events = POLLIN};

	if (self->fd < 0)
		return;
	/* arm SIGIO before looking, so a host arriving in between is heard */
	if (!qga_channel_set_async(self, TRUE)) {
		qga_channel_fail(self, g_error_new(G_IO_ERROR, g_io_error_from_errno(errno),
						   "enabling O_ASYNC on '%s': %s", self->path,
						   g_strerror(errno)));
		return;
	}
	if (poll(&pfd, 1, 0) < 0 || (pfd.revents & POLLHUP)) {
		qga_channel_set_connected(self, FALSE);
		return;
	}
	/* connected: the read watch sees the next hang-up, SIGIO would only
	 * add a wakeup per incoming buffer */
	qga_channel_set_async(self, FALSE);
	qga_channel_set_connected(self, TRUE);
}

static gboolean
qga_channel_sigio_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	QgaChannel *self = user_data;
	struct signalfd_siginfo info;

	while (read(fd, &info, sizeof(info)) == sizeof(info))
		;
	if (!self->connected)
		qga_channel_virtio_check_host(self);
	return G_SOURCE_CONTINUE;
}

static gboolean
qga_channel_virtio_open(QgaChannel *self, const gchar *devnode, GError **error)
{
	self->fd = open(devnode, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (self->fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "opening virtio port '%s': %s", devnode, g_strerror(errsv));
		return FALSE;
	}
	if (fcntl(self->fd, F_SETOWN, getpid()) < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "F_SETOWN on '%s': %s",
			    devnode, g_strerror(errsv));
		return FALSE;
	}
	g_message("opened virtio port '%s' (%s)", self->path, devnode);
	qga_channel_virtio_check_host(self);
	return TRUE;
}

static void
qga_channel_virtio_close(QgaChannel *self)
{
	qga_channel_set_connected(self, FALSE);
	qga_channel_remove_source(&self->in_watch);
	qga_channel_close_fd(&self->fd);
	g_clear_pointer(&self->devnode, g_free);
}

static gboolean
qga_channel_sigio_setup(QgaChannel *self, GError **error)
{
	sigset_t mask;

	/* main() blocks SIGIO before any thread exists; block it here too
	 * so that its default action (terminate) can never run */
	sigemptyset(&mask);
	sigaddset(&mask, SIGIO);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	self->sigio_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (self->sigio_fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "signalfd: %s",
			    g_strerror(errsv));
		return FALSE;
	}
	self->sigio_watch = g_unix_fd_add(self->sigio_fd, G_IO_IN, qga_channel_sigio_cb, self);
	return TRUE;
}

static const gchar *
qga_channel_port_devnode(QgaUdevDevice *dev, const gchar *name)
{
	const gchar *port = udev_device_get_sysattr_value(dev, "name");

	if (g_strcmp0(port, name) != 0)
		return NULL;
	return udev_device_get_devnode(dev);
}

static gchar *
qga_channel_find_port(QgaChannel *self)
{
	g_autoptr(QgaUdevEnumerate) e = udev_enumerate_new(self->udev);
	struct udev_list_entry *entry;

	udev_enumerate_add_match_subsystem(e, "virtio-ports");
	udev_enumerate_add_match_sysattr(e, "name", self->path);
	if (udev_enumerate_scan_devices(e) < 0)
		return NULL;
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e)) {
		g_autoptr(QgaUdevDevice) dev =
			udev_device_new_from_syspath(self->udev, udev_list_entry_get_name(entry));
		const gchar *devnode = dev ? qga_channel_port_devnode(dev, self->path) : NULL;
		if (devnode != NULL)
			return g_strdup(devnode);
	}
	return NULL;
}

static gboolean
qga_channel_monitor_cb(gint fd, GIOCondition cond, gpointer user_data)
{
	QgaChannel *self = user_data;
	g_autoptr(QgaUdevDevice) dev = udev_monitor_receive_device(self->monitor);
	g_autoptr(GError) error = NULL;
	const gchar *action;
	const gchar *devnode;

	if (dev == NULL)
		return G_SOURCE_CONTINUE;
	action = udev_device_get_action(dev);
	devnode = udev_device_get_devnode(dev);
	if (g_strcmp0(action, "remove") == 0 && self->devnode != NULL &&
	    g_strcmp0(devnode, self->devnode) == 0) {
		g_message("port '%s' was removed, waiting for it", self->path);
		qga_channel_virtio_close(self);
		return G_SOURCE_CONTINUE;
	}
	/* virtio_console names a port after creating it, announced by a
	 * "change" event: the name may not be there yet at "add" */
	if ((g_strcmp0(action, "add") != 0 && g_strcmp0(action, "change") != 0) || self->fd >= 0)
		return G_SOURCE_CONTINUE;
	devnode = qga_channel_port_devnode(dev, self->path);
	if (devnode == NULL)
		return G_SOURCE_CONTINUE;
	self->devnode = g_strdup(devnode);
	if (!qga_channel_virtio_open(self, devnode, &error)) {
		qga_channel_close_fd(&self->fd);
		g_clear_pointer(&self->devnode, g_free);
		g_warning("%s, waiting for the port again", error->message);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
qga_channel_open_virtio_by_name(QgaChannel *self, GError **error)
{
	/* without udevd (an initramfs) only the kernel's own events come */
	const gchar *source =
		g_file_test("/run/udev/control", G_FILE_TEST_EXISTS) ? "udev" : "kernel";

	self->udev = udev_new();
	if (self->udev != NULL)
		self->monitor = udev_monitor_new_from_netlink(self->udev, source);
	if (self->monitor == NULL ||
	    udev_monitor_filter_add_match_subsystem_devtype(self->monitor, "virtio-ports", NULL) <
		    0 ||
	    udev_monitor_enable_receiving(self->monitor) < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot watch udev for virtio port '%s'", self->path);
		return FALSE;
	}
	/* monitor first, then look: a port appearing in between is not missed */
	self->monitor_watch = g_unix_fd_add(udev_monitor_get_fd(self->monitor), G_IO_IN,
					    qga_channel_monitor_cb, self);
	self->devnode = qga_channel_find_port(self);
	if (self->devnode == NULL) {
		g_message("virtio port '%s' is not there yet, waiting for it", self->path);
		return TRUE;
	}
	return qga_channel_virtio_open(self, self->devnode, error);
}

static gboolean
qga_channel_open_virtio(QgaChannel *self, GError **error)
{
	if (!qga_channel_sigio_setup(self, error))
		return FALSE;
	if (!g_path_is_absolute(self->path))
		return qga_channel_open_virtio_by_name(self, error);
	return qga_channel_virtio_open(self, self->path, error);
}

/* ---- lifetime ---- */

QgaChannel *
qga_channel_new(QgaMethod method, const gchar *path, const QgaChannelCallbacks *callbacks,
		gpointer user_data, GError **error)
{
	g_autoptr(QgaChannel) self = g_new0(QgaChannel, 1);
	gboolean ok = FALSE;

	g_return_val_if_fail(path != NULL, NULL);
	self->method = method;
	self->path = g_strdup(path);
	self->callbacks = callbacks;
	self->user_data = user_data;
	self->fd = -1;
	self->listen_fd = -1;
	self->sigio_fd = -1;
	self->output = g_byte_array_new();
	switch (method) {
	case QGA_METHOD_VIRTIO_SERIAL:
		ok = qga_channel_open_virtio(self, error);
		break;
	case QGA_METHOD_ISA_SERIAL:
		ok = qga_channel_open_isa_serial(self, error);
		break;
	case QGA_METHOD_UNIX_LISTEN:
		ok = qga_channel_open_unix_listen(self, error);
		break;
	}
	if (!ok)
		return NULL;
	return g_steal_pointer(&self);
}

void
qga_channel_free(QgaChannel *self)
{
	if (self == NULL)
		return;
	qga_channel_remove_source(&self->in_watch);
	qga_channel_remove_source(&self->out_watch);
	qga_channel_remove_source(&self->listen_watch);
	qga_channel_remove_source(&self->sigio_watch);
	qga_channel_remove_source(&self->monitor_watch);
	qga_channel_close_fd(&self->fd);
	qga_channel_close_fd(&self->listen_fd);
	qga_channel_close_fd(&self->sigio_fd);
	g_clear_pointer(&self->monitor, udev_monitor_unref);
	g_clear_pointer(&self->udev, udev_unref);
	g_byte_array_unref(self->output);
	g_free(self->devnode);
	g_free(self->path);
	g_free(self);
}
