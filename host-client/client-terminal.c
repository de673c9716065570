/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-output.h"
#include "client-terminal.h"

static void
client_terminal_append_hex(GString *out, const gchar *bytes, gsize len)
{
	for (gsize i = 0; i < len; i++)
		g_string_append_printf(out, "\\x%02x", (guchar)bytes[i]);
}

/* the character at @p: its length (1 for a byte that starts none), and
 * whether it may go to the terminal as it is */
static gsize
client_terminal_next(const gchar *p, const gchar *end, gboolean utf8, gboolean *printable)
{
	guchar c = (guchar)*p;
	gunichar cp;

	*printable = FALSE;
	if (c < 0x80) {
		*printable = (c >= 0x20 && c < 0x7f) || c == '\t';
		return 1;
	}
	/* to a terminal in a legacy charset, 0x80-0x9f are C1 controls
	 * wherever they are, within a UTF-8 character too */
	if (!utf8)
		return 1;
	/* overlong forms, surrogates and truncated characters are invalid */
	cp = g_utf8_get_char_validated(p, end - p);
	if (cp == (gunichar)-1 || cp == (gunichar)-2)
		return 1;
	/* as dmesg(1), which writes a character iswprint() refuses byte by
	 * byte: C1 controls, and format characters that reorder the line */
	*printable = g_unichar_isprint(cp);
	return (gsize)(g_utf8_next_char(p) - p);
}

void
client_terminal_append(GString *out, const gchar *text, gssize len)
{
	gboolean utf8 = client_output_utf8();
	const gchar *p = text;
	const gchar *run = text;
	const gchar *end;

	if (text == NULL)
		return;
	end = text + (len < 0 ? strlen(text) : (gsize)len);
	while (p < end) {
		gboolean printable;
		gsize n = client_terminal_next(p, end, utf8, &printable);

		if (!printable) {
			g_string_append_len(out, run, p - run);
			client_terminal_append_hex(out, p, n);
			run = p + n;
		}
		p += n;
	}
	g_string_append_len(out, run, p - run);
}

gchar *
client_terminal_escape(const gchar *text)
{
	GString *out;

	if (text == NULL)
		return NULL;
	out = g_string_sized_new(strlen(text));
	client_terminal_append(out, text, -1);
	return g_string_free(out, FALSE);
}
