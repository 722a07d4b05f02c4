/* The user's ssh-agent as libssh sees it: through a filter of jumpfs's own.
 *
 * libssh 0.10's ssh_userauth_agent() tries every key the agent lists, in
 * the agent's order, and reads SSH_AUTH_SOCK of the process. OpenSSH
 * orders and filters the agent's keys (IdentitiesOnly, IdentityFile first,
 * CertificateFile), and the shared daemon must use the requester's
 * IdentityAgent. So libssh gets one end of a socketpair
 * (ssh_set_agent_socket); a thread answers it with exactly the one
 * identity jumpfs offers at that moment and forwards only sign requests
 * for it to the real agent (IdentityAgent), substituting the plain key
 * when the identity is a certificate whose private key the agent holds.
 * Nothing else reaches the agent, and nothing is ever forwarded to a hop. */
#ifndef JUMPFS_CHAIN_AUTH_AGENT_H
#define JUMPFS_CHAIN_AUTH_AGENT_H

#include <glib.h>

typedef struct AuthAgent AuthAgent;

/* Connects to the agent socket at path and lists its keys. NULL with
 * *error when it cannot (no such socket, not an agent). */
AuthAgent *auth_agent_open(const char *path, GError **error);
/* The agent's keys (AuthWireIdentity *), in its order. */
const GPtrArray *auth_agent_identities(const AuthAgent *agent);

/* What the filter offers from now on: shown (a key or certificate blob),
 * signed by the agent's key signer (NULL = shown itself). */
void auth_agent_offer(AuthAgent *agent, GBytes *shown, const char *comment, GBytes *signer);
/* The fd for ssh_set_agent_socket (the session owns it from then on); the
 * filter thread starts on the first call. -1 with *error. */
int auth_agent_filter_fd(AuthAgent *agent, GError **error);

/* Stops the filter thread and closes the connection to the agent. */
void auth_agent_close(AuthAgent *agent);

#endif
