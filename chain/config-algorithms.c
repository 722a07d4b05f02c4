/* Algorithm lists: see config-algorithms.h. */
#include "chain/config-algorithms.h"

#include <string.h>

#include "chain/config-util.h"

/* `ssh -Q cipher`, `ssh -Q mac`, `ssh -Q kex`, `ssh -Q HostKeyAlgorithms`
 * of Debian 12's ssh, in its order. */
#define KNOWN_CIPHERS \
	"3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr," \
	"aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
	"chacha20-poly1305@openssh.com"
#define KNOWN_MACS \
	"hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5," \
	"hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com," \
	"hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com," \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," \
	"hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com," \
	"umac-64-etm@openssh.com,umac-128-etm@openssh.com"
#define KNOWN_KEX \
	"diffie-hellman-group1-sha1,diffie-hellman-group14-sha1," \
	"diffie-hellman-group14-sha256,diffie-hellman-group16-sha512," \
	"diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1," \
	"diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256," \
	"ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256," \
	"curve25519-sha256@libssh.org,sntrup761x25519-sha512," \
	"sntrup761x25519-sha512@openssh.com"
#define KNOWN_KEYS \
	"ssh-ed25519,ssh-ed25519-cert-v01@openssh.com," \
	"sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com," \
	"sk-ecdsa-sha2-nistp256@openssh.com," \
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"webauthn-sk-ecdsa-sha2-nistp256@openssh.com," \
	"ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa," \
	"ssh-rsa-cert-v01@openssh.com,rsa-sha2-256," \
	"rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512," \
	"rsa-sha2-512-cert-v01@openssh.com"
/* sshkey_alg_list(certs_only=0, plain_only=1, include_sigonly=1). */
#define KNOWN_SIGS \
	"ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"sk-ecdsa-sha2-nistp256@openssh.com," \
	"webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa," \
	"rsa-sha2-256,rsa-sha2-512"
#define KNOWN_GSS_KEX \
	"gss-gex-sha1-,gss-group1-sha1-,gss-group14-sha1-," \
	"gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-," \
	"gss-curve25519-sha256-"

/* What `ssh -G` prints with no configuration (Debian's kex list starts
 * with the sntrup761x25519-sha512 name that upstream added in 9.9). */
#define DEFAULT_CIPHERS \
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr," \
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com"
#define DEFAULT_MACS \
	"umac-64-etm@openssh.com,umac-128-etm@openssh.com," \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com," \
	"hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com," \
	"hmac-sha2-256,hmac-sha2-512,hmac-sha1"
#define DEFAULT_KEX \
	"sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com," \
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256," \
	"ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512," \
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
#define DEFAULT_KEYS \
	"ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com," \
	"sk-ssh-ed25519-cert-v01@openssh.com," \
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com," \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
#define DEFAULT_SIGS \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com," \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
#define DEFAULT_GSS_KEX \
	"gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-," \
	"gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"

/* What libssh 0.10.6 accepts: no UMAC, MD5 or truncated MACs, no
 * sntrup761, no DSA; no host certificates (kex.c drops *-cert-v01 host
 * key types for clients), user certificates yes. */
#define LIBSSH_PLAIN_KEYS \
	"ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512"
#define LIBSSH_CERT_KEYS \
	"ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com," \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com," \
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," \
	"ssh-rsa-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com," \
	"rsa-sha2-512-cert-v01@openssh.com"

static const struct {
	const char *known;
	const char *defaults;
	const char *libssh;
	gboolean wildcards; /* sshkey_names_valid2(..., allow_wildcard=1) */
} config_algorithm_tables[CONFIG_ALGO_COUNT] = {
	[CONFIG_ALGO_CIPHERS] = { KNOWN_CIPHERS, DEFAULT_CIPHERS, KNOWN_CIPHERS, FALSE },
	[CONFIG_ALGO_MACS] = { KNOWN_MACS, DEFAULT_MACS,
		"hmac-sha1,hmac-sha2-256,hmac-sha2-512,hmac-sha1-etm@openssh.com,"
		"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com", FALSE },
	[CONFIG_ALGO_KEX] = { KNOWN_KEX, DEFAULT_KEX,
		"diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
		"diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
		"diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
		"diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,"
		"ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,"
		"curve25519-sha256@libssh.org", FALSE },
	[CONFIG_ALGO_HOSTKEY] = { KNOWN_KEYS, DEFAULT_KEYS, LIBSSH_PLAIN_KEYS, TRUE },
	[CONFIG_ALGO_PUBKEY] = { KNOWN_KEYS, DEFAULT_KEYS,
		LIBSSH_PLAIN_KEYS "," LIBSSH_CERT_KEYS, TRUE },
	[CONFIG_ALGO_HOSTBASED] = { KNOWN_KEYS, DEFAULT_KEYS, "", TRUE },
	[CONFIG_ALGO_CA_SIG] = { KNOWN_SIGS, DEFAULT_SIGS, "", TRUE },
	[CONFIG_ALGO_GSS_KEX] = { KNOWN_GSS_KEX, DEFAULT_GSS_KEX, "", FALSE },
};

const char *
config_algorithms_default(ConfigAlgoClass klass)
{
	return config_algorithm_tables[klass].defaults;
}

const char *
config_algorithms_known(ConfigAlgoClass klass)
{
	return config_algorithm_tables[klass].known;
}

const char *
config_algorithms_libssh(ConfigAlgoClass klass)
{
	return config_algorithm_tables[klass].libssh;
}

static gboolean
config_list_contains(const char *list, const char *name, gsize len)
{
	for (const char *p = list; *p != '\0';) {
		gsize n = strcspn(p, ",");
		if (n == len && strncmp(p, name, len) == 0)
			return TRUE;
		p += n;
		if (*p == ',')
			p++;
	}
	return FALSE;
}

gboolean
config_algorithms_valid(ConfigAlgoClass klass, const char *value)
{
	const char *known = config_algorithm_tables[klass].known;

	if (value[0] == '-')
		return TRUE;
	if (value[0] == '+' || value[0] == '^')
		value++;
	if (value[0] == '\0')
		return FALSE;
	g_auto(GStrv) names = g_strsplit(value, ",", -1);
	/* Like strsep loops in OpenSSH: an empty name ends the list. */
	for (char **name = names; *name != NULL && **name != '\0'; name++) {
		if (config_list_contains(known, *name, strlen(*name)))
			continue;
		if (!config_algorithm_tables[klass].wildcards)
			return FALSE;
		/* A wildcard counts if any known name matches it, either way. */
		g_auto(GStrv) all = g_strsplit(known, ",", -1);
		gboolean any = FALSE;
		for (char **k = all; *k != NULL && !any; k++)
			any = config_pattern_list(*k, *name, FALSE) != 0;
		if (!any)
			return FALSE;
	}
	return TRUE;
}

/* kex_names_cat(): a, then every name of b not in a yet. */
static void
config_names_cat(GString *out, const char *b)
{
	g_auto(GStrv) names = g_strsplit(b, ",", -1);
	for (char **name = names; *name != NULL && **name != '\0'; name++) {
		if (config_list_contains(out->str, *name, strlen(*name)))
			continue;
		if (out->len > 0)
			g_string_append_c(out, ',');
		g_string_append(out, *name);
	}
}

/* filter_list(): the names of proposal that the pattern list matches
 * (allow) or does not match (deny), in proposal's order. */
static char *
config_filter_list(const char *proposal, const char *filter, gboolean deny)
{
	GString *out = g_string_new(NULL);
	g_auto(GStrv) names = g_strsplit(proposal, ",", -1);
	for (char **name = names; *name != NULL; name++) {
		int r = config_pattern_list(*name, filter, FALSE);
		if ((deny && r != 1) || (!deny && r == 1)) {
			if (out->len > 0)
				g_string_append_c(out, ',');
			g_string_append(out, *name);
		}
	}
	return g_string_free(out, FALSE);
}

char *
config_algorithms_assemble(ConfigAlgoClass klass, const char *value)
{
	const char *defaults = config_algorithm_tables[klass].defaults;
	const char *known = config_algorithm_tables[klass].known;
	g_autoptr(GString) list = g_string_new(NULL);

	if (value == NULL || value[0] == '\0')
		return g_strdup(defaults);
	if (value[0] == '-')
		return config_filter_list(defaults, value + 1, TRUE);
	if (value[0] == '+') {
		g_string_append(list, defaults);
		config_names_cat(list, value + 1);
	} else if (value[0] == '^') {
		config_names_cat(list, value + 1);
		config_names_cat(list, defaults);
	} else {
		g_string_append(list, value);
	}

	g_autoptr(GString) result = g_string_new(NULL);
	g_auto(GStrv) patterns = g_strsplit(list->str, ",", -1);
	for (char **pattern = patterns; *pattern != NULL; pattern++) {
		if ((*pattern)[0] == '!')
			return NULL; /* negation only makes sense in a '-' list */
		g_autofree char *matching = config_filter_list(known, *pattern,
		                                               FALSE);
		config_names_cat(result, matching);
	}
	if (result->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&result), FALSE);
}

char *
config_algorithms_for_libssh(ConfigAlgoClass klass, const char *list)
{
	const char *libssh = config_algorithm_tables[klass].libssh;
	GString *out = g_string_new(NULL);
	g_auto(GStrv) names = g_strsplit(list, ",", -1);

	for (char **name = names; *name != NULL; name++) {
		if (**name == '\0' ||
		    !config_list_contains(libssh, *name, strlen(*name)))
			continue;
		if (out->len > 0)
			g_string_append_c(out, ',');
		g_string_append(out, *name);
	}
	return g_string_free(out, FALSE);
}
