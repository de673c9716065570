/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "trace-fixture.h"

JsonNode *
trace_fixture_load_json(const gchar *path)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!json_parser_load_from_file(parser, path, &error))
		fail_msg("%s: %s", path, error->message);
	return json_node_copy(json_parser_get_root(parser));
}

JsonNode *
trace_fixture_load_session(const gchar *name)
{
	g_autofree gchar *file = g_strdup_printf("%s.json", name);
	g_autofree gchar *path = g_build_filename(FIXTURES_DIR, "trace-sessions", file, NULL);

	return trace_fixture_load_json(path);
}

gchar *
trace_fixture_make_tmp_dir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("qgatrace-trace-XXXXXX", &error);

	assert_non_null(dir);
	return dir;
}

void
trace_fixture_remove_tree(const gchar *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			trace_fixture_remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

QgaTraceSession *
trace_fixture_finished_session(const gchar *id, const gchar *source, guint64 started_ns)
{
	QgaTraceSession *session = qga_trace_session_new(id, source, 42, started_ns);

	qga_trace_session_add_mount(session, "/mnt/data", "ext4", 254, 0, TRUE);
	qga_trace_session_finish(session, qtf_capture_new_unavailable("test"), started_ns + 1000);
	return session;
}
