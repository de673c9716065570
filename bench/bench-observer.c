/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <sys/sysmacros.h>

#include <gio/gio.h>

#include "bench-observer.h"

#define OBSERVER_TRACING  "/sys/kernel/tracing"
#define OBSERVER_INSTANCE OBSERVER_TRACING "/instances/qgatrace-bench"
/* the kprobe events' group: its own, beside any the agent defines */
#define OBSERVER_GROUP "qgatrace_bench"
/* KB per CPU: a cycle is a few events of ~40 bytes, a full run some thousands */
#define OBSERVER_BUFFER_KB "2048"
/* struct super_block starts with s_list (two pointers), then s_dev; printf's format, one
 * line for the test shell */
#define OBSERVER_PROBES                                                                            \
	"p:" OBSERVER_GROUP "/freeze freeze_super dev=+16($arg1):u32\\n"                           \
	"r:" OBSERVER_GROUP "/freeze_ret freeze_super ret=$retval:s32\\n"                          \
	"p:" OBSERVER_GROUP "/thaw thaw_super dev=+16($arg1):u32\\n"                               \
	"r:" OBSERVER_GROUP "/thaw_ret thaw_super ret=$retval:s32\\n"
/* removes what an earlier run may have left, then this run's too */
#define OBSERVER_REMOVE                                                                            \
	"cd " OBSERVER_TRACING " || exit 1; "                                                      \
	"echo 0 > " OBSERVER_INSTANCE "/events/" OBSERVER_GROUP "/enable 2>/dev/null; "            \
	"rmdir " OBSERVER_INSTANCE " 2>/dev/null; "                                                \
	"for e in freeze freeze_ret thaw thaw_ret; do "                                            \
	"echo \"-:" OBSERVER_GROUP "/$e\" >> kprobe_events 2>/dev/null; done; "                    \
	"! grep -q '" OBSERVER_GROUP "/' kprobe_events"

struct _BenchObserver {
	BenchContext *ctx; /* (not owned) */
	guint32 dev;
};

void
bench_observer_free(BenchObserver *self)
{
	g_autoptr(GError) error = NULL;

	if (self == NULL)
		return;
	if (!bench_guest_run(self->ctx, &error, OBSERVER_REMOVE))
		g_printerr("removing the bench's ftrace instance: %s, ignoring\n", error->message);
	g_free(self);
}

BenchObserver *
bench_observer_start(BenchContext *ctx, const gchar *mountpoint, GError **error)
{
	g_autoptr(BenchObserver) self = g_new0(BenchObserver, 1);
	g_autofree gchar *cmd = NULL;
	g_autofree gchar *st_dev = NULL;
	guint64 dev = 0;

	self->ctx = ctx;
	cmd = g_strdup_printf("stat -c %%d %s", mountpoint);
	st_dev = vm_guest_shell_ok(ctx->guest, cmd, error);
	if (st_dev == NULL ||
	    !g_ascii_string_to_unsigned(g_strstrip(st_dev), 10, 1, G_MAXUINT64, &dev, error)) {
		g_prefix_error(error, "the device of '%s': ", mountpoint);
		return NULL;
	}
	/* stat's st_dev to the kernel's dev_t, which the probe reads */
	self->dev = (guint32)(major(dev) << 20 | minor(dev));
	if (!bench_guest_run(ctx, error,
			     OBSERVER_REMOVE "; printf '" OBSERVER_PROBES "' >> kprobe_events && "
					     "mkdir " OBSERVER_INSTANCE " && cd " OBSERVER_INSTANCE
					     " && echo " OBSERVER_BUFFER_KB " > buffer_size_kb && "
					     "echo mono > trace_clock && "
					     "echo 1 > events/" OBSERVER_GROUP "/enable")) {
		g_prefix_error(error, "creating the bench's ftrace instance: ");
		return NULL;
	}
	return g_steal_pointer(&self);
}

GArray *
bench_observer_read(BenchObserver *self, GError **error)
{
	g_autofree gchar *losses = NULL;
	g_autofree gchar *text = NULL;

	losses = vm_guest_shell_ok(self->ctx->guest,
				   "cd " OBSERVER_INSTANCE " && echo 0 > tracing_on && "
				   "cat per_cpu/cpu*/stats | grep -e '^overrun' -e '^dropped' | "
				   "grep -v ': 0$' || true",
				   error);
	if (losses == NULL)
		return NULL;
	if (*g_strstrip(losses) != '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the bench's ftrace instance lost events: %s", losses);
		return NULL;
	}
	text = vm_guest_shell_ok(self->ctx->guest, "cat " OBSERVER_INSTANCE "/trace", error);
	if (text == NULL)
		return NULL;
	return bench_observer_parse(text, self->dev, error);
}

typedef enum { PROBE_FREEZE, PROBE_FREEZE_RET, PROBE_THAW, PROBE_THAW_RET } ObserverProbe;

typedef struct {
	gint64 start_us; /* 0: no interval open */
	gint pid;
	GHashTable *thawing; /* pids in a thaw_super of the device */
	GArray *intervals;
} ObserverState;

static gboolean
observer_event(ObserverState *st, ObserverProbe probe, gint pid, gint64 ts_us, gint64 value,
	       guint32 dev, GError **error)
{
	BenchFrozenInterval interval;

	switch (probe) {
	case PROBE_FREEZE:
		if ((guint32)value != dev)
			return TRUE;
		if (st->start_us != 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "pid %d froze the superblock again at %" G_GINT64_FORMAT
				    " us, before its thaw",
				    pid, ts_us);
			return FALSE;
		}
		st->start_us = ts_us;
		st->pid = pid;
		return TRUE;
	case PROBE_THAW:
		if ((guint32)value == dev)
			g_hash_table_add(st->thawing, GINT_TO_POINTER(pid));
		else
			g_hash_table_remove(st->thawing, GINT_TO_POINTER(pid));
		return TRUE;
	case PROBE_THAW_RET:
		/* a return has no argument: it is the device's when its task entered on it */
		if (!g_hash_table_remove(st->thawing, GINT_TO_POINTER(pid)) || value != 0 ||
		    st->start_us == 0)
			return TRUE;
		interval = (BenchFrozenInterval){st->pid, (ts_us - st->start_us) / 1000.0};
		g_array_append_val(st->intervals, interval);
		st->start_us = 0;
		return TRUE;
	case PROBE_FREEZE_RET:
	default:
		return TRUE;
	}
}

GArray *
bench_observer_parse(const gchar *text, guint32 dev, GError **error)
{
	/* "  busybox-406  [000] .....  72.376054: freeze: (freeze_super+0x0/0x170) dev=266338304" */
	g_autoptr(GRegex) re =
		g_regex_new("^\\s*.+-(\\d+)\\s+\\[\\d+\\]\\s+(?:\\S+\\s+)?(\\d+)\\.(\\d{6}): "
			    "(freeze|freeze_ret|thaw|thaw_ret): .* (?:dev|ret)=(-?\\d+)\\s*$",
			    0, 0, NULL);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) thawing = g_hash_table_new(NULL, NULL);
	g_autoptr(GArray) intervals = g_array_new(FALSE, FALSE, sizeof(BenchFrozenInterval));
	ObserverState st = {0, 0, thawing, intervals};

	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(GMatchInfo) match = NULL;
		g_autofree gchar *pid = NULL, *sec = NULL, *usec = NULL, *name = NULL;
		g_autofree gchar *value = NULL;
		static const gchar *const names[] = {"freeze", "freeze_ret", "thaw", "thaw_ret"};
		ObserverProbe probe = PROBE_FREEZE;

		if (lines[i][0] == '#' || *g_strstrip(lines[i]) == '\0')
			continue;
		if (!g_regex_match(re, lines[i], 0, &match)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "not a line of the bench's probes: '%s'", lines[i]);
			return NULL;
		}
		pid = g_match_info_fetch(match, 1);
		sec = g_match_info_fetch(match, 2);
		usec = g_match_info_fetch(match, 3);
		name = g_match_info_fetch(match, 4);
		value = g_match_info_fetch(match, 5);
		for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
			if (g_str_equal(name, names[k]))
				probe = (ObserverProbe)k;
		}
		if (!observer_event(&st, probe, (gint)g_ascii_strtoll(pid, NULL, 10),
				    g_ascii_strtoll(sec, NULL, 10) * G_USEC_PER_SEC +
					    g_ascii_strtoll(usec, NULL, 10),
				    g_ascii_strtoll(value, NULL, 10), dev, error))
			return NULL;
	}
	if (st.start_us != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "pid %d froze the superblock and no thaw followed", st.pid);
		return NULL;
	}
	return g_steal_pointer(&intervals);
}
