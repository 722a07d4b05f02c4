/* File operations: open, create, read, write, flush, fsync, release,
 * truncate, and the handle-based stat/setstat that getattr, chmod, chown
 * and utimens use when the kernel passes an open file. */
#include <errno.h>
#include <fcntl.h>

#include "fs/ops-file.h"

/* How far reads run ahead of a sequential reader: enough to keep a chain
 * with 80 ms of round trip busy at ~50 MB/s, small enough for the daemon's
 * memory target. */
#define READAHEAD_MAX_WINDOW (4 * 1024 * 1024)

/* Writes through this open file are queued (write-behind) unless it is
 * opened for synchronous writes, appends (whose offset the server
 * decides), or reading only. */
static gboolean fs_open_queues(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY && !(flags & (O_APPEND | O_SYNC | O_DSYNC));
}

/* Both opens: O_CREAT with attrs from create(), plain open otherwise. */
static int fs_open_common(const char *path, int flags, const SftpAttrs *attrs,
			  struct fuse_file_info *fi)
{
	/* Data other handles still have queued must not land after the
	 * truncation. */
	if (flags & O_TRUNC) {
		int rc = writeback_settle_path(fs_ctx()->wb, path);
		if (rc < 0)
			return rc;
	}
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;

	SftpHandle handle;
	SftpAttrs seen;
	int seen_rc;
	/* What the file looks like as opened, for the check of a re-open
	 * after a reconnect (the STAT rides behind the OPEN). */
	rc = sftpc_open_stat(op.conn, op.rpath, attrs_open_flags(flags), attrs, &handle,
			     &seen, &seen_rc);
	if (rc == -EIO && (flags & O_CREAT) && (flags & O_EXCL))
		rc = fs_fix_exists(op.conn, op.rpath, rc);
	/* A read-only or full file system (FAILURE on the wire). */
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, (flags & O_CREAT) != 0, rc);
	/* Before the new handle takes its base epoch: the truncation is
	 * news to other handles, not to this one. */
	if (flags & O_TRUNC)
		fs_written(op.ctx, path);
	if (rc == 0) {
		FsFile *file = fs_file_new(op.conn, op.generation, &handle, flags,
					   seen_rc == 0 ? &seen : NULL, &op.ctx->epochs,
					   path);
		if (fs_open_queues(flags))
			file->queue = writeback_file_new(op.ctx->wb, file, path);
		if ((flags & O_CREAT) && seen_rc == 0) {
			file->created = seen;
			file->created_until = g_get_monotonic_time() + G_TIME_SPAN_SECOND;
		}
		fs_handle_track(op.ctx, file);
		fi->fh = (uintptr_t)file;
	}
	/* A new file, or one whose size and mtime are about to change. */
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
		fs_changed(op.ctx, path, FALSE);
	fs_op_end(&op);
	return rc;
}

int jfs_open(const char *path, struct fuse_file_info *fi)
{
	SftpAttrs none = { 0 };
	return fs_open_common(path, fi->flags, &none, fi);
}

int jfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	/* The kernel has applied the umask to mode already; the server
	 * applies its own on top. */
	SftpAttrs attrs = {
		.flags = SFTP_ATTR_PERMISSIONS,
		.permissions = mode & 07777,
	};
	return fs_open_common(path, fi->flags | O_CREAT, &attrs, fi);
}

int jfs_read(const char *path, char *buf, size_t size, off_t offset,
	     struct fuse_file_info *fi)
{
	FsContext *ctx = fs_ctx();
	FsFile *file = fs_file_of(fi);
	if (file == NULL)
		return -EBADF;
	/* Queued writes of this path lie over what the server has. Taken
	 * before the read: a piece confirmed later is in the snapshot, one
	 * confirmed earlier bumped the write epoch (stale read-ahead goes). */
	WbSnapshot *queued = writeback_snapshot(ctx->wb, path, (uint64_t)offset, size);
	ssize_t n = fs_file_read(ctx->remote, file, path, buf, size, (uint64_t)offset,
				 READAHEAD_MAX_WINDOW, fs_write_epoch(ctx, path));
	return (int)writeback_apply(queued, buf, size, n);
}

/* A write failed with SSH_FX_FAILURE: a full (ENOSPC) or read-only (EROFS)
 * file system is what it usually means; a write that failed is never
 * reported as done, whatever the error. */
static ssize_t fs_fix_write(FsContext *ctx, SftpConn *conn, const SftpHandle *handle,
			    const char *path, size_t size, ssize_t n)
{
	if (n != -EIO)
		return n;
	g_autofree char *rpath = path ? remote_path_of(ctx->remote, path) : NULL;
	return fs_fix_failure(conn, rpath, handle, size, FALSE, (int)n);
}

/* O_APPEND: the offset the kernel passes comes from its cached size,
 * which is stale if anyone else wrote. Ask the server for the size and
 * write there, holding the handle's lock so that writes through this
 * handle follow one another. The file is also opened with SSH_FXF_APPEND,
 * which OpenSSH turns into O_APPEND on its side (then the server appends
 * whatever offset we send). Against a server that ignores the flag,
 * another client appending between our fstat and our write can still be
 * overwritten: SFTP v3 has no atomic append. */
static int fs_write_append(FsContext *ctx, FsFile *file, const char *path,
			   const char *buf, size_t size)
{
	/* The server's size must count what other handles queued. */
	int settled = writeback_settle_path(ctx->wb, path);
	if (settled < 0)
		return settled;
	g_mutex_lock(&file->lock);
	SftpConn *conn;
	SftpHandle handle;
	ssize_t n = fs_file_use_locked(ctx->remote, file, path, &conn, &handle);
	if (n == 0) {
		SftpAttrs attrs;
		n = sftpc_fstat(conn, &handle, &attrs);
		if (n == 0 && !(attrs.flags & SFTP_ATTR_SIZE))
			n = -EIO;
		if (n == 0) {
			uint64_t end = attrs.size + size;
			fs_file_seen(file, path, &attrs);
			fs_file_write_begin(file, end);
			n = sftpc_write(conn, &handle, attrs.size, buf, size);
			fs_file_write_end(file, path, end, n == (ssize_t)size);
		}
		n = fs_fix_write(ctx, conn, &handle, path, size, n);
		remote_release(ctx->remote, conn);
	}
	g_mutex_unlock(&file->lock);
	return (int)n;
}

/* An error the write-behind queue reports (rc < 0): an SSH_FX_FAILURE of
 * failed_len bytes (-EIO) is most likely a full or read-only file
 * system; ask as fs_fix_write does. */
static int fs_fix_queued(FsContext *ctx, FsFile *file, const char *path, int rc,
			 size_t failed_len)
{
	if (rc != -EIO || failed_len == 0)
		return rc;
	SftpConn *conn;
	SftpHandle handle;
	if (fs_file_use(ctx->remote, file, path, &conn, &handle) < 0)
		return rc;
	rc = (int)fs_fix_write(ctx, conn, &handle, path, failed_len, rc);
	remote_release(ctx->remote, conn);
	return rc;
}

int jfs_write(const char *path, const char *buf, size_t size, off_t offset,
	      struct fuse_file_info *fi)
{
	FsContext *ctx = fs_ctx();
	FsFile *file = fs_file_of(fi);
	if (file == NULL)
		return -EBADF;
	if (file->queue != NULL) {
		size_t failed_len = 0;
		ssize_t n = writeback_write(file->queue, path, (uint64_t)offset, buf, size,
					    &failed_len);
		return n < 0 ? fs_fix_queued(ctx, file, path, (int)n, failed_len) : (int)n;
	}
	/* Whatever happens, read-ahead of this file through any handle is
	 * stale from now on (see fs_file_read). */
	if (file->flags & O_APPEND)
		return fs_write_append(ctx, file, path, buf, size);

	uint64_t end = (uint64_t)offset + size;
	/* O_SYNC: older bytes other handles queued there land first. */
	int settled = writeback_settle_range(ctx->wb, path, (uint64_t)offset, end);
	if (settled < 0)
		return settled;
	fs_file_write_begin(file, end);
	ssize_t n = -ENOTCONN;
	/* Writing the same bytes at the same offset again is harmless, so a
	 * write cut off by a broken connection is repeated once (not so an
	 * append, which could land twice). */
	for (int attempt = 0; attempt < 2 && n == -ENOTCONN; attempt++) {
		SftpConn *conn;
		SftpHandle handle;
		int rc = fs_file_use(ctx->remote, file, path, &conn, &handle);
		if (rc < 0) {
			n = rc;
			break;
		}
		n = sftpc_write(conn, &handle, (uint64_t)offset, buf, size);
		n = fs_fix_write(ctx, conn, &handle, path, size, n);
		remote_release(ctx->remote, conn);
	}
	fs_file_write_end(file, path, end, n == (ssize_t)size);
	return (int)n;
}

/* Every byte queued through file confirmed (or the error that stopped
 * it). Without a queue, writes were synchronous: nothing to wait for. */
static int fs_sync_queue(FsContext *ctx, FsFile *file, const char *path)
{
	if (file->queue == NULL)
		return 0;
	size_t failed_len = 0;
	int rc = writeback_sync(file->queue, path, &failed_len);
	return fs_fix_queued(ctx, file, path, rc, failed_len);
}

int jfs_flush(const char *path, struct fuse_file_info *fi)
{
	/* close(2): returns only when the server has every byte. */
	FsFile *file = fs_file_of(fi);
	if (file == NULL)
		return -EBADF;
	return fs_sync_queue(fs_ctx(), file, path);
}

int jfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync; /* fsync@openssh.com has no datasync variant */
	FsContext *ctx = fs_ctx();
	FsFile *file = fs_file_of(fi);
	if (file == NULL)
		return -EBADF;
	int rc = fs_sync_queue(ctx, file, path);
	if (rc < 0)
		return rc;
	SftpConn *conn;
	SftpHandle handle;
	rc = fs_file_use(ctx->remote, file, path, &conn, &handle);
	if (rc < 0)
		return rc;
	/* One handle is enough: the server's fsync(2) flushes the file, not
	 * the descriptor, whatever channel its data came on. */
	rc = sftpc_fsync(conn, &handle);
	remote_release(ctx->remote, conn);
	/* Without fsync@openssh.com there is no way to ask; every write
	 * reply already means the server's write(2) returned, so the data
	 * is in its page cache. That is what sshfs reports as success too,
	 * and failing would break every editor. */
	if (rc == -ENOSYS)
		rc = 0;
	return rc;
}

int jfs_release(const char *path, struct fuse_file_info *fi)
{
	FsFile *file = fs_file_of(fi);
	if (file != NULL) {
		/* Listings taken while it was being written show an old size. */
		if ((file->flags & O_ACCMODE) != O_RDONLY)
			fs_changed(fs_ctx(), path, FALSE);
		/* flush came first and waited; what is left failed. */
		writeback_file_close(file->queue, path);
		fs_handle_forget(fs_ctx(), file);
		fs_file_free(file);
	}
	fi->fh = 0;
	return 0;
}

int jfs_ffstat(FsFile *file, const char *path, SftpAttrs *attrs)
{
	FsContext *ctx = fs_ctx();
	int rc = -ENOTCONN;
	for (int attempt = 0; attempt < 2 && rc == -ENOTCONN; attempt++) {
		SftpConn *conn;
		SftpHandle handle;
		rc = fs_file_use(ctx->remote, file, path, &conn, &handle);
		if (rc < 0)
			return rc;
		rc = sftpc_fstat(conn, &handle, attrs);
		remote_release(ctx->remote, conn);
	}
	if (rc == 0)
		fs_file_seen(file, path, attrs);
	return rc;
}

/* The attributes seen when create() made the file, once, right after. */
static gboolean fs_created_attrs(FsFile *file, SftpAttrs *attrs)
{
	g_mutex_lock(&file->lock);
	gboolean fresh = file->created_until != 0 &&
			 g_get_monotonic_time() < file->created_until;
	if (fresh)
		*attrs = file->created;
	file->created_until = 0;
	g_mutex_unlock(&file->lock);
	return fresh;
}

int jfs_fgetattr(FsFile *file, const char *path, struct stat *st)
{
	SftpAttrs attrs;
	WbAttrs queued;
	writeback_attrs_before(fs_ctx()->wb, path, &queued);
	int rc = fs_created_attrs(file, &attrs) ? 0 : jfs_ffstat(file, path, &attrs);
	if (rc == 0) {
		writeback_attrs_apply(&queued, &attrs);
		fs_attrs_to_stat(fs_ctx(), path, &attrs, st);
	}
	return rc;
}

int jfs_fsetstat(FsFile *file, const char *path, const SftpAttrs *attrs)
{
	FsContext *ctx = fs_ctx();
	SftpConn *conn;
	SftpHandle handle;
	int rc = fs_file_use(ctx->remote, file, path, &conn, &handle);
	if (rc < 0)
		return rc;
	rc = sftpc_fsetstat(conn, &handle, attrs);
	fs_file_setstat_done(file, path, attrs, rc == 0);
	rc = fs_fix_failure(conn, NULL, &handle, 0, FALSE, rc);
	remote_release(ctx->remote, conn);
	fs_changed(ctx, path, FALSE);
	return rc;
}

int jfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (size < 0)
		return -EINVAL;
	SftpAttrs attrs = { .flags = SFTP_ATTR_SIZE, .size = (uint64_t)size };
	/* Queued writes first, or they would land after the truncation. */
	int settled = writeback_settle_path(fs_ctx()->wb, path);
	if (settled < 0)
		return settled;
	FsFile *file = fs_file_of(fi);
	if (file != NULL)
		return jfs_fsetstat(file, path, &attrs); /* bumps the epoch */

	int rc = fs_setstat_path(path, &attrs);
	fs_written(fs_ctx(), path);
	return rc;
}
