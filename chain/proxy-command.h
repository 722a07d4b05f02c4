/* A hop's ProxyCommand, run as OpenSSH runs it: `$SHELL -c "exec CMD"`
 * (tokens already expanded by config), its stdin and stdout one end of a
 * socketpair whose other end libssh gets (SSH_OPTIONS_FD).
 *
 * jumpfs spawns it itself rather than through libssh, whose own spawn
 * drops stderr and leaks the daemon's descriptors: here the command gets
 * exactly fds 0-2, an empty signal mask and default signal dispositions,
 * and the requester's environment and working directory (the shared
 * daemon serves other people's shells). Its stderr is read line by line
 * by a thread of its own, bounded, and goes to the log naming the hop.
 *
 * With ProxyUseFdpass the command instead passes a connected socket back
 * over the socketpair (SCM_RIGHTS) and exits; that socket is the hop's. */
#ifndef JUMPFS_CHAIN_PROXY_COMMAND_H
#define JUMPFS_CHAIN_PROXY_COMMAND_H

#include <glib.h>
#include <sys/types.h>

typedef struct ProxyCommand ProxyCommand;

typedef struct {
	const char *command;      /* as config expanded it, without "exec " */
	gboolean fdpass;          /* ProxyUseFdpass */
	char **environment;       /* "NAME=value", NULL-terminated; NULL = ours */
	const char *working_dir;  /* NULL or missing = "/" */
	const char *label;        /* "hop 1/3 (...)" for every message */
	int timeout_s;            /* fdpass: how long to wait for the socket */
} ProxyCommandSpec;

/* Starts the command. *fd receives the descriptor the SSH session runs
 * over (owned by the caller from then on). NULL with *error naming the
 * hop: the shell cannot run, or (fdpass) no socket came back. */
ProxyCommand *proxy_command_start(const ProxyCommandSpec *spec, int *fd, GError **error);

/* The hop is up: the stderr lines held while it was being set up go to
 * the log now, and later ones as they come. Before this they are only
 * kept (bounded) for proxy_command_describe. */
void proxy_command_hop_up(ProxyCommand *proxy);

/* Why the command may have broken the hop, for an error message: waits up
 * to wait_ms for it to exit, then "exited with status 3", "was killed by
 * signal 9" or "is still running", and the last lines of its stderr
 * (escaped, "; "-joined). Never NULL. */
char *proxy_command_describe(ProxyCommand *proxy, int wait_ms);

/* TRUE once the command has exited (and was reaped). */
gboolean proxy_command_exited(ProxyCommand *proxy);
pid_t proxy_command_pid(ProxyCommand *proxy);

/* Ends the command if it still runs (SIGHUP as OpenSSH sends it, SIGKILL
 * after a grace second), reaps it, stops the reader thread, frees. */
void proxy_command_free(ProxyCommand *proxy);

/* Bounds on what one command's stderr can cost. */
#define PROXY_COMMAND_LINE_MAX 1024   /* bytes kept of one line */
#define PROXY_COMMAND_LOG_LINES 200   /* lines logged per run */
#define PROXY_COMMAND_HELD_LINES 32   /* lines held before the hop is up */
#define PROXY_COMMAND_TAIL_LINES 4    /* lines in proxy_command_describe */

#endif
