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

/* One hop of a chain, fully resolved. All strings are owned.
 *
 * This struct is the contract between chain/config (which fills every
 * field, OpenSSH's defaults included) and the code that connects
 * (hop.c, knownhosts.c, auth.c, proxy command). A consumer never reads
 * ssh_config itself. Where a field below says "NULL = default", the
 * consumer uses libssh's / OpenSSH's default. */
typedef struct {
	char *alias;               /* name as given (command line / ProxyJump), %n */
	char *local_user;          /* %u; whose ~/.ssh was read */
	char *home_dir;            /* %d */
	char *hostname;            /* HostName (with %h expanded), else alias */
	char *user;                /* never NULL */
	int port;                  /* never 0 */
	GPtrArray *identity_files; /* char *, ~, %-tokens and ${VAR} expanded;
	                              OpenSSH's default list when none is
	                              configured; empty only with
	                              IdentityFile none (then no file) */
	gboolean identities_only;
	GPtrArray *certificate_files; /* char *, CertificateFile, expanded */
	char *identity_agent;      /* socket path to use; NULL = no agent
	                              (IdentityAgent none, or no SSH_AUTH_SOCK
	                              in the requester's environment) */
	GPtrArray *user_known_hosts;   /* char *, expanded; empty only for
	                                  UserKnownHostsFile none (nothing is
	                                  ever recorded then, as in ssh) */
	GPtrArray *global_known_hosts; /* char *, expanded; never empty */
	StrictHostKey strict_host_key;
	char *host_key_alias;      /* HostKeyAlias; NULL = hostname */
	gboolean hash_known_hosts; /* HashKnownHosts: accept-new writes |1| */
	char *revoked_host_keys;   /* RevokedHostKeys file as written: ssh 9.2
	                              expands no ~ in it; NULL = none */
	char *known_hosts_command; /* KnownHostsCommand as written (tokens
	                              %f %H %I %K %t are known only at connect
	                              time: expand with config_expand_tokens()
	                              of chain/config-tokens.h, passing the
	                              ChainSpec's environment, as OpenSSH also
	                              expands ${VAR} there) */
	gboolean update_host_keys; /* accepted; jumpfs never rewrites known_hosts */
	int connect_timeout;       /* seconds; 0 = unset (mount default 30) */
	int canonicalize_hostname; /* CanonicalizeHostname: 0 no, 1 yes, 2
	                              always (hostname is already canonical) */
	int connection_attempts;   /* ConnectionAttempts; >= 1 */
	int server_alive_interval; /* seconds; 0 = off (as written);
	                              -1 = unset (mount default 15) */
	int server_alive_count_max;/* -1 = unset (default 3) */
	gboolean tcp_keep_alive;   /* TCPKeepAlive (SO_KEEPALIVE on hop 1) */
	char *bind_address;        /* BindAddress; NULL = any */
	char *bind_interface;      /* BindInterface; NULL = any */
	int address_family;        /* AF_UNSPEC, AF_INET or AF_INET6 */
	char *proxy_command;       /* tokens expanded, run as $SHELL -c "exec
	                              CMD"; NULL = none (TCP or ProxyJump) */
	gboolean proxy_use_fdpass; /* ProxyUseFdpass */
	/* Algorithm lists exactly as handed to libssh at this hop: OpenSSH's
	 * resolved list (+ - ^ applied to OpenSSH 9.2's defaults, or the
	 * user's list in its order), less what libssh 0.10 cannot speak.
	 * NULL = libssh's default (only before config fills them). */
	char *ciphers;
	gboolean ciphers_from_config; /* FALSE: hop may put AES-GCM first */
	char *kex_algorithms;
	char *hostkey_algorithms;
	gboolean hostkey_algorithms_fixed; /* the user wrote the whole list (or
	                              ^...): its order is kept, as ssh keeps it,
	                              instead of known key types first */
	char *macs;
	char *pubkey_accepted_algorithms;
	int required_rsa_size;     /* RequiredRSASize (default 1024) */
	gint64 rekey_limit_bytes;  /* RekeyLimit; 0 = default */
	int rekey_limit_seconds;   /* 0 = none */
	gboolean compression;
	gboolean batch_mode;
	gboolean password_auth;    /* PasswordAuthentication (default yes) */
	gboolean kbdint_auth;      /* KbdInteractiveAuthentication (default yes) */
	gboolean pubkey_auth;      /* PubkeyAuthentication (default yes) */
	gboolean gssapi_auth;      /* GSSAPIAuthentication (default no) */
	gboolean gssapi_delegate;  /* GSSAPIDelegateCredentials (default no) */
	char *preferred_authentications; /* never NULL once filled: OpenSSH's
	                              default "gssapi-with-mic,hostbased,
	                              publickey,keyboard-interactive,password" */
	int number_of_password_prompts; /* default 3 */
} HopSpec;

/* A whole chain: hops[0] is reached over TCP, every later one through the
 * one before it; the last hop is the target that serves SFTP. */
typedef struct {
	GPtrArray *hops; /* HopSpec *, owned */
	/* The requester's environment and working directory (copied from the
	 * ConfigRequest, or this process's): a ProxyCommand runs with them,
	 * also when the shared daemon serves another jumpfs command. */
	char **environment;  /* "NAME=value", NULL-terminated, owned */
	char *working_dir;   /* owned */
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
	const char *const *environment; /* "NAME=value", NULL-terminated, for
	                                   ${VAR}, IdentityAgent, Match exec;
	                                   NULL = this process's environ */
	const char *working_dir;     /* Match exec runs here; NULL = cwd */
	/* Name resolution for CanonicalizeHostname (and the CNAME rules):
	 * TRUE if name resolves for family (AF_UNSPEC, AF_INET, AF_INET6),
	 * with *canonical set to its canonical name when it has one. NULL =
	 * getaddrinfo(AI_CANONNAME). Tests inject their own so that they never
	 * send a DNS query. */
	gboolean (*resolve)(const char *name, int family, char **canonical,
	                    gpointer data);
	gpointer resolve_data;
} ConfigRequest;

ChainSpec *config_resolve(const ConfigRequest *request, GError **error);

/* `ssh -G` for request: resolves the whole chain without connecting and
 * returns the target's lines in ssh -G's format (lowercase keyword, a
 * space, the value) for the keywords jumpfs uses, then comment lines
 * ("# jumpfs: ...") where jumpfs differs and for each hop. mount_defaults:
 * note the mount defaults (ServerAliveInterval 15, ConnectTimeout 30). */
char *config_print(const ConfigRequest *request, gboolean mount_defaults,
                   GError **error);
void chain_spec_free(ChainSpec *chain);
void hop_spec_free(HopSpec *hop);
HopSpec *hop_spec_copy(const HopSpec *hop);

/* "user@hostname:port": names a hop in messages. */
char *hop_spec_key(const HopSpec *hop);

/* Every field of hop that changes the session it gets (address, user,
 * algorithms, ProxyCommand, host key policy, identities, keepalives...):
 * two chains share a live hop only when these keys are equal. Whoever adds
 * a HopSpec field that changes a session adds it here. */
char *hop_spec_session_key(const HopSpec *hop);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChainSpec, chain_spec_free)

#endif
