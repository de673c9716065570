/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <json-glib/json-glib.h>

#include "bench-common.h"

/* how long bench_guest_stop() waits for SIGTERM to work, in 0.1 s steps, before SIGKILL; and
 * bench_guest_spawn() for its process to open its port, in 0.05 s steps */
#define BENCH_GUEST_STOP_STEPS 50

BenchContext *
bench_context_new(gint *argc, gchar ***argv, GError **error)
{
	g_autofree gchar *run_dir = NULL;
	gboolean quick = FALSE;
	gboolean smoke = FALSE;
	const GOptionEntry entries[] = {
		{"run-dir", 0, 0, G_OPTION_ARG_FILENAME, &run_dir,
		 "the run dir of the guest bench/run booted", "DIR"},
		{"quick", 0, 0, G_OPTION_ARG_NONE, &quick, "fewer iterations", NULL},
		{"smoke", 0, 0, G_OPTION_ARG_NONE, &smoke, "a few iterations: only checks it runs",
		 NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) options = g_option_context_new("- one qgatrace bench workload");
	BenchContext *self;

	g_option_context_add_main_entries(options, entries, NULL);
	if (!g_option_context_parse(options, argc, argv, error))
		return NULL;
	if (run_dir == NULL) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "--run-dir is required (bench/run passes it)");
		return NULL;
	}
	if (quick && smoke) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "--quick and --smoke exclude each other");
		return NULL;
	}
	if (!g_file_test(run_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no run dir '%s'", run_dir);
		return NULL;
	}
	self = g_new0(BenchContext, 1);
	self->guest = vm_guest_attach(run_dir);
	self->mode = smoke ? BENCH_MODE_SMOKE : quick ? BENCH_MODE_QUICK : BENCH_MODE_FULL;
	return self;
}

gint
bench_main(gint argc, gchar **argv, const gchar *program, BenchRunFunc run)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(BenchContext) ctx = bench_context_new(&argc, &argv, &error);

	if (ctx == NULL || !run(ctx, &error)) {
		g_printerr("%s: %s\n", program, error->message);
		return 1;
	}
	return 0;
}

void
bench_context_free(BenchContext *self)
{
	if (self == NULL)
		return;
	vm_guest_free(self->guest);
	g_free(self);
}

guint
bench_context_iterations(BenchContext *self, guint full, guint quick, guint smoke)
{
	switch (self->mode) {
	case BENCH_MODE_QUICK:
		return quick;
	case BENCH_MODE_SMOKE:
		return smoke;
	case BENCH_MODE_FULL:
	default:
		return full;
	}
}

QgaClient *
bench_context_connect(BenchContext *self, const gchar *which, GError **error)
{
	g_autoptr(QgaClient) client =
		qga_client_connect_unix(vm_guest_socket(self->guest, which), error);

	if (client == NULL) {
		g_prefix_error(error, "connecting to '%s': ", which);
		return NULL;
	}
	qga_client_set_timeout(client, BENCH_CLIENT_TIMEOUT_MS);
	if (!qga_client_sync(client, error)) {
		g_prefix_error(error, "syncing with '%s': ", which);
		return NULL;
	}
	return g_steal_pointer(&client);
}

gint64
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

gboolean
bench_guest_run(BenchContext *self, GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *line = NULL;
	g_autofree gchar *output = NULL;

	va_start(args, format);
	line = g_strdup_vprintf(format, args);
	va_end(args);
	output = vm_guest_shell_ok(self->guest, line, error);
	return output != NULL;
}

gboolean
bench_guest_wait_port(BenchContext *self, const gchar *pidfile, const gchar *port, GError **error)
{
	/* bytes the host sends before the open may be lost: wait until the port is the
	 * process's, or the process is gone */
	if (!bench_guest_run(self, error,
			     "pid=$(cat %s) || exit 1; dev=$(readlink -f %s); i=0; "
			     "while ! ls -l /proc/$pid/fd 2>/dev/null | grep -q \" $dev\\$\"; do "
			     "kill -0 $pid 2>/dev/null && [ $i -lt %d ] || exit 1; "
			     "sleep 0.05; i=$((i + 1)); done",
			     pidfile, port, BENCH_GUEST_STOP_STEPS * 2)) {
		g_prefix_error(error, "waiting for '%s' to be open: ", port);
		return FALSE;
	}
	return TRUE;
}

gboolean
bench_guest_spawn(BenchContext *self, const gchar *name, const gchar *cmd, const gchar *port,
		  GError **error)
{
	g_autofree gchar *pidfile = g_strdup_printf("/run/bench-%s.pid", name);

	if (!bench_guest_run(self, error, "%s & echo $! >%s", cmd, pidfile) ||
	    (port != NULL && !bench_guest_wait_port(self, pidfile, port, error))) {
		g_prefix_error(error, "starting '%s' in the guest: ", name);
		return FALSE;
	}
	return TRUE;
}

gboolean
bench_guest_stop(BenchContext *self, const gchar *name, GError **error)
{
	/* as qgatrace-vm-agent stop: TERM, a grace period, then KILL; the pidfile goes only
	 * once the process is gone, so a failure here leaves the evidence */
	if (!bench_guest_run(
		    self, error,
		    "f=/run/bench-%s.pid; pid=$(cat $f) || exit 1; kill $pid 2>/dev/null; i=0; "
		    "while kill -0 $pid 2>/dev/null && [ $i -lt %d ]; do sleep 0.1; i=$((i + 1)); "
		    "done; kill -9 $pid 2>/dev/null; sleep 0.1; ! kill -0 $pid 2>/dev/null && rm -f $f",
		    name, BENCH_GUEST_STOP_STEPS)) {
		g_prefix_error(error, "stopping '%s' in the guest: ", name);
		return FALSE;
	}
	return TRUE;
}

QgaClient *
bench_spare_start(BenchContext *self, const gchar *name, const gchar *cmd, GError **error)
{
	g_autoptr(QgaClient) client =
		qga_client_connect_unix(vm_guest_socket(self->guest, "spare"), error);

	if (client == NULL)
		return NULL;
	qga_client_set_timeout(client, BENCH_CLIENT_TIMEOUT_MS);
	if (!bench_guest_spawn(self, name, cmd, BENCH_SPARE_PORT, error)) {
		/* the spare port must be free again even if @cmd never opened it */
		bench_guest_stop(self, name, NULL);
		return NULL;
	}
	return g_steal_pointer(&client);
}

guint
bench_guest_read_pid(BenchContext *self, const gchar *pidfile, GError **error)
{
	g_autofree gchar *line = g_strdup_printf("cat %s", pidfile);
	g_autofree gchar *output = vm_guest_shell_ok(self->guest, line, error);
	guint64 pid = 0;

	if (output == NULL || !g_ascii_string_to_unsigned(output, 10, 1, G_MAXINT, &pid, error)) {
		g_prefix_error(error, "reading the pid in '%s': ", pidfile);
		return 0;
	}
	return (guint)pid;
}

gdouble
bench_time_execute_us(QgaClient *client, const gchar *command, JsonObject *arguments,
		      GError **error)
{
	gint64 start = bench_now_ns();
	g_autoptr(JsonNode) reply = qga_client_execute(client, command, arguments, error);

	if (reply == NULL) {
		g_prefix_error(error, "'%s': ", command);
		return -1.0;
	}
	return (bench_now_ns() - start) / 1000.0;
}

static gint
bench_compare_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a;
	gdouble y = *(const gdouble *)b;

	return (x > y) - (x < y);
}

gdouble
bench_percentile(GArray *samples, gdouble percent)
{
	gdouble rank;
	guint lo;

	g_return_val_if_fail(samples != NULL && samples->len > 0, NAN);
	g_array_sort(samples, bench_compare_double);
	/* linear between the two nearest ranks, so p50 of an even count is the usual median */
	rank = CLAMP(percent, 0.0, 100.0) / 100.0 * (samples->len - 1);
	lo = (guint)floor(rank);
	if (lo + 1 >= samples->len)
		return g_array_index(samples, gdouble, samples->len - 1);
	return g_array_index(samples, gdouble, lo) +
	       (rank - lo) * (g_array_index(samples, gdouble, lo + 1) -
			      g_array_index(samples, gdouble, lo));
}

gdouble
bench_median(GArray *samples)
{
	return bench_percentile(samples, 50.0);
}

/* Returns: TRUE and @met when @target ("ratio <= 1.0", "value >= 5") can be judged */
static gboolean
bench_target_met(const gchar *target, gdouble value, gdouble ratio, gboolean *met)
{
	g_auto(GStrv) words = g_strsplit(target, " ", 3);
	gdouble subject;
	gdouble limit;
	gchar *end = NULL;

	if (g_strv_length(words) != 3)
		return FALSE;
	if (g_str_equal(words[0], "ratio"))
		subject = ratio;
	else if (g_str_equal(words[0], "value"))
		subject = value;
	else
		return FALSE;
	limit = g_ascii_strtod(words[2], &end);
	if (end == words[2] || *end != '\0' || !isfinite(subject))
		return FALSE;
	if (g_str_equal(words[1], "<="))
		*met = subject <= limit;
	else if (g_str_equal(words[1], ">="))
		*met = subject >= limit;
	else
		return FALSE;
	return TRUE;
}

static void
bench_builder_add_number(JsonBuilder *builder, const gchar *key, gdouble number)
{
	json_builder_set_member_name(builder, key);
	/* JSON has no NaN or infinity: a number that cannot be had is null */
	if (isfinite(number))
		json_builder_add_double_value(builder, number);
	else
		json_builder_add_null_value(builder);
}

static void
bench_builder_add_string(JsonBuilder *builder, const gchar *key, const gchar *string)
{
	json_builder_set_member_name(builder, key);
	if (string != NULL)
		json_builder_add_string_value(builder, string);
	else
		json_builder_add_null_value(builder);
}

static void
bench_print_line(JsonBuilder *builder)
{
	g_autoptr(JsonNode) root = json_builder_get_root(builder);
	g_autofree gchar *line = json_to_string(root, FALSE);

	printf("%s\n", line);
	/* bench/run reads the lines as they come; a crash later must not lose them */
	fflush(stdout);
}

void
bench_result_print(const BenchResult *result)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	gboolean has_baseline = result->baseline != NULL && result->baseline_value != 0.0;
	gdouble ratio = has_baseline ? result->value / result->baseline_value : NAN;
	gboolean met = FALSE;
	gboolean judged = result->target != NULL &&
			  bench_target_met(result->target, result->value, ratio, &met);

	json_builder_begin_object(builder);
	bench_builder_add_string(builder, "workload", result->workload);
	bench_builder_add_string(builder, "metric", result->metric);
	bench_builder_add_string(builder, "unit", result->unit);
	bench_builder_add_number(builder, "value", result->value);
	bench_builder_add_string(builder, "baseline", result->baseline);
	bench_builder_add_number(builder, "baseline_value",
				 result->baseline != NULL ? result->baseline_value : NAN);
	bench_builder_add_number(builder, "ratio", ratio);
	bench_builder_add_string(builder, "target", result->target);
	json_builder_set_member_name(builder, "met");
	if (judged)
		json_builder_add_boolean_value(builder, met);
	else
		json_builder_add_null_value(builder);
	json_builder_set_member_name(builder, "samples");
	json_builder_add_int_value(builder, result->samples);
	bench_builder_add_string(builder, "note", result->note);
	json_builder_end_object(builder);
	bench_print_line(builder);
}

void
bench_skip_print(const gchar *workload, const gchar *metric, const gchar *reason)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();

	json_builder_begin_object(builder);
	bench_builder_add_string(builder, "workload", workload);
	bench_builder_add_string(builder, "metric", metric);
	bench_builder_add_string(builder, "skipped", reason);
	json_builder_end_object(builder);
	bench_print_line(builder);
}
