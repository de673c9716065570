/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "client-libvirt.h"
#include "client-output.h"
#include "client-panic.h"
#include "gmem-dmesg.h"
#include "kmsg-record.h"
#include "qga-json.h"

/* "<base>-1" ... before giving up on a directory that has them all */
#define CLIENT_PANIC_MAX_SUFFIX 1000

gchar *
client_panic_file_base(const gchar *domain, GDateTime *when)
{
	g_autoptr(GDateTime) utc = NULL;
	g_autoptr(GString) name = g_string_new(NULL);
	g_autofree gchar *stamp = NULL;
	gboolean changed = FALSE;
	gsize len = domain != NULL ? strlen(domain) : 0;

	g_return_val_if_fail(when != NULL, NULL);

	for (gsize i = 0; i < len && name->len < CLIENT_PANIC_MAX_NAME; i++) {
		gchar c = domain[i];
		gboolean ok = g_ascii_isalnum(c) || strchr("._+-", c) != NULL;

		/* not hidden, not an option, never "." or ".." */
		if (name->len == 0 && (c == '.' || c == '-'))
			ok = FALSE;
		g_string_append_c(name, ok ? c : '_');
		changed |= !ok;
	}
	changed |= name->len < len;
	if (name->len == 0)
		g_string_append(name, "guest");
	/* "a b" and "a_b" are two domains: two names */
	if (changed)
		g_string_append_printf(name, "-%08x", g_str_hash(domain));
	utc = g_date_time_to_utc(when);
	stamp = g_date_time_format(utc, "%Y%m%dT%H%M%S");
	g_string_append_printf(name, "-%s.%03dZ", stamp, g_date_time_get_microsecond(utc) / 1000);
	return g_string_free(g_steal_pointer(&name), FALSE);
}

/* ---- the records both files hold ---- */

/* a record of a guest-dmesg reply as common/kmsg-record has it; its text is
 * kmsg-escaped already (the reply's encoding) */
static KmsgRecord *
client_panic_record_from_json(JsonObject *object)
{
	KmsgRecord *record = g_new0(KmsgRecord, 1);
	const gchar *message = client_json_string(object, "message");
	JsonObject *dict = client_json_object(object, "dictionary");

	record->seq = (guint64)MAX(client_json_int(object, "seq", 0), 0);
	record->ts_usec = (guint64)MAX(client_json_int(object, "ts-us", 0), 0);
	record->level = (guint)CLAMP(client_json_int(object, "level", 6), 0, 7);
	record->facility = (guint)CLAMP(client_json_int(object, "facility", 0), 0, 127);
	record->continuation = client_json_bool(object, "continuation", FALSE);
	record->message = g_strdup(message != NULL ? message : "");
	if (dict != NULL) {
		g_autoptr(GStrvBuilder) lines = g_strv_builder_new();
		g_autoptr(GList) keys = json_object_get_members(dict);

		for (GList *l = keys; l != NULL; l = l->next) {
			const gchar *value = client_json_string(dict, l->data);
			g_autofree gchar *line = NULL;

			if (value == NULL)
				continue;
			line = g_strdup_printf("%s=%s", (const gchar *)l->data, value);
			g_strv_builder_add(lines, line);
		}
		record->dict = g_strv_builder_end(lines);
	}
	return record;
}

typedef struct {
	GString *log;	       /* dmesg-style lines */
	KmsgRecordReply *json; /* the same records */
	guint left_out;	       /* older records that did not fit */
} ClientPanicFiles;

static void
client_panic_files_clear(ClientPanicFiles *files)
{
	if (files->log != NULL)
		g_string_free(files->log, TRUE);
	g_clear_pointer(&files->json, kmsg_record_reply_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ClientPanicFiles, client_panic_files_clear)

/* the newest records that fit both files, oldest first: a panic's own
 * lines are the last ones */
static void
client_panic_files_fill(ClientPanicFiles *files, JsonArray *records)
{
	g_autoptr(GPtrArray) kept =
		g_ptr_array_new_with_free_func((GDestroyNotify)kmsg_record_free);
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	KmsgRecordFilter filter;
	guint n = records != NULL ? json_array_get_length(records) : 0;
	gsize log_bytes = 0;
	gsize json_bytes = KMSG_RECORD_REPLY_OVERHEAD;
	guint first = n;

	while (first > 0) {
		JsonObject *object = client_json_array_object(records, first - 1);
		g_autoptr(KmsgRecord) record = NULL;
		g_autofree gchar *line = NULL;
		gsize size;

		if (object == NULL)
			break;
		record = client_panic_record_from_json(object);
		line = client_format_dmesg_record(object, FALSE);
		size = kmsg_record_json_size(record) + 1;
		if (log_bytes + strlen(line) > CLIENT_PANIC_MAX_FILE_BYTES ||
		    json_bytes + size > CLIENT_PANIC_MAX_FILE_BYTES)
			break;
		log_bytes += strlen(line);
		json_bytes += size;
		g_ptr_array_add(kept, g_steal_pointer(&record));
		g_ptr_array_add(lines, g_steal_pointer(&line));
		first--;
	}
	files->left_out = first;
	files->log = g_string_sized_new(log_bytes);
	kmsg_record_filter_init(&filter);
	files->json = kmsg_record_reply_new(&filter);
	for (guint i = kept->len; i > 0; i--) {
		KmsgRecord *record = g_ptr_array_index(kept, i - 1);

		g_string_append(files->log, g_ptr_array_index(lines, i - 1));
		/* no bounds: every record goes in, and stays the array's */
		(void)kmsg_record_reply_add(files->json, &record);
	}
}

/* the .json: the reply as kmsg-record writes it, "memory" and "capture" after */
static gchar *
client_panic_json_text(ClientPanicFiles *files, JsonObject *reply, JsonObject *capture)
{
	KmsgRecordEnvelope envelope = {0};
	JsonNode *memory = json_object_get_member(reply, "memory");
	g_autoptr(JsonNode) capture_node = json_node_init_object(json_node_alloc(), capture);
	g_autofree gchar *text = NULL;
	g_autofree gchar *capture_text = qga_json_to_ascii(capture_node);
	GString *out;

	envelope.source = client_json_string(reply, "source");
	if (envelope.source == NULL)
		envelope.source = "memory";
	envelope.seq_synthesized = client_json_bool(reply, "seq-synthesized", FALSE);
	envelope.first_seq = (guint64)MAX(client_json_int(reply, "first-seq", 0), 0);
	envelope.next_seq = client_json_int(reply, "next-seq", -1);
	envelope.missed = (guint64)MAX(client_json_int(reply, "missed", 0), 0);
	text = kmsg_record_reply_finish(files->json, &envelope);
	g_clear_pointer(&files->json, kmsg_record_reply_free);
	/* kmsg_record_reply_finish() ends its object with '}': go on inside it */
	out = g_string_new_len(text, (gssize)strlen(text) - 1);
	if (memory != NULL && JSON_NODE_HOLDS_OBJECT(memory)) {
		g_autofree gchar *memory_text = qga_json_to_ascii(memory);

		g_string_append_printf(out, ",\"memory\":%s", memory_text);
	}
	g_string_append_printf(out, ",\"capture\":%s}\n", capture_text);
	return g_string_free(out, FALSE);
}

/* ---- writing ---- */

static gboolean
client_panic_set_errno(GError **error, gint errsv, const gchar *what, const gchar *path)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot %s '%s': %s", what,
		    path, g_strerror(errsv));
	return FALSE;
}

/* @text in a new hidden file in @dir, synced; *@path: its name */
static gboolean
client_panic_write_temp(const gchar *dir, const gchar *text, gchar **path, GError **error)
{
	g_autofree gchar *tmp = g_build_filename(dir, ".qgatrace-panic-XXXXXX", NULL);
	gsize len = strlen(text);
	gint fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return client_panic_set_errno(error, errno, "create a file in", dir);
	while (len > 0) {
		gssize n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			gint errsv = n < 0 ? errno : ENOSPC;

			close(fd);
			g_unlink(tmp);
			return client_panic_set_errno(error, errsv, "write", tmp);
		}
		text += n;
		len -= (gsize)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		gint errsv = errno;

		g_unlink(tmp);
		return client_panic_set_errno(error, errsv, "write", tmp);
	}
	*path = g_steal_pointer(&tmp);
	return TRUE;
}

/* the temporary files linked as <base>[-N].log and .json: link() never
 * replaces what is there; *@log_final: the .log's name */
static gboolean
client_panic_link(const gchar *dir, const gchar *base, const gchar *log_tmp, const gchar *json_tmp,
		  gchar **log_final, GError **error)
{
	for (guint n = 0; n < CLIENT_PANIC_MAX_SUFFIX; n++) {
		g_autofree gchar *stem =
			n == 0 ? g_strdup(base) : g_strdup_printf("%s-%u", base, n);
		g_autofree gchar *log_name = g_strconcat(stem, ".log", NULL);
		g_autofree gchar *json_name = g_strconcat(stem, ".json", NULL);
		g_autofree gchar *log_path = g_build_filename(dir, log_name, NULL);
		g_autofree gchar *json_path = g_build_filename(dir, json_name, NULL);

		if (link(log_tmp, log_path) < 0) {
			if (errno == EEXIST)
				continue;
			return client_panic_set_errno(error, errno, "create", log_path);
		}
		/* the .json last: a reader that sees it finds the .log too */
		if (link(json_tmp, json_path) < 0) {
			gint errsv = errno;

			g_unlink(log_path);
			if (errsv == EEXIST)
				continue;
			return client_panic_set_errno(error, errsv, "create", json_path);
		}
		*log_final = g_steal_pointer(&log_path);
		return TRUE;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
		    "'%s' already holds %u captures named '%s'", dir, CLIENT_PANIC_MAX_SUFFIX,
		    base);
	return FALSE;
}

/* @dir, made when missing; a directory we can write into */
static gboolean
client_panic_make_dir(const gchar *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0750) < 0)
		return client_panic_set_errno(error, errno, "create the directory", dir);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
		return client_panic_set_errno(error, ENOTDIR, "use", dir);
	return TRUE;
}

/* the name as text for JSON: any bytes in, valid UTF-8 out */
static gchar *
client_panic_domain_text(const gchar *domain)
{
	if (domain == NULL)
		return NULL;
	return g_utf8_make_valid(domain, -1);
}

gboolean
client_panic_save(const gchar *dir, const gchar *domain, GDateTime *when, JsonObject *reply,
		  JsonObject *capture, gchar **log_path, GError **error)
{
	g_auto(ClientPanicFiles) files = {0};
	g_autoptr(JsonObject) members = json_object_new();
	g_autoptr(GDateTime) utc = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *json_text = NULL;
	g_autofree gchar *log_tmp = NULL;
	g_autofree gchar *json_tmp = NULL;
	g_autofree gchar *log_final = NULL;
	g_autofree gchar *name = client_panic_domain_text(domain);
	g_autofree gchar *time = NULL;
	gboolean ok;

	g_return_val_if_fail(dir != NULL, FALSE);
	g_return_val_if_fail(when != NULL, FALSE);
	g_return_val_if_fail(reply != NULL, FALSE);

	if (!client_panic_make_dir(dir, error))
		return FALSE;
	base = client_panic_file_base(domain, when);
	utc = g_date_time_to_utc(when);
	time = g_date_time_format_iso8601(utc);
	client_panic_files_fill(&files, client_json_array(reply, "records"));
	if (name != NULL)
		json_object_set_string_member(members, "domain", name);
	else
		json_object_set_null_member(members, "domain");
	json_object_set_string_member(members, "time", time);
	json_object_set_int_member(members, "records-left-out", files.left_out);
	if (capture != NULL) {
		g_autoptr(GList) keys = json_object_get_members(capture);

		for (GList *l = keys; l != NULL; l = l->next)
			json_object_set_member(members, l->data,
					       json_object_dup_member(capture, l->data));
	}
	json_text = client_panic_json_text(&files, reply, members);
	if (!client_panic_write_temp(dir, files.log->str, &log_tmp, error))
		return FALSE;
	if (!client_panic_write_temp(dir, json_text, &json_tmp, error)) {
		g_unlink(log_tmp);
		return FALSE;
	}
	ok = client_panic_link(dir, base, log_tmp, json_tmp, &log_final, error);
	g_unlink(log_tmp);
	g_unlink(json_tmp);
	if (!ok)
		return FALSE;
	/* the new names survive a host crash too */
	{
		gint fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	if (log_path != NULL)
		*log_path = g_steal_pointer(&log_final);
	return TRUE;
}

/* ---- reading a crashed domain ---- */

/* libvirt dumps the domain's RAM into a private directory in @dir, read
 * here; both are removed on every path */
static JsonObject *
client_panic_read(virDomainPtr domain, const gchar *dir, GError **error)
{
	g_autofree gchar *tmp_dir = g_build_filename(dir, ".qgatrace-dump-XXXXXX", NULL);
	g_autofree gchar *dump = NULL;
	JsonObject *reply = NULL;
	GmemDmesgOptions opts;

	if (g_mkdtemp_full(tmp_dir, 0700) == NULL) {
		client_panic_set_errno(error, errno, "create a directory in", dir);
		return NULL;
	}
	dump = g_build_filename(tmp_dir, "memory.elf", NULL);
	gmem_dmesg_options_init(&opts);
	if (client_libvirt_dump_domain_memory(domain, dump, error))
		reply = gmem_dmesg_read_from_dump(dump, &opts, error);
	if (g_unlink(dump) < 0 && errno != ENOENT)
		g_warning("cannot remove '%s': %s", dump, g_strerror(errno));
	if (g_rmdir(tmp_dir) < 0)
		g_warning("cannot remove '%s': %s", tmp_dir, g_strerror(errno));
	return reply;
}

/* whether the domain's memory still holds the crashed kernel */
static gboolean
client_panic_check_state(const gchar *name, int state, GError **error)
{
	switch (state) {
	case VIR_DOMAIN_CRASHED:
	case VIR_DOMAIN_PAUSED:
		return TRUE;
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "domain '%s' is running, not crashed: its memory holds no crashed "
			    "kernel (libvirt's <on_crash> restarted it?); "
			    "<on_crash>preserve</on_crash> keeps a crashed guest paused",
			    name);
		return FALSE;
	case VIR_DOMAIN_SHUTOFF:
	case VIR_DOMAIN_SHUTDOWN:
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "domain '%s' is shut off: the crashed guest's memory is gone "
			    "(<on_crash>destroy</on_crash> is libvirt's default); "
			    "<on_crash>preserve</on_crash> keeps it",
			    name);
		return FALSE;
	default: {
		g_autofree gchar *what = client_libvirt_state_name(state);

		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "domain '%s' is %s: not a crashed guest", name, what);
		return FALSE;
	}
	}
}

gboolean
client_panic_capture(virConnectPtr conn, virDomainPtr domain, const char *dir, char **log_path,
		     GError **error)
{
	g_autoptr(GDateTime) when = g_date_time_new_now_utc();
	g_autoptr(JsonObject) reply = NULL;
	g_autoptr(JsonObject) capture = json_object_new();
	g_autofree gchar *before_name = NULL;
	g_autofree gchar *after_name = NULL;
	g_autoptr(GError) error_after = NULL;
	const char *name;
	int before, after, reason;

	g_return_val_if_fail(conn != NULL, FALSE);
	g_return_val_if_fail(domain != NULL && virDomainGetConnect(domain) == conn, FALSE);
	g_return_val_if_fail(dir != NULL, FALSE);

	name = virDomainGetName(domain);
	if (name == NULL)
		name = "?";
	if (!client_libvirt_domain_state(domain, &before, &reason, error))
		return FALSE;
	if (!client_panic_check_state(name, before, error))
		return FALSE;
	if (!client_panic_make_dir(dir, error))
		return FALSE;
	reply = client_panic_read(domain, dir, error);
	if (reply == NULL) {
		g_prefix_error(error, "reading the kernel log of domain '%s': ", name);
		return FALSE;
	}
	before_name = client_libvirt_state_name(before);
	json_object_set_string_member(capture, "state-before", before_name);
	/* the log is read: save it even when libvirt no longer answers */
	if (!client_libvirt_domain_state(domain, &after, &reason, &error_after)) {
		g_warning("%s, ignoring", error_after->message);
		json_object_set_null_member(capture, "state-after");
	} else {
		after_name = client_libvirt_state_name(after);
		/* libvirt's dump resumes only what it paused itself */
		if (after != before)
			g_warning("domain '%s' was %s before its memory was read and is %s after",
				  name, before_name, after_name);
		json_object_set_string_member(capture, "state-after", after_name);
	}
	return client_panic_save(dir, name, when, reply, capture, log_path, error);
}
