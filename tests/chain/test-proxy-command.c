/* proxy_command_start() against local commands: the stream, what the
 * command inherits (exactly fds 0-2, no blocked or ignored signal, the
 * requester's environment and cwd), exit status and stderr in messages,
 * the bounds on stderr, ending a command, ProxyUseFdpass.
 * $PROXY_PROBE is tests/chain/proxy-probe (set by meson). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain/errors.h"
#include "chain/proxy-command.h"

#define LABEL "hop 1/2 (u@h:22)"

static const char *probe;

/* ---- log capture (messages come from the reader thread) ---- */

static GMutex captured_lock;
static GPtrArray *captured; /* char *: "LEVEL text" */

static void capture(const char *domain, GLogLevelFlags level, const char *message,
		    gpointer data)
{
	(void)domain;
	(void)data;
	if (!(level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING)))
		return;
	g_mutex_lock(&captured_lock);
	g_ptr_array_add(captured, g_strdup_printf("%s %s",
		(level & G_LOG_LEVEL_WARNING) ? "warning" : "message", message));
	g_mutex_unlock(&captured_lock);
}

/* The one warning these tests provoke on purpose. */
static gboolean fatal_unless_expected(const char *domain, GLogLevelFlags level,
				      const char *message, gpointer data)
{
	(void)domain;
	(void)level;
	(void)data;
	return strstr(message, "the hop is lost") == NULL;
}

static void captured_reset(void)
{
	g_mutex_lock(&captured_lock);
	g_ptr_array_set_size(captured, 0);
	g_mutex_unlock(&captured_lock);
}

static guint captured_count(const char *part)
{
	guint n = 0;
	g_mutex_lock(&captured_lock);
	for (guint i = 0; i < captured->len; i++)
		n += strstr(captured->pdata[i], part) != NULL;
	g_mutex_unlock(&captured_lock);
	return n;
}

/* ---- helpers ---- */

static char **test_environment(const char *shell)
{
	char **env = g_get_environ();
	env = g_environ_setenv(env, "SHELL", shell, TRUE);
	env = g_environ_setenv(env, "PROXY_PROBE_ENV", "from-the-requester", TRUE);
	return env;
}

static ProxyCommand *start(const char *command, gboolean fdpass, int *fd, GError **error)
{
	g_auto(GStrv) env = test_environment("/bin/sh");
	ProxyCommandSpec spec = { .command = command, .fdpass = fdpass, .environment = env,
				  .working_dir = "/", .label = LABEL, .timeout_s = 5 };
	return proxy_command_start(&spec, fd, error);
}

static char *read_all(int fd)
{
	GString *text = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(text, buf, n);
	return g_string_free(text, FALSE);
}

static gboolean pid_gone(pid_t pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

/* ---- tests ---- */

static void test_stream(void)
{
	int fd = -1;
	GError *error = NULL;
	ProxyCommand *proxy = start("cat", FALSE, &fd, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	g_assert_cmpint(write(fd, "ping\n", 5), ==, 5);
	char buf[8] = { 0 };
	g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 5);
	g_assert_cmpstr(buf, ==, "ping\n");
	pid_t pid = proxy_command_pid(proxy);
	g_assert_false(proxy_command_exited(proxy));
	/* Our end closed: cat sees EOF and exits 0. */
	close(fd);
	g_autofree char *why = proxy_command_describe(proxy, 5000);
	g_assert_cmpstr(why, ==, "exited with status 0");
	proxy_command_free(proxy);
	g_assert_true(pid_gone(pid));
}

/* What a daemon thread has that the command must not get: an inheritable
 * fd, blocked signals, ignored signals, another cwd. */
static void test_inherits_nothing(void)
{
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	g_assert_cmpint(leak, >, 2);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_pipe, old_usr2;
	sigaction(SIGPIPE, &ignore, &old_pipe);
	sigaction(SIGUSR2, &ignore, &old_usr2);

	g_autofree char *dir = g_dir_make_tmp("proxy-cwd-XXXXXX", NULL);
	g_autofree char *command = g_strdup_printf("%s report", probe);
	g_auto(GStrv) env = test_environment("/bin/sh");
	ProxyCommandSpec spec = { .command = command, .environment = env, .working_dir = dir,
				  .label = LABEL, .timeout_s = 5 };
	int fd = -1;
	GError *error = NULL;
	ProxyCommand *proxy = proxy_command_start(&spec, &fd, &error);
	g_assert_no_error(error);
	g_autofree char *report = read_all(fd);
	close(fd);
	g_autofree char *want = g_strdup_printf(
		"fds 0:sock 1:sock 2:fifo\nsigblk 0000000000000000\nsigign 0000000000000000\n"
		"cwd %s\nenv from-the-requester\n", dir);
	g_assert_cmpstr(report, ==, want);
	proxy_command_free(proxy);

	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGUSR2, &old_usr2, NULL);
	close(leak);
	g_rmdir(dir);
}

static void test_exit_status_and_stderr(void)
{
	int fd = -1;
	ProxyCommand *proxy = start("sh -c 'echo \"nc: connect to backend port 22: refused\" >&2; "
				    "exit 3'", FALSE, &fd, NULL);
	g_autofree char *nothing = read_all(fd); /* EOF: the hop would die here */
	g_assert_cmpstr(nothing, ==, "");
	g_autofree char *why = proxy_command_describe(proxy, 5000);
	g_assert_cmpstr(why, ==, "exited with status 3: nc: connect to backend port 22: refused");
	close(fd);
	proxy_command_free(proxy);
}

/* Before the hop is up lines are only held (32 at most); what one line
 * and the tail can hold is bounded too. */
static void test_stderr_held_bounded(void)
{
	captured_reset();
	g_autofree char *command = g_strdup_printf("%s stderr 1000 100000", probe);
	int fd = -1;
	ProxyCommand *proxy = start(command, FALSE, &fd, NULL);
	g_autofree char *why = proxy_command_describe(proxy, 10000);
	g_autofree char *cut = g_strnfill(PROXY_COMMAND_LINE_MAX, 'x');
	g_autofree char *want = g_strdup_printf(
		"exited with status 7: line 998; line 999; line 1000; %s [...]", cut);
	g_assert_cmpstr(why, ==, want);
	g_assert_cmpuint(captured_count("ProxyCommand:"), ==, 0);

	proxy_command_hop_up(proxy);
	g_assert_cmpuint(captured_count(LABEL ": ProxyCommand: line "), ==,
			 PROXY_COMMAND_HELD_LINES);
	g_assert_cmpuint(captured_count(LABEL ": ProxyCommand: line 32"), ==, 1);
	g_assert_cmpuint(captured_count(LABEL ": ProxyCommand: line 33"), ==, 0);
	g_autofree char *dropped = g_strdup_printf("ProxyCommand: %u more lines were not kept",
						   1001 - PROXY_COMMAND_HELD_LINES);
	g_assert_cmpuint(captured_count(dropped), ==, 1);
	close(fd);
	proxy_command_free(proxy);
}

/* Once the hop is up, lines are logged as they come, up to a bound; the
 * command's end is a warning (the hop is lost). */
static void test_stderr_logged_bounded(void)
{
	g_test_log_set_fatal_handler(fatal_unless_expected, NULL); /* reset per test */
	captured_reset();
	g_autofree char *command = g_strdup_printf("sh -c 'sleep 0.2; exec %s stderr 5000 10'",
						   probe);
	int fd = -1;
	ProxyCommand *proxy = start(command, FALSE, &fd, NULL);
	proxy_command_hop_up(proxy);
	g_autofree char *why = proxy_command_describe(proxy, 10000);
	g_assert_true(g_str_has_prefix(why, "exited with status 7: line 4998; line 4999; line 5000; xxxxxxxxxx"));
	g_assert_cmpuint(captured_count(LABEL ": ProxyCommand: line "), ==, PROXY_COMMAND_LOG_LINES);
	g_assert_cmpuint(captured_count("ProxyCommand: further output is not logged"), ==, 1);
	g_assert_cmpuint(captured_count("warning " LABEL ": the ProxyCommand exited with status 7: "
					"the hop is lost"), ==, 1);
	close(fd);
	proxy_command_free(proxy);
}

static void test_free_ends_the_command(void)
{
	int fd = -1;
	ProxyCommand *proxy = start("sleep 30", FALSE, &fd, NULL);
	pid_t pid = proxy_command_pid(proxy);
	gint64 started = g_get_monotonic_time();
	proxy_command_free(proxy);
	g_assert_cmpint(g_get_monotonic_time() - started, <, G_USEC_PER_SEC / 2);
	g_assert_true(pid_gone(pid));
	close(fd);

	/* One that ignores SIGHUP gets SIGKILL a second later. */
	proxy = start("sh -c 'trap \"\" HUP; exec sleep 30'", FALSE, &fd, NULL);
	pid = proxy_command_pid(proxy);
	g_usleep(G_USEC_PER_SEC / 5); /* let the trap be set */
	started = g_get_monotonic_time();
	proxy_command_free(proxy);
	g_assert_cmpint(g_get_monotonic_time() - started, >=, G_USEC_PER_SEC * 9 / 10);
	g_assert_true(pid_gone(pid));
	close(fd);
}

static void test_no_shell(void)
{
	g_auto(GStrv) env = test_environment("/nonexistent/shell");
	ProxyCommandSpec spec = { .command = "cat", .environment = env, .label = LABEL,
				  .timeout_s = 5 };
	int fd = -1;
	GError *error = NULL;
	g_assert_null(proxy_command_start(&spec, &fd, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_autofree char *want = g_strdup_printf(LABEL ": cannot run the ProxyCommand with "
						"/nonexistent/shell: %s", g_strerror(ENOENT));
	g_assert_cmpstr(error->message, ==, want);
	g_error_free(error);
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_fdpass(void)
{
	int port;
	int listener = listen_loopback(&port);
	g_autofree char *command = g_strdup_printf("%s fdpass 127.0.0.1 %d", probe, port);
	int fd = -1;
	GError *error = NULL;
	ProxyCommand *proxy = start(command, TRUE, &fd, &error);
	g_assert_no_error(error);
	/* The very TCP connection the command made, not a socketpair. */
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	g_assert_cmpint(getpeername(fd, (struct sockaddr *)&peer, &len), ==, 0);
	g_assert_cmpint(peer.sin_family, ==, AF_INET);
	g_assert_cmpint(ntohs(peer.sin_port), ==, port);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	int accepted = accept(listener, NULL, NULL);
	g_assert_cmpint(write(fd, "hi", 2), ==, 2);
	char buf[4] = { 0 };
	g_assert_cmpint(read(accepted, buf, sizeof(buf)), ==, 2);
	g_assert_cmpstr(buf, ==, "hi");
	/* Its job done, the command exits 0: no warning, the hop lives on. */
	g_autofree char *why = proxy_command_describe(proxy, 5000);
	g_assert_cmpstr(why, ==, "exited with status 0");
	proxy_command_hop_up(proxy);
	close(accepted);
	close(fd);
	close(listener);
	proxy_command_free(proxy);
}

static void test_fdpass_nothing_passed(void)
{
	int port;
	close(listen_loopback(&port)); /* nothing listens there now */
	g_autofree char *command = g_strdup_printf("%s fdpass 127.0.0.1 %d", probe, port);
	int fd = -1;
	GError *error = NULL;
	g_assert_null(start(command, TRUE, &fd, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_UNREACHABLE);
	g_autofree char *want = g_strdup_printf(LABEL ": ProxyUseFdpass: no connection passed: "
		"the ProxyCommand exited with status 1: proxy-probe: connect: %s",
		g_strerror(ECONNREFUSED));
	g_assert_cmpstr(error->message, ==, want);
	g_error_free(error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	probe = g_getenv("PROXY_PROBE");
	if (probe == NULL) {
		g_printerr("PROXY_PROBE is not set (meson sets it to tests/proxy-probe)\n");
		return 1;
	}
	captured = g_ptr_array_new_with_free_func(g_free);
	g_log_set_handler(NULL, G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL, capture, NULL);
	g_test_add_func("/chain/proxy-command/stream", test_stream);
	g_test_add_func("/chain/proxy-command/inherits-nothing", test_inherits_nothing);
	g_test_add_func("/chain/proxy-command/exit-status-and-stderr", test_exit_status_and_stderr);
	g_test_add_func("/chain/proxy-command/stderr-held-bounded", test_stderr_held_bounded);
	g_test_add_func("/chain/proxy-command/stderr-logged-bounded", test_stderr_logged_bounded);
	g_test_add_func("/chain/proxy-command/free-ends-the-command", test_free_ends_the_command);
	g_test_add_func("/chain/proxy-command/no-shell", test_no_shell);
	g_test_add_func("/chain/proxy-command/fdpass", test_fdpass);
	g_test_add_func("/chain/proxy-command/fdpass-nothing-passed", test_fdpass_nothing_passed);
	int status = g_test_run();
	g_ptr_array_unref(captured);
	return status;
}
