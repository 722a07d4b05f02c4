/* Shared by the pieces of the SFTP client; not for other users (they see
 * fs/sftp.h only).
 *
 *   fs/sftp-conn.c  the transport: requests and batches, the stream and
 *                   its reader thread, one round trip (Rpc), lifecycle
 *   fs/sftp-ops.c   path and handle operations, one Rpc each
 *   fs/sftp-io.c    pipelined READ and WRITE over batches of requests
 *
 * struct SftpConn stays inside fs/sftp-conn.c: the other two reach the
 * connection only through the functions below and fs/sftp.h. */
#ifndef JUMPFS_FS_SFTP_PRIVATE_H
#define JUMPFS_FS_SFTP_PRIVATE_H

#include <glib.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fs/sftp-codec.h"
#include "fs/sftp.h"

/* ---- requests and batches ---- */

typedef struct SftpBatch SftpBatch;

/* One request in flight. Ownership: the memory belongs to the caller that
 * issued it (stack or its own array). The pending table points to it from
 * registration until the reader claims it (removes it) or the connection
 * breaks; from claim to completion only the reader writes to it, after
 * completion only the caller. The reply payload belongs to the request
 * and is freed by req_clear. */
typedef struct SftpReq {
	uint32_t id;
	SftpBatch *batch;
	struct SftpReq *next_done;  /* link in batch's completed queue */
	gboolean done;
	int err;                    /* 0: a reply is here; else -errno */
	uint8_t type;               /* reply packet type */
	guint8 *payload;            /* reply body after the id (g_malloc) */
	size_t payload_len;
	guint8 *dest;               /* READ: DATA lands here (caller's buffer) */
	size_t dest_cap;
	size_t dest_len;            /* DATA bytes received into dest */
	size_t piece;               /* caller's bookkeeping */
	SftpDoneFn done_fn;         /* detached with a callback: see below */
	void *done_data;
} SftpReq;

/* Requests a caller waits for together. Lives on the caller's stack; its
 * cond is used with conn->lock. */
struct SftpBatch {
	GCond cond;
	guint pending;              /* registered and not completed */
	SftpReq *done_head, *done_tail; /* completed, not yet collected */
};

void batch_init(SftpBatch *b);
void req_clear(SftpReq *req);
/* Registers req in the table under batch b. Fails with -ENOTCONN once the
 * connection is broken, so nothing can be left waiting for a reader that
 * has gone. */
int req_register(SftpConn *c, SftpBatch *b, SftpReq *req);
/* A request nobody waits for: req must be g_malloc'ed and belongs to the
 * connection from here on (freed when its reply, or the connection's end,
 * comes: do not touch it again). Its id is stored in *id. */
int req_register_detached(SftpConn *c, SftpReq *req, uint32_t *id);
/* A detached request whose STATUS reply goes to done(done_data, err):
 * called exactly once, on the connection's reader thread (also when the
 * connection breaks: -ENOTCONN), never while a lock of ours is held. */
int req_register_callback(SftpConn *c, SftpReq *req, SftpDoneFn done, void *done_data,
			  uint32_t *id);
/* Returns one of b's completed requests. With wait, blocks until one
 * completes; returns NULL when none is left to wait for (or, without
 * wait, none is ready). */
SftpReq *batch_take(SftpConn *c, SftpBatch *b, gboolean wait);

/* ---- the stream ---- */

/* Writes all of iov (modified) as one unit. Any failure breaks the
 * connection, since a partial packet desynchronises the stream. */
int conn_send(SftpConn *c, struct iovec *iov, size_t iovcnt);
int send_buf(SftpConn *c, const SftpBuf *buf);

/* ---- one round trip ---- */

/* A single request: rpc_begin registers it (holding a reference to the
 * conn so that a concurrent last sftpc_unref cannot free it under us) and
 * starts the packet, the caller appends the fields, rpc_run sends and
 * waits, rpc_clear releases everything. */
typedef struct {
	SftpConn *conn;
	SftpBatch batch;
	SftpReq req;
	SftpBuf pkt;
	size_t start;
	int err;                    /* registration failure */
	gboolean sent;              /* rpc_send done (rpc_run then waits) */
	SftpReader reply;           /* over req.payload after rpc_run */
} Rpc;

void rpc_begin(SftpConn *c, Rpc *rpc, uint8_t type);
void rpc_begin_ext(SftpConn *c, Rpc *rpc, const char *name);
/* Returns 0 when a reply (of any type) is in rpc->reply, else -errno. */
int rpc_run(Rpc *rpc);
/* rpc_run in two halves, so that several requests go out back to back
 * before the first reply is awaited (rpc_run after rpc_send only
 * waits). */
void rpc_send(Rpc *rpc);
int rpc_wait(Rpc *rpc);
void rpc_clear(Rpc *rpc);
/* A STATUS reply as -errno; EOF is an error where it makes no sense. */
int status_errno(SftpReader *r, gboolean eof_ok);
/* Checks the reply type: want -> 0, STATUS -> its -errno (OK then makes
 * no sense and is -EPROTO), anything else -EPROTO. */
int rpc_expect(Rpc *rpc, uint8_t want);
/* Runs rpc and returns the errno of its STATUS reply. Clears rpc. */
int rpc_status(Rpc *rpc);

#endif
