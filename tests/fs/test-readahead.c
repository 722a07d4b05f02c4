/* Read-ahead streams against the real OpenSSH sftp-server: every answer
 * is compared with the file on disk, whatever order the reads come in. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fs/sftp.h"
#include "sftp-server.h"

#define FILE_SIZE (5 * 1024 * 1024 + 12345)

typedef struct {
	char *dir;
	char *path;
	guint8 *content;
	pid_t pid;
	SftpConn *conn;
	SftpHandle handle;
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
	(void)data;
	f->dir = test_make_tmpdir("jumpfs-ra-XXXXXX");
	f->path = g_build_filename(f->dir, "file", NULL);
	f->content = g_malloc(FILE_SIZE);
	for (size_t i = 0; i < FILE_SIZE; i++)
		f->content[i] = (guint8)g_random_int();
	g_assert_true(g_file_set_contents(f->path, (char *)f->content, FILE_SIZE, NULL));

	int fd;
	GError *error = NULL;
	f->pid = sftp_server_spawn(NULL, &fd, &error);
	g_assert_no_error(error);
	g_assert_cmpint(f->pid, >, 0);
	f->conn = sftpc_start(fd, &error);
	g_assert_no_error(error);
	g_assert_cmpint(sftpc_open(f->conn, f->path, SFTP_OPEN_READ | SFTP_OPEN_WRITE, NULL,
				   &f->handle), ==, 0);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
	(void)data;
	sftpc_close(f->conn, &f->handle);
	sftpc_unref(f->conn);
	sftp_server_kill(&f->pid);
	g_assert_cmpint(test_remove_tree(f->dir), ==, 0);
	g_free(f->path);
	g_free(f->dir);
	g_free(f->content);
}

/* Reads [offset, offset+len) through ra and checks it against the file. */
static void check_read(Fixture *f, SftpReadahead *ra, uint64_t offset, size_t len)
{
	g_autofree guint8 *buf = g_malloc(len + 1);
	ssize_t n = sftpc_readahead_read(ra, offset, buf, len);
	size_t expected = offset >= FILE_SIZE ? 0 : MIN(len, FILE_SIZE - offset);
	g_assert_cmpint(n, ==, (ssize_t)expected);
	if (expected > 0)
		g_assert_cmpmem(buf, expected, f->content + offset, expected);
}

static void test_sequential(Fixture *f, gconstpointer data)
{
	(void)data;
	SftpReadahead *ra = sftpc_readahead_new(f->conn, &f->handle, 4 << 20);
	for (uint64_t off = 0; off < FILE_SIZE + 131072; off += 131072)
		check_read(f, ra, off, 131072);
	sftpc_readahead_free(ra);
}

/* Two FUSE threads deliver neighbouring reads in the wrong order. */
static void test_out_of_order_pairs(Fixture *f, gconstpointer data)
{
	(void)data;
	SftpReadahead *ra = sftpc_readahead_new(f->conn, &f->handle, 1 << 20);
	for (uint64_t off = 0; off + 2 * 131072 <= FILE_SIZE; off += 2 * 131072) {
		check_read(f, ra, off + 131072, 131072);
		check_read(f, ra, off, 131072);
	}
	sftpc_readahead_free(ra);
}

static void test_random_and_odd_sizes(Fixture *f, gconstpointer data)
{
	(void)data;
	SftpReadahead *ra = sftpc_readahead_new(f->conn, &f->handle, 2 << 20);
	GRand *rand = g_rand_new_with_seed(42);
	uint64_t off = 0;
	for (int i = 0; i < 400; i++) {
		size_t len = (size_t)g_rand_int_range(rand, 1, 300000);
		if (g_rand_int_range(rand, 0, 4) == 0)
			off = (uint64_t)g_rand_int_range(rand, 0, FILE_SIZE + 1000);
		check_read(f, ra, off, len);
		off = MIN(off + len, (uint64_t)FILE_SIZE + 10);
	}
	g_rand_free(rand);
	sftpc_readahead_free(ra);
}

/* After EOF, a file that grew is read again, and invalidate drops data
 * that a write through the same handle made stale. */
static void test_growth_and_invalidate(Fixture *f, gconstpointer data)
{
	(void)data;
	SftpReadahead *ra = sftpc_readahead_new(f->conn, &f->handle, 1 << 20);
	uint64_t off = 0;
	for (; off < FILE_SIZE; off += 65536)
		check_read(f, ra, off, 65536);
	off = FILE_SIZE;
	guint8 tail[1000];
	memset(tail, 0xab, sizeof(tail));
	g_assert_cmpint(sftpc_write(f->conn, &f->handle, FILE_SIZE, tail, sizeof(tail)), ==,
			sizeof(tail));
	guint8 buf[2000];
	g_assert_cmpint(sftpc_readahead_read(ra, off, buf, sizeof(buf)), ==, sizeof(tail));
	g_assert_cmpmem(buf, sizeof(tail), tail, sizeof(tail));

	/* Prefetch the start, overwrite it through the handle, read again. */
	check_read(f, ra, 0, 4096);
	check_read(f, ra, 4096, 4096);
	guint8 patch[100];
	memset(patch, 0x5a, sizeof(patch));
	g_assert_cmpint(sftpc_write(f->conn, &f->handle, 10000, patch, sizeof(patch)), ==,
			sizeof(patch));
	sftpc_readahead_invalidate(ra);
	g_assert_cmpint(sftpc_readahead_read(ra, 10000, buf, sizeof(patch)), ==, sizeof(patch));
	g_assert_cmpmem(buf, sizeof(patch), patch, sizeof(patch));
	sftpc_readahead_free(ra);
}

/* The server dies with requests in flight: the reader gets an error, no
 * hang, and freeing the stream is safe. */
static void test_broken_stream(Fixture *f, gconstpointer data)
{
	(void)data;
	SftpReadahead *ra = sftpc_readahead_new(f->conn, &f->handle, 4 << 20);
	check_read(f, ra, 0, 131072);
	check_read(f, ra, 131072, 131072);
	kill(f->pid, SIGKILL);
	guint8 buf[131072];
	ssize_t n = 0;
	for (uint64_t off = 262144; off < FILE_SIZE && n >= 0; off += sizeof(buf))
		n = sftpc_readahead_read(ra, off, buf, sizeof(buf));
	g_assert_cmpint(n, ==, -ENOTCONN);
	sftpc_readahead_free(ra);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!sftp_server_available()) {
		g_test_message(SFTP_SERVER_PATH " is not installed (package openssh-sftp-server)");
		return 77;
	}
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("/fs/readahead/sequential", test_sequential);
	ADD("/fs/readahead/out-of-order-pairs", test_out_of_order_pairs);
	ADD("/fs/readahead/random-and-odd-sizes", test_random_and_odd_sizes);
	ADD("/fs/readahead/growth-and-invalidate", test_growth_and_invalidate);
	ADD("/fs/readahead/broken-stream", test_broken_stream);
	return g_test_run();
}
