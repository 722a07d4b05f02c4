/* The fixture of the test-ops-* programs: see ops-fixture.h. */
#include "ops-fixture.h"

#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <fuse.h>

#include "fs/ops.h"
#include "fs/remote.h"
#include "sftp-server.h"

const Variant plain = { 0 };
const Variant transform = { .transform_symlinks = TRUE };
const Variant negcache = { .negative_timeout = 60.0 };
const Variant lost = { .expect_lost = TRUE };
const Variant bare = { .denied = "posix-rename,hardlink,fsync,statvfs,fstatvfs,lsetstat" };
const Variant striped = { .stripes = 4 };

typedef struct {
	GMutex lock;
	GArray *pids;           /* pid_t of live sftp-server children */
	const char *denied;     /* -P for them, or NULL */
} Servers;

/* ---- helpers ---- */

const char *P(Fixture *fx, const char *rel)
{
	char *path = g_build_filename(fx->mnt, rel, NULL);
	g_ptr_array_add(fx->strings, path);
	return path;
}

const char *B(Fixture *fx, const char *rel)
{
	char *path = g_build_filename(fx->backend, rel, NULL);
	g_ptr_array_add(fx->strings, path);
	return path;
}

void put_file(const char *path, const char *data, gssize len)
{
	GError *error = NULL;
	g_file_set_contents(path, data, len, &error);
	g_assert_no_error(error);
	g_clear_error(&error);
}

/* Contents of a file, or NULL (with *len 0). */
char *get_file(const char *path, gsize *len)
{
	char *data = NULL;
	*len = 0;
	if (!g_file_get_contents(path, &data, len, NULL))
		return NULL;
	return data;
}

gboolean write_all(int fd, const void *buf, size_t len)
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
GByteArray *read_all(const char *path)
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

char *sha256(const void *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

guint8 *random_bytes(gsize len)
{
	guint8 *data = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		data[i] = (guint8)g_test_rand_int_range(0, 256);
	return data;
}

/* ---- the FUSE server process ---- */

/* RemoteOpenStream: a new sftp-server on one end of a socketpair. No
 * inherited fd (/dev/fuse above all, which would keep the mount's
 * connection alive). */
static int open_sftp_server(void *data, guint slot, GError **error)
{
	(void)slot;
	Servers *servers = data;
	const char *args[] = { servers->denied ? "-P" : NULL, servers->denied, NULL };
	SftpServerOptions options = { .args = args, .close_fds = TRUE };
	int fd = -1;
	pid_t pid = sftp_server_spawn(&options, &fd, error);
	if (pid < 0)
		return -1;
	g_mutex_lock(&servers->lock);
	g_array_append_val(servers->pids, pid);
	g_mutex_unlock(&servers->lock);
	return fd;
}

/* Kill every sftp-server (their connections break) and reap them. */
static void kill_sftp_servers(Servers *servers)
{
	g_mutex_lock(&servers->lock);
	for (guint i = 0; i < servers->pids->len; i++) {
		pid_t pid = g_array_index(servers->pids, pid_t, i);
		sftp_server_kill(&pid);
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
		if (test_wait_child(pid, 5000) == -1) {
			leaked++;
			sftp_server_kill(&pid);
		}
	}
	g_array_set_size(servers->pids, 0);
	return leaked;
}

/* Bytes the process has passed to write(2) and its kin, or 0. */
static guint64 process_wchar(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/io", (int)pid);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	const char *line = strstr(text, "wchar: ");
	return line ? g_ascii_strtoull(line + 7, NULL, 10) : 0;
}

static char count_servers_that_wrote(Servers *servers, guint64 min_bytes)
{
	char n = 0;
	g_mutex_lock(&servers->lock);
	for (guint i = 0; i < servers->pids->len; i++)
		if (process_wchar(g_array_index(servers->pids, pid_t, i)) >= min_bytes)
			n++;
	g_mutex_unlock(&servers->lock);
	return n;
}

static char count_servers(Servers *servers)
{
	g_mutex_lock(&servers->lock);
	char n = (char)MIN(servers->pids->len, 127u);
	g_mutex_unlock(&servers->lock);
	return n;
}

static void signal_servers(Servers *servers, int sig)
{
	g_mutex_lock(&servers->lock);
	for (guint i = 0; i < servers->pids->len; i++)
		kill(g_array_index(servers->pids, pid_t, i), sig);
	g_mutex_unlock(&servers->lock);
}

typedef struct {
	Servers *servers;
	int ctl, reply;
} Control;

/* The test's commands: 'k' kills the sftp-servers, 'p' stops them, 'c'
 * lets them go on (answer: the command); 'w' counts those that wrote a
 * MiB, 'n' those started (answer: the count). EOF ends it. */
static gpointer control_thread(gpointer data)
{
	Control *control = data;
	char command;
	while (read(control->ctl, &command, 1) == 1) {
		char answer = command;
		if (command == 'k')
			kill_sftp_servers(control->servers);
		if (command == 'w')
			answer = count_servers_that_wrote(control->servers, 1 << 20);
		if (command == 'n')
			answer = count_servers(control->servers);
		if (command == 'p')
			signal_servers(control->servers, SIGSTOP);
		if (command == 'c')
			signal_servers(control->servers, SIGCONT);
		if (write(control->reply, &answer, 1) != 1)
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
	/* The lost file, and the queued write it takes with it. */
	return !(variant->expect_lost && (strstr(message, "re-opening") != NULL ||
					  strstr(message, "never reached the server") != NULL));
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
	RemoteOptions ropts = { .reconnect = TRUE, .max_conns = 2, .stripes = variant->stripes };
	/* Two connections: open files must stay on the one that opened them. */
	Remote *remote = remote_connect(open_sftp_server, &servers, backend, &ropts, &error);
	FsContext *ctx = NULL;
	if (remote != NULL) {
		FsOptions options;
		fs_options_init(&options);
		options.transform_symlinks = variant->transform_symlinks;
		options.contain_symlinks = !variant->transform_symlinks;
		options.negative_timeout = variant->negative_timeout;
		options.write_stripes = MAX(variant->stripes, 1u);
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

void kill_servers(Fixture *fx)
{
	char answer = 0;
	g_assert_cmpint(write(fx->ctl, "k", 1), ==, 1);
	g_assert_cmpint(read(fx->reply, &answer, 1), ==, 1);
	g_assert_cmpint(answer, ==, 'k');
}

static char control_ask(Fixture *fx, char command)
{
	char answer = 0;
	g_assert_cmpint(write(fx->ctl, &command, 1), ==, 1);
	g_assert_cmpint(read(fx->reply, &answer, 1), ==, 1);
	return answer;
}

guint servers_that_wrote_a_mib(Fixture *fx)
{
	return (guint)(unsigned char)control_ask(fx, 'w');
}

guint servers_started(Fixture *fx)
{
	return (guint)(unsigned char)control_ask(fx, 'n');
}

void pause_servers(Fixture *fx, gboolean pause)
{
	g_assert_cmpint(control_ask(fx, pause ? 'p' : 'c'), ==, pause ? 'p' : 'c');
}

void fixture_setup(Fixture *fx, gconstpointer data)
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
	if (!sftp_server_available()) {
		g_test_skip("needs " SFTP_SERVER_PATH " (openssh-sftp-server)");
		return;
	}

	fx->base = test_make_tmpdir("jumpfs-test-ops-XXXXXX");
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

void fixture_teardown(Fixture *fx, gconstpointer data)
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
		int status = test_wait_child(fx->server, 30000);
		if (status == -1 && fx->mounted) {
			g_test_message("mount still busy after unmount: aborting it");
			abort_connection(fx);
			status = test_wait_child(fx->server, 10000);
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
		test_remove_tree(fx->base);
	g_free(fx->base);
	g_free(fx->backend);
	g_free(fx->mnt);
	g_ptr_array_unref(fx->strings);
}

void ops_tests_init(int *argc, char ***argv)
{
	g_test_init(argc, argv, NULL);
	g_test_set_nonfatal_assertions();
	signal(SIGPIPE, SIG_IGN);
}
