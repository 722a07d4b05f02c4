/* Is the file re-opened by path after a reconnect still the file that was
 * open? SFTP v3 has no inode numbers: all it tells is the type, the size
 * and the mtime (whole seconds). An FsIdentity keeps what a handle last
 * saw of them and which changes its own writes explain since; a file that
 * differs in a way they do not explain was replaced, removed and made
 * anew, or changed by someone else: the re-open refuses it (EIO) rather
 * than read or write the wrong file.
 *
 * What it cannot see: a file replaced by one of the same type and size
 * with the same mtime second. Other handles of this mount writing the same
 * file (others_wrote) leave only the type to check.
 *
 * Pure bookkeeping: no I/O, no locks (the caller holds the file's lock).
 * The calls for a writer:
 *	fs_identity_write_begin(id, offset + len);   before sending
 *	... the WRITE requests ...
 *	fs_identity_write_end(id, offset + len, ok);  when all are answered
 * (a write-behind queue calls begin when it accepts the data and end when
 * the server acknowledged it, so a reconnect in between is explained
 * either way). */
#ifndef JUMPFS_FS_IDENTITY_H
#define JUMPFS_FS_IDENTITY_H

#include <glib.h>
#include <stdint.h>

#include "fs/sftp.h"

typedef struct {
	gboolean known;       /* attributes were seen at least once */
	uint32_t type;        /* S_IFMT bits, 0 = not sent */
	gboolean has_size;
	uint64_t size_lo;     /* the sizes the file may have now: from the */
	uint64_t size_hi;     /* seen size, widened by our own writes */
	gboolean has_mtime;
	uint32_t mtime;       /* as last seen */
	gboolean mtime_moves; /* our own writes since: it may be later */
	gboolean others;      /* changed through the mount by another handle
			       * or by path: size and mtime are unknown */
	guint inflight;       /* writes begun and not ended */
} FsIdentity;

/* Fresh attributes of the file (from the open, an fstat): the new base.
 * Ignored while writes are in flight (the reply may predate them). */
void fs_identity_seen(FsIdentity *id, const SftpAttrs *attrs);
/* A write that ends at end is being sent. */
void fs_identity_write_begin(FsIdentity *id, uint64_t end);
/* It was answered; ok: the server did it all. */
void fs_identity_write_end(FsIdentity *id, uint64_t end, gboolean ok);
/* Truncated through this handle to size (ok: the server said so). */
void fs_identity_truncated(FsIdentity *id, uint64_t size, gboolean ok);
/* Times set through this handle (utimens): mtime may be that from now. */
void fs_identity_times_set(FsIdentity *id, uint32_t mtime);
/* Someone else on this mount changed the file: keep only the type. */
void fs_identity_others_wrote(FsIdentity *id);

/* NULL when now (a stat of the re-opened file) is the same file as far as
 * SFTP v3 tells, else what differs, for the log (g_free). */
char *fs_identity_mismatch(const FsIdentity *id, const SftpAttrs *now);

#endif
