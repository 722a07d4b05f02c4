/* `jumpfs -G` output for one resolved hop, in ssh -G's format and order
 * (readconf.c dump_client_config), algorithm lists as handed to libssh.
 * Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_DUMP_H
#define JUMPFS_CHAIN_CONFIG_DUMP_H

#include "chain/config-resolve.h"
#include "chain/config.h"

/* mount_defaults: follow OpenSSH's serveraliveinterval / connecttimeout
 * lines with the default a mount uses instead, when the config leaves
 * them unset. */
char *config_dump(const ConfigResolved *r, const HopSpec *hop,
                  gboolean mount_defaults);

#endif
