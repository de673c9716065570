/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A live guest's memory through QEMU's QMP socket (common/qmp-client.h),
 * with no agent: VMCOREINFO from a one-page dump-guest-memory (or a scan of
 * guest RAM), physical reads with pmemsave into a memfd passed over the
 * socket (HMP xp as the fallback), and stop/cont for a consistent
 * snapshot. */

typedef struct _GmemLive GmemLive;

/* reports a RAM scan's progress */
typedef void (*GmemLiveProgressFunc)(guint64 done, guint64 total, gpointer user_data);

/**
 * gmem_live_connect:
 * Connects to QEMU's QMP socket at @qmp_path, reads the greeting and
 * negotiates capabilities.
 * Returns: (transfer full): the connection, or NULL with @error
 */
GmemLive *gmem_live_connect(const gchar *qmp_path, guint timeout_ms, GError **error);

/* resumes the guest if this connection paused it, then closes; NULL is a no-op */
void gmem_live_free(GmemLive *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GmemLive, gmem_live_free)

/* physical reads with HMP xp instead of pmemsave (the fallback; tests) */
void gmem_live_set_use_xp(GmemLive *self, gboolean use_xp);
gboolean gmem_live_get_use_xp(GmemLive *self);

/* query-status: is the guest running */
gboolean gmem_live_query_running(GmemLive *self, gboolean *running, GError **error);

/**
 * gmem_live_pause:
 * Stops the guest if it runs (and remembers that it did). Until
 * gmem_live_resume() or gmem_live_free(), SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT are caught and held, so that Ctrl-C cannot leave the guest
 * stopped: once it runs again their old handlers are back and a held signal
 * is raised. Before stop, a watcher process is forked (in its own process
 * group, holding a copy of the QMP socket): if this process dies while the
 * guest is paused (a crash, an abort, SIGKILL), it sends cont. The guest is
 * not paused when the watcher cannot be started.
 */
gboolean gmem_live_pause(GmemLive *self, GError **error);

/* sends cont if this connection stopped the guest; the signals held back go */
gboolean gmem_live_resume(GmemLive *self, GError **error);

/* guest RAM size (query-memory-size-summary base-memory) */
gboolean gmem_live_get_ram_size(GmemLive *self, guint64 *size, GError **error);

/* reads @len bytes of guest physical memory at @paddr */
gboolean gmem_live_read_phys(GmemLive *self, guint64 paddr, void *buf, gsize len, GError **error);

/**
 * gmem_live_dump_vmcoreinfo:
 * dump-guest-memory of one page into a memfd passed with getfd; QEMU adds
 * the guest's VMCOREINFO note to the dump when it has `-device vmcoreinfo`
 * and the guest's qemu_fw_cfg driver filled it in.
 * Returns: (transfer full): the note's text, or NULL with G_IO_ERROR_NOT_FOUND
 * when the dump has none, or another error
 */
gchar *gmem_live_dump_vmcoreinfo(GmemLive *self, gsize *text_len, GError **error);

/* whether the VMCOREINFO note found in guest RAM at @paddr (its header)
 * is the running kernel's: anyone in the guest can write one into RAM */
typedef gboolean (*GmemLiveNoteCheckFunc)(const gchar *text, gsize text_len, guint64 paddr,
					  gpointer user_data, GError **error);

/* at most this many notes are checked and refused before the scan gives up */
#define GMEM_LIVE_SCAN_REFUSED_MAX 16

typedef struct {
	guint64 limit;		       /* bytes of guest RAM to scan at most; 0: all */
	GmemLiveProgressFunc progress; /* (nullable) */
	gpointer progress_data;
	GmemLiveNoteCheckFunc check; /* (nullable): NULL takes the first note */
	gpointer check_data;
	guint64 note_paddr; /* (out): where the note taken is */
	guint refused;	    /* (out): the notes before it that @check refused */
} GmemLiveScan;

/**
 * gmem_live_scan_vmcoreinfo:
 * Scans guest RAM for the VMCOREINFO note, lowest address first, and takes
 * the first one @scan's check accepts.
 * Returns: (transfer full): the note's text, or NULL with G_IO_ERROR_NOT_FOUND
 * (none accepted), G_IO_ERROR_INVALID_DATA (more than
 * GMEM_LIVE_SCAN_REFUSED_MAX refused), or a read's error
 */
gchar *gmem_live_scan_vmcoreinfo(GmemLive *self, GmemLiveScan *scan, gsize *text_len,
				 GError **error);

/* QMP round trips so far (for timing reports) */
guint gmem_live_get_commands(GmemLive *self);

G_END_DECLS
