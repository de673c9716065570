/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "client-host.h"

G_BEGIN_DECLS

/* libvirt: a domain's channels and disks from its live XML, its agent API
 * (virDomainQemuAgentCommand, for the org.qemu.guest_agent.0 channel that
 * libvirtd holds), and its block statistics (the host's view of the disks,
 * without touching QMP, which libvirtd owns too). */

/* ---- the domain XML, pure parsing ---- */

typedef struct {
	gchar *name;  /* target name: org.qemu.guest_agent.0 */
	gchar *type;  /* channel type: unix, pty, ... */
	gchar *path;  /* (nullable): source path, for unix */
	gchar *state; /* (nullable): "connected"/"disconnected" (live XML only) */
	gchar *alias; /* (nullable): QEMU's chardev is "char" + alias */
} ClientDomainChannel;

typedef struct {
	gchar *target; /* vda */
	gchar *bus;    /* (nullable): virtio */
	gchar *serial; /* (nullable) */
	gchar *source; /* (nullable): file, dev or volume name */
	gchar *format; /* (nullable): driver type, raw/qcow2 */
	gchar *alias;  /* (nullable): virtio-disk0 */
	/* from <address type='pci'> (virtio-blk) or <address type='drive'>
	 * plus its SCSI controller's <address type='pci'>; has_pci FALSE: none */
	ClientDiskAddress address;
} ClientDomainDisk;

typedef struct {
	gchar *name;
	GPtrArray *channels; /* of ClientDomainChannel */
	GPtrArray *disks;    /* of ClientDomainDisk, device='disk' only */
} ClientDomainXml;

/**
 * client_domain_xml_parse:
 * Reads <name>, <devices><channel> and <devices><disk device='disk'> from a
 * domain's XML (virsh dumpxml), with the disks' addresses (through their
 * <controller type='scsi'> for a drive address); an address out of range
 * is left out.
 * Returns: (transfer full): or NULL with G_IO_ERROR_INVALID_DATA
 */
ClientDomainXml *client_domain_xml_parse(const gchar *xml, GError **error);
void client_domain_xml_free(ClientDomainXml *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientDomainXml, client_domain_xml_free)

/* Returns: (transfer none) (nullable): the channel whose target is @name */
const ClientDomainChannel *client_domain_xml_find_channel(const ClientDomainXml *self,
							  const gchar *name);

/* ---- a connection ---- */

typedef struct _ClientLibvirt ClientLibvirt;

/**
 * client_libvirt_open:
 * Connects to libvirt at @uri and looks up @domain.
 * @uri: (nullable): NULL: libvirt's own default
 * Returns: (transfer full): or NULL with @error (G_IO_ERROR_NOT_FOUND for a
 * domain that does not exist, G_IO_ERROR_CONNECTION_REFUSED when libvirt
 * cannot be reached)
 */
ClientLibvirt *client_libvirt_open(const gchar *uri, const gchar *domain, GError **error);

/**
 * client_libvirt_connect:
 * Connects to libvirt at @uri without a domain, for what watches them all
 * (fleet, the exporter); the domain functions below need
 * client_libvirt_open_domain()'s.
 * Returns: (transfer full): or NULL with G_IO_ERROR_CONNECTION_REFUSED
 */
ClientLibvirt *client_libvirt_connect(const gchar *uri, GError **error);

/**
 * client_libvirt_open_domain:
 * Looks up @domain on @self's connection, which the result shares (one
 * connection serves many threads: libvirt's remote driver multiplexes).
 * @domain: (nullable): NULL: a second handle on the connection alone
 * Returns: (transfer full): or NULL with G_IO_ERROR_NOT_FOUND
 */
ClientLibvirt *client_libvirt_open_domain(ClientLibvirt *self, const gchar *domain, GError **error);

/* Returns: (transfer full): the names of the running (@active) or all domains, sorted */
GStrv client_libvirt_list_domains(ClientLibvirt *self, gboolean active, GError **error);

/* Returns: (transfer none): libvirt's connection, for its events */
virConnectPtr client_libvirt_get_connection(ClientLibvirt *self);
void client_libvirt_free(ClientLibvirt *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientLibvirt, client_libvirt_free)

/* Returns: (transfer none): the URI libvirt says it is connected to */
const gchar *client_libvirt_get_uri(ClientLibvirt *self);

/* Returns: (transfer full): the live domain XML, parsed, or NULL with @error */
ClientDomainXml *client_libvirt_get_xml(ClientLibvirt *self, GError **error);

/* Returns: (transfer full): "running", "paused", "shut off", ...; @running says which */
gchar *client_libvirt_get_state(ClientLibvirt *self, gboolean *running, GError **error);

/**
 * client_libvirt_channel_path:
 * Returns: (transfer full): the host socket of the domain's unix channel
 * @name, from its live XML, or NULL with G_IO_ERROR_NOT_FOUND (no such
 * channel) or G_IO_ERROR_NOT_SUPPORTED (not a unix channel)
 */
gchar *client_libvirt_channel_path(ClientLibvirt *self, const gchar *name, GError **error);

/**
 * client_libvirt_agent_command:
 * virDomainQemuAgentCommand: @json in, the reply text out. libvirt makes its
 * own guest-sync first (up to 5 s, libvirt's constant), then waits
 * @timeout_s for the reply.
 * Returns: (transfer full): or NULL with @error: an unresponsive or
 * unconnected agent is G_IO_ERROR_TIMED_OUT / G_IO_ERROR_NOT_CONNECTED,
 * an agent's error reply a QGA_ERROR (libvirt keeps only its text)
 */
gchar *client_libvirt_agent_command(ClientLibvirt *self, const gchar *json, guint timeout_s,
				    GError **error);

/* the domain's disks with virDomainBlockStatsFlags and virDomainGetBlockInfo
 * filled in; transfer full, of ClientHostDisk */
GPtrArray *client_libvirt_host_disks(ClientLibvirt *self, GError **error);

/* re-reads the write counters of @disks (from client_libvirt_host_disks) */
gboolean client_libvirt_update_stats(ClientLibvirt *self, GPtrArray *disks, GError **error);

/**
 * client_libvirt_dump_memory:
 * virDomainCoreDumpWithFormat(RAW, VIR_DUMP_MEMORY_ONLY) to @path, a file
 * libvirtd/QEMU can create: an ELF of guest RAM (for
 * gmem_dmesg_read_from_dump). The guest is paused while it is
 * written and resumed by libvirt afterwards.
 * Returns: FALSE with @error
 */
gboolean client_libvirt_dump_memory(ClientLibvirt *self, const gchar *path, GError **error);

/* ---- a domain of any connection (the exporter's, client-panic.c) ---- */

/* Returns: (transfer full): "running", "paused", "crashed", ... for a
 * virDomainState, as virsh domstate names it */
gchar *client_libvirt_state_name(int state);

/* virDomainGetState: a virDomainState and its reason; FALSE with @error */
gboolean client_libvirt_domain_state(virDomainPtr dom, int *state, int *reason, GError **error);

/* client_libvirt_dump_memory() on @dom: a guest that was not running (a
 * crashed one) stays as it was */
gboolean client_libvirt_dump_domain_memory(virDomainPtr dom, const gchar *path, GError **error);

G_END_DECLS
