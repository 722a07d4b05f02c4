/* The fixture of the test-sftp-* programs: see sftp-fixture.h. */
#include "sftp-fixture.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

const int sftp_own_server = 1;

pid_t spawn_server(const char *dir, gboolean as_nobody, const char *extra_arg,
		   const char *prefix_shell, int *fd_out)
{
	const char *args[] = { extra_arg, NULL };
	SftpServerOptions options = {
		.dir = dir, .as_nobody = as_nobody, .args = args,
		.shell = prefix_shell, .quiet = TRUE,
	};
	GError *error = NULL;
	pid_t pid = sftp_server_spawn(&options, fd_out, &error);
	g_assert_no_error(error);
	g_assert_cmpint(pid, >, 0);
	return pid;
}

void reap(Fixture *f)
{
	sftp_server_kill(&f->pid);
}

void start_with(Fixture *f, gboolean as_nobody, const char *extra_arg)
{
	GError *error = NULL;
	f->pid = spawn_server(f->dir, as_nobody, extra_arg, NULL, &f->fd);
	f->conn = sftpc_start(f->fd, &error);
	g_assert_no_error(error);
	g_assert_nonnull(f->conn);
}

void setup(Fixture *f, gconstpointer data)
{
	f->dir = test_make_tmpdir("jumpfs-sftp-XXXXXX");
	f->pid = 0;
	f->conn = NULL;
	if (data == NULL) /* tests that start their own server pass non-NULL */
		start_with(f, FALSE, NULL);
}

void teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	sftpc_unref(f->conn);
	reap(f);
	g_assert_cmpint(test_remove_tree(f->dir), ==, 0);
	g_free(f->dir);
}

char *P(Fixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

guint8 *random_bytes(size_t len)
{
	guint8 *buf = g_malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (guint8)g_test_rand_int();
	return buf;
}

void write_local(const char *path, const void *data, size_t len)
{
	GError *error = NULL;
	g_file_set_contents(path, data, (gssize)len, &error);
	g_assert_no_error(error);
}

gint64 now_us(void)
{
	return g_get_monotonic_time();
}

/* Bytes we sent that the server has not read yet: > 0 while a stopped
 * server has a request of ours queued. */
static int unread_by_server(Fixture *f)
{
	int n = 0;
	g_assert_cmpint(ioctl(f->fd, SIOCOUTQ, &n), ==, 0);
	return n;
}

void wait_request_queued(Fixture *f)
{
	gint64 end = now_us() + 5 * G_USEC_PER_SEC;
	while (unread_by_server(f) == 0) {
		g_assert_cmpint(now_us(), <, end);
		g_usleep(1000);
	}
}

void open_rw(Fixture *f, const char *path, uint32_t extra, SftpHandle *h)
{
	SftpAttrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = 0644 };
	int r = sftpc_open(f->conn, path, SFTP_OPEN_READ | SFTP_OPEN_WRITE |
			   SFTP_OPEN_CREAT | extra, &a, h);
	g_assert_cmpint(r, ==, 0);
}

static void skip_no_server(void)
{
	g_test_skip(SFTP_SERVER_PATH " is not installed (package openssh-sftp-server)");
}

gboolean sftp_tests_init(int *argc, char ***argv)
{
	g_test_init(argc, argv, NULL);
	if (sftp_server_available())
		return TRUE;
	g_test_add_func("/fs/sftp/no-server", skip_no_server);
	return FALSE;
}
