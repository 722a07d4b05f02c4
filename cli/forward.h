/* Questions over the control socket, both ends. While the shared daemon
 * sets up a mount for a jumpfs command, its asker for that thread sends
 * each question (a password, an unknown host key) to the command, which
 * asks its person as if it had asked itself, and sends the answer back.
 * Secrets are wiped on both sides. */
#ifndef JUMPFS_CLI_FORWARD_H
#define JUMPFS_CLI_FORWARD_H

#include "chain/prompt.h"
#include "cli/control.h"

typedef struct {
	int client_fd;   /* the connection of the command that asked */
	int cancel_fd;   /* readable: stop waiting (daemon stopping); or -1 */
} ForwardTarget;

/* Daemon side, a PromptAsker: user_data is a ForwardTarget. NULL with
 * JUMPFS_ERROR_NO_PROMPT when the command went away, or the command's own
 * error (JUMPFS_ERROR_NO_PROMPT: it has nobody to ask either;
 * JUMPFS_ERROR_AUTH: its person declined). */
char *forward_ask(const PromptQuestion *question, gpointer user_data, GError **error);

/* Client side: asks question (a CONTROL_QUESTION frame) with this
 * process's askers (prompt_ask) and sends the answer or the refusal.
 * FALSE if the frame is malformed or the daemon is gone. */
gboolean forward_answer(int fd, const ControlMessage *question);

#endif
