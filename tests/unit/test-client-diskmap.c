/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which host disk holds which guest filesystem without serials: the PCI and
 * SCSI addresses of guest-get-fsinfo against QMP (query-pci, query-block,
 * qom-get) and the domain XML, on replies recorded in the tests/vm guest
 * (tests/fixtures/client/diskmap/README.md), and the guest's lies. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <json-glib/json-glib.h>

#include "client-diskmap.h"
#include "client-libvirt.h"

static JsonNode *
load_json(const gchar *name)
{
	g_autofree gchar *path = g_build_filename(FIXTURES_DIR, "client", "diskmap", name, NULL);
	g_autofree gchar *text = NULL;
	JsonNode *node;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	node = json_from_string(text, NULL);
	assert_non_null(node);
	return node;
}

/* a ClientQomGetFunc over the recorded qom-get replies */
static JsonNode *
fixture_qom_get(const gchar *path, const gchar *property, gpointer user_data)
{
	JsonObject *qom = user_data;
	JsonObject *obj =
		json_object_has_member(qom, path) ? json_object_get_object_member(qom, path) : NULL;

	if (obj == NULL || !json_object_has_member(obj, property))
		return NULL;
	return json_node_copy(json_object_get_member(obj, property));
}

/* the host disks as client_qmp_host_disks builds them, from the recording */
static GPtrArray *
qmp_host_disks(void)
{
	g_autoptr(JsonNode) pci = load_json("qmp-query-pci.json");
	g_autoptr(JsonNode) block = load_json("qmp-query-block.json");
	g_autoptr(JsonNode) qom = load_json("qmp-qom-get.json");
	GPtrArray *disks = g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);
	JsonArray *blocks = json_node_get_array(block);

	for (guint i = 0; i < json_array_get_length(blocks); i++) {
		JsonObject *b = json_array_get_object_element(blocks, i);
		const gchar *qdev = json_object_get_string_member(b, "qdev");
		ClientHostDisk *disk = g_new0(ClientHostDisk, 1);
		g_autoptr(JsonNode) serial =
			fixture_qom_get(qdev, "serial", json_node_get_object(qom));
		g_autoptr(GError) error = NULL;

		disk->id = g_strdup(qdev);
		if (serial != NULL && json_node_get_string(serial)[0] != '\0')
			disk->serial = g_strdup(json_node_get_string(serial));
		assert_true(client_disk_map_qmp_address(json_node_get_array(pci), qdev,
							fixture_qom_get, json_node_get_object(qom),
							&disk->address, &error));
		assert_null(error);
		g_ptr_array_add(disks, disk);
	}
	return disks;
}

static const ClientDiskMapEntry *
lookup(const ClientDiskMap *map, const gchar *mountpoint)
{
	const ClientDiskMapEntry *e = client_disk_map_lookup(map, mountpoint);

	assert_non_null(e);
	return e;
}

static void
assert_mapped(const ClientDiskMap *map, const gchar *mountpoint, const gchar *id,
	      const gchar *method)
{
	const ClientDiskMapEntry *e = lookup(map, mountpoint);

	assert_non_null(e->host);
	assert_string_equal(e->host->id, id);
	assert_string_equal(e->method, method);
	assert_null(e->unmapped_reason);
}

static void
assert_unmapped(const ClientDiskMap *map, const gchar *mountpoint, const gchar *reason)
{
	const ClientDiskMapEntry *e = lookup(map, mountpoint);

	assert_null(e->host);
	assert_null(e->method);
	assert_non_null(e->unmapped_reason);
	assert_non_null(strstr(e->unmapped_reason, reason));
}

static void
test_client_diskmap_qmp_addresses(void **state)
{
	g_autoptr(GPtrArray) disks = qmp_host_disks();
	const ClientHostDisk *data = g_ptr_array_index(disks, 0);
	const ClientHostDisk *b = g_ptr_array_index(disks, 1);
	const ClientHostDisk *c = g_ptr_array_index(disks, 2);
	g_autofree gchar *c_text = client_disk_address_to_string(&c->address);

	/* no id: found by its devfn (qom-get addr 24) */
	assert_true(data->address.has_pci);
	assert_false(data->address.is_scsi);
	assert_int_equal(data->address.slot, 3);
	/* an id: found by query-pci's qdev_id */
	assert_int_equal(b->address.slot, 4);
	/* scsi-hd: its controller scsi0's function, scsi-id 2, lun 1 */
	assert_true(c->address.is_scsi);
	assert_int_equal(c->address.slot, 5);
	assert_int_equal(c->address.scsi_target, 2);
	assert_int_equal(c->address.scsi_lun, 1);
	assert_string_equal(c_text, "0000:00:05.0 scsi 0:2:1");
}

/* qgatrace-agent: the virtio-scsi disk's real target (2) */
static void
test_client_diskmap_qmp_qgatrace_agent(void **state)
{
	g_autoptr(GPtrArray) disks = qmp_host_disks();
	g_autoptr(JsonNode) fsinfo = load_json("fsinfo-qgatrace.json");
	g_autoptr(ClientDiskMap) map = client_disk_map_new(fsinfo, disks);
	g_autoptr(JsonArray) unmapped = client_disk_map_unmapped_to_json(map);
	JsonObject *u;

	assert_mapped(map, "/mnt/data", "/machine/peripheral-anon/device[4]/virtio-backend",
		      "serial");
	assert_mapped(map, "/mnt/b", "/machine/peripheral/virtio-disk1/virtio-backend", "pci");
	assert_mapped(map, "/mnt/c", "/machine/peripheral-anon/device[6]", "scsi");
	assert_unmapped(map, "/mnt/loop", "bus type 'unknown'");
	assert_non_null(client_disk_map_find(map, "/mnt/b", g_ptr_array_index(disks, 1)));
	assert_null(client_disk_map_find(map, "/mnt/b", g_ptr_array_index(disks, 0)));
	assert_int_equal(json_array_get_length(unmapped), 1);
	u = json_array_get_object_element(unmapped, 0);
	assert_string_equal(json_object_get_string_member(u, "mountpoint"), "/mnt/loop");
	assert_string_equal(json_object_get_string_member(u, "dev"), "/dev/loop0");
	assert_true(json_object_get_null_member(u, "host-disk"));
}

/* stock qemu-ga 7.2: target 0 for the disk at scsi-id 2, no disk for a loop */
static void
test_client_diskmap_qmp_qemu_ga(void **state)
{
	g_autoptr(GPtrArray) disks = qmp_host_disks();
	g_autoptr(JsonNode) fsinfo = load_json("fsinfo-qemu-ga.json");
	g_autoptr(ClientDiskMap) map = client_disk_map_new(fsinfo, disks);

	assert_mapped(map, "/mnt/data", "/machine/peripheral-anon/device[4]/virtio-backend",
		      "serial");
	assert_mapped(map, "/mnt/b", "/machine/peripheral/virtio-disk1/virtio-backend", "pci");
	assert_mapped(map, "/mnt/c", "/machine/peripheral-anon/device[6]", "scsi");
	assert_unmapped(map, "/mnt/loop", "the guest named no disk for it");
}

static void
test_client_diskmap_libvirt_xml(void **state)
{
	g_autofree gchar *path =
		g_build_filename(FIXTURES_DIR, "client", "diskmap", "domain.xml", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(ClientDomainXml) xml = NULL;
	g_autoptr(GPtrArray) disks =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);
	g_autoptr(JsonNode) fsinfo = load_json("fsinfo-qemu-ga.json");
	g_autoptr(ClientDiskMap) map = NULL;
	const ClientDomainDisk *sda;

	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	xml = client_domain_xml_parse(text, &error);
	assert_null(error);
	assert_int_equal(xml->disks->len, 3); /* the cdrom is no disk */
	sda = g_ptr_array_index(xml->disks, 2);
	assert_true(sda->address.has_pci && sda->address.is_scsi);
	assert_int_equal(sda->address.slot, 5); /* controller 0's */
	assert_int_equal(sda->address.scsi_target, 0);
	assert_int_equal(sda->address.scsi_lun, 1);
	for (guint i = 0; i < xml->disks->len; i++) {
		const ClientDomainDisk *d = g_ptr_array_index(xml->disks, i);
		ClientHostDisk *disk = g_new0(ClientHostDisk, 1);

		disk->id = g_strdup(d->target);
		disk->address = d->address;
		/* no serials: the address alone must match */
		g_ptr_array_add(disks, disk);
	}
	map = client_disk_map_new(fsinfo, disks);
	assert_mapped(map, "/mnt/data", "vda", "pci");
	assert_mapped(map, "/mnt/b", "vdb", "pci");
	assert_mapped(map, "/mnt/c", "sda", "scsi");
	assert_unmapped(map, "/mnt/loop", "the guest named no disk for it");
}

/* one fsinfo filesystem on one disk, from JSON text */
static const ClientHostDisk *
match_one(const gchar *disk_json, GPtrArray *host_disks, gchar **reason)
{
	g_autoptr(JsonNode) node = json_from_string(disk_json, NULL);
	const gchar *method = NULL;
	const ClientHostDisk *found;

	assert_non_null(node);
	found = client_disk_map_match(json_node_get_object(node), host_disks, &method, reason);
	assert_true((found == NULL) == (method == NULL));
	assert_true((found == NULL) == (*reason != NULL));
	return found;
}

static ClientHostDisk *
host_disk(const gchar *id, guint slot, gboolean scsi, guint target, guint lun)
{
	ClientHostDisk *disk = g_new0(ClientHostDisk, 1);

	disk->id = g_strdup(id);
	disk->address.has_pci = TRUE;
	disk->address.slot = slot;
	disk->address.is_scsi = scsi;
	disk->address.scsi_target = target;
	disk->address.scsi_lun = lun;
	return disk;
}

#define PCI(slot)                                                                                  \
	"\"pci-controller\": {\"domain\": 0, \"bus\": 0, \"slot\": " slot ", \"function\": 0}"

/* the guest's numbers are checked: out of range, negative, not integers */
static void
test_client_diskmap_hostile_numbers(void **state)
{
	static const struct {
		const gchar *json;
		const gchar *reason;
	} cases[] = {
		{"{\"bus-type\": \"virtio\", " PCI("32") "}", "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", " PCI("-4") "}", "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", " PCI("\"4\"") "}", "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", " PCI("4.5") "}", "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", \"pci-controller\": {\"domain\": 65536, \"bus\": 0, "
		 "\"slot\": 4, \"function\": 0}}",
		 "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", \"pci-controller\": {\"domain\": 0, \"bus\": 0, "
		 "\"slot\": 4, \"function\": 8}}",
		 "invalid PCI address"},
		{"{\"bus-type\": \"virtio\", \"pci-controller\": [0, 0, 4, 0]}", "no PCI address"},
		{"{\"bus-type\": \"virtio\"}", "no PCI address"},
		{"{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 0, \"target\": 256, \"unit\": 1}",
		 "invalid SCSI address"},
		{"{\"bus-type\": \"scsi\", " PCI(
			 "5") ", \"bus\": 0, \"target\": 0, \"unit\": 16384}",
		 "invalid SCSI address"},
		{"{\"bus-type\": \"scsi\", " PCI("5") ", \"target\": 0, \"unit\": 1}",
		 "invalid SCSI address"},
		{"{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 1, \"target\": 0, \"unit\": 1}",
		 "channel 1"},
		{"{\"bus-type\": \"sata\", " PCI("4") "}", "bus type 'sata'"},
		{"{\"bus-type\": \"\\u001b[31m\", " PCI("4") "}", "bus type '\\x1b[31m'"},
		{"{\"bus-type\": \"virtio\", " PCI("6") "}", "no host disk at 0000:00:06.0"},
		{"{\"serial\": \"nope\", \"bus-type\": \"virtio\", " PCI("6") "}",
		 "no host disk at 0000:00:06.0"},
	};
	g_autoptr(GPtrArray) disks =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);

	g_ptr_array_add(disks, host_disk("vdb", 4, FALSE, 0, 0));
	g_ptr_array_add(disks, host_disk("sda", 5, TRUE, 0, 1));
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *reason = NULL;

		assert_null(match_one(cases[i].json, disks, &reason));
		if (strstr(reason, cases[i].reason) == NULL)
			fail_msg("case %u: '%s' has no '%s'", i, reason, cases[i].reason);
	}
}

/* an address that fits two host disks maps to neither; the SCSI target
 * picks among a lun's candidates only when it cannot be qemu-ga's 0 */
static void
test_client_diskmap_ambiguous(void **state)
{
	g_autoptr(GPtrArray) disks =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);
	g_autofree gchar *reason = NULL;
	const ClientHostDisk *found;

	g_ptr_array_add(disks, host_disk("vdb", 4, FALSE, 0, 0));
	g_ptr_array_add(disks, host_disk("vdb-again", 4, FALSE, 0, 0));
	g_ptr_array_add(disks, host_disk("sda", 5, TRUE, 0, 1));
	g_ptr_array_add(disks, host_disk("sdb", 5, TRUE, 2, 1));
	g_ptr_array_add(disks, host_disk("sdc", 5, TRUE, 3, 2));
	assert_null(match_one("{\"bus-type\": \"virtio\", " PCI("4") "}", disks, &reason));
	assert_non_null(strstr(reason, "2 host disk(s) at 0000:00:04.0"));
	g_clear_pointer(&reason, g_free);
	/* target 0, lun 1: sda, or sdb as qemu-ga reports it */
	assert_null(match_one("{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 0, \"target\": 0, "
								   "\"unit\": 1}",
			      disks, &reason));
	g_clear_pointer(&reason, g_free);
	found = match_one("{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 0, \"target\": 2, "
							       "\"unit\": 1}",
			  disks, &reason);
	assert_string_equal(found->id, "sdb");
	/* lun 2 has one candidate: target 0 (qemu-ga) or its own target name it */
	found = match_one("{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 0, \"target\": 0, "
							       "\"unit\": 2}",
			  disks, &reason);
	assert_string_equal(found->id, "sdc");
	assert_null(match_one("{\"bus-type\": \"scsi\", " PCI("5") ", \"bus\": 0, \"target\": 7, "
								   "\"unit\": 2}",
			      disks, &reason));
	g_clear_pointer(&reason, g_free);
	/* the serial goes first, whatever the address says */
	found = match_one("{\"serial\": \"s1\", \"bus-type\": \"virtio\", " PCI("4") "}", disks,
			  &reason);
	assert_null(found);
	g_clear_pointer(&reason, g_free);
	((ClientHostDisk *)g_ptr_array_index(disks, 2))->serial = g_strdup("s1");
	found = match_one("{\"serial\": \"s1\", \"bus-type\": \"virtio\", " PCI("4") "}", disks,
			  &reason);
	assert_string_equal(found->id, "sda");
	/* no host view: nothing to match against */
	assert_null(match_one("{\"bus-type\": \"virtio\", " PCI("4") "}", NULL, &reason));
	assert_string_equal(reason, "no host view of the disks");
}

/* query-pci nests a bridge's devices; devfn alone must be unique */
static void
test_client_diskmap_pci_bridge(void **state)
{
	static const gchar query_pci[] =
		"[{\"bus\": 0, \"devices\": ["
		" {\"bus\": 0, \"slot\": 3, \"function\": 0, \"qdev_id\": \"\"},"
		" {\"bus\": 0, \"slot\": 30, \"function\": 0, \"qdev_id\": \"br0\", \"pci_bridge\":"
		"  {\"bus\": {\"number\": 1}, \"devices\": ["
		"   {\"bus\": 1, \"slot\": 2, \"function\": 0, \"qdev_id\": \"disk9\"},"
		"   {\"bus\": 1, \"slot\": 3, \"function\": 0, \"qdev_id\": \"\"}]}}]}]";
	static const gchar qom[] = "{\"/machine/peripheral/disk9\": {\"type\": \"virtio-blk-pci\"},"
				   " \"/machine/peripheral-anon/device[0]\": {\"type\": "
				   "\"virtio-blk-pci\", \"addr\": 24},"
				   " \"/machine/peripheral-anon/device[1]\": {\"type\": "
				   "\"virtio-blk-pci\", \"addr\": 999}}";
	g_autoptr(JsonNode) pci = json_from_string(query_pci, NULL);
	g_autoptr(JsonNode) q = json_from_string(qom, NULL);
	ClientDiskAddress addr = {0};
	g_autoptr(GError) error = NULL;

	assert_true(client_disk_map_qmp_address(json_node_get_array(pci), "disk9", fixture_qom_get,
						json_node_get_object(q), &addr, &error));
	assert_int_equal(addr.bus, 1);
	assert_int_equal(addr.slot, 2);
	/* devfn 24 (slot 3) is on bus 0 and bus 1: no telling which */
	assert_false(client_disk_map_qmp_address(
		json_node_get_array(pci), "/machine/peripheral-anon/device[0]/virtio-backend",
		fixture_qom_get, json_node_get_object(q), &addr, &error));
	assert_non_null(strstr(error->message, "2 devices"));
	g_clear_error(&error);
	/* an addr out of range, and a path QEMU does not know */
	assert_false(client_disk_map_qmp_address(
		json_node_get_array(pci), "/machine/peripheral-anon/device[1]/virtio-backend",
		fixture_qom_get, json_node_get_object(q), &addr, &error));
	g_clear_error(&error);
	assert_false(client_disk_map_qmp_address(json_node_get_array(pci), "nosuch",
						 fixture_qom_get, json_node_get_object(q), &addr,
						 &error));
	assert_non_null(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_diskmap_qmp_addresses),
		cmocka_unit_test(test_client_diskmap_qmp_qgatrace_agent),
		cmocka_unit_test(test_client_diskmap_qmp_qemu_ga),
		cmocka_unit_test(test_client_diskmap_libvirt_xml),
		cmocka_unit_test(test_client_diskmap_hostile_numbers),
		cmocka_unit_test(test_client_diskmap_ambiguous),
		cmocka_unit_test(test_client_diskmap_pci_bridge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
