/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "qtf-private.h"

/*
 * Linux 6.1: sb_start_write() and friends are percpu_down_read() on
 * sb->s_writers.rw_sem[level]; while freeze_super() holds them for write,
 * a reader takes the slow path __percpu_down_read(), fails the trylock
 * and sleeps in percpu_rwsem_wait(sem, reader=true) until thaw_super()
 * lets it go, then returns from __percpu_down_read(). The s_dev offset
 * (after s_list) was checked in a Debian 6.1 cloud guest.
 */
#define QTF_STALL_CLOCK "mono"
/* a kretprobe instance per task sleeping in the probed function: room for
 * many blocked writers (a miss shows in kprobe_profile) */
#define QTF_STALL_MAXACTIVE "512"
#define QTF_STALL_COMM_MAX  64

typedef struct {
	const gchar *name;
	const gchar *definition; /* as kprobe_events reads it back */
} QtfStallProbe;

static const QtfStallProbe qtf_stall_probes[] = {
	{"freeze_super",
	 "p:" QTF_STALL_GROUP "/freeze_super freeze_super sb=%di:x64 dev=+16(%di):u32"},
	{"stall_wait",
	 "p:" QTF_STALL_GROUP "/stall_wait percpu_rwsem_wait sem=%di:x64 reader=%si:u8 comm=$comm"},
	{"stall_acquired",
	 "r" QTF_STALL_MAXACTIVE ":" QTF_STALL_GROUP "/stall_acquired __percpu_down_read"},
};

struct _QtfStallRecorder {
	gchar *name;
	gchar *tracing_dir;
	struct tracefs_instance *tfs;
	/* loss counters as the last collection left them: they only grow */
	guint64 lost_base;
	guint64 missed_base;
	struct tep_handle *tep;
};

/* ---- the log ---- */

QtfStallLog *
qtf_stall_log_new(void)
{
	QtfStallLog *self = g_new0(QtfStallLog, 1);

	self->records = g_array_new(FALSE, TRUE, sizeof(QtfStallRecord));
	self->complete = TRUE;
	return self;
}

void
qtf_stall_log_add(QtfStallLog *self, QtfStallRecordKind kind, guint64 ts_ns, gint pid,
		  const gchar *comm, guint64 addr, guint32 dev)
{
	QtfStallRecord record = {kind, ts_ns, pid, g_strdup(comm), addr, dev};

	g_array_append_val(self->records, record);
}

void
qtf_stall_log_free(QtfStallLog *self)
{
	if (self == NULL)
		return;
	for (guint i = 0; i < self->records->len; i++)
		g_free(g_array_index(self->records, QtfStallRecord, i).comm);
	g_array_unref(self->records);
	g_free(self);
}

/* ---- the recorder ---- */

/* "qgatrace/name" lines of kprobe_events that read back as ours */
static gboolean
qtf_stall_probe_defined(const gchar *defined, const QtfStallProbe *probe)
{
	g_auto(GStrv) lines = g_strsplit(defined != NULL ? defined : "", "\n", -1);

	return g_strv_contains((const gchar *const *)lines, probe->definition);
}

static gboolean
qtf_stall_define_probes(GError **error)
{
	g_autoptr(TracefsString) defined = tracefs_instance_file_read(NULL, "kprobe_events", NULL);

	for (guint i = 0; i < G_N_ELEMENTS(qtf_stall_probes); i++) {
		const QtfStallProbe *probe = &qtf_stall_probes[i];
		g_autofree gchar *removal = NULL;

		if (qtf_stall_probe_defined(defined, probe))
			continue;
		/* one of our names with another definition (an older agent's):
		 * fails with EBUSY while an instance uses it, then so does the add */
		removal = g_strdup_printf("-:" QTF_STALL_GROUP "/%s\n", probe->name);
		if (tracefs_instance_file_append(NULL, "kprobe_events", removal) < 0)
			g_debug("no kprobe event '%s' to replace", probe->name);
		if (tracefs_instance_file_append(NULL, "kprobe_events", probe->definition) < 0) {
			gint errsv = errno;
			qtf_set_error_errno(error, errsv, NULL,
					    "cannot define the kprobe event '%s'",
					    probe->definition);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
qtf_stall_recorder_write(QtfStallRecorder *self, const gchar *file, const gchar *value,
			 GError **error)
{
	if (tracefs_instance_file_write(self->tfs, file, value) < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot write '%s' to %s", value,
				    file);
		return FALSE;
	}
	return TRUE;
}

/* events lost over all CPUs per the counters, and kretprobe/kprobe misses
 * of our events (kprobe_profile: "name hits misses") */
static void
qtf_stall_recorder_counters(QtfStallRecorder *self, guint64 *lost, guint64 *missed,
			    gboolean *unknown)
{
	g_autoptr(QtfCapture) counts = qtf_capture_new(QTF_METHOD_NONE);
	g_autoptr(TracefsString) profile = tracefs_instance_file_read(NULL, "kprobe_profile", NULL);
	g_auto(GStrv) lines = g_strsplit(profile != NULL ? profile : "", "\n", -1);

	*lost = 0;
	*missed = 0;
	*unknown = profile == NULL;
	qtf_instance_read_losses(self->tfs, counts);
	for (guint i = 0; i < counts->cpus->len; i++) {
		const QtfCpuLoss *loss = &g_array_index(counts->cpus, QtfCpuLoss, i);

		*lost += loss->overrun + loss->commit_overrun + loss->dropped;
		if (loss->missed < 0)
			*unknown = TRUE;
	}
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) fields = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
		g_autoptr(GPtrArray) words = g_ptr_array_new();

		for (guint k = 0; fields[k] != NULL; k++) {
			if (*fields[k] != '\0')
				g_ptr_array_add(words, fields[k]);
		}
		for (guint k = 0; words->len == 3 && k < G_N_ELEMENTS(qtf_stall_probes); k++) {
			if (g_strcmp0(g_ptr_array_index(words, 0), qtf_stall_probes[k].name) == 0)
				*missed += g_ascii_strtoull(g_ptr_array_index(words, 2), NULL, 10);
		}
	}
}

QtfStallRecorder *
qtf_stall_recorder_new(const gchar *tracing_dir, const gchar *instance, guint buffer_kb,
		       GError **error)
{
	g_autoptr(QtfStallRecorder) self = g_new0(QtfStallRecorder, 1);
	g_autoptr(GPtrArray) formats = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *size = NULL;
	gboolean unknown;

	g_return_val_if_fail(tracing_dir != NULL && instance != NULL, NULL);

	self->name = g_strdup(instance);
	self->tracing_dir = g_strdup(tracing_dir);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	g_set_error_literal(error, QTF_ERROR, QTF_ERROR_UNAVAILABLE,
			    "tracing is disabled in a fuzzing build");
	return NULL;
#endif
	if (!qtf_stall_define_probes(error) ||
	    !qtf_instance_remove_stale(self->tracing_dir, self->name, error))
		return NULL;
	self->tfs = tracefs_instance_create(self->name);
	if (self->tfs == NULL) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, NULL, "cannot create the instance '%s'",
				    self->name);
		return NULL;
	}
	size = g_strdup_printf("%u", buffer_kb != 0 ? buffer_kb : QTF_STALL_DEFAULT_BUFFER_KB);
	if (!qtf_stall_recorder_write(self, "tracing_on", "0", error) ||
	    !qtf_stall_recorder_write(self, "buffer_size_kb", size, error) ||
	    !qtf_stall_recorder_write(self, "trace_clock", QTF_STALL_CLOCK, error))
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(qtf_stall_probes); i++) {
		if (tracefs_event_enable(self->tfs, QTF_STALL_GROUP, qtf_stall_probes[i].name) <
		    0) {
			gint errsv = errno;
			qtf_set_error_errno(error, errsv, self->tfs, "cannot enable the event '%s'",
					    qtf_stall_probes[i].name);
			return NULL;
		}
		g_ptr_array_add(formats,
				g_strdup_printf(QTF_STALL_GROUP "/%s", qtf_stall_probes[i].name));
	}
	/* the writer side of a semaphore (freeze_super itself) is no stall */
	if (tracefs_event_file_write(self->tfs, QTF_STALL_GROUP, "stall_wait", "filter",
				     "reader == 1") < 0) {
		gint errsv = errno;
		qtf_set_error_errno(error, errsv, self->tfs, "cannot filter 'stall_wait'");
		return NULL;
	}
	self->tep = qtf_tep_load(self->tracing_dir, NULL, formats, NULL, error);
	if (self->tep == NULL)
		return NULL;
	qtf_stall_recorder_counters(self, &self->lost_base, &self->missed_base, &unknown);
	return g_steal_pointer(&self);
}

gboolean
qtf_stall_recorder_start(QtfStallRecorder *self, GError **error)
{
	g_return_val_if_fail(self != NULL, FALSE);

	/* the nop tracer: no buffer reset, no grace period, one write */
	return qtf_stall_recorder_write(self, "tracing_on", "1", error);
}

typedef struct {
	QtfStallRecorder *self;
	QtfStallLog *log;
	GHashTable *excluded; /* tids */
} QtfStallDrain;

static guint64
qtf_stall_field(struct tep_event *event, struct tep_record *record, const gchar *name)
{
	struct tep_format_field *field = tep_find_field(event, name);
	unsigned long long value = 0;

	if (field == NULL || tep_read_number_field(field, record->data, &value) < 0)
		return 0;
	return value;
}

static int
qtf_stall_record_cb(struct tep_event *event, struct tep_record *record, int cpu, void *data)
{
	QtfStallDrain *drain = data;
	gint pid = tep_data_pid(event->tep, record);
	g_autofree gchar *comm = NULL;
	gint len = 0;
	const gchar *raw;

	(void)cpu;
	if (record->missed_events != 0)
		drain->log->complete = FALSE;
	/* the excluded freeze, but never wait */
	if (g_strcmp0(event->name, "freeze_super") == 0) {
		qtf_stall_log_add(drain->log, QTF_STALL_RECORD_FREEZE, record->ts, pid, NULL,
				  qtf_stall_field(event, record, "sb"),
				  (guint32)qtf_stall_field(event, record, "dev"));
	} else if (g_hash_table_contains(drain->excluded, GINT_TO_POINTER(pid))) {
		return 0;
	} else if (g_strcmp0(event->name, "stall_wait") == 0) {
		raw = tep_get_field_raw(NULL, event, "comm", record, &len, 0);
		if (raw != NULL && len > 0)
			comm = g_strndup(raw, MIN(len, QTF_STALL_COMM_MAX));
		qtf_stall_log_add(drain->log, QTF_STALL_RECORD_WAIT, record->ts, pid, comm,
				  qtf_stall_field(event, record, "sem"), 0);
	} else if (g_strcmp0(event->name, "stall_acquired") == 0) {
		qtf_stall_log_add(drain->log, QTF_STALL_RECORD_ACQUIRED, record->ts, pid, NULL, 0,
				  0);
	}
	return 0;
}

/* the threads of each process in @exclude, as /proc lists them now */
static GHashTable *
qtf_stall_excluded_tids(const GPid *exclude, guint n_exclude)
{
	GHashTable *tids = g_hash_table_new(g_direct_hash, g_direct_equal);

	for (guint i = 0; i < n_exclude; i++) {
		g_autofree gchar *path = g_strdup_printf("/proc/%d/task", (gint)exclude[i]);
		g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
		const gchar *name;

		g_hash_table_add(tids, GINT_TO_POINTER(exclude[i]));
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			gint64 tid = g_ascii_strtoll(name, NULL, 10);

			if (tid > 0 && tid <= G_MAXINT)
				g_hash_table_add(tids, GINT_TO_POINTER((gint)tid));
		}
	}
	return tids;
}

QtfStallLog *
qtf_stall_recorder_collect(QtfStallRecorder *self, const GPid *exclude, guint n_exclude,
			   GError **error)
{
	g_autoptr(QtfStallLog) log = qtf_stall_log_new();
	g_autoptr(GHashTable) excluded = qtf_stall_excluded_tids(exclude, n_exclude);
	QtfStallDrain drain = {self, log, excluded};
	guint64 lost;
	guint64 missed;
	gboolean unknown;

	g_return_val_if_fail(self != NULL, NULL);

	log->end_ns = qtf_clock_now_ns();
	if (!qtf_stall_recorder_write(self, "tracing_on", "0", error))
		return NULL;
	qtf_stall_recorder_counters(self, &lost, &missed, &unknown);
	if (unknown || lost != self->lost_base || missed != self->missed_base)
		log->complete = FALSE;
	self->lost_base = lost;
	self->missed_base = missed;
	if (!qtf_instance_drain(self->tfs, self->tep, qtf_stall_record_cb, &drain, error))
		return NULL;
	return g_steal_pointer(&log);
}

void
qtf_stall_recorder_free(QtfStallRecorder *self)
{
	if (self == NULL)
		return;
	if (self->tfs != NULL)
		qtf_instance_destroy(self->tfs, self->name);
	if (self->tep != NULL)
		tep_free(self->tep);
	g_free(self->name);
	g_free(self->tracing_dir);
	g_free(self);
}

/* ---- matching ---- */

typedef struct {
	guint64 sb;
	gint mount; /* index into the mounts, -1: none of ours */
} QtfStallSuper;

static gint
qtf_stall_super_cmp(gconstpointer a, gconstpointer b)
{
	const QtfStallSuper *x = a;
	const QtfStallSuper *y = b;

	return x->sb < y->sb ? -1 : x->sb > y->sb;
}

/* the mount whose superblock holds @sem: the nearest frozen one below */
static gint
qtf_stall_mount_of(GArray *supers, guint64 sem)
{
	gint found = -1;

	for (guint i = 0; i < supers->len; i++) {
		const QtfStallSuper *s = &g_array_index(supers, QtfStallSuper, i);

		if (s->sb > sem)
			break;
		found = sem - s->sb < QTF_STALL_SUPER_BLOCK_MAX ? s->mount : -1;
	}
	return found;
}

static gint
qtf_stall_dev_mount(const QtfMount *mounts, guint n_mounts, guint32 dev)
{
	for (guint i = 0; i < n_mounts; i++) {
		if ((mounts[i].dev_major != 0 || mounts[i].dev_minor != 0) &&
		    mounts[i].dev_major == dev >> 20 && mounts[i].dev_minor == (dev & 0xfffff))
			return (gint)i;
	}
	return -1;
}

static void
qtf_stall_free(QtfStall *self)
{
	g_free(self->comm);
	g_free(self->mountpoint);
	g_free(self);
}

typedef struct {
	guint64 since;
	gint mount;
	const gchar *comm;
} QtfStallWait;

static void
qtf_stall_add(QtfStalls *stalls, const QtfMount *mounts, gint pid, const QtfStallWait *wait,
	      guint64 until)
{
	const gchar *mountpoint = mounts[wait->mount].mountpoint;
	QtfStall *stall;

	for (guint i = 0; i < stalls->len; i++) {
		stall = g_ptr_array_index(stalls, i);
		if (stall->pid == pid && g_strcmp0(stall->mountpoint, mountpoint) == 0) {
			stall->blocked_ns += until - wait->since;
			return;
		}
	}
	stall = g_new0(QtfStall, 1);
	stall->pid = pid;
	stall->comm = g_strdup(wait->comm);
	stall->mountpoint = g_strdup(mountpoint);
	stall->first_blocked_ns = wait->since;
	stall->blocked_ns = until - wait->since;
	g_ptr_array_add(stalls, stall);
}

static gint
qtf_stall_longest_first(gconstpointer a, gconstpointer b)
{
	const QtfStall *x = *(QtfStall *const *)a;
	const QtfStall *y = *(QtfStall *const *)b;

	if (x->blocked_ns != y->blocked_ns)
		return x->blocked_ns > y->blocked_ns ? -1 : 1;
	return x->first_blocked_ns < y->first_blocked_ns
		       ? -1
		       : x->first_blocked_ns > y->first_blocked_ns;
}

QtfStalls *
qtf_stalls_match(const QtfStallLog *log, const QtfMount *mounts, guint n_mounts)
{
	QtfStalls *stalls = g_ptr_array_new_with_free_func((GDestroyNotify)qtf_stall_free);
	g_autoptr(GArray) supers = g_array_new(FALSE, FALSE, sizeof(QtfStallSuper));
	g_autoptr(GHashTable) waiting =
		g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	GHashTableIter iter;
	gpointer pid;
	gpointer value;

	g_return_val_if_fail(log != NULL, stalls);

	/* every superblock frozen in the session; a wait comes after its freeze */
	for (guint i = 0; i < log->records->len; i++) {
		const QtfStallRecord *r = &g_array_index(log->records, QtfStallRecord, i);
		QtfStallSuper super = {r->addr, qtf_stall_dev_mount(mounts, n_mounts, r->dev)};

		if (r->kind == QTF_STALL_RECORD_FREEZE)
			g_array_append_val(supers, super);
	}
	g_array_sort(supers, qtf_stall_super_cmp);
	for (guint i = 0; i < log->records->len; i++) {
		const QtfStallRecord *r = &g_array_index(log->records, QtfStallRecord, i);
		QtfStallWait *wait = g_hash_table_lookup(waiting, GINT_TO_POINTER(r->pid));
		gint mount;

		if (r->kind == QTF_STALL_RECORD_WAIT && wait == NULL) {
			mount = qtf_stall_mount_of(supers, r->addr);
			if (mount < 0)
				continue;
			wait = g_new0(QtfStallWait, 1);
			*wait = (QtfStallWait){r->ts_ns, mount, r->comm};
			g_hash_table_insert(waiting, GINT_TO_POINTER(r->pid), wait);
		} else if (r->kind == QTF_STALL_RECORD_ACQUIRED && wait != NULL) {
			qtf_stall_add(stalls, mounts, r->pid, wait, MAX(r->ts_ns, wait->since));
			g_hash_table_remove(waiting, GINT_TO_POINTER(r->pid));
		}
	}
	g_hash_table_iter_init(&iter, waiting);
	while (g_hash_table_iter_next(&iter, &pid, &value)) {
		const QtfStallWait *wait = value;

		qtf_stall_add(stalls, mounts, GPOINTER_TO_INT(pid), wait,
			      MAX(log->end_ns, wait->since));
	}
	g_ptr_array_sort(stalls, qtf_stall_longest_first);
	return stalls;
}

JsonNode *
qtf_stalls_to_json(QtfStalls *stalls)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_array(b);
	for (guint i = 0; i < stalls->len; i++) {
		const QtfStall *stall = g_ptr_array_index(stalls, i);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "pid");
		json_builder_add_int_value(b, stall->pid);
		json_builder_set_member_name(b, "comm");
		if (stall->comm != NULL)
			json_builder_add_string_value(b, stall->comm);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "mountpoint");
		json_builder_add_string_value(b, stall->mountpoint);
		json_builder_set_member_name(b, "first-blocked-ns");
		json_builder_add_int_value(b, (gint64)stall->first_blocked_ns);
		json_builder_set_member_name(b, "blocked-ns");
		json_builder_add_int_value(b, (gint64)stall->blocked_ns);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	return json_builder_get_root(b);
}
