/* Comparing a client's root with ours by what the kernel says about both
 * descriptors: a same-uid client cannot forge a mount id, and an fd of a
 * mount in our namespace is something it could only hold if it can reach
 * our namespace anyway. This works for any client, also an fstab mount
 * that became its user and is no longer dumpable (its /proc/PID/ns/mnt is
 * closed to us), and needs no pid, so pid reuse cannot fool it. */
#include "cli/peer.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "chain/errors.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U /* Linux 6.8; never reused */
#endif

typedef struct {
	guint64 mnt_id;
	gboolean unique;  /* mnt_id is a 64-bit id that is never reused */
	dev_t dev;
	ino_t ino;
} PeerIdentity;

static gboolean peer_identity(int fd, PeerIdentity *id)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID | STATX_MNT_ID_UNIQUE,
		  &stx) != 0 || !(stx.stx_mask & (STATX_MNT_ID | STATX_MNT_ID_UNIQUE)))
		return FALSE;
	id->mnt_id = stx.stx_mnt_id;
	id->unique = (stx.stx_mask & STATX_MNT_ID_UNIQUE) != 0;
	id->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	id->ino = stx.stx_ino;
	return TRUE;
}

gboolean peer_same_root(int client_root, GError **error)
{
	PeerIdentity theirs, ours;
	int own_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	gboolean known = own_root >= 0 && client_root >= 0 &&
			 peer_identity(client_root, &theirs) && peer_identity(own_root, &ours);
	if (own_root >= 0)
		close(own_root);
	if (!known) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the request proves no root directory");
		return FALSE;
	}
	/* Both were asked in one call: the kernel gives both kinds of id or
	 * the old kind for both. Old ids are unique among live mounts, and the
	 * client's descriptor keeps its mount alive while we compare. */
	if (theirs.unique != ours.unique || theirs.mnt_id != ours.mnt_id) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "the client's root is on another mount (another mount namespace)");
		return FALSE;
	}
	if (theirs.dev != ours.dev || theirs.ino != ours.ino) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "the client has another root directory (chroot)");
		return FALSE;
	}
	return TRUE;
}
