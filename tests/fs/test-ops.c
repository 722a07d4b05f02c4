/* The FUSE operations, mounted for real over a local OpenSSH sftp-server.
 *
 * Each test gets a fresh "backend" directory and a fresh FUSE mount of
 * fs_operations() on it. The mount is served by a forked process (the
 * "FUSE server": Remote, FsContext, fuse_loop_mt), whose Remote opener
 * forks sftp-server processes on socketpairs. The test process uses plain
 * syscalls on the mount and looks at the backend directly. Two processes,
 * because a process that serves a mount and uses it too deadlocks under
 * valgrind (its syscalls on the mount block the serving threads), and a
 * crash in the server then fails a test instead of hanging it. The server
 * reports leaks and sanitizer/valgrind errors through its exit status.
 * Needs /dev/fuse and the right to mount (root); skips otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "fs/attrs.h"
#include "fs/ops.h"
#include "fs/remote.h"

#define SFTP_SERVER "/usr/lib/openssh/sftp-server"
#define GIB (1024LL * 1024 * 1024)

typedef struct {
	gboolean transform_symlinks;
	double negative_timeout;
	gboolean expect_lost;   /* the re-open warning is expected */
	const char *denied;     /* sftp-server -P: requests it refuses (and
				 * does not announce as extensions) */
} Variant;

static const Variant plain = { FALSE, 0.0, FALSE, NULL };
static const Variant transform = { TRUE, 0.0, FALSE, NULL };
/* The kernel trusts "no such file" for a minute, so it sends mkdir,
 * create, link... for names that exist on the server: the server's
 * error, not the kernel's, reaches the caller. */
static const Variant negcache = { FALSE, 60.0, FALSE, NULL };
static const Variant lost = { FALSE, 0.0, TRUE, NULL };
/* A server without the OpenSSH extensions: the fallbacks. */
static const Variant bare = { FALSE, 0.0, FALSE,
			      "posix-rename,hardlink,fsync,statvfs,fstatvfs,lsetstat" };

typedef struct {
	GMutex lock;
	GArray *pids;           /* pid_t of live sftp-server children */
	const char *denied;     /* -P for them, or NULL */
} Servers;

typedef struct {
	char *base, *backend, *mnt;
	GPtrArray *strings;     /* paths handed out by P()/B() */
	pid_t server;           /* the FUSE server process */
	int ctl;                /* commands to it (write end) */
	int reply;              /* its answers (read end) */
	dev_t fuse_dev;         /* st_dev of the mount */
	gboolean mounted;
} Fixture;

/* ---- helpers ---- */

#define assert_fails(expr, err)                                             \
	do {                                                                \
		errno = 0;                                                  \
		long r_ = (long)(expr);                                     \
		int e_ = errno;                                             \
		if (r_ != -1 || e_ != (err))                                \
			g_test_message("%s: %ld, %s", #expr, r_, g_strerror(e_)); \
		g_assert_cmpint(r_, ==, -1);                                \
		g_assert_cmpint(e_, ==, (err));                             \
	} while (0)

#define assert_ok(expr)                                                     \
	do {                                                                \
		errno = 0;                                                  \
		long r_ = (long)(expr);                                     \
		if (r_ < 0)                                                 \
			g_test_message("%s: %s", #expr, g_strerror(errno)); \
		g_assert_cmpint(r_, >=, 0);                                 \
	} while (0)

#define REQUIRE_MOUNT(fx)            \
	do {                         \
		if (!(fx)->mounted)  \
			return;      \
	} while (0)

/* A path under the mount / the backend, freed at teardown. */
static const char *P(Fixture *fx, const char *rel)
{
	char *path = g_build_filename(fx->mnt, rel, NULL);
	g_ptr_array_add(fx->strings, path);
	return path;
}

static const char *B(Fixture *fx, const char *rel)
{
	char *path = g_build_filename(fx->backend, rel, NULL);
	g_ptr_array_add(fx->strings, path);
	return path;
}

static void put_file(const char *path, const char *data, gssize len)
{
	GError *error = NULL;
	g_file_set_contents(path, data, len, &error);
	g_assert_no_error(error);
	g_clear_error(&error);
}

/* Contents of a file, or NULL (with *len 0). */
static char *get_file(const char *path, gsize *len)
{
	char *data = NULL;
	*len = 0;
	if (!g_file_get_contents(path, &data, len, NULL))
		return NULL;
	return data;
}

static gboolean write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

/* Whole file read through read(2) in odd-sized pieces. */
static GByteArray *read_all(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	GByteArray *data = g_byte_array_new();
	guint8 buf[100003];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_byte_array_append(data, buf, (guint)n);
	close(fd);
	if (n < 0) {
		g_byte_array_unref(data);
		return NULL;
	}
	return data;
}

static char *sha256(const void *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

static guint8 *random_bytes(gsize len)
{
	guint8 *data = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		data[i] = (guint8)g_test_rand_int_range(0, 256);
	return data;
}

/* ---- the FUSE server process ---- */

/* RemoteOpenStream: a new sftp-server on one end of a socketpair. */
static int open_sftp_server(void *data, GError **error)
{
	Servers *servers = data;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "socketpair: %s", g_strerror(errno));
		return -1;
	}
	char *argv[] = { SFTP_SERVER, "-e", NULL, NULL, NULL };
	if (servers->denied != NULL) {
		argv[2] = "-P";
		argv[3] = (char *)servers->denied;
	}
	struct rlimit nofile = { .rlim_cur = 1024 };
	getrlimit(RLIMIT_NOFILE, &nofile);
	int max_fd = (int)MIN(nofile.rlim_cur, 65536);
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls: the parent has threads. No
		 * inherited fd (/dev/fuse above all, which would keep the
		 * mount's connection alive). */
		dup2(sv[1], STDIN_FILENO);
		dup2(sv[1], STDOUT_FILENO);
		for (int fd = 3; fd < max_fd; fd++)
			close(fd); /* not close_range: valgrind keeps fds up there */
		execv(SFTP_SERVER, argv);
		_exit(127);
	}
	int saved = errno;
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			    "fork: %s", g_strerror(saved));
		return -1;
	}
	g_mutex_lock(&servers->lock);
	g_array_append_val(servers->pids, pid);
	g_mutex_unlock(&servers->lock);
	return sv[0];
}

/* Kill every sftp-server (their connections break) and reap them. */
static void kill_sftp_servers(Servers *servers)
{
	g_mutex_lock(&servers->lock);
	for (guint i = 0; i < servers->pids->len; i++) {
		pid_t pid = g_array_index(servers->pids, pid_t, i);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	g_array_set_size(servers->pids, 0);
	g_mutex_unlock(&servers->lock);
}

/* After remote_free every sftp-server has seen EOF and exits; one that
 * does not means a leaked connection. Returns the number of those. */
static int reap_sftp_servers(Servers *servers)
{
	int leaked = 0;
	for (guint i = 0; i < servers->pids->len; i++) {
		pid_t pid = g_array_index(servers->pids, pid_t, i);
		int waited_ms = 0;
		while (waitpid(pid, NULL, WNOHANG) == 0 && waited_ms < 5000) {
			g_usleep(10 * 1000);
			waited_ms += 10;
		}
		if (waited_ms >= 5000) {
			leaked++;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	g_array_set_size(servers->pids, 0);
	return leaked;
}

typedef struct {
	Servers *servers;
	int ctl, reply;
} Control;

/* The test's commands: 'k' kills the sftp-servers. EOF ends it. */
static gpointer control_thread(gpointer data)
{
	Control *control = data;
	char command;
	while (read(control->ctl, &command, 1) == 1) {
		if (command == 'k')
			kill_sftp_servers(control->servers);
		if (write(control->reply, &command, 1) != 1)
			break;
	}
	return NULL;
}

/* The server's log, as TAP comments on stderr (stdout is the test's). */
static void server_log(const gchar *domain, GLogLevelFlags level,
		       const gchar *message, gpointer data)
{
	(void)domain;
	(void)data;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
		     G_LOG_LEVEL_MESSAGE))
		fprintf(stderr, "# fuse server: %s\n", message);
}

/* Under G_DEBUG=fatal-warnings a warning kills the server (and fails the
 * test), except the one a test provokes on purpose. */
static gboolean server_log_fatal(const gchar *domain, GLogLevelFlags level,
				 const gchar *message, gpointer data)
{
	const Variant *variant = data;
	(void)domain;
	(void)level;
	return !(variant->expect_lost && strstr(message, "re-opening") != NULL);
}

/* The forked FUSE server: mounts, answers 'r' (ready), 's' (cannot mount
 * here: skip) or 'e', serves until the mount goes away, cleans up.
 * Returns the exit status: 0, or 1 when something leaked or failed. */
static int fuse_server(const Variant *variant, const char *backend, const char *mnt,
		       int ctl, int reply)
{
	g_log_set_default_handler(server_log, NULL);
	g_test_log_set_fatal_handler(server_log_fatal, (gpointer)variant);
	Servers servers;
	g_mutex_init(&servers.lock);
	servers.pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
	servers.denied = variant->denied;

	GError *error = NULL;
	RemoteOptions ropts = { .reconnect = TRUE, .max_conns = 2 };
	/* Two connections: open files must stay on the one that opened them. */
	Remote *remote = remote_connect(open_sftp_server, &servers, backend, &ropts, &error);
	FsContext *ctx = NULL;
	if (remote != NULL) {
		FsOptions options;
		fs_options_init(&options);
		options.transform_symlinks = variant->transform_symlinks;
		options.negative_timeout = variant->negative_timeout;
		ctx = fs_context_new(remote, &options, &error);
	}
	if (ctx == NULL) {
		fprintf(stderr, "# fuse server: %s\n", error ? error->message : "?");
		g_clear_error(&error);
		remote_free(remote);
		reap_sftp_servers(&servers);
		return write(reply, "e", 1) == 1 ? 1 : 1;
	}

	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	fuse_opt_add_arg(&args, "test-ops");
	fuse_opt_add_arg(&args, "-ofsname=jumpfs-test-ops");
	if (g_getenv("JUMPFS_TEST_FUSE_DEBUG"))
		fuse_opt_add_arg(&args, "-d");
	struct fuse *fuse = fuse_new(&args, fs_operations(), sizeof(struct fuse_operations), ctx);
	fuse_opt_free_args(&args);
	int status = 0;
	if (fuse == NULL || fuse_mount(fuse, mnt) != 0) {
		status = write(reply, fuse == NULL ? "e" : "s", 1) == 1 && fuse != NULL ? 0 : 1;
	} else if (write(reply, "r", 1) == 1) {
		Control control = { &servers, ctl, reply };
		GThread *thread = g_thread_new("control", control_thread, &control);
		struct fuse_loop_config config = { .clone_fd = 0, .max_idle_threads = 10 };
		if (fuse_loop_mt(fuse, &config) != 0)
			status = 1;
		fuse_unmount(fuse);
		g_thread_join(thread); /* the test closes ctl after unmounting */
	}
	if (fuse != NULL)
		fuse_destroy(fuse); /* destroy: closes files never released */
	fs_context_free(ctx);
	remote_free(remote);
	int leaked = reap_sftp_servers(&servers);
	if (leaked > 0) {
		fprintf(stderr, "# fuse server: %d sftp-server(s) still running: leaked connection\n",
			leaked);
		status = 1;
	}
	g_array_unref(servers.pids);
	g_mutex_clear(&servers.lock);
	return status;
}

/* ---- fixture: the FUSE server, the mount, the backend ---- */

static void kill_servers(Fixture *fx)
{
	char answer = 0;
	g_assert_cmpint(write(fx->ctl, "k", 1), ==, 1);
	g_assert_cmpint(read(fx->reply, &answer, 1), ==, 1);
	g_assert_cmpint(answer, ==, 'k');
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void fixture_setup(Fixture *fx, gconstpointer data)
{
	const Variant *variant = data;
	memset(fx, 0, sizeof(*fx));
	fx->strings = g_ptr_array_new_with_free_func(g_free);
	fx->ctl = fx->reply = -1;

	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		g_test_skip("needs /dev/fuse to mount (run as root or chmod 0666 /dev/fuse)");
		return;
	}
	close(fd);
	if (!g_file_test(SFTP_SERVER, G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip("needs " SFTP_SERVER " (openssh-sftp-server)");
		return;
	}

	GError *error = NULL;
	fx->base = g_dir_make_tmp("jumpfs-test-ops-XXXXXX", &error);
	g_assert_no_error(error);
	g_clear_error(&error);
	if (fx->base == NULL)
		return;
	fx->backend = g_build_filename(fx->base, "backend", NULL);
	fx->mnt = g_build_filename(fx->base, "mnt", NULL);
	g_mkdir(fx->backend, 0755);
	g_mkdir(fx->mnt, 0755);

	int ctl[2], reply[2];
	g_assert_cmpint(pipe2(ctl, O_CLOEXEC), ==, 0);
	g_assert_cmpint(pipe2(reply, O_CLOEXEC), ==, 0);
	fflush(stdout); /* or the child's exit() prints the TAP so far again */
	fflush(stderr);
	fx->server = fork();
	if (fx->server == 0) {
		close(ctl[1]);
		close(reply[0]);
		exit(fuse_server(variant, fx->backend, fx->mnt, ctl[0], reply[1]));
	}
	close(ctl[0]);
	close(reply[1]);
	fx->ctl = ctl[1];
	fx->reply = reply[0];
	g_assert_cmpint(fx->server, >, 0);

	char ready = 0;
	if (read(fx->reply, &ready, 1) != 1)
		ready = 'e';
	if (ready == 's')
		g_test_skip("fuse_mount failed: no right to mount here?");
	else if (ready != 'r')
		g_test_fail_printf("the FUSE server did not start");
	if (ready != 'r')
		return;
	fx->mounted = TRUE;
	/* The device number names the connection in
	 * /sys/fs/fuse/connections, for teardown. */
	struct stat st;
	g_assert_cmpint(stat(fx->mnt, &st), ==, 0);
	fx->fuse_dev = st.st_dev;
}

/* Last resort when the kernel keeps the mount busy (a test left a file
 * open): abort the connection, which ends every request and the loop. */
static void abort_connection(Fixture *fx)
{
	const char *dir = "/sys/fs/fuse/connections";
	char *abort_path = g_strdup_printf("%s/%u/abort", dir, minor(fx->fuse_dev));
	if (!g_file_test(abort_path, G_FILE_TEST_EXISTS))
		mount("fusectl", dir, "fusectl", 0, NULL);
	int fd = open(abort_path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		g_test_message("could not abort FUSE connection %s", abort_path);
	if (fd >= 0)
		close(fd);
	g_free(abort_path);
}

/* The server's exit status, waiting at most timeout_ms; -1 if running. */
static int wait_server(pid_t pid, int timeout_ms)
{
	int status;
	for (int ms = 0; ms <= timeout_ms; ms += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		g_usleep(10 * 1000);
	}
	return -1;
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
	(void)data;
	if (fx->mounted) {
		/* Detach: the server finishes the requests still queued
		 * (RELEASE of files the test closed); when the superblock
		 * goes, the kernel ends the connection and fuse_loop_mt
		 * returns. A file left open keeps it: then abort. */
		if (umount2(fx->mnt, MNT_DETACH) != 0)
			g_test_message("umount2: %s", g_strerror(errno));
	}
	if (fx->ctl >= 0)
		close(fx->ctl);
	if (fx->server > 0) {
		/* valgrind makes the server's cleanup slow */
		int status = wait_server(fx->server, 30000);
		if (status == -1 && fx->mounted) {
			g_test_message("mount still busy after unmount: aborting it");
			abort_connection(fx);
			status = wait_server(fx->server, 10000);
		}
		if (status == -1) {
			g_test_message("FUSE server hangs: killing it");
			kill(fx->server, SIGKILL);
			waitpid(fx->server, &status, 0);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			g_test_fail_printf("FUSE server: %s %d",
					   WIFEXITED(status) ? "exit status" : "signal",
					   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (fx->reply >= 0)
		close(fx->reply);
	if (fx->base != NULL)
		nftw(fx->base, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	g_free(fx->base);
	g_free(fx->backend);
	g_free(fx->mnt);
	g_ptr_array_unref(fx->strings);
}

/* ---- attrs.c, no mount ---- */

static void test_attrs(void)
{
	FsIdMap ids = {
		.map_user = TRUE, .remote_uid = 1000, .remote_gid = 100,
		.local_uid = 0, .local_gid = 0, .force_uid = -1, .force_gid = -1,
	};
	SftpAttrs a = {
		.flags = SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS |
			 SFTP_ATTR_ACMODTIME,
		.size = 5 * GIB + 1, .uid = 1000, .gid = 4242,
		.permissions = S_IFDIR | 0750, .atime = 111, .mtime = 222,
	};
	struct stat st;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_mode, ==, S_IFDIR | 0750);
	g_assert_cmpint(st.st_size, ==, 5 * GIB + 1);
	g_assert_cmpuint(st.st_uid, ==, 0);     /* login user -> local */
	g_assert_cmpuint(st.st_gid, ==, 4242);  /* other group stays */
	g_assert_cmpint(st.st_atim.tv_sec, ==, 111);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, 222);
	g_assert_cmpint(st.st_ctim.tv_sec, ==, 222);
	g_assert_cmpint(st.st_blocks, ==, (5 * GIB + 1 + 511) / 512);
	g_assert_cmpuint(attrs_uid_to_remote(&ids, 0), ==, 1000);
	g_assert_cmpuint(attrs_uid_to_remote(&ids, 7), ==, 7);

	ids.force_uid = 55;
	ids.force_gid = 66;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 55);
	g_assert_cmpuint(st.st_gid, ==, 66);

	ids.map_user = FALSE;
	ids.force_uid = ids.force_gid = -1;
	attrs_to_stat(&a, &ids, &st);
	g_assert_cmpuint(st.st_uid, ==, 1000);

	g_assert_cmphex(attrs_open_flags(O_RDONLY), ==, SFTP_OPEN_READ);
	g_assert_cmphex(attrs_open_flags(O_WRONLY | O_CREAT | O_EXCL), ==,
			SFTP_OPEN_WRITE | SFTP_OPEN_CREAT | SFTP_OPEN_EXCL);
	g_assert_cmphex(attrs_open_flags(O_RDWR | O_TRUNC | O_APPEND), ==,
			SFTP_OPEN_READ | SFTP_OPEN_WRITE | SFTP_OPEN_TRUNC | SFTP_OPEN_APPEND);

	g_assert_cmpuint(attrs_time_to_wire(-5), ==, 0);
	g_assert_cmpuint(attrs_time_to_wire((time_t)G_MAXUINT32 + 10), ==, G_MAXUINT32);

	SftpAttrs cur = { .flags = SFTP_ATTR_ACMODTIME, .atime = 10, .mtime = 20 };
	struct timespec tv[2] = { { 100, UTIME_OMIT }, { 300, 999 } };
	g_assert_true(attrs_times_need_current(tv));
	SftpAttrs set = { 0 };
	g_assert_true(attrs_set_times(&set, tv, &cur, 5000));
	g_assert_cmpuint(set.atime, ==, 10);
	g_assert_cmpuint(set.mtime, ==, 300);
	tv[0].tv_nsec = UTIME_NOW;
	g_assert_false(attrs_times_need_current(tv));
	g_assert_true(attrs_set_times(&set, tv, NULL, 5000));
	g_assert_cmpuint(set.atime, ==, 5000);
	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	g_assert_false(attrs_set_times(&set, tv, NULL, 5000));
	g_assert_true(attrs_set_times(&set, NULL, NULL, 77));
	g_assert_cmpuint(set.atime, ==, 77);
	g_assert_cmpuint(set.mtime, ==, 77);
}

/* ---- the mount ---- */

static void test_getattr(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "file"), "0123456789", 10);
	g_assert_cmpint(chmod(B(fx, "file"), 0640), ==, 0);
	g_assert_cmpint(mkdir(B(fx, "dir"), 0711), ==, 0);
	g_assert_cmpint(symlink("file", B(fx, "link")), ==, 0);
	g_assert_cmpint(symlink("nowhere", B(fx, "dangling")), ==, 0);

	struct stat st, bst;
	assert_ok(stat(P(fx, "file"), &st));
	g_assert_cmpint(stat(B(fx, "file"), &bst), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpint(st.st_size, ==, 10);
	g_assert_cmpuint(st.st_uid, ==, bst.st_uid);
	g_assert_cmpuint(st.st_gid, ==, bst.st_gid);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, bst.st_mtim.tv_sec);

	assert_ok(stat(P(fx, "dir"), &st));
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0711);

	assert_ok(lstat(P(fx, "link"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
	g_assert_cmpint(st.st_size, ==, 4);
	assert_ok(stat(P(fx, "link"), &st)); /* the kernel follows it */
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpint(st.st_size, ==, 10);
	assert_ok(lstat(P(fx, "dangling"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
	assert_fails(stat(P(fx, "dangling"), &st), ENOENT);

	assert_fails(stat(P(fx, "missing"), &st), ENOENT);
	assert_fails(stat(P(fx, "missing/below"), &st), ENOENT);
	assert_fails(stat(P(fx, "file/below"), &st), ENOTDIR);

	assert_ok(stat(fx->mnt, &st));
	g_assert_true(S_ISDIR(st.st_mode));

	/* fstat goes to the open handle */
	int fd = open(P(fx, "file"), O_RDONLY);
	assert_ok(fd);
	put_file(B(fx, "file"), "0123456789abcdef", 16);
	assert_ok(fstat(fd, &st));
	close(fd);
}

static void test_read_write(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	gsize len = 3 * 1024 * 1024 + 12345;
	guint8 *bytes = random_bytes(len);
	char *want = sha256(bytes, len);

	/* write through the mount, in uneven pieces */
	int fd = open(P(fx, "big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_ok(fd);
	gsize done = 0;
	for (gsize piece = 1; done < len; piece = piece * 3 + 7) {
		gsize n = MIN(piece, len - done);
		g_assert_true(write_all(fd, bytes + done, n));
		done += n;
	}
	assert_ok(fsync(fd));
	assert_ok(close(fd));

	gsize blen;
	char *backend = get_file(B(fx, "big"), &blen);
	g_assert_cmpuint(blen, ==, len);
	char *got = sha256(backend, blen);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
	g_free(backend);

	/* read it back through the mount */
	GByteArray *read_back = read_all(P(fx, "big"));
	g_assert_nonnull(read_back);
	if (read_back != NULL) {
		g_assert_cmpuint(read_back->len, ==, len);
		got = sha256(read_back->data, read_back->len);
		g_assert_cmpstr(got, ==, want);
		g_free(got);
		g_byte_array_unref(read_back);
	}

	/* pwrite in the middle, pread across it */
	fd = open(P(fx, "big"), O_RDWR);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "HELLO", 5, 1000000), ==, 5);
	char buf[16];
	g_assert_cmpint(pread(fd, buf, 9, 999998), ==, 9);
	g_assert_cmpmem(buf + 2, 5, "HELLO", 5);
	g_assert_cmpint(buf[0], ==, (char)bytes[999998]);
	/* reading at and past the end */
	g_assert_cmpint(pread(fd, buf, 16, (off_t)len - 3), ==, 3);
	g_assert_cmpint(pread(fd, buf, 16, (off_t)len + 100), ==, 0);
	close(fd);
	backend = get_file(B(fx, "big"), &blen);
	g_assert_cmpuint(blen, ==, len);
	if (backend != NULL && blen == len)
		g_assert_cmpmem(backend + 1000000, 5, "HELLO", 5);
	g_free(backend);

	/* written on the backend, read through the mount */
	put_file(B(fx, "small"), "from the backend", -1);
	GByteArray *small = read_all(P(fx, "small"));
	g_assert_nonnull(small);
	if (small != NULL) {
		g_assert_cmpmem(small->data, small->len, "from the backend", 16);
		g_byte_array_unref(small);
	}
	g_free(want);
	g_free(bytes);
}

static void test_sparse(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	off_t far = 5 * GIB;
	int fd = open(P(fx, "sparse"), O_RDWR | O_CREAT, 0644);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "x", 1, far), ==, 1);
	struct stat st;
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, far + 1);

	char buf[8192];
	memset(buf, 0x55, sizeof(buf));
	g_assert_cmpint(pread(fd, buf, sizeof(buf), 4 * GIB + 123), ==, sizeof(buf));
	gboolean zeros = TRUE;
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros = zeros && buf[i] == 0;
	g_assert_true(zeros);
	g_assert_cmpint(pread(fd, buf, sizeof(buf), far - 10), ==, 11);
	g_assert_cmpint(buf[9], ==, 0);
	g_assert_cmpint(buf[10], ==, 'x');
	close(fd);

	struct stat bst;
	g_assert_cmpint(stat(B(fx, "sparse"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, far + 1);
	g_assert_cmpint(bst.st_blocks * 512, <, 1024 * 1024); /* still a hole */
	assert_ok(stat(P(fx, "sparse"), &st));
	g_assert_cmpint(st.st_size, ==, far + 1);
}

/* Names in a directory stream: each once, "." and ".." included. */
static GHashTable *list_dir(DIR *dir, long stop_after, long *tell, char **next_name)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct dirent *de;
	long count = 0;
	while ((de = readdir(dir)) != NULL) {
		if (!g_hash_table_add(seen, g_strdup(de->d_name)))
			g_test_message("duplicate entry %s", de->d_name);
		if (++count == stop_after && tell != NULL) {
			*tell = telldir(dir);
			de = readdir(dir);
			*next_name = de ? g_strdup(de->d_name) : NULL;
			break;
		}
	}
	return seen;
}

static void test_readdir(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const int n = 2000;
	g_mkdir(B(fx, "many"), 0755);
	for (int i = 0; i < n; i++) {
		char *name = g_strdup_printf("many/entry-with-a-longish-name-%04d", i);
		put_file(B(fx, name), "", 0);
		g_free(name);
	}
	g_mkdir(B(fx, "many/subdir"), 0755);

	DIR *dir = opendir(P(fx, "many"));
	g_assert_nonnull(dir);
	if (dir == NULL)
		return;
	GHashTable *seen = list_dir(dir, -1, NULL, NULL);
	g_assert_cmpuint(g_hash_table_size(seen), ==, n + 3);
	g_assert_true(g_hash_table_contains(seen, "."));
	g_assert_true(g_hash_table_contains(seen, ".."));
	g_assert_true(g_hash_table_contains(seen, "subdir"));
	for (int i = 0; i < n; i++) {
		char *name = g_strdup_printf("entry-with-a-longish-name-%04d", i);
		if (!g_hash_table_contains(seen, name))
			g_test_message("missing %s", name);
		g_assert_true(g_hash_table_contains(seen, name));
		g_free(name);
	}
	g_hash_table_unref(seen);

	/* rewinddir lists it all again */
	rewinddir(dir);
	seen = list_dir(dir, -1, NULL, NULL);
	g_assert_cmpuint(g_hash_table_size(seen), ==, n + 3);
	g_hash_table_unref(seen);

	/* seekdir back to the middle: the same entry comes next */
	rewinddir(dir);
	long tell = -1;
	char *next = NULL;
	seen = list_dir(dir, 1234, &tell, &next);
	g_hash_table_unref(seen);
	g_assert_nonnull(next);
	struct dirent *de = readdir(dir); /* move on, then back */
	g_assert_nonnull(de);
	seekdir(dir, tell);
	de = readdir(dir);
	g_assert_nonnull(de);
	if (de != NULL && next != NULL)
		g_assert_cmpstr(de->d_name, ==, next);
	g_free(next);
	closedir(dir);

	/* d_type comes from the listing */
	dir = opendir(P(fx, "many"));
	int types_ok = 0;
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, "subdir") == 0 && de->d_type == DT_DIR)
			types_ok++;
		if (strcmp(de->d_name, "entry-with-a-longish-name-0007") == 0 &&
		    de->d_type == DT_REG)
			types_ok++;
	}
	g_assert_cmpint(types_ok, ==, 2);
	if (dir != NULL)
		closedir(dir);

	/* readdirplus attributes are the entries' */
	struct stat st;
	assert_ok(stat(P(fx, "many/subdir"), &st));
	g_assert_true(S_ISDIR(st.st_mode));
	assert_fails(opendir(P(fx, "many/nothing")) == NULL ? -1 : 0, ENOENT);
}

static void test_create_excl(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	int fd = open(P(fx, "new"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_ok(fd);
	g_assert_true(write_all(fd, "abc", 3));
	close(fd);
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "new"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 3);
	g_assert_cmpuint(bst.st_mode & 0777, ==, 0600);
	assert_fails(open(P(fx, "new"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);

	/* the server's own EEXIST (FAILURE on the wire) */
	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "keep", 4);
	assert_fails(open(P(fx, "late"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
	gsize len;
	char *kept = get_file(B(fx, "late"), &len);
	g_assert_cmpstr(kept, ==, "keep");
	g_free(kept);
}

static void test_mkdir_rmdir(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	assert_ok(mkdir(P(fx, "d"), 0750));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "d"), &bst), ==, 0);
	g_assert_true(S_ISDIR(bst.st_mode));
	g_assert_cmpuint(bst.st_mode & 0777, ==, 0750);
	assert_fails(mkdir(P(fx, "d"), 0755), EEXIST);
	assert_fails(mkdir(P(fx, "nope/d"), 0755), ENOENT);

	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	g_mkdir(B(fx, "late"), 0755);
	assert_fails(mkdir(P(fx, "late"), 0755), EEXIST);

	put_file(B(fx, "d/inside"), "x", 1);
	assert_fails(rmdir(P(fx, "d")), ENOTEMPTY);
	g_assert_cmpint(stat(B(fx, "d/inside"), &bst), ==, 0);
	assert_ok(unlink(P(fx, "d/inside")));
	assert_ok(rmdir(P(fx, "d")));
	assert_fails(stat(B(fx, "d"), &bst), ENOENT);
	assert_fails(rmdir(P(fx, "d")), ENOENT);
}

static void test_rename(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "a"), "AAAA", 4);
	put_file(B(fx, "b"), "BB", 2);
	put_file(B(fx, "c"), "CC", 2);
	g_mkdir(B(fx, "full"), 0755);
	put_file(B(fx, "full/x"), "x", 1);
	g_mkdir(B(fx, "empty"), 0755);
	g_mkdir(B(fx, "src"), 0755);

	/* atomic replace */
	assert_ok(rename(P(fx, "a"), P(fx, "b")));
	gsize len;
	char *got = get_file(B(fx, "b"), &len);
	g_assert_cmpstr(got, ==, "AAAA");
	g_free(got);
	struct stat st;
	assert_fails(stat(B(fx, "a"), &st), ENOENT);
	assert_fails(stat(P(fx, "a"), &st), ENOENT);
	assert_ok(stat(P(fx, "b"), &st));
	g_assert_cmpint(st.st_size, ==, 4);

	/* a directory over a non-empty / an empty one */
	assert_fails(rename(P(fx, "src"), P(fx, "full")), ENOTEMPTY);
	assert_ok(rename(P(fx, "src"), P(fx, "empty")));
	assert_fails(stat(B(fx, "src"), &st), ENOENT);

	/* no replace */
	assert_fails(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "b"), RENAME_NOREPLACE),
		     EEXIST);
	got = get_file(B(fx, "b"), &len);
	g_assert_cmpstr(got, ==, "AAAA");
	g_free(got);
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "LATE", 4);
	assert_fails(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "late"),
			       RENAME_NOREPLACE), EEXIST);
	got = get_file(B(fx, "late"), &len);
	g_assert_cmpstr(got, ==, "LATE");
	g_free(got);
	assert_ok(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "d"), RENAME_NOREPLACE));
	got = get_file(B(fx, "d"), &len);
	g_assert_cmpstr(got, ==, "CC");
	g_free(got);

	/* no exchange over SFTP */
	assert_fails(renameat2(AT_FDCWD, P(fx, "d"), AT_FDCWD, P(fx, "b"), RENAME_EXCHANGE),
		     EINVAL);
	assert_fails(rename(P(fx, "missing"), P(fx, "e")), ENOENT);
}

static void test_unlink(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "data", 4);
	struct stat st;
	assert_ok(unlink(P(fx, "f")));
	assert_fails(stat(B(fx, "f"), &st), ENOENT);
	assert_fails(stat(P(fx, "f"), &st), ENOENT);
	assert_fails(unlink(P(fx, "f")), ENOENT);

	/* an unlinked open file stays usable: libfuse hides it under
	 * .fuse_hidden* on the server until it is closed */
	put_file(B(fx, "open"), "still here", -1);
	int fd = open(P(fx, "open"), O_RDWR);
	assert_ok(fd);
	assert_ok(unlink(P(fx, "open")));
	assert_fails(stat(B(fx, "open"), &st), ENOENT);
	assert_fails(stat(P(fx, "open"), &st), ENOENT);
	char buf[32] = { 0 };
	g_assert_cmpint(pread(fd, buf, sizeof(buf) - 1, 0), ==, 10);
	g_assert_cmpstr(buf, ==, "still here");
	g_assert_cmpint(pwrite(fd, "!", 1, 10), ==, 1);
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, 11);
	close(fd);
	/* released asynchronously; then the hidden file goes too */
	guint left = 1;
	for (int ms = 0; ms < 5000 && left > 0; ms += 20) {
		g_usleep(20 * 1000);
		GDir *dir = g_dir_open(fx->backend, 0, NULL);
		left = 0;
		while (dir != NULL && g_dir_read_name(dir) != NULL)
			left++;
		if (dir != NULL)
			g_dir_close(dir);
	}
	g_assert_cmpuint(left, ==, 0);
}

static void test_chmod_chown(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "x", 1);
	g_assert_cmpint(symlink("f", B(fx, "l")), ==, 0);
	struct stat bst, st;
	assert_ok(chmod(P(fx, "f"), 0604));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_mode & 07777, ==, 0604);
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0604);
	int fd = open(P(fx, "f"), O_RDONLY);
	assert_ok(fchmod(fd, 0640));
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_mode & 07777, ==, 0640);

	if (geteuid() != 0) {
		assert_fails(chown(P(fx, "f"), 0, 0), EPERM);
		return;
	}
	assert_ok(chown(P(fx, "f"), 1234, 5678));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 1234);
	g_assert_cmpuint(bst.st_gid, ==, 5678);
	assert_ok(chown(P(fx, "f"), (uid_t)-1, 4321)); /* keeps the owner */
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 1234);
	g_assert_cmpuint(bst.st_gid, ==, 4321);
	assert_ok(chown(P(fx, "f"), 999, (gid_t)-1)); /* keeps the group */
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 999);
	g_assert_cmpuint(bst.st_gid, ==, 4321);
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpuint(st.st_uid, ==, 999);

	/* lchown changes the link, not its target */
	assert_ok(lchown(P(fx, "l"), 77, 88));
	g_assert_cmpint(lstat(B(fx, "l"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 77);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpuint(bst.st_uid, ==, 999);
}

static void test_utimens(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "x", 1);
	struct stat bst;
	struct timespec tv[2] = { { 1000000000, 0 }, { 1100000000, 500 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), tv, 0));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);

	/* keep atime, set mtime */
	struct timespec omit_atime[2] = { { 0, UTIME_OMIT }, { 1200000000, 0 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), omit_atime, 0));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1200000000);

	/* mtime now, keep atime */
	time_t before = time(NULL);
	struct timespec now_mtime[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "f"), now_mtime, 0));
	time_t after = time(NULL);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1000000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, >=, before - 1);
	g_assert_cmpint(bst.st_mtim.tv_sec, <=, after + 1);

	/* futimens: through the handle */
	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	struct timespec both[2] = { { 1300000000, 0 }, { 1400000000, 0 } };
	assert_ok(futimens(fd, both));
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_atim.tv_sec, ==, 1300000000);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1400000000);
	struct stat st;
	assert_ok(stat(P(fx, "f"), &st));
	g_assert_cmpint(st.st_mtim.tv_sec, ==, 1400000000);
}

static void test_truncate(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	char *big = g_strnfill(10000, 'q');
	put_file(B(fx, "f"), big, 10000);
	g_free(big);
	struct stat bst;
	assert_ok(truncate(P(fx, "f"), 100));
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 100);

	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	assert_ok(ftruncate(fd, 5000));
	struct stat st;
	assert_ok(fstat(fd, &st));
	g_assert_cmpint(st.st_size, ==, 5000);
	char buf[8];
	g_assert_cmpint(pread(fd, buf, 2, 99), ==, 2);
	g_assert_cmpint(buf[0], ==, 'q');
	g_assert_cmpint(buf[1], ==, 0);
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 5000);

	fd = open(P(fx, "f"), O_WRONLY | O_TRUNC);
	assert_ok(fd);
	close(fd);
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 0);
	assert_fails(truncate(P(fx, "missing"), 0), ENOENT);
}

static void check_readlink(const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >=, 0);
	buf[n < 0 ? 0 : n] = '\0';
	g_assert_cmpstr(buf, ==, want);
}

static void test_symlink(Fixture *fx, gconstpointer data)
{
	const Variant *variant = data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "target"), "pointed at", -1);
	g_mkdir(B(fx, "sub"), 0755);

	assert_ok(symlink("target", P(fx, "rel")));
	check_readlink(B(fx, "rel"), "target");
	check_readlink(P(fx, "rel"), "target");
	GByteArray *through = read_all(P(fx, "rel"));
	g_assert_nonnull(through);
	if (through != NULL) {
		g_assert_cmpmem(through->data, through->len, "pointed at", 10);
		g_byte_array_unref(through);
	}

	assert_ok(symlink("/elsewhere/entirely", P(fx, "abs-out")));
	check_readlink(B(fx, "abs-out"), "/elsewhere/entirely");
	check_readlink(P(fx, "abs-out"), "/elsewhere/entirely");

	/* absolute targets inside the mounted directory */
	const char *inside = B(fx, "target");
	char *sibling = g_strconcat(fx->backend, "2/target", NULL); /* not inside */
	assert_ok(symlink(inside, P(fx, "sub/abs-in")));
	assert_ok(symlink(fx->backend, P(fx, "abs-root")));
	assert_ok(symlink(sibling, P(fx, "abs-sibling")));
	check_readlink(B(fx, "sub/abs-in"), inside);
	if (variant->transform_symlinks) {
		check_readlink(P(fx, "sub/abs-in"), "../target");
		check_readlink(P(fx, "abs-root"), ".");
		/* and the kernel resolves them inside the mount */
		GByteArray *via = read_all(P(fx, "sub/abs-in"));
		g_assert_nonnull(via);
		if (via != NULL) {
			g_assert_cmpmem(via->data, via->len, "pointed at", 10);
			g_byte_array_unref(via);
		}
	} else {
		check_readlink(P(fx, "sub/abs-in"), inside);
		check_readlink(P(fx, "abs-root"), fx->backend);
	}
	check_readlink(P(fx, "abs-sibling"), sibling);
	g_free(sibling);

	assert_fails(symlink("x", P(fx, "rel")), EEXIST);
	struct stat st;
	assert_fails(lstat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "", 0);
	assert_fails(symlink("x", P(fx, "late")), EEXIST);
	char buf[8];
	assert_fails(readlink(P(fx, "target"), buf, sizeof(buf)), EINVAL);
}

static void test_link(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "shared", -1);
	put_file(B(fx, "other"), "", 0);
	assert_ok(link(P(fx, "f"), P(fx, "g")));
	struct stat a, b;
	g_assert_cmpint(stat(B(fx, "f"), &a), ==, 0);
	g_assert_cmpint(stat(B(fx, "g"), &b), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
	g_assert_cmpuint(a.st_ino, ==, b.st_ino);
	assert_fails(link(P(fx, "f"), P(fx, "other")), EEXIST);
	assert_fails(link(P(fx, "missing"), P(fx, "h")), ENOENT);

	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "", 0);
	assert_fails(link(P(fx, "f"), P(fx, "late")), EEXIST);
	g_assert_cmpint(stat(B(fx, "f"), &a), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
}

static void test_statfs(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	struct statvfs m, b;
	assert_ok(statvfs(fx->mnt, &m));
	g_assert_cmpint(statvfs(fx->backend, &b), ==, 0);
	g_assert_cmpuint(m.f_blocks, >, 0);
	g_assert_cmpuint(m.f_bsize, >, 0);
	g_assert_cmpuint(m.f_bfree, <=, m.f_blocks);
	g_assert_cmpuint(m.f_bavail, <=, m.f_blocks);
	g_assert_cmpuint((guint64)m.f_blocks * m.f_frsize, ==, (guint64)b.f_blocks * b.f_frsize);
	g_assert_cmpuint(m.f_namemax, ==, b.f_namemax);
}

static void test_append(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "log"), "0", 1);
	int a = open(P(fx, "log"), O_WRONLY | O_APPEND);
	int b = open(P(fx, "log"), O_WRONLY | O_APPEND);
	assert_ok(a);
	assert_ok(b);
	g_assert_true(write_all(a, "A1", 2));
	g_assert_true(write_all(b, "B1", 2));
	/* someone else appends behind the kernel's back */
	FILE *other = fopen(B(fx, "log"), "a");
	g_assert_nonnull(other);
	if (other != NULL) {
		fputs("X", other);
		fclose(other);
	}
	g_assert_true(write_all(a, "A2", 2));
	g_assert_true(write_all(b, "B2", 2));
	/* pwrite on O_APPEND appends too, as on Linux */
	g_assert_cmpint(pwrite(a, "P", 1, 0), ==, 1);
	close(a);
	close(b);
	gsize len;
	char *got = get_file(B(fx, "log"), &len);
	g_assert_cmpstr(got, ==, "0A1B1XA2B2P");
	g_free(got);
}

static void test_names(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const char *names[] = { "with space", "ünïcødé ☃ 日本", "new\nline", " lead", "trail " };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		int fd = open(P(fx, names[i]), O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_ok(fd);
		g_assert_true(write_all(fd, names[i], strlen(names[i])));
		close(fd);
		gsize len;
		char *got = get_file(B(fx, names[i]), &len);
		g_assert_cmpstr(got, ==, names[i]);
		g_free(got);
	}
	g_mkdir(B(fx, "dir with ☃"), 0755);
	put_file(B(fx, "dir with ☃/in\nside"), "deep", 4);
	GByteArray *deep = read_all(P(fx, "dir with ☃/in\nside"));
	g_assert_nonnull(deep);
	if (deep != NULL) {
		g_assert_cmpmem(deep->data, deep->len, "deep", 4);
		g_byte_array_unref(deep);
	}

	DIR *dir = opendir(fx->mnt);
	g_assert_nonnull(dir);
	guint found = 0;
	struct dirent *de;
	while (dir != NULL && (de = readdir(dir)) != NULL)
		for (guint i = 0; i < G_N_ELEMENTS(names); i++)
			if (strcmp(de->d_name, names[i]) == 0)
				found++;
	if (dir != NULL)
		closedir(dir);
	g_assert_cmpuint(found, ==, G_N_ELEMENTS(names));

	assert_ok(rename(P(fx, "new\nline"), P(fx, "dir with ☃/moved ☃")));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "dir with ☃/moved ☃"), &bst), ==, 0);
	assert_ok(unlink(P(fx, "ünïcødé ☃ 日本")));
	assert_fails(stat(B(fx, "ünïcødé ☃ 日本"), &bst), ENOENT);
}

static void test_reconnect(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "kept"), "", 0);
	put_file(B(fx, "unlinked"), "", 0);
	int kept = open(P(fx, "kept"), O_RDWR);
	int unlinked = open(P(fx, "unlinked"), O_RDWR);
	assert_ok(kept);
	assert_ok(unlinked);
	g_assert_cmpint(pwrite(kept, "before,", 7, 0), ==, 7);
	g_assert_cmpint(pwrite(unlinked, "before,", 7, 0), ==, 7);
	assert_ok(unlink(P(fx, "unlinked")));

	kill_servers(fx);

	/* re-opened by name on a new connection */
	g_assert_cmpint(pwrite(kept, "after", 5, 7), ==, 5);
	struct stat st;
	assert_ok(fstat(kept, &st));
	g_assert_cmpint(st.st_size, ==, 12);
	gsize len;
	char *got = get_file(B(fx, "kept"), &len);
	g_assert_cmpstr(got, ==, "before,after");
	g_free(got);

	/* the unlinked one by its hidden name; a new file with its old name
	 * is another file */
	put_file(B(fx, "unlinked"), "someone else's", -1);
	g_assert_cmpint(pwrite(unlinked, "after", 5, 7), ==, 5);
	char buf[32] = { 0 };
	g_assert_cmpint(pread(unlinked, buf, sizeof(buf) - 1, 0), ==, 12);
	g_assert_cmpstr(buf, ==, "before,after");
	got = get_file(B(fx, "unlinked"), &len);
	g_assert_cmpstr(got, ==, "someone else's");
	g_free(got);
	close(unlinked);
	close(kept);

	/* and the mount goes on */
	assert_ok(stat(P(fx, "kept"), &st));
	assert_ok(mkdir(P(fx, "afterwards"), 0755));
}

static void test_reconnect_lost(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "", 0);
	int fd = open(P(fx, "f"), O_RDWR);
	assert_ok(fd);
	g_assert_cmpint(pwrite(fd, "mine", 4, 0), ==, 4);

	/* another client removes it while the connection is down */
	g_assert_cmpint(unlink(B(fx, "f")), ==, 0);
	kill_servers(fx);

	assert_fails(pwrite(fd, "X", 1, 0), EIO);
	/* lost for good: not even a file created under that name later */
	put_file(B(fx, "f"), "someone else's", -1);
	assert_fails(pwrite(fd, "X", 1, 0), EIO);
	char buf[8];
	assert_fails(pread(fd, buf, sizeof(buf), 0), EIO);
	close(fd);

	gsize len;
	char *got = get_file(B(fx, "f"), &len);
	g_assert_cmpstr(got, ==, "someone else's");
	g_free(got);
}

static void test_fsync_flush(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	int fd = open(P(fx, "f"), O_WRONLY | O_CREAT, 0644);
	assert_ok(fd);
	g_assert_true(write_all(fd, "sync me", 7));
	assert_ok(fsync(fd));
	assert_ok(fdatasync(fd));
	assert_ok(close(fd));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "f"), &bst), ==, 0);
	g_assert_cmpint(bst.st_size, ==, 7);
	/* access(2): the server decides, the mount does not guess */
	assert_ok(access(P(fx, "f"), R_OK | W_OK));
	assert_fails(access(P(fx, "missing"), F_OK), ENOENT);
}

/* Without posix-rename, hardlink, fsync, statvfs, lsetstat (sftp-server
 * -P): what jumpfs falls back to. */
static void test_no_extensions(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	gsize len;
	struct stat st, bst;

	/* rename over an existing file: moved aside, renamed, removed */
	put_file(B(fx, "new"), "NEW", -1);
	put_file(B(fx, "old"), "OLD", -1);
	assert_ok(rename(P(fx, "new"), P(fx, "old")));
	char *got = get_file(B(fx, "old"), &len);
	g_assert_cmpstr(got, ==, "NEW");
	g_free(got);
	assert_fails(stat(B(fx, "new"), &bst), ENOENT);
	assert_ok(rename(P(fx, "old"), P(fx, "fresh"))); /* plain RENAME */
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	/* directories: over an empty one, not over a full one, no mixing */
	g_mkdir(B(fx, "d1"), 0755);
	put_file(B(fx, "d1/in"), "1", -1);
	g_mkdir(B(fx, "empty"), 0755);
	g_mkdir(B(fx, "full"), 0755);
	put_file(B(fx, "full/x"), "x", -1);
	assert_fails(rename(P(fx, "d1"), P(fx, "full")), ENOTEMPTY);
	assert_fails(rename(P(fx, "fresh"), P(fx, "empty")), EISDIR);
	assert_fails(rename(P(fx, "d1"), P(fx, "fresh")), ENOTDIR);
	assert_ok(rename(P(fx, "d1"), P(fx, "empty")));
	got = get_file(B(fx, "empty/in"), &len);
	g_assert_cmpstr(got, ==, "1");
	g_free(got);
	g_assert_cmpint(stat(B(fx, "full/x"), &bst), ==, 0);
	/* nothing left behind under a temporary name */
	GDir *dir = g_dir_open(fx->backend, 0, NULL);
	const char *name;
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
		g_assert_false(g_str_has_prefix(name, ".jumpfs-rename-"));
	if (dir != NULL)
		g_dir_close(dir);

	/* no hard links: EPERM, as a file system without them says */
	assert_fails(link(P(fx, "fresh"), P(fx, "hard")), EPERM);
	assert_fails(stat(B(fx, "hard"), &bst), ENOENT);

	/* fsync: every write was acknowledged already */
	int fd = open(P(fx, "fresh"), O_WRONLY | O_APPEND);
	assert_ok(fd);
	g_assert_true(write_all(fd, "+", 1));
	assert_ok(fsync(fd));
	close(fd);
	got = get_file(B(fx, "fresh"), &len);
	g_assert_cmpstr(got, ==, "NEW+");
	g_free(got);

	/* statfs: large round numbers rather than a failing df */
	struct statvfs sv;
	assert_ok(statvfs(fx->mnt, &sv));
	g_assert_cmpuint(sv.f_blocks, >, 0);
	g_assert_cmpuint(sv.f_bavail, >, 0);
	g_assert_cmpuint(sv.f_bavail, <=, sv.f_blocks);
	g_assert_cmpuint(sv.f_namemax, ==, 255);

	/* no lsetstat: times of a file still set; of a link refused rather
	 * than set on its target */
	g_assert_cmpint(symlink("fresh", B(fx, "link")), ==, 0);
	struct timespec tv[2] = { { 1000000000, 0 }, { 1100000000, 0 } };
	assert_ok(utimensat(AT_FDCWD, P(fx, "fresh"), tv, 0));
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);
	struct timespec tv2[2] = { { 1200000000, 0 }, { 1300000000, 0 } };
	assert_fails(utimensat(AT_FDCWD, P(fx, "link"), tv2, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1100000000);
	/* following the link is fine */
	assert_ok(utimensat(AT_FDCWD, P(fx, "link"), tv2, 0));
	g_assert_cmpint(stat(B(fx, "fresh"), &bst), ==, 0);
	g_assert_cmpint(bst.st_mtim.tv_sec, ==, 1300000000);
	assert_ok(lstat(P(fx, "link"), &st));
	g_assert_true(S_ISLNK(st.st_mode));
}

#define ADD(path, variant, func) \
	g_test_add(path, Fixture, &variant, fixture_setup, func, fixture_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	signal(SIGPIPE, SIG_IGN);

	g_test_add_func("/fs/ops/attrs", test_attrs);
	ADD("/fs/ops/getattr", plain, test_getattr);
	ADD("/fs/ops/read-write", plain, test_read_write);
	ADD("/fs/ops/sparse", plain, test_sparse);
	ADD("/fs/ops/readdir", plain, test_readdir);
	ADD("/fs/ops/create-excl", negcache, test_create_excl);
	ADD("/fs/ops/mkdir-rmdir", negcache, test_mkdir_rmdir);
	ADD("/fs/ops/rename", negcache, test_rename);
	ADD("/fs/ops/unlink", plain, test_unlink);
	ADD("/fs/ops/chmod-chown", plain, test_chmod_chown);
	ADD("/fs/ops/utimens", plain, test_utimens);
	ADD("/fs/ops/truncate", plain, test_truncate);
	ADD("/fs/ops/symlink", negcache, test_symlink);
	ADD("/fs/ops/symlink-transform", transform, test_symlink);
	ADD("/fs/ops/link", negcache, test_link);
	ADD("/fs/ops/statfs", plain, test_statfs);
	ADD("/fs/ops/append", plain, test_append);
	ADD("/fs/ops/names", plain, test_names);
	ADD("/fs/ops/reconnect", plain, test_reconnect);
	ADD("/fs/ops/reconnect-lost", lost, test_reconnect_lost);
	ADD("/fs/ops/fsync-flush", plain, test_fsync_flush);
	ADD("/fs/ops/no-extensions", bare, test_no_extensions);
	return g_test_run();
}
