/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "qtf-private.h"

/* the macro stringifies its first argument: clang-format would space it out */
// clang-format off
G_DEFINE_QUARK(qtf-error-quark, qtf_error)
// clang-format on

const gchar *
qtf_method_to_string(QtfMethod method)
{
	switch (method) {
	case QTF_METHOD_FUNCTION:
		return "function";
	case QTF_METHOD_EVENTS:
		return "events";
	case QTF_METHOD_NONE:
	default:
		return "unavailable";
	}
}

guint64
qtf_clock_now_ns(void)
{
	struct timespec ts;

	/* trace_clock 'mono' is ktime_get_mono_fast_ns(): the same clock */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (guint64)ts.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64)ts.tv_nsec;
}

QtfErrorCode
qtf_error_code_from_errno(gint errsv)
{
	switch (errsv) {
	case EPERM:
	case EACCES:
		return QTF_ERROR_REFUSED;
	case ENOENT:
	case ENODEV:
	case ENOSYS:
	case EOPNOTSUPP:
		return QTF_ERROR_UNAVAILABLE;
	case EBUSY:
		return QTF_ERROR_BUSY;
	default:
		return QTF_ERROR_FAILED;
	}
}

/* the last line the kernel wrote to the instance's error_log, if any */
static gchar *
qtf_error_kernel_text(struct tracefs_instance *tfs)
{
	g_autoptr(TracefsString) last = NULL;

	if (tfs == NULL)
		return NULL;
	last = tracefs_error_last(tfs);
	if (last == NULL || last[0] == '\0')
		return NULL;
	return g_strstrip(g_strdup(last));
}

void
qtf_set_error_errno(GError **error, gint errsv, struct tracefs_instance *tfs, const gchar *format,
		    ...)
{
	g_autofree gchar *what = NULL;
	g_autofree gchar *kernel = qtf_error_kernel_text(tfs);
	va_list args;

	va_start(args, format);
	what = g_strdup_vprintf(format, args);
	va_end(args);
	if (errsv == 0)
		errsv = EIO; /* libtracefs failed without saying why */
	if (kernel != NULL) {
		g_set_error(error, QTF_ERROR, qtf_error_code_from_errno(errsv),
			    "%s: %s (kernel: %s)", what, g_strerror(errsv), kernel);
		/* said once: a later failure must not repeat this text */
		tracefs_error_clear(tfs);
	} else {
		g_set_error(error, QTF_ERROR, qtf_error_code_from_errno(errsv), "%s: %s", what,
			    g_strerror(errsv));
	}
}
