/* An SFTP v3 client of jumpfs's own, speaking to a byte stream.
 *
 * It knows nothing of hops or libssh: it is given a connected fd (one end
 * of a socketpair pumped into an "sftp" subsystem channel, or a pipe to a
 * local sftp-server in the unit tests). Any number of threads may issue
 * requests at once; a reader thread matches replies to requests by id, so
 * many requests are in flight and no caller holds a lock across a round
 * trip. Large reads and writes are split into requests sized to fit one
 * SSH channel message and sent back to back (pipelined).
 *
 * Every call returns 0 (or a byte count) on success and -errno on failure.
 * When the stream breaks, every pending and later request fails with
 * -ENOTCONN and sftpc_is_broken() turns true. */
#ifndef JUMPFS_FS_SFTP_H
#define JUMPFS_FS_SFTP_H

#include <glib.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>

typedef struct SftpConn SftpConn;

/* SFTP v3 attribute flags (draft-ietf-secsh-filexfer-02). */
#define SFTP_ATTR_SIZE        0x00000001u
#define SFTP_ATTR_UIDGID      0x00000002u
#define SFTP_ATTR_PERMISSIONS 0x00000004u
#define SFTP_ATTR_ACMODTIME   0x00000008u

typedef struct {
	uint32_t flags;       /* which fields below are valid */
	uint64_t size;
	uint32_t uid, gid;
	uint32_t permissions; /* includes S_IFMT bits from the server */
	uint32_t atime, mtime;
} SftpAttrs;

typedef struct {
	char *name;           /* entry name (no '/') */
	SftpAttrs attrs;
	uint32_t nlink;       /* link count from the "ls -l" longname that
			       * OpenSSH sends; 0 = not told */
} SftpName;

#define SFTP_HANDLE_MAX 256
typedef struct {
	uint32_t len;
	unsigned char data[SFTP_HANDLE_MAX];
} SftpHandle;

/* SSH_FXF_* open flags. */
#define SFTP_OPEN_READ   0x01u
#define SFTP_OPEN_WRITE  0x02u
#define SFTP_OPEN_APPEND 0x04u
#define SFTP_OPEN_CREAT  0x08u
#define SFTP_OPEN_TRUNC  0x10u
#define SFTP_OPEN_EXCL   0x20u

/* Takes ownership of fd. Sends INIT, reads VERSION and the extension list,
 * starts the reader thread. On failure fd is closed. */
SftpConn *sftpc_start(int fd, GError **error);
SftpConn *sftpc_ref(SftpConn *conn);
/* Dropping the last reference shuts the stream, fails pending requests,
 * joins the reader thread and frees. */
void sftpc_unref(SftpConn *conn);
/* Shut the stream down now (pending requests fail with -ENOTCONN). */
void sftpc_shutdown(SftpConn *conn);
gboolean sftpc_is_broken(SftpConn *conn);
/* Requests sent and not answered yet (for `jumpfs status`). */
guint sftpc_requests_in_flight(SftpConn *conn);

/* Server facts read at start. */
uint32_t sftpc_version(SftpConn *conn);
gboolean sftpc_has_extension(SftpConn *conn, const char *name);
/* Name/version pairs as announced, for --check. */
GPtrArray *sftpc_extensions(SftpConn *conn); /* char *"name=version", owned by conn */

/* Request sizes. Defaults fit a whole SFTP message in one 32 KiB channel
 * message (see notes: a split reply costs a delayed ACK per jump). */
void sftpc_set_chunk_sizes(SftpConn *conn, uint32_t read_chunk, uint32_t write_chunk);
/* The sizes in effect: 0 above means the default, and both are clamped to
 * what the server accepts (limits@openssh.com) and to our 256 KiB cap. */
void sftpc_get_chunk_sizes(SftpConn *conn, uint32_t *read_chunk, uint32_t *write_chunk);

int sftpc_realpath(SftpConn *conn, const char *path, char **resolved);
int sftpc_stat(SftpConn *conn, const char *path, SftpAttrs *attrs);
int sftpc_lstat(SftpConn *conn, const char *path, SftpAttrs *attrs);
int sftpc_fstat(SftpConn *conn, const SftpHandle *handle, SftpAttrs *attrs);
int sftpc_setstat(SftpConn *conn, const char *path, const SftpAttrs *attrs);
/* lsetstat@openssh.com when offered, else -ENOSYS. */
int sftpc_lsetstat(SftpConn *conn, const char *path, const SftpAttrs *attrs);
int sftpc_fsetstat(SftpConn *conn, const SftpHandle *handle, const SftpAttrs *attrs);

int sftpc_open(SftpConn *conn, const char *path, uint32_t sftp_flags,
	       const SftpAttrs *attrs, SftpHandle *handle);
/* sftpc_open, and a STAT of path sent right behind it (no extra round
 * trip), for what the file looked like when opened. Returns the open's
 * result; *stat_rc gets the stat's (0 or -errno). */
int sftpc_open_stat(SftpConn *conn, const char *path, uint32_t sftp_flags,
		    const SftpAttrs *attrs, SftpHandle *handle, SftpAttrs *st,
		    int *stat_rc);
/* An OPEN sent now and answered later, for a caller that must not wait
 * (it has other requests to keep in flight meanwhile). */
typedef struct SftpOpenOp SftpOpenOp;
SftpOpenOp *sftpc_open_start(SftpConn *conn, const char *path, uint32_t sftp_flags,
			     const SftpAttrs *attrs);
/* -EAGAIN while it is unanswered and wait is FALSE (op stays); otherwise
 * the OPEN's result (0 with *handle set, or -errno), and op is freed. */
int sftpc_open_finish(SftpOpenOp *op, gboolean wait, SftpHandle *handle);
int sftpc_close(SftpConn *conn, const SftpHandle *handle);
/* Sends CLOSE and does not wait for the answer (for release: nobody can
 * be told about a failure then, and the round trip is saved). Requests
 * sent after it on the same connection are served after it. */
void sftpc_close_detached(SftpConn *conn, const SftpHandle *handle);
/* Returns bytes read; fewer than len only at end of file; 0 at EOF. */
ssize_t sftpc_read(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		   void *buf, size_t len);
/* Returns len or -errno; all chunks are in flight at once. */
ssize_t sftpc_write(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		    const void *buf, size_t len);

/* Completion of an asynchronous request: err is 0 for an OK status, the
 * status as -errno otherwise (-ENOTCONN when the connection broke first).
 * Called exactly once, on the connection's reader thread: it must not
 * block on the network (no sftpc_* call that waits) and may take only
 * locks that no thread holds while it waits for this connection. It may
 * drop the last reference to the connection. */
typedef void (*SftpDoneFn)(void *data, int err);
/* One WRITE of len bytes (at most the write chunk size, else -EINVAL),
 * sent now, answered later through done. buf must stay untouched until
 * done runs. Returns 0 when done will be called, else -errno (done will
 * not be called). Requests sent on one connection are served in order. */
int sftpc_write_async(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		      const void *buf, size_t len, SftpDoneFn done, void *data);
/* Read-ahead on one open file: once reads go on where the previous one
 * ended, READ requests are kept in flight ahead of the reader, in a window
 * that doubles with every sequential read up to max_window bytes; a read
 * elsewhere drops it. The stream holds a reference to conn and copies
 * handle. Calls on one stream must not overlap (the caller serialises);
 * writes through the same handle must call sftpc_readahead_invalidate. */
typedef struct SftpReadahead SftpReadahead;
SftpReadahead *sftpc_readahead_new(SftpConn *conn, const SftpHandle *handle,
				   size_t max_window);
/* Like sftpc_read. */
ssize_t sftpc_readahead_read(SftpReadahead *ra, uint64_t offset, void *buf, size_t len);
/* Drops prefetched data (waits for requests in flight). */
void sftpc_readahead_invalidate(SftpReadahead *ra);
void sftpc_readahead_free(SftpReadahead *ra);

/* fsync@openssh.com when offered, else -ENOSYS. */
int sftpc_fsync(SftpConn *conn, const SftpHandle *handle);

int sftpc_opendir(SftpConn *conn, const char *path, SftpHandle *handle);
/* Appends SftpName * (owned by the array, free with sftp_name_free) for
 * one READDIR reply; returns the number added, 0 at end of directory. */
int sftpc_readdir(SftpConn *conn, const SftpHandle *handle, GPtrArray *names);
void sftp_name_free(SftpName *name);

int sftpc_remove(SftpConn *conn, const char *path);
int sftpc_mkdir(SftpConn *conn, const char *path, uint32_t mode);
int sftpc_rmdir(SftpConn *conn, const char *path);
/* Replaces an existing target atomically with posix-rename@openssh.com when
 * offered; with plain v3 RENAME when not (which fails if the target exists
 * on OpenSSH). noreplace asks for plain RENAME semantics. */
int sftpc_rename(SftpConn *conn, const char *from, const char *to, gboolean noreplace);
int sftpc_readlink(SftpConn *conn, const char *path, char **target);
int sftpc_symlink(SftpConn *conn, const char *target, const char *linkpath);
/* hardlink@openssh.com when offered, else -ENOSYS. */
int sftpc_hardlink(SftpConn *conn, const char *oldpath, const char *newpath);
/* statvfs@openssh.com when offered, else -ENOSYS. */
int sftpc_statvfs(SftpConn *conn, const char *path, struct statvfs *st);
/* fstatvfs@openssh.com when offered, else -ENOSYS. */
int sftpc_fstatvfs(SftpConn *conn, const SftpHandle *handle, struct statvfs *st);
/* expand-path@openssh.com ("~/x", "~user/x") when offered, else -ENOSYS. */
int sftpc_expand_path(SftpConn *conn, const char *path, char **expanded);

/* A check (e.g. fuse_interrupted) that single round trips look at every
 * 100 ms while they wait: when it says so, the request is given up and
 * the call returns -EINTR. Process-wide; NULL (the default): wait. */
void sftpc_set_interrupt_check(gboolean (*interrupted)(void));

/* SSH_FX_* status code to errno, in one place. message may be NULL.
 * Returns a positive errno value; 0 for OK and for EOF (callers that can
 * meet EOF handle it themselves). */
int sftp_status_to_errno(uint32_t status, const char *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SftpConn, sftpc_unref)

#endif
