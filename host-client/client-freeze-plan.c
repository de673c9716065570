/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <gio/gio.h>

#include "client-conn.h"
#include "client-freeze-plan.h"
#include "client-output.h"
#include "client-terminal.h"

typedef enum {
	PLAN_STRING,
	PLAN_STRING_OR_NULL,
	PLAN_BOOL,
} PlanType;

typedef struct {
	const gchar *name;
	PlanType type;
} PlanMember;

#define PLAN_MOUNT_MEMBERS                                                                         \
	{"mountpoint", PLAN_STRING}, {"fstype", PLAN_STRING}, {"source", PLAN_STRING},             \
	{                                                                                          \
		"device", PLAN_STRING                                                              \
	}

static const PlanMember plan_freeze_members[] = {PLAN_MOUNT_MEMBERS, {NULL}};
static const PlanMember plan_skip_members[] = {PLAN_MOUNT_MEMBERS,
					       {"reason", PLAN_STRING},
					       {"detail", PLAN_STRING},
					       {"same-as", PLAN_STRING_OR_NULL},
					       {"frozen-by", PLAN_STRING_OR_NULL},
					       {NULL}};
static const PlanMember plan_dep_members[] = {{"mountpoint", PLAN_STRING},
					      {"before", PLAN_STRING},
					      {"backing-file", PLAN_STRING},
					      {NULL}};
static const PlanMember plan_hook_members[] = {{"path", PLAN_STRING},
					       {"executable", PLAN_BOOL},
					       {NULL}};
static const PlanMember plan_frozen_by_members[] = {{"who", PLAN_STRING},
						    {"evidence", PLAN_STRING},
						    {NULL}};

static gboolean
plan_invalid(GError **error, const gchar *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "guest-fsfreeze-plan returned a malformed plan: %s", what);
	return FALSE;
}

static gboolean
plan_is_text(JsonNode *node)
{
	return node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
	       json_node_get_value_type(node) == G_TYPE_STRING &&
	       strlen(json_node_get_string(node)) <= CLIENT_FREEZE_PLAN_TEXT_MAX;
}

/* a copy of the object @node with exactly @members, each of its type */
static JsonObject *
plan_copy_object(JsonNode *node, const PlanMember *members, const gchar *what, GError **error)
{
	g_autoptr(JsonObject) copy = json_object_new();
	JsonObject *object;

	if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
		plan_invalid(error, what);
		return NULL;
	}
	object = json_node_get_object(node);
	for (const PlanMember *m = members; m->name != NULL; m++) {
		JsonNode *member = json_object_get_member(object, m->name);
		gboolean ok;

		if (m->type == PLAN_BOOL)
			ok = member != NULL && JSON_NODE_HOLDS_VALUE(member) &&
			     json_node_get_value_type(member) == G_TYPE_BOOLEAN;
		else
			ok = plan_is_text(member) ||
			     (m->type == PLAN_STRING_OR_NULL && member != NULL &&
			      JSON_NODE_HOLDS_NULL(member));
		if (!ok) {
			g_autofree gchar *which = g_strdup_printf("%s '%s'", what, m->name);

			plan_invalid(error, which);
			return NULL;
		}
		json_object_set_member(copy, m->name, json_node_copy(member));
	}
	return g_steal_pointer(&copy);
}

/* a copy of the array @name of @object: objects with @members, or
 * strings when @members is NULL; at most @max */
static gboolean
plan_copy_array(JsonObject *object, JsonObject *copy, const gchar *name, const PlanMember *members,
		guint max, GError **error)
{
	JsonNode *node = json_object_get_member(object, name);
	g_autoptr(JsonArray) out = json_array_new();
	JsonArray *array;

	if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
		return plan_invalid(error, name);
	array = json_node_get_array(node);
	if (json_array_get_length(array) > max)
		return plan_invalid(error, name);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *element = json_array_get_element(array, i);
		JsonObject *entry;

		if (members == NULL) {
			if (!plan_is_text(element))
				return plan_invalid(error, name);
			json_array_add_element(out, json_node_copy(element));
			continue;
		}
		entry = plan_copy_object(element, members, name, error);
		if (entry == NULL)
			return FALSE;
		json_array_add_object_element(out, entry);
	}
	json_object_set_array_member(copy, name, g_steal_pointer(&out));
	return TRUE;
}

JsonObject *
client_freeze_plan_parse(JsonNode *ret, GError **error)
{
	g_autoptr(JsonObject) copy = json_object_new();
	JsonObject *object;
	JsonNode *hook;

	if (ret == NULL || !JSON_NODE_HOLDS_OBJECT(ret)) {
		plan_invalid(error, "not an object");
		return NULL;
	}
	object = json_node_get_object(ret);
	if (!plan_copy_array(object, copy, "freeze", plan_freeze_members,
			     CLIENT_FREEZE_PLAN_MOUNTS_MAX, error) ||
	    !plan_copy_array(object, copy, "skip", plan_skip_members, CLIENT_FREEZE_PLAN_MOUNTS_MAX,
			     error) ||
	    !plan_copy_array(object, copy, "dependencies", plan_dep_members,
			     CLIENT_FREEZE_PLAN_MOUNTS_MAX, error) ||
	    !plan_copy_array(object, copy, "frozen-by", plan_frozen_by_members,
			     CLIENT_FREEZE_PLAN_WARNINGS_MAX, error) ||
	    !plan_copy_array(object, copy, "warnings", NULL, CLIENT_FREEZE_PLAN_WARNINGS_MAX,
			     error))
		return NULL;
	hook = json_object_get_member(object, "hook");
	if (hook != NULL && JSON_NODE_HOLDS_NULL(hook)) {
		json_object_set_null_member(copy, "hook");
	} else {
		JsonObject *hook_copy = plan_copy_object(hook, plan_hook_members, "hook", error);

		if (hook_copy == NULL)
			return NULL;
		json_object_set_object_member(copy, "hook", hook_copy);
	}
	return g_steal_pointer(&copy);
}

/* the widest escaped @name among @array's objects, for a column */
static guint
plan_column_width(JsonArray *array, const gchar *name)
{
	guint width = 0;

	for (guint i = 0; i < json_array_get_length(array); i++) {
		g_autofree gchar *text =
			client_json_text(json_array_get_object_element(array, i), name, "");

		width = MAX(width, (guint)g_utf8_strlen(text, -1));
	}
	return width;
}

/* @text padded with spaces to @width characters */
static void
plan_append_column(GString *out, const gchar *text, guint width)
{
	glong len = g_utf8_strlen(text, -1);

	g_string_append(out, text);
	for (glong i = len; i < (glong)width + 2; i++)
		g_string_append_c(out, ' ');
}

static void
plan_format_freeze(GString *out, JsonArray *freeze)
{
	guint mp_width = plan_column_width(freeze, "mountpoint");
	guint fs_width = plan_column_width(freeze, "fstype");
	guint dev_width = plan_column_width(freeze, "device");

	if (json_array_get_length(freeze) == 0) {
		g_string_append(out, "would freeze nothing\n");
		return;
	}
	g_string_append(out, "would freeze, in this order:\n");
	for (guint i = 0; i < json_array_get_length(freeze); i++) {
		JsonObject *entry = json_array_get_object_element(freeze, i);
		g_autofree gchar *mp = client_json_text(entry, "mountpoint", "");
		g_autofree gchar *fstype = client_json_text(entry, "fstype", "");
		g_autofree gchar *device = client_json_text(entry, "device", "");
		g_autofree gchar *source = client_json_text(entry, "source", "");

		g_string_append_printf(out, "  %3u  ", i + 1);
		plan_append_column(out, mp, mp_width);
		plan_append_column(out, fstype, fs_width);
		plan_append_column(out, device, dev_width);
		g_string_append_printf(out, "%s\n", source);
	}
}

static void
plan_format_skip(GString *out, JsonArray *skip)
{
	guint mp_width = plan_column_width(skip, "mountpoint");
	guint reason_width = plan_column_width(skip, "reason");

	if (json_array_get_length(skip) == 0)
		return;
	g_string_append(out, "skipped:\n");
	for (guint i = 0; i < json_array_get_length(skip); i++) {
		JsonObject *entry = json_array_get_object_element(skip, i);
		g_autofree gchar *mp = client_json_text(entry, "mountpoint", "");
		g_autofree gchar *reason = client_json_text(entry, "reason", "");
		g_autofree gchar *detail = client_json_text(entry, "detail", "");

		g_string_append(out, "  ");
		plan_append_column(out, mp, mp_width);
		plan_append_column(out, reason, reason_width);
		g_string_append_printf(out, "%s\n", detail);
	}
}

gchar *
client_freeze_plan_format(ClientContext *ctx, JsonObject *plan)
{
	GString *out = g_string_new(NULL);
	JsonArray *deps = client_json_array(plan, "dependencies");
	JsonArray *warnings = client_json_array(plan, "warnings");
	JsonArray *frozen_by = client_json_array(plan, "frozen-by");
	JsonObject *hook = client_json_object(plan, "hook");

	plan_format_freeze(out, client_json_array(plan, "freeze"));
	for (guint i = 0; i < json_array_get_length(deps); i++) {
		JsonObject *dep = json_array_get_object_element(deps, i);
		g_autofree gchar *mp = client_json_text(dep, "mountpoint", "");
		g_autofree gchar *before = client_json_text(dep, "before", "");
		g_autofree gchar *file = client_json_text(dep, "backing-file", "");

		g_string_append_printf(out, "order: %s before %s (its loop image %s is there)\n",
				       mp, before, file);
	}
	if (hook != NULL) {
		g_autofree gchar *path = client_json_text(hook, "path", "");

		g_string_append_printf(out, "hook: %s (%s)\n", path,
				       client_json_bool(hook, "executable", FALSE)
					       ? "executable"
					       : "NOT executable");
	} else {
		g_string_append(out, "hook: none\n");
	}
	for (guint i = 0; i < json_array_get_length(frozen_by); i++) {
		JsonObject *entry = json_array_get_object_element(frozen_by, i);
		g_autofree gchar *who = client_json_text(entry, "who", "");
		g_autofree gchar *evidence = client_json_text(entry, "evidence", "");

		g_string_append_printf(out, "frozen by %s (%s)\n", who, evidence);
	}
	plan_format_skip(out, client_json_array(plan, "skip"));
	for (guint i = 0; i < json_array_get_length(warnings); i++) {
		g_string_append_printf(out, "%swarning:%s ",
				       client_style_on(ctx, CLIENT_STYLE_YELLOW),
				       client_style_off(ctx, CLIENT_STYLE_YELLOW));
		client_terminal_append(out, json_array_get_string_element(warnings, i), -1);
		g_string_append_c(out, '\n');
	}
	g_string_append(out, "nothing was frozen: this is a plan\n");
	return g_string_free(out, FALSE);
}

gboolean
client_freeze_plan_run(ClientInvocation *inv, JsonObject *args, JsonNode *mountpoints,
		       GError **error)
{
	ClientContext *ctx = inv->ctx;
	g_autoptr(JsonNode) mountpoints_owned = mountpoints;
	ClientConn *conn = client_target_get_trace_conn(inv->target, error);
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonObject) plan = NULL;
	g_autofree gchar *text = NULL;

	if (conn == NULL)
		return FALSE;
	ret = client_conn_execute(conn, "guest-fsfreeze-plan", args,
				  client_context_timeout_ms(ctx, CLIENT_TIMEOUT_DEFAULT_MS), error);
	if (ret == NULL)
		return FALSE;
	plan = client_freeze_plan_parse(ret, error);
	if (plan == NULL)
		return FALSE;
	if (ctx->json) {
		json_object_set_member(plan, "mountpoints", g_steal_pointer(&mountpoints_owned));
		client_print_json_object(plan, TRUE);
		return TRUE;
	}
	text = client_freeze_plan_format(ctx, plan);
	client_print("%s", text);
	return TRUE;
}
