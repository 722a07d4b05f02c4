/* The operation framework under every FUSE operation (fs/ops-*.c): the
 * mount's context, borrowing a connection for one operation (FsOp), the
 * fix-ups that turn SSH_FX_FAILURE into the real errno, the listing-cache
 * and write-epoch notices, and the register of open handles.
 *
 * Layers (no calls go upwards): fs/ops.c (init, destroy, the table) ->
 * fs/ops-attr.c -> fs/ops-file.c; fs/ops-name.c, fs/ops-dir.c; all of
 * them -> this file. Not for users outside fs/ops*.c. */
#ifndef JUMPFS_FS_OPS_OP_H
#define JUMPFS_FS_OPS_OP_H

#include "fs/attrs.h"
#include "fs/dircache.h"
#include "fs/handles.h"
#include "fs/newdirs.h"
#include "fs/nlinks.h"
#include "fs/ops.h"
#include "fs/sftp.h"
#include "fs/writeback.h"

struct FsContext {
	Remote *remote;       /* borrowed */
	FsOptions options;
	FsIdMap ids;          /* remote login ids come from a stat of the root */
	DirCache *dircache;   /* listings the kernel holds */
	FsNlinks *nlinks;     /* link counts learnt from listings and links */
	/* Every FsFile/FsDir handed to the kernel and not released yet, so
	 * that destroy can close what an unmount left open. */
	GMutex handles_lock;
	GHashTable *handles;
	/* Write epochs of the paths (fs/epochs.h): read-ahead and the
	 * re-open check tell other handles' changes from their own. */
	FsEpochs epochs;
	gint symlinks_refused; /* links shown as EPERM, for a bounded log */
	/* One thread that sends the kernel invalidations (fs_forget_attrs),
	 * from jfs_init to jfs_destroy. */
	GThreadPool *forgetter;
	Writeback *wb;        /* write-behind queues (owned) */
	NewDirs *newdirs;     /* names surely absent from directories we made */
};

/* One operation's borrowed connection and remote path. */
typedef struct {
	FsContext *ctx;
	SftpConn *conn;       /* reference from remote_acquire */
	guint generation;     /* of conn */
	char *rpath;          /* remote path of the FUSE path, or NULL */
} FsOp;

/* The context of the current FUSE request. */
FsContext *fs_ctx(void);

/* Register an FsFile/FsDir put in fi->fh, and unregister it on release. */
void fs_handle_track(FsContext *ctx, void *handle);
void fs_handle_forget(FsContext *ctx, void *handle);
/* Close and free every handle still registered (the kernel drops pending
 * RELEASE requests when a mount goes away). */
void fs_handle_free_all(FsContext *ctx);

/* A last component longer than NAME_MAX (refused with ENAMETOOLONG). */
gboolean fs_name_too_long(const char *path);

/* Acquire a connection and map path (may be NULL). Returns 0 or -errno;
 * on failure there is nothing to end. */
int fs_op_begin(FsOp *op, const char *path);
/* path (a FUSE path) was created, removed, renamed or had its attributes
 * changed through this mount: cached listings that show it go. subtree:
 * path is (or was) a directory whose own listings go too. */
void fs_changed(FsContext *ctx, const char *path, gboolean subtree);
/* SETSTAT on a path (following a symlink), with the errno fix-ups, and the
 * listing cache told. Returns 0 or -errno. */
int fs_setstat_path(const char *path, const SftpAttrs *attrs);
void fs_op_end(FsOp *op);

/* The content of path changed through this mount (write, truncate,
 * O_TRUNC): read-ahead taken before is stale. */
void fs_written(FsContext *ctx, const char *path);
/* The current write epoch of path, for fs_file_read. */
guint fs_write_epoch(FsContext *ctx, const char *path);

/* OpenSSH's sftp-server reports every errno it has no SSH_FX_* code for
 * as SSH_FX_FAILURE, which arrives here as -EIO. Where the real error
 * matters, these look at the target and return the better code; any other
 * rc passes unchanged. */
/* -EIO and rpath exists -> -EEXIST (mkdir, symlink, link, O_EXCL). */
int fs_fix_exists(SftpConn *conn, const char *rpath, int rc);
/* -EIO and rpath is a directory with entries -> -ENOTEMPTY (rmdir,
 * rename over a directory). */
int fs_fix_notempty(SftpConn *conn, const char *rpath, int rc);

/* -EIO from an operation that changes rpath: a statvfs@openssh.com of
 * it (or of its directory, or of handle when given) tells whether the
 * file system is read-only (-EROFS) or full: fewer than need bytes
 * available (-ENOSPC; need 0 skips the check), or, when creating, no
 * block or inode left (-ENOSPC). Without the extension rc stays. */
int fs_fix_failure(SftpConn *conn, const char *rpath, const SftpHandle *handle,
		   uint64_t need, gboolean creating, int rc);

gboolean fs_is_dot_or_dotdot(const char *name);

/* Stat of rpath as the mount shows it (lstat, or stat with
 * follow_symlinks falling back to lstat for dangling links). */
int fs_stat_path(FsOp *op, const char *rpath, SftpAttrs *attrs);
/* The kernel's cached attributes (and pages) of path go: it asks again
 * (another name of the file changed its link count). Waits a moment for
 * it; never deadlocks on the kernel. */
void fs_forget_attrs(const char *path);
void fs_forgetter_start(FsContext *ctx);
void fs_forgetter_stop(FsContext *ctx);
/* attrs of the FUSE path as the kernel gets them: owners mapped, and the
 * link count if one is known. */
void fs_attrs_to_stat(FsContext *ctx, const char *path, const SftpAttrs *attrs,
		      struct stat *st);

#endif
