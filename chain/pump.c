/* A session's owner thread: the loop, keepalives, death, and the API.
 *
 * The session runs in libssh's non-blocking mode, so the loop waits
 * nowhere but in poll(2): channel opens (pump-open.c) and keepalives are
 * states it advances on every turn, and bytes move in pump-link.c.
 *
 * libssh 0.10's ssh_connector is not used: it stalls request/response
 * traffic (see shared notes), so the pump drains channels itself. */
#include "chain/pump-private.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/server.h> /* ssh_send_keepalive: works for clients too */

#include "chain/errors.h"

/* The longest one send(2) of libssh may wait (see pump_start). */
#define PUMP_SEND_TIMEOUT_MS 200

static void pump_wake(Pump *pump)
{
	uint64_t one = 1;
	ssize_t n = write(pump->wake_fd, &one, sizeof(one));
	(void)n; /* a full eventfd is already a wake-up */
}

/* libssh's log of the pump thread (its level and callback are per
 * thread): the opens want some lines, the rest is debug output. */
static void pump_libssh_log(int priority, const char *function, const char *buffer,
			    void *userdata)
{
	Pump *pump = userdata;
	(void)function;
	pump_open_log(pump, buffer);
	if (priority <= SSH_LOG_WARNING)
		g_debug("%s: libssh: %s", pump->address, buffer);
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

/* Returns the ms until the next nudge is due, or -1 for none. */
static int pump_nudge(Pump *pump, gint64 last_rx_us)
{
	if (pump->last_tx_us == 0)
		return -1;
	gint64 now = g_get_monotonic_time();
	if (now - pump->last_tx_us > NUDGE_WINDOW_US)
		return -1;
	if (last_rx_us > pump->last_nudge_us && last_rx_us > pump->last_tx_us)
		pump->nudge_gap_us = PUMP_NUDGE_FIRST_GAP_US; /* replies flow */
	gint64 quiet_since = MAX(MAX(last_rx_us, pump->last_tx_us), pump->last_nudge_us);
	gint64 due = quiet_since + pump->nudge_gap_us;
	if (now < due)
		return (int)((due - now + 999) / 1000);
	ssh_send_ignore(pump->session, "");
	pump->last_nudge_us = now;
	pump->nudge_gap_us *= 2;
	return (int)((pump->nudge_gap_us + 999) / 1000);
}

/* ---- keepalive ---- */

/* libssh holds one global request at a time and hides its answer: a call
 * of ssh_send_keepalive on an answered request only collects the answer,
 * on a pending one does nothing, with none out sends one. So two calls in
 * a row send a new request exactly when the last one was answered, and
 * the packet counter says whether they did. Returns TRUE if they did. */
static gboolean pump_request_turn(Pump *pump, gint64 now)
{
	uint64_t out = pump->packet_counter.out_packets;
	ssh_send_keepalive(pump->session);
	if (pump->packet_counter.out_packets == out)
		ssh_send_keepalive(pump->session);
	if (pump->packet_counter.out_packets == out)
		return FALSE; /* the last one is still unanswered */
	gint64 previous = pump->request_sent_us;
	pump->request_sent_us = now;
	if (pump->rtt_wanted_since != 0 && previous != 0 && previous >= pump->rtt_wanted_since) {
		atomic_store(&pump->rtt_us, now - previous);
		pump->rtt_wanted_since = 0;
	}
	return TRUE;
}

/* The round trip of a keepalive sent from now on (the session's RTT, for
 * status and the channels' windows): checked on every turn until its
 * answer is seen, which is at most one extra keepalive. */
static void pump_measure_rtt(Pump *pump, gint64 now)
{
	if (pump->rtt_wanted_since == 0)
		pump->rtt_wanted_since = now;
	pump_request_turn(pump, now);
}

/* As OpenSSH's clientloop.c: after ServerAliveInterval without a packet
 * from the peer, send keepalive@openssh.com and go on; the session is
 * dead after ServerAliveInterval x ServerAliveCountMax of silence (and at
 * least a second after the first unanswered keepalive, so that a count of
 * 1 still asks once). Any packet counted by ssh_set_counters is the proof
 * of life. Returns FALSE when the peer is dead; *timeout_ms is when to
 * look again (-1: no need). */
static gboolean pump_keepalive(Pump *pump, gint64 now, int *timeout_ms)
{
	if (pump->packet_counter.in_packets != pump->seen_in_packets) {
		pump->seen_in_packets = pump->packet_counter.in_packets;
		atomic_store(&pump->last_rx_us, now);
		pump->keepalive_sent_us = 0;
		g_atomic_int_set(&pump->keepalives_missed, 0);
		if (pump->rtt_wanted_since != 0)
			pump_request_turn(pump, now);
	}
	atomic_store(&pump->bytes_in, pump->socket_counter.in_bytes);
	atomic_store(&pump->bytes_out, pump->socket_counter.out_bytes);
	*timeout_ms = -1;
	if (pump->keepalive_interval_s <= 0)
		return TRUE;

	gint64 interval = pump->keepalive_interval_s * G_TIME_SPAN_SECOND;
	gint64 last_rx = atomic_load(&pump->last_rx_us);
	gint64 death = last_rx + interval * pump->keepalive_count_max;
	if (pump->keepalive_sent_us != 0)
		death = MAX(death, pump->keepalive_sent_us + G_TIME_SPAN_SECOND);
	if (now >= death)
		return FALSE;
	gint64 due = MAX(last_rx, pump->last_keepalive_us) + interval;
	if (now >= due) {
		if (pump->keepalive_sent_us == 0) {
			pump->keepalive_sent_us = now;
			death = MAX(death, now + G_TIME_SPAN_SECOND);
		}
		pump_measure_rtt(pump, now);
		pump->last_keepalive_us = now;
		g_atomic_int_inc(&pump->keepalives_missed);
		due = now + interval;
	}
	*timeout_ms = (int)((MIN(due, death) - now + 999) / 1000);
	return TRUE;
}

/* ---- death ---- */

static void pump_mark_dead(Pump *pump, const char *why)
{
	if (pump->dead)
		return;
	pump->dead = TRUE;
	g_warning("%s: connection lost (%s)", pump->address, why);
	g_mutex_lock(&pump->lock);
	pump->alive = FALSE;
	pump->why_dead = g_strdup(why);
	pump->died_at = g_get_real_time();
	g_mutex_unlock(&pump->lock);
	/* Dropping the links shuts every socketpair: the next hop's session
	 * or the SFTP client sees EOF and fails at once instead of waiting. */
	g_ptr_array_set_size(pump->links, 0);
	g_atomic_int_set(&pump->link_count, 0);
}

/* ---- the loop ---- */

/* One turn without waiting: opens, bytes, finished links. */
/* Bytes the links have taken from their channels, ever. */
static guint64 pump_links_moved(Pump *pump)
{
	guint64 sum = 0;
	for (guint i = 0; i < pump->links->len; i++)
		sum += ((Link *)g_ptr_array_index(pump->links, i))->from_channel;
	return sum;
}

/* Reading one channel makes libssh handle every packet that has come,
 * and it keeps other channels' data in their buffers: the socket then
 * shows nothing, and a channel read earlier in the pass would wait for
 * the next packet, a keepalive seconds later (a read of a mount with
 * write stripes, whose jump2 session carries four channels, stalled
 * 9 s). So passes repeat until one takes no byte from the socket nor
 * from a channel; after the last allowed one, the poll does not wait.
 * Returns TRUE when a pass may still have left data behind. */
static gboolean pump_turn_links(Pump *pump)
{
	for (guint pass = 0; pass < PUMP_TURN_PASSES_MAX; pass++) {
		uint64_t socket_before = pump->socket_counter.in_bytes;
		guint64 moved_before = pump_links_moved(pump);
		for (guint i = 0; pump->death == NULL && i < pump->links->len; i++) {
			if (!link_pump(pump, g_ptr_array_index(pump->links, i)))
				pump_note_death(pump, ssh_get_error(pump->session));
		}
		if (pump->death != NULL || pump->links->len < 2 ||
		    (pump->socket_counter.in_bytes == socket_before &&
		     pump_links_moved(pump) == moved_before))
			return FALSE;
	}
	return TRUE;
}

/* Returns TRUE when it should run again without waiting. */
static gboolean pump_turn(Pump *pump)
{
	pump_open_step(pump);
	gboolean again = pump_turn_links(pump);
	if (pump->death != NULL)
		pump_mark_dead(pump, pump->death);
	if (!pump->dead && pump->window_overrun)
		pump_mark_dead(pump, "the peer sent data beyond the channel window jumpfs "
			       "advertised (it breaks SSH flow control)");
	if (!pump->dead && !ssh_is_connected(pump->session))
		pump_mark_dead(pump, ssh_get_error(pump->session));
	for (guint i = pump->links->len; i-- > 0;) {
		if (link_finished(g_ptr_array_index(pump->links, i)))
			g_ptr_array_remove_index_fast(pump->links, i);
	}
	g_atomic_int_set(&pump->link_count, (gint)pump->links->len);
	return again && !pump->dead;
}

static int pump_min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return MIN(a, b);
}

static gpointer pump_thread(gpointer data)
{
	Pump *pump = data;
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
	int session_fd = ssh_get_fd(pump->session);
	ssh_event event = ssh_event_new();
	ssh_event_add_session(event, pump->session);

	ssh_set_log_userdata(pump);
	ssh_set_log_callback(pump_libssh_log);
	ssh_set_log_level(SSH_LOG_WARNING);
	/* A keepalive at once: its round trip sizes the channels' windows
	 * (pump-link.c). */
	pump_measure_rtt(pump, g_get_monotonic_time());
	for (;;) {
		g_mutex_lock(&pump->lock);
		gboolean stopping = pump->stopping;
		g_mutex_unlock(&pump->lock);
		if (stopping)
			break;
		int timeout_ms = -1;
		gboolean again = FALSE;
		if (!pump->dead) {
			again = pump_turn(pump);
			gint64 now = g_get_monotonic_time();
			if (!pump_keepalive(pump, now, &timeout_ms) && !pump->dead) {
				g_autofree char *why = g_strdup_printf(
					"no answer to keepalives for %d s",
					pump->keepalive_interval_s * pump->keepalive_count_max);
				pump_mark_dead(pump, why);
			}
		}
		if (pump->dead) {
			g_mutex_lock(&pump->lock);
			g_autofree char *why = g_strdup(pump->why_dead);
			g_mutex_unlock(&pump->lock);
			pump_open_fail_all(pump, why);
			timeout_ms = -1;
		}

		/* Wait for something to change. */
		g_array_set_size(fds, 0);
		struct pollfd wake = { .fd = pump->wake_fd, .events = POLLIN };
		g_array_append_val(fds, wake);
		if (!pump->dead) {
			struct pollfd sess = { .fd = session_fd, .events = POLLIN };
			int nudge_ms = pump_nudge(pump, atomic_load(&pump->last_rx_us));
			if (ssh_get_poll_flags(pump->session) & SSH_WRITE_PENDING)
				sess.events |= POLLOUT;
			g_array_append_val(fds, sess);
			timeout_ms = pump_min_timeout(timeout_ms, nudge_ms);
			timeout_ms = pump_min_timeout(timeout_ms, pump_open_next_deadline_ms(pump));
			if (again)
				timeout_ms = 0;
		}
		for (guint i = 0; !pump->dead && i < pump->links->len; i++) {
			Link *link = g_ptr_array_index(pump->links, i);
			struct pollfd p = { .fd = link->hangup ? -1 : link->fd,
					    .events = link_poll_events(link) };
			g_array_append_val(fds, p);
		}
		int n = poll((struct pollfd *)fds->data, fds->len, timeout_ms);
		if (n < 0 && errno != EINTR) {
			g_warning("%s: poll: %s", pump->address, g_strerror(errno));
			break;
		}
		struct pollfd *p = (struct pollfd *)fds->data;
		for (guint i = 2; !pump->dead && i < fds->len; i++) {
			if (p[i].revents & (POLLHUP | POLLERR))
				((Link *)g_ptr_array_index(pump->links, i - 2))->hangup = TRUE;
		}
		if (p[0].revents & POLLIN) {
			uint64_t count;
			ssize_t r = read(pump->wake_fd, &count, sizeof(count));
			(void)r;
		}
		/* Packets for no channel (keepalive replies, a rekey, or all of
		 * them when no link is open) are handled here; the links' reads
		 * handle the rest. */
		if (!pump->dead && fds->len > 1 && (p[1].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)))
			ssh_event_dopoll(event, 0);
	}
	ssh_event_remove_session(event, pump->session);
	ssh_event_free(event);
	g_array_free(fds, TRUE);
	pump_open_fail_all(pump, "jumpfs is closing this session");
	ssh_set_log_callback(NULL);
	return NULL;
}

/* ---- public side ---- */

Pump *pump_start(ssh_session session, const char *address,
		 int keepalive_interval, int keepalive_count_max)
{
	Pump *pump = g_new0(Pump, 1);
	pump->session = session;
	pump->address = g_strdup(address);
	pump->keepalive_interval_s = keepalive_interval;
	pump->keepalive_count_max = keepalive_count_max > 0 ? keepalive_count_max : 3;
	pump->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pump->alive = TRUE;
	pump->rtt_us = -1;
	pump->last_rx_us = g_get_monotonic_time();
	pump->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
	pump->opens = g_ptr_array_new_with_free_func((GDestroyNotify)pump_open_free);
	pump->open_failures = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_mutex_init(&pump->lock);
	g_cond_init(&pump->answered);
	g_queue_init(&pump->requests);
	ssh_set_counters(session, &pump->socket_counter, &pump->packet_counter);
	/* libssh 0.10 needs a blocking fd (EAGAIN from send is fatal to it)
	 * and writes its whole output buffer with one send(2) once poll said
	 * "writable": a peer that stops reading would hold the pump there.
	 * A send timeout turns that into a short write, which libssh takes. */
	struct timeval tv = { .tv_sec = 0, .tv_usec = PUMP_SEND_TIMEOUT_MS * 1000 };
	setsockopt(ssh_get_fd(session), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssh_set_blocking(session, 0);
	pump->thread = g_thread_new("jumpfs-pump", pump_thread, pump);
	return pump;
}

static int pump_request(Pump *pump, PumpOpenRequest *req, GError **error)
{
	g_mutex_lock(&pump->lock);
	if (!pump->alive || pump->stopping) {
		g_autofree char *why = g_strdup(pump->why_dead ? pump->why_dead : "closing");
		g_mutex_unlock(&pump->lock);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
			    "%s: connection lost (%s)", req->label, why);
		return -1;
	}
	g_queue_push_tail(&pump->requests, req);
	pump_wake(pump);
	/* The pump answers every request: done, refused, timed out, or
	 * failed when the session dies or the pump stops. */
	while (!req->done)
		g_cond_wait(&pump->answered, &pump->lock);
	g_mutex_unlock(&pump->lock);
	if (req->result_fd < 0) {
		g_propagate_error(error, req->error);
		return -1;
	}
	return req->result_fd;
}

int pump_open_forward(Pump *pump, const char *host, int port, const char *label,
		      int timeout_s, GError **error)
{
	PumpOpenRequest req = { .kind = PUMP_OPEN_FORWARD, .target = host, .port = port,
				.label = label, .timeout_s = timeout_s, .result_fd = -1 };
	return pump_request(pump, &req, error);
}

int pump_open_subsystem(Pump *pump, const char *subsystem, const char *label,
			int timeout_s, GError **error)
{
	PumpOpenRequest req = { .kind = PUMP_OPEN_SUBSYSTEM, .target = subsystem,
				.label = label, .timeout_s = timeout_s, .result_fd = -1 };
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

void pump_get_stats(Pump *pump, PumpStats *stats)
{
	memset(stats, 0, sizeof(*stats));
	g_mutex_lock(&pump->lock);
	stats->alive = pump->alive && !pump->stopping;
	stats->why_dead = g_strdup(pump->why_dead);
	stats->died_at = pump->died_at;
	g_mutex_unlock(&pump->lock);
	stats->rtt_us = atomic_load(&pump->rtt_us);
	stats->last_rx_age_us = g_get_monotonic_time() - atomic_load(&pump->last_rx_us);
	stats->bytes_in = atomic_load(&pump->bytes_in);
	stats->bytes_out = atomic_load(&pump->bytes_out);
	stats->channels = (guint)g_atomic_int_get(&pump->link_count);
	stats->opens_pending = (guint)g_atomic_int_get(&pump->opens_pending);
	stats->keepalives_missed = (guint)g_atomic_int_get(&pump->keepalives_missed);
}

void pump_stats_clear(PumpStats *stats)
{
	g_clear_pointer(&stats->why_dead, g_free);
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
	g_ptr_array_free(pump->opens, TRUE);
	g_hash_table_destroy(pump->open_failures);
	ssh_disconnect(pump->session);
	ssh_free(pump->session);
	close(pump->wake_fd);
	g_mutex_clear(&pump->lock);
	g_cond_clear(&pump->answered);
	g_free(pump->why_dead);
	g_free(pump->death);
	g_free(pump->address);
	g_free(pump);
}
