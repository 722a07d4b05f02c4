#include "cli/mount.h"

#include "chain/auth.h"

#include <fuse_lowlevel.h>

#include "chain/errors.h"
#include "chain/prompt.h"
#include "fs/ops.h"
#include "fs/remote.h"
#include "fs/writeback.h"

/* How Remote gets a new SFTP stream: through the cached chain. */
typedef struct {
	ChainCache *cache;
	ChainSpec *chain;
	gboolean nobody_to_ask_later;
	guint max_conns;          /* slots operations share; stripe slots after */
	gint set_up;              /* the first connection is made (atomic:
	                             remote_connect starts more opens) */
} ChainOpener;

struct Mount {
	ChainOpener opener;
	Remote *remote;
	FsContext *ctx;
	struct fuse *fuse;
	GMutex lock;              /* protects mounted: mount_stop may come from
	                             two threads */
	gboolean mounted;
	gboolean singlethread;
	unsigned max_threads;
	guint max_conns;
	char *mountpoint;
	char *source;          /* host:path, for messages */
};

/* A reconnect of a mount that the shared daemon set up for another jumpfs
 * command: that command has finished, and with it the only way to its
 * person. Refuse at once (and say what was asked, with the hop: a host key
 * question carries the fingerprint) rather than ask the daemon's own
 * terminal or askpass, which may belong to someone else's session. */
static char *mount_nobody_to_ask(const PromptQuestion *question, gpointer data,
				 GError **error)
{
	(void)data;
	g_warning("%s: reconnecting in the background, nobody to ask: %s",
		  question->hop_label, question->text);
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
		    "%s: nobody to ask (reconnecting in the background)", question->hop_label);
	return NULL;
}

/* Operations' slots are channels of the chain's shared session; stripe
 * slot k (1 ..) goes over the chain's lane k, a login of its own at the
 * target whose windows are its own (chain_cache_open_sftp). */
static int mount_open_sftp(void *data, guint slot, GError **error)
{
	ChainOpener *opener = data;
	/* Later calls come from FUSE's threads, which serve only this mount. */
	if (g_atomic_int_get(&opener->set_up) && opener->nobody_to_ask_later)
		prompt_set_thread_asker(mount_nobody_to_ask, NULL);
	guint lane = slot < opener->max_conns ? 0 : slot - opener->max_conns + 1;
	return chain_cache_open_sftp(opener->cache, opener->chain, lane, error);
}

ChainSpec *mount_resolve_chain(const CliOptions *options, GError **error)
{
	g_ptr_array_add(options->ssh_options, NULL);
	ConfigRequest request = {
		.destination = options->destination,
		.jump = options->jump,
		.config_file = options->config_file,
		.port = options->port,
		.options = (const char *const *)options->ssh_options->pdata,
		.home_dir = options->home_dir,
		.local_user = options->local_user,
		/* The requester's (NULL: this process's): ProxyCommand and
		 * Match exec run with them, also in the shared daemon. */
		.environment = (const char *const *)options->environment,
		.working_dir = options->working_dir,
	};
	ChainSpec *chain = config_resolve(&request, error);
	g_ptr_array_remove_index(options->ssh_options, options->ssh_options->len - 1);
	if (chain != NULL && !auth_check_chain(chain, error))
		g_clear_pointer(&chain, chain_spec_free);
	return chain;
}

static void mount_fs_options(FsOptions *fs, const CliOptions *options)
{
	fs_options_init(fs);
	if (g_strcmp0(options->idmap, "none") == 0)
		fs->idmap = FS_IDMAP_NONE;
	fs->allow_other = options->allow_other;
	fs->follow_symlinks = options->follow_symlinks;
	fs->transform_symlinks = options->transform_symlinks;
	if (options->contain_symlinks >= 0)
		fs->contain_symlinks = options->contain_symlinks;
	if (options->write_queue >= 0)
		fs->write_queue = (size_t)options->write_queue << 20;
	if (options->write_queue_file >= 0)
		fs->write_queue_file = (size_t)options->write_queue_file << 20;
	fs->reconnect_window = options->reconnect_window;
	fs->write_stripes = options->write_stripes;
	if (options->cache_timeout >= 0) {
		fs->entry_timeout = options->cache_timeout;
		fs->attr_timeout = options->cache_timeout;
		fs->dir_timeout = options->cache_timeout;
	}
}

Mount *mount_new(ChainCache *cache, CliOptions *options, struct fuse_args *fuse_args,
		 GError **error)
{
	g_autofree char *fsname = NULL;
	Mount *mount = g_new0(Mount, 1);
	g_mutex_init(&mount->lock);
	mount->opener.cache = cache;
	mount->opener.nobody_to_ask_later = options->nobody_to_ask_later;
	mount->opener.max_conns = MAX(options->max_conns, 1u);
	mount->singlethread = options->singlethread;
	mount->max_threads = options->max_threads;
	mount->max_conns = options->max_conns;
	mount->mountpoint = g_strdup(options->mountpoint);
	mount->source = g_strdup_printf("%s:%s", options->destination,
					options->remote_path ? options->remote_path : "");

	mount->opener.chain = mount_resolve_chain(options, error);
	if (mount->opener.chain == NULL)
		goto fail;
	chain_cache_pin(cache, mount->opener.chain);
	RemoteOptions remote_options = {
		.reconnect = options->reconnect,
		.hard = options->hard,
		.max_conns = options->max_conns,
		.stripes = options->write_stripes,
		.interrupted = writeback_interrupted,
		.read_chunk = options->read_chunk,
		.write_chunk = options->write_chunk,
	};
	mount->remote = remote_connect(mount_open_sftp, &mount->opener, options->remote_path,
				       &remote_options, error);
	if (mount->remote == NULL)
		goto fail;
	g_atomic_int_set(&mount->opener.set_up, TRUE); /* before FUSE's threads exist */
	FsOptions fs_options;
	mount_fs_options(&fs_options, options);
	mount->ctx = fs_context_new(mount->remote, &fs_options, error);
	if (mount->ctx == NULL)
		goto fail;

	fsname = g_strdup_printf("-ofsname=%s", mount->source);
	fuse_opt_insert_arg(fuse_args, 1, fsname);
	fuse_opt_insert_arg(fuse_args, 1, "-osubtype=jumpfs");
	mount->fuse = fuse_new(fuse_args, fs_operations(), sizeof(struct fuse_operations),
			       mount->ctx);
	if (mount->fuse == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "bad FUSE options (see jumpfs --help)");
		goto fail;
	}
	if (fuse_mount(mount->fuse, mount->mountpoint) != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "cannot mount on %s", mount->mountpoint);
		goto fail;
	}
	mount->mounted = TRUE;
	g_info("mounted %s (%s) on %s", mount->source, remote_root(mount->remote),
		  mount->mountpoint);
	return mount;

fail:
	mount_free(mount);
	return NULL;
}

struct fuse_session *mount_session(Mount *mount)
{
	return fuse_get_session(mount->fuse);
}

const char *mount_point(Mount *mount)
{
	return mount->mountpoint;
}

const char *mount_source(Mount *mount)
{
	return mount->source;
}

const ChainSpec *mount_chain(Mount *mount)
{
	return mount->opener.chain;
}

ChainCache *mount_cache(Mount *mount)
{
	return mount->opener.cache;
}

Remote *mount_remote(Mount *mount)
{
	return mount->remote;
}

guint mount_max_conns(Mount *mount)
{
	return mount->max_conns;
}

size_t mount_write_queued(Mount *mount)
{
	return fs_context_write_queued(mount->ctx);
}

int mount_run(Mount *mount)
{
	int rc;
	if (mount->singlethread) {
		rc = fuse_loop(mount->fuse);
	} else {
		struct fuse_loop_config *loop = fuse_loop_cfg_create();
		if (mount->max_threads > 0)
			fuse_loop_cfg_set_max_threads(loop, mount->max_threads);
		fuse_loop_cfg_set_idle_threads(loop, 10);
		rc = fuse_loop_mt(mount->fuse, loop);
		fuse_loop_cfg_destroy(loop);
	}
	return rc == 0 ? 0 : 1;
}

void mount_stop(Mount *mount)
{
	/* The loop's threads sit in read(/dev/fuse); unmounting makes that
	 * read fail with ENODEV, which ends the loop. */
	if (mount->fuse != NULL)
		fuse_session_exit(fuse_get_session(mount->fuse));
	g_mutex_lock(&mount->lock);
	if (mount->mounted) {
		fuse_unmount(mount->fuse);
		mount->mounted = FALSE;
		g_info("unmounted %s", mount->mountpoint);
	}
	g_mutex_unlock(&mount->lock);
}

void mount_free(Mount *mount)
{
	if (mount == NULL)
		return;
	mount_stop(mount);
	if (mount->fuse != NULL)
		fuse_destroy(mount->fuse);
	fs_context_free(mount->ctx);
	remote_free(mount->remote);
	if (mount->opener.chain != NULL) {
		chain_cache_unpin(mount->opener.cache, mount->opener.chain);
		chain_spec_free(mount->opener.chain);
	}
	g_free(mount->mountpoint);
	g_free(mount->source);
	g_mutex_clear(&mount->lock);
	g_free(mount);
}

size_t mount_drain(Mount *mount, gint64 deadline)
{
	return fs_context_drain(mount->ctx, deadline);
}
