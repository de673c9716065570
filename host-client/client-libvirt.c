/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "client-libvirt.h"
#include "qga-error.h"

struct _ClientLibvirt {
	virConnectPtr conn;
	virDomainPtr dom;
	gchar *name;
	gchar *uri;
};

/* ---- the domain XML ---- */

static void
client_domain_channel_free(ClientDomainChannel *self)
{
	g_free(self->name);
	g_free(self->type);
	g_free(self->path);
	g_free(self->state);
	g_free(self->alias);
	g_free(self);
}

static void
client_domain_disk_free(ClientDomainDisk *self)
{
	g_free(self->target);
	g_free(self->bus);
	g_free(self->serial);
	g_free(self->source);
	g_free(self->format);
	g_free(self->alias);
	g_free(self);
}

void
client_domain_xml_free(ClientDomainXml *self)
{
	if (self == NULL)
		return;
	g_free(self->name);
	g_ptr_array_unref(self->channels);
	g_ptr_array_unref(self->disks);
	g_free(self);
}

/* a <controller type='scsi'>: its index and PCI address */
typedef struct {
	guint index;
	ClientDiskAddress pci;
} ClientXmlController;

typedef struct {
	ClientDomainXml *xml;
	GPtrArray *stack; /* element names, outermost first */
	ClientDomainChannel *channel;
	ClientDomainDisk *disk;
	GString *text;
	GArray *controllers;		 /* of ClientXmlController */
	ClientXmlController *controller; /* (nullable): the one being read */
	GArray *drive_controllers;	 /* per disk of xml->disks: controller index, -1 for none */
	gint drive_controller;		 /* the current disk's */
} ClientXmlParser;

static const gchar *
client_xml_attr(const gchar **names, const gchar **values, const gchar *name)
{
	for (guint i = 0; names[i] != NULL; i++) {
		if (g_strcmp0(names[i], name) == 0)
			return values[i];
	}
	return NULL;
}

/* an address attribute ("0x1f", "3") in [0, @max] */
static gboolean
client_xml_uint(const gchar **names, const gchar **values, const gchar *name, guint max, guint *out)
{
	const gchar *text = client_xml_attr(names, values, name);
	guint64 v;

	if (text == NULL ||
	    !g_ascii_string_to_unsigned(g_str_has_prefix(text, "0x") ? text + 2 : text,
					g_str_has_prefix(text, "0x") ? 16 : 10, 0, max, &v, NULL))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* <address type='pci' domain= bus= slot= function=/> */
static gboolean
client_xml_pci_address(const gchar **names, const gchar **values, ClientDiskAddress *out)
{
	ClientDiskAddress addr = {.has_pci = TRUE};

	if (g_strcmp0(client_xml_attr(names, values, "type"), "pci") != 0 ||
	    !client_xml_uint(names, values, "domain", CLIENT_PCI_MAX_DOMAIN, &addr.domain) ||
	    !client_xml_uint(names, values, "bus", CLIENT_PCI_MAX_BUS, &addr.bus) ||
	    !client_xml_uint(names, values, "slot", CLIENT_PCI_MAX_SLOT, &addr.slot) ||
	    !client_xml_uint(names, values, "function", CLIENT_PCI_MAX_FUNCTION, &addr.function))
		return FALSE;
	*out = addr;
	return TRUE;
}

/* <address type='drive' controller= bus='0' target= unit=/>: the disk's
 * SCSI target and unit, and which controller holds it */
static void
client_xml_drive_address(ClientXmlParser *p, const gchar **names, const gchar **values)
{
	guint controller = 0, bus = 0;

	if (g_strcmp0(client_xml_attr(names, values, "type"), "drive") != 0 ||
	    !client_xml_uint(names, values, "controller", G_MAXINT16, &controller) ||
	    !client_xml_uint(names, values, "bus", 0, &bus) ||
	    !client_xml_uint(names, values, "target", CLIENT_SCSI_MAX_TARGET,
			     &p->disk->address.scsi_target) ||
	    !client_xml_uint(names, values, "unit", CLIENT_SCSI_MAX_LUN,
			     &p->disk->address.scsi_lun))
		return;
	p->disk->address.is_scsi = TRUE;
	p->drive_controller = (gint)controller;
}

/* the element @depth levels up from the current one ("" above the root) */
static const gchar *
client_xml_parent(ClientXmlParser *p, guint up)
{
	return p->stack->len > up ? g_ptr_array_index(p->stack, p->stack->len - 1 - up) : "";
}

static void
client_xml_start(GMarkupParseContext *context, const gchar *element, const gchar **names,
		 const gchar **values, gpointer user_data, GError **error)
{
	ClientXmlParser *p = user_data;
	const gchar *parent = client_xml_parent(p, 0);
	guint depth = p->stack->len;

	g_string_truncate(p->text, 0);
	if (depth == 2 && g_strcmp0(parent, "devices") == 0 && g_strcmp0(element, "channel") == 0) {
		p->channel = g_new0(ClientDomainChannel, 1);
		p->channel->type = g_strdup(client_xml_attr(names, values, "type"));
	} else if (depth == 2 && g_strcmp0(parent, "devices") == 0 &&
		   g_strcmp0(element, "disk") == 0) {
		const gchar *device = client_xml_attr(names, values, "device");

		if (device == NULL || g_strcmp0(device, "disk") == 0)
			p->disk = g_new0(ClientDomainDisk, 1);
		p->drive_controller = -1;
	} else if (depth == 2 && g_strcmp0(parent, "devices") == 0 &&
		   g_strcmp0(element, "controller") == 0 &&
		   g_strcmp0(client_xml_attr(names, values, "type"), "scsi") == 0) {
		ClientXmlController c = {0};

		if (client_xml_uint(names, values, "index", G_MAXINT16, &c.index)) {
			g_array_append_val(p->controllers, c);
			p->controller = &g_array_index(p->controllers, ClientXmlController,
						       p->controllers->len - 1);
		}
	} else if (depth == 3 && p->controller != NULL && g_strcmp0(element, "address") == 0) {
		client_xml_pci_address(names, values, &p->controller->pci);
	} else if (depth == 3 && p->channel != NULL) {
		if (g_strcmp0(element, "source") == 0) {
			g_free(p->channel->path);
			p->channel->path = g_strdup(client_xml_attr(names, values, "path"));
		} else if (g_strcmp0(element, "target") == 0) {
			g_free(p->channel->name);
			p->channel->name = g_strdup(client_xml_attr(names, values, "name"));
			g_free(p->channel->state);
			p->channel->state = g_strdup(client_xml_attr(names, values, "state"));
		} else if (g_strcmp0(element, "alias") == 0) {
			g_free(p->channel->alias);
			p->channel->alias = g_strdup(client_xml_attr(names, values, "name"));
		}
	} else if (depth == 3 && p->disk != NULL) {
		if (g_strcmp0(element, "source") == 0) {
			static const gchar *const keys[] = {"file", "dev", "name", "volume", NULL};

			for (guint i = 0; keys[i] != NULL && p->disk->source == NULL; i++)
				p->disk->source = g_strdup(client_xml_attr(names, values, keys[i]));
		} else if (g_strcmp0(element, "target") == 0) {
			g_free(p->disk->target);
			p->disk->target = g_strdup(client_xml_attr(names, values, "dev"));
			g_free(p->disk->bus);
			p->disk->bus = g_strdup(client_xml_attr(names, values, "bus"));
		} else if (g_strcmp0(element, "driver") == 0) {
			g_free(p->disk->format);
			p->disk->format = g_strdup(client_xml_attr(names, values, "type"));
		} else if (g_strcmp0(element, "alias") == 0) {
			g_free(p->disk->alias);
			p->disk->alias = g_strdup(client_xml_attr(names, values, "name"));
		} else if (g_strcmp0(element, "address") == 0) {
			if (!client_xml_pci_address(names, values, &p->disk->address))
				client_xml_drive_address(p, names, values);
		}
	}
	g_ptr_array_add(p->stack, g_strdup(element));
}

static void
client_xml_end(GMarkupParseContext *context, const gchar *element, gpointer user_data,
	       GError **error)
{
	ClientXmlParser *p = user_data;
	guint depth;

	g_ptr_array_set_size(p->stack, p->stack->len - 1);
	depth = p->stack->len;
	if (depth == 1 && g_strcmp0(element, "name") == 0 && p->xml->name == NULL) {
		p->xml->name = g_strdup(g_strstrip(p->text->str));
	} else if (depth == 3 && p->disk != NULL && g_strcmp0(element, "serial") == 0) {
		g_free(p->disk->serial);
		p->disk->serial = g_strdup(g_strstrip(p->text->str));
	} else if (depth == 2 && p->channel != NULL && g_strcmp0(element, "channel") == 0) {
		if (p->channel->name != NULL)
			g_ptr_array_add(p->xml->channels, p->channel);
		else
			client_domain_channel_free(p->channel);
		p->channel = NULL;
	} else if (depth == 2 && g_strcmp0(element, "controller") == 0) {
		p->controller = NULL;
	} else if (depth == 2 && p->disk != NULL && g_strcmp0(element, "disk") == 0) {
		if (p->disk->target != NULL) {
			g_ptr_array_add(p->xml->disks, p->disk);
			g_array_append_val(p->drive_controllers, p->drive_controller);
		} else {
			client_domain_disk_free(p->disk);
		}
		p->disk = NULL;
	}
	g_string_truncate(p->text, 0);
}

static void
client_xml_text(GMarkupParseContext *context, const gchar *text, gsize len, gpointer user_data,
		GError **error)
{
	ClientXmlParser *p = user_data;

	g_string_append_len(p->text, text, (gssize)len);
}

/* a drive address's PCI part is its SCSI controller's */
static void
client_xml_resolve_drives(ClientDomainXml *self, GArray *controllers, GArray *drive_controllers)
{
	for (guint i = 0; i < self->disks->len; i++) {
		ClientDomainDisk *disk = g_ptr_array_index(self->disks, i);
		gint index = g_array_index(drive_controllers, gint, i);

		for (guint c = 0; index >= 0 && c < controllers->len; c++) {
			const ClientXmlController *ctl =
				&g_array_index(controllers, ClientXmlController, c);

			if (ctl->index != (guint)index || !ctl->pci.has_pci)
				continue;
			disk->address.has_pci = TRUE;
			disk->address.domain = ctl->pci.domain;
			disk->address.bus = ctl->pci.bus;
			disk->address.slot = ctl->pci.slot;
			disk->address.function = ctl->pci.function;
		}
	}
}

ClientDomainXml *
client_domain_xml_parse(const gchar *xml, GError **error)
{
	static const GMarkupParser parser = {client_xml_start, client_xml_end, client_xml_text,
					     NULL, NULL};
	g_autoptr(ClientDomainXml) self = g_new0(ClientDomainXml, 1);
	g_autoptr(GMarkupParseContext) context = NULL;
	g_autoptr(GPtrArray) stack = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GArray) controllers = g_array_new(FALSE, TRUE, sizeof(ClientXmlController));
	g_autoptr(GArray) drive_controllers = g_array_new(FALSE, TRUE, sizeof(gint));
	ClientXmlParser p = {self, stack, NULL, NULL, text, controllers, NULL, drive_controllers,
			     -1};
	gboolean ok;

	self->channels = g_ptr_array_new_with_free_func((GDestroyNotify)client_domain_channel_free);
	self->disks = g_ptr_array_new_with_free_func((GDestroyNotify)client_domain_disk_free);
	context = g_markup_parse_context_new(&parser, 0, &p, NULL);
	ok = g_markup_parse_context_parse(context, xml, -1, error) &&
	     g_markup_parse_context_end_parse(context, error);
	if (p.channel != NULL)
		client_domain_channel_free(p.channel);
	if (p.disk != NULL)
		client_domain_disk_free(p.disk);
	if (!ok) {
		g_prefix_error(error, "the domain XML: ");
		if ((*error)->domain != G_IO_ERROR) {
			(*error)->domain = G_IO_ERROR;
			(*error)->code = G_IO_ERROR_INVALID_DATA;
		}
		return NULL;
	}
	client_xml_resolve_drives(self, controllers, drive_controllers);
	return g_steal_pointer(&self);
}

const ClientDomainChannel *
client_domain_xml_find_channel(const ClientDomainXml *self, const gchar *name)
{
	for (guint i = 0; i < self->channels->len; i++) {
		const ClientDomainChannel *c = g_ptr_array_index(self->channels, i);

		if (g_strcmp0(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* ---- errors ---- */

/* libvirt prints every error on stderr unless told otherwise: ours is one line */
static void
client_libvirt_silence(void *data, virErrorPtr error)
{
	g_debug("libvirt: %s", error != NULL && error->message != NULL ? error->message : "?");
}

static void client_libvirt_set_error(GError **error, gint code, const gchar *format, ...)
	G_GNUC_PRINTF(3, 4);

/* the last libvirt error as a GError: "@format: libvirt's message" */
static void
client_libvirt_set_error(GError **error, gint code, const gchar *format, ...)
{
	virErrorPtr last = virGetLastError();
	g_autofree gchar *what = NULL;
	va_list ap;

	va_start(ap, format);
	what = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error(error, G_IO_ERROR, code, "%s: %s", what,
		    last != NULL && last->message != NULL ? last->message
							  : "unknown libvirt error");
}

/* ---- the connection ---- */

static gint
client_libvirt_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

void
client_libvirt_free(ClientLibvirt *self)
{
	if (self == NULL)
		return;
	if (self->dom != NULL)
		virDomainFree(self->dom);
	if (self->conn != NULL)
		virConnectClose(self->conn);
	g_free(self->name);
	g_free(self->uri);
	g_free(self);
}

ClientLibvirt *
client_libvirt_connect(const gchar *uri, GError **error)
{
	g_autoptr(ClientLibvirt) self = g_new0(ClientLibvirt, 1);
	char *actual;

	virSetErrorFunc(NULL, client_libvirt_silence);
	self->conn = virConnectOpen(uri);
	if (self->conn == NULL) {
		client_libvirt_set_error(error, G_IO_ERROR_CONNECTION_REFUSED,
					 "cannot connect to libvirt%s%s%s",
					 uri != NULL ? " at '" : "", uri != NULL ? uri : "",
					 uri != NULL ? "'" : "");
		return NULL;
	}
	actual = virConnectGetURI(self->conn);
	self->uri = g_strdup(actual != NULL ? actual : (uri != NULL ? uri : "?"));
	free(actual);
	return g_steal_pointer(&self);
}

ClientLibvirt *
client_libvirt_open_domain(ClientLibvirt *self, const gchar *domain, GError **error)
{
	g_autoptr(ClientLibvirt) lv = g_new0(ClientLibvirt, 1);

	lv->conn = self->conn;
	virConnectRef(lv->conn);
	lv->uri = g_strdup(self->uri);
	lv->name = g_strdup(domain);
	if (domain == NULL)
		return g_steal_pointer(&lv);
	lv->dom = virDomainLookupByName(lv->conn, domain);
	if (lv->dom == NULL) {
		client_libvirt_set_error(error, G_IO_ERROR_NOT_FOUND, "no domain '%s' at '%s'",
					 domain, lv->uri);
		return NULL;
	}
	return g_steal_pointer(&lv);
}

ClientLibvirt *
client_libvirt_open(const gchar *uri, const gchar *domain, GError **error)
{
	g_autoptr(ClientLibvirt) conn = client_libvirt_connect(uri, error);

	return conn != NULL ? client_libvirt_open_domain(conn, domain, error) : NULL;
}

GStrv
client_libvirt_list_domains(ClientLibvirt *self, gboolean active, GError **error)
{
	virDomainPtr *doms = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	gint n = virConnectListAllDomains(self->conn, &doms,
					  active ? VIR_CONNECT_LIST_DOMAINS_ACTIVE : 0);

	if (n < 0) {
		client_libvirt_set_error(error, G_IO_ERROR_FAILED,
					 "cannot list the domains at '%s'", self->uri);
		return NULL;
	}
	for (gint i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (name != NULL)
			g_ptr_array_add(names, g_strdup(name));
		virDomainFree(doms[i]);
	}
	free(doms);
	g_ptr_array_sort(names, (GCompareFunc)client_libvirt_compare_names);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

virConnectPtr
client_libvirt_get_connection(ClientLibvirt *self)
{
	return self->conn;
}

const gchar *
client_libvirt_get_uri(ClientLibvirt *self)
{
	return self->uri;
}

ClientDomainXml *
client_libvirt_get_xml(ClientLibvirt *self, GError **error)
{
	char *xml = virDomainGetXMLDesc(self->dom, 0);
	ClientDomainXml *parsed;

	if (xml == NULL) {
		client_libvirt_set_error(error, G_IO_ERROR_FAILED,
					 "cannot read the XML of domain '%s'", self->name);
		return NULL;
	}
	parsed = client_domain_xml_parse(xml, error);
	free(xml);
	return parsed;
}

gchar *
client_libvirt_state_name(int state)
{
	static const gchar *const names[] = {
		[VIR_DOMAIN_NOSTATE] = "no state",	 [VIR_DOMAIN_RUNNING] = "running",
		[VIR_DOMAIN_BLOCKED] = "blocked",	 [VIR_DOMAIN_PAUSED] = "paused",
		[VIR_DOMAIN_SHUTDOWN] = "shutting down", [VIR_DOMAIN_SHUTOFF] = "shut off",
		[VIR_DOMAIN_CRASHED] = "crashed",	 [VIR_DOMAIN_PMSUSPENDED] = "suspended",
	};

	if (state >= 0 && (gsize)state < G_N_ELEMENTS(names) && names[state] != NULL)
		return g_strdup(names[state]);
	return g_strdup_printf("state %d", state);
}

/* for messages: a domain whose name libvirt cannot give is "?" */
static const char *
client_libvirt_domain_name(virDomainPtr dom)
{
	const char *name = virDomainGetName(dom);

	return name != NULL ? name : "?";
}

gboolean
client_libvirt_domain_state(virDomainPtr dom, int *state, int *reason, GError **error)
{
	*state = VIR_DOMAIN_NOSTATE;
	*reason = 0;
	if (virDomainGetState(dom, state, reason, 0) < 0) {
		client_libvirt_set_error(error, G_IO_ERROR_FAILED,
					 "cannot read the state of domain '%s'",
					 client_libvirt_domain_name(dom));
		return FALSE;
	}
	return TRUE;
}

gchar *
client_libvirt_get_state(ClientLibvirt *self, gboolean *running, GError **error)
{
	int state;
	int reason;

	if (!client_libvirt_domain_state(self->dom, &state, &reason, error))
		return NULL;
	*running = state == VIR_DOMAIN_RUNNING;
	return client_libvirt_state_name(state);
}

gchar *
client_libvirt_channel_path(ClientLibvirt *self, const gchar *name, GError **error)
{
	g_autoptr(ClientDomainXml) xml = client_libvirt_get_xml(self, error);
	const ClientDomainChannel *channel;

	if (xml == NULL)
		return NULL;
	channel = client_domain_xml_find_channel(xml, name);
	if (channel == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "domain '%s' has no channel '%s' (add <channel type='unix'><target "
			    "type='virtio' name='%s'/></channel> to its XML)",
			    self->name, name, name);
		return NULL;
	}
	if (g_strcmp0(channel->type, "unix") != 0 || channel->path == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "channel '%s' of domain '%s' is of type '%s', not a unix socket", name,
			    self->name, channel->type != NULL ? channel->type : "?");
		return NULL;
	}
	return g_strdup(channel->path);
}

gchar *
client_libvirt_agent_command(ClientLibvirt *self, const gchar *json, guint timeout_s,
			     GError **error)
{
	char *reply = virDomainQemuAgentCommand(self->dom, json, (int)MAX(timeout_s, 1), 0);
	virErrorPtr last;
	const gchar *message;
	const gchar *desc;
	gchar *ret;

	if (reply != NULL) {
		ret = g_strdup(reply);
		free(reply);
		return ret;
	}
	last = virGetLastError();
	message = last != NULL && last->message != NULL ? last->message : "unknown libvirt error";
	switch (last != NULL ? last->code : VIR_ERR_INTERNAL_ERROR) {
	case VIR_ERR_AGENT_UNRESPONSIVE:
		/* "QEMU guest agent is not connected": the guest has not opened the port */
		g_set_error(error, G_IO_ERROR,
			    strstr(message, "not connected") != NULL ? G_IO_ERROR_NOT_CONNECTED
								     : G_IO_ERROR_TIMED_OUT,
			    "libvirt: %s", message);
		return NULL;
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AGENT_UNSYNCED:
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "libvirt: %s", message);
		return NULL;
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		/* "QEMU guest agent is not configured" */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "libvirt: %s", message);
		return NULL;
	case VIR_ERR_OPERATION_INVALID:
		/* "domain is not running" */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "libvirt: %s", message);
		return NULL;
	default:
		break;
	}
	/* an error reply: libvirt keeps "unable to execute QEMU agent command 'x': DESC" */
	desc = strstr(message, "unable to execute QEMU agent command");
	if (desc != NULL && (desc = strstr(desc, "': ")) != NULL) {
		desc += 3;
		g_set_error_literal(error, QGA_ERROR,
				    strstr(desc, "has not been found") != NULL ||
						    strstr(desc, "has been disabled") != NULL
					    ? QGA_ERROR_COMMAND_NOT_FOUND
					    : QGA_ERROR_GENERIC,
				    desc);
		return NULL;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "libvirt: %s", message);
	return NULL;
}

/* ---- block statistics ---- */

/* the domain's "block.N.*" stats of the disk named @target */
static gboolean
client_libvirt_read_stats(ClientLibvirt *self, GPtrArray *disks, gboolean with_info, GError **error)
{
	virDomainPtr doms[] = {self->dom, NULL};
	virDomainStatsRecordPtr *records = NULL;
	gint n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_BLOCK, &records, 0);
	guint count = 0;

	if (n < 0) {
		client_libvirt_set_error(error, G_IO_ERROR_FAILED,
					 "cannot read the block statistics of domain '%s'",
					 self->name);
		return FALSE;
	}
	if (n < 1) {
		virDomainStatsRecordListFree(records);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "libvirt returned no block statistics for domain '%s'", self->name);
		return FALSE;
	}
	(void)virTypedParamsGetUInt(records[0]->params, records[0]->nparams, "block.count", &count);
	for (guint i = 0; i < count; i++) {
		g_autofree gchar *k_name = g_strdup_printf("block.%u.name", i);
		const char *name = NULL;
		ClientHostDisk *disk = NULL;
		unsigned long long v;

		if (virTypedParamsGetString(records[0]->params, records[0]->nparams, k_name,
					    &name) <= 0)
			continue;
		for (guint d = 0; d < disks->len; d++) {
			ClientHostDisk *candidate = g_ptr_array_index(disks, d);

			if (g_strcmp0(candidate->id, name) == 0)
				disk = candidate;
		}
		if (disk == NULL)
			continue;
#define CLIENT_STAT(key, field)                                                                    \
	G_STMT_START                                                                               \
	{                                                                                          \
		g_autofree gchar *k = g_strdup_printf("block.%u." key, i);                         \
		if (virTypedParamsGetULLong(records[0]->params, records[0]->nparams, k, &v) > 0)   \
			disk->field = v;                                                           \
	}                                                                                          \
	G_STMT_END
		CLIENT_STAT("wr.reqs", stats.wr_operations);
		CLIENT_STAT("wr.bytes", stats.wr_bytes);
		CLIENT_STAT("fl.reqs", stats.flush_operations);
		if (with_info) {
			g_autofree gchar *k_alloc = g_strdup_printf("block.%u.allocation", i);

			/* libvirt's "allocation" of an active disk is QEMU's wr_highest_offset */
			if (virTypedParamsGetULLong(records[0]->params, records[0]->nparams,
						    k_alloc, &v) > 0) {
				disk->stats.wr_highest_offset = v;
				disk->stats.has_highest_offset = TRUE;
			}
			CLIENT_STAT("capacity", capacity);
			CLIENT_STAT("physical", physical);
		}
#undef CLIENT_STAT
	}
	virDomainStatsRecordListFree(records);
	return TRUE;
}

GPtrArray *
client_libvirt_host_disks(ClientLibvirt *self, GError **error)
{
	g_autoptr(ClientDomainXml) xml = client_libvirt_get_xml(self, error);
	g_autoptr(GPtrArray) disks =
		g_ptr_array_new_with_free_func((GDestroyNotify)client_host_disk_free);

	if (xml == NULL)
		return NULL;
	for (guint i = 0; i < xml->disks->len; i++) {
		const ClientDomainDisk *d = g_ptr_array_index(xml->disks, i);
		ClientHostDisk *disk = g_new0(ClientHostDisk, 1);
		virDomainBlockInfo info;

		disk->id = g_strdup(d->target);
		disk->serial = g_strdup(d->serial);
		disk->file = g_strdup(d->source);
		disk->format = g_strdup(d->format);
		disk->address = d->address;
		if (!disk->address.has_pci)
			disk->address_error =
				g_strdup("the domain XML gives no PCI address for it");
		/* the host's allocation of the file, which virsh domblkinfo shows */
		if (virDomainGetBlockInfo(self->dom, d->target, &info, 0) == 0) {
			disk->capacity = info.capacity;
			disk->physical = info.physical;
			disk->allocation = info.allocation;
			disk->has_allocation = TRUE;
		}
		g_ptr_array_add(disks, disk);
	}
	if (!client_libvirt_read_stats(self, disks, TRUE, error))
		return NULL;
	return g_steal_pointer(&disks);
}

gboolean
client_libvirt_update_stats(ClientLibvirt *self, GPtrArray *disks, GError **error)
{
	return client_libvirt_read_stats(self, disks, FALSE, error);
}

gboolean
client_libvirt_dump_domain_memory(virDomainPtr dom, const gchar *path, GError **error)
{
	/* RAW + MEMORY_ONLY: an ELF core of guest RAM with VMCOREINFO in its
	 * PT_NOTE. Not VIR_DUMP_LIVE: libvirt pauses a running guest for a
	 * consistent image and resumes it afterwards (QEMU stops it while
	 * writing anyway); one that was not running it leaves as it was. */
	if (virDomainCoreDumpWithFormat(dom, path, VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
					VIR_DUMP_MEMORY_ONLY) < 0) {
		client_libvirt_set_error(error, G_IO_ERROR_FAILED,
					 "cannot dump the memory of domain '%s'",
					 client_libvirt_domain_name(dom));
		return FALSE;
	}
	return TRUE;
}

gboolean
client_libvirt_dump_memory(ClientLibvirt *self, const gchar *path, GError **error)
{
	return client_libvirt_dump_domain_memory(self->dom, path, error);
}
