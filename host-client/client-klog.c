/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "client-klog.h"
#include "client-output.h"

ClientKlog *
client_klog_new(void)
{
	ClientKlog *self = g_new0(ClientKlog, 1);

	self->next_seq = -1;
	return self;
}

void
client_klog_free(ClientKlog *self)
{
	if (self == NULL)
		return;
	g_free(self->boot_id);
	g_free(self);
}

JsonObject *
client_klog_next_args(ClientKlog *self, gint level)
{
	JsonObject *args = json_object_new();

	json_object_set_int_member(args, "since-seq", self->next_seq);
	json_object_set_int_member(args, "level", CLAMP(level, 0, CLIENT_KLOG_LEVELS - 1));
	json_object_set_int_member(args, "max-records", CLIENT_KLOG_MAX_RECORDS);
	return args;
}

/* an integer member, or FALSE */
static gboolean
client_klog_int(JsonObject *object, const gchar *name, gint64 *out)
{
	JsonNode *node = json_object_get_member(object, name);

	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64)
		return FALSE;
	*out = json_node_get_int(node);
	return TRUE;
}

static gboolean
client_klog_invalid(GError **error, const gchar *what)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "guest-dmesg reply: %s", what);
	return FALSE;
}

gboolean
client_klog_apply(ClientKlog *self, JsonNode *reply, gboolean *more, GError **error)
{
	guint64 counts[CLIENT_KLOG_LEVELS] = {0};
	JsonObject *object;
	JsonNode *records_node;
	JsonArray *records;
	const gchar *boot_id = NULL;
	gint64 since = self->next_seq;
	gint64 last = since;
	gint64 next_seq = 0;
	gint64 missed = 0;
	gboolean truncated;

	*more = FALSE;
	if (reply == NULL || !JSON_NODE_HOLDS_OBJECT(reply))
		return client_klog_invalid(error, "not an object");
	object = json_node_get_object(reply);
	if (json_object_has_member(object, "boot-id")) {
		JsonNode *node = json_object_get_member(object, "boot-id");

		if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
			return client_klog_invalid(error, "boot-id is not a string");
		boot_id = json_node_get_string(node);
		if (strlen(boot_id) > 64)
			return client_klog_invalid(error, "boot-id is too long");
	}
	if (boot_id != NULL && self->boot_id != NULL && g_strcmp0(boot_id, self->boot_id) != 0) {
		/* seqs of another boot: this reply skipped the new boot's first
		 * since-seq records; start over at its oldest, counting on */
		g_free(self->boot_id);
		self->boot_id = g_strdup(boot_id);
		self->next_seq = -1;
		self->boots++;
		*more = TRUE;
		return TRUE;
	}
	records_node = json_object_get_member(object, "records");
	if (!client_klog_int(object, "next-seq", &next_seq) || next_seq < -1)
		return client_klog_invalid(error, "no valid next-seq");
	if (records_node == NULL || !JSON_NODE_HOLDS_ARRAY(records_node))
		return client_klog_invalid(error, "no records array");
	records = json_node_get_array(records_node);
	if (json_array_get_length(records) > CLIENT_KLOG_MAX_RECORDS)
		return client_klog_invalid(error, "more records than asked for");
	if (json_object_has_member(object, "missed") &&
	    (!client_klog_int(object, "missed", &missed) || missed < 0))
		return client_klog_invalid(error, "missed is not a count");
	if (next_seq >= 0 && since >= 0 && next_seq < since) {
		/* within one boot the seqs only grow: the agent's reader was
		 * restarted (or lies); take its cursor over, count nothing */
		self->next_seq = next_seq;
		return client_klog_invalid(error, "the cursor went backwards");
	}
	for (guint i = 0; i < json_array_get_length(records); i++) {
		JsonNode *node = json_array_get_element(records, i);
		JsonObject *record;
		gint64 seq;
		gint64 level;

		if (!JSON_NODE_HOLDS_OBJECT(node))
			return client_klog_invalid(error, "a record is not an object");
		record = json_node_get_object(node);
		if (!client_klog_int(record, "seq", &seq) || seq <= last ||
		    (next_seq >= 0 && seq > next_seq))
			return client_klog_invalid(error, "a record's seq is out of order");
		if (!client_klog_int(record, "level", &level) || level < 0 ||
		    level >= CLIENT_KLOG_LEVELS)
			return client_klog_invalid(error, "a record's level is not 0-7");
		last = seq;
		counts[level]++;
	}
	truncated = client_json_bool(object, "truncated", FALSE);
	for (guint i = 0; i < CLIENT_KLOG_LEVELS; i++)
		self->counts[i] += counts[i];
	self->missed += (guint64)missed;
	if (next_seq >= 0)
		self->next_seq = next_seq;
	if (boot_id != NULL && self->boot_id == NULL)
		self->boot_id = g_strdup(boot_id);
	/* a truncated reply that moved nothing would loop */
	*more = truncated && self->next_seq != since;
	return TRUE;
}

guint64
client_klog_count_upto(const ClientKlog *self, gint level)
{
	guint64 n = 0;

	for (gint i = 0; i <= level && i < CLIENT_KLOG_LEVELS; i++)
		n += self->counts[i];
	return n;
}
