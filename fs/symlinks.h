/* Contained symlinks (the default, sshfs 3.7.6's contain_symlinks): what
 * readlink may show of a link's stored target so that nothing the server
 * sends makes a local program follow a link out of the mount.
 *
 * - A relative target that, resolved against the link's directory, stays
 *   inside the mount passes as it is (".." included).
 * - An absolute target inside the mounted remote directory is shown
 *   relative to the link (as transform_symlinks does).
 * - Every other target reads as EPERM.
 *
 * ".." right after the link's own directory is exact: the kernel walks up
 * real directories. ".." after a component of the target is only exact if
 * that component is a directory and not another link (a link to "." at the
 * mount root followed by ".." would leave it): those prefixes are handed
 * back for the caller to check on the server. Pure: no I/O. */
#ifndef JUMPFS_FS_SYMLINKS_H
#define JUMPFS_FS_SYMLINKS_H

#include <glib.h>

/* root: the mounted remote directory (absolute, no trailing '/' unless
 * "/"); link_path: the link's FUSE path ("/a/l"); target: as stored.
 * Returns what to show (g_free), or NULL when the target leaves the
 * mount. must_be_dirs gets FUSE paths (char *, g_free) that must be
 * directories on the server for the answer to hold. */
char *symlinks_contain(const char *root, const char *link_path, const char *target,
		       GPtrArray *must_be_dirs);

/* -o transform_symlinks without containment: an absolute target inside
 * root made relative to the link; NULL when target stays as it is. */
char *symlinks_transform(const char *root, const char *link_path, const char *target);

#endif
