/* A resolved hop (config-resolve.h) turned into the HopSpec contract of
 * chain/config.h: every field filled, paths and ProxyCommand expanded,
 * algorithm lists cut to what libssh 0.10 speaks. Internal to
 * config_lib; hop_spec_free/copy/key live here too. */
#ifndef JUMPFS_CHAIN_CONFIG_HOP_H
#define JUMPFS_CHAIN_CONFIG_HOP_H

#include "chain/config-resolve.h"
#include "chain/config.h"

/* NULL with an error naming the file, line, keyword and hop. */
HopSpec *config_hop_fill(const ConfigContext *ctx, const ConfigResolved *r,
                         GError **error);

#endif
