/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-output.h"
#include "client-terminal.h"
#include "client-verdict.h"

GStrv
client_verdict_functions(JsonObject *session, JsonObject *verification)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	JsonArray *events = client_json_array(session, "events");
	JsonArray *used = client_json_array(verification, "events");

	for (guint i = 0; used != NULL && events != NULL && i < json_array_get_length(used); i++) {
		JsonNode *index = json_array_get_element(used, i);
		JsonObject *event;
		const gchar *name;
		gint64 n;

		if (!JSON_NODE_HOLDS_VALUE(index) ||
		    json_node_get_value_type(index) != G_TYPE_INT64)
			continue;
		n = json_node_get_int(index);
		if (n < 0 || n >= json_array_get_length(events))
			continue;
		event = client_json_array_object(events, (guint)n);
		/* the function tracer names a function; a tracepoint only its event */
		name = client_json_string(event, "function");
		if (name == NULL)
			name = client_json_string(event, "event");
		if (name != NULL &&
		    !g_ptr_array_find_with_equal_func(names, name, g_str_equal, NULL))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

JsonObject *
client_verdict_find(JsonObject *session, const gchar *mountpoint)
{
	JsonArray *list = client_json_array(session, "verification");

	for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
		JsonNode *node = json_array_get_element(list, i);

		if (JSON_NODE_HOLDS_OBJECT(node) &&
		    g_strcmp0(client_json_string(json_node_get_object(node), "mountpoint"),
			      mountpoint) == 0)
			return json_node_get_object(node);
	}
	return NULL;
}

/* the host disk entry that holds @mountpoint */
static JsonObject *
client_verdict_host_disk(JsonObject *host_evidence, const gchar *mountpoint)
{
	JsonArray *disks = client_json_array(host_evidence, "disks");

	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *disk = client_json_array_object(disks, i);
		JsonArray *mounts = client_json_array(disk, "mountpoints");

		for (guint m = 0; mounts != NULL && m < json_array_get_length(mounts); m++) {
			if (g_strcmp0(client_json_array_string(mounts, m), mountpoint) == 0)
				return disk;
		}
	}
	return NULL;
}

static void
client_verdict_copy(JsonObject *out, const gchar *to, JsonObject *from, const gchar *name)
{
	JsonNode *node = from != NULL ? json_object_get_member(from, name) : NULL;

	if (node != NULL)
		json_object_set_member(out, to, json_node_copy(node));
	else
		json_object_set_null_member(out, to);
}

/* @reason, or "@reason; @more" */
static void
client_verdict_add_reason(gchar **reason, const gchar *more)
{
	gchar *both = *reason == NULL ? g_strdup(more) : g_strdup_printf("%s; %s", *reason, more);

	g_free(*reason);
	*reason = both;
}

/* why the host could not tell @mountpoint's disk (client_disk_map), or NULL */
static const gchar *
client_verdict_unmapped_reason(JsonObject *host_evidence, const gchar *mountpoint)
{
	JsonArray *unmapped = client_json_array(host_evidence, "unmapped");

	for (guint i = 0; unmapped != NULL && i < json_array_get_length(unmapped); i++) {
		JsonObject *u = client_json_array_object(unmapped, i);

		if (g_strcmp0(client_json_string(u, "mountpoint"), mountpoint) == 0)
			return client_json_string(u, "unmapped-reason");
	}
	return NULL;
}

/* a disk the guest tied to no mountpoint: any write the host saw on it
 * inside the window may be a frozen filesystem's, so it counts against
 * every verdict (unknown is not verified) */
static gboolean
client_verdict_disk_is_unknown(JsonObject *disk)
{
	JsonArray *mounts = client_json_array(disk, "mountpoints");

	return (mounts == NULL || json_array_get_length(mounts) == 0) &&
	       client_json_int(disk, "writes-in-window", 0) > 0;
}

/* a guest number as it must be: a JSON integer in [@min, @max] */
static gboolean
client_verdict_int_in(JsonObject *object, const gchar *name, gint64 min, gint64 max, gint64 *value)
{
	JsonNode *node = json_object_get_member(object, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64)
		return FALSE;
	*value = json_node_get_int(node);
	return *value >= min && *value <= max;
}

/* one entry of the guest's "stalls", checked; NULL when it is not what an
 * agent sends */
static JsonObject *
client_verdict_stall_check(JsonObject *entry)
{
	JsonNode *comm = entry != NULL ? json_object_get_member(entry, "comm") : NULL;
	JsonObject *out;
	gint64 pid;
	gint64 first;
	gint64 blocked;

	if (entry == NULL ||
	    !client_verdict_int_in(entry, "pid", 1, CLIENT_VERDICT_PID_MAX, &pid) ||
	    !client_verdict_int_in(entry, "first-blocked-ns", 0, G_MAXINT64, &first) ||
	    !client_verdict_int_in(entry, "blocked-ns", 0, G_MAXINT64, &blocked) ||
	    client_json_string(entry, "mountpoint") == NULL)
		return NULL;
	if (comm != NULL && !JSON_NODE_HOLDS_NULL(comm) &&
	    (client_json_string(entry, "comm") == NULL ||
	     strlen(client_json_string(entry, "comm")) > CLIENT_VERDICT_COMM_MAX))
		return NULL;
	out = json_object_new();
	json_object_set_int_member(out, "pid", pid);
	json_object_set_string_member(out, "comm", client_json_string(entry, "comm"));
	json_object_set_int_member(out, "first-blocked-ns", first);
	json_object_set_int_member(out, "blocked-ns", blocked);
	return out;
}

static gint
client_verdict_stall_longest_first(gconstpointer a, gconstpointer b)
{
	gint64 x = client_json_int(*(JsonObject *const *)a, "blocked-ns", 0);
	gint64 y = client_json_int(*(JsonObject *const *)b, "blocked-ns", 0);

	return x > y ? -1 : x < y;
}

JsonArray *
client_verdict_stalls(JsonObject *session, const gchar *mountpoint, gboolean *complete)
{
	JsonArray *stalls = client_json_array(session, "stalls");
	g_autoptr(GPtrArray) found =
		g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
	JsonArray *out;
	guint n;

	*complete = FALSE;
	if (stalls == NULL)
		return NULL;
	n = json_array_get_length(stalls);
	*complete = client_json_bool(session, "stalls-complete", FALSE) &&
		    n <= CLIENT_VERDICT_STALLS_MAX;
	for (guint i = 0; i < MIN(n, CLIENT_VERDICT_STALLS_MAX); i++) {
		JsonObject *entry = client_json_array_object(stalls, i);
		JsonObject *checked = client_verdict_stall_check(entry);

		if (checked == NULL) {
			*complete = FALSE;
			continue;
		}
		if (g_strcmp0(client_json_string(entry, "mountpoint"), mountpoint) == 0)
			g_ptr_array_add(found, checked);
		else
			json_object_unref(checked);
	}
	/* the host's order, not the guest's */
	g_ptr_array_sort(found, client_verdict_stall_longest_first);
	out = json_array_sized_new(found->len);
	for (guint i = 0; i < found->len; i++)
		json_array_add_object_element(out, json_object_ref(g_ptr_array_index(found, i)));
	return out;
}

/* "stalled-tasks", "longest-stall-ns", "stalls-complete" */
static void
client_verdict_add_stalls(JsonObject *out, JsonObject *session, const gchar *mountpoint)
{
	gboolean complete = FALSE;
	JsonArray *stalls =
		session != NULL ? client_verdict_stalls(session, mountpoint, &complete) : NULL;

	if (stalls != NULL && json_array_get_length(stalls) > 0)
		json_object_set_int_member(out, "longest-stall-ns",
					   client_json_int(json_array_get_object_element(stalls, 0),
							   "blocked-ns", 0));
	else
		json_object_set_null_member(out, "longest-stall-ns");
	if (stalls != NULL)
		json_object_set_array_member(out, "stalled-tasks", stalls);
	else
		json_object_set_null_member(out, "stalled-tasks");
	json_object_set_boolean_member(out, "stalls-complete", complete);
}

static JsonObject *
client_verdict_mount(const gchar *mountpoint, JsonObject *session, const gchar *no_session_reason,
		     JsonObject *host_evidence)
{
	JsonObject *out = json_object_new();
	JsonObject *v = session != NULL ? client_verdict_find(session, mountpoint) : NULL;
	JsonObject *disk = client_verdict_host_disk(host_evidence, mountpoint);
	JsonArray *disks = client_json_array(host_evidence, "disks");
	g_auto(GStrv) functions = v != NULL ? client_verdict_functions(session, v) : NULL;
	JsonArray *fn_json = json_array_new();
	JsonArray *unknown = json_array_new();
	g_autofree gchar *reason = NULL;
	gboolean verified = FALSE;

	for (guint i = 0; functions != NULL && functions[i] != NULL; i++)
		json_array_add_string_element(fn_json, functions[i]);
	json_object_set_string_member(out, "mountpoint", mountpoint);
	if (session == NULL) {
		reason = g_strdup(no_session_reason != NULL ? no_session_reason
							    : "no trace session was recorded");
	} else if (v == NULL) {
		reason = g_strdup(
			"the trace session has no verdict for it: the agent did not freeze it");
	} else {
		verified = client_json_bool(v, "verified", FALSE);
		if (!verified)
			reason = g_strdup(
				client_json_string(v, "reason") != NULL
					? client_json_string(v, "reason")
					: "the agent's verification failed without a reason");
	}
	/* the host's counters can only take a verdict away */
	if (disk != NULL && client_json_bool(disk, "conclusive", FALSE) &&
	    client_json_int(disk, "writes-in-window", 0) > 0) {
		g_autofree gchar *host_reason =
			g_strdup_printf("the host saw %" G_GINT64_FORMAT
					" write(s) to disk '%s' while it was frozen",
					client_json_int(disk, "writes-in-window", 0),
					client_json_string(disk, "id") != NULL
						? client_json_string(disk, "id")
						: "?");

		client_verdict_add_reason(&reason, host_reason);
		verified = FALSE;
	}
	for (guint i = 0; disks != NULL && i < json_array_get_length(disks); i++) {
		JsonObject *d = client_json_array_object(disks, i);
		const gchar *id =
			client_json_string(d, "id") != NULL ? client_json_string(d, "id") : "?";
		g_autofree gchar *host_reason = NULL;
		JsonObject *entry;

		if (!client_verdict_disk_is_unknown(d))
			continue;
		host_reason = g_strdup_printf(
			"the host saw %" G_GINT64_FORMAT " write(s) to disk '%s' while "
			"it was frozen, and its filesystems are unknown to the host "
			"(the guest tied no mountpoint to it)",
			client_json_int(d, "writes-in-window", 0), id);
		client_verdict_add_reason(&reason, host_reason);
		entry = json_object_new();
		json_object_set_string_member(entry, "id", id);
		client_verdict_copy(entry, "writes-in-window", d, "writes-in-window");
		json_array_add_object_element(unknown, entry);
		verified = FALSE;
	}
	json_object_set_boolean_member(out, "verified", verified);
	client_verdict_copy(out, "frozen-at-ns", v, "freeze-ts-ns");
	client_verdict_copy(out, "thawed-at-ns", v, "thaw-ts-ns");
	client_verdict_copy(out, "frozen-ns", v, "frozen-ns");
	json_object_set_array_member(out, "functions", fn_json);
	if (v != NULL && client_json_array(v, "fs-ops") != NULL)
		client_verdict_copy(out, "fs-ops", v, "fs-ops");
	else
		json_object_set_array_member(out, "fs-ops", json_array_new());
	client_verdict_copy(out, "attribution", v, "attribution");
	if (reason != NULL)
		json_object_set_string_member(out, "reason", reason);
	else
		json_object_set_null_member(out, "reason");
	if (disk != NULL) {
		client_verdict_copy(out, "host-disk", disk, "id");
		if (client_json_bool(disk, "conclusive", FALSE))
			client_verdict_copy(out, "host-writes-in-window", disk, "writes-in-window");
		else
			json_object_set_null_member(out, "host-writes-in-window");
	} else {
		json_object_set_null_member(out, "host-disk");
		json_object_set_null_member(out, "host-writes-in-window");
	}
	json_object_set_string_member(
		out, "unmapped-reason",
		disk == NULL ? client_verdict_unmapped_reason(host_evidence, mountpoint) : NULL);
	json_object_set_array_member(out, "host-unknown-disks", unknown);
	client_verdict_add_stalls(out, session, mountpoint);
	return out;
}

JsonArray *
client_verdict_mountpoints(const gchar *const *requested, JsonObject *session,
			   const gchar *no_session_reason, JsonObject *host_evidence)
{
	JsonArray *out = json_array_new();

	if (requested != NULL) {
		for (guint i = 0; requested[i] != NULL; i++)
			json_array_add_object_element(
				out, client_verdict_mount(requested[i], session, no_session_reason,
							  host_evidence));
		return out;
	}
	if (session != NULL) {
		JsonArray *list = client_json_array(session, "verification");

		for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
			const gchar *mp =
				client_json_string(client_json_array_object(list, i), "mountpoint");

			if (mp != NULL)
				json_array_add_object_element(
					out, client_verdict_mount(mp, session, no_session_reason,
								  host_evidence));
		}
	}
	return out;
}

gboolean
client_verdict_all_verified(JsonArray *mountpoints)
{
	if (mountpoints == NULL || json_array_get_length(mountpoints) == 0)
		return FALSE;
	for (guint i = 0; i < json_array_get_length(mountpoints); i++) {
		if (!client_json_bool(client_json_array_object(mountpoints, i), "verified", FALSE))
			return FALSE;
	}
	return TRUE;
}

/* "stalled: postgres (pid 812) 2.90 s", the longest first */
static void
client_verdict_format_stalls(GString *out, JsonObject *mp)
{
	JsonArray *stalls = client_json_array(mp, "stalled-tasks");
	guint n = stalls != NULL ? json_array_get_length(stalls) : 0;

	if (stalls == NULL)
		return;
	for (guint i = 0; i < MIN(n, CLIENT_VERDICT_STALLS_SHOWN); i++) {
		JsonObject *stall = client_json_array_object(stalls, i);
		g_autofree gchar *comm = client_json_text(stall, "comm", "?");
		g_autofree gchar *d =
			client_format_duration_ns((guint64)client_json_int(stall, "blocked-ns", 0));

		g_string_append_printf(out, "  stalled: %s (pid %" G_GINT64_FORMAT ") %s\n", comm,
				       client_json_int(stall, "pid", 0), d);
	}
	if (n > CLIENT_VERDICT_STALLS_SHOWN)
		g_string_append_printf(out, "  stalled: and %u more (--json lists them)\n",
				       n - CLIENT_VERDICT_STALLS_SHOWN);
	if (n == 0 && client_json_bool(mp, "stalls-complete", FALSE))
		g_string_append(out, "  stalled: none\n");
	if (!client_json_bool(mp, "stalls-complete", FALSE))
		g_string_append(out, "  stalled: the list may be incomplete (kernel records lost, "
				     "or entries the host rejected)\n");
}

gchar *
client_verdict_format(ClientContext *ctx, JsonObject *mp)
{
	GString *out = g_string_new(NULL);
	gboolean verified = client_json_bool(mp, "verified", FALSE);
	JsonArray *functions = client_json_array(mp, "functions");
	JsonArray *unknown = client_json_array(mp, "host-unknown-disks");
	gint64 frozen_at = client_json_int(mp, "frozen-at-ns", -1);
	gint64 thawed_at = client_json_int(mp, "thawed-at-ns", -1);
	gint64 frozen_ns = client_json_int(mp, "frozen-ns", -1);
	ClientStyle style = verified ? CLIENT_STYLE_GREEN : CLIENT_STYLE_BOLD_RED;
	g_autofree gchar *mountpoint = client_json_text(mp, "mountpoint", "?");
	g_autofree gchar *host_disk = client_json_text(mp, "host-disk", NULL);
	g_autofree gchar *unmapped = client_json_text(mp, "unmapped-reason", NULL);
	g_autofree gchar *reason = client_json_text(mp, "reason", NULL);

	g_string_append_printf(out, "%s  %s%s%s\n", mountpoint, client_style_on(ctx, style),
			       verified ? "VERIFIED" : "NOT VERIFIED",
			       client_style_off(ctx, style));
	if (frozen_at >= 0) {
		g_autofree gchar *t = client_format_monotonic_ns((guint64)frozen_at);

		g_string_append_printf(out, "  frozen at    %s s (guest clock since boot)\n", t);
	}
	if (thawed_at >= 0) {
		g_autofree gchar *t = client_format_monotonic_ns((guint64)thawed_at);

		g_string_append_printf(out, "  thawed at    %s s\n", t);
	}
	if (frozen_ns >= 0) {
		g_autofree gchar *d = client_format_duration_ns((guint64)frozen_ns);

		g_string_append_printf(out, "  frozen for   %s\n", d);
	}
	if (functions != NULL && json_array_get_length(functions) > 0) {
		g_string_append(out, "  kernel saw   ");
		for (guint i = 0; i < json_array_get_length(functions); i++) {
			if (i > 0)
				g_string_append(out, ", ");
			client_terminal_append(out, client_json_array_string(functions, i), -1);
		}
		g_string_append_c(out, '\n');
	}
	if (host_disk != NULL) {
		JsonNode *writes = json_object_get_member(mp, "host-writes-in-window");

		if (writes != NULL && JSON_NODE_HOLDS_VALUE(writes))
			g_string_append_printf(out,
					       "  host         disk '%s': %" G_GINT64_FORMAT
					       " write(s) while frozen\n",
					       host_disk,
					       client_json_int(mp, "host-writes-in-window", 0));
		else
			g_string_append_printf(
				out,
				"  host         disk '%s': not conclusive (another filesystem on it "
				"was not frozen)\n",
				host_disk);
	}
	if (unmapped != NULL)
		g_string_append_printf(out, "  host         no host disk matched: %s\n", unmapped);
	for (guint i = 0; unknown != NULL && i < json_array_get_length(unknown); i++) {
		JsonObject *d = client_json_array_object(unknown, i);
		g_autofree gchar *id = client_json_text(d, "id", "?");

		g_string_append_printf(out,
				       "  host         disk '%s': %" G_GINT64_FORMAT
				       " write(s) while frozen, "
				       "its filesystems unknown to the host\n",
				       id, client_json_int(d, "writes-in-window", 0));
	}
	client_verdict_format_stalls(out, mp);
	if (reason != NULL)
		g_string_append_printf(out, "  why not      %s\n", reason);
	return g_string_free(out, FALSE);
}

JsonObject *
client_verdict_evidence_add(JsonArray *items, const gchar *name, ClientVerdictSource source,
			    const gchar *format, ...)
{
	JsonObject *item = json_object_new();
	g_autofree gchar *summary = NULL;
	va_list ap;

	va_start(ap, format);
	summary = g_strdup_vprintf(format, ap);
	va_end(ap);
	json_object_set_string_member(item, "name", name);
	json_object_set_string_member(item, "source",
				      source == CLIENT_VERDICT_HOST ? "host" : "guest");
	json_object_set_string_member(item, "summary", summary);
	json_array_add_object_element(items, item);
	return item;
}

gchar *
client_verdict_format_evidence(JsonArray *items)
{
	static const struct {
		const gchar *source;
		const gchar *heading;
	} sections[] = {{"host", "host-measured:"}, {"guest", "from the guest:"}};
	GString *out = g_string_new(NULL);

	for (guint s = 0; s < G_N_ELEMENTS(sections); s++) {
		gboolean any = FALSE;

		for (guint i = 0; items != NULL && i < json_array_get_length(items); i++) {
			JsonObject *item = client_json_array_object(items, i);
			g_autofree gchar *label = NULL;
			g_autofree gchar *summary = NULL;

			if (g_strcmp0(client_json_string(item, "source"), sections[s].source) != 0)
				continue;
			if (!any)
				g_string_append_printf(out, "%s\n", sections[s].heading);
			any = TRUE;
			/* a guest item's summary quotes the agent (session id, its reason) */
			label = client_json_text(item, "name", "?");
			g_strdelimit(label, "-", ' ');
			summary = client_json_text(item, "summary", "?");
			g_string_append_printf(out, "  %-17s %s\n", label, summary);
		}
	}
	return g_string_free(out, FALSE);
}
