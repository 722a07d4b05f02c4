/* The process's own way of asking: the terminal jumpfs was started on,
 * else $SSH_ASKPASS, as OpenSSH's read_passphrase() decides. An asker for
 * chain/prompt.h (auth_setup registers it as the process default). */
#ifndef JUMPFS_CHAIN_PROMPT_TTY_H
#define JUMPFS_CHAIN_PROMPT_TTY_H

#include "chain/prompt.h"

/* Call before daemonizing and before any thread: opens /dev/tty, but only
 * when this process is in the terminal's foreground (started with `&`, a
 * prompt would steal the shell's input). */
void prompt_tty_open(void);
/* The daemon has left the terminal: never read from it again (a later
 * reconnect must not read what the user types into their shell).
 * $SSH_ASKPASS may still be asked. */
void prompt_tty_detach(void);

/* The PromptAsker: the terminal (unless SSH_ASKPASS_REQUIRE=force|prefer),
 * else $SSH_ASKPASS (unless SSH_ASKPASS_REQUIRE=never). Errors say why
 * without naming the hop (the caller's message does):
 * JUMPFS_ERROR_NO_PROMPT (nobody to ask), JUMPFS_ERROR_AUTH (cancelled). */
char *prompt_tty_ask(const PromptQuestion *question, gpointer user_data, GError **error);

#endif
