/* The chain cache: one entry per distinct chain prefix, holding its live
 * Hop (if any), whether a login for it is under way, and what status
 * shows about it.
 *
 * Locks: cache->lock guards the table and every entry field, and is held
 * only to read or change them, never across hop_connect, a channel open
 * or a prompt. Lock order: cache->lock, then a pump's lock (hop_is_alive,
 * pump_get_stats); pumps never take the cache lock. Hops are unreferenced
 * outside the lock (freeing one joins its pump thread). */
#include "chain/cache.h"

#include <string.h>

#include "chain/errors.h"
#include "chain/prompt.h"

typedef struct {
	char *address;         /* user@host:port of the prefix's last hop */
	Hop *hop;              /* reference, or NULL */
	gboolean connecting;   /* a thread is logging in for this prefix */
	guint attempts;        /* finished logins, good or bad: waiters compare */
	guint users;           /* threads inside chain_cache_get for it */
	guint pins;            /* mounts whose chain has this prefix */
	gint64 since;          /* wall clock of the last change */
	GError *last_error;    /* why it is down (death or failed login) */
	char *auth_method;
	guint logins;
} CacheEntry;

struct ChainCache {
	GMutex lock;
	GCond changed;         /* an entry's login finished */
	GHashTable *entries;   /* prefix key (owned) -> CacheEntry * (owned) */
	guint logins;
};

static void cache_entry_free(CacheEntry *entry)
{
	/* Each hop holds a reference to the one before it, so any order of
	 * entries frees correctly. */
	if (entry->hop != NULL)
		hop_unref(entry->hop);
	g_clear_error(&entry->last_error);
	g_free(entry->auth_method);
	g_free(entry->address);
	g_free(entry);
}

ChainCache *chain_cache_new(void)
{
	ChainCache *cache = g_new0(ChainCache, 1);
	g_mutex_init(&cache->lock);
	g_cond_init(&cache->changed);
	cache->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       (GDestroyNotify)cache_entry_free);
	return cache;
}

void chain_cache_free(ChainCache *cache)
{
	if (cache == NULL)
		return;
	g_hash_table_destroy(cache->entries);
	g_cond_clear(&cache->changed);
	g_mutex_clear(&cache->lock);
	g_free(cache);
}

/* Lane k > 0 names a session of its own at the prefix's last hop (see
 * chain_cache_open_sftp). */
static char *chain_prefix_key(const ChainSpec *chain, guint depth, guint lane)
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
	if (lane > 0)
		g_string_append_printf(key, " #%u", lane);
	return g_string_free(key, FALSE);
}

/* Called with the lock held. */
static CacheEntry *cache_entry_get(ChainCache *cache, const ChainSpec *chain, guint depth,
				   guint lane)
{
	char *key = chain_prefix_key(chain, depth, lane);
	CacheEntry *entry = g_hash_table_lookup(cache->entries, key);
	if (entry != NULL) {
		g_free(key);
		return entry;
	}
	const HopSpec *spec = g_ptr_array_index(chain->hops, depth - 1);
	entry = g_new0(CacheEntry, 1);
	entry->address = g_strdup_printf("%s@%s:%d", spec->user, spec->hostname, spec->port);
	entry->since = g_get_real_time();
	g_hash_table_insert(cache->entries, key, entry);
	return entry;
}

/* Under the lock: the entry's hop if it is alive, else NULL; a dead one
 * is taken out (into *dead, for unref outside the lock) and its death
 * becomes the entry's last error. */
static Hop *cache_entry_live_hop(CacheEntry *entry, Hop **dead)
{
	if (entry->hop == NULL)
		return NULL;
	if (hop_is_alive(entry->hop))
		return entry->hop;
	PumpStats stats;
	pump_get_stats(hop_pump(entry->hop), &stats);
	g_clear_error(&entry->last_error);
	entry->last_error = g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
					"%s: connection lost (%s)", entry->address,
					stats.why_dead ? stats.why_dead
						       : "a hop before it was lost");
	entry->since = stats.died_at ? stats.died_at : g_get_real_time();
	pump_stats_clear(&stats);
	g_debug("%s: dead, reconnecting", hop_label(entry->hop));
	*dead = g_steal_pointer(&entry->hop);
	return NULL;
}

static Hop *cache_get(ChainCache *cache, const ChainSpec *chain, guint depth, guint lane,
		      HopReport *reports, GError **error);

/* Methods that log in again without asking anyone ("publickey
 * (/home/u/.ssh/id_ed25519)": the word before the details). */
static gboolean cache_method_asks_nobody(const char *method)
{
	static const char *const quiet[] = { "publickey", "gssapi-with-mic", "hostbased", "none" };
	if (method == NULL)
		return FALSE;
	gsize len = strcspn(method, " ");
	for (gsize i = 0; i < G_N_ELEMENTS(quiet); i++)
		if (strlen(quiet[i]) == len && strncmp(method, quiet[i], len) == 0)
			return TRUE;
	return FALSE;
}

/* A lane logs in only where lane 0 did without a password or a code:
 * the person would be asked again for every stripe. */
static gboolean cache_lane_allowed(ChainCache *cache, const ChainSpec *chain, guint depth,
				   GError **error)
{
	g_mutex_lock(&cache->lock);
	CacheEntry *first = cache_entry_get(cache, chain, depth, 0);
	g_autofree char *method = g_strdup(first->auth_method);
	g_autofree char *address = g_strdup(first->address);
	g_mutex_unlock(&cache->lock);
	if (cache_method_asks_nobody(method))
		return TRUE;
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
		    "%s: logged in with %s; a login of its own per write stripe would ask again",
		    address, method ? method : "nothing yet");
	return FALSE;
}

/* What a lane's login gets when it would ask: a refusal, so that a
 * background stripe never puts a question on anybody's terminal. */
static char *cache_lane_asks_nobody(const PromptQuestion *question, gpointer data,
				    GError **error)
{
	(void)data;
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
		    "%s: a write stripe's login asks nobody", question->hop_label);
	return NULL;
}

/* Connects the prefix's last hop (this thread won the right to); lane
 * > 0 logs in once more at that hop through the shared hops before it. */
static Hop *cache_connect(ChainCache *cache, const ChainSpec *chain, guint depth, guint lane,
			  HopReport *reports, GError **error)
{
	if (lane > 0 && !cache_lane_allowed(cache, chain, depth, error))
		return NULL;
	Hop *via = NULL;
	if (depth > 1) {
		via = cache_get(cache, chain, depth - 1, 0, reports, error);
		if (via == NULL)
			return NULL;
	}
	HopReport local = { 0 };
	HopReport *report = reports && lane == 0 ? &reports[depth - 1] : &local;
	gpointer asker_data = NULL;
	PromptAsker asker = prompt_get_thread_asker(&asker_data);
	if (lane > 0)
		prompt_set_thread_asker(cache_lane_asks_nobody, NULL);
	Hop *hop = hop_connect(chain, depth - 1, via, report, error);
	if (lane > 0)
		prompt_set_thread_asker(asker, asker_data);
	if (hop != NULL) {
		g_mutex_lock(&cache->lock);
		CacheEntry *entry = cache_entry_get(cache, chain, depth, lane);
		g_free(entry->auth_method);
		entry->auth_method = g_strdup(report->auth_method);
		g_mutex_unlock(&cache->lock);
	}
	hop_report_clear(&local);
	if (via != NULL)
		hop_unref(via);
	return hop;
}

Hop *chain_cache_get(ChainCache *cache, const ChainSpec *chain, guint depth,
		     HopReport *reports, GError **error)
{
	return cache_get(cache, chain, depth, 0, reports, error);
}

static Hop *cache_get(ChainCache *cache, const ChainSpec *chain, guint depth, guint lane,
		      HopReport *reports, GError **error)
{
	g_return_val_if_fail(depth >= 1 && depth <= chain->hops->len, NULL);
	Hop *dead = NULL, *hop;
	g_mutex_lock(&cache->lock);
	CacheEntry *entry = cache_entry_get(cache, chain, depth, lane);
	entry->users++;
	for (;;) {
		hop = cache_entry_live_hop(entry, &dead);
		if (hop != NULL || !entry->connecting)
			break;
		/* Someone logs in for this prefix: take that login's result
		 * rather than asking the user a second time. */
		guint attempt = entry->attempts;
		while (entry->connecting)
			g_cond_wait(&cache->changed, &cache->lock);
		hop = cache_entry_live_hop(entry, &dead);
		if (hop == NULL && entry->attempts != attempt && entry->last_error != NULL) {
			entry->users--;
			g_propagate_error(error, g_error_copy(entry->last_error));
			g_mutex_unlock(&cache->lock);
			if (dead != NULL)
				hop_unref(dead);
			return NULL;
		}
		if (hop != NULL)
			break;
	}
	if (hop != NULL) {
		hop_ref(hop);
		entry->users--;
		g_mutex_unlock(&cache->lock);
		if (dead != NULL)
			hop_unref(dead);
		return hop;
	}
	entry->connecting = TRUE;
	entry->since = g_get_real_time();
	g_mutex_unlock(&cache->lock);
	if (dead != NULL)
		hop_unref(dead);

	GError *local_error = NULL;
	hop = cache_connect(cache, chain, depth, lane, reports, &local_error);

	g_mutex_lock(&cache->lock);
	entry->connecting = FALSE;
	entry->attempts++;
	entry->users--;
	entry->since = g_get_real_time();
	g_clear_error(&entry->last_error);
	if (hop != NULL) {
		entry->hop = hop_ref(hop);
		entry->logins++;
		cache->logins++;
	} else {
		entry->last_error = g_error_copy(local_error);
	}
	g_cond_broadcast(&cache->changed);
	g_mutex_unlock(&cache->lock);
	if (local_error != NULL)
		g_propagate_error(error, local_error);
	return hop;
}

int chain_cache_open_sftp(ChainCache *cache, const ChainSpec *chain, guint lane,
			   GError **error)
{
	guint total = chain->hops->len;
	if (lane > 0) {
		GError *lane_error = NULL;
		Hop *own = cache_get(cache, chain, total, lane, NULL, &lane_error);
		int fd = own ? hop_open_sftp(own, total - 1, total, &lane_error) : -1;
		if (own != NULL)
			hop_unref(own);
		if (fd >= 0)
			return fd;
		/* A channel of the shared session is better than none. */
		g_info("session %u of its own: %s; a channel of the shared session instead",
		       lane, lane_error->message);
		g_error_free(lane_error);
	}
	/* A hop can die between the liveness check and the open, or while a
	 * hop after it is being set up; the failure then says "connection
	 * lost" and the next try rebuilds from the deepest live hop. */
	for (int attempt = 0;; attempt++) {
		GError *local_error = NULL;
		int fd = -1;
		Hop *last = chain_cache_get(cache, chain, total, NULL, &local_error);
		if (last != NULL) {
			fd = hop_open_sftp(last, total - 1, total, &local_error);
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

void chain_cache_prune(ChainCache *cache)
{
	/* Dropping a hop releases its reference to the hop before it, which
	 * may leave that one idle in turn: repeat until nothing is idle. */
	for (;;) {
		GPtrArray *idle = g_ptr_array_new_with_free_func((GDestroyNotify)hop_unref);
		g_mutex_lock(&cache->lock);
		GHashTableIter iter;
		CacheEntry *entry;
		g_hash_table_iter_init(&iter, cache->entries);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry)) {
			if (entry->hop == NULL || entry->users != 0 || entry->connecting)
				continue;
			/* A dead hop goes with its death as the entry's last
			 * error, which `jumpfs status` shows. */
			Hop *dead = NULL;
			if (cache_entry_live_hop(entry, &dead) == NULL) {
				if (dead != NULL)
					g_ptr_array_add(idle, dead);
			} else if (entry->pins == 0 && hop_is_idle(entry->hop)) {
				g_ptr_array_add(idle, g_steal_pointer(&entry->hop));
				entry->since = g_get_real_time();
			}
		}
		g_mutex_unlock(&cache->lock);
		guint dropped = idle->len;
		g_ptr_array_free(idle, TRUE);
		if (dropped == 0)
			return;
	}
}

static void cache_pin_by(ChainCache *cache, const ChainSpec *chain, int delta)
{
	g_mutex_lock(&cache->lock);
	for (guint depth = 1; depth <= chain->hops->len; depth++) {
		CacheEntry *entry = cache_entry_get(cache, chain, depth, 0);
		g_warn_if_fail(delta > 0 || entry->pins > 0);
		if (delta > 0 || entry->pins > 0)
			entry->pins = (guint)((int)entry->pins + delta);
	}
	g_mutex_unlock(&cache->lock);
}

void chain_cache_pin(ChainCache *cache, const ChainSpec *chain)
{
	cache_pin_by(cache, chain, 1);
}

void chain_cache_unpin(ChainCache *cache, const ChainSpec *chain)
{
	cache_pin_by(cache, chain, -1);
}

guint chain_cache_logins(ChainCache *cache)
{
	g_mutex_lock(&cache->lock);
	guint logins = cache->logins;
	g_mutex_unlock(&cache->lock);
	return logins;
}

/* ---- status ---- */

static void chain_hop_stats_clear(ChainHopStats *stats)
{
	g_free(stats->address);
	g_free(stats->why);
	g_free(stats->auth_method);
}

/* Under the lock. */
static void cache_entry_stats(CacheEntry *entry, ChainHopStats *out)
{
	out->address = g_strdup(entry->address);
	out->since = entry->since;
	out->logins = entry->logins;
	out->auth_method = g_strdup(entry->auth_method);
	out->why_code = entry->last_error ? entry->last_error->code : -1;
	out->why = entry->last_error ? g_strdup(entry->last_error->message) : NULL;
	out->rtt_us = -1;
	if (entry->connecting) {
		out->state = entry->logins > 0 ? CHAIN_HOP_RECONNECTING : CHAIN_HOP_CONNECTING;
		return;
	}
	if (entry->hop == NULL) {
		out->state = CHAIN_HOP_DOWN;
		return;
	}
	PumpStats pump;
	pump_get_stats(hop_pump(entry->hop), &pump);
	if (pump.alive) {
		out->state = CHAIN_HOP_UP;
		g_clear_pointer(&out->why, g_free);
		out->why_code = -1;
	} else {
		/* Dead, and nobody asked for it since. */
		out->state = CHAIN_HOP_DOWN;
		g_free(out->why);
		out->why = g_strdup_printf("connection lost (%s)", pump.why_dead);
		out->why_code = JUMPFS_ERROR_DISCONNECTED;
		out->since = pump.died_at;
	}
	out->rtt_us = pump.rtt_us;
	out->last_rx_age_us = pump.last_rx_age_us;
	out->bytes_in = pump.bytes_in;
	out->bytes_out = pump.bytes_out;
	out->channels = pump.channels;
	out->opens_pending = pump.opens_pending;
	out->keepalives_missed = pump.keepalives_missed;
	pump_stats_clear(&pump);
}

/* Under the lock: lanes are asked for from 1 up, so the first one never
 * asked for ends the count. */
static guint cache_live_lanes(ChainCache *cache, const ChainSpec *chain, guint depth)
{
	guint live = 0;
	for (guint lane = 1;; lane++) {
		g_autofree char *key = chain_prefix_key(chain, depth, lane);
		CacheEntry *entry = g_hash_table_lookup(cache->entries, key);
		if (entry == NULL)
			return live;
		if (entry->hop != NULL && hop_is_alive(entry->hop))
			live++;
	}
}

GArray *chain_cache_stats(ChainCache *cache, const ChainSpec *chain)
{
	GArray *all = g_array_sized_new(FALSE, TRUE, sizeof(ChainHopStats), chain->hops->len);
	g_array_set_clear_func(all, (GDestroyNotify)chain_hop_stats_clear);
	for (guint depth = 1; depth <= chain->hops->len; depth++) {
		g_autofree char *key = chain_prefix_key(chain, depth, 0);
		ChainHopStats stats = { .why_code = -1, .rtt_us = -1 };
		g_mutex_lock(&cache->lock);
		CacheEntry *entry = g_hash_table_lookup(cache->entries, key);
		if (entry != NULL) {
			cache_entry_stats(entry, &stats);
			stats.stripe_sessions = cache_live_lanes(cache, chain, depth);
		} else {
			const HopSpec *spec = g_ptr_array_index(chain->hops, depth - 1);
			stats.address = g_strdup_printf("%s@%s:%d", spec->user, spec->hostname,
							spec->port);
			stats.state = CHAIN_HOP_DOWN;
		}
		g_mutex_unlock(&cache->lock);
		g_array_append_val(all, stats);
	}
	return all;
}

const char *chain_hop_state_name(ChainHopState state)
{
	switch (state) {
	case CHAIN_HOP_UP:
		return "up";
	case CHAIN_HOP_CONNECTING:
		return "connecting";
	case CHAIN_HOP_RECONNECTING:
		return "reconnecting";
	case CHAIN_HOP_DOWN:
	default:
		return "down";
	}
}
