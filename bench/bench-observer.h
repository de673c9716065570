/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "bench-common.h"

G_BEGIN_DECLS

/* The bench's own witness of freezes in the guest, the same for every agent: a tracefs
 * instance of its own recording kprobes on freeze_super and thaw_super (entry, with the
 * superblock's device, and return, with the result), system-wide. A frozen interval runs
 * from freeze_super's entry on the mountpoint's superblock to the return of the thaw_super
 * on it that succeeded. */
typedef struct _BenchObserver BenchObserver;

typedef struct {
	gint pid;   /* the task that called freeze_super */
	gdouble ms; /* freeze_super entered to thaw_super returned 0 */
} BenchFrozenInterval;

/* starts recording the freezes of @mountpoint's superblock */
BenchObserver *bench_observer_start(BenchContext *ctx, const gchar *mountpoint, GError **error);

/**
 * bench_observer_read:
 * Stops recording and reads what was recorded.
 * Returns: (transfer full) (element-type BenchFrozenInterval): every frozen interval, oldest
 * first, or NULL with @error (also when the buffer lost events)
 */
GArray *bench_observer_read(BenchObserver *self, GError **error);

/* removes the instance and the kprobe events; also after a failure, errors only logged */
void bench_observer_free(BenchObserver *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BenchObserver, bench_observer_free)

/**
 * bench_observer_parse:
 * @text: the instance's `trace` file
 * @dev: the superblock's s_dev (the kernel's encoding: major << 20 | minor)
 * Returns: (transfer full) (element-type BenchFrozenInterval): or NULL with @error
 */
GArray *bench_observer_parse(const gchar *text, guint32 dev, GError **error);

G_END_DECLS
