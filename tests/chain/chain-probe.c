/* chain-probe: drives chain/cache.c and the pumps from several threads at
 * once, against the lab, for tests/integration/test_pump.py.
 *
 *   chain-probe [-F CONFIG] [--stats] [--hold MS] SPEC...
 *
 * SPEC is DEST[,Keyword=value...][,+DELAY_MS]: each SPEC gets a thread
 * that waits DELAY_MS, opens an SFTP stream through one shared ChainCache
 * (as the shared daemon's mounts do) and prints one JSON line (D = SPEC):
 *   {"dest": D, "ok": true|false, "start": S, "secs": T, "code": C, "error": E}
 * Streams stay open until every thread is done (plus --hold MS); then, with
 * --stats, one line per SPEC: {"dest": D, "hops": [chain_cache_stats...]},
 * and last {"logins": N}. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chain/auth.h"
#include "chain/cache.h"
#include "chain/config.h"
#include "chain/errors.h"

typedef struct {
	char *spec;             /* as given: names the probe in the output */
	char *dest;
	GPtrArray *options;     /* char *, NULL-terminated */
	int delay_ms;
	const char *config_file;
	ChainCache *cache;
	gint64 epoch;
	ChainSpec *chain;
	int fd;
} Probe;

static GMutex probe_print_lock;

static char *json_string(const char *s)
{
	GString *out = g_string_new("\"");
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
	return g_string_free(out, FALSE);
}

static gpointer probe_run(gpointer data)
{
	Probe *probe = data;
	GError *error = NULL;
	g_usleep((gulong)probe->delay_ms * 1000);
	gint64 start = g_get_monotonic_time();
	ConfigRequest request = {
		.destination = probe->dest,
		.config_file = probe->config_file,
		.options = (const char *const *)probe->options->pdata,
	};
	probe->chain = config_resolve(&request, &error);
	if (probe->chain != NULL)
		probe->fd = chain_cache_open_sftp(probe->cache, probe->chain, 0, &error);
	gint64 end = g_get_monotonic_time();
	g_autofree char *dest = json_string(probe->spec);
	g_autofree char *message = json_string(error ? error->message : "");
	g_mutex_lock(&probe_print_lock);
	printf("{\"dest\": %s, \"ok\": %s, \"start\": %.3f, \"secs\": %.3f, \"code\": \"%s\", "
	       "\"error\": %s}\n", dest, probe->fd >= 0 ? "true" : "false",
	       (start - probe->epoch) / 1e6, (end - start) / 1e6,
	       error ? jumpfs_error_code_name(error->code) : "", message);
	fflush(stdout);
	g_mutex_unlock(&probe_print_lock);
	g_clear_error(&error);
	return NULL;
}

static void probe_print_stats(Probe *probe)
{
	g_autofree char *dest = json_string(probe->spec);
	GString *line = g_string_new(NULL);
	g_string_append_printf(line, "{\"dest\": %s, \"hops\": [", dest);
	if (probe->chain != NULL) {
		GArray *stats = chain_cache_stats(probe->cache, probe->chain);
		for (guint i = 0; i < stats->len; i++) {
			ChainHopStats *s = &g_array_index(stats, ChainHopStats, i);
			g_autofree char *address = json_string(s->address);
			g_autofree char *why = json_string(s->why);
			g_autofree char *auth = json_string(s->auth_method);
			g_string_append_printf(line,
				"%s{\"address\": %s, \"state\": \"%s\", \"why\": %s, "
				"\"auth\": %s, \"logins\": %u, \"rtt_us\": %" G_GINT64_FORMAT ", "
				"\"bytes_in\": %" G_GUINT64_FORMAT ", \"bytes_out\": %"
				G_GUINT64_FORMAT ", \"channels\": %u, \"opens_pending\": %u}",
				i ? ", " : "", address, chain_hop_state_name(s->state), why,
				auth, s->logins, s->rtt_us, s->bytes_in, s->bytes_out,
				s->channels, s->opens_pending);
		}
		g_array_unref(stats);
	}
	g_string_append(line, "]}");
	printf("%s\n", line->str);
	g_string_free(line, TRUE);
}

int main(int argc, char **argv)
{
	const char *config_file = NULL;
	gboolean stats = FALSE;
	int hold_ms = 0;
	GPtrArray *probes = g_ptr_array_new();
	ChainCache *cache = chain_cache_new();
	gint64 epoch = g_get_monotonic_time();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-F") == 0 && i + 1 < argc) {
			config_file = argv[++i];
		} else if (strcmp(argv[i], "--stats") == 0) {
			stats = TRUE;
		} else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
			hold_ms = atoi(argv[++i]);
		} else {
			Probe *probe = g_new0(Probe, 1);
			gchar **parts = g_strsplit(argv[i], ",", -1);
			probe->spec = g_strdup(argv[i]);
			probe->dest = g_strdup(parts[0]);
			probe->options = g_ptr_array_new_with_free_func(g_free);
			for (int k = 1; parts[k] != NULL; k++) {
				if (parts[k][0] == '+')
					probe->delay_ms = atoi(parts[k] + 1);
				else
					g_ptr_array_add(probe->options, g_strdup(parts[k]));
			}
			g_ptr_array_add(probe->options, NULL);
			g_strfreev(parts);
			probe->fd = -1;
			probe->cache = cache;
			probe->epoch = epoch;
			g_ptr_array_add(probes, probe);
		}
	}
	for (guint i = 0; i < probes->len; i++)
		((Probe *)probes->pdata[i])->config_file = config_file;

	GError *error = NULL;
	if (!auth_setup(&(AuthSetup){ 0 }, &error)) {
		fprintf(stderr, "chain-probe: %s\n", error->message);
		return 2;
	}
	/* GLib fills these caches on first use under a lock of its own that
	 * ThreadSanitizer cannot see; the daemon fills them in its main
	 * thread before any mount starts, and so does this. */
	(void)g_get_home_dir();
	(void)g_get_user_name();
	(void)g_get_real_name();
	(void)g_get_tmp_dir();
	(void)g_get_host_name();
	GPtrArray *threads = g_ptr_array_new();
	for (guint i = 0; i < probes->len; i++)
		g_ptr_array_add(threads, g_thread_new("probe", probe_run, probes->pdata[i]));
	for (guint i = 0; i < threads->len; i++)
		g_thread_join(threads->pdata[i]);
	g_usleep((gulong)hold_ms * 1000);

	int status = 0;
	for (guint i = 0; i < probes->len; i++) {
		Probe *probe = probes->pdata[i];
		if (stats)
			probe_print_stats(probe);
		if (probe->fd < 0)
			status = 1;
	}
	if (stats)
		printf("{\"logins\": %u}\n", chain_cache_logins(cache));
	for (guint i = 0; i < probes->len; i++) {
		Probe *probe = probes->pdata[i];
		if (probe->fd >= 0)
			close(probe->fd);
		chain_spec_free(probe->chain);
		g_ptr_array_free(probe->options, TRUE);
		g_free(probe->dest);
		g_free(probe->spec);
		g_free(probe);
	}
	chain_cache_free(cache);
	auth_cleanup();
	g_ptr_array_free(threads, TRUE);
	g_ptr_array_free(probes, TRUE);
	return status;
}
