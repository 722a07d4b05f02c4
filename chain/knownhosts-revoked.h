/* RevokedHostKeys: is the server's key in the file? Read as OpenSSH 9.2's
 * sshkey_check_revoked() reads it: an OpenSSH KRL (binary, starting
 * "SSHKRL\n\0"), else a list of public keys, one per line.
 *
 * Pure: GLib only, fuzzed. A file that cannot be read completely is an
 * error, never "not revoked": OpenSSH refuses the connection then too
 * (a missing file, a list line that is no key, a KRL section it does not
 * know). One thing OpenSSH does that this cannot: check a signed KRL's
 * signature; a KRL with a signature section is refused with a message
 * saying so. Certificate sections are checked for shape only (the server's
 * key is never a certificate with libssh 0.10). */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_REVOKED_H
#define JUMPFS_CHAIN_KNOWNHOSTS_REVOKED_H

#include <glib.h>
#include "chain/knownhosts-key.h"

/* data is the whole file, source its name for messages. Returns FALSE
 * with *error (JUMPFS_ERROR_CONFIG, naming source and the line or
 * the KRL section) when the file cannot be used; else TRUE with *revoked,
 * and, when revoked, *where ("line 3", "KRL: explicit key") to be freed. */
gboolean knownhosts_revoked_check(const char *source, const guint8 *data,
				  gsize len, const KnownHostsKey *key,
				  gboolean *revoked, char **where, GError **error);

#endif
