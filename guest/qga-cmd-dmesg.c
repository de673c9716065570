/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "qga-cmd-dmesg.h"
#include "qga-codec.h"
#include "qga-context.h"
#include "qga-dispatch.h"
#include "qga-error.h"
#include "qga-kmsg.h"
#include "qga-registry.h"

/* an integer argument within [min, max], with qemu's
 * QERR_INVALID_PARAMETER_VALUE text otherwise */
static gboolean
cmd_dmesg_get_arg(JsonObject *args, const gchar *name, gint64 min, gint64 max, gint64 *value,
		  GError **error)
{
	gint64 v;

	if (args == NULL || !json_object_has_member(args, name))
		return TRUE;
	v = json_object_get_int_member(args, name);
	if (v < min || v > max) {
		g_set_error(error, QGA_ERROR, QGA_ERROR_GENERIC,
			    "Parameter '%s' expects a value between %" G_GINT64_FORMAT
			    " and %" G_GINT64_FORMAT,
			    name, min, max);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

static gboolean
cmd_dmesg_parse_query(JsonObject *args, QgaKmsgQuery *query, GError **error)
{
	KmsgRecordFilter *filter = &query->filter;
	gint64 level = filter->level;
	gint64 max_bytes = filter->max_bytes;
	gint64 max_records = filter->max_records;

	if (!cmd_dmesg_get_arg(args, "since-seq", -1, G_MAXINT64 - 1, &query->since_seq, error) ||
	    !cmd_dmesg_get_arg(args, "level", 0, 7, &level, error) ||
	    !cmd_dmesg_get_arg(args, "max-bytes", QGA_KMSG_MAX_BYTES_MIN, QGA_KMSG_MAX_BYTES_MAX,
			       &max_bytes, error) ||
	    !cmd_dmesg_get_arg(args, "max-records", 0, QGA_KMSG_MAX_RECORDS_MAX, &max_records,
			       error) ||
	    !cmd_dmesg_get_arg(args, "tail", 0, QGA_KMSG_MAX_RECORDS_MAX, &filter->tail, error))
		return FALSE;
	query->follow = args != NULL && json_object_has_member(args, "since-seq");
	filter->level = level;
	filter->max_bytes = max_bytes;
	filter->max_records = max_records;
	return TRUE;
}

/* /dev/kmsg, else the syslog(2) buffer (a container, no devtmpfs) */
static QgaKmsgReader *
cmd_dmesg_open(QgaContext *ctx, GError **error)
{
	g_autoptr(GError) error_kmsg = NULL;
	g_autoptr(GError) error_klog = NULL;
	QgaKmsgReader *reader = qga_kmsg_reader_open(ctx->paths->dev, &error_kmsg);

	if (reader != NULL)
		return reader;
	reader = qga_kmsg_reader_open_klogctl(&error_klog);
	if (reader == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot read the kernel log: %s; %s", error_kmsg->message,
			    error_klog->message);
		return NULL;
	}
	g_debug("%s, reading the kernel log with klogctl", error_kmsg->message);
	return reader;
}

/* A follower's next call resumes the last reader: finding its cursor in a
 * new one means reading and parsing every record before it again */
static QgaKmsgReader *
cmd_dmesg_reader(QgaContext *ctx, const QgaKmsgQuery *query, GError **error)
{
	if (ctx->kmsg_reader != NULL && query->follow &&
	    qga_kmsg_reader_can_resume(ctx->kmsg_reader, query->since_seq))
		return g_steal_pointer(&ctx->kmsg_reader);
	return cmd_dmesg_open(ctx, error);
}

static JsonNode *
cmd_guest_dmesg(QgaContext *ctx, JsonObject *args, GError **error)
{
	g_autofree gchar *boot_id_path =
		g_build_filename(ctx->paths->proc, "sys", "kernel", "random", "boot_id", NULL);
	g_autofree gchar *boot_id = NULL;
	g_autoptr(QgaKmsgReader) reader = NULL;
	QgaKmsgQuery query = {0};
	g_autofree gchar *result = NULL;

	qga_kmsg_query_init(&query);
	if (!cmd_dmesg_parse_query(args, &query, error))
		return NULL;
	reader = cmd_dmesg_reader(ctx, &query, error);
	if (reader == NULL)
		return NULL;
	/* the seq numbers restart with every boot: a follower compares this */
	if (!g_file_get_contents(boot_id_path, &boot_id, NULL, NULL) ||
	    strlen(g_strstrip(boot_id)) > 64)
		g_clear_pointer(&boot_id, g_free);
	result = qga_kmsg_export(reader, &query, boot_id, error);
	if (result == NULL)
		return NULL;
	qga_kmsg_reader_free(ctx->kmsg_reader);
	ctx->kmsg_reader = g_steal_pointer(&reader);
	return qga_return_string(result);
}

/* one argument a line, like the other commands' specs */
/* clang-format off */
static const QgaArgSpec dmesg_args[] = {
	{"since-seq", QGA_ARG_INT, TRUE},
	{"level", QGA_ARG_INT, TRUE},
	{"max-bytes", QGA_ARG_INT, TRUE},
	{"max-records", QGA_ARG_INT, TRUE},
	{"tail", QGA_ARG_INT, TRUE},
	{NULL},
};
/* clang-format on */

/* /dev/kmsg is on devtmpfs and the fallback a syscall: nothing that a
 * freeze blocks, and a freeze is when hung-task warnings matter */
const QgaCommand qga_cmd_dmesg_commands[] = {
	{"guest-dmesg", cmd_guest_dmesg, dmesg_args, QGA_CMD_FROZEN_OK | QGA_CMD_RETURNS_TEXT},
	{NULL},
};

gchar *
qga_cmd_dmesg_once(QgaPaths *paths, const gchar *args_text, GError **error)
{
	const QgaCommand *cmd = &qga_cmd_dmesg_commands[0];
	QgaContext ctx = {.paths = paths};
	g_autoptr(JsonNode) args = NULL;
	g_autoptr(JsonNode) ret = NULL;
	JsonObject *object = NULL;

	if (args_text != NULL && *args_text != '\0') {
		/* the same size and nesting limits as a request on the channel */
		args = qga_decoder_parse_one(args_text, strlen(args_text), QGA_KMSG_MAX_BYTES_MIN,
					     error);
		if (args == NULL)
			return NULL;
		if (!JSON_NODE_HOLDS_OBJECT(args)) {
			g_set_error_literal(error, QGA_ERROR, QGA_ERROR_GENERIC,
					    "guest-dmesg's arguments must be a JSON object");
			return NULL;
		}
		object = json_node_get_object(args);
	}
	if (!qga_dispatch_check_args(cmd->args, object, error))
		return NULL;
	ret = cmd->func(&ctx, object, error);
	qga_kmsg_reader_free(ctx.kmsg_reader);
	if (ret == NULL)
		return NULL;
	return g_strdup(json_node_get_string(ret));
}
