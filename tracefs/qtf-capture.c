/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtf-private.h"

QtfEvent *
qtf_event_new(void)
{
	return g_new0(QtfEvent, 1);
}

void
qtf_event_free(QtfEvent *self)
{
	if (self == NULL)
		return;
	g_free(self->comm);
	g_free(self->event);
	g_free(self->function);
	g_free(self->parent);
	g_free(self);
}

QtfCapture *
qtf_capture_new(QtfMethod method)
{
	QtfCapture *self = g_new0(QtfCapture, 1);

	self->method = method;
	self->events = g_ptr_array_new_with_free_func((GDestroyNotify)qtf_event_free);
	self->cpus = g_array_new(FALSE, TRUE, sizeof(QtfCpuLoss));
	self->functions = g_new0(gchar *, 1);
	self->tracepoints = g_new0(gchar *, 1);
	return self;
}

QtfCapture *
qtf_capture_new_unavailable(const gchar *reason)
{
	QtfCapture *self = qtf_capture_new(QTF_METHOD_NONE);

	self->reason = g_strdup(reason);
	return self;
}

void
qtf_capture_free(QtfCapture *self)
{
	if (self == NULL)
		return;
	g_free(self->reason);
	g_free(self->clock);
	g_free(self->instance);
	g_strfreev(self->functions);
	g_strfreev(self->tracepoints);
	g_ptr_array_unref(self->events);
	g_array_unref(self->cpus);
	g_free(self);
}

QtfCpuLoss *
qtf_capture_get_cpu(QtfCapture *self, gint cpu)
{
	QtfCpuLoss loss = {.cpu = cpu};

	for (guint i = 0; i < self->cpus->len; i++) {
		QtfCpuLoss *l = &g_array_index(self->cpus, QtfCpuLoss, i);
		if (l->cpu == cpu)
			return l;
	}
	/* keep them by CPU number: the JSON and the tests read them in order */
	for (guint i = 0; i < self->cpus->len; i++) {
		if (g_array_index(self->cpus, QtfCpuLoss, i).cpu > cpu) {
			g_array_insert_val(self->cpus, i, loss);
			return &g_array_index(self->cpus, QtfCpuLoss, i);
		}
	}
	g_array_append_val(self->cpus, loss);
	return &g_array_index(self->cpus, QtfCpuLoss, self->cpus->len - 1);
}

void
qtf_cpu_loss_parse_stats(QtfCpuLoss *loss, const gchar *stats)
{
	g_auto(GStrv) lines = g_strsplit(stats, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *value = strchr(lines[i], ':');
		guint64 n;

		if (value == NULL)
			continue;
		n = g_ascii_strtoull(value + 1, NULL, 10);
		/* "commit overrun:" first: "overrun:" is its suffix */
		if (g_str_has_prefix(lines[i], "commit overrun:"))
			loss->commit_overrun = n;
		else if (g_str_has_prefix(lines[i], "overrun:"))
			loss->overrun = n;
		else if (g_str_has_prefix(lines[i], "dropped events:"))
			loss->dropped = n;
	}
}

static guint64
qtf_cpu_loss_count(const QtfCpuLoss *loss, gboolean *unknown)
{
	guint64 counters = loss->overrun + loss->commit_overrun + loss->dropped;

	if (loss->missed < 0) {
		/* a page said "lost some" without a count: only the counters can say */
		if (counters == 0)
			*unknown = TRUE;
		return counters;
	}
	return MAX((guint64)loss->missed, counters);
}

guint64
qtf_capture_lost(const QtfCapture *self, gboolean *unknown)
{
	gboolean unknown_local = FALSE;
	guint64 total = 0;

	for (guint i = 0; i < self->cpus->len; i++)
		total += qtf_cpu_loss_count(&g_array_index(self->cpus, QtfCpuLoss, i),
					    &unknown_local);
	if (unknown != NULL)
		*unknown = unknown_local;
	return total;
}

gboolean
qtf_capture_is_complete(const QtfCapture *self)
{
	gboolean unknown = FALSE;

	return qtf_capture_lost(self, &unknown) == 0 && !unknown;
}

/* ---- JSON ---- */

static void
qtf_json_add_string_or_null(JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void
qtf_json_add_hex(JsonBuilder *b, const gchar *name, guint64 value)
{
	g_autofree gchar *text = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", value);

	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, text);
}

static void
qtf_json_add_strv(JsonBuilder *b, const gchar *name, gchar **strv)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
		json_builder_add_string_value(b, strv[i]);
	json_builder_end_array(b);
}

static void
qtf_event_to_json(const QtfEvent *ev, JsonBuilder *b)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ts-ns");
	json_builder_add_int_value(b, (gint64)ev->ts_ns);
	json_builder_set_member_name(b, "cpu");
	json_builder_add_int_value(b, ev->cpu);
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, ev->pid);
	qtf_json_add_string_or_null(b, "comm", ev->comm);
	qtf_json_add_string_or_null(b, "event", ev->event);
	switch (ev->kind) {
	case QTF_EVENT_FUNCTION:
		qtf_json_add_string_or_null(b, "function", ev->function);
		qtf_json_add_string_or_null(b, "parent", ev->parent);
		qtf_json_add_hex(b, "ip", ev->ip);
		qtf_json_add_hex(b, "parent-ip", ev->parent_ip);
		if (ev->repeats > 0) {
			json_builder_set_member_name(b, "repeats");
			json_builder_add_int_value(b, ev->repeats);
		}
		break;
	case QTF_EVENT_IOCTL_ENTER:
		qtf_json_add_hex(b, "cmd", ev->cmd);
		break;
	case QTF_EVENT_IOCTL_EXIT:
		json_builder_set_member_name(b, "ret");
		json_builder_add_int_value(b, ev->ret);
		break;
	case QTF_EVENT_TRACEPOINT:
	default:
		break;
	}
	if (ev->has_dev) {
		g_autofree gchar *dev = g_strdup_printf("%u:%u", ev->dev_major, ev->dev_minor);
		json_builder_set_member_name(b, "dev");
		json_builder_add_string_value(b, dev);
	}
	if (ev->lost_before != 0) {
		json_builder_set_member_name(b, "lost-before");
		json_builder_add_int_value(b, ev->lost_before);
	}
	json_builder_end_object(b);
}

JsonNode *
qtf_capture_to_json(const QtfCapture *self)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	gboolean unknown = FALSE;
	guint64 lost = qtf_capture_lost(self, &unknown);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "method");
	json_builder_add_string_value(b, qtf_method_to_string(self->method));
	qtf_json_add_string_or_null(b, "reason", self->reason);
	qtf_json_add_string_or_null(b, "clock", self->clock);
	qtf_json_add_string_or_null(b, "instance", self->instance);
	json_builder_set_member_name(b, "pid");
	json_builder_add_int_value(b, self->pid);
	qtf_json_add_strv(b, "functions", self->functions);
	qtf_json_add_strv(b, "tracepoints", self->tracepoints);
	json_builder_set_member_name(b, "complete");
	json_builder_add_boolean_value(b, lost == 0 && !unknown);

	json_builder_set_member_name(b, "lost-events");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "total");
	json_builder_add_int_value(b, (gint64)lost);
	json_builder_set_member_name(b, "unknown");
	json_builder_add_boolean_value(b, unknown);
	json_builder_set_member_name(b, "cpus");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->cpus->len; i++) {
		const QtfCpuLoss *l = &g_array_index(self->cpus, QtfCpuLoss, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "cpu");
		json_builder_add_int_value(b, l->cpu);
		json_builder_set_member_name(b, "overrun");
		json_builder_add_int_value(b, (gint64)l->overrun);
		json_builder_set_member_name(b, "commit-overrun");
		json_builder_add_int_value(b, (gint64)l->commit_overrun);
		json_builder_set_member_name(b, "dropped");
		json_builder_add_int_value(b, (gint64)l->dropped);
		json_builder_set_member_name(b, "missed");
		json_builder_add_int_value(b, l->missed);
		json_builder_set_member_name(b, "read");
		json_builder_add_int_value(b, (gint64)l->read);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);

	json_builder_set_member_name(b, "events");
	json_builder_begin_array(b);
	for (guint i = 0; i < self->events->len; i++)
		qtf_event_to_json(g_ptr_array_index(self->events, i), b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

/* ---- from JSON ---- */

static QtfEventKind
qtf_event_kind_from_name(const gchar *event)
{
	if (g_strcmp0(event, "ftrace:function") == 0 ||
	    g_strcmp0(event, "ftrace:func_repeats") == 0)
		return QTF_EVENT_FUNCTION;
	if (g_strcmp0(event, "syscalls:sys_enter_ioctl") == 0)
		return QTF_EVENT_IOCTL_ENTER;
	if (g_strcmp0(event, "syscalls:sys_exit_ioctl") == 0)
		return QTF_EVENT_IOCTL_EXIT;
	return QTF_EVENT_TRACEPOINT;
}

/* a member that is absent or null reads as NULL */
static JsonNode *
qtf_json_member(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);

	return node != NULL && !JSON_NODE_HOLDS_NULL(node) ? node : NULL;
}

static gboolean
qtf_json_get_int(JsonObject *obj, const gchar *name, gboolean required, gint64 *out, GError **error)
{
	JsonNode *node = qtf_json_member(obj, name);

	if (node == NULL && !required)
		return TRUE;
	if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' is not an integer", name);
		return FALSE;
	}
	*out = json_node_get_int(node);
	return TRUE;
}

static gboolean
qtf_json_get_string(JsonObject *obj, const gchar *name, gchar **out, GError **error)
{
	JsonNode *node = qtf_json_member(obj, name);

	if (node == NULL)
		return TRUE;
	if (json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' is not a string", name);
		return FALSE;
	}
	g_free(*out);
	*out = json_node_dup_string(node);
	return TRUE;
}

static gboolean
qtf_json_get_hex(JsonObject *obj, const gchar *name, guint64 *out, GError **error)
{
	g_autofree gchar *text = NULL;
	gchar *end = NULL;

	if (!qtf_json_get_string(obj, name, &text, error))
		return FALSE;
	if (text == NULL)
		return TRUE;
	*out = g_ascii_strtoull(text, &end, 0);
	if (end == text || *end != '\0') {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' is not a number: '%s'", name,
			    text);
		return FALSE;
	}
	return TRUE;
}

static gboolean
qtf_json_get_strv(JsonObject *obj, const gchar *name, gchar ***out, GError **error)
{
	JsonNode *node = qtf_json_member(obj, name);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	JsonArray *array;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' is not an array", name);
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		const gchar *s = json_array_get_string_element(array, i);
		if (s == NULL) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "'%s' holds a non-string",
				    name);
			return FALSE;
		}
		g_strv_builder_add(builder, s);
	}
	g_strfreev(*out);
	*out = g_strv_builder_end(builder);
	return TRUE;
}

static QtfEvent *
qtf_event_new_from_json(JsonNode *node, GError **error)
{
	g_autoptr(QtfEvent) ev = qtf_event_new();
	g_autofree gchar *dev = NULL;
	JsonObject *obj;
	gint64 ts = 0, cpu = 0, pid = 0, repeats = 0, ret = 0, lost = 0;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED, "not an object");
		return NULL;
	}
	obj = json_node_get_object(node);
	if (!qtf_json_get_int(obj, "ts-ns", TRUE, &ts, error) ||
	    !qtf_json_get_int(obj, "cpu", TRUE, &cpu, error) ||
	    !qtf_json_get_int(obj, "pid", TRUE, &pid, error) ||
	    !qtf_json_get_int(obj, "repeats", FALSE, &repeats, error) ||
	    !qtf_json_get_int(obj, "ret", FALSE, &ret, error) ||
	    !qtf_json_get_int(obj, "lost-before", FALSE, &lost, error) ||
	    !qtf_json_get_string(obj, "comm", &ev->comm, error) ||
	    !qtf_json_get_string(obj, "event", &ev->event, error) ||
	    !qtf_json_get_string(obj, "function", &ev->function, error) ||
	    !qtf_json_get_string(obj, "parent", &ev->parent, error) ||
	    !qtf_json_get_string(obj, "dev", &dev, error) ||
	    !qtf_json_get_hex(obj, "ip", &ev->ip, error) ||
	    !qtf_json_get_hex(obj, "parent-ip", &ev->parent_ip, error) ||
	    !qtf_json_get_hex(obj, "cmd", &ev->cmd, error))
		return NULL;
	/* hand-written records may leave the event out: a function names one */
	if (ev->event == NULL)
		ev->event = g_strdup(ev->function != NULL ? "ftrace:function" : "unknown:unknown");
	ev->kind = qtf_event_kind_from_name(ev->event);
	ev->ts_ns = (guint64)ts;
	ev->cpu = (gint)cpu;
	ev->pid = (gint)pid;
	ev->repeats = (guint)repeats;
	ev->ret = ret;
	ev->lost_before = lost;
	if (dev != NULL) {
		if (sscanf(dev, "%u:%u", &ev->dev_major, &ev->dev_minor) != 2) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "'dev' is not MAJOR:MINOR: '%s'", dev);
			return NULL;
		}
		ev->has_dev = TRUE;
	}
	return g_steal_pointer(&ev);
}

static gboolean
qtf_capture_cpus_from_json(QtfCapture *self, JsonObject *root, GError **error)
{
	JsonNode *lost = qtf_json_member(root, "lost-events");
	JsonNode *cpus;
	JsonArray *array;

	if (lost == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(lost)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "'lost-events' is not an object");
		return FALSE;
	}
	cpus = qtf_json_member(json_node_get_object(lost), "cpus");
	if (cpus == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(cpus)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED, "'cpus' is not an array");
		return FALSE;
	}
	array = json_node_get_array(cpus);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *node = json_array_get_element(array, i);
		JsonObject *obj;
		gint64 cpu = 0, overrun = 0, commit = 0, dropped = 0, missed = 0, read = 0;
		QtfCpuLoss *l;

		if (!JSON_NODE_HOLDS_OBJECT(node)) {
			g_set_error(error, QTF_ERROR, QTF_ERROR_FAILED, "cpus[%u] is not an object",
				    i);
			return FALSE;
		}
		obj = json_node_get_object(node);
		if (!qtf_json_get_int(obj, "cpu", TRUE, &cpu, error) ||
		    !qtf_json_get_int(obj, "overrun", FALSE, &overrun, error) ||
		    !qtf_json_get_int(obj, "commit-overrun", FALSE, &commit, error) ||
		    !qtf_json_get_int(obj, "dropped", FALSE, &dropped, error) ||
		    !qtf_json_get_int(obj, "missed", FALSE, &missed, error) ||
		    !qtf_json_get_int(obj, "read", FALSE, &read, error)) {
			g_prefix_error(error, "cpus[%u]: ", i);
			return FALSE;
		}
		l = qtf_capture_get_cpu(self, (gint)cpu);
		l->overrun = (guint64)overrun;
		l->commit_overrun = (guint64)commit;
		l->dropped = (guint64)dropped;
		l->missed = missed;
		l->read = (guint64)read;
	}
	return TRUE;
}

static QtfMethod
qtf_method_from_string(const gchar *method)
{
	if (g_strcmp0(method, "function") == 0)
		return QTF_METHOD_FUNCTION;
	if (g_strcmp0(method, "events") == 0)
		return QTF_METHOD_EVENTS;
	return QTF_METHOD_NONE;
}

QtfCapture *
qtf_capture_new_from_json(JsonNode *node, GError **error)
{
	g_autoptr(QtfCapture) self = qtf_capture_new(QTF_METHOD_NONE);
	g_autofree gchar *method = NULL;
	JsonObject *root;
	JsonNode *events;
	gint64 pid = 0;

	g_return_val_if_fail(node != NULL, NULL);

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
				    "a capture is a JSON object");
		return NULL;
	}
	root = json_node_get_object(node);
	if (!qtf_json_get_string(root, "method", &method, error) ||
	    !qtf_json_get_string(root, "reason", &self->reason, error) ||
	    !qtf_json_get_string(root, "clock", &self->clock, error) ||
	    !qtf_json_get_string(root, "instance", &self->instance, error) ||
	    !qtf_json_get_int(root, "pid", FALSE, &pid, error) ||
	    !qtf_json_get_strv(root, "functions", &self->functions, error) ||
	    !qtf_json_get_strv(root, "tracepoints", &self->tracepoints, error) ||
	    !qtf_capture_cpus_from_json(self, root, error))
		return NULL;
	self->method = qtf_method_from_string(method);
	self->pid = (gint)pid;
	events = qtf_json_member(root, "events");
	if (events != NULL) {
		JsonArray *array;

		if (!JSON_NODE_HOLDS_ARRAY(events)) {
			g_set_error_literal(error, QTF_ERROR, QTF_ERROR_FAILED,
					    "'events' is not an array");
			return NULL;
		}
		array = json_node_get_array(events);
		for (guint i = 0; i < json_array_get_length(array); i++) {
			QtfEvent *ev =
				qtf_event_new_from_json(json_array_get_element(array, i), error);
			if (ev == NULL) {
				g_prefix_error(error, "events[%u]: ", i);
				return NULL;
			}
			g_ptr_array_add(self->events, ev);
		}
	}
	return g_steal_pointer(&self);
}
