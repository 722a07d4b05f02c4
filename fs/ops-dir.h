/* Directory operations (fs/ops-dir.c), for the table in fs/ops.c. */
#ifndef JUMPFS_FS_OPS_DIR_H
#define JUMPFS_FS_OPS_DIR_H

#include "fs/ops-op.h"

int jfs_opendir(const char *path, struct fuse_file_info *fi);
int jfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		off_t offset, struct fuse_file_info *fi,
		enum fuse_readdir_flags flags);
int jfs_releasedir(const char *path, struct fuse_file_info *fi);
int jfs_mkdir(const char *path, mode_t mode);
int jfs_rmdir(const char *path);

#endif
