/* Write-behind: write() returns once its data is queued in the daemon;
 * the queue's WRITE requests are in flight across calls, and a thread of
 * the mount (the flusher) sends them, on one or several SFTP channels.
 *
 * The guarantee, as NFS gives it and a little stronger:
 * - A write error (ENOSPC, EIO...) is returned by the next write, flush,
 *   fsync or close of that file. fsync and close return only when every
 *   byte queued through the file was confirmed by the server.
 * - Unconfirmed data stays queued until confirmed. When the connection
 *   breaks, it is sent again (replayed) on the re-opened handle, in
 *   order, before anything newer. Re-sending the same bytes to the same
 *   offset is harmless, so a write that may or may not have reached the
 *   server before the break is simply written again.
 * - Soft mounts (the default) keep unconfirmed data for the reconnect
 *   window after a break (window_us, default 60 s) while nobody waits for
 *   it; a flush, fsync or a write waiting for queue space gives up as an
 *   operation on a dead chain does (fs/remote.h), and then that file's
 *   unconfirmed data is dropped: the caller got the error. Hard mounts
 *   keep it until the chain is back. Whatever is dropped is logged with
 *   the file and the byte ranges that never reached the server.
 * - Reads through the mount see queued data (this file's and other
 *   handles' of the same path), and getattr sizes and mtimes include it.
 * - Bounds: mount_limit bytes queued in the mount, file_limit per open
 *   file; a write that does not fit waits for confirmations.
 * - What a crash of the daemon loses: exactly the unconfirmed data of
 *   files not fsync'd or closed. libfuse 3.14 has no syncfs, so sync(1)
 *   does not wait for the queue; fsync and close do.
 *
 * Ordering across channels: the server serves each channel in order, so
 * writes that overlap must take one channel. A file's pieces are spread
 * over channels only while none of its unconfirmed pieces overlap; once
 * one does, the file goes "serial" (one channel, queue order) until its
 * queue is empty.
 *
 * Locks: wb->lock guards every queue of the mount; it is taken by FUSE
 * threads, the flusher and the SFTP reader threads (completions), and is
 * never held across I/O, a wait for anything but its cond, or the release
 * of a connection reference. */
#ifndef JUMPFS_FS_WRITEBACK_H
#define JUMPFS_FS_WRITEBACK_H

#include <glib.h>
#include <stdint.h>

#include "fs/handles.h"
#include "fs/remote.h"
#include "fs/sftp.h"

typedef struct Writeback Writeback;

typedef struct {
	size_t mount_limit;      /* bytes queued in the mount; 0: write-behind off */
	size_t file_limit;       /* bytes queued per open file */
	gint64 window_us;        /* soft: how long unconfirmed data is kept
				  * after a break with nobody waiting */
	guint stripes;           /* channels one file's writes may use */
	gint64 grace_us;         /* soft: a waiting operation gives up this
				  * long after the break (as fs/remote.h) */
} WritebackOptions;

#define WRITEBACK_DEFAULT_LIMIT (64u << 20)
#define WRITEBACK_DEFAULT_WINDOW_S 60
/* Drain at unmount or SIGTERM: how long at most. */
#define WRITEBACK_DRAIN_S 10

/* The interrupt check for every wait of the mount (Remote's too):
 * fuse_interrupted() on a FUSE thread, TRUE on the flusher (which must
 * never sit in a hard mount's wait). */
gboolean writeback_interrupted(void);

Writeback *writeback_new(Remote *remote, const WritebackOptions *options);
/* After every file was closed (writeback_file_close). */
void writeback_free(Writeback *wb);
gboolean writeback_enabled(Writeback *wb);

/* Starts write-behind for an open file (NULL when it is off). path: its
 * FUSE path. The file must outlive the queue. */
WbFile *writeback_file_new(Writeback *wb, FsFile *file, const char *path);
/* At release: what is still queued (after a failed close) is dropped and
 * logged; waits until no request refers to the queue, frees it. */
void writeback_file_close(WbFile *wf, const char *path);

/* Queues size bytes at offset. Returns size, or an earlier error of this
 * file (reported once; *failed_len as writeback_sync), -EINTR, or -EIO
 * when the queue is full and the chain dead (soft). */
ssize_t writeback_write(WbFile *wf, const char *path, uint64_t offset,
			const void *buf, size_t size, size_t *failed_len);
/* Waits until every byte queued through wf is confirmed. Returns 0, the
 * first error of this file since it was last reported (-EIO for an
 * SSH_FX_FAILURE: see *failed_len), -EINTR, or -EIO when the chain is
 * dead (soft). failed_len (may be NULL): bytes of the write that failed. */
int writeback_sync(WbFile *wf, const char *path, size_t *failed_len);
/* writeback_sync of every queue of path (before a truncate, utimens, an
 * open with O_TRUNC): 0, -EINTR or -EIO. */
int writeback_settle_path(Writeback *wb, const char *path);
/* The same for the queued data of path in [offset, end) only (before a
 * synchronous write there: the older queued bytes must land first). */
int writeback_settle_range(Writeback *wb, const char *path, uint64_t offset, uint64_t end);

/* What a read of [offset, offset+size) must lay over the server's data:
 * take it before the read, apply it after (NULL: nothing queued there). */
typedef struct WbSnapshot WbSnapshot;
WbSnapshot *writeback_snapshot(Writeback *wb, const char *path, uint64_t offset,
			       size_t size);
/* n: what the read returned (bytes, or -errno: returned unchanged).
 * Returns the length with queued data laid over (a hole before queued
 * data past the server's end reads as zeros). Frees snap. */
ssize_t writeback_apply(WbSnapshot *snap, void *buf, size_t size, ssize_t n);

/* Size and mtime as the mount shows them: at least the end of queued
 * data, and the time of the last queued write. Like reads: take it
 * before the stat is sent, apply it to the answer. */
typedef struct {
	gboolean queued;
	uint64_t end;
	gint64 mtime;
} WbAttrs;
void writeback_attrs_before(Writeback *wb, const char *path, WbAttrs *queued);
void writeback_attrs_apply(const WbAttrs *queued, SftpAttrs *attrs);
/* Has dir/name (FUSE paths) data queued? Then a listing must not tell
 * the kernel its size (it would take the server's, shorter one). */
gboolean writeback_entry_queued(Writeback *wb, const char *dir, const char *name);
/* A rename through the mount: queues follow their files. */
void writeback_rename(Writeback *wb, const char *from, const char *to);

/* Unmount and SIGTERM: waits until the mount's queues are empty or the
 * monotonic deadline passes, then drops (and logs) what is left. Returns
 * the bytes dropped. */
size_t writeback_drain(Writeback *wb, gint64 deadline);
/* Bytes queued in the mount now (for status and tests). */
size_t writeback_queued(Writeback *wb);

#endif
