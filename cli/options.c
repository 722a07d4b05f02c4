/* Option parsing. Three kinds of -o options share one list, as in sshfs:
 * ours (lower case, in the table below), ssh_config keywords (upper case
 * first letter, "IdentityFile=..."), and everything else, which FUSE gets
 * and rejects with its own message if it does not know it. */
#include "cli/options.h"

#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chain/errors.h"

enum {
	KEY_NONOPT_SEEN = 100,
	KEY_JUMP,
	KEY_CONFIG,
	KEY_PORT,
	KEY_HELP,
	KEY_VERSION,
	KEY_CHECK,
	KEY_COMPRESSION_YES,
	KEY_COMPRESSION_NO,
	KEY_IGNORED,
};

#define JFS_OPT(t, p, v) { t, offsetof(CliOptions, p), v }

static const struct fuse_opt cli_option_table[] = {
	JFS_OPT("reconnect", reconnect, 1),
	JFS_OPT("noreconnect", reconnect, 0),
	JFS_OPT("max_conns=%u", max_conns, 0),
	JFS_OPT("idmap=%s", idmap, 0),
	JFS_OPT("follow_symlinks", follow_symlinks, 1),
	JFS_OPT("transform_symlinks", transform_symlinks, 1),
	JFS_OPT("read_chunk=%u", read_chunk, 0),
	JFS_OPT("write_chunk=%u", write_chunk, 0),
	JFS_OPT("sshfs_debug", debug, 1),
	FUSE_OPT_KEY("ssh_config=%s", KEY_CONFIG),
	FUSE_OPT_KEY("port=%s", KEY_PORT),
	FUSE_OPT_KEY("compression=yes", KEY_COMPRESSION_YES),
	FUSE_OPT_KEY("compression=no", KEY_COMPRESSION_NO),
	FUSE_OPT_KEY("-J ", KEY_JUMP),
	FUSE_OPT_KEY("-F ", KEY_CONFIG),
	FUSE_OPT_KEY("-p ", KEY_PORT),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("--check", KEY_CHECK),
	/* For mount(8), fstab and systemd, not for FUSE: accepted, unused. */
	FUSE_OPT_KEY("_netdev", KEY_IGNORED),
	FUSE_OPT_KEY("noauto", KEY_IGNORED),
	FUSE_OPT_KEY("auto", KEY_IGNORED),
	FUSE_OPT_KEY("user", KEY_IGNORED),
	FUSE_OPT_KEY("users", KEY_IGNORED),
	FUSE_OPT_KEY("nouser", KEY_IGNORED),
	FUSE_OPT_KEY("nofail", KEY_IGNORED),
	FUSE_OPT_KEY("x-systemd.", KEY_IGNORED),
	FUSE_OPT_KEY("x-gvfs-", KEY_IGNORED),
	FUSE_OPT_KEY("comment=", KEY_IGNORED),
	FUSE_OPT_END
};

/* fuse_opt hands the same pointer to the table's offsets and to the
 * callback, so the options must sit at offset 0 of the callback's state. */
typedef struct {
	CliOptions options;
	int nonopts;
	GError *error;
} ParseState;

/* "[user@]host[:path]": the path starts at the first ':' after the host,
 * except inside [ ] (IPv6). */
static void cli_split_destination(CliOptions *options, const char *arg)
{
	const char *host = strrchr(arg, '@');
	host = host ? host + 1 : arg;
	const char *colon = NULL;
	if (*host == '[') {
		const char *close = strchr(host, ']');
		colon = close ? strchr(close, ':') : NULL;
	} else {
		colon = strchr(host, ':');
	}
	if (colon == NULL) {
		options->destination = g_strdup(arg);
		return;
	}
	options->destination = g_strndup(arg, (gsize)(colon - arg));
	options->remote_path = g_strdup(colon + 1);
}

static gboolean cli_parse_port(ParseState *state, const char *value)
{
	char *end = NULL;
	long port = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || port < 1 || port > 65535) {
		g_set_error(&state->error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "bad port '%s'", value);
		return FALSE;
	}
	state->options.port = (int)port;
	return TRUE;
}

static int cli_option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	ParseState *state = data;
	CliOptions *options = &state->options;
	(void)outargs;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		/* host first, then the mount point, which FUSE parses. */
		if (state->nonopts++ == 0) {
			cli_split_destination(options, arg);
			return 0;
		}
		return 1;
	case FUSE_OPT_KEY_OPT:
		/* ssh_config keywords are capitalised; FUSE's never are. */
		if (g_ascii_isupper(arg[0]) && strpbrk(arg, "= ") != NULL) {
			g_ptr_array_add(options->ssh_options, g_strdup(arg));
			return 0;
		}
		return 1;
	case KEY_JUMP:
		g_free(options->jump);
		options->jump = g_strdup(arg + 2 + (arg[2] == ' '));
		return 0;
	case KEY_CONFIG:
		g_free(options->config_file);
		options->config_file = g_strdup(strchr(arg, '=') ? strchr(arg, '=') + 1
						   : arg + 2 + (arg[2] == ' '));
		return 0;
	case KEY_PORT: {
		const char *value = strchr(arg, '=') ? strchr(arg, '=') + 1
						     : arg + 2 + (arg[2] == ' ');
		return cli_parse_port(state, value) ? 0 : -1;
	}
	case KEY_COMPRESSION_YES:
		g_ptr_array_add(options->ssh_options, g_strdup("Compression=yes"));
		return 0;
	case KEY_COMPRESSION_NO:
		g_ptr_array_add(options->ssh_options, g_strdup("Compression=no"));
		return 0;
	case KEY_HELP:
		options->show_help = 1;
		return 0;
	case KEY_VERSION:
		options->show_version = 1;
		return 0;
	case KEY_CHECK:
		options->check = 1;
		return 0;
	case KEY_IGNORED:
		return 0;
	default:
		return 1;
	}
}

gboolean cli_options_parse(int argc, char **argv, CliOptions *options,
			   struct fuse_args *fuse_args, GError **error)
{
	ParseState state = { 0 };
	state.options.reconnect = 1;
	state.options.max_conns = 1;
	state.options.ssh_options = g_ptr_array_new_with_free_func(g_free);

	*fuse_args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	int rc = fuse_opt_parse(fuse_args, &state, cli_option_table, cli_option_proc);
	*options = state.options;
	if (rc < 0) {
		if (state.error == NULL)
			g_set_error(&state.error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "bad command line (see jumpfs --help)");
		g_propagate_error(error, state.error);
		return FALSE;
	}
	if (options->show_help || options->show_version)
		return TRUE;

	struct fuse_cmdline_opts fuse_opts;
	if (fuse_parse_cmdline(fuse_args, &fuse_opts) != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "bad command line (see jumpfs --help)");
		return FALSE;
	}
	options->mountpoint = fuse_opts.mountpoint;
	options->foreground = fuse_opts.foreground || fuse_opts.debug || options->debug;
	options->debug = options->debug || fuse_opts.debug;
	options->singlethread = fuse_opts.singlethread;
	options->max_threads = fuse_opts.max_threads;

	if (options->destination == NULL || *options->destination == '\0') {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "no host given: jumpfs [user@]host[:path] MOUNTPOINT [options]");
		return FALSE;
	}
	if (!options->check && options->mountpoint == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "no mount point given: jumpfs [user@]host[:path] MOUNTPOINT [options]");
		return FALSE;
	}
	if (options->idmap != NULL && strcmp(options->idmap, "none") != 0 &&
	    strcmp(options->idmap, "user") != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "idmap=%s: only 'none' and 'user' are supported", options->idmap);
		return FALSE;
	}
	if (options->max_conns == 0)
		options->max_conns = 1;
	return TRUE;
}

void cli_options_clear(CliOptions *options)
{
	g_free(options->destination);
	g_free(options->remote_path);
	g_free(options->jump);
	g_free(options->config_file);
	g_free(options->idmap);
	free(options->mountpoint);
	if (options->ssh_options != NULL)
		g_ptr_array_free(options->ssh_options, TRUE);
	memset(options, 0, sizeof(*options));
}

void cli_options_print_help(const char *program)
{
	printf("usage: %s [user@]host[:path] MOUNTPOINT [options]\n"
	       "       %s --check [user@]host [options]\n"
	       "\n"
	       "Mounts a remote directory over SFTP through the jump hosts that\n"
	       "ssh_config's ProxyJump (or -J) names, all in one process.\n"
	       "\n"
	       "General options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print versions and exit\n"
	       "    -f                     stay in the foreground\n"
	       "    -d, -o debug           debug output (implies -f)\n"
	       "    -s                     single-threaded\n"
	       "    --check                connect hop by hop, report, and exit\n"
	       "\n"
	       "SSH options:\n"
	       "    -J [user@]host[:port],...  jump hosts, as ssh -J ('none' disables)\n"
	       "    -F FILE, -o ssh_config=FILE  ssh configuration file\n"
	       "    -p PORT, -o port=PORT  port of the target host\n"
	       "    -o Keyword=value       any ssh_config keyword jumpfs supports, for\n"
	       "                           the target host (IdentityFile, User, Port,\n"
	       "                           StrictHostKeyChecking, ServerAliveInterval,\n"
	       "                           ServerAliveCountMax, ConnectTimeout, Ciphers, ...)\n"
	       "    -o compression=yes|no  like -o Compression=\n"
	       "\n"
	       "jumpfs options:\n"
	       "    -o reconnect           reconnect after a failure (default)\n"
	       "    -o noreconnect         fail operations once the chain breaks\n"
	       "    -o max_conns=N         SFTP channels over the one chain (default 1)\n"
	       "    -o idmap=none|user     show the remote user's files as yours (user)\n"
	       "    -o follow_symlinks     show symlinks as what they point to\n"
	       "    -o transform_symlinks  make absolute symlinks inside the mount relative\n"
	       "    -o read_chunk=BYTES    SFTP read request size (default 32000)\n"
	       "    -o write_chunk=BYTES   SFTP write request size (default 32000)\n"
	       "\n"
	       "FUSE options (see also mount.fuse3(8)):\n",
	       program, program);
	fuse_cmdline_help();
	fuse_lib_help(&(struct fuse_args)FUSE_ARGS_INIT(0, NULL));
}
