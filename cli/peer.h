/* Is a client's view of the file system the daemon's own? The daemon
 * mounts in its own mount namespace, at paths resolved from its own root;
 * a mount for a client elsewhere would land where the client cannot see
 * it (or where it should not be). The client proves where it stands by
 * sending a descriptor of its root directory; nothing it merely says is
 * believed. */
#ifndef JUMPFS_CLI_PEER_H
#define JUMPFS_CLI_PEER_H

#include <glib.h>

/* TRUE when client_root (a descriptor received from the client) is the
 * daemon's own root: the same directory on the same mount. Mount ids are
 * unique across namespaces (a namespace made by unshare -m has copies of
 * every mount, with new ids), and a chroot has another root directory.
 * FALSE with *error saying which differs. */
gboolean peer_same_root(int client_root, GError **error);

#endif
