/* The known_hosts reader (chain/knownhosts-file.c) and key reader
 * (chain/knownhosts-key.c), table-driven: file text + host name + server
 * key -> status, deciding line, lines read and lines skipped.
 *
 * Expected values follow OpenSSH 9.2 (hostfile.c, match.c, sshkey.c);
 * where that is surprising the case says why. In texts, @A@ @B@ @EC@
 * @EC384@ @RSA@ stand for "type base64" of the keys below. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "chain/knownhosts-file.h"
#include "chain/knownhosts-key.h"

/* Generated with ssh-keygen for these tests only. */
#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb"
#define FP_A "SHA256:j9gMBmzO3gnt95ZSq4hggMHBXKr22x2l27X9nURSzms"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRqhJbz46O4+F5yEhVyTDPgebGsAH0DV0QDlmefXMaL"
#define KEY_EC "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIj7jLSH" \
	"KaRVDvwmwd9wflZ92HSv4o0pKbZ+4Z9dtxnIiJ5cVSLeakYbgOYTA4sXH9SSx6+zeoG6TFhZ3VlxD00="
#define FP_EC "SHA256:2wDyBL9pDfW+/MQD/UnHpt4tRhsc55yfWFVxO10ZKig"
#define KEY_EC384 "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBE4s+" \
	"QcX340nlG1DKDIyll1mH2D4BvZS6bnCQGWjDcRv0clNuabCblmXST4yje4tAJPFyI8RLtG5c7K1Eo9974L" \
	"yjl473+1JmaA0YFe3vuAx14gYmBxt3x52W7Q7BF4Hmw=="
#define KEY_RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCi1hWLGy8NxI5JhaFs+abxEFn3nPiCMcA6p/tis+qr" \
	"2AwG9RaMiv2ybSjhmdgUimoi3ro0pTk4kkqj1qjpAWsEM7IR7RGQu6dT41+XjUS9zklaNofiLw5wra0+ogT9" \
	"vJv84HFxZnFWsT1d5oc2H+ZdP03ioW779+UTXIGT3wjcKw=="
#define FP_RSA "SHA256:eP7IYVysPJ793WcYpuvBxJ9UBxAuVNiVp1GcvgRf+Eo"
/* ssh-keygen -H of "host.example.org" and "[jumphost2.whatever.org]:2222" */
#define HASH_HOST "|1|292T2T7Z5VISqJufoXmSa6N2J1k=|x61ghGmo306/oCGn4FIMgmLh+20="
#define HASH_PORT "|1|mpKYwgrdRg9CqCvvEW0e4/nKNGE=|sF74R3gRU/sit0xuPNd4W/Iw4g8="

static KnownHostsKey *key_from_text(const char *text)
{
	const char *space = strchr(text, ' ');
	KnownHostsKeyError why = KNOWNHOSTS_KEY_OK;
	KnownHostsKey *key = knownhosts_key_parse(text, space - text, space + 1,
						  strlen(space + 1), &why);
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_OK);
	g_assert_nonnull(key);
	return key;
}

static const char *key_text(const char *which)
{
	if (g_str_equal(which, "A")) return KEY_A;
	if (g_str_equal(which, "B")) return KEY_B;
	if (g_str_equal(which, "EC")) return KEY_EC;
	if (g_str_equal(which, "EC384")) return KEY_EC384;
	if (g_str_equal(which, "RSA")) return KEY_RSA;
	g_assert_not_reached();
}

static char *expand_keys(const char *text)
{
	static const char *const names[] = { "EC384", "EC", "RSA", "A", "B" };
	GString *out = g_string_new(text);
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *mark = g_strdup_printf("@%s@", names[i]);
		g_string_replace(out, mark, key_text(names[i]), 0);
	}
	return g_string_free(out, FALSE);
}

typedef struct {
	const char *name;        /* test path below /chain/knownhosts/read/ */
	const char *host;        /* the lookup name */
	const char *text;        /* the file */
	gsize text_len;          /* 0: strlen (set for texts with NULs) */
	const char *server;      /* the server's key: A, B, EC, EC384, RSA */
	KnownHostsStatus status;
	guint line;              /* deciding line; 0: none */
	guint entries;           /* lines read for this host */
	guint skipped;           /* lines naming the host, skipped */
} ReadCase;

#define OK KNOWNHOSTS_STATUS_OK
#define NEW KNOWNHOSTS_STATUS_NEW
#define CHANGED KNOWNHOSTS_STATUS_CHANGED
#define REVOKED KNOWNHOSTS_STATUS_REVOKED

static const ReadCase read_cases[] = {
	{ "plain", "host.example.org", "host.example.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "other-host", "host.example.org", "other.example.org @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "changed", "host.example.org", "host.example.org @B@\n", 0, "A", CHANGED, 1, 1, 0 },
	/* Any plain line for the host that does not hold the key is a
	 * change, whatever its key type (hostfile.c makes no type check). */
	{ "changed/other-type", "host.example.org", "host.example.org @EC@\n", 0, "A",
	  CHANGED, 1, 1, 0 },
	{ "changed/last-line-named", "h", "h @B@\nh @EC@\n", 0, "A", CHANGED, 2, 2, 0 },
	{ "ok-beats-changed", "h", "h @B@\nh @A@\nh @EC@\n", 0, "A", OK, 2, 3, 0 },
	{ "no-file-content", "h", "", 0, "A", NEW, 0, 0, 0 },
	{ "no-final-newline", "h", "x @B@\nh @A@", 0, "A", OK, 2, 1, 0 },
	/* Pattern lists */
	{ "pattern/list", "a.example.org", "foo,*.example.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "pattern/question", "ab.example.org", "a?.example.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "pattern/question-one-char", "abc.example.org", "a?.example.org @A@\n", 0, "A",
	  NEW, 0, 0, 0 },
	{ "pattern/star-middle", "host-17.lab.org", "host-*.lab.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "pattern/case", "HOST.example.org", "host.EXAMPLE.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "pattern/empty-element", "h", "x,,h @A@\n", 0, "A", OK, 1, 1, 0 },
	/* A matching !pattern makes the whole line not match, even when an
	 * earlier or later pattern matches; other lines still count. */
	{ "negated/line", "bad.example.org", "*.example.org,!bad.example.org @A@\n", 0, "A",
	  NEW, 0, 0, 0 },
	{ "negated/first", "bad.example.org", "!bad.example.org,bad.example.org @A@\n", 0,
	  "A", NEW, 0, 0, 0 },
	{ "negated/other-line-counts", "bad.example.org",
	  "*.example.org,!bad.example.org @B@\nbad.example.org @A@\n", 0, "A", OK, 2, 1, 0 },
	{ "negated/no-change", "bad.example.org",
	  "*.example.org,!bad.example.org @B@\n", 0, "A", NEW, 0, 0, 0 },
	{ "negated/not-this-host", "good.example.org",
	  "*.example.org,!bad.example.org @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "negated/only", "h", "!x @A@\n", 0, "A", NEW, 0, 0, 0 },
	/* Ports: "[host]:port" is its own name. */
	{ "port/bracketed", "[jumphost2.whatever.org]:2222",
	  "[jumphost2.whatever.org]:2222 @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "port/plain-is-not-port", "[jumphost2.whatever.org]:2222",
	  "jumphost2.whatever.org @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "port/port-is-not-plain", "jumphost2.whatever.org",
	  "[jumphost2.whatever.org]:2222 @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "port/other-port", "[h]:2222", "[h]:2200 @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "port/pattern", "[h]:2222", "[h]:* @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "port/in-list", "[h]:2222", "h,[h]:2222 @A@\n", 0, "A", OK, 1, 1, 0 },
	/* Hashed names (ssh-keygen -H) */
	{ "hashed", "host.example.org", HASH_HOST " @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "hashed/port", "[jumphost2.whatever.org]:2222", HASH_PORT " @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "hashed/other-name", "other.example.org", HASH_HOST " @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "hashed/case", "Host.Example.ORG", HASH_HOST " @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "hashed/changed", "host.example.org", HASH_HOST " @B@\n", 0, "A", CHANGED, 1, 1, 0 },
	/* Compared as text: anything but the canonical form never matches. */
	{ "hashed/extra-char", "host.example.org", HASH_HOST "x @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "hashed/short-salt", "host.example.org", "|1|AAAA|x61ghGmo306/oCGn4FIMgmLh+20= @A@\n",
	  0, "A", NEW, 0, 0, 0 },
	{ "hashed/bad-magic", "host.example.org",
	  "|2|292T2T7Z5VISqJufoXmSa6N2J1k=|x61ghGmo306/oCGn4FIMgmLh+20= @A@\n", 0, "A",
	  NEW, 0, 0, 0 },
	{ "hashed/no-hash", "host.example.org", "|1|292T2T7Z5VISqJufoXmSa6N2J1k= @A@\n", 0,
	  "A", NEW, 0, 0, 0 },
	{ "hashed/bar-only", "h", "| @A@\n", 0, "A", NEW, 0, 0, 0 },
	/* Comments and blanks */
	{ "comment/line", "h", "# h @B@\nh @A@\n", 0, "A", OK, 2, 1, 0 },
	{ "comment/indented", "h", "   \t# h @B@\n\n   \nh @A@\n", 0, "A", OK, 4, 1, 0 },
	{ "comment/after-key", "h", "h @A@ root@h # anything\n", 0, "A", OK, 1, 1, 0 },
	{ "blank/leading", "h", "  \th @A@\n", 0, "A", OK, 1, 1, 0 },
	{ "blank/tabs", "h", "h\t\tssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb\tc\n",
	  0, "A", OK, 1, 1, 0 },
	{ "crlf", "h", "h @B@\r\nh @A@\r\n", 0, "A", OK, 2, 2, 0 },
	{ "crlf/comment", "h", "h @A@ comment\r\n", 0, "A", OK, 1, 1, 0 },
	{ "crlf/blank-line", "h", "\r\nh @A@\r\n", 0, "A", OK, 2, 1, 0 },
	/* A line that cannot be read is skipped, that line only: a later
	 * line still decides (libssh 0.10 reads the whole file as unknown). */
	{ "bad/base64-then-good", "h", "h ssh-ed25519 AAAA!!!!\nh @A@\n", 0, "A", OK, 2, 1, 1 },
	{ "bad/base64-then-pin", "h", "h ssh-ed25519 AAAA!!!!\nh @B@\n", 0, "A", CHANGED, 2, 1, 1 },
	{ "bad/base64-only", "h", "h ssh-ed25519 AAAA!!!!\n", 0, "A", NEW, 0, 0, 1 },
	{ "bad/base64-no-padding", "h",
	  "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5m\n",
	  0, "A", NEW, 0, 0, 1 },
	{ "bad/unknown-type", "h", "h ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb\nh @B@\n",
	  0, "A", CHANGED, 2, 1, 1 },
	{ "bad/type-mismatch", "h", "h ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb\n",
	  0, "A", NEW, 0, 0, 1 },
	{ "bad/curve-mismatch", "h", "h ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIj7jLSHKaRVDvwmwd9wflZ92HSv4o0pKbZ+4Z9dtxnIiJ5cVSLeakYbgOYTA4sXH9SSx6+zeoG6TFhZ3VlxD00=\n",
	  0, "EC", NEW, 0, 0, 1 },
	{ "bad/no-key", "h", "h\nh @A@\n", 0, "A", OK, 2, 1, 1 },
	{ "bad/no-blob", "h", "h ssh-ed25519\nh ssh-ed25519   \n", 0, "A", NEW, 0, 0, 2 },
	{ "bad/comment-for-key", "h", "h # ssh-ed25519\n", 0, "A", NEW, 0, 0, 1 },
	{ "bad/rsa1", "h", "h 1024 35 1234567890\n", 0, "A", NEW, 0, 0, 1 },
	{ "bad/other-host-not-counted", "h", "x ssh-ed25519 AAAA!!!!\n", 0, "A", NEW, 0, 0, 0 },
	/* NUL ends a line's text, as in OpenSSH's C strings. */
	{ "nul/after-key", "h", "h " KEY_A "\0junk\n", sizeof("h " KEY_A "\0junk\n") - 1, "A",
	  OK, 1, 1, 0 },
	{ "nul/in-host", "h", "h\0x " KEY_A "\n", sizeof("h\0x " KEY_A "\n") - 1, "A",
	  NEW, 0, 0, 1 },
	/* Markers */
	{ "revoked", "h", "@revoked h @A@\nh @A@\n", 0, "A", REVOKED, 1, 2, 0 },
	{ "revoked/wildcard", "h", "h @A@\n@revoked * @A@\n", 0, "A", REVOKED, 2, 2, 0 },
	{ "revoked/other-key", "h", "@revoked * @B@\nh @A@\n", 0, "A", OK, 2, 2, 0 },
	{ "revoked/alone", "h", "@revoked h @A@\n", 0, "A", REVOKED, 1, 1, 0 },
	{ "revoked/other-host", "h", "@revoked x @A@\nh @A@\n", 0, "A", OK, 2, 1, 0 },
	{ "revoked/tabs", "h", "@revoked\th @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "ca/only", "h.example.org", "@cert-authority *.example.org @EC@\n", 0, "A", NEW, 0, 1, 0 },
	{ "ca/with-key", "h", "@cert-authority * @EC@\nh @A@\n", 0, "A", OK, 2, 2, 0 },
	{ "marker/unknown", "h", "@foo h @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "marker/two", "h", "@revoked @revoked h @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "marker/at-only", "h", "@ h @A@\n", 0, "A", NEW, 0, 0, 0 },
	{ "marker/no-host", "h", "@revoked\n", 0, "A", NEW, 0, 0, 0 },
	/* Key types and encodings */
	{ "ecdsa", "h", "h @EC@\n", 0, "EC", OK, 1, 1, 0 },
	{ "ecdsa/other-curve", "h", "h @EC384@\n", 0, "EC", CHANGED, 1, 1, 0 },
	{ "rsa", "h", "h @RSA@\n", 0, "RSA", OK, 1, 1, 0 },
	/* An RSA key may be written with any RSA type name. */
	{ "rsa/sha2-name", "h", "h rsa-sha2-512 AAAAB3NzaC1yc2EAAAADAQABAAAAgQCi1hWLGy8NxI5JhaFs+abxEFn3nPiCMcA6p/tis+qr2AwG9RaMiv2ybSjhmdgUimoi3ro0pTk4kkqj1qjpAWsEM7IR7RGQu6dT41+XjUS9zklaNofiLw5wra0+ogT9vJv84HFxZnFWsT1d5oc2H+ZdP03ioW779+UTXIGT3wjcKw==\n",
	  0, "RSA", OK, 1, 1, 0 },
	{ "base64/carriage-return-inside", "h",
	  "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\rAAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb\n",
	  0, "A", OK, 1, 1, 0 },
};

static void run_read_case(gconstpointer data)
{
	const ReadCase *c = data;
	g_autofree char *text = NULL;
	gsize len;
	if (c->text_len != 0) {
		text = g_memdup2(c->text, c->text_len);
		len = c->text_len;
	} else {
		text = expand_keys(c->text);
		len = strlen(text);
	}
	g_autoptr(KnownHostsMatch) match = knownhosts_file_match_new(c->host);
	knownhosts_file_read_text(match, "known_hosts", text, len, FALSE);
	g_autoptr(KnownHostsKey) server = key_from_text(key_text(c->server));
	const KnownHostsEntry *found = NULL;
	KnownHostsStatus status = knownhosts_file_check(match, server, &found);
	g_assert_cmpint(status, ==, c->status);
	g_assert_cmpuint(found != NULL ? found->line : 0, ==, c->line);
	g_assert_cmpuint(match->entries->len, ==, c->entries);
	g_assert_cmpuint(match->skipped->len, ==, c->skipped);
	if (found != NULL)
		g_assert_cmpstr(found->source, ==, "known_hosts");
}

/* --- overlong lines and patterns ------------------------------------ */

static void test_long_lines(void)
{
	g_autoptr(GString) text = g_string_new(NULL);
	/* 1 MiB of another host's comment, a 100,000-name host list, then
	 * the line that decides. */
	g_string_append(text, "x " KEY_B " ");
	for (int i = 0; i < 1 << 20; i++)
		g_string_append_c(text, 'c');
	g_string_append_c(text, '\n');
	for (int i = 0; i < 100000; i++)
		g_string_append_printf(text, "n%d,", i);
	g_string_append(text, "h " KEY_A "\n");
	g_string_append(text, "h " KEY_A " ");
	for (int i = 0; i < 100000; i++)
		g_string_append(text, "comment ");
	g_string_append_c(text, '\n');
	g_autoptr(KnownHostsMatch) match = knownhosts_file_match_new("h");
	knownhosts_file_read_text(match, "f", text->str, text->len, FALSE);
	g_autoptr(KnownHostsKey) server = key_from_text(KEY_A);
	const KnownHostsEntry *found = NULL;
	g_assert_cmpint(knownhosts_file_check(match, server, &found), ==, OK);
	g_assert_cmpuint(found->line, ==, 2);
	g_assert_cmpuint(match->entries->len, ==, 2);
}

/* match_pattern_list() copies each pattern into a 1024-byte buffer: one of
 * 1023 characters or more fails the whole list, even after a match. */
static void test_pattern_limit(void)
{
	g_autofree char *p1022 = g_strnfill(1022, 'a');
	g_autofree char *p1023 = g_strnfill(1023, 'a');
	g_autofree char *ok = g_strdup_printf("h,%s", p1022);
	g_autofree char *too_long = g_strdup_printf("h,%s", p1023);
	g_autofree char *negated_first = g_strdup_printf("!h,%s", p1023);
	g_assert_cmpint(knownhosts_file_match_patterns("h", ok, strlen(ok)), ==, 1);
	g_assert_cmpint(knownhosts_file_match_patterns("h", too_long, strlen(too_long)), ==, 0);
	g_assert_cmpint(knownhosts_file_match_patterns("h", negated_first,
						       strlen(negated_first)), ==, -1);
	g_assert_cmpint(knownhosts_file_match_patterns(p1022, p1022, 1022), ==, 1);
}

/* Many stars against a long name: linear, where a naive recursion would
 * not finish. */
static void test_pattern_stars(void)
{
	g_autoptr(GString) pattern = g_string_new(NULL);
	for (int i = 0; i < 300; i++)
		g_string_append(pattern, "*a");
	g_string_append(pattern, "*b");
	g_autofree char *name = g_strnfill(900, 'a');
	g_assert_cmpint(knownhosts_file_match_patterns(name, pattern->str, pattern->len), ==, 0);
	name[899] = 'b';
	g_assert_cmpint(knownhosts_file_match_patterns(name, pattern->str, pattern->len), ==, 1);
}

/* --- hashing --------------------------------------------------------- */

static void test_hash_round_trip(void)
{
	const guint8 salt[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
				  18, 19, 20 };
	g_autofree char *hashed = knownhosts_file_hash_name("[h.example.org]:2222", salt);
	g_assert_true(g_str_has_prefix(hashed, "|1|AQIDBAUGBwgJCgsMDQ4PEBESExQ=|"));
	g_assert_cmpuint(strlen(hashed), ==, 3 + 28 + 1 + 28);
	g_assert_true(knownhosts_file_match_hashed("[h.example.org]:2222", hashed, strlen(hashed)));
	g_assert_false(knownhosts_file_match_hashed("h.example.org", hashed, strlen(hashed)));
	g_assert_true(knownhosts_file_match_hashed("host.example.org", HASH_HOST,
						   strlen(HASH_HOST)));
}

/* --- base64 (b64_pton) ----------------------------------------------- */

typedef struct {
	const char *text;
	const char *decoded; /* NULL: invalid */
	gsize len;
} Base64Case;

static const Base64Case base64_cases[] = {
	{ "", "", 0 },
	{ "AAAA", "\0\0\0", 3 },
	{ "YWJj", "abc", 3 },
	{ "YWI=", "ab", 2 },
	{ "YQ==", "a", 1 },
	{ "YQ= =", "a", 1 },      /* blanks between the two pads */
	{ "Y W\rJ\nj", "abc", 3 }, /* white space anywhere */
	{ "YQ== \r\n", "a", 1 },
	{ "YQ", NULL, 0 },          /* padding is required */
	{ "YWI", NULL, 0 },
	{ "Y===", NULL, 0 },
	{ "====", NULL, 0 },
	{ "YQ=", NULL, 0 },
	{ "YWJj=", NULL, 0 },
	{ "YQ==x", NULL, 0 },
	{ "YR==", NULL, 0 },        /* bits left over */
	{ "YWJ=", NULL, 0 },
	{ "YW!j", NULL, 0 },
	{ "YW-j", NULL, 0 },        /* no URL-safe alphabet */
};

static void test_base64(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(base64_cases); i++) {
		const Base64Case *c = &base64_cases[i];
		g_autoptr(GBytes) out = knownhosts_key_base64_decode(c->text, strlen(c->text));
		if (c->decoded == NULL) {
			if (out != NULL)
				g_error("'%s' decoded, but is invalid", c->text);
			continue;
		}
		if (out == NULL)
			g_error("'%s' did not decode", c->text);
		g_assert_cmpmem(g_bytes_get_data(out, NULL), g_bytes_get_size(out), c->decoded,
				c->len);
	}
}

/* --- keys ------------------------------------------------------------ */

static void put_string(GByteArray *out, const void *data, gsize len)
{
	guint8 n[4] = { len >> 24, len >> 16, len >> 8, len };
	g_byte_array_append(out, n, 4);
	g_byte_array_append(out, data, len);
}

static GBytes *blob_of(const char *text)
{
	const char *space = strchr(text, ' ');
	return knownhosts_key_base64_decode(space + 1, strlen(space + 1));
}

static void test_key_names(void)
{
	struct { const char *text, *name, *short_name, *fingerprint; } keys[] = {
		{ KEY_A, "ssh-ed25519", "ED25519", FP_A },
		{ KEY_EC, "ecdsa-sha2-nistp256", "ECDSA", FP_EC },
		{ KEY_RSA, "ssh-rsa", "RSA", FP_RSA },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autoptr(KnownHostsKey) key = key_from_text(keys[i].text);
		g_autofree char *fp = knownhosts_key_fingerprint(key);
		g_autofree char *text = knownhosts_key_to_text(key);
		g_assert_cmpstr(knownhosts_key_name(key), ==, keys[i].name);
		g_assert_cmpstr(knownhosts_key_short_name(key), ==, keys[i].short_name);
		g_assert_cmpstr(fp, ==, keys[i].fingerprint);
		g_assert_cmpstr(text, ==, keys[i].text);
	}
	g_autoptr(KnownHostsKey) rsa = key_from_text(KEY_RSA);
	g_assert_cmpuint(knownhosts_key_rsa_bits(rsa), ==, 1024);
}

/* OpenSSH compares RSA keys by value: an mpint with a needless leading
 * zero is the same key. */
static void test_key_rsa_canonical(void)
{
	g_autoptr(GBytes) blob = blob_of(KEY_RSA);
	gsize len;
	const guint8 *d = g_bytes_get_data(blob, &len);
	/* "ssh-rsa" (4+7), then e = 00 00 00 03 01 00 01 */
	g_assert_cmpuint(d[14], ==, 3);
	g_autoptr(GByteArray) padded = g_byte_array_new();
	g_byte_array_append(padded, d, 11);
	const guint8 e[] = { 0, 0, 0, 4, 0, 1, 0, 1 };
	g_byte_array_append(padded, e, sizeof(e));
	g_byte_array_append(padded, d + 18, len - 18);
	KnownHostsKeyError why;
	g_autoptr(KnownHostsKey) a = knownhosts_key_from_blob(d, len, &why);
	g_autoptr(KnownHostsKey) b = knownhosts_key_from_blob(padded->data, padded->len, &why);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_true(knownhosts_key_equal(a, b));
	/* A negative mpint is refused. */
	padded->data[15] = 0x80;
	g_assert_null(knownhosts_key_from_blob(padded->data, padded->len, &why));
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_BAD_BLOB);
}

static void test_key_blob_errors(void)
{
	KnownHostsKeyError why;
	g_autoptr(GBytes) a = blob_of(KEY_A);
	gsize len;
	const guint8 *d = g_bytes_get_data(a, &len);

	/* Truncated and overlong blobs */
	g_assert_null(knownhosts_key_from_blob(d, len - 1, &why));
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_BAD_BLOB);
	g_autoptr(GByteArray) longer = g_byte_array_new();
	g_byte_array_append(longer, d, len);
	g_byte_array_append(longer, (const guint8 *)"x", 1);
	g_assert_null(knownhosts_key_from_blob(longer->data, longer->len, &why));
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_BAD_BLOB);

	/* Ed25519 keys are 32 bytes */
	g_autoptr(GByteArray) short_key = g_byte_array_new();
	put_string(short_key, "ssh-ed25519", 11);
	put_string(short_key, d + 19, 31);
	g_assert_null(knownhosts_key_from_blob(short_key->data, short_key->len, &why));

	/* A short name inside the blob is accepted for plain types */
	g_autoptr(GByteArray) short_name = g_byte_array_new();
	put_string(short_name, "ed25519", 7);
	put_string(short_name, d + 19, 32);
	g_autoptr(KnownHostsKey) k = knownhosts_key_from_blob(short_name->data,
							       short_name->len, &why);
	g_assert_nonnull(k);
	g_autoptr(KnownHostsKey) ka = knownhosts_key_from_blob(d, len, &why);
	g_assert_true(knownhosts_key_equal(k, ka));

	/* Unknown types */
	g_autoptr(GByteArray) unknown = g_byte_array_new();
	put_string(unknown, "ssh-foo", 7);
	put_string(unknown, d + 19, 32);
	g_assert_null(knownhosts_key_from_blob(unknown->data, unknown->len, &why));
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_BAD_TYPE);

	/* An RSA modulus under 1024 bits */
	g_autoptr(GByteArray) small = g_byte_array_new();
	const guint8 e[] = { 1, 0, 1 };
	guint8 n[65] = { 0, 0xc5 };
	put_string(small, "ssh-rsa", 7);
	put_string(small, e, sizeof(e));
	put_string(small, n, sizeof(n));
	g_assert_null(knownhosts_key_from_blob(small->data, small->len, &why));
	g_assert_cmpint(why, ==, KNOWNHOSTS_KEY_TOO_SMALL);

	/* An ECDSA point must be uncompressed, of the curve's size */
	g_autoptr(GBytes) ec = blob_of(KEY_EC);
	gsize ec_len;
	const guint8 *ecd = g_bytes_get_data(ec, &ec_len);
	g_autoptr(GByteArray) compressed = g_byte_array_new();
	g_byte_array_append(compressed, ecd, ec_len);
	compressed->data[ec_len - 65] = 0x02;
	g_assert_null(knownhosts_key_from_blob(compressed->data, compressed->len, &why));
}

static void test_algorithms(void)
{
	g_assert_true(knownhosts_key_algorithm_uses("rsa-sha2-512", KNOWNHOSTS_KEY_RSA, 0));
	g_assert_true(knownhosts_key_algorithm_uses("ssh-rsa", KNOWNHOSTS_KEY_RSA, 0));
	g_assert_true(knownhosts_key_algorithm_uses("ecdsa-sha2-nistp384", KNOWNHOSTS_KEY_ECDSA, 384));
	g_assert_false(knownhosts_key_algorithm_uses("ecdsa-sha2-nistp384", KNOWNHOSTS_KEY_ECDSA, 256));
	g_assert_false(knownhosts_key_algorithm_uses("ssh-ed25519", KNOWNHOSTS_KEY_RSA, 0));
	g_assert_false(knownhosts_key_algorithm_uses("no-such-alg", KNOWNHOSTS_KEY_RSA, 0));
}

static void test_find(void)
{
	g_autofree char *text = expand_keys("@cert-authority * @B@\nh @EC@\nh @RSA@\n");
	g_autoptr(KnownHostsMatch) match = knownhosts_file_match_new("h");
	knownhosts_file_read_text(match, "f", text, strlen(text), FALSE);
	g_assert_cmpuint(knownhosts_file_find_kind(match, KNOWNHOSTS_KEY_RSA, 0)->line, ==, 3);
	g_assert_cmpuint(knownhosts_file_find_kind(match, KNOWNHOSTS_KEY_ECDSA, 256)->line, ==, 2);
	g_assert_null(knownhosts_file_find_kind(match, KNOWNHOSTS_KEY_ECDSA, 384));
	/* The CA line's key is no host key of that type */
	g_assert_null(knownhosts_file_find_kind(match, KNOWNHOSTS_KEY_ED25519, 0));
	g_assert_cmpuint(knownhosts_file_find_marker(match, KNOWNHOSTS_MARKER_CA)->line, ==, 1);
	g_assert_null(knownhosts_file_find_marker(match, KNOWNHOSTS_MARKER_REVOKED));
}

static void test_read_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("test-knownhosts-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "known_hosts", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing", NULL);
	g_autofree char *text = expand_keys("h @A@\n");
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_autoptr(KnownHostsMatch) match = knownhosts_file_match_new("h");
	GError *error = NULL;
	g_assert_true(knownhosts_file_read(match, missing, &error));
	g_assert_no_error(error);
	g_assert_true(knownhosts_file_read(match, path, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(match->entries->len, ==, 1);
	g_assert_cmpstr(((KnownHostsEntry *)match->entries->pdata[0])->source, ==, path);
	/* A directory cannot be read: an error, not an empty file */
	g_assert_false(knownhosts_file_read(match, dir, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(read_cases); i++) {
		g_autofree char *path = g_strdup_printf("/chain/knownhosts/read/%s", read_cases[i].name);
		g_test_add_data_func(path, &read_cases[i], run_read_case);
	}
	g_test_add_func("/chain/knownhosts/read/long-lines", test_long_lines);
	g_test_add_func("/chain/knownhosts/read/file", test_read_file);
	g_test_add_func("/chain/knownhosts/pattern/limit", test_pattern_limit);
	g_test_add_func("/chain/knownhosts/pattern/stars", test_pattern_stars);
	g_test_add_func("/chain/knownhosts/hash/round-trip", test_hash_round_trip);
	g_test_add_func("/chain/knownhosts/key/base64", test_base64);
	g_test_add_func("/chain/knownhosts/key/names", test_key_names);
	g_test_add_func("/chain/knownhosts/key/rsa-canonical", test_key_rsa_canonical);
	g_test_add_func("/chain/knownhosts/key/blob-errors", test_key_blob_errors);
	g_test_add_func("/chain/knownhosts/key/algorithms", test_algorithms);
	g_test_add_func("/chain/knownhosts/find", test_find);
	return g_test_run();
}
