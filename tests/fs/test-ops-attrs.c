/* The FUSE operations on a real mount: attributes. attrs.c on its own
 * (no mount), then getattr, chmod and chown, utimens, statfs. The
 * fixture: ops-fixture.h. */
#include <sys/statvfs.h>
#include <time.h>

#include "fs/attrs.h"
#include "ops-fixture.h"

/* ---- attrs.c, no mount ---- */

static void test_attrs(void)
{
	FsIdMap ids = {
		.map_user = TRUE, .remote_uid = 1000, .remote_gid = 100,
		.local_uid = 0, .local_gid = 0, .force_uid = -1, .force_gid = -1,
	};
	SftpAttrs a = {
		.flags = SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS |
			 SFTP_ATTR_ACMODTIME,
		.size = 5 * GIB + 1, .uid = 1000, .gid = 4242,
		.permissions = S_IFDIR | 0750, .atime = 111, .mtime = 222,
	};
	struct stat st;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_mode, ==, S_IFDIR | 0750);
	g_assert_cmpint(st.st_size, ==, 5 * GIB + 1);
	g_assert_cmpuint(st.st_uid, ==, 0);     /* login user -> local */
	g_assert_cmpuint(st.st_gid, ==, 4242);  /* other group stays */
	g_assert_cmpint(st.st_atim.tv_sec, ==, 111);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, 222);
	g_assert_cmpint(st.st_ctim.tv_sec, ==, 222);
	g_assert_cmpint(st.st_blocks, ==, (5 * GIB + 1 + 511) / 512);
	g_assert_cmpuint(attrs_uid_to_remote(&ids, 0), ==, 1000);
	g_assert_cmpuint(attrs_uid_to_remote(&ids, 7), ==, 7);

	ids.force_uid = 55;
	ids.force_gid = 66;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 55);
	g_assert_cmpuint(st.st_gid, ==, 66);

	ids.force_uid = ids.force_gid = -1;
	/* allow_other: foreign owners show as nobody, the login user's as
	 * the local user's. */
	ids.hide_others = TRUE;
	ids.overflow_uid = 65534;
	ids.overflow_gid = 65533;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 0);
	g_assert_cmpuint(st.st_gid, ==, 65533);
	a.uid = 1001;
	a.gid = 100;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 65534);
	g_assert_cmpuint(st.st_gid, ==, 0);
	a.uid = 1000;
	a.gid = 4242;
	ids.hide_others = FALSE;

	ids.map_user = FALSE;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 1000);

	g_assert_cmphex(attrs_open_flags(O_RDONLY), ==, SFTP_OPEN_READ);
	g_assert_cmphex(attrs_open_flags(O_WRONLY | O_CREAT | O_EXCL), ==,
			SFTP_OPEN_WRITE | SFTP_OPEN_CREAT | SFTP_OPEN_EXCL);
	g_assert_cmphex(attrs_open_flags(O_RDWR | O_TRUNC | O_APPEND), ==,
			SFTP_OPEN_READ | SFTP_OPEN_WRITE | SFTP_OPEN_TRUNC | SFTP_OPEN_APPEND);

	g_assert_cmpuint(attrs_time_to_wire(-5), ==, 0);
	g_assert_cmpuint(attrs_time_to_wire((time_t)G_MAXUINT32 + 10), ==, G_MAXUINT32);

	SftpAttrs cur = { .flags = SFTP_ATTR_ACMODTIME, .atime = 10, .mtime = 20 };
	struct timespec tv[2] = { { 100, UTIME_OMIT }, { 300, 999 } };
	g_assert_true(attrs_times_need_current(tv));
	SftpAttrs set = { 0 };
	g_assert_true(attrs_set_times(&set, tv, &cur, 5000));
	g_assert_cmpuint(set.atime, ==, 10);
	g_assert_cmpuint(set.mtime, ==, 300);
	tv[0].tv_nsec = UTIME_NOW;
	g_assert_false(attrs_times_need_current(tv));
	g_assert_true(attrs_set_times(&set, tv, NULL, 5000));
	g_assert_cmpuint(set.atime, ==, 5000);
	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	g_assert_false(attrs_set_times(&set, tv, NULL, 5000));
	g_assert_true(attrs_set_times(&set, NULL, NULL, 77));
	g_assert_cmpuint(set.atime, ==, 77);
	g_assert_cmpuint(set.mtime, ==, 77);
}

/* access(2) as the kernel answers it from the mode bits. */
static void test_access_bits(void)
{
	struct stat st = { .st_mode = S_IFREG | 0640, .st_uid = 10, .st_gid = 20 };
	gid_t groups[] = { 5, 20 };
	g_assert_cmpint(attrs_check_access(&st, R_OK | W_OK, 10, 99, NULL, 0, FALSE), ==, 0);
	g_assert_cmpint(attrs_check_access(&st, X_OK, 10, 99, NULL, 0, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, R_OK, 11, 20, NULL, 0, FALSE), ==, 0);
	g_assert_cmpint(attrs_check_access(&st, W_OK, 11, 20, NULL, 0, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, R_OK, 11, 99, groups, 2, FALSE), ==, 0);
	g_assert_cmpint(attrs_check_access(&st, R_OK, 11, 99, groups, 1, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, F_OK, 11, 99, NULL, 0, FALSE), ==, 0);
	/* The owner's bits decide for the owner, even when others have more. */
	st.st_mode = S_IFREG | 0077;
	g_assert_cmpint(attrs_check_access(&st, R_OK, 10, 20, NULL, 0, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, R_OK, 11, 99, NULL, 0, FALSE), ==, 0);
	/* A remote group whose members are unknown: its bits may apply. */
	st.st_mode = S_IFDIR | 0770;
	g_assert_cmpint(attrs_check_access(&st, X_OK, 11, 99, NULL, 0, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, X_OK | W_OK, 11, 99, NULL, 0, TRUE), ==, 0);
	st.st_mode = S_IFREG | 0604;
	g_assert_cmpint(attrs_check_access(&st, W_OK, 11, 99, NULL, 0, TRUE), ==, -EACCES);
	/* root: read and write anything, execute what has an x bit. */
	st.st_mode = S_IFREG | 0666; /* sshfs's tst_access: 0666 is not X_OK */
	g_assert_cmpint(attrs_check_access(&st, R_OK | W_OK, 0, 0, NULL, 0, FALSE), ==, 0);
	g_assert_cmpint(attrs_check_access(&st, X_OK, 0, 0, NULL, 0, FALSE), ==, -EACCES);
	g_assert_cmpint(attrs_check_access(&st, X_OK, 10, 20, NULL, 0, FALSE), ==, -EACCES);
	st.st_mode = S_IFREG | 0001;
	g_assert_cmpint(attrs_check_access(&st, X_OK, 0, 0, NULL, 0, FALSE), ==, 0);
	st.st_mode = S_IFDIR | 0;
	g_assert_cmpint(attrs_check_access(&st, X_OK, 0, 0, NULL, 0, FALSE), ==, 0);
}

/* ---- the mount ---- */

static void test_getattr(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "file"), "0123456789", 10);
	g_assert_cmpint(chmod(B(fx, "file"), 0640), ==, 0);
	g_assert_cmpint(mkdir(B(fx, "dir"), 0711), ==, 0);
	g_assert_cmpint(symlink("file", B(fx, "link")), ==, 0);
	g_assert_cmpint(symlink("nowhere", B(fx, "dangling")), ==, 0);

	struct stat st, bst;
	assert_ok(stat(P(fx, "file"), &st));
	g_assert_cmpint(stat(B(fx, "file"), &bst), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpint(st.st_size, ==, 10);
	g_assert_cmpuint(st.st_uid, ==, bst.st_uid);
	g_assert_cmpuint(st.st_gid, ==, bst.st_gid);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, bst.st_mtim.tv_sec);

	assert_ok(stat(P(fx, "dir"), &st));
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0711);

	assert_ok(lstat(P(fx, "link"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
	g_assert_cmpint(st.st_size, ==, 4);
	assert_ok(stat(P(fx, "link"), &st)); /* the kernel follows it */
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpint(st.st_size, ==, 10);
	assert_ok(lstat(P(fx, "dangling"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
	assert_fails(stat(P(fx, "dangling"), &st), ENOENT);

	assert_fails(stat(P(fx, "missing"), &st), ENOENT);
	assert_fails(stat(P(fx, "missing/below"), &st), ENOENT);
	assert_fails(stat(P(fx, "file/below"), &st), ENOTDIR);

	assert_ok(stat(fx->mnt, &st));
	g_assert_true(S_ISDIR(st.st_mode));

	/* fstat goes to the open handle */
	int fd = open(P(fx, "file"), O_RDONLY);
	assert_ok(fd);
	put_file(B(fx, "file"), "0123456789abcdef", 16);
	assert_ok(fstat(fd, &st));
	close(fd);
}

static void test_chmod_chown(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "x", 1);
	g_assert_cmpint(symlink("f", B(fx, "l")), ==, 0);
	struct stat bst, st;
	assert_ok(chmod(P(fx, "f"), 0604));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_mode & 07777, ==, 0604);
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0604);
	int fd = open(P(fx, "f"), O_RDONLY);
	assert_ok(fchmod(fd, 0640));
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_mode & 07777, ==, 0640);

	if (geteuid() != 0) {
		assert_fails(chown(P(fx, "f"), 0, 0), EPERM);
		return;
	}
	assert_ok(chown(P(fx, "f"), 1234, 5678));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 1234);
	g_assert_cmpuint(bst.st_gid, ==, 5678);
	assert_ok(chown(P(fx, "f"), (uid_t)-1, 4321)); /* keeps the owner */
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 1234);
	g_assert_cmpuint(bst.st_gid, ==, 4321);
	assert_ok(chown(P(fx, "f"), 999, (gid_t)-1)); /* keeps the group */
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 999);
	g_assert_cmpuint(bst.st_gid, ==, 4321);
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpuint(st.st_uid, ==, 999);

	/* lchown changes the link, not its target */
	assert_ok(lchown(P(fx, "l"), 77, 88));
	g_assert_cmpint(lstat(B(fx, "l"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 77);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 999);
}

static void test_utimens(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "x", 1);
	struct stat bst;
	struct timespec tv[2] = { { 1000000000, 0 }, { 1100000000, 500 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), tv, 0));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);

	/* keep atime, set mtime */
	struct timespec omit_atime[2] = { { 0, UTIME_OMIT }, { 1200000000, 0 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), omit_atime, 0));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1200000000);

	/* mtime now, keep atime */
	time_t before = time(NULL);
	struct timespec now_mtime[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), now_mtime, 0));
	time_t after = time(NULL);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, >=, before - 1);
	g_assert_cmpint(bst.st_mtim.tv_sec, <=, after + 1);

	/* futimens: through the handle */
	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	struct timespec both[2] = { { 1300000000, 0 }, { 1400000000, 0 } };
	assert_ok(futimens(fd, both));
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1300000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1400000000);
	struct stat st;
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpint(st.st_mtim.tv_sec, ==, 1400000000);
}

static void test_statfs(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	struct statvfs m, b;
	assert_ok(statvfs(fx->mnt, &m));
	g_assert_cmpint(statvfs(fx->backend, &b), ==, 0);
	g_assert_cmpuint(m.f_blocks, >, 0);
	g_assert_cmpuint(m.f_bsize, >, 0);
	g_assert_cmpuint(m.f_bfree, <=, m.f_blocks);
	g_assert_cmpuint(m.f_bavail, <=, m.f_blocks);
	g_assert_cmpuint((guint64)m.f_blocks * m.f_frsize, ==, (guint64)b.f_blocks * b.f_frsize);
	g_assert_cmpuint(m.f_namemax, ==, b.f_namemax);
}

int main(int argc, char **argv)
{
	ops_tests_init(&argc, &argv);
	g_test_add_func("/fs/ops/attrs", test_attrs);
	g_test_add_func("/fs/ops/access-bits", test_access_bits);
	ADD("/fs/ops/getattr", plain, test_getattr);
	ADD("/fs/ops/chmod-chown", plain, test_chmod_chown);
	ADD("/fs/ops/utimens", plain, test_utimens);
	ADD("/fs/ops/statfs", plain, test_statfs);
	return g_test_run();
}
