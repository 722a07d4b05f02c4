/* Attribute operations (fs/ops-attr.c), for the table in fs/ops.c: stat,
 * chmod, chown, times, access, and the file system's own (statfs). */
#ifndef JUMPFS_FS_OPS_ATTR_H
#define JUMPFS_FS_OPS_ATTR_H

#include <sys/statvfs.h>

#include "fs/ops-op.h"

int jfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int jfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int jfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int jfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int jfs_access(const char *path, int mask);
int jfs_statfs(const char *path, struct statvfs *st);

#endif
