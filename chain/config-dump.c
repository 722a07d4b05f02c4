/* `jumpfs -G`: a resolved hop printed as readconf.c dump_client_config()
 * prints it, for the keywords jumpfs uses, in the same order. */
#include "chain/config-dump.h"

#include <string.h>

static void
config_dump_number(GString *out, const ConfigResolved *r, ConfigKw kw)
{
	const ConfigKeyword *k = config_keyword_by_slot(kw);
	int value = r->opts.values[kw].number;
	if (k->kind == CONFIG_KIND_FLAG || k->kind == CONFIG_KIND_ENUM)
		g_string_append_printf(out, "%s %s\n", k->name,
		                       config_keyword_format(k, value));
	else
		g_string_append_printf(out, "%s %d\n", k->name, value);
}

static void
config_dump_string(GString *out, const char *name, const char *value)
{
	if (value != NULL)
		g_string_append_printf(out, "%s %s\n", name, value);
}

static void
config_dump_text(GString *out, const ConfigResolved *r, ConfigKw kw)
{
	const ConfigValue *v = config_options_get(&r->opts, kw);
	config_dump_string(out, config_keyword_by_slot(kw)->name,
	                   v != NULL ? v->text : NULL);
}

/* dump_cfg_strarray_oneline(): "none" for an empty list. */
static void
config_dump_oneline(GString *out, const char *name, const GPtrArray *list)
{
	g_string_append(out, name);
	if (list == NULL || list->len == 0)
		g_string_append(out, " none");
	for (guint i = 0; list != NULL && i < list->len; i++)
		g_string_append_printf(out, " %s", (const char *)list->pdata[i]);
	g_string_append_c(out, '\n');
}

static void
config_dump_each(GString *out, const ConfigResolved *r, ConfigKw kw)
{
	const ConfigValue *v = config_options_get(&r->opts, kw);
	for (guint i = 0; v != NULL && i < v->list->len; i++)
		g_string_append_printf(out, "%s %s\n", config_keyword_by_slot(kw)->name,
		                       (const char *)v->list->pdata[i]);
}

static void
config_dump_proxy(GString *out, const ConfigResolved *r)
{
	const ConfigOptions *o = &r->opts;

	if (o->jump_host == NULL) {
		config_dump_text(out, r, CONFIG_KW_PROXY_COMMAND);
		return;
	}
	gboolean numeric = strchr(o->jump_host, ':') != NULL ||
		strspn(o->jump_host, "1234567890.") == strlen(o->jump_host);
	g_string_append(out, "proxyjump ");
	if (o->jump_extra != NULL)
		g_string_append_printf(out, "%s,", o->jump_extra);
	if (o->jump_user != NULL)
		g_string_append_printf(out, "%s@", o->jump_user);
	g_string_append_printf(out, numeric ? "[%s]" : "%s", o->jump_host);
	if (o->jump_port > 0)
		g_string_append_printf(out, ":%d", o->jump_port);
	g_string_append_c(out, '\n');
}

static gboolean
config_dump_is_explicit(const ConfigResolved *r, ConfigKw kw)
{
	const ConfigValue *v = config_options_get(&r->opts, kw);
	return v != NULL && v->file != NULL;
}

char *
config_dump(const ConfigResolved *r, const HopSpec *hop,
            gboolean mount_defaults)
{
	GString *out = g_string_new(NULL);
	static const ConfigKw flags[] = {
		CONFIG_KW_ADDRESS_FAMILY, CONFIG_KW_BATCH_MODE,
		CONFIG_KW_CANONICALIZE_FALLBACK_LOCAL,
		CONFIG_KW_CANONICALIZE_HOSTNAME, CONFIG_KW_COMPRESSION,
		CONFIG_KW_GSSAPI_AUTH, CONFIG_KW_GSSAPI_DELEGATE,
		CONFIG_KW_HASH_KNOWN_HOSTS, CONFIG_KW_IDENTITIES_ONLY,
		CONFIG_KW_KBDINT_AUTH, CONFIG_KW_PASSWORD_AUTH,
		CONFIG_KW_PROXY_USE_FDPASS, CONFIG_KW_PUBKEY_AUTH,
		CONFIG_KW_STRICT_HOST_KEY, CONFIG_KW_TCP_KEEP_ALIVE,
		CONFIG_KW_UPDATE_HOST_KEYS,
		CONFIG_KW_CANONICALIZE_MAX_DOTS, CONFIG_KW_CONNECTION_ATTEMPTS,
		CONFIG_KW_PASSWORD_PROMPTS, CONFIG_KW_SERVER_ALIVE_COUNT_MAX,
		CONFIG_KW_SERVER_ALIVE_INTERVAL, CONFIG_KW_REQUIRED_RSA_SIZE,
	};

	config_dump_string(out, "host", r->host_arg);
	config_dump_string(out, "user", r->user);
	config_dump_string(out, "hostname", r->host);
	g_string_append_printf(out, "port %d\n", r->port);
	for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
		config_dump_number(out, r, flags[i]);
		if (flags[i] == CONFIG_KW_SERVER_ALIVE_INTERVAL && mount_defaults &&
		    hop->server_alive_interval < 0)
			g_string_append(out,
				"# jumpfs: serveraliveinterval 15 (mount default)\n");
	}

	config_dump_text(out, r, CONFIG_KW_BIND_ADDRESS);
	config_dump_text(out, r, CONFIG_KW_BIND_INTERFACE);
	config_dump_string(out, "ciphers", hop->ciphers);
	config_dump_string(out, "hostkeyalgorithms", hop->hostkey_algorithms);
	config_dump_text(out, r, CONFIG_KW_HOST_KEY_ALIAS);
	config_dump_string(out, "identityagent", r->identity_agent);
	config_dump_string(out, "kexalgorithms", hop->kex_algorithms);
	config_dump_string(out, "macs", hop->macs);
	config_dump_text(out, r, CONFIG_KW_PREFERRED_AUTHENTICATIONS);
	config_dump_string(out, "pubkeyacceptedalgorithms",
	                   hop->pubkey_accepted_algorithms);
	config_dump_text(out, r, CONFIG_KW_REVOKED_HOST_KEYS);
	config_dump_text(out, r, CONFIG_KW_KNOWN_HOSTS_COMMAND);

	config_dump_each(out, r, CONFIG_KW_IDENTITY_FILE);
	const ConfigValue *domains = config_options_get(&r->opts,
		CONFIG_KW_CANONICAL_DOMAINS);
	config_dump_oneline(out, "canonicaldomains",
	                    domains != NULL ? domains->list : NULL);
	config_dump_each(out, r, CONFIG_KW_CERTIFICATE_FILE);
	const ConfigValue *global = config_options_get(&r->opts,
		CONFIG_KW_GLOBAL_KNOWN_HOSTS);
	gboolean global_none = strcmp(global->list->pdata[0], "none") == 0;
	config_dump_oneline(out, "globalknownhostsfile",
	                    global_none ? NULL : global->list);
	config_dump_oneline(out, "userknownhostsfile", r->user_known_hosts);

	const ConfigValue *timeout = config_options_get(&r->opts,
		CONFIG_KW_CONNECT_TIMEOUT);
	if (timeout == NULL)
		g_string_append(out, "connecttimeout none\n");
	else
		g_string_append_printf(out, "connecttimeout %d\n", timeout->number);
	if (mount_defaults && !config_dump_is_explicit(r, CONFIG_KW_CONNECT_TIMEOUT))
		g_string_append(out, "# jumpfs: connecttimeout 30 (mount default)\n");

	const ConfigValue *cnames = config_options_get(&r->opts,
		CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES);
	g_string_append(out, "canonicalizePermittedcnames");
	gboolean none = cnames == NULL || (cnames->list->len == 1 &&
		strcmp(cnames->list->pdata[0], "none:") == 0);
	if (none)
		g_string_append(out, " none");
	for (guint i = 0; !none && i < cnames->list->len; i++)
		g_string_append_printf(out, " %s", (const char *)cnames->list->pdata[i]);
	g_string_append_c(out, '\n');

	const ConfigValue *rekey = config_options_get(&r->opts, CONFIG_KW_REKEY_LIMIT);
	g_string_append_printf(out, "rekeylimit %" G_GINT64_FORMAT " %d\n",
	                       rekey != NULL ? rekey->size : 0,
	                       MAX(r->opts.rekey_interval, 0));
	config_dump_proxy(out, r);
	return g_string_free(out, FALSE);
}
