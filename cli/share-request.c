/* A worker: one connection's request, read within a deadline, and the
 * mount it asks for, set up and served on this thread. While the mount is
 * set up, questions (passwords, unknown host keys) go back over the
 * connection to the jumpfs command that asked, which asks its person.
 * This process's own first mount is a worker too, asking on the terminal. */
#include "cli/share-private.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain/auth.h"
#include "chain/errors.h"
#include "chain/prompt.h"
#include "cli/daemon.h"
#include "cli/forward.h"
#include "cli/log.h"
#include "cli/peer.h"
#include "cli/status-data.h"
#include "fs/writeback.h"

/* A client has this long to say what it wants: one that connects and
 * says nothing holds only its own thread, and not for long. */
#define SHARE_REQUEST_TIMEOUT_US (10 * G_TIME_SPAN_SECOND)

static void share_worker_ended(ShareWorker *worker)
{
	Share *share = worker->share;
	if (worker->client_fd >= 0)
		close(worker->client_fd);
	worker->client_fd = -1;
	g_async_queue_push(share->ended, worker);
	uint64_t one = 1;
	ssize_t n = write(share->ended_fd, &one, sizeof(one));
	(void)n;
}

static void share_reply(ShareWorker *worker, const char *verdict, const char *message)
{
	const char *strings[] = { verdict, message ? message : "" };
	control_send(worker->client_fd, CONTROL_RESULT, strings, 2, NULL, 0);
}

/* --- setting a mount up ------------------------------------------------ */

/* Sets the mount up (asking as the thread's asker says) and registers it;
 * NULL with *error if that failed, or if the daemon began stopping
 * meanwhile (then *stopping). */
static Mount *share_setup(ShareWorker *worker, CliOptions *options,
			  struct fuse_args *fuse_args, gboolean *stopping, GError **error)
{
	Share *share = worker->share;
	Mount *mount = mount_new(share->cache, options, fuse_args, error);
	g_mutex_lock(&share->lock);
	worker->in_setup = FALSE;
	*stopping = share->stopping;
	if (mount != NULL && !share->stopping)
		worker->mount = mount;
	g_mutex_unlock(&share->lock);
	if (mount != NULL && *stopping) {
		mount_free(mount);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "the daemon is stopping");
		return NULL;
	}
	return mount;
}

/* Serves the mount until it is unmounted (by fusermount3 -u, or by the
 * loop on a signal), then lets its queued writes drain and frees it. */
static int share_run(ShareWorker *worker, Mount *mount)
{
	Share *share = worker->share;
	/* Only this thread (and the FUSE threads it starts) may be woken. */
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, SHARE_WAKE_SIGNAL);
	g_mutex_lock(&share->lock);
	worker->tid = gettid();
	g_mutex_unlock(&share->lock);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	int status = mount_run(mount);
	pthread_sigmask(SIG_BLOCK, &wake, NULL);
	g_mutex_lock(&share->lock);
	worker->mount = NULL;
	worker->tid = 0;
	/* A status answer may still be reading it (without the lock). */
	while (worker->status_readers > 0)
		g_cond_wait(&share->status_done, &share->lock);
	gint64 deadline = share->stopping ? share->drain_deadline_us
		: g_get_monotonic_time() + WRITEBACK_DRAIN_S * G_TIME_SPAN_SECOND;
	g_mutex_unlock(&share->lock);
	mount_stop(mount);
	mount_drain(mount, deadline);
	mount_free(mount);
	return status;
}

/* This process's own mount: asks on its terminal (the default asker),
 * reports to the waiting parent, then detaches from the terminal. */
static void share_first(ShareWorker *worker)
{
	const ShareFirst *first = worker->first;
	GError *error = NULL;
	gboolean stopping = FALSE;
	Mount *mount = share_setup(worker, first->options, first->fuse_args, &stopping,
				   &error);
	if (mount == NULL) {
		log_failure_unattended(error->message);
		if (first->report_fd >= 0)
			daemon_report_failure(first->report_fd, error->message);
		else
			g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		worker->status = 1;
		return;
	}
	if (first->report_fd >= 0) {
		daemon_report_ready(first->report_fd);
		log_to_syslog();
		auth_detach_tty();
	}
	worker->status = share_run(worker, mount);
}

/* The client's strings: cwd, N, N environment entries, argv. */
typedef struct {
	const char *cwd;
	char **environment;  /* NULL-terminated copy */
	char **argv;         /* NULL-terminated copy */
	int argc;
} ShareMountRequest;

static gboolean share_parse_request(const ControlMessage *message, ShareMountRequest *out)
{
	const GPtrArray *s = message->strings;
	if (s->len < 3)
		return FALSE;
	char *end = NULL;
	unsigned long n_env = strtoul(g_ptr_array_index(s, 1), &end, 10);
	if (*end != '\0' || n_env > s->len - 2 || s->len - 2 - n_env < 1)
		return FALSE;
	out->cwd = g_ptr_array_index(s, 0);
	out->environment = g_new0(char *, n_env + 1);
	for (guint i = 0; i < n_env; i++)
		out->environment[i] = g_strdup(g_ptr_array_index(s, 2 + i));
	out->argc = (int)(s->len - 2 - n_env);
	out->argv = g_new0(char *, out->argc + 1);
	for (int i = 0; i < out->argc; i++)
		out->argv[i] = g_strdup(g_ptr_array_index(s, 2 + n_env + (guint)i));
	return g_path_is_absolute(out->cwd);
}

static char *share_absolute(const char *path, const char *cwd)
{
	return g_path_is_absolute(path) ? g_strdup(path) : g_canonicalize_filename(path, cwd);
}

/* One `jumpfs HOST MOUNTPOINT` handed over by another process. */
static void share_client_mount(ShareWorker *worker, const ControlMessage *message)
{
	Share *share = worker->share;
	ShareMountRequest request = { 0 };
	GError *error = NULL;
	CliOptions options = { 0 };
	struct fuse_args fuse_args = FUSE_ARGS_INIT(0, NULL);
	gboolean own_cwd = FALSE;

	if (!share->accepts_mounts) {
		share_reply(worker, "2", "this process serves one mount only");
		return;
	}
	if (message->n_fds != 2 || !peer_same_root(message->fds[0], &error)) {
		g_info("not serving a mount for pid %d here: %s", (int)worker->client_pid,
		       error ? error->message : "no root directory sent");
		share_reply(worker, "2", error ? error->message : "no root directory sent");
		g_clear_error(&error);
		return;
	}
	if (!share_parse_request(message, &request)) {
		share_reply(worker, "1", "a malformed mount request");
		goto out;
	}
	/* Relative paths on the command line (the mount point, -F, an
	 * IdentityFile) are the client's: this thread gets a working
	 * directory of its own, the client's, while it sets the mount up. */
	own_cwd = unshare(CLONE_FS) == 0;
	if (!own_cwd || fchdir(message->fds[1]) != 0) {
		g_autofree char *why = g_strdup_printf("cannot enter the client's working "
						       "directory: %s", g_strerror(errno));
		share_reply(worker, "2", why);
		goto out;
	}
	gboolean parsed = cli_options_parse(request.argc, request.argv, &options, &fuse_args,
					    &error);
	if (!parsed) {
		share_reply(worker, "1", error->message);
		goto out;
	}
	if (options.foreground || options.no_share || options.password_stdin ||
	    options.check || options.show_help || options.show_version) {
		/* Never sent by jumpfs: these are served in their own process
		 * (password_stdin: the password is on the client's stdin). */
		share_reply(worker, "2", "not a mount for the shared daemon");
		goto out;
	}
	if (options.config_file != NULL) {
		char *config = share_absolute(options.config_file, request.cwd);
		g_free(options.config_file);
		options.config_file = config;
	}
	options.environment = g_steal_pointer(&request.environment);
	options.working_dir = g_strdup(request.cwd);
	/* Once this command has its answer, its terminal is out of reach. */
	options.nobody_to_ask_later = TRUE;

	g_info("mount %s on %s for pid %d", options.destination, options.mountpoint,
	       (int)worker->client_pid);
	gboolean stopping = FALSE;
	ForwardTarget target = { worker->client_fd, share->stop_fd };
	prompt_set_thread_asker(forward_ask, &target);
	Mount *mount = share_setup(worker, &options, &fuse_args, &stopping, &error);
	prompt_set_thread_asker(NULL, NULL);
	/* Keep no directory of the client's busy (it could not be
	 * unmounted); threads started meanwhile share this directory. */
	if (chdir("/") != 0)
		g_warning("chdir /: %s", g_strerror(errno));
	if (mount == NULL) {
		g_warning("%s", error->message);
		share_reply(worker, stopping ? "2" : "1", error->message);
		goto out;
	}
	if (!control_send(worker->client_fd, CONTROL_RESULT,
			  (const char *[]){ "0", "" }, 2, NULL, 0)) {
		/* Ctrl-C while the mount was set up: the person no longer
		 * wants it. */
		g_info("the jumpfs command went away: unmounting %s", options.mountpoint);
		mount_stop(mount);
	}
	close(worker->client_fd);
	worker->client_fd = -1;
	share_run(worker, mount);
out:
	if (own_cwd && chdir("/") != 0) {
		/* only keeps a directory busy */
	}
	g_clear_error(&error);
	g_strfreev(request.environment);
	g_strfreev(request.argv);
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
}

/* `jumpfs status [MOUNTPOINT]`: the document of this process's mounts,
 * from counters only. The mounts are read without share->lock (reading
 * takes the cache's and the connections' locks), each kept alive
 * meanwhile by its worker's status_readers. */
static void share_client_status(ShareWorker *worker, const ControlMessage *message)
{
	Share *share = worker->share;
	const char *filter = message->strings->len > 0 ? g_ptr_array_index(message->strings, 0)
						       : NULL;
	if (filter != NULL && *filter == '\0')
		filter = NULL;
	g_autoptr(GPtrArray) readers = g_ptr_array_new();  /* ShareWorker * */
	g_autoptr(GPtrArray) reading = g_ptr_array_new();  /* their Mount * */
	g_mutex_lock(&share->lock);
	for (guint i = 0; i < share->workers->len; i++) {
		ShareWorker *other = g_ptr_array_index(share->workers, i);
		if (other->mount == NULL ||
		    (filter != NULL && g_strcmp0(mount_point(other->mount), filter) != 0))
			continue;
		other->status_readers++;
		g_ptr_array_add(readers, other);
		g_ptr_array_add(reading, other->mount);
	}
	g_mutex_unlock(&share->lock);

	g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_variant_unref);
	for (guint i = 0; i < reading->len; i++) {
		/* Safe without the lock: a worker clears its mount pointer
		 * under it, then frees the mount only once its
		 * status_readers is back to 0. */
		g_ptr_array_add(mounts, g_variant_ref_sink(
			status_data_mount(g_ptr_array_index(reading, i), share->accepts_mounts)));
	}

	g_mutex_lock(&share->lock);
	for (guint i = 0; i < readers->len; i++) {
		ShareWorker *other = g_ptr_array_index(readers, i);
		other->status_readers--;
	}
	g_cond_broadcast(&share->status_done);
	g_mutex_unlock(&share->lock);

	g_autoptr(GVariant) document = status_data_document(mounts);
	g_autofree char *text = status_data_encode(document);
	const char *strings[] = { text };
	control_send(worker->client_fd, CONTROL_DOCUMENT, strings, 1, NULL, 0);
}

static void share_client(ShareWorker *worker)
{
	Share *share = worker->share;
	GError *error = NULL;
	ControlMessage *message = control_recv(worker->client_fd,
					       g_get_monotonic_time() + SHARE_REQUEST_TIMEOUT_US,
					       share->stop_fd, &error);
	g_mutex_lock(&share->lock);
	share->connections--;
	g_mutex_unlock(&share->lock);
	if (message == NULL) {
		if (g_error_matches(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL)) {
			/* An older jumpfs: its "not for me" makes it serve the
			 * mount itself. Read what it sent first: closing on
			 * unread bytes would reset the connection before it
			 * reads the answer. */
			char discard[4096];
			for (int i = 0; i < 64 &&
			     recv(worker->client_fd, discard, sizeof(discard), MSG_DONTWAIT) > 0; i++)
				;
			ssize_t n = write(worker->client_fd, "2", 1);
			(void)n;
		}
		g_debug("control request from pid %d: %s", (int)worker->client_pid,
			error->message);
		g_error_free(error);
		return;
	}
	switch (message->type) {
	case CONTROL_MOUNT:
		share_client_mount(worker, message);
		break;
	case CONTROL_STATUS:
		share_client_status(worker, message);
		break;
	default:
		share_reply(worker, "1", "unknown request");
		break;
	}
	control_message_free(message);
}

gpointer share_worker_run(gpointer data)
{
	ShareWorker *worker = data;
	if (worker->first != NULL)
		share_first(worker);
	else
		share_client(worker);
	g_mutex_lock(&worker->share->lock);
	worker->in_setup = FALSE;
	g_mutex_unlock(&worker->share->lock);
	share_worker_ended(worker);
	return NULL;
}
