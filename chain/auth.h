/* Authentication at one hop: agent, key files (asking for passphrases),
 * keyboard-interactive, password. Never forwards the agent: the agent is
 * only asked to sign locally.
 *
 * Secrets (passwords, passphrases) come from, in this order: the one
 * password read by -o password_stdin (for the first hop that asks), or
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
} AuthSetup;

/* Call once, before daemonizing and before any thread: remembers the home
 * directory, opens the terminal for prompts (if there is one: see
 * prompt-tty.h) and registers it as prompt_ask's process default, and
 * reads the stdin password. FALSE with *error if password_stdin found none. */
gboolean auth_setup(const AuthSetup *setup, GError **error);
/* The daemon has left the terminal: never prompt on it again (a later
 * reconnect must not read what the user types into their shell). */
void auth_detach_tty(void);
/* Wipes and frees everything auth_setup() kept. */
void auth_cleanup(void);

/* Returns the name of the method that worked ("publickey (ssh-agent)",
 * "publickey (/home/u/.ssh/id_ed25519)", "password", ...; owned by the
 * caller via *method), or FALSE with *error naming the hop, the user,
 * what was tried and, when nothing could be asked, why. */
gboolean auth_authenticate(ssh_session session, const HopSpec *spec,
			   const char *label, char **method, GError **error);

#endif
