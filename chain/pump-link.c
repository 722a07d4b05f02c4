/* Moving bytes between one channel and its socketpair end (pump thread).
 *
 * Each direction has a bounded buffer; a full buffer stops reading from
 * its source, which is what makes flow control reach from the SFTP client
 * to the far sshd: an unread channel keeps its SSH window closed, an
 * unread socket fills up. Three more bounds live here: a channel's stderr
 * is drained and dropped (logging a little of it), data beyond the window
 * we advertised kills the session, and the receive window grows past
 * libssh's 1.28 MB while the network, not the reader, is the bottleneck
 * (see link_read_channel). */
#include "chain/pump-private.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libssh 0.10 keeps a channel's receive window at 1,280,000 bytes
 * (WINDOWBASE in its channels.c), which caps a channel at window / RTT:
 * 8 MB/s measured over the lab's 20 ms relays, where raw `ssh -J cat`
 * (OpenSSH's 2 MiB) does 21. Every nested hop has a window of its own.
 * The window is also what libssh may buffer for a channel whose reader
 * stalls, so it grows only while the reader keeps up: doubled at each
 * top-up that finds little buffered (the network is the bottleneck), up
 * to the session's bandwidth-delay product (its keepalive round trip at
 * PUMP_WINDOW_RATE) and at most PUMP_WINDOW_MAX; halved back towards
 * libssh's own when data piles up (the reader is). Measured, 64 MiB through the 20 ms relays: 1.28 MB
 * 8 MB/s, 4 MiB 22 MB/s, 8 MiB 32 MB/s (docs/design.md). */
#define LIBSSH_WINDOW 1280000u
#define PUMP_WINDOW_MAX (8u * 1024 * 1024)
/* A window beyond libssh's is worth its memory only where the round trip
 * is long: none grows past the bandwidth-delay product at this rate
 * (about what a chain moves without latency). Measured, 512 MiB without
 * latency: VmRSS 20-23 MiB with libssh's windows, 26-28 MiB when they
 * grew to 8 MiB regardless of the round trip. */
#define PUMP_WINDOW_RATE_BYTES_PER_US 100
/* Little enough buffered in libssh, at a top-up, to say "waiting for the
 * network". */
#define PUMP_WINDOW_IDLE (64u * 1024)
/* What may sit in libssh's buffer for a channel before we call it an
 * overrun: the largest window we ever advertise plus a packet. */
#define PUMP_BUFFERED_MAX (PUMP_WINDOW_MAX + 256u * 1024)
/* Of a channel's stderr, this much reaches the log; the rest is counted. */
#define PUMP_STDERR_LOG_MAX 1024
#define PUMP_READ_CHUNK (64 * 1024)

void pump_note_death(Pump *pump, const char *why)
{
	if (pump->death == NULL)
		pump->death = g_strdup(why);
}

static void link_buffer_init(LinkBuffer *b)
{
	b->data = g_malloc(PUMP_LINK_BUFFER_SIZE);
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
	} else if (b->start > PUMP_LINK_BUFFER_SIZE / 2) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return PUMP_LINK_BUFFER_SIZE - b->end;
}

Link *link_new(ssh_channel channel, int fd, const char *what)
{
	Link *link = g_new0(Link, 1);
	link->channel = channel;
	link->fd = fd;
	link->what = g_strdup(what);
	link_buffer_init(&link->to_local);
	link_buffer_init(&link->to_remote);
	link->window = LIBSSH_WINDOW;
	return link;
}

void link_free(Link *link)
{
	if (link->channel != NULL) {
		ssh_channel_close(link->channel);
		ssh_channel_free(link->channel);
	}
	if (link->fd >= 0)
		close(link->fd);
	g_free(link->what);
	g_free(link->to_local.data);
	g_free(link->to_remote.data);
	g_free(link);
}

/* A server's stderr on a forward or the sftp subsystem is never asked
 * for, and libssh keeps it forever unless read: drain it, log the start,
 * count the rest. */
static void link_drain_stderr(Pump *pump, Link *link)
{
	char buf[4096];
	int n;
	while ((n = ssh_channel_read_nonblocking(link->channel, buf, sizeof(buf), 1)) > 0) {
		link->stderr_bytes += (guint64)n;
		link->consumed_since_grow += (size_t)n; /* it used the window too */
		if (link->stderr_logged < PUMP_STDERR_LOG_MAX) {
			size_t take = MIN((size_t)n, PUMP_STDERR_LOG_MAX - link->stderr_logged);
			g_autofree char *text = g_strndup(buf, take);
			g_autofree char *safe = g_strescape(text, NULL);
			link->stderr_logged += take;
			g_message("%s: %s says on stderr: %s%s", pump->address, link->what,
				  safe, link->stderr_logged >= PUMP_STDERR_LOG_MAX
				  ? " [more stderr is counted, not logged]" : "");
		}
	}
}

/* The largest window worth keeping for this session's round trip. */
static size_t link_window_cap(Pump *pump)
{
	gint64 rtt = atomic_load(&pump->rtt_us);
	if (rtt <= 0)
		return LIBSSH_WINDOW;
	gint64 bdp = rtt * PUMP_WINDOW_RATE_BYTES_PER_US;
	return (size_t)CLAMP(bdp, (gint64)LIBSSH_WINDOW, (gint64)PUMP_WINDOW_MAX);
}

/* Channel -> to_local. Returns FALSE when the session failed.
 *
 * libssh 0.10 grows a channel's window past its 1.28 MB base only inside
 * ssh_channel_read_timeout, when the count asked for exceeds what is
 * buffered plus the current window; ssh_channel_read_nonblocking clamps
 * its count to what is buffered first, so a pump's reads never grow it.
 * So when a top-up is due (half the window used) and all that is
 * buffered fits our buffer, read it with ssh_channel_read_timeout and a
 * count of the window plus that: the window grows to link->window, and
 * because data is already buffered libssh handles no packet in that call
 * and copies exactly what was buffered. */
static gboolean link_read_channel(Pump *pump, Link *link)
{
	while (!link->remote_eof) {
		size_t room = link_buffer_room(&link->to_local);
		if (room == 0)
			return TRUE;
		int buffered = ssh_channel_poll(link->channel, 0);
		if (buffered == SSH_EOF) {
			link->remote_eof = TRUE;
			break;
		}
		if (buffered < 0) {
			if (!ssh_is_connected(pump->session))
				return FALSE;
			link->failed = TRUE; /* this channel only */
			return TRUE;
		}
		if ((size_t)buffered > PUMP_BUFFERED_MAX) {
			g_autofree char *why = g_strdup_printf(
				"%s sent %d bytes beyond the %u-byte window jumpfs allowed on "
				"its %s: the peer breaks SSH flow control", pump->address,
				buffered - (int)PUMP_WINDOW_MAX, PUMP_WINDOW_MAX, link->what);
			pump_note_death(pump, why);
			return FALSE;
		}
		if (buffered == 0)
			return TRUE;
		char *dest = link->to_local.data + link->to_local.end;
		int n;
		if ((size_t)buffered > room)
			link->window = MAX(link->window / 2, LIBSSH_WINDOW);
		if (link->consumed_since_grow >= link->window / 2 && (size_t)buffered <= room) {
			/* Little waits in libssh: the window, not our reader, is
			 * what the data waits for. */
			if ((size_t)buffered <= PUMP_WINDOW_IDLE)
				link->window = MIN(link->window * 2, link_window_cap(pump));
			n = ssh_channel_read_timeout(link->channel, dest,
						     (uint32_t)(link->window + (size_t)buffered), 0, 0);
			if (n >= 0)
				link->consumed_since_grow = 0;
		} else {
			n = ssh_channel_read_nonblocking(link->channel, dest,
							 (uint32_t)MIN(room, PUMP_READ_CHUNK), 0);
		}
		if (n > 0) {
			link->to_local.end += (size_t)n;
			link->consumed_since_grow += (size_t)n;
			link->from_channel += (guint64)n;
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

gboolean link_pump(Pump *pump, Link *link)
{
	link_drain_stderr(pump, link);
	if (!link_read_channel(pump, link))
		return FALSE;
	link_write_local(link);
	link_read_local(link);
	link_write_channel(pump, link);
	return TRUE;
}

gboolean link_finished(const Link *link)
{
	if (link->failed)
		return TRUE;
	/* The user is gone, and all it sent went on with an EOF after it:
	 * nothing the remote says can be delivered any more. */
	if (link->hangup && link->local_eof && link->eof_sent)
		return TRUE;
	/* Both directions closed and delivered. */
	return link->remote_eof && link->local_shut && link->eof_sent;
}

short link_poll_events(const Link *link)
{
	short events = 0;
	/* poll reports POLLHUP whatever the events: once seen, the fd is
	 * left out (see pump.c), or the loop would spin. */
	if (link->hangup)
		return 0;
	if (!link->local_eof && link_buffer_used(&link->to_remote) < PUMP_LINK_BUFFER_SIZE)
		events |= POLLIN;
	if (link_buffer_used(&link->to_local) > 0)
		events |= POLLOUT;
	return events;
}
