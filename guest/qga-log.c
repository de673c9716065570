/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "qga-log.h"

struct _QgaLog {
	QgaState *state;
	gint fd;
	gboolean own_fd;
	gboolean verbose;
	GQueue held; /* of gchar* lines, while frozen */
	guint dropped;
};

static const gchar *
qga_log_level_name(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "error";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "message";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

static void
qga_log_emit(QgaLog *self, const gchar *line)
{
	gsize len = strlen(line);

	while (len > 0) {
		gssize n = write(self->fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report it */
		line += n;
		len -= n;
	}
}

static gchar *
qga_log_format(GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
	const gchar *domain = NULL;
	const gchar *message = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree gchar *stamp = g_date_time_format(now, "%F %T.%f");

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
		else if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
	}
	return g_strdup_printf("%.23s %s: %s: %s\n", stamp, domain ? domain : "qgatrace",
			       qga_log_level_name(level), message ? message : "");
}

static GLogWriterOutput
qga_log_write_cb(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	QgaLog *self = user_data;
	g_autofree gchar *line = NULL;

	if (!self->verbose && (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)))
		return G_LOG_WRITER_HANDLED;
	line = qga_log_format(level, fields, n_fields);
	if (qga_state_is_frozen(self->state)) {
		if (g_queue_get_length(&self->held) >= QGA_LOG_RING_MAX) {
			g_free(g_queue_pop_head(&self->held));
			self->dropped++;
		}
		g_queue_push_tail(&self->held, g_steal_pointer(&line));
		return G_LOG_WRITER_HANDLED;
	}
	qga_log_emit(self, line);
	return G_LOG_WRITER_HANDLED;
}

static void
qga_log_state_changed_cb(gboolean frozen, gpointer user_data)
{
	QgaLog *self = user_data;
	gchar *line;

	if (frozen)
		return;
	if (self->dropped > 0) {
		g_autofree gchar *note =
			g_strdup_printf("%u log records dropped while frozen\n", self->dropped);
		qga_log_emit(self, note);
		self->dropped = 0;
	}
	while ((line = g_queue_pop_head(&self->held)) != NULL) {
		qga_log_emit(self, line);
		g_free(line);
	}
}

QgaLog *
qga_log_new(QgaState *state, const gchar *logfile, gboolean verbose, GError **error)
{
	g_autoptr(QgaLog) self = g_new0(QgaLog, 1);

	self->state = state;
	self->verbose = verbose;
	self->fd = STDERR_FILENO;
	g_queue_init(&self->held);
	if (logfile != NULL) {
		self->fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (self->fd < 0) {
			gint errsv = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
				    "opening log file '%s': %s", logfile, g_strerror(errsv));
			return NULL;
		}
		self->own_fd = TRUE;
	}
	qga_state_add_notify(state, qga_log_state_changed_cb, self);
	g_log_set_writer_func(qga_log_write_cb, self, NULL);
	return g_steal_pointer(&self);
}

guint
qga_log_get_held(QgaLog *self)
{
	return g_queue_get_length(&self->held);
}

void
qga_log_free(QgaLog *self)
{
	if (self == NULL)
		return;
	g_queue_clear_full(&self->held, g_free);
	if (self->own_fd)
		close(self->fd);
	g_free(self);
}
