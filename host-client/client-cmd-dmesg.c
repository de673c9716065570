/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include <glib/gstdio.h>

#include "client-commands.h"
#include "client-output.h"
#include "client-panic.h"
#include "client-terminal.h"
#include "gmem-dmesg.h"
#include "qga-codec.h"
#include "qga-error.h"

static const gchar dmesg_summary[] =
	"Prints the guest kernel's log through the agent's guest-dmesg (qgatrace-agent reads\n"
	"/dev/kmsg: structured records with sequence numbers, no process spawned in the guest),\n"
	"as dmesg(1) does: '[seconds since boot] message', coloured by level on a terminal.\n"
	"As there, /dev/kmsg's escapes are undone, so text (UTF-8 too) reads as text, and a byte\n"
	"that is not printable text stays \\xNN; --json keeps /dev/kmsg's escaping. Replies are\n"
	"bounded in size; qgatrace asks again with the cursor until it has everything (an agent\n"
	"that stops moving its cursor, or changes its boot id with every reply, is an error).\n"
	"With --follow it then polls with the cursor and prints only new records, until Ctrl-C;\n"
	"records the kernel overwrote before they were read are reported on stderr, and a reboot\n"
	"of the guest (a new boot id) starts over from its first record.";

static const gchar dmesg_description[] =
	"Output:\n"
	"  --json: the records as the agent sends them, in one array: [{\"seq\", \"ts-us\", \"level\",\n"
	"  \"facility\", \"message\", \"continuation\"?, \"dictionary\"?}]; with --follow one record\n"
	"  per line (JSON Lines). From a fallback below, each record's \"via\" names it.\n\n"
	"An agent without guest-dmesg (stock qemu-ga): its guest-exec runs the guest's\n"
	"installed 'qgatrace-agent --dmesg', with the same cursor, level and --follow; where\n"
	"qemu-ga blocks guest-exec (or the program is missing), guest memory is read as with\n"
	"--from-memory when --qmp or --domain is given; else one error names each source tried.\n\n"
	"With no agent (--from-memory, or automatically with --qmp when the agent does not\n"
	"answer): the log is read from guest memory through QEMU's QMP socket: VMCOREINFO from a\n"
	"one-page dump-guest-memory (QEMU needs -device vmcoreinfo, libvirt\n"
	"<vmcoreinfo state='on'/>, the guest its qemu_fw_cfg driver), or with --scan-ram from a\n"
	"scan of guest RAM; then a page walk and the kernel's printk ring, decoded here. The\n"
	"guest is paused while its buffer is read (milliseconds; --no-pause reads it running)\n"
	"and always resumed, Ctrl-C included. No vmlinux or debug info is needed (x86-64, Linux\n"
	">= 3.5). Under libvirt QMP belongs to libvirtd, so --domain with --from-memory (and no\n"
	"--qmp) has libvirt write a memory-only ELF dump (virDomainCoreDumpWithFormat) into a\n"
	"private directory under $TMPDIR (or /tmp), decodes it here and deletes it: the whole\n"
	"guest RAM passes through the disk, and the guest is paused while it is written\n"
	"(libvirt resumes it; no --no-pause here). Ctrl-C waits for the dump to end so the\n"
	"file is always removed. The guest needs libvirt <acpi/> and <vmcoreinfo state='on'/>.\n"
	"A crashed guest that libvirt keeps paused (<on_crash>preserve</on_crash>) stays\n"
	"paused. --save-dir DIR writes what was read to DIR/<domain>-<UTC time>.log (as\n"
	"printed here) and .json (guest-dmesg's reply), never replacing a file, and prints\n"
	"the .log's name (docs/panics.md).\n"
	"--allow-taint (libvirt's QEMU monitor passthrough, which marks the domain tainted)\n"
	"is not supported yet. By hand:\n"
	"  virsh dump --memory-only --format elf vm1 /var/tmp/vm1.elf\n"
	"  qgatrace dmesg --from-dump /var/tmp/vm1.elf\n\n" CLIENT_HELP_EXIT_STATUS "\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock dmesg --tail 20\n"
	"  qgatrace --domain vm1 dmesg --level warn --follow\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock --json dmesg --since 1200\n"
	"  qgatrace --domain vm1 dmesg --from-memory --save-dir /var/lib/qgatrace/panics\n";

/* "truncated" replies in a row that may leave the cursor where it was */
#define DMESG_MAX_STALLED 3
/* a reboot changes the boot id once, then replies agree again: more
 * changes in a row are an agent that lies */
#define DMESG_MAX_BOOT_CHANGES 3
/* a kernel with the largest CONFIG_LOG_BUF_SHIFT (25) has 2^20 record
 * descriptors: one read of its log never brings more */
#define DMESG_MAX_RECORDS (1u << 20)
/* under stock qemu-ga: the guest-exec'd agent's one-shot mode */
#define DMESG_EXEC_PROGRAM "qgatrace-agent"
/* the one-shot reply is bounded like guest-dmesg's (8 MiB max-bytes at
 * most, the default 1 MiB here), and qemu-ga caps captured output at 16 MiB */
#define DMESG_EXEC_MAX_OUTPUT (16 * 1024 * 1024)
/* guest-exec-status polls: from 20 ms, doubling up to 500 ms */
#define DMESG_EXEC_POLL_MIN_MS 20
#define DMESG_EXEC_POLL_MAX_MS 500

typedef struct {
	gchar *level;
	gint64 since;
	gint tail;
	gdouble interval;
	gboolean follow;
	gboolean from_memory;
	gboolean no_pause;
	gboolean scan_ram;
	gboolean allow_taint;
	gchar *from_dump;
	gchar *save_dir;
} DmesgOptions;

static const DmesgOptions dmesg_defaults = {.since = -1, .tail = -1, .interval = 1.0};

static const GOptionEntry dmesg_entries[] = {
	{"since", 's', 0, G_OPTION_ARG_INT64, CLIENT_OPTION(DmesgOptions, since),
	 "only records after sequence number SEQ (a previous record's \"seq\")", "SEQ"},
	{"level", 'l', 0, G_OPTION_ARG_STRING, CLIENT_OPTION(DmesgOptions, level),
	 "only records at LEVEL or more severe: emerg alert crit err warn notice info debug, or 0-7",
	 "LEVEL"},
	{"tail", 'n', 0, G_OPTION_ARG_INT, CLIENT_OPTION(DmesgOptions, tail),
	 "only the last N records", "N"},
	{"follow", 'f', 0, G_OPTION_ARG_NONE, CLIENT_OPTION(DmesgOptions, follow),
	 "then keep printing new records as they come, until Ctrl-C", NULL},
	{"interval", 'i', 0, G_OPTION_ARG_DOUBLE, CLIENT_OPTION(DmesgOptions, interval),
	 "with --follow: poll every SECONDS (default 1)", "SECONDS"},
	{"from-memory", 'M', 0, G_OPTION_ARG_NONE, CLIENT_OPTION(DmesgOptions, from_memory),
	 "read the log from guest memory through --qmp, or with --domain from a libvirt "
	 "memory dump (pauses the guest), with no agent",
	 NULL},
	{"allow-taint", 0, 0, G_OPTION_ARG_NONE, CLIENT_OPTION(DmesgOptions, allow_taint),
	 "with --domain: use libvirt's QEMU monitor passthrough (taints the domain); "
	 "not supported yet",
	 NULL},
	{"no-pause", 0, 0, G_OPTION_ARG_NONE, CLIENT_OPTION(DmesgOptions, no_pause),
	 "from memory: do not pause the guest while reading (records may tear)", NULL},
	{"scan-ram", 0, 0, G_OPTION_ARG_NONE, CLIENT_OPTION(DmesgOptions, scan_ram),
	 "from memory: without -device vmcoreinfo, scan guest RAM for VMCOREINFO", NULL},
	{"from-dump", 0, 0, G_OPTION_ARG_FILENAME, CLIENT_OPTION(DmesgOptions, from_dump),
	 "read the log from an ELF memory dump (virsh dump --memory-only --format elf)", "FILE"},
	{"save-dir", 0, 0, G_OPTION_ARG_FILENAME, CLIENT_OPTION(DmesgOptions, save_dir),
	 "with --from-memory or --from-dump: save the log as DIR/<domain>-<UTC time>.log and "
	 ".json instead of printing it, as qgatrace exporter saves a guest panic",
	 "DIR"},
	{NULL},
};

/* where records come from, in the order they are tried */
typedef enum {
	DMESG_VIA_AGENT,  /* the agent's own guest-dmesg */
	DMESG_VIA_EXEC,	  /* stock qemu-ga: guest-exec of qgatrace-agent --dmesg */
	DMESG_VIA_MEMORY, /* guest memory through QMP or libvirt */
} DmesgVia;

typedef struct {
	ClientContext *ctx;
	ClientTarget *target;
	const DmesgOptions *opts;
	DmesgVia via;
	gboolean fallback;     /* via is a fallback: --json records say so in "via" */
	gboolean answered;     /* a reply came: another source would repeat its records */
	const gchar *announce; /* (nullable): the fallback to name once it answers */
	gint level;	       /* -1: all */
	gint64 tail;	       /* -1: none */
	gint64 cursor;	       /* since-seq for the next call; -1: from the start */
	gboolean have_cursor;
	gint64 high_seq;    /* the highest next-seq of this boot; -1: none */
	guint stalled;	    /* truncated replies in a row that did not pass high_seq */
	guint boot_changes; /* replies in a row with a new boot id */
	guint drained;	    /* records of the current drain */
	gchar *boot_id;
	JsonArray *collected; /* --json without --follow: one array at the end */
} DmesgState;

static void
dmesg_state_clear(DmesgState *st)
{
	g_free(st->boot_id);
	g_clear_pointer(&st->collected, json_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DmesgState, dmesg_state_clear)

static const gchar *
dmesg_via_name(DmesgVia via)
{
	switch (via) {
	case DMESG_VIA_EXEC:
		return "guest-exec";
	case DMESG_VIA_MEMORY:
		return "guest-memory";
	default:
		return "guest-dmesg";
	}
}

static void
dmesg_announce(DmesgState *st)
{
	if (st->announce != NULL && !st->ctx->json)
		client_print_warning(st->ctx,
				     "the agent has no guest-dmesg: reading the kernel log %s",
				     st->announce);
	st->announce = NULL;
}

static void
dmesg_print_record(DmesgState *st, JsonObject *record)
{
	if (st->ctx->json && st->fallback)
		json_object_set_string_member(record, "via", dmesg_via_name(st->via));
	if (st->ctx->json && st->collected != NULL) {
		json_array_add_object_element(st->collected, json_object_ref(record));
	} else if (st->ctx->json) {
		client_print_json_object(record, FALSE);
	} else {
		g_autofree gchar *line = client_format_dmesg_record(record, st->ctx->color);

		fputs(line, stdout);
	}
}

/* guest-exec-status of @pid until it exited, within @deadline_ms (monotonic) */
static JsonObject *
dmesg_exec_wait(DmesgState *st, ClientConn *conn, gint64 pid, gdouble deadline_ms, GError **error)
{
	guint poll_ms = DMESG_EXEC_POLL_MIN_MS;

	for (;;) {
		g_autoptr(JsonObject) args = json_object_new();
		g_autoptr(JsonNode) ret = NULL;
		JsonObject *status;

		json_object_set_int_member(args, "pid", pid);
		ret = client_conn_execute(
			conn, "guest-exec-status", args,
			client_context_timeout_ms(st->ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
		if (ret == NULL)
			return NULL;
		if (!JSON_NODE_HOLDS_OBJECT(ret)) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "guest-exec-status did not return an object");
			return NULL;
		}
		status = json_node_get_object(ret);
		if (client_json_bool(status, "exited", FALSE))
			return json_object_ref(status);
		if (client_now_ms() + poll_ms > deadline_ms) {
			/* not TIMED_OUT: the agent answers, the program hangs */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    DMESG_EXEC_PROGRAM " (pid %" G_GINT64_FORMAT
						       ") did not exit in time",
				    pid);
			return NULL;
		}
		if (client_context_interrupted(st->ctx)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted by %s",
				    client_context_signal_name(st->ctx));
			return NULL;
		}
		g_usleep(poll_ms * 1000);
		poll_ms = MIN(poll_ms * 2, DMESG_EXEC_POLL_MAX_MS);
	}
}

/* the base64 "@member" of a guest-exec-status reply, bounded, as a C string
 * (the parser and messages stop at a NUL); *@text NULL: absent */
static gboolean
dmesg_exec_output(JsonObject *status, const gchar *member, gchar **text, GError **error)
{
	const gchar *b64 = client_json_string(status, member);
	gsize len = 0;
	guchar *data;

	*text = NULL;
	if (b64 == NULL)
		return TRUE;
	if (strlen(b64) / 4 * 3 > DMESG_EXEC_MAX_OUTPUT) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "guest-exec's %s is larger than %d MiB", member,
			    DMESG_EXEC_MAX_OUTPUT >> 20);
		return FALSE;
	}
	data = g_base64_decode(b64, &len);
	data = g_realloc(data, len + 1);
	data[len] = '\0';
	*text = (gchar *)data;
	return TRUE;
}

/* guest-dmesg with @args under stock qemu-ga: guest-exec of the installed
 * qgatrace-agent in its one-shot mode, whose stdout is guest-dmesg's reply */
static JsonNode *
dmesg_exec(DmesgState *st, ClientConn *conn, JsonObject *args, GError **error)
{
	guint timeout_ms = client_context_timeout_ms(st->ctx, CLIENT_TIMEOUT_DEFAULT_MS);
	gdouble deadline_ms = client_now_ms() + timeout_ms;
	g_autoptr(JsonObject) exec_args = json_object_new();
	g_autoptr(JsonArray) argv = json_array_new();
	g_autoptr(JsonNode) args_node = json_node_init_object(json_node_alloc(), args);
	g_autofree gchar *args_text = json_to_string(args_node, FALSE);
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonObject) status = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint64 pid;

	json_array_add_string_element(argv, "--dmesg");
	json_array_add_string_element(argv, args_text);
	json_object_set_string_member(exec_args, "path", DMESG_EXEC_PROGRAM);
	json_object_set_array_member(exec_args, "arg", json_array_ref(argv));
	json_object_set_boolean_member(exec_args, "capture-output", TRUE);
	ret = client_conn_execute(conn, "guest-exec", exec_args, timeout_ms, error);
	if (ret == NULL)
		return NULL;
	pid = JSON_NODE_HOLDS_OBJECT(ret) ? client_json_int(json_node_get_object(ret), "pid", -1)
					  : -1;
	if (pid < 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-exec did not return a pid");
		return NULL;
	}
	status = dmesg_exec_wait(st, conn, pid, deadline_ms, error);
	if (status == NULL)
		return NULL;
	if (!dmesg_exec_output(status, "out-data", &out, error) ||
	    !dmesg_exec_output(status, "err-data", &err, error))
		return NULL;
	if (client_json_int(status, "exitcode", -1) != 0) {
		/* its first line says why (not installed: the shell's or qemu-ga's text) */
		g_autofree gchar *why = err != NULL ? g_strndup(g_strstrip(err), 200) : NULL;
		g_autofree gchar *safe = client_terminal_escape(why);

		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    DMESG_EXEC_PROGRAM " --dmesg failed (exit code %" G_GINT64_FORMAT
					       ")%s%s",
			    client_json_int(status, "exitcode", -1), safe != NULL ? ": " : "",
			    safe != NULL ? safe : "");
		return NULL;
	}
	if (out == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    DMESG_EXEC_PROGRAM " --dmesg printed nothing");
		return NULL;
	}
	/* hostile text: the codec's size and nesting limits */
	ret = qga_decoder_parse_one(out, strlen(out), DMESG_EXEC_MAX_OUTPUT, error);
	if (ret == NULL)
		g_prefix_error(error, "the output of " DMESG_EXEC_PROGRAM " --dmesg: ");
	return g_steal_pointer(&ret);
}

/* one guest-dmesg call from the cursor; @more: the reply was truncated */
static gboolean
dmesg_fetch(DmesgState *st, ClientConn *conn, gboolean use_tail, gboolean *more, GError **error)
{
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(JsonNode) ret = NULL;
	JsonObject *reply;
	JsonArray *records;
	const gchar *boot_id;

	if (st->have_cursor)
		json_object_set_int_member(args, "since-seq", st->cursor);
	if (st->level >= 0)
		json_object_set_int_member(args, "level", st->level);
	if (use_tail)
		json_object_set_int_member(args, "tail", st->tail);
	if (st->via == DMESG_VIA_EXEC)
		ret = dmesg_exec(st, conn, args, error);
	else
		ret = client_conn_execute(
			conn, "guest-dmesg", args,
			client_context_timeout_ms(st->ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
	if (ret == NULL)
		return FALSE;
	if (!JSON_NODE_HOLDS_OBJECT(ret)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "guest-dmesg did not return an object");
		return FALSE;
	}
	st->answered = TRUE;
	dmesg_announce(st);
	reply = json_node_get_object(ret);
	boot_id = client_json_string(reply, "boot-id");
	if (boot_id != NULL && st->boot_id != NULL && g_strcmp0(boot_id, st->boot_id) != 0) {
		/* without --follow one restart is all a read can take */
		if (++st->boot_changes > (st->opts->follow ? DMESG_MAX_BOOT_CHANGES : 1)) {
			g_set_error(
				error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				"the agent's boot id changed in %u replies in a row: no reboot does "
				"that, giving up",
				st->boot_changes);
			return FALSE;
		}
		/* a new boot numbers its records from 0 again: start over */
		client_print_warning(
			st->ctx, "the guest rebooted (boot id %s), reading its log from the start",
			boot_id);
		g_free(st->boot_id);
		st->boot_id = g_strdup(boot_id);
		st->have_cursor = FALSE;
		st->high_seq = -1;
		st->stalled = 0;
		/* at once after a steady reply; a second change waits for the next poll */
		*more = st->boot_changes == 1;
		return TRUE;
	}
	st->boot_changes = 0;
	if (boot_id != NULL && st->boot_id == NULL)
		st->boot_id = g_strdup(boot_id);
	if (client_json_int(reply, "missed", 0) > 0)
		fprintf(stderr,
			"qgatrace: dmesg: %" G_GINT64_FORMAT
			" record(s) were overwritten in the guest before "
			"they could be read\n",
			client_json_int(reply, "missed", 0));
	records = client_json_array(reply, "records");
	if (records != NULL && json_array_get_length(records) > DMESG_MAX_RECORDS - st->drained) {
		g_set_error(
			error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			"the agent sent more than %u records in one read: more than a kernel log "
			"holds, giving up",
			DMESG_MAX_RECORDS);
		return FALSE;
	}
	st->drained += records != NULL ? json_array_get_length(records) : 0;
	for (guint i = 0; records != NULL && i < json_array_get_length(records); i++) {
		JsonNode *node = json_array_get_element(records, i);

		if (JSON_NODE_HOLDS_OBJECT(node))
			dmesg_print_record(st, json_node_get_object(node));
	}
	fflush(stdout);
	if (json_object_has_member(reply, "next-seq")) {
		st->cursor = client_json_int(reply, "next-seq", st->cursor);
		st->have_cursor = TRUE;
	}
	/* a tail reply is the tail: never ask for "more" of it */
	*more = !use_tail && client_json_bool(reply, "truncated", FALSE);
	if (st->have_cursor && st->cursor > st->high_seq) {
		st->high_seq = st->cursor;
		st->stalled = 0;
	} else if (*more && ++st->stalled >= DMESG_MAX_STALLED) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the agent answered 'truncated' %u times without moving its cursor "
			    "(next-seq): giving up",
			    st->stalled);
		return FALSE;
	}
	return TRUE;
}

/* everything from the cursor on, in as many calls as the size bound needs */
static gboolean
dmesg_drain(DmesgState *st, ClientConn *conn, gboolean use_tail, GError **error)
{
	gboolean more = TRUE;
	guint calls = 0;

	st->drained = 0;
	while (more) {
		if (!dmesg_fetch(st, conn, use_tail && calls == 0, &more, error))
			return FALSE;
		calls++;
		/* after a tail, more comes only with --follow */
		if (use_tail)
			break;
		if (client_context_interrupted(st->ctx))
			break;
	}
	return TRUE;
}

static void
dmesg_scan_progress(guint64 done, guint64 total, gpointer user_data)
{
	client_context_progress(user_data,
				"scanning guest RAM for VMCOREINFO: %" G_GUINT64_FORMAT
				" of %" G_GUINT64_FORMAT " MiB",
				done >> 20, total >> 20);
}

/* --domain without --qmp: libvirt dumps guest RAM (memory-only ELF) into a
 * private temporary directory, decoded here; both are removed on every path */
static JsonObject *
dmesg_read_libvirt_dump(DmesgState *st, const GmemDmesgOptions *opts, GError **error)
{
	ClientContext *ctx = st->ctx;
	ClientLibvirt *lv = client_target_get_libvirt(st->target, error);
	g_autofree gchar *dir = NULL;
	g_autofree gchar *path = NULL;
	JsonObject *reply = NULL;
	gboolean dumped;

	if (lv == NULL)
		return NULL;
	dir = g_dir_make_tmp("qgatrace-dump-XXXXXX", error);
	if (dir == NULL)
		return NULL;
	path = g_build_filename(dir, "memory.elf", NULL);
	/* a signal now would leave the dump behind: take it, look after the dump */
	client_context_catch_signals(ctx);
	client_context_progress(ctx,
				"dumping the memory of domain '%s' through libvirt "
				"(the guest is paused meanwhile)",
				ctx->domain);
	dumped = client_libvirt_dump_memory(lv, path, error);
	if (dumped && client_context_interrupted(ctx))
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted by %s",
			    client_context_signal_name(ctx));
	else if (dumped)
		reply = gmem_dmesg_read_from_dump(path, opts, error);
	if (g_unlink(path) < 0 && errno != ENOENT)
		fprintf(stderr, "qgatrace: dmesg: cannot remove %s: %s\n", path, g_strerror(errno));
	if (g_rmdir(dir) < 0)
		fprintf(stderr, "qgatrace: dmesg: cannot remove %s: %s\n", dir, g_strerror(errno));
	return reply;
}

/* --save-dir: the files a guest panic gets (client-panic.h), named after
 * the domain, else the dump file */
static gboolean
dmesg_save(DmesgState *st, JsonObject *reply, GError **error)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *dump_name =
		st->opts->from_dump != NULL ? g_path_get_basename(st->opts->from_dump) : NULL;
	const gchar *name = st->ctx->domain != NULL ? st->ctx->domain : dump_name;
	g_autofree gchar *log_path = NULL;
	g_autofree gchar *shown = NULL;

	if (!client_panic_save(st->opts->save_dir, name, now, reply, NULL, &log_path, error))
		return FALSE;
	shown = client_terminal_escape(log_path);
	client_print("%s\n", shown);
	return TRUE;
}

/* --from-memory, and the fallback when no agent answers: the log read from
 * guest memory through QEMU's QMP socket (guest-memory/gmem-dmesg.c) */
static gboolean
dmesg_from_memory(DmesgState *st, GError **error)
{
	ClientContext *ctx = st->ctx;
	const gchar *dump_path = st->opts->from_dump;
	gboolean no_pause = st->opts->no_pause;
	gint64 since = st->opts->since;
	GmemDmesgOptions opts;
	g_autoptr(JsonObject) reply = NULL;
	JsonArray *records;

	if (ctx->qmp_path == NULL && dump_path == NULL && ctx->domain == NULL) {
		client_set_usage_error(error,
				       "--from-memory needs --qmp SOCKET (QEMU's QMP monitor) "
				       "or --domain NAME");
		return FALSE;
	}
	if (ctx->qmp_path == NULL && dump_path == NULL && no_pause) {
		client_set_usage_error(error,
				       "--no-pause needs --qmp: libvirt's memory dump pauses "
				       "the guest while it is written");
		return FALSE;
	}
	/* QEMU's QMP socket takes one client at a time: ours must go first */
	client_target_close_qmp(st->target);
	gmem_dmesg_options_init(&opts);
	opts.no_pause = no_pause;
	opts.scan = st->opts->scan_ram;
	opts.level = st->level;
	opts.tail = st->tail;
	opts.timeout_ms = client_context_timeout_ms(ctx, 30000);
	opts.progress = dmesg_scan_progress;
	opts.progress_data = ctx;
	if (dump_path != NULL)
		reply = gmem_dmesg_read_from_dump(dump_path, &opts, error);
	else if (ctx->qmp_path == NULL)
		reply = dmesg_read_libvirt_dump(st, &opts, error);
	else
		reply = gmem_dmesg_read(ctx->qmp_path, &opts, error);
	if (reply == NULL)
		return FALSE;
	if (st->opts->save_dir != NULL)
		return dmesg_save(st, reply, error);
	dmesg_announce(st);
	records = client_json_array(reply, "records");
	for (guint i = 0; records != NULL && i < json_array_get_length(records); i++) {
		JsonObject *record = client_json_array_object(records, i);

		if (since >= 0 && client_json_int(record, "seq", 0) <= since)
			continue;
		dmesg_print_record(st, record);
	}
	if (st->collected != NULL) {
		g_autoptr(JsonNode) node = json_node_init_array(json_node_alloc(), st->collected);

		client_print_json(node, TRUE);
	}
	fflush(stdout);
	return TRUE;
}

static gboolean
dmesg_wake_cb(gpointer user_data)
{
	gboolean *done = user_data;

	*done = TRUE;
	return G_SOURCE_REMOVE;
}

/* sleeps @ms, or until a signal */
static void
dmesg_sleep(ClientContext *ctx, guint ms)
{
	gboolean done = FALSE;
	guint id = g_timeout_add(ms, dmesg_wake_cb, &done);

	while (!done && !client_context_interrupted(ctx))
		g_main_context_iteration(NULL, TRUE);
	if (!done)
		g_source_remove(id);
}

static gboolean
dmesg_check(ClientContext *ctx, gconstpointer options, gchar **args, GError **error)
{
	const DmesgOptions *opts = options;

	if (opts->level != NULL && client_parse_level(opts->level, error) < 0)
		return FALSE;
	if (opts->tail < -1 || opts->tail == 0 || (opts->tail > 0 && opts->since >= 0)) {
		client_set_usage_error(error, opts->tail > 0
						      ? "--tail and --since exclude each other"
						      : "--tail wants a number of records > 0");
		return FALSE;
	}
	if (opts->since < -1) {
		client_set_usage_error(error, "--since wants a sequence number >= 0");
		return FALSE;
	}
	if (!(opts->interval >= 0.05 && opts->interval <= 3600)) {
		client_set_usage_error(error, "--interval wants seconds within 0.05-3600");
		return FALSE;
	}
	if (opts->allow_taint) {
		client_set_usage_error(
			error, "--allow-taint is not supported yet: reading memory "
			       "through libvirt's monitor passthrough is not implemented; "
			       "--domain NAME dmesg --from-memory uses a memory dump instead");
		return FALSE;
	}
	if (opts->save_dir != NULL && !opts->from_memory && opts->from_dump == NULL) {
		client_set_usage_error(error, "--save-dir needs --from-memory or --from-dump");
		return FALSE;
	}
	if (opts->save_dir != NULL && opts->since >= 0) {
		client_set_usage_error(error, "--save-dir saves the whole log: no --since");
		return FALSE;
	}
	if ((opts->from_memory || opts->from_dump != NULL) && opts->follow) {
		client_set_usage_error(error, "--from-memory and --follow exclude each other");
		return FALSE;
	}
	return TRUE;
}

/* --follow: polls with the cursor until a signal, waiting out an agent that went away */
static gboolean
dmesg_follow(DmesgState *st, ClientConn *conn, GError **error)
{
	ClientContext *ctx = st->ctx;
	gboolean waiting = FALSE;

	client_context_progress(ctx,
				"-- following the guest's kernel log every %.1f s; Ctrl-C ends --",
				st->opts->interval);
	while (!client_context_interrupted(ctx)) {
		g_autoptr(GError) error_local = NULL;

		dmesg_sleep(ctx, (guint)(st->opts->interval * 1000));
		if (client_context_interrupted(ctx))
			break;
		if (conn == NULL) {
			/* reconnecting after the agent went away (a reboot, a restart),
			 * to the port that served guest-dmesg so far */
			conn = client_target_get_trace_conn(st->target, &error_local);
			if (conn == NULL) {
				if (!client_error_is_unreachable(error_local)) {
					g_propagate_error(error, g_steal_pointer(&error_local));
					return FALSE;
				}
				continue;
			}
			if (waiting)
				fprintf(stderr, "qgatrace: dmesg: the agent is back\n");
			waiting = FALSE;
		}
		if (!dmesg_drain(st, conn, FALSE, &error_local)) {
			if (!client_error_is_unreachable(error_local)) {
				g_propagate_error(error, g_steal_pointer(&error_local));
				return FALSE;
			}
			if (!waiting)
				client_print_warning(ctx, "%s; waiting for the agent (Ctrl-C ends)",
						     error_local->message);
			waiting = TRUE;
			client_target_close_conn(st->target);
			conn = NULL;
		}
	}
	return TRUE;
}

/* the records through @via, then with --follow new ones until a signal */
static gboolean
dmesg_read(DmesgState *st, ClientConn *conn, GError **error)
{
	if (!dmesg_drain(st, conn, st->tail > 0, error))
		return FALSE;
	if (st->opts->follow)
		return dmesg_follow(st, conn, error);
	if (st->collected != NULL) {
		g_autoptr(JsonNode) node = json_node_init_array(json_node_alloc(), st->collected);

		client_print_json(node, TRUE);
	}
	return TRUE;
}

/* a fallback source, named on stderr once it answers (--json records
 * carry "via" instead) */
static void
dmesg_use_fallback(DmesgState *st, DmesgVia via, const gchar *what)
{
	st->via = via;
	st->fallback = TRUE;
	st->announce = what;
}

/* 2., under stock qemu-ga: its guest-exec runs qgatrace-agent --dmesg;
 * FALSE with @error set, or else with @why extended when the chain goes on */
static gboolean
dmesg_try_exec(DmesgState *st, ClientConn *conn, GString *why, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	dmesg_use_fallback(st, DMESG_VIA_EXEC,
			   "through guest-exec of " DMESG_EXEC_PROGRAM " --dmesg");
	if (dmesg_read(st, conn, &error_local))
		return TRUE;
	/* records printed, or Ctrl-C: another source would repeat them */
	if (st->answered || g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (client_error_is_command_not_found(error_local))
		g_string_append_printf(why, "; guest-exec: refused by the agent (%s)",
				       error_local->message);
	else
		g_string_append_printf(why, "; guest-exec: %s", error_local->message);
	return FALSE;
}

/* 3. guest memory, where QMP or libvirt can read it; else the error
 * naming every source tried */
static gboolean
dmesg_try_memory(DmesgState *st, GString *why, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (st->ctx->qmp_path == NULL && st->ctx->domain == NULL) {
		g_string_append(why, "; guest memory: no --qmp or --domain");
	} else if (st->opts->follow) {
		g_string_append(why, "; guest memory: not with --follow");
	} else {
		dmesg_use_fallback(st, DMESG_VIA_MEMORY, "from guest memory");
		if (dmesg_from_memory(st, &error_local))
			return TRUE;
		g_string_append_printf(why, "; guest memory: %s", error_local->message);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		    "cannot read the guest's kernel log: %s", why->str);
	return FALSE;
}

/* not CLIENT_COMMAND_AGENT: from memory it needs none, and without an
 * answer it falls back to reading memory through QMP */
static gboolean
dmesg_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	const DmesgOptions *opts = inv->options;
	g_auto(DmesgState) st = {ctx, inv->target, opts};
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GString) why = g_string_new(NULL);
	ClientConn *conn;

	st.level = opts->level != NULL ? client_parse_level(opts->level, NULL) : -1;
	st.high_seq = -1;
	st.tail = opts->tail;
	if (opts->since >= 0) {
		st.cursor = opts->since;
		st.have_cursor = TRUE;
	}
	if (ctx->json && !opts->follow)
		st.collected = json_array_new();
	if (opts->from_memory || opts->from_dump != NULL)
		return dmesg_from_memory(&st, error);
	if (opts->follow)
		client_context_catch_signals(ctx);
	conn = client_target_get_trace_conn(inv->target, &error_local);
	/* no agent answers, or none was given besides --qmp */
	if (conn == NULL && ctx->qmp_path != NULL && !opts->follow &&
	    (client_error_is_unreachable(error_local) ||
	     (ctx->agent_path == NULL && ctx->domain == NULL))) {
		client_print_warning(
			ctx, "%s; reading the kernel log from guest memory through QMP instead",
			error_local->message);
		return dmesg_from_memory(&st, error);
	}
	if (conn == NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	/* 1. guest-dmesg through the qgatrace port: qgatrace-agent's own
	 * command, on the connection that serves it (here the agent's) */
	if (dmesg_read(&st, conn, &error_local))
		return TRUE;
	if (!client_error_is_command_not_found(error_local) || st.answered) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	g_clear_error(&error_local);
	g_string_append(why, "qgatrace port: none");
	/* 2. stock qemu-ga on the same connection: guest-exec */
	if (dmesg_try_exec(&st, conn, why, &error_local))
		return TRUE;
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	/* 3. guest memory, 4. the error naming each */
	return dmesg_try_memory(&st, why, error);
}

const ClientCommand client_cmd_dmesg = {
	.name = "dmesg",
	.summary = "the guest kernel's log (--follow for new records)",
	.help = dmesg_summary,
	.help_tail = dmesg_description,
	.options = dmesg_entries,
	.options_size = sizeof(DmesgOptions),
	.options_defaults = &dmesg_defaults,
	.check = dmesg_check,
	.run = dmesg_run,
};
