/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "qga-client.h"
#include "qga-error.h"
#include "qmp-client.h"

struct _QmpClient {
	QgaClient *client;
	guint timeout_ms;
	gchar *version; /* (nullable) */
	GStrv capabilities;
	guint commands;
	GQueue events; /* of JsonNode, oldest first */
	guint events_dropped;
};

static gboolean
qmp_client_is_event(JsonNode *message)
{
	return JSON_NODE_HOLDS_OBJECT(message) &&
	       json_object_get_string_member_with_default(json_node_get_object(message), "event",
							  NULL) != NULL;
}

static void
qmp_client_keep_event(QmpClient *self, JsonNode *event)
{
	/* a monitor nobody reads must not grow the client without end */
	if (self->events.length >= QMP_CLIENT_EVENTS_MAX) {
		json_node_unref(g_queue_pop_head(&self->events));
		self->events_dropped++;
	}
	g_queue_push_tail(&self->events, json_node_ref(event));
}

/* what execute skips: events are kept, replies to other ids dropped */
static void
qmp_client_skipped_cb(JsonNode *message, gpointer user_data)
{
	QmpClient *self = user_data;

	if (qmp_client_is_event(message))
		qmp_client_keep_event(self, message);
	else
		g_debug("a QMP reply that is not ours, ignoring");
}

/* Returns: (transfer none) (nullable): @obj's member @name if it is an object */
static JsonObject *
qmp_client_object_member(JsonObject *obj, const gchar *name)
{
	JsonNode *member = obj != NULL ? json_object_get_member(obj, name) : NULL;

	return member != NULL && JSON_NODE_HOLDS_OBJECT(member) ? json_node_get_object(member)
								: NULL;
}

/* keeps the greeting's version and capabilities; FALSE when it is none */
static gboolean
qmp_client_read_greeting(QmpClient *self, JsonNode *greeting)
{
	g_autoptr(GStrvBuilder) caps = g_strv_builder_new();
	JsonObject *qmp = NULL;
	JsonObject *qemu;
	JsonNode *list;

	if (JSON_NODE_HOLDS_OBJECT(greeting))
		qmp = qmp_client_object_member(json_node_get_object(greeting), "QMP");
	if (qmp == NULL)
		return FALSE;
	qemu = qmp_client_object_member(qmp_client_object_member(qmp, "version"), "qemu");
	if (qemu != NULL)
		self->version =
			g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT
					".%" G_GINT64_FORMAT,
					json_object_get_int_member_with_default(qemu, "major", 0),
					json_object_get_int_member_with_default(qemu, "minor", 0),
					json_object_get_int_member_with_default(qemu, "micro", 0));
	list = json_object_get_member(qmp, "capabilities");
	for (guint i = 0; list != NULL && JSON_NODE_HOLDS_ARRAY(list) &&
			  i < json_array_get_length(json_node_get_array(list));
	     i++) {
		JsonNode *cap = json_array_get_element(json_node_get_array(list), i);

		if (JSON_NODE_HOLDS_VALUE(cap) && json_node_get_value_type(cap) == G_TYPE_STRING)
			g_strv_builder_add(caps, json_node_get_string(cap));
	}
	self->capabilities = g_strv_builder_end(caps);
	return TRUE;
}

QmpClient *
qmp_client_connect_unix(const gchar *path, guint timeout_ms, GError **error)
{
	g_autoptr(QmpClient) self = NULL;
	g_autoptr(JsonNode) greeting = NULL;
	g_autoptr(JsonNode) caps = NULL;
	g_autoptr(GError) error_local = NULL;
	QgaClient *client;

	g_return_val_if_fail(path != NULL, NULL);

	client = qga_client_connect_unix(path, error);
	if (client == NULL) {
		g_prefix_error(error, "QMP: ");
		return NULL;
	}
	self = g_new0(QmpClient, 1);
	self->client = client;
	g_queue_init(&self->events);
	qmp_client_set_timeout(self, timeout_ms);
	qga_client_set_skipped_func(self->client, qmp_client_skipped_cb, self);

	greeting = qga_client_recv(self->client, &error_local);
	if (greeting == NULL && g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		/* QEMU greets one QMP client at a time: the next waits in the backlog */
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "no QMP greeting on '%s' (QEMU serves one QMP client "
					   "at a time: is another one connected?): ",
					   path);
		return NULL;
	}
	/* bytes that are not JSON are not QMP either */
	if (greeting == NULL && error_local->domain != QGA_ERROR) {
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "waiting for the QMP greeting on '%s': ", path);
		return NULL;
	}
	if (greeting == NULL || !qmp_client_read_greeting(self, greeting)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is not a QMP socket: its first message is no QMP greeting", path);
		return NULL;
	}
	caps = qmp_client_execute(self, "qmp_capabilities", NULL, error);
	if (caps == NULL) {
		g_prefix_error(error, "QMP: qmp_capabilities: ");
		return NULL;
	}
	return g_steal_pointer(&self);
}

void
qmp_client_free(QmpClient *self)
{
	if (self == NULL)
		return;
	qga_client_free(self->client);
	g_free(self->version);
	g_strfreev(self->capabilities);
	g_queue_clear_full(&self->events, (GDestroyNotify)json_node_unref);
	g_free(self);
}

void
qmp_client_set_timeout(QmpClient *self, guint timeout_ms)
{
	g_return_if_fail(self != NULL);

	self->timeout_ms = timeout_ms != 0 ? timeout_ms : QGA_CLIENT_TIMEOUT_DEFAULT_MS;
	qga_client_set_timeout(self->client, self->timeout_ms);
}

const gchar *
qmp_client_get_version(QmpClient *self)
{
	g_return_val_if_fail(self != NULL, NULL);

	return self->version;
}

const gchar *const *
qmp_client_get_capabilities(QmpClient *self)
{
	g_return_val_if_fail(self != NULL, NULL);

	return (const gchar *const *)self->capabilities;
}

JsonNode *
qmp_client_execute(QmpClient *self, const gchar *command, JsonObject *arguments, GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(command != NULL, NULL);

	self->commands++;
	return qga_client_execute(self->client, command, arguments, error);
}

JsonNode *
qmp_client_execute_with_fd(QmpClient *self, const gchar *command, JsonObject *arguments, gint fd,
			   GError **error)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(command != NULL, NULL);

	self->commands++;
	return qga_client_execute_with_fd(self->client, command, arguments, fd, error);
}

gint
qmp_client_get_fd(QmpClient *self)
{
	g_return_val_if_fail(self != NULL, -1);

	return qga_client_get_fd(self->client);
}

guint
qmp_client_get_commands(QmpClient *self)
{
	g_return_val_if_fail(self != NULL, 0);

	return self->commands;
}

GPtrArray *
qmp_client_take_events(QmpClient *self)
{
	GPtrArray *events;

	g_return_val_if_fail(self != NULL, NULL);

	events = g_ptr_array_new_full(self->events.length, (GDestroyNotify)json_node_unref);
	while (!g_queue_is_empty(&self->events))
		g_ptr_array_add(events, g_queue_pop_head(&self->events));
	return events;
}

guint
qmp_client_get_events_dropped(QmpClient *self)
{
	g_return_val_if_fail(self != NULL, 0);

	return self->events_dropped;
}

static gboolean
qmp_client_event_is(JsonNode *event, const gchar *name)
{
	return name == NULL ||
	       g_strcmp0(json_object_get_string_member(json_node_get_object(event), "event"),
			 name) == 0;
}

JsonNode *
qmp_client_wait_event(QmpClient *self, const gchar *name, guint timeout_ms, GError **error)
{
	gint64 deadline;

	g_return_val_if_fail(self != NULL, NULL);

	for (GList *l = self->events.head; l != NULL; l = l->next) {
		if (qmp_client_event_is(l->data, name)) {
			JsonNode *event = l->data;

			g_queue_delete_link(&self->events, l);
			return event;
		}
	}
	deadline =
		g_get_monotonic_time() +
		(gint64)(timeout_ms != 0 ? timeout_ms : self->timeout_ms) * G_TIME_SPAN_MILLISECOND;
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(JsonNode) message =
			qga_client_recv_until(self->client, deadline, &error_local);

		if (message == NULL) {
			if (g_error_matches(error_local, QGA_ERROR, QGA_ERROR_GENERIC)) {
				g_debug("waiting for an event: %s, ignoring", error_local->message);
				continue;
			}
			g_propagate_prefixed_error(
				error, g_steal_pointer(&error_local),
				"waiting for QMP event '%s': ", name != NULL ? name : "any");
			return NULL;
		}
		if (!qmp_client_is_event(message)) {
			g_debug("a QMP reply while waiting for an event, ignoring");
			continue;
		}
		if (qmp_client_event_is(message, name))
			return g_steal_pointer(&message);
		qmp_client_keep_event(self, message);
	}
}
