/* The client's side of the shared daemon: hand this command's mount to the
 * user's daemon, answer the questions it forwards (passwords, host keys)
 * on this process's terminal, and print its verdict. */
#ifndef JUMPFS_CLI_DELEGATE_H
#define JUMPFS_CLI_DELEGATE_H

#include <glib.h>

/* If the user's daemon listens and takes the mount, returns TRUE with the
 * exit status (0 mounted, 1 failed: its message printed) in *status.
 * FALSE: no daemon, or it will not serve this mount: serve it yourself. */
gboolean delegate_mount(int argc, char **argv, int *status);

#endif
