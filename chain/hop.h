/* One hop of a chain: a connected, verified, authenticated SSH session
 * driven by its pump thread, reached over TCP (first hop) or through a
 * direct-tcpip channel of the hop before it. */
#ifndef JUMPFS_CHAIN_HOP_H
#define JUMPFS_CHAIN_HOP_H

#include <glib.h>
#include "chain/config.h"
#include "chain/knownhosts.h"
#include "chain/pump.h"

typedef struct Hop Hop;

/* What happened while connecting, for --check and -d. */
typedef struct {
	HostKeyReport host_key;
	char *auth_method;
	char *algorithms;      /* "kex ..., cipher ..." as negotiated */
	gint64 connect_us;     /* TCP or channel, plus SSH handshake */
	gint64 auth_us;
} HopReport;

/* Connects chain->hops[index] (0-based; "hop 2/3" in messages). via is
 * NULL for the first hop; the new hop keeps a reference to it. The chain
 * gives the requester's environment and working directory (a ProxyCommand
 * runs with them). report may be NULL. */
Hop *hop_connect(const ChainSpec *chain, guint index, Hop *via, HopReport *report,
		 GError **error);
Hop *hop_ref(Hop *hop);
void hop_unref(Hop *hop);

/* FALSE once this hop or any hop before it has died. */
gboolean hop_is_alive(Hop *hop);
const char *hop_label(Hop *hop);
/* TRUE when only one reference is left (the cache's) and no channel runs
 * through the hop: nothing would notice if it were logged out. */
gboolean hop_is_idle(Hop *hop);

/* A stream through this hop to the next hop's sshd (a socketpair end).
 * index/total: this hop's place in the caller's chain, for messages; the
 * next hop's ConnectTimeout bounds the wait. */
int hop_open_forward(Hop *hop, const HopSpec *next, guint index, guint total,
		     GError **error);
/* A stream to this hop's sftp subsystem. */
int hop_open_sftp(Hop *hop, guint index, guint total, GError **error);
/* The session's owner, for its counters (pump_get_stats). */
Pump *hop_pump(Hop *hop);

void hop_report_clear(HopReport *report);

/* "hop 2/3 (user2@jumphost2:2222)" */
char *hop_make_label(const HopSpec *spec, guint index, guint total);

#endif
