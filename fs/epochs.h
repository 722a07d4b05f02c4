/* Write epochs: a counter per FUSE path (by hash), bumped by every write
 * and truncate through the mount. An open file compares them to tell its
 * own changes from those of other handles: read-ahead filled under an
 * older epoch is dropped (data written through one fd is never read stale
 * through another), and a re-open after a reconnect knows whether only its
 * own writes explain a new size (fs/identity.h). A hash collision only
 * costs a read-ahead or makes the re-open check less strict, never more. */
#ifndef JUMPFS_FS_EPOCHS_H
#define JUMPFS_FS_EPOCHS_H

#include <glib.h>

typedef struct {
	gint slots[64];
} FsEpochs;

/* Lock-free: any thread. path may be NULL (counts as ""). */
void fs_epochs_bump(FsEpochs *epochs, const char *path);
guint fs_epochs_get(const FsEpochs *epochs, const char *path);

#endif
