/* hop_options_apply() on an unconnected libssh session: every value libssh
 * refuses is an error naming the hop and the keyword; the cipher list
 * keeps a configured order and reorders only the default. (What a real
 * server negotiates is tested through the lab: test_algorithms.py.) */
#include <glib.h>
#include <libssh/libssh.h>
#include <string.h>

#include "chain/errors.h"
#include "chain/hop-options.h"

#define LABEL "hop 2/3 (u@h:22)"

static HopSpec *spec_new(void)
{
	HopSpec *spec = g_new0(HopSpec, 1);
	spec->hostname = g_strdup("h");
	spec->user = g_strdup("u");
	spec->port = 22;
	spec->required_rsa_size = 1024;
	return spec;
}

static gboolean apply(const HopSpec *spec, GError **error)
{
	ssh_session session = ssh_new();
	gboolean ok = hop_options_apply(session, spec, spec->hostkey_algorithms, LABEL, error);
	ssh_free(session);
	return ok;
}

static void test_lists_accepted(void)
{
	HopSpec *spec = spec_new();
	spec->ciphers = g_strdup("aes256-ctr,aes128-gcm@openssh.com");
	spec->ciphers_from_config = TRUE;
	spec->kex_algorithms = g_strdup("curve25519-sha256,diffie-hellman-group14-sha256");
	spec->hostkey_algorithms = g_strdup("ssh-ed25519,rsa-sha2-512");
	spec->macs = g_strdup("hmac-sha2-256-etm@openssh.com,hmac-sha2-256");
	spec->pubkey_accepted_algorithms = g_strdup("ssh-ed25519,rsa-sha2-256");
	spec->required_rsa_size = 2048;
	spec->rekey_limit_bytes = 1 << 20;
	spec->rekey_limit_seconds = 3600;
	spec->compression = TRUE;
	GError *error = NULL;
	g_assert_true(apply(spec, &error));
	g_assert_no_error(error);
	hop_spec_free(spec);
}

typedef struct {
	const char *name;
	void (*set)(HopSpec *spec);
	const char *message; /* after LABEL ": " */
} RefusedCase;

static void set_cipher_prefix(HopSpec *s) { s->ciphers = g_strdup("-chacha20-poly1305@openssh.com"); s->ciphers_from_config = TRUE; }
static void set_kex_unknown(HopSpec *s) { s->kex_algorithms = g_strdup("sntrup761x25519-sha512@openssh.com"); }
static void set_hostkeys_unknown(HopSpec *s) { s->hostkey_algorithms = g_strdup("ssh-dss-nope"); }
static void set_macs_unknown(HopSpec *s) { s->macs = g_strdup("umac-128-etm@openssh.com"); }
static void set_pubkey_unknown(HopSpec *s) { s->pubkey_accepted_algorithms = g_strdup("nope"); }
static void set_rsa_small(HopSpec *s) { s->required_rsa_size = 512; }

static const RefusedCase refused_cases[] = {
	{ "ciphers-prefix", set_cipher_prefix, "Ciphers -chacha20-poly1305@openssh.com: libssh cannot use it: " },
	{ "kex", set_kex_unknown, "KexAlgorithms sntrup761x25519-sha512@openssh.com: libssh cannot use it: " },
	{ "hostkeys", set_hostkeys_unknown, "HostKeyAlgorithms ssh-dss-nope: libssh cannot use it: " },
	{ "macs", set_macs_unknown, "MACs umac-128-etm@openssh.com: libssh cannot use it: " },
	{ "pubkey", set_pubkey_unknown, "PubkeyAcceptedAlgorithms nope: libssh cannot use it: " },
	{ "rsa-size", set_rsa_small, "RequiredRSASize 512: libssh cannot use it: " },
};

static void test_refused(gconstpointer data)
{
	const RefusedCase *c = data;
	HopSpec *spec = spec_new();
	c->set(spec);
	GError *error = NULL;
	g_assert_false(apply(spec, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_autofree char *want = g_strconcat(LABEL ": ", c->message, NULL);
	g_test_message("%s", error->message);
	if (!g_str_has_prefix(error->message, want))
		g_error("message \"%s\" does not start with \"%s\"", error->message, want);
	g_error_free(error);
	hop_spec_free(spec);
}

static gboolean cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") != 0;
#else
	return FALSE;
#endif
}

static void test_ciphers_order(void)
{
	HopSpec *spec = spec_new();
	/* A configured list is kept as written. */
	spec->ciphers = g_strdup("aes128-ctr,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com");
	spec->ciphers_from_config = TRUE;
	g_autofree char *configured = hop_options_ciphers(spec);
	g_assert_cmpstr(configured, ==, spec->ciphers);

	/* The default list (as config resolved it) may get AES-GCM first. */
	g_free(spec->ciphers);
	spec->ciphers = g_strdup("chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
				 "aes128-gcm@openssh.com,aes256-gcm@openssh.com");
	spec->ciphers_from_config = FALSE;
	g_autofree char *fallback = hop_options_ciphers(spec);
	if (cpu_has_aes())
		g_assert_cmpstr(fallback, ==, "aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
			"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr");
	else
		g_assert_cmpstr(fallback, ==, spec->ciphers);

	/* Nothing resolved at all: OpenSSH's default, same treatment. */
	g_clear_pointer(&spec->ciphers, g_free);
	g_autofree char *none = hop_options_ciphers(spec);
	g_assert_nonnull(strstr(none, "chacha20-poly1305@openssh.com"));
	g_assert_cmpint(g_str_has_prefix(none, "aes128-gcm@openssh.com,"), ==, cpu_has_aes());
	hop_spec_free(spec);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/hop-options/lists-accepted", test_lists_accepted);
	g_test_add_func("/chain/hop-options/ciphers-order", test_ciphers_order);
	for (gsize i = 0; i < G_N_ELEMENTS(refused_cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/hop-options/refused/%s",
							refused_cases[i].name);
		g_test_add_data_func(path, &refused_cases[i], test_refused);
	}
	return g_test_run();
}
