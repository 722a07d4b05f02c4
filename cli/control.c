/* Control sockets: where they live, who may talk to them, and their frames.
 *
 * A frame is: u32 magic, u8 type, u32 payload length, payload = strings,
 * each u32 length + bytes. The magic lets both ends recognise an older
 * jumpfs: the protocol before it began with a small u32 count, which an
 * old daemon takes our magic for (too many strings: it hangs up without a
 * word), and which we answer with an old-style "not for me" ('2'). Either
 * way the client serves the mount itself. */
#include "cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chain/errors.h"

#define CONTROL_MAGIC 0x4a465332u        /* "JFS2" */
#define CONTROL_MAX_PAYLOAD (4u << 20)   /* argv + the whole environment */
#define CONTROL_MAX_STRINGS 16384

struct ControlServer {
	int fd;
	char *path;
};

typedef struct __attribute__((packed)) {
	uint32_t magic;
	uint8_t type;
	uint32_t length;
} ControlHeader;

void control_message_free(ControlMessage *message)
{
	if (message == NULL)
		return;
	for (guint i = 0; i < message->strings->len; i++) {
		char *s = g_ptr_array_index(message->strings, i);
		explicit_bzero(s, strlen(s)); /* answers may be passwords */
		g_free(s);
	}
	g_ptr_array_free(message->strings, TRUE);
	for (guint i = 0; i < message->n_fds; i++)
		if (message->fds[i] >= 0)
			close(message->fds[i]);
	g_free(message);
}

/* --- sending ------------------------------------------------------------ */

static gboolean control_write_all(int fd, const char *p, size_t len)
{
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

gboolean control_send(int fd, char type, const char *const *strings, guint n_strings,
		      const int *fds, guint n_fds)
{
	GString *frame = g_string_new(NULL);
	ControlHeader header = { .magic = CONTROL_MAGIC, .type = (uint8_t)type };
	g_string_append_len(frame, (const char *)&header, sizeof(header));
	for (guint i = 0; i < n_strings; i++) {
		const char *s = strings[i] ? strings[i] : "";
		uint32_t len = (uint32_t)strlen(s);
		g_string_append_len(frame, (const char *)&len, sizeof(len));
		g_string_append_len(frame, s, len);
	}
	uint32_t length = (uint32_t)(frame->len - sizeof(header));
	memcpy(frame->str + offsetof(ControlHeader, length), &length, sizeof(length));

	gboolean ok;
	if (n_fds > 0) {
		/* The descriptors ride on the first byte. */
		char control[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)] = { 0 };
		struct iovec iov = { .iov_base = frame->str, .iov_len = 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control, .msg_controllen = CMSG_SPACE(sizeof(int) * n_fds),
		};
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
		ssize_t n;
		do {
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		ok = n == 1 && control_write_all(fd, frame->str + 1, frame->len - 1);
	} else {
		ok = control_write_all(fd, frame->str, frame->len);
	}
	/* The frame may hold an answer (a password). */
	explicit_bzero(frame->str, frame->len);
	g_string_free(frame, TRUE);
	return ok;
}

/* --- receiving ---------------------------------------------------------- */

typedef struct {
	int fd;
	gint64 deadline_us;
	int cancel_fd;
	ControlMessage *message; /* collects descriptors */
} ControlReader;

/* Waits until fd is readable; FALSE with *error on timeout or cancel. */
static gboolean control_wait(ControlReader *reader, GError **error)
{
	for (;;) {
		int timeout_ms = -1;
		if (reader->deadline_us >= 0) {
			gint64 left = reader->deadline_us - g_get_monotonic_time();
			if (left <= 0) {
				g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT,
					    "control socket: the peer said nothing in time");
				return FALSE;
			}
			timeout_ms = (int)((left + 999) / 1000);
		}
		struct pollfd fds[2] = {
			{ .fd = reader->fd, .events = POLLIN },
			{ .fd = reader->cancel_fd, .events = POLLIN },
		};
		int n = poll(fds, 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
				    "control socket: %s", g_strerror(errno));
			return FALSE;
		}
		if (fds[1].revents != 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
				    "control socket: cancelled (the daemon is stopping)");
			return FALSE;
		}
		if (fds[0].revents != 0)
			return TRUE;
	}
}

static void control_take_fds(ControlReader *reader, struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		guint count = (guint)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		const int *fds = (const int *)CMSG_DATA(c);
		for (guint i = 0; i < count; i++) {
			if (reader->message->n_fds < CONTROL_MAX_FDS)
				reader->message->fds[reader->message->n_fds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

static gboolean control_read_all(ControlReader *reader, void *data, size_t len, GError **error)
{
	char *p = data;
	while (len > 0) {
		if (!control_wait(reader, error))
			return FALSE;
		char control[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = control, .msg_controllen = sizeof(control),
		};
		ssize_t n = recvmsg(reader->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n > 0)
			control_take_fds(reader, &msg);
		if (n <= 0) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
				    "control socket: the peer went away");
			return FALSE;
		}
		p += n;
		len -= (size_t)n;
	}
	return TRUE;
}

static gboolean control_parse_strings(ControlMessage *message, const char *payload,
				      uint32_t length, GError **error)
{
	uint32_t at = 0;
	while (at < length) {
		uint32_t len;
		if (length - at < sizeof(len) ||
		    message->strings->len >= CONTROL_MAX_STRINGS)
			goto bad;
		memcpy(&len, payload + at, sizeof(len));
		at += sizeof(len);
		if (len > length - at || memchr(payload + at, '\0', len) != NULL)
			goto bad;
		g_ptr_array_add(message->strings, g_strndup(payload + at, len));
		at += len;
	}
	return TRUE;
bad:
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
		    "control socket: a malformed message");
	return FALSE;
}

ControlMessage *control_recv(int fd, gint64 deadline_us, int cancel_fd, GError **error)
{
	ControlMessage *message = g_new0(ControlMessage, 1);
	message->strings = g_ptr_array_new();
	ControlReader reader = { fd, deadline_us, cancel_fd, message };
	ControlHeader header;
	if (!control_read_all(&reader, &header, sizeof(header), error))
		goto fail;
	if (header.magic != CONTROL_MAGIC || header.length > CONTROL_MAX_PAYLOAD) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "control socket: not a jumpfs of this version");
		goto fail;
	}
	message->type = (char)header.type;
	char *payload = g_malloc(header.length + 1);
	gboolean ok = control_read_all(&reader, payload, header.length, error) &&
		      control_parse_strings(message, payload, header.length, error);
	explicit_bzero(payload, header.length);
	g_free(payload);
	if (ok)
		return message;
fail:
	control_message_free(message);
	return NULL;
}

/* --- where, and who ----------------------------------------------------- */

char *control_dir(void)
{
	const char *runtime = g_getenv("XDG_RUNTIME_DIR");
	char *dir = runtime && *runtime
		? g_build_filename(runtime, "jumpfs", NULL)
		: g_strdup_printf("/tmp/jumpfs-%u", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		g_free(dir);
		return NULL;
	}
	/* Ours alone: not a symlink, not someone else's, closed to others. */
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0) {
		g_warning("not sharing connections: %s is not a private directory of yours", dir);
		g_free(dir);
		return NULL;
	}
	return dir;
}

static gboolean control_address(const char *name, struct sockaddr_un *addr, char **path_out)
{
	g_autofree char *dir = control_dir();
	if (dir == NULL)
		return FALSE;
	char *path = g_build_filename(dir, name, NULL);
	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr->sun_path)) {
		g_free(path);
		return FALSE;
	}
	g_strlcpy(addr->sun_path, path, sizeof(addr->sun_path));
	*path_out = path;
	return TRUE;
}

static gboolean control_peer_is_us(int fd, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != getuid())
		return FALSE;
	if (pid != NULL)
		*pid = cred.pid;
	return TRUE;
}

int control_connect(const char *name, gboolean *stale)
{
	struct sockaddr_un addr;
	g_autofree char *path = NULL;
	if (stale != NULL)
		*stale = FALSE;
	if (!control_address(name, &addr, &path))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (stale != NULL)
			*stale = errno == ECONNREFUSED;
		close(fd);
		return -1;
	}
	if (!control_peer_is_us(fd, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

ControlServer *control_listen(const char *name)
{
	struct sockaddr_un addr;
	char *path = NULL;
	if (!control_address(name, &addr, &path))
		return NULL;
	/* Bind, and take over a dead daemon's socket, one process at a time:
	 * two that both found it dead must not each unlink the other's. */
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *lock_path = g_build_filename(dir, "lock", NULL);
	int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock_fd >= 0)
		flock(lock_fd, LOCK_EX);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ControlServer *server = NULL;
	for (int attempt = 0; fd >= 0 && attempt < 2; attempt++) {
		mode_t old_umask = umask(077);
		int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
		umask(old_umask);
		if (rc == 0 && listen(fd, 64) == 0) {
			server = g_new0(ControlServer, 1);
			server->fd = fd;
			server->path = path;
			break;
		}
		if (errno != EADDRINUSE)
			break;
		/* A live daemon answers; a dead one left its socket behind. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		gboolean live = probe >= 0 &&
				connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			break;
		unlink(path);
	}
	if (lock_fd >= 0)
		close(lock_fd); /* releases the lock */
	if (server != NULL)
		return server;
	g_debug("not listening: the control socket %s is taken", path);
	if (fd >= 0)
		close(fd);
	g_free(path);
	return NULL;
}

int control_fd(ControlServer *server)
{
	return server->fd;
}

int control_accept(ControlServer *server, pid_t *pid)
{
	int fd = accept4(server->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!control_peer_is_us(fd, pid)) {
		g_warning("control socket: refused a connection from another user");
		close(fd);
		return -1;
	}
	return fd;
}

void control_close(ControlServer *server)
{
	if (server == NULL)
		return;
	unlink(server->path);
	close(server->fd);
	g_free(server->path);
	g_free(server);
}
