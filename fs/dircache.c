#include "fs/dircache.h"

#include <string.h>

#include "fs/sftp.h"

typedef struct {
	GPtrArray *names;   /* reference */
	gint64 listed_at;   /* monotonic time the listing began */
	DirCache *cache;    /* whose bytes count it */
	gsize bytes;        /* what it costs, roughly */
} Listing;

struct DirCache {
	GMutex lock;
	gint64 timeout_us;
	gsize bytes;            /* of all listings, at most DIRCACHE_MAX_BYTES */
	GHashTable *listings;   /* path (owned) -> Listing * (owned) */
	/* When each directory last changed through this mount: a listing
	 * begun before that is stale the moment it completes. */
	GHashTable *changed_at; /* path (owned) -> gint64 * */
};

/* Called with the cache's lock (the hash table frees listings). */
static void listing_free(Listing *listing)
{
	listing->cache->bytes -= listing->bytes;
	g_ptr_array_unref(listing->names);
	g_free(listing);
}

static gsize dircache_cost(const GPtrArray *names)
{
	gsize bytes = sizeof(Listing) + names->len * sizeof(gpointer);
	for (guint i = 0; i < names->len; i++) {
		const SftpName *name = names->pdata[i];
		bytes += sizeof(SftpName) + strlen(name->name) + 1 + 2 * sizeof(gpointer);
	}
	return bytes;
}

static gboolean dircache_expired(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	return ((Listing *)value)->listed_at < *(gint64 *)data;
}

/* Room for bytes more: expired listings go, then the oldest ones. */
static void dircache_make_room(DirCache *cache, gsize bytes)
{
	if (cache->bytes + bytes <= DIRCACHE_MAX_BYTES)
		return;
	gint64 horizon = g_get_monotonic_time() - cache->timeout_us;
	g_hash_table_foreach_remove(cache->listings, dircache_expired, &horizon);
	while (cache->bytes + bytes > DIRCACHE_MAX_BYTES &&
	       g_hash_table_size(cache->listings) > 0) {
		GHashTableIter iter;
		gpointer key, value, oldest = NULL;
		gint64 oldest_at = G_MAXINT64;
		g_hash_table_iter_init(&iter, cache->listings);
		while (g_hash_table_iter_next(&iter, &key, &value)) {
			if (((Listing *)value)->listed_at < oldest_at) {
				oldest_at = ((Listing *)value)->listed_at;
				oldest = key;
			}
		}
		g_hash_table_remove(cache->listings, oldest);
	}
}

DirCache *dircache_new(double timeout_s)
{
	DirCache *cache = g_new0(DirCache, 1);
	g_mutex_init(&cache->lock);
	cache->timeout_us = (gint64)(timeout_s * G_TIME_SPAN_SECOND);
	cache->listings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)listing_free);
	cache->changed_at = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return cache;
}

void dircache_free(DirCache *cache)
{
	if (cache == NULL)
		return;
	g_hash_table_destroy(cache->listings);
	g_hash_table_destroy(cache->changed_at);
	g_mutex_clear(&cache->lock);
	g_free(cache);
}

gboolean dircache_enabled(DirCache *cache)
{
	return cache->timeout_us > 0;
}

GPtrArray *dircache_get(DirCache *cache, const char *path)
{
	GPtrArray *names = NULL;
	if (!dircache_enabled(cache))
		return NULL;
	g_mutex_lock(&cache->lock);
	Listing *listing = g_hash_table_lookup(cache->listings, path);
	if (listing != NULL) {
		if (g_get_monotonic_time() - listing->listed_at < cache->timeout_us)
			names = g_ptr_array_ref(listing->names);
		else
			g_hash_table_remove(cache->listings, path);
	}
	g_mutex_unlock(&cache->lock);
	return names;
}

/* Drops change stamps older than any listing could still be. */
static gboolean dircache_stamp_old(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	return *(gint64 *)value < *(gint64 *)data;
}

void dircache_put(DirCache *cache, const char *path, GPtrArray *names, gint64 started)
{
	if (!dircache_enabled(cache) || names->len > DIRCACHE_MAX_ENTRIES)
		return;
	g_mutex_lock(&cache->lock);
	gint64 *changed = g_hash_table_lookup(cache->changed_at, path);
	gsize bytes = dircache_cost(names);
	if ((changed == NULL || *changed < started) && bytes <= DIRCACHE_MAX_BYTES) {
		g_hash_table_remove(cache->listings, path);
		dircache_make_room(cache, bytes);
		Listing *listing = g_new(Listing, 1);
		listing->names = g_ptr_array_ref(names);
		listing->listed_at = started;
		listing->cache = cache;
		listing->bytes = bytes;
		cache->bytes += bytes;
		g_hash_table_replace(cache->listings, g_strdup(path), listing);
	}
	if (g_hash_table_size(cache->changed_at) > 1024) {
		/* A listing begun before this would have expired anyway. */
		gint64 horizon = g_get_monotonic_time() - cache->timeout_us;
		g_hash_table_foreach_remove(cache->changed_at, dircache_stamp_old, &horizon);
	}
	g_mutex_unlock(&cache->lock);
}

static void dircache_invalidate_locked(DirCache *cache, const char *path)
{
	g_hash_table_remove(cache->listings, path);
	gint64 *stamp = g_new(gint64, 1);
	*stamp = g_get_monotonic_time();
	g_hash_table_replace(cache->changed_at, g_strdup(path), stamp);
}

void dircache_invalidate(DirCache *cache, const char *path)
{
	if (!dircache_enabled(cache))
		return;
	g_mutex_lock(&cache->lock);
	dircache_invalidate_locked(cache, path);
	g_mutex_unlock(&cache->lock);
}

static gboolean dircache_under(gpointer key, gpointer value, gpointer data)
{
	(void)value;
	const char *prefix = data;
	size_t len = strlen(prefix);
	return strncmp(key, prefix, len) == 0 && ((const char *)key)[len] == '/';
}

void dircache_entry_changed(DirCache *cache, const char *path, gboolean subtree)
{
	if (!dircache_enabled(cache))
		return;
	g_autofree char *parent = g_path_get_dirname(path);
	g_mutex_lock(&cache->lock);
	dircache_invalidate_locked(cache, parent);
	if (subtree) {
		dircache_invalidate_locked(cache, path);
		g_hash_table_foreach_remove(cache->listings, dircache_under, (gpointer)path);
	}
	g_mutex_unlock(&cache->lock);
}
