/* chain/auth-wire: certificate blobs, .pub lines, and the filtering
 * agent's decisions (what libssh is offered, what reaches the agent).
 * The keys and certificates below were made with ssh-keygen (a CA, a user
 * certificate for alice, a host certificate). */
#include <string.h>

#include "chain/auth-wire.h"

static const char USER_PUB[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICmsmbT1Iv20+U9p6gUc3bz+saaUOOCD"
	"YTmO4qVzzopb"
	" test\n";
static const char USER_CERT_PUB[] =
	"ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9"
	"wZW5zc2guY29tAAAAIEZLErYnjrcJw092puzv2/bvEsJprURkUIhq/VXVLMBJAAAAICm"
	"smbT1Iv20+U9p6gUc3bz+saaUOOCDYTmO4qVzzopbAAAAAAAAAAAAAAABAAAABHRlc3Q"
	"AAAAJAAAABWFsaWNlAAAAAAAAAAD//////////wAAAAAAAACCAAAAFXBlcm1pdC1YMTE"
	"tZm9yd2FyZGluZwAAAAAAAAAXcGVybWl0LWFnZW50LWZvcndhcmRpbmcAAAAAAAAAFnB"
	"lcm1pdC1wb3J0LWZvcndhcmRpbmcAAAAAAAAACnBlcm1pdC1wdHkAAAAAAAAADnBlcm1"
	"pdC11c2VyLXJjAAAAAAAAAAAAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIEIfahwRYyTRolL"
	"eQUDrJvbpoZjyLp3MwIQj3Y3iHzxgAAAAUwAAAAtzc2gtZWQyNTUxOQAAAEBd/7hw3iq"
	"CjlwHtjTLbQU41XjZVE0ZSQRBEn+AHOzZXZFk100/eo3cn4DDsfvwAmsT2JAnPArOhzd"
	"3uAenrmgL"
	" test\n";
static const char HOST_CERT_PUB[] =
	"ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9"
	"wZW5zc2guY29tAAAAIOACA/5z3koPseWGKlocqiMOK4sP4vR7bKgqf+3RXVkpAAAAIKC"
	"rduabTJLQ59Z5xRnrfyf7QfSd8DuJa9aKMYCosqbSAAAAAAAAAAAAAAACAAAAAWgAAAA"
	"NAAAACWguZXhhbXBsZQAAAAAAAAAA//////////8AAAAAAAAAAAAAAAAAAAAzAAAAC3N"
	"zaC1lZDI1NTE5AAAAIEIfahwRYyTRolLeQUDrJvbpoZjyLp3MwIQj3Y3iHzxgAAAAUwA"
	"AAAtzc2gtZWQyNTUxOQAAAEDcjwQ1U8d4kdm7flxHQxOl19I3e6VuEsJMrm67OopyQ0t"
	"GOXEE7sULPqn3UE+kwWB+ZeGFl5QUGjMzunp09wkC"
	" test\n";
static const char RSA_PUB[] =
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC+4+nY+kyVZLD1F7yfXmSSraLwoJFR"
	"SZbVnprIGY/FBpFWYcnZsUS2rer/+DItzxW1koNGIn7KwZq8vDXVursROS0Kba9PsdGS"
	"yj3m7uQVvOHXa0EJNVpMzMqFykAyHhqU3ft2UpTDxNzdcU6T8RbOhjh5Tujl/pYVn6fx"
	"i2YstQ=="
	" test\n";
static const char RSA_CERT_PUB[] =
	"ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5"
	"jb20AAAAgsrrnKTObTrghKoiQ7qp9p5oQ4mjVH5clyf60iX/lWkoAAAADAQABAAAAgQC"
	"+4+nY+kyVZLD1F7yfXmSSraLwoJFRSZbVnprIGY/FBpFWYcnZsUS2rer/+DItzxW1koN"
	"GIn7KwZq8vDXVursROS0Kba9PsdGSyj3m7uQVvOHXa0EJNVpMzMqFykAyHhqU3ft2UpT"
	"DxNzdcU6T8RbOhjh5Tujl/pYVn6fxi2YstQAAAAAAAAAAAAAAAQAAAAFyAAAACQAAAAV"
	"hbGljZQAAAAAAAAAA//////////8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmR"
	"pbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nAAAAAAAAABZwZXJtaXQtcG9"
	"ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNlci1"
	"yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACBCH2ocEWMk0aJS3kFA6yb26aG"
	"Y8i6dzMCEI92N4h88YAAAAFMAAAALc3NoLWVkMjU1MTkAAABA0UQsGYl1duLaKp7hQw5"
	"fcLPoW071Sgy8omU4ynY/p/NQI6JFzXq9x8tLqITlr6txtKELRkLHQ28ewOwsdfgpAA="
	"="
	" test\n";
static const char EC_PUB[] =
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYA"
	"AABBBIQq/nrMjAq2pFLcHII30Yiq055IHM8TDVsM/EGa6DcOP1QPX5Lr3rJoXVH3iVVM"
	"u8l4ygmRDW+xmpOsqZN6Y/M="
	" test\n";
static const char EC_CERT_PUB[] =
	"ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHA"
	"yNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAgtIH03/6HWi/ID/k1rL1f/TyO8HtwHBe"
	"1ASV5/Vt4klcAAAAIbmlzdHAyNTYAAABBBIQq/nrMjAq2pFLcHII30Yiq055IHM8TDVs"
	"M/EGa6DcOP1QPX5Lr3rJoXVH3iVVMu8l4ygmRDW+xmpOsqZN6Y/MAAAAAAAAAAAAAAAE"
	"AAAABZQAAAAkAAAAFYWxpY2UAAAAAAAAAAP//////////AAAAAAAAAIIAAAAVcGVybWl"
	"0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAA"
	"AAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAA"
	"OcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgQh9qHBF"
	"jJNGiUt5BQOsm9umhmPIunczAhCPdjeIfPGAAAABTAAAAC3NzaC1lZDI1NTE5AAAAQGr"
	"ssTMXZG6osMyvBHXXuZ06porJnMwyEiSuODsM4imFT4xyMwrVS/FJd9FyTriZ2RT7gWe"
	"fVWqhzjXYnMHddwU="
	" test\n";

static GBytes *blob_of(const char *line)
{
	GBytes *blob = auth_wire_pub_line(line, strlen(line));
	g_assert_nonnull(blob);
	return blob;
}

static void test_pub_line(void)
{
	g_autoptr(GBytes) user = blob_of(USER_PUB);
	g_autofree char *type = auth_wire_blob_type(user);
	g_assert_cmpstr(type, ==, "ssh-ed25519");
	/* Comments and blank lines before the key. */
	g_autofree char *text = g_strdup_printf("# mine\n\n%s", USER_PUB);
	g_autoptr(GBytes) again = auth_wire_pub_line(text, strlen(text));
	g_assert_true(g_bytes_equal(user, again));
	/* The named type must be the blob's. */
	g_autofree char *lying = g_strdup(USER_PUB);
	memcpy(lying, "ssh-rsa    ", 11);
	g_assert_null(auth_wire_pub_line(lying, strlen(lying)));
	g_assert_null(auth_wire_pub_line("ssh-ed25519", 11));
	g_assert_null(auth_wire_pub_line("ssh-ed25519 !!!!", 16));
	g_assert_null(auth_wire_pub_line("", 0));
}

static void check_plain(const char *cert_line, const char *plain_line)
{
	g_autoptr(GBytes) cert = blob_of(cert_line);
	g_autoptr(GBytes) plain = blob_of(plain_line);
	g_assert_true(auth_wire_is_cert(cert));
	g_assert_false(auth_wire_is_cert(plain));
	const char *why = "unset";
	g_autoptr(GBytes) got = auth_wire_cert_plain(cert, &why);
	g_assert_nonnull(got);
	g_assert_null(why);
	g_assert_true(g_bytes_equal(got, plain));
}

static void test_cert_plain(void)
{
	check_plain(USER_CERT_PUB, USER_PUB);
	check_plain(RSA_CERT_PUB, RSA_PUB);
	check_plain(EC_CERT_PUB, EC_PUB);
}

static void test_cert_refused(void)
{
	const char *why = NULL;
	g_autoptr(GBytes) host = blob_of(HOST_CERT_PUB);
	g_assert_null(auth_wire_cert_plain(host, &why));
	g_assert_cmpstr(why, ==, "a host certificate, not a user certificate");
	g_autoptr(GBytes) plain = blob_of(USER_PUB);
	g_assert_null(auth_wire_cert_plain(plain, &why));
	g_assert_cmpstr(why, ==, "not a certificate");
	/* Every truncation of a certificate is refused, none is read past. */
	g_autoptr(GBytes) cert = blob_of(USER_CERT_PUB);
	gsize size;
	const guint8 *data = g_bytes_get_data(cert, &size);
	for (gsize len = 0; len < 80; len++) {
		g_autoptr(GBytes) cut = g_bytes_new(data, len);
		g_assert_null(auth_wire_cert_plain(cut, &why));
	}
}

static GPtrArray *parse(GBytes *message)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(message, &len);
	GError *error = NULL;
	GPtrArray *ids = auth_wire_parse_identities(data, len, &error);
	g_assert_no_error(error);
	return ids;
}

static void test_identities_round_trip(void)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(
		(GDestroyNotify)auth_wire_identity_free);
	const char *lines[] = { USER_PUB, USER_CERT_PUB, RSA_PUB };
	for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
		AuthWireIdentity *id = g_new0(AuthWireIdentity, 1);
		id->blob = blob_of(lines[i]);
		id->comment = g_strdup_printf("key %zu", i);
		g_ptr_array_add(ids, id);
	}
	g_autoptr(GBytes) answer = auth_wire_identities_answer(ids);
	g_autoptr(GPtrArray) back = parse(answer);
	g_assert_cmpuint(back->len, ==, 3);
	for (guint i = 0; i < 3; i++) {
		AuthWireIdentity *a = g_ptr_array_index(ids, i), *b = g_ptr_array_index(back, i);
		g_assert_true(g_bytes_equal(a->blob, b->blob));
		g_assert_cmpstr(a->comment, ==, b->comment);
	}
	/* Truncated anywhere: an error, never a crash. */
	gsize len;
	const guint8 *data = g_bytes_get_data(answer, &len);
	for (gsize cut = 0; cut < len; cut++) {
		GError *error = NULL;
		g_assert_null(auth_wire_parse_identities(data, cut, &error));
		g_assert_nonnull(error);
		g_error_free(error);
	}
}

/* A SIGN_REQUEST as libssh sends it: key blob, data, flags. */
static GBytes *sign_request(GBytes *key, const char *data, guint32 flags)
{
	GByteArray *out = g_byte_array_new();
	guint8 type = AUTH_WIRE_AGENT_SIGN_REQUEST;
	g_byte_array_append(out, &type, 1);
	gsize key_len;
	const guint8 *key_data = g_bytes_get_data(key, &key_len);
	guint8 len[4] = { key_len >> 24, key_len >> 16, key_len >> 8, key_len };
	g_byte_array_append(out, len, 4);
	g_byte_array_append(out, key_data, (guint)key_len);
	gsize data_len = strlen(data);
	guint8 dlen[4] = { data_len >> 24, data_len >> 16, data_len >> 8, data_len };
	g_byte_array_append(out, dlen, 4);
	g_byte_array_append(out, (const guint8 *)data, (guint)data_len);
	guint8 f[4] = { flags >> 24, flags >> 16, flags >> 8, flags };
	g_byte_array_append(out, f, 4);
	return g_byte_array_free_to_bytes(out);
}

static GBytes *filter(GBytes *shown, GBytes *signer, GBytes *request, GBytes **forward)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(request, &len);
	return auth_wire_filter(shown, "comment", signer, data, len, forward);
}

static void test_filter_lists_only_the_offer(void)
{
	g_autoptr(GBytes) user = blob_of(USER_PUB);
	g_autoptr(GBytes) request = auth_wire_request_identities();
	GBytes *forward = NULL;
	g_autoptr(GBytes) reply = filter(user, NULL, request, &forward);
	g_assert_null(forward);
	g_autoptr(GPtrArray) ids = parse(reply);
	g_assert_cmpuint(ids->len, ==, 1);
	AuthWireIdentity *id = g_ptr_array_index(ids, 0);
	g_assert_true(g_bytes_equal(id->blob, user));
	g_assert_cmpstr(id->comment, ==, "comment");

	g_autoptr(GBytes) none = filter(NULL, NULL, request, &forward);
	g_autoptr(GPtrArray) empty = parse(none);
	g_assert_cmpuint(empty->len, ==, 0);
}

static void test_filter_signs_only_the_offer(void)
{
	g_autoptr(GBytes) user = blob_of(USER_PUB), rsa = blob_of(RSA_PUB);
	GBytes *forward = NULL;
	/* The key on offer: forwarded unchanged. */
	g_autoptr(GBytes) mine = sign_request(user, "session data", 0);
	g_assert_null(filter(user, NULL, mine, &forward));
	g_assert_nonnull(forward);
	g_assert_true(g_bytes_equal(forward, mine));
	g_bytes_unref(forward);
	/* Another of the agent's keys: refused here, the agent never sees it. */
	g_autoptr(GBytes) other = sign_request(rsa, "session data", 2);
	g_autoptr(GBytes) refused = filter(user, NULL, other, &forward);
	g_assert_null(forward);
	g_assert_cmpuint(g_bytes_get_size(refused), ==, 1);
	g_assert_cmpint(((const guint8 *)g_bytes_get_data(refused, NULL))[0], ==,
			AUTH_WIRE_AGENT_FAILURE);
	/* Nothing on offer: nothing signed. */
	g_autoptr(GBytes) nothing = filter(NULL, NULL, mine, &forward);
	g_assert_null(forward);
}

static void test_filter_certificate_signed_by_plain_key(void)
{
	g_autoptr(GBytes) cert = blob_of(USER_CERT_PUB), plain = blob_of(USER_PUB);
	GBytes *forward = NULL;
	g_autoptr(GBytes) request = sign_request(cert, "userauth request", 4);
	g_assert_null(filter(cert, plain, request, &forward));
	g_autoptr(GBytes) want = sign_request(plain, "userauth request", 4);
	g_assert_true(g_bytes_equal(forward, want));
	g_bytes_unref(forward);
}

static void test_filter_refuses_everything_else(void)
{
	g_autoptr(GBytes) user = blob_of(USER_PUB);
	static const guint8 add_identity[] = { 17, 0, 0, 0, 0 };
	static const guint8 lock[] = { 22, 0, 0, 0, 1, 'x' };
	static const guint8 extension[] = { 27, 0, 0, 0, 4, 'q', 'u', 'e', 'r' };
	static const guint8 list_with_junk[] = { 11, 0 };
	const struct { const guint8 *data; gsize len; } cases[] = {
		{ add_identity, sizeof(add_identity) }, { lock, sizeof(lock) },
		{ extension, sizeof(extension) }, { list_with_junk, sizeof(list_with_junk) },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		GBytes *forward = NULL;
		g_autoptr(GBytes) reply = auth_wire_filter(user, "c", NULL, cases[i].data,
							   cases[i].len, &forward);
		g_assert_null(forward);
		g_assert_cmpint(((const guint8 *)g_bytes_get_data(reply, NULL))[0], ==,
				AUTH_WIRE_AGENT_FAILURE);
	}
	/* A sign request cut short or with trailing bytes. */
	g_autoptr(GBytes) request = sign_request(user, "d", 0);
	gsize len;
	const guint8 *data = g_bytes_get_data(request, &len);
	for (gsize cut = 0; cut < len; cut++) {
		GBytes *forward = NULL;
		g_autoptr(GBytes) reply = auth_wire_filter(user, "c", NULL, data, cut, &forward);
		g_assert_null(forward);
	}
}

static void test_sign_reply(void)
{
	static const guint8 response[] = { AUTH_WIRE_AGENT_SIGN_RESPONSE, 0, 0, 0, 0 };
	static const guint8 odd[] = { AUTH_WIRE_AGENT_IDENTITIES_ANSWER, 0, 0, 0, 0 };
	g_autoptr(GBytes) ok = g_bytes_new(response, sizeof(response));
	g_autoptr(GBytes) passed = auth_wire_sign_reply(ok);
	g_assert_true(g_bytes_equal(ok, passed));
	g_autoptr(GBytes) wrong = g_bytes_new(odd, sizeof(odd));
	g_autoptr(GBytes) failure = auth_wire_sign_reply(wrong);
	g_assert_cmpint(((const guint8 *)g_bytes_get_data(failure, NULL))[0], ==,
			AUTH_WIRE_AGENT_FAILURE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/auth-wire/pub-line", test_pub_line);
	g_test_add_func("/chain/auth-wire/cert/plain", test_cert_plain);
	g_test_add_func("/chain/auth-wire/cert/refused", test_cert_refused);
	g_test_add_func("/chain/auth-wire/identities", test_identities_round_trip);
	g_test_add_func("/chain/auth-wire/filter/list", test_filter_lists_only_the_offer);
	g_test_add_func("/chain/auth-wire/filter/sign", test_filter_signs_only_the_offer);
	g_test_add_func("/chain/auth-wire/filter/certificate",
			test_filter_certificate_signed_by_plain_key);
	g_test_add_func("/chain/auth-wire/filter/refuse", test_filter_refuses_everything_else);
	g_test_add_func("/chain/auth-wire/sign-reply", test_sign_reply);
	return g_test_run();
}
