/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "qga-error.h"

/* the macro stringifies its first argument: clang-format would space it out */
// clang-format off
G_DEFINE_QUARK(qga-error-quark, qga_error)
// clang-format on

static const gchar *const qga_error_classes[] = {
	[QGA_ERROR_GENERIC] = "GenericError",
	[QGA_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[QGA_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
	[QGA_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
	[QGA_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

/* pre-2.0 names libvirt still maps (src/qemu/qemu_agent.c:
 * qemuAgentStringifyErrorClass); the rest of them are GenericError */
static const struct {
	const gchar *klass;
	QgaErrorCode code;
} qga_error_legacy_classes[] = {
	{"CommandDisabled", QGA_ERROR_COMMAND_NOT_FOUND},
	{"CommandNotFound", QGA_ERROR_COMMAND_NOT_FOUND},
	{"DeviceNotActive", QGA_ERROR_DEVICE_NOT_ACTIVE},
	{"DeviceNotFound", QGA_ERROR_DEVICE_NOT_FOUND},
	{"KVMMissingCap", QGA_ERROR_KVM_MISSING_CAP},
};

const gchar *
qga_error_class_name(QgaErrorCode code)
{
	if ((guint)code >= G_N_ELEMENTS(qga_error_classes))
		return qga_error_classes[QGA_ERROR_GENERIC];
	return qga_error_classes[code];
}

QgaErrorCode
qga_error_code_from_class(const gchar *klass)
{
	if (klass == NULL)
		return QGA_ERROR_GENERIC;
	for (guint i = 0; i < G_N_ELEMENTS(qga_error_legacy_classes); i++) {
		if (strcmp(klass, qga_error_legacy_classes[i].klass) == 0)
			return qga_error_legacy_classes[i].code;
	}
	/* GenericError, QgaCommandFailed, Unsupported and anything unknown */
	return QGA_ERROR_GENERIC;
}

const gchar *
qga_error_class_for(const GError *error)
{
	if (error == NULL || error->domain != QGA_ERROR)
		return qga_error_class_name(QGA_ERROR_GENERIC);
	return qga_error_class_name((QgaErrorCode)error->code);
}
