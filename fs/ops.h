/* The FUSE side of jumpfs: libfuse3's high-level (path) operations on top
 * of a Remote's SFTP connections.
 *
 * Every operation borrows a connection for its own round trips
 * (remote_acquire/remote_release) and holds no mount-wide lock across the
 * network, so the table is meant for fuse_loop_mt. Open files and
 * directories keep a reference to the connection their SFTP handle belongs
 * to; after a reconnect a file is re-opened by its current path (see
 * fs/handles.h).
 *
 * Usage:
 *	FsOptions options;
 *	fs_options_init(&options);
 *	FsContext *ctx = fs_context_new(remote, &options, &error);
 *	struct fuse *fuse = fuse_new(&args, fs_operations(),
 *				     sizeof(struct fuse_operations), ctx);
 *	... fuse_mount, fuse_loop_mt, fuse_unmount, fuse_destroy ...
 *	fs_context_free(ctx);
 *	remote_free(remote);
 */
#ifndef JUMPFS_FS_OPS_H
#define JUMPFS_FS_OPS_H

#include <fuse.h>
#include <glib.h>

#include "fs/remote.h"

typedef enum {
	FS_IDMAP_NONE,  /* show the server's numeric uid/gid as they are */
	FS_IDMAP_USER,  /* the remote login user/group show as the local
			 * user/group, and chown to the local user sends
			 * the remote login user (sshfs -o idmap=user);
			 * under allow_other every other remote id shows as
			 * the overflow id (nobody) */
} FsIdmap;

typedef struct {
	FsIdmap idmap;
	gboolean allow_other;        /* others may enter the mount: the kernel
				      * checks modes (default_permissions),
				      * and foreign remote ids are hidden */
	gint64 uid;                  /* uid=N: every file shows this owner
				      * (applied after idmap); -1 = unset */
	gint64 gid;                  /* gid=N likewise; -1 = unset */
	gboolean follow_symlinks;    /* show what symlinks point to (stat,
				      * not lstat); a dangling link still
				      * shows as a link */
	gboolean transform_symlinks; /* readlink: absolute targets inside
				      * the mounted remote directory are
				      * made relative, so they resolve
				      * inside the mount (sshfs option) */
	gboolean contain_symlinks;   /* readlink shows only targets that stay
				      * inside the mount (fs/symlinks.h);
				      * the default */
	double entry_timeout;        /* seconds the kernel caches names */
	double attr_timeout;         /* seconds the kernel caches attributes */
	double dir_timeout;          /* seconds the kernel keeps a directory
				      * listing; 0 = list every time */
	double negative_timeout;     /* seconds the kernel caches "no such
				      * file"; 0 = not at all */
	/* Write-behind (fs/writeback.h): bytes queued in the mount (0:
	 * writes wait for the server, as before) and per open file, how
	 * long a soft mount keeps unconfirmed data after a break, and over
	 * how many SFTP channels one file's writes are spread. */
	size_t write_queue;
	size_t write_queue_file;
	double reconnect_window;
	guint write_stripes;
} FsOptions;

/* Defaults: idmap user, contained symlinks, no uid/gid override, 20 s
 * entry, attribute and listing timeouts, no negative caching. */
void fs_options_init(FsOptions *options);

/* The mount's state, passed to fuse_new as user_data and found again
 * through fuse_get_context()->private_data. */
typedef struct FsContext FsContext;

/* Stats the remote root, and the login directory (realpath ".") to learn
 * the login user's uid/gid for idmap, as sshfs does.
 * remote is borrowed: it must outlive the context (free the context
 * first). The options are copied. */
FsContext *fs_context_new(Remote *remote, const FsOptions *options, GError **error);
void fs_context_free(FsContext *ctx);
/* Unmount and SIGTERM: waits until the write-behind queues are empty or
 * the monotonic deadline passes, then drops (and logs) what is left.
 * Returns the bytes dropped. Operations may still run meanwhile. */
size_t fs_context_drain(FsContext *ctx, gint64 deadline);
/* Write-behind bytes queued in the mount now (for `jumpfs status`). */
size_t fs_context_write_queued(FsContext *ctx);

/* The operation table (static, never freed). */
const struct fuse_operations *fs_operations(void);

#endif
