/* Live hops, keyed by chain prefix ("u1@h1:22 -> u2@h2:2222").
 *
 * Asking for a chain reuses the longest live prefix and connects only the
 * missing or broken suffix: a reconnect after jump2 died does not log into
 * jump1 again, and extra SFTP channels log into nothing at all.
 *
 * Threads: any thread may call anything here. Each prefix connects at
 * most once at a time: a second request for it waits for that login and
 * takes its result; requests for other prefixes go on in parallel. No
 * lock is held across a network round trip or a prompt (chain/prompt.c
 * keeps two prompts off the terminal; that is its own lock). */
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
 * this call connected (index = hop index); the others are left zeroed. */
Hop *chain_cache_get(ChainCache *cache, const ChainSpec *chain, guint depth,
		     HopReport *reports, GError **error);

/* A stream to the sftp subsystem on the chain's last hop, through session
 * lane of it. Lane 0 is the session all mounts of the chain share. Lane
 * k > 0 is a login of its own at the last hop only, through the shared
 * sessions of the hops before it: its forwarded channel at the last jump
 * and its session window are its own, which is what lets striped writes
 * pass the ceiling one session's windows set (docs/design.md). A lane
 * logs in only where lane 0 did without asking anyone (publickey,
 * gssapi) and never asks; when it cannot, the stream is a channel of lane
 * 0's session instead. */
int chain_cache_open_sftp(ChainCache *cache, const ChainSpec *chain, guint lane,
			  GError **error);

/* Logs out of every hop that no channel, no one else and no pin uses
 * (after a mount ended), deepest first. A dead hop goes whatever pins it. */
void chain_cache_prune(ChainCache *cache);
/* A mount pins every prefix of its chain while it is mounted: when a later
 * hop dies and takes its channels with it, the live hops before it stay
 * logged in for the reconnect (else the pruner would log out of a healthy
 * jump1 that nothing uses for a moment, and the reconnect log in again).
 * Unpin with the same chain. */
void chain_cache_pin(ChainCache *cache, const ChainSpec *chain);
void chain_cache_unpin(ChainCache *cache, const ChainSpec *chain);

/* Number of SSH logins this cache has made (tests prove reuse with it). */
guint chain_cache_logins(ChainCache *cache);

/* ---- what `jumpfs status` shows ---- */

typedef enum {
	CHAIN_HOP_DOWN,         /* no session: why says the last failure */
	CHAIN_HOP_CONNECTING,   /* first login under way */
	CHAIN_HOP_RECONNECTING, /* had a session, lost it, logging in again */
	CHAIN_HOP_UP,
} ChainHopState;

typedef struct {
	char *address;          /* user@host:port */
	ChainHopState state;
	gint64 since;           /* wall clock (g_get_real_time, us) of the last change */
	char *why;              /* DOWN: what broke it (NULL if it never connected) */
	int why_code;           /* its JumpfsErrorCode, -1 when none */
	char *auth_method;      /* of the live or last session; NULL before a login */
	guint logins;           /* successful logins of this prefix since the cache began */
	guint stripe_sessions;  /* live sessions of its own for write stripes
				 * (lanes > 0, chain_cache_open_sftp) */
	/* Of the current session (zero when there is none): */
	gint64 rtt_us;          /* last keepalive's round trip, -1 = not measured yet */
	gint64 last_rx_age_us;  /* since the peer last sent anything */
	guint64 bytes_in, bytes_out; /* on the session's socket, since its login */
	guint channels;         /* open channels through it */
	guint opens_pending;    /* channel opens not answered yet */
	guint keepalives_missed;
} ChainHopStats;

/* One ChainHopStats per hop of chain, first hop first, copied from
 * counters under short locks: no network round trip, no waiting for a
 * login in progress. Free with g_array_unref. */
GArray *chain_cache_stats(ChainCache *cache, const ChainSpec *chain);
const char *chain_hop_state_name(ChainHopState state);   /* "up", "down", ... */

#endif
