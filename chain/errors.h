/* Error domain shared by everything that builds a chain: every GError a
 * user sees about the chain carries one of these codes, and its message
 * names the hop ("hop 2/3 jumphost2:2222 (user2): ..."). */
#ifndef JUMPFS_CHAIN_ERRORS_H
#define JUMPFS_CHAIN_ERRORS_H

#include <glib.h>

#define JUMPFS_ERROR (jumpfs_error_quark())
GQuark jumpfs_error_quark(void);

typedef enum {
	JUMPFS_ERROR_CONFIG,          /* bad ssh_config / command line */
	JUMPFS_ERROR_UNKNOWN_HOST,    /* name does not resolve */
	JUMPFS_ERROR_REFUSED,         /* TCP connection refused */
	JUMPFS_ERROR_TIMEOUT,         /* connect or keepalive timeout */
	JUMPFS_ERROR_UNREACHABLE,     /* other connect errors */
	JUMPFS_ERROR_HOSTKEY_CHANGED, /* known_hosts mismatch: always fatal */
	JUMPFS_ERROR_HOSTKEY_UNKNOWN, /* not in known_hosts and policy refuses */
	JUMPFS_ERROR_AUTH,            /* no authentication method succeeded */
	JUMPFS_ERROR_CHANNEL_DENIED,  /* direct-tcpip / subsystem refused */
	JUMPFS_ERROR_PROTOCOL,        /* SSH or SFTP protocol failure */
	JUMPFS_ERROR_DISCONNECTED,    /* a live hop went away */
	JUMPFS_ERROR_NO_PROMPT,       /* a question, and nobody to ask */
	JUMPFS_ERROR_HOSTKEY_REVOKED, /* @revoked / RevokedHostKeys: always
	                                 fatal (an unreadable RevokedHostKeys
	                                 file is JUMPFS_ERROR_CONFIG) */
	JUMPFS_ERROR_HOSTKEY_CERT_ONLY, /* known only through @cert-authority,
	                                   and libssh 0.10 takes no host certs */
} JumpfsErrorCode;

#endif
