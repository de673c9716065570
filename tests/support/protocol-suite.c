/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "qga-client.h"

#include "protocol-suite.h"
#include "wire.h"

#define PROTOCOL_TIMEOUT_DEFAULT_MS 5000
#define PROTOCOL_SHOW_BYTES	    400
/* guest-get-time sanity: after 2020-01-01, before the host's now + 1 day */
#define PROTOCOL_TIME_MIN_NS G_GINT64_CONSTANT(1577836800000000000)
#define PROTOCOL_DAY_NS	     (G_GINT64_CONSTANT(86400) * G_GINT64_CONSTANT(1000000000))

/* commands qemu-ga declares with 'success-response': false */
static const gchar *const protocol_no_success_response[] = {
	"guest-shutdown", "guest-suspend-disk", "guest-suspend-ram", "guest-suspend-hybrid", NULL,
};

static const gchar *const protocol_case_keys[] = {
	"name", "comment", "agents", "send", "send-utf8", "expect", "extra-errors-ok", NULL,
};

static const gchar *const protocol_matcher_keys[] = {
	"comment", "delimited",	  "return", "return-type",   "return-members",
	"check",   "error-class", "desc",   "desc-contains", "desc-prefix",
	"id",	   "no-id",	  NULL,
};

static const gchar *const protocol_types[] = {
	"object", "array", "string", "int", "double", "bool", "null", NULL,
};

static const gchar *const protocol_checks[] = {
	"guest-info",
	"time-ns",
	NULL,
};

typedef struct {
	gchar *name;
	gchar *comment; /* (nullable) */
	gchar **agents; /* (nullable) */
	GBytes *send;
	GPtrArray *expect; /* JsonObject, one matcher per reply */
	gboolean extra_errors_ok;
} ProtocolCase;

typedef struct {
	ProtocolSuite *suite;
	guint index;
	const ProtocolSuiteTarget *target;
} ProtocolSuiteTest;

struct _ProtocolSuite {
	gchar *path;
	GPtrArray *cases; /* ProtocolCase */
	GArray *tests;	  /* struct CMUnitTest */
	GPtrArray *test_states;
};

static void
protocol_case_free(ProtocolCase *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	g_free(self->comment);
	g_strfreev(self->agents);
	if (self->send != NULL)
		g_bytes_unref(self->send);
	if (self->expect != NULL)
		g_ptr_array_unref(self->expect);
	g_free(self);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtocolCase, protocol_case_free)

const gchar *
protocol_suite_default_path(void)
{
	const gchar *path = g_getenv("QGATRACE_PROTOCOL_CASES");

	if (path != NULL && path[0] != '\0')
		return path;
	return QGA_TEST_PROTOCOL_CASES;
}

void
protocol_suite_free(ProtocolSuite *self)
{
	if (self == NULL)
		return;
	g_free(self->path);
	if (self->cases != NULL)
		g_ptr_array_unref(self->cases);
	if (self->tests != NULL)
		g_array_unref(self->tests);
	if (self->test_states != NULL)
		g_ptr_array_unref(self->test_states);
	g_free(self);
}

/* ---- loading ---- */

static gboolean
protocol_check_keys(JsonObject *obj, const gchar *const *allowed, const gchar *what, GError **error)
{
	g_autoptr(GList) members = json_object_get_members(obj);

	for (GList *l = members; l != NULL; l = l->next) {
		if (!g_strv_contains(allowed, l->data)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: unknown key '%s'", what, (const gchar *)l->data);
			return FALSE;
		}
	}
	return TRUE;
}

static const gchar *
protocol_get_string(JsonObject *obj, const gchar *key)
{
	JsonNode *node = json_object_get_member(obj, key);

	if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

/* a "send" string: each char below 256 is one raw byte */
static gboolean
protocol_append_latin1(GByteArray *out, const gchar *text, const gchar *what, GError **error)
{
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		guint8 byte = (guint8)c;

		if (c > 0xff) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: U+%04X is not a byte (use \"utf8\" or send-utf8)", what,
				    (guint)c);
			return FALSE;
		}
		g_byte_array_append(out, &byte, 1);
	}
	return TRUE;
}

static gboolean
protocol_append_part(GByteArray *out, JsonNode *part, const gchar *what, GError **error)
{
	JsonObject *obj;
	const gchar *text;

	if (json_node_get_value_type(part) == G_TYPE_STRING)
		return protocol_append_latin1(out, json_node_get_string(part), what, error);
	if (!JSON_NODE_HOLDS_OBJECT(part)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: a part is a string or an object", what);
		return FALSE;
	}
	obj = json_node_get_object(part);
	if (json_object_has_member(obj, "utf8")) {
		text = protocol_get_string(obj, "utf8");
		if (text == NULL || json_object_get_size(obj) != 1) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: {\"utf8\": string} takes nothing else", what);
			return FALSE;
		}
		g_byte_array_append(out, (const guint8 *)text, (guint)strlen(text));
		return TRUE;
	}
	text = protocol_get_string(obj, "repeat");
	if (text != NULL && json_object_get_size(obj) == 2 &&
	    json_object_has_member(obj, "count") &&
	    json_node_get_value_type(json_object_get_member(obj, "count")) == G_TYPE_INT64) {
		gint64 count = json_object_get_int_member(obj, "count");
		g_autoptr(GByteArray) once = g_byte_array_new();

		if (count < 0 || count > 64 * 1024 * 1024) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: repeat count %" G_GINT64_FORMAT " is out of range", what,
				    count);
			return FALSE;
		}
		if (!protocol_append_latin1(once, text, what, error))
			return FALSE;
		for (gint64 i = 0; i < count; i++)
			g_byte_array_append(out, once->data, once->len);
		return TRUE;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "%s: a part object is {\"utf8\": s} or {\"repeat\": s, \"count\": n}", what);
	return FALSE;
}

static GBytes *
protocol_parse_send(JsonObject *obj, const gchar *what, GError **error)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	JsonNode *send = json_object_get_member(obj, "send");
	JsonNode *send_utf8 = json_object_get_member(obj, "send-utf8");

	if ((send == NULL) == (send_utf8 == NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: exactly one of send and send-utf8 is needed", what);
		return NULL;
	}
	if (send_utf8 != NULL) {
		const gchar *text;

		if (json_node_get_value_type(send_utf8) != G_TYPE_STRING) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: send-utf8 is a string", what);
			return NULL;
		}
		text = json_node_get_string(send_utf8);
		g_byte_array_append(out, (const guint8 *)text, (guint)strlen(text));
	} else if (JSON_NODE_HOLDS_ARRAY(send)) {
		JsonArray *parts = json_node_get_array(send);

		for (guint i = 0; i < json_array_get_length(parts); i++) {
			if (!protocol_append_part(out, json_array_get_element(parts, i), what,
						  error))
				return NULL;
		}
	} else if (!protocol_append_part(out, send, what, error)) {
		return NULL;
	}
	if (out->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: nothing to send",
			    what);
		return NULL;
	}
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static gboolean
protocol_parse_matcher(JsonObject *m, const gchar *what, GError **error)
{
	gboolean is_return = FALSE;
	gboolean is_error = FALSE;
	const gchar *s;

	if (!protocol_check_keys(m, protocol_matcher_keys, what, error))
		return FALSE;
	is_return =
		json_object_has_member(m, "return") || json_object_has_member(m, "return-type") ||
		json_object_has_member(m, "return-members") || json_object_has_member(m, "check");
	is_error = json_object_has_member(m, "error-class") || json_object_has_member(m, "desc") ||
		   json_object_has_member(m, "desc-contains") ||
		   json_object_has_member(m, "desc-prefix");
	if (is_return == is_error) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: a matcher checks either a return (return, return-type, "
			    "return-members, check) or an error (error-class, desc...)",
			    what);
		return FALSE;
	}
	if (is_error && protocol_get_string(m, "error-class") == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: an error matcher needs error-class", what);
		return FALSE;
	}
	s = protocol_get_string(m, "return-type");
	if (json_object_has_member(m, "return-type") &&
	    (s == NULL || !g_strv_contains(protocol_types, s))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: bad return-type",
			    what);
		return FALSE;
	}
	if (json_object_has_member(m, "return-members")) {
		JsonNode *node = json_object_get_member(m, "return-members");
		g_autoptr(GList) names = NULL;

		if (!JSON_NODE_HOLDS_OBJECT(node)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: return-members is an object of types", what);
			return FALSE;
		}
		names = json_object_get_members(json_node_get_object(node));
		for (GList *l = names; l != NULL; l = l->next) {
			s = protocol_get_string(json_node_get_object(node), l->data);
			if (s == NULL || !g_strv_contains(protocol_types, s)) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "%s: bad type for member '%s'", what,
					    (const gchar *)l->data);
				return FALSE;
			}
		}
	}
	s = protocol_get_string(m, "check");
	if (json_object_has_member(m, "check") &&
	    (s == NULL || !g_strv_contains(protocol_checks, s))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: unknown check", what);
		return FALSE;
	}
	if (json_object_has_member(m, "delimited") &&
	    json_node_get_value_type(json_object_get_member(m, "delimited")) != G_TYPE_BOOLEAN) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: delimited is a boolean", what);
		return FALSE;
	}
	if (json_object_has_member(m, "no-id") &&
	    (json_node_get_value_type(json_object_get_member(m, "no-id")) != G_TYPE_BOOLEAN ||
	     !json_object_get_boolean_member(m, "no-id"))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no-id is true", what);
		return FALSE;
	}
	if (json_object_has_member(m, "id") && json_object_has_member(m, "no-id")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: id and no-id contradict", what);
		return FALSE;
	}
	return TRUE;
}

static ProtocolCase *
protocol_parse_case(JsonNode *node, guint index, GHashTable *names, GError **error)
{
	g_autoptr(ProtocolCase) pc = g_new0(ProtocolCase, 1);
	g_autofree gchar *what = g_strdup_printf("case #%u", index);
	JsonObject *obj;
	JsonNode *member;
	const gchar *name;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not an object",
			    what);
		return NULL;
	}
	obj = json_node_get_object(node);
	name = protocol_get_string(obj, "name");
	if (name == NULL || name[0] == '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s has no name", what);
		return NULL;
	}
	g_free(what);
	what = g_strdup_printf("case '%s'", name);
	if (g_hash_table_contains(names, name)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is defined twice",
			    what);
		return NULL;
	}
	if (!protocol_check_keys(obj, protocol_case_keys, what, error))
		return NULL;
	pc->name = g_strdup(name);
	pc->comment = g_strdup(protocol_get_string(obj, "comment"));

	member = json_object_get_member(obj, "agents");
	if (member != NULL) {
		JsonArray *arr = JSON_NODE_HOLDS_ARRAY(member) ? json_node_get_array(member) : NULL;
		g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

		for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
			JsonNode *el = json_array_get_element(arr, i);
			if (json_node_get_value_type(el) != G_TYPE_STRING) {
				arr = NULL;
				break;
			}
			g_strv_builder_add(builder, json_node_get_string(el));
		}
		if (arr == NULL || json_array_get_length(arr) == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: agents is a non-empty array of strings", what);
			return NULL;
		}
		pc->agents = g_strv_builder_end(builder);
	}
	member = json_object_get_member(obj, "extra-errors-ok");
	if (member != NULL) {
		if (json_node_get_value_type(member) != G_TYPE_BOOLEAN) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: extra-errors-ok is a boolean", what);
			return NULL;
		}
		pc->extra_errors_ok = json_node_get_boolean(member);
	}
	pc->send = protocol_parse_send(obj, what, error);
	if (pc->send == NULL)
		return NULL;

	member = json_object_get_member(obj, "expect");
	if (member == NULL || !JSON_NODE_HOLDS_ARRAY(member)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: expect is an array of matchers", what);
		return NULL;
	}
	pc->expect = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
	for (guint i = 0; i < json_array_get_length(json_node_get_array(member)); i++) {
		JsonNode *m = json_array_get_element(json_node_get_array(member), i);
		g_autofree gchar *mwhat = g_strdup_printf("%s, matcher %u", what, i + 1);

		if (!JSON_NODE_HOLDS_OBJECT(m)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s is not an object", mwhat);
			return NULL;
		}
		if (!protocol_parse_matcher(json_node_get_object(m), mwhat, error))
			return NULL;
		g_ptr_array_add(pc->expect, json_object_ref(json_node_get_object(m)));
	}
	g_hash_table_add(names, pc->name);
	return g_steal_pointer(&pc);
}

ProtocolSuite *
protocol_suite_load(const gchar *path, GError **error)
{
	g_autoptr(ProtocolSuite) self = g_new0(ProtocolSuite, 1);
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	JsonNode *root;
	JsonNode *cases;

	if (path == NULL)
		path = protocol_suite_default_path();
	self->path = g_strdup(path);
	self->cases = g_ptr_array_new_with_free_func((GDestroyNotify)protocol_case_free);
	if (!json_parser_load_from_mapped_file(parser, path, error)) {
		g_prefix_error(error, "loading '%s': ", path);
		return NULL;
	}
	root = json_parser_get_root(parser);
	cases = root != NULL && JSON_NODE_HOLDS_OBJECT(root)
			? json_object_get_member(json_node_get_object(root), "cases")
			: NULL;
	if (cases == NULL || !JSON_NODE_HOLDS_ARRAY(cases)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s': expected an object with a \"cases\" array", path);
		return NULL;
	}
	for (guint i = 0; i < json_array_get_length(json_node_get_array(cases)); i++) {
		ProtocolCase *pc = protocol_parse_case(
			json_array_get_element(json_node_get_array(cases), i), i, names, error);

		if (pc == NULL) {
			g_prefix_error(error, "'%s': ", path);
			return NULL;
		}
		g_ptr_array_add(self->cases, pc);
	}
	return g_steal_pointer(&self);
}

guint
protocol_suite_get_n_cases(ProtocolSuite *self)
{
	return self->cases->len;
}

const gchar *
protocol_suite_get_case_name(ProtocolSuite *self, guint index)
{
	g_return_val_if_fail(index < self->cases->len, NULL);
	return ((ProtocolCase *)g_ptr_array_index(self->cases, index))->name;
}

static gboolean
protocol_agent_entry_matches(const gchar *entry, const gchar *kind)
{
	gsize len = strlen(entry);

	return g_str_equal(entry, kind) || (strncmp(entry, kind, len) == 0 && kind[len] == '-');
}

gboolean
protocol_suite_case_applies(ProtocolSuite *self, guint index, const gchar *agent_kind)
{
	ProtocolCase *pc;
	gboolean has_positive = FALSE;
	gboolean positive_match = FALSE;

	g_return_val_if_fail(index < self->cases->len, FALSE);
	pc = g_ptr_array_index(self->cases, index);
	if (pc->agents == NULL)
		return TRUE;
	for (guint i = 0; pc->agents[i] != NULL; i++) {
		const gchar *entry = pc->agents[i];

		if (entry[0] == '!') {
			if (protocol_agent_entry_matches(entry + 1, agent_kind))
				return FALSE;
			continue;
		}
		has_positive = TRUE;
		if (protocol_agent_entry_matches(entry, agent_kind))
			positive_match = TRUE;
	}
	return !has_positive || positive_match;
}

/* ---- matching ---- */

static const gchar *
protocol_node_type(JsonNode *node)
{
	if (node == NULL)
		return "missing";
	switch (JSON_NODE_TYPE(node)) {
	case JSON_NODE_OBJECT:
		return "object";
	case JSON_NODE_ARRAY:
		return "array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_INT64:
		return "int";
	case G_TYPE_DOUBLE:
		return "double";
	case G_TYPE_BOOLEAN:
		return "bool";
	case G_TYPE_STRING:
		return "string";
	default:
		return "unknown";
	}
}

static gchar *
protocol_node_to_string(JsonNode *node)
{
	if (node == NULL)
		return g_strdup("(none)");
	return json_to_string(node, FALSE);
}

static gboolean protocol_fail(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
protocol_fail(GError **error, const gchar *format, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, msg);
	return FALSE;
}

static gboolean
protocol_check_guest_info(JsonNode *ret, GError **error)
{
	JsonObject *obj;
	JsonNode *version;
	JsonNode *cmds;
	JsonArray *arr;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GList) members = NULL;

	if (!JSON_NODE_HOLDS_OBJECT(ret))
		return protocol_fail(error, "guest-info: return is %s, not an object",
				     protocol_node_type(ret));
	obj = json_node_get_object(ret);
	members = json_object_get_members(obj);
	for (GList *l = members; l != NULL; l = l->next) {
		if (!g_str_equal(l->data, "version") && !g_str_equal(l->data, "supported_commands"))
			return protocol_fail(error, "guest-info: unexpected member '%s'",
					     (const gchar *)l->data);
	}
	version = json_object_get_member(obj, "version");
	if (version == NULL || json_node_get_value_type(version) != G_TYPE_STRING ||
	    json_node_get_string(version)[0] == '\0')
		return protocol_fail(error, "guest-info: 'version' is %s, not a non-empty string",
				     protocol_node_type(version));
	/* spelled with an underscore: a QAPI naming exception */
	cmds = json_object_get_member(obj, "supported_commands");
	if (cmds == NULL || !JSON_NODE_HOLDS_ARRAY(cmds))
		return protocol_fail(error, "guest-info: 'supported_commands' is %s, not an array",
				     protocol_node_type(cmds));
	arr = json_node_get_array(cmds);
	for (guint i = 0; i < json_array_get_length(arr); i++) {
		JsonNode *el = json_array_get_element(arr, i);
		JsonObject *cmd;
		JsonNode *name;
		JsonNode *enabled;
		JsonNode *success;
		const gchar *n;
		gboolean want_success;

		if (!JSON_NODE_HOLDS_OBJECT(el))
			return protocol_fail(error, "guest-info: command #%u is %s, not an object",
					     i, protocol_node_type(el));
		cmd = json_node_get_object(el);
		name = json_object_get_member(cmd, "name");
		enabled = json_object_get_member(cmd, "enabled");
		success = json_object_get_member(cmd, "success-response");
		if (json_object_get_size(cmd) != 3 || name == NULL ||
		    json_node_get_value_type(name) != G_TYPE_STRING || enabled == NULL ||
		    json_node_get_value_type(enabled) != G_TYPE_BOOLEAN || success == NULL ||
		    json_node_get_value_type(success) != G_TYPE_BOOLEAN) {
			g_autofree gchar *shown = protocol_node_to_string(el);
			return protocol_fail(error,
					     "guest-info: command #%u is not {name: string, "
					     "enabled: bool, success-response: bool}: %s",
					     i, shown);
		}
		n = json_node_get_string(name);
		if (g_hash_table_contains(seen, n))
			return protocol_fail(error, "guest-info: '%s' is listed twice", n);
		g_hash_table_add(seen, (gpointer)n);
		want_success = !g_strv_contains(protocol_no_success_response, n);
		if (json_node_get_boolean(success) != want_success)
			return protocol_fail(error, "guest-info: '%s' has success-response %s", n,
					     json_node_get_boolean(success) ? "true" : "false");
		if (g_str_equal(n, "guest-ping") && !json_node_get_boolean(enabled))
			return protocol_fail(error, "guest-info: guest-ping is not enabled");
	}
	for (guint i = 0; i < 4; i++) {
		const gchar *const must[] = {"guest-ping", "guest-sync", "guest-sync-delimited",
					     "guest-info"};
		if (!g_hash_table_contains(seen, must[i]))
			return protocol_fail(error, "guest-info: '%s' is not listed", must[i]);
	}
	return TRUE;
}

static gboolean
protocol_check_time_ns(JsonNode *ret, GError **error)
{
	gint64 now_ns = g_get_real_time() * 1000;
	gint64 t;

	if (json_node_get_value_type(ret) != G_TYPE_INT64)
		return protocol_fail(error, "guest-get-time: return is %s, not an int",
				     protocol_node_type(ret));
	t = json_node_get_int(ret);
	if (t < PROTOCOL_TIME_MIN_NS || t > now_ns + PROTOCOL_DAY_NS)
		return protocol_fail(error,
				     "guest-get-time: %" G_GINT64_FORMAT " ns is not a plausible "
				     "time since the epoch (host now: %" G_GINT64_FORMAT " ns)",
				     t, now_ns);
	return TRUE;
}

/* TRUE when @reply satisfies matcher @m */
static gboolean
protocol_match_reply(JsonObject *m, const WireReply *reply, GError **error)
{
	gboolean want_delimited = FALSE;
	JsonObject *obj;
	JsonNode *ret;
	JsonNode *err;
	JsonNode *id;
	g_autoptr(GList) members = NULL;

	if (!wire_reply_check_framing(reply, error))
		return FALSE;
	if (reply->node == NULL)
		return protocol_fail(error, "reply is not JSON: %s", reply->parse_error);
	if (!JSON_NODE_HOLDS_OBJECT(reply->node))
		return protocol_fail(error, "reply is %s, not an object",
				     protocol_node_type(reply->node));
	if (json_object_has_member(m, "delimited"))
		want_delimited = json_object_get_boolean_member(m, "delimited");
	if (reply->delimited != want_delimited)
		return protocol_fail(error, "reply is %spreceded by the 0xff delimiter",
				     reply->delimited ? "" : "not ");

	obj = json_node_get_object(reply->node);
	members = json_object_get_members(obj);
	for (GList *l = members; l != NULL; l = l->next) {
		if (!g_str_equal(l->data, "return") && !g_str_equal(l->data, "error") &&
		    !g_str_equal(l->data, "id"))
			return protocol_fail(error, "reply has an unexpected member '%s'",
					     (const gchar *)l->data);
	}
	ret = json_object_get_member(obj, "return");
	err = json_object_get_member(obj, "error");
	if ((ret == NULL) == (err == NULL))
		return protocol_fail(error, "reply needs exactly one of 'return' and 'error'");

	if (json_object_has_member(m, "error-class")) {
		JsonObject *eobj;
		JsonNode *klass;
		JsonNode *desc;
		const gchar *d;
		const gchar *want;

		if (err == NULL)
			return protocol_fail(error, "expected an error, got a return");
		if (!JSON_NODE_HOLDS_OBJECT(err))
			return protocol_fail(error, "'error' is %s, not an object",
					     protocol_node_type(err));
		eobj = json_node_get_object(err);
		klass = json_object_get_member(eobj, "class");
		desc = json_object_get_member(eobj, "desc");
		if (json_object_get_size(eobj) != 2 || klass == NULL ||
		    json_node_get_value_type(klass) != G_TYPE_STRING || desc == NULL ||
		    json_node_get_value_type(desc) != G_TYPE_STRING)
			return protocol_fail(error, "'error' is not {class: string, desc: string}");
		want = json_object_get_string_member(m, "error-class");
		if (!g_str_equal(json_node_get_string(klass), want))
			return protocol_fail(error, "error class is '%s', expected '%s'",
					     json_node_get_string(klass), want);
		d = json_node_get_string(desc);
		want = protocol_get_string(m, "desc");
		if (want != NULL && !g_str_equal(d, want))
			return protocol_fail(error, "desc is \"%s\", expected exactly \"%s\"", d,
					     want);
		want = protocol_get_string(m, "desc-prefix");
		if (want != NULL && !g_str_has_prefix(d, want))
			return protocol_fail(error, "desc is \"%s\", expected to start with \"%s\"",
					     d, want);
		want = protocol_get_string(m, "desc-contains");
		if (want != NULL && strstr(d, want) == NULL)
			return protocol_fail(error, "desc is \"%s\", expected to contain \"%s\"", d,
					     want);
	} else {
		JsonNode *want_node;
		const gchar *want;

		if (ret == NULL) {
			const gchar *d = wire_reply_get_error_desc(reply);
			return protocol_fail(error, "expected a return, got error %s: %s",
					     wire_reply_get_error_class(reply),
					     d != NULL ? d : "?");
		}
		want_node = json_object_get_member(m, "return");
		if (want_node != NULL && !json_node_equal(want_node, ret)) {
			g_autofree gchar *a = protocol_node_to_string(ret);
			g_autofree gchar *b = protocol_node_to_string(want_node);
			return protocol_fail(error, "return is %s, expected %s", a, b);
		}
		want = protocol_get_string(m, "return-type");
		if (want != NULL && !g_str_equal(want, protocol_node_type(ret)))
			return protocol_fail(error, "return is %s, expected %s",
					     protocol_node_type(ret), want);
		if (json_object_has_member(m, "return-members")) {
			JsonObject *types = json_object_get_object_member(m, "return-members");
			g_autoptr(GList) names = json_object_get_members(types);

			if (!JSON_NODE_HOLDS_OBJECT(ret))
				return protocol_fail(error, "return is %s, expected an object",
						     protocol_node_type(ret));
			for (GList *l = names; l != NULL; l = l->next) {
				JsonNode *got =
					json_object_get_member(json_node_get_object(ret), l->data);
				const gchar *t = json_object_get_string_member(types, l->data);

				if (!g_str_equal(protocol_node_type(got), t))
					return protocol_fail(error,
							     "return member '%s' is %s, "
							     "expected %s",
							     (const gchar *)l->data,
							     protocol_node_type(got), t);
			}
		}
		want = protocol_get_string(m, "check");
		if (g_strcmp0(want, "guest-info") == 0 && !protocol_check_guest_info(ret, error))
			return FALSE;
		if (g_strcmp0(want, "time-ns") == 0 && !protocol_check_time_ns(ret, error))
			return FALSE;
	}

	id = json_object_get_member(obj, "id");
	if (json_object_has_member(m, "id")) {
		JsonNode *want_id = json_object_get_member(m, "id");

		if (id == NULL)
			return protocol_fail(error, "reply has no id, expected the request's id");
		if (!json_node_equal(want_id, id)) {
			g_autofree gchar *a = protocol_node_to_string(id);
			g_autofree gchar *b = protocol_node_to_string(want_id);
			return protocol_fail(error, "id is %s, expected %s", a, b);
		}
	} else if (id != NULL) {
		g_autofree gchar *a = protocol_node_to_string(id);
		return protocol_fail(error, "reply has id %s, expected none", a);
	}
	return TRUE;
}

/* an answer to a parse error or reset byte: GenericError, no id, no 0xff */
static gboolean
protocol_reply_is_plain_generic_error(const WireReply *reply)
{
	return !reply->delimited &&
	       g_strcmp0(wire_reply_get_error_class(reply), "GenericError") == 0 &&
	       wire_reply_get_id(reply) == NULL && wire_reply_check_framing(reply, NULL);
}

/* ---- running ---- */

static gint
protocol_connect(const ProtocolSuiteTarget *target, GError **error)
{
	g_autoptr(WireConn) conn = NULL;

	if (target->connect != NULL)
		return target->connect(target->user_data, error);
	conn = wire_conn_connect_unix(target->socket_path, error);
	if (conn == NULL)
		return -1;
	return wire_conn_steal_fd(conn, error);
}

static gboolean
protocol_check_alive(WireConn *conn, guint timeout_ms, GError **error)
{
	g_autoptr(QgaClient) client = NULL;
	g_autoptr(JsonNode) ret = NULL;
	gint fd = wire_conn_steal_fd(conn, error);

	if (fd < 0)
		return FALSE;
	client = qga_client_new_for_fd(fd);
	qga_client_set_timeout(client, timeout_ms);
	if (!qga_client_sync(client, error)) {
		g_prefix_error(error, "qga_client_sync: ");
		return FALSE;
	}
	ret = qga_client_execute(client, "guest-ping", NULL, error);
	if (ret == NULL) {
		g_prefix_error(error, "guest-ping: ");
		return FALSE;
	}
	if (!JSON_NODE_HOLDS_OBJECT(ret) || json_object_get_size(json_node_get_object(ret)) != 0) {
		g_autofree gchar *shown = protocol_node_to_string(ret);
		return protocol_fail(error, "guest-ping returned %s, expected {}", shown);
	}
	return TRUE;
}

static gboolean
protocol_run_case_steps(ProtocolCase *pc, const ProtocolSuiteTarget *target, GString *log,
			GError **error)
{
	guint timeout_ms =
		target->timeout_ms > 0 ? target->timeout_ms : PROTOCOL_TIMEOUT_DEFAULT_MS;
	g_autoptr(WireConn) conn = NULL;
	g_autoptr(GPtrArray) extra = NULL;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(pc->send, &len);
	gint fd;

	fd = protocol_connect(target, error);
	if (fd < 0) {
		g_prefix_error(error, "connecting: ");
		return FALSE;
	}
	conn = wire_conn_new_for_fd(fd);
	wire_conn_set_timeout(conn, timeout_ms);
	/* the agent's parser may hold a previous client's bytes */
	if (!wire_conn_resync(conn, NULL, error)) {
		g_prefix_error(error, "resync before the case: ");
		return FALSE;
	}
	if (!wire_conn_send(conn, data, len, error)) {
		g_prefix_error(error, "sending: ");
		return FALSE;
	}
	for (guint i = 0; i < pc->expect->len; i++) {
		JsonObject *m = g_ptr_array_index(pc->expect, i);
		g_autoptr(GError) error_local = NULL;
		g_autoptr(WireReply) reply = wire_conn_read_reply(conn, &error_local);
		g_autoptr(JsonNode) mnode = json_node_init_object(json_node_alloc(), m);
		g_autofree gchar *want = json_to_string(mnode, FALSE);

		if (reply == NULL) {
			g_string_append_printf(log, "  reply %u: none\n  expected: %s\n", i + 1,
					       want);
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "reply %u of %u: ", i + 1, pc->expect->len);
			return FALSE;
		}
		{
			g_autofree gchar *shown = wire_reply_to_display(reply);
			g_string_append_printf(log, "  reply %u: %s\n", i + 1, shown);
		}
		if (!protocol_match_reply(m, reply, &error_local)) {
			g_string_append_printf(log, "  expected: %s\n", want);
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "reply %u of %u: ", i + 1, pc->expect->len);
			return FALSE;
		}
	}
	/* the very next reply must answer a fresh guest-sync */
	if (!wire_conn_sync_plain(conn, &extra, error)) {
		g_prefix_error(error, "guest-sync after the case (did the agent recover its "
				      "parser?): ");
		return FALSE;
	}
	for (guint i = 0; i < extra->len; i++) {
		WireReply *reply = g_ptr_array_index(extra, i);
		g_autofree gchar *shown = wire_reply_to_display(reply);

		if (pc->extra_errors_ok && protocol_reply_is_plain_generic_error(reply))
			continue;
		g_string_append_printf(log, "  unexpected extra reply: %s\n", shown);
		return protocol_fail(error, "%u unexpected extra repl%s after the expected %u",
				     extra->len, extra->len == 1 ? "y" : "ies", pc->expect->len);
	}
	if (target->is_alive != NULL && !target->is_alive(target->user_data))
		return protocol_fail(error, "the agent process died");
	if (!protocol_check_alive(conn, timeout_ms, error)) {
		g_prefix_error(error, "agent not usable after the case: ");
		return FALSE;
	}
	return TRUE;
}

gboolean
protocol_suite_run_case(ProtocolSuite *self, guint index, const ProtocolSuiteTarget *target,
			GError **error)
{
	ProtocolCase *pc;
	g_autoptr(GString) log = g_string_new(NULL);
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *sent = NULL;
	gsize len = 0;
	const guint8 *data;

	g_return_val_if_fail(index < self->cases->len, FALSE);
	pc = g_ptr_array_index(self->cases, index);
	data = g_bytes_get_data(pc->send, &len);
	if (protocol_run_case_steps(pc, target, log, &error_local))
		return TRUE;
	sent = wire_bytes_to_display(data, len, PROTOCOL_SHOW_BYTES);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
		    "protocol case '%s' failed against %s: %s\n"
		    "%s%s%s"
		    "  sent (%" G_GSIZE_FORMAT " bytes): %s\n%s",
		    pc->name, target->agent_kind, error_local->message,
		    pc->comment != NULL ? "  comment: " : "",
		    pc->comment != NULL ? pc->comment : "", pc->comment != NULL ? "\n" : "", len,
		    sent, log->str);
	if (target->on_failure != NULL)
		target->on_failure(pc->name, target->user_data);
	return FALSE;
}

/* ---- cmocka ---- */

static void
protocol_suite_cmocka_run(void **state)
{
	ProtocolSuiteTest *t = *state;
	GError *error = NULL;
	gchar *msg;

	if (protocol_suite_run_case(t->suite, t->index, t->target, &error))
		return;
	/* fail() longjmps: free everything first */
	msg = g_strdup(error->message);
	g_error_free(error);
	print_error("%s\n", msg);
	g_free(msg);
	fail();
}

const struct CMUnitTest *
protocol_suite_cmocka_tests(ProtocolSuite *self, const ProtocolSuiteTarget *target, gsize *n_tests)
{
	if (self->tests != NULL)
		g_array_unref(self->tests);
	if (self->test_states != NULL)
		g_ptr_array_unref(self->test_states);
	self->tests = g_array_new(FALSE, TRUE, sizeof(struct CMUnitTest));
	self->test_states = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < self->cases->len; i++) {
		ProtocolSuiteTest *t;
		struct CMUnitTest test = {0};

		if (!protocol_suite_case_applies(self, i, target->agent_kind))
			continue;
		t = g_new0(ProtocolSuiteTest, 1);
		t->suite = self;
		t->index = i;
		t->target = target;
		g_ptr_array_add(self->test_states, t);
		test.name = protocol_suite_get_case_name(self, i);
		test.test_func = protocol_suite_cmocka_run;
		test.initial_state = t;
		g_array_append_val(self->tests, test);
	}
	*n_tests = self->tests->len;
	return (const struct CMUnitTest *)(gpointer)self->tests->data;
}

gint
protocol_suite_run_cmocka(ProtocolSuite *self, const gchar *group_name,
			  const ProtocolSuiteTarget *target)
{
	gsize n = 0;
	const struct CMUnitTest *tests = protocol_suite_cmocka_tests(self, target, &n);

	print_message("# %u of %u protocol cases apply to %s\n", (guint)n, self->cases->len,
		      target->agent_kind);
	return _cmocka_run_group_tests(group_name, tests, n, NULL, NULL);
}
