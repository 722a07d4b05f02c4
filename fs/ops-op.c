/* The operation framework: borrowing a connection per operation, the
 * fix-ups of SSH_FX_FAILURE, listing-cache and write-epoch notices, and
 * the register of open handles (see fs/ops-op.h). Calls nothing in the
 * other fs/ops*.c files.
 *
 * Pattern of every operation: borrow a connection (fs_op_begin), build the
 * remote path, one or a few sftpc_* calls, give the connection back
 * (fs_op_end), return 0 or -errno. No lock is held across a round trip. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fs/ops-op.h"

/* How long a request waits for a kernel invalidation it asked for. */
#define FS_FORGET_WAIT_US (200 * G_TIME_SPAN_MILLISECOND)

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

/* Closes and frees what the kernel did not release (it drops pending
 * RELEASE requests when a mount goes away). */
void fs_handle_free_all(FsContext *ctx)
{
	g_mutex_lock(&ctx->handles_lock);
	GHashTable *handles = ctx->handles;
	ctx->handles = g_hash_table_new(NULL, NULL);
	g_mutex_unlock(&ctx->handles_lock);

	GHashTableIter iter;
	gpointer handle;
	g_hash_table_iter_init(&iter, handles);
	while (g_hash_table_iter_next(&iter, &handle, NULL)) {
		if (*(FsHandleKind *)handle == FS_HANDLE_FILE) {
			FsFile *file = handle;
			writeback_file_close(file->queue, NULL);
			fs_file_free(file);
		} else
			fs_dir_free(handle);
	}
	if (g_hash_table_size(handles) > 0)
		g_message("closed %u files left open at unmount",
			  g_hash_table_size(handles));
	g_hash_table_unref(handles);
}

/* A last component longer than NAME_MAX: OpenSSH's server answers such
 * names with BAD_MESSAGE or FAILURE, never ENAMETOOLONG, so refuse them
 * here as a local file system would. (The kernel itself allows FUSE names
 * up to 1024 bytes.) */
gboolean fs_name_too_long(const char *path)
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
	if (path == NULL)
		return;
	dircache_entry_changed(ctx->dircache, path, subtree);
	fs_nlinks_touched(ctx->nlinks, path);
	newdirs_touched(ctx->newdirs, path, subtree);
}

void fs_written(FsContext *ctx, const char *path)
{
	fs_epochs_bump(&ctx->epochs, path);
}

guint fs_write_epoch(FsContext *ctx, const char *path)
{
	return fs_epochs_get(&ctx->epochs, path);
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

void fs_attrs_to_stat(FsContext *ctx, const char *path, const SftpAttrs *attrs,
		      struct stat *st)
{
	attrs_to_stat(attrs, &ctx->ids, st);
	if (path != NULL)
		st->st_nlink = fs_nlinks_get(ctx->nlinks, path, attrs);
}

/* One invalidation, shared by the request that waits for it and the
 * thread that sends it. */
typedef struct {
	gint refs;
	struct fuse *fuse;
	char *path;
	GMutex lock;
	GCond cond;
	gboolean done;
} FsForget;

static void fs_forget_unref(FsForget *job)
{
	if (!g_atomic_int_dec_and_test(&job->refs))
		return;
	g_free(job->path);
	g_mutex_clear(&job->lock);
	g_cond_clear(&job->cond);
	g_free(job);
}

static void fs_forget_run(gpointer data, gpointer user_data)
{
	(void)user_data;
	FsForget *job = data;
	/* -ENOENT: the kernel never looked it up, nothing to forget. */
	fuse_invalidate_path(job->fuse, job->path);
	g_mutex_lock(&job->lock);
	job->done = TRUE;
	g_cond_signal(&job->cond);
	g_mutex_unlock(&job->lock);
	fs_forget_unref(job);
}

void fs_forget_attrs(const char *path)
{
	FsContext *ctx = fs_ctx();
	struct fuse *fuse = fuse_get_context()->fuse;
	if (fuse == NULL || ctx->forgetter == NULL)
		return;
	FsForget *job = g_new0(FsForget, 1);
	job->refs = 2;
	job->fuse = fuse;
	job->path = g_strdup(path);
	g_mutex_init(&job->lock);
	g_cond_init(&job->cond);
	g_thread_pool_push(ctx->forgetter, job, NULL);
	/* Sent from another thread, and waited for only a moment: the kernel
	 * may need a page of the file that a READ still queued behind this
	 * request holds (with -s nobody else would serve it). Normally it is
	 * done before the reply, so a stat right after sees the new count. */
	gint64 until = g_get_monotonic_time() + FS_FORGET_WAIT_US;
	g_mutex_lock(&job->lock);
	while (!job->done && g_cond_wait_until(&job->cond, &job->lock, until))
		;
	g_mutex_unlock(&job->lock);
	fs_forget_unref(job);
}

void fs_forgetter_start(FsContext *ctx)
{
	ctx->forgetter = g_thread_pool_new(fs_forget_run, NULL, 1, FALSE, NULL);
}

void fs_forgetter_stop(FsContext *ctx)
{
	if (ctx->forgetter != NULL)
		g_thread_pool_free(ctx->forgetter, FALSE, TRUE);
	ctx->forgetter = NULL;
}
