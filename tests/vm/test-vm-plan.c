/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guest-fsfreeze-plan and `qgatrace freeze --plan` in a real QEMU guest,
 * on the loop-on-data layout: an ext2 image on the data disk, looped and
 * mounted at /mnt/loop, and /mnt/data bound at /mnt/bind. The plan touches
 * nothing, and the freeze that follows takes the plan's order. */
#include "config.h"

#include "vm-run.h"
#include "vm-test.h"

#define DATA "/mnt/data"
#define LOOP "/mnt/loop"
#define BIND "/mnt/bind"

static void
setup_loop_on_data(void)
{
	if (vm_test_sh_status("grep -qw loop /proc/modules || test -e /sys/module/loop") != 0)
		fail_msg("the guest kernel has no loop driver (tests/vm/qgatrace-vm loads 'loop')");
	g_free(vm_test_sh("mkdir -p " LOOP " " BIND " && truncate -s 16M " DATA
			  "/loop.img && b=$(losetup -f) && losetup $b " DATA
			  "/loop.img && mke2fs -q $b && mount $b " LOOP " && mount --bind " DATA
			  " " BIND));
}

/* the index of @mountpoint in the plan's array @name, or -1 */
static gint
plan_index(JsonObject *plan, const gchar *name, const gchar *mountpoint)
{
	JsonArray *array = json_object_get_array_member(plan, name);

	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonObject *entry = json_array_get_object_element(array, i);

		if (g_strcmp0(json_object_get_string_member(entry, "mountpoint"), mountpoint) == 0)
			return (gint)i;
	}
	return -1;
}

static JsonObject *
plan_skip(JsonObject *plan, const gchar *mountpoint)
{
	gint i = plan_index(plan, "skip", mountpoint);

	assert_true(i >= 0);
	return json_array_get_object_element(json_object_get_array_member(plan, "skip"), (guint)i);
}

/* the kernel's word: FITHAW on a thawed filesystem is EINVAL, so busybox
 * fsfreeze --unfreeze fails exactly when it was not frozen */
static void
assert_kernel_thawed(const gchar *mountpoint)
{
	g_autofree gchar *cmd = g_strdup_printf("fsfreeze --unfreeze %s 2>/dev/null", mountpoint);

	assert_int_not_equal(vm_test_sh_status(cmd), 0);
}

/* the mount points of the session's FIFREEZE calls, in the order made */
static gchar *
session_freeze_order(JsonObject *session)
{
	JsonArray *ioctls = json_object_get_array_member(session, "ioctls");
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) names = NULL;

	for (guint i = 0; i < json_array_get_length(ioctls); i++) {
		JsonObject *ioctl = json_array_get_object_element(ioctls, i);

		if (g_strcmp0(json_object_get_string_member(ioctl, "kind"), "freeze") == 0)
			g_strv_builder_add(builder,
					   json_object_get_string_member(ioctl, "mountpoint"));
	}
	names = g_strv_builder_end(builder);
	return g_strjoinv(" ", names);
}

static gchar *
plan_freeze_order(JsonObject *plan)
{
	JsonArray *freeze = json_object_get_array_member(plan, "freeze");
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) names = NULL;

	for (guint i = 0; i < json_array_get_length(freeze); i++)
		g_strv_builder_add(builder,
				   json_object_get_string_member(
					   json_array_get_object_element(freeze, i), "mountpoint"));
	names = g_strv_builder_end(builder);
	return g_strjoinv(" ", names);
}

static void
test_vm_plan_loop_on_data(void **state)
{
	QgaClient *agent;
	g_autoptr(JsonNode) ret = NULL;
	g_autoptr(JsonNode) session = NULL;
	g_autoptr(JsonNode) status = NULL;
	g_autofree gchar *planned = NULL;
	g_autofree gchar *done = NULL;
	JsonObject *plan;
	JsonObject *bind;
	JsonObject *dep;
	gint64 frozen;

	setup_loop_on_data();
	agent = vm_test_connect("qgatrace", TRUE);
	ret = vm_test_execute_ok(agent, "guest-fsfreeze-plan", NULL);
	plan = json_node_get_object(ret);
	planned = plan_freeze_order(plan);
	print_message("plan: %s\n", planned);
	assert_true(plan_index(plan, "freeze", LOOP) >= 0);
	assert_true(plan_index(plan, "freeze", LOOP) < plan_index(plan, "freeze", DATA));
	assert_int_equal(plan_index(plan, "freeze", BIND), -1);
	bind = plan_skip(plan, BIND);
	assert_string_equal(json_object_get_string_member(bind, "reason"), "duplicate");
	assert_string_equal(json_object_get_string_member(bind, "same-as"), DATA);
	assert_string_equal(json_object_get_string_member(plan_skip(plan, "/proc"), "reason"),
			    "no-block-device");
	assert_int_equal(json_array_get_length(json_object_get_array_member(plan, "dependencies")),
			 1);
	dep = json_array_get_object_element(json_object_get_array_member(plan, "dependencies"), 0);
	assert_string_equal(json_object_get_string_member(dep, "mountpoint"), LOOP);
	assert_string_equal(json_object_get_string_member(dep, "before"), DATA);
	assert_string_equal(json_object_get_string_member(dep, "backing-file"), DATA "/loop.img");

	/* nothing frozen, by the agent's word and the kernel's */
	status = vm_test_execute_ok(agent, "guest-fsfreeze-status", NULL);
	assert_string_equal(json_node_get_string(status), "thawed");
	assert_kernel_thawed(LOOP);
	assert_kernel_thawed(DATA);

	/* the freeze that follows: as many as planned, in the plan's order */
	frozen = vm_test_execute_int(agent, "guest-fsfreeze-freeze", NULL);
	assert_int_equal(vm_test_execute_int(agent, "guest-fsfreeze-thaw", NULL), frozen);
	assert_int_equal(frozen,
			 json_array_get_length(json_object_get_array_member(plan, "freeze")));
	session = vm_test_execute_ok(agent, "guest-trace-fetch", NULL);
	done = session_freeze_order(json_node_get_object(session));
	assert_string_equal(done, planned);
	assert_true(json_object_get_boolean_member(json_node_get_object(session), "verified"));
}

/* the host client's table and --json, on the same layout (set up above) */
static void
test_vm_plan_client(void **state)
{
	const gchar *sock = vm_guest_socket(vm_test_guest(), "qgatrace");
	g_autoptr(VmRun) text = NULL;
	g_autoptr(VmRun) json = NULL;
	g_autoptr(JsonObject) plan = NULL;

	text = vm_run_client("--agent", sock, "freeze", "--plan", NULL);
	assert_int_equal(text->status, 0);
	print_message("%s", text->out);
	assert_non_null(strstr(text->out, "would freeze, in this order:"));
	assert_non_null(strstr(text->out, "order: " LOOP " before " DATA));
	assert_non_null(strstr(text->out, BIND));
	json = vm_run_client("--agent", sock, "--json", "freeze", "--plan", "-m", DATA, "-m", LOOP,
			     NULL);
	assert_int_equal(json->status, 0);
	plan = vm_run_json(json);
	assert_int_equal(json_array_get_length(json_object_get_array_member(plan, "freeze")), 2);
	assert_int_equal(plan_index(plan, "freeze", LOOP), 0);
	assert_int_equal(plan_index(plan, "freeze", DATA), 1);
	assert_int_equal(json_array_get_length(json_object_get_array_member(plan, "mountpoints")),
			 2);
	assert_kernel_thawed(DATA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		vm_test(test_vm_plan_loop_on_data),
		vm_test(test_vm_plan_client),
	};

	return vm_test_run(tests);
}
