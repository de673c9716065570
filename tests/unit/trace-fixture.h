/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Helpers for the trace session tests (test-qga-trace-session.c,
 * test-qga-trace.c, test-hook-qemu-ga.c): the recorded sessions of
 * tests/fixtures/trace-sessions/ and scratch directories. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "qga-trace-session.h"

#define TRACE_FIXTURE_SESSION(name) FIXTURES_DIR "/trace-sessions/" name ".json"

/* Returns: (transfer full): the JSON at @path; fails the test if it does not parse */
JsonNode *trace_fixture_load_json(const gchar *path);

/* Returns: (transfer full): the recorded session TRACE_FIXTURE_SESSION(@name) */
JsonNode *trace_fixture_load_session(const gchar *name);

/* Returns: (transfer full): a new empty directory under the temporary dir */
gchar *trace_fixture_make_tmp_dir(void);

/* removes @path and what it holds, without following symbolic links */
void trace_fixture_remove_tree(const gchar *path);

/* Returns: (transfer full): a session of one mount, finished untraced */
QgaTraceSession *trace_fixture_finished_session(const gchar *id, const gchar *source,
						guint64 started_ns);
