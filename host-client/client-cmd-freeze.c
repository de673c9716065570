/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "client-commands.h"
#include "client-conn.h"
#include "client-freeze-plan.h"
#include "client-output.h"

static const gchar freeze_summary[] =
	"Freezes guest filesystems (FIFREEZE in the guest): all of them (guest-fsfreeze-freeze), or\n"
	"the mountpoints given with -m (guest-fsfreeze-freeze-list). The guest stays frozen until\n"
	"'qgatrace thaw', or until the agent's own freeze timeout thaws it (qgatrace-agent:\n"
	"--freeze-timeout, default 60 s; stock qemu-ga never does). While frozen the agent refuses\n"
	"most commands. To freeze around a host-side snapshot, 'qgatrace snapshot' freezes, runs\n"
	"the snapshot and always thaws.";

static const gchar freeze_description[] =
	"With --plan nothing is frozen: the agent (qgatrace-agent, guest-fsfreeze-plan) says what\n"
	"the same freeze would do: the filesystems in the order it freezes them, every mount it\n"
	"skips and why, the loop devices that decide the order, the hook, and warnings.\n\n"
	"Output:\n"
	"  'froze 1 filesystem(s): /mnt/data'\n"
	"  --json: {\"frozen\": COUNT, \"mountpoints\": [MOUNT...]|null}\n"
	"  --plan --json: {\"mountpoints\": [MOUNT...]|null, \"freeze\": [...], \"skip\": [...],\n"
	"    \"dependencies\": [...], \"hook\": {...}|null, \"frozen-by\": [...], \"warnings\": [...]}\n"
	"\n" CLIENT_HELP_EXIT_STATUS "\nExamples:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock freeze -m /mnt/data\n"
	"  qgatrace --domain vm1 freeze --plan\n"
	"  qgatrace --domain vm1 freeze && qgatrace --domain vm1 thaw\n";

static const gchar thaw_summary[] =
	"Thaws every frozen guest filesystem (guest-fsfreeze-thaw). Harmless when nothing is\n"
	"frozen: it then thaws 0.";

static const gchar thaw_description[] =
	"Output:\n"
	"  'thawed 1 filesystem(s)'\n"
	"  --json: {\"thawed\": COUNT}\n\n" CLIENT_HELP_EXIT_STATUS "\nExample:\n"
	"  qgatrace --agent /run/vm1/qgatrace.sock thaw\n";

static gboolean
freeze_get_count(JsonNode *ret, const gchar *command, gint64 *count, GError **error)
{
	if (!JSON_NODE_HOLDS_VALUE(ret) || json_node_get_value_type(ret) != G_TYPE_INT64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s did not return a count",
			    command);
		return FALSE;
	}
	*count = json_node_get_int(ret);
	return TRUE;
}

typedef struct {
	gchar **mounts; /* -m, or NULL */
	gboolean plan;
} FreezeOptions;

static const GOptionEntry freeze_entries[] = {
	{"mountpoint", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, CLIENT_OPTION(FreezeOptions, mounts),
	 "freeze this mountpoint (repeatable); default: every freezable filesystem", "MOUNT"},
	{"plan", 0, 0, G_OPTION_ARG_NONE, CLIENT_OPTION(FreezeOptions, plan),
	 "freeze nothing: show what the freeze would do (qgatrace-agent)", NULL},
	{NULL},
};

/* the "mountpoints" argument of -m, or NULL */
static JsonObject *
freeze_args_new(gchar **mounts)
{
	JsonObject *args;
	JsonArray *list;

	if (mounts == NULL)
		return NULL;
	list = json_array_new();
	for (guint i = 0; mounts[i] != NULL; i++)
		json_array_add_string_element(list, mounts[i]);
	args = json_object_new();
	json_object_set_array_member(args, "mountpoints", list);
	return args;
}

static JsonNode *
freeze_args_mountpoints(JsonObject *args)
{
	if (args == NULL)
		return json_node_init_null(json_node_alloc());
	return json_node_copy(json_object_get_member(args, "mountpoints"));
}

static gboolean
freeze_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	const FreezeOptions *opts = inv->options;
	gchar **mounts = opts->mounts;
	g_autoptr(JsonObject) args = freeze_args_new(mounts);
	g_autoptr(JsonNode) ret = NULL;
	const gchar *command =
		mounts != NULL ? "guest-fsfreeze-freeze-list" : "guest-fsfreeze-freeze";
	gint64 count = 0;

	if (opts->plan)
		return client_freeze_plan_run(inv, args, freeze_args_mountpoints(args), error);
	client_context_progress(ctx, "freezing %s...",
				mounts != NULL ? "the given mountpoints"
					       : "every guest filesystem");
	ret = client_conn_execute(inv->conn, command, args,
				  client_context_timeout_ms(ctx, CLIENT_TIMEOUT_FREEZE_MS), error);
	if (ret == NULL)
		return FALSE;
	if (!freeze_get_count(ret, command, &count, error))
		return FALSE;
	if (ctx->json) {
		g_autoptr(JsonObject) out = json_object_new();

		json_object_set_int_member(out, "frozen", count);
		json_object_set_member(out, "mountpoints", freeze_args_mountpoints(args));
		client_print_json_object(out, TRUE);
		return TRUE;
	}
	if (mounts != NULL) {
		g_autofree gchar *list = g_strjoinv(", ", mounts);

		client_print("froze %" G_GINT64_FORMAT " filesystem(s): %s\n", count, list);
	} else {
		client_print("froze %" G_GINT64_FORMAT " filesystem(s)\n", count);
	}
	client_print(
		"the guest stays frozen until 'qgatrace thaw' (or the agent's freeze timeout)\n");
	return TRUE;
}

static gboolean
thaw_run(ClientInvocation *inv, GError **error)
{
	ClientContext *ctx = inv->ctx;
	g_autoptr(JsonNode) ret = NULL;
	gint64 count = 0;

	ret = client_conn_execute(inv->conn, "guest-fsfreeze-thaw", NULL,
				  client_context_timeout_ms(ctx, CLIENT_TIMEOUT_FREEZE_MS), error);
	if (ret == NULL)
		return FALSE;
	if (!freeze_get_count(ret, "guest-fsfreeze-thaw", &count, error))
		return FALSE;
	if (ctx->json) {
		g_autoptr(JsonObject) out = json_object_new();

		json_object_set_int_member(out, "thawed", count);
		client_print_json_object(out, TRUE);
		return TRUE;
	}
	client_print("thawed %" G_GINT64_FORMAT " filesystem(s)\n", count);
	return TRUE;
}

const ClientCommand client_cmd_freeze = {
	.name = "freeze",
	.summary = "freeze guest filesystems (all, or -m MOUNT...)",
	.help = freeze_summary,
	.help_tail = freeze_description,
	.options = freeze_entries,
	.options_size = sizeof(FreezeOptions),
	.flags = CLIENT_COMMAND_AGENT,
	.run = freeze_run,
};

const ClientCommand client_cmd_thaw = {
	.name = "thaw",
	.summary = "thaw every frozen guest filesystem",
	.help = thaw_summary,
	.help_tail = thaw_description,
	.flags = CLIENT_COMMAND_AGENT,
	.run = thaw_run,
};
