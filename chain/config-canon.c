/* Host name canonicalization: see config-canon.h. */
#include "chain/config-canon.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "chain/config-util.h"

gboolean
config_canon_resolve_system(const char *name, int family, char **canonical,
                            gpointer data)
{
	(void)data;
	struct addrinfo hints = {
		.ai_family = family, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_CANONNAME,
	};
	struct addrinfo *res = NULL;

	*canonical = NULL;
	if (getaddrinfo(name, "22", &hints, &res) != 0)
		return FALSE;
	if (res->ai_canonname != NULL &&
	    config_valid_domain(res->ai_canonname) == NULL)
		*canonical = g_strdup(res->ai_canonname);
	freeaddrinfo(res);
	return TRUE;
}

static gboolean
config_is_address_fast(const char *name)
{
	return strchr(name, '%') != NULL || strchr(name, ':') != NULL ||
	       strspn(name, "0123456789.") == strlen(name);
}

/* getaddrinfo(AI_NUMERICHOST): never a lookup. One address -> its text. */
static char *
config_numeric_address(const char *name, int family)
{
	struct addrinfo hints = {
		.ai_family = family, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	char text[NI_MAXHOST];
	char *result = NULL;

	if (getaddrinfo(name, "22", &hints, &res) != 0)
		return NULL;
	if (res != NULL && res->ai_next == NULL &&
	    getnameinfo(res->ai_addr, res->ai_addrlen, text, sizeof text, NULL,
	                0, NI_NUMERICHOST) == 0)
		result = g_strdup(text);
	freeaddrinfo(res);
	return result;
}

gboolean
config_canon_is_address(const char *name)
{
	if (config_is_address_fast(name))
		return TRUE;
	g_autofree char *numeric = config_numeric_address(name, AF_UNSPEC);
	return numeric != NULL;
}

static int
config_canon_number(const ConfigOptions *opts, ConfigKw kw, int unset)
{
	const ConfigValue *value = config_options_get(opts, kw);
	return value != NULL ? value->number : unset;
}

static gboolean
config_has_permitted_cnames(const ConfigOptions *opts)
{
	const ConfigValue *v = config_options_get(opts,
		CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES);
	if (v == NULL || v->list->len == 0)
		return FALSE;
	return !(v->list->len == 1 && strcmp(v->list->pdata[0], "none:") == 0);
}

/* check_follow_cname(): replace *host by cname if a rule permits it. */
static void
config_follow_cname(char **host, const char *cname, const ConfigOptions *opts,
                    gboolean direct)
{
	int canon = config_canon_number(opts, CONFIG_KW_CANONICALIZE_HOSTNAME,
	                                CONFIG_CANON_NO);

	if (cname == NULL || *cname == '\0' || !config_has_permitted_cnames(opts) ||
	    strcmp(*host, cname) == 0 || canon == CONFIG_CANON_NO ||
	    (!direct && canon != CONFIG_CANON_ALWAYS))
		return;
	const ConfigValue *rules = config_options_get(opts,
		CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES);
	for (guint i = 0; i < rules->list->len; i++) {
		g_autofree char *rule = g_strdup(rules->list->pdata[i]);
		char *colon = strchr(rule, ':');
		*colon = '\0';
		if (config_pattern_list(*host, rule, TRUE) != 1 ||
		    config_pattern_list(cname, colon + 1, TRUE) != 1)
			continue;
		g_free(*host);
		*host = config_lowercase(cname);
		return;
	}
}

/* resolve_canonicalize(): TRUE with *found when a name resolved. */
static gboolean
config_resolve_canonical(char **host, const ConfigOptions *opts,
                         gboolean direct, ConfigResolveFunc resolve,
                         gpointer data, gboolean *found, GError **error)
{
	int family = config_canon_number(opts, CONFIG_KW_ADDRESS_FAMILY, AF_UNSPEC);
	int canon = config_canon_number(opts, CONFIG_KW_CANONICALIZE_HOSTNAME,
	                                CONFIG_CANON_NO);

	*found = FALSE;
	g_autofree char *numeric = config_numeric_address(*host, family);
	if (numeric != NULL) {
		if (g_ascii_strcasecmp(*host, numeric) != 0) {
			g_free(*host);
			*host = g_steal_pointer(&numeric);
		}
		*found = TRUE;
		return TRUE;
	}
	if (config_is_address_fast(*host) || canon == CONFIG_CANON_NO)
		return TRUE;
	if (!direct && canon != CONFIG_CANON_ALWAYS)
		return TRUE;

	gsize len = strlen(*host);
	GPtrArray *candidates = g_ptr_array_new_with_free_func(g_free);
	if (len > 0 && (*host)[len - 1] == '.') {
		g_ptr_array_add(candidates, g_strdup(*host));
	} else {
		int dots = 0;
		for (const char *p = *host; *p != '\0'; p++)
			dots += *p == '.';
		if (dots > config_canon_number(opts, CONFIG_KW_CANONICALIZE_MAX_DOTS, 1)) {
			g_ptr_array_unref(candidates);
			return TRUE; /* qualified enough */
		}
		const ConfigValue *domains = config_options_get(opts,
			CONFIG_KW_CANONICAL_DOMAINS);
		for (guint i = 0; domains != NULL && i < domains->list->len; i++) {
			if (g_ascii_strcasecmp(domains->list->pdata[i], "none") == 0)
				break;
			g_ptr_array_add(candidates, g_strdup_printf("%s.%s.", *host,
				(const char *)domains->list->pdata[i]));
		}
	}
	for (guint i = 0; i < candidates->len && !*found; i++) {
		char *full = candidates->pdata[i];
		g_autofree char *cname = NULL;
		if (!resolve(full, family, &cname, data))
			continue;
		full[strlen(full) - 1] = '\0'; /* the trailing '.' */
		g_autofree char *name = g_strdup(full);
		config_follow_cname(&name, cname, opts, direct);
		g_free(*host);
		*host = g_steal_pointer(&name);
		*found = TRUE;
	}
	g_ptr_array_unref(candidates);
	if (!*found && !config_canon_number(opts,
	                 CONFIG_KW_CANONICALIZE_FALLBACK_LOCAL, 1)) {
		const ConfigValue *where = config_options_get(opts,
			CONFIG_KW_CANONICALIZE_HOSTNAME);
		return config_set_error(error, where->file, where->line,
			"Could not resolve host \"%s\" (CanonicalizeHostname, "
			"CanonicalizeFallbackLocal no)", *host);
	}
	return TRUE;
}

gboolean
config_canonicalize(char **host, const ConfigOptions *opts, gboolean direct,
                    ConfigResolveFunc resolve, gpointer data, GError **error)
{
	int canon = config_canon_number(opts, CONFIG_KW_CANONICALIZE_HOSTNAME,
	                                CONFIG_CANON_NO);
	gboolean found = FALSE;

	if (resolve == NULL)
		resolve = config_canon_resolve_system;
	if ((canon != CONFIG_CANON_NO || config_canon_is_address(*host)) &&
	    !config_resolve_canonical(host, opts, direct, resolve, data, &found,
	                              error))
		return FALSE;
	/* The CNAME rules also apply to a name canonicalization left alone. */
	if (!found && config_has_permitted_cnames(opts) &&
	    (direct || canon == CONFIG_CANON_ALWAYS)) {
		g_autofree char *cname = NULL;
		int family = config_canon_number(opts, CONFIG_KW_ADDRESS_FAMILY,
		                                 AF_UNSPEC);
		if (!resolve(*host, family, &cname, data)) {
			const ConfigValue *rules = config_options_get(opts,
				CONFIG_KW_CANONICALIZE_PERMITTED_CNAMES);
			if (direct)
				return config_set_error(error, rules->file, rules->line,
					"Could not resolve hostname %s (for "
					"CanonicalizePermittedCNAMEs)", *host);
		} else {
			config_follow_cname(host, cname, opts, direct);
		}
	}
	return TRUE;
}
