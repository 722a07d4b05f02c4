/* One host's options from parsed files: the Host / Match / Include walk
 * and first-value-wins of readconf.c process_config_line_depth(), with
 * the options held in one slot per keyword. Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_EVAL_H
#define JUMPFS_CHAIN_CONFIG_EVAL_H

#include <glib.h>

#include "chain/config-keywords.h"
#include "chain/config-read.h"

/* OpenSSH's Options while reading: a slot unset until a value wins. */
typedef struct {
	ConfigValue values[CONFIG_KW_COUNT];
	int rekey_interval;    /* RekeyLimit's second value; -1 = unset */
	/* ProxyJump as parse_jump() leaves it. */
	char *jump_user;       /* NULL = none given */
	char *jump_host;       /* NULL = unset; "none" = ProxyJump none */
	int jump_port;         /* -1 = none given; 0 with jump_host "none" */
	char *jump_extra;      /* the hops before jump_host, or NULL */
	const char *jump_file; /* where ProxyJump was set, for messages */
	int jump_line;
} ConfigOptions;

void config_options_init(ConfigOptions *opts);
void config_options_clear(ConfigOptions *opts);

/* The slot's value if set, else NULL. */
const ConfigValue *config_options_get(const ConfigOptions *opts, ConfigKw kw);

/* Sets a slot as a command-line value would (first wins); text may be
 * NULL for number-only slots. */
void config_options_set(ConfigOptions *opts, ConfigKw kw, int number,
                        const char *text);

/* parse_jump(active): sets the jump fields from a ProxyJump / -J list
 * unless a ProxyJump or ProxyCommand was set before. strict: a -J list,
 * whose host and user names must not hold shell metacharacters. */
gboolean config_options_set_jump(ConfigOptions *opts, const char *list,
                                 gboolean strict, const char *file, int line,
                                 GError **error);

typedef struct {
	const char *host;          /* what Host patterns match */
	const char *original_host; /* the name as given (Match originalhost) */
	gboolean final_pass;
	gboolean *want_final;      /* set when a "Match final" is seen */
	const char *local_user;
	const char *home_dir;
	const char *const *environment; /* Match exec */
	const char *working_dir;
} ConfigEvalContext;

/* Applies every active line of files (ConfigFile *, in reading order,
 * each starting active) to opts. */
gboolean config_eval_files(GPtrArray *files, const ConfigEvalContext *ctx,
                           ConfigOptions *opts, GError **error);

/* -o options: always active. */
gboolean config_eval_command_line(GPtrArray *option_files,
                                  ConfigOptions *opts, GError **error);

#endif
