/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event-parse.h>

#include "fuzz-support.h"
#include "qtf-private.h"

/*
 * The trace event decoder (tracefs/qtf-decode.c) on arbitrary ring-buffer
 * pages, then verification (qtf-verify.c) and the JSON round trip of
 * what it decoded. The formats, kallsyms and the session (mounts, ioctl
 * windows) are those recorded in the guest (tests/fixtures/tracefs),
 * loaded once: the input is only the pages, as trace_pipe_raw gives them.
 * Input: one byte picks the recording (function tracer or syscall
 * events), one how many pages go to CPU 0 (the rest to CPU 1), then the
 * pages; a partial last page is padded with zeros.
 * What must hold: every decoded event has a CPU that was fed; the capture
 * survives qtf_capture_to_json() and back with its event count; there is
 * one verdict per mount.
 */

typedef struct {
	const gchar *dir;
	QtfMethod method;
	const gchar *const *tracepoints;
	struct tep_handle *tep;
	GArray *mounts;	   /* QtfMount */
	GArray *ioctls;	   /* QtfIoctl */
	JsonNode *session; /* owns the mounts' strings */
} FuzzTraceRecording;

static const gchar *const fuzz_trace_function_tracepoints[] = {"ext4:ext4_sync_fs", NULL};
static const gchar *const fuzz_trace_events_tracepoints[] = {
	"syscalls:sys_enter_ioctl", "syscalls:sys_exit_ioctl", "ext4:ext4_sync_fs", NULL};

static FuzzTraceRecording fuzz_trace_recordings[] = {
	{FUZZ_FIXTURE("tracefs/function-ext4"), QTF_METHOD_FUNCTION,
	 fuzz_trace_function_tracepoints},
	{FUZZ_FIXTURE("tracefs/events-ext4"), QTF_METHOD_EVENTS, fuzz_trace_events_tracepoints},
};

static QtfCapture *
fuzz_trace_capture_new(const FuzzTraceRecording *r)
{
	QtfCapture *capture = qtf_capture_new(r->method);

	g_strfreev(capture->tracepoints);
	capture->tracepoints = g_strdupv((gchar **)r->tracepoints);
	return capture;
}

/* session.json: {"mounts": [{"mountpoint", "fstype", "dev"}], "ioctls":
 * [{"kind", "mount", "tid", "start-ns", "end-ns"}]} */
static void
fuzz_trace_load_session(FuzzTraceRecording *r)
{
	g_autofree gchar *path = g_build_filename(r->dir, "session.json", NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonObject *root;
	JsonArray *mounts;
	JsonArray *ioctls;

	if (!json_parser_load_from_file(parser, path, &error)) {
		g_printerr("fuzz-trace: %s\n", error->message);
		abort();
	}
	r->session = json_parser_steal_root(parser);
	root = json_node_get_object(r->session);
	mounts = json_object_get_array_member(root, "mounts");
	ioctls = json_object_get_array_member(root, "ioctls");
	r->mounts = g_array_new(FALSE, TRUE, sizeof(QtfMount));
	r->ioctls = g_array_new(FALSE, TRUE, sizeof(QtfIoctl));
	for (guint i = 0; i < json_array_get_length(mounts); i++) {
		JsonObject *m = json_array_get_object_element(mounts, i);
		QtfMount mount = {
			.mountpoint = json_object_get_string_member(m, "mountpoint"),
			.fstype = json_object_get_string_member(m, "fstype"),
		};

		sscanf(json_object_get_string_member(m, "dev"), "%u:%u", &mount.dev_major,
		       &mount.dev_minor);
		g_array_append_val(r->mounts, mount);
	}
	for (guint i = 0; i < json_array_get_length(ioctls); i++) {
		JsonObject *c = json_array_get_object_element(ioctls, i);
		QtfIoctl ioctl = {
			.kind = g_strcmp0(json_object_get_string_member(c, "kind"), "thaw") == 0
					? QTF_IOCTL_THAW
					: QTF_IOCTL_FREEZE,
			.mount = (guint)json_object_get_int_member(c, "mount"),
			.tid = (gint)json_object_get_int_member(c, "tid"),
			.start_ns = (guint64)json_object_get_int_member(c, "start-ns"),
			.end_ns = (guint64)json_object_get_int_member(c, "end-ns"),
		};

		g_array_append_val(r->ioctls, ioctl);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (guint i = 0; i < G_N_ELEMENTS(fuzz_trace_recordings); i++) {
		FuzzTraceRecording *r = &fuzz_trace_recordings[i];
		g_autoptr(QtfCapture) capture = fuzz_trace_capture_new(r);
		g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
		g_autofree gchar *kallsyms = g_build_filename(r->dir, "kallsyms", NULL);
		g_autoptr(GError) error = NULL;

		qtf_capture_event_formats(capture, required, optional);
		r->tep = qtf_tep_load(r->dir, kallsyms, required, optional, &error);
		if (r->tep == NULL) {
			g_printerr("fuzz-trace: %s: %s\n", r->dir, error->message);
			abort();
		}
		fuzz_trace_load_session(r);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	FuzzTraceRecording *r =
		&fuzz_trace_recordings[fuzz_input_byte(&in) % G_N_ELEMENTS(fuzz_trace_recordings)];
	guint cpu0_pages = fuzz_input_byte(&in);
	gsize page_size = (gsize)tep_get_sub_buffer_size(r->tep);
	gsize n_pages = (in.len + page_size - 1) / page_size;
	g_autoptr(QtfCapture) capture = fuzz_trace_capture_new(r);
	g_autoptr(QtfCapture) again = NULL;
	g_autoptr(QtfDecoder) decoder = qtf_decoder_new(r->tep, capture);
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(QtfVerdicts) verdicts = NULL;
	g_autoptr(JsonNode) json = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *padded = g_malloc0(MAX(n_pages, 1) * page_size);
	gsize cpu0_bytes;

	memcpy(padded, in.data, in.len);
	cpu0_pages = MIN(cpu0_pages, n_pages);
	cpu0_bytes = cpu0_pages * page_size;
	/* an empty CPU 0 is an absent one, as a CPU without a buffer */
	g_ptr_array_add(pages, cpu0_bytes > 0 ? g_bytes_new(padded, cpu0_bytes) : NULL);
	g_ptr_array_add(pages, g_bytes_new(padded + cpu0_bytes, n_pages * page_size - cpu0_bytes));
	if (!qtf_decoder_feed_pages(decoder, pages, &error))
		abort(); /* whole pages, always */
	for (guint i = 0; i < capture->events->len; i++) {
		QtfEvent *ev = g_ptr_array_index(capture->events, i);

		if (ev->cpu != 1 && !(ev->cpu == 0 && cpu0_bytes > 0))
			abort();
	}
	verdicts = qtf_verify(capture, (const QtfMount *)(gpointer)r->mounts->data, r->mounts->len,
			      (const QtfIoctl *)(gpointer)r->ioctls->data, r->ioctls->len);
	if (verdicts == NULL || verdicts->len != r->mounts->len)
		abort();
	json_node_unref(qtf_verdicts_to_json(verdicts));
	json = qtf_capture_to_json(capture);
	again = qtf_capture_new_from_json(json, &error);
	if (again == NULL || again->events->len != capture->events->len) {
		g_printerr("capture JSON round trip: %s\n",
			   error != NULL ? error->message : "events");
		abort();
	}
	return 0;
}
