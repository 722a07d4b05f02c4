/* The shared daemon's main loop: control requests, ended mounts, signals.
 * Mounts run in their own threads; only this loop creates and frees them,
 * so the list of mounts needs no lock. */
#include "cli/share.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "chain/errors.h"

typedef struct {
	Mount *mount;
	GThread *thread;
	struct Share *share;
} Served;

typedef struct Share {
	ChainCache *cache;
	ControlServer *server;
	GPtrArray *served;        /* Served * */
	GAsyncQueue *ended;       /* Served * whose loop returned */
	int ended_fd;             /* eventfd: something is in ended */
	int signal_fd;
	gboolean stopping;
} Share;

static sigset_t share_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return set;
}

void share_block_signals(void)
{
	sigset_t set = share_signals();
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static gpointer share_mount_thread(gpointer data)
{
	Served *served = data;
	mount_run(served->mount);
	g_async_queue_push(served->share->ended, served);
	uint64_t one = 1;
	ssize_t n = write(served->share->ended_fd, &one, sizeof(one));
	(void)n;
	return NULL;
}

static void share_start(Share *share, Mount *mount)
{
	Served *served = g_new0(Served, 1);
	served->mount = mount;
	served->share = share;
	g_ptr_array_add(share->served, served);
	served->thread = g_thread_new("jumpfs-mount", share_mount_thread, served);
}

/* One `jumpfs HOST MOUNTPOINT` handed over by another process. Relative
 * paths are the client's: made absolute with its working directory. */
static void share_handle_request(Share *share, char **argv, const char *cwd, int client_fd)
{
	CliOptions options;
	struct fuse_args fuse_args;
	GError *error = NULL;
	Mount *mount = NULL;

	if (cli_options_parse(g_strv_length(argv), argv, &options, &fuse_args, &error)) {
		if (options.mountpoint != NULL && !g_path_is_absolute(options.mountpoint)) {
			char *absolute = g_canonicalize_filename(options.mountpoint, cwd);
			free(options.mountpoint);
			options.mountpoint = strdup(absolute);
			g_free(absolute);
		}
		if (options.config_file != NULL && !g_path_is_absolute(options.config_file)) {
			char *absolute = g_canonicalize_filename(options.config_file, cwd);
			g_free(options.config_file);
			options.config_file = absolute;
		}
		mount = mount_new(share->cache, &options, &fuse_args, &error);
	}
	if (mount != NULL) {
		share_start(share, mount);
		control_reply(client_fd, '0', NULL);
	} else {
		control_reply(client_fd, '1', error->message);
		g_warning("%s", error->message);
		g_error_free(error);
	}
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
}

static void share_reap(Share *share)
{
	uint64_t count;
	ssize_t n = read(share->ended_fd, &count, sizeof(count));
	(void)n;
	Served *served;
	while ((served = g_async_queue_try_pop(share->ended)) != NULL) {
		g_thread_join(served->thread);
		mount_free(served->mount);
		g_ptr_array_remove(share->served, served);
		g_free(served);
	}
	/* Hops no mount uses any more are logged out. */
	chain_cache_prune(share->cache);
}

static void share_stop_all(Share *share)
{
	share->stopping = TRUE;
	for (guint i = 0; i < share->served->len; i++) {
		Served *served = g_ptr_array_index(share->served, i);
		mount_stop(served->mount);
	}
}

int share_serve(ChainCache *cache, ControlServer *server, Mount *first)
{
	sigset_t signals = share_signals();
	Share share = {
		.cache = cache,
		.server = server,
		.served = g_ptr_array_new(),
		.ended = g_async_queue_new(),
		.ended_fd = eventfd(0, EFD_CLOEXEC),
		.signal_fd = signalfd(-1, &signals, SFD_CLOEXEC),
	};
	share_start(&share, first);

	while (share.served->len > 0) {
		struct pollfd fds[3] = {
			{ .fd = share.ended_fd, .events = POLLIN },
			{ .fd = share.signal_fd, .events = POLLIN },
			{ .fd = share.server ? control_fd(share.server) : -1, .events = POLLIN },
		};
		/* Woken every few seconds to log out of hops left unused when a
		 * mount ended (their channels close asynchronously). */
		int n = poll(fds, 3, 2000);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0)
			chain_cache_prune(share.cache);
		if (fds[0].revents & POLLIN)
			share_reap(&share);
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo info;
			ssize_t n = read(share.signal_fd, &info, sizeof(info));
			(void)n;
			g_message("signal %u: unmounting everything", info.ssi_signo);
			/* No new mounts while going down. */
			control_close(share.server);
			share.server = NULL;
			share_stop_all(&share);
		}
		if (share.server != NULL && (fds[2].revents & POLLIN)) {
			char **argv = NULL;
			char *cwd = NULL;
			int client = control_accept(share.server, &argv, &cwd);
			if (client >= 0) {
				share_handle_request(&share, argv, cwd, client);
				g_strfreev(argv);
				g_free(cwd);
			}
		}
		if (share.served->len == 0 && share.server != NULL) {
			/* Stop listening before the last hops go, so that a
			 * new jumpfs does not pick a daemon that is leaving. */
			control_close(share.server);
			share.server = NULL;
		}
	}
	control_close(share.server);
	close(share.ended_fd);
	close(share.signal_fd);
	g_async_queue_unref(share.ended);
	g_ptr_array_free(share.served, TRUE);
	chain_cache_free(cache);
	return 0;
}
