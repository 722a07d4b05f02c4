/* Host key policy: OpenSSH's known_hosts rules for one hop. */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_H
#define JUMPFS_CHAIN_KNOWNHOSTS_H

#include <glib.h>
#include <libssh/libssh.h>
#include "chain/config.h"

/* What was found, for --check and -d. */
typedef struct {
	char *key_type;       /* "ssh-ed25519" */
	char *fingerprint;    /* "SHA256:..." */
	const char *status;   /* "known", "added (accept-new)", ... */
} HostKeyReport;

/* session is connected (key exchange done) with HOST and PORT set to the
 * hop's HostName and Port, as known_hosts names it. Returns FALSE with
 * *error naming the hop, host:port and both fingerprints on a mismatch,
 * or how to add the key when it is unknown and the policy refuses. */
gboolean knownhosts_verify(ssh_session session, const HopSpec *spec,
			   const char *label, HostKeyReport *report,
			   GError **error);
void host_key_report_clear(HostKeyReport *report);

#endif
