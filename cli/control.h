/* The per-user control sockets: later `jumpfs` commands hand their mount
 * to the daemon that is already running, so mounts share live hops (one
 * login at jump1 for every mount through it), like OpenSSH's ControlMaster;
 * `jumpfs status` asks every process that serves a mount.
 *
 * The sockets live in $XDG_RUNTIME_DIR/jumpfs/ (else /tmp/jumpfs-UID/), a
 * directory of mode 0700 owned by the user: "control" for the shared
 * daemon, "mount-PID" for a mount served in a process of its own (status
 * only). Sockets are 0600 and both ends check the peer's uid with
 * SO_PEERCRED, so no other user can use or impersonate them.
 *
 * On the wire, messages are frames: a magic number, a type byte and a list
 * of strings; the first frame of a request may carry file descriptors. */
#ifndef JUMPFS_CLI_CONTROL_H
#define JUMPFS_CLI_CONTROL_H

#include <glib.h>
#include <sys/types.h>

typedef struct ControlServer ControlServer;

/* Frame types. Client -> daemon: */
#define CONTROL_MOUNT   'M' /* cwd, N, N environment strings, argv...;
                               fds: "/" and "." (O_PATH) */
#define CONTROL_STATUS  'S' /* [mount point]: answered by a document */
#define CONTROL_ANSWER  'A' /* answer to a question */
#define CONTROL_DECLINE 'N' /* error code, message: no answer */
/* Daemon -> client: */
#define CONTROL_QUESTION 'Q' /* hop label, text, echo, secret, feedback */
#define CONTROL_RESULT   'R' /* "0" mounted | "1" failed | "2" not for me; message */
#define CONTROL_DOCUMENT 'D' /* the status document: base64 of a serialized
                                GVariant (strings hold no NUL; cli/status-data.h) */

#define CONTROL_MAX_FDS 4

typedef struct {
	char type;
	GPtrArray *strings;          /* char *, owned; wiped when freed */
	int fds[CONTROL_MAX_FDS];    /* received descriptors, owned; -1 */
	guint n_fds;
} ControlMessage;

void control_message_free(ControlMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ControlMessage, control_message_free)

/* Sends one frame; FALSE if the peer is gone. */
gboolean control_send(int fd, char type, const char *const *strings, guint n_strings,
		      const int *fds, guint n_fds);
/* Receives one frame. deadline_us: g_get_monotonic_time() limit, or -1 for
 * none; cancel_fd (or -1): a descriptor that becomes readable to give up.
 * NULL with *error: JUMPFS_ERROR_TIMEOUT, JUMPFS_ERROR_DISCONNECTED (peer
 * gone, or cancelled), JUMPFS_ERROR_PROTOCOL (not our protocol). */
ControlMessage *control_recv(int fd, gint64 deadline_us, int cancel_fd, GError **error);

/* The private directory, created if missing; NULL (and a warning) when it
 * is not safe to use. */
char *control_dir(void);

/* Client: a connection to the socket named name in control_dir() whose
 * peer is this user, or -1 (nobody listens, or not safely). *stale is set
 * when the socket exists but nobody listens (NULL: don't care). */
int control_connect(const char *name, gboolean *stale);

/* Daemon: listens on name ("control", "mount-PID"). NULL when a live
 * process already listens there or the directory is not safe. A socket
 * left by a dead daemon is taken over, under a lock file so that two new
 * daemons cannot both take it. */
ControlServer *control_listen(const char *name);
int control_fd(ControlServer *server);
/* Accepts one connection from this user (others are refused and logged);
 * -1 if there is none. *pid: the peer's, from the kernel (for messages). */
int control_accept(ControlServer *server, pid_t *pid);
/* Stops listening and removes the socket. NULL is fine. */
void control_close(ControlServer *server);

#endif
