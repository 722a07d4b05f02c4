/* One mounted file system: its SFTP connections over the (shared) chain
 * cache, its FUSE session and the loop serving it. A standalone jumpfs
 * has one; the shared per-user daemon has several. */
#ifndef JUMPFS_CLI_MOUNT_H
#define JUMPFS_CLI_MOUNT_H

#include <fuse.h>
#include <glib.h>

#include "chain/cache.h"
#include "cli/options.h"
#include "fs/remote.h"

typedef struct Mount Mount;

/* The chain the command line asks for (ssh_config, -J, -F, -p, -o). */
ChainSpec *mount_resolve_chain(const CliOptions *options, GError **error);

/* Resolves the chain, connects (reusing live hops of cache, which must
 * outlive the mount), and mounts on options->mountpoint. fuse_args are
 * consumed by FUSE. */
Mount *mount_new(ChainCache *cache, CliOptions *options, struct fuse_args *fuse_args,
		 GError **error);
struct fuse_session *mount_session(Mount *mount);
/* For `jumpfs status`: valid while the mount lives. */
const char *mount_point(Mount *mount);   /* absolute, as mounted */
const char *mount_source(Mount *mount);  /* "host:path" as given */
const ChainSpec *mount_chain(Mount *mount);
ChainCache *mount_cache(Mount *mount);
Remote *mount_remote(Mount *mount);
guint mount_max_conns(Mount *mount);
size_t mount_write_queued(Mount *mount); /* write-behind bytes queued now */

/* Serves requests until unmounted or told to exit; returns 0 on a clean end. */
int mount_run(Mount *mount);
/* Unmounts (if still mounted) and makes mount_run return; from any thread,
 * also twice. */
void mount_stop(Mount *mount);
/* SIGTERM: waits until the mount's write-behind queues are empty (every
 * byte written to it confirmed by the server) or the monotonic deadline
 * (g_get_monotonic_time) passes; what is left is dropped and logged with
 * the files and byte ranges. Returns the bytes dropped. Before or after
 * mount_stop (the stopping daemon unmounts first, then drains each mount
 * on its own thread), never after mount_free; files may stay open
 * meanwhile. mount_free drains too, for at most WRITEBACK_DRAIN_S (10 s). */
size_t mount_drain(Mount *mount, gint64 deadline);
/* Unmounts if still mounted, frees everything the mount owns. */
void mount_free(Mount *mount);

#endif
