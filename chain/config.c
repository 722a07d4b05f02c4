/* ConfigRequest -> ChainSpec, with OpenSSH's semantics (ssh.c, readconf.c).
 *
 * The files are parsed once (config-parse.c) and evaluated once per hop.
 * Each hop is resolved the way the sub-ssh that `ssh -J` spawns would
 * resolve it: `ssh -l user -p port -J <rest of list> host`, so the chain
 * is built from the target backwards, one hop per step. */
#include "chain/config.h"

#include <string.h>

#include "chain/config-parse.h"
#include "chain/errors.h"

#define CONFIG_DEFAULT_PORT 22
#define CONFIG_MAX_IDENTITY_FILES 100 /* OpenSSH SSH_MAX_IDENTITY_FILES */
#define CONFIG_DEFAULT_SYSTEM_CONFIG "/etc/ssh/ssh_config"

/* Where a value came from, for messages; file NULL = built-in default. */
typedef struct {
	const char *file;
	int line;
} ConfigWhere;

typedef struct {
	char *path; /* as written: expanded once the hop is resolved */
	ConfigWhere where;
} ConfigIdentity;

/* One hop's options while reading: NULL / -1 = not set yet, and the first
 * value set wins. */
typedef struct {
	char *user;
	int port;
	char *hostname;
	ConfigWhere hostname_where;
	GPtrArray *identities; /* ConfigIdentity * */
	int identities_only;
	char *jump;            /* ProxyJump list or "none" */
	ConfigWhere jump_where;
	char *proxy_command;   /* shares first-wins with ProxyJump, as OpenSSH */
	ConfigWhere proxy_where;
	char **user_known_hosts;
	ConfigWhere user_known_hosts_where;
	char **global_known_hosts;
	ConfigWhere global_known_hosts_where;
	int strict;
	int connect_timeout;
	int alive_interval;
	int alive_count_max;
	char *ciphers;
	int compression;
	int batch_mode;
	int password_auth;
	int kbdint_auth;
	int pubkey_auth;
	const char *ignore_unknown; /* owned by its ConfigLine */
} ConfigOptions;

/* Everything read once per config_resolve(). */
typedef struct {
	const char *home_dir;
	const char *local_user;
	GPtrArray *options; /* ConfigFile *, one per -o */
	GPtrArray *files;   /* ConfigFile *, in reading order */
} ConfigContext;

/* What the command line (or a ProxyJump element) says about one hop. */
typedef struct {
	const char *alias;
	const char *user;     /* user@ or element user; NULL = none */
	int port;             /* -p or element port; beats any config */
	int default_port;     /* ssh:// destination port; beaten by -o Port */
	const char *jump;     /* -J, or rest of the list; NULL = from config */
	ConfigWhere jump_where;
	gboolean target;      /* -o options apply to the target only */
} ConfigHopRequest;

/* Values for %-tokens in paths (ssh_config(5) TOKENS). */
typedef struct {
	const char *home_dir;   /* %d */
	const char *local_user; /* %u */
	const char *hostname;   /* %h */
	const char *user;       /* %r */
	const char *alias;      /* %n */
	int port;               /* %p */
} ConfigTokens;

static void
config_identity_free(ConfigIdentity *identity)
{
	g_free(identity->path);
	g_free(identity);
}

static void
config_options_init(ConfigOptions *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->port = -1;
	opts->identities = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_identity_free);
	opts->identities_only = -1;
	opts->strict = -1;
	opts->connect_timeout = -1;
	opts->alive_interval = -1;
	opts->alive_count_max = -1;
	opts->compression = -1;
	opts->batch_mode = -1;
	opts->password_auth = -1;
	opts->kbdint_auth = -1;
	opts->pubkey_auth = -1;
}

static void
config_options_clear(ConfigOptions *opts)
{
	g_free(opts->user);
	g_free(opts->hostname);
	g_ptr_array_unref(opts->identities);
	g_free(opts->jump);
	g_free(opts->proxy_command);
	g_strfreev(opts->user_known_hosts);
	g_strfreev(opts->global_known_hosts);
	g_free(opts->ciphers);
}

static void
config_set_int(int *slot, int value)
{
	if (*slot == -1)
		*slot = value;
}

static void
config_set_string(char **slot, const char *value)
{
	if (*slot == NULL && value != NULL)
		*slot = g_strdup(value);
}

/* IdentityFile accumulates; duplicates are dropped as in OpenSSH. */
static gboolean
config_add_identity(ConfigOptions *opts, const char *path, ConfigWhere where,
                    GError **error)
{
	for (guint i = 0; i < opts->identities->len; i++) {
		ConfigIdentity *known = opts->identities->pdata[i];
		if (strcmp(known->path, path) == 0)
			return TRUE;
	}
	if (opts->identities->len >= CONFIG_MAX_IDENTITY_FILES)
		return config_set_error(error, where.file, where.line,
			"IdentityFile: too many identity files (max %d)",
			CONFIG_MAX_IDENTITY_FILES);
	ConfigIdentity *identity = g_new0(ConfigIdentity, 1);
	identity->path = g_strdup(path);
	identity->where = where;
	g_ptr_array_add(opts->identities, identity);
	return TRUE;
}

/* One active line. */
static gboolean
config_apply(ConfigOptions *opts, const ConfigLine *line, GError **error)
{
	const ConfigWhere where = { line->file, line->line };
	const char *arg = line->args[0];

	switch (line->op) {
	case CONFIG_OP_HOSTNAME:
		if (opts->hostname == NULL)
			opts->hostname_where = where;
		config_set_string(&opts->hostname, arg);
		break;
	case CONFIG_OP_USER: config_set_string(&opts->user, arg); break;
	case CONFIG_OP_PORT: config_set_int(&opts->port, line->value); break;
	case CONFIG_OP_IDENTITY_FILE:
		return config_add_identity(opts, arg, where, error);
	case CONFIG_OP_IDENTITIES_ONLY:
		config_set_int(&opts->identities_only, line->value);
		break;
	case CONFIG_OP_PROXY_JUMP:
		if (opts->jump == NULL && opts->proxy_command == NULL) {
			opts->jump = g_strdup(arg);
			opts->jump_where = where;
		}
		break;
	case CONFIG_OP_PROXY_COMMAND:
		if (opts->jump == NULL && opts->proxy_command == NULL) {
			opts->proxy_command = g_strdup(line->raw);
			opts->proxy_where = where;
		}
		break;
	case CONFIG_OP_USER_KNOWN_HOSTS:
		if (opts->user_known_hosts == NULL) {
			opts->user_known_hosts = g_strdupv(line->args);
			opts->user_known_hosts_where = where;
		}
		break;
	case CONFIG_OP_GLOBAL_KNOWN_HOSTS:
		if (opts->global_known_hosts == NULL) {
			opts->global_known_hosts = g_strdupv(line->args);
			opts->global_known_hosts_where = where;
		}
		break;
	case CONFIG_OP_STRICT_HOST_KEY:
		config_set_int(&opts->strict, line->value);
		break;
	case CONFIG_OP_CONNECT_TIMEOUT:
		config_set_int(&opts->connect_timeout, line->value);
		break;
	case CONFIG_OP_ALIVE_INTERVAL:
		config_set_int(&opts->alive_interval, line->value);
		break;
	case CONFIG_OP_ALIVE_COUNT_MAX:
		config_set_int(&opts->alive_count_max, line->value);
		break;
	case CONFIG_OP_CIPHERS: config_set_string(&opts->ciphers, arg); break;
	case CONFIG_OP_COMPRESSION:
		config_set_int(&opts->compression, line->value);
		break;
	case CONFIG_OP_BATCH_MODE:
		config_set_int(&opts->batch_mode, line->value);
		break;
	case CONFIG_OP_PASSWORD_AUTH:
		config_set_int(&opts->password_auth, line->value);
		break;
	case CONFIG_OP_KBDINT_AUTH:
		config_set_int(&opts->kbdint_auth, line->value);
		break;
	case CONFIG_OP_PUBKEY_AUTH:
		config_set_int(&opts->pubkey_auth, line->value);
		break;
	case CONFIG_OP_IGNORE_UNKNOWN:
		if (opts->ignore_unknown == NULL)
			opts->ignore_unknown = arg;
		break;
	case CONFIG_OP_BAD:
	case CONFIG_OP_IGNORED:
	case CONFIG_OP_HOST:
	case CONFIG_OP_MATCH:
	case CONFIG_OP_INCLUDE:
		break;
	}
	return TRUE;
}

/* A Host line matches if some pattern matches the alias and no negated
 * one does; it is matched against the name as typed, not HostName. */
static gboolean
config_host_matches(char **patterns, const char *alias)
{
	gboolean matched = FALSE;

	for (char **p = patterns; *p != NULL; p++) {
		gboolean negated = (*p)[0] == '!';
		if (config_pattern_match(*p + (negated ? 1 : 0), alias)) {
			if (negated)
				return FALSE;
			matched = TRUE;
		}
	}
	return matched;
}

/* Evaluates one file for alias. active is shared with the including file
 * as in readconf.c; never_match: the file is included from an inactive
 * block, so none of its Host blocks may apply. */
static gboolean
config_eval_file(const ConfigFile *file, const char *alias,
                 ConfigOptions *opts, gboolean *active, gboolean never_match,
                 GError **error)
{
	for (guint i = 0; i < file->lines->len; i++) {
		const ConfigLine *line = file->lines->pdata[i];

		switch (line->op) {
		case CONFIG_OP_HOST:
			*active = !never_match && config_host_matches(line->args, alias);
			break;
		case CONFIG_OP_INCLUDE: {
			gboolean outer = *active;
			for (guint j = 0; j < line->includes->len; j++) {
				if (!config_eval_file(line->includes->pdata[j], alias, opts,
				                      active, never_match || !outer, error))
					return FALSE;
				*active = outer; /* an included Host ends with its file */
			}
			break;
		}
		case CONFIG_OP_BAD:
			/* Checked active or not, against IgnoreUnknown seen so far. */
			if (opts->ignore_unknown == NULL ||
			    !config_pattern_list_match(opts->ignore_unknown,
			                               line->keyword))
				return config_set_error(error, line->file, line->line,
					"Bad configuration option: %s", line->keyword);
			break;
		default:
			if (*active && !config_apply(opts, line, error))
				return FALSE;
			break;
		}
	}
	return TRUE;
}

static gboolean
config_eval_files(GPtrArray *files, const char *alias, ConfigOptions *opts,
                  GError **error)
{
	for (guint i = 0; files != NULL && i < files->len; i++) {
		gboolean active = TRUE; /* each top-level file starts active */
		if (!config_eval_file(files->pdata[i], alias, opts, &active, FALSE,
		                      error))
			return FALSE;
	}
	return TRUE;
}

/* OpenSSH percent_expand() limited to the tokens in allowed. Returns NULL
 * and sets *bad to the offending token on an unknown or truncated one. */
static char *
config_percent_expand(const char *text, const ConfigTokens *tokens,
                      const char *allowed, char *bad)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p != '\0'; p++) {
		if (*p != '%') {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			g_string_append_c(out, '%');
			continue;
		}
		if (*p == '\0' || strchr(allowed, *p) == NULL) {
			*bad = *p;
			g_string_free(out, TRUE);
			return NULL;
		}
		switch (*p) {
		case 'd': g_string_append(out, tokens->home_dir); break;
		case 'u': g_string_append(out, tokens->local_user); break;
		case 'h': g_string_append(out, tokens->hostname); break;
		case 'r': g_string_append(out, tokens->user); break;
		case 'n': g_string_append(out, tokens->alias); break;
		case 'p': g_string_append_printf(out, "%d", tokens->port); break;
		}
	}
	return g_string_free(out, FALSE);
}

/* shown: the value as written, for messages. */
static char *
config_expand_checked(const char *text, const char *shown,
                      const ConfigTokens *tokens, const char *allowed,
                      const char *keyword, ConfigWhere where, GError **error)
{
	char bad = 0;
	char *expanded = config_percent_expand(text, tokens, allowed, &bad);

	if (expanded == NULL) {
		if (bad == '\0')
			config_set_error(error, where.file, where.line,
				"%s \"%s\": '%%' at end of value (host %s)", keyword,
				shown, tokens->alias);
		else
			config_set_error(error, where.file, where.line,
				"%s \"%s\": unknown token %%%c (host %s)", keyword, shown,
				bad, tokens->alias);
	}
	return expanded;
}

/* ~ first, then %-tokens, as ssh.c does for IdentityFile and
 * UserKnownHostsFile. */
static char *
config_expand_path(const char *path, const ConfigTokens *tokens,
                   const char *keyword, ConfigWhere where, GError **error)
{
	g_autofree char *tilde = config_tilde_expand(path, tokens->home_dir,
	                                             tokens->local_user);
	if (tilde == NULL) {
		config_set_error(error, where.file, where.line,
			"%s \"%s\": unknown user after ~", keyword, path);
		return NULL;
	}
	return config_expand_checked(tilde, path, tokens, "dhnpru", keyword,
	                             where, error);
}

static GPtrArray *
config_known_hosts(char **configured, ConfigWhere where,
                   const char *const *defaults, const ConfigTokens *tokens,
                   const char *keyword, GError **error)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *const *list = configured != NULL
		? (const char *const *)configured : defaults;

	/* "none" means no file; an empty file says the same and keeps the
	 * list non-empty for the known_hosts code. */
	if (list[0] != NULL && list[1] == NULL && strcmp(list[0], "none") == 0) {
		g_ptr_array_add(files, g_strdup("/dev/null"));
		return g_steal_pointer(&files);
	}
	for (gsize i = 0; list[i] != NULL; i++) {
		char *path = config_expand_path(list[i], tokens, keyword, where,
		                                error);
		if (path == NULL)
			return NULL;
		g_ptr_array_add(files, path);
	}
	return g_steal_pointer(&files);
}

/* All defaults are filled here, and paths expanded with final values. */
static HopSpec *
config_fill_hop(const ConfigContext *ctx, const char *alias,
                const ConfigOptions *opts, GError **error)
{
	static const char *const user_default[] = {
		"~/.ssh/known_hosts", "~/.ssh/known_hosts2", NULL };
	static const char *const global_default[] = {
		"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2", NULL };
	HopSpec *hop = g_new0(HopSpec, 1);
	ConfigTokens tokens = {
		.home_dir = ctx->home_dir, .local_user = ctx->local_user,
		.hostname = alias, .user = "", .alias = alias, .port = 0,
	};

	hop->alias = g_strdup(alias);
	hop->user = g_strdup(opts->user != NULL ? opts->user : ctx->local_user);
	hop->port = opts->port > 0 ? opts->port : CONFIG_DEFAULT_PORT;
	/* In HostName only %h (the alias) and %% exist. */
	if (opts->hostname != NULL)
		hop->hostname = config_expand_checked(opts->hostname,
			opts->hostname, &tokens, "h", "HostName", opts->hostname_where,
			error);
	else
		hop->hostname = g_strdup(alias);
	if (hop->hostname == NULL)
		goto fail;

	tokens.hostname = hop->hostname;
	tokens.user = hop->user;
	tokens.port = hop->port;
	hop->identity_files = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < opts->identities->len; i++) {
		const ConfigIdentity *identity = opts->identities->pdata[i];
		char *path = config_expand_path(identity->path, &tokens,
		                                "IdentityFile", identity->where,
		                                error);
		if (path == NULL)
			goto fail;
		g_ptr_array_add(hop->identity_files, path);
	}
	hop->user_known_hosts = config_known_hosts(opts->user_known_hosts,
		opts->user_known_hosts_where, user_default, &tokens,
		"UserKnownHostsFile", error);
	if (hop->user_known_hosts == NULL)
		goto fail;
	hop->global_known_hosts = config_known_hosts(opts->global_known_hosts,
		opts->global_known_hosts_where, global_default, &tokens,
		"GlobalKnownHostsFile", error);
	if (hop->global_known_hosts == NULL)
		goto fail;

	hop->identities_only = opts->identities_only == TRUE;
	hop->strict_host_key = opts->strict >= 0 ? (StrictHostKey)opts->strict
	                                         : STRICT_HOSTKEY_ASK;
	hop->connect_timeout = MAX(opts->connect_timeout, 0);
	hop->server_alive_interval = MAX(opts->alive_interval, 0);
	hop->server_alive_count_max = MAX(opts->alive_count_max, 0);
	hop->ciphers = g_strdup(opts->ciphers);
	hop->compression = opts->compression == TRUE;
	hop->batch_mode = opts->batch_mode == TRUE;
	hop->password_auth = opts->password_auth != FALSE;
	hop->kbdint_auth = opts->kbdint_auth != FALSE;
	hop->pubkey_auth = opts->pubkey_auth != FALSE;
	/* OpenSSH's defaults for what this reader does not parse yet. */
	hop->certificate_files = g_ptr_array_new_with_free_func(g_free);
	hop->identity_agent = g_strdup(g_getenv("SSH_AUTH_SOCK"));
	hop->connection_attempts = 1;
	hop->tcp_keep_alive = TRUE;
	hop->required_rsa_size = 1024;
	hop->preferred_authentications = g_strdup(
		"gssapi-with-mic,hostbased,publickey,keyboard-interactive,password");
	hop->number_of_password_prompts = 3;
	return hop;

fail:
	hop_spec_free(hop);
	return NULL;
}

/* Liveness and timeouts from -o are about the whole chain: a mount whose
 * jump host dies silently hangs just the same, so -o ServerAliveInterval,
 * ServerAliveCountMax and ConnectTimeout reach every hop (unlike ssh -o,
 * which only the last ssh of a ProxyJump chain sees). */
static gboolean
config_apply_chain_options(const ConfigContext *ctx, const char *alias,
                           ConfigOptions *opts, GError **error)
{
	ConfigOptions from_command_line;
	config_options_init(&from_command_line);
	gboolean ok = config_eval_files(ctx->options, alias, &from_command_line, error);
	if (ok) {
		opts->alive_interval = from_command_line.alive_interval;
		opts->alive_count_max = from_command_line.alive_count_max;
		opts->connect_timeout = from_command_line.connect_timeout;
	}
	config_options_clear(&from_command_line);
	return ok;
}

/* One hop, as `ssh [-l user] [-p port] [-J jump] [-o ...] alias` would
 * see it. On success *next_jump is the hop's ProxyJump list (NULL when it
 * is reached directly) and *next_where where that list came from. */
static HopSpec *
config_resolve_hop(const ConfigContext *ctx, const ConfigHopRequest *request,
                   char **next_jump, ConfigWhere *next_where, GError **error)
{
	ConfigOptions opts;
	HopSpec *hop = NULL;

	config_options_init(&opts);
	/* -J comes first; being set, it also shuts out ProxyCommand. */
	if (request->jump != NULL) {
		opts.jump = g_strdup(request->jump);
		opts.jump_where = request->jump_where;
	}
	if (request->target &&
	    !config_eval_files(ctx->options, request->alias, &opts, error))
		goto out;
	if (!request->target && !config_apply_chain_options(ctx, request->alias, &opts, error))
		goto out;
	/* -p beats -o Port; user@ and an ssh:// port do not beat -o. */
	if (request->port > 0)
		opts.port = request->port;
	else if (opts.port < 0 && request->default_port > 0)
		opts.port = request->default_port;
	config_set_string(&opts.user, request->user);

	if (!config_eval_files(ctx->files, request->alias, &opts, error))
		goto out;

	if (opts.proxy_command != NULL && strcmp(opts.proxy_command, "none") != 0) {
		config_set_error(error, opts.proxy_where.file, opts.proxy_where.line,
			"ProxyCommand is not supported by jumpfs; use ProxyJump (host %s)",
			request->alias);
		goto out;
	}
	hop = config_fill_hop(ctx, request->alias, &opts, error);
	if (hop != NULL && opts.jump != NULL &&
	    g_ascii_strcasecmp(opts.jump, "none") != 0) {
		*next_jump = g_steal_pointer(&opts.jump);
		*next_where = opts.jump_where;
	}
out:
	config_options_clear(&opts);
	return hop;
}

/* [user@]host or ssh://[user@]host[:port]; the user ends at the last '@'. */
static gboolean
config_parse_destination(const char *destination, char **user, char **host,
                         int *port, GError **error)
{
	int uri = config_parse_ssh_uri(destination, user, host, port);
	if (uri == 0)
		return TRUE;
	if (uri < 0)
		return config_set_error(error, NULL, 0,
			"bad destination URI \"%s\"", destination);

	const char *at = strrchr(destination, '@');
	const char *name = at != NULL ? at + 1 : destination;
	gsize len = strlen(name);
	if (at == destination || len == 0 || strpbrk(name, " \t\r\n") != NULL)
		return config_set_error(error, NULL, 0, "bad destination \"%s\"",
		                        destination);
	/* A bracketed IPv6 address is the address. */
	if (name[0] == '[' && name[len - 1] == ']' && len > 2)
		*host = g_strndup(name + 1, len - 2);
	else
		*host = g_strdup(name);
	*user = at != NULL ? g_strndup(destination, (gsize)(at - destination))
	                   : NULL;
	return TRUE;
}

/* -F file only (-F none: no file at all), else user then system config. */
static gboolean
config_context_load(ConfigContext *ctx, const ConfigRequest *request,
                    GError **error)
{
	g_autofree char *ssh_dir = g_build_filename(ctx->home_dir, ".ssh", NULL);
	const ConfigParseContext user_parse = {
		ctx->home_dir, ctx->local_user, ssh_dir, TRUE };
	GError *local = NULL;
	ConfigFile *file;

	ctx->options = config_options_parse(request->options, error);
	if (ctx->options == NULL)
		return FALSE;
	ctx->files = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);

	if (request->config_file != NULL) {
		if (g_ascii_strcasecmp(request->config_file, "none") == 0)
			return TRUE;
		file = config_file_read(request->config_file, &user_parse, TRUE,
		                        error);
		if (file == NULL)
			return FALSE;
		g_ptr_array_add(ctx->files, file);
		return TRUE;
	}

	g_autofree char *user_path = g_build_filename(ssh_dir, "config", NULL);
	file = config_file_read(user_path, &user_parse, FALSE, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (file != NULL)
		g_ptr_array_add(ctx->files, file);

	/* Relative Includes of the system file are relative to its directory
	 * (/etc/ssh for the default one, as in OpenSSH). */
	const char *system_path = request->system_config != NULL
		? request->system_config : CONFIG_DEFAULT_SYSTEM_CONFIG;
	g_autofree char *system_dir = g_path_get_dirname(system_path);
	const ConfigParseContext system_parse = {
		ctx->home_dir, ctx->local_user, system_dir, FALSE };
	file = config_file_read(system_path, &system_parse, FALSE, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (file != NULL)
		g_ptr_array_add(ctx->files, file);
	return TRUE;
}

static void
config_context_clear(ConfigContext *ctx)
{
	if (ctx->options != NULL)
		g_ptr_array_unref(ctx->options);
	if (ctx->files != NULL)
		g_ptr_array_unref(ctx->files);
}

/* The hop request for the last element of list, the rest of the list
 * becoming its -J. Returns FALSE on a malformed element. */
static gboolean
config_next_hop(char *list, ConfigWhere where, ConfigHopRequest *next,
                char **alias, char **user, GError **error)
{
	char *comma = strrchr(list, ',');
	const char *element = comma != NULL ? comma + 1 : list;
	int port = 0;

	g_clear_pointer(alias, g_free);
	g_clear_pointer(user, g_free);
	if (!config_parse_jump_element(element, user, alias, &port))
		return config_set_error(error, where.file, where.line,
		                        "bad ProxyJump element \"%s\"", element);
	if (comma != NULL)
		*comma = '\0'; /* list is now the rest */
	*next = (ConfigHopRequest){
		.alias = *alias, .user = *user, .port = port,
		.jump = comma != NULL ? list : NULL, .jump_where = where,
		.target = FALSE,
	};
	return TRUE;
}

ChainSpec *
config_resolve(const ConfigRequest *request, GError **error)
{
	g_return_val_if_fail(request != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	ConfigContext ctx = {
		.home_dir = request->home_dir != NULL ? request->home_dir
		                                      : g_get_home_dir(),
		.local_user = request->local_user != NULL ? request->local_user
		                                          : g_get_user_name(),
	};
	g_autofree char *alias = NULL, *user = NULL, *list = NULL;
	g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func(
		(GDestroyNotify)hop_spec_free);
	ChainSpec *chain = NULL;
	int uri_port = 0;

	if (request->destination == NULL || request->destination[0] == '\0') {
		config_set_error(error, NULL, 0, "no destination given");
		return NULL;
	}
	if (request->port < 0 || request->port > 65535) {
		config_set_error(error, NULL, 0, "bad port %d", request->port);
		return NULL;
	}
	if (request->jump != NULL && !config_jump_list_valid(request->jump)) {
		config_set_error(error, NULL, 0, "bad -J jump host list \"%s\"",
		                 request->jump);
		return NULL;
	}
	if (!config_parse_destination(request->destination, &user, &alias,
	                              &uri_port, error))
		return NULL;
	if (!config_context_load(&ctx, request, error))
		goto out;

	ConfigHopRequest next = {
		.alias = alias, .user = user, .port = request->port,
		.default_port = uri_port, .jump = request->jump,
		.jump_where = { "-J", 0 }, .target = TRUE,
	};
	for (;;) {
		char *next_list = NULL;
		ConfigWhere where = { NULL, 0 };
		HopSpec *hop = config_resolve_hop(&ctx, &next, &next_list, &where,
		                                  error);
		if (hop == NULL)
			goto out;
		g_ptr_array_add(hops, hop);
		/* `next` may point into list: replace it only from here on. */
		g_free(list);
		list = next_list;

		g_autofree char *key = hop_spec_key(hop);
		for (guint i = 0; i + 1 < hops->len; i++) {
			g_autofree char *other = hop_spec_key(hops->pdata[i]);
			if (strcmp(key, other) == 0) {
				config_set_error(error, next.jump_where.file,
					next.jump_where.line,
					"jump host loop: %s (%s) would be reached through itself",
					key, hop->alias);
				goto out;
			}
		}
		if (list == NULL)
			break;
		if (hops->len > CONFIG_MAX_DEPTH) {
			config_set_error(error, where.file, where.line,
				"too many jump hosts (more than %d) before %s",
				CONFIG_MAX_DEPTH, hop->alias);
			goto out;
		}
		if (!config_next_hop(list, where, &next, &alias, &user, error))
			goto out;
	}

	/* Built from the target backwards; connection order is the reverse. */
	chain = g_new0(ChainSpec, 1);
	chain->environment = request->environment != NULL
		? g_strdupv((char **)request->environment) : g_get_environ();
	chain->working_dir = request->working_dir != NULL
		? g_strdup(request->working_dir) : g_get_current_dir();
	chain->hops = g_ptr_array_new_full(hops->len,
	                                   (GDestroyNotify)hop_spec_free);
	for (guint i = hops->len; i > 0; i--)
		g_ptr_array_add(chain->hops, g_ptr_array_steal_index(hops, i - 1));
out:
	config_context_clear(&ctx);
	return chain;
}

void
hop_spec_free(HopSpec *hop)
{
	if (hop == NULL)
		return;
	g_free(hop->alias);
	g_free(hop->hostname);
	g_free(hop->user);
	g_clear_pointer(&hop->identity_files, g_ptr_array_unref);
	g_clear_pointer(&hop->certificate_files, g_ptr_array_unref);
	g_free(hop->identity_agent);
	g_clear_pointer(&hop->user_known_hosts, g_ptr_array_unref);
	g_clear_pointer(&hop->global_known_hosts, g_ptr_array_unref);
	g_free(hop->host_key_alias);
	g_free(hop->revoked_host_keys);
	g_free(hop->known_hosts_command);
	g_free(hop->bind_address);
	g_free(hop->bind_interface);
	g_free(hop->proxy_command);
	g_free(hop->ciphers);
	g_free(hop->kex_algorithms);
	g_free(hop->hostkey_algorithms);
	g_free(hop->macs);
	g_free(hop->pubkey_accepted_algorithms);
	g_free(hop->preferred_authentications);
	g_free(hop);
}

static GPtrArray *
config_strings_copy(const GPtrArray *strings)
{
	GPtrArray *copy = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; strings != NULL && i < strings->len; i++)
		g_ptr_array_add(copy, g_strdup(strings->pdata[i]));
	return copy;
}

HopSpec *
hop_spec_copy(const HopSpec *hop)
{
	if (hop == NULL)
		return NULL;
	HopSpec *copy = g_new0(HopSpec, 1);
	*copy = *hop; /* the scalars; every pointer is replaced below */
	copy->alias = g_strdup(hop->alias);
	copy->hostname = g_strdup(hop->hostname);
	copy->user = g_strdup(hop->user);
	copy->identity_files = config_strings_copy(hop->identity_files);
	copy->certificate_files = config_strings_copy(hop->certificate_files);
	copy->identity_agent = g_strdup(hop->identity_agent);
	copy->user_known_hosts = config_strings_copy(hop->user_known_hosts);
	copy->global_known_hosts = config_strings_copy(hop->global_known_hosts);
	copy->host_key_alias = g_strdup(hop->host_key_alias);
	copy->revoked_host_keys = g_strdup(hop->revoked_host_keys);
	copy->known_hosts_command = g_strdup(hop->known_hosts_command);
	copy->bind_address = g_strdup(hop->bind_address);
	copy->bind_interface = g_strdup(hop->bind_interface);
	copy->proxy_command = g_strdup(hop->proxy_command);
	copy->ciphers = g_strdup(hop->ciphers);
	copy->kex_algorithms = g_strdup(hop->kex_algorithms);
	copy->hostkey_algorithms = g_strdup(hop->hostkey_algorithms);
	copy->macs = g_strdup(hop->macs);
	copy->pubkey_accepted_algorithms = g_strdup(hop->pubkey_accepted_algorithms);
	copy->preferred_authentications = g_strdup(hop->preferred_authentications);
	return copy;
}

char *
hop_spec_key(const HopSpec *hop)
{
	/* Brackets keep an IPv6 address apart from the port. */
	if (strchr(hop->hostname, ':') != NULL)
		return g_strdup_printf("%s@[%s]:%d", hop->user, hop->hostname,
		                       hop->port);
	return g_strdup_printf("%s@%s:%d", hop->user, hop->hostname, hop->port);
}

static void
config_key_strings(GString *key, const char *name, const GPtrArray *strings)
{
	g_string_append_printf(key, " %s=", name);
	for (guint i = 0; strings != NULL && i < strings->len; i++)
		g_string_append_printf(key, "%s%s", i > 0 ? "," : "",
		                       (const char *)strings->pdata[i]);
}

char *
hop_spec_session_key(const HopSpec *hop)
{
	GString *key = g_string_new(NULL);
	g_autofree char *address = hop_spec_key(hop);
#define KEY_S(field) g_string_append_printf(key, " " #field "=%s", \
	hop->field != NULL ? hop->field : "(null)")
#define KEY_I(field) g_string_append_printf(key, " " #field "=%" G_GINT64_FORMAT, \
	(gint64)hop->field)
	g_string_append(key, address);
	KEY_S(proxy_command); KEY_I(proxy_use_fdpass);
	KEY_S(bind_address); KEY_S(bind_interface); KEY_I(address_family);
	KEY_I(tcp_keep_alive);
	KEY_I(strict_host_key); KEY_S(host_key_alias); KEY_S(revoked_host_keys);
	KEY_S(known_hosts_command); KEY_I(hash_known_hosts);
	config_key_strings(key, "user_known_hosts", hop->user_known_hosts);
	config_key_strings(key, "global_known_hosts", hop->global_known_hosts);
	KEY_I(server_alive_interval); KEY_I(server_alive_count_max);
	KEY_S(ciphers); KEY_I(ciphers_from_config); KEY_S(kex_algorithms);
	KEY_S(hostkey_algorithms); KEY_S(macs); KEY_S(pubkey_accepted_algorithms);
	KEY_I(required_rsa_size); KEY_I(rekey_limit_bytes); KEY_I(rekey_limit_seconds);
	KEY_I(compression);
	config_key_strings(key, "identity_files", hop->identity_files);
	config_key_strings(key, "certificate_files", hop->certificate_files);
	KEY_S(identity_agent); KEY_I(identities_only);
	KEY_I(batch_mode); KEY_I(password_auth); KEY_I(kbdint_auth);
	KEY_I(pubkey_auth); KEY_I(gssapi_auth); KEY_I(gssapi_delegate);
	KEY_S(preferred_authentications); KEY_I(number_of_password_prompts);
#undef KEY_S
#undef KEY_I
	return g_string_free(key, FALSE);
}

void
chain_spec_free(ChainSpec *chain)
{
	if (chain == NULL)
		return;
	if (chain->hops != NULL)
		g_ptr_array_unref(chain->hops);
	g_strfreev(chain->environment);
	g_free(chain->working_dir);
	g_free(chain);
}
