/* Option parsing. Three kinds of -o options share one list, as in sshfs:
 * ours (lower case, in the table below), ssh_config keywords (upper case
 * first letter, "IdentityFile=..."), and everything else, which FUSE gets
 * and rejects with its own message if it does not know it. */
#include "cli/options.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/errors.h"
#include "cli/log.h"

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
	KEY_UNSUPPORTED,
	KEY_ALLOW_OTHER,
};

#define JFS_OPT(t, p, v) { t, offsetof(CliOptions, p), v }

static const struct fuse_opt cli_option_table[] = {
	JFS_OPT("reconnect", reconnect, 1),
	JFS_OPT("noreconnect", reconnect, 0),
	JFS_OPT("max_conns=%u", max_conns, 0),
	JFS_OPT("hard", hard, 1),
	JFS_OPT("soft", hard, 0),
	JFS_OPT("reconnect_window=%u", reconnect_window, 0),
	JFS_OPT("write_queue=%d", write_queue, 0),
	JFS_OPT("write_queue_file=%d", write_queue_file, 0),
	JFS_OPT("write_stripes=%u", write_stripes, 0),
	JFS_OPT("no_share", no_share, 1),
	JFS_OPT("idmap=%s", idmap, 0),
	JFS_OPT("follow_symlinks", follow_symlinks, 1),
	JFS_OPT("transform_symlinks", transform_symlinks, 1),
	JFS_OPT("contain_symlinks", contain_symlinks, 1),
	JFS_OPT("no_contain_symlinks", contain_symlinks, 0),
	JFS_OPT("read_chunk=%u", read_chunk, 0),
	JFS_OPT("write_chunk=%u", write_chunk, 0),
	JFS_OPT("cache_timeout=%d", cache_timeout, 0),
	JFS_OPT("password_stdin", password_stdin, 1),
	JFS_OPT("password_stdin=", password_stdin, 1),
	JFS_OPT("password_stdin=%s", password_stdin_hop, 0),
	JFS_OPT("ssh_user_config=%s", ssh_user_config, 0),
	JFS_OPT("sshfs_debug", debug, 1),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("ssh_config=%s", KEY_CONFIG),
	FUSE_OPT_KEY("port=%s", KEY_PORT),
	FUSE_OPT_KEY("compression=yes", KEY_COMPRESSION_YES),
	FUSE_OPT_KEY("compression=no", KEY_COMPRESSION_NO),
	FUSE_OPT_KEY("-C", KEY_COMPRESSION_YES),
	FUSE_OPT_KEY("-J ", KEY_JUMP),
	FUSE_OPT_KEY("-F ", KEY_CONFIG),
	FUSE_OPT_KEY("-p ", KEY_PORT),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("--check", KEY_CHECK),
	/* For mount(8), fstab and systemd, not for FUSE: accepted, unused. */
	FUSE_OPT_KEY("defaults", KEY_IGNORED),
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
	/* sshfs options whose feature jumpfs does not have: say why. */
	FUSE_OPT_KEY("ssh_command=", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("ssh_protocol=", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("sftp_server=", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("directport=", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("passive", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("slave", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("uidfile=", KEY_UNSUPPORTED),
	FUSE_OPT_KEY("gidfile=", KEY_UNSUPPORTED),
	FUSE_OPT_END
};

static const struct {
	const char *prefix;
	const char *why;
} cli_unsupported[] = {
	{ "ssh_command", "jumpfs speaks SSH itself and never runs ssh" },
	{ "ssh_protocol", "jumpfs speaks SSH protocol 2 only" },
	{ "sftp_server", "jumpfs always uses the server's sftp subsystem" },
	{ "directport", "jumpfs always goes through SSH" },
	{ "passive", "jumpfs always goes through SSH" },
	{ "slave", "jumpfs always goes through SSH" },
	{ "uidfile", "only idmap=none and idmap=user exist" },
	{ "gidfile", "only idmap=none and idmap=user exist" },
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
	case KEY_ALLOW_OTHER:
		options->allow_other = 1;
		return 1; /* FUSE's too */
	case KEY_UNSUPPORTED:
		for (gsize i = 0; i < G_N_ELEMENTS(cli_unsupported); i++) {
			if (g_str_has_prefix(arg, cli_unsupported[i].prefix)) {
				g_set_error(&state->error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
					    "-o %s is not supported: %s", arg, cli_unsupported[i].why);
				break;
			}
		}
		return -1;
	default:
		return 1;
	}
}

/* Whose ssh configuration, keys and known_hosts are used. Root may name
 * any user (mounting from fstab or systemd for them); others only
 * themselves, since they could not read anyone else's keys anyway. */
static gboolean cli_resolve_local_user(CliOptions *options, GError **error)
{
	struct passwd *pw;
	if (options->ssh_user_config != NULL) {
		pw = getpwnam(options->ssh_user_config);
		if (pw == NULL) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "ssh_user_config=%s: no such user", options->ssh_user_config);
			return FALSE;
		}
		if (getuid() != 0 && pw->pw_uid != getuid()) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "ssh_user_config=%s: only root may use another user's ssh "
				    "configuration and keys", options->ssh_user_config);
			return FALSE;
		}
	} else {
		pw = getpwuid(getuid());
	}
	/* As ssh: the password database, not $HOME (mount.fuse3 setuid=USER
	 * keeps root's HOME); $HOME only if the database has no entry. */
	options->local_user = g_strdup(pw ? pw->pw_name : g_get_user_name());
	options->home_dir = g_strdup(pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir
						     : g_get_home_dir());
	return TRUE;
}

/* FUSE rejects options it does not know only in fuse_new(), which jumpfs
 * calls after building the whole chain, in the daemon. A dry run here makes
 * a typo fail at once, on the terminal, with FUSE's own words. Its messages
 * are captured for this thread only: swapping libfuse's process-wide
 * logger would lose FUSE's messages for good once the shared daemon had
 * parsed its first command. */
static gboolean cli_check_fuse_options(const struct fuse_args *fuse_args, GError **error)
{
	static const struct fuse_operations no_operations;
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	for (int i = 0; i < fuse_args->argc; i++)
		fuse_opt_add_arg(&copy, fuse_args->argv[i]);

	log_fuse_capture_begin();
	struct fuse *fuse = fuse_new(&copy, &no_operations, sizeof(no_operations), NULL);
	g_autofree char *captured = log_fuse_capture_end();
	fuse_opt_free_args(&copy);
	if (fuse != NULL) {
		fuse_destroy(fuse);
		return TRUE;
	}
	const char *text = g_strstrip(captured);
	const char *message = g_str_has_prefix(text, "fuse: ") ? text + 6 : text;
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG, "%s (see jumpfs --help)",
		    *message ? message : "bad FUSE options");
	return FALSE;
}

gboolean cli_options_parse(int argc, char **argv, CliOptions *options,
			   struct fuse_args *fuse_args, GError **error)
{
	ParseState state = { 0 };
	state.options.reconnect = 1;
	state.options.max_conns = 1;
	state.options.reconnect_window = 60;
	state.options.write_queue = -1;
	state.options.write_queue_file = -1;
	/* Measured through 20 ms relays: more channels did not beat one
	 * (docs/design.md, "Striping"), and each costs the server a process. */
	state.options.write_stripes = 4;
	state.options.cache_timeout = -1;
	state.options.contain_symlinks = -1;
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

	struct fuse_cmdline_opts fuse_opts = { 0 };
	if (fuse_parse_cmdline(fuse_args, &fuse_opts) != 0) {
		/* It may have taken a mount point before failing (found by
		 * tests/fuzz/fuzz-options). */
		free(fuse_opts.mountpoint);
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
	if (options->hard && !options->reconnect) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "-o hard needs reconnecting: a hard mount waits for the chain to "
			    "come back, and with noreconnect it never would (drop one of them)");
		return FALSE;
	}
	if (options->write_queue < -1 || options->write_queue > 4096 ||
	    options->write_queue_file < -1 || options->write_queue_file > 4096) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "write_queue=, write_queue_file=: 0 to 4096 MiB");
		return FALSE;
	}
	if (options->reconnect_window == 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "reconnect_window=0: must be at least 1 second");
		return FALSE;
	}
	if (options->write_stripes == 0 || options->write_stripes > 8) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "write_stripes=%u: 1 to 8 SFTP channels", options->write_stripes);
		return FALSE;
	}
	if (options->cache_timeout < -1) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "cache_timeout=%d: must be 0 or more seconds", options->cache_timeout);
		return FALSE;
	}
	if (!cli_resolve_local_user(options, error))
		return FALSE;
	/* Others in the mount: the kernel must check the modes shown, or
	 * every local user could read and write the owner's files (the
	 * server checks only as the remote login user). */
	if (options->allow_other)
		fuse_opt_add_arg(fuse_args, "-odefault_permissions");
	return options->check || cli_check_fuse_options(fuse_args, error);
}

/* Root with ssh_user_config=USER becomes USER, as mount.fuse3's setuid=USER
 * would: the chain, the known_hosts updates and the FUSE daemon then run
 * with USER's rights, never root's, and USER's files are read as USER.
 * Everyone gets HOME, USER and LOGNAME of the password entry, so that all
 * code agrees with ssh on whose ~/.ssh it is. */
gboolean cli_options_settle_user(const CliOptions *options, GError **error)
{
	if (options->home_dir == NULL)
		return TRUE; /* --help, --version: nothing will be read */
	struct passwd *pw = options->ssh_user_config ? getpwnam(options->ssh_user_config) : NULL;
	if (pw != NULL && getuid() == 0 && pw->pw_uid != 0) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "ssh_user_config=%s: cannot become that user: %s",
				    pw->pw_name, g_strerror(errno));
			return FALSE;
		}
		/* root's agent and runtime directory are not USER's. */
		g_unsetenv("SSH_AUTH_SOCK");
		g_autofree char *runtime = g_strdup_printf("/run/user/%u", (unsigned)pw->pw_uid);
		if (access(runtime, W_OK | X_OK) == 0)
			g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
		else
			g_unsetenv("XDG_RUNTIME_DIR");
	}
	g_setenv("HOME", options->home_dir, TRUE);
	g_setenv("USER", options->local_user, TRUE);
	g_setenv("LOGNAME", options->local_user, TRUE);
	return TRUE;
}

void cli_options_clear(CliOptions *options)
{
	g_free(options->destination);
	g_free(options->remote_path);
	g_free(options->jump);
	g_free(options->config_file);
	g_free(options->idmap);
	g_free(options->ssh_user_config);
	g_free(options->password_stdin_hop);
	g_free(options->local_user);
	g_free(options->home_dir);
	g_strfreev(options->environment);
	g_free(options->working_dir);
	free(options->mountpoint);
	if (options->ssh_options != NULL)
		g_ptr_array_free(options->ssh_options, TRUE);
	memset(options, 0, sizeof(*options));
}

void cli_options_print_help(const char *program)
{
	printf("usage: %s [user@]host[:path] MOUNTPOINT [options]\n"
	       "       %s --check [user@]host [options]\n"
	       "       mount -t fuse.jumpfs [user@]host[:path] MOUNTPOINT -o opt,...\n"
	       "\n"
	       "Mounts a remote directory over SFTP through the jump hosts that\n"
	       "ssh_config's ProxyJump (or -J) names, all in one process.\n"
	       "\n"
	       "General options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print versions and exit\n"
	       "    -f                     stay in the foreground\n"
	       "    -d, -o debug           debug output: every step of building the chain,\n"
	       "                           then FUSE's requests (implies -f)\n"
	       "    -o sshfs_debug         the same\n"
	       "    -s                     single-threaded\n"
	       "    --check                connect hop by hop, report, and exit\n"
	       "\n"
	       "SSH options:\n"
	       "    -J [user@]host[:port],...  jump hosts, as ssh -J ('none' disables)\n"
	       "    -F FILE, -o ssh_config=FILE  ssh configuration file\n"
	       "    -p PORT, -o port=PORT  port of the target host\n"
	       "    -C, -o compression=yes|no  compression (like -o Compression=)\n"
	       "    -o Keyword=value       an ssh_config keyword, for the target host\n"
	       "                           (jump hosts take theirs from ssh_config):\n"
	       "                           User, Port, IdentityFile, IdentitiesOnly,\n"
	       "                           StrictHostKeyChecking, UserKnownHostsFile,\n"
	       "                           ConnectTimeout, ServerAliveInterval,\n"
	       "                           ServerAliveCountMax, Ciphers, BatchMode,\n"
	       "                           PubkeyAuthentication, PasswordAuthentication,\n"
	       "                           KbdInteractiveAuthentication, ...\n"
	       "    -o password_stdin      read one password from stdin, for the target's\n"
	       "                           password prompt (never for another prompt)\n"
	       "    -o password_stdin=HOP  ... for that hop's instead (its alias or\n"
	       "                           user@host[:port])\n"
	       "    -o ssh_user_config=USER  use USER's ~/.ssh (config, keys, known_hosts);\n"
	       "                           root runs as USER then (fstab, systemd)\n"
	       "\n"
	       "jumpfs options (sshfs's names):\n"
	       "    -o reconnect           reconnect after a failure (default)\n"
	       "    -o noreconnect         fail operations once the chain breaks\n"
	       "    -o max_conns=N         SFTP channels over the one chain (default 1)\n"
	       "    -o soft                an operation on a dead chain fails (ENOTCONN/EIO)\n"
	       "                           within ServerAliveInterval x ServerAliveCountMax\n"
	       "                           + 1 s of the cut (default)\n"
	       "    -o hard                operations wait until the chain is back, nothing\n"
	       "                           is lost; a waiting process can be interrupted\n"
	       "    -o reconnect_window=S  soft: keep unconfirmed writes S seconds after a\n"
	       "                           break (default 60)\n"
	       "    -o write_queue=MIB     write-behind: MiB queued in the mount (default 64;\n"
	       "                           0: every write waits for the server)\n"
	       "    -o write_queue_file=MIB  MiB queued per open file (default 64)\n"
	       "    -o write_stripes=N     channels a big file's writes are spread over\n"
	       "                           (default 4; the extra ones log in at the target)\n"
	       "    -o no_share            do not share hops with your other mounts\n"
	       "                           (own daemon process, own logins)\n"
	       "    -o idmap=user|none     the remote login user's files show as yours\n"
	       "                           (user, the default; with allow_other other\n"
	       "                           remote owners show as nobody), or the\n"
	       "                           server's numbers as they are (none, sshfs)\n"
	       "    -o follow_symlinks     show symlinks as what they point to\n"
	       "    -o transform_symlinks  make absolute symlinks inside the mount relative\n"
	       "    -o contain_symlinks    symlinks that lead out of the mount read as\n"
	       "                           EPERM; absolute ones inside it show relative\n"
	       "                           (the default)\n"
	       "    -o no_contain_symlinks show symlinks as the server stores them\n"
	       "    -o cache_timeout=N     seconds to cache attributes and directories\n"
	       "    -o read_chunk=BYTES    SFTP read request size (default 32000)\n"
	       "    -o write_chunk=BYTES   SFTP write request size (default 32000)\n"
	       "\n"
	       "mount(8) options, accepted and ignored: defaults, _netdev, noauto,\n"
	       "auto, user, users, nouser, nofail, x-systemd.*, x-gvfs-*, comment=*.\n"
	       "Passwords and passphrases are asked on the terminal, else through\n"
	       "$SSH_ASKPASS; never with BatchMode=yes. See jumpfs(1).\n"
	       "\n"
	       "FUSE options, and the mount options of mount.fuse3(8)\n"
	       "(default_permissions, ro, nosuid, ...):\n",
	       program, program);
	fuse_cmdline_help();
	fuse_lib_help(&(struct fuse_args)FUSE_ARGS_INIT(0, NULL));
}
