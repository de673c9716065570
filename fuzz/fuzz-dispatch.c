/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fuzz-support.h"
#include "qga-codec.h"
#include "qga-context.h"
#include "qga-dispatch.h"
#include "qga-fsfreeze.h"
#include "qga-trace.h"

/*
 * Request validation and dispatch (guest/qga-dispatch.c) as the agent runs
 * them on what its decoder gives: every command, real handlers, on a
 * fixture root. Two guards keep the fuzzing host untouched: the build
 * (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: FIFREEZE/FITHAW, hooks and
 * ftrace are compiled out) and this context (fixture roots, no hook,
 * tracing off, state and sessions in a temporary directory).
 * Input: one byte picks the root, the rest is the stream from the host.
 * What must hold: one reply per item, 7-bit ASCII but for a leading 0xff,
 * ending in \n, decoding to one "return" or "error" object; the agent
 * never stays frozen.
 */

static const gchar *const fuzz_dispatch_roots[] = {
	FUZZ_FIXTURE("guest/root"),
	FUZZ_FIXTURE("kmsg/root"),
};

/* one agent context per root, for the whole run */
static QgaContext fuzz_dispatch_ctx[G_N_ELEMENTS(fuzz_dispatch_roots)];

static void
fuzz_dispatch_setup(QgaContext *ctx, const gchar *root)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *kmsg = g_build_filename(root, "dev", "kmsg", NULL);
	QgaConfig *config = qga_config_new();

	g_free(config->statedir);
	config->statedir = g_dir_make_tmp("qgatrace-fuzz-XXXXXX", &error);
	if (config->statedir == NULL) {
		g_printerr("fuzz-dispatch: %s\n", error->message);
		abort();
	}
	g_clear_pointer(&config->fsfreeze_hook, g_free);
	config->trace_enabled = FALSE;
	g_free(config->trace_plugin_dir);
	config->trace_plugin_dir = g_build_filename(config->statedir, "sessions", NULL);
	/* without the root's dev/kmsg guest-dmesg would read the host's own log
	 * (klogctl): not an input, and not the same from run to run */
	if (!g_file_test(kmsg, G_FILE_TEST_EXISTS))
		qga_config_set_dmesg_enabled(config, FALSE);
	ctx->config = config;
	ctx->state = qga_state_new(config->statedir);
	ctx->paths = qga_paths_new(root);
	ctx->trace = qga_trace_new(config, root);
}

/* libFuzzer exits without freeing: leave no directory behind in /tmp */
static void
fuzz_dispatch_cleanup(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(fuzz_dispatch_ctx); i++) {
		QgaContext *ctx = &fuzz_dispatch_ctx[i];

		g_unlink(qga_state_get_marker_path(ctx->state));
		g_rmdir(ctx->config->trace_plugin_dir);
		g_rmdir(ctx->config->statedir);
	}
}

static void
fuzz_dispatch_check_reply(const gchar *reply, gsize len)
{
	g_autoptr(JsonNode) value = fuzz_support_decode_line(reply, len);
	JsonObject *object;

	if (!JSON_NODE_HOLDS_OBJECT(value))
		abort();
	object = json_node_get_object(value);
	if (json_object_has_member(object, "return") == json_object_has_member(object, "error"))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (guint i = 0; i < G_N_ELEMENTS(fuzz_dispatch_roots); i++)
		fuzz_dispatch_setup(&fuzz_dispatch_ctx[i], fuzz_dispatch_roots[i]);
	atexit(fuzz_dispatch_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, gsize size)
{
	FuzzInput in = {data, size};
	guint which = fuzz_input_byte(&in) % G_N_ELEMENTS(fuzz_dispatch_roots);
	QgaContext *ctx = &fuzz_dispatch_ctx[which];
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(ctx->config->max_message);

	qga_decoder_feed(decoder, in.data, in.len);
	for (;;) {
		g_autoptr(JsonNode) message = NULL;
		g_autoptr(GError) error = NULL;
		g_autofree gchar *reply = NULL;
		gsize len = 0;

		if (qga_decoder_pop(decoder, &message, &error))
			reply = qga_dispatch_message(ctx, message, &len);
		else if (error != NULL)
			reply = qga_dispatch_stream_error(error, &len);
		else
			break;
		fuzz_dispatch_check_reply(reply, len);
	}
	/* what the agent's loop would run next: trace collection at idle */
	while (g_main_context_iteration(NULL, FALSE))
		;
	/* nothing can freeze in this build, yet the state may say frozen
	 * (zero filesystems frozen); each input starts thawed, as a new
	 * host would find the agent after its watchdog */
	if (qga_state_is_frozen(ctx->state) && qga_fsfreeze_thaw(ctx, NULL) < 0)
		abort();
	if (qga_state_is_frozen(ctx->state))
		abort();
	return 0;
}
