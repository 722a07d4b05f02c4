/* The command line: sshfs-compatible options parsed with fuse_opt. */
#ifndef JUMPFS_CLI_OPTIONS_H
#define JUMPFS_CLI_OPTIONS_H

#include <fuse.h>
#include <glib.h>

typedef struct {
	/* The remote: [user@]host[:path] split in two. */
	char *destination;       /* [user@]host */
	char *remote_path;       /* may be NULL: the login directory */

	/* ssh side */
	char *jump;              /* -J */
	char *config_file;       /* -F, -o ssh_config= */
	int port;                /* -p, -o port= */
	GPtrArray *ssh_options;  /* "Keyword=value" from -o, char * */

	/* jumpfs side */
	int reconnect;           /* -o reconnect / noreconnect */
	int hard;                /* -o hard / soft (NFS's): wait for the chain */
	unsigned reconnect_window; /* -o reconnect_window= (seconds) */
	int write_queue;         /* -o write_queue= (MiB, 0: off); -1 = default */
	int write_queue_file;    /* -o write_queue_file= (MiB); -1 = default */
	unsigned write_stripes;  /* -o write_stripes= (SFTP channels per file) */
	unsigned max_conns;
	char *idmap;             /* none | user (NULL: user) */
	int allow_other;         /* -o allow_other (passed on to FUSE, with
	                            default_permissions added) */
	int follow_symlinks;
	int transform_symlinks;
	int contain_symlinks;    /* -o contain_symlinks / no_contain_symlinks;
	                            -1 = unset (contained) */
	unsigned read_chunk;     /* -o read_chunk= (request size, bytes) */
	unsigned write_chunk;
	int cache_timeout;       /* -o cache_timeout= (seconds); -1 = unset */
	int password_stdin;      /* -o password_stdin: one password on stdin */
	char *password_stdin_hop;/* -o password_stdin=HOP: for that hop; NULL =
	                            the target */
	char *ssh_user_config;   /* -o ssh_user_config=USER: USER's ~/.ssh; root
	                            becomes USER (cli_options_settle_user) */
	int no_share;            /* -o no_share: own process, own logins */
	int check;               /* --check: diagnose the chain and exit */
	int show_help;
	int show_version;

	/* Whose ~/.ssh is read: the -o ssh_user_config user, else the user
	 * running jumpfs, from the password database as ssh does (not $HOME:
	 * mount.fuse3's setuid= keeps root's HOME). */
	char *local_user;
	char *home_dir;

	/* Where the command was typed, when another process serves it (the
	 * shared daemon); NULL = this process's own. */
	char **environment;      /* "NAME=value", NULL-terminated */
	char *working_dir;
	int nobody_to_ask_later; /* once set up, a reconnect has nobody to
	                            ask (the command that asked has gone) */

	/* FUSE side, filled by fuse_parse_cmdline */
	char *mountpoint;
	int foreground;
	int debug;
	int singlethread;
	unsigned max_threads;
} CliOptions;

/* Parses argv; what FUSE itself must see is left in fuse_args. Returns
 * FALSE with *error for a bad command line. */
gboolean cli_options_parse(int argc, char **argv, CliOptions *options,
			   struct fuse_args *fuse_args, GError **error);
/* Call right after parsing, before any thread: as root with
 * -o ssh_user_config=USER, becomes USER; sets HOME/USER/LOGNAME to the
 * resolved user's. FALSE with *error if the identity change fails. */
gboolean cli_options_settle_user(const CliOptions *options, GError **error);
void cli_options_clear(CliOptions *options);
void cli_options_print_help(const char *program);

#endif
