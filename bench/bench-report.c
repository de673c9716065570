/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <sys/utsname.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

/* bench-report: reads the JSON lines the bench-<workload> programs printed, prints them as a
 * table and writes them, with the machine they ran on, as one JSON document (its shape is in
 * bench/README.md). Exit status 1 when a line is not a result or an expected workload has none. */

typedef struct {
	JsonArray *results;
	GHashTable *workloads_seen;
	guint n_problems;
} BenchReport;

static void bench_report_problem(BenchReport *self, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
bench_report_problem(BenchReport *self, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_printerr("bench-report: %s\n", text);
	self->n_problems++;
}

static gboolean
bench_report_has_type(JsonObject *object, const gchar *key, GType type, gboolean nullable)
{
	JsonNode *node = json_object_get_member(object, key);

	if (node == NULL)
		return FALSE;
	if (JSON_NODE_HOLDS_NULL(node))
		return nullable;
	return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == type;
}

static gboolean
bench_report_has_number(JsonObject *object, const gchar *key, gboolean nullable)
{
	return bench_report_has_type(object, key, G_TYPE_DOUBLE, nullable) ||
	       bench_report_has_type(object, key, G_TYPE_INT64, nullable);
}

/* Returns: (nullable): what is wrong with @object as a result or skip line */
static const gchar *
bench_report_check(JsonObject *object)
{
	static const gchar *const strings[] = {"unit", "baseline", "target", "note", NULL};
	static const gchar *const numbers[] = {"baseline_value", "ratio", NULL};

	if (!bench_report_has_type(object, "workload", G_TYPE_STRING, FALSE) ||
	    !bench_report_has_type(object, "metric", G_TYPE_STRING, FALSE))
		return "no \"workload\" or \"metric\" string";
	if (json_object_has_member(object, "skipped"))
		return bench_report_has_type(object, "skipped", G_TYPE_STRING, FALSE)
			       ? NULL
			       : "\"skipped\" is not a string";
	for (guint i = 0; strings[i] != NULL; i++) {
		/* the unit is the one string every result has */
		if (!bench_report_has_type(object, strings[i], G_TYPE_STRING, i > 0))
			return "a string key is missing or not a string";
	}
	for (guint i = 0; numbers[i] != NULL; i++) {
		if (!bench_report_has_number(object, numbers[i], TRUE))
			return "a number key is missing or not a number";
	}
	/* null: the workload measured something that is not a number (JSON has no NaN) */
	if (!bench_report_has_number(object, "value", TRUE) ||
	    !bench_report_has_type(object, "met", G_TYPE_BOOLEAN, TRUE) ||
	    !bench_report_has_type(object, "samples", G_TYPE_INT64, FALSE))
		return "\"value\", \"met\" or \"samples\" is missing or of the wrong type";
	return NULL;
}

static void
bench_report_read_file(BenchReport *self, const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *contents = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &contents, NULL, &error)) {
		bench_report_problem(self, "%s", error->message);
		return;
	}
	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error_local = NULL;
		JsonNode *root;
		const gchar *why;

		if (g_strstrip(lines[i])[0] == '\0')
			continue;
		if (!json_parser_load_from_data(parser, lines[i], -1, &error_local)) {
			bench_report_problem(self, "%s:%u: not JSON: %s", path, i + 1,
					     error_local->message);
			continue;
		}
		root = json_parser_get_root(parser);
		why = JSON_NODE_HOLDS_OBJECT(root) ? bench_report_check(json_node_get_object(root))
						   : "not an object";
		if (why != NULL) {
			bench_report_problem(self, "%s:%u: not a result: %s", path, i + 1, why);
			continue;
		}
		g_hash_table_add(self->workloads_seen,
				 g_strdup(json_object_get_string_member(json_node_get_object(root),
									"workload")));
		json_array_add_element(self->results, json_node_copy(root));
	}
}

/* Returns: (transfer full): a number as the table shows it, "-" for null; ratios are
 * fixed-point, measurements keep 4 significant digits whatever their scale */
static gchar *
bench_report_format_number(JsonObject *object, const gchar *key, gboolean fixed)
{
	JsonNode *node = json_object_get_member(object, key);

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return g_strdup("-");
	if (fixed)
		return g_strdup_printf("%.2f", json_node_get_double(node));
	return g_strdup_printf("%.4g", json_node_get_double(node));
}

static const gchar *
bench_report_string_or(JsonObject *object, const gchar *key, const gchar *fallback)
{
	const gchar *value = json_object_get_string_member_with_default(object, key, NULL);

	return value != NULL ? value : fallback;
}

static void
bench_report_print_table(BenchReport *self)
{
	printf("%-10s %-34s %-7s %10s %10s %-20s %6s  %-14s %s\n", "workload", "metric", "unit",
	       "qgatrace", "baseline", "(of)", "ratio", "target", "met");
	for (guint i = 0; i < json_array_get_length(self->results); i++) {
		JsonObject *row = json_array_get_object_element(self->results, i);
		const gchar *skipped =
			json_object_get_string_member_with_default(row, "skipped", NULL);
		g_autofree gchar *value = NULL;
		g_autofree gchar *baseline_value = NULL;
		g_autofree gchar *ratio = NULL;
		const gchar *met = "-";

		if (skipped != NULL) {
			printf("%-10s %-34s skipped: %s\n",
			       json_object_get_string_member(row, "workload"),
			       json_object_get_string_member(row, "metric"), skipped);
			continue;
		}
		value = bench_report_format_number(row, "value", FALSE);
		baseline_value = bench_report_format_number(row, "baseline_value", FALSE);
		ratio = bench_report_format_number(row, "ratio", TRUE);
		if (!json_node_is_null(json_object_get_member(row, "met")))
			met = json_object_get_boolean_member(row, "met") ? "yes" : "NO";
		printf("%-10s %-34s %-7s %10s %10s %-20s %6s  %-14s %s\n",
		       json_object_get_string_member(row, "workload"),
		       json_object_get_string_member(row, "metric"),
		       json_object_get_string_member(row, "unit"), value, baseline_value,
		       bench_report_string_or(row, "baseline", ""), ratio,
		       bench_report_string_or(row, "target", "-"), met);
	}
}

/* Returns: (transfer full): the host's CPU model, as /proc/cpuinfo names it */
static gchar *
bench_report_cpu_model(void)
{
	g_autofree gchar *cpuinfo = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL))
		return NULL;
	lines = g_strsplit(cpuinfo, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *colon = strchr(lines[i], ':');

		if (g_str_has_prefix(lines[i], "model name") && colon != NULL)
			return g_strstrip(g_strdup(colon + 1));
	}
	return NULL;
}

static JsonNode *
bench_report_document(BenchReport *self, const gchar *mode, const gchar *accel)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *date = g_date_time_format_iso8601(now);
	g_autofree gchar *cpu = bench_report_cpu_model();
	struct utsname uts;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "date");
	json_builder_add_string_value(builder, date);
	json_builder_set_member_name(builder, "mode");
	json_builder_add_string_value(builder, mode);
	json_builder_set_member_name(builder, "accel");
	json_builder_add_string_value(builder, accel);
	json_builder_set_member_name(builder, "machine");
	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "nproc");
	json_builder_add_int_value(builder, g_get_num_processors());
	json_builder_set_member_name(builder, "cpu");
	if (cpu != NULL)
		json_builder_add_string_value(builder, cpu);
	else
		json_builder_add_null_value(builder);
	json_builder_set_member_name(builder, "kernel");
	if (uname(&uts) == 0)
		json_builder_add_string_value(builder, uts.release);
	else
		json_builder_add_null_value(builder);
	json_builder_end_object(builder);
	json_builder_set_member_name(builder, "results");
	json_builder_add_value(builder, json_node_init_array(json_node_alloc(), self->results));
	json_builder_end_object(builder);
	return json_builder_get_root(builder);
}

int
main(int argc, char **argv)
{
	g_autofree gchar *json_path = NULL;
	g_autofree gchar *mode = NULL;
	g_autofree gchar *accel = NULL;
	g_autofree gchar *expect = NULL;
	g_auto(GStrv) files = NULL;
	const GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "write the results here", "FILE"},
		{"mode", 0, 0, G_OPTION_ARG_STRING, &mode, "full, quick or smoke (recorded)",
		 "MODE"},
		{"accel", 0, 0, G_OPTION_ARG_STRING, &accel, "tcg or kvm (recorded)", "ACCEL"},
		{"expect", 0, 0, G_OPTION_ARG_STRING, &expect,
		 "workloads that must have rows, comma-separated", "LIST"},
		{G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE..."},
		{NULL},
	};
	g_autoptr(GOptionContext) options = g_option_context_new("- the bench table and JSON");
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonArray) results = json_array_new();
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	BenchReport self = {results, seen, 0};

	g_option_context_add_main_entries(options, entries, NULL);
	if (!g_option_context_parse(options, &argc, &argv, &error)) {
		g_printerr("bench-report: %s\n", error->message);
		return 2;
	}
	for (guint i = 0; files != NULL && files[i] != NULL; i++)
		bench_report_read_file(&self, files[i]);
	if (expect != NULL) {
		g_auto(GStrv) workloads = g_strsplit(expect, ",", -1);

		for (guint i = 0; workloads[i] != NULL; i++) {
			if (!g_hash_table_contains(seen, workloads[i]))
				bench_report_problem(&self, "no rows from workload '%s'",
						     workloads[i]);
		}
	}
	bench_report_print_table(&self);
	if (json_path != NULL) {
		g_autoptr(JsonNode) document = bench_report_document(
			&self, mode != NULL ? mode : "full", accel != NULL ? accel : "tcg");
		g_autoptr(JsonGenerator) generator = json_generator_new();

		json_generator_set_root(generator, document);
		json_generator_set_pretty(generator, TRUE);
		if (!json_generator_to_file(generator, json_path, &error)) {
			g_printerr("bench-report: writing '%s': %s\n", json_path, error->message);
			return 1;
		}
		printf("results: %s\n", json_path);
	}
	return self.n_problems > 0 ? 1 : 0;
}
