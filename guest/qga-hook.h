/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QGA_HOOK_OUTPUT_MAX (64 * 1024)

/**
 * qga_hook_run:
 * Runs `@hook @phase` ("freeze" or "thaw") in its own session, stdin from
 * /dev/null, stdout and stderr captured. Unlike qemu-ga it is bounded: the
 * hook's process group is killed after @timeout_s, and the agent stops
 * reading once the hook itself exits, so a background child holding the
 * pipe cannot hang it.
 * Returns: FALSE with @error when the hook could not run, failed, was
 * killed or timed out
 */
gboolean qga_hook_run(const gchar *hook, const gchar *phase, guint timeout_s, GError **error);

G_END_DECLS
