/* ConfigRequest -> ChainSpec, with OpenSSH's semantics (ssh.c, readconf.c).
 *
 * The files are read once (config-read.c) and evaluated once per hop
 * (config-resolve.c). Each hop is resolved the way the sub-ssh that
 * `ssh -J` spawns would resolve it: `ssh -l user -p port -J <rest of list>
 * host`, so the chain is built from the target backwards, one hop per
 * step. Nothing here connects: a chain is returned only once every hop
 * resolved. */
#include "chain/config.h"

#include <string.h>

#include "chain/config-dump.h"
#include "chain/config-hop.h"
#include "chain/config-read.h"
#include "chain/config-resolve.h"
#include "chain/config-util.h"

#define CONFIG_DEFAULT_SYSTEM_CONFIG "/etc/ssh/ssh_config"

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
	if (at == destination || name[0] == '\0')
		return config_set_error(error, NULL, 0, "bad destination \"%s\"",
		                        destination);
	*host = g_strdup(name);
	*user = at != NULL ? g_strndup(destination, (gsize)(at - destination))
	                   : NULL;
	*port = -1;
	return TRUE;
}

static gboolean
config_add_file(ConfigContext *ctx, const char *path,
                const ConfigParseContext *parse, gboolean must_exist,
                GError **error)
{
	GError *local = NULL;
	ConfigFile *file = config_file_read(path, parse, must_exist, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (file != NULL)
		g_ptr_array_add(ctx->files, file);
	return TRUE;
}

/* -F file only (-F none: no file at all), else user then system config. */
static gboolean
config_context_load(ConfigContext *ctx, const ConfigRequest *request,
                    GError **error)
{
	g_autofree char *ssh_dir = g_build_filename(ctx->home_dir, ".ssh", NULL);
	ConfigParseContext user_parse = {
		ctx->home_dir, ctx->local_user, ssh_dir, TRUE, FALSE,
		request->environment };

	ctx->options = config_options_parse(request->options,
	                                    request->environment, error);
	if (ctx->options == NULL)
		return FALSE;
	ctx->files = g_ptr_array_new_with_free_func(
		(GDestroyNotify)config_file_free);

	if (request->config_file != NULL) {
		if (g_ascii_strcasecmp(request->config_file, "none") == 0)
			return TRUE;
		return config_add_file(ctx, request->config_file, &user_parse, TRUE,
		                       error);
	}
	/* Only the user's own file is checked itself (SSHCONF_CHECKPERM). */
	user_parse.check_perm = TRUE;
	g_autofree char *user_path = g_build_filename(ssh_dir, "config", NULL);
	if (!config_add_file(ctx, user_path, &user_parse, FALSE, error))
		return FALSE;

	/* Relative Includes of the system file are relative to its directory
	 * (/etc/ssh for the default one, as in OpenSSH). */
	const char *system_path = request->system_config != NULL
		? request->system_config : CONFIG_DEFAULT_SYSTEM_CONFIG;
	g_autofree char *system_dir = g_path_get_dirname(system_path);
	const ConfigParseContext system_parse = {
		ctx->home_dir, ctx->local_user, system_dir, FALSE, FALSE,
		request->environment };
	return config_add_file(ctx, system_path, &system_parse, FALSE, error);
}

static void
config_context_clear(ConfigContext *ctx)
{
	if (ctx->options != NULL)
		g_ptr_array_unref(ctx->options);
	if (ctx->files != NULL)
		g_ptr_array_unref(ctx->files);
}

/* Resolves every hop; hops (HopSpec *) in connection order. *dump, if
 * asked for, gets the target's -G text. */
static gboolean
config_resolve_chain(const ConfigRequest *request, GPtrArray *hops,
                     char **dump, gboolean mount_defaults, GError **error)
{
	ConfigContext ctx = {
		.home_dir = request->home_dir != NULL ? request->home_dir
		                                      : g_get_home_dir(),
		.local_user = request->local_user != NULL ? request->local_user
		                                          : g_get_user_name(),
		.environment = request->environment,
		.working_dir = request->working_dir,
		.resolve = request->resolve,
		.resolve_data = request->resolve_data,
		.config_file = request->config_file,
	};
	g_autofree char *alias = NULL, *user = NULL;
	int uri_port = -1;
	gboolean ok = FALSE;
	ConfigResolved r[2];
	int current = 0;

	memset(r, 0, sizeof r);
	if (request->destination == NULL || request->destination[0] == '\0')
		return config_set_error(error, NULL, 0, "no destination given");
	if (request->port < 0 || request->port > 65535)
		return config_set_error(error, NULL, 0, "bad port %d", request->port);
	if (request->jump != NULL && !config_jump_list_valid(request->jump))
		return config_set_error(error, NULL, 0, "Invalid -J argument \"%s\"",
		                        request->jump);
	if (!config_parse_destination(request->destination, &user, &alias,
	                              &uri_port, error))
		return FALSE;
	if (!config_context_load(&ctx, request, error))
		goto out;

	ConfigHopRequest next = {
		.alias = alias, .user = user, .port = request->port,
		.default_port = uri_port, .jump = request->jump,
		.jump_file = request->jump != NULL ? "-J" : NULL, .target = TRUE,
	};
	for (;;) {
		/* next points into the previous hop's result: keep it alive. */
		ConfigResolved *hop_r = &r[current];
		config_resolved_clear(hop_r);
		HopSpec *hop = NULL;
		if (!config_resolve_hop(&ctx, &next, hop_r, error) ||
		    (hop = config_hop_fill(&ctx, hop_r, error)) == NULL) {
			/* Say which jump host: the message may be about its own
			 * config. */
			if (!next.target)
				g_prefix_error(error, "jump host %s: ", next.alias);
			goto out;
		}
		g_ptr_array_insert(hops, 0, hop);
		if (dump != NULL && hops->len == 1)
			*dump = config_dump(hop_r, hop, mount_defaults);

		g_autofree char *key = hop_spec_key(hop);
		for (guint i = 1; i < hops->len; i++) {
			g_autofree char *other = hop_spec_key(hops->pdata[i]);
			if (strcmp(key, other) == 0) {
				config_set_error(error, next.jump_file, next.jump_line,
					"jump host loop: %s (%s) would be reached through itself",
					key, hop->alias);
				goto out;
			}
		}
		if (!config_resolved_next(hop_r, &next))
			break;
		if (hops->len > CONFIG_MAX_DEPTH) {
			config_set_error(error, next.jump_file, next.jump_line,
				"too many jump hosts (more than %d) before %s",
				CONFIG_MAX_DEPTH, hop->alias);
			goto out;
		}
		current = 1 - current;
	}
	ok = TRUE;
out:
	config_resolved_clear(&r[0]);
	config_resolved_clear(&r[1]);
	config_context_clear(&ctx);
	return ok;
}

ChainSpec *
config_resolve(const ConfigRequest *request, GError **error)
{
	g_return_val_if_fail(request != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	GPtrArray *hops = g_ptr_array_new_with_free_func(
		(GDestroyNotify)hop_spec_free);
	if (!config_resolve_chain(request, hops, NULL, FALSE, error)) {
		g_ptr_array_unref(hops);
		return NULL;
	}
	ChainSpec *chain = g_new0(ChainSpec, 1);
	chain->hops = hops;
	chain->environment = request->environment != NULL
		? g_strdupv((char **)request->environment) : g_get_environ();
	chain->working_dir = request->working_dir != NULL
		? g_strdup(request->working_dir) : g_get_current_dir();
	return chain;
}

char *
config_print(const ConfigRequest *request, gboolean mount_defaults,
             GError **error)
{
	g_return_val_if_fail(request != NULL, NULL);

	g_autoptr(GPtrArray) hops = g_ptr_array_new_with_free_func(
		(GDestroyNotify)hop_spec_free);
	char *dump = NULL;
	if (!config_resolve_chain(request, hops, &dump, mount_defaults, error)) {
		g_free(dump);
		return NULL;
	}
	GString *out = g_string_new(dump);
	g_free(dump);
	for (guint i = 0; i < hops->len; i++) {
		const HopSpec *hop = hops->pdata[i];
		g_autofree char *key = hop_spec_key(hop);
		g_string_append_printf(out, "# jumpfs: hop %u/%u %s (%s)%s\n", i + 1,
		                       hops->len, key, hop->alias,
		                       hop->proxy_command != NULL ? " via ProxyCommand" : "");
	}
	return g_string_free(out, FALSE);
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
