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
	GQueue held; /* of QgaLogRecord, while frozen and until written after the thaw */
	guint dropped;
	guint flush_idle; /* writes @held once the thaw's reply is out */
};

/* a record held, formatted only when written: formatting a time takes as long as
 * a write under emulation, and the filesystems are frozen meanwhile */
typedef struct {
	GLogLevelFlags level;
	gchar *domain;
	gchar *message;
	gint64 when_us; /* g_get_real_time() */
} QgaLogRecord;

static void
qga_log_record_free(QgaLogRecord *self)
{
	g_free(self->domain);
	g_free(self->message);
	g_free(self);
}

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

static void
qga_log_emit_record(QgaLog *self, const QgaLogRecord *record)
{
	g_autoptr(GDateTime) second =
		g_date_time_new_from_unix_local(record->when_us / G_USEC_PER_SEC);
	g_autoptr(GDateTime) when = g_date_time_add(second, record->when_us % G_USEC_PER_SEC);
	g_autofree gchar *stamp = g_date_time_format(when, "%F %T.%f");
	g_autofree gchar *line = g_strdup_printf("%.23s %s: %s: %s\n", stamp,
						 record->domain ? record->domain : "qgatrace",
						 qga_log_level_name(record->level),
						 record->message ? record->message : "");

	qga_log_emit(self, line);
}

static void
qga_log_flush(QgaLog *self)
{
	QgaLogRecord *record;

	g_clear_handle_id(&self->flush_idle, g_source_remove);
	if (self->dropped > 0) {
		g_autofree gchar *note =
			g_strdup_printf("%u log records dropped while frozen\n", self->dropped);
		qga_log_emit(self, note);
		self->dropped = 0;
	}
	while ((record = g_queue_pop_head(&self->held)) != NULL) {
		qga_log_emit_record(self, record);
		qga_log_record_free(record);
	}
}

static GLogWriterOutput
qga_log_write_cb(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	QgaLog *self = user_data;
	QgaLogRecord record = {level, NULL, NULL, g_get_real_time()};

	if (!self->verbose && (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)))
		return G_LOG_WRITER_HANDLED;
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			record.domain = (gchar *)fields[i].value;
		else if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			record.message = (gchar *)fields[i].value;
	}
	/* after the thaw too, until the held ones are written: in order */
	if (qga_state_is_frozen(self->state) || self->flush_idle != 0) {
		if (g_queue_get_length(&self->held) >= QGA_LOG_RING_MAX) {
			qga_log_record_free(g_queue_pop_head(&self->held));
			self->dropped++;
		}
		record.domain = g_strdup(record.domain);
		record.message = g_strdup(record.message);
		g_queue_push_tail(&self->held, g_memdup2(&record, sizeof(record)));
		return G_LOG_WRITER_HANDLED;
	}
	qga_log_emit_record(self, &record);
	return G_LOG_WRITER_HANDLED;
}

static gboolean
qga_log_flush_cb(gpointer user_data)
{
	QgaLog *self = user_data;

	self->flush_idle = 0;
	qga_log_flush(self);
	return G_SOURCE_REMOVE;
}

static void
qga_log_state_changed_cb(gboolean frozen, gpointer user_data)
{
	QgaLog *self = user_data;

	if (frozen)
		return;
	/* outside the main loop (recovery at start, the thaw at exit) no
	 * reply waits: now; else once the thaw's reply is out, writing them is
	 * no part of the frozen window */
	if (g_main_depth() == 0)
		qga_log_flush(self);
	else if (self->flush_idle == 0)
		self->flush_idle = g_idle_add(qga_log_flush_cb, self);
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
	/* the agent thaws before it exits: what it logged since, it says */
	if (!qga_state_is_frozen(self->state))
		qga_log_flush(self);
	g_clear_handle_id(&self->flush_idle, g_source_remove);
	g_queue_clear_full(&self->held, (GDestroyNotify)qga_log_record_free);
	if (self->own_fd)
		close(self->fd);
	g_free(self);
}
