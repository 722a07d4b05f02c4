/* known_hosts lines for one host name. See knownhosts-file.h. */
#include "chain/knownhosts-file.h"

#include <string.h>

#define HASH_MAGIC "|1|"
#define HASH_SALT_BYTES 20      /* the SHA-1 HMAC's size */
#define HASH_SALT_MAX_TEXT 1024 /* extract_salt()'s sanity limit */
#define PATTERN_MAX 1023        /* match_pattern_list()'s sub[1024] */
#define MARKER_MAX 32           /* check_markers()'s marker[32] */

static gboolean knownhosts_file_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Glob match of s against [p, p_end) with * and ?: the classic loop that
 * retries from the last star, linear where a naive recursion would be
 * exponential on hostile patterns; it accepts exactly what OpenSSH's
 * match_pattern() accepts. */
static gboolean knownhosts_file_glob(const char *s, const char *p, const char *p_end)
{
	const char *star = NULL, *star_s = NULL;
	while (*s != '\0') {
		if (p < p_end && *p == '*') {
			star = ++p;
			star_s = s;
		} else if (p < p_end && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star;
			s = ++star_s;
		} else {
			return FALSE;
		}
	}
	while (p < p_end && *p == '*')
		p++;
	return p == p_end;
}

int knownhosts_file_match_patterns(const char *string, const char *patterns,
				   gsize patterns_len)
{
	gboolean got_positive = FALSE;
	char sub[PATTERN_MAX + 1];
	gsize i = 0;
	while (i < patterns_len) {
		gboolean negated = patterns[i] == '!';
		if (negated)
			i++;
		gsize n = 0;
		for (; i < patterns_len && n < PATTERN_MAX && patterns[i] != ','; i++, n++)
			sub[n] = g_ascii_tolower(patterns[i]);
		/* A pattern too long for OpenSSH's buffer fails the list. */
		if (n >= PATTERN_MAX)
			return 0;
		if (i < patterns_len && patterns[i] == ',')
			i++;
		if (knownhosts_file_glob(string, sub, sub + n)) {
			if (negated)
				return -1;
			got_positive = TRUE;
		}
	}
	return got_positive ? 1 : 0;
}

char *knownhosts_file_hash_name(const char *name, const guint8 salt[20])
{
	gsize digest_len = HASH_SALT_BYTES;
	guint8 digest[HASH_SALT_BYTES];
	GHmac *hmac = g_hmac_new(G_CHECKSUM_SHA1, salt, HASH_SALT_BYTES);
	g_hmac_update(hmac, (const guchar *)name, strlen(name));
	g_hmac_get_digest(hmac, digest, &digest_len);
	g_hmac_unref(hmac);
	g_autofree char *salt_text = g_base64_encode(salt, HASH_SALT_BYTES);
	g_autofree char *hash_text = g_base64_encode(digest, digest_len);
	return g_strconcat(HASH_MAGIC, salt_text, "|", hash_text, NULL);
}

gboolean knownhosts_file_match_hashed(const char *name, const char *field,
				      gsize field_len)
{
	const gsize magic = strlen(HASH_MAGIC);
	if (field_len < magic || memcmp(field, HASH_MAGIC, magic) != 0)
		return FALSE;
	const char *salt = field + magic;
	const char *bar = memchr(salt, '|', field_len - magic);
	if (bar == NULL || bar == salt || bar - salt > HASH_SALT_MAX_TEXT)
		return FALSE;
	g_autoptr(GBytes) raw = knownhosts_key_base64_decode(salt, bar - salt);
	if (raw == NULL || g_bytes_get_size(raw) != HASH_SALT_BYTES)
		return FALSE;
	/* OpenSSH compares the whole field with the hash it computes, so a
	 * salt or hash written in a non-canonical way never matches. */
	g_autofree char *want = knownhosts_file_hash_name(name, g_bytes_get_data(raw, NULL));
	return strlen(want) == field_len && memcmp(want, field, field_len) == 0;
}

static void knownhosts_file_entry_free(gpointer data)
{
	KnownHostsEntry *entry = data;
	if (entry == NULL)
		return;
	g_free(entry->source);
	knownhosts_key_free(entry->key);
	g_free(entry);
}

static void knownhosts_file_skipped_free(gpointer data)
{
	KnownHostsSkipped *skipped = data;
	g_free(skipped->source);
	g_free(skipped);
}

KnownHostsMatch *knownhosts_file_match_new(const char *name)
{
	KnownHostsMatch *match = g_new0(KnownHostsMatch, 1);
	match->name = g_ascii_strdown(name, -1);
	match->entries = g_ptr_array_new_with_free_func(knownhosts_file_entry_free);
	match->skipped = g_ptr_array_new_with_free_func(knownhosts_file_skipped_free);
	return match;
}

void knownhosts_file_match_free(KnownHostsMatch *match)
{
	if (match == NULL)
		return;
	g_ptr_array_unref(match->entries);
	g_ptr_array_unref(match->skipped);
	g_free(match->name);
	g_free(match);
}

/* check_markers(): FALSE for a line whose markers OpenSSH rejects. */
static gboolean knownhosts_file_markers(const char **p, const char *end,
					KnownHostsMarker *marker)
{
	*marker = KNOWNHOSTS_MARKER_NONE;
	while (*p < end && **p == '@') {
		if (*marker != KNOWNHOSTS_MARKER_NONE)
			return FALSE; /* only one marker */
		/* The marker ends at the line's first space, else its first
		 * tab: OpenSSH looks that far, and so do we. */
		const char *sp = memchr(*p, ' ', end - *p);
		if (sp == NULL)
			sp = memchr(*p, '\t', end - *p);
		if (sp == NULL || sp <= *p + 1 || sp >= *p + MARKER_MAX)
			return FALSE;
		gsize len = sp - *p;
		if (len == strlen("@cert-authority") && memcmp(*p, "@cert-authority", len) == 0)
			*marker = KNOWNHOSTS_MARKER_CA;
		else if (len == strlen("@revoked") && memcmp(*p, "@revoked", len) == 0)
			*marker = KNOWNHOSTS_MARKER_REVOKED;
		else
			return FALSE;
		for (*p = sp; *p < end && knownhosts_file_is_blank(**p); (*p)++)
			;
	}
	return TRUE;
}

static void knownhosts_file_skip(KnownHostsMatch *match, const char *source,
				 guint line, const char *why)
{
	KnownHostsSkipped *skipped = g_new0(KnownHostsSkipped, 1);
	skipped->source = g_strdup(source);
	skipped->line = line;
	skipped->why = why;
	g_ptr_array_add(match->skipped, skipped);
}

/* One line, without its '\n' (and cut at a NUL, as OpenSSH's C strings). */
static void knownhosts_file_read_line(KnownHostsMatch *match, const char *source,
				      guint number, const char *p, const char *end,
				      gboolean from_command)
{
	const char *nul = memchr(p, '\0', end - p);
	if (nul != NULL)
		end = nul;
	while (p < end && knownhosts_file_is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return;

	KnownHostsMarker marker;
	if (!knownhosts_file_markers(&p, end, &marker))
		return; /* OpenSSH skips it before looking at the host */

	const char *hosts = p;
	while (p < end && !knownhosts_file_is_blank(*p))
		p++;
	gsize hosts_len = p - hosts;
	gboolean hashed = hosts_len > 0 && hosts[0] == '|';
	gboolean matched = hashed ? knownhosts_file_match_hashed(match->name, hosts, hosts_len)
				  : knownhosts_file_match_patterns(match->name, hosts, hosts_len) == 1;
	if (!matched)
		return;

	while (p < end && knownhosts_file_is_blank(*p))
		p++;
	if (p == end || *p == '#') {
		knownhosts_file_skip(match, source, number, "no key after the host names");
		return;
	}
	const char *type = p;
	while (p < end && !knownhosts_file_is_blank(*p))
		p++;
	gsize type_len = p - type;
	while (p < end && knownhosts_file_is_blank(*p))
		p++;
	if (p == end) {
		knownhosts_file_skip(match, source, number, "no key after the key type");
		return;
	}
	const char *base64 = p;
	while (p < end && !knownhosts_file_is_blank(*p))
		p++;
	KnownHostsKeyError why = KNOWNHOSTS_KEY_OK;
	KnownHostsKey *key = knownhosts_key_parse(type, type_len, base64, p - base64, &why);
	if (key == NULL) {
		knownhosts_file_skip(match, source, number, knownhosts_key_error_text(why));
		return;
	}
	KnownHostsEntry *entry = g_new0(KnownHostsEntry, 1);
	entry->source = g_strdup(source);
	entry->line = number;
	entry->marker = marker;
	entry->hashed = hashed;
	entry->from_command = from_command;
	entry->key = key;
	g_ptr_array_add(match->entries, entry);
}

void knownhosts_file_read_text(KnownHostsMatch *match, const char *source,
			       const char *text, gsize len, gboolean from_command)
{
	const char *p = text, *end = text + len;
	guint number = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *line_end = nl != NULL ? nl : end;
		number++;
		knownhosts_file_read_line(match, source, number, p, line_end, from_command);
		p = nl != NULL ? nl + 1 : end;
	}
}

gboolean knownhosts_file_read(KnownHostsMatch *match, const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	GError *local = NULL;
	if (!g_file_get_contents(path, &text, &len, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(local);
			return TRUE;
		}
		g_propagate_error(error, local);
		return FALSE;
	}
	knownhosts_file_read_text(match, path, text, len, FALSE);
	return TRUE;
}

KnownHostsStatus knownhosts_file_check(const KnownHostsMatch *match,
				       const KnownHostsKey *key,
				       const KnownHostsEntry **found)
{
	KnownHostsStatus status = KNOWNHOSTS_STATUS_NEW;
	const KnownHostsEntry *decided = NULL;
	for (guint i = 0; i < match->entries->len; i++) {
		const KnownHostsEntry *e = g_ptr_array_index(match->entries, i);
		if (e->marker != KNOWNHOSTS_MARKER_NONE)
			continue;
		decided = e;
		if (knownhosts_key_equal(key, e->key)) {
			status = KNOWNHOSTS_STATUS_OK;
			break;
		}
		status = KNOWNHOSTS_STATUS_CHANGED;
	}
	for (guint i = 0; i < match->entries->len; i++) {
		const KnownHostsEntry *e = g_ptr_array_index(match->entries, i);
		if (e->marker == KNOWNHOSTS_MARKER_REVOKED &&
		    knownhosts_key_equal_public(key, e->key)) {
			status = KNOWNHOSTS_STATUS_REVOKED;
			decided = e;
			break;
		}
	}
	if (found != NULL)
		*found = decided;
	return status;
}

const KnownHostsEntry *knownhosts_file_find_kind(const KnownHostsMatch *match,
						 KnownHostsKeyKind kind, int curve)
{
	for (guint i = 0; i < match->entries->len; i++) {
		const KnownHostsEntry *e = g_ptr_array_index(match->entries, i);
		if (e->marker == KNOWNHOSTS_MARKER_NONE && e->key->kind == kind &&
		    e->key->curve == curve && !e->key->cert)
			return e;
	}
	return NULL;
}

const KnownHostsEntry *knownhosts_file_find_marker(const KnownHostsMatch *match,
						   KnownHostsMarker marker)
{
	for (guint i = 0; i < match->entries->len; i++) {
		const KnownHostsEntry *e = g_ptr_array_index(match->entries, i);
		if (e->marker == marker)
			return e;
	}
	return NULL;
}
