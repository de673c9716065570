/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* A crashed guest's kernel log, saved for later: read from its memory (the
 * guest-memory library on a libvirt memory-only dump) while libvirt's
 * <on_crash>preserve</on_crash> keeps it paused, and written as
 * DIR/<domain>-<UTC time>.log (dmesg-style text, as `qgatrace dmesg` prints
 * it) and .json (guest-dmesg's reply). docs/panics.md has the domain XML. */

/* each file holds at most this much: the newest records that fit (a
 * kernel's log buffer is 32 MiB at the very most, 128 KiB-1 MiB usually) */
#define CLIENT_PANIC_MAX_FILE_BYTES (16 * 1024 * 1024)

/* the longest part of a file name the domain name gives */
#define CLIENT_PANIC_MAX_NAME 64

/**
 * client_panic_file_base:
 * @domain: (nullable): the domain's name, hostile: any bytes
 * @when: the capture's time
 *
 * "<name>-<YYYYmmddTHHMMSS.mmmZ>" (UTC): @domain with every byte but
 * [A-Za-z0-9._+-] made '_', no leading '.' or '-', at most
 * CLIENT_PANIC_MAX_NAME bytes, and where that changed it a hash of the
 * whole name (8 hex digits) so that two names never share files; "guest"
 * for NULL or "".
 * Returns: (transfer full): a name safe as one path component
 */
gchar *client_panic_file_base(const gchar *domain, GDateTime *when);

/**
 * client_panic_save:
 * @dir: where the files go; made (0750) when missing
 * @domain: (nullable): the guest's name, for the file names and the capture record
 * @reply: a guest-dmesg reply (gmem_dmesg_read*(): its "records", "memory")
 * @capture: (nullable): more members for the .json's "capture" object
 * @log_path: (out) (optional) (transfer full): the .log written
 *
 * Writes @dir/<base>.log and then @dir/<base>.json (client_panic_file_base()),
 * each through a temporary file in @dir that is linked into place: a
 * reader sees both whole or not at all, and an existing file is never
 * replaced (the base gets "-1", "-2", ... instead). Both hold the same
 * records: the newest that fit CLIENT_PANIC_MAX_FILE_BYTES. The .json is
 * the reply as common/kmsg-record writes it, then "memory" (as given) and
 * "capture": {"domain", "time", "records-left-out", members of @capture}.
 * Files are 0600: a kernel log can hold secrets.
 * Returns: FALSE with @error (nothing left behind in @dir)
 */
gboolean client_panic_save(const gchar *dir, const gchar *domain, GDateTime *when,
			   JsonObject *reply, JsonObject *capture, gchar **log_path,
			   GError **error);

/**
 * client_panic_capture:
 * @conn: the connection @domain came from (local: the dump is written by
 *   libvirtd on its host, into @dir)
 * @domain: a domain that crashed: paused by QEMU on GUEST_PANICKED and kept
 *   so by <on_crash>preserve</on_crash> (state crashed or paused)
 * @dir: where the files go (client_panic_save()); the memory dump passes
 *   through a private directory in it and is removed on every path, so it
 *   needs room for the guest's RAM for a moment
 * @log_path: (out) (optional) (transfer full): the .log written
 *
 * Reads the kernel log from the crashed guest's memory and saves it. It
 * never resumes or destroys the domain: libvirt's dump leaves a domain that
 * was not running as it was (RAW, VIR_DUMP_MEMORY_ONLY, no VIR_DUMP_CRASH
 * or VIR_DUMP_RESET); the state is read before and after and both go into
 * the .json's "capture" ("state-before", "state-after"). A domain that runs
 * (on_crash restart: its memory holds a new boot) or is gone (on_crash
 * destroy) is refused before anything is read.
 *
 * Blocking: it waits for the dump (the guest's RAM through the disk,
 * seconds for GiBs) and the decode. Thread-safe for different domains; call
 * it from a worker thread, not from the thread that runs libvirt's event
 * loop (a long call there stalls every event and keepalive). It touches no
 * signal handler and no global state; libvirt's errors are per thread.
 * Returns: FALSE with @error: G_IO_ERROR_BUSY (the domain runs),
 * G_IO_ERROR_NOT_FOUND (shut off, or no VMCOREINFO in its memory), or the
 * dump's, the decode's or the write's error
 */
gboolean client_panic_capture(virConnectPtr conn, virDomainPtr domain, const char *dir,
			      char **log_path, GError **error);

G_END_DECLS
