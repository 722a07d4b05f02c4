/* jumpfs: mount a remote directory through SSH jump hosts.
 *
 * main() only sequences the pieces: command line -> ssh_config resolution
 * -> (daemon fork) -> chain + first SFTP channel -> FUSE mount -> loop. */
#include <errno.h>
#include <fuse.h>
#include <libssh/libssh.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/cache.h"
#include "chain/errors.h"
#include "chain/config.h"
#include "cli/check.h"
#include "cli/daemon.h"
#include "cli/log.h"
#include "cli/options.h"
#include "fs/ops.h"
#include "fs/remote.h"

/* How Remote gets a new SFTP stream: through the cached chain. */
typedef struct {
	ChainCache *cache;
	ChainSpec *chain;
} ChainOpener;

static int open_sftp_through_chain(void *data, GError **error)
{
	ChainOpener *opener = data;
	return chain_cache_open_sftp(opener->cache, opener->chain, error);
}

static ChainSpec *resolve_chain(const CliOptions *options, GError **error)
{
	g_ptr_array_add(options->ssh_options, NULL);
	ConfigRequest request = {
		.destination = options->destination,
		.jump = options->jump,
		.config_file = options->config_file,
		.port = options->port,
		.options = (const char *const *)options->ssh_options->pdata,
	};
	ChainSpec *chain = config_resolve(&request, error);
	g_ptr_array_remove_index(options->ssh_options, options->ssh_options->len - 1);
	return chain;
}

static void print_version(void)
{
	printf("jumpfs %s\nlibssh %s\nlibfuse %s (FUSE API %d)\nGLib %u.%u.%u\n",
	       JUMPFS_VERSION, ssh_version(0), fuse_pkgversion(), FUSE_USE_VERSION,
	       glib_major_version, glib_minor_version, glib_micro_version);
}

static void fs_options_from_cli(FsOptions *fs, const CliOptions *options)
{
	fs_options_init(fs);
	if (g_strcmp0(options->idmap, "user") == 0)
		fs->idmap = FS_IDMAP_USER;
	fs->follow_symlinks = options->follow_symlinks;
	fs->transform_symlinks = options->transform_symlinks;
}

/* Everything after the command line, in the process that will serve the
 * mount. Returns the exit status; errors before the mount is up go to
 * report_fd (daemon) or stderr (foreground). */
static int serve(CliOptions *options, struct fuse_args *fuse_args, int report_fd)
{
	GError *error = NULL;
	int status = 1;
	ChainOpener opener = { .cache = chain_cache_new() };
	Remote *remote = NULL;
	FsContext *ctx = NULL;
	struct fuse *fuse = NULL;
	g_autofree char *fsname = NULL;

	opener.chain = resolve_chain(options, &error);
	if (opener.chain == NULL)
		goto out;
	RemoteOptions remote_options = {
		.reconnect = options->reconnect,
		.max_conns = options->max_conns,
		.read_chunk = options->read_chunk,
		.write_chunk = options->write_chunk,
	};
	remote = remote_connect(open_sftp_through_chain, &opener, options->remote_path,
				&remote_options, &error);
	if (remote == NULL)
		goto out;
	FsOptions fs_options;
	fs_options_from_cli(&fs_options, options);
	ctx = fs_context_new(remote, &fs_options, &error);
	if (ctx == NULL)
		goto out;

	fsname = g_strdup_printf("-ofsname=%s:%s", options->destination,
						  options->remote_path ? options->remote_path : "");
	fuse_opt_insert_arg(fuse_args, 1, fsname);
	fuse_opt_insert_arg(fuse_args, 1, "-osubtype=jumpfs");
	fuse = fuse_new(fuse_args, fs_operations(), sizeof(struct fuse_operations), ctx);
	if (fuse == NULL) {
		g_set_error(&error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "bad FUSE options (see jumpfs --help)");
		goto out;
	}
	if (fuse_mount(fuse, options->mountpoint) != 0) {
		g_set_error(&error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "cannot mount on %s", options->mountpoint);
		goto out;
	}
	struct fuse_session *session = fuse_get_session(fuse);
	if (fuse_set_signal_handlers(session) != 0) {
		g_set_error(&error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "cannot install signal handlers");
		fuse_unmount(fuse);
		goto out;
	}
	if (report_fd >= 0) {
		daemon_report_ready(report_fd);
		report_fd = -1;
		log_to_syslog();
	}
	g_message("mounted %s:%s on %s", options->destination, remote_root(remote),
		  options->mountpoint);

	int rc;
	if (options->singlethread) {
		rc = fuse_loop(fuse);
	} else {
		struct fuse_loop_config *loop = fuse_loop_cfg_create();
		if (options->max_threads > 0)
			fuse_loop_cfg_set_max_threads(loop, options->max_threads);
		fuse_loop_cfg_set_idle_threads(loop, 10);
		rc = fuse_loop_mt(fuse, loop);
		fuse_loop_cfg_destroy(loop);
	}
	fuse_remove_signal_handlers(session);
	fuse_unmount(fuse);
	status = rc == 0 ? 0 : 1;
	g_message("unmounted %s", options->mountpoint);

out:
	if (error != NULL) {
		if (report_fd >= 0)
			daemon_report_failure(report_fd, error->message);
		else
			g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
	}
	if (fuse != NULL)
		fuse_destroy(fuse);
	fs_context_free(ctx);
	remote_free(remote);
	chain_cache_free(opener.cache);
	if (opener.chain != NULL)
		chain_spec_free(opener.chain);
	return status;
}

int main(int argc, char **argv)
{
	CliOptions options;
	struct fuse_args fuse_args;
	GError *error = NULL;
	int status;

	if (!cli_options_parse(argc, argv, &options, &fuse_args, &error)) {
		g_printerr("jumpfs: %s\n", error->message);
		g_error_free(error);
		fuse_opt_free_args(&fuse_args);
		cli_options_clear(&options);
		return 1;
	}
	log_setup(options.debug);
	if (options.show_help) {
		cli_options_print_help(argv[0]);
		status = 0;
	} else if (options.show_version) {
		print_version();
		status = 0;
	} else if (options.check) {
		ChainSpec *chain = resolve_chain(&options, &error);
		status = chain ? check_chain(chain) : 1;
		if (chain == NULL) {
			g_printerr("jumpfs: %s\n", error->message);
			g_error_free(error);
		} else {
			chain_spec_free(chain);
		}
	} else {
		int report_fd = options.foreground ? -1 : daemon_start();
		status = serve(&options, &fuse_args, report_fd);
	}
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
	return status;
}
