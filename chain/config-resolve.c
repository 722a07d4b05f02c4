/* One hop, in ssh.c main()'s order: see config-resolve.h. */
#include "chain/config-resolve.h"

#include <string.h>
#include <sys/socket.h>

#include "chain/config-tokens.h"
#include "chain/config-util.h"

#define CONFIG_DEFAULT_PORT 22

/* Liveness and timeouts from -o are about the whole chain: a mount whose
 * jump host dies silently hangs just the same, so -o ServerAliveInterval,
 * ServerAliveCountMax and ConnectTimeout reach every hop (unlike ssh -o,
 * which only the last ssh of a ProxyJump chain sees). */
static const ConfigKw config_chain_wide[] = {
	CONFIG_KW_SERVER_ALIVE_INTERVAL, CONFIG_KW_SERVER_ALIVE_COUNT_MAX,
	CONFIG_KW_CONNECT_TIMEOUT,
};

static gboolean
config_apply_command_line(const ConfigContext *ctx,
                          const ConfigHopRequest *request,
                          ConfigOptions *opts, GError **error)
{
	if (request->jump != NULL) {
		/* Strict: each jump host's ssh gets the rest as its own -J. */
		if (!config_options_set_jump(opts, request->jump, TRUE,
		                             request->jump_file, request->jump_line,
		                             error))
			return FALSE;
	}
	if (request->target)
		return config_eval_command_line(ctx->options, opts, error);

	ConfigOptions all;
	config_options_init(&all);
	gboolean ok = config_eval_command_line(ctx->options, &all, error);
	for (gsize i = 0; ok && i < G_N_ELEMENTS(config_chain_wide); i++)
		if (all.values[config_chain_wide[i]].set)
			config_value_copy(&opts->values[config_chain_wide[i]],
			                  &all.values[config_chain_wide[i]]);
	config_options_clear(&all);
	return ok;
}

/* fill_default_options(), for the slots jumpfs reads or prints. */
static void
config_fill_defaults(ConfigOptions *opts)
{
	gsize count;
	const ConfigKeyword *table = config_keyword_table(&count);

	/* Debian: BatchMode without ServerAliveInterval means 300 s. */
	const ConfigValue *batch = config_options_get(opts, CONFIG_KW_BATCH_MODE);
	config_options_set(opts, CONFIG_KW_SERVER_ALIVE_INTERVAL,
	                   batch != NULL && batch->number == 1 ? 300 : 0, NULL);

	const ConfigValue *user_files = config_options_get(opts,
		CONFIG_KW_USER_KNOWN_HOSTS);
	const ConfigValue *dns = config_options_get(opts,
		CONFIG_KW_VERIFY_HOST_KEY_DNS);
	gboolean default_files = user_files == NULL ||
		(user_files->list->len == 1 &&
		 strcmp(user_files->list->pdata[0], "~/.ssh/known_hosts") == 0);
	config_options_set(opts, CONFIG_KW_UPDATE_HOST_KEYS,
		(dns == NULL || dns->number <= 0) && default_files
			? CONFIG_UPDATE_YES : CONFIG_UPDATE_NO, NULL);

	for (gsize i = 0; i < count; i++) {
		const ConfigKeyword *k = &table[i];
		if (k->kw == CONFIG_KW_CONNECT_TIMEOUT)
			continue; /* unset = none */
		if (k->kind == CONFIG_KIND_FLAG || k->kind == CONFIG_KIND_ENUM ||
		    k->kind == CONFIG_KIND_INT || k->kind == CONFIG_KIND_TIME)
			config_options_set(opts, k->kw, k->default_value, NULL);
	}

	static const char *const identities[] = {
		"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
		"~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss",
		"~/.ssh/id_dsa",
	};
	static const char *const global_files[] = {
		"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2",
	};
	static const char *const user_defaults[] = {
		"~/.ssh/known_hosts", "~/.ssh/known_hosts2",
	};
	const struct {
		ConfigKw kw;
		const char *const *names;
		gsize n;
	} lists[] = {
		{ CONFIG_KW_IDENTITY_FILE, identities, G_N_ELEMENTS(identities) },
		{ CONFIG_KW_GLOBAL_KNOWN_HOSTS, global_files, G_N_ELEMENTS(global_files) },
		{ CONFIG_KW_USER_KNOWN_HOSTS, user_defaults, G_N_ELEMENTS(user_defaults) },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		ConfigValue *slot = &opts->values[lists[i].kw];
		if (slot->set)
			continue;
		slot->set = TRUE;
		slot->list = g_ptr_array_new_with_free_func(g_free);
		for (gsize j = 0; j < lists[i].n; j++)
			g_ptr_array_add(slot->list, g_strdup(lists[i].names[j]));
	}

	/* CLEAR_ON_NONE, and "ProxyJump none" dropped. */
	static const ConfigKw clear_on_none[] = {
		CONFIG_KW_PROXY_COMMAND, CONFIG_KW_REVOKED_HOST_KEYS,
		CONFIG_KW_KNOWN_HOSTS_COMMAND, CONFIG_KW_LOCAL_COMMAND,
		CONFIG_KW_REMOTE_COMMAND, CONFIG_KW_CONTROL_PATH,
		CONFIG_KW_PKCS11_PROVIDER, CONFIG_KW_SECURITY_KEY_PROVIDER,
	};
	for (gsize i = 0; i < G_N_ELEMENTS(clear_on_none); i++) {
		ConfigValue *slot = &opts->values[clear_on_none[i]];
		if (slot->set && g_ascii_strcasecmp(slot->text, "none") == 0)
			config_value_clear(slot);
	}
	if (opts->jump_host != NULL && strcmp(opts->jump_host, "none") == 0 &&
	    opts->jump_port == 0 && opts->jump_user == NULL)
		g_clear_pointer(&opts->jump_host, g_free);
}

/* ssh.c turns UpdateHostKeys=ask off where it cannot ask. */
static void
config_check_update_host_keys(ConfigOptions *opts)
{
	ConfigValue *update = &opts->values[CONFIG_KW_UPDATE_HOST_KEYS];
	const ConfigValue *persist = config_options_get(opts, CONFIG_KW_CONTROL_PERSIST);
	const ConfigValue *level = config_options_get(opts, CONFIG_KW_LOG_LEVEL);
	const ConfigValue *tty = config_options_get(opts, CONFIG_KW_REQUEST_TTY);

	if (update->number != CONFIG_UPDATE_ASK)
		return;
	if ((persist != NULL && persist->number &&
	     config_options_get(opts, CONFIG_KW_CONTROL_PATH) != NULL) ||
	    config_options_get(opts, CONFIG_KW_REMOTE_COMMAND) != NULL ||
	    tty->number == 1 /* REQUEST_TTY_NO */ ||
	    (level != NULL && (strcmp(level->text, "QUIET") == 0 ||
	                       strcmp(level->text, "FATAL") == 0 ||
	                       strcmp(level->text, "ERROR") == 0)))
		update->number = CONFIG_UPDATE_NO;
}

static gboolean
config_expand_value(const char *text, const ConfigTokenSet *set,
                    const ConfigContext *ctx, const char *keyword,
                    const char *file, int line, char **out, GError **error)
{
	const char *reason;
	g_autofree char *bad = NULL;
	g_autofree char *tilde = config_tilde_expand(text, ctx->home_dir,
	                                             ctx->local_user);
	if (tilde == NULL)
		return config_set_error(error, file, line,
			"%s \"%s\": unknown user after ~", keyword, text);
	*out = config_tokens_apply(tilde, set->list, TRUE, ctx->environment,
	                           &reason, &bad);
	if (*out == NULL)
		return config_set_error(error, file, line, "%s \"%s\": %s %s",
		                        keyword, text, reason, bad);
	return TRUE;
}

static ConfigAlgoClass
config_algo_of(ConfigKw kw)
{
	switch (kw) {
	case CONFIG_KW_CIPHERS: return CONFIG_ALGO_CIPHERS;
	case CONFIG_KW_MACS: return CONFIG_ALGO_MACS;
	case CONFIG_KW_KEX_ALGORITHMS: return CONFIG_ALGO_KEX;
	case CONFIG_KW_HOST_KEY_ALGORITHMS: return CONFIG_ALGO_HOSTKEY;
	case CONFIG_KW_PUBKEY_ALGORITHMS: return CONFIG_ALGO_PUBKEY;
	case CONFIG_KW_HOSTBASED_ALGORITHMS: return CONFIG_ALGO_HOSTBASED;
	case CONFIG_KW_CA_SIGNATURE_ALGORITHMS: return CONFIG_ALGO_CA_SIG;
	default: return CONFIG_ALGO_GSS_KEX;
	}
}

static gboolean
config_assemble_all(ConfigResolved *r, GError **error)
{
	static const ConfigKw kws[] = {
		CONFIG_KW_CIPHERS, CONFIG_KW_MACS, CONFIG_KW_KEX_ALGORITHMS,
		CONFIG_KW_HOST_KEY_ALGORITHMS, CONFIG_KW_PUBKEY_ALGORITHMS,
		CONFIG_KW_HOSTBASED_ALGORITHMS, CONFIG_KW_CA_SIGNATURE_ALGORITHMS,
		CONFIG_KW_GSSAPI_KEX_ALGORITHMS,
	};
	for (gsize i = 0; i < G_N_ELEMENTS(kws); i++) {
		const ConfigValue *v = config_options_get(&r->opts, kws[i]);
		ConfigAlgoClass klass = config_algo_of(kws[i]);
		r->algorithms[klass] = config_algorithms_assemble(klass,
			v != NULL ? v->text : NULL);
		if (r->algorithms[klass] == NULL)
			return config_set_error(error, v->file, v->line,
				"%s \"%s\": no algorithm left (a '!' pattern is only "
				"allowed after '-') (host %s)",
				config_keyword_by_slot(kws[i])->name, v->text, r->host_arg);
	}
	return TRUE;
}

/* The expansions ssh.c makes before `ssh -G` prints. */
static gboolean
config_expand_resolved(const ConfigContext *ctx, ConfigResolved *r,
                       GError **error)
{
	ConfigValue *alias = &r->opts.values[CONFIG_KW_HOST_KEY_ALIAS];
	if (alias->set) {
		char *lower = config_lowercase(alias->text);
		g_free(alias->text);
		alias->text = lower;
	}
	ConfigTokenSet set;
	config_token_set_init(&set, r->host_arg, r->host, r->user, r->port,
	                      alias->set ? alias->text : NULL, ctx->home_dir,
	                      ctx->local_user);
	gboolean ok = TRUE;
	const ConfigValue *agent = config_options_get(&r->opts,
		CONFIG_KW_IDENTITY_AGENT);
	if (agent != NULL)
		ok = config_expand_value(agent->text, &set, ctx, "IdentityAgent",
		                         agent->file, agent->line,
		                         &r->identity_agent, error);
	const ConfigValue *files = config_options_get(&r->opts,
		CONFIG_KW_USER_KNOWN_HOSTS);
	r->user_known_hosts = g_ptr_array_new_with_free_func(g_free);
	if (strcmp(files->list->pdata[0], "none") != 0)
		for (guint i = 0; ok && i < files->list->len; i++) {
			char *path = NULL;
			ok = config_expand_value(files->list->pdata[i], &set, ctx,
			                         "UserKnownHostsFile", files->file,
			                         files->line, &path, error);
			if (ok)
				g_ptr_array_add(r->user_known_hosts, path);
		}
	config_token_set_clear(&set);
	return ok;
}

/* ssh.c main() from the command line to `if (config_test)`. */
gboolean
config_resolve_hop(const ConfigContext *ctx, const ConfigHopRequest *request,
                   ConfigResolved *r, GError **error)
{
	gboolean want_final = FALSE;

	memset(r, 0, sizeof *r);
	config_options_init(&r->opts);
	r->host_arg = g_strdup(request->alias);
	/* Debian's checks of what the command line gives (CVE-2023-51385). */
	if (!config_valid_hostname(request->alias))
		return config_set_error(error, request->target ? NULL : request->jump_file, request->jump_line,
			"hostname contains invalid characters: \"%s\"", request->alias);
	if (!config_apply_command_line(ctx, request, &r->opts, error))
		return FALSE;
	if (request->port > 0) { /* -p beats -o Port */
		config_value_clear(&r->opts.values[CONFIG_KW_PORT]);
		config_options_set(&r->opts, CONFIG_KW_PORT, request->port, NULL);
	} else if (request->default_port > 0) {
		config_options_set(&r->opts, CONFIG_KW_PORT, request->default_port,
		                   NULL);
	}
	if (request->user != NULL)
		config_options_set(&r->opts, CONFIG_KW_USER, 0, request->user);
	/* Debian checks the user the command line gave (-l, user@, -o User). */
	const ConfigValue *cli_user = config_options_get(&r->opts, CONFIG_KW_USER);
	if (cli_user != NULL && !config_valid_user(cli_user->text))
		return config_set_error(error, request->target ? NULL : request->jump_file,
			request->jump_line,
			"remote username contains invalid characters: \"%s\"",
			cli_user->text);

	ConfigEvalContext eval = {
		.host = request->alias, .original_host = request->alias,
		.final_pass = FALSE, .want_final = &want_final,
		.local_user = ctx->local_user, .home_dir = ctx->home_dir,
		.environment = ctx->environment, .working_dir = ctx->working_dir,
	};
	if (!config_eval_files(ctx->files, &eval, &r->opts, error))
		return FALSE;
	/* fill_default_options_for_canonicalization(): these are settled
	 * before the final pass, which cannot change them any more. */
	config_options_set(&r->opts, CONFIG_KW_CANONICALIZE_MAX_DOTS, 1, NULL);
	config_options_set(&r->opts, CONFIG_KW_CANONICALIZE_FALLBACK_LOCAL, 1, NULL);
	config_options_set(&r->opts, CONFIG_KW_CANONICALIZE_HOSTNAME, CONFIG_CANON_NO,
	                   NULL);

	/* HostName: only %h (the name as given) and %%. */
	ConfigValue *hostname = &r->opts.values[CONFIG_KW_HOSTNAME];
	if (hostname->set) {
		const ConfigToken h[] = { { 'h', request->alias }, { 0, NULL } };
		const char *reason;
		g_autofree char *bad = NULL;
		r->host = config_tokens_apply(hostname->text, h, FALSE, NULL,
		                              &reason, &bad);
		if (r->host == NULL)
			return config_set_error(error, hostname->file, hostname->line,
				"HostName \"%s\": %s %s", hostname->text, reason, bad);
		g_free(hostname->text);
		hostname->text = g_strdup(r->host);
	} else {
		r->host = g_strdup(request->alias);
	}
	if (!config_canon_is_address(r->host)) {
		char *lower = config_lowercase(r->host);
		g_free(r->host);
		r->host = lower;
	}
	const ConfigValue *command = config_options_get(&r->opts,
		CONFIG_KW_PROXY_COMMAND);
	r->direct = (command == NULL || g_ascii_strcasecmp(command->text, "none") == 0)
	            && r->opts.jump_host == NULL;
	if (!config_canonicalize(&r->host, &r->opts, r->direct, ctx->resolve,
	                         ctx->resolve_data, error))
		return FALSE;
	const ConfigValue *canon = config_options_get(&r->opts,
		CONFIG_KW_CANONICALIZE_HOSTNAME);
	if (canon != NULL && canon->number != CONFIG_CANON_NO)
		want_final = TRUE;
	if (want_final) {
		config_value_clear(hostname);
		config_options_set(&r->opts, CONFIG_KW_HOSTNAME, 0, r->host);
		eval.host = r->host;
		eval.final_pass = TRUE;
		eval.want_final = NULL;
		if (!config_eval_files(ctx->files, &eval, &r->opts, error))
			return FALSE;
	}

	config_fill_defaults(&r->opts);
	const ConfigValue *user = config_options_get(&r->opts, CONFIG_KW_USER);
	r->user = g_strdup(user != NULL ? user->text : ctx->local_user);
	const ConfigValue *port = config_options_get(&r->opts, CONFIG_KW_PORT);
	r->port = port != NULL && port->number > 0 ? port->number
	                                           : CONFIG_DEFAULT_PORT;
	r->direct = config_options_get(&r->opts, CONFIG_KW_PROXY_COMMAND) == NULL &&
	            r->opts.jump_host == NULL;

	if (r->opts.jump_host != NULL) {
		int jump_port = r->opts.jump_port > 0 ? r->opts.jump_port
		                                       : CONFIG_DEFAULT_PORT;
		const char *jump_user = r->opts.jump_user != NULL ? r->opts.jump_user
		                                                   : r->user;
		if (strcmp(r->opts.jump_host, r->host) == 0 && r->port == jump_port &&
		    strcmp(r->user, jump_user) == 0)
			return config_set_error(error, r->opts.jump_file,
				r->opts.jump_line, "jumphost loop via %s", r->opts.jump_host);
		/* Never FD passing for a ProxyJump (ssh.c). */
		r->opts.values[CONFIG_KW_PROXY_USE_FDPASS].number = 0;
	}
	config_check_update_host_keys(&r->opts);
	const ConfigValue *attempts = config_options_get(&r->opts,
		CONFIG_KW_CONNECTION_ATTEMPTS);
	if (attempts->number <= 0)
		return config_set_error(error, attempts->file, attempts->line,
			"Invalid number of ConnectionAttempts");
	command = config_options_get(&r->opts, CONFIG_KW_PROXY_COMMAND);
	if (command != NULL && strcmp(command->text, "-") == 0 &&
	    config_options_get(&r->opts, CONFIG_KW_PROXY_USE_FDPASS)->number)
		return config_set_error(error, command->file, command->line,
			"ProxyCommand=- and ProxyUseFDPass are incompatible");
	return config_assemble_all(r, error) &&
	       config_expand_resolved(ctx, r, error);
}

void
config_resolved_clear(ConfigResolved *r)
{
	config_options_clear(&r->opts);
	g_free(r->host_arg);
	g_free(r->host);
	g_free(r->user);
	for (int i = 0; i < CONFIG_ALGO_COUNT; i++)
		g_free(r->algorithms[i]);
	g_free(r->identity_agent);
	if (r->user_known_hosts != NULL)
		g_ptr_array_unref(r->user_known_hosts);
	memset(r, 0, sizeof *r);
}

gboolean
config_resolved_next(const ConfigResolved *r, ConfigHopRequest *next)
{
	if (r->opts.jump_host == NULL || strcmp(r->opts.jump_host, "none") == 0)
		return FALSE;
	*next = (ConfigHopRequest){
		.alias = r->opts.jump_host, .user = r->opts.jump_user,
		.port = r->opts.jump_port > 0 ? r->opts.jump_port : 0,
		.jump = r->opts.jump_extra, .jump_file = r->opts.jump_file,
		.jump_line = r->opts.jump_line, .target = FALSE,
	};
	return TRUE;
}
