/* The mount's context, the operations on names and attributes, and the
 * operation table. File operations are in fs/ops-file.c, directory
 * operations in fs/ops-dir.c.
 *
 * Pattern of every operation: borrow a connection (fs_op_begin), build the
 * remote path, one or a few sftpc_* calls, give the connection back
 * (fs_op_end), return 0 or -errno. No lock is held across a round trip. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "chain/errors.h"
#include "fs/ops-private.h"

void fs_options_init(FsOptions *options)
{
	memset(options, 0, sizeof(*options));
	options->idmap = FS_IDMAP_NONE;
	options->uid = -1;
	options->gid = -1;
	/* sshfs's cache_timeout default: remote changes show within 20 s,
	 * and repeated ls/stat/find cost no round trip meanwhile. */
	options->entry_timeout = 20.0;
	options->attr_timeout = 20.0;
	options->dir_timeout = 20.0;
	options->negative_timeout = 0.0;
}

FsContext *fs_context_new(Remote *remote, const FsOptions *options, GError **error)
{
	SftpConn *conn;
	int rc = remote_acquire(remote, &conn, NULL);
	if (rc < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "no connection to the server: %s", g_strerror(-rc));
		return NULL;
	}
	SftpAttrs root;
	rc = sftpc_stat(conn, remote_root(remote), &root);
	remote_release(remote, conn);
	if (rc < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "remote path '%s': %s", remote_root(remote), g_strerror(-rc));
		return NULL;
	}

	FsContext *ctx = g_new0(FsContext, 1);
	ctx->remote = remote;
	g_mutex_init(&ctx->handles_lock);
	ctx->handles = g_hash_table_new(NULL, NULL);
	ctx->options = *options;
	ctx->dircache = dircache_new(options->dir_timeout);
	/* The owner of the mounted directory stands for the login user: SFTP
	 * v3 has no way to ask who we are. */
	ctx->ids.map_user = options->idmap == FS_IDMAP_USER &&
			    (root.flags & SFTP_ATTR_UIDGID);
	ctx->ids.remote_uid = root.uid;
	ctx->ids.remote_gid = root.gid;
	ctx->ids.local_uid = getuid();
	ctx->ids.local_gid = getgid();
	ctx->ids.force_uid = options->uid;
	ctx->ids.force_gid = options->gid;
	if (options->idmap == FS_IDMAP_USER && !ctx->ids.map_user)
		g_warning("idmap=user: the server sends no owners, nothing to map");
	return ctx;
}

/* Closes and frees what the kernel did not release (it drops pending
 * RELEASE requests when a mount goes away). */
static void fs_free_handles(FsContext *ctx)
{
	g_mutex_lock(&ctx->handles_lock);
	GHashTable *handles = ctx->handles;
	ctx->handles = g_hash_table_new(NULL, NULL);
	g_mutex_unlock(&ctx->handles_lock);

	GHashTableIter iter;
	gpointer handle;
	g_hash_table_iter_init(&iter, handles);
	while (g_hash_table_iter_next(&iter, &handle, NULL)) {
		if (*(FsHandleKind *)handle == FS_HANDLE_FILE)
			fs_file_free(handle);
		else
			fs_dir_free(handle);
	}
	if (g_hash_table_size(handles) > 0)
		g_message("closed %u files left open at unmount",
			  g_hash_table_size(handles));
	g_hash_table_unref(handles);
}

void fs_context_free(FsContext *ctx)
{
	if (ctx == NULL)
		return;
	fs_free_handles(ctx);
	g_hash_table_unref(ctx->handles);
	g_mutex_clear(&ctx->handles_lock);
	dircache_free(ctx->dircache);
	g_free(ctx);
}

void fs_handle_track(FsContext *ctx, void *handle)
{
	g_mutex_lock(&ctx->handles_lock);
	g_hash_table_add(ctx->handles, handle);
	g_mutex_unlock(&ctx->handles_lock);
}

void fs_handle_forget(FsContext *ctx, void *handle)
{
	g_mutex_lock(&ctx->handles_lock);
	g_hash_table_remove(ctx->handles, handle);
	g_mutex_unlock(&ctx->handles_lock);
}

FsContext *fs_ctx(void)
{
	return fuse_get_context()->private_data;
}

/* A last component longer than NAME_MAX: OpenSSH's server answers such
 * names with BAD_MESSAGE or FAILURE, never ENAMETOOLONG, so refuse them
 * here as a local file system would. (The kernel itself allows FUSE names
 * up to 1024 bytes.) */
static gboolean fs_name_too_long(const char *path)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;
	return slash != NULL && strlen(slash + 1) > NAME_MAX;
}

int fs_op_begin(FsOp *op, const char *path)
{
	op->ctx = fs_ctx();
	op->conn = NULL;
	op->generation = 0;
	op->rpath = NULL;
	if (fs_name_too_long(path))
		return -ENAMETOOLONG;
	int rc = remote_acquire(op->ctx->remote, &op->conn, &op->generation);
	if (rc < 0)
		return rc;
	if (path != NULL)
		op->rpath = remote_path_of(op->ctx->remote, path);
	return 0;
}

void fs_changed(FsContext *ctx, const char *path, gboolean subtree)
{
	if (path != NULL)
		dircache_entry_changed(ctx->dircache, path, subtree);
}

static gint *fs_epoch_slot(FsContext *ctx, const char *path)
{
	guint h = g_str_hash(path != NULL ? path : "");
	return &ctx->write_epochs[h % G_N_ELEMENTS(ctx->write_epochs)];
}

void fs_written(FsContext *ctx, const char *path)
{
	g_atomic_int_inc(fs_epoch_slot(ctx, path));
}

guint fs_write_epoch(FsContext *ctx, const char *path)
{
	return (guint)g_atomic_int_get(fs_epoch_slot(ctx, path));
}

void fs_op_end(FsOp *op)
{
	if (op->conn != NULL)
		remote_release(op->ctx->remote, op->conn);
	op->conn = NULL;
	g_free(op->rpath);
	op->rpath = NULL;
}

/* ---- telling SSH_FX_FAILURE apart ---- */

int fs_fix_exists(SftpConn *conn, const char *rpath, int rc)
{
	SftpAttrs attrs;
	if (rc == -EIO && sftpc_lstat(conn, rpath, &attrs) == 0)
		return -EEXIST;
	return rc;
}

int fs_fix_failure(SftpConn *conn, const char *rpath, const SftpHandle *handle,
		   uint64_t need, gboolean creating, int rc)
{
	if (rc != -EIO)
		return rc;
	struct statvfs st;
	int err = handle != NULL ? sftpc_fstatvfs(conn, handle, &st) : -ENOSYS;
	if (err < 0 && rpath != NULL) {
		err = sftpc_statvfs(conn, rpath, &st);
		if (err == -ENOENT) {
			/* Not created: its directory is on the same file system
			 * (unless rpath was to be a mount point: never). */
			g_autofree char *dir = g_path_get_dirname(rpath);
			err = sftpc_statvfs(conn, dir, &st);
		}
	}
	if (err < 0)
		return rc;
	if (st.f_flag & ST_RDONLY)
		return -EROFS;
	uint64_t avail = (uint64_t)st.f_bavail * (st.f_frsize ? st.f_frsize : st.f_bsize);
	if (need > 0 && avail < need)
		return -ENOSPC;
	if (creating && (st.f_bavail == 0 || (st.f_files > 0 && st.f_favail == 0)))
		return -ENOSPC;
	return rc;
}

gboolean fs_is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

int fs_fix_notempty(SftpConn *conn, const char *rpath, int rc)
{
	SftpAttrs attrs;
	if (rc != -EIO || sftpc_lstat(conn, rpath, &attrs) < 0 ||
	    !(attrs.flags & SFTP_ATTR_PERMISSIONS) || !S_ISDIR(attrs.permissions))
		return rc;
	SftpHandle handle;
	if (sftpc_opendir(conn, rpath, &handle) < 0)
		return rc;
	GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	gboolean has_entry = FALSE;
	while (!has_entry && sftpc_readdir(conn, &handle, names) > 0) {
		for (guint i = 0; i < names->len && !has_entry; i++) {
			const SftpName *name = g_ptr_array_index(names, i);
			has_entry = !fs_is_dot_or_dotdot(name->name);
		}
		g_ptr_array_set_size(names, 0);
	}
	g_ptr_array_unref(names);
	sftpc_close(conn, &handle);
	return has_entry ? -ENOTEMPTY : rc;
}

/* ---- attributes ---- */

int fs_stat_path(FsOp *op, const char *rpath, SftpAttrs *attrs)
{
	if (op->ctx->options.follow_symlinks) {
		int rc = sftpc_stat(op->conn, rpath, attrs);
		if (rc != -ENOENT)
			return rc;
		/* A dangling link: show the link rather than nothing. */
	}
	return sftpc_lstat(op->conn, rpath, attrs);
}

static int jfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	FsFile *file = fs_file_of(fi);
	if (file != NULL)
		return jfs_fgetattr(file, path, st);

	int rc = -ENOTCONN;
	/* A stat may be repeated: once more if the connection broke. */
	for (int attempt = 0; attempt < 2 && rc == -ENOTCONN; attempt++) {
		FsOp op;
		rc = fs_op_begin(&op, path);
		if (rc < 0)
			return rc;
		SftpAttrs attrs;
		rc = fs_stat_path(&op, op.rpath, &attrs);
		if (rc == 0)
			attrs_to_stat(&attrs, &op.ctx->ids, st);
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

int fs_setstat_path(const char *path, const SftpAttrs *attrs)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_setstat(op.conn, op.rpath, attrs);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, FALSE, rc);
	fs_changed(op.ctx, path, FALSE);
	fs_op_end(&op);
	return rc;
}

static int jfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	SftpAttrs attrs = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };
	FsFile *file = fs_file_of(fi);
	if (file != NULL)
		return fs_fix_owner_only(jfs_fsetstat(file, path, &attrs));
	/* Linux has no modes on links, so plain SETSTAT is right here. */
	return fs_fix_owner_only(fs_setstat_path(path, &attrs));
}

static int jfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
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

static int jfs_utimens(const char *path, const struct timespec tv[2],
		       struct fuse_file_info *fi)
{
	FsFile *file = fs_file_of(fi);
	SftpAttrs cur = { 0 };
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
	/* Setting given times is for the owner only (EPERM); "now" for
	 * anyone who may write (EACCES), though over SFTP it is sent as
	 * given times too. */
	if (tv != NULL && tv[0].tv_nsec != UTIME_NOW && tv[1].tv_nsec != UTIME_NOW)
		rc = fs_fix_owner_only(rc);
	return rc;
}

/* ---- names ---- */

/* An absolute target inside the mounted remote directory, rewritten
 * relative to the link's directory so it resolves inside the mount
 * (sshfs -o transform_symlinks). NULL when target stays as it is. */
static char *fs_transform_symlink(const char *root, const char *link_path,
				  const char *target)
{
	if (target[0] != '/')
		return NULL;
	const char *rest;
	if (strcmp(root, "/") == 0) {
		rest = target + 1;
	} else {
		size_t len = strlen(root);
		if (strncmp(target, root, len) != 0)
			return NULL;
		if (target[len] == '\0')
			rest = "";
		else if (target[len] == '/')
			rest = target + len + 1;
		else
			return NULL; /* "/root2/x" is not inside "/root" */
	}
	GString *rel = g_string_new(NULL);
	for (const char *p = link_path + 1; *p != '\0'; p++)
		if (*p == '/')
			g_string_append(rel, "../");
	g_string_append(rel, rest);
	if (rel->len == 0)
		g_string_append_c(rel, '.');
	else if (rel->len > 1 && rel->str[rel->len - 1] == '/')
		g_string_truncate(rel, rel->len - 1);
	return g_string_free(rel, FALSE);
}

static int jfs_readlink(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	char *target = NULL;
	rc = sftpc_readlink(op.conn, op.rpath, &target);
	if (rc == 0) {
		char *rel = NULL;
		if (op.ctx->options.transform_symlinks)
			rel = fs_transform_symlink(remote_root(op.ctx->remote), path, target);
		/* FUSE truncates like readlink(2); the buffer is size bytes
		 * including the terminating NUL. */
		g_strlcpy(buf, rel ? rel : target, size);
		g_free(rel);
		g_free(target);
	}
	fs_op_end(&op);
	return rc;
}

static int jfs_symlink(const char *target, const char *link_path)
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

static int jfs_unlink(const char *path)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_remove(op.conn, op.rpath);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, FALSE, rc);
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

static int jfs_rename(const char *from, const char *to, unsigned int flags)
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
	fs_changed(op.ctx, from, TRUE);
	fs_changed(op.ctx, to, TRUE);
	fs_op_end(&op);
	return rc;
}

static int jfs_link(const char *from, const char *to)
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
	g_free(rto);
	fs_changed(op.ctx, to, FALSE);
	fs_op_end(&op);
	return rc;
}

/* libfuse makes regular files through create(); anything else (FIFOs,
 * sockets, devices) SFTP cannot make: refuse as a file system without
 * them does, rather than with ENOSYS. */
static int jfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	(void)path;
	(void)mode;
	(void)rdev;
	return -EPERM;
}

/* ---- the file system ---- */

static int jfs_statfs(const char *path, struct statvfs *st)
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

static int jfs_access(const char *path, int mask)
{
	/* The server checks every operation as the login user (and the
	 * kernel checks modes with -o default_permissions); a second guess
	 * here would only be wrong in other ways. */
	(void)path;
	(void)mask;
	return 0;
}

static void *jfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	FsContext *ctx = fs_ctx();
	cfg->use_ino = 0;
	cfg->readdir_ino = 0;
	/* Paths even for open files: a file re-opened after a reconnect
	 * must be found by its current name, which follows renames. */
	cfg->nullpath_ok = 0;
	/* hard_remove stays 0: unlinking an open file renames it to
	 * .fuse_hiddenNNN on the server until it is closed (as sshfs does).
	 * With hard_remove libfuse has no path for such a file, so fstat
	 * fails (ESTALE) and a reconnect loses it. The price: the hidden
	 * file is visible to others, keeps its directory from being
	 * removed, and stays behind if jumpfs dies. */
	cfg->hard_remove = 0;
	cfg->entry_timeout = ctx->options.entry_timeout;
	cfg->attr_timeout = ctx->options.attr_timeout;
	cfg->negative_timeout = ctx->options.negative_timeout;
	/* Keep a file's pages across opens while its size and mtime are
	 * unchanged (libfuse compares them at open). */
	cfg->auto_cache = 1;
	/* O_TRUNC goes with the open (SSH_FXF_TRUNC) rather than as a
	 * separate truncate. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* The kernel's write-back cache would turn appends and sizes into
	 * guesses against a remote file that others change. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	return ctx;
}

static void jfs_destroy(void *private_data)
{
	fs_free_handles(private_data);
}

static const struct fuse_operations fs_ops = {
	.init = jfs_init,
	.destroy = jfs_destroy,
	.getattr = jfs_getattr,
	.readlink = jfs_readlink,
	.mknod = jfs_mknod,
	.mkdir = jfs_mkdir,
	.unlink = jfs_unlink,
	.rmdir = jfs_rmdir,
	.symlink = jfs_symlink,
	.rename = jfs_rename,
	.link = jfs_link,
	.chmod = jfs_chmod,
	.chown = jfs_chown,
	.truncate = jfs_truncate,
	.open = jfs_open,
	.read = jfs_read,
	.write = jfs_write,
	.statfs = jfs_statfs,
	.flush = jfs_flush,
	.release = jfs_release,
	.fsync = jfs_fsync,
	.opendir = jfs_opendir,
	.readdir = jfs_readdir,
	.releasedir = jfs_releasedir,
	.access = jfs_access,
	.create = jfs_create,
	.utimens = jfs_utimens,
};

const struct fuse_operations *fs_operations(void)
{
	return &fs_ops;
}
