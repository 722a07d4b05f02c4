/* ssh_config text read into line records, once per config_resolve().
 *
 * Everything OpenSSH checks whether or not a line is active (syntax,
 * values, Match syntax, Include and the permissions of the files it
 * reads) is checked here; what depends on the host being resolved (Host
 * and Match blocks, first-wins, IgnoreUnknown) is left to config-eval.c.
 * Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_READ_H
#define JUMPFS_CHAIN_CONFIG_READ_H

#include <glib.h>

#include "chain/config-keywords.h"
#include "chain/config-match.h"

/* OpenSSH's READCONF_MAX_DEPTH, also used as the jump host limit. */
#define CONFIG_MAX_DEPTH 16

typedef struct ConfigFile ConfigFile;

typedef struct {
	const char *file;      /* owned by the ConfigFile holding the line */
	int line;              /* 0 for a -o option: file then says which */
	const ConfigKeyword *keyword; /* NULL: unknown (IgnoreUnknown decides) */
	char *name;            /* the keyword, lowercased, for messages */
	char **args;           /* words (argv_split), at least one */
	char *raw;             /* the rest of the line (commands, ProxyJump) */
	ConfigValue value;     /* the parsed value */
	gboolean user_file;    /* read from a user file (or -o): SSHCONF_USERCONF */
	ConfigMatch *match;    /* Match: the criteria */
	GPtrArray *includes;   /* Include: ConfigFile * */
} ConfigLine;

struct ConfigFile {
	char *path;
	GPtrArray *lines;      /* ConfigLine * */
};

/* How to read one top-level file (OpenSSH's read_config_file flags). */
typedef struct {
	const char *home_dir;     /* for ~ in Include */
	const char *local_user;   /* ~local_user is home_dir too */
	const char *include_dir;  /* base of relative Include paths */
	gboolean user_config;     /* SSHCONF_USERCONF: ~ allowed in Include */
	gboolean check_perm;      /* SSHCONF_CHECKPERM for the file itself
	                             (its includes are always checked) */
	const char *const *environment; /* for checks of ${VAR}; NULL = this
	                                   process's */
} ConfigParseContext;

/* Reads and parses path and everything it includes. A missing file gives
 * NULL without an error unless must_exist. */
ConfigFile *config_file_read(const char *path, const ConfigParseContext *ctx,
                             gboolean must_exist, GError **error);

/* Parses config text that is not a file (tests, the fuzzer): name is used
 * in messages; Include reads real files relative to ctx->include_dir. */
ConfigFile *config_file_parse_text(const char *name, const char *text,
                                   const ConfigParseContext *ctx,
                                   GError **error);

/* Parses -o options ("Keyword=value" or "Keyword value"): one ConfigFile
 * per option, named after it for messages. */
GPtrArray *config_options_parse(const char *const *options,
                                const char *const *environment,
                                GError **error);

void config_file_free(ConfigFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConfigFile, config_file_free)

#endif
