/* `jumpfs status [--json] [MOUNTPOINT]`: asks every process of this user
 * that serves a mount (the shared daemon on "control", mounts of their
 * own on "mount-PID", cli/control.h) for its status document and prints
 * it as text or JSON (docs/status.md). */
#ifndef JUMPFS_CLI_STATUS_H
#define JUMPFS_CLI_STATUS_H

#include <glib.h>

/* argv[1] is "status" (a host of that name is written "status:"). */
gboolean status_requested(int argc, char **argv);
/* The whole command; returns the exit status: 0, 1 when MOUNTPOINT is
 * not a jumpfs mount of this user, 2 on a usage error. */
int status_main(int argc, char **argv);

#endif
