/* The ssh_config keyword table: every client keyword of Debian's OpenSSH
 * 9.2, one descriptor each, as readconf.c's keywords[] (aliases share a
 * slot). A descriptor says how the value is parsed (kind), where it goes
 * (its slot in ConfigOptions), its default, and either that it takes
 * effect in jumpfs or why it has none on a file system.
 *
 * Values are checked when a file is read, active or not, as OpenSSH does;
 * they are applied (first value wins) when a Host/Match block is active.
 * Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_KEYWORDS_H
#define JUMPFS_CHAIN_CONFIG_KEYWORDS_H

#include <glib.h>

/* Slots, in readconf.c's OpCodes order. */
typedef enum {
	CONFIG_KW_BAD,
	CONFIG_KW_HOST, CONFIG_KW_MATCH, CONFIG_KW_INCLUDE,
	CONFIG_KW_FORWARD_AGENT, CONFIG_KW_FORWARD_X11,
	CONFIG_KW_FORWARD_X11_TRUSTED, CONFIG_KW_FORWARD_X11_TIMEOUT,
	CONFIG_KW_GATEWAY_PORTS, CONFIG_KW_EXIT_ON_FORWARD_FAILURE,
	CONFIG_KW_PASSWORD_AUTH, CONFIG_KW_XAUTH_LOCATION,
	CONFIG_KW_IDENTITY_FILE, CONFIG_KW_HOSTNAME, CONFIG_KW_PORT,
	CONFIG_KW_REMOTE_FORWARD, CONFIG_KW_LOCAL_FORWARD,
	CONFIG_KW_PERMIT_REMOTE_OPEN, CONFIG_KW_CERTIFICATE_FILE,
	CONFIG_KW_ADD_KEYS_TO_AGENT, CONFIG_KW_IDENTITY_AGENT, CONFIG_KW_USER,
	CONFIG_KW_ESCAPE_CHAR, CONFIG_KW_PROXY_COMMAND,
	CONFIG_KW_GLOBAL_KNOWN_HOSTS, CONFIG_KW_USER_KNOWN_HOSTS,
	CONFIG_KW_CONNECTION_ATTEMPTS, CONFIG_KW_BATCH_MODE,
	CONFIG_KW_CHECK_HOST_IP, CONFIG_KW_STRICT_HOST_KEY,
	CONFIG_KW_COMPRESSION, CONFIG_KW_TCP_KEEP_ALIVE,
	CONFIG_KW_PASSWORD_PROMPTS, CONFIG_KW_LOG_FACILITY, CONFIG_KW_LOG_LEVEL,
	CONFIG_KW_LOG_VERBOSE, CONFIG_KW_CIPHERS, CONFIG_KW_MACS,
	CONFIG_KW_PUBKEY_AUTH, CONFIG_KW_KBDINT_AUTH, CONFIG_KW_KBDINT_DEVICES,
	CONFIG_KW_HOST_KEY_ALIAS, CONFIG_KW_DYNAMIC_FORWARD,
	CONFIG_KW_PREFERRED_AUTHENTICATIONS, CONFIG_KW_HOSTBASED_AUTH,
	CONFIG_KW_HOST_KEY_ALGORITHMS, CONFIG_KW_BIND_ADDRESS,
	CONFIG_KW_BIND_INTERFACE, CONFIG_KW_PKCS11_PROVIDER,
	CONFIG_KW_CLEAR_ALL_FORWARDINGS, CONFIG_KW_NO_HOST_AUTH_LOCALHOST,
	CONFIG_KW_ENABLE_SSH_KEYSIGN, CONFIG_KW_REKEY_LIMIT,
	CONFIG_KW_VERIFY_HOST_KEY_DNS, CONFIG_KW_CONNECT_TIMEOUT,
	CONFIG_KW_ADDRESS_FAMILY, CONFIG_KW_GSSAPI_AUTH,
	CONFIG_KW_GSSAPI_DELEGATE, CONFIG_KW_SERVER_ALIVE_INTERVAL,
	CONFIG_KW_SERVER_ALIVE_COUNT_MAX, CONFIG_KW_IDENTITIES_ONLY,
	CONFIG_KW_SEND_ENV, CONFIG_KW_SET_ENV, CONFIG_KW_CONTROL_PATH,
	CONFIG_KW_CONTROL_MASTER, CONFIG_KW_CONTROL_PERSIST,
	CONFIG_KW_HASH_KNOWN_HOSTS, CONFIG_KW_TUNNEL, CONFIG_KW_TUNNEL_DEVICE,
	CONFIG_KW_LOCAL_COMMAND, CONFIG_KW_PERMIT_LOCAL_COMMAND,
	CONFIG_KW_REMOTE_COMMAND, CONFIG_KW_VISUAL_HOST_KEY,
	CONFIG_KW_KEX_ALGORITHMS, CONFIG_KW_IPQOS, CONFIG_KW_REQUEST_TTY,
	CONFIG_KW_SESSION_TYPE, CONFIG_KW_STDIN_NULL,
	CONFIG_KW_FORK_AFTER_AUTH, CONFIG_KW_IGNORE_UNKNOWN,
	CONFIG_KW_PROXY_USE_FDPASS, CONFIG_KW_CANONICAL_DOMAINS,
	CONFIG_KW_CANONICALIZE_HOSTNAME, CONFIG_KW_CANONICALIZE_MAX_DOTS,
	CONFIG_KW_CANONICALIZE_FALLBACK_LOCAL,
	CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES,
	CONFIG_KW_STREAMLOCAL_BIND_MASK, CONFIG_KW_STREAMLOCAL_BIND_UNLINK,
	CONFIG_KW_REVOKED_HOST_KEYS, CONFIG_KW_FINGERPRINT_HASH,
	CONFIG_KW_UPDATE_HOST_KEYS, CONFIG_KW_HOSTBASED_ALGORITHMS,
	CONFIG_KW_PUBKEY_ALGORITHMS, CONFIG_KW_CA_SIGNATURE_ALGORITHMS,
	CONFIG_KW_PROXY_JUMP, CONFIG_KW_SECURITY_KEY_PROVIDER,
	CONFIG_KW_KNOWN_HOSTS_COMMAND, CONFIG_KW_REQUIRED_RSA_SIZE,
	CONFIG_KW_ENABLE_ESCAPE_COMMANDLINE,
	/* Debian's GSSAPI key exchange patch. */
	CONFIG_KW_GSSAPI_KEY_EXCHANGE, CONFIG_KW_GSSAPI_CLIENT_IDENTITY,
	CONFIG_KW_GSSAPI_SERVER_IDENTITY, CONFIG_KW_GSSAPI_RENEWAL_REKEY,
	CONFIG_KW_GSSAPI_TRUST_DNS, CONFIG_KW_GSSAPI_KEX_ALGORITHMS,
	/* No slot: accepted and dropped (readconf.c oIgnore, oDeprecated,
	 * oUnsupported). */
	CONFIG_KW_IGNORE, CONFIG_KW_DEPRECATED, CONFIG_KW_UNSUPPORTED,
	CONFIG_KW_COUNT
} ConfigKw;

typedef enum {
	CONFIG_KIND_NONE,     /* Host, Match, Include, ignored: own handling */
	CONFIG_KIND_FLAG,     /* yes/no/true/false */
	CONFIG_KIND_ENUM,     /* one of ConfigKeyword.values */
	CONFIG_KIND_INT,      /* 0..INT_MAX */
	CONFIG_KIND_TIME,     /* convtime(), or "none" (stays unset) */
	CONFIG_KIND_STRING,   /* one word, first wins */
	CONFIG_KIND_COMMAND,  /* the rest of the line, first wins */
	CONFIG_KIND_LIST,     /* several words, set once */
	CONFIG_KIND_ADD,      /* one word per line, accumulates */
	CONFIG_KIND_ALGOS,    /* an algorithm list with + - ^ */
	CONFIG_KIND_SPECIAL,  /* parsed by its own case */
} ConfigKind;

/* A multistate value (readconf.c struct multistate). */
typedef struct {
	const char *name;
	int value;
} ConfigEnum;

typedef struct {
	const char *name;         /* lowercase, as OpenSSH spells it */
	ConfigKw kw;
	ConfigKind kind;
	const ConfigEnum *values; /* ENUM; also how -G prints FLAG/ENUM */
	int default_value;        /* FLAG/ENUM/INT/TIME when unset */
	const char *no_effect;    /* NULL: takes effect in jumpfs; else why a
	                             file system has no use for it */
} ConfigKeyword;

/* One keyword's value, parsed from a line or held in ConfigOptions. */
typedef struct {
	gboolean set;
	int number;          /* FLAG, ENUM, INT, TIME; first of a pair */
	int number2;         /* second of a pair (RekeyLimit seconds, ...) */
	gint64 size;         /* RekeyLimit bytes */
	char *text;          /* STRING, COMMAND, ALGOS */
	GPtrArray *list;     /* LIST, ADD: char * */
	GArray *from_user;   /* ADD: gboolean per entry, read from a user
	                        file (OpenSSH's "userprovided": a name given
	                        by the user and by the system file is kept
	                        twice) */
	const char *file;    /* where it was set (owned by the line) */
	int line;
} ConfigValue;

/* The descriptor for a keyword as written (any case); NULL if unknown. */
const ConfigKeyword *config_keyword_lookup(const char *keyword);

/* The descriptor holding slot kw (its first name). */
const ConfigKeyword *config_keyword_by_slot(ConfigKw kw);

/* All descriptors, for tests and the fuzzer's dictionary. */
const ConfigKeyword *config_keyword_table(gsize *count);

/* Parses one line's words (args, NULL-terminated; raw = the rest of the
 * line for commands) for keyword into value, as readconf.c checks it
 * (IdentityAgent's ${VAR} against environment, NULL = this process's);
 * FALSE with a JUMPFS_ERROR_CONFIG error naming file and line. */
gboolean config_keyword_parse(const ConfigKeyword *keyword,
                              char **args, const char *raw,
                              const char *file, int line,
                              const char *const *environment,
                              ConfigValue *value, GError **error);

void config_value_clear(ConfigValue *value);
void config_value_copy(ConfigValue *to, const ConfigValue *from);

/* How ssh -G prints an enum or flag value. */
const char *config_keyword_format(const ConfigKeyword *keyword, int value);

/* Multistate tables shared with other files. */
extern const ConfigEnum config_enum_flag[];
extern const ConfigEnum config_enum_strict[];
extern const ConfigEnum config_enum_canonicalize[];
extern const ConfigEnum config_enum_address_family[];

/* Values that other files compare against. */
enum {
	CONFIG_CANON_NO = 0, CONFIG_CANON_YES = 1, CONFIG_CANON_ALWAYS = 2,
};
enum {
	CONFIG_STRICT_OFF = 0, CONFIG_STRICT_NEW = 1, CONFIG_STRICT_YES = 2,
	CONFIG_STRICT_ASK = 3,
};
enum { CONFIG_UPDATE_NO = 0, CONFIG_UPDATE_YES = 1, CONFIG_UPDATE_ASK = 2 };

#endif
