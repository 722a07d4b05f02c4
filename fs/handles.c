/* Open files and directories in fi->fh, and re-opening after a reconnect. */
#include "fs/handles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "fs/attrs.h"

FsFile *fs_file_new(SftpConn *conn, guint generation, const SftpHandle *handle,
		    int flags, const SftpAttrs *seen, FsEpochs *epochs,
		    const char *path)
{
	FsFile *file = g_new0(FsFile, 1);
	file->kind = FS_HANDLE_FILE;
	g_mutex_init(&file->lock);
	g_mutex_init(&file->read_lock);
	g_mutex_init(&file->ident_lock);
	file->conn = sftpc_ref(conn);
	file->generation = generation;
	file->handle = *handle;
	file->flags = flags;
	file->epochs = epochs;
	file->epoch_base = fs_epochs_get(epochs, path);
	if (seen != NULL)
		fs_identity_seen(&file->ident, seen);
	return file;
}

/* Called with ident_lock: did anyone but this handle change the file
 * through the mount since ident was last seen? */
static void fs_file_note_others(FsFile *file, const char *path)
{
	if (fs_epochs_get(file->epochs, path) - file->epoch_base != file->own_bumps)
		fs_identity_others_wrote(&file->ident);
}

/* Called with ident_lock. */
static void fs_file_rebase(FsFile *file, const char *path, const SftpAttrs *attrs)
{
	if (file->ident.inflight > 0)
		return;
	fs_file_note_others(file, path);
	if (file->ident.others && path == NULL)
		return; /* cannot take a base without the path's epoch */
	fs_identity_seen(&file->ident, attrs);
	file->epoch_base = fs_epochs_get(file->epochs, path);
	file->own_bumps = 0;
}

void fs_file_seen(FsFile *file, const char *path, const SftpAttrs *attrs)
{
	g_mutex_lock(&file->ident_lock);
	fs_file_rebase(file, path, attrs);
	g_mutex_unlock(&file->ident_lock);
}

void fs_file_write_begin(FsFile *file, uint64_t end)
{
	g_mutex_lock(&file->ident_lock);
	fs_identity_write_begin(&file->ident, end);
	g_mutex_unlock(&file->ident_lock);
}

/* Called with ident_lock: this handle changed the file's content. */
static void fs_file_bump(FsFile *file, const char *path)
{
	fs_epochs_bump(file->epochs, path);
	file->own_bumps++;
}

void fs_file_write_end(FsFile *file, const char *path, uint64_t end, gboolean ok)
{
	g_mutex_lock(&file->ident_lock);
	fs_identity_write_end(&file->ident, end, ok);
	fs_file_bump(file, path);
	g_mutex_unlock(&file->ident_lock);
}

void fs_file_setstat_done(FsFile *file, const char *path, const SftpAttrs *attrs,
			  gboolean ok)
{
	if (!(attrs->flags & (SFTP_ATTR_SIZE | SFTP_ATTR_ACMODTIME)))
		return;
	g_mutex_lock(&file->ident_lock);
	if (attrs->flags & SFTP_ATTR_SIZE)
		fs_identity_truncated(&file->ident, attrs->size, ok);
	if (attrs->flags & SFTP_ATTR_ACMODTIME)
		fs_identity_times_set(&file->ident, attrs->mtime);
	fs_file_bump(file, path);
	g_mutex_unlock(&file->ident_lock);
}

int fs_file_check_identity(FsFile *file, const char *path, SftpConn *conn,
			   const SftpHandle *handle)
{
	SftpAttrs now;
	int rc = sftpc_fstat(conn, handle, &now);
	if (rc == -ENOTCONN)
		return rc;
	g_autofree char *why = NULL;
	g_mutex_lock(&file->ident_lock);
	if (rc < 0) {
		why = g_strdup_printf("it cannot be checked (fstat: %s)", g_strerror(-rc));
	} else {
		fs_file_note_others(file, path);
		why = fs_identity_mismatch(&file->ident, &now);
		if (why == NULL)
			fs_file_rebase(file, path, &now);
	}
	g_mutex_unlock(&file->ident_lock);
	if (why == NULL)
		return 0;
	g_warning("%s: not the file that was open before the reconnect (%s); "
		  "reads and writes through the open file fail with EIO from now on",
		  path != NULL ? path : "(unnamed file)", why);
	return -EIO;
}

void fs_file_free(FsFile *file)
{
	if (file == NULL)
		return;
	sftpc_readahead_free(file->readahead);
	if (file->conn != NULL) {
		/* Nothing to close on a broken connection: the server
		 * closed everything when the stream went. */
		if (!file->lost && !sftpc_is_broken(file->conn))
			sftpc_close_detached(file->conn, &file->handle);
		sftpc_unref(file->conn);
	}
	g_mutex_clear(&file->lock);
	g_mutex_clear(&file->read_lock);
	g_mutex_clear(&file->ident_lock);
	file->kind = 0;
	g_free(file);
}

FsFile *fs_file_of(const struct fuse_file_info *fi)
{
	if (fi == NULL || fi->fh == 0)
		return NULL;
	FsFile *file = (FsFile *)(uintptr_t)fi->fh;
	return file->kind == FS_HANDLE_FILE ? file : NULL;
}

/* The connection of file broke: open it again by path on a live one.
 * Called with file->lock held. */
static int fs_file_reopen(Remote *remote, FsFile *file, const char *path)
{
	if (path == NULL) {
		/* Unlinked while open: its name, if any, is another file's. */
		g_warning("lost an open file that has no name any more");
		file->lost = TRUE;
		return -EIO;
	}
	char *rpath = remote_path_of(remote, path);
	SftpAttrs none = { 0 };
	SftpHandle handle;
	int flags = file->flags & ~(O_CREAT | O_TRUNC | O_EXCL);
	SftpConn *conn = NULL;
	guint generation = 0;
	int rc = -ENOTCONN;
	/* The first connection offered may be one whose break nobody has
	 * noticed yet: then the next one is new. */
	gboolean no_conn = FALSE;
	for (int attempt = 0; attempt < 3 && rc == -ENOTCONN; attempt++) {
		if (conn != NULL)
			remote_release(remote, conn);
		conn = NULL;
		rc = remote_acquire(remote, &conn, &generation);
		/* No connection (interrupted, the chain down or refusing our
		 * login) says nothing about the file: a later use tries again. */
		no_conn = rc < 0;
		if (rc < 0)
			break;
		rc = sftpc_open(conn, rpath, attrs_open_flags(flags), &none, &handle);
		if (rc == 0) {
			rc = fs_file_check_identity(file, path, conn, &handle);
			if (rc == -EIO) {
				/* Logged; the file is someone else's now. */
				sftpc_close_detached(conn, &handle);
				file->lost = TRUE;
				remote_release(remote, conn);
				g_free(rpath);
				return rc;
			}
		}
	}
	if (rc < 0 && (no_conn || rc == -ENOTCONN)) {
		if (conn != NULL)
			remote_release(remote, conn);
		g_free(rpath);
		return rc == -EACCES || rc == -EINTR ? rc : -ENOTCONN;
	}
	if (rc < 0) {
		g_warning("re-opening %s after reconnecting: %s", rpath, g_strerror(-rc));
		/* The file went away: whatever gets that name later is
		 * another file. */
		file->lost = TRUE;
		if (conn != NULL)
			remote_release(remote, conn);
		g_free(rpath);
		return -EIO;
	}
	g_message("re-opened %s on connection %u (was %u)", rpath, generation,
		  file->generation);
	g_free(rpath);
	sftpc_unref(file->conn);
	file->conn = conn; /* keeps the reference from remote_acquire */
	file->generation = generation;
	file->handle = handle;
	return 0;
}

int fs_file_use_locked(Remote *remote, FsFile *file, const char *path,
		       SftpConn **conn, SftpHandle *handle)
{
	if (file->lost)
		return -EIO;
	if (sftpc_is_broken(file->conn)) {
		int rc = fs_file_reopen(remote, file, path);
		if (rc < 0)
			return rc;
	}
	*conn = sftpc_ref(file->conn);
	*handle = file->handle;
	return 0;
}

int fs_file_use(Remote *remote, FsFile *file, const char *path,
		SftpConn **conn, SftpHandle *handle)
{
	g_mutex_lock(&file->lock);
	int rc = fs_file_use_locked(remote, file, path, conn, handle);
	g_mutex_unlock(&file->lock);
	return rc;
}

/* Called with read_lock held: a stream on the handle's current connection
 * (a re-open makes a new handle on a new connection). */
static SftpReadahead *fs_file_readahead_for(FsFile *file, SftpConn *conn,
					    const SftpHandle *handle, size_t max_window)
{
	if (file->readahead != NULL &&
	    (file->readahead_conn != conn ||
	     file->readahead_handle.len != handle->len ||
	     memcmp(file->readahead_handle.data, handle->data, handle->len) != 0))
		g_clear_pointer(&file->readahead, sftpc_readahead_free);
	if (file->readahead == NULL) {
		file->readahead = sftpc_readahead_new(conn, handle, max_window);
		file->readahead_conn = conn;
		file->readahead_handle = *handle;
	}
	return file->readahead;
}

ssize_t fs_file_read(Remote *remote, FsFile *file, const char *path, void *buf,
		     size_t size, uint64_t offset, size_t max_window, guint write_epoch)
{
	ssize_t n = -ENOTCONN;
	g_mutex_lock(&file->read_lock);
	if (file->readahead_epoch != write_epoch) {
		/* Written since (through any handle): prefetched data, and the
		 * EOF it saw, may be old. */
		if (file->readahead != NULL)
			sftpc_readahead_invalidate(file->readahead);
		file->readahead_epoch = write_epoch;
	}
	/* A read may be repeated: if the connection breaks under it, try
	 * once more on a new one (the file is re-opened by path). */
	for (int attempt = 0; attempt < 2 && n == -ENOTCONN; attempt++) {
		SftpConn *conn;
		SftpHandle handle;
		int rc = fs_file_use(remote, file, path, &conn, &handle);
		if (rc < 0) {
			n = rc;
			break;
		}
		SftpReadahead *ra = fs_file_readahead_for(file, conn, &handle, max_window);
		n = sftpc_readahead_read(ra, offset, buf, size);
		remote_release(remote, conn);
	}
	g_mutex_unlock(&file->read_lock);
	return n;
}

FsDir *fs_dir_new(SftpConn *conn, const SftpHandle *handle)
{
	FsDir *dir = g_new0(FsDir, 1);
	dir->kind = FS_HANDLE_DIR;
	g_mutex_init(&dir->lock);
	dir->batch = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	if (conn != NULL) {
		dir->conn = sftpc_ref(conn);
		dir->handle = *handle;
	}
	return dir;
}

FsDir *fs_dir_new_cached(GPtrArray *listing)
{
	FsDir *dir = fs_dir_new(NULL, NULL);
	g_ptr_array_unref(dir->batch);
	dir->batch = g_ptr_array_ref(listing);
	dir->eof = TRUE;
	dir->cached = TRUE;
	return dir;
}

void fs_dir_close(FsDir *dir)
{
	if (dir->conn != NULL) {
		if (!sftpc_is_broken(dir->conn))
			sftpc_close_detached(dir->conn, &dir->handle);
		sftpc_unref(dir->conn);
		dir->conn = NULL;
	}
	/* A fresh array: the old one may be a cached listing others share. */
	g_ptr_array_unref(dir->batch);
	dir->batch = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	g_clear_pointer(&dir->collect, g_ptr_array_unref);
	dir->next = 0;
	dir->pos = 0;
	dir->eof = FALSE;
	dir->dots_seen = 0;
	dir->cached = FALSE;
}

void fs_dir_free(FsDir *dir)
{
	if (dir == NULL)
		return;
	fs_dir_close(dir);
	g_ptr_array_unref(dir->batch);
	g_mutex_clear(&dir->lock);
	dir->kind = 0;
	g_free(dir);
}

FsDir *fs_dir_of(const struct fuse_file_info *fi)
{
	if (fi == NULL || fi->fh == 0)
		return NULL;
	FsDir *dir = (FsDir *)(uintptr_t)fi->fh;
	return dir->kind == FS_HANDLE_DIR ? dir : NULL;
}
