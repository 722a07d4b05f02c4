/* Attribute operations: getattr, chmod, chown, utimens, access, and
 * statfs. With an open file (fi) they go through its handle
 * (fs/ops-file.c), otherwise by path. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fs/ops-attr.h"
#include "fs/ops-file.h"

int jfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	FsFile *file = fs_file_of(fi);
	if (file != NULL)
		return jfs_fgetattr(file, path, st);
	/* A name never made in a directory we made (fs/newdirs.h). */
	if (newdirs_absent(fs_ctx()->newdirs, path))
		return -ENOENT;

	int rc = -ENOTCONN;
	/* A stat may be repeated: once more if the connection broke. */
	for (int attempt = 0; attempt < 2 && rc == -ENOTCONN; attempt++) {
		FsOp op;
		rc = fs_op_begin(&op, path);
		if (rc < 0)
			return rc;
		SftpAttrs attrs;
		/* Size and mtime of data still queued (write-behind). */
		WbAttrs queued;
		writeback_attrs_before(op.ctx->wb, path, &queued);
		rc = fs_stat_path(&op, op.rpath, &attrs);
		if (rc == 0) {
			writeback_attrs_apply(&queued, &attrs);
			fs_attrs_to_stat(op.ctx, path, &attrs, st);
		}
		fs_op_end(&op);
	}
	return rc;
}

/* chmod, chown and setting times are refused to whoever is not the owner
 * with EPERM; OpenSSH's server sends EPERM and EACCES alike as
 * PERMISSION_DENIED. The node was found (the kernel looked it up), so a
 * refusal is about ownership, not about searching the path. */
static int fs_fix_owner_only(int rc)
{
	return rc == -EACCES ? -EPERM : rc;
}

/* Current attributes of the node that is being changed. */
static int fs_current_attrs(FsFile *file, const char *path, SftpAttrs *attrs)
{
	if (file != NULL)
		return jfs_ffstat(file, path, attrs);
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = fs_stat_path(&op, op.rpath, attrs);
	fs_op_end(&op);
	return rc;
}

/* setstat on the node itself. A node that is a symlink is the link (the
 * kernel followed everything else already), and plain SETSTAT follows
 * links, so use lsetstat@openssh.com unless the mount follows links. */
static int fs_setstat_node(const char *path, FsFile *file, const SftpAttrs *attrs)
{
	if (file != NULL)
		return jfs_fsetstat(file, path, attrs);
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	if (op.ctx->options.follow_symlinks) {
		rc = sftpc_setstat(op.conn, op.rpath, attrs);
	} else {
		rc = sftpc_lsetstat(op.conn, op.rpath, attrs);
		if (rc == -ENOSYS) {
			/* An older server: fine unless it is a link, whose
			 * target we would change instead. */
			SftpAttrs cur;
			rc = sftpc_lstat(op.conn, op.rpath, &cur);
			if (rc == 0 && (cur.flags & SFTP_ATTR_PERMISSIONS) &&
			    S_ISLNK(cur.permissions))
				rc = -EOPNOTSUPP;
			if (rc == 0)
				rc = sftpc_setstat(op.conn, op.rpath, attrs);
		}
	}
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, FALSE, rc);
	fs_changed(op.ctx, path, FALSE);
	fs_op_end(&op);
	return rc;
}


int jfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	SftpAttrs attrs = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };
	FsFile *file = fs_file_of(fi);
	if (file != NULL)
		return fs_fix_owner_only(jfs_fsetstat(file, path, &attrs));
	/* Linux has no modes on links, so plain SETSTAT is right here. */
	return fs_fix_owner_only(fs_setstat_path(path, &attrs));
}

int jfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	FsContext *ctx = fs_ctx();
	FsFile *file = fs_file_of(fi);
	SftpAttrs attrs = { .flags = SFTP_ATTR_UIDGID };
	if (uid == (uid_t)-1 || gid == (gid_t)-1) {
		/* SFTP sets owner and group together: keep the other one. */
		SftpAttrs cur;
		int rc = fs_current_attrs(file, path, &cur);
		if (rc < 0)
			return rc;
		if (!(cur.flags & SFTP_ATTR_UIDGID))
			return -EIO;
		attrs.uid = cur.uid;
		attrs.gid = cur.gid;
	}
	if (uid != (uid_t)-1)
		attrs.uid = attrs_uid_to_remote(&ctx->ids, uid);
	if (gid != (gid_t)-1)
		attrs.gid = attrs_gid_to_remote(&ctx->ids, gid);
	return fs_fix_owner_only(fs_setstat_node(path, file, &attrs));
}

int jfs_utimens(const char *path, const struct timespec tv[2],
		       struct fuse_file_info *fi)
{
	FsFile *file = fs_file_of(fi);
	SftpAttrs cur = { 0 };
	/* Queued writes would set the mtime again when they land. */
	int settled = writeback_settle_path(fs_ctx()->wb, path);
	if (settled < 0)
		return settled;
	if (attrs_times_need_current(tv)) {
		int rc = fs_current_attrs(file, path, &cur);
		if (rc < 0)
			return rc;
		if (!(cur.flags & SFTP_ATTR_ACMODTIME))
			return -EIO;
	}
	SftpAttrs attrs = { 0 };
	/* UTIME_NOW is this machine's clock: SFTP v3 cannot ask the
	 * server to use its own. */
	if (!attrs_set_times(&attrs, tv, &cur, time(NULL)))
		return 0;
	int rc = fs_setstat_node(path, file, &attrs);
	/* A new mtime by path is news to the file's open handles (through
	 * one, jfs_fsetstat counted it already). */
	if (file == NULL)
		fs_written(fs_ctx(), path);
	/* Setting given times is for the owner only (EPERM); "now" for
	 * anyone who may write (EACCES), though over SFTP it is sent as
	 * given times too. */
	if (tv != NULL && tv[0].tv_nsec != UTIME_NOW && tv[1].tv_nsec != UTIME_NOW)
		rc = fs_fix_owner_only(rc);
	return rc;
}

int jfs_statfs(const char *path, struct statvfs *st)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_statvfs(op.conn, op.rpath, st);
	fs_op_end(&op);
	if (rc == -ENOSYS) {
		/* No statvfs@openssh.com: large round numbers, as sshfs
		 * does, so that df works and nothing thinks the disk full. */
		memset(st, 0, sizeof(*st));
		st->f_bsize = 4096;
		st->f_frsize = 4096;
		st->f_blocks = st->f_bfree = st->f_bavail =
			1000ULL * 1024 * 1024 * 1024 / st->f_frsize;
		st->f_files = st->f_ffree = st->f_favail = 1000000000;
		st->f_namemax = 255;
		rc = 0;
	}
	return rc;
}

int jfs_access(const char *path, int mask)
{
	/* Only asked without default_permissions, i.e. of the mounting user
	 * (or root with allow_root): answer from the modes shown, as the
	 * kernel would, so that `test -x` and os.access() tell the truth.
	 * The server still has the last word on every operation. */
	struct stat st;
	int rc = jfs_getattr(path, &st, NULL);
	if (rc < 0)
		return rc;
	struct fuse_context *caller = fuse_get_context();
	gid_t few[64];
	g_autofree gid_t *many = NULL;
	gid_t *groups = few;
	int ngroups = fuse_getgroups(G_N_ELEMENTS(few), few);
	if (ngroups > (int)G_N_ELEMENTS(few)) {
		many = g_new(gid_t, ngroups);
		int n = fuse_getgroups(ngroups, many);
		groups = many;
		ngroups = n <= ngroups ? n : 0;
	}
	if (ngroups < 0)
		ngroups = 0; /* /proc unreadable: the primary group only */
	/* A remote group other than the login user's: the login user may be
	 * in it, and only the server knows. */
	FsContext *ctx = fs_ctx();
	gboolean group_unknown = ctx->ids.map_user && caller->uid == ctx->ids.local_uid &&
				 st.st_gid != ctx->ids.local_gid;
	return attrs_check_access(&st, mask, caller->uid, caller->gid, groups, ngroups,
				  group_unknown);
}
