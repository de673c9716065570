/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _QgaContext QgaContext;

/* argument types, named as qemu's QAPI visitor names them in errors */
typedef enum {
	QGA_ARG_INT,
	QGA_ARG_NUMBER,
	QGA_ARG_STRING,
	QGA_ARG_BOOL,
	QGA_ARG_STRING_LIST,
} QgaArgType;

typedef struct {
	const gchar *name;
	QgaArgType type;
	gboolean optional;
} QgaArgSpec;

typedef enum {
	/* on qemu-ga's frozen allow-list (qga/main.c: ga_freeze_allowlist) */
	QGA_CMD_FROZEN_OK = 1 << 0,
	/* the reply is preceded by the 0xff sync delimiter */
	QGA_CMD_REPLY_DELIMITED = 1 << 1,
	/* the handler returns a string node holding the "return" value as
	 * JSON text, 7-bit ASCII, which the reply carries as it is */
	QGA_CMD_RETURNS_TEXT = 1 << 2,
} QgaCommandFlags;

/* a handler returns the "return" value (transfer full), or NULL with @error */
typedef JsonNode *(*QgaCommandFunc)(QgaContext *ctx, JsonObject *args, GError **error);

typedef struct {
	const gchar *name;
	QgaCommandFunc func;
	const QgaArgSpec *args; /* NULL-name terminated; NULL: no arguments */
	QgaCommandFlags flags;
} QgaCommand;

/* helpers for handlers: the dispatcher already checked presence and type */
JsonNode *qga_return_empty(void);
JsonNode *qga_return_int(gint64 value);
JsonNode *qga_return_string(const gchar *value);
JsonNode *qga_return_object(JsonObject *object);		/* takes @object's reference */
JsonNode *qga_return_array(JsonArray *array);			/* takes @array's reference */
gchar **qga_args_dup_strv(JsonObject *args, const gchar *name); /* NULL when absent */

G_END_DECLS
