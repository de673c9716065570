/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "qtf-private.h"

/* ---- which formats a capture needs ---- */

void
qtf_capture_event_formats(const QtfCapture *capture, GPtrArray *required, GPtrArray *optional)
{
	if (capture->method == QTF_METHOD_FUNCTION) {
		g_ptr_array_add(required, g_strdup("ftrace/function"));
		/* func-no-repeats is global on 6.1: someone else may have set it */
		g_ptr_array_add(optional, g_strdup("ftrace/func_repeats"));
	}
	for (guint i = 0; capture->tracepoints != NULL && capture->tracepoints[i] != NULL; i++) {
		g_autofree gchar *path = g_strdelimit(g_strdup(capture->tracepoints[i]), ":", '/');
		g_ptr_array_add(required, g_steal_pointer(&path));
	}
}

/* ---- the parser ---- */

static gboolean
qtf_tep_parse_format(struct tep_handle *tep, const gchar *root, const gchar *event,
		     gboolean required, GError **error)
{
	g_autofree gchar *path = g_build_filename(root, "events", event, "format", NULL);
	g_autofree gchar *system = g_strndup(event, strcspn(event, "/"));
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error_local = NULL;
	gsize len = 0;
	enum tep_errno rc;

	if (!g_file_get_contents(path, &text, &len, &error_local)) {
		if (!required) {
			g_debug("no format for '%s', ignoring: %s", event, error_local->message);
			return TRUE;
		}
		g_set_error(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE, "no format for event '%s': %s",
			    event, error_local->message);
		return FALSE;
	}
	rc = tep_parse_event(tep, text, len, system);
	if (rc != TEP_ERRNO__SUCCESS) {
		gchar msg[128] = "";

		tep_strerror(tep, rc, msg, sizeof(msg));
		if (!required) {
			g_debug("cannot parse the format of '%s', ignoring: %s", event, msg);
			return TRUE;
		}
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
			    "cannot parse the format of '%s': %s", event, msg);
		return FALSE;
	}
	return TRUE;
}

struct tep_handle *
qtf_tep_load(const gchar *root, const gchar *kallsyms, GPtrArray *required, GPtrArray *optional,
	     GError **error)
{
	g_autoptr(TepHandle) tep = tep_alloc();
	g_autofree gchar *header_path = g_build_filename(root, "events", "header_page", NULL);
	g_autofree gchar *header = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error_local = NULL;
	gsize len = 0;

	if (tep == NULL) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "cannot allocate a tep handle");
		return NULL;
	}
	/* the page layout: kbuffer needs the commit field's size */
	if (!g_file_get_contents(header_path, &header, &len, error)) {
		g_prefix_error(error, "reading the ring buffer page header: ");
		return NULL;
	}
	tep_parse_header_page(tep, header, len, sizeof(long));
	for (guint i = 0; required != NULL && i < required->len; i++) {
		if (!qtf_tep_parse_format(tep, root, g_ptr_array_index(required, i), TRUE, error))
			return NULL;
	}
	for (guint i = 0; optional != NULL && i < optional->len; i++)
		qtf_tep_parse_format(tep, root, g_ptr_array_index(optional, i), FALSE, NULL);

	/* best effort, as libtracefs's load_mappings(): without symbols the
	 * names stay NULL and the addresses are still reported */
	if (kallsyms != NULL) {
		if (!g_file_get_contents(kallsyms, &text, NULL, &error_local))
			g_debug("no function names: %s", error_local->message);
		else if (tep_parse_kallsyms(tep, text) < 0)
			g_debug("no function names: cannot parse '%s'", kallsyms);
		g_clear_pointer(&text, g_free);
		g_clear_error(&error_local);
	}
	qtf_tep_update_comms(tep, root);
	tep_set_long_size(tep, tep_get_header_page_size(tep));
	return g_steal_pointer(&tep);
}

void
qtf_tep_update_comms(struct tep_handle *tep, const gchar *root)
{
	g_autofree gchar *path = g_build_filename(root, "saved_cmdlines", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) lines = NULL;

	/* read after the capture: a task named during it is in there now */
	if (!g_file_get_contents(path, &text, NULL, &error)) {
		g_debug("no task names: %s", error->message);
		return;
	}
	/* override, not tep_parse_saved_cmdlines(): a parser kept from an
	 * earlier capture may know a reused pid by its old name */
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *comm = NULL;
		gint64 pid = g_ascii_strtoll(lines[i], &comm, 10);

		if (comm == lines[i] || *comm != ' ' || pid <= 0 || pid > G_MAXINT)
			continue;
		tep_override_comm(tep, comm + 1, (gint)pid);
	}
}

/* ---- one record ---- */

struct _QtfDecoder {
	struct tep_handle *tep;
	QtfCapture *capture;
	gint function_id;
	gint repeats_id;
	gint enter_id;
	gint exit_id;
	struct tep_format_field *function_ip;
	struct tep_format_field *function_parent;
	struct tep_format_field *repeats_ip;
	struct tep_format_field *repeats_parent;
	struct tep_format_field *repeats_count;
	struct tep_format_field *enter_cmd;
	struct tep_format_field *exit_ret;
	/* event id -> its "dev" field, or NULL when it has none */
	GHashTable *dev_fields;
};

static gint
qtf_decoder_find(QtfDecoder *self, const gchar *system, const gchar *name)
{
	struct tep_event *event = tep_find_event_by_name(self->tep, system, name);

	return event != NULL ? event->id : -1;
}

static struct tep_format_field *
qtf_decoder_field(QtfDecoder *self, gint id, const gchar *name)
{
	struct tep_event *event = id >= 0 ? tep_find_event(self->tep, id) : NULL;

	return event != NULL ? tep_find_field(event, name) : NULL;
}

QtfDecoder *
qtf_decoder_new(struct tep_handle *tep, QtfCapture *capture)
{
	QtfDecoder *self = g_new0(QtfDecoder, 1);

	self->tep = tep;
	self->capture = capture;
	self->function_id = qtf_decoder_find(self, "ftrace", "function");
	self->repeats_id = qtf_decoder_find(self, "ftrace", "func_repeats");
	self->enter_id = qtf_decoder_find(self, "syscalls", "sys_enter_ioctl");
	self->exit_id = qtf_decoder_find(self, "syscalls", "sys_exit_ioctl");
	self->function_ip = qtf_decoder_field(self, self->function_id, "ip");
	self->function_parent = qtf_decoder_field(self, self->function_id, "parent_ip");
	self->repeats_ip = qtf_decoder_field(self, self->repeats_id, "ip");
	self->repeats_parent = qtf_decoder_field(self, self->repeats_id, "parent_ip");
	self->repeats_count = qtf_decoder_field(self, self->repeats_id, "count");
	self->enter_cmd = qtf_decoder_field(self, self->enter_id, "cmd");
	self->exit_ret = qtf_decoder_field(self, self->exit_id, "ret");
	self->dev_fields = g_hash_table_new(NULL, NULL);
	return self;
}

void
qtf_decoder_free(QtfDecoder *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->dev_fields);
	g_free(self);
}

static guint64
qtf_record_read(struct tep_format_field *field, struct tep_record *record)
{
	unsigned long long value = 0;

	/* a record shorter than its format says (a corrupt page) */
	if (field == NULL ||
	    (guint64)field->offset + (guint64)field->size > (guint64)record->size ||
	    tep_read_number_field(field, record->data, &value) != 0)
		return 0;
	return value;
}

static gint64
qtf_record_read_signed(struct tep_format_field *field, struct tep_record *record)
{
	guint64 value = qtf_record_read(field, record);

	if (field != NULL && field->size == 4)
		return (gint32)(guint32)value;
	return (gint64)value;
}

static void
qtf_decoder_function(QtfDecoder *self, QtfEvent *ev, struct tep_record *record,
		     struct tep_format_field *ip, struct tep_format_field *parent)
{
	const gchar *name;

	ev->kind = QTF_EVENT_FUNCTION;
	ev->ip = qtf_record_read(ip, record);
	ev->parent_ip = qtf_record_read(parent, record);
	/* the symbol containing the address: parent_ip is a return address
	 * inside the caller, ip may be func+4 with IBT */
	name = tep_find_function(self->tep, ev->ip);
	ev->function = g_strdup(name);
	name = tep_find_function(self->tep, ev->parent_ip);
	ev->parent = g_strdup(name);
}

static struct tep_format_field *
qtf_decoder_dev_field(QtfDecoder *self, struct tep_event *event)
{
	gpointer key = GINT_TO_POINTER(event->id);
	struct tep_format_field *field;

	if (g_hash_table_lookup_extended(self->dev_fields, key, NULL, (gpointer *)&field))
		return field;
	field = tep_find_field(event, "dev");
	/* the kernel's dev_t: 32 bits, MAJOR in the top 12 */
	if (field != NULL && field->size != 4)
		field = NULL;
	g_hash_table_insert(self->dev_fields, key, field);
	return field;
}

int
qtf_decoder_record_cb(struct tep_event *event, struct tep_record *record, int cpu, void *decoder)
{
	QtfDecoder *self = decoder;
	QtfCpuLoss *loss = qtf_capture_get_cpu(self->capture, cpu);
	QtfEvent *ev = qtf_event_new();
	struct tep_format_field *dev;
	const gchar *comm;

	ev->ts_ns = record->ts;
	ev->cpu = cpu;
	ev->pid = tep_data_pid(self->tep, record);
	comm = tep_data_comm_from_pid(self->tep, ev->pid);
	/* "<...>": saved_cmdlines did not know it */
	if (comm != NULL && strcmp(comm, "<...>") != 0)
		ev->comm = g_strdup(comm);
	ev->event = g_strdup_printf("%s:%s", event->system, event->name);
	/* only the first record of a page carries what was lost before it */
	if (record->missed_events != 0) {
		ev->lost_before = record->missed_events > 0 ? record->missed_events : -1;
		if (record->missed_events < 0)
			loss->missed = -1;
		else if (loss->missed >= 0)
			loss->missed += record->missed_events;
	}
	loss->read++;

	if (event->id == self->function_id) {
		qtf_decoder_function(self, ev, record, self->function_ip, self->function_parent);
	} else if (event->id == self->repeats_id) {
		qtf_decoder_function(self, ev, record, self->repeats_ip, self->repeats_parent);
		ev->repeats = (guint)qtf_record_read(self->repeats_count, record);
	} else if (event->id == self->enter_id) {
		ev->kind = QTF_EVENT_IOCTL_ENTER;
		ev->cmd = qtf_record_read(self->enter_cmd, record);
	} else if (event->id == self->exit_id) {
		ev->kind = QTF_EVENT_IOCTL_EXIT;
		ev->ret = qtf_record_read_signed(self->exit_ret, record);
	} else {
		ev->kind = QTF_EVENT_TRACEPOINT;
	}
	dev = ev->kind == QTF_EVENT_TRACEPOINT ? qtf_decoder_dev_field(self, event) : NULL;
	if (dev != NULL) {
		guint32 kdev = (guint32)qtf_record_read(dev, record);

		ev->has_dev = TRUE;
		ev->dev_major = kdev >> 20;
		ev->dev_minor = kdev & 0xfffff;
	}
	g_ptr_array_add(self->capture->events, ev);
	return 0;
}

/* ---- whole pages, offline ---- */

typedef struct {
	gint cpu;
	Kbuffer *kbuf;
	guint8 *pages;
	gsize size;
	gsize next_page;
	gboolean loaded;
	struct tep_record record;
	struct tep_event *event; /* NULL: this CPU is drained */
} QtfPageCursor;

static void
qtf_page_cursor_clear(QtfPageCursor *cur)
{
	g_clear_pointer(&cur->kbuf, kbuffer_free);
	g_clear_pointer(&cur->pages, g_free);
}

/*
 * kbuffer trusts the page header's commit (the data size) and reads past
 * the page when it is larger than the page; a recorded snapshot is a file
 * like any other, so a page must say it fits first (ring_buffer.c:
 * struct buffer_data_page, a u64 time stamp then a long whose low 27 bits
 * are the commit, as kbuffer-parse.c's COMMIT_MASK). Found by
 * fuzz/fuzz-trace.c.
 */
#define QTF_PAGE_COMMIT_MASK ((1u << 27) - 1)

static gboolean
qtf_page_fits(const guint8 *page, gsize page_size, gsize long_size, gboolean big_endian)
{
	guint64 commit = 0;

	for (gsize i = 0; i < long_size; i++)
		commit = commit << 8 | page[8 + (big_endian ? i : long_size - 1 - i)];
	return (commit & QTF_PAGE_COMMIT_MASK) <= page_size - 8 - long_size;
}

/* the type, flags, preempt count and pid every event starts with */
#define QTF_RECORD_COMMON_SIZE 8

/* as libtracefs's read_kbuf_record() and read_next_record(), so a
 * recorded buffer decodes as the live one would */
static gboolean
qtf_page_cursor_next(QtfDecoder *self, QtfPageCursor *cur, gsize page_size)
{
	cur->event = NULL;
	for (;;) {
		guint8 *page;
		unsigned long long ts = 0;
		void *ptr = cur->loaded ? kbuffer_read_event(cur->kbuf, &ts) : NULL;

		if (ptr != NULL) {
			gint offset = kbuffer_curr_offset(cur->kbuf);

			memset(&cur->record, 0, sizeof(cur->record));
			cur->record.ts = ts;
			cur->record.size = kbuffer_event_size(cur->kbuf);
			cur->record.record_size = kbuffer_curr_size(cur->kbuf);
			cur->record.missed_events = kbuffer_missed_events(cur->kbuf);
			cur->record.cpu = cur->cpu;
			cur->record.data = ptr;
			cur->record.ref_count = 1;
			/* a corrupt length that does not move on would return
			 * this record forever: the rest of the page is lost */
			if (kbuffer_next_event(cur->kbuf, NULL) != NULL &&
			    kbuffer_curr_offset(cur->kbuf) <= offset) {
				g_debug("cpu%d: a record that does not advance, rest of the page skipped",
					cur->cpu);
				cur->loaded = FALSE;
			}
			if (cur->record.size < QTF_RECORD_COMMON_SIZE)
				continue;
			cur->event =
				tep_find_event(self->tep, tep_data_type(self->tep, &cur->record));
			if (cur->event != NULL)
				return TRUE;
			continue;
		}
		if (cur->next_page + page_size > cur->size)
			return FALSE;
		page = cur->pages + cur->next_page;
		cur->next_page += page_size;
		if (!qtf_page_fits(page, page_size,
				   tep_get_header_page_size(self->tep) == 8 ? 8 : 4,
				   tep_is_file_bigendian(self->tep))) {
			g_debug("cpu%d: a page whose data does not fit it, skipped", cur->cpu);
			cur->loaded = FALSE;
			continue;
		}
		kbuffer_load_subbuffer(cur->kbuf, page);
		cur->loaded = TRUE;
	}
}

gboolean
qtf_decoder_feed_pages(QtfDecoder *self, GPtrArray *pages, GError **error)
{
	gint page_size = tep_get_sub_buffer_size(self->tep);
	enum kbuffer_long_size lsize =
		tep_get_header_page_size(self->tep) == 8 ? KBUFFER_LSIZE_8 : KBUFFER_LSIZE_4;
	enum kbuffer_endian endian =
		tep_is_file_bigendian(self->tep) ? KBUFFER_ENDIAN_BIG : KBUFFER_ENDIAN_LITTLE;
	g_autoptr(GArray) cursors = g_array_new(FALSE, TRUE, sizeof(QtfPageCursor));

	g_array_set_clear_func(cursors, (GDestroyNotify)qtf_page_cursor_clear);
	if (page_size <= 0) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "the page header gives no page size");
		return FALSE;
	}
	for (guint cpu = 0; cpu < pages->len; cpu++) {
		GBytes *bytes = g_ptr_array_index(pages, cpu);
		QtfPageCursor cur = {.cpu = (gint)cpu};
		gsize size;

		if (bytes == NULL)
			continue;
		size = g_bytes_get_size(bytes);
		if (size % (gsize)page_size != 0) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "cpu%u: %" G_GSIZE_FORMAT " bytes are not whole %d-byte pages",
				    cpu, size, page_size);
			return FALSE;
		}
		cur.kbuf = kbuffer_alloc(lsize, endian);
		cur.pages = g_memdup2(g_bytes_get_data(bytes, NULL), size);
		cur.size = size;
		g_array_append_val(cursors, cur);
	}
	for (guint i = 0; i < cursors->len; i++)
		qtf_page_cursor_next(self, &g_array_index(cursors, QtfPageCursor, i), page_size);

	/* oldest first across CPUs; a tie goes to the lower CPU, as in
	 * libtracefs's read_cpu_pages() */
	for (;;) {
		QtfPageCursor *oldest = NULL;

		for (guint i = 0; i < cursors->len; i++) {
			QtfPageCursor *cur = &g_array_index(cursors, QtfPageCursor, i);
			if (cur->event != NULL &&
			    (oldest == NULL || oldest->record.ts > cur->record.ts))
				oldest = cur;
		}
		if (oldest == NULL)
			break;
		qtf_decoder_record_cb(oldest->event, &oldest->record, oldest->cpu, self);
		qtf_page_cursor_next(self, oldest, page_size);
	}
	return TRUE;
}

gboolean
qtf_snapshot_decode(const gchar *dir, const gchar *kallsyms, QtfCapture *capture, GError **error)
{
	g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) optional = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(TepHandle) tep = NULL;
	g_autoptr(QtfDecoder) decoder = NULL;

	qtf_capture_event_formats(capture, required, optional);
	tep = qtf_tep_load(dir, kallsyms, required, optional, error);
	if (tep == NULL)
		return FALSE;
	for (gint cpu = 0;; cpu++) {
		g_autofree gchar *name = g_strdup_printf("cpu%d", cpu);
		g_autofree gchar *cpu_dir = g_build_filename(dir, "per_cpu", name, NULL);
		g_autofree gchar *raw_path = g_build_filename(cpu_dir, "trace_pipe_raw", NULL);
		g_autofree gchar *stats_path = g_build_filename(cpu_dir, "stats", NULL);
		g_autofree gchar *stats = NULL;
		gchar *raw = NULL;
		gsize raw_len = 0;

		if (!g_file_test(cpu_dir, G_FILE_TEST_IS_DIR))
			break;
		if (!g_file_get_contents(stats_path, &stats, NULL, error) ||
		    !g_file_get_contents(raw_path, &raw, &raw_len, error)) {
			g_prefix_error(error, "%s: ", name);
			return FALSE;
		}
		qtf_cpu_loss_parse_stats(qtf_capture_get_cpu(capture, cpu), stats);
		g_ptr_array_add(pages, g_bytes_new_take(raw, raw_len));
	}
	decoder = qtf_decoder_new(tep, capture);
	return qtf_decoder_feed_pages(decoder, pages, error);
}
