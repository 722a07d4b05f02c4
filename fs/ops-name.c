/* Name operations: readlink, symlink, unlink, rename, link, mknod. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/ops-name.h"
#include "fs/symlinks.h"


/* Contained (the default): what the link may show, checking on the server
 * the components that a ".." in the target climbs out of. NULL: EPERM. */
static char *fs_contained_target(FsOp *op, const char *path, const char *target)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	char *shown = symlinks_contain(remote_root(op->ctx->remote), path, target, dirs);
	for (guint i = 0; shown != NULL && i < dirs->len; i++) {
		g_autofree char *rdir = remote_path_of(op->ctx->remote, dirs->pdata[i]);
		SftpAttrs attrs;
		if (sftpc_lstat(op->conn, rdir, &attrs) < 0 ||
		    !(attrs.flags & SFTP_ATTR_PERMISSIONS) || !S_ISDIR(attrs.permissions))
			g_clear_pointer(&shown, g_free);
	}
	if (shown == NULL && g_atomic_int_add(&op->ctx->symlinks_refused, 1) < 3) {
		g_autofree char *escaped = g_strescape(target, NULL);
		g_message("%s: the symlink's target \"%s\" leaves the mount, so it reads "
			  "as EPERM (-o no_contain_symlinks shows it as it is)", path, escaped);
	}
	return shown;
}

int jfs_readlink(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	g_autofree char *target = NULL;
	rc = sftpc_readlink(op.conn, op.rpath, &target);
	if (rc == 0) {
		g_autofree char *shown = NULL;
		if (op.ctx->options.contain_symlinks) {
			shown = fs_contained_target(&op, path, target);
			if (shown == NULL)
				rc = -EPERM;
		} else if (op.ctx->options.transform_symlinks) {
			shown = symlinks_transform(remote_root(op.ctx->remote), path, target);
		}
		/* FUSE truncates like readlink(2); the buffer is size bytes
		 * including the terminating NUL. */
		if (rc == 0)
			g_strlcpy(buf, shown ? shown : target, size);
	}
	fs_op_end(&op);
	return rc;
}

int jfs_symlink(const char *target, const char *link_path)
{
	FsOp op;
	int rc = fs_op_begin(&op, link_path);
	if (rc < 0)
		return rc;
	rc = sftpc_symlink(op.conn, target, op.rpath);
	rc = fs_fix_exists(op.conn, op.rpath, rc);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, TRUE, rc);
	fs_changed(op.ctx, link_path, FALSE);
	fs_op_end(&op);
	return rc;
}

int jfs_unlink(const char *path)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_remove(op.conn, op.rpath);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, FALSE, rc);
	if (rc == 0)
		fs_nlinks_removed(op.ctx->nlinks, path, NULL, fs_forget_attrs);
	fs_changed(op.ctx, path, FALSE);
	fs_op_end(&op);
	return rc;
}

/* rename(2) over an existing target without posix-rename@openssh.com:
 * plain SFTP RENAME refuses an existing target (FAILURE). Move the target
 * aside under a temporary name, rename, then remove it (moving it back if
 * the rename fails) - as sshfs's workaround=rename does. Not atomic: for a
 * moment the target name does not exist. rc is the plain RENAME's. */
static int fs_rename_over(SftpConn *conn, const char *rfrom, const char *rto, int rc)
{
	SftpAttrs from_attrs, to_attrs;
	if (rc != -EIO || sftpc_lstat(conn, rto, &to_attrs) < 0 ||
	    sftpc_lstat(conn, rfrom, &from_attrs) < 0)
		return rc;
	if (!(from_attrs.flags & to_attrs.flags & SFTP_ATTR_PERMISSIONS))
		return rc;
	gboolean from_dir = S_ISDIR(from_attrs.permissions);
	gboolean to_dir = S_ISDIR(to_attrs.permissions);
	if (from_dir && !to_dir)
		return -ENOTDIR;
	if (!from_dir && to_dir)
		return -EISDIR;
	if (to_dir) {
		rc = fs_fix_notempty(conn, rto, rc);
		if (rc == -ENOTEMPTY)
			return rc;
	}
	g_autofree char *dir = g_path_get_dirname(rto);
	g_autofree char *aside = NULL;
	int err = -EEXIST;
	for (int i = 0; i < 8 && err != 0; i++) {
		g_free(aside);
		aside = g_strdup_printf("%s/.jumpfs-rename-%08x", strcmp(dir, "/") ? dir : "",
					g_random_int());
		err = sftpc_rename(conn, rto, aside, TRUE);
		if (err == -EIO)
			err = fs_fix_exists(conn, aside, err);
		if (err < 0 && err != -EEXIST)
			return err;
	}
	if (err < 0)
		return err;
	err = sftpc_rename(conn, rfrom, rto, TRUE);
	if (err < 0) {
		if (sftpc_rename(conn, aside, rto, TRUE) < 0)
			g_warning("rename: could not put %s back from %s", rto, aside);
		return err;
	}
	if ((to_dir ? sftpc_rmdir(conn, aside) : sftpc_remove(conn, aside)) < 0)
		g_warning("rename: could not remove the replaced %s (now %s)", rto, aside);
	return 0;
}

int jfs_rename(const char *from, const char *to, unsigned int flags)
{
	/* SFTP has no exchange; anything else unknown is refused as the
	 * kernel would. */
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;
	gboolean noreplace = (flags & RENAME_NOREPLACE) != 0;
	if (fs_name_too_long(to))
		return -ENAMETOOLONG;
	FsOp op;
	int rc = fs_op_begin(&op, from);
	if (rc < 0)
		return rc;
	char *rto = remote_path_of(op.ctx->remote, to);
	rc = sftpc_rename(op.conn, op.rpath, rto, noreplace);
	if (noreplace)
		rc = fs_fix_exists(op.conn, rto, rc);
	else if (!sftpc_has_extension(op.conn, "posix-rename@openssh.com"))
		rc = fs_rename_over(op.conn, op.rpath, rto, rc);
	else
		rc = fs_fix_notempty(op.conn, rto, rc);
	rc = fs_fix_failure(op.conn, rto, NULL, 0, FALSE, rc);
	g_free(rto);
	if (rc == 0) {
		writeback_rename(op.ctx->wb, from, to);
		/* what it replaced, then the name itself */
		fs_nlinks_removed(op.ctx->nlinks, to, NULL, fs_forget_attrs);
		fs_nlinks_removed(op.ctx->nlinks, from, to, NULL);
	}
	fs_changed(op.ctx, from, TRUE);
	fs_changed(op.ctx, to, TRUE);
	fs_op_end(&op);
	return rc;
}

/* How many READDIR replies a link(2) reads to find the new name's count:
 * a few thousand entries, enough for the directories hard links live in
 * (git's objects, backups); beyond that the count is guessed. */
#define LINK_COUNT_MAX_REPLIES 32

/* The new name's link count from its directory's listing (OpenSSH's
 * longname); 0 when not found. */
static uint32_t fs_listed_nlink(SftpConn *conn, const char *rto)
{
	g_autofree char *dir = g_path_get_dirname(rto);
	g_autofree char *base = g_path_get_basename(rto);
	SftpHandle handle;
	if (sftpc_opendir(conn, dir, &handle) < 0)
		return 0;
	GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	uint32_t nlink = 0;
	for (int replies = 0; nlink == 0 && replies < LINK_COUNT_MAX_REPLIES; replies++) {
		if (sftpc_readdir(conn, &handle, names) <= 0)
			break;
		for (guint i = 0; i < names->len && nlink == 0; i++) {
			const SftpName *name = names->pdata[i];
			if (strcmp(name->name, base) == 0)
				nlink = name->nlink;
		}
		g_ptr_array_set_size(names, 0);
	}
	g_ptr_array_unref(names);
	sftpc_close_detached(conn, &handle);
	return nlink;
}

/* After link(from, to): both names show the file's new count at once
 * (the kernel asks again, see jfs_init). */
static void fs_link_count(FsOp *op, const char *from, const char *to, const char *rto)
{
	SftpAttrs attrs;
	if (sftpc_lstat(op->conn, rto, &attrs) < 0)
		return;
	uint32_t nlink = fs_listed_nlink(op->conn, rto);
	if (nlink < 2) /* not listed (or not told): one more than we knew */
		nlink = fs_nlinks_get(op->ctx->nlinks, from, &attrs) + 1;
	/* libfuse gives each path its own inode, so the kernel still holds
	 * the old count of from (and of its other names): make it ask
	 * again. Only attributes and pages are dropped, nothing the
	 * kernel's link(2) holds locked. */
	fs_nlinks_linked(op->ctx->nlinks, from, to, &attrs, nlink, fs_forget_attrs);
}

int jfs_link(const char *from, const char *to)
{
	if (fs_name_too_long(to))
		return -ENAMETOOLONG;
	FsOp op;
	int rc = fs_op_begin(&op, from);
	if (rc < 0)
		return rc;
	char *rto = remote_path_of(op.ctx->remote, to);
	rc = sftpc_hardlink(op.conn, op.rpath, rto);
	/* Without hardlink@openssh.com: what link(2) says on a file system
	 * that has no hard links. */
	if (rc == -ENOSYS)
		rc = -EPERM;
	rc = fs_fix_exists(op.conn, rto, rc);
	rc = fs_fix_failure(op.conn, rto, NULL, 0, TRUE, rc);
	if (rc == 0)
		fs_link_count(&op, from, to, rto);
	g_free(rto);
	fs_changed(op.ctx, from, FALSE);
	fs_changed(op.ctx, to, FALSE);
	fs_op_end(&op);
	return rc;
}

/* libfuse makes regular files through create(); anything else (FIFOs,
 * sockets, devices) SFTP cannot make: refuse as a file system without
 * them does, rather than with ENOSYS. */
int jfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	(void)path;
	(void)mode;
	(void)rdev;
	return -EPERM;
}

