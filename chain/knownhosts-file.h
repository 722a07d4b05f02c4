/* known_hosts files, read with OpenSSH 9.2's rules (hostfile.c, match.c).
 *
 * Pure: GLib only (no libssh, no policy), fuzzed. One KnownHostsMatch
 * gathers, for one host name ("host", "[host]:port" or a HostKeyAlias),
 * the lines of any number of files that name it:
 * - blank lines and lines starting with '#' (after spaces) are comments;
 * - an optional marker, @cert-authority or @revoked;
 * - the host field: |1|salt|hash (HMAC-SHA1 of the name), or a comma list
 *   of patterns with * and ?, matched without regard to case, where a
 *   matching !pattern makes the whole line not match;
 * - the key: "type base64", then an optional comment.
 * A line that names the host but cannot be read is skipped, that line
 * only, and remembered (for --check). Lines of any length; a line ends at
 * '\n' (a '\r' before it belongs to the key's base64 or comment, where it
 * is white space, as in OpenSSH). */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_FILE_H
#define JUMPFS_CHAIN_KNOWNHOSTS_FILE_H

#include <glib.h>
#include "chain/knownhosts-key.h"

typedef enum {
	KNOWNHOSTS_MARKER_NONE,
	KNOWNHOSTS_MARKER_CA,      /* @cert-authority */
	KNOWNHOSTS_MARKER_REVOKED, /* @revoked */
} KnownHostsMarker;

typedef struct {
	char *source;          /* the file, or "KnownHostsCommand" */
	guint line;            /* 1-based */
	KnownHostsMarker marker;
	gboolean hashed;       /* the host field was |1|... */
	gboolean from_command; /* read from KnownHostsCommand's output */
	KnownHostsKey *key;
} KnownHostsEntry;

/* A line that names the host but was skipped. */
typedef struct {
	char *source;
	guint line;
	const char *why;       /* static text */
} KnownHostsSkipped;

typedef struct {
	char *name;            /* what lines are matched against (lowercase) */
	GPtrArray *entries;    /* KnownHostsEntry *, in file and line order */
	GPtrArray *skipped;    /* KnownHostsSkipped * */
} KnownHostsMatch;

typedef enum {
	KNOWNHOSTS_STATUS_OK,      /* a plain line has this very key */
	KNOWNHOSTS_STATUS_NEW,     /* no plain line names the host */
	KNOWNHOSTS_STATUS_CHANGED, /* plain lines name it, with other keys */
	KNOWNHOSTS_STATUS_REVOKED, /* an @revoked line has this key */
} KnownHostsStatus;

/* name is lowercased here, as OpenSSH lowercases host names. */
KnownHostsMatch *knownhosts_file_match_new(const char *name);
void knownhosts_file_match_free(KnownHostsMatch *match);

/* Reads text (len bytes, any content) as known_hosts lines. */
void knownhosts_file_read_text(KnownHostsMatch *match, const char *source,
			       const char *text, gsize len, gboolean from_command);
/* Reads a file. A missing file is no error (OpenSSH skips it too); one
 * that exists but cannot be read returns FALSE with *error, having read
 * nothing. */
gboolean knownhosts_file_read(KnownHostsMatch *match, const char *path,
			      GError **error);

/* OpenSSH's check_key_in_hostkeys(): any plain line with key -> OK, else
 * any plain line at all -> CHANGED (its key type need not be the
 * server's), else NEW; then an @revoked line with key -> REVOKED. *found
 * is the deciding line (for CHANGED the last plain line, for REVOKED the
 * @revoked one, NULL for NEW). */
KnownHostsStatus knownhosts_file_check(const KnownHostsMatch *match,
				       const KnownHostsKey *key,
				       const KnownHostsEntry **found);
/* The first plain line with a key of this kind and curve, or NULL. */
const KnownHostsEntry *knownhosts_file_find_kind(const KnownHostsMatch *match,
						 KnownHostsKeyKind kind, int curve);
/* The first line with this marker, or NULL. */
const KnownHostsEntry *knownhosts_file_find_marker(const KnownHostsMatch *match,
						   KnownHostsMarker marker);

/* match_pattern_list() with lowercasing: 1 if some pattern matches, -1 if
 * a negated one does (whatever else matches), 0 otherwise. string must be
 * lowercase. */
int knownhosts_file_match_patterns(const char *string, const char *patterns,
				   gsize patterns_len);
/* TRUE when field is exactly the |1|salt|hash that name hashes to. */
gboolean knownhosts_file_match_hashed(const char *name, const char *field,
				      gsize field_len);
/* "|1|salt|hash" for name with a 20-byte salt (HashKnownHosts). */
char *knownhosts_file_hash_name(const char *name, const guint8 salt[20]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(KnownHostsMatch, knownhosts_file_match_free)

#endif
