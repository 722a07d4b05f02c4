/* A session's owner thread: channels <-> socketpairs, keepalives, death.
 *
 * The session runs in libssh's non-blocking mode, so the loop never waits
 * anywhere but in poll(2). Each channel is a Link with a bounded buffer per
 * direction; a full buffer stops reading from its source, which is what
 * makes flow control reach from the SFTP client to the far sshd: an unread
 * channel keeps its SSH window closed, an unread socket fills up.
 *
 * libssh 0.10's ssh_connector is not used: it stalls request/response
 * traffic (see shared notes), so the pump drains channels itself. */
#include "chain/pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/server.h> /* ssh_send_keepalive: works for clients too */

#include "chain/errors.h"

#define LINK_BUFFER_SIZE (256 * 1024)
#define SOCKET_BUFFER_SIZE (512 * 1024)
#define CHANNEL_OPEN_TIMEOUT_S 30

/* Bytes waiting to move one way; [start, end) is filled. */
typedef struct {
	char *data;
	size_t start, end;
} LinkBuffer;

/* One channel and the pump's end of its socketpair. */
typedef struct {
	ssh_channel channel;
	int fd;
	LinkBuffer to_local;    /* from the channel, for fd */
	LinkBuffer to_remote;   /* from fd, for the channel */
	gboolean local_eof;     /* fd reached EOF */
	gboolean remote_eof;    /* channel reached EOF */
	gboolean eof_sent;      /* ssh_channel_send_eof done */
	gboolean local_shut;    /* shutdown(fd, SHUT_WR) done */
	gboolean failed;
	gboolean nudge;         /* request/response traffic: see pump_nudge */
} Link;

typedef enum { OPEN_FORWARD, OPEN_SUBSYSTEM } OpenKind;

/* A request from another thread, answered by the pump thread. */
typedef struct {
	OpenKind kind;
	const char *target;     /* host or subsystem name */
	int port;
	int result_fd;
	GError *error;
	gboolean done;
} OpenRequest;

struct Pump {
	ssh_session session;    /* owned by the thread once started */
	char *label;
	int keepalive_interval_s;
	int keepalive_count_max;
	GThread *thread;
	int wake_fd;            /* eventfd: requests queued or stop asked */

	/* Protects requests, done flags, stopping and alive. */
	GMutex lock;
	GCond answered;
	GQueue requests;        /* OpenRequest *, borrowed from callers */
	gboolean stopping;
	gboolean alive;

	/* Thread-local state, touched only by the pump thread. */
	GPtrArray *links;       /* Link * */
	gint link_count;        /* links->len, readable from any thread */
	gint64 last_rx_us;      /* monotonic time of the last incoming data */
	gint64 last_tx_us;      /* ... of the last data sent on a nudge link */
	gint64 last_nudge_us;
	gint64 nudge_gap_us;    /* wait before the next nudge; doubles */
};

static void link_buffer_init(LinkBuffer *b)
{
	b->data = g_malloc(LINK_BUFFER_SIZE);
	b->start = b->end = 0;
}

static size_t link_buffer_used(const LinkBuffer *b)
{
	return b->end - b->start;
}

/* Room at the end, compacting first when the front is mostly consumed. */
static size_t link_buffer_room(LinkBuffer *b)
{
	if (b->start == b->end) {
		b->start = b->end = 0;
	} else if (b->start > LINK_BUFFER_SIZE / 2) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return LINK_BUFFER_SIZE - b->end;
}

static Link *link_new(ssh_channel channel, int fd)
{
	Link *link = g_new0(Link, 1);
	link->channel = channel;
	link->fd = fd;
	link_buffer_init(&link->to_local);
	link_buffer_init(&link->to_remote);
	return link;
}

static void link_free(Link *link)
{
	if (link->channel != NULL) {
		ssh_channel_close(link->channel);
		ssh_channel_free(link->channel);
	}
	if (link->fd >= 0)
		close(link->fd);
	g_free(link->to_local.data);
	g_free(link->to_remote.data);
	g_free(link);
}

static void pump_wake(Pump *pump)
{
	uint64_t one = 1;
	ssize_t n = write(pump->wake_fd, &one, sizeof(one));
	(void)n; /* a full eventfd is already a wake-up */
}

static void pump_mark_dead(Pump *pump, const char *why);
static void pump_note_tx(Pump *pump);

/* ---- opening channels (pump thread) ---- */

/* libssh reports an open failure as "... error (CODE) TEXT": the code is
 * the RFC 4254 reason, which is what tells "forwarding disabled" from
 * "the next host refused". */
static void pump_set_open_error(Pump *pump, const OpenRequest *req, GError **error)
{
	const char *text = ssh_get_error(pump->session);
	const char *paren = strstr(text, "error (");
	int reason = paren ? atoi(paren + 7) : 0;
	const char *detail = paren ? strchr(paren, ')') : NULL;
	detail = detail ? detail + 1 : text;
	while (*detail == ' ')
		detail++;

	if (req->kind == OPEN_SUBSYSTEM) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CHANNEL_DENIED,
			    "%s: could not start the '%s' subsystem: %s "
			    "(is SFTP enabled in its sshd_config?)",
			    pump->label, req->target, text);
	} else if (reason == 1) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CHANNEL_DENIED,
			    "%s refused to forward to %s:%d: administratively "
			    "prohibited (AllowTcpForwarding or PermitOpen is off there)",
			    pump->label, req->target, req->port);
	} else if (reason == 2 && strstr(detail, "refused") != NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_REFUSED,
			    "%s could not connect to %s:%d: connection refused",
			    pump->label, req->target, req->port);
	} else if (reason == 2 && (strstr(detail, "not known") != NULL ||
				   strstr(detail, "resolve") != NULL ||
				   strstr(detail, "unknown host") != NULL ||
				   strstr(detail, "No address") != NULL)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_UNKNOWN_HOST,
			    "%s could not resolve %s: %s",
			    pump->label, req->target, detail);
	} else if (reason == 2 && strstr(detail, "timed out") != NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT,
			    "%s could not connect to %s:%d: timed out",
			    pump->label, req->target, req->port);
	} else {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CHANNEL_DENIED,
			    "%s could not open a channel to %s:%d: %s",
			    pump->label, req->target, req->port,
			    *detail ? detail : text);
	}
}

static int pump_socketpair(int *pump_end, int *user_end)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	int size = SOCKET_BUFFER_SIZE;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	*pump_end = sv[0];
	*user_end = sv[1];
	return 0;
}

/* Runs in the pump thread. Blocking for one round trip at this hop is
 * fine: other channels' data waits in libssh's buffers meanwhile. */
static void pump_open_channel(Pump *pump, OpenRequest *req)
{
	ssh_channel channel = ssh_channel_new(pump->session);
	int rc = SSH_ERROR;
	/* A hop that does not answer within its keepalive window is dead. */
	long timeout = pump->keepalive_interval_s > 0
		? (long)pump->keepalive_interval_s * pump->keepalive_count_max
		: CHANNEL_OPEN_TIMEOUT_S;

	req->result_fd = -1;
	if (channel == NULL) {
		g_set_error(&req->error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "%s: %s", pump->label, ssh_get_error(pump->session));
		return;
	}
	ssh_options_set(pump->session, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_set_blocking(pump->session, 1);
	if (req->kind == OPEN_FORWARD) {
		rc = ssh_channel_open_forward(channel, req->target, req->port,
					      "127.0.0.1", 0);
	} else {
		rc = ssh_channel_open_session(channel);
		if (rc == SSH_OK)
			rc = ssh_channel_request_subsystem(channel, req->target);
	}
	ssh_set_blocking(pump->session, 0);
	if (rc == SSH_AGAIN) {
		g_set_error(&req->error, JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT,
			    "%s did not answer within %ld s", pump->label, timeout);
		ssh_channel_free(channel);
		pump_mark_dead(pump, "no answer to a channel request");
		return;
	}
	if (rc != SSH_OK && !ssh_is_connected(pump->session)) {
		/* Not a refusal: the session itself is gone. */
		g_set_error(&req->error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "%s: connection lost (%s)", pump->label,
			    ssh_get_error(pump->session));
		ssh_channel_free(channel);
		pump_mark_dead(pump, ssh_get_error(pump->session));
		return;
	}
	if (rc != SSH_OK) {
		pump_set_open_error(pump, req, &req->error);
		ssh_channel_free(channel);
		return;
	}

	int pump_end, user_end;
	if (pump_socketpair(&pump_end, &user_end) < 0) {
		g_set_error(&req->error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "%s: socketpair: %s", pump->label, g_strerror(errno));
		ssh_channel_close(channel);
		ssh_channel_free(channel);
		return;
	}
	Link *link = link_new(channel, pump_end);
	link->nudge = req->kind == OPEN_SUBSYSTEM;
	g_ptr_array_add(pump->links, link);
	g_atomic_int_set(&pump->link_count, (gint)pump->links->len);
	req->result_fd = user_end;
}

static void pump_serve_requests(Pump *pump)
{
	for (;;) {
		g_mutex_lock(&pump->lock);
		/* A failed open may have found the session dead: the rest of
		 * the queue is then failed by pump_fail_requests. */
		OpenRequest *req = pump->alive ? g_queue_pop_head(&pump->requests) : NULL;
		g_mutex_unlock(&pump->lock);
		if (req == NULL)
			return;
		pump_open_channel(pump, req);
		g_mutex_lock(&pump->lock);
		req->done = TRUE;
		g_cond_broadcast(&pump->answered);
		g_mutex_unlock(&pump->lock);
	}
}

/* ---- moving bytes (pump thread) ---- */

/* Channel -> to_local. Returns FALSE when the session failed. */
static gboolean link_read_channel(Pump *pump, Link *link)
{
	while (!link->remote_eof) {
		size_t room = link_buffer_room(&link->to_local);
		if (room == 0)
			return TRUE;
		int n = ssh_channel_read_nonblocking(link->channel,
						     link->to_local.data + link->to_local.end,
						     (uint32_t)MIN(room, 64 * 1024), 0);
		if (n > 0) {
			link->to_local.end += (size_t)n;
			pump->last_rx_us = g_get_monotonic_time();
		} else if (n == SSH_EOF || (n == 0 && ssh_channel_is_eof(link->channel))) {
			link->remote_eof = TRUE;
		} else if (n == 0 || n == SSH_AGAIN) {
			return TRUE;
		} else if (!ssh_is_connected(pump->session)) {
			return FALSE;
		} else {
			link->failed = TRUE; /* this channel only */
			return TRUE;
		}
	}
	return TRUE;
}

/* to_local -> fd; then half-close fd once the channel's EOF is through. */
static void link_write_local(Link *link)
{
	while (link_buffer_used(&link->to_local) > 0) {
		ssize_t n = send(link->fd, link->to_local.data + link->to_local.start,
				 link_buffer_used(&link->to_local), MSG_NOSIGNAL);
		if (n > 0) {
			link->to_local.start += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			return;
		} else {
			link->failed = TRUE; /* our user closed its end */
			return;
		}
	}
	if (link->remote_eof && !link->local_shut) {
		shutdown(link->fd, SHUT_WR);
		link->local_shut = TRUE;
	}
}

/* fd -> to_remote. */
static void link_read_local(Link *link)
{
	while (!link->local_eof) {
		size_t room = link_buffer_room(&link->to_remote);
		if (room == 0)
			return;
		ssize_t n = recv(link->fd, link->to_remote.data + link->to_remote.end,
				 room, 0);
		if (n > 0) {
			link->to_remote.end += (size_t)n;
		} else if (n == 0) {
			link->local_eof = TRUE;
		} else if (errno == EAGAIN || errno == EINTR) {
			return;
		} else {
			link->failed = TRUE;
			return;
		}
	}
}

/* to_remote -> channel, never more than the peer's window so that libssh
 * never waits for a window adjust; then EOF once the fd's EOF is through. */
static void link_write_channel(Pump *pump, Link *link)
{
	while (link_buffer_used(&link->to_remote) > 0) {
		uint32_t window = ssh_channel_window_size(link->channel);
		size_t len = MIN(link_buffer_used(&link->to_remote), (size_t)window);
		if (len == 0)
			return;
		int n = ssh_channel_write(link->channel,
					  link->to_remote.data + link->to_remote.start,
					  (uint32_t)len);
		if (n < 0) {
			link->failed = TRUE;
			return;
		}
		if (n == 0)
			return;
		link->to_remote.start += (size_t)n;
		if (link->nudge)
			pump_note_tx(pump);
	}
	if (link->local_eof && !link->eof_sent) {
		ssh_channel_send_eof(link->channel);
		link->eof_sent = TRUE;
	}
}

static gboolean link_finished(const Link *link)
{
	if (link->failed)
		return TRUE;
	/* Both directions closed and delivered. */
	return link->remote_eof && link->local_shut && link->eof_sent;
}

/* ---- nudges ---- */

/* The jump hosts' sshd leave Nagle on for forwarded connections, and the
 * far side's kernel delays its ACKs: when a server answers a burst of
 * requests with small replies (SFTP WRITE statuses), every reply after
 * the first waits ~40 ms at each jump for an ACK that only comes with data
 * going the other way. Measured: one writer at 23 MB/s, two at 85 MB/s
 * each. So while replies are due, the last hop's pump sends SSH_MSG_IGNORE
 * now and then: it crosses every link towards the server and carries the
 * ACKs with it. Only after recent requests, only while nothing arrives. */
#define NUDGE_WINDOW_US (50 * G_TIME_SPAN_MILLISECOND)
#define NUDGE_FIRST_GAP_US (1 * G_TIME_SPAN_MILLISECOND)

static void pump_note_tx(Pump *pump)
{
	pump->last_tx_us = g_get_monotonic_time();
	pump->nudge_gap_us = NUDGE_FIRST_GAP_US;
}

/* Returns the ms until the next nudge is due, or -1 for none. */
static int pump_nudge(Pump *pump)
{
	if (pump->last_tx_us == 0)
		return -1;
	gint64 now = g_get_monotonic_time();
	if (now - pump->last_tx_us > NUDGE_WINDOW_US)
		return -1;
	if (pump->last_rx_us > pump->last_nudge_us && pump->last_rx_us > pump->last_tx_us)
		pump->nudge_gap_us = NUDGE_FIRST_GAP_US; /* replies flow */
	gint64 quiet_since = MAX(MAX(pump->last_rx_us, pump->last_tx_us), pump->last_nudge_us);
	gint64 due = quiet_since + pump->nudge_gap_us;
	if (now < due)
		return (int)((due - now + 999) / 1000);
	ssh_send_ignore(pump->session, "");
	pump->last_nudge_us = now;
	pump->nudge_gap_us *= 2;
	return (int)((pump->nudge_gap_us + 999) / 1000);
}

/* ---- keepalive and death ---- */

/* Sends keepalive@openssh.com and waits for the answer (any answer: sshd
 * replies "failure", which proves it is there). Blocking is fine: it only
 * happens when nothing arrived for a whole interval. libssh hides whether
 * the reply came, so the elapsed time tells: a timeout means no reply. */
static gboolean pump_keepalive(Pump *pump)
{
	long timeout = (long)pump->keepalive_interval_s * pump->keepalive_count_max;
	gint64 started = g_get_monotonic_time();

	ssh_options_set(pump->session, SSH_OPTIONS_TIMEOUT, &timeout);
	ssh_set_blocking(pump->session, 1);
	ssh_send_keepalive(pump->session);
	ssh_set_blocking(pump->session, 0);

	gint64 elapsed = g_get_monotonic_time() - started;
	if (!ssh_is_connected(pump->session) ||
	    (ssh_get_status(pump->session) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
		return FALSE;
	if (elapsed >= timeout * G_TIME_SPAN_SECOND - 200 * G_TIME_SPAN_MILLISECOND)
		return FALSE;
	pump->last_rx_us = g_get_monotonic_time();
	return TRUE;
}

static void pump_mark_dead(Pump *pump, const char *why)
{
	g_warning("%s: connection lost (%s)", pump->label, why);
	g_mutex_lock(&pump->lock);
	pump->alive = FALSE;
	g_mutex_unlock(&pump->lock);
	/* Dropping the links shuts every socketpair: the next hop's session
	 * or the SFTP client sees EOF and fails at once instead of waiting. */
	g_ptr_array_set_size(pump->links, 0);
	g_atomic_int_set(&pump->link_count, 0);
}

static void pump_fail_requests(Pump *pump)
{
	g_mutex_lock(&pump->lock);
	OpenRequest *req;
	while ((req = g_queue_pop_head(&pump->requests)) != NULL) {
		g_set_error(&req->error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "%s: connection lost", pump->label);
		req->result_fd = -1;
		req->done = TRUE;
	}
	g_cond_broadcast(&pump->answered);
	g_mutex_unlock(&pump->lock);
}

/* ---- the loop ---- */

static gpointer pump_thread(gpointer data)
{
	Pump *pump = data;
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
	int session_fd = ssh_get_fd(pump->session);

	pump->last_rx_us = g_get_monotonic_time();
	for (;;) {
		g_mutex_lock(&pump->lock);
		gboolean stopping = pump->stopping;
		gboolean alive = pump->alive;
		g_mutex_unlock(&pump->lock);
		if (stopping)
			break;
		if (!alive) {
			pump_fail_requests(pump);
		} else {
			pump_serve_requests(pump);
		}

		/* Move whatever can move without waiting. */
		gboolean session_ok = alive;
		for (guint i = 0; alive && i < pump->links->len; i++) {
			Link *link = g_ptr_array_index(pump->links, i);
			if (!link_read_channel(pump, link)) {
				session_ok = FALSE;
				break;
			}
			link_write_local(link);
			link_read_local(link);
			link_write_channel(pump, link);
		}
		if (alive && (!session_ok || !ssh_is_connected(pump->session))) {
			pump_mark_dead(pump, ssh_get_error(pump->session));
			alive = FALSE;
		}
		for (guint i = pump->links->len; i-- > 0;) {
			if (link_finished(g_ptr_array_index(pump->links, i)))
				g_ptr_array_remove_index_fast(pump->links, i);
		}
		g_atomic_int_set(&pump->link_count, (gint)pump->links->len);

		/* Wait for something to change. */
		g_array_set_size(fds, 0);
		struct pollfd wake = { .fd = pump->wake_fd, .events = POLLIN };
		g_array_append_val(fds, wake);
		if (alive) {
			struct pollfd sess = { .fd = session_fd, .events = POLLIN };
			if (ssh_get_poll_flags(pump->session) & SSH_WRITE_PENDING)
				sess.events |= POLLOUT;
			g_array_append_val(fds, sess);
		}
		for (guint i = 0; alive && i < pump->links->len; i++) {
			Link *link = g_ptr_array_index(pump->links, i);
			struct pollfd p = { .fd = link->fd };
			if (!link->local_eof && LINK_BUFFER_SIZE - link_buffer_used(&link->to_remote) > 0)
				p.events |= POLLIN;
			if (link_buffer_used(&link->to_local) > 0)
				p.events |= POLLOUT;
			g_array_append_val(fds, p);
		}
		int timeout_ms = -1;
		if (alive && pump->keepalive_interval_s > 0)
			timeout_ms = 1000;
		int nudge_ms = alive ? pump_nudge(pump) : -1;
		if (nudge_ms >= 0 && (timeout_ms < 0 || nudge_ms < timeout_ms))
			timeout_ms = nudge_ms;
		if (nudge_ms >= 0 && (ssh_get_poll_flags(pump->session) & SSH_WRITE_PENDING))
			((struct pollfd *)fds->data)[1].events |= POLLOUT;
		int n = poll((struct pollfd *)fds->data, fds->len, timeout_ms);
		if (n < 0 && errno != EINTR) {
			g_warning("%s: poll: %s", pump->label, g_strerror(errno));
			break;
		}
		struct pollfd *p = (struct pollfd *)fds->data;
		if (p[0].revents & POLLIN) {
			uint64_t count;
			ssize_t r = read(pump->wake_fd, &count, sizeof(count));
			(void)r;
		}
		if (!alive)
			continue;
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP))
			pump->last_rx_us = g_get_monotonic_time();
		if (p[1].revents & POLLOUT)
			ssh_blocking_flush(pump->session, 0);

		gint64 idle_us = g_get_monotonic_time() - pump->last_rx_us;
		if (pump->keepalive_interval_s > 0 &&
		    idle_us >= pump->keepalive_interval_s * G_TIME_SPAN_SECOND &&
		    !pump_keepalive(pump))
			pump_mark_dead(pump, "no answer to keepalives");
	}
	g_array_free(fds, TRUE);
	pump_fail_requests(pump);
	return NULL;
}

/* ---- public side ---- */

Pump *pump_start(ssh_session session, const char *label,
		 int keepalive_interval, int keepalive_count_max)
{
	Pump *pump = g_new0(Pump, 1);
	pump->session = session;
	pump->label = g_strdup(label);
	pump->keepalive_interval_s = keepalive_interval;
	pump->keepalive_count_max = keepalive_count_max > 0 ? keepalive_count_max : 3;
	pump->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pump->alive = TRUE;
	pump->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
	g_mutex_init(&pump->lock);
	g_cond_init(&pump->answered);
	g_queue_init(&pump->requests);
	ssh_set_blocking(session, 0);
	pump->thread = g_thread_new("jumpfs-pump", pump_thread, pump);
	return pump;
}

static int pump_request(Pump *pump, OpenRequest *req, GError **error)
{
	g_mutex_lock(&pump->lock);
	if (!pump->alive || pump->stopping) {
		g_mutex_unlock(&pump->lock);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "%s: connection lost", pump->label);
		return -1;
	}
	g_queue_push_tail(&pump->requests, req);
	pump_wake(pump);
	while (!req->done)
		g_cond_wait(&pump->answered, &pump->lock);
	g_mutex_unlock(&pump->lock);
	if (req->result_fd < 0) {
		g_propagate_error(error, req->error);
		return -1;
	}
	return req->result_fd;
}

int pump_open_forward(Pump *pump, const char *host, int port, GError **error)
{
	OpenRequest req = { .kind = OPEN_FORWARD, .target = host, .port = port };
	return pump_request(pump, &req, error);
}

int pump_open_subsystem(Pump *pump, const char *subsystem, GError **error)
{
	OpenRequest req = { .kind = OPEN_SUBSYSTEM, .target = subsystem };
	return pump_request(pump, &req, error);
}

guint pump_link_count(Pump *pump)
{
	return (guint)g_atomic_int_get(&pump->link_count);
}

gboolean pump_is_alive(Pump *pump)
{
	g_mutex_lock(&pump->lock);
	gboolean alive = pump->alive && !pump->stopping;
	g_mutex_unlock(&pump->lock);
	return alive;
}

void pump_free(Pump *pump)
{
	if (pump == NULL)
		return;
	g_mutex_lock(&pump->lock);
	pump->stopping = TRUE;
	g_mutex_unlock(&pump->lock);
	pump_wake(pump);
	g_thread_join(pump->thread);

	g_ptr_array_free(pump->links, TRUE);
	ssh_disconnect(pump->session);
	ssh_free(pump->session);
	close(pump->wake_fd);
	g_mutex_clear(&pump->lock);
	g_cond_clear(&pump->answered);
	g_free(pump->label);
	g_free(pump);
}
