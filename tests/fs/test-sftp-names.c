/* The SFTP client's metadata and namespace requests against the real
 * OpenSSH sftp-server: stat and setstat, exclusive create, directories,
 * rename, links, statvfs, long listings, permission errors. The fixture:
 * sftp-fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "sftp-fixture.h"

static void test_stat(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file"), *dir = P(f, "dir"), *link = P(f, "link");
	g_autofree char *missing = P(f, "missing");
	struct stat st;
	SftpAttrs a;
	write_local(file, "hello", 5);
	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	g_assert_cmpint(symlink("file", link), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);

	g_assert_cmpint(sftpc_stat(f->conn, file, &a), ==, 0);
	g_assert_true(S_ISREG(a.permissions));
	g_assert_cmpuint(a.flags & SFTP_ATTR_SIZE, !=, 0);
	g_assert_cmpuint(a.size, ==, 5);
	g_assert_cmpuint(a.uid, ==, st.st_uid);
	g_assert_cmpuint(a.gid, ==, st.st_gid);
	g_assert_cmpuint(a.permissions & 07777, ==, st.st_mode & 07777);
	g_assert_cmpuint(a.mtime, ==, (uint32_t)st.st_mtime);

	g_assert_cmpint(sftpc_stat(f->conn, dir, &a), ==, 0);
	g_assert_true(S_ISDIR(a.permissions));
	g_assert_cmpint(sftpc_lstat(f->conn, link, &a), ==, 0);
	g_assert_true(S_ISLNK(a.permissions));
	g_assert_cmpint(sftpc_stat(f->conn, link, &a), ==, 0);
	g_assert_true(S_ISREG(a.permissions));
	g_assert_cmpuint(a.size, ==, 5);
	g_assert_cmpint(sftpc_stat(f->conn, missing, &a), ==, -ENOENT);
	g_assert_cmpint(sftpc_lstat(f->conn, missing, &a), ==, -ENOENT);

	g_autofree char *resolved = NULL, *home = NULL, *dot = P(f, "dir/../.");
	char *real = realpath(f->dir, NULL);
	g_assert_cmpint(sftpc_realpath(f->conn, dot, &resolved), ==, 0);
	g_assert_cmpstr(resolved, ==, real);
	/* OpenSSH expands "~" to the server's start directory (the login
	 * directory under sshd; here the one the test started it in) */
	g_assert_cmpint(sftpc_expand_path(f->conn, "~/dir", &home), ==, 0);
	g_autofree char *want = g_build_filename(real, "dir", NULL);
	g_assert_cmpstr(home, ==, want);
	free(real);
}

static void test_setstat(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file");
	g_autofree char *link = P(f, "link");
	struct stat st;
	SftpHandle h;
	SftpAttrs a;
	guint8 *bytes = random_bytes(100000);
	write_local(file, bytes, 100000);

	/* truncate through setstat, shrinking and growing */
	a = (SftpAttrs){ .flags = SFTP_ATTR_SIZE, .size = 1234 };
	g_assert_cmpint(sftpc_setstat(f->conn, file, &a), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 1234);
	a.size = 50000;
	g_assert_cmpint(sftpc_setstat(f->conn, file, &a), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 50000);

	/* chmod */
	a = (SftpAttrs){ .flags = SFTP_ATTR_PERMISSIONS, .permissions = 0640 };
	g_assert_cmpint(sftpc_setstat(f->conn, file, &a), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);

	/* utimes */
	a = (SftpAttrs){ .flags = SFTP_ATTR_ACMODTIME, .atime = 1000000000, .mtime = 1234567890 };
	g_assert_cmpint(sftpc_setstat(f->conn, file, &a), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_atime, ==, 1000000000);
	g_assert_cmpint(st.st_mtime, ==, 1234567890);

	/* fsetstat / fstat */
	open_rw(f, file, 0, &h);
	a = (SftpAttrs){ .flags = SFTP_ATTR_SIZE | SFTP_ATTR_PERMISSIONS,
			 .size = 7, .permissions = 0600 };
	g_assert_cmpint(sftpc_fsetstat(f->conn, &h, &a), ==, 0);
	g_assert_cmpint(sftpc_fstat(f->conn, &h, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, 7);
	g_assert_cmpuint(a.permissions & 07777, ==, 0600);
	g_assert_true(S_ISREG(a.permissions));
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 7);

	/* lsetstat sets the link's own times, not the target's */
	g_assert_cmpint(symlink("file", link), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	time_t target_mtime = st.st_mtime;
	a = (SftpAttrs){ .flags = SFTP_ATTR_ACMODTIME, .atime = 2000000, .mtime = 3000000 };
	g_assert_cmpint(sftpc_lsetstat(f->conn, link, &a), ==, 0);
	g_assert_cmpint(lstat(link, &st), ==, 0);
	g_assert_cmpint(st.st_mtime, ==, 3000000);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_mtime, ==, target_mtime);

	/* a closed handle is gone */
	g_assert_cmpint(sftpc_fstat(f->conn, &h, &a), <, 0);
	g_free(bytes);
}

static void test_excl(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file");
	SftpHandle h;
	open_rw(f, file, SFTP_OPEN_EXCL, &h);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	/* OpenSSH's server reports open(2)'s EEXIST as SSH_FX_FAILURE, which
	 * we map to EIO; the FUSE side finds EEXIST with a stat. */
	SftpAttrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = 0644 };
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_WRITE | SFTP_OPEN_CREAT |
				   SFTP_OPEN_EXCL, &a, &h), ==, -EIO);
}

static void test_dirs(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *dir = P(f, "d"), *inner = P(f, "d/f"), *missing = P(f, "nope");
	struct stat st;
	mode_t mask = umask(022);
	umask(mask);
	g_assert_cmpint(sftpc_mkdir(f->conn, dir, 0750), ==, 0);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpuint(st.st_mode & 0777, ==, 0750 & ~mask);
	/* EEXIST and ENOTEMPTY both arrive as FAILURE -> EIO */
	g_assert_cmpint(sftpc_mkdir(f->conn, dir, 0750), ==, -EIO);
	write_local(inner, "x", 1);
	g_assert_cmpint(sftpc_rmdir(f->conn, dir), ==, -EIO);
	g_assert_cmpint(sftpc_remove(f->conn, inner), ==, 0);
	g_assert_cmpint(stat(inner, &st), ==, -1);
	g_assert_cmpint(sftpc_remove(f->conn, inner), ==, -ENOENT);
	g_assert_cmpint(sftpc_rmdir(f->conn, dir), ==, 0);
	g_assert_cmpint(stat(dir, &st), ==, -1);
	g_assert_cmpint(sftpc_rmdir(f->conn, missing), ==, -ENOENT);
	g_assert_cmpint(sftpc_mkdir(f->conn, "/nonexistent-dir/x", 0755), ==, -ENOENT);
}

static void test_rename(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *a = P(f, "a"), *b = P(f, "b"), *c = P(f, "c");
	gchar *text;
	write_local(a, "AAA", 3);
	write_local(b, "BBB", 3);
	/* noreplace = plain RENAME: OpenSSH refuses an existing target
	 * (link(2) gives EEXIST, reported as FAILURE) and changes nothing */
	g_assert_cmpint(sftpc_rename(f->conn, a, b, TRUE), ==, -EIO);
	g_assert_true(g_file_get_contents(b, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "BBB");
	g_free(text);
	g_assert_true(g_file_test(a, G_FILE_TEST_EXISTS));
	/* posix-rename replaces atomically */
	g_assert_cmpint(sftpc_rename(f->conn, a, b, FALSE), ==, 0);
	g_assert_true(g_file_get_contents(b, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "AAA");
	g_free(text);
	g_assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
	/* noreplace onto a free name works */
	g_assert_cmpint(sftpc_rename(f->conn, b, c, TRUE), ==, 0);
	g_assert_true(g_file_test(c, G_FILE_TEST_EXISTS));
	g_assert_cmpint(sftpc_rename(f->conn, a, c, FALSE), ==, -ENOENT);
}

static void test_links(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file"), *sym = P(f, "sym"), *hard = P(f, "hard");
	g_autofree char *dangling = P(f, "dangling");
	char disk[PATH_MAX];
	struct stat st;
	write_local(file, "x", 1);

	g_assert_cmpint(sftpc_symlink(f->conn, "file", sym), ==, 0);
	ssize_t n = readlink(sym, disk, sizeof(disk) - 1);
	g_assert_cmpint(n, ==, 4);
	disk[n] = '\0';
	g_assert_cmpstr(disk, ==, "file");
	g_autofree char *target = NULL;
	g_assert_cmpint(sftpc_readlink(f->conn, sym, &target), ==, 0);
	g_assert_cmpstr(target, ==, "file");
	g_assert_cmpint(sftpc_symlink(f->conn, "no/such/target", dangling), ==, 0);
	n = readlink(dangling, disk, sizeof(disk) - 1);
	g_assert_cmpint(n, >, 0);
	disk[n] = '\0';
	g_assert_cmpstr(disk, ==, "no/such/target");
	g_autofree char *t2 = NULL;
	/* readlink(2)'s EINVAL: OpenSSH sends BAD_MESSAGE for EINVAL */
	g_assert_cmpint(sftpc_readlink(f->conn, file, &t2), ==, -EBADMSG);

	g_assert_cmpint(sftpc_hardlink(f->conn, file, hard), ==, 0);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpuint(st.st_nlink, ==, 2);
	g_assert_cmpint(sftpc_hardlink(f->conn, file, hard), ==, -EIO); /* EEXIST */
}

static void test_statvfs(Fixture *f, gconstpointer data)
{
	(void)data;
	struct statvfs want, got;
	g_autofree char *file = P(f, "file");
	SftpHandle h;
	g_assert_cmpint(statvfs(f->dir, &want), ==, 0);
	g_assert_cmpint(sftpc_statvfs(f->conn, f->dir, &got), ==, 0);
	g_assert_cmpuint(got.f_bsize, ==, want.f_bsize);
	g_assert_cmpuint(got.f_frsize, ==, want.f_frsize);
	g_assert_cmpuint(got.f_blocks, ==, want.f_blocks);
	g_assert_cmpuint(got.f_files, ==, want.f_files);
	g_assert_cmpuint(got.f_fsid, ==, want.f_fsid);
	g_assert_cmpuint(got.f_namemax, ==, want.f_namemax);
	g_assert_cmpuint(got.f_flag & ST_RDONLY, ==, want.f_flag & ST_RDONLY);
	open_rw(f, file, 0, &h);
	memset(&got, 0, sizeof(got));
	g_assert_cmpint(sftpc_fstatvfs(f->conn, &h, &got), ==, 0);
	g_assert_cmpuint(got.f_blocks, ==, want.f_blocks);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_autofree char *missing = P(f, "missing");
	g_assert_cmpint(sftpc_statvfs(f->conn, missing, &got), ==, -ENOENT);
}

static void test_readdir_5000(Fixture *f, gconstpointer data)
{
	(void)data;
	const int n = 5000;
	GHashTable *want = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < n; i++) {
		char *name = g_strdup_printf("entry-%05d-with-a-longer-name", i);
		g_autofree char *path = P(f, name);
		int fd = open(path, O_CREAT | O_WRONLY, 0644);
		g_assert_cmpint(fd, >=, 0);
		close(fd);
		g_hash_table_add(want, name);
	}
	SftpHandle h;
	GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	g_assert_cmpint(sftpc_opendir(f->conn, f->dir, &h), ==, 0);
	int calls = 0, r;
	while ((r = sftpc_readdir(f->conn, &h, names)) > 0)
		calls++;
	g_assert_cmpint(r, ==, 0);
	g_assert_cmpint(sftpc_readdir(f->conn, &h, names), ==, 0); /* stays at end */
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_test_message("%u names in %d READDIR replies", names->len, calls);
	g_assert_cmpint(calls, >, 1);
	g_assert_cmpuint(names->len, ==, (guint)n + 2);
	int dots = 0;
	for (guint i = 0; i < names->len; i++) {
		SftpName *e = names->pdata[i];
		if (g_str_equal(e->name, ".") || g_str_equal(e->name, "..")) {
			dots++;
			g_assert_true(S_ISDIR(e->attrs.permissions));
			continue;
		}
		g_assert_true(g_hash_table_remove(want, e->name));
		g_assert_true(S_ISREG(e->attrs.permissions));
	}
	g_assert_cmpint(dots, ==, 2);
	g_assert_cmpuint(g_hash_table_size(want), ==, 0);
	g_ptr_array_unref(names);
	g_hash_table_unref(want);

	g_autofree char *missing = P(f, "missing");
	g_assert_cmpint(sftpc_opendir(f->conn, missing, &h), ==, -ENOENT);
}

static void test_eacces(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "secret"), *dir = P(f, "locked"), *in = P(f, "locked/x");
	SftpHandle h;
	SftpAttrs a;
	if (geteuid() == 0) {
		/* root ignores permissions: run the server as nobody instead */
		g_assert_cmpint(chmod(f->dir, 0777), ==, 0);
		f->pid = spawn_server(f->dir, TRUE, NULL, NULL, &f->fd);
		GError *error = NULL;
		f->conn = sftpc_start(f->fd, &error);
		if (f->conn == NULL) {
			g_test_skip("running as root and cannot run sftp-server as nobody");
			g_clear_error(&error);
			return;
		}
	} else {
		start_with(f, FALSE, NULL);
	}
	write_local(file, "x", 1);
	g_assert_cmpint(chmod(file, 0), ==, 0);
	g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
	write_local(in, "x", 1);
	g_assert_cmpint(chmod(dir, 0), ==, 0);
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &h), ==, -EACCES);
	g_assert_cmpint(sftpc_stat(f->conn, in, &a), ==, -EACCES);
	g_assert_cmpint(sftpc_opendir(f->conn, dir, &h), ==, -EACCES);
	g_assert_cmpint(sftpc_stat(f->conn, file, &a), ==, 0); /* stat needs no read */
}

int main(int argc, char **argv)
{
	if (!sftp_tests_init(&argc, &argv))
		return g_test_run();
	T("stat", test_stat);
	T("setstat", test_setstat);
	T("excl", test_excl);
	T("dirs", test_dirs);
	T("rename", test_rename);
	T("links", test_links);
	T("statvfs", test_statvfs);
	T("readdir-5000", test_readdir_5000);
	T_OWN("eacces", test_eacces);
	return g_test_run();
}
