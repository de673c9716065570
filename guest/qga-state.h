/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The freeze state. The marker file lives in the state directory, which
 * must be on tmpfs (/run): the kernel keeps filesystems frozen when the
 * freezing process dies, so the next agent needs to know. */
typedef struct _QgaState QgaState;

typedef void (*QgaStateNotify)(gboolean frozen, gpointer user_data);

QgaState *qga_state_new(const gchar *statedir);
void qga_state_free(QgaState *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaState, qga_state_free)

gboolean qga_state_is_frozen(QgaState *self);

/**
 * qga_state_set_frozen:
 * @mountpoints: (nullable): recorded in the marker, for the operator
 * Going frozen writes the marker before anything is frozen; going thawed
 * removes it after everything is thawed. Listeners hear of the change.
 */
gboolean qga_state_set_frozen(QgaState *self, gboolean frozen, gchar **mountpoints, GError **error);

/* a marker left by an agent that died frozen */
gboolean qga_state_has_marker(QgaState *self);
const gchar *qga_state_get_marker_path(QgaState *self);

void qga_state_add_notify(QgaState *self, QgaStateNotify func, gpointer user_data);

G_END_DECLS
