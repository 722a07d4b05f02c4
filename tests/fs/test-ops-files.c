/* The FUSE operations on a real mount: file contents and lifetime.
 * Reads and writes, sparse files, exclusive create, truncate, O_APPEND,
 * unlink (also of an open file), fsync. The fixture: ops-fixture.h. */
#include <sys/mount.h>

#include <stdio.h>

#include "ops-fixture.h"

static void test_read_write(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	gsize len = 3 * 1024 * 1024 + 12345;
	guint8 *bytes = random_bytes(len);
	char *want = sha256(bytes, len);

	/* write through the mount, in uneven pieces */
	int fd = open(P(fx, "big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_ok(fd);
	gsize done = 0;
	for (gsize piece = 1; done < len; piece = piece * 3 + 7) {
		gsize n = MIN(piece, len - done);
		g_assert_true(write_all(fd, bytes + done, n));
		done += n;
	}
	assert_ok(fsync(fd));
	assert_ok(close(fd));

	gsize blen;
	char *backend = get_file(B(fx, "big"), &blen);
	g_assert_cmpuint(blen, ==, len);
	char *got = sha256(backend, blen);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(backend);

	/* read it back through the mount */
	GByteArray *read_back = read_all(P(fx, "big"));
	g_assert_nonnull(read_back);
	if (read_back != NULL) {
		g_assert_cmpuint(read_back->len, ==, len);
		got = sha256(read_back->data, read_back->len);
		g_assert_cmpstr(got, ==, want);
		g_free(got);
		g_byte_array_unref(read_back);
	}

	/* pwrite in the middle, pread across it */
	fd = open(P(fx, "big"), O_RDWR);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "HELLO", 5, 1000000), ==, 5);
	char buf[16];
	g_assert_cmpint(pread(fd, buf, 9, 999998), ==, 9);
	g_assert_cmpmem(buf + 2, 5, "HELLO", 5);
	g_assert_cmpint(buf[0], ==, (char)bytes[999998]);
	/* reading at and past the end */
	g_assert_cmpint(pread(fd, buf, 16, (off_t)len - 3), ==, 3);
	g_assert_cmpint(pread(fd, buf, 16, (off_t)len + 100), ==, 0);
	close(fd);
	backend = get_file(B(fx, "big"), &blen);
	g_assert_cmpuint(blen, ==, len);
	if (backend != NULL && blen == len)
		g_assert_cmpmem(backend + 1000000, 5, "HELLO", 5);
	g_free(backend);

	/* written on the backend, read through the mount */
	put_file(B(fx, "small"), "from the backend", -1);
	GByteArray *small = read_all(P(fx, "small"));
	g_assert_nonnull(small);
	if (small != NULL) {
		g_assert_cmpmem(small->data, small->len, "from the backend", 16);
		g_byte_array_unref(small);
	}
	g_free(want);
	g_free(bytes);
}

static void test_sparse(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	off_t far = 5 * GIB;
	int fd = open(P(fx, "sparse"), O_RDWR | O_CREAT, 0644);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "x", 1, far), ==, 1);
	struct stat st;
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, far + 1);

	char buf[8192];
	memset(buf, 0x55, sizeof(buf));
	g_assert_cmpint(pread(fd, buf, sizeof(buf), 4 * GIB + 123), ==, sizeof(buf));
	gboolean zeros = TRUE;
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros = zeros && buf[i] == 0;
	g_assert_true(zeros);
	g_assert_cmpint(pread(fd, buf, sizeof(buf), far - 10), ==, 11);
	g_assert_cmpint(buf[9], ==, 0);
	g_assert_cmpint(buf[10], ==, 'x');
	close(fd);

	struct stat bst;
	g_assert_cmpint(stat(B(fx, "sparse"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, far + 1);
	g_assert_cmpint(bst.st_blocks * 512, <, 1024 * 1024); /* still a hole */
	assert_ok(stat(P(fx, "sparse"), &st));
	g_assert_cmpint(st.st_size, ==, far + 1);
}

static void test_create_excl(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	int fd = open(P(fx, "new"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_ok(fd);
	g_assert_true(write_all(fd, "abc", 3));
	close(fd);
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "new"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 3);
	g_assert_cmpuint(bst.st_mode & 0777, ==, 0600);
	assert_fails(open(P(fx, "new"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);

	/* the server's own EEXIST (FAILURE on the wire) */
	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "keep", 4);
	assert_fails(open(P(fx, "late"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
	gsize len;
	char *kept = get_file(B(fx, "late"), &len);
	g_assert_cmpstr(kept, ==, "keep");
	g_free(kept);
}

static void test_unlink(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "data", 4);
	struct stat st;
	assert_ok(unlink(P(fx, "f")));
	assert_fails(stat(B(fx, "f"), &st), ENOENT);
	assert_fails(stat(P(fx, "f"), &st), ENOENT);
	assert_fails(unlink(P(fx, "f")), ENOENT);

	/* an unlinked open file stays usable: libfuse hides it under
	 * .fuse_hidden* on the server until it is closed */
	put_file(B(fx, "open"), "still here", -1);
	int fd = open(P(fx, "open"), O_RDWR);
	assert_ok(fd);
	assert_ok(unlink(P(fx, "open")));
	assert_fails(stat(B(fx, "open"), &st), ENOENT);
	assert_fails(stat(P(fx, "open"), &st), ENOENT);
	char buf[32] = { 0 };
	g_assert_cmpint(pread(fd, buf, sizeof(buf) - 1, 0), ==, 10);
	g_assert_cmpstr(buf, ==, "still here");
	g_assert_cmpint(pwrite(fd, "!", 1, 10), ==, 1);
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, 11);
	close(fd);
	/* released asynchronously; then the hidden file goes too */
	guint left = 1;
	for (int ms = 0; ms < 5000 && left > 0; ms += 20) {
		g_usleep(20 * 1000);
		GDir *dir = g_dir_open(fx->backend, 0, NULL);
		left = 0;
		while (dir != NULL && g_dir_read_name(dir) != NULL)
			left++;
		if (dir != NULL)
			g_dir_close(dir);
	}
	g_assert_cmpuint(left, ==, 0);
}

static void test_truncate(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	char *big = g_strnfill(10000, 'q');
	put_file(B(fx, "f"), big, 10000);
	g_free(big);
	struct stat bst;
	assert_ok(truncate(P(fx, "f"), 100));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 100);

	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	assert_ok(ftruncate(fd, 5000));
	struct stat st;
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, 5000);
	char buf[8];
	g_assert_cmpint(pread(fd, buf, 2, 99), ==, 2);
	g_assert_cmpint(buf[0], ==, 'q');
	g_assert_cmpint(buf[1], ==, 0);
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 5000);

	fd = open(P(fx, "f"), O_WRONLY | O_TRUNC);
	assert_ok(fd);
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 0);
	assert_fails(truncate(P(fx, "missing"), 0), ENOENT);
}

static void test_append(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "log"), "0", 1);
	int a = open(P(fx, "log"), O_WRONLY | O_APPEND);
	int b = open(P(fx, "log"), O_WRONLY | O_APPEND);
	assert_ok(a);
	assert_ok(b);
	g_assert_true(write_all(a, "A1", 2));
	g_assert_true(write_all(b, "B1", 2));
	/* someone else appends behind the kernel's back */
	FILE *other = fopen(B(fx, "log"), "a");
	g_assert_nonnull(other);
	if (other != NULL) {
		fputs("X", other);
		fclose(other);
	}
	g_assert_true(write_all(a, "A2", 2));
	g_assert_true(write_all(b, "B2", 2));
	/* pwrite on O_APPEND appends too, as on Linux */
	g_assert_cmpint(pwrite(a, "P", 1, 0), ==, 1);
	close(a);
	close(b);
	gsize len;
	char *got = get_file(B(fx, "log"), &len);
	g_assert_cmpstr(got, ==, "0A1B1XA2B2P");
	g_free(got);
}

/* Write-behind: what a write queued is there for every reader of the
 * mount at once (same fd, another fd, stat, a listing), and on the server
 * once close returns; O_SYNC writes reach the server before they return. */
static void test_write_behind(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const gsize len = 3 * 1024 * 1024 + 17;
	guint8 *bytes = random_bytes(len);
	int fd = open(P(fx, "q"), O_RDWR | O_CREAT, 0644);
	int other = open(P(fx, "q"), O_RDONLY);
	assert_ok(fd);
	assert_ok(other);
	g_assert_true(write_all(fd, bytes, len));
	g_assert_cmpint(pwrite(fd, "HEAD", 4, 1), ==, 4); /* overlaps: in order */
	memcpy(bytes + 1, "HEAD", 4);
	struct stat st;
	assert_ok(stat(P(fx, "q"), &st));
	g_assert_cmpint(st.st_size, ==, (off_t)len);
	char buf[64];
	g_assert_cmpint(pread(other, buf, 8, 0), ==, 8);
	g_assert_cmpmem(buf, 8, bytes, 8);
	g_assert_cmpint(pread(fd, buf, 20, (off_t)len - 10), ==, 10);
	g_assert_cmpmem(buf, 10, bytes + len - 10, 10);
	assert_ok(close(other));
	assert_ok(close(fd));
	gsize blen;
	char *back = get_file(B(fx, "q"), &blen);
	g_assert_cmpmem(back, blen, bytes, len);
	g_free(back);
	g_free(bytes);

	fd = open(P(fx, "s"), O_WRONLY | O_CREAT | O_SYNC, 0644);
	assert_ok(fd);
	g_assert_true(write_all(fd, "synchronous", 11));
	back = get_file(B(fx, "s"), &blen);
	g_assert_cmpmem(back, blen, "synchronous", 11);
	g_free(back);
	assert_ok(close(fd));
}

/* A big file written in order goes over several connections (the
 * stripes), and arrives whole; writes over bytes still unconfirmed keep
 * their order whichever connection the first ones took. */
static void test_write_striped(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const gsize len = 32 * 1024 * 1024 + 4097, first = 1 << 20, stalled = 16 << 20;
	guint8 *bytes = random_bytes(len);
	int fd = open(P(fx, "big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_ok(fd);
	/* Opening a file for writing opens the stripes' connections (2 for
	 * operations + 3): wait for them, however slow this build is. */
	for (int i = 0; i < 200 && servers_started(fx) < 5; i++)
		g_usleep(50 * 1000);
	g_assert_cmpuint(servers_started(fx), ==, 5);
	g_assert_true(write_all(fd, bytes, first));
	/* With the servers stopped the queue fills past the striping
	 * threshold whatever the build's speed; the stripes then take part
	 * of what follows. */
	pause_servers(fx, TRUE);
	g_assert_true(write_all(fd, bytes + first, stalled));
	pause_servers(fx, FALSE);
	g_assert_true(write_all(fd, bytes + first + stalled, len - first - stalled));
	/* Over data that may still be in flight on another connection. */
	for (gsize off = 1000; off < len; off += 3 * 1024 * 1024 + 5) {
		g_assert_cmpint(pwrite(fd, "overlap!", 8, (off_t)off), ==, 8);
		memcpy(bytes + off, "overlap!", 8);
	}
	assert_ok(fsync(fd));
	assert_ok(close(fd));
	gsize blen;
	char *back = get_file(B(fx, "big"), &blen);
	g_assert_cmpuint(blen, ==, len);
	g_autofree char *want = sha256(bytes, len), *got = sha256(back, blen);
	g_assert_cmpstr(got, ==, want);
	g_free(back);
	g_free(bytes);
	/* Each written MiB crosses some sftp-server's write(2) once. */
	g_assert_cmpuint(servers_that_wrote_a_mib(fx), >=, 2);
}

/* A write the server refuses (its disk is full) reaches the writer by
 * fsync at the latest, as ENOSPC; what fsync confirmed before is there. */
static void test_write_behind_enospc(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const char *small = B(fx, "small");
	g_assert_cmpint(g_mkdir(small, 0755), ==, 0);
	if (mount("tmpfs", small, "tmpfs", 0, "size=256k") != 0) {
		g_test_skip("cannot mount a tmpfs for the full disk");
		return;
	}
	int fd = open(P(fx, "small/f"), O_WRONLY | O_CREAT, 0644);
	assert_ok(fd);
	g_assert_true(write_all(fd, "kept", 4));
	assert_ok(fsync(fd));
	char block[16384];
	memset(block, 'z', sizeof(block));
	int error = 0;
	for (int i = 0; i < 64 && error == 0; i++)
		if (write(fd, block, sizeof(block)) < 0)
			error = errno;
	if (error == 0 && fsync(fd) < 0)
		error = errno;
	g_assert_cmpint(error, ==, ENOSPC);
	close(fd);
	gsize blen;
	char *back = get_file(B(fx, "small/f"), &blen);
	g_assert_cmpmem(back, 4, "kept", 4);
	g_free(back);
	g_assert_cmpint(umount2(small, MNT_DETACH), ==, 0);
}

static void test_fsync_flush(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	int fd = open(P(fx, "f"), O_WRONLY | O_CREAT, 0644);
	assert_ok(fd);
	g_assert_true(write_all(fd, "sync me", 7));
	assert_ok(fsync(fd));
	assert_ok(fdatasync(fd));
	assert_ok(close(fd));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 7);
	/* access(2): the server decides, the mount does not guess */
	assert_ok(access(P(fx, "f"), R_OK | W_OK));
	assert_fails(access(P(fx, "missing"), F_OK), ENOENT);
}

int main(int argc, char **argv)
{
	ops_tests_init(&argc, &argv);
	ADD("/fs/ops/read-write", plain, test_read_write);
	ADD("/fs/ops/sparse", plain, test_sparse);
	ADD("/fs/ops/create-excl", negcache, test_create_excl);
	ADD("/fs/ops/unlink", plain, test_unlink);
	ADD("/fs/ops/truncate", plain, test_truncate);
	ADD("/fs/ops/append", plain, test_append);
	ADD("/fs/ops/fsync-flush", plain, test_fsync_flush);
	ADD("/fs/ops/write-behind", plain, test_write_behind);
	ADD("/fs/ops/write-behind-enospc", plain, test_write_behind_enospc);
	ADD("/fs/ops/write-striped", striped, test_write_striped);
	return g_test_run();
}
