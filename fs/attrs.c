/* SFTP v3 attributes <-> struct stat, owners, open flags, times. */
#include "fs/attrs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define ATTRS_BLKSIZE 4096

static guint32 attrs_read_id(const char *file)
{
	g_autofree char *text = NULL;
	guint64 value = 65534;
	if (g_file_get_contents(file, &text, NULL, NULL))
		g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, G_MAXUINT32, &value, NULL);
	return (guint32)value;
}

void attrs_read_overflow_ids(FsIdMap *ids)
{
	ids->overflow_uid = attrs_read_id("/proc/sys/kernel/overflowuid");
	ids->overflow_gid = attrs_read_id("/proc/sys/kernel/overflowgid");
}

void attrs_to_stat(const SftpAttrs *attrs, const FsIdMap *ids, struct stat *st)
{
	memset(st, 0, sizeof(*st));

	mode_t mode = S_IFREG | 0644;
	if (attrs->flags & SFTP_ATTR_PERMISSIONS) {
		mode = attrs->permissions & (S_IFMT | 07777);
		/* A server that sends permission bits without the type is
		 * describing something it can read and write: call it a file. */
		if ((mode & S_IFMT) == 0)
			mode |= S_IFREG;
	}
	st->st_mode = mode;
	st->st_nlink = 1;

	uid_t uid = ids->local_uid;
	gid_t gid = ids->local_gid;
	if (attrs->flags & SFTP_ATTR_UIDGID) {
		uid = attrs->uid;
		gid = attrs->gid;
		if (ids->map_user && attrs->uid == ids->remote_uid)
			uid = ids->local_uid;
		else if (ids->hide_others)
			uid = ids->overflow_uid;
		if (ids->map_user && attrs->gid == ids->remote_gid)
			gid = ids->local_gid;
		else if (ids->hide_others)
			gid = ids->overflow_gid;
	}
	if (ids->force_uid >= 0)
		uid = (uid_t)ids->force_uid;
	if (ids->force_gid >= 0)
		gid = (gid_t)ids->force_gid;
	st->st_uid = uid;
	st->st_gid = gid;

	if (attrs->flags & SFTP_ATTR_SIZE) {
		/* off_t is signed: a size beyond it cannot be shown. */
		st->st_size = attrs->size > (uint64_t)G_MAXINT64 ? G_MAXINT64
								  : (off_t)attrs->size;
	}
	st->st_blksize = ATTRS_BLKSIZE;
	/* Sparse files look full: SFTP v3 does not tell allocated size. */
	/* Rounded up without overflowing at the largest size (a server may
	 * send one; found by tests/fuzz/fuzz-sftp). */
	st->st_blocks = st->st_size / 512 + (st->st_size % 512 != 0);

	if (attrs->flags & SFTP_ATTR_ACMODTIME) {
		st->st_atim.tv_sec = attrs->atime;
		st->st_mtim.tv_sec = attrs->mtime;
		st->st_ctim.tv_sec = attrs->mtime;
	}
}

uint32_t attrs_uid_to_remote(const FsIdMap *ids, uid_t uid)
{
	if (ids->map_user && uid == ids->local_uid)
		return ids->remote_uid;
	return uid;
}

uint32_t attrs_gid_to_remote(const FsIdMap *ids, gid_t gid)
{
	if (ids->map_user && gid == ids->local_gid)
		return ids->remote_gid;
	return gid;
}

int attrs_check_access(const struct stat *st, int mask, uid_t uid, gid_t gid,
		       const gid_t *groups, int ngroups, gboolean group_unknown)
{
	mask &= R_OK | W_OK | X_OK;
	if (mask == 0)
		return 0;
	mode_t mode = st->st_mode;
	if (uid == 0) {
		if (!(mask & X_OK) || S_ISDIR(mode) || (mode & 0111))
			return 0;
		return -EACCES;
	}
	unsigned shift = 0; /* the "other" bits */
	if (uid == st->st_uid) {
		shift = 6;
	} else {
		gboolean member = gid == st->st_gid;
		for (int i = 0; i < ngroups && !member; i++)
			member = groups[i] == st->st_gid;
		if (member)
			shift = 3;
	}
	unsigned granted = (mode >> shift) & 7;
	if (shift == 0 && group_unknown)
		granted |= (mode >> 3) & 7;
	/* R_OK, W_OK, X_OK are 4, 2, 1: the rwx bits in the same order. */
	return ((unsigned)mask & ~granted) == 0 ? 0 : -EACCES;
}

uint32_t attrs_open_flags(int flags)
{
	uint32_t sftp_flags = 0;
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		sftp_flags = SFTP_OPEN_READ;
		break;
	case O_WRONLY:
		sftp_flags = SFTP_OPEN_WRITE;
		break;
	default:
		sftp_flags = SFTP_OPEN_READ | SFTP_OPEN_WRITE;
		break;
	}
	if (flags & O_CREAT)
		sftp_flags |= SFTP_OPEN_CREAT;
	if (flags & O_EXCL)
		sftp_flags |= SFTP_OPEN_EXCL;
	if (flags & O_TRUNC)
		sftp_flags |= SFTP_OPEN_TRUNC;
	if (flags & O_APPEND)
		sftp_flags |= SFTP_OPEN_APPEND;
	return sftp_flags;
}

uint32_t attrs_time_to_wire(time_t seconds)
{
	if (seconds < 0)
		return 0;
	if ((guint64)seconds > G_MAXUINT32)
		return G_MAXUINT32;
	return (uint32_t)seconds;
}

gboolean attrs_times_need_current(const struct timespec tv[2])
{
	if (tv == NULL)
		return FALSE;
	return (tv[0].tv_nsec == UTIME_OMIT) != (tv[1].tv_nsec == UTIME_OMIT);
}

static uint32_t attrs_pick_time(const struct timespec *ts, uint32_t current, time_t now)
{
	if (ts == NULL || ts->tv_nsec == UTIME_NOW)
		return attrs_time_to_wire(now);
	if (ts->tv_nsec == UTIME_OMIT)
		return current;
	return attrs_time_to_wire(ts->tv_sec);
}

gboolean attrs_set_times(SftpAttrs *attrs, const struct timespec tv[2],
			 const SftpAttrs *current, time_t now)
{
	if (tv != NULL && tv[0].tv_nsec == UTIME_OMIT && tv[1].tv_nsec == UTIME_OMIT)
		return FALSE;
	uint32_t cur_atime = 0, cur_mtime = 0;
	if (current != NULL && (current->flags & SFTP_ATTR_ACMODTIME)) {
		cur_atime = current->atime;
		cur_mtime = current->mtime;
	}
	attrs->atime = attrs_pick_time(tv ? &tv[0] : NULL, cur_atime, now);
	attrs->mtime = attrs_pick_time(tv ? &tv[1] : NULL, cur_mtime, now);
	attrs->flags |= SFTP_ATTR_ACMODTIME;
	return TRUE;
}
