#include "cli/daemon.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void daemon_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* The parent's side: "0" means mounted; anything else is an error text. */
static G_NORETURN void daemon_wait_for_child(int read_fd, pid_t child)
{
	GString *report = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while ((n = read(read_fd, buf, sizeof(buf))) > 0)
		g_string_append_len(report, buf, n);
	if (report->len == 1 && report->str[0] == '0')
		_exit(0);
	if (report->len > 1)
		fprintf(stderr, "jumpfs: %s\n", report->str + 1);
	else {
		int status = 0;
		waitpid(child, &status, 0);
		fprintf(stderr, "jumpfs: the daemon exited before the mount was up\n");
	}
	_exit(1);
}

int daemon_start(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		daemon_wait_for_child(fds[0], pid);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

void daemon_report_ready(int report_fd)
{
	if (chdir("/") != 0) {
		/* not fatal: only keeps the old cwd busy */
	}
	int null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		dup2(null_fd, STDERR_FILENO);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
	}
	daemon_write_all(report_fd, "0", 1);
	close(report_fd);
}

void daemon_report_failure(int report_fd, const char *message)
{
	daemon_write_all(report_fd, "1", 1);
	daemon_write_all(report_fd, message, strlen(message));
	close(report_fd);
}
