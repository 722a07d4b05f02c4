/* The first hop's TCP connection, made as OpenSSH's sshconnect.c makes
 * it: AddressFamily for the lookup, BindAddress (else BindInterface's
 * address) as the source, ConnectTimeout per try, ConnectionAttempts tries
 * one second apart, SO_KEEPALIVE with TCPKeepAlive. */
#ifndef JUMPFS_CHAIN_TRANSPORT_H
#define JUMPFS_CHAIN_TRANSPORT_H

#include <glib.h>
#include "chain/config.h"

/* Mounts wait this long for a TCP connect or handshake when the config
 * sets no ConnectTimeout (OpenSSH waits for the kernel, minutes). */
#define TRANSPORT_DEFAULT_TIMEOUT_S 30

/* spec's ConnectTimeout, else the default above. */
int transport_timeout(const HopSpec *spec);

/* A connected, blocking TCP socket (close-on-exec, TCP_NODELAY) to
 * spec->hostname:spec->port, or -1 with *error naming the hop (label) and
 * the cause: JUMPFS_ERROR_UNKNOWN_HOST, _REFUSED, _TIMEOUT, _UNREACHABLE,
 * or _CONFIG for a BindAddress / BindInterface that cannot be used. */
int transport_connect(const HopSpec *spec, const char *label, GError **error);

/* TCP_NODELAY on fd if it is a TCP socket; anything else is left alone. */
void transport_set_nodelay(int fd);

#endif
