/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "qga-config.h"
#include "qga-kmsg.h"
#include "qga-state.h"
#include "qga-trace.h"

G_BEGIN_DECLS

/* where the host's view of the system is read from; tests point these at
 * fixture trees */
typedef struct {
	gchar *proc;
	gchar *sys;
	gchar *dev; /* kmsg */
	gchar *root;
} QgaPaths;

QgaPaths *qga_paths_new(const gchar *root);
void qga_paths_free(QgaPaths *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaPaths, qga_paths_free)

/* what every command handler may use */
struct _QgaContext {
	QgaConfig *config;     /* (not owned) */
	QgaState *state;       /* (not owned) */
	QgaPaths *paths;       /* (not owned) */
	guint freeze_watchdog; /* the auto-thaw timer while frozen */
	/* (nullable) (owned): what the last freeze froze, thawed first */
	GPtrArray *frozen;
	QgaTrace *trace; /* (nullable): the traced freeze/thaw sessions */
	/* (nullable) (owned): guest-dmesg's reader, left where the last reply
	 * stopped for the caller's next since-seq */
	QgaKmsgReader *kmsg_reader;
};

G_END_DECLS
