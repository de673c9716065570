/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Where trace sessions are stored in the guest, and the index beside them:
 * what the host reads through stock qemu-ga's guest-file-* when no
 * qgatrace-agent serves the sessions. qgatrace-fsfreeze-hook writes the
 * index each time it stores a session (docs/protocol.md, "The session
 * index"): {"version": 1, "sessions": [{"session": ID, "file": "ID.json"}]},
 * newest first.
 */

/* the hook's default session directory (the [trace] plugin-dir) */
#define QGA_SESSION_DIR	       "/run/qgatrace/sessions"
#define QGA_SESSION_INDEX_NAME "index.json"
#define QGA_SESSION_INDEX_PATH QGA_SESSION_DIR "/" QGA_SESSION_INDEX_NAME

/* a session file is a few KB: anything far larger is not one of ours */
#define QGA_SESSION_FILE_MAX (16 * 1024 * 1024)
/* an index lists at most this many sessions, in at most this many bytes */
#define QGA_SESSION_INDEX_ENTRIES_MAX 1024
#define QGA_SESSION_INDEX_MAX	      (256 * 1024)

/* letters, digits, '.', '_' and '-', not starting with '.', at most 128,
 * and not "index" (the index's own file name): safe as a file name */
gboolean qga_session_id_is_valid(const gchar *id);

/**
 * qga_session_index_to_text:
 * @ids: the sessions' ids, newest first, each valid; at most
 *   QGA_SESSION_INDEX_ENTRIES_MAX are listed
 * Returns: (transfer full): the index's JSON text
 */
gchar *qga_session_index_to_text(const gchar *const *ids, guint n_ids);

/**
 * qga_session_index_parse:
 * @text: (array length=len): an index, from a guest: hostile
 * Every entry must have a valid id and name the file "ID.json"; the
 * first QGA_SESSION_INDEX_ENTRIES_MAX count.
 * Returns: (transfer full): the ids, newest first (NULL-terminated), or
 * NULL with G_IO_ERROR_INVALID_DATA
 */
GStrv qga_session_index_parse(const gchar *text, gsize len, GError **error);

G_END_DECLS
