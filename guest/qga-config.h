/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	QGA_METHOD_VIRTIO_SERIAL,
	QGA_METHOD_ISA_SERIAL,
	QGA_METHOD_UNIX_LISTEN,
} QgaMethod;

#define QGA_DEFAULT_PORT_NAME	     "org.qemu.guest_agent.0"
#define QGA_DEFAULT_ISA_PATH	     "/dev/ttyS0"
#define QGA_DEFAULT_STATEDIR	     "/run"
#define QGA_DEFAULT_HOOK	     QGA_SYSCONFDIR "/qemu/fsfreeze-hook"
#define QGA_DEFAULT_FREEZE_TIMEOUT   60
#define QGA_DEFAULT_HOOK_TIMEOUT     60
#define QGA_DEFAULT_TRACE_SESSIONS   16
#define QGA_DEFAULT_TRACE_PLUGIN_DIR "/run/qgatrace/sessions"
/* more would only hold memory nobody fetches; a buffer is per CPU */
#define QGA_TRACE_SESSIONS_MAX	1024
#define QGA_TRACE_BUFFER_KB_MAX (64 * 1024)

/* the effective configuration: the keyfile first, then the command line;
 * scalars: the last one wins, rpc lists accumulate (as qemu-ga) */
typedef struct {
	QgaMethod method;
	gchar *path; /* device, port name or socket; NULL: the method's default */
	gchar *statedir;
	gchar *fsfreeze_hook; /* NULL: no hook */
	gchar **block_rpcs;
	gchar **allow_rpcs;
	gboolean verbose;
	gchar *pidfile;	      /* nullable */
	gchar *logfile;	      /* nullable: stderr */
	guint freeze_timeout; /* seconds frozen before the watchdog thaws; 0: off */
	guint hook_timeout;   /* seconds a hook may run before it is killed */
	gsize max_message;    /* largest request in bytes */
	/* [trace]: each freeze/thaw traced by the kernel (qga-trace.c) */
	gboolean trace_enabled;
	gboolean trace_export;	 /* guest-trace-status/-fetch answer */
	gchar **trace_functions; /* NULL: the tracing library's default list */
	guint trace_buffer_kb;	 /* ring buffer per CPU */
	guint trace_sessions;	 /* sessions kept in memory */
	gchar *trace_plugin_dir; /* where qgatrace-fsfreeze-hook stores its sessions */
	/* [dmesg]: guest-dmesg, the kernel log export (guest/qga-cmd-dmesg.c) */
	gboolean dmesg_enabled;
} QgaConfig;

QgaConfig *qga_config_new(void);
void qga_config_free(QgaConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QgaConfig, qga_config_free)

/* the wire name of @method, and back */
const gchar *qga_method_to_string(QgaMethod method);
gboolean qga_method_from_string(const gchar *name, QgaMethod *method, GError **error);

/**
 * qga_config_load_file:
 * Reads the [general] and [trace] groups of the GKeyFile at @path into @self. A missing
 * file is an error only when @required (one named by -c must exist).
 */
gboolean qga_config_load_file(QgaConfig *self, const gchar *path, gboolean required,
			      GError **error);

/* sets the trace function list from the comma-separated @list: plain
 * kernel symbol names only, since the kernel reads the filter as a regex */
gboolean qga_config_set_trace_functions(QgaConfig *self, const gchar *list, GError **error);

/* [dmesg] enabled: disabling also puts guest-dmesg on the block list, so
 * that the dispatcher refuses it and guest-info shows it disabled */
void qga_config_set_dmesg_enabled(QgaConfig *self, gboolean enabled);

/* [trace] export: disabling puts guest-trace-status and guest-trace-fetch on
 * the block list; tracing itself is [trace] enabled */
void qga_config_set_trace_export(QgaConfig *self, gboolean export);

/* adds the comma-separated @list to @rpcs; an empty name is an error */
gboolean qga_config_add_rpcs(gchar ***rpcs, const gchar *list, GError **error);

/**
 * qga_config_to_data:
 * Returns: (transfer full): @self as a [general] and [trace] keyfile, for --dump-conf
 */
gchar *qga_config_to_data(const QgaConfig *self);

/* the path the channel opens: @self->path or the method's default */
const gchar *qga_config_get_path(const QgaConfig *self);

G_END_DECLS
