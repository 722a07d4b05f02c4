/* Authentication at one hop: agent, key files, (later) passwords.
 * Never forwards the agent: the agent is only asked to sign locally. */
#ifndef JUMPFS_CHAIN_AUTH_H
#define JUMPFS_CHAIN_AUTH_H

#include <glib.h>
#include <libssh/libssh.h>
#include "chain/config.h"

/* Returns the name of the method that worked ("publickey (agent)",
 * "publickey (/home/u/.ssh/id_ed25519)", ...; static or owned by the
 * caller via *method), or NULL with *error naming the hop, the user and
 * what was tried. */
gboolean auth_authenticate(ssh_session session, const HopSpec *spec,
			   const char *label, char **method, GError **error);

#endif
