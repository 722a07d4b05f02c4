/* The mount: its options and context, FUSE's init and destroy, and the
 * operation table, which is the map of the file system (each entry a
 * small function in fs/ops-attr.c, fs/ops-name.c, fs/ops-file.c or
 * fs/ops-dir.c, all on the framework of fs/ops-op.c). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "chain/errors.h"
#include "fs/ops-attr.h"
#include "fs/ops-dir.h"
#include "fs/ops-file.h"
#include "fs/ops-name.h"

void fs_options_init(FsOptions *options)
{
	memset(options, 0, sizeof(*options));
	/* The remote login user's files are the local user's: git and
	 * cp -a expect owners they know (sshfs's default is none). */
	options->idmap = FS_IDMAP_USER;
	/* A server's links must not lead local programs out of the mount
	 * (sshfs 3.7.6 made contain_symlinks its default too). */
	options->contain_symlinks = TRUE;
	options->uid = -1;
	options->gid = -1;
	/* sshfs's cache_timeout default: remote changes show within 20 s,
	 * and repeated ls/stat/find cost no round trip meanwhile. */
	options->entry_timeout = 20.0;
	options->attr_timeout = 20.0;
	options->dir_timeout = 20.0;
	options->negative_timeout = 0.0;
	options->write_queue = WRITEBACK_DEFAULT_LIMIT;
	options->write_queue_file = WRITEBACK_DEFAULT_LIMIT;
	options->reconnect_window = WRITEBACK_DEFAULT_WINDOW_S;
	options->write_stripes = 1;
}

/* A process interrupting its operation (Ctrl-C on a mount waiting for a
 * dead chain) ends the SFTP round trip it waits for, too. */
static gboolean fs_fuse_interrupted(void)
{
	return fuse_interrupted() != 0;
}

/* The login directory's attributes: realpath(".") is where the server
 * put us, whatever the mounted path. */
static int fs_login_dir_attrs(SftpConn *conn, SftpAttrs *attrs)
{
	g_autofree char *home = NULL;
	int rc = sftpc_realpath(conn, ".", &home);
	if (rc == 0)
		rc = sftpc_stat(conn, home, attrs);
	return rc;
}

FsContext *fs_context_new(Remote *remote, const FsOptions *options, GError **error)
{
	sftpc_set_interrupt_check(fs_fuse_interrupted);
	SftpConn *conn;
	int rc = remote_acquire(remote, &conn, NULL);
	if (rc < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "no connection to the server: %s", g_strerror(-rc));
		return NULL;
	}
	SftpAttrs root, login = { 0 };
	rc = sftpc_stat(conn, remote_root(remote), &root);
	if (rc < 0) {
		remote_release(remote, conn);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "remote path '%s': %s", remote_root(remote), g_strerror(-rc));
		return NULL;
	}
	int login_rc = options->idmap == FS_IDMAP_USER ? fs_login_dir_attrs(conn, &login)
						       : -ENOENT;
	remote_release(remote, conn);

	FsContext *ctx = g_new0(FsContext, 1);
	ctx->remote = remote;
	g_mutex_init(&ctx->handles_lock);
	ctx->handles = g_hash_table_new(NULL, NULL);
	ctx->options = *options;
	ctx->dircache = dircache_new(options->dir_timeout);
	ctx->nlinks = fs_nlinks_new(options->attr_timeout);
	ctx->newdirs = newdirs_new(options->dir_timeout);
	WritebackOptions wb_options = {
		.mount_limit = options->write_queue,
		.file_limit = options->write_queue_file,
		.window_us = (gint64)(options->reconnect_window * G_TIME_SPAN_SECOND),
		.stripes = options->write_stripes,
	};
	ctx->wb = writeback_new(remote, &wb_options);
	/* SFTP v3 cannot ask who we are: the owner of the login directory
	 * stands for the login user (as in sshfs), never the owner of the
	 * mounted directory (server:/ would make root's files ours). */
	ctx->ids.map_user = login_rc == 0 && (login.flags & SFTP_ATTR_UIDGID);
	ctx->ids.remote_uid = login.uid;
	ctx->ids.remote_gid = login.gid;
	ctx->ids.local_uid = getuid();
	ctx->ids.local_gid = getgid();
	ctx->ids.hide_others = ctx->ids.map_user && options->allow_other;
	attrs_read_overflow_ids(&ctx->ids);
	ctx->ids.force_uid = options->uid;
	ctx->ids.force_gid = options->gid;
	if (options->idmap == FS_IDMAP_USER && !ctx->ids.map_user)
		g_warning("idmap=user: %s, so the remote owners show as they are",
			  login_rc < 0 ? "the login directory cannot be read"
				       : "the server sends no owners");
	return ctx;
}

void fs_context_free(FsContext *ctx)
{
	if (ctx == NULL)
		return;
	fs_forgetter_stop(ctx);
	fs_handle_free_all(ctx);
	writeback_free(ctx->wb);
	g_hash_table_unref(ctx->handles);
	g_mutex_clear(&ctx->handles_lock);
	dircache_free(ctx->dircache);
	fs_nlinks_free(ctx->nlinks);
	newdirs_free(ctx->newdirs);
	g_free(ctx);
}

static void fs_intr_noop(int signum)
{
	(void)signum;
}

/* FUSE's intr signals the thread serving an interrupted request with
 * SIGUSR1. libfuse 3.14 installs a handler for it only when intr is set
 * before fuse_new, which its option parser no longer allows (init sets
 * it): without one the signal's default action would end the daemon.
 * Set once for the process, never removed (a mount going away must not
 * take it from the others); it does nothing but end a blocking call. */
static void fs_intr_handler_install(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fs_intr_noop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
		g_once_init_leave(&done, 1);
	}
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
	fs_forgetter_start(ctx);
	/* Hard mounts wait for the chain: FUSE's intr (libfuse signals the
	 * thread of an interrupted request; the waits check fuse_interrupted
	 * in short slices). */
	if (remote_is_hard(ctx->remote)) {
		fs_intr_handler_install();
		cfg->intr = 1;
	}
	return ctx;
}

static void jfs_destroy(void *private_data)
{
	FsContext *ctx = private_data;
	fs_forgetter_stop(ctx);
	/* What the kernel left open may still have data queued. */
	writeback_drain(ctx->wb, g_get_monotonic_time() +
				 WRITEBACK_DRAIN_S * G_TIME_SPAN_SECOND);
	fs_handle_free_all(ctx);
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

size_t fs_context_drain(FsContext *ctx, gint64 deadline)
{
	return ctx != NULL ? writeback_drain(ctx->wb, deadline) : 0;
}

size_t fs_context_write_queued(FsContext *ctx)
{
	return ctx != NULL ? writeback_queued(ctx->wb) : 0;
}
