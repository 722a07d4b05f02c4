/* Match lines (readconf.c match_cfg_line): criteria parsed when the file
 * is read, evaluated once per hop and pass. exec runs through the user's
 * shell with tokens expanded, in the requester's environment and working
 * directory. Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_MATCH_H
#define JUMPFS_CHAIN_CONFIG_MATCH_H

#include <glib.h>

typedef struct ConfigMatch ConfigMatch;

/* rest: the line after "Match". NULL with an error naming file and line
 * (OpenSSH's words) on a bad condition. */
ConfigMatch *config_match_parse(const char *rest, const char *file, int line,
                                GError **error);
void config_match_free(ConfigMatch *match);

/* What a Match is evaluated against (OpenSSH's state at that line). */
typedef struct {
	const char *host;          /* HostName as expanded so far, or the
	                              name being resolved; final: canonical */
	const char *original_host; /* the name as given */
	const char *user;          /* remote user so far (else local) */
	int port;                  /* port so far (else 22) */
	const char *host_key_alias;/* so far; NULL = host */
	const char *local_user;
	const char *home_dir;
	gboolean final_pass;
	gboolean *want_final;      /* set by "final"; NULL in the final pass */
	const char *const *environment; /* for exec; NULL = this process's */
	const char *working_dir;   /* for exec; NULL = cwd */
} ConfigMatchContext;

/* 1 matched, 0 not, -1 error (exec could not run, or a token value that
 * could reach the shell has shell metacharacters). */
int config_match_eval(const ConfigMatch *match, const ConfigMatchContext *ctx,
                      const char *file, int line, GError **error);

/* Runs cmd as `$SHELL -c cmd` (SHELL from environment, else /bin/sh),
 * stdin and stdout on /dev/null, stderr inherited. Returns its exit
 * status, or -1 if it did not exit normally (with *error). */
int config_match_run(const char *cmd, const char *const *environment,
                     const char *working_dir, GError **error);

#endif
