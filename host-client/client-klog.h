/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A follower of a guest's kernel log through guest-dmesg's cursor
 * (docs/protocol.md): it counts records by level, each once. Seqs restart
 * at a guest's boot: a new boot-id restarts the cursor at the new boot's
 * oldest record and the counts go on, so a reboot neither loses nor counts a
 * record twice. Every reply is checked before anything is counted. */

#define CLIENT_KLOG_LEVELS 8

/* records asked for per call; the reply is bounded by max-bytes too */
#define CLIENT_KLOG_MAX_RECORDS 10000

typedef struct {
	gint64 next_seq; /* the since-seq of the next call; -1: from the oldest */
	gchar *boot_id;	 /* (nullable): the boot the cursor belongs to */
	guint64 counts[CLIENT_KLOG_LEVELS]; /* records per level, across boots */
	guint64 missed;			    /* records the kernel overwrote before they were read */
	guint64 boots;			    /* boot-id changes seen */
} ClientKlog;

ClientKlog *client_klog_new(void);
void client_klog_free(ClientKlog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientKlog, client_klog_free)

/* Returns: (transfer full): the arguments of the next guest-dmesg call:
 * from the cursor, records at @level or more urgent */
JsonObject *client_klog_next_args(ClientKlog *self, gint level);

/**
 * client_klog_apply:
 * Counts the records of a guest-dmesg reply to client_klog_next_args() and
 * moves the cursor.
 * @more: (out): call again: the reply was truncated, or a new boot restarted
 *   the cursor
 * Returns: FALSE with G_IO_ERROR_INVALID_DATA for a reply that is not what
 * the protocol says (nothing counted; a cursor that went backwards within a
 * boot is taken over, so the follower recovers without counting twice)
 */
gboolean client_klog_apply(ClientKlog *self, JsonNode *reply, gboolean *more, GError **error);

/* records at level <= @level (4: warnings and worse) */
guint64 client_klog_count_upto(const ClientKlog *self, gint level);

G_END_DECLS
