/* Directory operations: opendir, readdir, releasedir, mkdir, rmdir.
 *
 * readdir streams: entries go from one SFTP READDIR reply straight into
 * the kernel's buffer, with offsets (the entry's position + 1), so libfuse
 * never collects the whole directory and we hold at most one reply. When
 * the kernel's buffer is full, the rest of the reply waits in the FsDir
 * for the next call, which comes with the offset we gave. A call with any
 * other offset (rewinddir, seekdir, or a connection that broke) re-opens
 * the directory and skips entries up to that offset. */
#include <errno.h>
#include <string.h>

#include "fs/ops-dir.h"

/* More entries than any real directory has: a server that answers every
 * READDIR forever gets an error, not an endless listing. (Streamed, so
 * this bounds time, not memory.) */
#define FS_DIR_MAX_ENTRIES 4000000

int jfs_opendir(const char *path, struct fuse_file_info *fi)
{
	FsContext *ctx = fs_ctx();
	/* A listing taken a moment ago: no round trip at all. */
	GPtrArray *listing = dircache_get(ctx->dircache, path);
	if (listing != NULL) {
		FsDir *dir = fs_dir_new_cached(listing);
		g_ptr_array_unref(listing);
		fs_handle_track(ctx, dir);
		fi->fh = (uintptr_t)dir;
		return 0;
	}

	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	SftpHandle handle;
	rc = sftpc_opendir(op.conn, op.rpath, &handle);
	if (rc == 0) {
		FsDir *dir = fs_dir_new(op.conn, &handle);
		if (dircache_enabled(ctx->dircache)) {
			dir->collect = g_ptr_array_new_with_free_func(
				(GDestroyNotify)sftp_name_free);
			dir->collect_started = g_get_monotonic_time();
		}
		fs_handle_track(op.ctx, dir);
		fi->fh = (uintptr_t)dir;
	}
	fs_op_end(&op);
	return rc;
}

int jfs_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	FsDir *dir = fs_dir_of(fi);
	if (dir != NULL) {
		fs_handle_forget(fs_ctx(), dir);
		fs_dir_free(dir);
	}
	fi->fh = 0;
	return 0;
}

/* Start the listing again from the first entry. Called with dir->lock. */
static int fs_dir_reopen(FsDir *dir, const char *path)
{
	fs_dir_close(dir);
	if (path == NULL)
		return -ENOENT; /* removed while open */
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_opendir(op.conn, op.rpath, &dir->handle);
	if (rc == 0)
		dir->conn = sftpc_ref(op.conn);
	fs_op_end(&op);
	return rc;
}

/* The next entry (still owned by dir->batch; consume it by advancing
 * dir->next and dir->pos). Returns 1, 0 at the end, or -errno. A second
 * "." or ".." is skipped; a listing longer than FS_DIR_MAX_ENTRIES is a
 * server that never ends it: EIO. */
static int fs_dir_peek(FsDir *dir, const char *path, SftpName **entry)
{
	for (;;) {
		if (dir->next >= dir->batch->len) {
			if (dir->eof)
				return 0;
			if (dir->pos >= FS_DIR_MAX_ENTRIES) {
				g_warning("%s: the server lists more than %d entries and "
					  "does not stop: giving up the listing", path,
					  FS_DIR_MAX_ENTRIES);
				return -EIO;
			}
			g_ptr_array_set_size(dir->batch, 0);
			dir->next = 0;
			int rc = sftpc_readdir(dir->conn, &dir->handle, dir->batch);
			if (rc < 0)
				return rc;
			if (rc == 0 || dir->batch->len == 0) {
				dir->eof = TRUE;
				return 0;
			}
		}
		*entry = g_ptr_array_index(dir->batch, dir->next);
		if (!fs_is_dot_or_dotdot((*entry)->name))
			return 1;
		guint bit = (*entry)->name[1] == '\0' ? 1 : 2;
		if (!(dir->dots_seen & bit)) {
			dir->dots_seen |= bit;
			return 1;
		}
		dir->next++; /* a duplicate: not an entry of ours */
	}
}

static void fs_dir_advance(FsDir *dir)
{
	dir->next++;
	dir->pos++;
}

/* What the kernel gets for one entry: attributes only when it asked for
 * them (readdirplus) and we know them. */
static enum fuse_fill_dir_flags fs_dir_entry_stat(FsContext *ctx, const char *path,
						  const SftpName *entry,
						  enum fuse_readdir_flags flags,
						  struct stat *st)
{
	attrs_to_stat(&entry->attrs, &ctx->ids, st);
	if (S_ISREG(st->st_mode) && entry->nlink > 1) {
		/* OpenSSH's longname tells the link count: show it, and
		 * keep it for a stat of the name (fs/nlinks.h). */
		st->st_nlink = entry->nlink;
		g_autofree char *child = g_build_path("/", path, entry->name, NULL);
		fs_nlinks_learn(ctx->nlinks, child, &entry->attrs, entry->nlink);
	}
	if (!(entry->attrs.flags & SFTP_ATTR_PERMISSIONS)) {
		st->st_mode = 0; /* type unknown: the kernel will look it up */
		return 0;
	}
	if (S_ISLNK(st->st_mode) && ctx->options.follow_symlinks) {
		/* READDIR attributes are the link's own; what it points to
		 * is for a lookup to find. */
		memset(st, 0, sizeof(*st));
		return 0;
	}
	/* libfuse 3.14 gives "." and ".." with attributes inode number 0,
	 * which readdir(3) skips as deleted entries: send them plain. */
	if (fs_is_dot_or_dotdot(entry->name))
		return 0;
	return (flags & FUSE_READDIR_PLUS) ? FUSE_FILL_DIR_PLUS : 0;
}

/* A copy of entry for the listing cache, while the listing is small
 * enough to be kept. */
static void fs_dir_collect(FsDir *dir, const SftpName *entry)
{
	if (dir->collect == NULL)
		return;
	if (dir->collect->len >= DIRCACHE_MAX_ENTRIES) {
		g_clear_pointer(&dir->collect, g_ptr_array_unref);
		return;
	}
	SftpName *copy = g_new(SftpName, 1);
	copy->name = g_strdup(entry->name);
	copy->attrs = entry->attrs;
	copy->nlink = entry->nlink;
	g_ptr_array_add(dir->collect, copy);
}

int jfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		off_t offset, struct fuse_file_info *fi,
		enum fuse_readdir_flags flags)
{
	FsContext *ctx = fs_ctx();
	FsDir *dir = fs_dir_of(fi);
	if (dir == NULL)
		return -EBADF;

	g_mutex_lock(&dir->lock);
	SftpName *entry = NULL;
	int rc = 0;
	gboolean usable = dir->cached || (dir->conn != NULL && !sftpc_is_broken(dir->conn));
	if (!usable || offset != dir->pos) {
		rc = fs_dir_reopen(dir, path);
		while (rc == 0 && dir->pos < offset) {
			rc = fs_dir_peek(dir, path, &entry);
			if (rc == 1) {
				fs_dir_advance(dir);
				rc = 0;
			} else if (rc == 0) {
				break; /* the directory shrank: nothing left */
			}
		}
	}

	int filled = 0;
	while (rc >= 0) {
		rc = fs_dir_peek(dir, path, &entry);
		if (rc <= 0)
			break;
		struct stat st;
		enum fuse_fill_dir_flags fill = fs_dir_entry_stat(ctx, path, entry, flags, &st);
		/* Being written (write-behind): the server's size is behind;
		 * the kernel asks getattr, which knows better. */
		if (fill == FUSE_FILL_DIR_PLUS &&
		    writeback_entry_queued(ctx->wb, path, entry->name))
			fill = 0;
		if (filler(buf, entry->name, &st, dir->pos + 1, fill) != 0) {
			rc = 0; /* the kernel's buffer is full: keep entry */
			break;
		}
		fs_dir_collect(dir, entry);
		fs_dir_advance(dir);
		filled++;
	}
	if (rc == 0 && dir->eof && dir->collect != NULL) {
		/* The whole listing went by in order: keep it. */
		dircache_put(ctx->dircache, path, dir->collect, dir->collect_started);
		g_clear_pointer(&dir->collect, g_ptr_array_unref);
	}
	/* Entries already in the buffer are good; the next call starts at
	 * dir->pos and meets the error again if it persists. */
	if (rc < 0 && filled > 0)
		rc = 0;
	g_mutex_unlock(&dir->lock);
	return rc < 0 ? rc : 0;
}

int jfs_mkdir(const char *path, mode_t mode)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_mkdir(op.conn, op.rpath, mode & 07777);
	rc = fs_fix_exists(op.conn, op.rpath, rc);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, TRUE, rc);
	fs_changed(op.ctx, path, FALSE);
	/* Empty: lookups in it need no round trip (cp -r, tar x). */
	if (rc == 0)
		newdirs_made(op.ctx->newdirs, path);
	fs_op_end(&op);
	return rc;
}

int jfs_rmdir(const char *path)
{
	FsOp op;
	int rc = fs_op_begin(&op, path);
	if (rc < 0)
		return rc;
	rc = sftpc_rmdir(op.conn, op.rpath);
	rc = fs_fix_notempty(op.conn, op.rpath, rc);
	rc = fs_fix_failure(op.conn, op.rpath, NULL, 0, FALSE, rc);
	fs_changed(op.ctx, path, TRUE);
	fs_op_end(&op);
	return rc;
}
