/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One kernel log record as guest-dmesg returns it, whoever read it: the
 * agent from /dev/kmsg or syslog(2), the host from guest memory. The
 * reply's JSON text is written here only, so both give the same bytes. */

/* the reply's "encoding": text is printable ASCII; every other byte, and
 * a backslash, is written \xNN, as the kernel writes /dev/kmsg */
#define KMSG_RECORD_ENCODING "kmsg-escaped"

/* what a reply's fixed members may take besides "records" */
#define KMSG_RECORD_REPLY_OVERHEAD 512

/* ---- records ---- */

typedef struct {
	guint64 seq;
	guint64 ts_usec;       /* CLOCK_MONOTONIC at printk time */
	guint level;	       /* prio & 7 */
	guint facility;	       /* prio >> 3: 0 kernel, 1 user (a /dev/kmsg write), ... */
	gboolean continuation; /* LOG_CONT: /dev/kmsg's flags 'c' (or '+' before Linux 4.9) */
	gchar *message;	       /* kmsg-escaped (KMSG_RECORD_ENCODING) */
	gchar **dict;	       /* (nullable): "KEY=value" lines (SUBSYSTEM, DEVICE), unique
				* keys, escaped the same */
} KmsgRecord;

void kmsg_record_free(KmsgRecord *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KmsgRecord, kmsg_record_free)

/**
 * kmsg_record_escape_append:
 * @escape_backslash: TRUE for raw text (klogctl, guest memory); /dev/kmsg
 *   text already comes escaped, and its backslashes start escapes
 *
 * Appends @len bytes of @data to @out in the kernel's /dev/kmsg convention:
 * bytes below 0x20 or above 0x7e become \xNN, so the result is printable
 * ASCII whatever the input (invalid UTF-8 included).
 */
void kmsg_record_escape_append(GString *out, const gchar *data, gsize len,
			       gboolean escape_backslash);

/* Returns: (transfer full): @data escaped as kmsg_record_escape_append() */
gchar *kmsg_record_escape(const gchar *data, gsize len, gboolean escape_backslash);

/* Appends the record as JSON text in the reply encoding (7-bit ASCII):
 * {"seq", "ts-us", "level", "facility", "message", "continuation" (only
 * when true), "dictionary" (only when present)}; written straight as text,
 * as json-glib would write it, without a tree */
void kmsg_record_append_json(const KmsgRecord *self, GString *out);

/* Returns: (transfer full): kmsg_record_append_json()'s text */
gchar *kmsg_record_to_json(const KmsgRecord *self);

/* the exact size of kmsg_record_to_json() for escaped text (any record
 * the readers made), never less for other text */
gsize kmsg_record_json_size(const KmsgRecord *self);

/* ---- the guest-dmesg reply ---- */

/* which records a reply carries, and its bounds */
typedef struct {
	guint level;	 /* records at this level or more urgent (a lower number) */
	gint64 tail;	 /* >= 0: only the last @tail of those; -1: from the start */
	gsize max_bytes; /* the reply's encoded size */
	guint max_records;
} KmsgRecordFilter;

/* every record, no bounds */
void kmsg_record_filter_init(KmsgRecordFilter *self);

typedef struct _KmsgRecordReply KmsgRecordReply;

/* Returns: (transfer full): an empty reply that takes records through
 * @filter (copied) */
KmsgRecordReply *kmsg_record_reply_new(const KmsgRecordFilter *filter);

void kmsg_record_reply_free(KmsgRecordReply *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KmsgRecordReply, kmsg_record_reply_free)

/**
 * kmsg_record_reply_add:
 * @record: (inout) (transfer full): the next record, oldest first; a tail
 *   takes it (and sets it to NULL), else it stays the caller's
 *
 * Writes @record into the reply unless the level filters it out; with a
 * tail, keeps it among the last ones. A record always fits an empty reply.
 * Returns: FALSE when it does not fit: the reply is full and truncated,
 * and @record is not in it
 */
gboolean kmsg_record_reply_add(KmsgRecordReply *self, KmsgRecord **record);

/* the seq of the newest record the reply carries (written or kept by the
 * tail), -1 for none */
gint64 kmsg_record_reply_get_last_seq(KmsgRecordReply *self);

/* the members around "records" */
typedef struct {
	const gchar *source;	  /* "kmsg", "klogctl", "memory" */
	gboolean seq_synthesized; /* seq are line or record numbers, not the kernel's */
	guint64 first_seq;	  /* the oldest record the buffer holds */
	gint64 next_seq;	  /* the cursor */
	guint64 missed;		  /* records overwritten before they could be read */
	const gchar *boot_id;	  /* (nullable) */
} KmsgRecordEnvelope;

/**
 * kmsg_record_reply_finish:
 * Writes the tail the reply kept, as many of the newest as fit, then the
 * reply: {"source", "encoding", "seq-synthesized", "first-seq", "next-seq",
 * "missed", "truncated", "records", "boot-id" (only when given)} as JSON
 * text, 7-bit ASCII. @self is spent: free it next.
 * Returns: (transfer full): the text
 */
gchar *kmsg_record_reply_finish(KmsgRecordReply *self, const KmsgRecordEnvelope *envelope);

G_END_DECLS
