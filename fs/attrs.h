/* Conversions between SFTP v3 attributes and POSIX ones, and the mount's
 * owner mapping. Pure functions: no I/O, no FUSE, no locks. */
#ifndef JUMPFS_FS_ATTRS_H
#define JUMPFS_FS_ATTRS_H

#include <glib.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "fs/sftp.h"

/* How remote owners are shown, and how local owners are sent back. */
typedef struct {
	gboolean map_user;      /* idmap=user: remote login ids <-> local ids */
	uint32_t remote_uid;    /* the login user on the server (the owner of
				 * the login directory, as sshfs finds it) */
	uint32_t remote_gid;    /* and its group */
	gboolean hide_others;   /* map_user under allow_other: every other
				 * remote id shows as the overflow id, so no
				 * local user gains owner or group rights by a
				 * numeric coincidence */
	uid_t overflow_uid;     /* the kernel's "nobody" (overflowuid) */
	gid_t overflow_gid;
	uid_t local_uid;        /* the user running jumpfs */
	gid_t local_gid;
	gint64 force_uid;       /* uid=N: every file shows this owner; -1 = unset */
	gint64 force_gid;       /* gid=N; -1 = unset */
} FsIdMap;

/* The kernel's overflow ids (/proc/sys/kernel/overflow{u,g}id, 65534 if
 * unreadable) into ids. */
void attrs_read_overflow_ids(FsIdMap *ids);

/* Fills *st from attrs. Fields the server did not send get harmless
 * defaults (owner: the local user; mode: a regular file 0644). SFTP v3 has
 * no ctime, link count or inode: ctime = mtime, nlink = 1, and libfuse
 * numbers the inodes. */
void attrs_to_stat(const SftpAttrs *attrs, const FsIdMap *ids, struct stat *st);

/* A local owner as the server should see it (chown): idmap=user maps the
 * local user back to the remote login user, everything else passes. */
uint32_t attrs_uid_to_remote(const FsIdMap *ids, uid_t uid);
uint32_t attrs_gid_to_remote(const FsIdMap *ids, gid_t gid);

/* access(2)'s answer for mask (R_OK|W_OK|X_OK, or F_OK) on a node shown
 * as st, asked by uid/gid with the supplementary groups: 0 or -EACCES,
 * as the kernel's own check of the mode bits decides (root may read and
 * write anything, and execute what has an x bit or is a directory).
 * group_unknown: st's group is a remote one whose members are unknown
 * here (the remote login user may be one): its bits count as well as the
 * others', so that the answer is no only where the server must say no. */
int attrs_check_access(const struct stat *st, int mask, uid_t uid, gid_t gid,
		       const gid_t *groups, int ngroups, gboolean group_unknown);

/* open(2) flags to SSH_FXF_* flags (access mode, O_CREAT, O_EXCL, O_TRUNC,
 * O_APPEND); other flags have no SFTP v3 equivalent and are dropped. */
uint32_t attrs_open_flags(int flags);

/* Seconds as SFTP v3 carries them (unsigned 32 bits): clamped, not
 * wrapped, so a time before 1970 or after 2106 is set to the nearest
 * representable one rather than to a random one. */
uint32_t attrs_time_to_wire(time_t seconds);

/* TRUE when tv asks to keep one of the times (UTIME_OMIT on only one of
 * them): SFTP sets both together, so the caller must stat first. */
gboolean attrs_times_need_current(const struct timespec tv[2]);

/* Fills attrs->atime/mtime (and the ACMODTIME flag) for utimensat(tv):
 * tv == NULL or UTIME_NOW means now, UTIME_OMIT takes the value from
 * current (required then, see attrs_times_need_current). Nanoseconds are
 * dropped: SFTP v3 has whole seconds. Returns FALSE when both times are
 * omitted, i.e. there is nothing to set. */
gboolean attrs_set_times(SftpAttrs *attrs, const struct timespec tv[2],
			 const SftpAttrs *current, time_t now);

#endif
