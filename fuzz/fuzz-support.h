/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every libFuzzer target shares: quiet logs that still crash on a
 * programmer error (fuzz-support.c installs the log writer at start-up:
 * g_critical(), a failed g_return_if_fail(), and g_error() abort, which
 * libFuzzer reports as a crash; other records are dropped), and a small
 * byte reader for the bytes that steer a run (chunk sizes, query bounds)
 * rather than being the input proper. */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* libFuzzer's entry points, which every target defines */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const guint8 *data, gsize size);

/* the tree's fixtures, for seeds read at start-up (formats, roots) */
#define FUZZ_FIXTURE(name) FIXTURES_DIR "/" name

/* consumes the input from the front */
typedef struct {
	const guint8 *data;
	gsize len;
} FuzzInput;

/* the next byte, 0 once the input is used up */
guint8 fuzz_input_byte(FuzzInput *in);

/* the next @n bytes (fewer at the end) as a little-endian number */
guint64 fuzz_input_uint(FuzzInput *in, guint n);

/* the next up-to-@n bytes: Returns (transfer none) and sets @len */
const guint8 *fuzz_input_take(FuzzInput *in, gsize n, gsize *len);

/* aborts unless every byte of @text is printable ASCII (0x20-0x7e) */
void fuzz_support_assert_printable(const gchar *text);

/**
 * fuzz_support_decode_line:
 * Checks a line as the agent and the client put it on the wire: ending in
 * \n, 7-bit ASCII but for a leading 0xff, one JSON value; aborts if not.
 * Returns: (transfer full): the value
 */
JsonNode *fuzz_support_decode_line(const gchar *line, gsize len);

G_END_DECLS
