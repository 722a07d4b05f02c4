/* A ProxyCommand for tests: says what it was given, or passes a socket.
 *
 *   proxy-probe report [FILE [PROGRAM ARGS...]]
 *       writes one report line per item to FILE (default: stdout):
 *         fds 0:sock 1:sock 2:fifo     every open fd and its kind
 *         sigblk HEX / sigign HEX      from /proc/self/status
 *         cwd PATH
 *         env VALUE                    of $PROXY_PROBE_ENV ("-" if unset)
 *       then, if PROGRAM is given, becomes it (execvp): its fds are the
 *       ones reported.
 *   proxy-probe fdpass HOST PORT
 *       connects to HOST:PORT, sends the socket over stdout (SCM_RIGHTS,
 *       as ProxyUseFdpass wants) and exits 0; exit 1 with a message on
 *       stderr if the connect fails.
 *   proxy-probe stderr LINES BYTES
 *       writes LINES numbered lines to stderr, then one line of BYTES 'x'
 *       without a newline, then exits 7. */
#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(FILE *out)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL)
		exit(2);
	fprintf(out, "fds");
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		int fd = atoi(entry->d_name);
		if (fd == dirfd(dir) || (out != stdout && fd == fileno(out)))
			continue;
		struct stat st;
		const char *kind = fstat(fd, &st) != 0 ? "?" : S_ISSOCK(st.st_mode) ? "sock"
				 : S_ISFIFO(st.st_mode) ? "fifo" : S_ISCHR(st.st_mode) ? "chr"
				 : S_ISREG(st.st_mode) ? "file" : "other";
		fprintf(out, " %d:%s", fd, kind);
	}
	closedir(dir);
	fprintf(out, "\n");

	FILE *status = fopen("/proc/self/status", "r");
	char line[256];
	while (status != NULL && fgets(line, sizeof(line), status) != NULL) {
		if (strncmp(line, "SigBlk:", 7) == 0)
			fprintf(out, "sigblk %s", line + 8);
		else if (strncmp(line, "SigIgn:", 7) == 0)
			fprintf(out, "sigign %s", line + 8);
	}
	if (status != NULL)
		fclose(status);
	char cwd[4096];
	fprintf(out, "cwd %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	const char *value = getenv("PROXY_PROBE_ENV");
	fprintf(out, "env %s\n", value ? value : "-");
	fflush(out);
}

static int fdpass(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "proxy-probe: %s: %s\n", host, gai_strerror(rc));
		return 1;
	}
	int sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	int connected = sock >= 0 && connect(sock, ai->ai_addr, ai->ai_addrlen) == 0;
	freeaddrinfo(ai);
	if (!connected) {
		perror("proxy-probe: connect");
		return 1;
	}
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.space, .msg_controllen = sizeof(control.space) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sock, sizeof(int));
	if (sendmsg(STDOUT_FILENO, &msg, 0) != 1) {
		perror("proxy-probe: sendmsg");
		return 1;
	}
	return 0;
}

static int noisy(long lines, long bytes)
{
	FILE *err = stderr;
	for (long i = 1; i <= lines; i++)
		fprintf(err, "line %ld\n", i);
	for (long i = 0; i < bytes; i++)
		fputc('x', err);
	fflush(err);
	return 7;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "report") == 0) {
		FILE *out = stdout;
		if (argc >= 3 && (out = fopen(argv[2], "w")) == NULL) {
			perror(argv[2]);
			return 2;
		}
		report(out);
		if (argc >= 4) {
			fclose(out);
			execvp(argv[3], argv + 3);
			perror(argv[3]);
			return 127;
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "fdpass") == 0)
		return fdpass(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "stderr") == 0)
		return noisy(atol(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: proxy-probe report [FILE [PROGRAM ARGS...]] | fdpass HOST PORT"
			" | stderr LINES BYTES\n");
	return 2;
}
