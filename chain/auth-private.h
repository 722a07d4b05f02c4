/* Shared by the chain/auth*.c files only: one login attempt at one hop,
 * and what every method needs (notes for the error message, asking,
 * the -o password_stdin secret). Implemented in auth-attempt.c. */
#ifndef JUMPFS_CHAIN_AUTH_PRIVATE_H
#define JUMPFS_CHAIN_AUTH_PRIVATE_H

#include <glib.h>
#include <libssh/libssh.h>

#include "chain/config.h"

#define AUTH_SECRET_MAX 1024

typedef enum {
	AUTH_SUCCESS,
	AUTH_PARTIAL,        /* accepted; the server wants another method too */
	AUTH_DENIED,         /* tried and refused: the next method may work */
	AUTH_NOT_APPLICABLE, /* nothing to try (no key, no agent, exhausted) */
	AUTH_FAILED,         /* the session is broken: stop */
} AuthOutcome;

typedef struct AuthAgent AuthAgent;

typedef struct {
	ssh_session session;
	const HopSpec *spec;
	const char *label;       /* "hop 2/3 (user2@host:2222)" */
	char *position;          /* "hop 2/3" */
	gboolean is_target;      /* the last hop (SFTP) */
	gboolean stdin_password_here; /* -o password_stdin names this hop */
	GString *tried;          /* human list of what was offered */
	char *blocked;           /* first reason a secret could not be asked */
	gboolean cannot_ask;     /* nobody could be asked (BatchMode, no prompt) */
	char *method;            /* what worked */
	/* OpenSSH's counters, kept across partial-success rounds. */
	int password_attempts;
	int kbdint_attempts;
	gboolean kbdint_info_seen;
	AuthAgent *agent;        /* IdentityAgent, once opened (auth-pubkey.c) */
	gboolean agent_tried;    /* opened, or failed to: do not retry */
	gboolean agent_given;    /* its filter is the session's agent socket */
	char *home_dir;          /* for the default identity files */
} AuthAttempt;

/* One row of the method table (auth.c), as OpenSSH's Authmethod. */
typedef struct {
	const char *name;          /* as in PreferredAuthentications */
	AuthOutcome (*run)(AuthAttempt *attempt);
	int server_bit;            /* SSH_AUTH_METHOD_* of ssh_userauth_list */
	size_t enabled_offset;     /* the gboolean in HopSpec that enables it */
	gboolean interactive;      /* asks a person: off under BatchMode */
} AuthMethod;

const AuthMethod *auth_method_lookup(const char *name);
/* The methods to try, in order: PreferredAuthentications, less what the
 * server does not offer, what config disables, and (BatchMode) what would
 * ask a person; each once. g_ptr_array_unref it. */
GPtrArray *auth_methods_plan(const HopSpec *spec, int server_allows,
			     gboolean have_stdin_password);

/* The methods, each one row of the table in auth.c. */
AuthOutcome auth_method_gssapi(AuthAttempt *attempt);
AuthOutcome auth_method_publickey(AuthAttempt *attempt);
AuthOutcome auth_method_kbdint(AuthAttempt *attempt);
AuthOutcome auth_method_password(AuthAttempt *attempt);
/* Closes what publickey opened (the agent and its filter thread). */
void auth_pubkey_finish(AuthAttempt *attempt);

G_GNUC_PRINTF(2, 3) void auth_note_tried(AuthAttempt *attempt, const char *format, ...);
void auth_note_blocked(AuthAttempt *attempt, const char *why);
AuthOutcome auth_outcome(int ssh_auth_rc);

/* Asks through chain/prompt; never with BatchMode. The answer is copied
 * into buf, the only copy left once this returns. feedback may be NULL. */
gboolean auth_ask(AuthAttempt *attempt, const char *prompt, gboolean echo,
		  const char *feedback, char *buf, size_t size);

/* Kept by auth_setup (read before any thread), wiped by auth_cleanup. */
void auth_store_stdin_password(const char *password);
void auth_wipe_stdin_password(void);
/* The -o password_stdin password for this hop, once: TRUE and a copy in
 * buf the first time; it is wiped from the store. */
gboolean auth_take_stdin_password(AuthAttempt *attempt, char *buf, size_t size);
/* TRUE while this hop's stdin password is still unused. */
gboolean auth_has_stdin_password(const AuthAttempt *attempt);

/* Does hop match the -o password_stdin=HOP name: its alias, its host name,
 * user@host, host:port or user@host:port (host = alias or HostName). */
gboolean auth_hop_matches(const HopSpec *hop, const char *name);

/* keyboard-interactive text as shown: each line of a server's text
 * escaped (prompt_escape) and prefixed with tag, appended to out... */
void auth_append_server_lines(GString *out, const char *tag, const char *text);
/* ...and the question for one prompt: pending server lines, the prompt's
 * own earlier lines, then its last line, tagged, where the cursor waits. */
char *auth_kbdint_question(const char *tag, const GString *pending, const char *prompt);

/* Would OpenSSH's user call this keyboard-interactive prompt the password
 * prompt? Hidden input and the word "password": a one-time code, a PIN or
 * a token prompt never gets the stdin password. */
gboolean auth_prompt_is_password(const char *prompt, gboolean echo);

#endif
