/* Host key policy at one hop, decided as OpenSSH 9.2's check_host_key()
 * decides it (sshconnect.c), from jumpfs's own known_hosts reader.
 *
 * libssh does the key exchange; jumpfs decides. libssh's own known_hosts
 * reading (libssh-0.10.md: it skips @ lines, reads a file with one bad
 * line as unknown, stops at 8 KiB) is kept out: its files are /dev/null.
 *
 * Lookup name: HostKeyAlias if set, else HostName, as "[host]:port" for a
 * port other than 22; a port other than 22 that is not known also tries
 * the plain host name, read-only, as OpenSSH does. Every
 * UserKnownHostsFile and GlobalKnownHostsFile, and KnownHostsCommand's
 * output, are read. Decisions:
 * - the key is revoked (RevokedHostKeys, or an @revoked line): refused,
 *   under every StrictHostKeyChecking value;
 * - a line for the host holds another key: CHANGED, refused under every
 *   value, `no` included (OpenSSH would connect with passwords off);
 * - known only through @cert-authority: refused, saying that libssh 0.10
 *   cannot take host certificates and a plain host key is needed;
 * - not known: `yes` refuses, `ask` asks (prompt_ask; never in BatchMode;
 *   nobody to ask = refused, and logged with the fingerprint),
 *   `accept-new` and `no` record it (hashed with HashKnownHosts) in the
 *   first UserKnownHostsFile.
 * No message ever suggests accept-new or `no`. */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_H
#define JUMPFS_CHAIN_KNOWNHOSTS_H

#include <glib.h>
#include <libssh/libssh.h>
#include "chain/config.h"
#include "chain/knownhosts-key.h"

/* What was found and what decided, for --check and -d. */
typedef struct {
	char *key_type;       /* "ssh-ed25519" */
	char *fingerprint;    /* "SHA256:..." */
	const char *status;   /* "known", "added", "CHANGED", "REVOKED",
	                         "unknown", "CA only", "error" */
	char *name;           /* the name looked up: "[jumphost2]:2222" */
	char *decided_by;     /* "/home/u/.ssh/known_hosts:3", "RevokedHostKeys
	                         /etc/ssh/revoked line 2", ...; NULL if nothing */
	GPtrArray *skipped;   /* char *: "FILE:LINE: why" for lines naming the
	                         host that could not be read; NULL if none */
} HostKeyReport;

/* Before ssh_connect(): points libssh's own known_hosts files at
 * /dev/null and returns the host key algorithms to offer (spec's list,
 * else OpenSSH 9.2's default less what libssh cannot do), with the types
 * known for this host first as OpenSSH orders them. NULL with *error. */
char *knownhosts_prepare(ssh_session session, const HopSpec *spec,
			 const char *label, GError **error);

/* After the key exchange: the decision for the server's key. FALSE with
 * *error (JUMPFS_ERROR_HOSTKEY_*, JUMPFS_ERROR_NO_PROMPT) naming the hop,
 * the name, the key and the file and line that decided. */
gboolean knownhosts_verify(ssh_session session, const HopSpec *spec,
			   const char *label, HostKeyReport *report,
			   GError **error);

/* The same decision for a key already read (what knownhosts_verify does
 * once it has the server's key; unit tests call it directly). */
gboolean knownhosts_check_key(const HopSpec *spec, const char *label,
			      const KnownHostsKey *server, HostKeyReport *report,
			      GError **error);
/* The ordering knownhosts_prepare() returns, without a session. */
char *knownhosts_order_algorithms(const HopSpec *spec, const char *label,
				  GError **error);

void host_key_report_clear(HostKeyReport *report);

#endif
