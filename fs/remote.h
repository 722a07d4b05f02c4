/* The mount's view of the backend: SFTP connection(s) to it, and how to get
 * a new one when one breaks. FUSE operations borrow a connection for one
 * operation; when it breaks, the next borrower gets a new one.
 *
 * Remote does not know how a byte stream to an sftp server is made: it is
 * given an opener (the chain in jumpfs, a local sftp-server in tests). */
#ifndef JUMPFS_FS_REMOTE_H
#define JUMPFS_FS_REMOTE_H

#include <glib.h>
#include "fs/sftp.h"

typedef struct Remote Remote;

/* Returns a connected stream fd to an sftp server, or -1 with *error set.
 * Called from whichever thread needs a connection; may block. */
typedef int (*RemoteOpenStream)(void *opener_data, GError **error);

typedef struct {
	gboolean reconnect;        /* open a new stream when one breaks */
	guint max_conns;           /* parallel SFTP channels (>= 1) */
	uint32_t read_chunk;       /* 0 = sftp.c's default */
	uint32_t write_chunk;      /* 0 = sftp.c's default */
} RemoteOptions;

/* Opens the first connection now, so that a broken chain is reported
 * before mounting. remote_path is the path part of host:path (NULL or ""
 * = the login directory; relative = relative to it). */
Remote *remote_connect(RemoteOpenStream open_stream, void *opener_data,
		       const char *remote_path, const RemoteOptions *options,
		       GError **error);
void remote_free(Remote *remote);

/* Absolute remote directory that the mount root shows. */
const char *remote_root(Remote *remote);
/* remote_root joined with a FUSE path ("/a/b"); newly allocated. */
char *remote_path_of(Remote *remote, const char *fuse_path);

/* Borrow a live connection, opening a new one if needed and allowed.
 * Returns 0 and a new reference in *conn, or -errno (-ENOTCONN).
 * *generation (may be NULL) tells handles which connection opened them:
 * a handle from an older generation is stale. */
int remote_acquire(Remote *remote, SftpConn **conn, guint *generation);
void remote_release(Remote *remote, SftpConn *conn);

#endif
