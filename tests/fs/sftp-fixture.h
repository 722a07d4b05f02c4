/* The fixture of the test-sftp-* programs: the SFTP client against the
 * real OpenSSH sftp-server.
 *
 * Every test forks /usr/lib/openssh/sftp-server with its stdin and stdout
 * on one end of a socketpair and works in a fresh temporary directory
 * (absolute paths). What the server does is checked on disk with plain
 * syscalls. Set SFTP_TEST_LOG=1 to see the server's log on stderr. */
#ifndef JUMPFS_TESTS_SFTP_FIXTURE_H
#define JUMPFS_TESTS_SFTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "fs/sftp.h"
#include "sftp-server.h"

typedef struct {
	char *dir;       /* temporary directory, absolute, removed at teardown */
	pid_t pid;       /* the sftp-server child, or 0 once reaped */
	int fd;          /* our end (owned by conn once started; kept for ioctl) */
	SftpConn *conn;  /* one reference, dropped at teardown unless NULL */
} Fixture;

/* Fixture data for tests that start their own server. */
extern const int sftp_own_server;

/* Forks the server in dir on a socketpair; as_nobody drops to uid 65534
 * first. extra_arg (may be NULL) is one more server argument;
 * prefix_shell (may be NULL) a shell command run instead. */
pid_t spawn_server(const char *dir, gboolean as_nobody, const char *extra_arg,
		   const char *prefix_shell, int *fd_out);
void reap(Fixture *f);
void start_with(Fixture *f, gboolean as_nobody, const char *extra_arg);
void setup(Fixture *f, gconstpointer data);
void teardown(Fixture *f, gconstpointer data);

/* Absolute path in the fixture's directory, newly allocated. */
char *P(Fixture *f, const char *name);
guint8 *random_bytes(size_t len);
void write_local(const char *path, const void *data, size_t len);
gint64 now_us(void);
/* Waits until the (stopped) server has a request of ours queued. */
void wait_request_queued(Fixture *f);
void open_rw(Fixture *f, const char *path, uint32_t extra, SftpHandle *h);

/* g_test_init; FALSE when the server is not installed: then only a
 * skipped test is registered and main should return g_test_run(). */
gboolean sftp_tests_init(int *argc, char ***argv);

#define T(path, fn) g_test_add("/fs/sftp/" path, Fixture, NULL, setup, fn, teardown)
#define T_OWN(path, fn) \
	g_test_add("/fs/sftp/" path, Fixture, &sftp_own_server, setup, fn, teardown)

#endif
