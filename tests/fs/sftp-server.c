/* The real OpenSSH sftp-server for the tests: see sftp-server.h. */
#include "sftp-server.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534
#define MAX_ARGS 32

gboolean sftp_server_available(void)
{
	return g_file_test(SFTP_SERVER_PATH, G_FILE_TEST_IS_EXECUTABLE);
}

pid_t sftp_server_spawn(const SftpServerOptions *options, int *fd, GError **error)
{
	static const SftpServerOptions defaults = { 0 };
	const SftpServerOptions *o = options != NULL ? options : &defaults;
	gboolean log = g_getenv("SFTP_TEST_LOG") != NULL;
	/* -e: log to stderr, not syslog */
	const char *argv[MAX_ARGS] = { "sftp-server", "-e", "-l", log ? "DEBUG3" : "ERROR" };
	int argc = 4;
	for (int i = 0; o->args != NULL && o->args[i] != NULL; i++) {
		g_assert_cmpint(argc, <, MAX_ARGS - 1);
		argv[argc++] = o->args[i];
	}
	argv[argc] = NULL;
	int max_fd = 0;
	if (o->close_fds) {
		struct rlimit nofile = { .rlim_cur = 1024 };
		getrlimit(RLIMIT_NOFILE, &nofile);
		max_fd = (int)MIN(nofile.rlim_cur, 65536);
	}
	gboolean quiet = o->quiet && !log;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			    "socketpair: %s", g_strerror(saved));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls from here on. */
		dup2(sv[1], STDIN_FILENO);
		dup2(sv[1], STDOUT_FILENO);
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, STDERR_FILENO);
		}
		/* Not close_range: valgrind keeps fds up there. */
		for (int i = 3; i < max_fd; i++)
			close(i);
		if (o->dir != NULL && chdir(o->dir) < 0)
			_exit(126);
		if (o->as_nobody && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
				     setuid(NOBODY) < 0))
			_exit(125);
		if (o->shell != NULL)
			execl("/bin/sh", "sh", "-c", o->shell, (char *)NULL);
		else
			execv(SFTP_SERVER_PATH, (char **)argv);
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
	*fd = sv[0];
	return pid;
}

void sftp_server_kill(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

int test_wait_child(pid_t pid, int timeout_ms)
{
	int status;
	for (int ms = 0; ms <= timeout_ms; ms += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		g_usleep(10 * 1000);
	}
	return -1;
}

char *test_make_tmpdir(const char *tmpl)
{
	GError *error = NULL;
	char *dir = g_dir_make_tmp(tmpl, &error);
	g_assert_no_error(error);
	g_clear_error(&error); /* when assertions are not fatal */
	return dir;
}

static int remove_failures;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		remove_failures++;
	return 0;
}

int test_remove_tree(const char *dir)
{
	remove_failures = 0;
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return -1;
	return remove_failures > 0 ? -1 : 0;
}
