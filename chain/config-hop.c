/* A resolved hop turned into the HopSpec the connect side reads, and the
 * HopSpec helpers (free, copy, keys). */
#include "chain/config-hop.h"

#include <string.h>

#include "chain/config-tokens.h"
#include "chain/config-util.h"
#include "chain/errors.h"

#define CONFIG_DEFAULT_PREFERRED \
	"gssapi-with-mic,hostbased,publickey,keyboard-interactive,password"

static int
config_number(const ConfigResolved *r, ConfigKw kw)
{
	return r->opts.values[kw].number;
}

/* Set by a config line or -o, not by fill_default_options(). */
static const ConfigValue *
config_explicit(const ConfigResolved *r, ConfigKw kw)
{
	const ConfigValue *v = config_options_get(&r->opts, kw);
	return v != NULL && v->file != NULL ? v : NULL;
}

/* IdentityFile, CertificateFile: ~ then %-tokens and ${VAR}, "none"
 * dropped (ssh.c load_public_identity_files). */
static GPtrArray *
config_expand_files(const ConfigContext *ctx, const ConfigResolved *r,
                    const ConfigTokenSet *set, ConfigKw kw,
                    const char *keyword, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	const ConfigValue *files = config_options_get(&r->opts, kw);

	for (guint i = 0; files != NULL && i < files->list->len; i++) {
		const char *path = files->list->pdata[i];
		const char *reason;
		g_autofree char *bad = NULL;
		if (g_ascii_strcasecmp(path, "none") == 0)
			continue;
		g_autofree char *tilde = config_tilde_expand(path, ctx->home_dir,
		                                             ctx->local_user);
		char *expanded = tilde == NULL ? NULL
			: config_tokens_apply(tilde, set->list, TRUE, ctx->environment,
			                      &reason, &bad);
		if (expanded == NULL) {
			config_set_error(error, files->file, files->line,
				"%s \"%s\": %s %s (host %s)", keyword, path,
				tilde == NULL ? "unknown user after" : reason,
				tilde == NULL ? "~" : bad, r->host_arg);
			g_ptr_array_unref(out);
			return NULL;
		}
		/* The same file twice would be offered twice. */
		if (g_ptr_array_find_with_equal_func(out, expanded, g_str_equal, NULL))
			g_free(expanded);
		else
			g_ptr_array_add(out, expanded);
	}
	return out;
}

static char *
config_agent_socket(const ConfigContext *ctx, const ConfigResolved *r)
{
	const char *agent = r->identity_agent;
	const char *const *env = ctx->environment;
	const char *name = "SSH_AUTH_SOCK";

	if (agent != NULL && strcmp(agent, "SSH_AUTH_SOCK") != 0) {
		if (strcmp(agent, "none") == 0)
			return NULL;
		if (agent[0] != '$' || agent[1] == '{')
			return g_strdup(agent);
		name = agent + 1; /* the legacy "$VAR" form */
	}
	const char *value = env != NULL ? g_environ_getenv((char **)env, name)
	                                : g_getenv(name);
	return g_strdup(value);
}

/* ProxyCommand: %h %k %n %p %r (sshconnect.c expand_proxy_command), after
 * checking that no value with shell metacharacters reaches the shell. */
static char *
config_proxy_command(const ConfigResolved *r, const HopSpec *hop,
                     GError **error)
{
	const ConfigValue *command = config_options_get(&r->opts,
		CONFIG_KW_PROXY_COMMAND);
	g_autofree char *port = g_strdup_printf("%d", hop->port);
	const char *key_alias = hop->host_key_alias != NULL ? hop->host_key_alias
	                                                    : hop->alias;
	const ConfigToken tokens[] = {
		{ 'h', hop->hostname }, { 'k', key_alias }, { 'n', hop->alias },
		{ 'p', port }, { 'r', hop->user }, { 0, NULL },
	};
	for (const char *p = strchr(command->text, '%'); p != NULL && p[1] != '\0';
	     p = strchr(p + 2, '%')) {
		const char *value = NULL;
		for (const ConfigToken *t = tokens; t->token != 0; t++)
			if (t->token == p[1])
				value = t->value;
		if (value != NULL && !(p[1] == 'r' ? config_valid_user(value)
		                                   : config_valid_hostname(value))) {
			config_set_error(error, command->file, command->line,
				"ProxyCommand: %%%c is \"%s\", which has characters the "
				"shell would interpret (host %s)", p[1], value, hop->alias);
			return NULL;
		}
	}
	const char *reason;
	g_autofree char *bad = NULL;
	char *expanded = config_tokens_apply(command->text, tokens, FALSE, NULL,
	                                     &reason, &bad);
	if (expanded == NULL)
		config_set_error(error, command->file, command->line,
			"ProxyCommand \"%s\": %s %s (host %s)", command->text, reason,
			bad, hop->alias);
	return expanded;
}

/* OpenSSH's list for klass, less what libssh cannot speak. */
static char *
config_hop_algorithms(const ConfigResolved *r, ConfigAlgoClass klass,
                      ConfigKw kw, GError **error)
{
	char *list = config_algorithms_for_libssh(klass, r->algorithms[klass]);
	if (list[0] != '\0')
		return list;
	g_free(list);
	const ConfigValue *v = config_options_get(&r->opts, kw);
	config_set_error(error, v != NULL ? v->file : NULL, v != NULL ? v->line : 0,
		"%s: none of \"%s\" can be used with libssh 0.10 (host %s; it "
		"speaks %s)", config_keyword_by_slot(kw)->name, r->algorithms[klass],
		r->host_arg, config_algorithms_libssh(klass));
	return NULL;
}

static StrictHostKey
config_strict(int value)
{
	switch (value) {
	case CONFIG_STRICT_YES: return STRICT_HOSTKEY_YES;
	case CONFIG_STRICT_NEW: return STRICT_HOSTKEY_ACCEPT_NEW;
	case CONFIG_STRICT_OFF: return STRICT_HOSTKEY_NO;
	default: return STRICT_HOSTKEY_ASK;
	}
}

static gboolean
config_fill_lists(const ConfigContext *ctx, const ConfigResolved *r,
                  HopSpec *hop, GError **error)
{
	ConfigTokenSet set;
	config_token_set_init(&set, r->host_arg, r->host, r->user, r->port,
	                      hop->host_key_alias, ctx->home_dir, ctx->local_user);
	hop->identity_files = config_expand_files(ctx, r, &set,
		CONFIG_KW_IDENTITY_FILE, "IdentityFile", error);
	if (hop->identity_files != NULL)
		hop->certificate_files = config_expand_files(ctx, r, &set,
			CONFIG_KW_CERTIFICATE_FILE, "CertificateFile", error);
	config_token_set_clear(&set);
	if (hop->certificate_files == NULL)
		return FALSE;

	/* "none" leaves the list empty: a new key then has nowhere to go,
	 * which is not the same as /dev/null (where writing succeeds). */
	hop->user_known_hosts = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < r->user_known_hosts->len; i++)
		g_ptr_array_add(hop->user_known_hosts,
		                g_strdup(r->user_known_hosts->pdata[i]));
	hop->global_known_hosts = g_ptr_array_new_with_free_func(g_free);
	const ConfigValue *global = config_options_get(&r->opts,
		CONFIG_KW_GLOBAL_KNOWN_HOSTS);
	for (guint i = 0; i < global->list->len; i++) {
		const char *path = global->list->pdata[i];
		if (g_ascii_strcasecmp(path, "none") == 0) {
			g_ptr_array_add(hop->global_known_hosts, g_strdup("/dev/null"));
			continue;
		}
		char *expanded = config_tilde_expand(path, ctx->home_dir,
		                                     ctx->local_user);
		g_ptr_array_add(hop->global_known_hosts,
		                expanded != NULL ? expanded : g_strdup(path));
	}
	return TRUE;
}

HopSpec *
config_hop_fill(const ConfigContext *ctx, const ConfigResolved *r,
                GError **error)
{
	HopSpec *hop = g_new0(HopSpec, 1);
	const ConfigValue *v;

	hop->alias = g_strdup(r->host_arg);
	hop->hostname = g_strdup(r->host);
	hop->user = g_strdup(r->user);
	hop->port = r->port;
	hop->local_user = g_strdup(ctx->local_user);
	hop->home_dir = g_strdup(ctx->home_dir);
	v = config_options_get(&r->opts, CONFIG_KW_HOST_KEY_ALIAS);
	hop->host_key_alias = v != NULL ? g_strdup(v->text) : NULL;
	if (!config_fill_lists(ctx, r, hop, error))
		goto fail;
	hop->identities_only = config_number(r, CONFIG_KW_IDENTITIES_ONLY) == 1;
	hop->identity_agent = config_agent_socket(ctx, r);
	hop->strict_host_key = config_strict(config_number(r, CONFIG_KW_STRICT_HOST_KEY));
	hop->hash_known_hosts = config_number(r, CONFIG_KW_HASH_KNOWN_HOSTS) == 1;
	v = config_options_get(&r->opts, CONFIG_KW_REVOKED_HOST_KEYS);
	/* Debian's ssh 9.2 opens the path as written (9.4 began expanding
	 * ~): a "~/..." there cannot be read, and ssh refuses to connect. */
	if (v != NULL)
		hop->revoked_host_keys = g_strdup(v->text);
	v = config_options_get(&r->opts, CONFIG_KW_KNOWN_HOSTS_COMMAND);
	hop->known_hosts_command = v != NULL ? g_strdup(v->text) : NULL;
	hop->update_host_keys = config_number(r, CONFIG_KW_UPDATE_HOST_KEYS) != CONFIG_UPDATE_NO;

	v = config_options_get(&r->opts, CONFIG_KW_CONNECT_TIMEOUT);
	hop->connect_timeout = v != NULL ? v->number : 0;
	hop->connection_attempts = config_number(r, CONFIG_KW_CONNECTION_ATTEMPTS);
	v = config_explicit(r, CONFIG_KW_SERVER_ALIVE_INTERVAL);
	hop->server_alive_interval = v != NULL ? v->number : -1;
	v = config_explicit(r, CONFIG_KW_SERVER_ALIVE_COUNT_MAX);
	hop->server_alive_count_max = v != NULL ? v->number : -1;
	hop->tcp_keep_alive = config_number(r, CONFIG_KW_TCP_KEEP_ALIVE) == 1;
	v = config_options_get(&r->opts, CONFIG_KW_BIND_ADDRESS);
	hop->bind_address = v != NULL ? g_strdup(v->text) : NULL;
	v = config_options_get(&r->opts, CONFIG_KW_BIND_INTERFACE);
	hop->bind_interface = v != NULL ? g_strdup(v->text) : NULL;
	hop->address_family = config_number(r, CONFIG_KW_ADDRESS_FAMILY);
	hop->canonicalize_hostname = config_number(r, CONFIG_KW_CANONICALIZE_HOSTNAME);
	if (config_options_get(&r->opts, CONFIG_KW_PROXY_COMMAND) != NULL &&
	    (hop->proxy_command = config_proxy_command(r, hop, error)) == NULL)
		goto fail;
	hop->proxy_use_fdpass = config_number(r, CONFIG_KW_PROXY_USE_FDPASS) == 1;

	if ((hop->ciphers = config_hop_algorithms(r, CONFIG_ALGO_CIPHERS,
	                                          CONFIG_KW_CIPHERS, error)) == NULL ||
	    (hop->kex_algorithms = config_hop_algorithms(r, CONFIG_ALGO_KEX,
	                                                 CONFIG_KW_KEX_ALGORITHMS, error)) == NULL ||
	    (hop->hostkey_algorithms = config_hop_algorithms(r, CONFIG_ALGO_HOSTKEY,
	                                                     CONFIG_KW_HOST_KEY_ALGORITHMS, error)) == NULL ||
	    (hop->macs = config_hop_algorithms(r, CONFIG_ALGO_MACS,
	                                       CONFIG_KW_MACS, error)) == NULL ||
	    (hop->pubkey_accepted_algorithms = config_hop_algorithms(r,
	                 CONFIG_ALGO_PUBKEY, CONFIG_KW_PUBKEY_ALGORITHMS, error)) == NULL)
		goto fail;
	hop->ciphers_from_config = config_explicit(r, CONFIG_KW_CIPHERS) != NULL;
	/* sshconnect2.c: only an unset list or a +/- edit of the default is
	 * reordered by the known key types. */
	const ConfigValue *hostkeys = config_explicit(r, CONFIG_KW_HOST_KEY_ALGORITHMS);
	hop->hostkey_algorithms_fixed = hostkeys != NULL && hostkeys->text[0] != '+' &&
	                                hostkeys->text[0] != '-';
	hop->required_rsa_size = config_number(r, CONFIG_KW_REQUIRED_RSA_SIZE);
	v = config_options_get(&r->opts, CONFIG_KW_REKEY_LIMIT);
	hop->rekey_limit_bytes = v != NULL ? v->size : 0;
	hop->rekey_limit_seconds = MAX(r->opts.rekey_interval, 0);

	hop->compression = config_number(r, CONFIG_KW_COMPRESSION) != 0;
	hop->batch_mode = config_number(r, CONFIG_KW_BATCH_MODE) == 1;
	hop->password_auth = config_number(r, CONFIG_KW_PASSWORD_AUTH) == 1;
	hop->kbdint_auth = config_number(r, CONFIG_KW_KBDINT_AUTH) == 1;
	hop->pubkey_auth = config_number(r, CONFIG_KW_PUBKEY_AUTH) != 0;
	hop->gssapi_auth = config_number(r, CONFIG_KW_GSSAPI_AUTH) == 1;
	hop->gssapi_delegate = config_number(r, CONFIG_KW_GSSAPI_DELEGATE) == 1;
	v = config_options_get(&r->opts, CONFIG_KW_PREFERRED_AUTHENTICATIONS);
	hop->preferred_authentications = g_strdup(v != NULL ? v->text
	                                                    : CONFIG_DEFAULT_PREFERRED);
	hop->number_of_password_prompts = config_number(r, CONFIG_KW_PASSWORD_PROMPTS);
	return hop;

fail:
	hop_spec_free(hop);
	return NULL;
}

void
hop_spec_free(HopSpec *hop)
{
	if (hop == NULL)
		return;
	g_free(hop->alias);
	g_free(hop->local_user);
	g_free(hop->home_dir);
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
	copy->local_user = g_strdup(hop->local_user);
	copy->home_dir = g_strdup(hop->home_dir);
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
	KEY_S(ciphers); KEY_I(ciphers_from_config);
	KEY_I(hostkey_algorithms_fixed); KEY_S(kex_algorithms);
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
