/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <math.h>

#include "client-metrics.h"

typedef struct {
	gchar *name;
	ClientMetricsType type;
	gchar *help;
	GString *samples;
} ClientMetricsFamily;

struct _ClientMetrics {
	GPtrArray *families; /* of ClientMetricsFamily, in declaration order */
	GHashTable *by_name; /* name -> family, borrowed */
};

static void
client_metrics_family_free(ClientMetricsFamily *self)
{
	g_free(self->name);
	g_free(self->help);
	g_string_free(self->samples, TRUE);
	g_free(self);
}

ClientMetrics *
client_metrics_new(void)
{
	ClientMetrics *self = g_new0(ClientMetrics, 1);

	self->families = g_ptr_array_new_with_free_func((GDestroyNotify)client_metrics_family_free);
	self->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	return self;
}

void
client_metrics_free(ClientMetrics *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->by_name);
	g_ptr_array_unref(self->families);
	g_free(self);
}

void
client_metrics_declare(ClientMetrics *self, const gchar *name, ClientMetricsType type,
		       const gchar *help)
{
	ClientMetricsFamily *family;

	if (g_hash_table_contains(self->by_name, name))
		return;
	family = g_new0(ClientMetricsFamily, 1);
	family->name = g_strdup(name);
	family->type = type;
	family->help = g_strdup(help);
	family->samples = g_string_new(NULL);
	g_ptr_array_add(self->families, family);
	g_hash_table_insert(self->by_name, family->name, family);
}

/* the format's escapes: a label value escapes \ " and newline, HELP \ and newline */
static void
client_metrics_append_escaped(GString *out, const gchar *text, gboolean quote)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else if (*p == '"' && quote)
			g_string_append(out, "\\\"");
		else
			g_string_append_c(out, *p);
	}
}

gchar *
client_metrics_escape_label(const gchar *text)
{
	GString *out = g_string_new(NULL);

	/* Prometheus wants UTF-8: a guest's invalid bytes become U+FFFD */
	g_autofree gchar *valid = g_utf8_make_valid(text, -1);

	client_metrics_append_escaped(out, valid, TRUE);
	return g_string_free(out, FALSE);
}

/* the shortest text that reads back as @value: 0.00037, not 0.00036999999999999999 */
static const gchar *
client_metrics_shortest(gchar *buf, gsize size, gdouble value)
{
	for (gint precision = 6; precision < 17; precision++) {
		gchar format[8];

		g_snprintf(format, sizeof(format), "%%.%dg", precision);
		g_ascii_formatd(buf, (gint)size, format, value);
		if (g_ascii_strtod(buf, NULL) == value)
			return buf;
	}
	return g_ascii_formatd(buf, (gint)size, "%.17g", value);
}

static void
client_metrics_append_value(GString *out, gdouble value)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (isnan(value))
		g_string_append(out, "NaN");
	else if (isinf(value))
		g_string_append(out, value > 0 ? "+Inf" : "-Inf");
	else if (value > -1e15 && value < 1e15 && value == (gdouble)(gint64)value)
		g_string_append_printf(out, "%.0f", value);
	else
		g_string_append(out, client_metrics_shortest(buf, sizeof(buf), value));
}

void
client_metrics_add(ClientMetrics *self, const gchar *name, const gchar *const *labels,
		   gdouble value)
{
	ClientMetricsFamily *family = g_hash_table_lookup(self->by_name, name);
	gboolean first = TRUE;

	g_return_if_fail(family != NULL);
	g_string_append(family->samples, name);
	for (guint i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		g_autofree gchar *escaped = NULL;

		if (labels[i + 1] == NULL)
			continue;
		escaped = client_metrics_escape_label(labels[i + 1]);
		g_string_append_printf(family->samples, "%s%s=\"%s\"", first ? "{" : ",", labels[i],
				       escaped);
		first = FALSE;
	}
	g_string_append(family->samples, first ? " " : "} ");
	client_metrics_append_value(family->samples, value);
	g_string_append_c(family->samples, '\n');
}

gchar *
client_metrics_render(ClientMetrics *self)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < self->families->len; i++) {
		ClientMetricsFamily *family = g_ptr_array_index(self->families, i);

		if (family->samples->len == 0)
			continue;
		g_string_append_printf(out, "# HELP %s ", family->name);
		client_metrics_append_escaped(out, family->help, FALSE);
		g_string_append_printf(out, "\n# TYPE %s %s\n", family->name,
				       family->type == CLIENT_METRICS_COUNTER ? "counter"
									      : "gauge");
		g_string_append_len(out, family->samples->str, (gssize)family->samples->len);
	}
	return g_string_free(out, FALSE);
}
