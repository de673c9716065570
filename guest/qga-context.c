/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-context.h"

QgaPaths *
qga_paths_new(const gchar *root)
{
	QgaPaths *self = g_new0(QgaPaths, 1);

	self->proc = g_build_filename(root, "proc", NULL);
	self->sys = g_build_filename(root, "sys", NULL);
	self->dev = g_build_filename(root, "dev", NULL);
	self->root = g_strdup(root);
	return self;
}

void
qga_paths_free(QgaPaths *self)
{
	if (self == NULL)
		return;
	g_free(self->proc);
	g_free(self->sys);
	g_free(self->dev);
	g_free(self->root);
	g_free(self);
}
