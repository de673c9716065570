/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "qga-config.h"
#include "qga-codec.h"
#include "qtf.h"

#define QGA_CONFIG_GROUP       "general"
#define QGA_CONFIG_TRACE_GROUP "trace"
#define QGA_CONFIG_DMESG_GROUP "dmesg"

static const gchar *const qga_method_names[] = {
	[QGA_METHOD_VIRTIO_SERIAL] = "virtio-serial",
	[QGA_METHOD_ISA_SERIAL] = "isa-serial",
	[QGA_METHOD_UNIX_LISTEN] = "unix-listen",
};

QgaConfig *
qga_config_new(void)
{
	QgaConfig *self = g_new0(QgaConfig, 1);

	self->method = QGA_METHOD_VIRTIO_SERIAL;
	self->statedir = g_strdup(QGA_DEFAULT_STATEDIR);
	self->block_rpcs = g_new0(gchar *, 1);
	self->allow_rpcs = g_new0(gchar *, 1);
	self->freeze_timeout = QGA_DEFAULT_FREEZE_TIMEOUT;
	self->hook_timeout = QGA_DEFAULT_HOOK_TIMEOUT;
	self->max_message = QGA_MAX_MESSAGE_DEFAULT;
	self->trace_enabled = TRUE;
	self->trace_export = TRUE;
	self->trace_buffer_kb = QTF_DEFAULT_BUFFER_KB;
	self->trace_sessions = QGA_DEFAULT_TRACE_SESSIONS;
	self->trace_plugin_dir = g_strdup(QGA_DEFAULT_TRACE_PLUGIN_DIR);
	self->dmesg_enabled = TRUE;
	return self;
}

void
qga_config_free(QgaConfig *self)
{
	if (self == NULL)
		return;
	g_free(self->path);
	g_free(self->statedir);
	g_free(self->fsfreeze_hook);
	g_strfreev(self->block_rpcs);
	g_strfreev(self->allow_rpcs);
	g_free(self->pidfile);
	g_free(self->logfile);
	g_strfreev(self->trace_functions);
	g_free(self->trace_plugin_dir);
	g_free(self);
}

const gchar *
qga_method_to_string(QgaMethod method)
{
	return qga_method_names[method];
}

gboolean
qga_method_from_string(const gchar *name, QgaMethod *method, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(qga_method_names); i++) {
		if (g_strcmp0(name, qga_method_names[i]) == 0) {
			*method = i;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "invalid method '%s': expected virtio-serial, isa-serial or unix-listen", name);
	return FALSE;
}

const gchar *
qga_config_get_path(const QgaConfig *self)
{
	if (self->path != NULL)
		return self->path;
	if (self->method == QGA_METHOD_ISA_SERIAL)
		return QGA_DEFAULT_ISA_PATH;
	if (self->method == QGA_METHOD_VIRTIO_SERIAL)
		return QGA_DEFAULT_PORT_NAME;
	return NULL;
}

gboolean
qga_config_add_rpcs(gchar ***rpcs, const gchar *list, GError **error)
{
	g_auto(GStrv) names = g_strsplit(list, ",", -1);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

	g_strv_builder_addv(builder, (const gchar **)*rpcs);
	for (guint i = 0; names[i] != NULL; i++) {
		if (names[i][0] == '\0') {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "empty command name in list '%s'", list);
			return FALSE;
		}
		g_strv_builder_add(builder, names[i]);
	}
	g_strfreev(*rpcs);
	*rpcs = g_strv_builder_end(builder);
	return TRUE;
}

static gboolean
qga_config_get_string(GKeyFile *kf, const gchar *key, gchar **dest, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *value = g_key_file_get_string(kf, QGA_CONFIG_GROUP, key, &error_local);

	if (value == NULL) {
		/* as qemu-ga: a file without [general] is fine too */
		if (g_error_matches(error_local, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
		    g_error_matches(error_local, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	g_free(*dest);
	*dest = g_steal_pointer(&value);
	return TRUE;
}

static gboolean
qga_config_get_uint(GKeyFile *kf, const gchar *key, guint64 max, guint64 *dest, GError **error)
{
	g_autofree gchar *text = NULL;
	guint64 value;

	if (!qga_config_get_string(kf, key, &text, error))
		return FALSE;
	if (text == NULL)
		return TRUE;
	if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, max, &value, error)) {
		g_prefix_error(error, "key '%s': ", key);
		return FALSE;
	}
	*dest = value;
	return TRUE;
}

static gboolean
qga_config_get_bool(GKeyFile *kf, const gchar *key, gboolean *dest, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	gboolean value = g_key_file_get_boolean(kf, QGA_CONFIG_GROUP, key, &error_local);

	if (error_local != NULL) {
		/* as qemu-ga: a file without [general] is fine too */
		if (g_error_matches(error_local, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
		    g_error_matches(error_local, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	*dest = value;
	return TRUE;
}

static gboolean
qga_config_get_rpcs(GKeyFile *kf, const gchar *key, gchar ***rpcs, GError **error)
{
	g_autofree gchar *list = NULL;

	if (!qga_config_get_string(kf, key, &list, error))
		return FALSE;
	return list == NULL || qga_config_add_rpcs(rpcs, list, error);
}

static gboolean
qga_config_load_keyfile(QgaConfig *self, GKeyFile *kf, GError **error)
{
	g_autofree gchar *method = NULL;
	guint64 freeze_timeout = self->freeze_timeout;
	guint64 hook_timeout = self->hook_timeout;
	guint64 max_message = self->max_message;

	if (!qga_config_get_string(kf, "method", &method, error) ||
	    !qga_config_get_string(kf, "path", &self->path, error) ||
	    !qga_config_get_string(kf, "statedir", &self->statedir, error) ||
	    !qga_config_get_string(kf, "fsfreeze-hook", &self->fsfreeze_hook, error) ||
	    !qga_config_get_string(kf, "pidfile", &self->pidfile, error) ||
	    !qga_config_get_string(kf, "logfile", &self->logfile, error) ||
	    !qga_config_get_bool(kf, "verbose", &self->verbose, error) ||
	    !qga_config_get_rpcs(kf, "block-rpcs", &self->block_rpcs, error) ||
	    !qga_config_get_rpcs(kf, "allow-rpcs", &self->allow_rpcs, error) ||
	    !qga_config_get_uint(kf, "freeze-timeout", G_MAXUINT, &freeze_timeout, error) ||
	    !qga_config_get_uint(kf, "fsfreeze-hook-timeout", G_MAXUINT, &hook_timeout, error) ||
	    !qga_config_get_uint(kf, "max-message-size", G_MAXSIZE, &max_message, error))
		return FALSE;
	if (method != NULL && !qga_method_from_string(g_strstrip(method), &self->method, error))
		return FALSE;
	if (hook_timeout == 0 || max_message == 0) {
		g_set_error_literal(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "fsfreeze-hook-timeout and max-message-size must be positive");
		return FALSE;
	}
	self->freeze_timeout = freeze_timeout;
	self->hook_timeout = hook_timeout;
	self->max_message = max_message;
	return TRUE;
}

gboolean
qga_config_set_trace_functions(QgaConfig *self, const gchar *list, GError **error)
{
	g_auto(GStrv) names = g_strsplit(list, ",", -1);
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	guint n = 0;

	for (guint i = 0; names[i] != NULL; i++) {
		const gchar *name = g_strstrip(names[i]);

		/* the kernel reads the filter as a regex: "*" or "." would widen it */
		for (const gchar *p = name; *p != '\0'; p++) {
			if (!g_ascii_isalnum(*p) && *p != '_') {
				g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
					    "'%s' is not a kernel function name", name);
				return FALSE;
			}
		}
		if (name[0] == '\0') {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "empty function name in list '%s'", list);
			return FALSE;
		}
		g_strv_builder_add(builder, name);
		n++;
	}
	if (n == 0) {
		/* an empty filter traces every function of the kernel */
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "the trace function list is empty");
		return FALSE;
	}
	g_strfreev(self->trace_functions);
	self->trace_functions = g_strv_builder_end(builder);
	return TRUE;
}

/* @key of @group into @value; a missing key leaves @value */
static gboolean
qga_config_get_boolean(GKeyFile *kf, const gchar *group, const gchar *key, gboolean *value,
		       GError **error)
{
	g_autoptr(GError) error_local = NULL;
	gboolean v;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return TRUE;
	v = g_key_file_get_boolean(kf, group, key, &error_local);
	if (error_local != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "[%s] key '%s': ", group, key);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

/* adds @name to the block list once */
static void
qga_config_block_rpc(QgaConfig *self, const gchar *name)
{
	g_autoptr(GStrvBuilder) builder = NULL;

	if (g_strv_contains((const gchar *const *)self->block_rpcs, name))
		return;
	builder = g_strv_builder_new();
	g_strv_builder_addv(builder, (const gchar **)self->block_rpcs);
	g_strv_builder_add(builder, name);
	g_strfreev(self->block_rpcs);
	self->block_rpcs = g_strv_builder_end(builder);
}

void
qga_config_set_trace_export(QgaConfig *self, gboolean export)
{
	self->trace_export = export;
	if (!export) {
		qga_config_block_rpc(self, "guest-trace-status");
		qga_config_block_rpc(self, "guest-trace-fetch");
	}
}

/* [trace]; a missing group leaves the defaults */
static gboolean
qga_config_load_trace(QgaConfig *self, GKeyFile *kf, GError **error)
{
	const gchar *group = QGA_CONFIG_TRACE_GROUP;
	g_autofree gchar *functions = NULL;
	g_autofree gchar *plugin_dir = NULL;
	gboolean export = self->trace_export;
	const struct {
		const gchar *key;
		guint *dest;
		guint64 max;
	} uints[] = {
		{"buffer-kb", &self->trace_buffer_kb, QGA_TRACE_BUFFER_KB_MAX},
		{"sessions", &self->trace_sessions, QGA_TRACE_SESSIONS_MAX},
	};

	if (!g_key_file_has_group(kf, group))
		return TRUE;
	if (!qga_config_get_boolean(kf, group, "enabled", &self->trace_enabled, error) ||
	    !qga_config_get_boolean(kf, group, "export", &export, error))
		return FALSE;
	qga_config_set_trace_export(self, export);
	for (guint i = 0; i < G_N_ELEMENTS(uints); i++) {
		g_autofree gchar *text = g_key_file_get_string(kf, group, uints[i].key, NULL);
		guint64 value;

		if (text == NULL)
			continue;
		if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, uints[i].max, &value,
						error)) {
			g_prefix_error(error, "[trace] key '%s': ", uints[i].key);
			return FALSE;
		}
		*uints[i].dest = (guint)value;
	}
	functions = g_key_file_get_string(kf, group, "functions", NULL);
	if (functions != NULL && !qga_config_set_trace_functions(self, functions, error)) {
		g_prefix_error(error, "[trace] key 'functions': ");
		return FALSE;
	}
	plugin_dir = g_key_file_get_string(kf, group, "plugin-dir", NULL);
	if (plugin_dir != NULL) {
		g_strstrip(plugin_dir);
		if (!g_path_is_absolute(plugin_dir)) {
			g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				    "[trace] key 'plugin-dir': '%s' is not an absolute path",
				    plugin_dir);
			return FALSE;
		}
		g_free(self->trace_plugin_dir);
		self->trace_plugin_dir = g_steal_pointer(&plugin_dir);
	}
	return TRUE;
}

void
qga_config_set_dmesg_enabled(QgaConfig *self, gboolean enabled)
{
	self->dmesg_enabled = enabled;
	if (!enabled)
		qga_config_block_rpc(self, "guest-dmesg");
}

/* [dmesg]; a missing group or key leaves the export enabled */
static gboolean
qga_config_load_dmesg(QgaConfig *self, GKeyFile *kf, GError **error)
{
	gboolean enabled = self->dmesg_enabled;

	if (!qga_config_get_boolean(kf, QGA_CONFIG_DMESG_GROUP, "enabled", &enabled, error))
		return FALSE;
	qga_config_set_dmesg_enabled(self, enabled);
	return TRUE;
}

gboolean
qga_config_load_file(QgaConfig *self, const gchar *path, gboolean required, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;

	g_key_file_set_list_separator(kf, ',');
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error_local)) {
		if (!required && g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
					   "loading config '%s': ", path);
		return FALSE;
	}
	if (!qga_config_load_keyfile(self, kf, error) || !qga_config_load_trace(self, kf, error)) {
		g_prefix_error(error, "config '%s': ", path);
		return FALSE;
	}
	if (!qga_config_load_dmesg(self, kf, error)) {
		g_prefix_error(error, "config '%s': ", path);
		return FALSE;
	}
	return TRUE;
}

static void
qga_config_set_optional(GKeyFile *kf, const gchar *key, const gchar *value)
{
	if (value != NULL)
		g_key_file_set_string(kf, QGA_CONFIG_GROUP, key, value);
}

static void
qga_config_set_rpcs(GKeyFile *kf, const gchar *key, gchar **rpcs)
{
	g_autofree gchar *list = NULL;

	if (rpcs[0] == NULL)
		return;
	list = g_strjoinv(",", rpcs);
	g_key_file_set_string(kf, QGA_CONFIG_GROUP, key, list);
}

/* the effective values, the library's defaults included */
static void
qga_config_dump_trace(const QgaConfig *self, GKeyFile *kf)
{
	const gchar *group = QGA_CONFIG_TRACE_GROUP;
	g_autofree gchar *functions =
		g_strjoinv(",", self->trace_functions != NULL ? self->trace_functions
							      : (gchar **)qtf_default_functions());

	g_key_file_set_boolean(kf, group, "enabled", self->trace_enabled);
	g_key_file_set_boolean(kf, group, "export", self->trace_export);
	g_key_file_set_string(kf, group, "functions", functions);
	g_key_file_set_uint64(kf, group, "buffer-kb", self->trace_buffer_kb);
	g_key_file_set_uint64(kf, group, "sessions", self->trace_sessions);
	g_key_file_set_string(kf, group, "plugin-dir", self->trace_plugin_dir);
}

gchar *
qga_config_to_data(const QgaConfig *self)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();

	g_key_file_set_string(kf, QGA_CONFIG_GROUP, "method", qga_method_to_string(self->method));
	qga_config_set_optional(kf, "path", qga_config_get_path(self));
	g_key_file_set_string(kf, QGA_CONFIG_GROUP, "statedir", self->statedir);
	qga_config_set_optional(kf, "fsfreeze-hook", self->fsfreeze_hook);
	g_key_file_set_uint64(kf, QGA_CONFIG_GROUP, "fsfreeze-hook-timeout", self->hook_timeout);
	g_key_file_set_uint64(kf, QGA_CONFIG_GROUP, "freeze-timeout", self->freeze_timeout);
	g_key_file_set_uint64(kf, QGA_CONFIG_GROUP, "max-message-size", self->max_message);
	g_key_file_set_boolean(kf, QGA_CONFIG_GROUP, "verbose", self->verbose);
	qga_config_set_optional(kf, "pidfile", self->pidfile);
	qga_config_set_optional(kf, "logfile", self->logfile);
	qga_config_set_rpcs(kf, "block-rpcs", self->block_rpcs);
	qga_config_set_rpcs(kf, "allow-rpcs", self->allow_rpcs);
	qga_config_dump_trace(self, kf);
	g_key_file_set_boolean(kf, QGA_CONFIG_DMESG_GROUP, "enabled", self->dmesg_enabled);
	return g_key_file_to_data(kf, NULL, NULL);
}
