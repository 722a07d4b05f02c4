/* The shared per-user daemon: serves several mounts in one process, one
 * loop thread each, over one chain cache, and takes new mounts from the
 * control socket. Exits when its last mount is gone. */
#ifndef JUMPFS_CLI_SHARE_H
#define JUMPFS_CLI_SHARE_H

#include "chain/cache.h"
#include "cli/control.h"
#include "cli/mount.h"

/* Call before any thread exists: the daemon takes SIGTERM, SIGINT and
 * SIGHUP through a signalfd, so every thread must block them. */
void share_block_signals(void);

/* Serves first and whatever the control socket brings until no mount is
 * left or a termination signal arrives; takes ownership of everything. */
int share_serve(ChainCache *cache, ControlServer *server, Mount *first);

#endif
