/* libFuzzer target: the known_hosts reader, the key reader and the
 * RevokedHostKeys reader (chain/knownhosts-file.c, -key.c, -revoked.c),
 * all on the same untrusted bytes.
 *
 * The bytes are read as a known_hosts file for a few fixed names and for
 * one taken from the input itself (its first line, up to 64 bytes), so
 * that patterns, hashes and markers of the input get matched; every key
 * found is then compared, fingerprinted and written back, and the bytes
 * are also read as a RevokedHostKeys file (KRL or key list). */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "chain/knownhosts-file.h"
#include "chain/knownhosts-revoked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SERVER_KEY "AAAAC3NzaC1lZDI1NTE5AAAAIDeAtFhRiY1hFsUoKJi5ZvX8nzQTOOf6DwfnIgWdm5mb"

static void fuzz_match(const char *name, const uint8_t *data, size_t size,
		       const KnownHostsKey *server)
{
	KnownHostsMatch *match = knownhosts_file_match_new(name);
	knownhosts_file_read_text(match, "fuzz", (const char *)data, size, FALSE);
	const KnownHostsEntry *found = NULL;
	KnownHostsStatus status = knownhosts_file_check(match, server, &found);
	if (status == KNOWNHOSTS_STATUS_NEW && found != NULL)
		__builtin_trap();
	if (status != KNOWNHOSTS_STATUS_NEW && found == NULL)
		__builtin_trap();
	for (guint i = 0; i < match->entries->len; i++) {
		const KnownHostsEntry *e = g_ptr_array_index(match->entries, i);
		char *fp = knownhosts_key_fingerprint(e->key);
		char *text = knownhosts_key_to_text(e->key);
		/* What we would write reads back as the same key. */
		const char *space = strchr(text, ' ');
		KnownHostsKeyError why;
		KnownHostsKey *again = knownhosts_key_parse(text, space - text, space + 1,
							    strlen(space + 1), &why);
		if (again == NULL || !knownhosts_key_equal_public(again, e->key))
			__builtin_trap();
		knownhosts_key_free(again);
		(void)knownhosts_key_short_name(e->key);
		(void)knownhosts_key_rsa_bits(e->key);
		g_free(fp);
		g_free(text);
	}
	(void)knownhosts_file_find_marker(match, KNOWNHOSTS_MARKER_CA);
	(void)knownhosts_file_find_kind(match, KNOWNHOSTS_KEY_RSA, 0);
	knownhosts_file_match_free(match);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static KnownHostsKey *server;
	if (server == NULL) {
		KnownHostsKeyError why;
		server = knownhosts_key_parse("ssh-ed25519", 11, SERVER_KEY,
					      strlen(SERVER_KEY), &why);
	}
	static const char *const names[] = { "h", "host.example.org",
					     "[jumphost2.whatever.org]:2222" };
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
		fuzz_match(names[i], data, size, server);

	gsize name_len = 0;
	while (name_len < size && name_len < 64 && data[name_len] != '\n' && data[name_len] != 0)
		name_len++;
	char *name = g_strndup((const char *)data, name_len);
	fuzz_match(name, data, size, server);
	g_free(name);

	gboolean revoked = FALSE;
	char *where = NULL;
	GError *error = NULL;
	if (knownhosts_revoked_check("fuzz", data, size, server, &revoked, &where, &error)) {
		if (revoked != (where != NULL))
			__builtin_trap();
	} else if (error == NULL || revoked || where != NULL) {
		__builtin_trap();
	}
	g_free(where);
	g_clear_error(&error);

	/* The input as one blob. */
	KnownHostsKeyError why;
	KnownHostsKey *key = knownhosts_key_from_blob(data, size, &why);
	if ((key == NULL) == (why == KNOWNHOSTS_KEY_OK))
		__builtin_trap();
	knownhosts_key_free(key);
	return 0;
}
