/* The filtering agent. See auth-agent.h.
 *
 * Threads: the authenticating thread calls everything here; the filter
 * thread only reads libssh's requests, asks the real agent and answers.
 * lock guards the offer, which both read. */
#include "chain/auth-agent.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chain/auth-wire.h"
#include "chain/errors.h"

/* ssh-add -c keys wait for a confirmation on the user's screen. */
#define AUTH_AGENT_TIMEOUT_MS (120 * 1000)

struct AuthAgent {
	int agent_fd;          /* the real agent */
	int ours;              /* our end of libssh's socketpair; -1 */
	GThread *thread;
	GPtrArray *identities; /* AuthWireIdentity * */
	GMutex lock;
	GBytes *shown;         /* the one identity on offer, or NULL */
	GBytes *signer;
	char *comment;
};

static gboolean auth_agent_io(int fd, void *buf, size_t len, gboolean reading)
{
	guint8 *p = buf;
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = reading ? POLLIN : POLLOUT };
		int n = poll(&pfd, 1, AUTH_AGENT_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		ssize_t done = reading ? read(fd, p, len) : send(fd, p, len, MSG_NOSIGNAL);
		if (done < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (done <= 0)
			return FALSE;
		p += done;
		len -= (size_t)done;
	}
	return TRUE;
}

/* One message (u32 length + payload); NULL on EOF, error, or an oversized one. */
static GBytes *auth_agent_read_message(int fd)
{
	guint8 head[4];
	if (!auth_agent_io(fd, head, 4, TRUE))
		return NULL;
	guint32 len = (guint32)head[0] << 24 | (guint32)head[1] << 16 | (guint32)head[2] << 8 | head[3];
	if (len == 0 || len > AUTH_WIRE_AGENT_MAX)
		return NULL;
	guint8 *payload = g_malloc(len);
	if (!auth_agent_io(fd, payload, len, TRUE)) {
		g_free(payload);
		return NULL;
	}
	return g_bytes_new_take(payload, len);
}

static gboolean auth_agent_write_message(int fd, GBytes *payload)
{
	gsize len;
	const void *data = g_bytes_get_data(payload, &len);
	guint8 head[4] = { len >> 24, len >> 16, len >> 8, len };
	return auth_agent_io(fd, head, 4, FALSE) && auth_agent_io(fd, (void *)data, len, FALSE);
}

static GBytes *auth_agent_talk(AuthAgent *agent, GBytes *request)
{
	if (!auth_agent_write_message(agent->agent_fd, request))
		return NULL;
	return auth_agent_read_message(agent->agent_fd);
}

AuthAgent *auth_agent_open(const char *path, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "IdentityAgent %s: path too long for a socket", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "cannot connect to the agent at %s: %s", path, g_strerror(err));
		return NULL;
	}
	AuthAgent *agent = g_new0(AuthAgent, 1);
	agent->agent_fd = fd;
	agent->ours = -1;
	g_mutex_init(&agent->lock);
	g_autoptr(GBytes) request = auth_wire_request_identities();
	g_autoptr(GBytes) reply = auth_agent_talk(agent, request);
	gsize len = 0;
	const guint8 *data = reply ? g_bytes_get_data(reply, &len) : NULL;
	agent->identities = data ? auth_wire_parse_identities(data, len, error) : NULL;
	if (reply == NULL)
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the agent at %s did not answer", path);
	if (agent->identities == NULL) {
		g_prefix_error(error, "IdentityAgent %s: ", path);
		auth_agent_close(agent);
		return NULL;
	}
	return agent;
}

const GPtrArray *auth_agent_identities(const AuthAgent *agent)
{
	return agent->identities;
}

void auth_agent_offer(AuthAgent *agent, GBytes *shown, const char *comment, GBytes *signer)
{
	g_mutex_lock(&agent->lock);
	g_clear_pointer(&agent->shown, g_bytes_unref);
	g_clear_pointer(&agent->signer, g_bytes_unref);
	g_clear_pointer(&agent->comment, g_free);
	agent->shown = shown ? g_bytes_ref(shown) : NULL;
	agent->signer = signer ? g_bytes_ref(signer) : NULL;
	agent->comment = g_strdup(comment);
	g_mutex_unlock(&agent->lock);
}

static gpointer auth_agent_serve(gpointer data)
{
	AuthAgent *agent = data;
	for (;;) {
		g_autoptr(GBytes) request = auth_agent_read_message(agent->ours);
		if (request == NULL)
			break;
		gsize len;
		const guint8 *payload = g_bytes_get_data(request, &len);
		GBytes *forward = NULL;
		g_mutex_lock(&agent->lock);
		GBytes *reply = auth_wire_filter(agent->shown, agent->comment, agent->signer,
						 payload, len, &forward);
		g_mutex_unlock(&agent->lock);
		if (forward != NULL) {
			g_autoptr(GBytes) answer = auth_agent_talk(agent, forward);
			g_bytes_unref(forward);
			reply = answer ? auth_wire_sign_reply(answer) : auth_wire_failure();
		}
		gboolean sent = auth_agent_write_message(agent->ours, reply);
		g_bytes_unref(reply);
		if (!sent)
			break;
	}
	return NULL;
}

int auth_agent_filter_fd(AuthAgent *agent, GError **error)
{
	int pair[2];
	if (agent->thread != NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the agent filter is already given to a session");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "socketpair for the agent: %s", g_strerror(errno));
		return -1;
	}
	agent->ours = pair[0];
	agent->thread = g_thread_new("jumpfs-agent", auth_agent_serve, agent);
	return pair[1];
}

void auth_agent_close(AuthAgent *agent)
{
	if (agent == NULL)
		return;
	if (agent->thread != NULL) {
		/* libssh keeps its end until the session is freed: wake the
		 * thread by shutting ours, whatever libssh does. */
		shutdown(agent->ours, SHUT_RDWR);
		g_thread_join(agent->thread);
	}
	if (agent->ours >= 0)
		close(agent->ours);
	close(agent->agent_fd);
	g_clear_pointer(&agent->identities, g_ptr_array_unref);
	g_clear_pointer(&agent->shown, g_bytes_unref);
	g_clear_pointer(&agent->signer, g_bytes_unref);
	g_free(agent->comment);
	g_mutex_clear(&agent->lock);
	g_free(agent);
}
