/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "kmsg-record.h"

G_BEGIN_DECLS

/* the largest record read from /dev/kmsg: twice the kernel's
 * CONSOLE_EXT_LOG_MAX (8 KiB), which bounds one record's header, text and
 * dictionary together */
#define QGA_KMSG_RECORD_MAX (16 * 1024)

#define QGA_KMSG_MAX_BYTES_DEFAULT (1024 * 1024)
/* with the record bound and KMSG_RECORD_REPLY_OVERHEAD, max-bytes can
 * always carry any single record */
#define QGA_KMSG_MAX_BYTES_MIN (64 * 1024)
/* well below libvirt's 10 MiB limit on an agent reply */
#define QGA_KMSG_MAX_BYTES_MAX	     (8 * 1024 * 1024)
#define QGA_KMSG_MAX_RECORDS_DEFAULT 10000
#define QGA_KMSG_MAX_RECORDS_MAX     1000000

typedef enum {
	QGA_KMSG_SOURCE_KMSG,	 /* /dev/kmsg: the kernel's own seq numbers */
	QGA_KMSG_SOURCE_KLOGCTL, /* syslog(2) READ_ALL: seq are line numbers */
} QgaKmsgSource;

/* ---- records: pure parsing, no I/O ---- */

/**
 * qga_kmsg_record_parse:
 * Parses one /dev/kmsg record, as one read(2) returns it:
 * "prio,seq,ts_usec,flags[,more];message\n" then " KEY=value\n" lines.
 * Returns: (transfer full): the record, or NULL with a G_IO_ERROR_INVALID_DATA
 * error for anything malformed or longer than QGA_KMSG_RECORD_MAX
 */
KmsgRecord *qga_kmsg_record_parse(const gchar *data, gsize len, GError **error);

/* the length of the first record of a stream of concatenated records (what
 * `cat /dev/kmsg` prints): its header line and the dictionary lines, which
 * start with a space, after it */
gsize qga_kmsg_record_split(const gchar *data, gsize len);

/**
 * qga_kmsg_syslog_line_parse:
 * @seq: the synthesized sequence number
 * Parses one line of syslog(2)'s READ_ALL text: "<prio>[ssss.uuuuuu] text",
 * the timestamp (and a CONFIG_PRINTK_CALLER "[T123]") being optional.
 * Returns: (transfer full): the record, or NULL with G_IO_ERROR_INVALID_DATA
 */
KmsgRecord *qga_kmsg_syslog_line_parse(const gchar *line, gsize len, guint64 seq, GError **error);

/* ---- readers: where records come from ---- */

typedef struct _QgaKmsgReader QgaKmsgReader;

/* as read(2): a byte count, 0 at the end, or -1 with errno */
typedef gssize (*QgaKmsgReadFunc)(gpointer user_data, gchar *buf, gsize len);

/**
 * qga_kmsg_reader_open:
 * @dev_dir: where "kmsg" is, "/dev" outside tests
 *
 * Opens @dev_dir/kmsg non-blocking, on a descriptor of its own, at the
 * oldest record. A regular file (a test fixture) is read as the records
 * `cat /dev/kmsg` prints.
 * Returns: (transfer full): the reader, or NULL with a G_IO_ERROR from errno
 */
QgaKmsgReader *qga_kmsg_reader_open(const gchar *dev_dir, GError **error);

/**
 * qga_kmsg_reader_open_klogctl:
 * Reads the whole buffer with klogctl(SYSLOG_ACTION_READ_ALL) at once.
 * Returns: (transfer full): the reader, or NULL with a G_IO_ERROR
 */
QgaKmsgReader *qga_kmsg_reader_open_klogctl(GError **error);

/* Returns: (transfer full): a reader of syslog(2) text, as klogctl's */
QgaKmsgReader *qga_kmsg_reader_new_syslog(const gchar *text, gsize len);

/* Returns: (transfer full): a reader calling @func as /dev/kmsg's read(2),
 * one record a call; for tests that script EPIPE and EAGAIN */
QgaKmsgReader *qga_kmsg_reader_new_func(QgaKmsgReadFunc func, gpointer user_data);

void qga_kmsg_reader_free(QgaKmsgReader *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaKmsgReader, qga_kmsg_reader_free)

QgaKmsgSource qga_kmsg_reader_get_source(QgaKmsgReader *self);

/**
 * qga_kmsg_reader_next:
 * The next record. EAGAIN is the end; EPIPE (records overwritten under the
 * reader) and malformed records are skipped and counted: the gap shows in
 * the sequence numbers.
 * Returns: (transfer full) (nullable): the record; NULL at the end, or with
 * @error for a read error
 */
KmsgRecord *qga_kmsg_reader_next(QgaKmsgReader *self, GError **error);

/**
 * qga_kmsg_reader_can_resume:
 * Whether @self, a /dev/kmsg reader an export has used, still holds every
 * record after @since_seq, so that exporting from it again equals exporting
 * from a new reader (whose first record is the oldest; an export learns that
 * one's seq with a descriptor of its own).
 */
gboolean qga_kmsg_reader_can_resume(QgaKmsgReader *self, gint64 since_seq);

/* EPIPE returns and malformed records skipped so far */
guint qga_kmsg_reader_get_overruns(QgaKmsgReader *self);
guint qga_kmsg_reader_get_malformed(QgaKmsgReader *self);

/* ---- the export: what guest-dmesg returns ---- */

typedef struct {
	gint64 since_seq;	 /* only records after it; -1: from the oldest */
	gboolean follow;	 /* since_seq was given: report what was missed */
	KmsgRecordFilter filter; /* max_bytes: the reply's encoded size, without its "id" */
} QgaKmsgQuery;

/* every record, the default bounds */
void qga_kmsg_query_init(QgaKmsgQuery *self);

/**
 * qga_kmsg_export:
 * @boot_id: (nullable): the "boot-id" member
 * Reads @reader to its end (or until the reply is full, leaving the first
 * record that did not fit unread) and writes
 * {"source", "encoding", "seq-synthesized", "first-seq", "next-seq",
 * "missed", "truncated", "records", "boot-id"} as JSON text, 7-bit ASCII,
 * without a json-glib tree. "next-seq" is the cursor: the seq of
 * the last record this reply accounts for (returned, or filtered out by
 * level), so a caller that passes it as the next since_seq gets every record
 * exactly once; "missed" counts those in between that the kernel overwrote
 * before they could be read. Without truncation, next-seq is the newest
 * record's seq. For a reply without tail:
 *   records + filtered + missed == next-seq - since_seq
 * Returns: (transfer full): the reply's "return" text, or NULL with @error
 */
gchar *qga_kmsg_export(QgaKmsgReader *reader, const QgaKmsgQuery *query, const gchar *boot_id,
		       GError **error);

G_END_DECLS
