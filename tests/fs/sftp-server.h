/* The real OpenSSH sftp-server for the tests, on one end of a socketpair,
 * and the temporary directories it works in. Shared by test-sftp-*,
 * test-readahead and test-ops-*. Set SFTP_TEST_LOG=1 for the server's
 * debug log on stderr. */
#ifndef JUMPFS_TESTS_SFTP_SERVER_H
#define JUMPFS_TESTS_SFTP_SERVER_H

#include <sys/types.h>

#include <glib.h>

#define SFTP_SERVER_PATH "/usr/lib/openssh/sftp-server"

typedef struct {
	const char *dir;          /* chdir here before exec, or NULL */
	gboolean as_nobody;       /* drop to uid and gid 65534 first */
	const char *const *args;  /* more server arguments, NULL-terminated, or NULL */
	const char *shell;        /* run this `sh -c` command instead of the server */
	gboolean close_fds;       /* close every inherited fd above 2 (a process
				   * with /dev/fuse open forks the server) */
	gboolean quiet;           /* stderr to /dev/null unless SFTP_TEST_LOG */
} SftpServerOptions;

/* Whether the server is installed (package openssh-sftp-server). */
gboolean sftp_server_available(void);

/* Forks the server (options may be NULL) with its stdin and stdout on one
 * end of a socketpair; our end (close-on-exec) in *fd. Returns the pid, or
 * -1 with *error set. Only async-signal-safe calls between fork and exec:
 * callers may have threads. */
pid_t sftp_server_spawn(const SftpServerOptions *options, int *fd, GError **error);

/* SIGKILL and reap *pid if > 0, then sets it to 0. */
void sftp_server_kill(pid_t *pid);

/* The exit status of child pid, waiting at most timeout_ms; -1 while it
 * still runs. */
int test_wait_child(pid_t pid, int timeout_ms);

/* A new temporary directory (absolute path, g_free it), e.g.
 * test_make_tmpdir("jumpfs-sftp-XXXXXX"). */
char *test_make_tmpdir(const char *tmpl);

/* Removes dir and all below it, not crossing mount points, going on past
 * errors. Returns 0, or -1 if anything could not be removed. */
int test_remove_tree(const char *dir);

#endif
