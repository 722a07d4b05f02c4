/* cli/status-text.c and cli/status-data.c's decoding: text from a status
 * document, and documents that are broken in every way a client may meet
 * (another version, wrong field types, garbage) print or fail without a
 * crash. */
#include <glib.h>
#include <string.h>

#include "chain/errors.h"
#include "cli/json.h"
#include "cli/status-data.h"
#include "cli/status-text.h"

/* 2024-03-01 12:00:00 UTC, and two times of that day and of the day before. */
#define NOW_US G_GINT64_CONSTANT(1709294400000000)

static const char *const good_document =
	"{'version': <uint32 1>, 'mounts': <[{"
	"  'mount_point': <'/home/u/mnt/s3'>, 'source': <'server3:'>,"
	"  'remote_root': <'/home/anotherusername'>, 'pid': <int32 812>, 'shared': <true>,"
	"  'reconnect': <true>, 'hard': <false>, 'max_conns': <uint32 2>,"
	"  'write_behind_queued_bytes': <uint64 1536>,"
	"  'hops': <[{'hop': <uint32 1>, 'hops': <uint32 3>,"
	"     'address': <'user1@jumphost1.whatever.org:22'>, 'state': <'up'>,"
	"     'since_unix_us': <@mx just 1709290862000000>, 'why': <@ms nothing>,"
	"     'why_code': <@ms nothing>, 'auth_method': <@ms just 'publickey'>,"
	"     'logins': <uint32 1>, 'rtt_us': <@mx just 412>,"
	"     'last_rx_age_us': <@mx just 1000>, 'bytes_in': <uint64 12595>,"
	"     'bytes_out': <uint64 8294>, 'channels': <uint32 1>, 'stripe_sessions': <uint32 2>,"
	"     'opens_pending': <uint32 0>, 'keepalives_missed': <uint32 0>},"
	"    {'hop': <uint32 2>, 'hops': <uint32 3>,"
	"     'address': <'user2@jumphost2.whatever.org:2222'>, 'state': <'up'>,"
	"     'since_unix_us': <@mx just 1709290862000000>, 'why': <@ms nothing>,"
	"     'why_code': <@ms nothing>, 'auth_method': <@ms just 'password'>,"
	"     'logins': <uint32 2>, 'rtt_us': <@mx nothing>,"
	"     'last_rx_age_us': <@mx just 3000000>, 'bytes_in': <uint64 100>,"
	"     'bytes_out': <uint64 3145728>, 'channels': <uint32 1>,"
	"     'opens_pending': <uint32 0>, 'keepalives_missed': <uint32 2>},"
	"    {'hop': <uint32 3>, 'hops': <uint32 3>,"
	"     'address': <'anotherusername@backend.whatever.org:22'>, 'state': <'down'>,"
	"     'since_unix_us': <@mx just 1709200000000000>,"
	"     'why': <@ms just 'connection lost (no answer to keepalives for 3 s)'>,"
	"     'why_code': <@ms just 'disconnected'>, 'auth_method': <@ms just 'publickey'>,"
	"     'logins': <uint32 1>, 'rtt_us': <@mx nothing>,"
	"     'last_rx_age_us': <@mx nothing>, 'bytes_in': <uint64 0>,"
	"     'bytes_out': <uint64 0>, 'channels': <uint32 0>,"
	"     'opens_pending': <uint32 0>, 'keepalives_missed': <uint32 0>}]>,"
	"  'channels': <[{'channel': <uint32 1>, 'open': <true>,"
	"                 'requests_in_flight': <uint32 3>},"
	"                {'channel': <uint32 2>, 'open': <false>,"
	"                 'requests_in_flight': <uint32 1>},"
	"                {'channel': <uint32 3>, 'open': <true>, 'stripe': <true>,"
	"                 'requests_in_flight': <uint32 4>}]>"
	"}]>}";

static const char *const good_text =
	"/home/u/mnt/s3  server3:  (reconnect, soft, max_conns 2; shared daemon, pid 812)\n"
	"  hop 1/3  user1@jumphost1.whatever.org:22  up since 11:01:02  rtt 0.4 ms"
	"  in 12.3 KiB  out 8.1 KiB  +2 stripe sessions  logins 1  publickey\n"
	"  hop 2/3  user2@jumphost2.whatever.org:2222  up since 11:01:02  rtt -"
	"  in 100 B  out 3.0 MiB  2 keepalives unanswered  logins 2  password\n"
	"  hop 3/3  anotherusername@backend.whatever.org:22  down since 2024-02-29 09:46:40:"
	" connection lost (no answer to keepalives for 3 s)  logins 1  publickey\n"
	"  sftp channel 1: open, 3 requests in flight\n"
	"  sftp channel 2: closed, 1 request in flight\n"
	"  sftp channel 3 (write stripe): open, 4 requests in flight\n"
	"  write-behind: 1.5 KiB queued\n";

static GPtrArray *mounts_of(const char *text)
{
	g_autoptr(GVariant) document = g_variant_ref_sink(g_variant_new_parsed(text));
	return status_data_mounts(document);
}

static char *format(GPtrArray *mounts)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	return status_text_format(mounts, utc, NOW_US);
}

static void test_text(void)
{
	g_autoptr(GPtrArray) mounts = mounts_of(good_document);
	g_assert_cmpuint(mounts->len, ==, 1);
	g_autofree char *text = format(mounts);
	g_assert_cmpstr(text, ==, good_text);
}

static void test_bytes(void)
{
	static const struct {
		guint64 bytes;
		const char *want;
	} cases[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KiB" }, { 1536, "1.5 KiB" },
		{ 1048576, "1.0 MiB" }, { G_GUINT64_CONSTANT(5) << 40, "5.0 TiB" },
		{ G_MAXUINT64, "16.0 EiB" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = status_text_bytes(cases[i].bytes);
		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

/* Every field missing or of another type: question marks, no crash (and
 * no GLib warning: the tests run with fatal warnings). */
static void test_text_of_wrong_types(void)
{
	g_autoptr(GPtrArray) mounts = mounts_of(
		"{'version': <uint32 1>, 'mounts': <[{"
		"  'mount_point': <42>, 'max_conns': <'two'>, 'shared': <'yes'>,"
		"  'hops': <[{'state': <'down'>, 'since_unix_us': <int64 5>,"
		"            'why': <'not a maybe'>, 'hop': <int32 1>}]>,"
		"  'channels': <'not a list'>, 'write_behind_queued_bytes': <int32 -1>},"
		" @a{sv} {}]>}");
	g_assert_cmpuint(mounts->len, ==, 2);
	g_autofree char *text = format(mounts);
	g_assert_cmpstr(text, ==,
		"?  ?  (noreconnect, soft, max_conns 0; own process, pid 0)\n"
		"  hop 0/0  ?  down\n"
		"  write-behind: ? queued\n"
		"\n"
		"?  ?  (noreconnect, soft, max_conns 0; own process, pid 0)\n"
		"  write-behind: ? queued\n");
}

static void test_round_trip(void)
{
	g_autoptr(GVariant) parsed = g_variant_ref_sink(g_variant_new_parsed(good_document));
	g_autoptr(GPtrArray) mounts = status_data_mounts(parsed);
	g_autoptr(GVariant) document = status_data_document(mounts);
	g_autofree char *wire = status_data_encode(document);
	g_assert_null(strchr(wire, '\n'));
	GError *error = NULL;
	g_autoptr(GVariant) back = status_data_decode(wire, &error);
	g_assert_no_error(error);
	g_assert_true(g_variant_equal(back, document));

	/* The JSON has the same fields: spot checks. */
	GString *json = g_string_new(NULL);
	json_append_variant(json, back, 0);
	g_assert_nonnull(strstr(json->str, "\"state\":\"down\""));
	g_assert_nonnull(strstr(json->str, "\"rtt_us\":412"));
	g_assert_nonnull(strstr(json->str, "\"rtt_us\":null"));
	g_assert_nonnull(strstr(json->str, "\"why_code\":\"disconnected\""));
	g_string_free(json, TRUE);
}

static void expect_refused(const char *wire)
{
	GError *error = NULL;
	GVariant *document = status_data_decode(wire, &error);
	g_assert_null(document);
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL);
	g_error_free(error);
}

static char *encoded(const char *text)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(text));
	return status_data_encode(v);
}

static void test_decode_refuses(void)
{
	expect_refused("");
	expect_refused("!!!! not base64 ####");
	expect_refused("AAAA");
	g_autofree char *other_version = encoded("{'version': <uint32 2>, 'mounts': <@aa{sv} []>}");
	expect_refused(other_version);
	g_autofree char *no_version = encoded("{'mounts': <@aa{sv} []>}");
	expect_refused(no_version);
	g_autofree char *wrong_type = encoded("{'version': <int32 1>}");
	expect_refused(wrong_type);
	/* A serialisation that is not in normal form: an a{sv} whose offset
	 * table points past its end. */
	guchar bad[] = { 'v', 0, 0, 0, 0, 'u', 0xff, 0xff };
	g_autofree char *not_normal = g_base64_encode(bad, sizeof(bad));
	expect_refused(not_normal);
}

/* Random bytes as a document: refused or accepted, never a crash; an
 * accepted one formats. */
static void test_decode_random(void)
{
	GRand *rand = g_rand_new_with_seed(15);
	g_autofree char *good = encoded(good_document);
	gsize len;
	g_autofree guchar *bytes = g_base64_decode(good, &len);
	for (int round = 0; round < 2000; round++) {
		g_autofree guchar *copy = g_memdup2(bytes, len);
		gsize n = len;
		int flips = g_rand_int_range(rand, 1, 8);
		for (int i = 0; i < flips; i++)
			copy[g_rand_int_range(rand, 0, (gint32)len)] ^= (guchar)g_rand_int_range(rand, 1, 256);
		if (round % 3 == 0)
			n = (gsize)g_rand_int_range(rand, 0, (gint32)len);
		g_autofree char *wire = g_base64_encode(copy, n);
		GError *error = NULL;
		g_autoptr(GVariant) document = status_data_decode(wire, &error);
		if (document == NULL) {
			g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL);
			g_error_free(error);
			continue;
		}
		g_autoptr(GPtrArray) mounts = status_data_mounts(document);
		g_autofree char *text = format(mounts);
		g_autoptr(GVariant) all = status_data_document(mounts);
		GString *json = g_string_new(NULL);
		json_append_variant(json, all, 2);
		g_assert_true(g_utf8_validate(json->str, -1, NULL));
		g_string_free(json, TRUE);
	}
	g_rand_free(rand);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli/status/text", test_text);
	g_test_add_func("/cli/status/bytes", test_bytes);
	g_test_add_func("/cli/status/text-of-wrong-types", test_text_of_wrong_types);
	g_test_add_func("/cli/status/round-trip", test_round_trip);
	g_test_add_func("/cli/status/decode-refuses", test_decode_refuses);
	g_test_add_func("/cli/status/decode-random", test_decode_random);
	return g_test_run();
}
