/* The libssh side of chain/config-algorithms.c's tables, checked against
 * the libssh this build links: every name said to be spoken is accepted
 * by ssh_options_set, every other name OpenSSH knows is refused (host
 * certificates aside: libssh 0.10 takes them as options, then its kex
 * drops them for a client). */
#include <glib.h>
#include <libssh/libssh.h>
#include <string.h>

#include "chain/config-algorithms.h"

static const struct {
	ConfigAlgoClass klass;
	enum ssh_options_e option;
} roles[] = {
	{ CONFIG_ALGO_CIPHERS, SSH_OPTIONS_CIPHERS_C_S },
	{ CONFIG_ALGO_MACS, SSH_OPTIONS_HMAC_C_S },
	{ CONFIG_ALGO_KEX, SSH_OPTIONS_KEY_EXCHANGE },
	{ CONFIG_ALGO_HOSTKEY, SSH_OPTIONS_HOSTKEYS },
	{ CONFIG_ALGO_PUBKEY, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES },
};

static gboolean
accepted(enum ssh_options_e option, const char *name)
{
	ssh_session session = ssh_new();
	gboolean ok = ssh_options_set(session, option, name) == 0;
	ssh_free(session);
	return ok;
}

static void
test_tables(void)
{
	for (gsize r = 0; r < G_N_ELEMENTS(roles); r++) {
		const char *spoken = config_algorithms_libssh(roles[r].klass);
		g_auto(GStrv) known = g_strsplit(config_algorithms_known(roles[r].klass), ",", -1);
		for (char **name = known; *name != NULL; name++) {
			g_autofree char *kept = config_algorithms_for_libssh(roles[r].klass, *name);
			gboolean ours = strcmp(kept, *name) == 0;
			gboolean theirs = accepted(roles[r].option, *name);
			if (roles[r].klass == CONFIG_ALGO_HOSTKEY && strstr(*name, "-cert-v01@"))
				theirs = FALSE;
			if (ours != theirs)
				g_error("%s: table says %s, libssh %s", *name,
				        ours ? "yes" : "no", theirs ? "yes" : "no");
		}
		g_assert_cmpuint(strlen(spoken), >, 0);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/config/algorithms/libssh", test_tables);
	return g_test_run();
}
