/* ssh_config %-tokens and ${VAR}, as OpenSSH 9.2 expands them
 * (misc.c percent_expand / percent_dollar_expand, ssh_config(5) TOKENS).
 *
 * config_expand_tokens() is public: code that runs a configured command at
 * connect time (KnownHostsCommand's %f %H %I %K %t) expands it with the
 * hop's own values plus its extra ones, exactly as ssh does. */
#ifndef JUMPFS_CHAIN_CONFIG_TOKENS_H
#define JUMPFS_CHAIN_CONFIG_TOKENS_H

#include <glib.h>

#include "chain/config.h"

/* One token and its value; a list ends with token 0. */
typedef struct {
	char token;
	const char *value;
} ConfigToken;

/* The tokens every client keyword that takes tokens accepts in 9.2
 * (ssh.h DEFAULT_CLIENT_PERCENT_EXPAND_ARGS): C L i k l n p d h r u. */
#define CONFIG_DEFAULT_TOKENS "CLiklnpdhru"

/* Expands text for hop: the default client tokens from the hop's fields
 * (%C hash of %l%h%p%r, %d home, %h hostname, %i uid, %k HostKeyAlias or
 * alias, %L short and %l full local host name, %n alias, %p port, %r user,
 * %u local user, %%), then extra (may be NULL). With environment non-NULL
 * ("NAME=value", NULL-terminated), ${VAR} is expanded from it first, as
 * for the keywords OpenSSH dollar-expands. An unknown token, a '%' at the
 * end, or an unset / malformed ${VAR} fails with JUMPFS_ERROR_CONFIG,
 * naming keyword and the hop. */
char *config_expand_tokens(const char *text, const HopSpec *hop,
                           const ConfigToken *extra,
                           const char *const *environment,
                           const char *keyword, GError **error);

/* The engine: only the tokens listed (plus %%); dollar: ${VAR} first,
 * from environment (NULL = this process's). NULL with *reason (static)
 * and *bad (the token) on failure. */
char *config_tokens_apply(const char *text, const ConfigToken *tokens,
                          gboolean dollar, const char *const *environment,
                          const char **reason, char **bad);

/* The values behind CONFIG_DEFAULT_TOKENS, owned by the struct. */
typedef struct {
	char *conn_hash;   /* %C */
	char *short_host;  /* %L */
	char *uid;         /* %i */
	char *key_alias;   /* %k */
	char *this_host;   /* %l */
	char *host_arg;    /* %n */
	char *port;        /* %p */
	char *home_dir;    /* %d */
	char *remote_host; /* %h */
	char *remote_user; /* %r */
	char *local_user;  /* %u */
	ConfigToken list[12];
} ConfigTokenSet;

/* Fills set (and its list) from the connection's values. */
void config_token_set_init(ConfigTokenSet *set, const char *host_arg,
                           const char *remote_host, const char *remote_user,
                           int port, const char *key_alias,
                           const char *home_dir, const char *local_user);
void config_token_set_clear(ConfigTokenSet *set);

/* A copy of tokens without the ones not in allowed. */
ConfigToken *config_tokens_only(const ConfigToken *tokens,
                                const char *allowed);

#endif
