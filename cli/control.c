/* Control socket: where it lives, who may talk to it, and its tiny
 * protocol: the client sends u32 count, then count strings (u32 length +
 * bytes): the working directory, its context, then argv; the daemon
 * answers one byte ('0' mounted, '1' failed, '2' not for me: serve it
 * yourself) followed by a message, and closes. */
#include "cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_MAX_STRINGS 256
#define CONTROL_MAX_STRING (64 * 1024)

struct ControlServer {
	int fd;
	char *path;
	char *context;
};

/* What a mount inherits from the process that serves it: a daemon only
 * takes mounts whose command ran in the same mount namespace (a mount
 * made elsewhere would land in the wrong one) with the same agent and
 * askpass (they authenticate new hops). */
static char *control_context(void)
{
	g_autofree char *mnt_ns = g_file_read_link("/proc/self/ns/mnt", NULL);
	return g_strdup_printf("mnt=%s agent=%s askpass=%s display=%s",
			       mnt_ns ? mnt_ns : "?",
			       g_getenv("SSH_AUTH_SOCK") ? g_getenv("SSH_AUTH_SOCK") : "",
			       g_getenv("SSH_ASKPASS") ? g_getenv("SSH_ASKPASS") : "",
			       g_getenv("DISPLAY") ? g_getenv("DISPLAY") : "");
}

/* The directory must be ours alone: created 0700 if missing; refused if
 * it is a symlink, someone else's, or open to others. */
static char *control_socket_path(void)
{
	const char *runtime = g_getenv("XDG_RUNTIME_DIR");
	g_autofree char *dir = runtime && *runtime
		? g_build_filename(runtime, "jumpfs", NULL)
		: g_strdup_printf("/tmp/jumpfs-%u", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return NULL;
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0) {
		g_warning("not sharing connections: %s is not a private directory of yours", dir);
		return NULL;
	}
	char *path = g_build_filename(dir, "control", NULL);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		g_free(path);
		return NULL;
	}
	return path;
}

static struct sockaddr_un control_address(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	return addr;
}

static gboolean control_peer_is_us(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       cred.uid == getuid();
}

static gboolean control_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gboolean control_read_all(int fd, void *data, size_t len)
{
	char *p = data;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gboolean control_send_string(int fd, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);
	return control_write_all(fd, &len, sizeof(len)) && control_write_all(fd, s, len);
}

static char *control_recv_string(int fd)
{
	uint32_t len;
	if (!control_read_all(fd, &len, sizeof(len)) || len > CONTROL_MAX_STRING)
		return NULL;
	char *s = g_malloc(len + 1);
	if (!control_read_all(fd, s, len)) {
		g_free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

static int control_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un addr = control_address(path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

gboolean control_delegate(int argc, char **argv, int *status)
{
	g_autofree char *path = control_socket_path();
	if (path == NULL)
		return FALSE;
	int fd = control_connect(path);
	if (fd < 0)
		return FALSE;
	if (!control_peer_is_us(fd)) {
		close(fd);
		return FALSE;
	}
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *context = control_context();
	uint32_t count = (uint32_t)argc + 2;
	gboolean sent = control_write_all(fd, &count, sizeof(count)) &&
			control_send_string(fd, cwd) && control_send_string(fd, context);
	for (int i = 0; sent && i < argc; i++)
		sent = control_send_string(fd, argv[i]);

	GString *answer = g_string_new(NULL);
	char buf[512];
	ssize_t n;
	while (sent && (n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(answer, buf, n);
	close(fd);
	if (answer->len == 0 || answer->str[0] == '2') {
		/* The daemon went away without a word (it was exiting), or
		 * this mount is not for it: serve it ourselves. */
		g_string_free(answer, TRUE);
		return FALSE;
	}
	*status = answer->str[0] == '0' ? 0 : 1;
	if (answer->len > 1)
		fprintf(*status == 0 ? stdout : stderr, "jumpfs: %s\n", answer->str + 1);
	g_string_free(answer, TRUE);
	return TRUE;
}

ControlServer *control_listen(void)
{
	char *path = control_socket_path();
	if (path == NULL)
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = control_address(path);
	for (int attempt = 0; fd >= 0 && attempt < 2; attempt++) {
		mode_t old_umask = umask(077);
		int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
		umask(old_umask);
		if (rc == 0 && listen(fd, 16) == 0) {
			ControlServer *server = g_new0(ControlServer, 1);
			server->fd = fd;
			server->path = path;
			server->context = control_context();
			return server;
		}
		if (errno != EADDRINUSE)
			break;
		/* A live daemon answers; a dead one left its socket behind. */
		int probe = control_connect(path);
		if (probe >= 0) {
			close(probe);
			break;
		}
		unlink(path);
	}
	g_debug("not sharing: the control socket %s is taken", path);
	if (fd >= 0)
		close(fd);
	g_free(path);
	return NULL;
}

int control_fd(ControlServer *server)
{
	return server->fd;
}

int control_accept(ControlServer *server, char ***argv_out, char **cwd_out)
{
	int fd = accept4(server->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!control_peer_is_us(fd)) {
		g_warning("control socket: refused a connection from another user");
		close(fd);
		return -1;
	}
	uint32_t count = 0;
	if (!control_read_all(fd, &count, sizeof(count)) || count < 3 ||
	    count > CONTROL_MAX_STRINGS) {
		close(fd);
		return -1;
	}
	char *cwd = control_recv_string(fd);
	g_autofree char *context = cwd ? control_recv_string(fd) : NULL;
	if (context != NULL && strcmp(context, server->context) != 0) {
		control_reply(fd, '2', "not for this daemon");
		g_free(cwd);
		return -1;
	}
	GPtrArray *argv = g_ptr_array_new();
	for (uint32_t i = 2; context != NULL && i < count; i++) {
		char *s = control_recv_string(fd);
		if (s == NULL)
			break;
		g_ptr_array_add(argv, s);
	}
	if (context == NULL || argv->len != count - 2) {
		g_ptr_array_set_free_func(argv, g_free);
		g_ptr_array_free(argv, TRUE);
		g_free(cwd);
		close(fd);
		return -1;
	}
	g_ptr_array_add(argv, NULL);
	*argv_out = (char **)g_ptr_array_free(argv, FALSE);
	*cwd_out = cwd;
	return fd;
}

void control_reply(int client_fd, char status, const char *message)
{
	control_write_all(client_fd, &status, 1);
	if (message != NULL)
		control_write_all(client_fd, message, strlen(message));
	close(client_fd);
}

void control_close(ControlServer *server)
{
	if (server == NULL)
		return;
	unlink(server->path);
	close(server->fd);
	g_free(server->path);
	g_free(server->context);
	g_free(server);
}
