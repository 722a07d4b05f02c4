/* The SFTP client's session against the real OpenSSH sftp-server: the
 * handshake, many threads on one connection, and a stream that breaks
 * (server killed, stopped, shut down, last reference dropped) with
 * requests in flight. The fixture: sftp-fixture.h. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "sftp-fixture.h"

/* ---- handshake ---- */

static void test_version(Fixture *f, gconstpointer data)
{
	(void)data;
	uint32_t rc, wc;
	g_assert_cmpuint(sftpc_version(f->conn), ==, 3);
	const char *want[] = { "posix-rename@openssh.com", "statvfs@openssh.com",
			       "fstatvfs@openssh.com", "hardlink@openssh.com",
			       "fsync@openssh.com", "lsetstat@openssh.com",
			       "limits@openssh.com", "expand-path@openssh.com" };
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_true(sftpc_has_extension(f->conn, want[i]));
	g_assert_false(sftpc_has_extension(f->conn, "no-such@example.com"));
	GPtrArray *list = sftpc_extensions(f->conn);
	gboolean seen = FALSE;
	for (guint i = 0; i < list->len; i++)
		seen |= g_str_equal(list->pdata[i], "posix-rename@openssh.com=1");
	g_assert_true(seen);

	sftpc_get_chunk_sizes(f->conn, &rc, &wc);
	g_assert_cmpuint(rc, ==, 32000);
	g_assert_cmpuint(wc, ==, 32000);
	/* limits@openssh.com caps what we may ask for. */
	sftpc_set_chunk_sizes(f->conn, 1 << 20, 1 << 20);
	sftpc_get_chunk_sizes(f->conn, &rc, &wc);
	g_test_message("clamped chunk sizes: read %u write %u", rc, wc);
	g_assert_cmpuint(rc, <=, 256 * 1024);
	g_assert_cmpuint(rc, >, 32000);
	g_assert_cmpuint(wc, <=, 256 * 1024 - 1024);
	g_assert_cmpuint(wc, >, 32000);
	sftpc_set_chunk_sizes(f->conn, 0, 0);
	sftpc_get_chunk_sizes(f->conn, &rc, &wc);
	g_assert_cmpuint(rc, ==, 32000);
}

/* A login script printing to stdout: start fails with a clear message. */
static void test_garbage_banner(Fixture *f, gconstpointer data)
{
	(void)data;
	GError *error = NULL;
	f->pid = spawn_server(f->dir, FALSE, NULL,
			      "echo 'Welcome to host'; exec " SFTP_SERVER_PATH, &f->fd);
	SftpConn *c = sftpc_start(f->fd, &error);
	g_assert_null(c);
	g_assert_nonnull(error);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, "\"Welcome to host\""));
	g_clear_error(&error);

	int p[2];
	g_assert_cmpint(pipe(p), ==, 0);
	close(p[1]);
	g_assert_null(sftpc_start(p[0], &error)); /* not a socket; closes p[0] */
	g_assert_nonnull(error);
	g_error_free(error);
}

/* ---- concurrency ---- */

typedef struct {
	Fixture *f;
	SftpConn *conn;  /* the thread's own reference */
	int kind;
	int rounds;
} Worker;

static void worker_io(Worker *w, const char *name, size_t len)
{
	g_autofree char *path = P(w->f, name);
	guint8 *data = random_bytes(len), *back = g_malloc(len);
	SftpHandle h;
	SftpAttrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = 0600 };
	g_assert_cmpint(sftpc_open(w->conn, path, SFTP_OPEN_READ | SFTP_OPEN_WRITE |
				   SFTP_OPEN_CREAT | SFTP_OPEN_TRUNC, &a, &h), ==, 0);
	g_assert_cmpint(sftpc_write(w->conn, &h, 0, data, len), ==, (ssize_t)len);
	g_assert_cmpint(sftpc_read(w->conn, &h, 0, back, len), ==, (ssize_t)len);
	g_assert_true(memcmp(data, back, len) == 0);
	g_assert_cmpint(sftpc_fstat(w->conn, &h, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, len);
	g_assert_cmpint(sftpc_close(w->conn, &h), ==, 0);
	g_free(back);
	g_free(data);
}

static gpointer worker_main(gpointer data)
{
	Worker *w = data;
	for (int r = 0; r < w->rounds; r++) {
		char name[64];
		g_snprintf(name, sizeof(name), "w%d", w->kind);
		g_autofree char *mine = P(w->f, name);
		switch (w->kind) {
		case 0:
		case 1:
			worker_io(w, name, 300000 + (size_t)w->kind * 77777 + (size_t)r);
			break;
		case 2: {
			g_autofree char *shared = P(w->f, "shared");
			SftpAttrs a;
			g_assert_cmpint(sftpc_stat(w->conn, shared, &a), ==, 0);
			g_assert_cmpuint(a.size, ==, 2 * 1024 * 1024);
			g_assert_cmpint(sftpc_lstat(w->conn, mine, &a), ==, -ENOENT);
			break;
		}
		case 3: {
			g_autofree char *sub = g_strdup_printf("%s/x%d", mine, r);
			SftpHandle h;
			GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
			g_assert_cmpint(sftpc_mkdir(w->conn, mine, 0755), ==, 0);
			g_assert_cmpint(sftpc_mkdir(w->conn, sub, 0755), ==, 0);
			g_assert_cmpint(sftpc_opendir(w->conn, mine, &h), ==, 0);
			while (sftpc_readdir(w->conn, &h, names) > 0)
				;
			g_assert_cmpint(sftpc_close(w->conn, &h), ==, 0);
			g_assert_cmpuint(names->len, ==, 3);
			g_assert_cmpint(sftpc_rmdir(w->conn, sub), ==, 0);
			g_assert_cmpint(sftpc_rmdir(w->conn, mine), ==, 0);
			g_ptr_array_unref(names);
			break;
		}
		case 4: {
			g_autofree char *want = g_strdup_printf("target-%d", r);
			g_autofree char *got = NULL;
			g_assert_cmpint(sftpc_symlink(w->conn, want, mine), ==, 0);
			g_assert_cmpint(sftpc_readlink(w->conn, mine, &got), ==, 0);
			g_assert_cmpstr(got, ==, want);
			g_assert_cmpint(sftpc_remove(w->conn, mine), ==, 0);
			break;
		}
		case 5: {
			g_autofree char *other = g_strconcat(mine, "-renamed", NULL);
			if (r == 0)
				worker_io(w, name, 1000);
			g_assert_cmpint(sftpc_rename(w->conn, mine, other, FALSE), ==, 0);
			g_assert_cmpint(sftpc_rename(w->conn, other, mine, TRUE), ==, 0);
			break;
		}
		case 6: {
			struct statvfs st;
			g_autofree char *real = NULL;
			g_assert_cmpint(sftpc_statvfs(w->conn, w->f->dir, &st), ==, 0);
			g_assert_cmpuint(st.f_namemax, >, 0);
			g_assert_cmpint(sftpc_realpath(w->conn, w->f->dir, &real), ==, 0);
			break;
		}
		default: {
			g_autofree char *shared = P(w->f, "shared");
			gchar *want;
			gsize len;
			SftpHandle h;
			g_assert_true(g_file_get_contents(shared, &want, &len, NULL));
			guint8 *buf = g_malloc(len);
			g_assert_cmpint(sftpc_open(w->conn, shared, SFTP_OPEN_READ, NULL, &h), ==, 0);
			g_assert_cmpint(sftpc_read(w->conn, &h, 0, buf, len), ==, (ssize_t)len);
			g_assert_true(memcmp(buf, want, len) == 0);
			g_assert_cmpint(sftpc_close(w->conn, &h), ==, 0);
			g_free(buf);
			g_free(want);
		}
		}
	}
	sftpc_unref(w->conn);
	return NULL;
}

static void test_concurrent(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *shared = P(f, "shared");
	guint8 *bytes = random_bytes(2 * 1024 * 1024);
	write_local(shared, bytes, 2 * 1024 * 1024);
	g_free(bytes);
	Worker w[8];
	GThread *t[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (Worker){ f, sftpc_ref(f->conn), i, 20 };
		t[i] = g_thread_new("worker", worker_main, &w[i]);
	}
	for (int i = 0; i < 8; i++)
		g_thread_join(t[i]);
	g_assert_false(sftpc_is_broken(f->conn));
}

/* ---- broken streams ---- */

typedef struct {
	SftpConn *conn;
	const char *path;
	size_t len;      /* > 0: read (or write if write) that many bytes */
	gboolean write;
	gboolean own_ref; /* thread holds (and drops) a reference of its own */
	ssize_t result;
	gint64 done_at;
} Pending;

static gpointer pending_main(gpointer data)
{
	Pending *p = data;
	SftpConn *c = p->conn;
	if (p->len == 0) {
		SftpAttrs a;
		p->result = sftpc_stat(c, p->path, &a);
	} else {
		SftpHandle h = { 0 };
		guint8 *buf = g_malloc0(p->len);
		/* A handle the server never gave: the request never gets as
		 * far as being answered anyway. */
		h.len = 4;
		memcpy(h.data, "\0\0\0\0", 4);
		p->result = p->write ? sftpc_write(c, &h, 0, buf, p->len)
				     : sftpc_read(c, &h, 0, buf, p->len);
		g_free(buf);
	}
	p->done_at = now_us();
	if (p->own_ref)
		sftpc_unref(c);
	return NULL;
}

static void assert_dead(SftpConn *c, Fixture *f)
{
	g_autofree char *file = P(f, "x");
	SftpAttrs a;
	SftpHandle h = { .len = 1 };
	char buf[100] = { 0 };
	g_assert_true(sftpc_is_broken(c));
	gint64 t0 = now_us();
	g_assert_cmpint(sftpc_stat(c, file, &a), ==, -ENOTCONN);
	g_assert_cmpint(sftpc_read(c, &h, 0, buf, sizeof(buf)), ==, -ENOTCONN);
	g_assert_cmpint(sftpc_write(c, &h, 0, buf, sizeof(buf)), ==, -ENOTCONN);
	g_assert_cmpint(sftpc_mkdir(c, file, 0755), ==, -ENOTCONN);
	g_assert_cmpint(now_us() - t0, <, G_USEC_PER_SEC / 10);
}

static void test_kill_pending(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file");
	Pending p = { f->conn, file, 1 << 20, FALSE, FALSE, 1, 0 };
	kill(f->pid, SIGSTOP);
	GThread *t = g_thread_new("pending", pending_main, &p);
	wait_request_queued(f);
	gint64 t0 = now_us();
	reap(f);
	g_thread_join(t);
	g_assert_cmpint(p.result, ==, -ENOTCONN);
	g_assert_cmpint(p.done_at - t0, <, 2 * G_USEC_PER_SEC);
	assert_dead(f->conn, f);
}

static void test_kill_idle(Fixture *f, gconstpointer data)
{
	(void)data;
	reap(f);
	gint64 end = now_us() + 5 * G_USEC_PER_SEC;
	while (!sftpc_is_broken(f->conn)) {
		g_assert_cmpint(now_us(), <, end);
		g_usleep(1000);
	}
	assert_dead(f->conn, f);
}

/* A writer blocked on a full socket (server stopped) is woken by
 * sftpc_shutdown, as is a thread waiting for a reply. */
static void test_shutdown_pending(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file");
	Pending wr = { f->conn, file, 16 << 20, TRUE, FALSE, 1, 0 };
	Pending st = { f->conn, file, 0, FALSE, FALSE, 1, 0 };
	kill(f->pid, SIGSTOP);
	GThread *t1 = g_thread_new("writer", pending_main, &wr);
	GThread *t2 = g_thread_new("stat", pending_main, &st);
	wait_request_queued(f);
	g_usleep(100 * 1000); /* let the writer fill the socket and block */
	gint64 t0 = now_us();
	sftpc_shutdown(f->conn);
	g_thread_join(t1);
	g_thread_join(t2);
	g_assert_cmpint(wr.result, ==, -ENOTCONN);
	g_assert_cmpint(st.result, ==, -ENOTCONN);
	g_assert_cmpint(MAX(wr.done_at, st.done_at) - t0, <, 2 * G_USEC_PER_SEC);
	assert_dead(f->conn, f);
}

/* The last sftpc_unref while another thread's call is in flight: the call
 * keeps the connection alive and completes normally; the connection is
 * freed when it returns (ASan/valgrind watch for use after free). */
static void test_unref_pending(Fixture *f, gconstpointer data)
{
	(void)data;
	g_autofree char *file = P(f, "file");
	write_local(file, "abc", 3);
	Pending p = { f->conn, file, 0, FALSE, FALSE, 1, 0 };
	kill(f->pid, SIGSTOP);
	GThread *t = g_thread_new("pending", pending_main, &p);
	wait_request_queued(f);
	sftpc_unref(f->conn);
	f->conn = NULL;
	g_usleep(50 * 1000);
	kill(f->pid, SIGCONT);
	g_thread_join(t);
	g_assert_cmpint(p.result, ==, 0);
	/* the stream was shut when the call dropped the last reference */
	int status;
	g_assert_cmpint(waitpid(f->pid, &status, 0), ==, f->pid);
	f->pid = 0;

	/* Again with threads holding references of their own, and the server
	 * dying under them. */
	start_with(f, FALSE, NULL);
	Pending q[4];
	GThread *qt[4];
	kill(f->pid, SIGSTOP);
	for (int i = 0; i < 4; i++) {
		q[i] = (Pending){ sftpc_ref(f->conn), file, i % 2 ? 100000 : 0, FALSE, TRUE, 1, 0 };
		qt[i] = g_thread_new("pending", pending_main, &q[i]);
	}
	wait_request_queued(f);
	sftpc_unref(f->conn);
	f->conn = NULL;
	reap(f);
	for (int i = 0; i < 4; i++) {
		g_thread_join(qt[i]);
		/* a thread that had not sent yet fails the same way */
		g_assert_cmpint(q[i].result, ==, -ENOTCONN);
	}
}

int main(int argc, char **argv)
{
	if (!sftp_tests_init(&argc, &argv))
		return g_test_run();
	T("version", test_version);
	T_OWN("garbage-banner", test_garbage_banner);
	T("concurrent", test_concurrent);
	T("kill-pending", test_kill_pending);
	T("kill-idle", test_kill_idle);
	T("shutdown-pending", test_shutdown_pending);
	T("unref-pending", test_unref_pending);
	return g_test_run();
}
