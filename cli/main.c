/* jumpfs: mount a remote directory through SSH jump hosts.
 *
 * main() only sequences the pieces: command line -> hand the mount to the
 * user's running daemon, if any -> else fork (the parent waits for the
 * mount) -> chain + first SFTP channel -> FUSE mount -> loop. */
#include <fuse.h>
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>

#include "chain/auth.h"
#include "chain/cache.h"
#include "chain/errors.h"
#include "cli/check.h"
#include "cli/control.h"
#include "cli/daemon.h"
#include "cli/log.h"
#include "cli/mount.h"
#include "cli/options.h"
#include "cli/print-config.h"
#include "cli/share.h"

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

/* A mount served by this process alone (-f, -o no_share, or no safe place
 * for the control socket): the classic sshfs shape. */
static int serve_alone(ChainCache *cache, Mount *mount)
{
	struct fuse_session *session = mount_session(mount);
	int status = 1;
	if (fuse_set_signal_handlers(session) == 0) {
		status = mount_run(mount);
		fuse_remove_signal_handlers(session);
	}
	mount_free(mount);
	chain_cache_free(cache);
	return status;
}

/* Everything after the command line, in the process that will serve the
 * mount. Errors before the mount is up go to report_fd (daemon) or stderr. */
static int serve(CliOptions *options, struct fuse_args *fuse_args, int report_fd,
		 gboolean share)
{
	GError *error = NULL;
	ControlServer *server = share ? control_listen() : NULL;
	if (server != NULL)
		share_block_signals();
	ChainCache *cache = chain_cache_new();

	Mount *mount = mount_new(cache, options, fuse_args, &error);
	if (mount == NULL) {
		log_failure_unattended(error->message);
		if (report_fd >= 0)
			daemon_report_failure(report_fd, error->message);
		else
			g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		control_close(server);
		chain_cache_free(cache);
		return 1;
	}
	if (report_fd >= 0) {
		daemon_report_ready(report_fd);
		log_to_syslog();
		auth_detach_tty();
	}
	if (server != NULL)
		return share_serve(cache, server, mount);
	return serve_alone(cache, mount);
}

int main(int argc, char **argv)
{
	CliOptions options;
	struct fuse_args fuse_args;
	GError *error = NULL;
	int status;

	if (print_config_requested(argc, argv))
		return print_config_main(argc, argv);
	if (!cli_options_parse(argc, argv, &options, &fuse_args, &error) ||
	    !cli_options_settle_user(&options, &error)) {
		log_failure_unattended(error->message);
		g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		fuse_opt_free_args(&fuse_args);
		cli_options_clear(&options);
		return 1;
	}
	log_setup(options.debug);
	/* The shared daemon cannot read this process's stdin password. */
	gboolean share = !options.foreground && !options.no_share && !options.password_stdin;
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
	} else if (share && control_delegate(argc, argv, &status)) {
		/* The user's daemon mounted it (or said why not). */
	} else {
		int report_fd = options.foreground ? -1 : daemon_start();
		status = serve(&options, &fuse_args, report_fd, share);
	}
	auth_cleanup();
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
	return status;
}
