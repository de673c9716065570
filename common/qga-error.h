/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QGA_ERROR (qga_error_quark())

/* the QGA wire error classes; libvirt still knows the pre-2.0 names, so a
 * reply carrying one of those decodes to the nearest modern class */
typedef enum {
	QGA_ERROR_GENERIC,	     /* "GenericError" */
	QGA_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
	QGA_ERROR_DEVICE_NOT_ACTIVE, /* "DeviceNotActive" */
	QGA_ERROR_DEVICE_NOT_FOUND,  /* "DeviceNotFound" */
	QGA_ERROR_KVM_MISSING_CAP,   /* "KVMMissingCap" */
} QgaErrorCode;

GQuark qga_error_quark(void);

/**
 * qga_error_class_name:
 * Returns: (transfer none): the wire class of @code
 */
const gchar *qga_error_class_name(QgaErrorCode code);

/**
 * qga_error_code_from_class:
 * Maps a wire class (modern or one of libvirt's legacy names) to a code;
 * an unknown class is QGA_ERROR_GENERIC.
 */
QgaErrorCode qga_error_code_from_class(const gchar *klass);

/**
 * qga_error_class_for:
 * Returns: (transfer none): the wire class a GError travels as: its own
 * class in the QGA_ERROR domain, GenericError for any other domain
 */
const gchar *qga_error_class_for(const GError *error);

G_END_DECLS
