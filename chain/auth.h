/* Authentication at one hop, as OpenSSH chooses: the methods in
 * PreferredAuthentications order (gssapi-with-mic, publickey with the
 * agent and key files, keyboard-interactive, password), each as often as
 * NumberOfPasswordPrompts allows. Never forwards the agent: the agent is
 * only asked to sign locally.
 *
 * Secrets (passwords, passphrases) come from, in this order: the one
 * password read by -o password_stdin (for the target, or the hop that
 * -o password_stdin=HOP names; only for a password prompt), or
 * prompt_ask() (chain/prompt.h: the terminal or $SSH_ASKPASS by default,
 * which auth_setup registers; the shared daemon's client per thread).
 * With BatchMode=yes nothing is ever asked. They are never logged and are
 * wiped from memory once used. */
#ifndef JUMPFS_CHAIN_AUTH_H
#define JUMPFS_CHAIN_AUTH_H

#include <glib.h>
#include <libssh/libssh.h>
#include "chain/config.h"

typedef struct {
	const char *home_dir;    /* default key files live in HOME/.ssh;
	                            NULL = g_get_home_dir() */
	gboolean password_stdin; /* read one password from stdin now */
	const char *password_stdin_hop; /* the hop it is for (alias or
	                            user@host[:port]); NULL = the target */
} AuthSetup;

/* Call once, before daemonizing and before any thread: remembers the home
 * directory, opens the terminal for prompts (if there is one: see
 * prompt-tty.h) and registers it as prompt_ask's process default, and
 * reads the stdin password. FALSE with *error if password_stdin found none. */
gboolean auth_setup(const AuthSetup *setup, GError **error);
/* FALSE with *error (JUMPFS_ERROR_CONFIG) when -o password_stdin=HOP names
 * no hop of chain, or several: call once the chain is resolved. */
gboolean auth_check_chain(const ChainSpec *chain, GError **error);
/* The daemon has left the terminal: never prompt on it again (a later
 * reconnect must not read what the user types into their shell). */
void auth_detach_tty(void);
/* Wipes and frees everything auth_setup() kept. */
void auth_cleanup(void);

/* is_target: the last hop of the chain (the default hop of -o
 * password_stdin; the only one credentials are ever delegated to).
 * Returns the name of the method that worked ("publickey (ssh-agent)",
 * "publickey (/home/u/.ssh/id_ed25519)", "password", ...; owned by the
 * caller via *method), or FALSE with *error naming the hop, the user,
 * what was tried and, when nothing could be asked, why. */
gboolean auth_authenticate(ssh_session session, const HopSpec *spec, const char *label,
			   gboolean is_target, char **method, GError **error);

#endif
