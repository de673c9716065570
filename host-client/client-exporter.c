/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-exporter.h"
#include "client-klog.h"
#include "client-metrics.h"
#include "client-output.h"
#include "client-probe.h"

/* how soon to try libvirtd again after losing it */
#define CLIENT_EXPORTER_RECONNECT_S 5

static const gchar *const client_exporter_error_kinds[] = {CLIENT_PROBE_ERROR_KINDS};

/* ---- the configuration ---- */

ClientExporterConfig *
client_exporter_config_new(void)
{
	ClientExporterConfig *self = g_new0(ClientExporterConfig, 1);

	self->listen = g_strdup(CLIENT_EXPORTER_DEFAULT_LISTEN);
	self->interval_s = CLIENT_EXPORTER_DEFAULT_INTERVAL;
	self->timeout_ms = 10000;
	self->parallel = CLIENT_EXPORTER_DEFAULT_PARALLEL;
	self->klog_level = 7;
	return self;
}

void
client_exporter_config_free(ClientExporterConfig *self)
{
	if (self == NULL)
		return;
	g_free(self->uri);
	g_free(self->listen);
	g_free(self->panic_dir);
	g_strfreev(self->private_domains);
	g_free(self);
}

/* an unsigned key within [@min, @max], left as it is when absent */
static gboolean
client_exporter_config_uint(GKeyFile *file, const gchar *key, guint min, guint max, guint *out,
			    GError **error)
{
	g_autofree gchar *text = g_key_file_get_value(file, "exporter", key, NULL);
	guint64 value;

	if (text == NULL)
		return TRUE;
	if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, min, max, &value, NULL)) {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			    "[exporter] %s: '%s' is not a number from %u to %u", key, text, min,
			    max);
		return FALSE;
	}
	*out = (guint)value;
	return TRUE;
}

gboolean
client_exporter_config_load(ClientExporterConfig *self, const gchar *path, GError **error)
{
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autofree gchar *text = NULL;
	guint timeout_s = self->timeout_ms / 1000;
	guint level = (guint)MAX(self->klog_level, 0);
	gboolean klog = self->klog_level >= 0;
	g_autoptr(GError) error_local = NULL;

	if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "'%s': ", path);
		return FALSE;
	}
	if ((text = g_key_file_get_string(file, "exporter", "connect", NULL)) != NULL) {
		g_free(self->uri);
		self->uri = g_steal_pointer(&text);
	}
	if ((text = g_key_file_get_string(file, "exporter", "listen", NULL)) != NULL) {
		g_free(self->listen);
		self->listen = g_steal_pointer(&text);
	}
	if ((text = g_key_file_get_string(file, "exporter", "panic-dir", NULL)) != NULL) {
		g_free(self->panic_dir);
		self->panic_dir = g_steal_pointer(&text);
	}
	if (!client_exporter_config_uint(file, "interval", 1, 86400, &self->interval_s, error) ||
	    !client_exporter_config_uint(file, "timeout", 1, 3600, &timeout_s, error) ||
	    !client_exporter_config_uint(file, "parallel", 1, 256, &self->parallel, error) ||
	    !client_exporter_config_uint(file, "kernel-log-level", 0, 7, &level, error)) {
		g_prefix_error(error, "'%s': ", path);
		return FALSE;
	}
	if (g_key_file_has_key(file, "exporter", "kernel-log", NULL)) {
		klog = g_key_file_get_boolean(file, "exporter", "kernel-log", &error_local);
		if (error_local != NULL) {
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "'%s': [exporter] kernel-log: ", path);
			return FALSE;
		}
	}
	self->timeout_ms = timeout_s * 1000;
	self->klog_level = klog ? (gint)level : -1;
	if (g_key_file_has_key(file, "privacy", "domains", NULL)) {
		g_strfreev(self->private_domains);
		self->private_domains =
			g_key_file_get_string_list(file, "privacy", "domains", NULL, NULL);
	}
	return TRUE;
}

gboolean
client_exporter_config_is_private(const ClientExporterConfig *self, const gchar *domain)
{
	for (guint i = 0; self->private_domains != NULL && self->private_domains[i] != NULL; i++) {
		if (g_pattern_match_simple(g_strstrip(self->private_domains[i]), domain))
			return TRUE;
	}
	return FALSE;
}

/* ---- the domains ---- */

typedef struct {
	gchar *name;
	gboolean private;
	gboolean active;   /* running as far as libvirt's events say */
	gint64 stopped_at; /* monotonic µs */
	gboolean probing;
	gboolean reprobe; /* an event came while a probe ran */
	ClientProbeResult *last;
	gint64 last_at; /* monotonic µs the last probe ended */
	guint64 probes;
	guint64 errors[G_N_ELEMENTS(client_exporter_error_kinds)];
	ClientKlog *klog; /* NULL for a private domain */
	ClientProbeTally *freezes;
	guint64 panics;
	gchar *newest_id;	 /* the newest session over */
	gdouble newest_frozen_s; /* its longest frozen mount; < 0 unknown */
	gdouble newest_seen_at;	 /* when the exporter first saw it: Unix seconds */
} ExporterDomain;

static void
exporter_domain_free(ExporterDomain *self)
{
	g_free(self->name);
	client_probe_result_free(self->last);
	client_klog_free(self->klog);
	client_probe_tally_free(self->freezes);
	g_free(self->newest_id);
	g_free(self);
}

struct _ClientExporter {
	const ClientExporterConfig *config;
	GMainContext *context;
	ClientLibvirt *libvirt; /* NULL while libvirtd is away */
	GHashTable *domains;	/* name -> ExporterDomain */
	GThreadPool *pool;
	GThreadPool *crash_pool;
	gint callbacks[2]; /* libvirt's event callback ids; -1: none */
	guint tick_id;
	guint reconnect_id;
	GThread *event_thread;
	gint stopping;	  /* atomic: the event thread's end */
	gboolean closing; /* no new probe or crash job: the pools are going */
	guint probes_running;
	guint64 events;
	ClientExporterCrashFunc crash_func;
	gpointer crash_data;
};

/* a probe on its way to the pool and back */
typedef struct {
	ClientExporter *exporter;
	ClientLibvirt *libvirt; /* a handle of its own on the connection */
	gchar *name;
	ClientKlog *klog; /* the domain's, borrowed while it probes */
	ClientProbeOptions options;
	gchar *known_session;
	ClientProbeResult *result;
} ExporterJob;

static void
exporter_job_free(ExporterJob *job)
{
	client_libvirt_free(job->libvirt);
	g_free(job->name);
	g_free(job->known_session);
	client_probe_result_free(job->result);
	g_free(job);
}

static ExporterDomain *
exporter_domain_get(ClientExporter *self, const gchar *name)
{
	ExporterDomain *d = g_hash_table_lookup(self->domains, name);

	if (d != NULL || g_hash_table_size(self->domains) >= CLIENT_EXPORTER_MAX_DOMAINS)
		return d;
	d = g_new0(ExporterDomain, 1);
	d->name = g_strdup(name);
	d->private = client_exporter_config_is_private(self->config, name);
	d->klog = d->private || self->config->klog_level < 0 ? NULL : client_klog_new();
	d->freezes = client_probe_tally_new();
	d->newest_frozen_s = -1;
	g_hash_table_insert(self->domains, d->name, d);
	return d;
}

/* the freezes, and the newest session's first sight */
static void
exporter_count_sessions(ExporterDomain *d, ClientProbeResult *result)
{
	ClientProbeSession *last = client_probe_result_last_session(result);

	client_probe_tally_add(d->freezes, result);
	if (last == NULL)
		return;
	if (g_strcmp0(last->id, d->newest_id) != 0) {
		g_free(d->newest_id);
		d->newest_id = g_strdup(last->id);
		d->newest_seen_at = g_get_real_time() / 1e6;
		d->newest_frozen_s = -1;
	}
	if (result->last_frozen_seconds >= 0)
		d->newest_frozen_s = result->last_frozen_seconds;
}

static void exporter_probe(ClientExporter *self, ExporterDomain *d);

/* back in the main context */
static gboolean
exporter_probe_done(gpointer data)
{
	ExporterJob *job = data;
	ClientExporter *self = job->exporter;
	ExporterDomain *d = g_hash_table_lookup(self->domains, job->name);
	ClientProbeResult *result = job->result;

	self->probes_running--;
	if (d == NULL)
		return G_SOURCE_REMOVE;
	d->probing = FALSE;
	d->probes++;
	for (guint i = 0; i < result->errors->len; i++) {
		const gchar *kind = g_ptr_array_index(result->errors, i);

		for (guint k = 0; k < G_N_ELEMENTS(client_exporter_error_kinds); k++) {
			if (g_strcmp0(kind, client_exporter_error_kinds[k]) == 0)
				d->errors[k]++;
		}
	}
	exporter_count_sessions(d, result);
	client_probe_result_free(d->last);
	d->last = g_steal_pointer(&job->result);
	d->last_at = g_get_monotonic_time();
	if (d->reprobe && d->active) {
		d->reprobe = FALSE;
		exporter_probe(self, d);
	}
	return G_SOURCE_REMOVE;
}

/* in a pool thread: the guest may take its time here, never a scrape */
static void
exporter_probe_run(gpointer data, gpointer user_data)
{
	ExporterJob *job = data;

	job->result = client_probe_domain(job->libvirt, job->name, &job->options, job->klog);
	g_main_context_invoke_full(job->exporter->context, G_PRIORITY_DEFAULT, exporter_probe_done,
				   job, (GDestroyNotify)exporter_job_free);
}

static void
exporter_probe(ClientExporter *self, ExporterDomain *d)
{
	ExporterJob *job;

	if (d->probing) {
		d->reprobe = TRUE;
		return;
	}
	if (self->libvirt == NULL || !d->active || self->closing)
		return;
	job = g_new0(ExporterJob, 1);
	job->exporter = self;
	job->libvirt = client_libvirt_open_domain(self->libvirt, NULL, NULL);
	job->name = g_strdup(d->name);
	job->klog = d->klog;
	job->known_session = g_strdup(d->newest_id);
	job->options.timeout_ms = self->config->timeout_ms;
	job->options.klog_level = d->klog != NULL ? self->config->klog_level : -1;
	job->options.known_session = job->known_session;
	job->options.known_frozen_seconds = d->newest_frozen_s;
	d->probing = TRUE;
	self->probes_running++;
	g_thread_pool_push(self->pool, job, NULL);
}

/* every second: who is due, and who stopped long enough ago to forget */
static gboolean
exporter_tick(gpointer data)
{
	ClientExporter *self = data;
	gint64 now = g_get_monotonic_time();
	GHashTableIter iter;
	ExporterDomain *d;

	g_hash_table_iter_init(&iter, self->domains);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&d)) {
		if (!d->active && !d->probing &&
		    now - d->stopped_at > CLIENT_EXPORTER_KEEP_STOPPED_S * G_USEC_PER_SEC) {
			g_hash_table_iter_remove(&iter);
			continue;
		}
		if (d->active &&
		    (d->last_at == 0 ||
		     now - d->last_at >= (gint64)self->config->interval_s * G_USEC_PER_SEC))
			exporter_probe(self, d);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- libvirt's events ---- */

typedef enum {
	EXPORTER_EVENT_STARTED,
	EXPORTER_EVENT_STOPPED,
	EXPORTER_EVENT_CRASHED,
	EXPORTER_EVENT_CHANGED, /* paused, resumed, the agent came or went */
	EXPORTER_EVENT_CLOSED,	/* the connection to libvirtd */
} ExporterEventKind;

typedef struct {
	ClientExporter *exporter;
	ExporterEventKind kind;
	gchar *name;
} ExporterEvent;

static void
exporter_event_free(ExporterEvent *event)
{
	g_free(event->name);
	g_free(event);
}

typedef struct {
	virConnectPtr conn;
	gchar *name;
	ClientExporterCrashFunc func;
	gpointer data;
} ExporterCrash;

static void
exporter_crash_run(gpointer data, gpointer user_data)
{
	ExporterCrash *crash = data;
	virDomainPtr dom = virDomainLookupByName(crash->conn, crash->name);

	if (dom != NULL) {
		crash->func(crash->conn, dom, crash->data);
		virDomainFree(dom);
	} else {
		g_warning("domain '%s' crashed and is gone: no panic log, ignoring", crash->name);
	}
	virConnectClose(crash->conn);
	g_free(crash->name);
	g_free(crash);
}

static void exporter_lost(ClientExporter *self);

static gboolean
exporter_event_dispatch(gpointer data)
{
	ExporterEvent *event = data;
	ClientExporter *self = event->exporter;
	ExporterDomain *d;

	self->events++;
	if (event->kind == EXPORTER_EVENT_CLOSED) {
		exporter_lost(self);
		return G_SOURCE_REMOVE;
	}
	d = exporter_domain_get(self, event->name);
	if (d == NULL)
		return G_SOURCE_REMOVE;
	switch (event->kind) {
	case EXPORTER_EVENT_STARTED:
		d->active = TRUE;
		break;
	case EXPORTER_EVENT_STOPPED:
		d->active = FALSE;
		d->stopped_at = g_get_monotonic_time();
		return G_SOURCE_REMOVE;
	case EXPORTER_EVENT_CRASHED:
		d->panics++;
		g_message("domain '%s' crashed (guest panic %" G_GUINT64_FORMAT ")", d->name,
			  d->panics);
		if (self->crash_func != NULL && self->libvirt != NULL && !self->closing) {
			ExporterCrash *crash = g_new0(ExporterCrash, 1);

			crash->conn = client_libvirt_get_connection(self->libvirt);
			virConnectRef(crash->conn);
			crash->name = g_strdup(d->name);
			crash->func = self->crash_func;
			crash->data = self->crash_data;
			g_thread_pool_push(self->crash_pool, crash, NULL);
		}
		break;
	default:
		break;
	}
	exporter_probe(self, d);
	return G_SOURCE_REMOVE;
}

/* in libvirt's event thread: over to the main context */
static void
exporter_event_post(ClientExporter *self, ExporterEventKind kind, virDomainPtr dom)
{
	ExporterEvent *event = g_new0(ExporterEvent, 1);
	const char *name = dom != NULL ? virDomainGetName(dom) : NULL;

	if (dom != NULL && name == NULL) {
		g_free(event);
		return;
	}
	event->exporter = self;
	event->kind = kind;
	event->name = g_strdup(name);
	g_main_context_invoke_full(self->context, G_PRIORITY_HIGH, exporter_event_dispatch, event,
				   (GDestroyNotify)exporter_event_free);
}

static int
exporter_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	ExporterEventKind kind;

	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
		kind = EXPORTER_EVENT_STARTED;
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		kind = EXPORTER_EVENT_STOPPED;
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		kind = EXPORTER_EVENT_CRASHED;
		break;
	case VIR_DOMAIN_EVENT_DEFINED:
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return 0;
	default:
		kind = EXPORTER_EVENT_CHANGED;
		break;
	}
	exporter_event_post(opaque, kind, dom);
	return 0;
}

static void
exporter_on_agent(virConnectPtr conn, virDomainPtr dom, int state, int reason, void *opaque)
{
	exporter_event_post(opaque, EXPORTER_EVENT_CHANGED, dom);
}

static void
exporter_on_close(virConnectPtr conn, int reason, void *opaque)
{
	exporter_event_post(opaque, EXPORTER_EVENT_CLOSED, NULL);
}

static gpointer
exporter_event_loop(gpointer data)
{
	ClientExporter *self = data;

	while (!g_atomic_int_get(&self->stopping)) {
		if (virEventRunDefaultImpl() < 0)
			g_usleep(100 * 1000);
	}
	return NULL;
}

static void
exporter_unsubscribe(ClientExporter *self)
{
	virConnectPtr conn;

	if (self->libvirt == NULL)
		return;
	conn = client_libvirt_get_connection(self->libvirt);
	for (guint i = 0; i < G_N_ELEMENTS(self->callbacks); i++) {
		if (self->callbacks[i] >= 0)
			virConnectDomainEventDeregisterAny(conn, self->callbacks[i]);
		self->callbacks[i] = -1;
	}
	virConnectUnregisterCloseCallback(conn, exporter_on_close);
}

/* subscribes first, then lists: a domain started in between is seen twice, never missed */
static gboolean
exporter_connect(ClientExporter *self, GError **error)
{
	g_autoptr(ClientLibvirt) libvirt = client_libvirt_connect(self->config->uri, error);
	g_auto(GStrv) names = NULL;
	virConnectPtr conn;
	GHashTableIter iter;
	ExporterDomain *d;

	if (libvirt == NULL)
		return FALSE;
	conn = client_libvirt_get_connection(libvirt);
	/* a dead libvirtd is noticed by its keepalive, then the close callback */
	virConnectSetKeepAlive(conn, 5, 3);
	self->callbacks[0] =
		virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(exporter_on_lifecycle),
						 self, NULL);
	self->callbacks[1] =
		virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(exporter_on_agent), self,
						 NULL);
	virConnectRegisterCloseCallback(conn, exporter_on_close, self, NULL);
	self->libvirt = g_steal_pointer(&libvirt);
	if (self->callbacks[0] < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "libvirt at '%s' gives no domain events",
			    client_libvirt_get_uri(self->libvirt));
		return FALSE;
	}
	names = client_libvirt_list_domains(self->libvirt, TRUE, error);
	if (names == NULL)
		return FALSE;
	g_hash_table_iter_init(&iter, self->domains);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&d)) {
		if (d->active && !g_strv_contains((const gchar *const *)names, d->name)) {
			d->active = FALSE;
			d->stopped_at = g_get_monotonic_time();
		}
	}
	for (guint i = 0; names[i] != NULL; i++) {
		d = exporter_domain_get(self, names[i]);
		if (d == NULL) {
			g_warning("more than %d domains: '%s' and later ones are not followed",
				  CLIENT_EXPORTER_MAX_DOMAINS, names[i]);
			break;
		}
		d->active = TRUE;
		exporter_probe(self, d);
	}
	g_message("following %u running domains at '%s'", g_strv_length(names),
		  client_libvirt_get_uri(self->libvirt));
	return TRUE;
}

static gboolean
exporter_reconnect(gpointer data)
{
	ClientExporter *self = data;
	g_autoptr(GError) error_local = NULL;

	if (exporter_connect(self, &error_local)) {
		self->reconnect_id = 0;
		return G_SOURCE_REMOVE;
	}
	g_debug("libvirt: %s", error_local->message);
	exporter_unsubscribe(self);
	g_clear_pointer(&self->libvirt, client_libvirt_free);
	return G_SOURCE_CONTINUE;
}

static void
exporter_lost(ClientExporter *self)
{
	if (self->libvirt == NULL)
		return;
	g_warning("lost the connection to libvirt; trying again every %d s",
		  CLIENT_EXPORTER_RECONNECT_S);
	exporter_unsubscribe(self);
	/* running probes hold handles of their own on the connection */
	g_clear_pointer(&self->libvirt, client_libvirt_free);
	if (self->reconnect_id == 0) {
		GSource *source = g_timeout_source_new_seconds(CLIENT_EXPORTER_RECONNECT_S);

		g_source_set_callback(source, exporter_reconnect, self, NULL);
		self->reconnect_id = g_source_attach(source, self->context);
		g_source_unref(source);
	}
}

static gpointer
exporter_register_event_impl(gpointer data)
{
	virEventRegisterDefaultImpl();
	return NULL;
}

ClientExporter *
client_exporter_new(const ClientExporterConfig *config, GError **error)
{
	static GOnce once = G_ONCE_INIT;
	g_autoptr(ClientExporter) self = g_new0(ClientExporter, 1);
	GSource *source;

	g_once(&once, exporter_register_event_impl, NULL);
	self->config = config;
	self->context = g_main_context_ref_thread_default();
	self->callbacks[0] = self->callbacks[1] = -1;
	self->domains = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)exporter_domain_free);
	self->pool = g_thread_pool_new(exporter_probe_run, self, (gint)MAX(config->parallel, 1),
				       FALSE, error);
	if (self->pool == NULL)
		return NULL;
	self->crash_pool = g_thread_pool_new(exporter_crash_run, self, 1, FALSE, error);
	if (self->crash_pool == NULL)
		return NULL;
	self->event_thread = g_thread_new("libvirt-events", exporter_event_loop, self);
	if (!exporter_connect(self, error))
		return NULL;
	source = g_timeout_source_new_seconds(1);
	g_source_set_callback(source, exporter_tick, self, NULL);
	self->tick_id = g_source_attach(source, self->context);
	g_source_unref(source);
	return g_steal_pointer(&self);
}

static void
exporter_wake(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
}

void
client_exporter_free(ClientExporter *self)
{
	if (self == NULL)
		return;
	self->closing = TRUE;
	if (self->tick_id != 0)
		g_source_destroy(g_main_context_find_source_by_id(self->context, self->tick_id));
	if (self->reconnect_id != 0)
		g_source_destroy(
			g_main_context_find_source_by_id(self->context, self->reconnect_id));
	exporter_unsubscribe(self);
	/* the running probes end within their timeout; the queued ones are dropped */
	if (self->pool != NULL)
		g_thread_pool_free(self->pool, TRUE, TRUE);
	if (self->crash_pool != NULL)
		g_thread_pool_free(self->crash_pool, FALSE, TRUE);
	if (self->event_thread != NULL) {
		g_atomic_int_set(&self->stopping, 1);
		virEventAddTimeout(0, exporter_wake, NULL, NULL);
		g_thread_join(self->event_thread);
	}
	/* what the threads handed over refers to us: run it now */
	while (g_main_context_iteration(self->context, FALSE))
		;
	client_libvirt_free(self->libvirt);
	g_hash_table_unref(self->domains);
	g_main_context_unref(self->context);
	g_free(self);
}

void
client_exporter_set_crash_func(ClientExporter *self, ClientExporterCrashFunc func,
			       gpointer user_data)
{
	self->crash_func = func;
	self->crash_data = user_data;
}

/* ---- the metrics ---- */

static void
exporter_declare(ClientMetrics *m)
{
	static const struct {
		const gchar *name;
		ClientMetricsType type;
		const gchar *help;
	} families[] = {
		{"qgatrace_domain_state", CLIENT_METRICS_GAUGE,
		 "1 for libvirt's state of the domain at the last probe: running, paused, crashed "
		 "(a panicked guest kept by <on_crash>preserve</on_crash>), ..."},
		{"qgatrace_agent_up", CLIENT_METRICS_GAUGE,
		 "1 when the guest agent answered guest-ping at the last probe (libvirt's agent API "
		 "or the org.qgatrace.0 port), 0 when not"},
		{"qgatrace_agent_ping_seconds", CLIENT_METRICS_GAUGE,
		 "the guest-ping round trip at the last probe"},
		{"qgatrace_agent_info", CLIENT_METRICS_GAUGE,
		 "the guest agent's kind and version, as the guest reports them"},
		{"qgatrace_fsfreeze_frozen", CLIENT_METRICS_GAUGE,
		 "1 while the agent says the guest's filesystems are frozen"},
		{"qgatrace_trace_available", CLIENT_METRICS_GAUGE,
		 "1 when the guest can trace a freeze (guest-trace-status)"},
		{"qgatrace_trace_last_verified", CLIENT_METRICS_GAUGE,
		 "1 when the newest trace session verified every mount it froze, 0 when not"},
		{"qgatrace_trace_last_frozen_seconds", CLIENT_METRICS_GAUGE,
		 "the longest a mount stayed frozen in the newest trace session"},
		{"qgatrace_trace_last_timestamp_seconds", CLIENT_METRICS_GAUGE,
		 "when the exporter first saw the newest trace session (Unix time; the guest's "
		 "clock is not trusted)"},
		{"qgatrace_freezes_total", CLIENT_METRICS_COUNTER,
		 "trace sessions by result, each counted once when the exporter first sees it over"},
		{"qgatrace_kernel_log_records_total", CLIENT_METRICS_COUNTER,
		 "guest kernel log records by level, read through guest-dmesg's cursor across "
		 "reboots"},
		{"qgatrace_kernel_log_missed_total", CLIENT_METRICS_COUNTER,
		 "guest kernel log records the kernel overwrote before they were read"},
		{"qgatrace_guest_panics_total", CLIENT_METRICS_COUNTER,
		 "libvirt crashed events of the domain (a guest panic)"},
		{"qgatrace_probe_duration_seconds", CLIENT_METRICS_GAUGE,
		 "how long the last probe of the domain took"},
		{"qgatrace_probe_result_age_seconds", CLIENT_METRICS_GAUGE,
		 "how old the results served for the domain are"},
		{"qgatrace_probes_total", CLIENT_METRICS_COUNTER, "probes of the domain"},
		{"qgatrace_probe_errors_total", CLIENT_METRICS_COUNTER,
		 "failures during probes of the domain, by kind"},
		{"qgatrace_exporter_domains_watched", CLIENT_METRICS_GAUGE,
		 "running domains the exporter follows"},
		{"qgatrace_exporter_probes_running", CLIENT_METRICS_GAUGE,
		 "probes under way or queued"},
		{"qgatrace_exporter_libvirt_up", CLIENT_METRICS_GAUGE,
		 "1 while the exporter is connected to libvirt"},
		{"qgatrace_exporter_events_total", CLIENT_METRICS_COUNTER,
		 "libvirt events received"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(families); i++)
		client_metrics_declare(m, families[i].name, families[i].type, families[i].help);
}

#define LABELS(...) ((const gchar *const[]){__VA_ARGS__, NULL})

static void
exporter_render_domain(ClientMetrics *m, ExporterDomain *d, gint64 now)
{
	const gchar *const *dom = LABELS("domain", d->name);
	ClientProbeResult *r = d->last;
	ClientProbeSession *last = r != NULL ? client_probe_result_last_session(r) : NULL;

	for (const gchar *const *res = client_probe_tally_results(); *res != NULL; res++)
		client_metrics_add(m, "qgatrace_freezes_total",
				   LABELS("domain", d->name, "result", *res),
				   (gdouble)client_probe_tally_get(d->freezes, *res));
	client_metrics_add(m, "qgatrace_guest_panics_total", dom, (gdouble)d->panics);
	client_metrics_add(m, "qgatrace_probes_total", dom, (gdouble)d->probes);
	for (guint i = 0; i < G_N_ELEMENTS(client_exporter_error_kinds); i++)
		client_metrics_add(m, "qgatrace_probe_errors_total",
				   LABELS("domain", d->name, "kind",
					  client_exporter_error_kinds[i]),
				   (gdouble)d->errors[i]);
	if (d->klog != NULL) {
		for (gint i = 0; i < CLIENT_KLOG_LEVELS; i++)
			client_metrics_add(m, "qgatrace_kernel_log_records_total",
					   LABELS("domain", d->name, "level", client_level_name(i)),
					   (gdouble)d->klog->counts[i]);
		client_metrics_add(m, "qgatrace_kernel_log_missed_total", dom,
				   (gdouble)d->klog->missed);
	}
	/* the gauges describe a running domain's last probe */
	if (!d->active || r == NULL)
		return;
	client_metrics_add(m, "qgatrace_probe_duration_seconds", dom, r->duration_seconds);
	client_metrics_add(m, "qgatrace_probe_result_age_seconds", dom, (now - d->last_at) / 1e6);
	/* libvirt's view, not the guest's: why an agent that does not run is down */
	client_metrics_add(m, "qgatrace_domain_state", LABELS("domain", d->name, "state", r->state),
			   1);
	client_metrics_add(m, "qgatrace_agent_up", dom, r->reachable ? 1 : 0);
	if (!r->reachable)
		return;
	client_metrics_add(m, "qgatrace_agent_ping_seconds", dom, r->ping_seconds);
	if (!d->private && r->agent_kind != NULL)
		client_metrics_add(m, "qgatrace_agent_info",
				   LABELS("domain", d->name, "kind", r->agent_kind, "version",
					  r->agent_version != NULL ? r->agent_version : ""),
				   1);
	if (r->frozen >= 0)
		client_metrics_add(m, "qgatrace_fsfreeze_frozen", dom, r->frozen);
	if (r->tracing >= 0)
		client_metrics_add(m, "qgatrace_trace_available", dom, r->tracing);
	if (last == NULL || g_strcmp0(last->id, d->newest_id) != 0)
		return;
	client_metrics_add(m, "qgatrace_trace_last_verified", dom,
			   g_strcmp0(last->result, "verified") == 0 ? 1 : 0);
	client_metrics_add(m, "qgatrace_trace_last_timestamp_seconds", dom, d->newest_seen_at);
	if (d->newest_frozen_s >= 0)
		client_metrics_add(m, "qgatrace_trace_last_frozen_seconds", dom,
				   d->newest_frozen_s);
}

static gint
exporter_compare_domains(gconstpointer a, gconstpointer b)
{
	const ExporterDomain *da = a;
	const ExporterDomain *db = b;

	return g_strcmp0(da->name, db->name);
}

gchar *
client_exporter_render(ClientExporter *self)
{
	g_autoptr(ClientMetrics) m = client_metrics_new();
	g_autoptr(GList) sorted =
		g_list_sort(g_hash_table_get_values(self->domains), exporter_compare_domains);
	gint64 now = g_get_monotonic_time();
	guint watched = 0;

	exporter_declare(m);
	for (GList *l = sorted; l != NULL; l = l->next) {
		ExporterDomain *d = l->data;

		exporter_render_domain(m, d, now);
		watched += d->active ? 1 : 0;
	}
	client_metrics_add(m, "qgatrace_exporter_domains_watched", NULL, watched);
	client_metrics_add(m, "qgatrace_exporter_probes_running", NULL, self->probes_running);
	client_metrics_add(m, "qgatrace_exporter_libvirt_up", NULL, self->libvirt != NULL);
	client_metrics_add(m, "qgatrace_exporter_events_total", NULL, (gdouble)self->events);
	return client_metrics_render(m);
}
