/* Match criteria: see config-match.h. */
#include "chain/config-match.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/config-tokens.h"
#include "chain/config-util.h"
#include "chain/errors.h"

typedef enum {
	CONFIG_MATCH_ALL,
	CONFIG_MATCH_CANONICAL,
	CONFIG_MATCH_FINAL,
	CONFIG_MATCH_HOST,
	CONFIG_MATCH_ORIGINALHOST,
	CONFIG_MATCH_USER,
	CONFIG_MATCH_LOCALUSER,
	CONFIG_MATCH_EXEC,
} ConfigMatchKind;

typedef struct {
	ConfigMatchKind kind;
	gboolean negate;
	char *arg;       /* NULL for all, canonical, final */
} ConfigCriterion;

struct ConfigMatch {
	GArray *criteria; /* ConfigCriterion */
};

static const struct {
	const char *name;
	ConfigMatchKind kind;
} config_match_names[] = {
	{ "all", CONFIG_MATCH_ALL }, { "canonical", CONFIG_MATCH_CANONICAL },
	{ "final", CONFIG_MATCH_FINAL }, { "host", CONFIG_MATCH_HOST },
	{ "originalhost", CONFIG_MATCH_ORIGINALHOST },
	{ "user", CONFIG_MATCH_USER }, { "localuser", CONFIG_MATCH_LOCALUSER },
	{ "exec", CONFIG_MATCH_EXEC },
};

static void
config_criterion_clear(ConfigCriterion *criterion)
{
	g_free(criterion->arg);
}

void
config_match_free(ConfigMatch *match)
{
	if (match == NULL)
		return;
	g_array_unref(match->criteria);
	g_free(match);
}

static ConfigMatch *
config_match_fail(ConfigMatch *match, const char *file, int line,
                  GError **error, const char *detail)
{
	config_set_error(error, file, line, "Bad Match condition: %s", detail);
	config_match_free(match);
	return NULL;
}

ConfigMatch *
config_match_parse(const char *rest, const char *file, int line,
                   GError **error)
{
	g_autofree char *copy = g_strdup(rest);
	char *cp = copy, *word;
	int attributes = 0;
	ConfigMatch *match = g_new0(ConfigMatch, 1);

	match->criteria = g_array_new(FALSE, TRUE, sizeof(ConfigCriterion));
	g_array_set_clear_func(match->criteria,
	                       (GDestroyNotify)config_criterion_clear);
	while ((word = config_strdelim(&cp)) != NULL && *word != '\0') {
		if (*word == '#')
			break;
		ConfigCriterion criterion = { .negate = word[0] == '!' };
		const char *name = word + (criterion.negate ? 1 : 0);
		gsize i = 0;
		while (i < G_N_ELEMENTS(config_match_names) &&
		       g_ascii_strcasecmp(name, config_match_names[i].name) != 0)
			i++;
		if (i == G_N_ELEMENTS(config_match_names)) {
			/* OpenSSH wants an argument before it says "unsupported". */
			char *arg = config_strdelim(&cp);
			if (arg == NULL || *arg == '\0' || *arg == '#') {
				g_autofree char *d = g_strdup_printf(
					"Missing Match criteria for %s", name);
				return config_match_fail(match, file, line, error, d);
			}
			g_autofree char *d = g_strdup_printf(
				"Unsupported Match attribute %s", name);
			return config_match_fail(match, file, line, error, d);
		}
		criterion.kind = config_match_names[i].kind;
		if (criterion.kind == CONFIG_MATCH_ALL) {
			char *arg = config_strdelim(&cp);
			if (attributes > 1 || (arg != NULL && *arg != '\0' && *arg != '#')) {
				g_autofree char *d = g_strdup_printf(
					"'%s' cannot be combined with other Match attributes",
					word);
				return config_match_fail(match, file, line, error, d);
			}
			g_array_append_val(match->criteria, criterion);
			return match; /* the rest of the line is a comment, if any */
		}
		attributes++;
		if (criterion.kind != CONFIG_MATCH_CANONICAL &&
		    criterion.kind != CONFIG_MATCH_FINAL) {
			char *arg = config_strdelim(&cp);
			if (arg == NULL || *arg == '\0' || *arg == '#') {
				g_autofree char *d = g_strdup_printf(
					"Missing Match criteria for %s", name);
				return config_match_fail(match, file, line, error, d);
			}
			criterion.arg = g_strdup(arg);
		}
		g_array_append_val(match->criteria, criterion);
	}
	if (attributes == 0)
		return config_match_fail(match, file, line, error,
		                         "One or more attributes required for Match");
	return match;
}

/* The shell gets a clean signal mask: the daemon blocks some. */
static void
config_match_child_setup(gpointer data)
{
	(void)data;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int
config_match_run(const char *cmd, const char *const *environment,
                 const char *working_dir, GError **error)
{
	const char *shell = environment != NULL
		? g_environ_getenv((char **)environment, "SHELL")
		: g_getenv("SHELL");
	if (shell == NULL)
		shell = "/bin/sh";
	if (access(shell, X_OK) != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		            "Shell \"%s\" is not executable: %s", shell,
		            g_strerror(errno));
		return -1;
	}
	char *argv[] = { (char *)shell, "-c", (char *)cmd, NULL };
	int status = 0;
	GError *local = NULL;
	if (!g_spawn_sync(working_dir, argv, (char **)environment,
	                  G_SPAWN_STDOUT_TO_DEV_NULL,
	                  config_match_child_setup, NULL, NULL, NULL, &status,
	                  &local)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		            "Unable to execute '%s': %s", cmd, local->message);
		g_error_free(local);
		return -1;
	}
	if (!WIFEXITED(status)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		            "command '%s' exited abnormally", cmd);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* %h %n %k %r reach the shell: refuse what Debian refuses on the command
 * line rather than run a command built from them. */
static gboolean
config_match_exec_safe(const char *arg, const ConfigTokenSet *set,
                       const char *file, int line, GError **error)
{
	for (const char *p = strchr(arg, '%'); p != NULL; p = strchr(p + 2, '%')) {
		const char *value = NULL;
		gboolean user = FALSE;
		switch (p[1]) {
		case 'h': value = set->remote_host; break;
		case 'n': value = set->host_arg; break;
		case 'k': value = set->key_alias; break;
		case 'r': value = set->remote_user; user = TRUE; break;
		case '\0': return TRUE;
		default: break;
		}
		if (value != NULL &&
		    !(user ? config_valid_user(value) : config_valid_hostname(value)))
			return config_set_error(error, file, line,
				"Match exec: %%%c \"%s\" contains characters the shell "
				"would interpret", p[1], value);
	}
	return TRUE;
}

static int
config_match_exec(const char *arg, const ConfigMatchContext *ctx,
                  const char *file, int line, GError **error)
{
	ConfigTokenSet set;
	const char *reason;
	g_autofree char *bad = NULL;
	int status = -1;

	/* Here %k falls back to the host, not to the name as given. */
	config_token_set_init(&set, ctx->original_host, ctx->host, ctx->user,
	                      ctx->port,
	                      ctx->host_key_alias != NULL ? ctx->host_key_alias
	                                                  : ctx->host,
	                      ctx->home_dir, ctx->local_user);
	g_autofree char *cmd = config_tokens_apply(arg, set.list, FALSE, NULL,
	                                           &reason, &bad);
	if (cmd == NULL)
		config_set_error(error, file, line, "Match exec \"%s\": %s %s",
		                 arg, reason, bad);
	else if (config_match_exec_safe(arg, &set, file, line, error)) {
		GError *local = NULL;
		status = config_match_run(cmd, ctx->environment, ctx->working_dir,
		                          &local);
		if (status < 0) {
			config_set_error(error, file, line, "match exec '%s' error: %s",
			                 cmd, local->message);
			g_error_free(local);
		}
	}
	config_token_set_clear(&set);
	return status;
}

int
config_match_eval(const ConfigMatch *match, const ConfigMatchContext *ctx,
                  const char *file, int line, GError **error)
{
	int result = 1;

	for (guint i = 0; i < match->criteria->len; i++) {
		const ConfigCriterion *c = &g_array_index(match->criteria,
		                                          ConfigCriterion, i);
		gboolean r = FALSE;
		switch (c->kind) {
		case CONFIG_MATCH_ALL:
			if (result)
				result = c->negate ? 0 : 1;
			return result;
		case CONFIG_MATCH_CANONICAL:
		case CONFIG_MATCH_FINAL:
			if (c->kind == CONFIG_MATCH_FINAL && ctx->want_final != NULL)
				*ctx->want_final = TRUE;
			r = ctx->final_pass;
			break;
		case CONFIG_MATCH_HOST:
			r = config_hostname_match(ctx->host, c->arg);
			break;
		case CONFIG_MATCH_ORIGINALHOST:
			r = config_hostname_match(ctx->original_host, c->arg);
			break;
		case CONFIG_MATCH_USER:
			r = config_pattern_list(ctx->user, c->arg, FALSE) == 1;
			break;
		case CONFIG_MATCH_LOCALUSER:
			r = config_pattern_list(ctx->local_user, c->arg, FALSE) == 1;
			break;
		case CONFIG_MATCH_EXEC: {
			if (result != 1)
				continue; /* an earlier criterion failed: not run */
			int status = config_match_exec(c->arg, ctx, file, line, error);
			if (status < 0)
				return -1;
			r = status == 0;
			break;
		}
		}
		if (r == (c->negate ? TRUE : FALSE))
			result = 0;
	}
	return result;
}
