/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "kmsg-record.h"
#include "qga-json.h"

void
kmsg_record_free(KmsgRecord *self)
{
	if (self == NULL)
		return;
	g_free(self->message);
	g_strfreev(self->dict);
	g_free(self);
}

/* ---- escaping ---- */

static gboolean
kmsg_record_is_plain(guchar c, gboolean escape_backslash)
{
	return c >= 0x20 && c < 0x7f && !(escape_backslash && c == '\\');
}

void
kmsg_record_escape_append(GString *out, const gchar *data, gsize len, gboolean escape_backslash)
{
	static const gchar hex[] = "0123456789abcdef";
	gsize i = 0;

	while (i < len) {
		gsize run = i;
		guchar c;

		while (run < len && kmsg_record_is_plain((guchar)data[run], escape_backslash))
			run++;
		g_string_append_len(out, data + i, run - i);
		if (run == len)
			break;
		/* as the kernel's msg_add_ext_text() */
		c = (guchar)data[run];
		g_string_append_c(out, '\\');
		g_string_append_c(out, 'x');
		g_string_append_c(out, hex[c >> 4]);
		g_string_append_c(out, hex[c & 0xf]);
		i = run + 1;
	}
}

gchar *
kmsg_record_escape(const gchar *data, gsize len, gboolean escape_backslash)
{
	GString *out = g_string_sized_new(len + 1);

	kmsg_record_escape_append(out, data, len, escape_backslash);
	return g_string_free(out, FALSE);
}

/* ---- JSON text ---- */

/* written straight as text: a json-glib tree of a whole ring (thousands of
 * records) was most of guest-dmesg's time (bench/) */
void
kmsg_record_append_json(const KmsgRecord *self, GString *out)
{
	guint n = 0;

	g_string_append_printf(out,
			       "{\"seq\":%" G_GUINT64_FORMAT ",\"ts-us\":%" G_GUINT64_FORMAT
			       ",\"level\":%u,\"facility\":%u,\"message\":",
			       self->seq, self->ts_usec, self->level, self->facility);
	qga_json_append_string(out, self->message, -1);
	if (self->continuation)
		g_string_append(out, ",\"continuation\":true");
	if (self->dict != NULL && self->dict[0] != NULL) {
		/* its keys are unique: the readers keep the first of each */
		g_string_append(out, ",\"dictionary\":{");
		for (guint i = 0; self->dict[i] != NULL; i++) {
			const gchar *eq = strchr(self->dict[i], '=');

			if (eq == NULL)
				continue;
			if (n++ > 0)
				g_string_append_c(out, ',');
			qga_json_append_string(out, self->dict[i], eq - self->dict[i]);
			g_string_append_c(out, ':');
			qga_json_append_string(out, eq + 1, -1);
		}
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, '}');
}

gchar *
kmsg_record_to_json(const KmsgRecord *self)
{
	GString *out = g_string_new(NULL);

	kmsg_record_append_json(self, out);
	return g_string_free(out, FALSE);
}

/* a JSON string's size as qga_json_append_string() writes it: exact for
 * escaped text, which is all printable ASCII, at most that otherwise */
static gsize
kmsg_record_json_string_size(const gchar *s, gsize len)
{
	gsize size = 2;

	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)s[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
		    c == '\t')
			size += 2;
		else if (c < 0x20 || c >= 0x7f)
			size += 6; /* \u00XX; at most that much per byte of UTF-8 too */
		else
			size += 1;
	}
	return size;
}

static gsize
kmsg_record_json_uint_size(guint64 v)
{
	gsize size = 1;

	while (v >= 10) {
		v /= 10;
		size++;
	}
	return size;
}

gsize
kmsg_record_json_size(const KmsgRecord *self)
{
	gsize size = strlen("{\"seq\":,\"ts-us\":,\"level\":,\"facility\":,\"message\":}");

	size += kmsg_record_json_uint_size(self->seq) + kmsg_record_json_uint_size(self->ts_usec) +
		kmsg_record_json_uint_size(self->level) +
		kmsg_record_json_uint_size(self->facility);
	size += kmsg_record_json_string_size(self->message, strlen(self->message));
	if (self->continuation)
		size += strlen(",\"continuation\":true");
	if (self->dict != NULL && self->dict[0] != NULL) {
		guint n = 0;

		size += strlen(",\"dictionary\":{}");
		for (guint i = 0; self->dict[i] != NULL; i++) {
			const gchar *eq = strchr(self->dict[i], '=');

			if (eq == NULL)
				continue;
			/* "KEY":"value", the first without a comma */
			size += (n++ > 0 ? 1 : 0) +
				kmsg_record_json_string_size(self->dict[i], eq - self->dict[i]) +
				1 + kmsg_record_json_string_size(eq + 1, strlen(eq + 1));
		}
	}
	return size;
}

/* ---- the reply ---- */

void
kmsg_record_filter_init(KmsgRecordFilter *self)
{
	g_return_if_fail(self != NULL);

	self->level = 7;
	self->tail = -1;
	self->max_bytes = G_MAXSIZE;
	self->max_records = G_MAXUINT;
}

struct _KmsgRecordReply {
	KmsgRecordFilter filter;
	GString *records; /* their JSON text, comma-separated */
	gsize budget;	  /* for @records */
	gsize used;
	guint n;
	/* a tail: the newest records that passed, at most ring_max of them */
	GQueue ring;
	guint ring_max;
	gint64 last_seq;
	gboolean truncated;
};

KmsgRecordReply *
kmsg_record_reply_new(const KmsgRecordFilter *filter)
{
	KmsgRecordReply *self;
	/* the reply without records, then "[" "]" */
	gsize bytes = KMSG_RECORD_REPLY_OVERHEAD + 2;

	g_return_val_if_fail(filter != NULL, NULL);

	self = g_new0(KmsgRecordReply, 1);
	self->filter = *filter;
	self->records = g_string_sized_new(MIN(filter->max_bytes, 64 * 1024));
	self->budget = filter->max_bytes > bytes ? filter->max_bytes - bytes : 0;
	self->ring_max =
		filter->tail >= 0 ? (guint)MIN((guint64)filter->tail, filter->max_records) : 0;
	self->last_seq = -1;
	return self;
}

void
kmsg_record_reply_free(KmsgRecordReply *self)
{
	if (self == NULL)
		return;
	g_queue_clear_full(&self->ring, (GDestroyNotify)kmsg_record_free);
	g_string_free(self->records, TRUE);
	g_free(self);
}

/* a tail keeps the newest ring_max: fewer than asked is a truncation */
static void
kmsg_record_reply_keep(KmsgRecordReply *self, KmsgRecord **record)
{
	if (self->ring_max == 0) {
		self->truncated |= self->ring_max < (guint64)self->filter.tail;
		return;
	}
	self->last_seq = (gint64)(*record)->seq;
	g_queue_push_tail(&self->ring, g_steal_pointer(record));
	if (self->ring.length > self->ring_max) {
		kmsg_record_free(g_queue_pop_head(&self->ring));
		self->truncated |= self->ring_max < (guint64)self->filter.tail;
	}
}

gboolean
kmsg_record_reply_add(KmsgRecordReply *self, KmsgRecord **record)
{
	gsize size;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(record != NULL && *record != NULL, FALSE);

	if ((*record)->level > self->filter.level)
		return TRUE;
	if (self->filter.tail >= 0) {
		kmsg_record_reply_keep(self, record);
		return TRUE;
	}
	size = kmsg_record_json_size(*record) + (self->n > 0 ? 1 : 0);
	/* a record always fits an empty reply (the agent's max-bytes has a
	 * floor above the largest one): a cursor must move */
	if (self->n >= self->filter.max_records ||
	    (self->used + size > self->budget && self->n > 0)) {
		self->truncated = TRUE;
		return FALSE;
	}
	if (self->n > 0)
		g_string_append_c(self->records, ',');
	kmsg_record_append_json(*record, self->records);
	self->used += size;
	self->n++;
	self->last_seq = (gint64)(*record)->seq;
	return TRUE;
}

gint64
kmsg_record_reply_get_last_seq(KmsgRecordReply *self)
{
	g_return_val_if_fail(self != NULL, -1);

	return self->last_seq;
}

/* the last records of the ring that fit the budget, oldest first */
static void
kmsg_record_reply_write_tail(KmsgRecordReply *self)
{
	GList *first = NULL;
	gsize bytes = 0;
	guint n = 0;

	for (GList *l = self->ring.tail; l != NULL; l = l->prev) {
		gsize size = kmsg_record_json_size(l->data) + (n > 0 ? 1 : 0);

		if (bytes + size > self->budget && n > 0) {
			self->truncated = TRUE;
			break;
		}
		bytes += size;
		n++;
		first = l;
	}
	for (GList *l = first; l != NULL; l = l->next) {
		if (l != first)
			g_string_append_c(self->records, ',');
		kmsg_record_append_json(l->data, self->records);
	}
	g_queue_clear_full(&self->ring, (GDestroyNotify)kmsg_record_free);
}

gchar *
kmsg_record_reply_finish(KmsgRecordReply *self, const KmsgRecordEnvelope *envelope)
{
	GString *result;

	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(envelope != NULL && envelope->source != NULL, NULL);

	kmsg_record_reply_write_tail(self);
	result = g_string_sized_new(self->records->len + KMSG_RECORD_REPLY_OVERHEAD);
	g_string_append(result, "{\"source\":");
	qga_json_append_string(result, envelope->source, -1);
	g_string_append(result, ",\"encoding\":");
	qga_json_append_string(result, KMSG_RECORD_ENCODING, -1);
	g_string_append_printf(result,
			       ",\"seq-synthesized\":%s,\"first-seq\":%" G_GUINT64_FORMAT
			       ",\"next-seq\":%" G_GINT64_FORMAT ",\"missed\":%" G_GUINT64_FORMAT
			       ",\"truncated\":%s,\"records\":[",
			       envelope->seq_synthesized ? "true" : "false", envelope->first_seq,
			       envelope->next_seq, envelope->missed,
			       self->truncated ? "true" : "false");
	g_string_append_len(result, self->records->str, self->records->len);
	g_string_append_c(result, ']');
	if (envelope->boot_id != NULL) {
		g_string_append(result, ",\"boot-id\":");
		qga_json_append_string(result, envelope->boot_id, -1);
	}
	g_string_append_c(result, '}');
	return g_string_free(result, FALSE);
}
