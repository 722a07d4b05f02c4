/* The chain cache: one live Hop per distinct chain prefix. */
#include "chain/cache.h"

#include "chain/errors.h"

struct ChainCache {
	GMutex lock;           /* held while connecting: one login per prefix */
	GHashTable *hops;      /* prefix key (owned) -> Hop * (reference) */
	guint logins;
};

ChainCache *chain_cache_new(void)
{
	ChainCache *cache = g_new0(ChainCache, 1);
	g_mutex_init(&cache->lock);
	cache->hops = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    (GDestroyNotify)hop_unref);
	return cache;
}

void chain_cache_free(ChainCache *cache)
{
	if (cache == NULL)
		return;
	/* Deepest hops first would be tidier, but each hop holds a reference
	 * to the one before it, so any order frees correctly. */
	g_hash_table_destroy(cache->hops);
	g_mutex_clear(&cache->lock);
	g_free(cache);
}

static char *chain_prefix_key(const ChainSpec *chain, guint depth)
{
	GString *key = g_string_new(NULL);
	for (guint i = 0; i < depth; i++) {
		const HopSpec *hop = g_ptr_array_index(chain->hops, i);
		/* Two mounts share a hop only if everything that shapes its
		 * session (host key policy, algorithms, identities, keepalives,
		 * ProxyCommand...) is the same. */
		g_autofree char *hop_key = hop_spec_session_key(hop);
		if (i > 0)
			g_string_append(key, " -> ");
		g_string_append(key, hop_key);
	}
	return g_string_free(key, FALSE);
}

/* Called with the lock held. Recursion depth is the chain length. */
static Hop *chain_cache_get_locked(ChainCache *cache, const ChainSpec *chain,
				   guint depth, HopReport *reports, GError **error)
{
	g_autofree char *key = chain_prefix_key(chain, depth);
	Hop *hop = g_hash_table_lookup(cache->hops, key);
	if (hop != NULL && hop_is_alive(hop))
		return hop_ref(hop);
	if (hop != NULL) {
		g_debug("%s: dead, reconnecting", hop_label(hop));
		g_hash_table_remove(cache->hops, key);
	}

	Hop *via = NULL;
	if (depth > 1) {
		via = chain_cache_get_locked(cache, chain, depth - 1, reports, error);
		if (via == NULL)
			return NULL;
	}
	hop = hop_connect(chain, depth - 1, via, reports ? &reports[depth - 1] : NULL, error);
	if (via != NULL)
		hop_unref(via);
	if (hop == NULL)
		return NULL;
	cache->logins++;
	g_hash_table_insert(cache->hops, g_steal_pointer(&key), hop_ref(hop));
	return hop;
}

Hop *chain_cache_get(ChainCache *cache, const ChainSpec *chain, guint depth,
		     HopReport *reports, GError **error)
{
	g_return_val_if_fail(depth >= 1 && depth <= chain->hops->len, NULL);
	g_mutex_lock(&cache->lock);
	Hop *hop = chain_cache_get_locked(cache, chain, depth, reports, error);
	g_mutex_unlock(&cache->lock);
	return hop;
}

int chain_cache_open_sftp(ChainCache *cache, const ChainSpec *chain, GError **error)
{
	/* A hop can die between the liveness check and the open, or while a
	 * hop after it is being set up; the failure then says "connection
	 * lost" and the next try rebuilds from the deepest live hop. */
	for (int attempt = 0;; attempt++) {
		GError *local_error = NULL;
		int fd = -1;
		Hop *last = chain_cache_get(cache, chain, chain->hops->len, NULL, &local_error);
		if (last != NULL) {
			fd = hop_open_sftp(last, &local_error);
			hop_unref(last);
		}
		if (fd >= 0)
			return fd;
		if (attempt >= 2 ||
		    !g_error_matches(local_error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED)) {
			g_propagate_error(error, local_error);
			return -1;
		}
		g_debug("%s; trying again", local_error->message);
		g_error_free(local_error);
		g_usleep(100 * G_TIME_SPAN_MILLISECOND);
	}
}

static gboolean chain_cache_is_idle(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	(void)data;
	return hop_is_idle(value);
}

void chain_cache_prune(ChainCache *cache)
{
	g_mutex_lock(&cache->lock);
	/* Dropping a hop releases its reference to the hop before it, which
	 * may leave that one idle in turn. */
	while (g_hash_table_foreach_remove(cache->hops, chain_cache_is_idle, NULL) > 0)
		;
	g_mutex_unlock(&cache->lock);
}

guint chain_cache_logins(ChainCache *cache)
{
	g_mutex_lock(&cache->lock);
	guint logins = cache->logins;
	g_mutex_unlock(&cache->lock);
	return logins;
}
