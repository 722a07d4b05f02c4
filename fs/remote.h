/* The mount's view of the backend: the chain to it and the SFTP
 * connection(s) running on its last hop. FUSE operations borrow a
 * connection for one operation; when it breaks, the next borrower gets a
 * new one, built over whatever part of the chain is still alive. */
#ifndef JUMPFS_FS_REMOTE_H
#define JUMPFS_FS_REMOTE_H

#include <glib.h>
#include "chain/config.h"
#include "fs/sftp.h"

typedef struct Remote Remote;

typedef struct {
	gboolean reconnect;        /* rebuild a broken chain on demand */
	guint max_conns;           /* SFTP channels over the one chain (>= 1) */
	uint32_t read_chunk;       /* 0 = default */
	uint32_t write_chunk;      /* 0 = default */
} RemoteOptions;

/* Connects the whole chain and the first SFTP channel now, so that a
 * broken chain is reported before mounting. remote_path is the path part
 * of host:path ("" or NULL = the login directory; relative = relative to
 * it). Takes ownership of chain. */
Remote *remote_connect(ChainSpec *chain, const char *remote_path,
		       const RemoteOptions *options, GError **error);
void remote_free(Remote *remote);

/* Absolute remote directory that the mount root shows. */
const char *remote_root(Remote *remote);
/* remote_root joined with a FUSE path ("/a/b"); newly allocated. */
char *remote_path_of(Remote *remote, const char *fuse_path);

/* Borrow a live connection (reconnecting if needed and allowed).
 * Returns 0 and a new reference in *conn, or -errno (-ENOTCONN, -EIO).
 * *generation (may be NULL) tells handles which connection opened them. */
int remote_acquire(Remote *remote, SftpConn **conn, guint *generation);
void remote_release(Remote *remote, SftpConn *conn);

#endif
