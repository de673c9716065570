/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "fuzz-support.h"
#include "qga-codec.h"

static GLogWriterOutput
fuzz_support_log_cb(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
		    gpointer user_data)
{
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		g_log_writer_standard_streams(level, fields, n_fields, user_data);
		abort();
	}
	return G_LOG_WRITER_HANDLED;
}

/* before LLVMFuzzerInitialize() and any input: every target links this
 * file for fuzz_input_*() */
__attribute__((constructor)) static void
fuzz_support_init(void)
{
	g_log_set_writer_func(fuzz_support_log_cb, NULL, NULL);
}

guint8
fuzz_input_byte(FuzzInput *in)
{
	guint8 c;

	if (in->len == 0)
		return 0;
	c = in->data[0];
	in->data++;
	in->len--;
	return c;
}

guint64
fuzz_input_uint(FuzzInput *in, guint n)
{
	guint64 value = 0;

	for (guint i = 0; i < n && i < sizeof(value); i++)
		value |= (guint64)fuzz_input_byte(in) << (8 * i);
	return value;
}

const guint8 *
fuzz_input_take(FuzzInput *in, gsize n, gsize *len)
{
	const guint8 *data = in->data;

	*len = MIN(n, in->len);
	in->data += *len;
	in->len -= *len;
	return data;
}

void
fuzz_support_assert_printable(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p > 0x7e) {
			g_printerr("not printable ASCII: 0x%02x in '%s'\n", (guchar)*p, text);
			abort();
		}
	}
}

JsonNode *
fuzz_support_decode_line(const gchar *line, gsize len)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(GError) error = NULL;
	JsonNode *value = NULL;
	gsize start = len > 0 && (guint8)line[0] == QGA_SYNC_DELIMITER ? 1 : 0;

	if (len == 0 || line[len - 1] != '\n')
		abort();
	for (gsize i = start; i < len; i++) {
		if ((guchar)line[i] >= 0x80)
			abort();
	}
	qga_decoder_feed(decoder, (const guint8 *)line + start, len - start);
	if (!qga_decoder_pop(decoder, &value, &error)) {
		g_printerr("'%.*s' does not decode: %s\n", (gint)len, line,
			   error != NULL ? error->message : "nothing");
		abort();
	}
	if (qga_decoder_pop(decoder, NULL, NULL))
		abort(); /* two values in one line */
	return value;
}
