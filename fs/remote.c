/* Connection slots for one mount, the thread that reopens them, and how
 * long an operation waits for it (fs/remote.h). */
#define G_LOG_DOMAIN "jumpfs-remote"
#include "fs/remote.h"

#include <errno.h>
#include <string.h>

#include "chain/errors.h"

#define RECONNECT_BACKOFF_MIN_US (250 * G_TIME_SPAN_MILLISECOND)
#define RECONNECT_BACKOFF_MAX_US (8 * G_TIME_SPAN_SECOND)
#define AUTH_DELAY_MIN_US (60 * G_TIME_SPAN_SECOND)
#define AUTH_DELAY_MAX_US (30 * G_TIME_SPAN_MINUTE)
#define SOFT_GRACE_US G_TIME_SPAN_SECOND
/* Waits are cut into slices this long to look at the interrupt check. */
#define WAIT_SLICE_US (100 * G_TIME_SPAN_MILLISECOND)

typedef struct {
	SftpConn *conn;           /* reference; NULL = not open (yet) */
	gboolean wanted;          /* open it (slot 0 always is) */
	gboolean ever_open;
	guint failures;           /* consecutive failed opens of this slot */
	gint64 retry_after;       /* no attempt before (monotonic) */
} RemoteSlot;

struct Remote {
	RemoteOpenStream open_stream;
	void *opener_data;
	RemoteOptions options;
	char *root;               /* absolute, never ends in '/' unless "/" */
	guint nslots;

	/* lock guards everything below. It is never held across I/O or
	 * while dropping a connection reference (the last one may run
	 * write-behind callbacks that call back into us). cond: a slot
	 * opened or an attempt ended (and stop). */
	GMutex lock;
	GCond cond;
	RemoteSlot *slots;
	guint next_slot;          /* round robin over the first max_conns */
	guint generation;         /* bumped for every new connection */
	gboolean attempting;      /* the thread is opening a slot */
	guint attempt_slot;
	gint64 attempt_start;
	gint64 down_since;        /* slot 0 found broken (monotonic), 0: live */
	guint waiters;            /* operations waiting for slot 0 */
	gint64 keep_trying_until;
	gboolean auth_failed;     /* last attempt: authentication refused */
	gint64 auth_retry_after;
	gint64 auth_delay;
	gboolean stopping;
	GThread *thread;
	void (*on_change)(void *data);
	void *on_change_data;
	guint notifying;          /* on_change runs (without the lock) */
};

static SftpConn *remote_open_conn(Remote *remote, guint slot, GError **error)
{
	int fd = remote->open_stream(remote->opener_data, slot, error);
	if (fd < 0)
		return NULL;
	SftpConn *conn = sftpc_start(fd, error);
	if (conn != NULL)
		sftpc_set_chunk_sizes(conn, remote->options.read_chunk,
				      remote->options.write_chunk);
	return conn;
}

/* The mount root: the login directory joined with a relative path, or the
 * absolute path as given. Resolved once, on the first connection. */
static int remote_resolve_root(Remote *remote, SftpConn *conn,
			       const char *remote_path, GError **error)
{
	const char *wanted = (remote_path && *remote_path) ? remote_path : ".";
	char *resolved = NULL;
	int rc = sftpc_realpath(conn, wanted, &resolved);
	if (rc < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "remote path '%s': %s", wanted, g_strerror(-rc));
		return rc;
	}
	SftpAttrs attrs;
	rc = sftpc_stat(conn, resolved, &attrs);
	if (rc == 0 && (attrs.flags & SFTP_ATTR_PERMISSIONS) &&
	    (attrs.permissions & 0170000) != 0040000)
		rc = -ENOTDIR;
	if (rc < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "remote path '%s': %s", resolved, g_strerror(-rc));
		g_free(resolved);
		return rc;
	}
	remote->root = resolved;
	return 0;
}

/* Called with lock held. */
static gboolean remote_slot_live(Remote *remote, guint slot)
{
	SftpConn *conn = remote->slots[slot].conn;
	return conn != NULL && !sftpc_is_broken(conn);
}

/* Called with lock held: slot 0 is broken, note since when. */
static void remote_note_down(Remote *remote)
{
	if (remote->down_since == 0) {
		remote->down_since = g_get_monotonic_time();
		g_cond_broadcast(&remote->cond);
	}
}

/* Called with lock held: the slot the thread should open now, or -1 (then
 * *wake is when to look again, 0 = when signalled). Other slots are opened
 * only while slot 0 is live: they are extras for striping. */
static int remote_next_attempt(Remote *remote, gint64 now, gint64 *wake)
{
	*wake = 0;
	RemoteSlot *first = &remote->slots[0];
	if (!remote_slot_live(remote, 0)) {
		if (first->ever_open && !remote->options.reconnect)
			return -1;
		remote_note_down(remote);
		if (remote->auth_failed) {
			/* Only an operation that comes after the delay asks
			 * for one more try; never the background. */
			if (remote->waiters == 0 || now < remote->auth_retry_after)
				return -1;
		} else if (remote->waiters == 0 && now >= remote->keep_trying_until) {
			return -1;
		}
		if (now < first->retry_after) {
			*wake = first->retry_after;
			return -1;
		}
		return 0;
	}
	for (guint i = 1; i < remote->nslots; i++) {
		RemoteSlot *s = &remote->slots[i];
		if (!s->wanted || remote_slot_live(remote, i))
			continue;
		if (s->ever_open && !remote->options.reconnect)
			continue;
		if (now < s->retry_after) {
			if (*wake == 0 || s->retry_after < *wake)
				*wake = s->retry_after;
			continue;
		}
		return (int)i;
	}
	return -1;
}

/* A login or a host key refused: waiting brings no new secret and no old
 * key back, and a server that counts failed logins (fail2ban) would lock
 * the account if we kept trying. */
static gboolean remote_refused(const GError *error)
{
	if (error == NULL || error->domain != JUMPFS_ERROR)
		return FALSE;
	switch (error->code) {
	case JUMPFS_ERROR_AUTH:
	case JUMPFS_ERROR_AUTH_NO_PROMPT:
	case JUMPFS_ERROR_NO_PROMPT:
	case JUMPFS_ERROR_HOSTKEY_CHANGED:
	case JUMPFS_ERROR_HOSTKEY_UNKNOWN:
	case JUMPFS_ERROR_HOSTKEY_REVOKED:
	case JUMPFS_ERROR_HOSTKEY_CERT_ONLY:
		return TRUE;
	default:
		return FALSE;
	}
}

/* Called with lock held, around the unlocked open. */
static void remote_attempt_done(Remote *remote, guint slot, SftpConn *conn,
				GError *error, SftpConn **old)
{
	RemoteSlot *s = &remote->slots[slot];
	gint64 now = g_get_monotonic_time();
	remote->attempting = FALSE;
	if (conn != NULL) {
		*old = s->conn;
		s->conn = conn;
		s->ever_open = TRUE;
		s->failures = 0;
		s->retry_after = 0;
		remote->generation++;
		if (slot == 0) {
			if (remote->down_since != 0)
				g_message("reconnected after %.1f s (connection %u)",
					  (now - remote->down_since) / 1e6, remote->generation);
			remote->down_since = 0;
			remote->auth_failed = FALSE;
			remote->auth_delay = AUTH_DELAY_MIN_US;
		}
		g_info("connection %u open (slot %u)", remote->generation, slot);
	} else {
		gboolean auth = remote_refused(error);
		gint64 backoff = RECONNECT_BACKOFF_MIN_US << MIN(s->failures, 10u);
		s->failures++;
		s->retry_after = now + MIN(backoff, RECONNECT_BACKOFF_MAX_US);
		if (slot == 0 && auth) {
			remote->auth_failed = TRUE;
			remote->auth_retry_after = now + remote->auth_delay;
			g_warning("%s; not trying again for %.0f s, and then only when "
				  "something on the mount needs it", error->message,
				  remote->auth_delay / 1e6);
			remote->auth_delay = MIN(remote->auth_delay * 2, AUTH_DELAY_MAX_US);
		} else if (slot == 0) {
			g_warning("reconnecting: %s", error->message);
		} else {
			/* An extra channel (MaxSessions, say): the mount goes on
			 * with fewer, and tries again much later. */
			s->retry_after = now + 60 * G_TIME_SPAN_SECOND;
			g_message("extra SFTP channel %u: %s", slot, error->message);
		}
	}
	g_cond_broadcast(&remote->cond);
}

/* Called with lock held, and returns with it held: runs the listener
 * without the lock. remote_on_change waits for a run under way, so that
 * whoever clears the listener may then free what it points at (a
 * writeback freed while the listener ran was a use after free, TSan). */
static void remote_notify(Remote *remote)
{
	void (*fn)(void *) = remote->on_change;
	void *data = remote->on_change_data;
	if (fn == NULL)
		return;
	remote->notifying++;
	g_mutex_unlock(&remote->lock);
	fn(data);
	g_mutex_lock(&remote->lock);
	remote->notifying--;
	g_cond_broadcast(&remote->cond);
}

/* Extra channels open side by side: each is a channel open at the last
 * hop and an SFTP handshake, round trips that need not wait for one
 * another. */
typedef struct {
	Remote *remote;
	guint slot;
	SftpConn *conn;
	GError *error;
	GThread *thread;
} RemoteOpenJob;

static gpointer remote_open_job(gpointer data)
{
	RemoteOpenJob *job = data;
	job->conn = remote_open_conn(job->remote, job->slot, &job->error);
	return NULL;
}

/* Called with lock held, slot 0 live: the extra slots to open now. */
static GPtrArray *remote_extra_jobs(Remote *remote, gint64 now)
{
	GPtrArray *jobs = g_ptr_array_new();
	for (guint i = 1; i < remote->nslots; i++) {
		RemoteSlot *s = &remote->slots[i];
		if (!s->wanted || remote_slot_live(remote, i) || now < s->retry_after ||
		    (s->ever_open && !remote->options.reconnect))
			continue;
		RemoteOpenJob *job = g_new0(RemoteOpenJob, 1);
		job->remote = remote;
		job->slot = i;
		g_ptr_array_add(jobs, job);
	}
	return jobs;
}

static void remote_open_extras(Remote *remote)
{
	GPtrArray *jobs = remote_extra_jobs(remote, g_get_monotonic_time());
	remote->attempting = TRUE;
	remote->attempt_slot = G_MAXUINT;
	remote->attempt_start = g_get_monotonic_time();
	g_mutex_unlock(&remote->lock);
	for (guint i = 0; i < jobs->len; i++) {
		RemoteOpenJob *job = g_ptr_array_index(jobs, i);
		job->thread = g_thread_new("jumpfs-channel", remote_open_job, job);
	}
	GPtrArray *old = g_ptr_array_new_with_free_func((GDestroyNotify)sftpc_unref);
	for (guint i = 0; i < jobs->len; i++) {
		RemoteOpenJob *job = g_ptr_array_index(jobs, i);
		g_thread_join(job->thread);
	}
	g_mutex_lock(&remote->lock);
	gboolean opened = FALSE;
	for (guint i = 0; i < jobs->len; i++) {
		RemoteOpenJob *job = g_ptr_array_index(jobs, i);
		SftpConn *prev = NULL;
		remote_attempt_done(remote, job->slot, job->conn, job->error, &prev);
		if (prev != NULL)
			g_ptr_array_add(old, prev);
		opened = opened || job->conn != NULL;
		g_clear_error(&job->error);
		g_free(job);
	}
	g_mutex_unlock(&remote->lock);
	g_ptr_array_unref(old);
	g_ptr_array_unref(jobs);
	g_mutex_lock(&remote->lock);
	if (opened)
		remote_notify(remote);
}

static gpointer remote_thread_main(gpointer data)
{
	Remote *remote = data;
	g_mutex_lock(&remote->lock);
	while (!remote->stopping) {
		gint64 wake;
		int slot = remote_next_attempt(remote, g_get_monotonic_time(), &wake);
		if (slot < 0) {
			/* Woken by demand (waiters, keep_trying), by a slot
			 * wanted, or at the next retry time; also once a second
			 * to notice a break nobody reported. */
			gint64 until = g_get_monotonic_time() + G_TIME_SPAN_SECOND;
			if (wake != 0 && wake < until)
				until = wake;
			g_cond_wait_until(&remote->cond, &remote->lock, until);
			continue;
		}
		if (slot > 0) {
			remote_open_extras(remote);
			continue;
		}
		remote->attempting = TRUE;
		remote->attempt_slot = (guint)slot;
		remote->attempt_start = g_get_monotonic_time();
		g_mutex_unlock(&remote->lock);

		GError *error = NULL;
		SftpConn *conn = remote_open_conn(remote, (guint)slot, &error);
		SftpConn *old = NULL;
		g_mutex_lock(&remote->lock);
		remote_attempt_done(remote, (guint)slot, conn, error, &old);
		g_mutex_unlock(&remote->lock);
		g_clear_error(&error);
		if (old != NULL)
			sftpc_unref(old);
		g_mutex_lock(&remote->lock);
		if (conn != NULL)
			remote_notify(remote);
	}
	g_mutex_unlock(&remote->lock);
	return NULL;
}

Remote *remote_connect(RemoteOpenStream open_stream, void *opener_data,
		       const char *remote_path, const RemoteOptions *options,
		       GError **error)
{
	Remote *remote = g_new0(Remote, 1);
	remote->open_stream = open_stream;
	remote->opener_data = opener_data;
	remote->options = *options;
	if (remote->options.max_conns == 0)
		remote->options.max_conns = 1;
	if (remote->options.grace_us <= 0)
		remote->options.grace_us = SOFT_GRACE_US;
	if (remote->options.stripes == 0)
		remote->options.stripes = 1;
	remote->nslots = remote->options.max_conns + remote->options.stripes - 1;
	g_mutex_init(&remote->lock);
	g_cond_init(&remote->cond);
	remote->slots = g_new0(RemoteSlot, remote->nslots);
	remote->slots[0].wanted = TRUE;
	remote->auth_delay = AUTH_DELAY_MIN_US;

	SftpConn *conn = remote_open_conn(remote, 0, error);
	if (conn == NULL || remote_resolve_root(remote, conn, remote_path, error) < 0) {
		if (conn != NULL)
			sftpc_unref(conn);
		remote_free(remote);
		return NULL;
	}
	remote->slots[0].conn = conn;
	remote->slots[0].ever_open = TRUE;
	remote->generation = 1;
	/* Operations share the first max_conns slots from the start. */
	for (guint i = 1; i < remote->options.max_conns; i++)
		remote->slots[i].wanted = TRUE;
	remote->thread = g_thread_new("jumpfs-reconnect", remote_thread_main, remote);
	return remote;
}

void remote_free(Remote *remote)
{
	if (remote == NULL)
		return;
	if (remote->thread != NULL) {
		g_mutex_lock(&remote->lock);
		remote->stopping = TRUE;
		g_cond_broadcast(&remote->cond);
		g_mutex_unlock(&remote->lock);
		g_thread_join(remote->thread);
	}
	for (guint i = 0; i < remote->nslots; i++)
		if (remote->slots[i].conn != NULL)
			sftpc_unref(remote->slots[i].conn);
	g_free(remote->slots);
	g_free(remote->root);
	g_cond_clear(&remote->cond);
	g_mutex_clear(&remote->lock);
	g_free(remote);
}

GArray *remote_channel_stats(Remote *remote)
{
	g_mutex_lock(&remote->lock);
	guint n = remote->nslots;
	g_autofree SftpConn **conns = g_new0(SftpConn *, n);
	for (guint i = 0; i < n; i++)
		if (remote->slots[i].conn != NULL)
			conns[i] = sftpc_ref(remote->slots[i].conn);
	g_mutex_unlock(&remote->lock);
	/* The references are dropped outside the lock (see struct Remote). */
	GArray *stats = g_array_sized_new(FALSE, TRUE, sizeof(RemoteChannelStats), n);
	for (guint i = 0; i < n; i++) {
		RemoteChannelStats s = { .stripe = i >= remote->options.max_conns };
		if (conns[i] != NULL) {
			s.open = !sftpc_is_broken(conns[i]);
			s.in_flight = sftpc_requests_in_flight(conns[i]);
			sftpc_unref(conns[i]);
		}
		g_array_append_val(stats, s);
	}
	return stats;
}

gboolean remote_reconnects(Remote *remote)
{
	return remote->options.reconnect;
}

const char *remote_root(Remote *remote)
{
	return remote->root;
}

char *remote_path_of(Remote *remote, const char *fuse_path)
{
	if (fuse_path[0] == '/' && fuse_path[1] == '\0')
		return g_strdup(remote->root);
	if (strcmp(remote->root, "/") == 0)
		return g_strdup(fuse_path);
	return g_strconcat(remote->root, fuse_path, NULL);
}

gboolean remote_is_hard(Remote *remote)
{
	return remote->options.hard;
}

guint remote_slots(Remote *remote)
{
	return remote->nslots;
}

guint remote_stripes(Remote *remote)
{
	return remote->options.stripes;
}

guint remote_stripe_slot(Remote *remote, guint i)
{
	g_return_val_if_fail(i >= 1 && i < remote->options.stripes, G_MAXUINT);
	return remote->options.max_conns + i - 1;
}

/* Called with lock held: a reference to a live operation slot (round
 * robin), or NULL. */
static SftpConn *remote_take_live(Remote *remote, guint *generation)
{
	guint n = remote->options.max_conns;
	for (guint k = 0; k < n; k++) {
		guint slot = remote->next_slot++ % n;
		if (remote_slot_live(remote, slot)) {
			if (generation != NULL)
				*generation = remote->generation;
			return sftpc_ref(remote->slots[slot].conn);
		}
	}
	return NULL;
}

/* Called with lock held, no live slot: 0 to wait (until *deadline, or
 * for ever if 0), else the error to return now. */
static int remote_wait_policy(Remote *remote, gint64 now, gint64 *deadline)
{
	RemoteSlot *first = &remote->slots[0];
	if (first->ever_open && !remote->options.reconnect)
		return -ENOTCONN;
	if (remote->auth_failed && now < remote->auth_retry_after)
		return -EACCES;
	remote_note_down(remote);
	if (remote->options.hard)
		return 0;
	if (*deadline != 0)
		return now < *deadline ? 0 : -ENOTCONN;
	/* Soft: wait for the attempt under way, or one that starts now,
	 * counting the grace from the break or from the attempt's start. */
	gint64 from;
	if (remote->attempting && remote->attempt_slot == 0)
		from = MAX(remote->down_since, remote->attempt_start);
	else if (now >= first->retry_after && (!remote->auth_failed ||
					       now >= remote->auth_retry_after))
		from = MAX(remote->down_since, now);
	else
		return -ENOTCONN; /* its last attempt failed: the chain is dead */
	*deadline = from + remote->options.grace_us;
	return now < *deadline ? 0 : -ENOTCONN;
}

int remote_acquire(Remote *remote, SftpConn **conn_out, guint *generation)
{
	gint64 deadline = 0;
	int rc = 0;
	g_mutex_lock(&remote->lock);
	for (;;) {
		SftpConn *conn = remote_take_live(remote, generation);
		if (conn != NULL) {
			*conn_out = conn;
			break;
		}
		gint64 now = g_get_monotonic_time();
		rc = remote_wait_policy(remote, now, &deadline);
		if (rc < 0)
			break;
		if (remote->options.interrupted != NULL && remote->options.interrupted()) {
			rc = -EINTR;
			break;
		}
		gint64 until = now + WAIT_SLICE_US;
		if (deadline != 0 && deadline < until)
			until = deadline;
		remote->waiters++;
		g_cond_broadcast(&remote->cond); /* demand: the thread may try */
		g_cond_wait_until(&remote->cond, &remote->lock, until);
		remote->waiters--;
		/* An attempt that failed ends a soft wait (unless it was the
		 * first of several slots): the loop decides. */
		if (!remote->options.hard && !remote->attempting &&
		    remote->slots[0].failures > 0 &&
		    g_get_monotonic_time() < remote->slots[0].retry_after &&
		    !remote_slot_live(remote, 0)) {
			rc = remote->auth_failed ? -EACCES : -ENOTCONN;
			break;
		}
	}
	g_mutex_unlock(&remote->lock);
	return rc;
}

void remote_release(Remote *remote, SftpConn *conn)
{
	(void)remote;
	sftpc_unref(conn);
}

int remote_acquire_slot(Remote *remote, guint slot, SftpConn **conn, guint *generation)
{
	if (slot >= remote->nslots)
		return -ENOTCONN;
	int rc;
	g_mutex_lock(&remote->lock);
	if (remote_slot_live(remote, slot)) {
		*conn = sftpc_ref(remote->slots[slot].conn);
		if (generation != NULL)
			*generation = remote->generation;
		rc = 0;
	} else {
		if (!remote->slots[slot].wanted) {
			remote->slots[slot].wanted = TRUE;
			g_cond_broadcast(&remote->cond);
		}
		if (slot == 0)
			remote_note_down(remote);
		rc = -EAGAIN;
	}
	g_mutex_unlock(&remote->lock);
	return rc;
}

void remote_keep_trying(Remote *remote, gint64 until)
{
	g_mutex_lock(&remote->lock);
	if (until != remote->keep_trying_until) {
		remote->keep_trying_until = until;
		g_cond_broadcast(&remote->cond);
	}
	if (until != 0 && !remote_slot_live(remote, 0))
		remote_note_down(remote);
	g_mutex_unlock(&remote->lock);
}

gint64 remote_down_since(Remote *remote)
{
	g_mutex_lock(&remote->lock);
	if (!remote_slot_live(remote, 0))
		remote_note_down(remote);
	gint64 since = remote->down_since;
	g_mutex_unlock(&remote->lock);
	return since;
}

void remote_on_change(Remote *remote, void (*fn)(void *data), void *data)
{
	g_mutex_lock(&remote->lock);
	remote->on_change = fn;
	remote->on_change_data = data;
	while (remote->notifying > 0)
		g_cond_wait(&remote->cond, &remote->lock);
	g_mutex_unlock(&remote->lock);
}
