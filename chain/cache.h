/* Live hops, keyed by chain prefix ("u1@h1:22,u2@h2:2222").
 *
 * Asking for a chain reuses the longest live prefix and connects only the
 * missing or broken suffix: a reconnect after jump2 died does not log into
 * jump1 again, and extra SFTP channels log into nothing at all. */
#ifndef JUMPFS_CHAIN_CACHE_H
#define JUMPFS_CHAIN_CACHE_H

#include <glib.h>
#include "chain/config.h"
#include "chain/hop.h"

typedef struct ChainCache ChainCache;

ChainCache *chain_cache_new(void);
void chain_cache_free(ChainCache *cache);

/* A new reference to the live hop reached by chain->hops[0 .. depth-1].
 * reports (may be NULL) receives one HopReport per hop of the prefix that
 * had to be connected (index = hop index); the others are left zeroed. */
Hop *chain_cache_get(ChainCache *cache, const ChainSpec *chain, guint depth,
		     HopReport *reports, GError **error);

/* A stream to the sftp subsystem on the chain's last hop. */
int chain_cache_open_sftp(ChainCache *cache, const ChainSpec *chain, GError **error);

/* Logs out of every hop that no channel and no one else uses (after a
 * mount ended), deepest first. */
void chain_cache_prune(ChainCache *cache);

/* Number of SSH logins this cache has made (tests prove reuse with it). */
guint chain_cache_logins(ChainCache *cache);

#endif
