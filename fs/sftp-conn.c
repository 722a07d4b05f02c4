/* SFTP v3 client over a byte stream, the transport: the connection, its
 * reader thread, the pending-request table, sending and waiting, one
 * round trip (Rpc), start, shutdown and references. See fs/sftp.h; the
 * pieces shared with fs/sftp-ops.c and fs/sftp-io.c are in
 * fs/sftp-private.h.
 *
 * Threads: any number of callers, plus one reader thread per connection.
 * A caller registers its request(s) in the pending table (getting ids),
 * writes the packet(s) under send_lock, then sleeps on its batch's GCond.
 * The reader matches each reply to its request by id, stores the reply in
 * it (DATA straight into the caller's buffer) and signals the batch. No
 * lock is held across a round trip; send_lock only across one write. */
#define G_LOG_DOMAIN "jumpfs-sftp"
#include "fs/sftp-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chain/errors.h"
#include "fs/sftp-proto.h"

/* The shared JUMPFS_ERROR domain, by name: G_DEFINE_QUARK in
 * chain/errors.c registers this same string, and sftp_lib must not link
 * against the chain library just for the quark. */
#define SFTPC_ERROR g_quark_from_static_string("jumpfs-error-quark")

#define HANDSHAKE_TIMEOUT_MS 30000
#define INBUF_SIZE (64 * 1024)
#define DIRECT_READ_MIN 8192

struct SftpConn {
	gint refcount;
	int fd;                     /* owned, closed at free */
	GThread *reader;            /* joined at free */
	gpointer reader_self;       /* the reader's g_thread_self() (atomic) */
	gboolean free_on_exit;      /* last reference dropped on the reader
				     * thread (a callback): it frees at exit */

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

void batch_init(SftpBatch *b)
{
	memset(b, 0, sizeof(*b));
	g_cond_init(&b->cond);
}

void req_clear(SftpReq *req)
{
	g_free(req->payload);
	req->payload = NULL;
}

/* The STATUS a callback request got, as 0 or -errno. */
static int req_callback_result(SftpReq *req)
{
	if (req->err < 0)
		return req->err;
	if (req->type != SFTP_FXP_STATUS)
		return -EPROTO;
	SftpReader r;
	sftp_reader_init(&r, req->payload, req->payload_len);
	return status_errno(&r, FALSE);
}

/* Runs and frees completed callback requests (linked by next_done).
 * Called on the reader thread with no lock held. */
static void run_callbacks(SftpReq *list)
{
	while (list != NULL) {
		SftpReq *req = list;
		list = req->next_done;
		req->done_fn(req->done_data, req_callback_result(req));
		req_clear(req);
		g_free(req);
	}
}

/* Caller holds conn->lock. A request with a callback is returned (err
 * stored) for the caller to run once the lock is released. */
static SftpReq *complete_locked(SftpReq *req, int err)
{
	SftpBatch *b = req->batch;
	if (b == NULL && req->done_fn != NULL) {
		req->err = err;
		req->next_done = NULL;
		return req;
	}
	if (b == NULL) {
		/* Detached: nobody waits for it; it dies with its reply. */
		req_clear(req);
		g_free(req);
		return NULL;
	}
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
	return NULL;
}

static int req_register_id(SftpConn *c, SftpBatch *b, SftpReq *req, uint32_t *id)
{
	guint8 *dest = req->dest;
	size_t cap = req->dest_cap, piece = req->piece;
	SftpDoneFn done_fn = req->done_fn;
	void *done_data = req->done_data;
	memset(req, 0, sizeof(*req));
	req->dest = dest;
	req->dest_cap = cap;
	req->piece = piece;
	req->done_fn = done_fn;
	req->done_data = done_data;
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
	*id = req->id;
	g_hash_table_insert(c->pending, GUINT_TO_POINTER(req->id), req);
	if (b != NULL)
		b->pending++;
	g_mutex_unlock(&c->lock);
	return 0;
}

int req_register(SftpConn *c, SftpBatch *b, SftpReq *req)
{
	uint32_t id;
	return req_register_id(c, b, req, &id);
}

int req_register_detached(SftpConn *c, SftpReq *req, uint32_t *id)
{
	req->done_fn = NULL;
	return req_register_id(c, NULL, req, id);
}

int req_register_callback(SftpConn *c, SftpReq *req, SftpDoneFn done, void *done_data,
			  uint32_t *id)
{
	req->done_fn = done;
	req->done_data = done_data;
	return req_register_id(c, NULL, req, id);
}

static gboolean on_reader_thread(SftpConn *c)
{
	return g_atomic_pointer_get(&c->reader_self) == (gpointer)g_thread_self();
}

SftpReq *batch_take(SftpConn *c, SftpBatch *b, gboolean wait)
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
 * claimed are failed by the reader itself, which alone may touch them.
 * So are requests with a callback: callbacks run on the reader thread
 * only (which ends soon after the shutdown here, failing the rest), so
 * that a thread breaking the connection while it holds a lock never
 * meets a callback that wants the same lock. */
static void conn_break(SftpConn *c)
{
	gboolean reader = on_reader_thread(c);
	g_mutex_lock(&c->lock);
	gboolean was = c->broken;
	c->broken = TRUE;
	g_mutex_unlock(&c->lock);
	if (!was)
		shutdown(c->fd, SHUT_RDWR);

	SftpReq *callbacks = NULL, **tail = &callbacks;
	g_mutex_lock(&c->lock);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, c->pending);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		SftpReq *req = value;
		if (req->batch == NULL && req->done_fn != NULL && !reader)
			continue;
		g_hash_table_iter_remove(&it);
		SftpReq *cb = complete_locked(req, -ENOTCONN);
		if (cb != NULL) {
			*tail = cb;
			tail = &cb->next_done;
		}
	}
	g_mutex_unlock(&c->lock);
	run_callbacks(callbacks);
}

/* ---- the stream ---- */

/* MSG_NOSIGNAL: a dead peer must give EPIPE, not kill the daemon. */
int conn_send(SftpConn *c, struct iovec *iov, size_t iovcnt)
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

int send_buf(SftpConn *c, const SftpBuf *buf)
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

static void conn_destroy(SftpConn *c);

static gpointer reader_main(gpointer data)
{
	SftpConn *c = data;
	g_atomic_pointer_set(&c->reader_self, g_thread_self());
	for (;;) {
		guint8 hdr[9];
		if (in_read(c, hdr, sizeof(hdr), -1) < 0)
			break;
		uint32_t len = get_u32(hdr);
		uint32_t id = get_u32(hdr + 5);
		if (len < 5 || len > SFTP_MAX_PACKET_LEN) {
			/* No way to find the next packet: the stream is lost. */
			g_warning("sftp: the server sent a packet of %u bytes (at most %u "
				  "make sense): closing the connection", len,
				  SFTP_MAX_PACKET_LEN);
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
		SftpReq *cb = complete_locked(req, r < 0 ? -ENOTCONN : req->err);
		g_mutex_unlock(&c->lock);
		run_callbacks(cb);
		if (r < 0)
			break;
	}
	conn_break(c);
	/* A callback dropped the last reference: nobody joins us. */
	if (c->free_on_exit)
		conn_destroy(c);
	return NULL;
}

/* ---- one round trip ---- */

void rpc_begin(SftpConn *c, Rpc *rpc, uint8_t type)
{
	rpc->conn = sftpc_ref(c);
	rpc->sent = FALSE;
	batch_init(&rpc->batch);
	memset(&rpc->req, 0, sizeof(rpc->req));
	sftp_buf_init(&rpc->pkt);
	rpc->err = req_register(c, &rpc->batch, &rpc->req);
	rpc->start = sftp_buf_begin_packet(&rpc->pkt, type, TRUE, rpc->req.id);
}

void rpc_begin_ext(SftpConn *c, Rpc *rpc, const char *name)
{
	rpc_begin(c, rpc, SFTP_FXP_EXTENDED);
	sftp_buf_put_cstr(&rpc->pkt, name);
}

void rpc_send(Rpc *rpc)
{
	if (rpc->err < 0 || rpc->sent)
		return;
	rpc->sent = TRUE;
	sftp_buf_end_packet(&rpc->pkt, rpc->start, 0);
	send_buf(rpc->conn, &rpc->pkt); /* on failure req fails -ENOTCONN */
}

int rpc_run(Rpc *rpc)
{
	rpc_send(rpc);
	return rpc_wait(rpc);
}

static gboolean (*sftpc_interrupted)(void);

void sftpc_set_interrupt_check(gboolean (*interrupted)(void))
{
	g_atomic_pointer_set(&sftpc_interrupted, interrupted);
}

/* Waits for rpc's one request, in slices when an interrupt check is set:
 * an interrupted caller gives the request up (a late reply is skipped as
 * one to an unknown id) unless the reader is already filling it in. */
static int rpc_wait_reply(Rpc *rpc)
{
	gboolean (*interrupted)(void) = g_atomic_pointer_get(&sftpc_interrupted);
	SftpConn *c = rpc->conn;
	SftpBatch *b = &rpc->batch;
	int rc = 0;
	g_mutex_lock(&c->lock);
	while (b->done_head == NULL && b->pending > 0) {
		if (interrupted == NULL) {
			g_cond_wait(&b->cond, &c->lock);
			continue;
		}
		g_cond_wait_until(&b->cond, &c->lock,
				  g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND);
		if (b->done_head != NULL || b->pending == 0)
			break;
		g_mutex_unlock(&c->lock);
		gboolean stop = interrupted();
		g_mutex_lock(&c->lock);
		gpointer key = GUINT_TO_POINTER(rpc->req.id);
		if (stop && g_hash_table_lookup(c->pending, key) == &rpc->req) {
			g_hash_table_remove(c->pending, key);
			b->pending--;
			rc = -EINTR;
			break;
		}
	}
	b->done_head = b->done_tail = NULL;
	g_mutex_unlock(&c->lock);
	return rc;
}

int rpc_wait(Rpc *rpc)
{
	if (rpc->err < 0)
		return rpc->err;
	int rc = rpc_wait_reply(rpc);
	if (rc < 0)
		return rc;
	if (rpc->req.err < 0)
		return rpc->req.err;
	sftp_reader_init(&rpc->reply, rpc->req.payload, rpc->req.payload_len);
	return 0;
}

void rpc_clear(Rpc *rpc)
{
	req_clear(&rpc->req);
	sftp_buf_clear(&rpc->pkt);
	g_cond_clear(&rpc->batch.cond);
	sftpc_unref(rpc->conn);
}

int status_errno(SftpReader *r, gboolean eof_ok)
{
	uint32_t code;
	if (!sftp_codec_read_status(r, &code, NULL))
		return -EPROTO;
	if (code == SFTP_FX_EOF && !eof_ok)
		return -EIO;
	return -sftp_status_to_errno(code, NULL);
}

int rpc_expect(Rpc *rpc, uint8_t want)
{
	if (rpc->req.type == want)
		return 0;
	if (rpc->req.type == SFTP_FXP_STATUS) {
		int err = status_errno(&rpc->reply, FALSE);
		return err < 0 ? err : -EPROTO;
	}
	return -EPROTO;
}

int rpc_status(Rpc *rpc)
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

static void conn_destroy(SftpConn *c)
{
	close(c->fd);
	g_hash_table_destroy(c->pending);
	g_hash_table_destroy(c->extensions);
	g_ptr_array_unref(c->extension_list);
	g_mutex_clear(&c->lock);
	g_mutex_clear(&c->send_lock);
	g_free(c);
}

static void conn_free(SftpConn *c)
{
	if (c->reader != NULL && on_reader_thread(c)) {
		/* From a callback: the reader cannot join itself. It stops
		 * at the shutdown and frees everything on its way out. */
		c->free_on_exit = TRUE;
		g_thread_unref(c->reader);
		c->reader = NULL;
		conn_break(c);
		return;
	}
	conn_break(c);
	if (c->reader)
		g_thread_join(c->reader);
	conn_destroy(c);
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

guint sftpc_requests_in_flight(SftpConn *conn)
{
	g_mutex_lock(&conn->lock);
	guint n = g_hash_table_size(conn->pending);
	g_mutex_unlock(&conn->lock);
	return n;
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
