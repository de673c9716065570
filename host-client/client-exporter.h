/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>

#include "client-libvirt.h"

G_BEGIN_DECLS

/* The exporter's state: every running domain of a libvirt connection,
 * followed by libvirt's events (lifecycle, crashes included, and the agent
 * connecting and disconnecting), never by polling the domain list; each
 * probed in the background (client-probe.h) in a bounded pool, every
 * --interval and at once after an event. Everything is read and written
 * in the thread of the main context that created it; a scrape renders the
 * last results with their age and never waits on a guest. */

#define CLIENT_EXPORTER_DEFAULT_LISTEN	 "127.0.0.1:9919"
#define CLIENT_EXPORTER_DEFAULT_CONFIG	 "/etc/qgatrace/exporter.conf"
#define CLIENT_EXPORTER_DEFAULT_INTERVAL 15
#define CLIENT_EXPORTER_DEFAULT_PARALLEL 8

/* a stopped domain's counters stay this long, for a scrape to see a crash */
#define CLIENT_EXPORTER_KEEP_STOPPED_S 300

/* the most domains followed: a runaway host cannot grow us without bound */
#define CLIENT_EXPORTER_MAX_DOMAINS 4096

typedef struct {
	gchar *uri;	       /* (nullable): libvirt's default */
	gchar *listen;	       /* ADDR:PORT */
	gchar *panic_dir;      /* (nullable): where crashed guests' kernel logs go */
	guint interval_s;      /* between probes of one domain */
	guint timeout_ms;      /* a probe's budget, per domain */
	guint parallel;	       /* probes at once */
	gint klog_level;       /* kernel-log records counted: this level or more urgent */
	GStrv private_domains; /* glob patterns: no guest-derived labels, no kernel log */
} ClientExporterConfig;

ClientExporterConfig *client_exporter_config_new(void);
void client_exporter_config_free(ClientExporterConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientExporterConfig, client_exporter_config_free)

/**
 * client_exporter_config_load:
 * Reads the [exporter] and [privacy] groups of the GKeyFile at @path over
 * @self's values.
 * Returns: FALSE with @error (a bad value is G_KEY_FILE_ERROR_INVALID_VALUE)
 */
gboolean client_exporter_config_load(ClientExporterConfig *self, const gchar *path, GError **error);

/* whether @domain is one of the private ones */
gboolean client_exporter_config_is_private(const ClientExporterConfig *self, const gchar *domain);

typedef struct _ClientExporter ClientExporter;

/* a crashed domain, called in a worker thread of its own (it may read the
 * guest's memory for long): @domain is valid during the call */
typedef void (*ClientExporterCrashFunc)(virConnectPtr conn, virDomainPtr domain,
					gpointer user_data);

/**
 * client_exporter_new:
 * Registers libvirt's default event loop (before any connection: libvirt
 * wants it so), connects, subscribes to the events, lists the running
 * domains and starts probing them.
 * @config: (transfer none): must outlive the exporter
 * Returns: (transfer full): or NULL with @error
 */
ClientExporter *client_exporter_new(const ClientExporterConfig *config, GError **error);
void client_exporter_free(ClientExporter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientExporter, client_exporter_free)

/* what runs when a domain crashes, after it is counted (the panic capture) */
void client_exporter_set_crash_func(ClientExporter *self, ClientExporterCrashFunc func,
				    gpointer user_data);

/* Returns: (transfer full): the metrics, in the Prometheus text format */
gchar *client_exporter_render(ClientExporter *self);

G_END_DECLS
