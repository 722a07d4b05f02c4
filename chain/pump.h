/* The one thread that owns a live SSH session.
 *
 * libssh sessions are not thread-safe, so after authentication a session
 * is handed to a pump and touched by no other thread. The pump opens
 * channels on request (a direct-tcpip forward to the next hop, or the
 * "sftp" subsystem on the last hop) and moves bytes between each channel
 * and one end of a socketpair; the other end goes to whoever asked (the
 * next hop's session, or the SFTP client). It also sends keepalives and
 * declares the session dead when they go unanswered; a dead pump shuts
 * every socketpair, so death propagates down the chain as EOF. */
#ifndef JUMPFS_CHAIN_PUMP_H
#define JUMPFS_CHAIN_PUMP_H

#include <glib.h>
#include <libssh/libssh.h>

typedef struct Pump Pump;

/* Takes ownership of session (connected, authenticated). label names the
 * hop in every message. keepalive_interval in seconds (0 = off). */
Pump *pump_start(ssh_session session, const char *label,
		 int keepalive_interval, int keepalive_count_max);

/* Both block until the pump thread has opened the channel (one round trip
 * at this hop) and return the caller's end of a socketpair, or -1 with
 * *error naming the hop and the cause. */
int pump_open_forward(Pump *pump, const char *host, int port, GError **error);
int pump_open_subsystem(Pump *pump, const char *subsystem, GError **error);

gboolean pump_is_alive(Pump *pump);
/* Channels open through this session right now. */
guint pump_link_count(Pump *pump);
/* Stops the thread, closes every channel and the session, frees. */
void pump_free(Pump *pump);

#endif
