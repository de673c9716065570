/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The Prometheus text exposition format (version 0.0.4): metric families
 * declared once with their HELP and TYPE, samples added in any order,
 * rendered family by family in the order declared. Label values come from
 * guests: they are escaped here, never trusted. */

#define CLIENT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef enum {
	CLIENT_METRICS_GAUGE,
	CLIENT_METRICS_COUNTER,
} ClientMetricsType;

typedef struct _ClientMetrics ClientMetrics;

ClientMetrics *client_metrics_new(void);
void client_metrics_free(ClientMetrics *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientMetrics, client_metrics_free)

/* declares the family @name (a counter's name ends in _total); a second
 * declaration of the same name is ignored */
void client_metrics_declare(ClientMetrics *self, const gchar *name, ClientMetricsType type,
			    const gchar *help);

/**
 * client_metrics_add:
 * A sample of the declared family @name.
 * @labels: (nullable): label names and values, alternating, NULL-terminated;
 *   a NULL value leaves that label out
 */
void client_metrics_add(ClientMetrics *self, const gchar *name, const gchar *const *labels,
			gdouble value);

/* Returns: (transfer full): the exposition text; a family without samples
 * is left out */
gchar *client_metrics_render(ClientMetrics *self);

/* Returns: (transfer full): @text as a label value: \ " and newline escaped */
gchar *client_metrics_escape_label(const gchar *text);

G_END_DECLS
