/* One mounted file system: its SFTP connections over the (shared) chain
 * cache, its FUSE session and the loop serving it. A standalone jumpfs
 * has one; the shared per-user daemon has several. */
#ifndef JUMPFS_CLI_MOUNT_H
#define JUMPFS_CLI_MOUNT_H

#include <fuse.h>
#include <glib.h>

#include "chain/cache.h"
#include "cli/options.h"

typedef struct Mount Mount;

/* The chain the command line asks for (ssh_config, -J, -F, -p, -o). */
ChainSpec *mount_resolve_chain(const CliOptions *options, GError **error);

/* Resolves the chain, connects (reusing live hops of cache, which must
 * outlive the mount), and mounts on options->mountpoint. fuse_args are
 * consumed by FUSE. */
Mount *mount_new(ChainCache *cache, CliOptions *options, struct fuse_args *fuse_args,
		 GError **error);
struct fuse_session *mount_session(Mount *mount);
const char *mount_point(Mount *mount);

/* Serves requests until unmounted or told to exit; returns 0 on a clean end. */
int mount_run(Mount *mount);
/* From another thread: make mount_run return (unmounts). */
void mount_stop(Mount *mount);
/* Unmounts if still mounted, frees everything the mount owns. */
void mount_free(Mount *mount);

#endif
