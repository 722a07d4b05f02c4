/* jumpfs: mount a remote directory through SSH jump hosts.
 *
 * main() only sequences the pieces: command line -> become the user's
 * shared daemon, or hand the mount to the one running -> fork (the parent
 * waits for the mount) -> the dispatching loop (cli/share.c), which sets
 * the mount up on a thread of its own: chain + first SFTP channel -> FUSE
 * mount -> FUSE's loop. */
#include <fuse.h>
#include <libssh/libssh.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chain/auth.h"
#include "chain/cache.h"
#include "chain/errors.h"
#include "cli/check.h"
#include "cli/control.h"
#include "cli/daemon.h"
#include "cli/delegate.h"
#include "cli/log.h"
#include "cli/mount.h"
#include "cli/options.h"
#include "cli/print-config.h"
#include "cli/share.h"
#include "cli/status.h"

static void print_version(void)
{
	printf("jumpfs %s\nlibssh %s\nlibfuse %s (FUSE API %d)\nGLib %u.%u.%u\n",
	       JUMPFS_VERSION, ssh_version(0), fuse_pkgversion(), FUSE_USE_VERSION,
	       glib_major_version, glib_minor_version, glib_micro_version);
}

static int run_check(const CliOptions *options)
{
	GError *error = NULL;
	ChainSpec *chain = mount_resolve_chain(options, &error);
	if (chain == NULL) {
		g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		return 1;
	}
	int status = check_chain(chain);
	chain_spec_free(chain);
	return status;
}

/* Everything after the command line, in the process that will serve the
 * mount (the shared daemon if server listens on "control"). Errors before
 * the mount is up go to report_fd (the waiting parent) or stderr. */
static int serve(CliOptions *options, struct fuse_args *fuse_args, int report_fd,
		 ControlServer *server)
{
	share_block_signals();
	gboolean shared = server != NULL;
	if (server == NULL) {
		/* A mount of its own still answers `jumpfs status`. */
		g_autofree char *name = g_strdup_printf("mount-%d", (int)getpid());
		server = control_listen(name);
	}
	ShareFirst first = { options, fuse_args, report_fd };
	return share_serve(chain_cache_new(), server, shared, &first);
}

/* glibc gives each thread that allocates an arena of its own: with FUSE's
 * workers, the pumps and the reader threads, a 1 GiB read left 38-42 MiB
 * resident, 24 MiB with two arenas (scripts/bench's memory run). The
 * allocations are short and few per request, so two arenas cost no
 * measurable speed. MALLOC_ARENA_MAX in the environment still decides. */
static void limit_malloc_arenas(void)
{
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, 2);
}

int main(int argc, char **argv)
{
	CliOptions options;
	struct fuse_args fuse_args;
	GError *error = NULL;
	int status;

	limit_malloc_arenas();
	log_setup();
	if (print_config_requested(argc, argv))
		return print_config_main(argc, argv);
	if (status_requested(argc, argv))
		return status_main(argc, argv);
	if (!cli_options_parse(argc, argv, &options, &fuse_args, &error) ||
	    !cli_options_settle_user(&options, &error)) {
		log_failure_unattended(error->message);
		g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		fuse_opt_free_args(&fuse_args);
		cli_options_clear(&options);
		return 1;
	}
	log_set_debug(options.debug);
	/* The shared daemon cannot read this process's stdin password. */
	gboolean share = !options.foreground && !options.no_share && !options.password_stdin;
	ControlServer *server = NULL;
	if (options.show_help) {
		cli_options_print_help(argv[0]);
		status = 0;
	} else if (options.show_version) {
		print_version();
		status = 0;
	} else if (!auth_setup(&(AuthSetup){ .home_dir = options.home_dir,
					    .password_stdin = options.password_stdin,
					    .password_stdin_hop = options.password_stdin_hop },
			       &error)) {
		log_failure_unattended(error->message);
		g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		status = 1;
	} else if (options.check) {
		status = run_check(&options);
	} else if (share && (server = control_listen("control")) == NULL &&
		   delegate_mount(argc, argv, &status)) {
		/* The user's daemon mounted it (or said why not). Binding
		 * first, then asking whoever holds the socket, means that of
		 * many jumpfs started at once exactly one becomes the daemon
		 * and the others hand it their mounts. */
	} else {
		int report_fd = options.foreground ? -1 : daemon_start();
		status = serve(&options, &fuse_args, report_fd, server);
	}
	auth_cleanup();
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
	return status;
}
