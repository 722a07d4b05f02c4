/* Going to the background only once the mount is up, so that every error
 * before that reaches the terminal and the exit status. */
#ifndef JUMPFS_CLI_DAEMON_H
#define JUMPFS_CLI_DAEMON_H

#include <glib.h>

/* Forks. The parent waits for the child's report and exits with 0 (mount
 * up) or 1 (after printing the child's error); it never returns. The
 * child gets a new session and returns the descriptor to report on, or
 * -1 if fork failed (then no child exists and the caller goes on in the
 * foreground). Call before any thread is started. */
int daemon_start(void);
/* In the child: detach stdio and tell the parent all went well. */
void daemon_report_ready(int report_fd);
/* In the child: hand the parent the message it must print. */
void daemon_report_failure(int report_fd, const char *message);

#endif
