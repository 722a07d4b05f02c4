/* fs/remote.c: how long operations wait for a broken connection (soft and
 * hard), and a refused login that is not retried, over the real OpenSSH
 * sftp-server with an opener the test controls. */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "chain/errors.h"
#include "fs/remote.h"
#include "sftp-server.h"

typedef enum { OPEN_OK, OPEN_DOWN, OPEN_AUTH } OpenMode;

typedef struct {
	char *dir;
	GMutex lock;
	OpenMode mode;
	guint opens;            /* calls of the opener */
	GPtrArray *pids;        /* sftp-servers forked */
	Remote *remote;
} Fx;

static int fx_open(void *data, guint slot, GError **error)
{
	(void)slot;
	Fx *fx = data;
	g_mutex_lock(&fx->lock);
	fx->opens++;
	OpenMode mode = fx->mode;
	g_mutex_unlock(&fx->lock);
	if (mode == OPEN_AUTH) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
			    "hop 3/3 (u@backend:22): authentication failed");
		return -1;
	}
	if (mode == OPEN_DOWN) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "hop 2/3 (u@jump2:22): connection lost");
		return -1;
	}
	SftpServerOptions options = { .dir = fx->dir, .quiet = TRUE };
	int fd;
	pid_t pid = sftp_server_spawn(&options, &fd, error);
	if (pid < 0)
		return -1;
	g_mutex_lock(&fx->lock);
	g_ptr_array_add(fx->pids, GINT_TO_POINTER(pid));
	g_mutex_unlock(&fx->lock);
	return fd;
}

static void fx_mode(Fx *fx, OpenMode mode)
{
	g_mutex_lock(&fx->lock);
	fx->mode = mode;
	g_mutex_unlock(&fx->lock);
}

static guint fx_opens(Fx *fx)
{
	g_mutex_lock(&fx->lock);
	guint n = fx->opens;
	g_mutex_unlock(&fx->lock);
	return n;
}

static gint64 interrupt_at;

static gboolean fx_interrupted(void)
{
	return interrupt_at != 0 && g_get_monotonic_time() >= interrupt_at;
}

static void fx_setup(Fx *fx, gconstpointer data)
{
	gboolean hard = GPOINTER_TO_INT(data);
	fx->dir = test_make_tmpdir("jumpfs-remote-XXXXXX");
	g_mutex_init(&fx->lock);
	fx->pids = g_ptr_array_new();
	interrupt_at = 0;
	RemoteOptions options = { .reconnect = TRUE, .hard = hard, .max_conns = 1,
				  .interrupted = fx_interrupted };
	GError *error = NULL;
	fx->remote = remote_connect(fx_open, fx, fx->dir, &options, &error);
	g_assert_no_error(error);
	g_assert_nonnull(fx->remote);
}

static void fx_teardown(Fx *fx, gconstpointer data)
{
	(void)data;
	remote_free(fx->remote);
	for (guint i = 0; i < fx->pids->len; i++) {
		pid_t pid = GPOINTER_TO_INT(g_ptr_array_index(fx->pids, i));
		sftp_server_kill(&pid);
	}
	g_ptr_array_unref(fx->pids);
	g_assert_cmpint(test_remove_tree(fx->dir), ==, 0);
	g_free(fx->dir);
	g_mutex_clear(&fx->lock);
}

/* The connection breaks (as when the pump finds a dead hop). */
static void fx_break(Fx *fx)
{
	SftpConn *conn;
	g_assert_cmpint(remote_acquire(fx->remote, &conn, NULL), ==, 0);
	sftpc_shutdown(conn);
	remote_release(fx->remote, conn);
}

/* Under valgrind everything is ~10x slower: no timing claims then. */
#define ASSERT_TOOK_LESS(took, us)                                   \
	do {                                                         \
		if (g_getenv("JUMPFS_UNDER_VALGRIND") == NULL)       \
			g_assert_cmpint((took), <, (us));            \
	} while (0)

static int fx_acquire(Fx *fx, gint64 *took_us)
{
	SftpConn *conn = NULL;
	gint64 t = g_get_monotonic_time();
	int rc = remote_acquire(fx->remote, &conn, NULL);
	*took_us = g_get_monotonic_time() - t;
	if (rc == 0)
		remote_release(fx->remote, conn);
	return rc;
}

static void test_soft_reconnects_or_gives_up(Fx *fx, gconstpointer data)
{
	(void)data;
	gint64 took;
	/* A broken connection comes back at once when the chain is there. */
	fx_break(fx);
	g_assert_cmpint(fx_acquire(fx, &took), ==, 0);
	/* A dead chain: the first operation waits for the attempt (at most
	 * the 1 s grace), the next ones fail at once while backing off. */
	fx_mode(fx, OPEN_DOWN);
	fx_break(fx);
	g_assert_cmpint(fx_acquire(fx, &took), ==, -ENOTCONN);
	ASSERT_TOOK_LESS(took, 1500 * 1000);
	g_assert_cmpint(fx_acquire(fx, &took), ==, -ENOTCONN);
	ASSERT_TOOK_LESS(took, 100 * 1000);
	/* Back: after the backoff an operation finds it again. */
	fx_mode(fx, OPEN_OK);
	gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
	int rc;
	while ((rc = fx_acquire(fx, &took)) != 0 && g_get_monotonic_time() < deadline)
		g_usleep(100 * 1000);
	g_assert_cmpint(rc, ==, 0);
}

static void test_hard_waits_and_can_be_interrupted(Fx *fx, gconstpointer data)
{
	(void)data;
	gint64 took;
	fx_mode(fx, OPEN_DOWN);
	fx_break(fx);
	/* Interrupted after 300 ms of waiting: EINTR, soon. */
	interrupt_at = g_get_monotonic_time() + 300 * 1000;
	g_assert_cmpint(fx_acquire(fx, &took), ==, -EINTR);
	g_assert_cmpint(took, >=, 250 * 1000);
	ASSERT_TOOK_LESS(took, 1000 * 1000);
	interrupt_at = 0;
	/* Not interrupted: it waits for as long as the chain is down. */
	g_usleep(1500 * 1000);
	fx_mode(fx, OPEN_OK); /* the next attempt (backoff) succeeds */
	g_assert_cmpint(fx_acquire(fx, &took), ==, 0);
}

static void test_auth_failure_is_eacces_and_not_retried(Fx *fx, gconstpointer data)
{
	(void)data;
	gint64 took;
	fx_mode(fx, OPEN_AUTH);
	fx_break(fx);
	guint before = fx_opens(fx);
	g_assert_cmpint(fx_acquire(fx, &took), ==, -EACCES);
	/* However many operations ask, hard or soft: no second login. */
	for (int i = 0; i < 20; i++) {
		g_assert_cmpint(fx_acquire(fx, &took), ==, -EACCES);
		ASSERT_TOOK_LESS(took, 100 * 1000);
	}
	g_usleep(1200 * 1000);
	g_assert_cmpint(fx_acquire(fx, &took), ==, -EACCES);
	g_assert_cmpuint(fx_opens(fx) - before, ==, 1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* A dead chain and a refused login are meant to warn: not fatal
	 * here (criticals still are). */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	if (!sftp_server_available()) {
		g_test_message("no %s: nothing to test against", SFTP_SERVER_PATH);
		return 77;
	}
	g_test_add("/fs/remote/soft", Fx, GINT_TO_POINTER(FALSE), fx_setup,
		   test_soft_reconnects_or_gives_up, fx_teardown);
	g_test_add("/fs/remote/hard", Fx, GINT_TO_POINTER(TRUE), fx_setup,
		   test_hard_waits_and_can_be_interrupted, fx_teardown);
	g_test_add("/fs/remote/auth-soft", Fx, GINT_TO_POINTER(FALSE), fx_setup,
		   test_auth_failure_is_eacces_and_not_retried, fx_teardown);
	g_test_add("/fs/remote/auth-hard", Fx, GINT_TO_POINTER(TRUE), fx_setup,
		   test_auth_failure_is_eacces_and_not_retried, fx_teardown);
	return g_test_run();
}
