/* ProxyCommand: spawn, stderr to the log, reaping. */
#include "chain/proxy-command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/errors.h"
#include "chain/prompt.h"
#include "chain/transport.h"

extern char **environ;

/* A command that ignores SIGHUP gets SIGKILL this much later. */
#define PROXY_COMMAND_GRACE_US G_USEC_PER_SEC

struct ProxyCommand {
	char *label;
	gboolean fdpass;
	pid_t pid;
	int pidfd;           /* readable once the command exits; -1: poll */
	int stderr_fd;       /* the reader thread's; -1 after EOF */
	int wake_fd;         /* eventfd: stop */
	GThread *reader;
	GString *line;       /* partial stderr line (reader thread only) */
	gboolean line_cut;   /* it had more than PROXY_COMMAND_LINE_MAX bytes */

	GMutex lock;         /* everything below */
	GCond changed;       /* exited or stderr_done became TRUE */
	gboolean hop_up;
	gboolean stopping;
	gboolean exited;
	gboolean stderr_done;
	int status;          /* waitpid()'s, once exited */
	GQueue held;         /* char *: lines before the hop is up */
	guint held_dropped;
	GQueue tail;         /* char *: the last lines, for describe */
	guint logged;
};

/* ---- stderr lines ---- */

static void proxy_command_log_line(ProxyCommand *proxy, const char *text)
{
	/* Counted under the lock by the caller; logging happens outside it. */
	g_message("%s: ProxyCommand: %s", proxy->label, text);
}

/* One complete line from the reader thread. */
static void proxy_command_emit(ProxyCommand *proxy)
{
	GString *line = proxy->line;
	if (line->len > 0 && line->str[line->len - 1] == '\r')
		g_string_truncate(line, line->len - 1);
	if (line->len == 0 && !proxy->line_cut)
		return;
	g_autofree char *escaped = prompt_escape(line->str, FALSE);
	char *text = g_strconcat(escaped, proxy->line_cut ? " [...]" : "", NULL);
	g_string_truncate(line, 0);
	proxy->line_cut = FALSE;

	gboolean log = FALSE, announce = FALSE;
	g_mutex_lock(&proxy->lock);
	g_queue_push_tail(&proxy->tail, g_strdup(text));
	if (proxy->tail.length > PROXY_COMMAND_TAIL_LINES)
		g_free(g_queue_pop_head(&proxy->tail));
	if (!proxy->hop_up) {
		if (proxy->held.length < PROXY_COMMAND_HELD_LINES)
			g_queue_push_tail(&proxy->held, g_steal_pointer(&text));
		else
			proxy->held_dropped++;
	} else {
		proxy->logged++;
		log = proxy->logged <= PROXY_COMMAND_LOG_LINES;
		announce = proxy->logged == PROXY_COMMAND_LOG_LINES + 1;
	}
	g_mutex_unlock(&proxy->lock);
	if (log)
		proxy_command_log_line(proxy, text);
	else if (announce)
		g_message("%s: ProxyCommand: further output is not logged", proxy->label);
	g_free(text);
}

static void proxy_command_feed(ProxyCommand *proxy, const char *data, gsize len)
{
	while (len > 0) {
		const char *newline = memchr(data, '\n', len);
		gsize chunk = newline != NULL ? (gsize)(newline - data) : len;
		gsize room = PROXY_COMMAND_LINE_MAX - MIN(proxy->line->len, PROXY_COMMAND_LINE_MAX);
		g_string_append_len(proxy->line, data, MIN(chunk, room));
		if (chunk > room)
			proxy->line_cut = TRUE;
		if (newline == NULL)
			return;
		proxy_command_emit(proxy);
		data += chunk + 1;
		len -= chunk + 1;
	}
}

/* ---- the reader thread: stderr, exit, stop ---- */

static void proxy_command_reaped(ProxyCommand *proxy, int status)
{
	g_mutex_lock(&proxy->lock);
	gboolean lost = proxy->hop_up && !proxy->stopping && !proxy->fdpass;
	g_mutex_unlock(&proxy->lock);
	/* Said before anyone waiting for the end hears of it. */
	if (lost && WIFEXITED(status))
		g_warning("%s: the ProxyCommand exited with status %d: the hop is lost",
			  proxy->label, WEXITSTATUS(status));
	else if (lost)
		g_warning("%s: the ProxyCommand was killed by signal %d: the hop is lost",
			  proxy->label, WTERMSIG(status));
	else
		g_debug("%s: ProxyCommand (pid %d) ended, status 0x%x", proxy->label,
			(int)proxy->pid, (unsigned)status);
	g_mutex_lock(&proxy->lock);
	proxy->exited = TRUE;
	proxy->status = status;
	g_cond_broadcast(&proxy->changed);
	g_mutex_unlock(&proxy->lock);
}

static void proxy_command_stderr_closed(ProxyCommand *proxy)
{
	if (proxy->line->len > 0 || proxy->line_cut)
		proxy_command_emit(proxy);
	close(proxy->stderr_fd);
	proxy->stderr_fd = -1;
	g_mutex_lock(&proxy->lock);
	proxy->stderr_done = TRUE;
	g_cond_broadcast(&proxy->changed);
	g_mutex_unlock(&proxy->lock);
}

static gpointer proxy_command_reader(gpointer data)
{
	ProxyCommand *proxy = data;
	gboolean hup_sent = FALSE, kill_sent = FALSE;
	gint64 kill_at = 0;
	char buf[4096];
	for (;;) {
		g_mutex_lock(&proxy->lock);
		gboolean exited = proxy->exited, stopping = proxy->stopping;
		g_mutex_unlock(&proxy->lock);
		/* Stopping ends the thread once the command is reaped, even if
		 * something it started still holds its stderr. */
		if (exited && (stopping || proxy->stderr_fd < 0))
			break;
		int timeout_ms = -1;
		if (stopping && !exited) {
			/* We are its only reaper, so its pid cannot be reused. */
			gint64 now = g_get_monotonic_time();
			if (!hup_sent) {
				kill(proxy->pid, SIGHUP);
				hup_sent = TRUE;
				kill_at = now + PROXY_COMMAND_GRACE_US;
			} else if (!kill_sent && now >= kill_at) {
				kill(proxy->pid, SIGKILL);
				kill_sent = TRUE;
			}
			if (!kill_sent)
				timeout_ms = (int)MAX((kill_at - now) / 1000, 1);
		}
		if (!exited && proxy->pidfd < 0)
			timeout_ms = timeout_ms < 0 ? 100 : MIN(timeout_ms, 100);

		struct pollfd fds[3];
		nfds_t n = 0;
		int at_stderr = -1, at_pid = -1, at_wake = -1;
		if (proxy->stderr_fd >= 0) {
			at_stderr = (int)n;
			fds[n++] = (struct pollfd){ .fd = proxy->stderr_fd, .events = POLLIN };
		}
		if (!exited && proxy->pidfd >= 0) {
			at_pid = (int)n;
			fds[n++] = (struct pollfd){ .fd = proxy->pidfd, .events = POLLIN };
		}
		if (!stopping) {
			at_wake = (int)n;
			fds[n++] = (struct pollfd){ .fd = proxy->wake_fd, .events = POLLIN };
		}
		if (poll(fds, n, timeout_ms) < 0 && errno != EINTR) {
			g_warning("%s: ProxyCommand: poll: %s", proxy->label, g_strerror(errno));
			g_usleep(100 * 1000);
			continue;
		}
		if (at_wake >= 0 && fds[at_wake].revents != 0) {
			eventfd_t value;
			eventfd_read(proxy->wake_fd, &value);
		}
		if (at_stderr >= 0 && fds[at_stderr].revents != 0) {
			ssize_t got = read(proxy->stderr_fd, buf, sizeof(buf));
			if (got > 0)
				proxy_command_feed(proxy, buf, (gsize)got);
			else if (got == 0 || (errno != EINTR && errno != EAGAIN))
				proxy_command_stderr_closed(proxy);
		}
		if (!exited && (at_pid < 0 || fds[at_pid].revents != 0)) {
			int status = 0;
			pid_t got = waitpid(proxy->pid, &status, WNOHANG);
			/* ECHILD: someone set SIGCHLD to SIG_IGN and the kernel
			 * reaped it; its status is lost, not its end. */
			if (got == proxy->pid || (got < 0 && errno == ECHILD))
				proxy_command_reaped(proxy, status);
		}
	}
	return NULL;
}

/* ---- spawning ---- */

/* The child's dup2 onto 0-2 must not find its source there already. */
static int proxy_command_above_stdio(int fd)
{
	if (fd > STDERR_FILENO)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return moved;
}

static const char *proxy_command_shell(char **environment)
{
	const char *shell = g_environ_getenv(environment, "SHELL");
	return shell != NULL && *shell != '\0' ? shell : "/bin/sh";
}

static const char *proxy_command_dir(const ProxyCommandSpec *spec)
{
	if (spec->working_dir == NULL)
		return "/";
	if (g_file_test(spec->working_dir, G_FILE_TEST_IS_DIR))
		return spec->working_dir;
	g_message("%s: ProxyCommand runs in / (working directory %s is gone)", spec->label,
		  spec->working_dir);
	return "/";
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static G_NORETURN void proxy_command_child(int child_sock, int child_err, int report_fd,
					   const char *dir, const char *shell, char **argv,
					   char **environment, long max_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	sigemptyset(&none);
	int err = 0;
	if (dup2(child_sock, STDIN_FILENO) < 0 || dup2(child_sock, STDOUT_FILENO) < 0 ||
	    dup2(child_err, STDERR_FILENO) < 0 || chdir(dir) != 0)
		err = errno;
	if (err == 0) {
		/* Dispositions first, then the mask: a signal that arrives in
		 * between finds no handler of the daemon's. */
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* /dev/fuse, the control socket, other hops' sockets: none of
		 * it is the command's. Close-on-exec rather than closed, so
		 * that report_fd can still tell an exec failure. */
		if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
			for (long fd = STDERR_FILENO + 1; fd < max_fd; fd++)
				fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		execve(shell, argv, environment);
		err = errno;
	}
	ssize_t ignored = write(report_fd, &err, sizeof(err));
	(void)ignored;
	_exit(127);
}

/* fd 0 and 1 = child_sock, 2 = child_err, nothing else; an empty signal
 * mask, every signal at its default (the daemon blocks some and ignores
 * others). fork+exec as OpenSSH does: glibc's posix_spawn leaves its own
 * two internal signals ignored in the child. Returns 0 or an errno. */
static int proxy_command_spawn(const ProxyCommandSpec *spec, int child_sock, int child_err,
			       pid_t *pid)
{
	char **environment = spec->environment != NULL ? spec->environment : environ;
	const char *shell = proxy_command_shell(environment);
	g_autofree char *script = g_strconcat("exec ", spec->command, NULL);
	char *argv[] = { (char *)shell, (char *)"-c", script, NULL };
	const char *dir = proxy_command_dir(spec);
	long max_fd = sysconf(_SC_OPEN_MAX);

	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return errno;
	*pid = fork();
	if (*pid == 0)
		proxy_command_child(child_sock, child_err, report[1], dir, shell, argv,
				    environment, max_fd);
	int err = *pid < 0 ? errno : 0;
	close(report[1]);
	if (*pid > 0) {
		/* EOF: the exec happened. An int: why it did not. */
		ssize_t got;
		do {
			got = read(report[0], &err, sizeof(err));
		} while (got < 0 && errno == EINTR);
		if (got != sizeof(err))
			err = 0;
		if (err != 0)
			while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	close(report[0]);
	return err;
}

/* The connected socket an fdpass command sends (one byte, SCM_RIGHTS), or
 * -1: *timed_out tells a silent command from one that gave up. */
static int proxy_command_receive_fd(int sock, int timeout_s, gboolean *timed_out)
{
	*timed_out = FALSE;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	gint64 deadline = g_get_monotonic_time() + timeout_s * G_TIME_SPAN_SECOND;
	int n;
	do {
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		n = poll(&p, 1, (int)MAX(left_ms, 0));
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		*timed_out = TRUE;
	if (n <= 0)
		return -1;

	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.space, .msg_controllen = sizeof(control.space) };
	ssize_t got;
	do {
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	int fd = -1;
	for (struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c != NULL;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		gsize count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];
		memcpy(fds, CMSG_DATA(c), MIN(count, G_N_ELEMENTS(fds)) * sizeof(int));
		for (gsize i = 0; i < MIN(count, G_N_ELEMENTS(fds)); i++) {
			if (fd < 0)
				fd = fds[i];
			else
				close(fds[i]); /* one connection; extras are nobody's */
		}
	}
	return fd;
}

ProxyCommand *proxy_command_start(const ProxyCommandSpec *spec, int *fd, GError **error)
{
	int sock[2], err_pipe[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_UNREACHABLE,
			    "%s: ProxyCommand: socketpair: %s", spec->label, g_strerror(errno));
		return NULL;
	}
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		int err = errno;
		close(sock[0]);
		close(sock[1]);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_UNREACHABLE,
			    "%s: ProxyCommand: pipe: %s", spec->label, g_strerror(err));
		return NULL;
	}
	sock[1] = proxy_command_above_stdio(sock[1]);
	err_pipe[1] = proxy_command_above_stdio(err_pipe[1]);

	pid_t pid = -1;
	int rc = sock[1] >= 0 && err_pipe[1] >= 0
		 ? proxy_command_spawn(spec, sock[1], err_pipe[1], &pid) : errno;
	if (sock[1] >= 0)
		close(sock[1]);
	if (err_pipe[1] >= 0)
		close(err_pipe[1]);
	if (rc != 0) {
		close(sock[0]);
		close(err_pipe[0]);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: cannot run the ProxyCommand with %s: %s", spec->label,
			    proxy_command_shell(spec->environment ? spec->environment : environ),
			    g_strerror(rc));
		return NULL;
	}
	g_debug("%s: ProxyCommand (pid %d): %s", spec->label, (int)pid, spec->command);

	ProxyCommand *proxy = g_new0(ProxyCommand, 1);
	proxy->label = g_strdup(spec->label);
	proxy->fdpass = spec->fdpass;
	proxy->pid = pid;
	proxy->pidfd = pidfd_open(pid, 0);
	proxy->stderr_fd = err_pipe[0];
	proxy->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	proxy->line = g_string_new(NULL);
	g_mutex_init(&proxy->lock);
	g_cond_init(&proxy->changed);
	g_queue_init(&proxy->held);
	g_queue_init(&proxy->tail);
	proxy->reader = g_thread_new("proxy-command", proxy_command_reader, proxy);

	if (!spec->fdpass) {
		*fd = sock[0];
		return proxy;
	}
	gboolean timed_out;
	int passed = proxy_command_receive_fd(sock[0], spec->timeout_s, &timed_out);
	close(sock[0]);
	if (passed < 0) {
		g_autofree char *why = proxy_command_describe(proxy, timed_out ? 0 : 1000);
		g_set_error(error, JUMPFS_ERROR,
			    timed_out ? JUMPFS_ERROR_TIMEOUT : JUMPFS_ERROR_UNREACHABLE,
			    "%s: ProxyUseFdpass: %s: the ProxyCommand %s", spec->label,
			    timed_out ? "no connection passed in time" : "no connection passed",
			    why);
		proxy_command_free(proxy);
		return NULL;
	}
	/* libssh expects a blocking socket. */
	fcntl(passed, F_SETFL, fcntl(passed, F_GETFL) & ~O_NONBLOCK);
	transport_set_nodelay(passed);
	*fd = passed;
	return proxy;
}

/* ---- what others ask ---- */

void proxy_command_hop_up(ProxyCommand *proxy)
{
	g_mutex_lock(&proxy->lock);
	proxy->hop_up = TRUE;
	GQueue held = proxy->held;
	g_queue_init(&proxy->held);
	guint dropped = proxy->held_dropped;
	proxy->logged += held.length;
	g_mutex_unlock(&proxy->lock);
	for (GList *l = held.head; l != NULL; l = l->next)
		proxy_command_log_line(proxy, l->data);
	if (dropped > 0)
		g_message("%s: ProxyCommand: %u more lines were not kept", proxy->label, dropped);
	g_queue_clear_full(&held, g_free);
}

char *proxy_command_describe(ProxyCommand *proxy, int wait_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	GString *text = g_string_new(NULL);
	g_mutex_lock(&proxy->lock);
	while (!(proxy->exited && proxy->stderr_done) &&
	       g_cond_wait_until(&proxy->changed, &proxy->lock, deadline))
		;
	if (!proxy->exited)
		g_string_append(text, "is still running");
	else if (WIFEXITED(proxy->status))
		g_string_append_printf(text, "exited with status %d", WEXITSTATUS(proxy->status));
	else if (WIFSIGNALED(proxy->status))
		g_string_append_printf(text, "was killed by signal %d", WTERMSIG(proxy->status));
	const char *sep = ": ";
	for (GList *l = proxy->tail.head; l != NULL; l = l->next) {
		g_string_append_printf(text, "%s%s", sep, (const char *)l->data);
		sep = "; ";
	}
	g_mutex_unlock(&proxy->lock);
	return g_string_free(text, FALSE);
}

gboolean proxy_command_exited(ProxyCommand *proxy)
{
	g_mutex_lock(&proxy->lock);
	gboolean exited = proxy->exited;
	g_mutex_unlock(&proxy->lock);
	return exited;
}

pid_t proxy_command_pid(ProxyCommand *proxy)
{
	return proxy->pid;
}

void proxy_command_free(ProxyCommand *proxy)
{
	if (proxy == NULL)
		return;
	g_mutex_lock(&proxy->lock);
	proxy->stopping = TRUE;
	g_mutex_unlock(&proxy->lock);
	eventfd_write(proxy->wake_fd, 1);
	g_thread_join(proxy->reader);

	if (proxy->stderr_fd >= 0)
		close(proxy->stderr_fd);
	if (proxy->pidfd >= 0)
		close(proxy->pidfd);
	close(proxy->wake_fd);
	g_string_free(proxy->line, TRUE);
	g_queue_clear_full(&proxy->held, g_free);
	g_queue_clear_full(&proxy->tail, g_free);
	g_mutex_clear(&proxy->lock);
	g_cond_clear(&proxy->changed);
	g_free(proxy->label);
	g_free(proxy);
}
