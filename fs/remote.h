/* The mount's view of the backend: SFTP connections to it (slots), and
 * getting new ones when they break.
 *
 * Remote does not know how a byte stream to an sftp server is made: it is
 * given an opener (the chain in jumpfs, a local sftp-server in tests).
 *
 * Reconnecting happens on a thread of the Remote's own, never inside an
 * operation, so that how long an operation waits for a broken chain is a
 * policy of its own (NFS's soft and hard mounts):
 *   soft (default): an operation that needs a connection while none is
 *     live waits for the reconnect that finding the break started, but at
 *     most grace_us (1 s) from the moment the break was found (or from the
 *     start of a new attempt it asked for); a chain whose last attempt
 *     failed is dead: operations fail at once with -ENOTCONN until an
 *     attempt succeeds. With the pump's keepalive finding a dead hop in
 *     ServerAliveInterval x ServerAliveCountMax, an operation on a dead
 *     chain returns within that + 1 s of the cut.
 *   hard: operations wait until a connection is back, however long; the
 *     wait is cut into short slices and returns -EINTR when the caller's
 *     interrupt check says so (FUSE's intr).
 * Attempts back off (250 ms doubling to 8 s). They are made only while
 * someone needs a connection: an operation waiting, or write-behind data
 * that waits to be replayed (remote_keep_trying).
 *
 * An authentication failure is different (a login refused, a secret that
 * nobody can be asked for, a host key refused): no amount of retrying
 * brings a new secret, and a server that counts failures (fail2ban) would
 * lock the account. After one, operations fail with -EACCES at once, hard
 * or soft;
 * the next attempt is made only when an operation asks after a delay that
 * grows (1 min doubling to 30 min), and never in the background. */
#ifndef JUMPFS_FS_REMOTE_H
#define JUMPFS_FS_REMOTE_H

#include <glib.h>
#include "fs/sftp.h"

typedef struct Remote Remote;

/* Returns a connected stream fd to an sftp server for a slot, or -1 with
 * *error set (code JUMPFS_ERROR_AUTH for an authentication failure).
 * Stripe slots (remote_stripe_slot) may come from sessions of their own.
 * Called from the Remote's threads (and from remote_connect's caller);
 * may block. */
typedef int (*RemoteOpenStream)(void *opener_data, guint slot, GError **error);

typedef struct {
	gboolean reconnect;        /* open a new stream when one breaks */
	gboolean hard;             /* wait for a broken chain (see above) */
	guint max_conns;           /* channels operations share (>= 1) */
	guint stripes;             /* channels one file's queued writes may
				    * use, its own included (0 = 1); the
				    * extra ones are slots of their own,
				    * after the max_conns (remote_stripe_slot) */
	uint32_t read_chunk;       /* 0 = sftp.c's default */
	uint32_t write_chunk;      /* 0 = sftp.c's default */
	gint64 grace_us;           /* soft: longest wait for a reconnect;
				    * 0 = 1 s */
	/* TRUE when the caller of a waiting operation was interrupted
	 * (fuse_interrupted); NULL: never. */
	gboolean (*interrupted)(void);
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
gboolean remote_is_hard(Remote *remote);

/* What `jumpfs status` shows of one connection slot. */
typedef struct {
	gboolean open;              /* a live SFTP channel */
	gboolean stripe;            /* a stripe slot, not one operations share */
	guint in_flight;            /* requests sent, not answered */
} RemoteChannelStats;

/* One RemoteChannelStats per slot (remote_slots of them), from counters
 * under short locks: no I/O. Free with g_array_unref. */
GArray *remote_channel_stats(Remote *remote);
gboolean remote_reconnects(Remote *remote);

/* Borrow a live connection (round robin over the first max_conns slots),
 * waiting for a reconnect as the policy above says. Returns 0 and a new
 * reference in *conn, or -ENOTCONN, -EINTR (hard, interrupted), -EACCES
 * (authentication failed). *generation (may be NULL) tells handles which
 * connection opened them. */
int remote_acquire(Remote *remote, SftpConn **conn, guint *generation);
void remote_release(Remote *remote, SftpConn *conn);

/* Number of slots: max_conns + stripes - 1. */
guint remote_slots(Remote *remote);
/* Channels a file's writes may be striped over (options.stripes, >= 1). */
guint remote_stripes(Remote *remote);
/* The slot of stripe i (1 .. remote_stripes - 1; stripe 0 is the file's
 * own connection): max_conns + i - 1. */
guint remote_stripe_slot(Remote *remote, guint i);
/* The live connection of one slot, without waiting: 0 and a reference,
 * or -EAGAIN when it is not open (it is then opened in the background,
 * if the chain is live; remote_on_change tells when) or -ENOTCONN. */
int remote_acquire_slot(Remote *remote, guint slot, SftpConn **conn, guint *generation);

/* Write-behind has data to replay: keep reconnecting (with backoff)
 * until the monotonic time until (G_MAXINT64: for ever; 0: no more), even
 * with no operation waiting. Replaces the earlier value. */
void remote_keep_trying(Remote *remote, gint64 until);
/* When slot 0 was found broken and has not come back (monotonic), or 0
 * while it is live. */
gint64 remote_down_since(Remote *remote);
/* fn(data) is called (from the Remote's thread, no lock held) after a
 * slot opened. One listener; set it before anything can break. Returns
 * once no call of the previous listener runs any more (so NULL, then
 * free its data); never call it from the listener. */
void remote_on_change(Remote *remote, void (*fn)(void *data), void *data);

#endif
