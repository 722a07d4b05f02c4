/* The per-user control socket: later `jumpfs` commands hand their mount to
 * the daemon that is already running, so mounts share live hops (one login
 * at jump1 for every mount through it), like OpenSSH's ControlMaster.
 *
 * The socket lives in $XDG_RUNTIME_DIR/jumpfs/ (else /tmp/jumpfs-UID/), a
 * directory of mode 0700 owned by the user; the socket is 0600, and both
 * ends check the peer's uid, so no other user can use or impersonate it. */
#ifndef JUMPFS_CLI_CONTROL_H
#define JUMPFS_CLI_CONTROL_H

#include <glib.h>

typedef struct ControlServer ControlServer;

/* Client: if a daemon of ours is listening, send it this command line
 * (with the current directory), print its answer and return TRUE with
 * the exit status in *status. FALSE: no daemon, serve it yourself. */
gboolean control_delegate(int argc, char **argv, int *status);

/* Daemon: start listening. NULL (and a debug message) when another daemon
 * already listens or the directory is not safe: then run standalone. */
ControlServer *control_listen(void);
int control_fd(ControlServer *server);
/* Accepts one request: its argv (NULL-terminated, owned by the caller) and
 * the directory it was issued in; returns the client fd to answer on, or
 * -1 (nothing to do: a refused peer, a broken request). */
int control_accept(ControlServer *server, char ***argv, char **cwd);
/* Answers and closes client_fd: '0' mounted, '1' failed (message says
 * why), '2' not for this daemon. */
void control_reply(int client_fd, char status, const char *message);
/* Stops listening and removes the socket. */
void control_close(ControlServer *server);

#endif
