/* What FUSE keeps in fi->fh for jumpfs: an open file or an open directory.
 *
 * SFTP handles belong to one connection, so each of these holds a
 * reference to its connection rather than borrowing one per operation
 * (with several connections, remote_acquire may hand out another one).
 * When that connection breaks, a file is re-opened by its current FUSE
 * path on a new connection, with its open flags minus O_CREAT, O_TRUNC and
 * O_EXCL (libfuse keeps a file unlinked while open under a .fuse_hidden
 * name, so that one has a path too). If there is no path or the re-open
 * fails (the file is gone), the handle is lost and every later use fails
 * with EIO: better than writing to whatever file gets that name later.
 * SFTP v3 has no inode numbers, so the re-open compares what it can see
 * (type, size, mtime) with what the handle last saw, allowing for the
 * changes its own writes explain (fs/identity.h): a file replaced while
 * the connection was down is refused the same way, and logged. */
#ifndef JUMPFS_FS_HANDLES_H
#define JUMPFS_FS_HANDLES_H

#include <fuse.h>
#include <glib.h>

#include "fs/epochs.h"
#include "fs/identity.h"
#include "fs/remote.h"
#include "fs/sftp.h"

/* A file's write-behind queue (fs/writeback.h). */
typedef struct WbFile WbFile;

/* First member of both structs, so a stray fi->fh is recognised. */
typedef enum {
	FS_HANDLE_FILE = 0x6a66696c, /* "jfil" */
	FS_HANDLE_DIR = 0x6a646972,  /* "jdir" */
} FsHandleKind;

typedef struct {
	FsHandleKind kind;
	/* Guards everything below. Held only briefly, except across a
	 * re-open and across an append's fstat + write (so that appends
	 * through one handle do not overwrite each other). */
	GMutex lock;
	SftpConn *conn;       /* owned reference: the connection of handle */
	guint generation;     /* remote generation of conn, for messages */
	SftpHandle handle;
	int flags;            /* open(2) flags as opened */
	gboolean lost;        /* a re-open failed: stays failed */
	WbFile *queue;        /* write-behind, or NULL (writes go straight
			       * out); set at open, closed before release */
	/* What the STAT behind a create's OPEN saw, for the getattr that
	 * libfuse sends right after create (one round trip saved per new
	 * file); used once, within a second. Under lock. */
	SftpAttrs created;
	gint64 created_until;

	/* What the file looked like, for the re-open check. ident_lock
	 * guards the three fields; it may be taken with lock held, never the
	 * other way round. epoch_base is the path's write epoch when ident
	 * was last seen, own_bumps the bumps this handle made since: more
	 * means other handles or path operations changed the file. */
	GMutex ident_lock;
	FsIdentity ident;
	guint epoch_base;
	guint own_bumps;
	FsEpochs *epochs;     /* the mount's (borrowed) */

	/* Reads through this handle go one at a time through its read-ahead
	 * stream. read_lock is taken before lock, and held across the
	 * network: it only makes this handle's readers wait for each other
	 * (the kernel sends them in order anyway). */
	GMutex read_lock;
	SftpReadahead *readahead;  /* NULL until the first read */
	SftpConn *readahead_conn;  /* what it was made on (no reference) */
	SftpHandle readahead_handle;
	guint readahead_epoch;     /* write epoch its data is from */
} FsFile;

typedef struct {
	FsHandleKind kind;
	GMutex lock;          /* the kernel serialises readdir; cheap anyway */
	SftpConn *conn;       /* owned reference, NULL when not open */
	SftpHandle handle;
	off_t pos;            /* entries handed to the kernel since opening:
			       * the readdir offset of the next entry */
	GPtrArray *batch;     /* SftpName *: the current READDIR reply, or
			       * a whole cached listing (shared, read-only) */
	guint next;           /* index in batch of the next entry */
	gboolean eof;
	guint dots_seen;      /* 1: "." listed, 2: ".." listed (the server
			       * may not send them twice) */
	gboolean cached;      /* batch is a cached listing: no SFTP handle */
	GPtrArray *collect;   /* copies of the entries listed so far, for the
			       * listing cache; NULL when not collecting */
	gint64 collect_started;
} FsDir;

/* Takes a new reference to conn. seen: the file's attributes as opened
 * (NULL: unknown, then the re-open check has nothing to compare). path:
 * its FUSE path; epochs: the mount's write epochs (borrowed, outlive the
 * file). */
FsFile *fs_file_new(SftpConn *conn, guint generation, const SftpHandle *handle,
		    int flags, const SftpAttrs *seen, FsEpochs *epochs,
		    const char *path);
/* Closes the SFTP handle if its connection still lives, drops the
 * reference and frees. */
void fs_file_free(FsFile *file);
/* fi->fh as a file, or NULL (no fi, or fi->fh is something else). */
FsFile *fs_file_of(const struct fuse_file_info *fi);

/* A connection reference (release with remote_release) and a copy of the
 * handle valid on it, re-opening by path if the connection broke. path is
 * the file's current FUSE path (NULL when libfuse has none). Returns 0 or
 * -errno (-EIO when the file cannot be re-opened). The _locked variant
 * expects file->lock held. */
int fs_file_use(Remote *remote, FsFile *file, const char *path,
		SftpConn **conn, SftpHandle *handle);
int fs_file_use_locked(Remote *remote, FsFile *file, const char *path,
		       SftpConn **conn, SftpHandle *handle);

/* The identity bookkeeping of an open file (fs/identity.h), each under
 * ident_lock: fresh attributes from an fstat; a write through this handle
 * (begin before sending, end when answered; end bumps the path's write
 * epoch); a SETSTAT through it (size and times are counted, and bump the
 * epoch). */
void fs_file_seen(FsFile *file, const char *path, const SftpAttrs *attrs);
void fs_file_write_begin(FsFile *file, uint64_t end);
void fs_file_write_end(FsFile *file, const char *path, uint64_t end, gboolean ok);
void fs_file_setstat_done(FsFile *file, const char *path, const SftpAttrs *attrs,
			  gboolean ok);

/* Is handle (just opened on conn for file, at path) still the file that
 * was open? Compares an fstat with what the file last saw. Returns 0 and
 * takes the fstat as the new base; -EIO after logging what differs (the
 * caller closes handle and gives the file up); -ENOTCONN when conn broke.
 * fs_file_use calls it on every re-open. */
int fs_file_check_identity(FsFile *file, const char *path, SftpConn *conn,
			   const SftpHandle *handle);

/* Reads like sftpc_read, through the handle's read-ahead stream (at most
 * max_window bytes ahead), re-opening once if the connection broke.
 * write_epoch counts the writes to this file through the mount (through
 * any handle): read-ahead filled under another epoch is dropped first. */
ssize_t fs_file_read(Remote *remote, FsFile *file, const char *path, void *buf,
		     size_t size, uint64_t offset, size_t max_window, guint write_epoch);

/* Takes a new reference to conn. */
FsDir *fs_dir_new(SftpConn *conn, const SftpHandle *handle);
/* A directory served from a cached listing (takes a reference). */
FsDir *fs_dir_new_cached(GPtrArray *listing);
/* Closes the SFTP handle (if its connection lives) and forgets the
 * listing; the FsDir stays usable for a new opendir. */
void fs_dir_close(FsDir *dir);
void fs_dir_free(FsDir *dir);
FsDir *fs_dir_of(const struct fuse_file_info *fi);

#endif
