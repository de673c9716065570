/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "guest-fixture.h"
#include "qga-codec.h"
#include "qga-dispatch.h"

GuestFixture *
guest_fixture_new(const gchar *root)
{
	GuestFixture *f = g_new0(GuestFixture, 1);

	f->statedir = g_dir_make_tmp("qgatrace-unit-XXXXXX", NULL);
	f->config = qga_config_new();
	f->state = qga_state_new(f->statedir);
	f->paths = qga_paths_new(root);
	f->ctx.config = f->config;
	f->ctx.state = f->state;
	f->ctx.paths = f->paths;
	return f;
}

void
guest_fixture_free(GuestFixture *f)
{
	g_autofree gchar *marker = g_build_filename(f->statedir, "qgatrace.frozen", NULL);

	g_unlink(marker);
	g_rmdir(f->statedir);
	g_free(f->statedir);
	qga_config_free(f->config);
	qga_state_free(f->state);
	qga_paths_free(f->paths);
	qga_kmsg_reader_free(f->ctx.kmsg_reader);
	g_clear_pointer(&f->ctx.frozen, g_ptr_array_unref);
	g_free(f);
}

JsonNode *
guest_fixture_dispatch(GuestFixture *f, const gchar *request, gboolean *delimited, gsize *len)
{
	g_autoptr(QgaDecoder) decoder = qga_decoder_new(0);
	g_autoptr(JsonNode) message = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reply = NULL;
	JsonNode *value = NULL;
	gsize reply_len = 0;
	gboolean led_by_delimiter;

	qga_decoder_feed(decoder, (const guint8 *)request, strlen(request));
	assert_true(qga_decoder_pop(decoder, &message, &error));
	reply = qga_dispatch_message(&f->ctx, message, &reply_len);
	assert_true(reply_len > 0);
	assert_int_equal(reply[reply_len - 1], '\n');
	led_by_delimiter = (guint8)reply[0] == QGA_SYNC_DELIMITER;
	for (gsize i = led_by_delimiter ? 1 : 0; i < reply_len; i++)
		assert_true((guchar)reply[i] < 0x80);
	if (delimited != NULL)
		*delimited = led_by_delimiter;
	if (len != NULL)
		*len = reply_len;
	qga_decoder_feed(decoder, (const guint8 *)reply, reply_len);
	g_clear_error(&error);
	/* a leading 0xff only resets the decoder */
	while (!qga_decoder_pop(decoder, &value, &error)) {
		assert_non_null(error);
		g_clear_error(&error);
	}
	return value;
}

JsonObject *
guest_fixture_return_object(JsonNode *reply)
{
	JsonObject *ret = json_object_get_object_member(json_node_get_object(reply), "return");

	if (ret == NULL)
		fail_msg("no return: %s", json_to_string(reply, FALSE));
	return ret;
}

void
guest_fixture_assert_error(JsonNode *reply, const gchar *klass, const gchar *desc)
{
	JsonObject *err = json_object_get_object_member(json_node_get_object(reply), "error");

	assert_non_null(err);
	assert_string_equal(json_object_get_string_member(err, "class"), klass);
	assert_string_equal(json_object_get_string_member(err, "desc"), desc);
}

gboolean
guest_fixture_info_enabled(JsonNode *info, const gchar *name)
{
	JsonArray *cmds = json_object_get_array_member(guest_fixture_return_object(info),
						       "supported_commands");

	for (guint i = 0; i < json_array_get_length(cmds); i++) {
		JsonObject *cmd = json_array_get_object_element(cmds, i);
		if (g_strcmp0(json_object_get_string_member(cmd, "name"), name) == 0)
			return json_object_get_boolean_member(cmd, "enabled");
	}
	fail_msg("%s is not in guest-info", name);
	return FALSE;
}
