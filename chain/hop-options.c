/* Session options from a hop's spec, each checked. */
#include "chain/hop-options.h"

#include <stdint.h>
#include <string.h>

#include "chain/errors.h"

/* OpenSSH 9.2's default Ciphers, less what libssh 0.10 cannot speak. */
#define HOP_OPTIONS_OPENSSH_CIPHERS \
	"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr," \
	"aes128-gcm@openssh.com,aes256-gcm@openssh.com"

static gboolean hop_options_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") != 0;
#else
	return FALSE;
#endif
}

/* With AES instructions AES-GCM costs a fraction of ChaCha20-Poly1305, and
 * every byte is encrypted once per hop here; OpenSSH lets a client order
 * its list as it likes. Only for a list no config wrote. */
char *hop_options_ciphers(const HopSpec *spec)
{
	const char *base = spec->ciphers != NULL ? spec->ciphers : HOP_OPTIONS_OPENSSH_CIPHERS;
	if (spec->ciphers_from_config || !hop_options_cpu_has_aes())
		return g_strdup(base);
	g_auto(GStrv) names = g_strsplit(base, ",", -1);
	GString *gcm_first = g_string_new(NULL);
	for (int pass = 0; pass < 2; pass++) {
		for (char **name = names; *name != NULL; name++) {
			if ((strstr(*name, "-gcm@") != NULL) != (pass == 0))
				continue;
			if (gcm_first->len > 0)
				g_string_append_c(gcm_first, ',');
			g_string_append(gcm_first, *name);
		}
	}
	return g_string_free(gcm_first, FALSE);
}

static gboolean hop_options_refused(ssh_session session, const char *label,
				    const char *keyword, const char *value, GError **error)
{
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		    "%s: %s %s: libssh cannot use it: %s", label, keyword, value,
		    ssh_get_error(session));
	return FALSE;
}

typedef struct {
	const char *keyword;
	enum ssh_options_e option;
	const char *value; /* NULL: libssh's default stays */
} HopOptionString;

gboolean hop_options_apply(ssh_session session, const HopSpec *spec,
			   const char *hostkey_algorithms, const char *label,
			   GError **error)
{
	g_autofree char *ciphers = hop_options_ciphers(spec);
	const HopOptionString strings[] = {
		{ "Ciphers", SSH_OPTIONS_CIPHERS_C_S, ciphers },
		{ "Ciphers", SSH_OPTIONS_CIPHERS_S_C, ciphers },
		{ "KexAlgorithms", SSH_OPTIONS_KEY_EXCHANGE, spec->kex_algorithms },
		{ "HostKeyAlgorithms", SSH_OPTIONS_HOSTKEYS, hostkey_algorithms },
		{ "MACs", SSH_OPTIONS_HMAC_C_S, spec->macs },
		{ "MACs", SSH_OPTIONS_HMAC_S_C, spec->macs },
		{ "PubkeyAcceptedAlgorithms", SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
		  spec->pubkey_accepted_algorithms },
		{ "Compression", SSH_OPTIONS_COMPRESSION, spec->compression ? "yes" : "no" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(strings); i++) {
		const HopOptionString *o = &strings[i];
		if (o->value != NULL && ssh_options_set(session, o->option, o->value) != 0)
			return hop_options_refused(session, label, o->keyword, o->value, error);
	}

	if (spec->required_rsa_size > 0) {
		int bits = spec->required_rsa_size;
		if (ssh_options_set(session, SSH_OPTIONS_RSA_MIN_SIZE, &bits) != 0) {
			g_autofree char *value = g_strdup_printf("%d", bits);
			return hop_options_refused(session, label, "RequiredRSASize", value, error);
		}
	}
	if (spec->rekey_limit_bytes > 0) {
		uint64_t bytes = (uint64_t)spec->rekey_limit_bytes;
		if (ssh_options_set(session, SSH_OPTIONS_REKEY_DATA, &bytes) != 0) {
			g_autofree char *value = g_strdup_printf("%" G_GINT64_FORMAT,
								 spec->rekey_limit_bytes);
			return hop_options_refused(session, label, "RekeyLimit", value, error);
		}
	}
	if (spec->rekey_limit_seconds > 0) {
		uint32_t seconds = (uint32_t)spec->rekey_limit_seconds;
		if (ssh_options_set(session, SSH_OPTIONS_REKEY_TIME, &seconds) != 0) {
			g_autofree char *value = g_strdup_printf("default %ds",
								 spec->rekey_limit_seconds);
			return hop_options_refused(session, label, "RekeyLimit", value, error);
		}
	}
	return TRUE;
}
