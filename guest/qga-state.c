/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "qga-state.h"

typedef struct {
	QgaStateNotify func;
	gpointer user_data;
} QgaStateListener;

struct _QgaState {
	gchar *marker_path;
	gboolean frozen;
	GArray *listeners; /* of QgaStateListener */
};

QgaState *
qga_state_new(const gchar *statedir)
{
	QgaState *self = g_new0(QgaState, 1);

	self->marker_path = g_build_filename(statedir, "qgatrace.frozen", NULL);
	self->listeners = g_array_new(FALSE, FALSE, sizeof(QgaStateListener));
	return self;
}

void
qga_state_free(QgaState *self)
{
	if (self == NULL)
		return;
	g_free(self->marker_path);
	g_array_unref(self->listeners);
	g_free(self);
}

gboolean
qga_state_is_frozen(QgaState *self)
{
	return self->frozen;
}

const gchar *
qga_state_get_marker_path(QgaState *self)
{
	return self->marker_path;
}

gboolean
qga_state_has_marker(QgaState *self)
{
	/* a stat, not a read: nothing that could update an atime */
	return g_file_test(self->marker_path, G_FILE_TEST_EXISTS);
}

void
qga_state_add_notify(QgaState *self, QgaStateNotify func, gpointer user_data)
{
	QgaStateListener listener = {func, user_data};

	g_array_append_val(self->listeners, listener);
}

static gboolean
qga_state_write_marker(QgaState *self, gchar **mountpoints, GError **error)
{
	g_autofree gchar *joined = NULL;
	g_autofree gchar *contents = NULL;

	joined = mountpoints != NULL ? g_strjoinv("\n", mountpoints) : g_strdup("");
	contents = g_strdup_printf("pid=%d\n%s\n", (gint)getpid(), joined);
	/* written before anything is frozen, so a marker cut short by a kill
	 * lists nothing frozen, and it is only read after the agent died, not
	 * after the machine did (nothing stays frozen over a reboot): neither a
	 * temporary file and rename nor an fsync is needed on the freeze path */
	if (!g_file_set_contents_full(self->marker_path, contents, -1, G_FILE_SET_CONTENTS_NONE,
				      0600, error)) {
		g_prefix_error(error, "writing the frozen marker: ");
		return FALSE;
	}
	return TRUE;
}

gboolean
qga_state_set_frozen(QgaState *self, gboolean frozen, gchar **mountpoints, GError **error)
{
	if (frozen) {
		if (!qga_state_write_marker(self, mountpoints, error))
			return FALSE;
	} else if (g_unlink(self->marker_path) < 0 && errno != ENOENT) {
		gint errsv = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
			    "removing the frozen marker '%s': %s", self->marker_path,
			    g_strerror(errsv));
		return FALSE;
	}
	if (self->frozen == frozen)
		return TRUE;
	self->frozen = frozen;
	for (guint i = 0; i < self->listeners->len; i++) {
		QgaStateListener *l = &g_array_index(self->listeners, QgaStateListener, i);
		l->func(frozen, l->user_data);
	}
	return TRUE;
}
