/* RevokedHostKeys (chain/knownhosts-revoked.c): KRLs made by ssh-keygen
 * -k, crafted ones, and key lists, table-driven. */
#include <glib.h>
#include <string.h>

#include "chain/errors.h"
#include "chain/knownhosts-revoked.h"

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRqhJbz46O4+F5yEhVyTDPgebGsAH0DV0QDlmefXMaL"
#define KEY_EC "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIj7jLSH" \
	"KaRVDvwmwd9wflZ92HSv4o0pKbZ+4Z9dtxnIiJ5cVSLeakYbgOYTA4sXH9SSx6+zeoG6TFhZ3VlxD00="

/* ssh-keygen -k (OpenSSH 9.2) revoking key B: as an explicit key; by its
 * SHA-1 and SHA-256 fingerprints; certificate serials 5, 10-20 and key id
 * "someone" under a CA; and B's key with serial 7 under that CA. */
#define KRL_EXPLICIT "U1NIS1JMCgAAAAABAAAAAAAAAAAAAAAAaw824AAAAAAAAAAAAAAAAAAAAAACAAAANwAAADMAAAALc3N" \
	"oLWVkMjU1MTkAAAAgZGqElvPjo7j4XnISFXJMM+B5sawAfQNXRAOWZ59cxos="
#define KRL_SHA1 "U1NIS1JMCgAAAAABAAAAAAAAAAAAAAAAaw824AAAAAAAAAAAAAAAAAAAAAADAAAAGAAAABSmWA2JeG" \
	"kbCd1FzW/U3VIOtirYRw=="
#define KRL_SHA256 "U1NIS1JMCgAAAAABAAAAAAAAAAAAAAAAaw824AAAAAAAAAAAAAAAAAAAAAAFAAAAJAAAACAaQTMRSs" \
	"3vnK8kTN/Ay8WrmJrZhibFqozq5yqTo9vwAg=="
#define KRL_CERTS "U1NIS1JMCgAAAAABAAAAAAAAAAAAAAAAaw825QAAAAAAAAAAAAAAAAAAAAABAAAAXwAAADMAAAALc3N" \
	"oLWVkMjU1MTkAAAAg6QOblnM6IJM0oHqWxFBOjkzUkQ3NksBMjAQaDss4MqkAAAAAIgAAAA8AAAAAAAAABQAAA" \
	"AMA/+EjAAAACwAAAAdzb21lb25l"
#define KRL_MIXED "U1NIS1JMCgAAAAABAAAAAAAAAAAAAAAAaw825QAAAAAAAAAAAAAAAAAAAAABAAAASAAAADMAAAALc3N" \
	"oLWVkMjU1MTkAAAAg6QOblnM6IJM0oHqWxFBOjkzUkQ3NksBMjAQaDss4MqkAAAAAIAAAAAgAAAAAAAAABwIAAA" \
	"A3AAAAMwAAAAtzc2gtZWQyNTUxOQAAACBkaoSW8+OjuPhechIVckwz4HmxrAB9A1dEA5Znn1zGiw=="

typedef struct {
	const char *name;
	gboolean base64;        /* data is a base64 KRL, else list text */
	const char *data;
	const char *server;     /* the server's key text */
	gboolean ok;            /* the file could be used */
	gboolean revoked;
	const char *where;      /* expected *where, or a part of the error */
} RevokedCase;

static const RevokedCase revoked_cases[] = {
	{ "krl/explicit", TRUE, KRL_EXPLICIT, KEY_B, TRUE, TRUE, "KRL: explicit key" },
	{ "krl/explicit-other", TRUE, KRL_EXPLICIT, KEY_A, TRUE, FALSE, NULL },
	{ "krl/sha1", TRUE, KRL_SHA1, KEY_B, TRUE, TRUE, "KRL: SHA-1 fingerprint" },
	{ "krl/sha1-other", TRUE, KRL_SHA1, KEY_A, TRUE, FALSE, NULL },
	{ "krl/sha256", TRUE, KRL_SHA256, KEY_B, TRUE, TRUE, "KRL: SHA-256 fingerprint" },
	{ "krl/sha256-other", TRUE, KRL_SHA256, KEY_EC, TRUE, FALSE, NULL },
	{ "krl/certificates", TRUE, KRL_CERTS, KEY_B, TRUE, FALSE, NULL },
	{ "krl/mixed", TRUE, KRL_MIXED, KEY_B, TRUE, TRUE, "KRL: explicit key" },
	{ "list/listed", FALSE, "# revoked\n" KEY_A " old key\n" KEY_B "\n", KEY_B, TRUE, TRUE,
	  "line 3" },
	{ "list/not-listed", FALSE, KEY_A "\n\n   \n", KEY_B, TRUE, FALSE, NULL },
	{ "list/empty", FALSE, "", KEY_B, TRUE, FALSE, NULL },
	{ "list/crlf", FALSE, KEY_A "\r\n" KEY_B "\r\n", KEY_B, TRUE, TRUE, "line 2" },
	{ "list/indented-tab", FALSE, " \t" KEY_B, KEY_B, TRUE, TRUE, "line 1" },
	/* A line that is not a key makes the whole file unusable, as in
	 * OpenSSH, which then refuses every connection. */
	{ "list/bad-line", FALSE, KEY_A "\nnot a key\n" KEY_B "\n", KEY_B, FALSE, FALSE,
	  "line 2: not a public key" },
	{ "list/known-hosts-line", FALSE, "h " KEY_B "\n", KEY_B, FALSE, FALSE, "line 1" },
	{ "list/type-only", FALSE, "ssh-ed25519\n", KEY_B, FALSE, FALSE, "line 1" },
	{ "list/bad-base64", FALSE, "ssh-ed25519 AAAA!\n", KEY_B, FALSE, FALSE, "invalid base64" },
	/* ...but the search stops at the first listed key. */
	{ "list/bad-after-hit", FALSE, KEY_B "\nnot a key\n", KEY_B, TRUE, TRUE, "line 1" },
	{ "list/blank-cr-line", FALSE, " \r\n" KEY_B "\n", KEY_B, FALSE, FALSE, "line 1" },
};

static GBytes *case_data(const RevokedCase *c)
{
	if (!c->base64)
		return g_bytes_new_static(c->data, strlen(c->data));
	gsize len = 0;
	guchar *raw = g_base64_decode(c->data, &len);
	return g_bytes_new_take(raw, len);
}

static KnownHostsKey *key_from_text(const char *text)
{
	const char *space = strchr(text, ' ');
	KnownHostsKeyError why;
	KnownHostsKey *key = knownhosts_key_parse(text, space - text, space + 1,
						  strlen(space + 1), &why);
	g_assert_nonnull(key);
	return key;
}

static void check(const char *source, GBytes *data, const KnownHostsKey *key,
		  gboolean want_ok, gboolean want_revoked, const char *want)
{
	gboolean revoked = TRUE;
	g_autofree char *where = NULL;
	GError *error = NULL;
	gsize len;
	const guint8 *d = g_bytes_get_data(data, &len);
	gboolean ok = knownhosts_revoked_check(source, d, len, key, &revoked, &where, &error);
	if (!want_ok) {
		g_assert_false(ok);
		g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
		g_assert_true(g_str_has_prefix(error->message, source));
		if (strstr(error->message, want) == NULL)
			g_error("'%s' not in '%s'", want, error->message);
		g_error_free(error);
		return;
	}
	g_assert_no_error(error);
	g_assert_true(ok);
	g_assert_cmpint(revoked, ==, want_revoked);
	g_assert_cmpstr(where, ==, want);
}

static void run_revoked_case(gconstpointer data)
{
	const RevokedCase *c = data;
	g_autoptr(GBytes) bytes = case_data(c);
	g_autoptr(KnownHostsKey) key = key_from_text(c->server);
	check("/etc/ssh/revoked", bytes, key, c->ok, c->revoked, c->where);
}

/* --- crafted KRLs ---------------------------------------------------- */

static void put_u32(GByteArray *out, guint32 v)
{
	guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
	g_byte_array_append(out, b, 4);
}

static void put_u64(GByteArray *out, guint64 v)
{
	put_u32(out, v >> 32);
	put_u32(out, (guint32)v);
}

static void put_string(GByteArray *out, const void *data, gsize len)
{
	put_u32(out, len);
	g_byte_array_append(out, data, len);
}

static GByteArray *krl_header(guint32 version)
{
	GByteArray *out = g_byte_array_new();
	g_byte_array_append(out, (const guint8 *)"SSHKRL\n\0", 8);
	put_u32(out, version);
	put_u64(out, 1);
	put_u64(out, 0);
	put_u64(out, 0);
	put_string(out, "", 0);
	put_string(out, "comment", 7);
	return out;
}

static void put_section(GByteArray *out, guint8 type, GByteArray *content)
{
	g_byte_array_append(out, &type, 1);
	put_string(out, content->data, content->len);
}

static void check_crafted(GByteArray *krl, const KnownHostsKey *key, gboolean want_ok,
			  gboolean want_revoked, const char *want)
{
	g_autoptr(GBytes) bytes = g_bytes_new(krl->data, krl->len);
	check("crafted.krl", bytes, key, want_ok, want_revoked, want);
}

static void test_krl_crafted(void)
{
	g_autoptr(KnownHostsKey) b = key_from_text(KEY_B);
	g_autoptr(KnownHostsKey) a = key_from_text(KEY_A);

	/* Header only: nothing revoked. */
	g_autoptr(GByteArray) empty = krl_header(1);
	check_crafted(empty, b, TRUE, FALSE, NULL);

	g_autoptr(GByteArray) version = krl_header(2);
	check_crafted(version, b, FALSE, FALSE, "unknown KRL format version");

	g_autoptr(GByteArray) truncated = krl_header(1);
	g_byte_array_set_size(truncated, truncated->len - 3);
	check_crafted(truncated, b, FALSE, FALSE, "truncated header");

	/* An explicit key, then a section this reader does not know: the
	 * whole KRL is refused, as OpenSSH does. */
	g_autoptr(GByteArray) unknown = krl_header(1);
	g_autoptr(GByteArray) keys = g_byte_array_new();
	put_string(keys, g_bytes_get_data(b->plain, NULL), g_bytes_get_size(b->plain));
	put_section(unknown, 2, keys);
	check_crafted(unknown, b, TRUE, TRUE, "KRL: explicit key");
	check_crafted(unknown, a, TRUE, FALSE, NULL);
	g_autoptr(GByteArray) other = g_byte_array_new();
	put_section(unknown, 9, other);
	check_crafted(unknown, b, FALSE, FALSE, "unknown KRL section");

	/* A fingerprint of the wrong length */
	g_autoptr(GByteArray) bad_hash = krl_header(1);
	g_autoptr(GByteArray) hashes = g_byte_array_new();
	put_string(hashes, "0123456789012345678", 19);
	put_section(bad_hash, 3, hashes);
	check_crafted(bad_hash, b, FALSE, FALSE, "SHA-1");

	/* A section longer than the file */
	g_autoptr(GByteArray) overrun = krl_header(1);
	guint8 two = 2;
	g_byte_array_append(overrun, &two, 1);
	put_u32(overrun, 1000);
	check_crafted(overrun, b, FALSE, FALSE, "truncated section");

	/* Signed KRLs cannot be checked: refused, saying so. */
	g_autoptr(GByteArray) signed_krl = krl_header(1);
	g_autoptr(GByteArray) sig = g_byte_array_new();
	put_section(signed_krl, 4, sig);
	check_crafted(signed_krl, a, FALSE, FALSE, "signed KRL");

	/* Certificate serials: 0 is no serial; a range must be ordered. */
	g_autoptr(GByteArray) certs = krl_header(1);
	g_autoptr(GByteArray) cert_section = g_byte_array_new();
	g_autoptr(GByteArray) range = g_byte_array_new();
	put_string(cert_section, "", 0);
	put_string(cert_section, "", 0);
	put_u64(range, 20);
	put_u64(range, 10);
	guint8 range_type = 0x21;
	g_byte_array_append(cert_section, &range_type, 1);
	put_string(cert_section, range->data, range->len);
	put_section(certs, 1, cert_section);
	check_crafted(certs, b, FALSE, FALSE, "certificate section");
}

/* Anything at all: never a crash, never "revoked" without a reason. */
static void test_garbage(void)
{
	g_autoptr(KnownHostsKey) b = key_from_text(KEY_B);
	g_autoptr(GBytes) explicit_krl = case_data(&revoked_cases[0]);
	gsize len;
	const guint8 *d = g_bytes_get_data(explicit_krl, &len);
	for (gsize cut = 1; cut < len; cut++) {
		gboolean revoked = FALSE;
		char *where = NULL;
		GError *error = NULL;
		gboolean ok = knownhosts_revoked_check("cut.krl", d, cut, b, &revoked, &where, &error);
		/* Cut inside the magic it is a (bad) key list; after it, a
		 * truncated KRL, refused, except right after the header
		 * (an empty KRL). Never revoked: the key is cut off. */
		g_assert_cmpint(ok, ==, cut == 8 + 4 + 3 * 8 + 4 + 4);
		g_assert_false(revoked);
		g_assert_null(where);
		g_clear_error(&error);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(revoked_cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/knownhosts/revoked/%s",
							revoked_cases[i].name);
		g_test_add_data_func(path, &revoked_cases[i], run_revoked_case);
	}
	g_test_add_func("/chain/knownhosts/revoked/krl-crafted", test_krl_crafted);
	g_test_add_func("/chain/knownhosts/revoked/krl-cut", test_garbage);
	return g_test_run();
}
