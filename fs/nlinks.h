/* Link counts of regular files. SFTP v3's STAT has none; OpenSSH's READDIR
 * replies carry one in each entry's "ls -l" longname. This table keeps the
 * counts above 1 that a listing or a link(2) through the mount told, by
 * FUSE path, so that getattr can show them for attr_timeout seconds, and
 * keeps the names of one file in step: after `ln a b` both show 2, after
 * `rm b` a shows 1 again.
 *
 * A count is only believed while the file still has the size and mtime it
 * had when the count was learnt, or got new ones through the mount. Bounded: at most NLINKS_MAX entries of
 * paths up to NLINKS_MAX_PATH bytes (expired ones go first, then
 * everything). Thread-safe. */
#ifndef JUMPFS_FS_NLINKS_H
#define JUMPFS_FS_NLINKS_H

#include <glib.h>
#include <stdint.h>

#include "fs/sftp.h"

#define NLINKS_MAX 8192
#define NLINKS_MAX_PATH 1024 /* longer paths are not kept (memory bound) */

typedef struct FsNlinks FsNlinks;

/* timeout: seconds a count is believed (0: the table stays empty). */
FsNlinks *fs_nlinks_new(double timeout);
void fs_nlinks_free(FsNlinks *nlinks);

/* path (a regular file with attrs) has nlink names. */
void fs_nlinks_learn(FsNlinks *nlinks, const char *path, const SftpAttrs *attrs,
		     uint32_t nlink);
/* link(from, to) made the file's count nlink: both names, and the other
 * names known of the file (same count as from had, size and mtime), show
 * it; changed (may be NULL) is called for from and those others. */
void fs_nlinks_linked(FsNlinks *nlinks, const char *from, const char *to,
		      const SftpAttrs *attrs, uint32_t nlink,
		      void (*changed)(const char *path));
/* The count to show for path with attrs: the learnt one, or 1. */
uint32_t fs_nlinks_get(FsNlinks *nlinks, const char *path, const SftpAttrs *attrs);
/* path's content or times changed through the mount: its names (path and
 * those with the same count, size and mtime) take the next attributes
 * seen as the file's own. */
void fs_nlinks_touched(FsNlinks *nlinks, const char *path);
/* path was unlinked, or renamed away (to: its new name, or NULL): the
 * other names of its file (same count, size and mtime) lose one link, and
 * changed (may be NULL) is called for each of them, without the lock. */
void fs_nlinks_removed(FsNlinks *nlinks, const char *path, const char *to,
		       void (*changed)(const char *path));

#endif
