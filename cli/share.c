/* The dispatching loop: new connections, ended workers, signals. Nothing
 * here waits on a client, a hop or a prompt: a connection is handed to a
 * worker thread at once (share-request.c), which reads its request with a
 * deadline, sets its mount up and then serves it. */
#include "cli/share.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli/share-private.h"
#include "fs/writeback.h"

/* Connections still saying what they want: beyond this, new ones are
 * closed at once (each holds a thread for up to its read deadline). */
#define SHARE_MAX_CONNECTIONS 64
/* How often hops left unused by ended mounts are logged out (their
 * channels close asynchronously, so one look when a mount ends is not
 * enough). */
#define SHARE_PRUNE_INTERVAL_US (2 * G_TIME_SPAN_SECOND)

static sigset_t share_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return set;
}

/* SHARE_WAKE_SIGNAL only interrupts (see share_wake): no SA_RESTART. */
static void share_on_wake(int sig)
{
	(void)sig;
}

void share_block_signals(void)
{
	sigset_t set = share_signals();
	sigaddset(&set, SHARE_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction wake = { .sa_handler = share_on_wake };
	sigemptyset(&wake.sa_mask);
	sigaction(SHARE_WAKE_SIGNAL, &wake, NULL);
}

/* Ends a mount's FUSE loop now. Its threads wait in read(/dev/fuse) and
 * its loop thread in sem_wait; an unmount wakes them only once no file is
 * open on the mount, so the loop thread is interrupted instead: it finds
 * the session exited and ends the loop (cancelling the readers). Then it
 * unmounts, drains and frees the mount itself. */
static void share_wake(ShareWorker *worker)
{
	fuse_session_exit(mount_session(worker->mount));
	if (worker->tid > 0)
		syscall(SYS_tgkill, getpid(), worker->tid, SHARE_WAKE_SIGNAL);
}

static ShareWorker *share_start_worker(Share *share, int client_fd, pid_t pid,
				       const ShareFirst *first)
{
	ShareWorker *worker = g_new0(ShareWorker, 1);
	worker->share = share;
	worker->client_fd = client_fd;
	worker->client_pid = pid;
	worker->first = first;
	worker->in_setup = TRUE;
	g_mutex_lock(&share->lock);
	g_ptr_array_add(share->workers, worker);
	if (client_fd >= 0)
		share->connections++;
	g_mutex_unlock(&share->lock);
	worker->thread = g_thread_new(first ? "jumpfs-mount" : "jumpfs-request",
				      share_worker_run, worker);
	return worker;
}

static void share_accept(Share *share, ControlServer *server)
{
	pid_t pid = 0;
	int fd = control_accept(server, &pid);
	if (fd < 0)
		return;
	g_mutex_lock(&share->lock);
	gboolean full = share->connections >= SHARE_MAX_CONNECTIONS;
	g_mutex_unlock(&share->lock);
	if (full) {
		g_warning("control socket: %d connections are still talking; refused one "
			  "from pid %d", SHARE_MAX_CONNECTIONS, (int)pid);
		close(fd);
		return;
	}
	share_start_worker(share, fd, pid, NULL);
}

/* Joins ended workers; the first mount's status is kept in *status. */
static void share_reap(Share *share, int *status)
{
	uint64_t count;
	ssize_t n = read(share->ended_fd, &count, sizeof(count));
	(void)n;
	ShareWorker *worker;
	while ((worker = g_async_queue_try_pop(share->ended)) != NULL) {
		g_thread_join(worker->thread);
		if (worker->first != NULL)
			*status = worker->status;
		g_mutex_lock(&share->lock);
		g_ptr_array_remove(share->workers, worker);
		g_mutex_unlock(&share->lock);
		g_free(worker);
	}
}

/* Nothing is mounted and this process's own mount is still being set up
 * (perhaps at a password prompt on the terminal): leave by the signal, as
 * jumpfs always did before its mount was up. A prompt catches it first
 * and puts the terminal back (chain/auth); then the default action. */
static G_NORETURN void share_die_of(int sig)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	g_usleep(500 * G_TIME_SPAN_MILLISECOND);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* Every mount's loop ends now; each worker then unmounts its mount at once
 * and drains what it still has queued (until the drain deadline), in
 * parallel with the others, and ends.
 * Workers still setting up notice at their next step (stop_fd, or when
 * their mount is up) and give up. */
static void share_stop_all(Share *share, int sig)
{
	g_mutex_lock(&share->lock);
	gboolean nothing_mounted = TRUE, only_first_in_setup = TRUE;
	for (guint i = 0; i < share->workers->len; i++) {
		ShareWorker *worker = g_ptr_array_index(share->workers, i);
		if (worker->mount != NULL)
			nothing_mounted = FALSE;
		if (worker->in_setup && worker->first == NULL)
			only_first_in_setup = FALSE;
	}
	if (nothing_mounted && only_first_in_setup) {
		g_mutex_unlock(&share->lock);
		share_die_of(sig);
	}
	share->stopping = TRUE;
	share->drain_deadline_us = g_get_monotonic_time() +
				   WRITEBACK_DRAIN_S * G_TIME_SPAN_SECOND;
	uint64_t one = 1;
	ssize_t n = write(share->stop_fd, &one, sizeof(one));
	(void)n;
	/* Under the lock: a worker frees its mount only after taking it out
	 * of the list under this lock. */
	for (guint i = 0; i < share->workers->len; i++) {
		ShareWorker *worker = g_ptr_array_index(share->workers, i);
		if (worker->mount != NULL)
			share_wake(worker);
	}
	g_mutex_unlock(&share->lock);
}

/* Logs out of hops that no mount uses any more, off the loop's thread:
 * the cache may be busy with a login for a while. */
typedef struct {
	ChainCache *cache;
	GMutex lock;
	GCond wake;
	gboolean done;
} SharePruner;

static gpointer share_prune_thread(gpointer data)
{
	SharePruner *pruner = data;
	g_mutex_lock(&pruner->lock);
	while (!pruner->done) {
		gint64 until = g_get_monotonic_time() + SHARE_PRUNE_INTERVAL_US;
		while (!pruner->done && g_cond_wait_until(&pruner->wake, &pruner->lock, until))
			;
		g_mutex_unlock(&pruner->lock);
		chain_cache_prune(pruner->cache);
		g_mutex_lock(&pruner->lock);
	}
	g_mutex_unlock(&pruner->lock);
	return NULL;
}

/* libfuse keeps a per-thread context under a key that it deletes when its
 * last struct fuse is destroyed, and fuse_destroy itself creates one for
 * the calling thread. Mounts (and the option dry runs) are destroyed on
 * worker threads that then exit: had the key gone, their contexts would
 * leak. One struct fuse that lives as long as the loop keeps the key. */
static struct fuse *share_fuse_key_anchor(void)
{
	static const struct fuse_operations no_operations;
	char *argv[] = { (char *)"jumpfs", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fuse *fuse = fuse_new(&args, &no_operations, sizeof(no_operations), NULL);
	fuse_opt_free_args(&args);
	return fuse;
}

int share_serve(ChainCache *cache, ControlServer *server, gboolean accepts_mounts,
		const ShareFirst *first)
{
	struct fuse *anchor = share_fuse_key_anchor();
	sigset_t signals = share_signals();
	Share share = {
		.cache = cache,
		.accepts_mounts = accepts_mounts,
		.stop_fd = eventfd(0, EFD_CLOEXEC),
		.workers = g_ptr_array_new(),
		.ended = g_async_queue_new(),
		.ended_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	};
	g_mutex_init(&share.lock);
	g_cond_init(&share.status_done);
	int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
	SharePruner pruner = { .cache = cache };
	g_mutex_init(&pruner.lock);
	g_cond_init(&pruner.wake);
	GThread *prune_thread = g_thread_new("jumpfs-prune", share_prune_thread, &pruner);

	int status = 1;
	share_start_worker(&share, -1, 0, first);
	for (;;) {
		g_mutex_lock(&share.lock);
		guint alive = share.workers->len;
		g_mutex_unlock(&share.lock);
		if (alive == 0)
			break;
		struct pollfd fds[3] = {
			{ .fd = share.ended_fd, .events = POLLIN },
			{ .fd = signal_fd, .events = POLLIN },
			{ .fd = server ? control_fd(server) : -1, .events = POLLIN },
		};
		int n = poll(fds, 3, -1);
		if (n < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			share_reap(&share, &status);
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo info;
			ssize_t got = read(signal_fd, &info, sizeof(info));
			if (got == sizeof(info)) {
				g_message("signal %u: unmounting everything", info.ssi_signo);
				/* No new mounts while going down. */
				control_close(server);
				server = NULL;
				share_stop_all(&share, (int)info.ssi_signo);
			}
		}
		if (server != NULL && (fds[2].revents & POLLIN))
			share_accept(&share, server);

		g_mutex_lock(&share.lock);
		gboolean idle = share.workers->len == 0;
		g_mutex_unlock(&share.lock);
		if (idle && server != NULL) {
			/* Stop listening before the last hops go, so that a
			 * new jumpfs does not pick a daemon that is leaving. */
			control_close(server);
			server = NULL;
		}
	}
	control_close(server);

	g_mutex_lock(&pruner.lock);
	pruner.done = TRUE;
	g_cond_signal(&pruner.wake);
	g_mutex_unlock(&pruner.lock);
	g_thread_join(prune_thread);
	g_mutex_clear(&pruner.lock);
	g_cond_clear(&pruner.wake);

	close(share.stop_fd);
	close(share.ended_fd);
	close(signal_fd);
	g_async_queue_unref(share.ended);
	g_ptr_array_free(share.workers, TRUE);
	g_cond_clear(&share.status_done);
	g_mutex_clear(&share.lock);
	chain_cache_free(cache);
	if (anchor != NULL)
		fuse_destroy(anchor);
	return status;
}
