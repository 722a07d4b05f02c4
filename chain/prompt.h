/* Asking the person behind a mount: passwords, passphrases, one-time
 * codes, "are you sure you want to continue connecting".
 *
 * Whoever can reach that person registers an asker: the process default
 * (the terminal, else $SSH_ASKPASS; registered by auth_setup), or, for one
 * thread, another one (the shared daemon, while it sets up a mount for a
 * jumpfs command, asks that command over its control socket). No asker
 * means nobody can be asked: a reconnect in the background refuses rather
 * than waits. Only one question is on a terminal at a time. */
#ifndef JUMPFS_CHAIN_PROMPT_H
#define JUMPFS_CHAIN_PROMPT_H

#include <glib.h>

typedef struct {
	const char *hop_label; /* "hop 2/3 (user2@jumphost2:2222)" */
	const char *text;      /* the whole question; control characters
	                          already escaped (prompt_escape) */
	gboolean echo;         /* the answer may be shown as it is typed */
	gboolean secret;       /* a password or passphrase: wiped after use */
	const char *feedback;  /* NULL, or said on its own line before the
	                          question ("Permission denied, please try
	                          again."); an asker without a terminal may drop
	                          it, as OpenSSH does with SSH_ASKPASS */
} PromptQuestion;

/* Returns the answer (g_malloc'd, without the newline), or NULL with
 * *error: JUMPFS_ERROR_NO_PROMPT when nobody can be asked, JUMPFS_ERROR_AUTH
 * when the person declined (end of input, Ctrl-C). The message says why,
 * not which hop: the caller's own message names it. Callers honour
 * BatchMode themselves (it asks nothing at all). */
typedef char *(*PromptAsker)(const PromptQuestion *question,
			     gpointer user_data, GError **error);

/* The process default; NULL = nobody. */
void prompt_set_default_asker(PromptAsker asker, gpointer user_data);
/* For the calling thread only, ahead of the default; NULL clears it. */
void prompt_set_thread_asker(PromptAsker asker, gpointer user_data);
/* The calling thread's own asker (NULL: none), to put back after a
 * prompt_set_thread_asker that is meant for one call only. */
PromptAsker prompt_get_thread_asker(gpointer *user_data);
/* The calling thread's asker, else the default; one question at a time. */
char *prompt_ask(const PromptQuestion *question, GError **error);
/* Wipes (secrets) and frees an answer; NULL is fine. */
void prompt_answer_free(char *answer);

/* text with every control character shown as \xNN (C0, DEL, C1) or
 * \uNNNN (Unicode format and separator characters: bidi overrides,
 * zero-width ones, U+2028/9), and every byte that is not UTF-8 as \xNN,
 * so that a server's text cannot move the cursor, repaint the line or
 * reorder what is shown. Newlines too, unless keep_newlines. */
char *prompt_escape(const char *text, gboolean keep_newlines);

#endif
