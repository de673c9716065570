/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qga-kmsg.h"

/* syslog(2) actions (include/linux/syslog.h); glibc has no names for them */
#define QGA_SYSLOG_ACTION_READ_ALL    3
#define QGA_SYSLOG_ACTION_SIZE_BUFFER 10

/* a fixture file larger than this is refused */
#define QGA_KMSG_TEXT_MAX (64 * 1024 * 1024)

/* "prio,seq,ts_usec,flags" and a caller id fit in far less */
#define QGA_KMSG_PREFIX_MAX 128

/* a decimal without sign, spaces or overflow, up to @max */
static gboolean
qga_kmsg_parse_uint(const gchar *p, gsize len, guint64 max, guint64 *value)
{
	guint64 v = 0;

	if (len == 0 || len > 20)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guint digit;

		if (!g_ascii_isdigit(p[i]))
			return FALSE;
		digit = p[i] - '0';
		if (v > (max - digit) / 10)
			return FALSE;
		v = v * 10 + digit;
	}
	*value = v;
	return TRUE;
}

static gboolean
qga_kmsg_invalid(GError **error, const gchar *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "malformed kernel log record: %s",
		    what);
	return FALSE;
}

/* adds " KEY=value" (without its space) unless it has no key or repeats one */
static void
qga_kmsg_dict_add(GPtrArray *dict, const gchar *line, gsize len)
{
	const gchar *eq = memchr(line, '=', len);
	g_autofree gchar *entry = NULL;
	gsize key_len;

	if (eq == NULL || eq == line)
		return;
	entry = kmsg_record_escape(line, len, FALSE);
	key_len = strchr(entry, '=') - entry + 1;
	for (guint i = 0; i < dict->len; i++) {
		if (strncmp(g_ptr_array_index(dict, i), entry, key_len) == 0)
			return;
	}
	g_ptr_array_add(dict, g_steal_pointer(&entry));
}

KmsgRecord *
qga_kmsg_record_parse(const gchar *data, gsize len, GError **error)
{
	const gchar *end = data + len;
	const gchar *nl;
	const gchar *line_end;
	const gchar *semi;
	const gchar *p = data;
	const gchar *field[4];
	gsize field_len[4];
	guint64 prio, seq, ts;
	g_autoptr(GPtrArray) dict = NULL;
	g_autoptr(KmsgRecord) record = NULL;

	g_return_val_if_fail(data != NULL || len == 0, NULL);

	if (len == 0) {
		qga_kmsg_invalid(error, "empty");
		return NULL;
	}
	if (len > QGA_KMSG_RECORD_MAX) {
		qga_kmsg_invalid(error, "longer than 16 KiB");
		return NULL;
	}
	nl = memchr(data, '\n', len);
	line_end = nl != NULL ? nl : end;
	semi = memchr(data, ';', MIN((gsize)(line_end - data), QGA_KMSG_PREFIX_MAX));
	if (semi == NULL) {
		qga_kmsg_invalid(error, "no ';' after the prefix");
		return NULL;
	}
	/* prio,seq,ts_usec,flags then fields of newer kernels (",caller=T1") */
	for (guint i = 0; i < G_N_ELEMENTS(field); i++) {
		const gchar *comma = memchr(p, ',', semi - p);

		if (comma == NULL && i < G_N_ELEMENTS(field) - 1) {
			qga_kmsg_invalid(error, "too few fields in the prefix");
			return NULL;
		}
		field[i] = p;
		field_len[i] = (comma != NULL ? comma : semi) - p;
		p = comma != NULL ? comma + 1 : semi;
	}
	if (!qga_kmsg_parse_uint(field[0], field_len[0], G_MAXUINT32, &prio) ||
	    !qga_kmsg_parse_uint(field[1], field_len[1], G_MAXINT64, &seq) ||
	    !qga_kmsg_parse_uint(field[2], field_len[2], G_MAXINT64, &ts)) {
		qga_kmsg_invalid(error, "a prefix field is not a number");
		return NULL;
	}
	if (field_len[3] == 0) {
		qga_kmsg_invalid(error, "no flags");
		return NULL;
	}
	/* the dictionary: one " KEY=value" line each */
	for (p = nl != NULL ? nl + 1 : end; p < end;) {
		const gchar *eol = memchr(p, '\n', end - p);
		const gchar *stop = eol != NULL ? eol : end;

		if (*p != ' ') {
			qga_kmsg_invalid(error,
					 "a line after the first does not start with a space");
			return NULL;
		}
		if (dict == NULL)
			dict = g_ptr_array_new_with_free_func(g_free);
		qga_kmsg_dict_add(dict, p + 1, stop - p - 1);
		p = eol != NULL ? eol + 1 : end;
	}
	record = g_new0(KmsgRecord, 1);
	record->seq = seq;
	record->ts_usec = ts;
	record->level = prio & 7;
	record->facility = prio >> 3;
	/* 'c' starts a continuation; before Linux 4.9 '+' continued one */
	record->continuation = field[3][0] == 'c' || field[3][0] == '+';
	record->message = kmsg_record_escape(semi + 1, line_end - semi - 1, FALSE);
	if (dict != NULL && dict->len > 0) {
		g_ptr_array_add(dict, NULL);
		record->dict = (gchar **)g_ptr_array_free(g_steal_pointer(&dict), FALSE);
	}
	return g_steal_pointer(&record);
}

gsize
qga_kmsg_record_split(const gchar *data, gsize len)
{
	const gchar *end = data + len;
	const gchar *p = memchr(data, '\n', len);

	if (p == NULL)
		return len;
	for (p++; p < end && *p == ' ';) {
		const gchar *eol = memchr(p, '\n', end - p);

		p = eol != NULL ? eol + 1 : end;
	}
	return p - data;
}

/* "[  123.456789]" (printk_time) at @p, up to @end; moves @p past it */
static gboolean
qga_kmsg_syslog_parse_time(const gchar **p, const gchar *end, guint64 *ts_usec)
{
	const gchar *s = *p + 1;
	const gchar *close = memchr(*p, ']', MIN((gsize)(end - *p), 32));
	const gchar *dot;
	guint64 sec, frac;
	gsize frac_len;

	if (close == NULL)
		return FALSE;
	while (s < close && *s == ' ')
		s++;
	dot = memchr(s, '.', close - s);
	if (dot == NULL)
		return FALSE;
	frac_len = close - dot - 1;
	if (frac_len > 9 ||
	    !qga_kmsg_parse_uint(s, dot - s, G_MAXINT64 / G_USEC_PER_SEC - 1, &sec) ||
	    !qga_kmsg_parse_uint(dot + 1, frac_len, G_MAXUINT32, &frac))
		return FALSE;
	for (gsize i = frac_len; i < 6; i++)
		frac *= 10;
	for (gsize i = 6; i < frac_len; i++)
		frac /= 10;
	*ts_usec = sec * G_USEC_PER_SEC + frac;
	*p = close + 1;
	return TRUE;
}

/* CONFIG_PRINTK_CALLER's "[  T123]" or "[    C1]" */
static void
qga_kmsg_syslog_skip_caller(const gchar **p, const gchar *end)
{
	const gchar *close = memchr(*p, ']', MIN((gsize)(end - *p), 16));
	const gchar *s = *p + 1;
	guint64 id;

	if (close == NULL)
		return;
	while (s < close && *s == ' ')
		s++;
	if (s < close && (*s == 'T' || *s == 'C') &&
	    qga_kmsg_parse_uint(s + 1, close - s - 1, G_MAXUINT32, &id))
		*p = close + 1;
}

KmsgRecord *
qga_kmsg_syslog_line_parse(const gchar *line, gsize len, guint64 seq, GError **error)
{
	const gchar *end = line + len;
	const gchar *close;
	const gchar *p;
	guint64 prio;
	guint64 ts = 0;
	KmsgRecord *record;

	if (len == 0 || line[0] != '<') {
		qga_kmsg_invalid(error, "no <level> prefix");
		return NULL;
	}
	close = memchr(line, '>', MIN(len, 12));
	if (close == NULL || !qga_kmsg_parse_uint(line + 1, close - line - 1, G_MAXUINT32, &prio)) {
		qga_kmsg_invalid(error, "no <level> prefix");
		return NULL;
	}
	p = close + 1;
	if (p < end && *p == '[' && qga_kmsg_syslog_parse_time(&p, end, &ts) && p < end &&
	    *p == '[')
		qga_kmsg_syslog_skip_caller(&p, end);
	if (p < end && *p == ' ')
		p++;
	record = g_new0(KmsgRecord, 1);
	record->seq = seq;
	record->ts_usec = ts;
	record->level = prio & 7;
	record->facility = prio >> 3;
	record->message = kmsg_record_escape(p, end - p, TRUE);
	return record;
}

/* ---- readers ---- */

struct _QgaKmsgReader {
	QgaKmsgSource source;
	gint fd; /* /dev/kmsg, or -1 */
	QgaKmsgReadFunc func;
	gpointer user_data;
	gchar *buf; /* one record, for func */
	/* a whole text at once: a fixture file, klogctl's buffer */
	gchar *text;
	gsize text_len;
	gsize pos;
	gboolean syslog;
	guint64 synth_seq;
	guint overruns;
	guint malformed;
	/* a /dev/kmsg reader kept between exports: the seq of the last record
	 * it returned, the one before, and a record handed back unused */
	gint64 last_seq;
	gint64 prev_seq;
	KmsgRecord *pending;
	gchar *dev_dir; /* for the oldest record's seq once resumed */
};

static QgaKmsgReader *
qga_kmsg_reader_new(QgaKmsgSource source)
{
	QgaKmsgReader *self = g_new0(QgaKmsgReader, 1);

	self->source = source;
	self->fd = -1;
	self->last_seq = -1;
	self->prev_seq = -1;
	return self;
}

void
qga_kmsg_reader_free(QgaKmsgReader *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close(self->fd);
	kmsg_record_free(self->pending);
	g_free(self->dev_dir);
	g_free(self->buf);
	g_free(self->text);
	g_free(self);
}

static gssize
qga_kmsg_reader_fd_read(gpointer user_data, gchar *buf, gsize len)
{
	QgaKmsgReader *self = user_data;

	return read(self->fd, buf, len);
}

QgaKmsgReader *
qga_kmsg_reader_new_func(QgaKmsgReadFunc func, gpointer user_data)
{
	QgaKmsgReader *self = qga_kmsg_reader_new(QGA_KMSG_SOURCE_KMSG);

	self->func = func;
	self->user_data = user_data;
	/* /dev/kmsg fails a read into a buffer too small for the record with
	 * EINVAL and does not move on: it must hold the largest one */
	self->buf = g_malloc(QGA_KMSG_RECORD_MAX);
	return self;
}

static QgaKmsgReader *
qga_kmsg_reader_new_text(QgaKmsgSource source, gchar *text, gsize len, gboolean syslog)
{
	QgaKmsgReader *self = qga_kmsg_reader_new(source);

	self->text = text;
	self->text_len = len;
	self->syslog = syslog;
	return self;
}

QgaKmsgReader *
qga_kmsg_reader_new_syslog(const gchar *text, gsize len)
{
	return qga_kmsg_reader_new_text(QGA_KMSG_SOURCE_KLOGCTL, g_memdup2(text, len), len, TRUE);
}

QgaKmsgReader *
qga_kmsg_reader_open(const gchar *dev_dir, GError **error)
{
	g_autofree gchar *path = g_build_filename(dev_dir, "kmsg", NULL);
	g_autofree gchar *text = NULL;
	QgaKmsgReader *self;
	struct stat st;
	gsize len = 0;
	gint fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot open '%s': %s",
			    path, g_strerror(errsv));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode)) {
		/* the oldest record still in the buffer (SEEK_DATA would start
		 * after the last `dmesg -c`, which an export must not hide) */
		if (lseek(fd, 0, SEEK_SET) < 0) {
			gint errsv = errno;
			close(fd);
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "cannot seek '%s': %s", path, g_strerror(errsv));
			return NULL;
		}
		self = qga_kmsg_reader_new_func(qga_kmsg_reader_fd_read, NULL);
		self->user_data = self;
		self->fd = fd;
		self->dev_dir = g_strdup(dev_dir);
		return self;
	}
	close(fd);
	/* a fixture: the records as `cat /dev/kmsg` prints them */
	if (!g_file_get_contents(path, &text, &len, error)) {
		g_prefix_error(error, "reading '%s': ", path);
		return NULL;
	}
	if (len > QGA_KMSG_TEXT_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "'%s' is too large", path);
		return NULL;
	}
	return qga_kmsg_reader_new_text(QGA_KMSG_SOURCE_KMSG, g_steal_pointer(&text), len, FALSE);
}

QgaKmsgReader *
qga_kmsg_reader_open_klogctl(GError **error)
{
	g_autofree gchar *buf = NULL;
	gint size;
	gint len;

	size = klogctl(QGA_SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	if (size < 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "klogctl: %s",
			    g_strerror(errsv));
		return NULL;
	}
	/* READ_ALL returns the newest records whose text fits, and the text
	 * has a "<6>[    1.234567] " per line that the buffer does not: a
	 * buffer of log_buf_len bytes loses the oldest (busybox dmesg does);
	 * grow while the text comes close to filling it, as util-linux does */
	size = CLAMP(size, QGA_KMSG_RECORD_MAX, QGA_KMSG_TEXT_MAX / 4) * 2;
	for (;;) {
		g_free(buf);
		buf = g_malloc(size);
		len = klogctl(QGA_SYSLOG_ACTION_READ_ALL, buf, size);
		if (len < 0) {
			gint errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "klogctl: %s",
				    g_strerror(errsv));
			return NULL;
		}
		if (len < size - QGA_KMSG_RECORD_MAX || size >= QGA_KMSG_TEXT_MAX)
			break;
		size *= 2;
	}
	return qga_kmsg_reader_new_text(QGA_KMSG_SOURCE_KLOGCTL, g_steal_pointer(&buf), len, TRUE);
}

QgaKmsgSource
qga_kmsg_reader_get_source(QgaKmsgReader *self)
{
	return self->source;
}

guint
qga_kmsg_reader_get_overruns(QgaKmsgReader *self)
{
	return self->overruns;
}

guint
qga_kmsg_reader_get_malformed(QgaKmsgReader *self)
{
	return self->malformed;
}

/* the next record of a whole text; NULL without @error at its end */
static KmsgRecord *
qga_kmsg_reader_next_text(QgaKmsgReader *self, GError **error)
{
	while (self->pos < self->text_len) {
		const gchar *p = self->text + self->pos;
		gsize rest = self->text_len - self->pos;
		gsize len;

		if (self->syslog) {
			const gchar *nl = memchr(p, '\n', rest);

			len = nl != NULL ? (gsize)(nl - p) : rest;
			self->pos += nl != NULL ? len + 1 : len;
			if (len == 0)
				continue;
			/* syslog(2) text has no seq: number its lines */
			return qga_kmsg_syslog_line_parse(p, len, self->synth_seq++, error);
		}
		len = qga_kmsg_record_split(p, rest);
		self->pos += len;
		if (len == 1 && *p == '\n')
			continue;
		return qga_kmsg_record_parse(p, len, error);
	}
	return NULL;
}

static KmsgRecord *
qga_kmsg_reader_read(QgaKmsgReader *self, GError **error)
{
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		KmsgRecord *record;

		if (self->func == NULL) {
			record = qga_kmsg_reader_next_text(self, &error_local);
			if (record == NULL && error_local == NULL)
				return NULL;
		} else {
			gssize n = self->func(self->user_data, self->buf, QGA_KMSG_RECORD_MAX);

			if (n < 0) {
				gint errsv = errno;

				if (errsv == EINTR)
					continue;
				/* non-blocking: nothing newer yet */
				if (errsv == EAGAIN)
					return NULL;
				/* the record at our position was overwritten; the
				 * kernel moved us to the oldest one left */
				if (errsv == EPIPE) {
					self->overruns++;
					continue;
				}
				if (errsv == EINVAL) {
					g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
						    "a kernel log record is larger than %u bytes",
						    (guint)QGA_KMSG_RECORD_MAX);
					return NULL;
				}
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
					    "reading the kernel log: %s", g_strerror(errsv));
				return NULL;
			}
			if (n == 0)
				return NULL;
			record = qga_kmsg_record_parse(self->buf, n, &error_local);
		}
		if (record != NULL)
			return record;
		self->malformed++;
		g_debug("%s, ignoring", error_local->message);
	}
}

KmsgRecord *
qga_kmsg_reader_next(QgaKmsgReader *self, GError **error)
{
	KmsgRecord *record;

	g_return_val_if_fail(self != NULL, NULL);

	record = self->pending != NULL ? g_steal_pointer(&self->pending)
				       : qga_kmsg_reader_read(self, error);
	if (record != NULL) {
		self->prev_seq = self->last_seq;
		self->last_seq = (gint64)record->seq;
	}
	return record;
}

/* @record goes back: the next call returns it again */
static void
qga_kmsg_reader_unread(QgaKmsgReader *self, KmsgRecord *record)
{
	g_assert(self->pending == NULL);
	self->pending = record;
	self->last_seq = self->prev_seq;
}

gboolean
qga_kmsg_reader_can_resume(QgaKmsgReader *self, gint64 since_seq)
{
	g_return_val_if_fail(self != NULL, FALSE);

	return self->dev_dir != NULL && since_seq >= self->last_seq;
}

/* the oldest record the kernel still holds, from a descriptor of its own:
 * a resumed reader is past it; -1 when it cannot be read */
static gint64
qga_kmsg_reader_oldest_seq(QgaKmsgReader *self)
{
	g_autoptr(QgaKmsgReader) probe = qga_kmsg_reader_open(self->dev_dir, NULL);
	g_autoptr(KmsgRecord) record = NULL;

	if (probe == NULL)
		return -1;
	record = qga_kmsg_reader_read(probe, NULL);
	return record != NULL ? (gint64)record->seq : -1;
}

/* ---- the export ---- */

void
qga_kmsg_query_init(QgaKmsgQuery *self)
{
	self->since_seq = -1;
	self->follow = FALSE;
	kmsg_record_filter_init(&self->filter);
	self->filter.max_bytes = QGA_KMSG_MAX_BYTES_DEFAULT;
	self->filter.max_records = QGA_KMSG_MAX_RECORDS_DEFAULT;
}

static const gchar *
qga_kmsg_source_name(QgaKmsgSource source)
{
	return source == QGA_KMSG_SOURCE_KLOGCTL ? "klogctl" : "kmsg";
}

/* one export's books: the records go to @reply, the seq numbers here */
typedef struct {
	QgaKmsgReader *reader;
	const QgaKmsgQuery *query;
	KmsgRecordReply *reply;
	gboolean have_first;
	guint64 first_seq;
	/* the last seq accounted for, and the one the next record should have */
	gint64 cursor;
	gint64 expected;
	guint64 missed;
} QgaKmsgExport;

static void
qga_kmsg_export_init(QgaKmsgExport *self, QgaKmsgReader *reader, const QgaKmsgQuery *query)
{
	self->reader = reader;
	self->query = query;
	self->reply = kmsg_record_reply_new(&query->filter);
	self->cursor = query->since_seq;
	self->expected = query->follow ? query->since_seq + 1 : -1;
	/* resumed where an earlier reply stopped: its first record is not the
	 * oldest one */
	if (reader->last_seq >= 0) {
		gint64 oldest = qga_kmsg_reader_oldest_seq(reader);

		if (oldest >= 0) {
			self->first_seq = (guint64)oldest;
			self->have_first = TRUE;
		}
	}
}

static void
qga_kmsg_export_clear(QgaKmsgExport *self)
{
	g_clear_pointer(&self->reply, kmsg_record_reply_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(QgaKmsgExport, qga_kmsg_export_clear)

/* accounts for one record, read in order; FALSE: the reply is full, and
 * @record goes back to the reader for the next export */
static gboolean
qga_kmsg_export_record(QgaKmsgExport *self, KmsgRecord **record)
{
	gint64 seq = (gint64)(*record)->seq;

	if (!self->have_first) {
		self->first_seq = (*record)->seq;
		self->have_first = TRUE;
	}
	if (seq <= self->query->since_seq)
		return TRUE;
	/* overwritten before we got there: before since-seq's successor, or
	 * under us (EPIPE) */
	if (self->expected >= 0 && seq > self->expected)
		self->missed += seq - self->expected;
	self->expected = seq + 1;
	if (!kmsg_record_reply_add(self->reply, record)) {
		/* a gap just counted lies before this record: it stays
		 * accounted for by this reply */
		self->cursor = seq - 1;
		qga_kmsg_reader_unread(self->reader, g_steal_pointer(record));
		return FALSE;
	}
	/* returned, kept by the tail, or filtered out by level */
	self->cursor = seq;
	return TRUE;
}

/* reads to the end of the reader, or until the reply is full */
static gboolean
qga_kmsg_export_read(QgaKmsgExport *self, GError **error)
{
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(KmsgRecord) record = qga_kmsg_reader_next(self->reader, &error_local);

		if (record == NULL) {
			if (error_local != NULL) {
				g_propagate_error(error, g_steal_pointer(&error_local));
				return FALSE;
			}
			return TRUE;
		}
		if (!qga_kmsg_export_record(self, &record))
			return TRUE;
	}
}

static gchar *
qga_kmsg_export_finish(QgaKmsgExport *self, const gchar *boot_id)
{
	QgaKmsgReader *reader = self->reader;
	KmsgRecordEnvelope envelope = {
		.source = qga_kmsg_source_name(reader->source),
		.seq_synthesized = reader->source == QGA_KMSG_SOURCE_KLOGCTL,
		.first_seq = self->have_first ? self->first_seq : (guint64)MAX(self->cursor + 1, 0),
		.next_seq = self->cursor,
		.missed = self->missed,
		.boot_id = boot_id,
	};

	if (reader->overruns > 0 || reader->malformed > 0)
		g_debug("kernel log: %u overrun(s) while reading, %u malformed record(s) skipped",
			reader->overruns, reader->malformed);
	return kmsg_record_reply_finish(self->reply, &envelope);
}

gchar *
qga_kmsg_export(QgaKmsgReader *reader, const QgaKmsgQuery *query, const gchar *boot_id,
		GError **error)
{
	g_auto(QgaKmsgExport) export = {0};

	g_return_val_if_fail(reader != NULL, NULL);
	g_return_val_if_fail(query != NULL, NULL);

	qga_kmsg_export_init(&export, reader, query);
	if (!qga_kmsg_export_read(&export, error))
		return NULL;
	return qga_kmsg_export_finish(&export, boot_id);
}
