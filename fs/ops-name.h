/* Name operations (fs/ops-name.c), for the table in fs/ops.c: links,
 * symlinks, unlink, rename, mknod. */
#ifndef JUMPFS_FS_OPS_NAME_H
#define JUMPFS_FS_OPS_NAME_H

#include "fs/ops-op.h"

int jfs_readlink(const char *path, char *buf, size_t size);
int jfs_symlink(const char *target, const char *link_path);
int jfs_unlink(const char *path);
int jfs_rename(const char *from, const char *to, unsigned int flags);
int jfs_link(const char *from, const char *to);
int jfs_mknod(const char *path, mode_t mode, dev_t rdev);

#endif
