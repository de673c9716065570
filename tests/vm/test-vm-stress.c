/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 10,000 random requests, valid and invalid, from one host to qgatrace-agent
 * in a real QEMU guest; in the ASan build (meson test --suite vm-asan) the
 * agent runs under AddressSanitizer, UBSan and LeakSanitizer there.
 *
 * Each request is followed by a guest-sync with an id of its own (after a
 * 0xff where the request may have left the parser mid-message), so every
 * reply can be counted against the request it answers: one reply, or none
 * for whitespace, or at least one error for bytes that are not a request
 * (the 0xff itself is one, "stray", as in qemu-ga: qobject/json-lexer.c).
 * QGATRACE_STRESS_SEED replays a run; the seed is printed. */
#include "config.h"

#include "qga-error.h"
#include "vm-test.h"

#define DATA	     "/mnt/data"
#define N_REQUESTS   10000
#define SYNC_ID_BASE G_GINT64_CONSTANT(1000000000000)
/* a small limit keeps oversized messages cheap to send */
#define MAX_MESSAGE 65536
/* RSS is sampled every RSS_EVERY requests. Growth over the second half is
 * the lowest of the last RSS_WINDOW samples minus the highest of the
 * RSS_WINDOW up to the half: ASan's allocator moves RSS by some MiB either
 * way as its quarantine turns over and it returns pages (its quarantine is
 * kept at 2 MiB below), and this takes that noise out, while a leak of
 * 1 KiB a request still adds 3 MiB. glibc's mmap threshold is pinned (below)
 * so that its heap does not step up with the run's largest message. */
#define RSS_GROWTH_MAX 2048
#define RSS_EVERY      1000
#define RSS_WINDOW     3

/* what a request may be answered with */
typedef enum {
	EXPECT_ONE,	  /* exactly one reply, ours by id */
	EXPECT_ONE_ERROR, /* exactly one error reply */
	EXPECT_ERRORS,	  /* at least one reply, errors only */
	EXPECT_NONE,	  /* nothing at all */
} Expect;

typedef struct {
	GString *bytes;
	Expect expect;
	gboolean resync;  /* needs a 0xff before the sync */
	gint64 sync_back; /* guest-sync-delimited: the id it must return */
	gchar *id;	  /* the request's "id", if any */
} Request;

/* the commands random arguments go to: freezing is done in pairs apart */
static const gchar *const commands[] = {
	"guest-sync",	       "guest-ping",	     "guest-info",	  "guest-fsfreeze-status",
	"guest-fsfreeze-thaw", "guest-get-fsinfo",   "guest-get-time",	  "guest-get-host-name",
	"guest-get-osinfo",    "guest-trace-status", "guest-trace-fetch", "guest-dmesg",
};

static const gchar *const arg_names[] = {
	"id",	       "session", "since-seq",	 "level", "max-bytes",
	"max-records", "tail",	  "mountpoints", "x",
};

static void
append_random_string(GRand *rand, GString *out, guint max_len)
{
	static const gchar *const pieces[] = {"a",    "Z",   "0",	" ",	   "\\\"",
					      "\\\\", "\\n", "\\u00e9", "\\ud800", "\\u0000",
					      "/",    ".",   "..",	"-",	   "\xc3\xa9"};
	guint len = g_rand_int_range(rand, 0, max_len + 1);

	g_string_append_c(out, '"');
	for (guint i = 0; i < len; i++)
		g_string_append(out, pieces[g_rand_int_range(rand, 0, G_N_ELEMENTS(pieces))]);
	g_string_append_c(out, '"');
}

static void
append_random_value(GRand *rand, GString *out, guint depth)
{
	switch (g_rand_int_range(rand, 0, depth < 3 ? 8 : 6)) {
	case 0:
		g_string_append_printf(out, "%" G_GINT64_FORMAT,
				       (gint64)g_rand_int(rand) - G_MAXINT32);
		break;
	case 1:
		g_string_append(out, g_rand_boolean(rand) ? "9223372036854775807" : "-1e308");
		break;
	case 2:
		append_random_string(rand, out, 12);
		break;
	case 3:
		g_string_append(out, g_rand_boolean(rand) ? "true" : "null");
		break;
	case 4:
		g_string_append(out, "[\"" DATA "\",\"/\"]");
		break;
	case 5:
		g_string_append_printf(out, "%u", g_rand_int_range(rand, 0, 100));
		break;
	case 6:
		g_string_append_c(out, '[');
		append_random_value(rand, out, depth + 1);
		g_string_append_c(out, ']');
		break;
	default:
		g_string_append(out, "{\"k\":");
		append_random_value(rand, out, depth + 1);
		g_string_append_c(out, '}');
		break;
	}
}

/* {"execute":NAME[,"arguments":{...}],"id":ID} with random arguments */
static void
append_request(GRand *rand, GString *out, const gchar *name, const gchar *id)
{
	g_string_append_printf(out, "{\"execute\":\"%s\"", name);
	switch (g_rand_int_range(rand, 0, 4)) {
	case 0:
		break;
	case 1:
		/* arguments that are not an object */
		g_string_append(out, ",\"arguments\":");
		append_random_value(rand, out, 2);
		break;
	default: {
		guint n = g_rand_int_range(rand, 0, 4);

		g_string_append(out, ",\"arguments\":{");
		for (guint i = 0; i < n; i++) {
			g_string_append_printf(
				out, "%s\"%s\":", i > 0 ? "," : "",
				arg_names[g_rand_int_range(rand, 0, G_N_ELEMENTS(arg_names))]);
			append_random_value(rand, out, 0);
		}
		g_string_append_c(out, '}');
		break;
	}
	}
	g_string_append_printf(out, ",\"id\":\"%s\"}", id);
}

static void
request_clear(Request *req)
{
	g_string_free(req->bytes, TRUE);
	g_free(req->id);
}

static Request
request_random(GRand *rand, guint n)
{
	Request req = {g_string_new(NULL), EXPECT_ONE, FALSE, -1, g_strdup_printf("r%u", n)};
	guint kind = g_rand_int_range(rand, 0, 100);

	if (kind < 55) {
		/* a known command, random arguments */
		append_request(rand, req.bytes,
			       commands[g_rand_int_range(rand, 0, G_N_ELEMENTS(commands))], req.id);
	} else if (kind < 63) {
		append_request(rand, req.bytes,
			       g_rand_boolean(rand) ? "guest-nonexistent" : "guest-exec", req.id);
		req.expect = EXPECT_ONE_ERROR;
	} else if (kind < 73) {
		/* a request cut short, then 0xff */
		g_autoptr(GString) whole = g_string_new(NULL);

		append_request(rand, whole,
			       commands[g_rand_int_range(rand, 0, G_N_ELEMENTS(commands))], req.id);
		g_string_append_len(req.bytes, whole->str,
				    g_rand_int_range(rand, 1, whole->len - 1));
		req.expect = EXPECT_ERRORS;
		req.resync = TRUE;
	} else if (kind < 80) {
		/* bytes that are no JSON, starting with one that cannot begin any */
		guint len = g_rand_int_range(rand, 1, 64);

		g_string_append_c(req.bytes, '}');
		for (guint i = 0; i < len; i++)
			g_string_append_c(req.bytes, (gchar)g_rand_int_range(rand, 1, 0xfe));
		req.expect = EXPECT_ERRORS;
		req.resync = TRUE;
	} else if (kind < 82) {
		/* a lone reset: one "stray" error */
		g_string_append_c(req.bytes, (gchar)0xff);
		req.expect = EXPECT_ONE_ERROR;
	} else if (kind < 84) {
		/* whitespace between messages is no message */
		g_string_append(req.bytes, " \n\r\t\n ");
		req.expect = EXPECT_NONE;
	} else if (kind < 92) {
		req.sync_back = g_rand_int_range(rand, 0, G_MAXINT32);
		g_string_append_printf(
			req.bytes,
			"{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%" G_GINT64_FORMAT
			"},\"id\":\"%s\"}",
			req.sync_back, req.id);
	} else if (kind < 94) {
		/* one byte over the limit at least */
		g_string_append_printf(
			req.bytes, "{\"execute\":\"guest-ping\",\"id\":\"%s\",\"x\":\"", req.id);
		for (guint i = 0; i < MAX_MESSAGE; i++)
			g_string_append_c(req.bytes, 'o');
		g_string_append(req.bytes, "\"}");
		req.expect = EXPECT_ONE_ERROR;
	} else {
		/* well-formed JSON, not a request */
		append_random_value(rand, req.bytes, 0);
		if (req.bytes->str[0] == '{' || req.bytes->str[0] == '[') {
			req.expect = EXPECT_ONE_ERROR;
		} else {
			/* a bare scalar may need the next token to end: 0xff ends it */
			req.expect = EXPECT_ERRORS;
			req.resync = TRUE;
		}
	}
	return req;
}

/* sends @data then a guest-sync with @sync_id; Returns: the replies before
 * the sync's, and in @n_delimiters the 0xff bytes among them (which our
 * decoder reports as errors) */
static GPtrArray *
exchange(QgaClient *client, const gchar *data, gsize len, gboolean resync, gint64 sync_id,
	 guint *n_delimiters)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sync = g_strdup_printf(
		"%s{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%" G_GINT64_FORMAT "}}",
		resync ? "\xff" : "", sync_id);
	GPtrArray *replies = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);

	*n_delimiters = 0;
	if (!qga_client_send_raw(client, data, len, &error) ||
	    !qga_client_send_raw(client, sync, strlen(sync), &error))
		fail_msg("sending: %s", error->message);
	for (;;) {
		JsonNode *reply = qga_client_recv(client, &error);
		JsonObject *obj;
		JsonNode *ret;

		if (reply == NULL && g_error_matches(error, QGA_ERROR, QGA_ERROR_GENERIC) &&
		    strstr(error->message, "stray '\xef\xbf\xbd'") != NULL) {
			(*n_delimiters)++;
			g_clear_error(&error);
			continue;
		}
		if (reply == NULL)
			fail_msg("waiting for the reply to sync %" G_GINT64_FORMAT ": %s", sync_id,
				 error->message);
		if (!JSON_NODE_HOLDS_OBJECT(reply))
			fail_msg("a reply that is not an object");
		obj = json_node_get_object(reply);
		ret = json_object_get_member(obj, "return");
		if (ret != NULL && JSON_NODE_HOLDS_VALUE(ret) &&
		    json_node_get_value_type(ret) == G_TYPE_INT64 &&
		    json_node_get_int(ret) == sync_id) {
			json_node_unref(reply);
			return replies;
		}
		g_ptr_array_add(replies, reply);
	}
}

static gboolean
is_error(JsonNode *reply)
{
	return json_object_has_member(json_node_get_object(reply), "error");
}

static void
check_replies(const Request *req, GPtrArray *replies, guint n_delimiters, guint n)
{
	JsonObject *obj =
		replies->len > 0 ? json_node_get_object(g_ptr_array_index(replies, 0)) : NULL;
	gboolean ok;

	switch (req->expect) {
	case EXPECT_ONE:
		/* ours by id; a request the parser refused (a duplicate key) has none */
		ok = replies->len == 1 &&
		     (g_strcmp0(json_object_get_string_member_with_default(obj, "id", NULL),
				req->id) == 0 ||
		      (is_error(g_ptr_array_index(replies, 0)) &&
		       !json_object_has_member(obj, "id")));
		/* guest-sync-delimited's reply, and only it, comes after a 0xff */
		ok = ok && n_delimiters == (req->sync_back >= 0 ? 1 : 0);
		if (ok && req->sync_back >= 0)
			ok = json_object_get_int_member_with_default(obj, "return", -1) ==
			     req->sync_back;
		break;
	case EXPECT_ONE_ERROR:
		ok = replies->len == 1 && is_error(g_ptr_array_index(replies, 0));
		break;
	case EXPECT_ERRORS:
		ok = replies->len >= 1;
		for (guint i = 0; ok && i < replies->len; i++)
			ok = is_error(g_ptr_array_index(replies, i));
		break;
	default:
		ok = replies->len == 0;
		break;
	}
	ok = ok && (req->expect == EXPECT_ONE || n_delimiters == 0);
	if (!ok) {
		g_autofree gchar *first =
			obj != NULL ? json_to_string(g_ptr_array_index(replies, 0), FALSE) : NULL;

		fail_msg("request %u (%.200s): %u replies and %u 0xff, first %s", n,
			 req->bytes->str, replies->len, n_delimiters,
			 first != NULL ? first : "(none)");
	}
}

static guint64
agent_rss_kb(void)
{
	g_autofree gchar *out =
		vm_test_sh("awk '/^VmRSS/ {print $2}' /proc/$(pidof qgatrace-agent)/status");

	return g_ascii_strtoull(out, NULL, 10);
}

/* a freeze of /mnt/data and its thaw, each answered with 1 */
static void
freeze_thaw_pair(QgaClient *client)
{
	assert_int_equal(vm_test_execute_int(client, "guest-fsfreeze-freeze-list",
					     "{\"mountpoints\":[\"" DATA "\"]}"),
			 1);
	assert_int_equal(vm_test_execute_int(client, "guest-fsfreeze-thaw", NULL), 1);
}

static void
test_vm_stress_random_requests(void **state)
{
	const gchar *seed_env = g_getenv("QGATRACE_STRESS_SEED");
	guint32 seed =
		seed_env != NULL ? (guint32)g_ascii_strtoull(seed_env, NULL, 10) : g_random_int();
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	g_autofree gchar *pid = NULL;
	g_autofree gchar *pid_end = NULL;
	g_autofree gchar *sanitized = NULL;
	g_autofree gchar *reports = NULL;
	g_autoptr(JsonNode) frozen = NULL;
	g_autoptr(GString) rss = g_string_new(NULL);
	guint64 rss_half = 0, rss_end = G_MAXUINT64;
	guint n_pairs = 0;
	QgaClient *client;

	print_message("seed %u (QGATRACE_STRESS_SEED=%u replays it)\n", seed, seed);
	g_free(vm_test_sh("printf '[general]\\nmax-message-size=" G_STRINGIFY(MAX_MESSAGE) "\\n' > /run/stress.conf; rm -f /run/stress-*san*"));
	/* sanitizer reports go to files, and the first one stops the agent */
	vm_test_restart_agent_env(
		"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 "
		"ASAN_OPTIONS=log_path=/run/stress-asan:halt_on_error=1:detect_leaks=1:"
		"quarantine_size_mb=2 "
		"UBSAN_OPTIONS=log_path=/run/stress-ubsan:halt_on_error=1:print_stacktrace=1",
		"-c /run/stress.conf");
	pid = vm_test_sh("pidof qgatrace-agent");
	sanitized = vm_test_sh(
		"grep -q libasan /proc/$(pidof qgatrace-agent)/maps && echo ASan+UBSan || echo none");
	print_message("agent %s, sanitizers: %s\n", pid, sanitized);

	client = vm_test_connect("qgatrace", TRUE);
	for (guint n = 0; n < N_REQUESTS; n++) {
		Request req = request_random(rand, n);
		guint n_delimiters;
		g_autoptr(GPtrArray) replies =
			exchange(client, req.bytes->str, req.bytes->len, req.resync,
				 SYNC_ID_BASE + n, &n_delimiters);

		check_replies(&req, replies, n_delimiters, n);
		request_clear(&req);
		/* one in 200: a freeze and thaw of the data disk */
		if (g_rand_int_range(rand, 0, 200) == 0) {
			freeze_thaw_pair(client);
			n_pairs++;
		}
		if ((n + 1) % RSS_EVERY == 0) {
			guint64 kb = agent_rss_kb();

			g_string_append_printf(rss, " %" G_GUINT64_FORMAT, kb);
			/* the window up to the half, and the last one */
			if (n + 1 > N_REQUESTS / 2 - RSS_WINDOW * RSS_EVERY &&
			    n + 1 <= N_REQUESTS / 2)
				rss_half = MAX(rss_half, kb);
			if (n + 1 > N_REQUESTS - RSS_WINDOW * RSS_EVERY)
				rss_end = MIN(rss_end, kb);
		}
	}
	print_message("%u requests, %u freeze/thaw pairs; agent RSS (KiB) every %u requests:%s; "
		      "highest before the half %" G_GUINT64_FORMAT
		      ", lowest at the end %" G_GUINT64_FORMAT "\n",
		      N_REQUESTS, n_pairs, RSS_EVERY, rss->str, rss_half, rss_end);
	assert_true(rss_end <= rss_half + RSS_GROWTH_MAX);

	/* the same agent, not left frozen */
	pid_end = vm_test_sh("pidof qgatrace-agent");
	assert_string_equal(pid_end, pid);
	frozen = vm_test_execute_ok(client, "guest-fsfreeze-status", NULL);
	assert_string_equal(json_node_get_string(frozen), "thawed");
	assert_int_not_equal(vm_test_sh_status("fsfreeze --unfreeze " DATA " 2>/dev/null"), 0);
	vm_test_close(client);

	/* LeakSanitizer reports at exit */
	g_free(vm_test_sh(
		"kill -TERM $(pidof qgatrace-agent); "
		"i=0; while pidof qgatrace-agent >/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
		"! pidof qgatrace-agent"));
	reports = vm_test_sh(
		"for f in /run/stress-*san.*; do [ -e $f ] && echo \"== $f\" && head -c 20000 $f; "
		"done; true");
	if (reports[0] != '\0')
		fail_msg("sanitizer reports in the guest:\n%s", reports);
	vm_test_restart_agent(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_stress_random_requests),
	};

	return vm_test_run(tests);
}
