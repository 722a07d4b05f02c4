/* Names for the codes of chain/errors.h. */
#include "chain/errors.h"

#include <string.h>

G_DEFINE_QUARK(jumpfs-error-quark, jumpfs_error)

/* Indexed by code: one row per code, in enum order. */
static const char *const errors_names[] = {
	[JUMPFS_ERROR_CONFIG] = "config",
	[JUMPFS_ERROR_UNKNOWN_HOST] = "unknown-host",
	[JUMPFS_ERROR_REFUSED] = "refused",
	[JUMPFS_ERROR_TIMEOUT] = "timeout",
	[JUMPFS_ERROR_UNREACHABLE] = "unreachable",
	[JUMPFS_ERROR_HOSTKEY_CHANGED] = "hostkey-changed",
	[JUMPFS_ERROR_HOSTKEY_UNKNOWN] = "hostkey-unknown",
	[JUMPFS_ERROR_AUTH] = "auth",
	[JUMPFS_ERROR_CHANNEL_DENIED] = "channel-denied",
	[JUMPFS_ERROR_PROTOCOL] = "protocol",
	[JUMPFS_ERROR_DISCONNECTED] = "disconnected",
	[JUMPFS_ERROR_NO_PROMPT] = "no-prompt",
	[JUMPFS_ERROR_HOSTKEY_REVOKED] = "hostkey-revoked",
	[JUMPFS_ERROR_HOSTKEY_CERT_ONLY] = "hostkey-cert-only",
	[JUMPFS_ERROR_FORWARD_PROHIBITED] = "forward-prohibited",
	[JUMPFS_ERROR_AUTH_NO_PROMPT] = "auth-no-prompt",
	[JUMPFS_ERROR_LIMIT] = "limit",
};

const char *jumpfs_error_code_name(int code)
{
	if (code < 0 || (gsize)code >= G_N_ELEMENTS(errors_names) ||
	    errors_names[code] == NULL)
		return "unknown";
	return errors_names[code];
}

int jumpfs_error_code_from_name(const char *name)
{
	for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(errors_names); i++) {
		if (errors_names[i] != NULL && strcmp(errors_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

