/* Write-behind queues of one mount and the flusher thread that sends them
 * (see fs/writeback.h). */
#define G_LOG_DOMAIN "jumpfs-writeback"
#include "fs/writeback.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fs/attrs.h"

#define WB_MAX_LANES 8
/* Bytes in flight on one channel: twice sshd's 2 MiB channel window, so
 * the window stays full while confirmations travel back. */
#define LANE_INFLIGHT_MAX (4u << 20)
/* Consecutive bytes that go to one channel when striping. */
#define STRIPE_UNIT (1u << 20)
/* A file opens more channels once this much of it is queued. */
#define STRIPE_MIN (2u << 20)
#define SEND_BATCH 64
#define WAIT_SLICE_US (100 * G_TIME_SPAN_MILLISECOND)
/* Buffers this big come from mmap: freed, they leave the process, so
 * the daemon's memory shrinks with its queue (malloc's heap would not). */
#define MMAP_MIN (64u << 10)

/* One write()'s data, shared by the pieces cut from it. */
typedef struct {
	gint refs;
	size_t len;
	guint8 *data;
} WbBuf;

typedef enum { PIECE_QUEUED, PIECE_SENT } WbPieceState;

/* One WRITE request's worth of data. */
typedef struct {
	WbFile *wf;
	WbBuf *buf;
	const guint8 *data;
	uint64_t offset;
	uint32_t len;
	guint8 state;
	guint8 lane;          /* when SENT */
	guint64 seq;          /* mount-wide order of queueing */
	GList link;           /* in wf->pieces */
} WbPiece;

typedef struct {
	SftpConn *conn;       /* reference; NULL = not open */
	SftpHandle handle;
	size_t inflight;      /* bytes SENT on it */
	gboolean failed;      /* could not be opened: not tried again */
	/* An OPEN under way (flusher only, and close once it is idle). */
	SftpOpenOp *opening;
	SftpConn *opening_conn; /* reference */
} WbLane;

struct WbFile {
	Writeback *wb;
	FsFile *file;         /* borrowed: outlives the queue */
	char *path;           /* last FUSE path seen (re-opens, matching, logs) */
	uint32_t chunk;       /* bytes per WRITE */
	GQueue pieces;        /* WbPiece *, in queue order */
	size_t queued;        /* bytes in pieces */
	guint nqueued;        /* pieces waiting to be sent */
	guint nsent;          /* pieces in flight (a callback will come) */
	uint64_t min_off, max_end; /* of all pieces since the queue was empty */
	gboolean serial;      /* pieces overlap: one channel, in order */
	int error;            /* first failure not reported yet (-errno) */
	size_t error_len;
	gboolean error_logged;
	gint64 mtime;         /* wall-clock second of the last queued write */
	WbLane lanes[WB_MAX_LANES];
	gboolean busy;        /* the flusher works on it (without the lock) */
	gboolean dropping;    /* pieces that come back are dropped, not resent */
	gboolean lost;        /* the file cannot be reached any more */
	gboolean in_dirty;
	GList link;           /* in wb->files */
	GList dirty_link;     /* in wb->dirty */
};

struct Writeback {
	Remote *remote;
	WritebackOptions options;
	GMutex lock;
	GCond cond;           /* pieces done, state changed: the waiters */
	GCond flush_cond;     /* work for the flusher */
	GQueue files;         /* every WbFile */
	GQueue dirty;         /* WbFile with pieces to send */
	size_t queued;
	guint64 next_seq;
	gboolean stopping;
	GThread *flusher;
	gboolean kept_trying;  /* remote_keep_trying asked for our queue */
};

static __thread gboolean wb_on_flusher;

gboolean writeback_interrupted(void)
{
	return wb_on_flusher || fuse_interrupted();
}

/* ---- buffers and pieces ---- */

static WbBuf *wb_buf_new(const void *data, size_t len)
{
	WbBuf *buf = g_new0(WbBuf, 1);
	buf->refs = 1;
	buf->len = len;
	if (len >= MMAP_MIN) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		buf->data = p == MAP_FAILED ? NULL : p;
	}
	if (buf->data == NULL) {
		buf->data = g_malloc(len);
		buf->len = 0; /* marks "not mapped" */
	}
	memcpy(buf->data, data, len);
	return buf;
}

static void wb_buf_unref(WbBuf *buf)
{
	if (--buf->refs > 0)
		return;
	if (buf->len > 0)
		munmap(buf->data, buf->len);
	else
		g_free(buf->data);
	g_free(buf);
}

/* Called with lock held: piece leaves the queue for good. */
static void wb_piece_remove(WbFile *wf, WbPiece *piece, gboolean ok)
{
	Writeback *wb = wf->wb;
	g_queue_unlink(&wf->pieces, &piece->link);
	wf->queued -= piece->len;
	wb->queued -= piece->len;
	if (piece->state == PIECE_QUEUED)
		wf->nqueued--;
	fs_file_write_end(wf->file, wf->path, piece->offset + piece->len, ok);
	wb_buf_unref(piece->buf);
	g_free(piece);
	if (wf->pieces.length == 0) {
		wf->serial = FALSE;
		wf->min_off = wf->max_end = 0;
		wf->dropping = FALSE;
	}
	g_cond_broadcast(&wb->cond);
}

/* Called with lock held: wf has pieces to send. */
static void wb_kick(WbFile *wf)
{
	Writeback *wb = wf->wb;
	if (!wf->in_dirty) {
		wf->in_dirty = TRUE;
		g_queue_push_tail_link(&wb->dirty, &wf->dirty_link);
	}
	g_cond_signal(&wb->flush_cond);
}

static gint wb_range_cmp(gconstpointer a, gconstpointer b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* "[a, b) [c, d)" for the log: the byte ranges of wf's pieces, merged;
 * *total gets their bytes. */
static char *wb_ranges(WbFile *wf, size_t *total)
{
	GArray *r = g_array_new(FALSE, FALSE, sizeof(uint64_t) * 2);
	*total = 0;
	for (GList *l = wf->pieces.head; l != NULL; l = l->next) {
		WbPiece *p = l->data;
		uint64_t range[2] = { p->offset, p->offset + p->len };
		g_array_append_val(r, range);
		*total += p->len;
	}
	g_array_sort(r, wb_range_cmp);
	GString *out = g_string_new(NULL);
	guint shown = 0;
	for (guint i = 0; i < r->len;) {
		uint64_t *cur = &g_array_index(r, uint64_t, 2 * i);
		uint64_t lo = cur[0], hi = cur[1];
		for (i++; i < r->len && g_array_index(r, uint64_t, 2 * i) <= hi; i++)
			hi = MAX(hi, g_array_index(r, uint64_t, 2 * i + 1));
		if (shown++ < 8)
			g_string_append_printf(out, "%s[%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")",
					       out->len ? " " : "", lo, hi);
	}
	if (shown > 8)
		g_string_append_printf(out, " and %u more ranges", shown - 8);
	g_array_unref(r);
	return g_string_free(out, FALSE);
}

/* Called with lock held: give up wf's unconfirmed data (logged with why).
 * Pieces in flight are dropped when their answer comes, unless it says
 * they arrived after all. */
static size_t wb_drop_all(WbFile *wf, const char *why)
{
	if (wf->pieces.length == 0)
		return 0;
	size_t total;
	g_autofree char *ranges = wb_ranges(wf, &total);
	g_warning("%s: %zu bytes never reached the server (%s): %s",
		  wf->path ? wf->path : "(unnamed file)", total, why, ranges);
	GList *l = wf->pieces.head;
	while (l != NULL) {
		WbPiece *p = l->data;
		l = l->next;
		if (p->state == PIECE_QUEUED)
			wb_piece_remove(wf, p, FALSE);
	}
	if (wf->pieces.length > 0)
		wf->dropping = TRUE;
	if (wf->error == 0)
		wf->error = -EIO;
	wf->error_len = 0;
	return total;
}

/* ---- completions (SFTP reader threads) ---- */

static void wb_piece_done(void *data, int err)
{
	WbPiece *piece = data;
	WbFile *wf = piece->wf;
	Writeback *wb = wf->wb;
	g_mutex_lock(&wb->lock);
	wf->lanes[piece->lane].inflight -= piece->len;
	wf->nsent--;
	if (err == -ENOTCONN && !wf->dropping && !wf->lost) {
		/* The connection broke first: send it again. */
		piece->state = PIECE_QUEUED;
		wf->nqueued++;
		wb_kick(wf);
		g_cond_broadcast(&wb->cond);
		g_mutex_unlock(&wb->lock);
		return;
	}
	if (err < 0 && err != -ENOTCONN) {
		if (wf->error == 0) {
			wf->error = err;
			wf->error_len = piece->len;
		}
		if (!wf->error_logged)
			g_message("%s: writing at %" G_GUINT64_FORMAT ": %s (reported to the "
				  "writer by its next write, flush or close)", wf->path,
				  piece->offset, g_strerror(-err));
		wf->error_logged = TRUE;
	}
	piece->state = PIECE_SENT; /* counted out of nsent above */
	wb_piece_remove(wf, piece, err == 0);
	if (wf->nqueued > 0)
		wb_kick(wf);
	g_mutex_unlock(&wb->lock);
}

/* ---- the flusher ---- */

/* Called with lock held: is lane i open on a live connection? */
static gboolean wb_lane_live(WbFile *wf, guint i)
{
	return wf->lanes[i].conn != NULL && !sftpc_is_broken(wf->lanes[i].conn);
}

typedef struct {
	WbPiece *piece;
	WbBuf *buf;           /* a reference: the data outlives sendmsg even
			       * when the answer comes first */
	SftpConn *conn;
	SftpHandle handle;
	uint64_t offset;
	const guint8 *data;
	uint32_t len;
	guint lane;
} WbSend;

/* Called with lock held: the lane for piece p, or -1 if none may take it
 * now. *stop: nothing after p may go either (serial order). */
static int wb_pick_lane(WbFile *wf, const WbPiece *p, gboolean *stop)
{
	guint usable[WB_MAX_LANES], n = 0;
	*stop = FALSE;
	if (wf->serial) {
		for (guint i = 1; i < WB_MAX_LANES; i++)
			if (wf->lanes[i].inflight > 0)
				*stop = TRUE; /* let the other channels finish first */
		if (*stop || !wb_lane_live(wf, 0) || wf->lanes[0].inflight >= LANE_INFLIGHT_MAX) {
			*stop = TRUE;
			return -1;
		}
		return 0;
	}
	for (guint i = 0; i < WB_MAX_LANES; i++)
		if (wb_lane_live(wf, i))
			usable[n++] = i;
	if (n == 0) {
		*stop = TRUE;
		return -1;
	}
	guint first = (guint)((p->offset / STRIPE_UNIT) % n);
	for (guint k = 0; k < n; k++) {
		guint lane = usable[(first + k) % n];
		if (wf->lanes[lane].inflight < LANE_INFLIGHT_MAX)
			return (int)lane;
	}
	*stop = TRUE;
	return -1;
}

/* Sends what may go now, in queue order. Returns the pieces sent. */
static guint wb_send_some(WbFile *wf)
{
	Writeback *wb = wf->wb;
	WbSend batch[SEND_BATCH];
	guint n = 0;
	g_mutex_lock(&wb->lock);
	for (GList *l = wf->pieces.head; l != NULL && n < SEND_BATCH && !wf->lost; l = l->next) {
		WbPiece *p = l->data;
		if (p->state != PIECE_QUEUED)
			continue;
		gboolean stop;
		int lane = wb_pick_lane(wf, p, &stop);
		if (lane < 0) {
			if (stop)
				break;
			continue;
		}
		p->state = PIECE_SENT;
		p->lane = (guint8)lane;
		wf->nqueued--;
		wf->nsent++;
		wf->lanes[lane].inflight += p->len;
		p->buf->refs++;
		batch[n++] = (WbSend){ p, p->buf, sftpc_ref(wf->lanes[lane].conn),
				       wf->lanes[lane].handle, p->offset, p->data, p->len,
				       (guint)lane };
	}
	g_mutex_unlock(&wb->lock);
	guint sent = 0;
	for (guint i = 0; i < n; i++) {
		WbSend *s = &batch[i];
		/* From here a callback may free the piece at any time. */
		int rc = sftpc_write_async(s->conn, &s->handle, s->offset, s->data, s->len,
					   wb_piece_done, s->piece);
		if (rc < 0) {
			g_mutex_lock(&wb->lock);
			s->piece->state = PIECE_QUEUED;
			wf->nqueued++;
			wf->nsent--;
			wf->lanes[s->lane].inflight -= s->len;
			g_mutex_unlock(&wb->lock);
		} else {
			sent++;
		}
	}
	g_mutex_lock(&wb->lock);
	for (guint i = 0; i < n; i++)
		wb_buf_unref(batch[i].buf);
	g_mutex_unlock(&wb->lock);
	for (guint i = 0; i < n; i++)
		sftpc_unref(batch[i].conn);
	return sent;
}

/* Puts conn (a new reference) and handle into lane i; drops the old
 * reference outside the lock. */
static void wb_lane_set(WbFile *wf, guint i, SftpConn *conn, const SftpHandle *handle)
{
	Writeback *wb = wf->wb;
	g_mutex_lock(&wb->lock);
	SftpConn *old = wf->lanes[i].conn;
	wf->lanes[i].conn = conn;
	wf->lanes[i].handle = *handle;
	g_mutex_unlock(&wb->lock);
	if (old != NULL)
		sftpc_unref(old);
}

/* The file's own handle is lane 0 (re-opened by path after a break).
 * FALSE when it cannot be had now. */
static gboolean wb_lane0(WbFile *wf, const char *path)
{
	Writeback *wb = wf->wb;
	g_mutex_lock(&wb->lock);
	gboolean live = wb_lane_live(wf, 0);
	g_mutex_unlock(&wb->lock);
	if (live)
		return TRUE;
	SftpConn *conn;
	SftpHandle handle;
	/* On this thread nothing waits (writeback_interrupted): a dead
	 * chain answers at once, and its coming back wakes us. */
	int rc = fs_file_use(wb->remote, wf->file, path, &conn, &handle);
	if (rc == 0) {
		wb_lane_set(wf, 0, conn, &handle);
		return TRUE;
	}
	if (rc == -EIO) {
		g_mutex_lock(&wb->lock);
		wf->lost = TRUE;
		wb_drop_all(wf, "the file could not be opened again after the reconnect");
		g_mutex_unlock(&wb->lock);
	}
	return FALSE;
}

/* Channels one file's writes may be striped over, its own included. */
static guint wb_stripes_wanted(Writeback *wb)
{
	return MIN(wb->options.stripes, MIN(remote_stripes(wb->remote), WB_MAX_LANES));
}

/* Striping: the file opened on more channels, all at once and without
 * waiting (lane 0 keeps its requests flowing meanwhile); answers are
 * collected on later passes. */
static void wb_open_lanes(WbFile *wf, const char *path)
{
	Writeback *wb = wf->wb;
	guint want = wb_stripes_wanted(wb);
	for (guint i = 1; i < want; i++) {
		WbLane *lane = &wf->lanes[i];
		if (lane->opening == NULL)
			continue;
		SftpHandle handle;
		int rc = sftpc_open_finish(lane->opening, FALSE, &handle);
		if (rc == -EAGAIN)
			continue;
		lane->opening = NULL;
		SftpConn *conn = g_steal_pointer(&lane->opening_conn);
		if (rc == 0) {
			g_debug("%s: striping over channel %u too", path ? path : "?", i);
			wb_lane_set(wf, i, conn, &handle);
			continue;
		}
		if (rc != -ENOTCONN) {
			g_mutex_lock(&wb->lock);
			lane->failed = TRUE;
			g_mutex_unlock(&wb->lock);
			g_debug("%s: no channel %u for striping: %s", path, i, g_strerror(-rc));
		}
		sftpc_unref(conn);
	}
	g_mutex_lock(&wb->lock);
	gboolean worth = !wf->serial && wf->queued >= STRIPE_MIN && wb_lane_live(wf, 0);
	g_mutex_unlock(&wb->lock);
	if (!worth || path == NULL)
		return;
	g_autofree char *rpath = remote_path_of(wb->remote, path);
	int flags = wf->file->flags & ~(O_CREAT | O_TRUNC | O_EXCL);
	SftpAttrs none = { 0 };
	for (guint i = 1; i < want; i++) {
		WbLane *lane = &wf->lanes[i];
		g_mutex_lock(&wb->lock);
		gboolean skip = lane->failed || lane->opening != NULL || wb_lane_live(wf, i);
		g_mutex_unlock(&wb->lock);
		SftpConn *conn;
		/* Not open yet: it is opened in the background, and its
		 * coming wakes us (remote_on_change). */
		if (skip || remote_acquire_slot(wb->remote, remote_stripe_slot(wb->remote, i),
						&conn, NULL) < 0)
			continue;
		/* By path, while lane 0 is open on the same file: the path
		 * names it (libfuse gives the current name). */
		lane->opening = sftpc_open_start(conn, rpath, attrs_open_flags(flags), &none);
		lane->opening_conn = conn;
	}
}

static void wb_service(WbFile *wf)
{
	Writeback *wb = wf->wb;
	g_mutex_lock(&wb->lock);
	char *path = g_strdup(wf->path);
	g_mutex_unlock(&wb->lock);
	/* The lanes' OPEN answers are collected between batches: a file whose
	 * queue never runs dry keeps this thread sending, and would
	 * otherwise never take up the channels it asked for. */
	if (wb_lane0(wf, path)) {
		do
			wb_open_lanes(wf, path);
		while (wb_send_some(wf) > 0);
	}
	g_free(path);
}

/* Called with lock held: soft mounts keep unconfirmed data for the
 * reconnect window; hard ones for as long as it takes. */
static void wb_watch_remote(Writeback *wb, gint64 now)
{
	if (wb->queued == 0) {
		if (wb->kept_trying) {
			remote_keep_trying(wb->remote, 0);
			wb->kept_trying = FALSE;
		}
		return;
	}
	gint64 down = remote_down_since(wb->remote);
	if (down == 0)
		return;
	wb->kept_trying = TRUE;
	gboolean hard = remote_is_hard(wb->remote);
	remote_keep_trying(wb->remote, hard ? G_MAXINT64 : down + wb->options.window_us);
	if (hard || now < down + wb->options.window_us)
		return;
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (!wf->busy)
			wb_drop_all(wf, "the chain did not come back within the reconnect window");
	}
}

static gpointer wb_flusher_main(gpointer data)
{
	Writeback *wb = data;
	wb_on_flusher = TRUE;
	g_mutex_lock(&wb->lock);
	while (!wb->stopping) {
		wb_watch_remote(wb, g_get_monotonic_time());
		GList *link = g_queue_pop_head_link(&wb->dirty);
		if (link == NULL) {
			g_cond_wait_until(&wb->flush_cond, &wb->lock,
					  g_get_monotonic_time() + G_TIME_SPAN_SECOND);
			continue;
		}
		WbFile *wf = link->data;
		wf->in_dirty = FALSE;
		if (wf->nqueued == 0 || wf->lost)
			continue;
		wf->busy = TRUE;
		g_mutex_unlock(&wb->lock);
		wb_service(wf);
		g_mutex_lock(&wb->lock);
		wf->busy = FALSE;
		g_cond_broadcast(&wb->cond);
	}
	g_mutex_unlock(&wb->lock);
	return NULL;
}

static void wb_on_remote_change(void *data)
{
	Writeback *wb = data;
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (wf->nqueued > 0)
			wb_kick(wf);
	}
	g_mutex_unlock(&wb->lock);
}

/* ---- the mount ---- */

Writeback *writeback_new(Remote *remote, const WritebackOptions *options)
{
	Writeback *wb = g_new0(Writeback, 1);
	wb->remote = remote;
	wb->options = *options;
	if (wb->options.file_limit == 0 || wb->options.file_limit > wb->options.mount_limit)
		wb->options.file_limit = wb->options.mount_limit;
	if (wb->options.window_us <= 0)
		wb->options.window_us = WRITEBACK_DEFAULT_WINDOW_S * G_TIME_SPAN_SECOND;
	if (wb->options.grace_us <= 0)
		wb->options.grace_us = G_TIME_SPAN_SECOND;
	if (wb->options.stripes == 0)
		wb->options.stripes = 1;
	g_mutex_init(&wb->lock);
	g_cond_init(&wb->cond);
	g_cond_init(&wb->flush_cond);
	if (wb->options.mount_limit > 0) {
		wb->flusher = g_thread_new("jumpfs-flusher", wb_flusher_main, wb);
		remote_on_change(remote, wb_on_remote_change, wb);
	}
	return wb;
}

void writeback_free(Writeback *wb)
{
	if (wb == NULL)
		return;
	if (wb->flusher != NULL) {
		remote_on_change(wb->remote, NULL, NULL);
		g_mutex_lock(&wb->lock);
		wb->stopping = TRUE;
		g_cond_signal(&wb->flush_cond);
		g_mutex_unlock(&wb->lock);
		g_thread_join(wb->flusher);
	}
	g_warn_if_fail(wb->files.length == 0);
	g_cond_clear(&wb->flush_cond);
	g_cond_clear(&wb->cond);
	g_mutex_clear(&wb->lock);
	g_free(wb);
}

gboolean writeback_enabled(Writeback *wb)
{
	return wb != NULL && wb->options.mount_limit > 0;
}

size_t writeback_queued(Writeback *wb)
{
	g_mutex_lock(&wb->lock);
	size_t n = wb->queued;
	g_mutex_unlock(&wb->lock);
	return n;
}

/* ---- one file ---- */

WbFile *writeback_file_new(Writeback *wb, FsFile *file, const char *path)
{
	if (!writeback_enabled(wb))
		return NULL;
	WbFile *wf = g_new0(WbFile, 1);
	wf->wb = wb;
	wf->file = file;
	wf->path = g_strdup(path);
	sftpc_get_chunk_sizes(file->conn, NULL, &wf->chunk);
	/* The channels striping will want, opened in the background now so
	 * that they are there when a big file needs them. */
	guint want = wb_stripes_wanted(wb);
	for (guint i = 1; i < want; i++) {
		SftpConn *conn;
		if (remote_acquire_slot(wb->remote, remote_stripe_slot(wb->remote, i),
					&conn, NULL) == 0)
			sftpc_unref(conn);
	}
	g_mutex_lock(&wb->lock);
	wf->link.data = wf;
	wf->dirty_link.data = wf;
	g_queue_push_tail_link(&wb->files, &wf->link);
	g_mutex_unlock(&wb->lock);
	return wf;
}

/* Called with lock held. */
static void wb_note_path(WbFile *wf, const char *path)
{
	if (path != NULL && g_strcmp0(wf->path, path) != 0) {
		g_free(wf->path);
		wf->path = g_strdup(path);
	}
}

/* Called with lock held, while waiting for wf's queue (or the mount's):
 * 0 to wait on, -EINTR, or -EIO when a soft mount gives up (the chain is
 * down longer than the grace, counted from the break or from start). */
static int wb_wait_verdict(Writeback *wb, gint64 start)
{
	if (fuse_interrupted())
		return -EINTR;
	if (remote_is_hard(wb->remote))
		return 0;
	gint64 down = remote_down_since(wb->remote);
	if (down != 0 && g_get_monotonic_time() > MAX(down, start) + wb->options.grace_us)
		return -EIO;
	return 0;
}

void writeback_file_close(WbFile *wf, const char *path)
{
	if (wf == NULL)
		return;
	Writeback *wb = wf->wb;
	g_mutex_lock(&wb->lock);
	wb_note_path(wf, path);
	wb_drop_all(wf, "the file was closed before they were confirmed");
	/* Callbacks and the flusher may still hold it. */
	while (wf->busy || wf->nsent > 0)
		g_cond_wait(&wb->cond, &wb->lock);
	while (wf->pieces.length > 0)
		wb_piece_remove(wf, wf->pieces.head->data, FALSE);
	if (wf->in_dirty)
		g_queue_unlink(&wb->dirty, &wf->dirty_link);
	g_queue_unlink(&wb->files, &wf->link);
	g_mutex_unlock(&wb->lock);
	for (guint i = 0; i < WB_MAX_LANES; i++) {
		WbLane *lane = &wf->lanes[i];
		if (lane->opening != NULL) {
			SftpHandle handle;
			if (sftpc_open_finish(lane->opening, TRUE, &handle) == 0)
				sftpc_close_detached(lane->opening_conn, &handle);
			sftpc_unref(lane->opening_conn);
		}
		if (lane->conn == NULL)
			continue;
		/* Lane 0 is the file's own handle: fs_file_free closes it. */
		if (i > 0 && !sftpc_is_broken(lane->conn))
			sftpc_close_detached(lane->conn, &lane->handle);
		sftpc_unref(lane->conn);
	}
	g_free(wf->path);
	g_free(wf);
}

/* Called with lock held: does another open file of path have unconfirmed
 * data in [offset, end)? Each queue keeps its own order, not the order
 * between queues: such a write waits until the other queue's data is
 * confirmed, so that the older bytes cannot land after the newer. */
static WbFile *wb_overlapping_other(Writeback *wb, WbFile *wf, const char *path,
				    uint64_t offset, uint64_t end)
{
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *other = l->data;
		if (other == wf || other->pieces.length == 0 || other->lost ||
		    g_strcmp0(other->path, path) != 0 || offset >= other->max_end ||
		    end <= other->min_off)
			continue;
		for (GList *k = other->pieces.head; k != NULL; k = k->next) {
			WbPiece *p = k->data;
			if (p->offset < end && p->offset + p->len > offset)
				return other;
		}
	}
	return NULL;
}

ssize_t writeback_write(WbFile *wf, const char *path, uint64_t offset,
			const void *buf, size_t size, size_t *failed_len)
{
	Writeback *wb = wf->wb;
	if (size == 0)
		return 0;
	gint64 start = g_get_monotonic_time();
	g_mutex_lock(&wb->lock);
	wb_note_path(wf, path);
	ssize_t rc = 0;
	WbFile *other;
	while (rc == 0) {
		if (wf->error != 0) {
			rc = wf->error;
			*failed_len = wf->error_len;
			wf->error = 0;
			wf->error_logged = FALSE;
		} else if (wf->lost) {
			rc = -EIO;
		} else if ((wf->queued > 0 && wf->queued + size > wb->options.file_limit) ||
			   (wb->queued > 0 && wb->queued + size > wb->options.mount_limit)) {
			/* Full: wait for confirmations. */
			if (wf->nqueued > 0)
				wb_kick(wf);
			rc = wb_wait_verdict(wb, start);
			if (rc == 0)
				g_cond_wait_until(&wb->cond, &wb->lock,
						  g_get_monotonic_time() + WAIT_SLICE_US);
		} else if ((other = wb_overlapping_other(wb, wf, wf->path, offset,
							 offset + size)) != NULL) {
			if (other->nqueued > 0)
				wb_kick(other);
			rc = wb_wait_verdict(wb, start);
			if (rc == 0)
				g_cond_wait_until(&wb->cond, &wb->lock,
						  g_get_monotonic_time() + WAIT_SLICE_US);
		} else {
			break;
		}
	}
	if (rc < 0) {
		g_mutex_unlock(&wb->lock);
		return rc;
	}
	WbBuf *data = wb_buf_new(buf, size);
	if (wf->pieces.length > 0 && offset < wf->max_end && offset + size > wf->min_off)
		wf->serial = TRUE; /* overlaps data not confirmed yet */
	if (wf->pieces.length == 0) {
		wf->min_off = offset;
		wf->max_end = offset + size;
	} else {
		wf->min_off = MIN(wf->min_off, offset);
		wf->max_end = MAX(wf->max_end, offset + size);
	}
	for (size_t at = 0; at < size; at += wf->chunk) {
		WbPiece *p = g_new0(WbPiece, 1);
		p->wf = wf;
		p->buf = data;
		data->refs++;
		p->data = data->data + at;
		p->offset = offset + at;
		p->len = (uint32_t)MIN(wf->chunk, size - at);
		p->state = PIECE_QUEUED;
		p->seq = wb->next_seq++;
		p->link.data = p;
		g_queue_push_tail_link(&wf->pieces, &p->link);
		wf->queued += p->len;
		wb->queued += p->len;
		wf->nqueued++;
		fs_file_write_begin(wf->file, p->offset + p->len);
	}
	wb_buf_unref(data);
	wf->mtime = time(NULL);
	wb_kick(wf);
	g_mutex_unlock(&wb->lock);
	return (ssize_t)size;
}

int writeback_sync(WbFile *wf, const char *path, size_t *failed_len)
{
	Writeback *wb = wf->wb;
	gint64 start = g_get_monotonic_time();
	int rc = 0;
	g_mutex_lock(&wb->lock);
	wb_note_path(wf, path);
	if (wf->nqueued > 0)
		wb_kick(wf);
	while (wf->pieces.length > 0 && !wf->lost) {
		if (wf->nqueued > 0)
			wb_kick(wf); /* nothing else may, after a failed re-open */
		rc = wb_wait_verdict(wb, start);
		if (rc == -EINTR)
			break;
		if (rc == -EIO) {
			wb_drop_all(wf, "the chain is down and the mount is soft");
			break;
		}
		g_cond_wait_until(&wb->cond, &wb->lock, g_get_monotonic_time() + WAIT_SLICE_US);
	}
	if (rc != -EINTR) {
		rc = wf->error;
		if (failed_len != NULL)
			*failed_len = wf->error_len;
		wf->error = 0;
		wf->error_logged = FALSE;
		if (rc == 0 && wf->lost)
			rc = -EIO;
	}
	g_mutex_unlock(&wb->lock);
	return rc;
}

int writeback_settle_path(Writeback *wb, const char *path)
{
	return writeback_settle_range(wb, path, 0, G_MAXUINT64);
}

int writeback_settle_range(Writeback *wb, const char *path, uint64_t offset, uint64_t end)
{
	if (!writeback_enabled(wb) || path == NULL)
		return 0;
	gint64 start = g_get_monotonic_time();
	int rc = 0;
	g_mutex_lock(&wb->lock);
	for (;;) {
		WbFile *busy = wb_overlapping_other(wb, NULL, path, offset, end);
		if (busy == NULL)
			break;
		if (busy->nqueued > 0)
			wb_kick(busy);
		rc = wb_wait_verdict(wb, start);
		if (rc < 0)
			break;
		g_cond_wait_until(&wb->cond, &wb->lock, g_get_monotonic_time() + WAIT_SLICE_US);
	}
	g_mutex_unlock(&wb->lock);
	return rc;
}

/* ---- what readers see ---- */

typedef struct {
	guint64 seq;
	uint64_t offset;      /* of data, in the file */
	size_t len;
	guint8 data[];
} WbSnapPiece;

struct WbSnapshot {
	uint64_t offset;
	uint64_t queued_end;  /* the file's size counting queued data */
	GPtrArray *pieces;    /* WbSnapPiece *, by seq */
};

static gint wb_snap_cmp(gconstpointer a, gconstpointer b)
{
	const WbSnapPiece *x = *(WbSnapPiece *const *)a, *y = *(WbSnapPiece *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

WbSnapshot *writeback_snapshot(Writeback *wb, const char *path, uint64_t offset,
			       size_t size)
{
	if (!writeback_enabled(wb) || path == NULL || size == 0)
		return NULL;
	WbSnapshot *snap = NULL;
	uint64_t end = offset + size;
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (wf->pieces.length == 0 || g_strcmp0(wf->path, path) != 0)
			continue;
		if (wf->max_end > offset && snap == NULL) {
			snap = g_new0(WbSnapshot, 1);
			snap->offset = offset;
			snap->pieces = g_ptr_array_new_with_free_func(g_free);
		}
		if (snap != NULL)
			snap->queued_end = MAX(snap->queued_end, wf->max_end);
		for (GList *k = wf->pieces.head; k != NULL; k = k->next) {
			WbPiece *p = k->data;
			uint64_t lo = MAX(p->offset, offset), hi = MIN(p->offset + p->len, end);
			if (lo >= hi)
				continue;
			if (snap == NULL) {
				snap = g_new0(WbSnapshot, 1);
				snap->offset = offset;
				snap->pieces = g_ptr_array_new_with_free_func(g_free);
			}
			WbSnapPiece *sp = g_malloc(sizeof(*sp) + (hi - lo));
			sp->seq = p->seq;
			sp->offset = lo;
			sp->len = hi - lo;
			memcpy(sp->data, p->data + (lo - p->offset), hi - lo);
			g_ptr_array_add(snap->pieces, sp);
		}
	}
	g_mutex_unlock(&wb->lock);
	if (snap != NULL)
		g_ptr_array_sort(snap->pieces, wb_snap_cmp);
	return snap;
}

ssize_t writeback_apply(WbSnapshot *snap, void *buf, size_t size, ssize_t n)
{
	if (snap == NULL)
		return n;
	if (n >= 0) {
		size_t len = (size_t)n;
		/* Short means the server's end of file; queued data may lie
		 * beyond, with a hole of zeros before it. */
		if ((size_t)n < size && snap->queued_end > snap->offset + (size_t)n)
			len = (size_t)MIN(snap->queued_end - snap->offset, size);
		for (guint i = 0; i < snap->pieces->len; i++) {
			WbSnapPiece *sp = g_ptr_array_index(snap->pieces, i);
			len = MAX(len, (size_t)(sp->offset - snap->offset) + sp->len);
		}
		len = MIN(len, size);
		memset((guint8 *)buf + n, 0, len - (size_t)n);
		for (guint i = 0; i < snap->pieces->len; i++) {
			WbSnapPiece *sp = g_ptr_array_index(snap->pieces, i);
			memcpy((guint8 *)buf + (sp->offset - snap->offset), sp->data, sp->len);
		}
		n = (ssize_t)len;
	}
	g_ptr_array_unref(snap->pieces);
	g_free(snap);
	return n;
}

void writeback_attrs_before(Writeback *wb, const char *path, WbAttrs *queued)
{
	memset(queued, 0, sizeof(*queued));
	if (!writeback_enabled(wb) || path == NULL)
		return;
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (wf->pieces.length == 0 || g_strcmp0(wf->path, path) != 0)
			continue;
		queued->queued = TRUE;
		queued->end = MAX(queued->end, wf->max_end);
		queued->mtime = MAX(queued->mtime, wf->mtime);
	}
	g_mutex_unlock(&wb->lock);
}

void writeback_attrs_apply(const WbAttrs *queued, SftpAttrs *attrs)
{
	if (!queued->queued)
		return;
	if ((attrs->flags & SFTP_ATTR_SIZE) && queued->end > attrs->size)
		attrs->size = queued->end;
	if ((attrs->flags & SFTP_ATTR_ACMODTIME) && queued->mtime > (gint64)attrs->mtime)
		attrs->mtime = attrs_time_to_wire((time_t)queued->mtime);
}

gboolean writeback_entry_queued(Writeback *wb, const char *dir, const char *name)
{
	if (!writeback_enabled(wb) || dir == NULL)
		return FALSE;
	gboolean found = FALSE;
	size_t dlen = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL && !found; l = l->next) {
		WbFile *wf = l->data;
		found = wf->pieces.length > 0 && wf->path != NULL &&
			strncmp(wf->path, dir, dlen) == 0 && wf->path[dlen] == '/' &&
			strcmp(wf->path + dlen + 1, name) == 0;
	}
	g_mutex_unlock(&wb->lock);
	return found;
}

void writeback_rename(Writeback *wb, const char *from, const char *to)
{
	if (!writeback_enabled(wb))
		return;
	size_t flen = strlen(from);
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (wf->path == NULL || strncmp(wf->path, from, flen) != 0)
			continue;
		if (wf->path[flen] == '\0' || wf->path[flen] == '/') {
			char *moved = g_strconcat(to, wf->path + flen, NULL);
			g_free(wf->path);
			wf->path = moved;
		}
	}
	g_mutex_unlock(&wb->lock);
}

size_t writeback_drain(Writeback *wb, gint64 deadline)
{
	if (!writeback_enabled(wb))
		return 0;
	size_t dropped = 0;
	g_mutex_lock(&wb->lock);
	for (GList *l = wb->files.head; l != NULL; l = l->next) {
		WbFile *wf = l->data;
		if (wf->nqueued > 0)
			wb_kick(wf);
	}
	while (wb->queued > 0 && g_get_monotonic_time() < deadline)
		g_cond_wait_until(&wb->cond, &wb->lock,
				  MIN(deadline, g_get_monotonic_time() + WAIT_SLICE_US));
	for (GList *l = wb->files.head; l != NULL; l = l->next)
		dropped += wb_drop_all(l->data, "unmounting, and the drain time is up");
	g_mutex_unlock(&wb->lock);
	return dropped;
}
