/* Connection slots for one mount, opened lazily and replaced when broken. */
#include "fs/remote.h"

#include <errno.h>
#include <string.h>

#include "chain/errors.h"

#define RECONNECT_BACKOFF_MIN_US (250 * G_TIME_SPAN_MILLISECOND)
#define RECONNECT_BACKOFF_MAX_US (8 * G_TIME_SPAN_SECOND)

struct Remote {
	RemoteOpenStream open_stream;
	void *opener_data;
	RemoteOptions options;
	char *root;               /* absolute, never ends in '/' unless "/" */

	/* Lock order: connect_lock before lock. lock is never held across I/O;
	 * connect_lock is held while a new stream is opened, so that many
	 * threads finding a broken connection open one new one, not many. */
	GMutex connect_lock;
	GMutex lock;
	SftpConn **slots;         /* max_conns entries, NULL = not open yet */
	guint next_slot;          /* round robin over slots */
	guint generation;         /* bumped for every new connection */
	guint failures;           /* consecutive failed opens */
	gint64 retry_after;       /* monotonic time before which we don't retry */
};

static SftpConn *remote_open_conn(Remote *remote, GError **error)
{
	int fd = remote->open_stream(remote->opener_data, error);
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
	g_mutex_init(&remote->lock);
	g_mutex_init(&remote->connect_lock);
	remote->slots = g_new0(SftpConn *, remote->options.max_conns);

	SftpConn *conn = remote_open_conn(remote, error);
	if (conn == NULL || remote_resolve_root(remote, conn, remote_path, error) < 0) {
		if (conn != NULL)
			sftpc_unref(conn);
		remote_free(remote);
		return NULL;
	}
	remote->slots[0] = conn;
	remote->generation = 1;
	return remote;
}

void remote_free(Remote *remote)
{
	if (remote == NULL)
		return;
	for (guint i = 0; i < remote->options.max_conns; i++)
		if (remote->slots[i] != NULL)
			sftpc_unref(remote->slots[i]);
	g_free(remote->slots);
	g_free(remote->root);
	g_mutex_clear(&remote->lock);
	g_mutex_clear(&remote->connect_lock);
	g_free(remote);
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

/* A new reference to the connection in slot if it is live, else NULL.
 * Called with lock held. */
static SftpConn *remote_take_live(Remote *remote, guint slot, guint *generation)
{
	SftpConn *conn = remote->slots[slot];
	if (conn == NULL || sftpc_is_broken(conn))
		return NULL;
	if (generation != NULL)
		*generation = remote->generation;
	return sftpc_ref(conn);
}

static SftpConn *remote_take_any_live(Remote *remote, guint *generation)
{
	SftpConn *conn = NULL;
	g_mutex_lock(&remote->lock);
	for (guint i = 0; i < remote->options.max_conns && conn == NULL; i++)
		conn = remote_take_live(remote, i, generation);
	g_mutex_unlock(&remote->lock);
	return conn;
}

/* Called with connect_lock held: open slot unless someone just did, the
 * mount does not reconnect, or the last failure was too recent. */
static SftpConn *remote_open_slot(Remote *remote, guint slot, guint *generation)
{
	g_mutex_lock(&remote->lock);
	SftpConn *conn = remote_take_live(remote, slot, generation);
	gboolean may_open = remote->slots[slot] == NULL || remote->options.reconnect;
	gboolean backing_off = g_get_monotonic_time() < remote->retry_after;
	g_mutex_unlock(&remote->lock);
	if (conn != NULL || !may_open || backing_off)
		return conn;

	GError *error = NULL;
	conn = remote_open_conn(remote, &error);
	g_mutex_lock(&remote->lock);
	if (conn != NULL) {
		if (remote->slots[slot] != NULL)
			sftpc_unref(remote->slots[slot]);
		remote->slots[slot] = sftpc_ref(conn);
		remote->generation++;
		remote->failures = 0;
		remote->retry_after = 0;
		if (generation != NULL)
			*generation = remote->generation;
		g_info("connection %u open", remote->generation);
	} else {
		/* Back off so that a dead chain is not hammered by every
		 * operation; the first retry comes quickly. */
		gint64 backoff = RECONNECT_BACKOFF_MIN_US << MIN(remote->failures, 10u);
		remote->failures++;
		remote->retry_after = g_get_monotonic_time() +
				      MIN(backoff, RECONNECT_BACKOFF_MAX_US);
		g_warning("%s", error->message);
		g_error_free(error);
	}
	g_mutex_unlock(&remote->lock);
	return conn;
}

int remote_acquire(Remote *remote, SftpConn **conn_out, guint *generation)
{
	g_mutex_lock(&remote->lock);
	guint slot = remote->next_slot++ % remote->options.max_conns;
	SftpConn *conn = remote_take_live(remote, slot, generation);
	g_mutex_unlock(&remote->lock);

	if (conn == NULL && !g_mutex_trylock(&remote->connect_lock)) {
		/* Someone is opening a connection: use a live one meanwhile. */
		conn = remote_take_any_live(remote, generation);
		if (conn != NULL) {
			*conn_out = conn;
			return 0;
		}
		g_mutex_lock(&remote->connect_lock);
	}
	if (conn == NULL) {
		conn = remote_open_slot(remote, slot, generation);
		g_mutex_unlock(&remote->connect_lock);
	}
	if (conn == NULL)
		return -ENOTCONN;
	*conn_out = conn;
	return 0;
}

void remote_release(Remote *remote, SftpConn *conn)
{
	(void)remote;
	sftpc_unref(conn);
}
