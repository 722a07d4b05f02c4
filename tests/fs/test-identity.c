/* The re-open check's bookkeeping (fs/identity.c): which differences our
 * own writes explain, and which mean another file. */
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "fs/identity.h"

static SftpAttrs file_attrs(uint64_t size, uint32_t mtime)
{
	return (SftpAttrs){
		.flags = SFTP_ATTR_SIZE | SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME,
		.size = size, .permissions = S_IFREG | 0644, .mtime = mtime,
	};
}

static void assert_same(const FsIdentity *id, SftpAttrs now)
{
	char *why = fs_identity_mismatch(id, &now);
	g_assert_null(why);
}

static void assert_other(const FsIdentity *id, SftpAttrs now, const char *part)
{
	char *why = fs_identity_mismatch(id, &now);
	g_assert_nonnull(why);
	g_assert_nonnull(strstr(why, part));
	g_free(why);
}

static void test_unchanged(void)
{
	FsIdentity id = { 0 };
	assert_same(&id, file_attrs(5, 100)); /* never seen: nothing to compare */
	fs_identity_seen(&id, &(SftpAttrs){ 0 });
	assert_same(&id, file_attrs(5, 100)); /* nothing was sent */
	id = (FsIdentity){ 0 };
	SftpAttrs seen = file_attrs(100, 1000);
	fs_identity_seen(&id, &seen);
	assert_same(&id, seen);
	assert_other(&id, file_attrs(101, 1000), "size is 101 bytes, it was 100");
	assert_other(&id, file_attrs(100, 1001), "mtime is 1001, it was 1000");
	assert_other(&id, file_attrs(100, 999), "mtime");
	SftpAttrs dir = seen;
	dir.permissions = S_IFDIR | 0755;
	assert_other(&id, dir, "it is a directory now, it was a regular file");
	/* Fields the server leaves out are not held against it. */
	assert_same(&id, (SftpAttrs){ .flags = SFTP_ATTR_SIZE, .size = 100 });
}

static void test_own_writes(void)
{
	FsIdentity id = { 0 };
	SftpAttrs seen = file_attrs(100, 1000);
	fs_identity_seen(&id, &seen);
	fs_identity_write_begin(&id, 150);
	/* Cut off before the answer: it may or may not have landed. */
	assert_same(&id, file_attrs(100, 1000));
	assert_same(&id, file_attrs(150, 1005));
	assert_same(&id, file_attrs(120, 1005)); /* a part of it */
	assert_other(&id, file_attrs(151, 1005), "our writes explain 100 to 150");
	fs_identity_write_end(&id, 150, TRUE);
	assert_other(&id, file_attrs(100, 1005), "size is 100 bytes, it was 150");
	assert_same(&id, file_attrs(150, 1000));
	assert_same(&id, file_attrs(150, 2000));
	assert_other(&id, file_attrs(150, 999), "only our writes since");
	/* A write inside the file does not grow it. */
	fs_identity_write_begin(&id, 10);
	fs_identity_write_end(&id, 10, TRUE);
	assert_same(&id, file_attrs(150, 1000));
	/* An attribute reply that may predate a write in flight is no base. */
	fs_identity_write_begin(&id, 400);
	SftpAttrs stale = file_attrs(150, 1001);
	fs_identity_seen(&id, &stale);
	assert_same(&id, file_attrs(400, 1002));
	fs_identity_write_end(&id, 400, FALSE);
	assert_same(&id, file_attrs(150, 1002)); /* failed: maybe nothing landed */
	assert_same(&id, file_attrs(400, 1002));
	/* A fresh stat with nothing in flight is the new base. */
	SftpAttrs fresh = file_attrs(300, 1010);
	fs_identity_seen(&id, &fresh);
	assert_same(&id, fresh);
	assert_other(&id, file_attrs(300, 1011), "mtime");
}

static void test_truncate_and_times(void)
{
	FsIdentity id = { 0 };
	SftpAttrs seen = file_attrs(100, 1000);
	fs_identity_seen(&id, &seen);
	fs_identity_truncated(&id, 0, TRUE);
	assert_same(&id, file_attrs(0, 1003));
	assert_other(&id, file_attrs(100, 1003), "size");
	fs_identity_truncated(&id, 50, FALSE); /* unanswered: 0 or 50 */
	assert_same(&id, file_attrs(0, 1003));
	assert_same(&id, file_attrs(50, 1003));
	/* touch -d yesterday through the handle */
	fs_identity_times_set(&id, 500);
	assert_same(&id, file_attrs(50, 500));
	assert_other(&id, file_attrs(50, 499), "mtime");
}

static void test_others(void)
{
	FsIdentity id = { 0 };
	SftpAttrs seen = file_attrs(100, 1000);
	fs_identity_seen(&id, &seen);
	fs_identity_others_wrote(&id);
	assert_same(&id, file_attrs(5000, 9000));
	SftpAttrs dir = seen;
	dir.permissions = S_IFDIR | 0755;
	assert_other(&id, dir, "directory");
	/* A fresh stat brings the full check back. */
	fs_identity_seen(&id, &seen);
	assert_other(&id, file_attrs(5000, 9000), "size");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fs/identity/unchanged", test_unchanged);
	g_test_add_func("/fs/identity/own-writes", test_own_writes);
	g_test_add_func("/fs/identity/truncate-and-times", test_truncate_and_times);
	g_test_add_func("/fs/identity/others", test_others);
	return g_test_run();
}
