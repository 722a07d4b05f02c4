/* CanonicalizeHostname, CanonicalDomains, CanonicalizeMaxDots,
 * CanonicalizeFallbackLocal and CanonicalizePermittedCNAMEs, as ssh.c
 * resolve_canonicalize() and the CNAME step after it apply them. Name
 * lookups go through an injectable resolver. Internal to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_CANON_H
#define JUMPFS_CHAIN_CONFIG_CANON_H

#include <glib.h>

#include "chain/config-eval.h"

typedef gboolean (*ConfigResolveFunc)(const char *name, int family,
                                      char **canonical, gpointer data);

/* getaddrinfo() with AI_CANONNAME. */
gboolean config_canon_resolve_system(const char *name, int family,
                                     char **canonical, gpointer data);

/* ssh.c's is_addr(): a numeric address (no lookup). */
gboolean config_canon_is_address(const char *name);

/* The name ssh connects to after its canonicalization step: *host is
 * replaced in place (an address in its numeric form, a name with the
 * domain that resolved, or a permitted CNAME). direct: no ProxyCommand
 * or ProxyJump. FALSE with an error where ssh exits ("Could not resolve
 * host"), naming the keyword's file and line. */
gboolean config_canonicalize(char **host, const ConfigOptions *opts,
                             gboolean direct, ConfigResolveFunc resolve,
                             gpointer data, GError **error);

#endif
