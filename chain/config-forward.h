/* LocalForward, RemoteForward and DynamicForward specifications, checked
 * as readconf.c parse_forward() checks them. A mount opens no forwarding,
 * but ssh refuses a config with a bad one, so jumpfs does too. Internal
 * to config_lib. */
#ifndef JUMPFS_CHAIN_CONFIG_FORWARD_H
#define JUMPFS_CHAIN_CONFIG_FORWARD_H

#include <glib.h>

/* spec: "[listenhost:]listenport|listenpath:connecthost:connectport|
 * connectpath" (or "[listenhost:]listenport" when dynamic), after ${VAR}
 * from environment (NULL = this process's). */
gboolean config_forward_valid(const char *spec, gboolean dynamic,
                              gboolean remote,
                              const char *const *environment);

#endif
