/* cli/control.c's frames and cli/peer.c's root check, over socketpairs. */
#include <fcntl.h>
#include <glib.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/errors.h"
#include "cli/control.h"
#include "cli/peer.h"

static void pair(int fds[2])
{
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
}

static void test_frame_round_trip(void)
{
	int fds[2];
	pair(fds);
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *strings[] = { "one", "", "three\nlines" };
	g_assert_true(control_send(fds[0], CONTROL_MOUNT, strings, 3, &root, 1));
	g_assert_true(control_send(fds[0], CONTROL_ANSWER, strings, 1, NULL, 0));
	GError *error = NULL;
	g_autoptr(ControlMessage) m = control_recv(fds[1], -1, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(m->type, ==, CONTROL_MOUNT);
	g_assert_cmpuint(m->strings->len, ==, 3);
	g_assert_cmpstr(g_ptr_array_index(m->strings, 1), ==, "");
	g_assert_cmpstr(g_ptr_array_index(m->strings, 2), ==, "three\nlines");
	g_assert_cmpuint(m->n_fds, ==, 1);
	g_assert_true(peer_same_root(m->fds[0], &error));
	g_assert_no_error(error);
	g_autoptr(ControlMessage) next = control_recv(fds[1], -1, -1, &error);
	g_assert_cmpint(next->type, ==, CONTROL_ANSWER);
	g_assert_cmpuint(next->n_fds, ==, 0);
	close(root);
	close(fds[0]);
	g_assert_null(control_recv(fds[1], -1, -1, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED);
	g_clear_error(&error);
	close(fds[1]);
}

static void test_silent_peer_times_out(void)
{
	int fds[2];
	pair(fds);
	/* Half a header, then nothing: the deadline still holds. */
	g_assert_cmpint(write(fds[0], "JF", 2), ==, 2);
	GError *error = NULL;
	gint64 start = g_get_monotonic_time();
	g_assert_null(control_recv(fds[1], start + 100 * 1000, -1, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 100 * 1000);
	g_clear_error(&error);
	close(fds[0]);
	close(fds[1]);
}

static void test_cancel_ends_the_wait(void)
{
	int fds[2];
	pair(fds);
	int cancel = eventfd(1, EFD_CLOEXEC);
	GError *error = NULL;
	g_assert_null(control_recv(fds[1], -1, cancel, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED);
	g_clear_error(&error);
	close(cancel);
	close(fds[0]);
	close(fds[1]);
}

static void test_foreign_bytes_are_refused(void)
{
	static const struct {
		const char *name;
		const char bytes[16];
		size_t len;
	} cases[] = {
		/* jumpfs 0.1's request began with a u32 count. */
		{ "old protocol", { 5, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c' }, 11 },
		/* A length beyond the payload. */
		{ "string overruns", { 0x32, 0x53, 0x46, 0x4a, 'M', 4, 0, 0, 0, 9, 0, 0, 0 }, 13 },
		/* Huge payload announced. */
		{ "too large", { 0x32, 0x53, 0x46, 0x4a, 'M', 0xff, 0xff, 0xff, 0x7f }, 9 },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		int fds[2];
		pair(fds);
		g_assert_cmpint(write(fds[0], cases[i].bytes, cases[i].len), ==,
				(ssize_t)cases[i].len);
		close(fds[0]);
		GError *error = NULL;
		g_assert_null(control_recv(fds[1], g_get_monotonic_time() + G_TIME_SPAN_SECOND,
					   -1, &error));
		g_test_message("%s: %s", cases[i].name, error->message);
		g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL);
		g_clear_error(&error);
		close(fds[1]);
	}
}

static void test_another_root_is_refused(void)
{
	int tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	GError *error = NULL;
	g_assert_false(peer_same_root(tmp, &error));
	g_assert_nonnull(strstr(error->message, "chroot"));
	g_clear_error(&error);
	close(tmp);
	g_assert_false(peer_same_root(-1, &error));
	g_clear_error(&error);
}

/* A child in a mount namespace of its own (unshare -m) sends its root. */
static void test_another_mount_namespace_is_refused(void)
{
	if (getuid() != 0) {
		g_test_skip("needs root to make a mount namespace (unshare CLONE_NEWNS)");
		return;
	}
	int fds[2];
	pair(fds);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(fds[1]);
		if (unshare(CLONE_NEWNS) != 0)
			_exit(1);
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		const char *strings[] = { "x" };
		_exit(control_send(fds[0], CONTROL_MOUNT, strings, 1, &root, 1) ? 0 : 1);
	}
	close(fds[0]);
	GError *error = NULL;
	g_autoptr(ControlMessage) m = control_recv(fds[1], -1, -1, &error);
	g_assert_no_error(error);
	int status;
	waitpid(pid, &status, 0);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpuint(m->n_fds, ==, 1);
	/* The same directory, even the same inode: but a copy of the mount. */
	g_assert_false(peer_same_root(m->fds[0], &error));
	g_assert_nonnull(strstr(error->message, "another mount namespace"));
	g_clear_error(&error);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli/control/frame-round-trip", test_frame_round_trip);
	g_test_add_func("/cli/control/silent-peer-times-out", test_silent_peer_times_out);
	g_test_add_func("/cli/control/cancel", test_cancel_ends_the_wait);
	g_test_add_func("/cli/control/foreign-bytes", test_foreign_bytes_are_refused);
	g_test_add_func("/cli/peer/another-root", test_another_root_is_refused);
	g_test_add_func("/cli/peer/another-mount-namespace",
			test_another_mount_namespace_is_refused);
	return g_test_run();
}
