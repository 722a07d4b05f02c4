/* SFTP v3 client, read-ahead on one open file: see fs/sftp.h.
 *
 * The kernel reads a FUSE file 128 KiB at a time with at most a couple of
 * requests in flight, which through a chain of jump hosts leaves the link
 * idle most of the time. A stream keeps a window of READ requests in
 * flight ahead of the reader once it reads sequentially, growing the
 * window while it keeps doing so; a read elsewhere drops the window.
 *
 * Chunks are kept in offset order. The kernel may deliver two reads of
 * one sequence out of order (two FUSE threads), so any read that falls in
 * the requested range is served from it, and chunks are kept until the
 * reader is well past them (KEEP_BEHIND) or the stream resets. */
#define G_LOG_DOMAIN "jumpfs-sftp"
#include "fs/sftp-private.h"

#include <errno.h>
#include <string.h>

#include "fs/sftp-proto.h"

#define READAHEAD_FIRST_WINDOW (256 * 1024)
#define KEEP_BEHIND (512 * 1024)

typedef enum { CHUNK_BUSY, CHUNK_FULL, CHUNK_EOF, CHUNK_ERR } ChunkState;

typedef struct {
	SftpReq req;            /* first: the completion leads back here */
	uint64_t offset;
	size_t len;             /* asked for */
	size_t got;             /* received, contiguous from offset */
	ChunkState state;
	int err;
	guint8 *data;
} Chunk;

struct SftpReadahead {
	SftpConn *conn;         /* reference */
	SftpHandle handle;
	size_t max_window;
	size_t window;          /* bytes kept requested past the reader */
	size_t chunk_size;
	uint64_t next_offset;   /* end of the requested range */
	uint64_t last_end;      /* where the previous read ended */
	gboolean eof_seen;      /* nothing past next_offset to ask for */
	GQueue chunks;          /* Chunk *, by offset */
	guint in_flight;
	SftpBatch batch;
	SftpBuf pkt;
};

SftpReadahead *sftpc_readahead_new(SftpConn *conn, const SftpHandle *handle,
				   size_t max_window)
{
	SftpReadahead *ra = g_new0(SftpReadahead, 1);
	uint32_t chunk;
	ra->conn = sftpc_ref(conn);
	ra->handle = *handle;
	ra->max_window = max_window;
	sftpc_get_chunk_sizes(conn, &chunk, NULL);
	ra->chunk_size = chunk;
	g_queue_init(&ra->chunks);
	batch_init(&ra->batch);
	sftp_buf_init(&ra->pkt);
	return ra;
}

static void chunk_free(Chunk *chunk)
{
	req_clear(&chunk->req);
	g_free(chunk->data);
	g_free(chunk);
}

/* Asks for the part of chunk not received yet. */
static void readahead_issue(SftpReadahead *ra, Chunk *chunk)
{
	chunk->req.dest = chunk->data + chunk->got;
	chunk->req.dest_cap = chunk->len - chunk->got;
	int err = req_register(ra->conn, &ra->batch, &chunk->req);
	if (err < 0) {
		chunk->state = CHUNK_ERR;
		chunk->err = err;
		return;
	}
	chunk->state = CHUNK_BUSY;
	ra->in_flight++;
	size_t start = sftp_buf_begin_packet(&ra->pkt, SFTP_FXP_READ, TRUE, chunk->req.id);
	sftp_buf_put_handle(&ra->pkt, &ra->handle);
	sftp_buf_put_u64(&ra->pkt, chunk->offset + chunk->got);
	sftp_buf_put_u32(&ra->pkt, (uint32_t)chunk->req.dest_cap);
	sftp_buf_end_packet(&ra->pkt, start, 0);
}

static void readahead_flush(SftpReadahead *ra)
{
	if (ra->pkt.len > 0)
		send_buf(ra->conn, &ra->pkt); /* on failure the requests fail */
	ra->pkt.len = 0;
}

/* One completion: the chunk is full, at EOF, failed, or short and asked
 * again for its rest (OpenSSH answers with what one read(2) gave). */
static void readahead_complete(SftpReadahead *ra, SftpReq *req)
{
	Chunk *chunk = (Chunk *)req;
	int err = req->err;
	gboolean eof = FALSE;

	ra->in_flight--;
	if (err == 0 && req->type == SFTP_FXP_DATA) {
		chunk->got += req->dest_len;
		eof = req->dest_len == 0;
	} else if (err == 0 && req->type == SFTP_FXP_STATUS) {
		SftpReader r;
		sftp_reader_init(&r, req->payload, req->payload_len);
		err = status_errno(&r, TRUE);
		eof = err == 0;
	} else if (err == 0) {
		err = -EPROTO;
	}
	req_clear(req);
	if (err < 0) {
		chunk->state = CHUNK_ERR;
		chunk->err = err;
	} else if (eof) {
		chunk->state = CHUNK_EOF;
		ra->eof_seen = TRUE;
	} else if (chunk->got == chunk->len) {
		chunk->state = CHUNK_FULL;
	} else {
		readahead_issue(ra, chunk);
	}
}

/* Waits for every request in flight; used before dropping chunks, whose
 * memory the reader thread may still write into until they complete. */
static void readahead_drain(SftpReadahead *ra)
{
	readahead_flush(ra);
	while (ra->in_flight > 0) {
		SftpReq *req = batch_take(ra->conn, &ra->batch, TRUE);
		if (req == NULL)
			break;
		readahead_complete(ra, req);
		readahead_flush(ra);
	}
}

static void readahead_reset(SftpReadahead *ra)
{
	readahead_drain(ra);
	g_queue_clear_full(&ra->chunks, (GDestroyNotify)chunk_free);
	ra->window = 0;
	ra->eof_seen = FALSE;
}

/* Requests chunks up to end (clamped to what may be in flight). */
static void readahead_fill(SftpReadahead *ra, uint64_t end)
{
	size_t max_chunks = ra->max_window / ra->chunk_size + 64;
	while (ra->next_offset < end && !ra->eof_seen &&
	       g_queue_get_length(&ra->chunks) < max_chunks) {
		Chunk *chunk = g_new0(Chunk, 1);
		chunk->offset = ra->next_offset;
		chunk->len = ra->chunk_size;
		chunk->data = g_malloc(chunk->len);
		g_queue_push_tail(&ra->chunks, chunk);
		ra->next_offset += chunk->len;
		readahead_issue(ra, chunk);
	}
	readahead_flush(ra);
}

/* Is chunk settled, as far as [.., end) is concerned? */
static gboolean chunk_settled(const Chunk *chunk)
{
	return chunk->state != CHUNK_BUSY;
}

/* Copies what the chunks hold of [offset, offset+len); stops at the first
 * gap (EOF, error, short chunk). Returns bytes copied or -errno. */
static ssize_t readahead_copy(SftpReadahead *ra, uint64_t offset, guint8 *buf, size_t len)
{
	size_t copied = 0;
	for (GList *l = ra->chunks.head; l != NULL && copied < len; l = l->next) {
		Chunk *chunk = l->data;
		uint64_t want = offset + copied;
		if (chunk->offset + chunk->len <= want)
			continue;
		if (chunk->offset > want)
			break;
		/* Never a short count for a failure: FUSE takes a short read
		 * for the end of the file. The caller retries the whole read. */
		if (chunk->state == CHUNK_ERR)
			return chunk->err;
		size_t at = (size_t)(want - chunk->offset);
		if (at >= chunk->got)
			break; /* EOF (or a gap) here */
		size_t n = MIN(chunk->got - at, len - copied);
		memcpy(buf + copied, chunk->data + at, n);
		copied += n;
		if (at + n < chunk->len)
			break; /* short chunk: what follows is past EOF */
	}
	return (ssize_t)copied;
}

/* Waits until every chunk overlapping [offset, end) is settled. */
static void readahead_wait(SftpReadahead *ra, uint64_t offset, uint64_t end)
{
	for (;;) {
		gboolean pending = FALSE;
		for (GList *l = ra->chunks.head; l != NULL && !pending; l = l->next) {
			Chunk *chunk = l->data;
			if (chunk->offset >= end)
				break;
			if (chunk->offset + chunk->len > offset && !chunk_settled(chunk))
				pending = TRUE;
		}
		if (!pending)
			return;
		SftpReq *req = batch_take(ra->conn, &ra->batch, TRUE);
		if (req == NULL)
			return;
		readahead_complete(ra, req);
		readahead_flush(ra);
	}
}

ssize_t sftpc_readahead_read(SftpReadahead *ra, uint64_t offset, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	Chunk *head = g_queue_peek_head(&ra->chunks);
	uint64_t low = head ? head->offset : ra->last_end;
	gboolean sequential = offset >= low && offset <= MAX(ra->next_offset, ra->last_end);

	if (!sequential) {
		readahead_reset(ra);
		ra->next_offset = ra->last_end = offset + len;
		ssize_t n = sftpc_read(ra->conn, &ra->handle, offset, buf, len);
		ra->last_end = offset + (n > 0 ? (size_t)n : 0);
		ra->next_offset = ra->last_end;
		return n;
	}
	/* Reading on where we were: widen the window, up to the maximum. */
	ra->window = MIN(ra->max_window, ra->window ? ra->window * 2 : READAHEAD_FIRST_WINDOW);
	if (g_queue_is_empty(&ra->chunks))
		ra->next_offset = MAX(ra->next_offset, offset);
	readahead_fill(ra, offset + len + ra->window);
	readahead_wait(ra, offset, offset + len);
	ssize_t n = readahead_copy(ra, offset, buf, len);
	if (n == 0 && ra->eof_seen) {
		/* The EOF we saw may be old news (a file that grows): ask. */
		readahead_reset(ra);
		n = sftpc_read(ra->conn, &ra->handle, offset, buf, len);
		ra->next_offset = offset + (n > 0 ? (size_t)n : 0);
	}
	if (n > 0)
		ra->last_end = MAX(ra->last_end, offset + (size_t)n);
	/* Chunks well behind the reader are done with. */
	while ((head = g_queue_peek_head(&ra->chunks)) != NULL &&
	       chunk_settled(head) &&
	       head->offset + head->len + KEEP_BEHIND <= ra->last_end) {
		g_queue_pop_head(&ra->chunks);
		chunk_free(head);
	}
	readahead_fill(ra, ra->last_end + ra->window);
	return n;
}

void sftpc_readahead_invalidate(SftpReadahead *ra)
{
	readahead_reset(ra);
	ra->next_offset = ra->last_end;
}

void sftpc_readahead_free(SftpReadahead *ra)
{
	if (ra == NULL)
		return;
	readahead_reset(ra);
	sftp_buf_clear(&ra->pkt);
	g_cond_clear(&ra->batch.cond);
	sftpc_unref(ra->conn);
	g_free(ra);
}
