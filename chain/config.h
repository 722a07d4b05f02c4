/* ssh_config and command-line resolution into a list of hops.
 *
 * Pure logic: no sockets, no libssh. Follows OpenSSH's readconf.c
 * semantics: the first value obtained for a keyword wins, command-line
 * values come before any file, and every jump host is resolved under its
 * own Host name exactly as `ssh -J` does (a process per hop there, a
 * recursive resolution here). */
#ifndef JUMPFS_CHAIN_CONFIG_H
#define JUMPFS_CHAIN_CONFIG_H

#include <glib.h>

typedef enum {
	STRICT_HOSTKEY_ASK,        /* OpenSSH default; without a prompt = yes */
	STRICT_HOSTKEY_YES,
	STRICT_HOSTKEY_ACCEPT_NEW,
	STRICT_HOSTKEY_NO,
} StrictHostKey;

/* One hop of a chain, fully resolved. All strings are owned. */
typedef struct {
	char *alias;               /* name as given (command line / ProxyJump) */
	char *hostname;            /* HostName (with %h expanded), else alias */
	char *user;                /* never NULL */
	int port;                  /* never 0 */
	GPtrArray *identity_files; /* char *, ~ and %-tokens expanded */
	gboolean identities_only;
	GPtrArray *user_known_hosts;   /* char *, expanded; never empty */
	GPtrArray *global_known_hosts; /* char *, expanded; never empty */
	StrictHostKey strict_host_key;
	int connect_timeout;       /* seconds; 0 = system default */
	int server_alive_interval; /* seconds; 0 = unset */
	int server_alive_count_max;/* 0 = unset */
	char *ciphers;             /* NULL = library defaults */
	gboolean compression;
	gboolean batch_mode;
	gboolean password_auth;    /* PasswordAuthentication (default yes) */
	gboolean kbdint_auth;      /* KbdInteractiveAuthentication (default yes) */
	gboolean pubkey_auth;      /* PubkeyAuthentication (default yes) */
} HopSpec;

/* A whole chain: hops[0] is reached over TCP, every later one through the
 * one before it; the last hop is the target that serves SFTP. */
typedef struct {
	GPtrArray *hops; /* HopSpec *, owned */
} ChainSpec;

/* What the command line asked for. Only destination is required. */
typedef struct {
	const char *destination;     /* [user@]host, host may be an alias */
	const char *jump;            /* -J list, "none", or NULL for config */
	const char *config_file;     /* -F; NULL = user then system config */
	int port;                    /* -p; 0 = unset */
	const char *const *options;  /* -o "Keyword=value" (or "Keyword value"),
	                                NULL-terminated; target only */
	const char *home_dir;        /* NULL = g_get_home_dir() */
	const char *local_user;      /* NULL = g_get_user_name() */
	const char *system_config;   /* NULL = /etc/ssh/ssh_config */
} ConfigRequest;

ChainSpec *config_resolve(const ConfigRequest *request, GError **error);
void chain_spec_free(ChainSpec *chain);
void hop_spec_free(HopSpec *hop);
HopSpec *hop_spec_copy(const HopSpec *hop);

/* "user@hostname:port": names a hop in messages and keys the chain cache. */
char *hop_spec_key(const HopSpec *hop);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChainSpec, chain_spec_free)

#endif
