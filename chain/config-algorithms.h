/* Algorithm lists: OpenSSH 9.2's rules (kex.c kex_assemble_names) against
 * Debian 9.2's default and known lists, then cut to what libssh 0.10.6
 * can speak. The tables are static (taken from `ssh -Q` and `ssh -G` of
 * openssh-client 1:9.2p1-2+deb12u*, and from probing libssh 0.10.6's
 * ssh_options_set); tests/chain/test-config-algorithms.c checks the libssh
 * side against the library itself. Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_ALGORITHMS_H
#define JUMPFS_CHAIN_CONFIG_ALGORITHMS_H

#include <glib.h>

typedef enum {
	CONFIG_ALGO_CIPHERS,
	CONFIG_ALGO_MACS,
	CONFIG_ALGO_KEX,
	CONFIG_ALGO_HOSTKEY,   /* HostKeyAlgorithms */
	CONFIG_ALGO_PUBKEY,    /* PubkeyAcceptedAlgorithms */
	CONFIG_ALGO_HOSTBASED, /* HostbasedAcceptedAlgorithms */
	CONFIG_ALGO_CA_SIG,    /* CASignatureAlgorithms */
	CONFIG_ALGO_GSS_KEX,   /* GSSAPIKexAlgorithms (Debian) */
	CONFIG_ALGO_COUNT
} ConfigAlgoClass;

/* The check readconf.c makes when it reads the line (ciphers_valid,
 * mac_valid, kex_names_valid, sshkey_names_valid2): after an optional
 * '+' or '^', every name must be known ('-' lists are not checked). */
gboolean config_algorithms_valid(ConfigAlgoClass klass, const char *value);

/* kex_assemble_names(): value NULL = the default list; "+x" appends,
 * "-x" removes (patterns), "^x" puts first, else the explicit list with
 * patterns expanded in OpenSSH's order. NULL if the result is empty or a
 * '!' pattern is used outside a '-' list. */
char *config_algorithms_assemble(ConfigAlgoClass klass, const char *value);

/* Only the names of list that libssh 0.10 can use in this role; "" when
 * none is left. */
char *config_algorithms_for_libssh(ConfigAlgoClass klass, const char *list);

/* The tables themselves (comma lists), for tests. */
const char *config_algorithms_default(ConfigAlgoClass klass);
const char *config_algorithms_known(ConfigAlgoClass klass);
const char *config_algorithms_libssh(ConfigAlgoClass klass);

#endif
