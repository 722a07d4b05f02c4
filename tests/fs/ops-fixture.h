/* The fixture of the test-ops-* programs: the FUSE operations, mounted
 * for real over a local OpenSSH sftp-server.
 *
 * Each test gets a fresh "backend" directory and a fresh FUSE mount of
 * fs_operations() on it. The mount is served by a forked process (the
 * "FUSE server": Remote, FsContext, fuse_loop_mt), whose Remote opener
 * forks sftp-server processes on socketpairs. The test process uses plain
 * syscalls on the mount and looks at the backend directly. Two processes,
 * because a process that serves a mount and uses it too deadlocks under
 * valgrind (its syscalls on the mount block the serving threads), and a
 * crash in the server then fails a test instead of hanging it. The server
 * reports leaks and sanitizer/valgrind errors through its exit status.
 * Needs /dev/fuse and the right to mount (root); skips otherwise. */
#ifndef JUMPFS_TESTS_OPS_FIXTURE_H
#define JUMPFS_TESTS_OPS_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define GIB (1024LL * 1024 * 1024)

typedef struct {
	gboolean transform_symlinks; /* and not contained: as sshfs shows them */
	double negative_timeout;
	gboolean expect_lost;   /* the re-open warning is expected */
	const char *denied;     /* sftp-server -P: requests it refuses (and
				 * does not announce as extensions) */
	guint stripes;          /* write_stripes (0: the default, 1) */
} Variant;

extern const Variant plain;
extern const Variant transform;
/* The kernel trusts "no such file" for a minute, so it sends mkdir,
 * create, link... for names that exist on the server: the server's
 * error, not the kernel's, reaches the caller. */
extern const Variant negcache;
extern const Variant lost;
/* A server without the OpenSSH extensions: the fallbacks. */
extern const Variant bare;
/* A big file's queued writes go over 4 connections. */
extern const Variant striped;

typedef struct {
	char *base, *backend, *mnt;
	GPtrArray *strings;     /* paths handed out by P()/B() */
	pid_t server;           /* the FUSE server process */
	int ctl;                /* commands to it (write end) */
	int reply;              /* its answers (read end) */
	dev_t fuse_dev;         /* st_dev of the mount */
	gboolean mounted;
} Fixture;

/* ---- helpers ---- */

#define assert_fails(expr, err)                                             \
	do {                                                                \
		errno = 0;                                                  \
		long r_ = (long)(expr);                                     \
		int e_ = errno;                                             \
		if (r_ != -1 || e_ != (err))                                \
			g_test_message("%s: %ld, %s", #expr, r_, g_strerror(e_)); \
		g_assert_cmpint(r_, ==, -1);                                \
		g_assert_cmpint(e_, ==, (err));                             \
	} while (0)

#define assert_ok(expr)                                                     \
	do {                                                                \
		errno = 0;                                                  \
		long r_ = (long)(expr);                                     \
		if (r_ < 0)                                                 \
			g_test_message("%s: %s", #expr, g_strerror(errno)); \
		g_assert_cmpint(r_, >=, 0);                                 \
	} while (0)

#define REQUIRE_MOUNT(fx)            \
	do {                         \
		if (!(fx)->mounted)  \
			return;      \
	} while (0)

/* A path under the mount / the backend, freed at teardown. */
const char *P(Fixture *fx, const char *rel);
const char *B(Fixture *fx, const char *rel);
void put_file(const char *path, const char *data, gssize len);
/* Contents of a file, or NULL (with *len 0). */
char *get_file(const char *path, gsize *len);
gboolean write_all(int fd, const void *buf, size_t len);
/* Whole file read through read(2) in odd-sized pieces. */
GByteArray *read_all(const char *path);
char *sha256(const void *data, gsize len);
guint8 *random_bytes(gsize len);

/* Kills the FUSE server's sftp-servers: its connections break. */
void kill_servers(Fixture *fx);
/* How many of the FUSE server's live sftp-servers have written at least
 * 1 MiB (their wchar): which connections a file's data went over. */
guint servers_that_wrote_a_mib(Fixture *fx);
/* sftp-servers the FUSE server has started and not killed. */
guint servers_started(Fixture *fx);
/* SIGSTOP (TRUE) or SIGCONT the sftp-servers: requests wait, nothing
 * breaks. */
void pause_servers(Fixture *fx, gboolean pause);
void fixture_setup(Fixture *fx, gconstpointer data);
void fixture_teardown(Fixture *fx, gconstpointer data);

/* g_test_init, non-fatal assertions, SIGPIPE ignored. */
void ops_tests_init(int *argc, char ***argv);

#define ADD(path, variant, func) \
	g_test_add(path, Fixture, &variant, fixture_setup, func, fixture_teardown)

#endif
