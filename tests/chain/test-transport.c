/* transport_connect() against listeners on loopback (127.0.0.0/8 is all
 * local on Linux, so BindAddress can pick another source address there):
 * bound source, BindInterface, AddressFamily, ConnectionAttempts, keepalive
 * and each failure's message and code. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chain/errors.h"
#include "chain/transport.h"

#define LABEL "hop 1/1 (u@127.0.0.1:1)"

static HopSpec *spec_new(const char *host, int port)
{
	HopSpec *spec = g_new0(HopSpec, 1);
	spec->hostname = g_strdup(host);
	spec->user = g_strdup("u");
	spec->port = port;
	spec->connection_attempts = 1;
	spec->connect_timeout = 5;
	return spec;
}

/* A listener on addr and a free port (returned in *port). */
static int listen_on(const char *addr, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port on addr where nothing listens (bound, then closed). */
static int dead_port(const char *addr)
{
	int port;
	close(listen_on(addr, &port));
	return port;
}

static char *peer_of_accepted(int listener)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int fd = accept(listener, (struct sockaddr *)&peer, &len);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
	return g_strdup(text);
}

static int sockopt(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);
	g_assert_cmpint(getsockopt(fd, level, name, &value, &len), ==, 0);
	return value;
}

static void test_plain(void)
{
	int port;
	int listener = listen_on("127.0.0.1", &port);
	HopSpec *spec = spec_new("127.0.0.1", port);
	spec->tcp_keep_alive = TRUE;
	GError *error = NULL;
	int fd = transport_connect(spec, LABEL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), !=, 0);
	g_assert_cmpint(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), !=, 0);
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_NONBLOCK, ==, 0); /* libssh wants blocking */
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

static void test_no_keepalive(void)
{
	int port;
	int listener = listen_on("127.0.0.1", &port);
	HopSpec *spec = spec_new("127.0.0.1", port);
	spec->tcp_keep_alive = FALSE;
	int fd = transport_connect(spec, LABEL, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), ==, 0);
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

static void test_bind_address(void)
{
	int port;
	int listener = listen_on("127.0.0.1", &port);
	HopSpec *spec = spec_new("127.0.0.1", port);
	spec->bind_address = g_strdup("127.0.0.7");
	int fd = transport_connect(spec, LABEL, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_autofree char *peer = peer_of_accepted(listener);
	g_assert_cmpstr(peer, ==, "127.0.0.7");
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

/* BindAddress wins over BindInterface, as in OpenSSH. */
static void test_bind_address_beats_interface(void)
{
	int port;
	int listener = listen_on("127.0.0.1", &port);
	HopSpec *spec = spec_new("127.0.0.1", port);
	spec->bind_address = g_strdup("127.0.0.9");
	spec->bind_interface = g_strdup("no-such-if0");
	int fd = transport_connect(spec, LABEL, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_autofree char *peer = peer_of_accepted(listener);
	g_assert_cmpstr(peer, ==, "127.0.0.9");
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

/* lo has only loopback addresses, which OpenSSH takes when nothing else
 * is there: the source becomes 127.0.0.1 although the listener is on
 * 127.0.0.5 (a connect without a bind would come from 127.0.0.5). */
static void test_bind_interface(void)
{
	int port;
	int listener = listen_on("127.0.0.5", &port);
	HopSpec *spec = spec_new("127.0.0.5", port);
	spec->bind_interface = g_strdup("lo");
	int fd = transport_connect(spec, LABEL, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_autofree char *peer = peer_of_accepted(listener);
	g_assert_cmpstr(peer, ==, "127.0.0.1");
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

static void test_bind_interface_missing(void)
{
	HopSpec *spec = spec_new("127.0.0.1", dead_port("127.0.0.1"));
	spec->bind_interface = g_strdup("no-such-if0");
	spec->connection_attempts = 3; /* a bad source is not retried */
	GError *error = NULL;
	gint64 started = g_get_monotonic_time();
	g_assert_cmpint(transport_connect(spec, LABEL, &error), ==, -1);
	g_assert_cmpint(g_get_monotonic_time() - started, <, G_USEC_PER_SEC / 2);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, LABEL ": BindInterface no-such-if0: no inet address"));
	g_error_free(error);
	hop_spec_free(spec);
}

static void test_bind_address_not_local(void)
{
	/* TEST-NET-1: never local, and binding sends nothing. */
	HopSpec *spec = spec_new("127.0.0.1", dead_port("127.0.0.1"));
	spec->bind_address = g_strdup("192.0.2.1");
	GError *error = NULL;
	g_assert_cmpint(transport_connect(spec, LABEL, &error), ==, -1);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message,
		LABEL ": BindAddress 192.0.2.1: cannot bind to 192.0.2.1: "));
	g_assert_nonnull(strstr(error->message, g_strerror(EADDRNOTAVAIL)));
	g_error_free(error);
	hop_spec_free(spec);
}

/* AddressFamily inet6 and an IPv4 literal: no address (and, being a
 * literal, no lookup is sent anywhere). */
static void test_address_family(void)
{
	int port;
	int listener = listen_on("127.0.0.1", &port);
	HopSpec *spec = spec_new("127.0.0.1", port);
	spec->address_family = AF_INET6;
	GError *error = NULL;
	g_assert_cmpint(transport_connect(spec, LABEL, &error), ==, -1);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_UNKNOWN_HOST);
	g_assert_nonnull(strstr(error->message,
		LABEL ": cannot resolve 127.0.0.1 for AddressFamily inet6: "));
	g_clear_error(&error);

	spec->address_family = AF_INET;
	int fd = transport_connect(spec, LABEL, &error);
	g_assert_no_error(error);
	close(fd);
	close(listener);
	hop_spec_free(spec);
}

static void test_refused(void)
{
	HopSpec *spec = spec_new("127.0.0.1", dead_port("127.0.0.1"));
	GError *error = NULL;
	g_assert_cmpint(transport_connect(spec, LABEL, &error), ==, -1);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_REFUSED);
	g_autofree char *want = g_strdup_printf(LABEL ": cannot connect to 127.0.0.1 port %d: %s",
						spec->port, g_strerror(ECONNREFUSED));
	g_assert_cmpstr(error->message, ==, want);
	g_error_free(error);
	hop_spec_free(spec);
}

typedef struct {
	int port;
	int listener;
} LateListener;

static gpointer listen_later(gpointer data)
{
	LateListener *late = data;
	g_usleep(G_USEC_PER_SEC / 2);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(late->port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fd, 4), ==, 0);
	late->listener = fd;
	return NULL;
}

/* ConnectionAttempts 2: refused at once, one second's pause, then the
 * server that came up meanwhile answers. With 1 attempt it fails. */
static void test_connection_attempts(void)
{
	LateListener late = { .port = dead_port("127.0.0.1"), .listener = -1 };
	HopSpec *spec = spec_new("127.0.0.1", late.port);
	spec->connection_attempts = 2;
	GThread *thread = g_thread_new("listen-later", listen_later, &late);
	gint64 started = g_get_monotonic_time();
	GError *error = NULL;
	int fd = transport_connect(spec, LABEL, &error);
	g_assert_no_error(error);
	g_assert_cmpint(g_get_monotonic_time() - started, >=, G_USEC_PER_SEC * 9 / 10);
	g_thread_join(thread);
	close(fd);
	close(late.listener);

	spec->port = dead_port("127.0.0.1");
	spec->connection_attempts = 2;
	g_assert_cmpint(transport_connect(spec, LABEL, &error), ==, -1);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_REFUSED);
	g_assert_true(g_str_has_suffix(error->message, " (2 attempts)"));
	g_error_free(error);
	hop_spec_free(spec);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/transport/plain", test_plain);
	g_test_add_func("/chain/transport/no-keepalive", test_no_keepalive);
	g_test_add_func("/chain/transport/bind-address", test_bind_address);
	g_test_add_func("/chain/transport/bind-address-beats-interface",
			test_bind_address_beats_interface);
	g_test_add_func("/chain/transport/bind-interface", test_bind_interface);
	g_test_add_func("/chain/transport/bind-interface-missing", test_bind_interface_missing);
	g_test_add_func("/chain/transport/bind-address-not-local", test_bind_address_not_local);
	g_test_add_func("/chain/transport/address-family", test_address_family);
	g_test_add_func("/chain/transport/refused", test_refused);
	g_test_add_func("/chain/transport/connection-attempts", test_connection_attempts);
	return g_test_run();
}
