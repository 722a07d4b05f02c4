/* Asking on the terminal or through $SSH_ASKPASS. See prompt-tty.h.
 *
 * Serialised by prompt_ask() (one question at a time); tty_lock only
 * guards the descriptor against prompt_tty_detach() from another thread. */
#include "chain/prompt-tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "chain/errors.h"

extern char **environ;

#define PROMPT_TTY_ANSWER_MAX 1024
/* Starts every line the terminal would wrap: a server's long line cannot
 * put text of its choosing at the start of a screen line. */
#define PROMPT_TTY_CONTINUED "  ... "

static GMutex tty_lock;
static int tty_fd = -1; /* /dev/tty, opened before daemonizing; -1 */

void prompt_tty_open(void)
{
	g_mutex_lock(&tty_lock);
	/* Opened now: the daemon's child leaves the terminal's session, after
	 * which it could not open /dev/tty any more. */
	if (tty_fd < 0)
		tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty_fd >= 0 && tcgetpgrp(tty_fd) != getpgrp()) {
		close(tty_fd);
		tty_fd = -1;
	}
	g_mutex_unlock(&tty_lock);
}

void prompt_tty_detach(void)
{
	g_mutex_lock(&tty_lock);
	if (tty_fd >= 0)
		close(tty_fd);
	tty_fd = -1;
	g_mutex_unlock(&tty_lock);
}

/* A dup of the terminal while this process may use it, else -1. A
 * foreground jumpfs (-f) sent to the background later would stop on
 * SIGTTIN; the daemon's child has no controlling terminal (owner -1). */
static int prompt_tty_usable(void)
{
	int fd = -1;
	g_mutex_lock(&tty_lock);
	if (tty_fd >= 0) {
		pid_t owner = tcgetpgrp(tty_fd);
		if (owner < 0 || owner == getpgrp())
			fd = fcntl(tty_fd, F_DUPFD_CLOEXEC, 3);
	}
	g_mutex_unlock(&tty_lock);
	return fd;
}

static void prompt_tty_write(int fd, const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nobody reads the answer either: the read fails */
		text += n;
		len -= (size_t)n;
	}
}

static int prompt_tty_columns(int fd)
{
	struct winsize size;
	if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
		return size.ws_col;
	return 80;
}

/* The question, each line cut where the terminal would wrap it, and the
 * rest continued on lines of our own that start with PROMPT_TTY_CONTINUED
 * (the text is escaped already: every character takes 0, 1 or 2 columns). */
static void prompt_tty_show(int fd, const char *text)
{
	/* A caller's own text (a key file's name) may not be UTF-8. */
	g_autofree char *valid = g_utf8_validate(text, -1, NULL) ? NULL
							      : prompt_escape(text, TRUE);
	if (valid != NULL)
		text = valid;
	int columns = prompt_tty_columns(fd);
	GString *out = g_string_new(NULL);
	int used = 0;
	for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == '\n') {
			g_string_append_c(out, '\n');
			used = 0;
			continue;
		}
		int width = g_unichar_iszerowidth(c) ? 0 : g_unichar_iswide(c) ? 2 : 1;
		if (used + width >= columns) {
			g_string_append(out, "\n" PROMPT_TTY_CONTINUED);
			used = (int)strlen(PROMPT_TTY_CONTINUED);
		}
		g_string_append_len(out, p, g_utf8_next_char(p) - p);
		used += width;
	}
	prompt_tty_write(fd, out->str);
	g_string_free(out, TRUE);
}

/* Terminal state while echo is off; a signal must put it back (else the
 * user's shell is left without echo). */
static volatile sig_atomic_t tty_signal;

static void prompt_tty_on_signal(int sig)
{
	tty_signal = sig;
}

static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* One line from the terminal into buf. Polls, so that a signal caught by
 * another thread, or the death of the process that waits for us (the
 * daemon's parent, whose Ctrl-C the user pressed), ends the prompt. */
static gboolean prompt_tty_read(int fd, const PromptQuestion *question, char *buf, size_t size)
{
	struct sigaction handler = { .sa_handler = prompt_tty_on_signal };
	struct sigaction old[G_N_ELEMENTS(tty_signals)];
	struct termios saved;
	gboolean restore = !question->echo && tcgetattr(fd, &saved) == 0;
	pid_t parent = getppid();
	size_t len = 0;
	gboolean done = FALSE;

	tty_signal = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &handler, &old[i]);
	if (restore) {
		struct termios quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (question->feedback != NULL) {
		prompt_tty_write(fd, question->feedback);
		prompt_tty_write(fd, "\n");
	}
	prompt_tty_show(fd, question->text);
	while (!done && tty_signal == 0 && getppid() == parent) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 250);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			break;
		if (c == '\n' || c == '\r')
			done = TRUE;
		else if (len + 1 < size)
			buf[len++] = c;
		c = 0;
	}
	buf[len] = '\0';
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &saved);
		prompt_tty_write(fd, "\n"); /* the user's Enter was not echoed */
	}
	for (gsize i = 0; i < G_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &old[i], NULL);
	if (tty_signal != 0)
		raise(tty_signal); /* now with the normal disposition */
	if (!done)
		explicit_bzero(buf, size);
	return done;
}

/* Reads one line from fd into buf (newline dropped, overlong input
 * truncated). FALSE on EOF before anything, or error. */
static gboolean prompt_read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	gboolean any = FALSE;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		any = TRUE;
		if (c == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = c;
		c = 0;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return any;
}

/* As OpenSSH: $SSH_ASKPASS PROMPT, the answer is its first line of output;
 * a non-zero exit means the user cancelled. posix_spawn, because other
 * threads (earlier hops' pumps) are running. */
static gboolean prompt_askpass(const char *program, const char *prompt, char *buf,
			       size_t size, GError **error)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "cannot run SSH_ASKPASS program %s: %s", program, g_strerror(errno));
		return FALSE;
	}
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	char *argv[] = { (char *)program, (char *)prompt, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "cannot run SSH_ASKPASS program %s: %s", program, g_strerror(rc));
		return FALSE;
	}
	gboolean any = prompt_read_line(fds[0], buf, size);
	char drain[256];
	while (read(fds[0], drain, sizeof(drain)) > 0)
		; /* let it finish writing */
	explicit_bzero(drain, sizeof(drain));
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!any || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		explicit_bzero(buf, size);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
			    "SSH_ASKPASS gave no answer (cancelled or failed)");
		return FALSE;
	}
	return TRUE;
}

/* Unlike OpenSSH, DISPLAY is not required for SSH_ASKPASS: automount and
 * fstab mounts have none, and the program may not need one. */
char *prompt_tty_ask(const PromptQuestion *question, gpointer user_data, GError **error)
{
	(void)user_data;
	const char *askpass = g_getenv("SSH_ASKPASS");
	const char *require = g_getenv("SSH_ASKPASS_REQUIRE");
	gboolean askpass_ok = askpass != NULL && *askpass != '\0' &&
			      g_strcmp0(require, "never") != 0;
	gboolean askpass_first = askpass_ok && (g_strcmp0(require, "force") == 0 ||
						g_strcmp0(require, "prefer") == 0);
	/* Off the heap's reach of swap, wiped before it is left. */
	char buf[PROMPT_TTY_ANSWER_MAX];
	mlock(buf, sizeof(buf));
	gboolean ok = FALSE;

	int fd = askpass_first ? -1 : prompt_tty_usable();
	if (fd >= 0) {
		ok = prompt_tty_read(fd, question, buf, sizeof(buf));
		close(fd);
		if (!ok)
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
				    "the prompt on the terminal was cancelled");
	} else if (askpass_ok) {
		ok = prompt_askpass(askpass, question->text, buf, sizeof(buf), error);
	} else {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "no terminal to ask on and SSH_ASKPASS is not set "
			    "(use ssh-agent, -o password_stdin or SSH_ASKPASS)");
	}
	char *answer = ok ? g_strdup(buf) : NULL;
	explicit_bzero(buf, sizeof(buf));
	munlock(buf, sizeof(buf));
	return answer;
}
