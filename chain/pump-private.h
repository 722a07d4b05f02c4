/* What pump.c, pump-open.c and pump-link.c share. Not for other files.
 *
 * Threads: everything below "pump thread only" is touched by the pump
 * thread alone; the fields under `lock` are shared with requesters and
 * status readers; the counters marked atomic are written by the pump
 * thread and read by anyone. */
#ifndef JUMPFS_CHAIN_PUMP_PRIVATE_H
#define JUMPFS_CHAIN_PUMP_PRIVATE_H

#include "chain/pump.h"

#include <stdatomic.h>
#include <stdint.h>

#define PUMP_LINK_BUFFER_SIZE (256 * 1024)
#define PUMP_SOCKET_BUFFER_SIZE (512 * 1024)
/* Passes over the links in one turn of the loop (pump_turn_links). */
#define PUMP_TURN_PASSES_MAX 4

/* Bytes waiting to move one way; [start, end) is filled. */
typedef struct {
	char *data;
	size_t start, end;
} LinkBuffer;

/* One open channel and the pump's end of its socketpair. */
typedef struct {
	ssh_channel channel;
	int fd;
	char *what;             /* "forward to 10.77.2.2:2222", "sftp subsystem" */
	LinkBuffer to_local;    /* from the channel, for fd */
	LinkBuffer to_remote;   /* from fd, for the channel */
	gboolean local_eof;     /* fd reached EOF */
	gboolean remote_eof;    /* channel reached EOF */
	gboolean eof_sent;      /* ssh_channel_send_eof done */
	gboolean local_shut;    /* shutdown(fd, SHUT_WR) done */
	gboolean failed;
	gboolean hangup;        /* poll said the user closed its end entirely */
	gboolean nudge;         /* request/response traffic: see pump_nudge */
	guint64 stderr_bytes;   /* extended data drained and dropped */
	size_t stderr_logged;
	size_t window;          /* the receive window this channel keeps open */
	size_t consumed_since_grow; /* bytes read since the window was last topped up */
	guint64 from_channel;   /* bytes taken from the channel, ever */
} Link;

typedef enum { PUMP_OPEN_FORWARD, PUMP_OPEN_SUBSYSTEM } PumpOpenKind;

/* A requester's question, on its stack; answered under pump->lock. */
typedef struct {
	PumpOpenKind kind;
	const char *target;     /* host or subsystem name */
	int port;
	const char *label;      /* the requester's name for this hop */
	int timeout_s;
	int result_fd;
	GError *error;
	gboolean done;
} PumpOpenRequest;

/* The pump thread's side of one open. It outlives its request when the
 * requester's timeout passes first: SSH cannot take an open back, so the
 * channel waits here for sshd's answer (and is then closed). */
typedef struct {
	PumpOpenRequest *req;   /* NULL once answered */
	PumpOpenKind kind;
	char *target;
	int port;
	ssh_channel channel;
	uint32_t channel_id;    /* libssh's local id (0 = not seen yet) */
	gboolean subsystem_asked;
	gint64 started_us;
	gint64 deadline_us;
	char *what;             /* "10.77.9.9:22", "the 'sftp' subsystem" */
} PumpOpen;

struct Pump {
	ssh_session session;    /* owned by the thread once started */
	char *address;
	int keepalive_interval_s;
	int keepalive_count_max;
	GThread *thread;
	int wake_fd;            /* eventfd: requests queued or stop asked */

	/* Protects the fields up to the next comment. */
	GMutex lock;
	GCond answered;
	GQueue requests;        /* PumpOpenRequest *, borrowed from callers */
	gboolean stopping;
	gboolean alive;
	char *why_dead;
	gint64 died_at;

	/* Written by the pump thread, read by anyone (atomics). */
	gint link_count;
	gint opens_pending;
	gint keepalives_missed;
	_Atomic gint64 rtt_us;
	_Atomic gint64 last_rx_us;
	_Atomic guint64 bytes_in, bytes_out;

	/* Pump thread only. */
	gboolean dead;          /* pump_mark_dead ran */
	char *death;            /* noted by a lower layer, for pump_mark_dead */
	struct ssh_counter_struct socket_counter;
	struct ssh_counter_struct packet_counter;
	uint64_t seen_in_packets;
	GPtrArray *links;       /* Link * */
	GPtrArray *opens;       /* PumpOpen *, in progress or abandoned */
	GHashTable *open_failures; /* channel id -> "(reason) text", from libssh's log */
	uint32_t created_channel_id; /* the last "Creating a channel N" */
	gboolean window_overrun;/* libssh logged data beyond our window */
	gint64 keepalive_sent_us;  /* first unanswered keepalive; 0 = none */
	gint64 request_sent_us;    /* our last global request; 0 = none yet */
	gint64 rtt_wanted_since;   /* measuring the RTT since; 0 = not */
	gint64 last_keepalive_us;
	gint64 last_tx_us;      /* data sent on a nudge link */
	gint64 last_nudge_us;
	gint64 nudge_gap_us;    /* wait before the next nudge; doubles */
};

/* Layers, no calls upwards: pump.c -> pump-open.c -> pump-link.c. A
 * lower layer that finds the session dead notes why (pump_note_death);
 * the loop in pump.c then declares it dead. */

/* After data went out on a nudge link (see pump.c's nudges). */
#define PUMP_NUDGE_FIRST_GAP_US (1 * G_TIME_SPAN_MILLISECOND)
static inline void pump_note_tx(Pump *pump)
{
	pump->last_tx_us = g_get_monotonic_time();
	pump->nudge_gap_us = PUMP_NUDGE_FIRST_GAP_US;
}

/* pump-open.c: take queued requests, advance every open, answer. */
void pump_open_step(Pump *pump);
/* Fails queued and in-progress requests (the session is dead or stopping). */
void pump_open_fail_all(Pump *pump, const char *why);
/* ms until the next open deadline, or -1. */
int pump_open_next_deadline_ms(Pump *pump);
void pump_open_free(PumpOpen *open);
/* libssh's log, seen from the pump thread (channel ids, open failures). */
void pump_open_log(Pump *pump, const char *message);

/* pump-link.c */
/* The session is dead: the first reason wins. */
void pump_note_death(Pump *pump, const char *why);
Link *link_new(ssh_channel channel, int fd, const char *what);
void link_free(Link *link);
/* Moves what can move without waiting; FALSE when the session failed. */
gboolean link_pump(Pump *pump, Link *link);
gboolean link_finished(const Link *link);
short link_poll_events(const Link *link);

#endif
