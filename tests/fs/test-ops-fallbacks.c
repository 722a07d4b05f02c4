/* The FUSE operations on a real mount when the server lets them down:
 * its connections killed under open files (re-opened, or lost for good),
 * and a server without the OpenSSH extensions. The fixture:
 * ops-fixture.h. */
#include <sys/statvfs.h>

#include "ops-fixture.h"

static void test_reconnect(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "kept"), "", 0);
	put_file(B(fx, "unlinked"), "", 0);
	int kept = open(P(fx, "kept"), O_RDWR);
	int unlinked = open(P(fx, "unlinked"), O_RDWR);
	assert_ok(kept);
	assert_ok(unlinked);
	g_assert_cmpint(pwrite(kept, "before,", 7, 0), ==, 7);
	g_assert_cmpint(pwrite(unlinked, "before,", 7, 0), ==, 7);
	assert_ok(unlink(P(fx, "unlinked")));

	kill_servers(fx);

	/* re-opened by name on a new connection; what was queued and not
	 * confirmed is written again (write-behind: the server has it all
	 * once fsync returns) */
	g_assert_cmpint(pwrite(kept, "after", 5, 7), ==, 5);
	struct stat st;
	assert_ok(fstat(kept, &st));
	g_assert_cmpint(st.st_size, ==, 12);
	assert_ok(fsync(kept));
	gsize len;
	char *got = get_file(B(fx, "kept"), &len);
	g_assert_cmpstr(got, ==, "before,after");
	g_free(got);

	/* the unlinked one by its hidden name; a new file with its old name
	 * is another file */
	put_file(B(fx, "unlinked"), "someone else's", -1);
	g_assert_cmpint(pwrite(unlinked, "after", 5, 7), ==, 5);
	assert_ok(fsync(unlinked));
	char buf[32] = { 0 };
	g_assert_cmpint(pread(unlinked, buf, sizeof(buf) - 1, 0), ==, 12);
	g_assert_cmpstr(buf, ==, "before,after");
	got = get_file(B(fx, "unlinked"), &len);
	g_assert_cmpstr(got, ==, "someone else's");
	g_free(got);
	close(unlinked);
	close(kept);

	/* and the mount goes on */
	assert_ok(stat(P(fx, "kept"), &st));
	assert_ok(mkdir(P(fx, "afterwards"), 0755));
}

static void test_reconnect_lost(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "", 0);
	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "mine", 4, 0), ==, 4);

	/* another client removes it while the connection is down */
	g_assert_cmpint(unlink(B(fx, "f")), ==, 0);
	kill_servers(fx);

	/* Queued (write-behind), the write returns; the re-open that would
	 * send it finds the file gone: fsync says so. */
	g_assert_cmpint(pwrite(fd, "X", 1, 0), ==, 1);
	assert_fails(fsync(fd), EIO);
	assert_fails(pwrite(fd, "X", 1, 0), EIO);
	/* lost for good: not even a file created under that name later */
	put_file(B(fx, "f"), "someone else's", -1);
	assert_fails(pwrite(fd, "X", 1, 0), EIO);
	char buf[8];
	assert_fails(pread(fd, buf, sizeof(buf), 0), EIO);
	close(fd);

	gsize len;
	char *got = get_file(B(fx, "f"), &len);
	g_assert_cmpstr(got, ==, "someone else's");
	g_free(got);
}

/* Without posix-rename, hardlink, fsync, statvfs, lsetstat (sftp-server
 * -P): what jumpfs falls back to. */
static void test_no_extensions(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	gsize len;
	struct stat st, bst;

	/* rename over an existing file: moved aside, renamed, removed */
	put_file(B(fx, "new"), "NEW", -1);
	put_file(B(fx, "old"), "OLD", -1);
	assert_ok(rename(P(fx, "new"), P(fx, "old")));
	char *got = get_file(B(fx, "old"), &len);
	g_assert_cmpstr(got, ==, "NEW");
	g_free(got);
	assert_fails(stat(B(fx, "new"), &bst), ENOENT);
	assert_ok(rename(P(fx, "old"), P(fx, "fresh"))); /* plain RENAME */
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	/* directories: over an empty one, not over a full one, no mixing */
	g_mkdir(B(fx, "d1"), 0755);
	put_file(B(fx, "d1/in"), "1", -1);
	g_mkdir(B(fx, "empty"), 0755);
	g_mkdir(B(fx, "full"), 0755);
	put_file(B(fx, "full/x"), "x", -1);
	assert_fails(rename(P(fx, "d1"), P(fx, "full")), ENOTEMPTY);
	assert_fails(rename(P(fx, "fresh"), P(fx, "empty")), EISDIR);
	assert_fails(rename(P(fx, "d1"), P(fx, "fresh")), ENOTDIR);
	assert_ok(rename(P(fx, "d1"), P(fx, "empty")));
	got = get_file(B(fx, "empty/in"), &len);
	g_assert_cmpstr(got, ==, "1");
	g_free(got);
	g_assert_cmpint(stat(B(fx, "full/x"), &bst), ==, 0);
	/* nothing left behind under a temporary name */
	GDir *dir = g_dir_open(fx->backend, 0, NULL);
	const char *name;
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
		g_assert_false(g_str_has_prefix(name, ".jumpfs-rename-"));
	if (dir != NULL)
		g_dir_close(dir);

	/* no hard links: EPERM, as a file system without them says */
	assert_fails(link(P(fx, "fresh"), P(fx, "hard")), EPERM);
	assert_fails(stat(B(fx, "hard"), &bst), ENOENT);

	/* fsync: every write was acknowledged already */
	int fd = open(P(fx, "fresh"), O_WRONLY | O_APPEND);
	assert_ok(fd);
	g_assert_true(write_all(fd, "+", 1));
	assert_ok(fsync(fd));
	close(fd);
	got = get_file(B(fx, "fresh"), &len);
	g_assert_cmpstr(got, ==, "NEW+");
	g_free(got);

	/* statfs: large round numbers rather than a failing df */
	struct statvfs sv;
	assert_ok(statvfs(fx->mnt, &sv));
	g_assert_cmpuint(sv.f_blocks, >, 0);
	g_assert_cmpuint(sv.f_bavail, >, 0);
	g_assert_cmpuint(sv.f_bavail, <=, sv.f_blocks);
	g_assert_cmpuint(sv.f_namemax, ==, 255);

	/* no lsetstat: times of a file still set; of a link refused rather
	 * than set on its target */
	g_assert_cmpint(symlink("fresh", B(fx, "link")), ==, 0);
	struct timespec tv[2] = { { 1000000000, 0 }, { 1100000000, 0 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "fresh"), tv, 0));
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);
	struct timespec tv2[2] = { { 1200000000, 0 }, { 1300000000, 0 } };
	assert_fails(utimensat(AT_FDCWD, P(fx, "link"), tv2, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);
	/* following the link is fine */
	assert_ok(utimensat(AT_FDCWD, P(fx, "link"), tv2, 0));
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1300000000);
	assert_ok(lstat(P(fx, "link"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
}
int main(int argc, char **argv)
{
	ops_tests_init(&argc, &argv);
	ADD("/fs/ops/reconnect", plain, test_reconnect);
	ADD("/fs/ops/reconnect-lost", lost, test_reconnect_lost);
	ADD("/fs/ops/no-extensions", bare, test_no_extensions);
	return g_test_run();
}
