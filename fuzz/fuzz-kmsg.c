/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-support.h"
#include "qga-json.h"
#include "qga-kmsg.h"

/*
 * The kernel log parsers (guest/qga-kmsg.c) and the reply writer
 * (common/kmsg-record.c): the input, after 5 bytes of
 * query (since-seq, level, tail, max-records, follow), is read as one
 * /dev/kmsg record, as one syslog(2) line, as a stream of /dev/kmsg
 * records (a record starting with 0x01 stands for an EPIPE read) and as
 * syslog(2) text; each stream goes through qga_kmsg_export().
 * What must hold: messages and dictionaries are printable ASCII;
 * the JSON text written for a record and for an export decodes, is what
 * json-glib would write for the same values, and kmsg_record_json_size()
 * is the record's exact size; an export stays within max-bytes and
 * max-records, and its cursor never goes back before since-seq.
 */

typedef struct {
	const gchar *data;
	gsize len;
	gsize pos;
} FuzzKmsgStream;

/* /dev/kmsg's read(2): one record a call, EAGAIN at the end */
static gssize
fuzz_kmsg_read(gpointer user_data, gchar *buf, gsize len)
{
	FuzzKmsgStream *stream = user_data;
	gsize n;

	if (stream->pos >= stream->len) {
		errno = EAGAIN;
		return -1;
	}
	n = qga_kmsg_record_split(stream->data + stream->pos, stream->len - stream->pos);
	if (n == 0 || n > stream->len - stream->pos)
		abort(); /* a split that does not move on, or past the end */
	if (stream->data[stream->pos] == 0x01) {
		stream->pos += n;
		errno = EPIPE;
		return -1;
	}
	if (n > len) {
		stream->pos += n;
		errno = EINVAL; /* the kernel's answer to a short buffer */
		return -1;
	}
	memcpy(buf, stream->data + stream->pos, n);
	stream->pos += n;
	return (gssize)n;
}

/* @text as the host decodes it: one JSON object, which json-glib and the
 * reply encoder write as the very same text */
static JsonNode *
fuzz_kmsg_decode(const gchar *text)
{
	g_autofree gchar *line = g_strconcat(text, "\n", NULL);
	JsonNode *node = fuzz_support_decode_line(line, strlen(line));
	g_autofree gchar *again = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(node))
		abort();
	again = qga_json_to_ascii(node);
	if (strcmp(again, text) != 0) {
		g_printerr("written '%s', json-glib writes '%s'\n", text, again);
		abort();
	}
	return node;
}

static void
fuzz_kmsg_check_record(KmsgRecord *record)
{
	g_autofree gchar *text = NULL;
	g_autoptr(JsonNode) node = NULL;

	if (record == NULL)
		return;
	fuzz_support_assert_printable(record->message);
	for (guint i = 0; record->dict != NULL && record->dict[i] != NULL; i++)
		fuzz_support_assert_printable(record->dict[i]);
	if (record->level > 7)
		abort();
	text = kmsg_record_to_json(record);
	node = fuzz_kmsg_decode(text);
	if (kmsg_record_json_size(record) != strlen(text)) {
		g_printerr("record size %" G_GSIZE_FORMAT ", written %" G_GSIZE_FORMAT "\n",
			   kmsg_record_json_size(record), strlen(text));
		abort();
	}
}

static void
fuzz_kmsg_check_export(QgaKmsgReader *reader, const QgaKmsgQuery *query)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = qga_kmsg_export(reader, query, "boot", &error);
	g_autoptr(JsonNode) node = NULL;
	JsonObject *reply;
	JsonArray *records;

	if (text == NULL) {
		if (error == NULL)
			abort();
		return;
	}
	node = fuzz_kmsg_decode(text);
	reply = json_node_get_object(node);
	records = json_object_get_array_member(reply, "records");
	/* max-bytes bounds the reply but for its "id" */
	if (strlen(text) > query->filter.max_bytes ||
	    json_array_get_length(records) > query->filter.max_records ||
	    (query->filter.tail >= 0 &&
	     json_array_get_length(records) > (guint64)query->filter.tail) ||
	    json_object_get_int_member(reply, "next-seq") < query->since_seq ||
	    json_object_get_int_member(reply, "missed") < 0)
		abort();
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonObject *record = json_array_get_object_element(records, i);

		if (json_object_get_int_member(record, "seq") <= query->since_seq ||
		    json_object_get_int_member(record, "level") > query->filter.level)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	QgaKmsgQuery query;
	guint8 since = fuzz_input_byte(&in);
	guint8 level = fuzz_input_byte(&in);
	guint8 tail = fuzz_input_byte(&in);
	guint8 max_records = fuzz_input_byte(&in);
	gboolean follow = fuzz_input_byte(&in) & 1;
	const gchar *text = (const gchar *)in.data;
	FuzzKmsgStream stream = {text, in.len, 0};
	g_autoptr(QgaKmsgReader) kmsg = NULL;
	g_autoptr(QgaKmsgReader) syslog = NULL;
	g_autoptr(KmsgRecord) record = NULL;
	g_autoptr(KmsgRecord) line = NULL;

	record = qga_kmsg_record_parse(text, in.len, NULL);
	fuzz_kmsg_check_record(record);
	line = qga_kmsg_syslog_line_parse(text, in.len, 1, NULL);
	fuzz_kmsg_check_record(line);

	/* the bounds guest-dmesg accepts (guest/qga-cmd-dmesg.c), the smallest reply */
	qga_kmsg_query_init(&query);
	query.since_seq = since == 0xff ? -1 : since;
	query.follow = follow && query.since_seq >= 0;
	query.filter.level = level % 8;
	query.filter.tail = tail == 0xff ? -1 : tail;
	query.filter.max_records = max_records;
	query.filter.max_bytes = QGA_KMSG_MAX_BYTES_MIN;
	kmsg = qga_kmsg_reader_new_func(fuzz_kmsg_read, &stream);
	fuzz_kmsg_check_export(kmsg, &query);
	syslog = qga_kmsg_reader_new_syslog(text, in.len);
	fuzz_kmsg_check_export(syslog, &query);
	return 0;
}
