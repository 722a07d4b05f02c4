/* Building one hop: transport, SSH handshake, host key, authentication.
 *
 * Setup runs in the caller's thread; once authenticated the session is
 * handed to a pump and never touched here again. */
#include "chain/hop.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/auth.h"
#include "chain/errors.h"
#include "chain/hop-options.h"
#include "chain/proxy-command.h"
#include "chain/pump.h"
#include "chain/transport.h"

#define DEFAULT_ALIVE_INTERVAL_S 15
#define DEFAULT_ALIVE_COUNT_MAX 3

/* The fd a session runs over. libssh 0.10 closes an fd it got through
 * SSH_OPTIONS_FD on some error paths but never in ssh_disconnect: left
 * open, the hop before never sees EOF on its channel (so it never becomes
 * idle and is never logged out) and the fd leaks. The hop closes it once
 * the session is freed, unless libssh did and the number now names
 * something else: the identity of the open file tells. */
typedef struct {
	int fd;
	dev_t dev;
	ino_t ino;
} HopSocket;

static HopSocket hop_socket_remember(int fd)
{
	HopSocket sock = { .fd = fd };
	struct stat st;
	if (fstat(fd, &st) == 0) {
		sock.dev = st.st_dev;
		sock.ino = st.st_ino;
	}
	return sock;
}

/* Call only after the session that used it is freed. */
static void hop_socket_close(HopSocket *sock)
{
	struct stat st;
	if (sock->fd >= 0 && fstat(sock->fd, &st) == 0 && st.st_dev == sock->dev &&
	    st.st_ino == sock->ino)
		close(sock->fd);
	sock->fd = -1;
}

struct Hop {
	gint refcount;
	char *label;
	char *address;        /* user@host:port: a cached hop serves many chains */
	int connect_timeout_s;
	Hop *via;             /* reference; NULL for the first hop */
	Pump *pump;
	HopSocket socket;     /* what the pump's session runs over */
	ProxyCommand *proxy;  /* the ProxyCommand carrying this hop, or NULL */
};

char *hop_make_label(const HopSpec *spec, guint index, guint total)
{
	return g_strdup_printf("hop %u/%u (%s@%s:%d)", index + 1, total,
			       spec->user, spec->hostname, spec->port);
}

/* A libssh session that reads nothing from ssh_config (jumpfs resolved the
 * config itself; libssh 0.10 would turn ProxyJump into `ssh -W`), runs
 * over fd and speaks what the hop's config allows. fd stays the caller's
 * to close (after the session is freed; see HopSocket). */
static ssh_session hop_new_session(const HopSpec *spec, int fd, const char *label,
				   GError **error)
{
	ssh_session session = ssh_new();
	if (session == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL, "%s: out of memory", label);
		return NULL;
	}
	socket_t sock = fd;
	if (ssh_options_set(session, SSH_OPTIONS_FD, &sock) != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL, "%s: %s", label,
			    ssh_get_error(session));
		ssh_free(session);
		return NULL;
	}
	bool no = false;
	long timeout = transport_timeout(spec);
	const char *failed = NULL;
	if (ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no) != 0)
		failed = "ProcessConfig";
	else if (ssh_options_set(session, SSH_OPTIONS_HOST, spec->hostname) != 0)
		failed = "HostName";
	else if (ssh_options_set(session, SSH_OPTIONS_PORT, &spec->port) != 0)
		failed = "Port";
	else if (ssh_options_set(session, SSH_OPTIONS_USER, spec->user) != 0)
		failed = "User";
	else if (ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout) != 0)
		failed = "ConnectTimeout";
	if (failed != NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG, "%s: %s: libssh refused it: %s",
			    label, failed, ssh_get_error(session));
		ssh_free(session);
		return NULL;
	}
	/* The host key code may order this list (known types first, as
	 * OpenSSH does): hop_options_apply is where it goes to libssh. */
	g_autofree char *hostkeys = knownhosts_prepare(session, spec, label, error);
	if (hostkeys == NULL || !hop_options_apply(session, spec, hostkeys, label, error)) {
		ssh_free(session);
		return NULL;
	}
	return session;
}

/* What the handshake settled on, for -d and --check. */
static char *hop_describe_algorithms(ssh_session session)
{
	const char *cipher_out = ssh_get_cipher_out(session);
	const char *cipher_in = ssh_get_cipher_in(session);
	const char *mac_out = ssh_get_hmac_out(session);
	GString *text = g_string_new(NULL);
	g_string_append_printf(text, "kex %s, cipher %s", ssh_get_kex_algo(session),
			       cipher_out ? cipher_out : "?");
	if (g_strcmp0(cipher_in, cipher_out) != 0)
		g_string_append_printf(text, " (in: %s)", cipher_in ? cipher_in : "?");
	if (mac_out != NULL && strcmp(mac_out, "aead-poly1305") != 0 &&
	    strcmp(mac_out, "aead-gcm") != 0)
		g_string_append_printf(text, ", mac %s", mac_out);
	return g_string_free(text, FALSE);
}

/* The stream the hop's SSH session runs over: its ProxyCommand (then
 * *proxy is set), a TCP connection for the first hop, or a channel through
 * the hop before. A hop with a ProxyCommand is always the first of its
 * chain: ProxyCommand and ProxyJump exclude each other, as in OpenSSH. */
static int hop_open_transport(const ChainSpec *chain, guint index, const char *label,
			      Hop *via, ProxyCommand **proxy, GError **error)
{
	const HopSpec *spec = g_ptr_array_index(chain->hops, index);
	if (spec->proxy_command == NULL)
		return via == NULL ? transport_connect(spec, label, error)
				   : hop_open_forward(via, spec, index - 1, chain->hops->len, error);
	if (via != NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "%s: has a ProxyCommand but is reached through %s", label, via->label);
		return -1;
	}
	ProxyCommandSpec command = {
		.command = spec->proxy_command,
		.fdpass = spec->proxy_use_fdpass,
		.environment = chain->environment,
		.working_dir = chain->working_dir,
		.label = label,
		.timeout_s = transport_timeout(spec),
	};
	int fd = -1;
	*proxy = proxy_command_start(&command, &fd, error);
	return *proxy != NULL ? fd : -1;
}

/* The handshake failed: through a hop that just died that is no protocol
 * error, and where a ProxyCommand carried it, the command usually says
 * why (it exited: "connection refused", "could not resolve"...). */
static void hop_handshake_failed(ssh_session session, const char *label, Hop *via,
				 ProxyCommand *proxy, const HopSpec *spec, GError **error)
{
	if (proxy != NULL && !spec->proxy_use_fdpass) {
		/* Its end closed the stream; give its last words a moment. */
		g_autofree char *why = proxy_command_describe(proxy, 1000);
		gboolean gone = proxy_command_exited(proxy);
		g_set_error(error, JUMPFS_ERROR,
			    gone ? JUMPFS_ERROR_UNREACHABLE : JUMPFS_ERROR_PROTOCOL,
			    "%s: SSH handshake failed: %s; the ProxyCommand (%s) %s", label,
			    ssh_get_error(session), spec->proxy_command, why);
		return;
	}
	g_set_error(error, JUMPFS_ERROR,
		    via != NULL && !hop_is_alive(via) ? JUMPFS_ERROR_DISCONNECTED
						      : JUMPFS_ERROR_PROTOCOL,
		    "%s: SSH handshake failed: %s", label, ssh_get_error(session));
}

Hop *hop_connect(const ChainSpec *chain, guint index, Hop *via, HopReport *report,
		 GError **error)
{
	const HopSpec *spec = g_ptr_array_index(chain->hops, index);
	HopReport local_report = { 0 };
	if (report == NULL)
		report = &local_report;
	g_autofree char *label = hop_make_label(spec, index, chain->hops->len);
	gint64 started = g_get_monotonic_time();

	g_debug("%s: connecting%s%s", label, via ? " through " : "", via ? via->label : "");
	ProxyCommand *proxy = NULL;
	HopSocket sock = { .fd = hop_open_transport(chain, index, label, via, &proxy, error) };
	if (sock.fd < 0)
		goto fail;
	sock = hop_socket_remember(sock.fd);

	ssh_session session = hop_new_session(spec, sock.fd, label, error);
	if (session == NULL)
		goto fail;
	if (ssh_connect(session) != SSH_OK) {
		hop_handshake_failed(session, label, via, proxy, spec, error);
		goto fail_session;
	}
	report->connect_us = g_get_monotonic_time() - started;
	report->algorithms = hop_describe_algorithms(session);
	g_debug("%s: %s", label, report->algorithms);
	if (!knownhosts_verify(session, spec, label, &report->host_key, error))
		goto fail_session;
	g_debug("%s: host key %s %s (%s)", label, report->host_key.key_type,
		report->host_key.fingerprint, report->host_key.status);

	gint64 auth_started = g_get_monotonic_time();
	if (!auth_authenticate(session, spec, label, index + 1 == chain->hops->len,
			       &report->auth_method, error))
		goto fail_session;
	report->auth_us = g_get_monotonic_time() - auth_started;
	g_debug("%s: authenticated with %s", label, report->auth_method);

	Hop *hop = g_new0(Hop, 1);
	hop->refcount = 1;
	hop->label = g_steal_pointer(&label);
	hop->address = g_strdup_printf("%s@%s:%d", spec->user, spec->hostname, spec->port);
	hop->connect_timeout_s = transport_timeout(spec);
	hop->via = via ? hop_ref(via) : NULL;
	hop->socket = sock;
	hop->proxy = proxy;
	if (proxy != NULL)
		proxy_command_hop_up(proxy);
	/* Unset: the mount default, so that a dead hop is found. Set to 0:
	 * off, as the user wrote (ssh's meaning). */
	int interval = spec->server_alive_interval >= 0 ? spec->server_alive_interval
							: DEFAULT_ALIVE_INTERVAL_S;
	int count = spec->server_alive_count_max > 0 ? spec->server_alive_count_max
						     : DEFAULT_ALIVE_COUNT_MAX;
	/* The session's own log lines: "hop 2 (user2@jumphost2:2222)". Its
	 * index is the same in every chain that shares it (a shared prefix),
	 * the chain's length is not. */
	char *pump_label = g_strdup_printf("hop %u (%s)", index + 1, hop->address);
	hop->pump = pump_start(session, pump_label, interval, count);
	g_free(pump_label);
	hop_report_clear(&local_report);
	return hop;

fail_session:
	ssh_disconnect(session);
	ssh_free(session);
fail:
	hop_socket_close(&sock);
	proxy_command_free(proxy);
	hop_report_clear(&local_report);
	return NULL;
}

Hop *hop_ref(Hop *hop)
{
	g_atomic_int_inc(&hop->refcount);
	return hop;
}

void hop_unref(Hop *hop)
{
	if (hop == NULL || !g_atomic_int_dec_and_test(&hop->refcount))
		return;
	pump_free(hop->pump);
	/* After the session: its socket is closed (EOF for the hop before, or
	 * the command), then the command is ended. */
	hop_socket_close(&hop->socket);
	proxy_command_free(hop->proxy);
	if (hop->via != NULL)
		hop_unref(hop->via);
	g_free(hop->label);
	g_free(hop->address);
	g_free(hop);
}

gboolean hop_is_alive(Hop *hop)
{
	for (; hop != NULL; hop = hop->via) {
		if (!pump_is_alive(hop->pump))
			return FALSE;
	}
	return TRUE;
}

gboolean hop_is_idle(Hop *hop)
{
	return g_atomic_int_get(&hop->refcount) == 1 && pump_link_count(hop->pump) == 0;
}

const char *hop_label(Hop *hop)
{
	return hop->label;
}

/* The caller's position for this hop: a cached hop serves chains of any
 * length, so the label made when it connected may say "hop 1/3" to a
 * 2-hop chain. */
static char *hop_label_in_chain(Hop *hop, guint index, guint total)
{
	return g_strdup_printf("hop %u/%u (%s)", index + 1, total, hop->address);
}

int hop_open_forward(Hop *hop, const HopSpec *next, guint index, guint total,
		     GError **error)
{
	g_autofree char *label = hop_label_in_chain(hop, index, total);
	return pump_open_forward(hop->pump, next->hostname, next->port, label,
				 transport_timeout(next), error);
}

int hop_open_sftp(Hop *hop, guint index, guint total, GError **error)
{
	g_autofree char *label = hop_label_in_chain(hop, index, total);
	return pump_open_subsystem(hop->pump, "sftp", label, hop->connect_timeout_s, error);
}

Pump *hop_pump(Hop *hop)
{
	return hop->pump;
}

void hop_report_clear(HopReport *report)
{
	host_key_report_clear(&report->host_key);
	g_clear_pointer(&report->auth_method, g_free);
	g_clear_pointer(&report->algorithms, g_free);
}
