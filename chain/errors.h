/* The error domain of all of jumpfs (chain/, fs/, cli/): every GError a
 * user sees carries one of these codes, and callers decide by the code,
 * never by the text. Messages are for people and name their subject
 * ("hop 2/3 (user2@jumphost2:2222): ...").
 *
 * A small library of its own (jumpfs-errors) that every part links, so
 * that the SFTP client and the command line need nothing else from
 * chain/. Add codes at the end and give each a name in errors.c: the
 * names are stable (`jumpfs status --json`, the control socket). */
#ifndef JUMPFS_CHAIN_ERRORS_H
#define JUMPFS_CHAIN_ERRORS_H

#include <glib.h>

#define JUMPFS_ERROR (jumpfs_error_quark())
GQuark jumpfs_error_quark(void);

typedef enum {
	JUMPFS_ERROR_CONFIG,          /* bad ssh_config / command line */
	JUMPFS_ERROR_UNKNOWN_HOST,    /* name does not resolve */
	JUMPFS_ERROR_REFUSED,         /* TCP connection refused */
	JUMPFS_ERROR_TIMEOUT,         /* connect, channel open or keepalive timeout */
	JUMPFS_ERROR_UNREACHABLE,     /* other connect errors */
	JUMPFS_ERROR_HOSTKEY_CHANGED, /* known_hosts mismatch: always fatal */
	JUMPFS_ERROR_HOSTKEY_UNKNOWN, /* not in known_hosts and policy refuses */
	JUMPFS_ERROR_AUTH,            /* no authentication method succeeded */
	JUMPFS_ERROR_CHANNEL_DENIED,  /* a channel open or subsystem failed otherwise */
	JUMPFS_ERROR_PROTOCOL,        /* SSH or SFTP protocol failure */
	JUMPFS_ERROR_DISCONNECTED,    /* a live hop went away */
	JUMPFS_ERROR_NO_PROMPT,       /* a question, and nobody to ask */
	JUMPFS_ERROR_HOSTKEY_REVOKED, /* @revoked / RevokedHostKeys: always
	                                 fatal (an unreadable RevokedHostKeys
	                                 file is JUMPFS_ERROR_CONFIG) */
	JUMPFS_ERROR_HOSTKEY_CERT_ONLY, /* known only through @cert-authority,
	                                   and libssh 0.10 takes no host certs */
	JUMPFS_ERROR_FORWARD_PROHIBITED, /* a jump host refuses TCP forwarding
					  * (AllowTcpForwarding, PermitOpen) */
	JUMPFS_ERROR_AUTH_NO_PROMPT,  /* authentication needed a secret that could
				       * not be asked (BatchMode, no terminal) */
	JUMPFS_ERROR_LIMIT,           /* a peer went past a bound (window, stderr) */
} JumpfsErrorCode;

/* "timeout", "forward-prohibited", ...; "unknown" for a code without a name. */
const char *jumpfs_error_code_name(int code);
/* The code for a name, or -1. */
int jumpfs_error_code_from_name(const char *name);

#endif
