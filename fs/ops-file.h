/* File operations (fs/ops-file.c), for the table in fs/ops.c and the
 * attribute operations that reach an open file through its handle. */
#ifndef JUMPFS_FS_OPS_FILE_H
#define JUMPFS_FS_OPS_FILE_H

#include "fs/ops-op.h"

int jfs_open(const char *path, struct fuse_file_info *fi);
int jfs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int jfs_read(const char *path, char *buf, size_t size, off_t offset,
	     struct fuse_file_info *fi);
int jfs_write(const char *path, const char *buf, size_t size, off_t offset,
	      struct fuse_file_info *fi);
int jfs_flush(const char *path, struct fuse_file_info *fi);
int jfs_release(const char *path, struct fuse_file_info *fi);
int jfs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int jfs_truncate(const char *path, off_t size, struct fuse_file_info *fi);

/* Through an open file's SFTP handle (re-opened after a reconnect). */
int jfs_fgetattr(FsFile *file, const char *path, struct stat *st);
int jfs_fsetstat(FsFile *file, const char *path, const SftpAttrs *attrs);
int jfs_ffstat(FsFile *file, const char *path, SftpAttrs *attrs);

#endif
