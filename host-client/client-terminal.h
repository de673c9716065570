/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What may reach the operator's terminal. Every string from the guest (an
 * agent's reply or error text, guest memory, a dump) is hostile: printed
 * raw, an escape sequence could retitle the window, clear the screen,
 * forge lines or colours. Each one printed for a person goes through
 * client_terminal_append(); --json goes through client_format_json(). */

/**
 * client_terminal_append:
 * @text: (nullable): the text; NULL appends nothing
 * @len: its bytes, or -1 for all of a NUL-terminated one
 *
 * Appends @text to @out as dmesg(1) shows the kernel's log: printable
 * characters as they are (valid UTF-8 included when the locale's charset
 * is UTF-8, else ASCII only), a tab as it is, and every other byte (C0
 * controls and the line breaks among them, DEL, C1 controls U+0080-U+009F,
 * other characters that are not printable such as U+202E, and invalid or
 * overlong UTF-8) as \xNN.
 */
void client_terminal_append(GString *out, const gchar *text, gssize len);

/* Returns: (transfer full) (nullable): @text as client_terminal_append()
 * writes it, NULL for NULL */
gchar *client_terminal_escape(const gchar *text);

G_END_DECLS
