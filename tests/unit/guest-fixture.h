/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A command context for guest/ unit tests, and the wire round trip
 * through the real decoder and dispatcher. Fixture roots hold mount points
 * that do not exist on the host: nothing here can freeze it. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "qga-command.h"
#include "qga-context.h"

typedef struct {
	gchar *statedir;
	QgaConfig *config;
	QgaState *state;
	QgaPaths *paths;
	QgaContext ctx;
} GuestFixture;

/* cmocka setup/teardown: a fresh fixture rooted at @root (a fixture tree) */
GuestFixture *guest_fixture_new(const gchar *root);
void guest_fixture_free(GuestFixture *f);

/**
 * guest_fixture_dispatch:
 * @delimited: (out) (optional): whether the reply was led by 0xff
 * @len: (out) (optional): the reply's encoded length
 * Dispatches @request and checks the reply is 7-bit ASCII ending in \n.
 * Returns: (transfer full): the decoded reply
 */
JsonNode *guest_fixture_dispatch(GuestFixture *f, const gchar *request, gboolean *delimited,
				 gsize *len);

/* Returns: (transfer none): the reply's "return" object; fails the test if none */
JsonObject *guest_fixture_return_object(JsonNode *reply);

/* fails the test unless @reply is the error @klass with exactly @desc */
void guest_fixture_assert_error(JsonNode *reply, const gchar *klass, const gchar *desc);

/* @name's "enabled" in a guest-info reply; fails the test if it is not listed */
gboolean guest_fixture_info_enabled(JsonNode *info, const gchar *name);
