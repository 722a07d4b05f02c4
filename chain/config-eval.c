/* Host / Match / Include evaluation and first-value-wins: see
 * config-eval.h. */
#include "chain/config-eval.h"

#include <string.h>

#include "chain/config-match.h"
#include "chain/config-tokens.h"
#include "chain/config-util.h"

#define CONFIG_MAX_FILES 100 /* SSH_MAX_IDENTITY_FILES, _CERTIFICATE_FILES */
#define CONFIG_DEFAULT_PORT 22

void
config_options_init(ConfigOptions *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->rekey_interval = -1;
	opts->jump_port = -1;
}

void
config_options_clear(ConfigOptions *opts)
{
	for (int i = 0; i < CONFIG_KW_COUNT; i++)
		config_value_clear(&opts->values[i]);
	g_free(opts->jump_user);
	g_free(opts->jump_host);
	g_free(opts->jump_extra);
	config_options_init(opts);
}

const ConfigValue *
config_options_get(const ConfigOptions *opts, ConfigKw kw)
{
	return opts->values[kw].set ? &opts->values[kw] : NULL;
}

void
config_options_set(ConfigOptions *opts, ConfigKw kw, int number,
                   const char *text)
{
	ConfigValue *slot = &opts->values[kw];
	if (slot->set)
		return;
	slot->set = TRUE;
	slot->number = number;
	slot->text = g_strdup(text);
}

gboolean
config_options_set_jump(ConfigOptions *opts, const char *list, gboolean strict,
                        const char *file, int line, GError **error)
{
	/* Debian's 9.2 carries upstream's 2026 parse_jump(): "none" only
	 * marks ProxyJump as set, and a ProxyCommand set before shuts out a
	 * ProxyJump (and the other way round) through the proxy_command slot
	 * alone. */
	if (g_ascii_strcasecmp(list, "none") == 0) {
		if (opts->jump_host == NULL) {
			opts->jump_host = g_strdup("none");
			opts->jump_port = 0;
			opts->jump_file = file;
			opts->jump_line = line;
		}
		return TRUE;
	}
	g_autofree char *copy = g_strdup(list);
	char *hash = strchr(copy, '#');
	if (hash != NULL)
		*hash = '\0';
	g_strchomp(copy);
	g_auto(GStrv) elements = g_strsplit(copy, ",", -1);
	guint n = g_strv_length(elements);
	g_autofree char *user = NULL, *host = NULL;
	int port = -1;
	for (guint i = n; i > 0; i--) {
		g_autofree char *u = NULL, *h = NULL;
		int p;
		if (!config_parse_jump_element(elements[i - 1], &u, &h, &p))
			return config_set_error(error, file, line,
				strict ? "Invalid -J argument \"%s\"" : "Invalid ProxyJump \"%s\"",
				list);
		if (strict && (!config_valid_hostname(h) ||
		               (u != NULL && !config_valid_user(u))))
			return config_set_error(error, file, line,
				"Invalid -J argument \"%s\": invalid %s \"%s\"", list,
				config_valid_hostname(h) ? "username" : "hostname",
				config_valid_hostname(h) ? u : h);
		if (i == n) {
			user = g_steal_pointer(&u);
			host = g_steal_pointer(&h);
			port = p;
		}
	}
	if (opts->jump_host != NULL ||
	    config_options_get(opts, CONFIG_KW_PROXY_COMMAND) != NULL)
		return TRUE;
	opts->jump_user = g_steal_pointer(&user);
	opts->jump_host = g_steal_pointer(&host);
	opts->jump_port = port;
	opts->jump_file = file;
	opts->jump_line = line;
	char *comma = strrchr(copy, ',');
	if (comma != NULL)
		opts->jump_extra = g_strndup(copy, (gsize)(comma - copy));
	config_options_set(opts, CONFIG_KW_PROXY_COMMAND, 0, "none");
	return TRUE;
}

/* IdentityFile, CertificateFile: accumulate; a name read twice from the
 * same kind of file (user or system) is dropped. */
static gboolean
config_add_file(ConfigValue *slot, const ConfigLine *line, const char *kw,
                GError **error)
{
	const ConfigValue *value = &line->value;
	gboolean user = line->user_file;

	if (slot->list == NULL) {
		slot->list = g_ptr_array_new_with_free_func(g_free);
		slot->from_user = g_array_new(FALSE, FALSE, sizeof(gboolean));
	}
	for (guint i = 0; i < slot->list->len; i++)
		if (g_array_index(slot->from_user, gboolean, i) == user &&
		    strcmp(slot->list->pdata[i], value->text) == 0)
			return TRUE;
	if (slot->list->len >= CONFIG_MAX_FILES)
		return config_set_error(error, value->file, value->line,
			"Too many %s files specified (max %d).", kw, CONFIG_MAX_FILES);
	g_ptr_array_add(slot->list, g_strdup(value->text));
	g_array_append_val(slot->from_user, user);
	if (!slot->set) {
		slot->file = value->file;
		slot->line = value->line;
	}
	slot->set = TRUE;
	return TRUE;
}

/* One line of a known keyword; active: inside an applying block. */
static gboolean
config_apply_line(ConfigOptions *opts, const ConfigLine *line,
                  gboolean active, GError **error)
{
	const ConfigKeyword *keyword = line->keyword;
	ConfigValue *slot = &opts->values[keyword->kw];
	const ConfigValue *value = &line->value;

	switch (keyword->kw) {
	case CONFIG_KW_LOG_FACILITY:
		active = TRUE; /* readconf.c applies it whether active or not */
		break;
	case CONFIG_KW_STREAMLOCAL_BIND_MASK:
		config_value_copy(slot, value); /* also not first-wins there */
		return TRUE;
	case CONFIG_KW_IGNORE:
	case CONFIG_KW_DEPRECATED:
		return TRUE;
	case CONFIG_KW_UNSUPPORTED:
		g_debug("%s line %d: Unsupported option \"%s\"", line->file,
		        line->line, line->name);
		return TRUE;
	case CONFIG_KW_PROXY_JUMP:
		if (!active)
			return TRUE;
		return config_options_set_jump(opts, line->raw, FALSE, line->file,
		                               line->line, error);
	case CONFIG_KW_REKEY_LIMIT:
		if (active && value->number2 >= 0 && opts->rekey_interval == -1)
			opts->rekey_interval = value->number2;
		break;
	case CONFIG_KW_IDENTITY_FILE:
	case CONFIG_KW_CERTIFICATE_FILE:
		if (!active)
			return TRUE;
		return config_add_file(slot, line,
			keyword->kw == CONFIG_KW_IDENTITY_FILE ? "identity" : "certificate",
			error);
	case CONFIG_KW_LOCAL_FORWARD:
	case CONFIG_KW_REMOTE_FORWARD:
	case CONFIG_KW_DYNAMIC_FORWARD:
	case CONFIG_KW_SEND_ENV:
		return TRUE; /* accumulate in OpenSSH; nothing jumpfs keeps */
	default:
		break;
	}
	if (active && !slot->set && value->set)
		config_value_copy(slot, value);
	return TRUE;
}

/* A Host line applies if a pattern matches and no negated one does;
 * OpenSSH matches case-sensitively against the name as given. */
static gboolean
config_host_matches(char **patterns, const char *host)
{
	gboolean matched = FALSE;

	for (char **p = patterns; *p != NULL; p++) {
		gboolean negated = (*p)[0] == '!';
		if (config_pattern_match(*p + (negated ? 1 : 0), host)) {
			if (negated)
				return FALSE;
			matched = TRUE;
		}
	}
	return matched;
}

/* Match's view of the options so far (match_cfg_line's first lines). */
static int
config_eval_match(const ConfigLine *line, const ConfigEvalContext *ctx,
                  const ConfigOptions *opts, GError **error)
{
	const ConfigValue *hostname = config_options_get(opts, CONFIG_KW_HOSTNAME);
	const ConfigValue *user = config_options_get(opts, CONFIG_KW_USER);
	const ConfigValue *port = config_options_get(opts, CONFIG_KW_PORT);
	const ConfigValue *alias = config_options_get(opts, CONFIG_KW_HOST_KEY_ALIAS);
	g_autofree char *host = NULL;

	if (ctx->final_pass && hostname != NULL) {
		host = g_strdup(hostname->text);
	} else if (hostname != NULL) {
		const ConfigToken h[] = { { 'h', ctx->host }, { 0, NULL } };
		const char *reason;
		g_autofree char *bad = NULL;
		host = config_tokens_apply(hostname->text, h, FALSE, NULL, &reason,
		                           &bad);
		if (host == NULL) {
			config_set_error(error, hostname->file, hostname->line,
				"HostName \"%s\": %s %s", hostname->text, reason, bad);
			return -1;
		}
	} else {
		host = g_strdup(ctx->host);
	}
	ConfigMatchContext match = {
		.host = host, .original_host = ctx->original_host,
		.user = user != NULL ? user->text : ctx->local_user,
		.port = port != NULL && port->number > 0 ? port->number
		                                         : CONFIG_DEFAULT_PORT,
		.host_key_alias = alias != NULL ? alias->text : NULL,
		.local_user = ctx->local_user, .home_dir = ctx->home_dir,
		.final_pass = ctx->final_pass, .want_final = ctx->want_final,
		.environment = ctx->environment, .working_dir = ctx->working_dir,
	};
	return config_match_eval(line->match, &match, line->file, line->line,
	                         error);
}

/* One file; active is shared with the including file as in readconf.c.
 * never_match: included from an inactive block (SSHCONF_NEVERMATCH). */
static gboolean
config_eval_file(const ConfigFile *file, const ConfigEvalContext *ctx,
                 ConfigOptions *opts, gboolean *active, gboolean never_match,
                 GError **error)
{
	for (guint i = 0; i < file->lines->len; i++) {
		const ConfigLine *line = file->lines->pdata[i];

		if (line->keyword == NULL) {
			/* Unknown: fine only if IgnoreUnknown (so far) matches. */
			const ConfigValue *ignore = config_options_get(opts,
				CONFIG_KW_IGNORE_UNKNOWN);
			if (ignore == NULL ||
			    config_pattern_list(line->name, ignore->text, TRUE) != 1)
				return config_set_error(error, line->file, line->line,
					"Bad configuration option: %s", line->name);
			continue;
		}
		switch (line->keyword->kw) {
		case CONFIG_KW_HOST:
			*active = !never_match && config_host_matches(line->args,
			                                              ctx->host);
			break;
		case CONFIG_KW_MATCH: {
			int r = config_eval_match(line, ctx, opts, error);
			if (r < 0)
				return FALSE;
			*active = !never_match && r == 1;
			break;
		}
		case CONFIG_KW_INCLUDE: {
			gboolean outer = *active;
			for (guint j = 0; j < line->includes->len; j++) {
				if (!config_eval_file(line->includes->pdata[j], ctx, opts,
				                      active, never_match || !outer, error))
					return FALSE;
				*active = outer; /* an included Host ends with its file */
			}
			break;
		}
		default:
			if (!config_apply_line(opts, line, *active, error))
				return FALSE;
			break;
		}
	}
	return TRUE;
}

gboolean
config_eval_files(GPtrArray *files, const ConfigEvalContext *ctx,
                  ConfigOptions *opts, GError **error)
{
	for (guint i = 0; files != NULL && i < files->len; i++) {
		gboolean active = TRUE; /* each top-level file starts active */
		if (!config_eval_file(files->pdata[i], ctx, opts, &active, FALSE,
		                      error))
			return FALSE;
	}
	return TRUE;
}

gboolean
config_eval_command_line(GPtrArray *option_files, ConfigOptions *opts,
                         GError **error)
{
	/* Host, Match and Include were refused when the options were parsed. */
	const ConfigEvalContext none = { .host = "", .original_host = "" };
	return config_eval_files(option_files, &none, opts, error);
}
