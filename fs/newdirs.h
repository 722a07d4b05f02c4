/* Directories this mount made, and every name it touched in them since:
 * a lookup of any other name there is "no such file" without a round trip.
 *
 * `cp -r` and `tar x` into a new directory look up each name before they
 * create it; through a chain with latency that lookup is a third of the
 * cost of a small file. A directory mkdir made is empty, and whatever
 * appears in it through this mount is noted, so only another client could
 * have put a name there: the same bet the listing cache makes (a change
 * made elsewhere shows within its timeout, cache_timeout). Knowledge of a
 * directory ends with that timeout, when it is renamed or removed, and is
 * never taken from a listing or a failure: only from our own mkdir.
 *
 * Pure bookkeeping under one lock; no I/O. */
#ifndef JUMPFS_FS_NEWDIRS_H
#define JUMPFS_FS_NEWDIRS_H

#include <glib.h>

typedef struct NewDirs NewDirs;

/* timeout_s <= 0: nothing is ever known (every lookup asks). */
NewDirs *newdirs_new(double timeout_s);
void newdirs_free(NewDirs *dirs);

/* mkdir made path (a FUSE path): it is empty now. */
void newdirs_made(NewDirs *dirs, const char *path);
/* path was created, removed, renamed (from or to) or changed through the
 * mount: it may exist. subtree: it is (or was) a directory whose own
 * knowledge goes too. */
void newdirs_touched(NewDirs *dirs, const char *path, gboolean subtree);
/* TRUE when path surely does not exist (its directory is one we made, and
 * this mount never touched the name). */
gboolean newdirs_absent(NewDirs *dirs, const char *path);

#endif
