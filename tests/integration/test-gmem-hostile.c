/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The qgatrace binary reading a hostile guest's kernel log from memory:
 * crafted ELF dumps (dmesg --from-dump) and a fake QMP monitor serving
 * crafted guest RAM (dmesg --from-memory). Whatever the guest wrote, the
 * client is not killed by a signal, refuses with one error line (exit 1) or
 * succeeds, keeps its output and memory bounded by what a kernel can hold,
 * and the guest runs again after every pause, even when the client is
 * SIGKILLed in the middle of a read.
 *
 * With HOSTILE_WRITE_CORPUS=DIR every crafted dump is also written to DIR
 * (how fuzz/corpus/gmem/ was made). */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "hostile-guest.h"
#include "hostile-run.h"

/* a refusal, or a decode of a few hundred KiB of log, takes well under this */
#define GMEM_HOSTILE_DEADLINE_MS 20000
/* after the client ended (or was killed): the guest must run again by then */
#define GMEM_HOSTILE_RESUME_MS 3000

/* ---- running the client ---- */

/* the one check every case shares; NULL when all is well */
static gchar *
gmem_hostile_check_run(const HostileRun *run)
{
	g_autofree gchar *how = hostile_run_describe(run);
	gchar *problem = hostile_check_ended_cleanly(run);
	gsize lines = 0;

	if (problem != NULL)
		return problem;
	if (run->exit_status != 0 && run->exit_status != 1)
		return g_strdup_printf("exit status %d, not 0 or 1: %s", run->exit_status, how);
	for (gsize i = 0; i < run->err->len; i++)
		lines += run->err->str[i] == '\n';
	if (run->exit_status == 1 && (lines != 1 || !g_str_has_suffix(run->err->str, "\n")))
		return g_strdup_printf("a refusal is one error line, not %" G_GSIZE_FORMAT ": %s",
				       lines, how);
	problem = hostile_check_terminal_safe("stdout", run->out->str, run->out->len);
	if (problem == NULL)
		problem = hostile_check_terminal_safe("stderr", run->err->str, run->err->len);
	return problem;
}

static gchar *
gmem_hostile_write_dump(const gchar *name, HostileGuest *guest)
{
	g_autoptr(GBytes) elf = hostile_guest_elf(guest);
	const gchar *corpus = g_getenv("HOSTILE_WRITE_CORPUS");
	g_autoptr(GError) error = NULL;
	gchar *path = NULL;
	gint fd = g_file_open_tmp("test-gmem-hostile-XXXXXX.elf", &path, &error);

	assert_true(fd >= 0);
	close(fd);
	assert_true(g_file_set_contents(path, g_bytes_get_data(elf, NULL),
					(gssize)g_bytes_get_size(elf), NULL));
	if (corpus != NULL) {
		g_autofree gchar *seed = g_build_filename(corpus, name, NULL);

		assert_true(g_file_set_contents(seed, g_bytes_get_data(elf, NULL),
						(gssize)g_bytes_get_size(elf), NULL));
	}
	return path;
}

/* dmesg --from-dump on @guest's ELF dump, with --save-dir @save_dir
 * unless NULL; (transfer full) */
static HostileRun *
gmem_hostile_run_dump_to(const gchar *name, HostileGuest *guest, const gchar *const *env_extra,
			 const gchar *save_dir)
{
	g_autofree gchar *path = gmem_hostile_write_dump(name, guest);
	/* the array ends at the first NULL: no --save-dir without a directory */
	const gchar *const args[] = {"dmesg",  "--from-dump",
				     path,     save_dir != NULL ? "--save-dir" : NULL,
				     save_dir, NULL};
	HostileRun *run = hostile_run_spawn(args, env_extra);
	g_autofree gchar *how = NULL;

	hostile_run_wait(run, GMEM_HOSTILE_DEADLINE_MS);
	g_unlink(path);
	how = hostile_run_describe(run);
	print_message("# %s: %s\n", name, how);
	return run;
}

static HostileRun *
gmem_hostile_run_dump(const gchar *name, HostileGuest *guest, const gchar *const *env_extra)
{
	return gmem_hostile_run_dump_to(name, guest, env_extra, NULL);
}

static void
gmem_hostile_dump_case(const gchar *name, HostileGuest *guest)
{
	g_autoptr(HostileRun) run = gmem_hostile_run_dump(name, guest, NULL);
	g_autofree gchar *problem = gmem_hostile_check_run(run);

	if (problem != NULL)
		fail_msg("%s", problem);
}

/* dmesg --from-memory through the fake monitor: the checks above, and the
 * guest runs again afterwards */
static void
gmem_hostile_qmp_case(const gchar *name, HostileGuest *guest)
{
	HostileQmp *qmp = hostile_qmp_start(guest);
	const gchar *const args[] = {"--qmp", hostile_qmp_path(qmp), "--timeout", "5",
				     "dmesg", "--from-memory",	     NULL};
	g_autoptr(HostileRun) run = hostile_run_spawn(args, NULL);
	g_autofree gchar *problem = NULL;
	g_autofree gchar *how = NULL;
	gboolean resumed;
	gboolean running;
	guint stops, conts;

	hostile_run_wait(run, GMEM_HOSTILE_DEADLINE_MS);
	resumed = hostile_qmp_wait_running(qmp, GMEM_HOSTILE_RESUME_MS);
	hostile_qmp_counts(qmp, &stops, &conts, &running);
	how = hostile_run_describe(run);
	print_message("# %s: %s; stop %u, cont %u, %s\n", name, how, stops, conts,
		      running ? "running" : "PAUSED");
	hostile_qmp_stop(qmp);
	problem = gmem_hostile_check_run(run);
	if (!resumed || conts < stops)
		fail_msg("the guest was left paused (stop %u, cont %u)%s%s", stops, conts,
			 problem != NULL ? "; also: " : "", problem != NULL ? problem : "");
	if (problem != NULL)
		fail_msg("%s", problem);
	assert_true(stops > 0); /* the case did pause it */
}

/* ---- crafted guests ---- */

static const guint8 dict_ok[] = "SUBSYSTEM=virtio\0DEVICE=+virtio:virtio1";

/* two sane records and the rest of a 4 KiB log_buf */
static HostileGuest *
gmem_hostile_legacy_sane(void)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint32 next;

	hostile_log_append(buf, "hello from a sane guest", 23, dict_ok, sizeof(dict_ok) - 1, 0, 0);
	hostile_log_append(buf, "second record", 13, NULL, 0, 0, 0);
	next = buf->len;
	g_byte_array_set_size(buf, 4096);
	memset(buf->data + next, 0, 4096 - next);
	return hostile_guest_new_legacy(buf, 0, next);
}

/* a dictionary ending in "DEVICE" or "SUBSYSTEM" right before '=' padding:
 * the key with its '=' lies one byte past the dictionary */
static HostileGuest *
gmem_hostile_legacy_dict_padding(const gchar *key)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint16 text_len = (guint16)(strlen(key) == 6 ? 7 : 6);
	guint32 next;

	hostile_log_append(buf, "hostile", text_len, key, (guint16)strlen(key), '=', 0);
	g_assert(buf->len % 8 == 0 && buf->data[buf->len - 1] == '=');
	hostile_log_append(buf, "after", 5, NULL, 0, 0, 0);
	next = buf->len;
	g_byte_array_set_size(buf, 4096);
	memset(buf->data + next, 0, 4096 - next);
	return hostile_guest_new_legacy(buf, 0, next);
}

static void
test_gmem_hostile_legacy_sane(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_legacy_sane();
	g_autoptr(HostileRun) run = gmem_hostile_run_dump("legacy-sane", guest, NULL);
	g_autofree gchar *problem = gmem_hostile_check_run(run);

	/* the control: the crafted layout is one the reader decodes */
	if (problem != NULL)
		fail_msg("%s", problem);
	assert_int_equal(run->exit_status, 0);
	assert_non_null(strstr(run->out->str, "hello from a sane guest"));
	assert_non_null(strstr(run->out->str, "second record"));
}

/* --save-dir: the log saved as a guest panic's is (host-client/client-panic.c),
 * the guest's terminal escape kept out of the .log, the .log's name printed */
static void
test_gmem_hostile_save_dir(void **state)
{
	static const gchar evil[] = "title \x1b]0;owned\x07 and clear \x1b[2J";
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(HostileGuest) guest = NULL;
	g_autoptr(HostileRun) run = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("test-gmem-hostile-save-XXXXXX", NULL);
	g_autofree gchar *problem = NULL;
	g_autofree gchar *log_path = NULL;
	g_autofree gchar *json_path = NULL;
	g_autofree gchar *log = NULL;
	g_autofree gchar *json = NULL;
	guint32 next;

	hostile_log_append(buf, "hello from a sane guest", 23, dict_ok, sizeof(dict_ok) - 1, 0, 0);
	hostile_log_append(buf, evil, sizeof(evil) - 1, NULL, 0, 0, 0);
	next = buf->len;
	g_byte_array_set_size(buf, 4096);
	memset(buf->data + next, 0, 4096 - next);
	guest = hostile_guest_new_legacy(buf, 0, next);
	run = gmem_hostile_run_dump_to("legacy-save-dir", guest, NULL, dir);
	problem = gmem_hostile_check_run(run);
	if (problem != NULL)
		fail_msg("%s", problem);
	assert_int_equal(run->exit_status, 0);
	/* one line: the .log in @dir */
	assert_true(g_str_has_prefix(run->out->str, dir));
	assert_true(g_str_has_suffix(run->out->str, ".log\n"));
	log_path = g_strndup(run->out->str, run->out->len - 1);
	json_path = g_strdup_printf("%.*s.json", (gint)strlen(log_path) - 4, log_path);
	assert_true(g_file_get_contents(log_path, &log, NULL, NULL));
	assert_true(g_file_get_contents(json_path, &json, NULL, NULL));
	assert_non_null(strstr(log, "] hello from a sane guest\n"));
	assert_non_null(strstr(log, "] title \\x1b]0;owned\\x07 and clear \\x1b[2J\n"));
	assert_null(strchr(log, '\x1b'));
	assert_non_null(strstr(json, "\"message\":\"title \\\\x1b]0;owned"));
	g_unlink(log_path);
	g_unlink(json_path);
	assert_int_equal(g_rmdir(dir), 0);
}

static void
test_gmem_hostile_legacy_dict_device_padding(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_legacy_dict_padding("DEVICE");

	gmem_hostile_dump_case("legacy-dict-device-padding", guest);
}

static void
test_gmem_hostile_legacy_dict_subsystem_padding(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_legacy_dict_padding("SUBSYSTEM");

	gmem_hostile_dump_case("legacy-dict-subsystem-padding", guest);
}

/* the last record's dictionary ends exactly at the end of log_buf: the key
 * comparison must not read past it (seen by ASan; a plain build reads the
 * allocator's slack) */
static void
test_gmem_hostile_legacy_dict_at_buffer_end(void **state)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(HostileGuest) guest = NULL;

	hostile_log_append(buf, "first record", 12, NULL, 0, 0, 0);
	hostile_log_append(buf, "hostile", 7, "SUBSYSTEM", 9, 0, 0);
	g_assert(buf->len == 64);
	/* from the second record; the walk wraps to 0, where it ends */
	guest = hostile_guest_new_legacy(buf, 32, 0);
	gmem_hostile_dump_case("legacy-dict-at-buffer-end", guest);
}

/* the same crash through QMP: the guest was paused when it happened */
static void
test_gmem_hostile_legacy_dict_device_qmp(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_legacy_dict_padding("DEVICE");

	gmem_hostile_qmp_case("legacy-dict-device-padding (QMP)", guest);
}

/* a 64 KiB record, then a zero len (wrap to 0) where the walk started:
 * each pass decodes it again, as many times as the loop bound allows */
static void
test_gmem_hostile_legacy_wrap_amplification(void **state)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autofree guint8 *text = g_malloc(65512);
	g_autoptr(HostileGuest) guest = NULL;

	memset(text, 0x01, 65512);
	hostile_log_append(buf, text, 65512, NULL, 0, 0, 0);
	g_assert(buf->len == 65528);
	g_byte_array_set_size(buf, 320 * 1024);
	memset(buf->data + 65528, 0, buf->len - 65528);
	guest = hostile_guest_new_legacy(buf, 0, 8);
	gmem_hostile_dump_case("legacy-wrap-amplification", guest);
}

/* repeated SUBSYSTEM= entries in one dictionary: the earlier values must
 * not leak. Built without sanitizers, a preloaded counter compares the
 * blocks left at exit with a run where the key appears once; with ASan,
 * LeakSanitizer fails the run (exit status 86). */
static HostileGuest *
gmem_hostile_legacy_dict_repeat(guint repeats)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_autoptr(GByteArray) dict = g_byte_array_new();
	guint32 next;

	for (guint i = 0; i < repeats; i++)
		g_byte_array_append(dict, (const guint8 *)"SUBSYSTEM=leak\0DEVICE=+leak:1",
				    i + 1 < repeats ? 30 : 29);
	hostile_log_append(buf, "dictionary repeats", 18, dict->data, (guint16)dict->len, 0, 0);
	next = buf->len;
	g_byte_array_set_size(buf, next + 4096);
	memset(buf->data + next, 0, 4096);
	return hostile_guest_new_legacy(buf, 0, next);
}

static glong
gmem_hostile_live_blocks(const gchar *name, HostileGuest *guest, const gchar *shim)
{
	g_autofree gchar *dir = g_dir_make_tmp("test-gmem-hostile-XXXXXX", NULL);
	g_autofree gchar *out = g_build_filename(dir, "live", NULL);
	g_autofree gchar *preload = g_strdup_printf("LD_PRELOAD=%s", shim);
	g_autofree gchar *out_env = g_strdup_printf("HOSTILE_ALLOC_OUT=%s", out);
	const gchar *const env[] = {preload, out_env, NULL};
	g_autoptr(HostileRun) run = gmem_hostile_run_dump(name, guest, env);
	g_autofree gchar *problem = gmem_hostile_check_run(run);
	g_autofree gchar *text = NULL;

	if (problem != NULL)
		fail_msg("%s", problem);
	if (!g_file_get_contents(out, &text, NULL, NULL))
		fail_msg("%s: the allocation counter wrote nothing (%s)", name, shim);
	g_unlink(out);
	g_rmdir(dir);
	return strtol(text, NULL, 10);
}

static void
test_gmem_hostile_legacy_dict_repeat_leak(void **state)
{
	g_autoptr(HostileGuest) once = gmem_hostile_legacy_dict_repeat(1);
	g_autoptr(HostileGuest) many = gmem_hostile_legacy_dict_repeat(2000);
	const gchar *shim = g_getenv("HOSTILE_ALLOC_SHIM");
	glong live_once, live_many;

	if (shim == NULL || shim[0] == '\0') {
		g_autoptr(HostileRun) run = gmem_hostile_run_dump("legacy-dict-repeat", many, NULL);
		g_autofree gchar *problem = gmem_hostile_check_run(run);

		/* meson sets one or the other */
		if (g_getenv("HOSTILE_SANITIZED") == NULL)
			fail_msg("neither HOSTILE_ALLOC_SHIM nor HOSTILE_SANITIZED is set");
		if (problem != NULL)
			fail_msg("%s", problem);
		return;
	}
	live_once = gmem_hostile_live_blocks("legacy-dict-once", once, shim);
	live_many = gmem_hostile_live_blocks("legacy-dict-repeat", many, shim);
	print_message("# blocks live at exit: %ld with one SUBSYSTEM=, %ld with 2000\n", live_once,
		      live_many);
	if (live_many - live_once > 100)
		fail_msg(
			"%ld more heap blocks at exit when a dictionary repeats its keys 2000 times: a leak "
			"per repetition",
			live_many - live_once);
}

/* ---- the lockless ring ---- */

typedef struct {
	HostileRing ring;
	guint8 *descs;
	guint8 *infos;
	guint8 *data;
} GmemHostileRing;

static void
gmem_hostile_ring_init(GmemHostileRing *r, guint count_bits, guint size_bits)
{
	guint64 count = G_GUINT64_CONSTANT(1) << count_bits;

	memset(r, 0, sizeof(*r));
	r->ring.count_bits = count_bits;
	r->ring.size_bits = size_bits;
	r->ring.desc_size = 24;
	r->ring.info_size = 88;
	r->descs = g_malloc0(count * 24);
	r->infos = g_malloc0(count * 88);
	r->data = g_malloc0(G_GUINT64_CONSTANT(1) << size_bits);
	r->ring.descs = r->descs;
	r->ring.infos = r->infos;
	r->ring.data = r->data;
}

static void
gmem_hostile_ring_clear(GmemHostileRing *r)
{
	g_free(r->descs);
	g_free(r->infos);
	g_free(r->data);
}

static void
gmem_hostile_put_u64(guint8 *p, guint64 v)
{
	v = GUINT64_TO_LE(v);
	memcpy(p, &v, 8);
}

/* descriptor @id (finalized) with its text block at [begin, next), and its info */
static void
gmem_hostile_ring_desc(GmemHostileRing *r, guint64 id, guint64 begin, guint64 next,
		       guint16 text_len)
{
	guint64 count = G_GUINT64_CONSTANT(1) << r->ring.count_bits;
	guint8 *d = r->descs + (id & (count - 1)) * 24;
	guint8 *info = r->infos + (id & (count - 1)) * 88;
	guint16 len = GUINT16_TO_LE(text_len);

	gmem_hostile_put_u64(d, (G_GUINT64_CONSTANT(2) << 62) | id);
	gmem_hostile_put_u64(d + 8, begin);
	gmem_hostile_put_u64(d + 16, next);
	gmem_hostile_put_u64(info, id);						/* seq */
	gmem_hostile_put_u64(info + 8, G_GUINT64_CONSTANT(1000000) * (id + 1)); /* ts_nsec */
	memcpy(info + 16, &len, 2);
	info[19] = (6 << 5) | 2;
}

static void
test_gmem_hostile_lockless_sane(void **state)
{
	static const gchar *const texts[] = {"hello from a sane ring", "second record", "third"};
	GmemHostileRing r;
	g_autoptr(HostileGuest) guest = NULL;
	g_autoptr(HostileRun) run = NULL;
	g_autofree gchar *problem = NULL;
	guint64 lpos = 0;

	gmem_hostile_ring_init(&r, 4, 12);
	for (guint id = 0; id < G_N_ELEMENTS(texts); id++) {
		gsize len = strlen(texts[id]);
		guint64 size = (8 + len + 7) & ~G_GUINT64_CONSTANT(7);

		gmem_hostile_put_u64(r.data + lpos, id);
		memcpy(r.data + lpos + 8, texts[id], len);
		gmem_hostile_ring_desc(&r, id, lpos, lpos + size, (guint16)len);
		lpos += size;
	}
	r.ring.tail_id = 0;
	r.ring.head_id = G_N_ELEMENTS(texts) - 1;
	guest = hostile_guest_new_lockless(&r.ring);
	gmem_hostile_ring_clear(&r);
	run = gmem_hostile_run_dump("lockless-sane", guest, NULL);
	problem = gmem_hostile_check_run(run);
	if (problem != NULL)
		fail_msg("%s", problem);
	assert_int_equal(run->exit_status, 0);
	assert_non_null(strstr(run->out->str, "hello from a sane ring"));
	assert_non_null(strstr(run->out->str, "third"));
}

/* 2^24 descriptors of SIZE(prb_desc)=4096: 64 GiB asked of g_malloc */
static HostileGuest *
gmem_hostile_lockless_huge(void)
{
	HostileRing ring = {0};

	ring.count_bits = 24;
	ring.size_bits = 12;
	ring.desc_size = 4096;
	ring.info_size = 4096;
	return hostile_guest_new_lockless(&ring);
}

static void
test_gmem_hostile_lockless_huge_descs(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_lockless_huge();

	gmem_hostile_dump_case("lockless-huge-descs", guest);
}

static void
test_gmem_hostile_lockless_huge_descs_qmp(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_lockless_huge();

	gmem_hostile_qmp_case("lockless-huge-descs (QMP)", guest);
}

/* 2048 descriptors whose blocks start 8 bytes apart in a 128 KiB text ring,
 * each 64 KiB long: 128 MiB of text out of 128 KiB */
static void
test_gmem_hostile_lockless_overlap_amplification(void **state)
{
	GmemHostileRing r;
	g_autoptr(HostileGuest) guest = NULL;

	gmem_hostile_ring_init(&r, 11, 17);
	memset(r.data, 0x01, 1u << 17);
	for (guint64 id = 0; id < 2048; id++) {
		gmem_hostile_put_u64(r.data + 8 * id, id);
		gmem_hostile_ring_desc(&r, id, 8 * id, 8 * id + 65544, 65535);
	}
	r.ring.tail_id = 0;
	r.ring.head_id = 2047;
	guest = hostile_guest_new_lockless(&r.ring);
	gmem_hostile_ring_clear(&r);
	gmem_hostile_dump_case("lockless-overlap-amplification", guest);
}

/* ---- the client killed while the guest is paused ---- */

static void
test_gmem_hostile_sigkill_during_read(void **state)
{
	g_autoptr(HostileGuest) guest = gmem_hostile_legacy_sane();
	HostileQmp *qmp = hostile_qmp_start(guest);
	const gchar *const args[] = {"--qmp", hostile_qmp_path(qmp), "--timeout", "5",
				     "dmesg", "--from-memory",	     NULL};
	g_autoptr(HostileRun) run = hostile_run_spawn(args, NULL);
	gboolean resumed;
	gboolean running;
	guint stops, conts;
	gint64 killed_at;
	g_autofree gchar *how = NULL;

	hostile_qmp_kill_on_pmemsave(qmp, run->pid);
	hostile_run_wait(run, GMEM_HOSTILE_DEADLINE_MS);
	killed_at = hostile_qmp_killed_at(qmp);
	resumed = hostile_qmp_wait_running(qmp, GMEM_HOSTILE_RESUME_MS);
	hostile_qmp_counts(qmp, &stops, &conts, &running);
	how = hostile_run_describe(run);
	print_message("# %s; stop %u, cont %u, %s\n", how, stops, conts,
		      running ? "running" : "PAUSED");
	hostile_qmp_stop(qmp);
	if (killed_at == 0)
		fail_msg("the client read no memory through pmemsave: the case did not happen");
	assert_int_equal(run->term_signal, SIGKILL);
	assert_true(stops > 0);
	if (!resumed)
		fail_msg(
			"the guest stayed paused %.1f s after the client was SIGKILLed (stop %u, cont %u)",
			(g_get_monotonic_time() - killed_at) / 1e6, stops, conts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmem_hostile_legacy_sane),
		cmocka_unit_test(test_gmem_hostile_lockless_sane),
		cmocka_unit_test(test_gmem_hostile_save_dir),
		cmocka_unit_test(test_gmem_hostile_legacy_dict_device_padding),
		cmocka_unit_test(test_gmem_hostile_legacy_dict_subsystem_padding),
		cmocka_unit_test(test_gmem_hostile_legacy_dict_at_buffer_end),
		cmocka_unit_test(test_gmem_hostile_legacy_dict_device_qmp),
		cmocka_unit_test(test_gmem_hostile_lockless_huge_descs),
		cmocka_unit_test(test_gmem_hostile_lockless_huge_descs_qmp),
		cmocka_unit_test(test_gmem_hostile_legacy_wrap_amplification),
		cmocka_unit_test(test_gmem_hostile_lockless_overlap_amplification),
		cmocka_unit_test(test_gmem_hostile_legacy_dict_repeat_leak),
		cmocka_unit_test(test_gmem_hostile_sigkill_during_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
