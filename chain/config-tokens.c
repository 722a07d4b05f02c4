/* %-tokens and ${VAR}: see config-tokens.h. */
#include "chain/config-tokens.h"

#include <string.h>
#include <unistd.h>

#include "chain/errors.h"

static const char *
config_env_lookup(const char *const *environment, const char *name)
{
	if (environment == NULL)
		return g_getenv(name);
	return g_environ_getenv((char **)environment, name);
}

char *
config_tokens_apply(const char *text, const ConfigToken *tokens,
                    gboolean dollar, const char *const *environment,
                    const char **reason, char **bad)
{
	GString *out = g_string_new(NULL);

	*bad = NULL;
	for (const char *p = text; *p != '\0'; p++) {
		if (dollar && p[0] == '$' && p[1] == '{') {
			const char *name = p + 2, *end = strchr(name, '}');
			if (end == NULL) {
				*reason = "environment variable missing closing '}'";
				*bad = g_strdup(p);
				goto fail;
			}
			if (end == name) {
				*reason = "zero-length environment variable";
				*bad = g_strdup("${}");
				goto fail;
			}
			g_autofree char *var = g_strndup(name, (gsize)(end - name));
			const char *value = config_env_lookup(environment, var);
			if (value == NULL) {
				*reason = "environment variable has no value";
				*bad = g_strdup_printf("${%s}", var);
				goto fail;
			}
			g_string_append(out, value);
			p = end;
			continue;
		}
		if (*p != '%' || tokens == NULL) {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			g_string_append_c(out, '%');
			continue;
		}
		if (*p == '\0') {
			*reason = "'%' at the end";
			*bad = g_strdup("%");
			goto fail;
		}
		const ConfigToken *token = tokens;
		while (token->token != 0 && token->token != *p)
			token++;
		if (token->token == 0) {
			*reason = "unknown token";
			*bad = g_strdup_printf("%%%c", *p);
			goto fail;
		}
		g_string_append(out, token->value);
	}
	return g_string_free(out, FALSE);

fail:
	g_string_free(out, TRUE);
	return NULL;
}

/* ssh_connection_hash(): SHA1 of %l%h%p%r, in hex. */
static char *
config_connection_hash(const char *this_host, const char *host,
                       const char *port, const char *user)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sum, (const guchar *)this_host, (gssize)strlen(this_host));
	g_checksum_update(sum, (const guchar *)host, (gssize)strlen(host));
	g_checksum_update(sum, (const guchar *)port, (gssize)strlen(port));
	g_checksum_update(sum, (const guchar *)user, (gssize)strlen(user));
	char *hex = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return hex;
}

void
config_token_set_init(ConfigTokenSet *set, const char *host_arg,
                      const char *remote_host, const char *remote_user,
                      int port, const char *key_alias, const char *home_dir,
                      const char *local_user)
{
	char name[256] = "";

	if (gethostname(name, sizeof name - 1) != 0)
		name[0] = '\0';
	memset(set, 0, sizeof *set);
	set->this_host = g_strdup(name);
	set->short_host = g_strndup(name, strcspn(name, "."));
	set->port = g_strdup_printf("%d", port);
	set->uid = g_strdup_printf("%lu", (unsigned long)getuid());
	set->key_alias = g_strdup(key_alias != NULL ? key_alias : host_arg);
	set->host_arg = g_strdup(host_arg);
	set->remote_host = g_strdup(remote_host);
	set->remote_user = g_strdup(remote_user);
	set->home_dir = g_strdup(home_dir);
	set->local_user = g_strdup(local_user);
	set->conn_hash = config_connection_hash(set->this_host, remote_host,
	                                        set->port, remote_user);
	const ConfigToken list[] = {
		{ 'C', set->conn_hash }, { 'L', set->short_host },
		{ 'i', set->uid }, { 'k', set->key_alias },
		{ 'l', set->this_host }, { 'n', set->host_arg },
		{ 'p', set->port }, { 'd', set->home_dir },
		{ 'h', set->remote_host }, { 'r', set->remote_user },
		{ 'u', set->local_user }, { 0, NULL },
	};
	G_STATIC_ASSERT(G_N_ELEMENTS(list) == G_N_ELEMENTS(set->list));
	memcpy(set->list, list, sizeof list);
}

void
config_token_set_clear(ConfigTokenSet *set)
{
	g_free(set->conn_hash);
	g_free(set->short_host);
	g_free(set->uid);
	g_free(set->key_alias);
	g_free(set->this_host);
	g_free(set->host_arg);
	g_free(set->port);
	g_free(set->home_dir);
	g_free(set->remote_host);
	g_free(set->remote_user);
	g_free(set->local_user);
	memset(set, 0, sizeof *set);
}

ConfigToken *
config_tokens_only(const ConfigToken *tokens, const char *allowed)
{
	gsize n = 0;
	while (tokens[n].token != 0)
		n++;
	ConfigToken *copy = g_new0(ConfigToken, n + 1);
	gsize k = 0;
	for (gsize i = 0; i < n; i++)
		if (strchr(allowed, tokens[i].token) != NULL)
			copy[k++] = tokens[i];
	return copy;
}

char *
config_expand_tokens(const char *text, const HopSpec *hop,
                     const ConfigToken *extra,
                     const char *const *environment, const char *keyword,
                     GError **error)
{
	ConfigTokenSet set;
	const char *reason = NULL;
	g_autofree char *bad = NULL;

	config_token_set_init(&set, hop->alias, hop->hostname, hop->user,
	                      hop->port, hop->host_key_alias, hop->home_dir,
	                      hop->local_user);
	/* The hop's tokens first, as OpenSSH lists them before the extras. */
	GArray *all = g_array_new(TRUE, TRUE, sizeof(ConfigToken));
	for (const ConfigToken *t = set.list; t->token != 0; t++)
		g_array_append_val(all, *t);
	for (const ConfigToken *t = extra; t != NULL && t->token != 0; t++)
		g_array_append_val(all, *t);
	char *expanded = config_tokens_apply(text, (ConfigToken *)all->data,
	                                     environment != NULL, environment,
	                                     &reason, &bad);
	if (expanded == NULL)
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		            "%s \"%s\" for %s: %s %s", keyword, text,
		            hop->alias, reason, bad);
	g_array_free(all, TRUE);
	config_token_set_clear(&set);
	return expanded;
}
