/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * A blocking client of QEMU's QMP monitor, over the QGA client (the same
 * framed JSON on a UNIX socket): the greeting read and checked,
 * qmp_capabilities sent, then id-matched commands. Events that arrive
 * meanwhile are kept, oldest first, up to QMP_CLIENT_EVENTS_MAX (then the
 * oldest go, and are counted), until taken or waited for.
 *
 * Errors: every wait is bounded by the timeout (G_IO_ERROR_TIMED_OUT); the
 * channel's failures are G_IO_ERROR; an error reply is a QGA_ERROR
 * (common/qga-error.h) whose code is QMP's class ("DeviceNotFound",
 * "GenericError" for the classes QGA does not name) and whose message is
 * QMP's desc. One client at a time, as every QEMU socket chardev: a second
 * one waits for a greeting that does not come.
 */
typedef struct _QmpClient QmpClient;

#define QMP_CLIENT_EVENTS_MAX 1024

/**
 * qmp_client_connect_unix:
 * @timeout_ms: bounds each wait, this one's and later ones' (0: the QGA
 * client's default)
 * Connects to the QMP socket at @path, reads the greeting, sends
 * qmp_capabilities.
 * Returns: (transfer full): the client, or NULL with @error:
 * G_IO_ERROR_TIMED_OUT when no greeting comes, G_IO_ERROR_INVALID_DATA when
 * the first message is no QMP greeting
 */
QmpClient *qmp_client_connect_unix(const gchar *path, guint timeout_ms, GError **error);
void qmp_client_free(QmpClient *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpClient, qmp_client_free)

void qmp_client_set_timeout(QmpClient *self, guint timeout_ms);

/* Returns: (transfer none) (nullable): QEMU's "major.minor.micro" from the greeting */
const gchar *qmp_client_get_version(QmpClient *self);

/* Returns: (transfer none): the greeting's capabilities ("oob"), maybe empty */
const gchar *const *qmp_client_get_capabilities(QmpClient *self);

/**
 * qmp_client_execute:
 * @arguments: (nullable) (transfer none)
 * Sends @command with a unique "id" and waits for the reply with that id;
 * replies to other ids are skipped, events kept.
 * Returns: (transfer full): the "return" value, or NULL with @error
 */
JsonNode *qmp_client_execute(QmpClient *self, const gchar *command, JsonObject *arguments,
			     GError **error);

/**
 * qmp_client_execute_with_fd:
 * As qmp_client_execute(), with @fd passed by SCM_RIGHTS along the command,
 * as getfd and add-fd need; the caller keeps @fd.
 * Returns: (transfer full): the "return" value, or NULL with @error
 */
JsonNode *qmp_client_execute_with_fd(QmpClient *self, const gchar *command, JsonObject *arguments,
				     gint fd, GError **error);

/* the commands sent so far, qmp_capabilities included */
guint qmp_client_get_commands(QmpClient *self);

/* the monitor's socket, which the client keeps owning */
gint qmp_client_get_fd(QmpClient *self);

/**
 * qmp_client_take_events:
 * The events kept so far, oldest first; the queue is empty afterwards.
 * Returns: (transfer full) (element-type JsonNode): the events, as QMP sent
 * them ({"event", "data", "timestamp"})
 */
GPtrArray *qmp_client_take_events(QmpClient *self);

/* the events dropped so far because the queue was full */
guint qmp_client_get_events_dropped(QmpClient *self);

/**
 * qmp_client_wait_event:
 * @name: (nullable): the event wanted ("GUEST_PANICKED"); NULL: any
 * @timeout_ms: how long to wait at most (0: the client's timeout)
 * Takes the oldest kept event named @name, or reads until one arrives;
 * other events are kept, replies skipped.
 * Returns: (transfer full): the event, or NULL with @error
 * (G_IO_ERROR_TIMED_OUT when none came in time)
 */
JsonNode *qmp_client_wait_event(QmpClient *self, const gchar *name, guint timeout_ms,
				GError **error);

G_END_DECLS
