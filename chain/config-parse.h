/* Internal to config_lib: ssh_config text parsed into line records.
 *
 * Parsing does not depend on the host being resolved, so each file is read
 * once per config_resolve() and then evaluated once per hop. Everything
 * that OpenSSH checks whether or not a line is active (syntax, values,
 * Include, Match) is checked here; what depends on the host (Host blocks,
 * first-wins, IgnoreUnknown) is left to the evaluation in config.c. */
#ifndef JUMPFS_CHAIN_CONFIG_PARSE_H
#define JUMPFS_CHAIN_CONFIG_PARSE_H

#include <glib.h>

/* OpenSSH's READCONF_MAX_DEPTH, also used as the jump host limit. */
#define CONFIG_MAX_DEPTH 16

typedef enum {
	CONFIG_OP_BAD,          /* unknown: error unless IgnoreUnknown matches */
	CONFIG_OP_IGNORED,      /* known OpenSSH keyword jumpfs does not use */
	CONFIG_OP_HOST,
	CONFIG_OP_MATCH,        /* refused while parsing, never stored */
	CONFIG_OP_INCLUDE,
	CONFIG_OP_HOSTNAME,
	CONFIG_OP_USER,
	CONFIG_OP_PORT,
	CONFIG_OP_IDENTITY_FILE,
	CONFIG_OP_IDENTITIES_ONLY,
	CONFIG_OP_PROXY_JUMP,
	CONFIG_OP_PROXY_COMMAND,
	CONFIG_OP_USER_KNOWN_HOSTS,
	CONFIG_OP_GLOBAL_KNOWN_HOSTS,
	CONFIG_OP_STRICT_HOST_KEY,
	CONFIG_OP_CONNECT_TIMEOUT,
	CONFIG_OP_ALIVE_INTERVAL,
	CONFIG_OP_ALIVE_COUNT_MAX,
	CONFIG_OP_CIPHERS,
	CONFIG_OP_COMPRESSION,
	CONFIG_OP_BATCH_MODE,
	CONFIG_OP_PASSWORD_AUTH,
	CONFIG_OP_KBDINT_AUTH,
	CONFIG_OP_PUBKEY_AUTH,
	CONFIG_OP_IGNORE_UNKNOWN,
} ConfigOpcode;

typedef struct ConfigFile ConfigFile;

typedef struct {
	const char *file;      /* owned by the ConfigFile holding the line */
	int line;              /* 0 for a -o option: file then says which */
	ConfigOpcode op;
	char *keyword;         /* as written, for messages */
	char **args;           /* unquoted arguments, at least one */
	char *raw;             /* rest of the line (ProxyCommand) */
	int value;             /* parsed port, flag, time, StrictHostKey */
	GPtrArray *includes;   /* ConfigFile *, for Include */
} ConfigLine;

struct ConfigFile {
	char *path;
	GPtrArray *lines;      /* ConfigLine * */
};

/* How to read one top-level file (OpenSSH's SSHCONF_USERCONF or not). */
typedef struct {
	const char *home_dir;     /* for ~ in Include */
	const char *local_user;   /* ~local_user is home_dir too */
	const char *include_dir;  /* base of relative Include paths */
	gboolean user_config;     /* ~ allowed in Include (user and -F files) */
} ConfigParseContext;

/* Reads and parses path and everything it includes. A missing file gives
 * NULL without an error unless must_exist. */
ConfigFile *config_file_read(const char *path, const ConfigParseContext *ctx,
                             gboolean must_exist, GError **error);

/* Parses -o options ("Keyword=value" or "Keyword value"): one ConfigFile
 * per option, named after it for messages. */
GPtrArray *config_options_parse(const char *const *options, GError **error);

void config_file_free(ConfigFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConfigFile, config_file_free)

/* Sets a JUMPFS_ERROR_CONFIG error prefixed with "FILE line N: " (just
 * "FILE: " when line is 0, nothing when file is NULL). Returns FALSE. */
gboolean config_set_error(GError **error, const char *file, int line,
                          const char *format, ...) G_GNUC_PRINTF(4, 5);

/* One ProxyJump / -J element: [user@]host[:port] or ssh://[user@]host[:port]
 * (IPv6 in brackets). *user is NULL and *port 0 when not given. */
gboolean config_parse_jump_element(const char *text, char **user,
                                   char **host, int *port);

/* Whole ProxyJump / -J list syntax: "none" or comma-separated elements. */
gboolean config_jump_list_valid(const char *list);

/* "ssh://[user@]host[:port]": returns -1 on a malformed URI, 0 on success,
 * 1 if text is not an ssh:// URI at all. */
int config_parse_ssh_uri(const char *text, char **user, char **host,
                         int *port);

/* OpenSSH match_pattern(): '*' and '?', case-insensitive here. */
gboolean config_pattern_match(const char *pattern, const char *text);

/* OpenSSH match_pattern_list(): comma list, "!" negation wins. */
gboolean config_pattern_list_match(const char *list, const char *text);

/* ~ and ~user at the start of path; NULL if ~user is unknown. */
char *config_tilde_expand(const char *path, const char *home_dir,
                          const char *local_user);

#endif
