/* What an open file looked like, and whether a re-opened one matches
 * (see fs/identity.h). */
#include "fs/identity.h"

#include <sys/stat.h>

void fs_identity_seen(FsIdentity *id, const SftpAttrs *attrs)
{
	if (id->inflight > 0 && id->known)
		return;
	guint inflight = id->inflight;
	*id = (FsIdentity){ .known = TRUE, .inflight = inflight };
	if (attrs->flags & SFTP_ATTR_PERMISSIONS)
		id->type = attrs->permissions & S_IFMT;
	if (attrs->flags & SFTP_ATTR_SIZE) {
		id->has_size = TRUE;
		id->size_lo = id->size_hi = attrs->size;
	}
	if (attrs->flags & SFTP_ATTR_ACMODTIME) {
		id->has_mtime = TRUE;
		id->mtime = attrs->mtime;
	}
}

void fs_identity_write_begin(FsIdentity *id, uint64_t end)
{
	id->inflight++;
	id->mtime_moves = TRUE;
	if (end > id->size_hi)
		id->size_hi = end;
}

void fs_identity_write_end(FsIdentity *id, uint64_t end, gboolean ok)
{
	if (id->inflight > 0)
		id->inflight--;
	if (end > id->size_hi)
		id->size_hi = end;
	/* A failed write may have stored a part: the size stays a range. */
	if (ok && end > id->size_lo)
		id->size_lo = end;
}

void fs_identity_truncated(FsIdentity *id, uint64_t size, gboolean ok)
{
	id->mtime_moves = TRUE;
	if (ok && id->inflight == 0) {
		id->size_lo = id->size_hi = size;
		return;
	}
	/* Not answered, or writes in flight around it: either may be last. */
	if (size < id->size_lo)
		id->size_lo = size;
	if (size > id->size_hi)
		id->size_hi = size;
}

void fs_identity_times_set(FsIdentity *id, uint32_t mtime)
{
	/* Our writes may land after the SETSTAT or before: any mtime from
	 * the smaller one on is ours. */
	if (!id->has_mtime || mtime < id->mtime)
		id->mtime = mtime;
	id->has_mtime = id->known;
	id->mtime_moves = TRUE;
}

void fs_identity_others_wrote(FsIdentity *id)
{
	id->others = TRUE;
}

static const char *fs_identity_type_name(uint32_t type)
{
	switch (type) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	default: return "a special file";
	}
}

char *fs_identity_mismatch(const FsIdentity *id, const SftpAttrs *now)
{
	if (!id->known)
		return NULL; /* nothing was seen (the server sent no attributes) */
	if (id->type != 0 && (now->flags & SFTP_ATTR_PERMISSIONS) &&
	    (now->permissions & S_IFMT) != id->type)
		return g_strdup_printf("it is %s now, it was %s",
				       fs_identity_type_name(now->permissions & S_IFMT),
				       fs_identity_type_name(id->type));
	if (id->others)
		return NULL;
	if (id->has_size && (now->flags & SFTP_ATTR_SIZE) &&
	    (now->size < id->size_lo || now->size > id->size_hi)) {
		if (id->size_lo == id->size_hi)
			return g_strdup_printf("its size is %" G_GUINT64_FORMAT
					       " bytes, it was %" G_GUINT64_FORMAT,
					       (guint64)now->size, (guint64)id->size_lo);
		return g_strdup_printf("its size is %" G_GUINT64_FORMAT " bytes, "
				       "our writes explain %" G_GUINT64_FORMAT
				       " to %" G_GUINT64_FORMAT,
				       (guint64)now->size, (guint64)id->size_lo,
				       (guint64)id->size_hi);
	}
	if (id->has_mtime && (now->flags & SFTP_ATTR_ACMODTIME)) {
		if (id->mtime_moves ? now->mtime < id->mtime : now->mtime != id->mtime)
			return g_strdup_printf("its mtime is %u, it was %u%s", now->mtime,
					       id->mtime, id->mtime_moves ?
					       " (and only our writes since)" : "");
	}
	return NULL;
}
