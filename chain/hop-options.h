/* A hop's session options: what ssh_config says about algorithms,
 * compression, rekeying and key sizes, handed to libssh. Every value
 * libssh refuses is an error naming the hop and the keyword. */
#ifndef JUMPFS_CHAIN_HOP_OPTIONS_H
#define JUMPFS_CHAIN_HOP_OPTIONS_H

#include <glib.h>
#include <libssh/libssh.h>
#include "chain/config.h"

/* Ciphers, KexAlgorithms, MACs, PubkeyAcceptedAlgorithms,
 * RequiredRSASize, RekeyLimit and Compression from spec, and
 * HostKeyAlgorithms from hostkey_algorithms: spec->hostkey_algorithms as
 * config resolved it, or the host key code's ordering of that list
 * (OpenSSH puts the types known_hosts holds first). This is the one place
 * that sets SSH_OPTIONS_HOSTKEYS. NULL lists keep libssh's default.
 * FALSE with *error (JUMPFS_ERROR_CONFIG). */
gboolean hop_options_apply(ssh_session session, const HopSpec *spec,
			   const char *hostkey_algorithms, const char *label,
			   GError **error);

/* The cipher list handed to libssh: the user's list as written; without
 * one, OpenSSH's default with AES-GCM first where the CPU has AES
 * instructions. */
char *hop_options_ciphers(const HopSpec *spec);

#endif
