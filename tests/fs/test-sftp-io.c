/* The SFTP client's data path against the real OpenSSH sftp-server:
 * reads and writes at every size and offset, end of file, short reads,
 * and pipelining (also over a link with latency). The fixture:
 * sftp-fixture.h. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "sftp-fixture.h"

static void check_roundtrip(Fixture *f, const char *path, uint64_t offset, size_t len)
{
	SftpHandle h;
	guint8 *data = random_bytes(len);
	guint8 *back = g_malloc(len + 100);
	open_rw(f, path, SFTP_OPEN_TRUNC, &h);
	g_assert_cmpint(sftpc_write(f->conn, &h, offset, data, len), ==, (ssize_t)len);
	/* ask for more than there is: the short answer is the file's end */
	g_assert_cmpint(sftpc_read(f->conn, &h, offset, back, len + 100), ==, (ssize_t)len);
	g_assert_true(memcmp(data, back, len) == 0);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);

	/* and on disk: a hole of zeros, then the data */
	gchar *disk;
	gsize disk_len;
	g_assert_true(g_file_get_contents(path, &disk, &disk_len, NULL));
	g_assert_cmpuint(disk_len, ==, len ? offset + len : 0); /* empty write: no hole */
	for (uint64_t i = 0; i < disk_len - len; i++)
		g_assert_cmpint(disk[i], ==, 0);
	g_assert_true(memcmp(disk + offset, data, len) == 0);
	g_free(disk);
	g_free(back);
	g_free(data);
}

static void test_read_write(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "data");
	const size_t sizes[] = { 0, 1, 31999, 32000, 32001, (1 << 20) + 3 };
	const uint64_t offsets[] = { 0, 1, 32000, 100003 };
	const uint32_t chunks[] = { 0, 4096, 100000 };
	for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
		sftpc_set_chunk_sizes(f->conn, chunks[c], chunks[c]);
		for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++)
			for (size_t o = 0; o < G_N_ELEMENTS(offsets); o++)
				check_roundtrip(f, file, offsets[o], sizes[s]);
	}
}

static void test_read_eof(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "data");
	guint8 *bytes = random_bytes(100000);
	guint8 *buf = g_malloc(300000);
	SftpHandle h;
	write_local(file, bytes, 100000);
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &h), ==, 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 0, buf, 300000), ==, 100000);
	g_assert_true(memcmp(buf, bytes, 100000) == 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 99900, buf, 500), ==, 100);
	g_assert_true(memcmp(buf, bytes + 99900, 100) == 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 100000, buf, 10), ==, 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 100000, buf, 300000), ==, 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 5000000, buf, 1), ==, 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 64000, buf, 36000), ==, 36000);
	g_assert_true(memcmp(buf, bytes + 64000, 36000) == 0);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_free(buf);
	g_free(bytes);
}

/* With limits@ denied, we ask for 256 KiB per READ and OpenSSH answers
 * 255 KiB (its own read cap): real short reads in the middle of a file. */
static void test_short_reads(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "data");
	const size_t len = 3 * 1024 * 1024 + 17;
	guint8 *bytes = random_bytes(len);
	guint8 *buf = g_malloc(len + 1000);
	uint32_t rc;
	SftpHandle h;
	start_with(f, FALSE, "-Plimits");
	write_local(file, bytes, len);
	sftpc_set_chunk_sizes(f->conn, 256 * 1024, 0);
	sftpc_get_chunk_sizes(f->conn, &rc, NULL);
	g_assert_cmpuint(rc, ==, 256 * 1024);
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &h), ==, 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 0, buf, len + 1000), ==, (ssize_t)len);
	g_assert_true(memcmp(buf, bytes, len) == 0);
	g_assert_cmpint(sftpc_read(f->conn, &h, 5, buf, len), ==, (ssize_t)len - 5);
	g_assert_true(memcmp(buf, bytes + 5, len - 5) == 0);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_free(buf);
	g_free(bytes);
}

static void test_pipelined_8mib(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "big");
	const size_t len = 8 * 1024 * 1024;
	guint8 *bytes = random_bytes(len);
	guint8 *buf = g_malloc(len);
	SftpHandle h;
	write_local(file, bytes, len);
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &h), ==, 0);

	/* warm the page cache and the server, then time both ways */
	g_assert_cmpint(sftpc_read(f->conn, &h, 0, buf, len), ==, (ssize_t)len);
	memset(buf, 0, len);
	gint64 t0 = now_us();
	g_assert_cmpint(sftpc_read(f->conn, &h, 0, buf, len), ==, (ssize_t)len);
	gint64 t1 = now_us();
	g_assert_true(memcmp(buf, bytes, len) == 0);

	memset(buf, 0, len);
	gint64 t2 = now_us();
	for (size_t at = 0; at < len; at += 32000) {
		size_t n = MIN(32000, len - at);
		g_assert_cmpint(sftpc_read(f->conn, &h, at, buf + at, n), ==, (ssize_t)n);
	}
	gint64 t3 = now_us();
	g_assert_true(memcmp(buf, bytes, len) == 0);
	g_test_message("8 MiB read: pipelined %.1f ms (%.0f MB/s), depth-1 %.1f ms (%.0f MB/s)",
		       (t1 - t0) / 1000.0, len / (double)(t1 - t0),
		       (t3 - t2) / 1000.0, len / (double)(t3 - t2));

	/* and a pipelined write of the same, read back */
	g_autofree char *copy = P(f, "copy");
	SftpHandle w;
	open_rw(f, copy, SFTP_OPEN_TRUNC, &w);
	gint64 t4 = now_us();
	g_assert_cmpint(sftpc_write(f->conn, &w, 0, bytes, len), ==, (ssize_t)len);
	g_test_message("8 MiB write: pipelined %.1f ms", (now_us() - t4) / 1000.0);
	g_assert_cmpint(sftpc_fsync(f->conn, &w), ==, 0);
	g_assert_cmpint(sftpc_close(f->conn, &w), ==, 0);
	gchar *disk;
	gsize disk_len;
	g_assert_true(g_file_get_contents(copy, &disk, &disk_len, NULL));
	g_assert_cmpuint(disk_len, ==, len);
	g_assert_true(memcmp(disk, bytes, len) == 0);
	g_free(disk);

	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);
	g_free(buf);
	g_free(bytes);
}

/* A delay line between client and server (one thread pair per
 * direction), to see what pipelining buys on a link with latency. */
typedef struct {
	gint64 due;
	gsize len;            /* 0: end of stream */
	guint8 data[65536];
} DelayChunk;

/* A plain GMutex/GCond queue rather than GAsyncQueue, whose locking
 * inside GLib ThreadSanitizer cannot see. */
typedef struct {
	int from, to;
	gint64 delay_us;
	GMutex lock;
	GCond cond;
	GQueue queue;         /* DelayChunk *, owned */
	GThread *reader, *writer;
} DelayDir;

static gpointer delay_reader(gpointer data)
{
	DelayDir *d = data;
	for (;;) {
		DelayChunk *c = g_new(DelayChunk, 1);
		ssize_t n = read(d->from, c->data, sizeof(c->data));
		if (n < 0 && errno == EINTR) {
			g_free(c);
			continue;
		}
		c->len = n > 0 ? (gsize)n : 0;
		c->due = now_us() + d->delay_us;
		g_mutex_lock(&d->lock);
		g_queue_push_tail(&d->queue, c);
		g_cond_signal(&d->cond);
		g_mutex_unlock(&d->lock);
		if (n <= 0)
			return NULL;
	}
}

static gpointer delay_writer(gpointer data)
{
	DelayDir *d = data;
	gboolean dead = FALSE;
	for (;;) {
		g_mutex_lock(&d->lock);
		while (g_queue_is_empty(&d->queue))
			g_cond_wait(&d->cond, &d->lock);
		DelayChunk *c = g_queue_pop_head(&d->queue);
		g_mutex_unlock(&d->lock);
		if (c->len == 0) {
			shutdown(d->to, SHUT_WR);
			g_free(c);
			return NULL;
		}
		gint64 wait = c->due - now_us();
		if (wait > 0)
			g_usleep((gulong)wait);
		for (gsize at = 0; at < c->len && !dead;) {
			ssize_t n = send(d->to, c->data + at, c->len - at, MSG_NOSIGNAL);
			if (n < 0 && errno != EINTR)
				dead = TRUE; /* keep draining until the reader ends */
			else if (n > 0)
				at += (gsize)n;
		}
		g_free(c);
	}
}

static void delay_start(DelayDir *d, int from, int to, gint64 delay_us)
{
	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->delay_us = delay_us;
	g_mutex_init(&d->lock);
	g_cond_init(&d->cond);
	g_queue_init(&d->queue);
	d->reader = g_thread_new("delay-rd", delay_reader, d);
	d->writer = g_thread_new("delay-wr", delay_writer, d);
}

static void delay_join(DelayDir *d)
{
	g_thread_join(d->reader);
	g_thread_join(d->writer);
	g_mutex_clear(&d->lock);
	g_cond_clear(&d->cond);
}

static gint64 time_read(Fixture *f, const SftpHandle *h, guint8 *buf, size_t len, size_t step)
{
	gint64 t0 = now_us();
	for (size_t at = 0; at < len; at += step) {
		size_t n = MIN(step, len - at);
		g_assert_cmpint(sftpc_read(f->conn, h, at, buf + at, n), ==, (ssize_t)n);
	}
	return now_us() - t0;
}

/* Samples how many requests are in flight while a read runs. */
typedef struct {
	SftpConn *conn;
	gint stop;
	guint most;
} InFlightSampler;

static gpointer sample_in_flight(gpointer data)
{
	InFlightSampler *s = data;
	while (!g_atomic_int_get(&s->stop)) {
		s->most = MAX(s->most, sftpc_requests_in_flight(s->conn));
		g_usleep(100);
	}
	return NULL;
}

/* 1 ms each way: a depth-1 loop has one request in flight, the pipelined
 * read keeps many in flight across the round trip. Counted, not timed:
 * under valgrind or TSan the CPU, not the delay, sets the pace. */
static void test_pipelined_latency(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "big");
	const size_t len = 8 * 1024 * 1024;
	guint8 *bytes = random_bytes(len), *buf = g_malloc(len);
	int server_fd, sv[2];
	DelayDir up, down;
	GError *error = NULL;
	SftpHandle h;
	write_local(file, bytes, len);
	f->pid = spawn_server(f->dir, FALSE, NULL, NULL, &server_fd);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	delay_start(&up, sv[1], server_fd, 1000);
	delay_start(&down, server_fd, sv[1], 1000);
	f->fd = sv[0];
	f->conn = sftpc_start(sv[0], &error);
	g_assert_no_error(error);

	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &h), ==, 0);
	InFlightSampler piped_sampler = { .conn = f->conn };
	GThread *sampler = g_thread_new("sampler", sample_in_flight, &piped_sampler);
	gint64 piped = time_read(f, &h, buf, len, len);
	g_atomic_int_set(&piped_sampler.stop, TRUE);
	g_thread_join(sampler);
	g_assert_true(memcmp(buf, bytes, len) == 0);
	memset(buf, 0, len);
	InFlightSampler depth1_sampler = { .conn = f->conn };
	sampler = g_thread_new("sampler", sample_in_flight, &depth1_sampler);
	gint64 depth1 = time_read(f, &h, buf, len, 32000);
	g_atomic_int_set(&depth1_sampler.stop, TRUE);
	g_thread_join(sampler);
	g_assert_true(memcmp(buf, bytes, len) == 0);
	g_test_message("8 MiB read, 2 ms RTT: pipelined %.0f ms (%.0f MB/s, up to %u in "
		       "flight), depth-1 %.0f ms (%.1f MB/s, up to %u)",
		       piped / 1000.0, len / (double)piped, piped_sampler.most,
		       depth1 / 1000.0, len / (double)depth1, depth1_sampler.most);
	g_assert_cmpuint(depth1_sampler.most, <=, 1);
	g_assert_cmpuint(piped_sampler.most, >=, 8);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);

	/* unref shuts our end; EOF then travels through both directions */
	sftpc_unref(f->conn);
	f->conn = NULL;
	delay_join(&up);
	delay_join(&down);
	close(sv[1]);
	close(server_fd);
	g_free(buf);
	g_free(bytes);
}

/* ---- asynchronous writes ---- */

typedef struct {
	GMutex lock;
	GCond cond;
	guint done, failed;
	int first_err;
	SftpConn *drop;      /* unref'ed by the last callback (on the reader) */
	guint expect;
	SftpHandle handle;
	int refused;         /* a write tried from the last callback */
} AsyncCount;

static void async_done(void *data, int err)
{
	AsyncCount *a = data;
	g_mutex_lock(&a->lock);
	a->done++;
	if (err < 0 && a->failed++ == 0)
		a->first_err = err;
	if (a->done == a->expect && a->drop != NULL) {
		/* The last reference, dropped on the reader thread. */
		sftpc_unref(a->drop);
		a->drop = NULL;
	}
	g_cond_signal(&a->cond);
	g_mutex_unlock(&a->lock);
}

static void async_wait(AsyncCount *a, guint n)
{
	g_mutex_lock(&a->lock);
	while (a->done < n)
		g_cond_wait(&a->cond, &a->lock);
	g_mutex_unlock(&a->lock);
}

static void test_async_writes(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "async");
	const size_t len = 4 * 1024 * 1024 + 123, chunk = 32000;
	guint8 *bytes = random_bytes(len);
	SftpHandle h;
	open_rw(f, file, SFTP_OPEN_TRUNC, &h);
	AsyncCount a = { .expect = (len + chunk - 1) / chunk };
	/* Everything in flight at once, answered in order. */
	for (size_t at = 0; at < len; at += chunk)
		g_assert_cmpint(sftpc_write_async(f->conn, &h, at, bytes + at,
						  MIN(chunk, len - at), async_done, &a), ==, 0);
	async_wait(&a, a.expect);
	g_assert_cmpuint(a.failed, ==, 0);
	gchar *disk;
	gsize disk_len;
	g_assert_true(g_file_get_contents(file, &disk, &disk_len, NULL));
	g_assert_cmpuint(disk_len, ==, len);
	g_assert_true(memcmp(disk, bytes, len) == 0);
	g_free(disk);

	/* Too big for one request, or empty: refused, no callback. */
	g_assert_cmpint(sftpc_write_async(f->conn, &h, 0, bytes, 300000, async_done, &a),
			==, -EINVAL);
	g_assert_cmpint(sftpc_write_async(f->conn, &h, 0, bytes, 0, async_done, &a), ==, -EINVAL);
	g_assert_cmpint(sftpc_close(f->conn, &h), ==, 0);

	/* A server error reaches the callback: writing a read-only handle. */
	SftpHandle ro;
	g_assert_cmpint(sftpc_open(f->conn, file, SFTP_OPEN_READ, NULL, &ro), ==, 0);
	AsyncCount b = { .expect = 1 };
	g_assert_cmpint(sftpc_write_async(f->conn, &ro, 0, bytes, 10, async_done, &b), ==, 0);
	async_wait(&b, 1);
	g_assert_cmpuint(b.failed, ==, 1);
	g_assert_cmpint(b.first_err, <, 0);
	g_assert_cmpint(sftpc_close(f->conn, &ro), ==, 0);
	g_free(bytes);
}

/* The server dies with writes in flight: every callback still runs, with
 * -ENOTCONN, a write after the break is refused at once, and the last
 * callback may drop the last reference (the reader does not join
 * itself). */
static void async_done_last(void *data, int err)
{
	AsyncCount *a = data;
	g_mutex_lock(&a->lock);
	if (err < 0 && a->failed++ == 0)
		a->first_err = err;
	if (a->done + 1 == a->expect) {
		guint8 byte = 0;
		a->refused = sftpc_write_async(a->drop, &a->handle, 0, &byte, 1, async_done, a);
		sftpc_unref(a->drop);
		a->drop = NULL;
	}
	a->done++;
	g_cond_signal(&a->cond);
	g_mutex_unlock(&a->lock);
}

static void test_async_writes_broken(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "async-broken");
	guint8 bytes[4][100] = { { 0 } };
	AsyncCount a = { .expect = 4, .refused = 1 };
	open_rw(f, file, SFTP_OPEN_TRUNC, &a.handle);
	/* Stopped, the server answers nothing; then it dies. */
	g_assert_cmpint(kill(f->pid, SIGSTOP), ==, 0);
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(sftpc_write_async(f->conn, &a.handle, i * 100, bytes[i], 100,
						  async_done_last, &a), ==, 0);
	g_mutex_lock(&a.lock); /* the last callback reads it on the reader thread */
	a.drop = f->conn;
	g_mutex_unlock(&a.lock);
	f->conn = NULL;
	reap(f);
	async_wait(&a, a.expect);
	g_assert_cmpuint(a.failed, ==, 4);
	g_assert_cmpint(a.first_err, ==, -ENOTCONN);
	g_assert_cmpint(a.refused, ==, -ENOTCONN);
	g_assert_null(a.drop);
}

int main(int argc, char **argv)
{
	if (!sftp_tests_init(&argc, &argv))
		return g_test_run();
	T("read-write", test_read_write);
	T("read-eof", test_read_eof);
	T_OWN("short-reads", test_short_reads);
	T("pipelined-8mib", test_pipelined_8mib);
	T_OWN("pipelined-latency", test_pipelined_latency);
	T("async-writes", test_async_writes);
	T("async-writes-broken", test_async_writes_broken);
	return g_test_run();
}
