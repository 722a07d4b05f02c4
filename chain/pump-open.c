/* Channel opens as states of the pump's loop (pump thread).
 *
 * In libssh's non-blocking mode ssh_channel_open_forward (and the session
 * open and subsystem request) send their message and return SSH_AGAIN;
 * calling them again on the same channel checks for the answer, which the
 * loop's other reads bring in. So an open that waits stops nothing else.
 * A requester whose timeout passes is answered "timed out"; its channel
 * stays here, abandoned, until sshd answers (then it is closed) or the
 * session dies: SSH has no way to take back an open, and freeing a
 * channel sshd still knows would make its late answer an error.
 *
 * sshd's reason for a refusal reaches libssh's log only ("Channel opening
 * failure: channel N error (REASON) TEXT"), and the session's error text
 * is overwritten by the next error, so the pump reads its thread's libssh
 * log (pump_open_log) and files each failure under its channel id. */
#include "chain/pump-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain/errors.h"

/* RFC 4254 section 5.1 */
#define OPEN_ADMINISTRATIVELY_PROHIBITED 1
#define OPEN_CONNECT_FAILED 2

void pump_open_log(Pump *pump, const char *message)
{
	unsigned id, reason;
	int text_at = 0;
	const char *m;
	if ((m = strstr(message, "Creating a channel ")) != NULL &&
	    sscanf(m, "Creating a channel %u", &id) == 1) {
		pump->created_channel_id = id;
	} else if ((m = strstr(message, "Channel opening failure: channel ")) != NULL &&
		   sscanf(m, "Channel opening failure: channel %u error (%u) %n",
			  &id, &reason, &text_at) == 2 && text_at > 0) {
		g_hash_table_replace(pump->open_failures, GUINT_TO_POINTER(id),
				     g_strdup_printf("%u %s", reason, m + text_at));
	} else if (strstr(message, "Data packet too big for our window") != NULL) {
		/* libssh accepts it anyway: the loop kills the session. */
		pump->window_overrun = TRUE;
	}
}

static int pump_socketpair(int *pump_end, int *user_end)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	int size = PUMP_SOCKET_BUFFER_SIZE;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	*pump_end = sv[0];
	*user_end = sv[1];
	return 0;
}

/* Under no lock: only the pump thread writes req until done is set. */
static void pump_open_answer(Pump *pump, PumpOpen *open, int fd, GError *error)
{
	PumpOpenRequest *req = open->req;
	open->req = NULL;
	g_mutex_lock(&pump->lock);
	req->result_fd = fd;
	req->error = error;
	req->done = TRUE;
	g_cond_broadcast(&pump->answered);
	g_mutex_unlock(&pump->lock);
}

/* sshd's refusal, as a code a caller can test and a sentence that names
 * the hop that reported it and what it could not reach. */
static GError *pump_open_refusal(Pump *pump, PumpOpen *open)
{
	const PumpOpenRequest *req = open->req;
	if (open->kind == PUMP_OPEN_SUBSYSTEM)
		return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_CHANNEL_DENIED,
				   "%s: could not start %s: %s (is SFTP enabled in its "
				   "sshd_config?)", req->label, open->what,
				   ssh_get_error(pump->session));

	const char *failure = g_hash_table_lookup(pump->open_failures,
						  GUINT_TO_POINTER(open->channel_id));
	unsigned reason = 0;
	const char *detail = ssh_get_error(pump->session);
	if (failure != NULL) {
		char *end;
		reason = (unsigned)strtoul(failure, &end, 10);
		detail = *end == ' ' ? end + 1 : end;
	}
	/* sshd's text is strerror() of its connect, or "open failed". */
	if (reason == OPEN_ADMINISTRATIVELY_PROHIBITED)
		return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_FORWARD_PROHIBITED,
				   "%s: refused to forward to %s: administratively prohibited "
				   "(AllowTcpForwarding or PermitOpen is off there)",
				   req->label, open->what);
	if (reason == OPEN_CONNECT_FAILED && strcasestr(detail, "refused") != NULL)
		return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_REFUSED,
				   "%s: could not connect to %s: connection refused",
				   req->label, open->what);
	if (reason == OPEN_CONNECT_FAILED && strcasestr(detail, "timed out") != NULL)
		return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT,
				   "%s: could not connect to %s: timed out",
				   req->label, open->what);
	if (reason == OPEN_CONNECT_FAILED && (strcasestr(detail, "no route") != NULL ||
					      strcasestr(detail, "unreachable") != NULL))
		return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_UNREACHABLE,
				   "%s: could not connect to %s: %s",
				   req->label, open->what, detail);
	return g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_CHANNEL_DENIED,
			   "%s: could not open a channel to %s: %s",
			   req->label, open->what, *detail ? detail : "refused");
}

/* One call of the open's libssh function: SSH_OK, SSH_AGAIN or SSH_ERROR.
 * The first call creates the channel; libssh logs its id at the protocol
 * level, which is raised for that call only. */
static int pump_open_call(Pump *pump, PumpOpen *open)
{
	gboolean first = open->channel == NULL;
	if (first) {
		open->channel = ssh_channel_new(pump->session);
		if (open->channel == NULL)
			return SSH_ERROR;
		pump->created_channel_id = 0;
		ssh_set_log_level(SSH_LOG_PROTOCOL);
	}
	int rc;
	if (open->kind == PUMP_OPEN_FORWARD) {
		rc = ssh_channel_open_forward(open->channel, open->target, open->port,
					      "127.0.0.1", 0);
	} else if (!open->subsystem_asked) {
		rc = ssh_channel_open_session(open->channel);
		if (rc == SSH_OK && open->req != NULL) {
			open->subsystem_asked = TRUE;
			rc = ssh_channel_request_subsystem(open->channel, open->target);
		}
	} else {
		rc = ssh_channel_request_subsystem(open->channel, open->target);
	}
	if (first) {
		ssh_set_log_level(SSH_LOG_WARNING);
		open->channel_id = pump->created_channel_id;
	}
	return rc;
}

/* Advances one open; FALSE when it is over and can be freed. */
static gboolean pump_open_advance(Pump *pump, PumpOpen *open, gint64 now)
{
	int rc = pump_open_call(pump, open);
	if (rc == SSH_AGAIN) {
		if (open->req != NULL && now >= open->deadline_us) {
			PumpOpenRequest *req = open->req;
			g_message("%s: no answer to an open of %s within %d s; the channel "
				  "is closed if sshd answers later", pump->address,
				  open->what, req->timeout_s);
			pump_open_answer(pump, open, -1,
					 g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_TIMEOUT,
						     "%s: could not connect to %s: timed out "
						     "(no answer within %d s)",
						     req->label, open->what, req->timeout_s));
		}
		return TRUE;
	}
	if (rc == SSH_OK && open->req == NULL) {
		g_debug("%s: late answer for %s after %.1f s: closing it", pump->address,
			open->what, (now - open->started_us) / 1e6);
		return FALSE; /* pump_open_free closes it */
	}
	if (rc == SSH_OK) {
		int pump_end, user_end;
		if (pump_socketpair(&pump_end, &user_end) < 0) {
			pump_open_answer(pump, open, -1,
					 g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
						     "%s: socketpair: %s", open->req->label,
						     g_strerror(errno)));
			return FALSE;
		}
		Link *link = link_new(open->channel, pump_end, open->what);
		link->nudge = open->kind == PUMP_OPEN_SUBSYSTEM;
		open->channel = NULL; /* the link owns it */
		g_ptr_array_add(pump->links, link);
		g_atomic_int_set(&pump->link_count, (gint)pump->links->len);
		pump_open_answer(pump, open, user_end, NULL);
		return FALSE;
	}
	if (!ssh_is_connected(pump->session)) {
		/* Not a refusal: the session itself is gone. */
		pump_note_death(pump, ssh_get_error(pump->session));
		return TRUE; /* pump_open_fail_all answers it */
	}
	if (open->req != NULL)
		pump_open_answer(pump, open, -1, pump_open_refusal(pump, open));
	else
		g_debug("%s: late refusal of %s", pump->address, open->what);
	return FALSE;
}

void pump_open_free(PumpOpen *open)
{
	/* Never ssh_channel_close here: on a channel sshd refused or has not
	 * confirmed, it sends an EOF for remote channel 0, and sshd ends the
	 * whole session for that. ssh_channel_free closes open ones itself. */
	if (open->channel != NULL)
		ssh_channel_free(open->channel);
	g_free(open->target);
	g_free(open->what);
	g_free(open);
}

static void pump_open_forget(Pump *pump, guint index)
{
	PumpOpen *open = g_ptr_array_index(pump->opens, index);
	g_hash_table_remove(pump->open_failures, GUINT_TO_POINTER(open->channel_id));
	g_ptr_array_remove_index(pump->opens, index);
}

void pump_open_step(Pump *pump)
{
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&pump->lock);
	PumpOpenRequest *req;
	while (pump->alive && (req = g_queue_pop_head(&pump->requests)) != NULL) {
		PumpOpen *open = g_new0(PumpOpen, 1);
		open->req = req;
		open->kind = req->kind;
		open->target = g_strdup(req->target);
		open->port = req->port;
		open->started_us = now;
		open->deadline_us = now + (gint64)MAX(req->timeout_s, 1) * G_TIME_SPAN_SECOND;
		open->what = req->kind == PUMP_OPEN_FORWARD
			     ? g_strdup_printf(strchr(req->target, ':') ? "[%s]:%d" : "%s:%d",
					       req->target, req->port)
			     : g_strdup_printf("the '%s' subsystem", req->target);
		g_ptr_array_add(pump->opens, open);
	}
	g_mutex_unlock(&pump->lock);

	for (guint i = 0; i < pump->opens->len;) {
		if (pump_open_advance(pump, g_ptr_array_index(pump->opens, i), now))
			i++;
		else
			pump_open_forget(pump, i);
		if (pump->death != NULL)
			break;
	}
	g_atomic_int_set(&pump->opens_pending, (gint)pump->opens->len);
}

int pump_open_next_deadline_ms(Pump *pump)
{
	gint64 now = g_get_monotonic_time(), next = G_MAXINT64;
	for (guint i = 0; i < pump->opens->len; i++) {
		PumpOpen *open = g_ptr_array_index(pump->opens, i);
		if (open->req != NULL)
			next = MIN(next, open->deadline_us);
	}
	if (next == G_MAXINT64)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

void pump_open_fail_all(Pump *pump, const char *why)
{
	for (guint i = 0; i < pump->opens->len; i++) {
		PumpOpen *open = g_ptr_array_index(pump->opens, i);
		if (open->req != NULL)
			pump_open_answer(pump, open, -1,
					 g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
						     "%s: connection lost (%s)",
						     open->req->label, why));
	}
	g_ptr_array_set_size(pump->opens, 0);
	g_hash_table_remove_all(pump->open_failures);
	g_atomic_int_set(&pump->opens_pending, 0);

	g_mutex_lock(&pump->lock);
	PumpOpenRequest *req;
	while ((req = g_queue_pop_head(&pump->requests)) != NULL) {
		req->result_fd = -1;
		req->error = g_error_new(JUMPFS_ERROR, JUMPFS_ERROR_DISCONNECTED,
					 "%s: connection lost (%s)", req->label, why);
		req->done = TRUE;
	}
	g_cond_broadcast(&pump->answered);
	g_mutex_unlock(&pump->lock);
}
