/* One hop resolved the way ssh.c main() resolves its destination: -o
 * options, the config files (and the final pass), HostName, lowercasing,
 * canonicalization, defaults, and the expansions ssh makes before -G
 * prints. Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_RESOLVE_H
#define JUMPFS_CHAIN_CONFIG_RESOLVE_H

#include <glib.h>

#include "chain/config-algorithms.h"
#include "chain/config-canon.h"
#include "chain/config-eval.h"

/* Everything read once per config_resolve(). */
typedef struct {
	const char *home_dir;
	const char *local_user;
	const char *const *environment; /* NULL = this process's */
	const char *working_dir;        /* NULL = cwd */
	ConfigResolveFunc resolve;
	gpointer resolve_data;
	GPtrArray *options; /* ConfigFile *, one per -o */
	GPtrArray *files;   /* ConfigFile *, in reading order */
	const char *config_file; /* -F, for ProxyJump's sub-ssh */
} ConfigContext;

/* What the command line (or a ProxyJump element) says about one hop:
 * `ssh [-l user] [-p port] [-J jump] [-o ...] alias`. */
typedef struct {
	const char *alias;
	const char *user;     /* -l / user@ / element user; NULL = none */
	int port;             /* -p or element port; beats any config */
	int default_port;     /* ssh:// destination port; beaten by -o Port */
	const char *jump;     /* -J, or the rest of the list; NULL = config */
	const char *jump_file;/* where that list came from, for messages */
	int jump_line;
	gboolean target;      /* -o options apply to the target only */
} ConfigHopRequest;

/* A hop as ssh has it right before `ssh -G` prints. */
typedef struct {
	ConfigOptions opts;   /* every slot with a default is set */
	char *host_arg;       /* %n */
	char *host;           /* HostName expanded, lowercased, canonical */
	char *user;
	int port;
	gboolean direct;      /* no ProxyCommand, no ProxyJump */
	char *algorithms[CONFIG_ALGO_COUNT]; /* OpenSSH's resolved lists */
	char *identity_agent; /* expanded; NULL = unset */
	GPtrArray *user_known_hosts; /* expanded; empty for "none" */
} ConfigResolved;

gboolean config_resolve_hop(const ConfigContext *ctx,
                            const ConfigHopRequest *request,
                            ConfigResolved *resolved, GError **error);
void config_resolved_clear(ConfigResolved *resolved);

/* The next hop's request from resolved's ProxyJump (FALSE: none). The
 * strings point into resolved. */
gboolean config_resolved_next(const ConfigResolved *resolved,
                              ConfigHopRequest *next);

#endif
