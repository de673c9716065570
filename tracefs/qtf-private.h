/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the library and its tests only: the libtracefs/libtraceevent
 * boundary, the record decoder and the offline (snapshot) decode path.
 */

#include <event-parse.h>
#include <kbuffer.h>
#include <tracefs.h>

#include "qtf.h"

G_BEGIN_DECLS

/* foreign types, their cleanups once */
typedef struct tracefs_instance TracefsInstance;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TracefsInstance, tracefs_instance_free)
typedef struct tep_handle TepHandle;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TepHandle, tep_free)
typedef struct kbuffer Kbuffer;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Kbuffer, kbuffer_free)
/* a malloc'ed string from libtracefs (tracefs_instance_file_read, _error_last) */
typedef char TracefsString;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TracefsString, free)
/* a string list from libtracefs */
typedef char **TracefsList;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(TracefsList, tracefs_list_free, NULL)

/* ---- qtf-error.c ---- */

/* EPERM/EACCES: REFUSED; ENOENT/ENODEV/ENOSYS/EOPNOTSUPP: UNAVAILABLE; EBUSY: BUSY */
QtfErrorCode qtf_error_code_from_errno(gint errsv);

/*
 * Sets @error from @errsv: "<what>: <strerror>", plus the kernel's own
 * words from the instance's error_log when it wrote some (@tfs nullable).
 */
void qtf_set_error_errno(GError **error, gint errsv, struct tracefs_instance *tfs,
			 const gchar *format, ...) G_GNUC_PRINTF(4, 5);

/* ---- qtf-capture.c ---- */

QtfCapture *qtf_capture_new(QtfMethod method);
QtfEvent *qtf_event_new(void);
void qtf_event_free(QtfEvent *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfEvent, qtf_event_free)

/* Returns: (transfer none): the loss record of @cpu, added if missing */
QtfCpuLoss *qtf_capture_get_cpu(QtfCapture *self, gint cpu);

/* per_cpu/cpuN/stats: "overrun:", "commit overrun:", "dropped events:" */
void qtf_cpu_loss_parse_stats(QtfCpuLoss *loss, const gchar *stats);

/* ---- qtf-decode.c ---- */

/*
 * The event formats a capture needs, as "system/name": @required must
 * all load or the records would be skipped unseen (libtracefs drops a
 * record whose event it does not know), @optional may be missing.
 */
void qtf_capture_event_formats(const QtfCapture *capture, GPtrArray *required, GPtrArray *optional);

/**
 * qtf_tep_load:
 * @root: a tracefs root, or a snapshot of one: events/header_page,
 *   events/SYSTEM/NAME/format, saved_cmdlines (optional)
 * @kallsyms: (nullable): /proc/kallsyms or an excerpt of it
 * Only the formats asked for are parsed (the whole tree costs ~250 ms).
 * Returns: (transfer full): the parser, or NULL with @error
 */
struct tep_handle *qtf_tep_load(const gchar *root, const gchar *kallsyms, GPtrArray *required,
				GPtrArray *optional, GError **error);

/* the task names of @root/saved_cmdlines into @tep, replacing older ones */
void qtf_tep_update_comms(struct tep_handle *tep, const gchar *root);

typedef struct _QtfDecoder QtfDecoder;

/* @tep and @capture are borrowed and must outlive the decoder */
QtfDecoder *qtf_decoder_new(struct tep_handle *tep, QtfCapture *capture);
void qtf_decoder_free(QtfDecoder *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QtfDecoder, qtf_decoder_free)

/*
 * The tracefs_iterate_raw_events() callback: appends one QtfEvent to the
 * capture and counts what the page said was lost before it. Returns 0.
 */
int qtf_decoder_record_cb(struct tep_event *event, struct tep_record *record, int cpu,
			  void *decoder);

/**
 * qtf_decoder_feed_pages:
 * Decodes whole CPU buffer pages as per_cpu/cpuN/trace_pipe_raw gave
 * them, one buffer per CPU, merged oldest first as
 * tracefs_iterate_raw_events() does, through qtf_decoder_record_cb().
 * @pages: (element-type GBytes): index = CPU; NULL for an absent CPU
 * Returns: FALSE with @error when a buffer is not whole pages
 */
gboolean qtf_decoder_feed_pages(QtfDecoder *self, GPtrArray *pages, GError **error);

/**
 * qtf_snapshot_decode:
 * The offline twin of qtf_tracer_collect(): @dir holds a copy of the
 * instance (per_cpu/cpuN/trace_pipe_raw, per_cpu/cpuN/stats) and of the
 * formats qtf_capture_event_formats() asks for. Fills @capture's events
 * and losses; its method and tracepoints say which formats to load.
 * Returns: FALSE with @error
 */
gboolean qtf_snapshot_decode(const gchar *dir, const gchar *kallsyms, QtfCapture *capture,
			     GError **error);

/* ---- qtf-instance.c ---- */

/* Returns: (transfer none): the libtracefs handle (tools: qtf-tool.c) */
struct tracefs_instance *qtf_tracer_get_instance(QtfTracer *self);

/* Returns: (transfer full): a capture with what the session armed, no events yet */
QtfCapture *qtf_tracer_describe(QtfTracer *self);

/* per_cpu/cpuN/stats of every CPU into @capture */
void qtf_tracer_read_losses(QtfTracer *self, QtfCapture *capture);
void qtf_instance_read_losses(struct tracefs_instance *tfs, QtfCapture *capture);

/* reads (consumes) every CPU's buffer of @tfs, each record through @callback */
gboolean qtf_instance_drain(struct tracefs_instance *tfs, struct tep_handle *tep,
			    int (*callback)(struct tep_event *, struct tep_record *, int, void *),
			    void *data, GError **error);

/* removes the instance @name when it exists: a leftover of a dead process */
gboolean qtf_instance_remove_stale(const gchar *tracing_dir, const gchar *name, GError **error);

/* removes and frees our own instance @tfs at exit; a failure is only logged */
void qtf_instance_destroy(struct tracefs_instance *tfs, const gchar *name);

G_END_DECLS
