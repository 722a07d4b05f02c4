/* The one thread that owns a live SSH session.
 *
 * libssh sessions are not thread-safe, so after authentication a session
 * is handed to a pump and touched by no other thread. The pump opens
 * channels on request (a direct-tcpip forward to the next hop, or the
 * "sftp" subsystem on the last hop) and moves bytes between each channel
 * and one end of a socketpair; the other end goes to whoever asked (the
 * next hop's session, or the SFTP client). It also sends keepalives and
 * declares the session dead when they go unanswered; a dead pump shuts
 * every socketpair, so death propagates down the chain as EOF.
 *
 * Nothing in the pump blocks: a channel open and a keepalive are states of
 * its poll loop, so a slow open or a silent peer stops no other channel.
 *
 * Files: pump.c (the loop, keepalives, death, this API), pump-open.c
 * (channel opens), pump-link.c (moving bytes, bounds, windows);
 * pump-private.h is what they share. */
#ifndef JUMPFS_CHAIN_PUMP_H
#define JUMPFS_CHAIN_PUMP_H

#include <glib.h>
#include <libssh/libssh.h>

typedef struct Pump Pump;

/* Takes ownership of session (connected, authenticated). address names
 * the session in the pump's own log lines ("hop 1 (user1@jumphost1:22)");
 * no "hop N/M": one session serves chains of different lengths.
 * keepalive_interval in seconds (0 = off). */
Pump *pump_start(ssh_session session, const char *address,
		 int keepalive_interval, int keepalive_count_max);

/* Both block the calling thread (never the pump) until the channel is open
 * and return the caller's end of a socketpair, or -1 with *error. label is
 * the caller's name for this hop ("hop 1/2 (user1@jumphost1:22)"): every
 * error starts with it. A peer that does not answer within timeout_s fails
 * only this caller (JUMPFS_ERROR_TIMEOUT); the half-open channel stays
 * with the pump until the peer answers, because SSH cannot cancel it. */
int pump_open_forward(Pump *pump, const char *host, int port, const char *label,
		      int timeout_s, GError **error);
int pump_open_subsystem(Pump *pump, const char *subsystem, const char *label,
			int timeout_s, GError **error);

gboolean pump_is_alive(Pump *pump);
/* Channels open through this session right now. */
guint pump_link_count(Pump *pump);

/* A snapshot for `jumpfs status`, from counters the pump keeps anyway:
 * never a round trip. Callable from any thread. */
typedef struct {
	gboolean alive;
	char *why_dead;         /* NULL while alive */
	gint64 died_at;         /* wall clock (g_get_real_time), 0 while alive */
	gint64 rtt_us;          /* last keepalive's round trip, -1 = none yet */
	gint64 last_rx_age_us;  /* time since the peer last sent anything */
	guint64 bytes_in;       /* bytes read from / written to the session's */
	guint64 bytes_out;      /*   socket (SSH framing and crypto included) */
	guint channels;         /* open channels */
	guint opens_pending;    /* opens sent, not answered yet (incl. abandoned) */
	guint keepalives_missed;/* unanswered in a row */
} PumpStats;

void pump_get_stats(Pump *pump, PumpStats *stats);
void pump_stats_clear(PumpStats *stats);

/* Stops the thread, closes every channel and the session, frees. */
void pump_free(Pump *pump);

#endif
