/* SFTP v3 client over a byte stream: see fs/sftp.h.
 *
 * Threads: any number of callers, plus one reader thread per connection.
 * A caller registers its request(s) in the pending table (getting ids),
 * writes the packet(s) under send_lock, then sleeps on its batch's GCond.
 * The reader matches each reply to its request by id, stores the reply in
 * it (DATA straight into the caller's buffer) and signals the batch. No
 * lock is held across a round trip; send_lock only across one write. */
#define G_LOG_DOMAIN "jumpfs-sftp"
#include "fs/sftp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chain/errors.h"
#include "fs/sftp-codec.h"
#include "fs/sftp-proto.h"

/* The shared JUMPFS_ERROR domain, by name: G_DEFINE_QUARK in
 * chain/errors.c registers this same string, and sftp_lib must not link
 * against the chain library just for the quark. */
#define SFTPC_ERROR g_quark_from_static_string("jumpfs-error-quark")

#define HANDSHAKE_TIMEOUT_MS 30000
#define INBUF_SIZE (64 * 1024)
#define DIRECT_READ_MIN 8192

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
} SftpReq;

/* Requests a caller waits for together. Lives on the caller's stack; its
 * cond is used with conn->lock. */
struct SftpBatch {
	GCond cond;
	guint pending;              /* registered and not completed */
	SftpReq *done_head, *done_tail; /* completed, not yet collected */
};

struct SftpConn {
	gint refcount;
	int fd;                     /* owned, closed at free */
	GThread *reader;            /* joined at free */

	GMutex send_lock;           /* held for one write: a packet, or a batch of READs */

	GMutex lock;                /* protects the fields up to the next comment */
	GHashTable *pending;        /* id -> SftpReq * (not owned) */
	uint32_t next_id;
	gboolean broken;
	uint32_t read_chunk, write_chunk;

	/* Set during sftpc_start, read-only afterwards. */
	uint32_t version;
	GHashTable *extensions;     /* name -> version, both owned */
	GPtrArray *extension_list;  /* "name=version", owned */
	uint32_t max_read, max_write; /* chunk caps from limits@ and ourselves */

	/* Reader thread only (and sftpc_start before it runs). */
	size_t in_start, in_end;
	guint8 inbuf[INBUF_SIZE];
};

/* ---- requests and batches ---- */

static void batch_init(SftpBatch *b)
{
	memset(b, 0, sizeof(*b));
	g_cond_init(&b->cond);
}

static void req_clear(SftpReq *req)
{
	g_free(req->payload);
	req->payload = NULL;
}

/* Caller holds conn->lock. */
static void complete_locked(SftpReq *req, int err)
{
	SftpBatch *b = req->batch;
	req->err = err;
	req->done = TRUE;
	req->next_done = NULL;
	if (b->done_tail)
		b->done_tail->next_done = req;
	else
		b->done_head = req;
	b->done_tail = req;
	b->pending--;
	g_cond_signal(&b->cond);
}

/* Registers req in the table under batch b. Fails with -ENOTCONN once the
 * connection is broken, so nothing can be left waiting for a reader that
 * has gone. */
static int req_register(SftpConn *c, SftpBatch *b, SftpReq *req)
{
	guint8 *dest = req->dest;
	size_t cap = req->dest_cap, piece = req->piece;
	memset(req, 0, sizeof(*req));
	req->dest = dest;
	req->dest_cap = cap;
	req->piece = piece;
	req->batch = b;
	g_mutex_lock(&c->lock);
	if (c->broken) {
		g_mutex_unlock(&c->lock);
		return -ENOTCONN;
	}
	/* Ids wrap after 2^32 requests; never reuse one still pending. */
	while (g_hash_table_contains(c->pending, GUINT_TO_POINTER(c->next_id)))
		c->next_id++;
	req->id = c->next_id++;
	g_hash_table_insert(c->pending, GUINT_TO_POINTER(req->id), req);
	b->pending++;
	g_mutex_unlock(&c->lock);
	return 0;
}

/* Returns one of b's completed requests. With wait, blocks until one
 * completes; returns NULL when none is left to wait for (or, without
 * wait, none is ready). */
static SftpReq *batch_take(SftpConn *c, SftpBatch *b, gboolean wait)
{
	g_mutex_lock(&c->lock);
	while (wait && b->done_head == NULL && b->pending > 0)
		g_cond_wait(&b->cond, &c->lock);
	SftpReq *req = b->done_head;
	if (req) {
		b->done_head = req->next_done;
		if (b->done_head == NULL)
			b->done_tail = NULL;
	}
	g_mutex_unlock(&c->lock);
	return req;
}

/* Marks the connection broken, wakes the reader (and any blocked writer)
 * and fails every request still in the table. Requests the reader has
 * claimed are failed by the reader itself, which alone may touch them. */
static void conn_break(SftpConn *c)
{
	g_mutex_lock(&c->lock);
	gboolean was = c->broken;
	c->broken = TRUE;
	g_mutex_unlock(&c->lock);
	if (!was)
		shutdown(c->fd, SHUT_RDWR);

	g_mutex_lock(&c->lock);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, c->pending);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		g_hash_table_iter_remove(&it);
		complete_locked(value, -ENOTCONN);
	}
	g_mutex_unlock(&c->lock);
}

/* ---- the stream ---- */

/* Writes all of iov (modified) as one unit. MSG_NOSIGNAL: a dead peer must
 * give EPIPE, not kill the daemon. Any failure breaks the connection,
 * since a partial packet desynchronises the stream. */
static int conn_send(SftpConn *c, struct iovec *iov, size_t iovcnt)
{
	int err = 0;
	g_mutex_lock(&c->send_lock);
	while (iovcnt > 0) {
		struct msghdr msg = { .msg_iov = iov,
				      .msg_iovlen = MIN(iovcnt, (size_t)IOV_MAX) };
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (guint8 *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	g_mutex_unlock(&c->send_lock);
	if (err < 0) {
		g_debug("sftp: send failed: %s", g_strerror(-err));
		conn_break(c);
		return -ENOTCONN;
	}
	return 0;
}

static int send_buf(SftpConn *c, const SftpBuf *buf)
{
	struct iovec iov = { buf->data, buf->len };
	return conn_send(c, &iov, 1);
}

/* Reads exactly n bytes (dst NULL: discards them). Large reads bypass
 * inbuf so DATA goes straight to the caller's buffer (one syscall per
 * DATA body instead of a 32 KB copy). timeout_ms < 0
 * waits forever. Returns 0, -ENOTCONN on EOF/error, -ETIMEDOUT. */
static int in_read(SftpConn *c, void *dst, size_t n, int timeout_ms)
{
	guint8 *out = dst;
	while (n > 0) {
		size_t have = c->in_end - c->in_start;
		if (have > 0) {
			size_t k = MIN(have, n);
			if (out) {
				memcpy(out, c->inbuf + c->in_start, k);
				out += k;
			}
			c->in_start += k;
			n -= k;
			continue;
		}
		if (timeout_ms >= 0) {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int r = poll(&p, 1, timeout_ms);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				return -ETIMEDOUT;
		}
		gboolean direct = out != NULL && n >= DIRECT_READ_MIN;
		ssize_t r = read(c->fd, direct ? out : c->inbuf,
				 direct ? n : INBUF_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ENOTCONN;
		if (direct) {
			out += r;
			n -= (size_t)r;
		} else {
			c->in_start = 0;
			c->in_end = (size_t)r;
		}
	}
	return 0;
}

static uint32_t get_u32(const guint8 *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads one reply body (after length, type and id) into the claimed req.
 * Returns -ENOTCONN when the stream failed (req is then not completed). */
static int read_body(SftpConn *c, SftpReq *req, uint8_t type, size_t body)
{
	req->type = type;
	if (type == SFTP_FXP_DATA && req->dest != NULL) {
		guint8 lenbuf[4];
		if (body < 4) {
			req->err = -EPROTO;
			return in_read(c, NULL, body, -1);
		}
		if (in_read(c, lenbuf, 4, -1) < 0)
			return -ENOTCONN;
		size_t dlen = get_u32(lenbuf);
		body -= 4;
		if (dlen > body || dlen > req->dest_cap) {
			req->err = -EPROTO; /* more than asked for, or misframed */
			return in_read(c, NULL, body, -1);
		}
		if (in_read(c, req->dest, dlen, -1) < 0)
			return -ENOTCONN;
		req->dest_len = dlen;
		return in_read(c, NULL, body - dlen, -1);
	}
	req->payload = g_malloc(body ? body : 1);
	req->payload_len = body;
	return in_read(c, req->payload, body, -1);
}

static gpointer reader_main(gpointer data)
{
	SftpConn *c = data;
	for (;;) {
		guint8 hdr[9];
		if (in_read(c, hdr, sizeof(hdr), -1) < 0)
			break;
		uint32_t len = get_u32(hdr);
		uint32_t id = get_u32(hdr + 5);
		if (len < 5 || len > SFTP_MAX_PACKET_LEN) {
			g_debug("sftp: bad packet length %u", len);
			break;
		}
		g_mutex_lock(&c->lock);
		SftpReq *req = g_hash_table_lookup(c->pending, GUINT_TO_POINTER(id));
		if (req)
			g_hash_table_remove(c->pending, GUINT_TO_POINTER(id));
		g_mutex_unlock(&c->lock);
		if (req == NULL) {
			/* Framing is intact, so a stray reply is only skipped. */
			g_debug("sftp: reply to unknown request id %u", id);
			if (in_read(c, NULL, len - 5, -1) < 0)
				break;
			continue;
		}
		int r = read_body(c, req, hdr[4], len - 5);
		g_mutex_lock(&c->lock);
		complete_locked(req, r < 0 ? -ENOTCONN : req->err);
		g_mutex_unlock(&c->lock);
		if (r < 0)
			break;
	}
	conn_break(c);
	return NULL;
}

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
	SftpReader reply;           /* over req.payload after rpc_run */
} Rpc;

static void rpc_begin(SftpConn *c, Rpc *rpc, uint8_t type)
{
	rpc->conn = sftpc_ref(c);
	batch_init(&rpc->batch);
	memset(&rpc->req, 0, sizeof(rpc->req));
	sftp_buf_init(&rpc->pkt);
	rpc->err = req_register(c, &rpc->batch, &rpc->req);
	rpc->start = sftp_buf_begin_packet(&rpc->pkt, type, TRUE, rpc->req.id);
}

static void rpc_begin_ext(SftpConn *c, Rpc *rpc, const char *name)
{
	rpc_begin(c, rpc, SFTP_FXP_EXTENDED);
	sftp_buf_put_cstr(&rpc->pkt, name);
}

/* Returns 0 when a reply (of any type) is in rpc->reply, else -errno. */
static int rpc_run(Rpc *rpc)
{
	if (rpc->err < 0)
		return rpc->err;
	sftp_buf_end_packet(&rpc->pkt, rpc->start, 0);
	send_buf(rpc->conn, &rpc->pkt); /* on failure req fails -ENOTCONN */
	while (batch_take(rpc->conn, &rpc->batch, TRUE) != NULL)
		;
	if (rpc->req.err < 0)
		return rpc->req.err;
	sftp_reader_init(&rpc->reply, rpc->req.payload, rpc->req.payload_len);
	return 0;
}

static void rpc_clear(Rpc *rpc)
{
	req_clear(&rpc->req);
	sftp_buf_clear(&rpc->pkt);
	g_cond_clear(&rpc->batch.cond);
	sftpc_unref(rpc->conn);
}

/* A STATUS reply as -errno; EOF is an error where it makes no sense. */
static int status_errno(SftpReader *r, gboolean eof_ok)
{
	uint32_t code;
	if (!sftp_codec_read_status(r, &code, NULL))
		return -EPROTO;
	if (code == SFTP_FX_EOF && !eof_ok)
		return -EIO;
	return -sftp_status_to_errno(code, NULL);
}

/* Checks the reply type: want -> 0, STATUS -> its -errno (OK then makes
 * no sense and is -EPROTO), anything else -EPROTO. */
static int rpc_expect(Rpc *rpc, uint8_t want)
{
	if (rpc->req.type == want)
		return 0;
	if (rpc->req.type == SFTP_FXP_STATUS) {
		int err = status_errno(&rpc->reply, FALSE);
		return err < 0 ? err : -EPROTO;
	}
	return -EPROTO;
}

/* Runs rpc and returns the errno of its STATUS reply. Clears rpc. */
static int rpc_status(Rpc *rpc)
{
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc->req.type == SFTP_FXP_STATUS ?
		      status_errno(&rpc->reply, FALSE) : -EPROTO;
	rpc_clear(rpc);
	return err;
}

int sftp_status_to_errno(uint32_t status, const char *message)
{
	(void)message; /* OpenSSH sends fixed texts ("Failure"): no errno in it */
	switch (status) {
	case SFTP_FX_OK:
	case SFTP_FX_EOF:               /* callers that expect EOF handle it */
		return 0;
	case SFTP_FX_NO_SUCH_FILE:      return ENOENT;
	case SFTP_FX_PERMISSION_DENIED: return EACCES;
	case SFTP_FX_BAD_MESSAGE:       return EBADMSG;
	case SFTP_FX_NO_CONNECTION:
	case SFTP_FX_CONNECTION_LOST:   return ENOTCONN;
	case SFTP_FX_OP_UNSUPPORTED:    return EOPNOTSUPP;
	case SFTP_FX_FAILURE:
		/* OpenSSH's server folds every errno it has no v3 code for
		 * (EEXIST, ENOTEMPTY, ENOSPC, EXDEV, EISDIR...) into FAILURE.
		 * Callers that need the real one look with a follow-up stat. */
	default:
		return EIO;
	}
}

/* ---- lifecycle ---- */

static void conn_free(SftpConn *c)
{
	conn_break(c);
	if (c->reader)
		g_thread_join(c->reader);
	close(c->fd);
	g_hash_table_destroy(c->pending);
	g_hash_table_destroy(c->extensions);
	g_ptr_array_unref(c->extension_list);
	g_mutex_clear(&c->lock);
	g_mutex_clear(&c->send_lock);
	g_free(c);
}

SftpConn *sftpc_ref(SftpConn *conn)
{
	g_atomic_int_inc(&conn->refcount);
	return conn;
}

void sftpc_unref(SftpConn *conn)
{
	if (conn && g_atomic_int_dec_and_test(&conn->refcount))
		conn_free(conn);
}

void sftpc_shutdown(SftpConn *conn)
{
	conn_break(conn);
}

gboolean sftpc_is_broken(SftpConn *conn)
{
	g_mutex_lock(&conn->lock);
	gboolean broken = conn->broken;
	g_mutex_unlock(&conn->lock);
	return broken;
}

/* A login script that prints to stdout puts text where VERSION belongs;
 * say so (quoting its first line) rather than "bad length 1214606444". */
static void set_garbage_error(SftpConn *c, GError **error, const guint8 *hdr, size_t n)
{
	GString *text = g_string_new_len((const char *)hdr, (gssize)n);
	for (size_t i = c->in_start; i < c->in_end && text->len < 60; i++)
		g_string_append_c(text, (char)c->inbuf[i]);
	size_t line = strcspn(text->str, "\r\n");
	gboolean printable = line >= 4;
	for (size_t i = 0; i < line && printable; i++)
		printable = g_ascii_isprint(text->str[i]);
	if (printable)
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "SFTP server sent text (\"%.*s\") instead of a VERSION packet; "
			    "does a login script print to stdout?", (int)line, text->str);
	else
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "SFTP server did not answer with a VERSION packet");
	g_string_free(text, TRUE);
}

static gboolean handshake(SftpConn *c, GError **error)
{
	SftpBuf init;
	sftp_buf_init(&init);
	size_t start = sftp_buf_begin_packet(&init, SFTP_FXP_INIT, FALSE, 0);
	sftp_buf_put_u32(&init, SFTP_PROTOCOL_VERSION);
	sftp_buf_end_packet(&init, start, 0);
	int err = send_buf(c, &init);
	sftp_buf_clear(&init);

	guint8 hdr[5];
	if (err == 0)
		err = in_read(c, hdr, sizeof(hdr), HANDSHAKE_TIMEOUT_MS);
	if (err < 0) {
		g_set_error(error, SFTPC_ERROR,
			    err == -ETIMEDOUT ? JUMPFS_ERROR_TIMEOUT : JUMPFS_ERROR_DISCONNECTED,
			    err == -ETIMEDOUT ? "SFTP server did not answer INIT"
					      : "SFTP stream closed during the handshake");
		return FALSE;
	}
	uint32_t len = get_u32(hdr);
	if (len < 5 || len > SFTP_MAX_PACKET_LEN || hdr[4] != SFTP_FXP_VERSION) {
		set_garbage_error(c, error, hdr, sizeof(hdr));
		return FALSE;
	}
	guint8 *body = g_malloc(len - 1);
	err = in_read(c, body, len - 1, HANDSHAKE_TIMEOUT_MS);
	SftpReader r;
	sftp_reader_init(&r, body, len - 1);
	gboolean ok = err == 0 && sftp_reader_u32(&r, &c->version);
	while (ok && r.left > 0) {
		const guint8 *name, *data;
		uint32_t nlen, dlen;
		ok = sftp_reader_string(&r, &name, &nlen) &&
		     sftp_reader_string(&r, &data, &dlen);
		if (ok) {
			char *n = g_strndup((const char *)name, nlen);
			char *d = g_strndup((const char *)data, dlen);
			g_ptr_array_add(c->extension_list, g_strdup_printf("%s=%s", n, d));
			g_hash_table_replace(c->extensions, n, d);
		}
	}
	g_free(body);
	if (!ok) {
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "malformed SFTP VERSION packet");
		return FALSE;
	}
	if (c->version != SFTP_PROTOCOL_VERSION) {
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "SFTP server speaks version %u, only 3 is supported", c->version);
		return FALSE;
	}
	return TRUE;
}

/* limits@openssh.com: cap chunk sizes at what the server accepts. 0 in a
 * field means the server states no limit. Failures leave our defaults. */
static void query_limits(SftpConn *c)
{
	Rpc rpc;
	rpc_begin_ext(c, &rpc, SFTP_EXT_LIMITS);
	uint64_t packet, rd, wr, handles;
	if (rpc_run(&rpc) == 0 && rpc_expect(&rpc, SFTP_FXP_EXTENDED_REPLY) == 0 &&
	    sftp_reader_u64(&rpc.reply, &packet) && sftp_reader_u64(&rpc.reply, &rd) &&
	    sftp_reader_u64(&rpc.reply, &wr) && sftp_reader_u64(&rpc.reply, &handles)) {
		/* Leave room for headers (handles are up to 256 bytes). */
		if (packet > 1024) {
			c->max_read = (uint32_t)MIN(c->max_read, packet - 1024);
			c->max_write = (uint32_t)MIN(c->max_write, packet - 1024);
		}
		if (rd > 0)
			c->max_read = (uint32_t)MIN(c->max_read, rd);
		if (wr > 0)
			c->max_write = (uint32_t)MIN(c->max_write, wr);
	}
	rpc_clear(&rpc);
}

SftpConn *sftpc_start(int fd, GError **error)
{
	int type = 0;
	socklen_t tlen = sizeof(type);
	/* shutdown() must be able to wake the reader, so a socket it is. */
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM) {
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "SFTP stream is not a stream socket");
		close(fd);
		return NULL;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);

	SftpConn *c = g_new0(SftpConn, 1);
	c->refcount = 1;
	c->fd = fd;
	g_mutex_init(&c->send_lock);
	g_mutex_init(&c->lock);
	c->pending = g_hash_table_new(NULL, NULL);
	c->next_id = 1;
	c->extensions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->extension_list = g_ptr_array_new_with_free_func(g_free);
	/* Our own receive cap bounds DATA; 256 KiB is the usual message cap. */
	c->max_read = 256 * 1024;
	c->max_write = 256 * 1024 - 1024;

	if (!handshake(c, error)) {
		sftpc_unref(c);
		return NULL;
	}
	GError *thread_error = NULL;
	c->reader = g_thread_try_new("sftp-reader", reader_main, c, &thread_error);
	if (c->reader == NULL) {
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "cannot start the SFTP reader thread: %s", thread_error->message);
		g_error_free(thread_error);
		sftpc_unref(c);
		return NULL;
	}
	if (sftpc_has_extension(c, SFTP_EXT_LIMITS))
		query_limits(c);
	if (sftpc_is_broken(c)) {
		g_set_error(error, SFTPC_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "SFTP stream closed right after the handshake");
		sftpc_unref(c);
		return NULL;
	}
	sftpc_set_chunk_sizes(c, 0, 0);
	return c;
}

uint32_t sftpc_version(SftpConn *conn)
{
	return conn->version;
}

gboolean sftpc_has_extension(SftpConn *conn, const char *name)
{
	return g_hash_table_contains(conn->extensions, name);
}

GPtrArray *sftpc_extensions(SftpConn *conn)
{
	return conn->extension_list;
}

void sftpc_set_chunk_sizes(SftpConn *conn, uint32_t read_chunk, uint32_t write_chunk)
{
	g_mutex_lock(&conn->lock);
	conn->read_chunk = MIN(read_chunk ? read_chunk : SFTP_DEFAULT_CHUNK, conn->max_read);
	conn->write_chunk = MIN(write_chunk ? write_chunk : SFTP_DEFAULT_CHUNK, conn->max_write);
	g_mutex_unlock(&conn->lock);
}

void sftpc_get_chunk_sizes(SftpConn *conn, uint32_t *read_chunk, uint32_t *write_chunk)
{
	g_mutex_lock(&conn->lock);
	if (read_chunk)
		*read_chunk = conn->read_chunk;
	if (write_chunk)
		*write_chunk = conn->write_chunk;
	g_mutex_unlock(&conn->lock);
}

/* ---- path and handle operations ---- */

static int ext_missing(SftpConn *c, const char *name)
{
	return sftpc_has_extension(c, name) ? 0 : -ENOSYS;
}

/* Runs rpc expecting a NAME reply; *out gets the first name's filename. */
static int rpc_first_name(Rpc *rpc, char **out)
{
	uint32_t count;
	SftpName *name = NULL;
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_NAME);
	if (err == 0 && (!sftp_reader_u32(&rpc->reply, &count) || count < 1 ||
			 !sftp_codec_read_name(&rpc->reply, &name)))
		err = -EPROTO;
	if (err == 0) {
		*out = name->name;
		g_free(name);
	}
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting ATTRS. */
static int rpc_attrs(Rpc *rpc, SftpAttrs *attrs)
{
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_ATTRS);
	if (err == 0 && !sftp_reader_attrs(&rpc->reply, attrs))
		err = -EPROTO;
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting HANDLE. */
static int rpc_handle(Rpc *rpc, SftpHandle *handle)
{
	const guint8 *data;
	uint32_t len;
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_HANDLE);
	if (err == 0 && (!sftp_reader_string(&rpc->reply, &data, &len) ||
			 len == 0 || len > SFTP_HANDLE_MAX))
		err = -EPROTO;
	if (err == 0) {
		handle->len = len;
		memcpy(handle->data, data, len);
	}
	rpc_clear(rpc);
	return err;
}

/* Runs rpc expecting a statvfs EXTENDED_REPLY. */
static int rpc_statvfs(Rpc *rpc, struct statvfs *st)
{
	int err = rpc_run(rpc);
	if (err == 0)
		err = rpc_expect(rpc, SFTP_FXP_EXTENDED_REPLY);
	if (err == 0 && !sftp_codec_read_statvfs(&rpc->reply, st))
		err = -EPROTO;
	rpc_clear(rpc);
	return err;
}

/* Request with one path argument. */
static void rpc_path(SftpConn *c, Rpc *rpc, uint8_t type, const char *path)
{
	rpc_begin(c, rpc, type);
	sftp_buf_put_cstr(&rpc->pkt, path);
}

static void rpc_handle_arg(SftpConn *c, Rpc *rpc, uint8_t type, const SftpHandle *h)
{
	rpc_begin(c, rpc, type);
	sftp_buf_put_handle(&rpc->pkt, h);
}

int sftpc_realpath(SftpConn *conn, const char *path, char **resolved)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_REALPATH, path);
	return rpc_first_name(&rpc, resolved);
}

int sftpc_expand_path(SftpConn *conn, const char *path, char **expanded)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_EXPAND_PATH);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_EXPAND_PATH);
	sftp_buf_put_cstr(&rpc.pkt, path);
	return rpc_first_name(&rpc, expanded);
}

int sftpc_stat(SftpConn *conn, const char *path, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_STAT, path);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_lstat(SftpConn *conn, const char *path, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_LSTAT, path);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_fstat(SftpConn *conn, const SftpHandle *handle, SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_FSTAT, handle);
	return rpc_attrs(&rpc, attrs);
}

int sftpc_setstat(SftpConn *conn, const char *path, const SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_SETSTAT, path);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_lsetstat(SftpConn *conn, const char *path, const SftpAttrs *attrs)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_LSETSTAT);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_LSETSTAT);
	sftp_buf_put_cstr(&rpc.pkt, path);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_fsetstat(SftpConn *conn, const SftpHandle *handle, const SftpAttrs *attrs)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_FSETSTAT, handle);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_status(&rpc);
}

int sftpc_open(SftpConn *conn, const char *path, uint32_t sftp_flags,
	       const SftpAttrs *attrs, SftpHandle *handle)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_OPEN, path);
	sftp_buf_put_u32(&rpc.pkt, sftp_flags);
	sftp_buf_put_attrs(&rpc.pkt, attrs);
	return rpc_handle(&rpc, handle);
}

int sftpc_close(SftpConn *conn, const SftpHandle *handle)
{
	Rpc rpc;
	rpc_handle_arg(conn, &rpc, SFTP_FXP_CLOSE, handle);
	return rpc_status(&rpc);
}

int sftpc_fsync(SftpConn *conn, const SftpHandle *handle)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_FSYNC);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_FSYNC);
	sftp_buf_put_handle(&rpc.pkt, handle);
	return rpc_status(&rpc);
}

int sftpc_opendir(SftpConn *conn, const char *path, SftpHandle *handle)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_OPENDIR, path);
	return rpc_handle(&rpc, handle);
}

void sftp_name_free(SftpName *name)
{
	if (name) {
		g_free(name->name);
		g_free(name);
	}
}

/* Names the kernel would reject (empty, or holding '/') are dropped: a
 * server must never make us hand those to FUSE. */
static gboolean name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL;
}

int sftpc_readdir(SftpConn *conn, const SftpHandle *handle, GPtrArray *names)
{
	int added = 0;
	/* Loops only if a whole reply consisted of dropped names. */
	while (added == 0) {
		Rpc rpc;
		uint32_t count;
		rpc_handle_arg(conn, &rpc, SFTP_FXP_READDIR, handle);
		int err = rpc_run(&rpc);
		if (err == 0 && rpc.req.type == SFTP_FXP_STATUS) {
			err = status_errno(&rpc.reply, TRUE);
			rpc_clear(&rpc);
			return err; /* 0 at EOF */
		}
		if (err == 0)
			err = rpc_expect(&rpc, SFTP_FXP_NAME);
		if (err == 0 && !sftp_reader_u32(&rpc.reply, &count))
			err = -EPROTO;
		for (uint32_t i = 0; err == 0 && i < count; i++) {
			SftpName *name;
			if (!sftp_codec_read_name(&rpc.reply, &name)) {
				err = -EPROTO;
			} else if (!name_ok(name->name)) {
				g_debug("sftp: dropping bad entry name \"%s\"", name->name);
				sftp_name_free(name);
			} else {
				g_ptr_array_add(names, name);
				added++;
			}
		}
		rpc_clear(&rpc);
		if (err < 0)
			return err;
		if (count == 0)
			break; /* an empty NAME: do not spin on it */
	}
	return added;
}

int sftpc_remove(SftpConn *conn, const char *path)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_REMOVE, path);
	return rpc_status(&rpc);
}

int sftpc_mkdir(SftpConn *conn, const char *path, uint32_t mode)
{
	Rpc rpc;
	SftpAttrs attrs = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode };
	rpc_path(conn, &rpc, SFTP_FXP_MKDIR, path);
	sftp_buf_put_attrs(&rpc.pkt, &attrs);
	return rpc_status(&rpc);
}

int sftpc_rmdir(SftpConn *conn, const char *path)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_RMDIR, path);
	return rpc_status(&rpc);
}

int sftpc_rename(SftpConn *conn, const char *from, const char *to, gboolean noreplace)
{
	Rpc rpc;
	if (!noreplace && sftpc_has_extension(conn, SFTP_EXT_POSIX_RENAME))
		rpc_begin_ext(conn, &rpc, SFTP_EXT_POSIX_RENAME);
	else
		rpc_begin(conn, &rpc, SFTP_FXP_RENAME);
	sftp_buf_put_cstr(&rpc.pkt, from);
	sftp_buf_put_cstr(&rpc.pkt, to);
	return rpc_status(&rpc);
}

int sftpc_readlink(SftpConn *conn, const char *path, char **target)
{
	Rpc rpc;
	rpc_path(conn, &rpc, SFTP_FXP_READLINK, path);
	return rpc_first_name(&rpc, target);
}

int sftpc_symlink(SftpConn *conn, const char *target, const char *linkpath)
{
	Rpc rpc;
	/* OpenSSH's server reads the draft's (linkpath, targetpath) the other
	 * way round; its own client, and every client that works with it,
	 * sends the target first. */
	rpc_path(conn, &rpc, SFTP_FXP_SYMLINK, target);
	sftp_buf_put_cstr(&rpc.pkt, linkpath);
	return rpc_status(&rpc);
}

int sftpc_hardlink(SftpConn *conn, const char *oldpath, const char *newpath)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_HARDLINK);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_HARDLINK);
	sftp_buf_put_cstr(&rpc.pkt, oldpath);
	sftp_buf_put_cstr(&rpc.pkt, newpath);
	return rpc_status(&rpc);
}

int sftpc_statvfs(SftpConn *conn, const char *path, struct statvfs *st)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_STATVFS);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_STATVFS);
	sftp_buf_put_cstr(&rpc.pkt, path);
	return rpc_statvfs(&rpc, st);
}

int sftpc_fstatvfs(SftpConn *conn, const SftpHandle *handle, struct statvfs *st)
{
	Rpc rpc;
	int err = ext_missing(conn, SFTP_EXT_FSTATVFS);
	if (err < 0)
		return err;
	rpc_begin_ext(conn, &rpc, SFTP_EXT_FSTATVFS);
	sftp_buf_put_handle(&rpc.pkt, handle);
	return rpc_statvfs(&rpc, st);
}

/* ---- pipelined READ and WRITE ----
 *
 * [offset, offset+len) is cut into pieces of one chunk each. Up to
 * SFTP_MAX_INFLIGHT requests (slots) are in flight; every batch of new
 * requests goes out in one write. Each completion frees its slot for the
 * next piece (or, for a short read, for the rest of its own piece). */

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

	/* The answer is the prefix received without a gap. */
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
