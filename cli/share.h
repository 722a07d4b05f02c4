/* The process that serves mounts: its main thread only dispatches (new
 * connections, ended mounts, signals), and every mount is set up and
 * served on a thread of its own. The user's shared daemon takes mounts
 * from later jumpfs commands over its control socket; a mount served in
 * its own process (-f, no_share, password_stdin) runs the same loop with
 * a socket that answers status only. */
#ifndef JUMPFS_CLI_SHARE_H
#define JUMPFS_CLI_SHARE_H

#include <fuse.h>

#include "chain/cache.h"
#include "cli/control.h"
#include "cli/options.h"

/* Call before any thread exists: the loop takes SIGTERM, SIGINT and
 * SIGHUP through a signalfd, so every thread must block them. */
void share_block_signals(void);

/* This process's own mount, from its command line. */
typedef struct {
	CliOptions *options;
	struct fuse_args *fuse_args;
	int report_fd;             /* the waiting parent (cli/daemon.c), or -1 */
} ShareFirst;

/* Sets up first, and whatever server brings (mounts only if
 * accepts_mounts), until no mount is left. server may be NULL. Takes
 * ownership of cache and server. Returns the exit status: 1 if the first
 * mount failed, else its loop's. */
int share_serve(ChainCache *cache, ControlServer *server, gboolean accepts_mounts,
		const ShareFirst *first);

#endif
