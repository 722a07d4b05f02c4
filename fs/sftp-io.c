/* SFTP v3 client, pipelined READ and WRITE: see fs/sftp.h.
 *
 * [offset, offset+len) is cut into pieces of one chunk each. Up to
 * SFTP_MAX_INFLIGHT requests (slots) are in flight; every batch of new
 * requests goes out in one write. Each completion frees its slot for the
 * next piece (or, for a short read, for the rest of its own piece). */
#define G_LOG_DOMAIN "jumpfs-sftp"
#include "fs/sftp-private.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "fs/sftp-proto.h"

typedef enum { PIECE_NEW, PIECE_BUSY, PIECE_FULL, PIECE_EOF, PIECE_ERR } PieceState;

typedef struct {
	PieceState state;
	size_t got;   /* READ: bytes received, contiguous from the piece start */
	int err;
} Piece;

/* Per-call state. Ownership: the arrays and pkt belong to the call; buf,
 * handle are the caller's; conn is a reference held for the call. */
typedef struct {
	SftpConn *conn;
	const SftpHandle *handle;
	uint64_t offset;
	guint8 *buf;                /* WRITE: only read from */
	size_t len, chunk, npieces;
	size_t next;                /* first piece never requested */
	size_t limit;               /* READ: pieces from here lie past an EOF */
	int abort_err;              /* first error: issue nothing more */
	SftpBatch batch;
	Piece *pieces;
	SftpReq *slots;
	SftpReq **free_slots;
	size_t nslots, nfree;
	SftpBuf pkt;                /* packets (READ) or headers (WRITE) to send */
} Pipe;

static void pipe_init(Pipe *p, SftpConn *c, const SftpHandle *handle,
		      uint64_t offset, void *buf, size_t len, size_t chunk)
{
	memset(p, 0, sizeof(*p));
	p->conn = sftpc_ref(c);
	p->handle = handle;
	p->offset = offset;
	p->buf = buf;
	p->len = len;
	p->chunk = chunk;
	p->npieces = (len + chunk - 1) / chunk;
	p->limit = p->npieces;
	batch_init(&p->batch);
	p->pieces = g_new0(Piece, p->npieces);
	p->nslots = MIN(p->npieces, (size_t)SFTP_MAX_INFLIGHT);
	p->slots = g_new0(SftpReq, p->nslots);
	p->free_slots = g_new(SftpReq *, p->nslots);
	for (size_t i = 0; i < p->nslots; i++)
		p->free_slots[p->nfree++] = &p->slots[i];
	sftp_buf_init(&p->pkt);
}

/* Only once nothing is in flight. */
static void pipe_clear(Pipe *p)
{
	sftp_buf_clear(&p->pkt);
	g_free(p->free_slots);
	g_free(p->slots);
	g_free(p->pieces);
	g_cond_clear(&p->batch.cond);
	sftpc_unref(p->conn);
}

static size_t piece_len(const Pipe *p, size_t i)
{
	return MIN(p->chunk, p->len - i * p->chunk);
}

static void pipe_fail(Pipe *p, size_t i, int err)
{
	p->pieces[i].state = PIECE_ERR;
	p->pieces[i].err = err;
	if (p->abort_err == 0)
		p->abort_err = err;
}

/* Registers request req for piece i, or fails the piece and frees req. */
static gboolean pipe_register(Pipe *p, SftpReq *req, size_t i)
{
	req->piece = i;
	int err = req_register(p->conn, &p->batch, req);
	if (err < 0) {
		pipe_fail(p, i, err);
		p->free_slots[p->nfree++] = req;
		return FALSE;
	}
	p->pieces[i].state = PIECE_BUSY;
	return TRUE;
}

/* A STATUS reply in a completed request, as -errno (EOF as 0 if eof_ok). */
static int req_status(SftpReq *req, gboolean eof_ok)
{
	SftpReader r;
	sftp_reader_init(&r, req->payload, req->payload_len);
	return req->type == SFTP_FXP_STATUS ? status_errno(&r, eof_ok) : -EPROTO;
}

/* Asks for the unreceived rest of piece i into slot req. */
static void read_issue(Pipe *p, SftpReq *req, size_t i)
{
	Piece *pc = &p->pieces[i];
	size_t at = i * p->chunk + pc->got;
	req->dest = p->buf + at;
	req->dest_cap = piece_len(p, i) - pc->got;
	if (!pipe_register(p, req, i))
		return;
	size_t start = sftp_buf_begin_packet(&p->pkt, SFTP_FXP_READ, TRUE, req->id);
	sftp_buf_put_handle(&p->pkt, p->handle);
	sftp_buf_put_u64(&p->pkt, p->offset + at);
	sftp_buf_put_u32(&p->pkt, (uint32_t)req->dest_cap);
	sftp_buf_end_packet(&p->pkt, start, 0);
}

static void read_done(Pipe *p, SftpReq *req)
{
	size_t i = req->piece;
	Piece *pc = &p->pieces[i];
	int err = req->err;
	gboolean eof = FALSE;
	if (err == 0 && req->type == SFTP_FXP_DATA) {
		pc->got += req->dest_len;
		eof = req->dest_len == 0; /* would re-request forever: call it EOF */
	} else if (err == 0) {
		err = req_status(req, TRUE);
		eof = err == 0;
	}
	req_clear(req);
	if (err < 0) {
		pipe_fail(p, i, err);
	} else if (eof) {
		pc->state = PIECE_EOF;
		p->limit = MIN(p->limit, i + 1);
	} else if (pc->got == piece_len(p, i)) {
		pc->state = PIECE_FULL;
	} else if (p->abort_err) {
		pipe_fail(p, i, p->abort_err);
	} else if (i < p->limit) {
		/* Short, but not EOF (OpenSSH returns what one read(2) gave):
		 * ask again for the rest, in the same slot. */
		read_issue(p, req, i);
		return;
	} else {
		pc->state = PIECE_EOF; /* past a known EOF: never looked at */
	}
	p->free_slots[p->nfree++] = req;
}

ssize_t sftpc_read(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		   void *buf, size_t len)
{
	uint32_t chunk;
	if (len == 0)
		return 0;
	sftpc_get_chunk_sizes(conn, &chunk, NULL);
	Pipe p;
	pipe_init(&p, conn, handle, offset, buf, len, chunk);
	SftpReq *req = NULL;
	do {
		/* Take in every completion that is ready, fill the free slots
		 * with new pieces, send it all at once, wait for the next. */
		for (; req != NULL; req = batch_take(conn, &p.batch, FALSE))
			read_done(&p, req);
		while (p.nfree > 0 && p.next < p.limit && p.abort_err == 0)
			read_issue(&p, p.free_slots[--p.nfree], p.next++);
		if (p.pkt.len > 0)
			send_buf(conn, &p.pkt); /* on failure our requests fail */
		p.pkt.len = 0;
	} while ((req = batch_take(conn, &p.batch, TRUE)) != NULL);

	/* The answer is the prefix received without a gap, ended by EOF or
	 * the end of the request. A failure anywhere before that fails the
	 * whole read: a short count would pass for the end of the file. */
	ssize_t total = 0;
	for (size_t i = 0; i < p.npieces; i++) {
		Piece *pc = &p.pieces[i];
		if (pc->state == PIECE_ERR || pc->state == PIECE_NEW) {
			/* NEW here only after an abort: EOF pieces stop us first */
			total = pc->state == PIECE_ERR ? pc->err : p.abort_err;
			break;
		}
		total += (ssize_t)pc->got;
		if (pc->state != PIECE_FULL)
			break;
	}
	pipe_clear(&p);
	return total;
}

/* Registers and sends WRITEs for new pieces, the payload straight from
 * the caller's buffer. One packet per write: send_lock is never held for
 * more than one chunk, so other threads' requests slip in between. */
static void write_issue(Pipe *p)
{
	while (p->nfree > 0 && p->next < p->npieces && p->abort_err == 0) {
		SftpReq *req = p->free_slots[--p->nfree];
		size_t i = p->next++, plen = piece_len(p, i);
		if (!pipe_register(p, req, i))
			break;
		p->pkt.len = 0;
		size_t start = sftp_buf_begin_packet(&p->pkt, SFTP_FXP_WRITE, TRUE, req->id);
		sftp_buf_put_handle(&p->pkt, p->handle);
		sftp_buf_put_u64(&p->pkt, p->offset + i * p->chunk);
		sftp_buf_put_u32(&p->pkt, (uint32_t)plen);
		sftp_buf_end_packet(&p->pkt, start, plen);
		struct iovec iov[2] = { { p->pkt.data, p->pkt.len },
					{ p->buf + i * p->chunk, plen } };
		conn_send(p->conn, iov, 2); /* on failure our requests fail */
	}
}

ssize_t sftpc_write(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		    const void *buf, size_t len)
{
	uint32_t chunk;
	if (len == 0)
		return 0;
	sftpc_get_chunk_sizes(conn, NULL, &chunk);
	Pipe p;
	pipe_init(&p, conn, handle, offset, (void *)buf, len, chunk);
	SftpReq *req = NULL;
	do {
		for (; req != NULL; req = batch_take(conn, &p.batch, FALSE)) {
			int err = req->err ? req->err : req_status(req, FALSE);
			if (err < 0)
				pipe_fail(&p, req->piece, err);
			else
				p.pieces[req->piece].state = PIECE_FULL;
			req_clear(req);
			p.free_slots[p.nfree++] = req;
		}
		write_issue(&p);
	} while ((req = batch_take(conn, &p.batch, TRUE)) != NULL);

	/* len only if every piece was written; else the first failure. */
	ssize_t result = (ssize_t)len;
	for (size_t i = 0; i < p.npieces && result >= 0; i++) {
		if (p.pieces[i].state == PIECE_ERR)
			result = p.pieces[i].err;
		else if (p.pieces[i].state != PIECE_FULL)
			result = p.abort_err; /* never sent after an abort */
	}
	pipe_clear(&p);
	return result;
}

int sftpc_write_async(SftpConn *conn, const SftpHandle *handle, uint64_t offset,
		      const void *buf, size_t len, SftpDoneFn done, void *data)
{
	uint32_t chunk;
	sftpc_get_chunk_sizes(conn, NULL, &chunk);
	if (len == 0 || len > chunk)
		return -EINVAL;
	SftpReq *req = g_new0(SftpReq, 1);
	uint32_t id;
	int err = req_register_callback(conn, req, done, data, &id);
	if (err < 0) {
		g_free(req);
		return err;
	}
	/* From here the request belongs to the connection (and may even be
	 * completed and freed before conn_send returns, if it breaks). */
	SftpBuf pkt;
	sftp_buf_init(&pkt);
	size_t start = sftp_buf_begin_packet(&pkt, SFTP_FXP_WRITE, TRUE, id);
	sftp_buf_put_handle(&pkt, handle);
	sftp_buf_put_u64(&pkt, offset);
	sftp_buf_put_u32(&pkt, (uint32_t)len);
	sftp_buf_end_packet(&pkt, start, len);
	struct iovec iov[2] = { { pkt.data, pkt.len }, { (void *)buf, len } };
	conn_send(conn, iov, 2); /* on failure the reader fails it: -ENOTCONN */
	sftp_buf_clear(&pkt);
	return 0;
}
