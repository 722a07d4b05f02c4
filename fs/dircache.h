/* Directory listings kept for a while (sshfs's dcache): `ls -l` of a big
 * directory listed a moment ago costs no round trip.
 *
 * libfuse 3.14's high-level API does not pass cache_readdir/keep_cache
 * of opendir on to the kernel, so the kernel cannot keep listings itself;
 * this cache does it in the daemon. A listing is dropped when its timeout
 * passes, and at once when anything changes through this mount in that
 * directory (names or attributes of its entries). Big directories are not
 * kept: memory must not grow with a directory's size. */
#ifndef JUMPFS_FS_DIRCACHE_H
#define JUMPFS_FS_DIRCACHE_H

#include <glib.h>

/* Listings longer than this are streamed, never kept. */
#define DIRCACHE_MAX_ENTRIES 20000
/* All listings kept together cost at most this much (the oldest go
 * first): part of the mount's memory ceiling (docs/security.md). */
#define DIRCACHE_MAX_BYTES (16u * 1024 * 1024)

typedef struct DirCache DirCache;

DirCache *dircache_new(double timeout_s);
void dircache_free(DirCache *cache);
gboolean dircache_enabled(DirCache *cache);

/* A new reference to path's listing (SftpName *, read-only) if it is
 * fresh, else NULL. */
GPtrArray *dircache_get(DirCache *cache, const char *path);
/* Keeps a complete listing of path (takes a reference to names). started
 * is when the listing was begun (g_get_monotonic_time): a change made
 * after that but before now must not be hidden by it. */
void dircache_put(DirCache *cache, const char *path, GPtrArray *names, gint64 started);
/* Something in directory path changed. */
void dircache_invalidate(DirCache *cache, const char *path);
/* The entry path changed (created, removed, renamed, its attributes): its
 * directory's listing goes. With subtree, listings of path and below go
 * too (a directory renamed or removed). */
void dircache_entry_changed(DirCache *cache, const char *path, gboolean subtree);

#endif
