/* RevokedHostKeys files: KRLs and key lists. See knownhosts-revoked.h;
 * the KRL layout is OpenSSH's PROTOCOL.krl. */
#include "chain/knownhosts-revoked.h"

#include <string.h>

#include "chain/errors.h"

#define KRL_MAGIC "SSHKRL\n\0"
#define KRL_MAGIC_LEN 8
#define KRL_FORMAT_VERSION 1

enum {
	KRL_SECTION_CERTIFICATES = 1,
	KRL_SECTION_EXPLICIT_KEY = 2,
	KRL_SECTION_FINGERPRINT_SHA1 = 3,
	KRL_SECTION_SIGNATURE = 4,
	KRL_SECTION_FINGERPRINT_SHA256 = 5,
	KRL_CERT_SERIAL_LIST = 0x20,
	KRL_CERT_SERIAL_RANGE = 0x21,
	KRL_CERT_SERIAL_BITMAP = 0x22,
	KRL_CERT_KEY_ID = 0x23,
};

typedef struct {
	const guint8 *p;
	gsize left;
} KrlReader;

static gboolean krl_u8(KrlReader *r, guint8 *v)
{
	if (r->left < 1)
		return FALSE;
	*v = r->p[0];
	r->p++;
	r->left--;
	return TRUE;
}

static gboolean krl_u32(KrlReader *r, guint32 *v)
{
	if (r->left < 4)
		return FALSE;
	*v = (guint32)r->p[0] << 24 | (guint32)r->p[1] << 16 | (guint32)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return TRUE;
}

static gboolean krl_u64(KrlReader *r, guint64 *v)
{
	guint32 hi, lo;
	if (!krl_u32(r, &hi) || !krl_u32(r, &lo))
		return FALSE;
	*v = (guint64)hi << 32 | lo;
	return TRUE;
}

static gboolean krl_string(KrlReader *r, KrlReader *value)
{
	guint32 n;
	KrlReader save = *r;
	if (!krl_u32(r, &n) || r->left < n) {
		*r = save;
		return FALSE;
	}
	value->p = r->p;
	value->left = n;
	r->p += n;
	r->left -= n;
	return TRUE;
}

/* A certificate section: shape only (see the header). */
static gboolean krl_certificates(KrlReader sect, const char **why)
{
	KrlReader ca, reserved, sub;
	*why = "invalid certificate section";
	if (!krl_string(&sect, &ca) || !krl_string(&sect, &reserved))
		return FALSE;
	if (ca.left != 0) {
		KnownHostsKeyError err;
		KnownHostsKey *key = knownhosts_key_from_blob(ca.p, ca.left, &err);
		if (key == NULL)
			return FALSE;
		knownhosts_key_free(key);
	}
	while (sect.left > 0) {
		guint8 type;
		guint64 lo, hi;
		if (!krl_u8(&sect, &type) || !krl_string(&sect, &sub))
			return FALSE;
		switch (type) {
		case KRL_CERT_SERIAL_LIST:
			while (sub.left > 0)
				if (!krl_u64(&sub, &lo) || lo == 0)
					return FALSE;
			break;
		case KRL_CERT_SERIAL_RANGE:
			if (!krl_u64(&sub, &lo) || !krl_u64(&sub, &hi) || lo == 0 || lo > hi)
				return FALSE;
			break;
		case KRL_CERT_SERIAL_BITMAP: {
			KrlReader bitmap;
			if (!krl_u64(&sub, &lo) || !krl_string(&sub, &bitmap))
				return FALSE;
			if (bitmap.left > 0 && (bitmap.p[0] & 0x80))
				return FALSE; /* a negative mpint */
			/* Bit 0 (the last byte's low bit) is serial lo: 0 is no
			 * serial, and the bitmap may not wrap past 2^64. */
			if (bitmap.left > 0 && lo == 0 && (bitmap.p[bitmap.left - 1] & 1))
				return FALSE;
			gsize first = 0;
			while (first < bitmap.left && bitmap.p[first] == 0)
				first++;
			if (first < bitmap.left) {
				guint64 top = (guint64)(bitmap.left - first) * 8;
				if (lo != 0 && top > 0 && lo + (top - 1) < lo)
					return FALSE;
			}
			break;
		}
		case KRL_CERT_KEY_ID:
			while (sub.left > 0) {
				KrlReader id;
				if (!krl_string(&sub, &id) || memchr(id.p, 0, id.left) != NULL)
					return FALSE;
			}
			break;
		default:
			*why = "unknown certificate subsection";
			return FALSE;
		}
		if (sub.left != 0)
			return FALSE;
	}
	return TRUE;
}

/* A section of strings: key blobs (want_len 0) or hashes of want_len
 * bytes. TRUE if it is well formed; *hit if one equals target. */
static gboolean krl_blobs(KrlReader sect, gsize want_len, const guint8 *target,
			  gsize target_len, gboolean *hit)
{
	while (sect.left > 0) {
		KrlReader item;
		if (!krl_string(&sect, &item))
			return FALSE;
		if (want_len != 0 && item.left != want_len)
			return FALSE;
		if (item.left == target_len && memcmp(item.p, target, target_len) == 0)
			*hit = TRUE;
	}
	return TRUE;
}

static void krl_digest(GChecksumType type, GBytes *data, guint8 *out, gsize *out_len)
{
	GChecksum *sum = g_checksum_new(type);
	g_checksum_update(sum, g_bytes_get_data(data, NULL), g_bytes_get_size(data));
	g_checksum_get_digest(sum, out, out_len);
	g_checksum_free(sum);
}

static gboolean krl_check(const char *source, const guint8 *data, gsize len,
			  const KnownHostsKey *key, gboolean *revoked, char **where,
			  GError **error)
{
	KrlReader r = { data + KRL_MAGIC_LEN, len - KRL_MAGIC_LEN };
	KrlReader reserved, comment, sect;
	guint32 version;
	guint64 skip;
	const char *why = "truncated header";
	const char *hit_in = NULL;
	gsize key_len = 0;
	const guint8 *key_blob = g_bytes_get_data(key->plain, &key_len);
	guint8 sha1[20], sha256[32];
	gsize sha1_len = sizeof(sha1), sha256_len = sizeof(sha256);

	krl_digest(G_CHECKSUM_SHA1, key->plain, sha1, &sha1_len);
	krl_digest(G_CHECKSUM_SHA256, key->plain, sha256, &sha256_len);
	if (!krl_u32(&r, &version))
		goto bad;
	if (version != KRL_FORMAT_VERSION) {
		why = "unknown KRL format version";
		goto bad;
	}
	if (!krl_u64(&r, &skip) || !krl_u64(&r, &skip) || !krl_u64(&r, &skip) ||
	    !krl_string(&r, &reserved) || !krl_string(&r, &comment) ||
	    memchr(comment.p, 0, comment.left) != NULL)
		goto bad;
	while (r.left > 0) {
		guint8 type;
		gboolean hit = FALSE;
		why = "truncated section";
		if (!krl_u8(&r, &type) || !krl_string(&r, &sect))
			goto bad;
		switch (type) {
		case KRL_SECTION_CERTIFICATES:
			if (!krl_certificates(sect, &why))
				goto bad;
			break;
		case KRL_SECTION_EXPLICIT_KEY:
			why = "invalid explicit key section";
			if (!krl_blobs(sect, 0, key_blob, key_len, &hit))
				goto bad;
			if (hit && hit_in == NULL)
				hit_in = "KRL: explicit key";
			break;
		case KRL_SECTION_FINGERPRINT_SHA1:
			why = "invalid SHA-1 fingerprint section";
			if (!krl_blobs(sect, 20, sha1, sha1_len, &hit))
				goto bad;
			if (hit && hit_in == NULL)
				hit_in = "KRL: SHA-1 fingerprint";
			break;
		case KRL_SECTION_FINGERPRINT_SHA256:
			why = "invalid SHA-256 fingerprint section";
			if (!krl_blobs(sect, 32, sha256, sha256_len, &hit))
				goto bad;
			if (hit && hit_in == NULL)
				hit_in = "KRL: SHA-256 fingerprint";
			break;
		case KRL_SECTION_SIGNATURE:
			/* OpenSSH refuses a KRL whose signature does not
			 * verify; with no signature check here, refuse them
			 * all rather than trust an unchecked one. */
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "%s: a signed KRL, which jumpfs cannot verify: "
				    "give RevokedHostKeys an unsigned KRL (ssh-keygen -k "
				    "without -s) or a list of public keys", source);
			return FALSE;
		default:
			why = "unknown KRL section";
			goto bad;
		}
	}
	*revoked = hit_in != NULL;
	if (*revoked)
		*where = g_strdup(hit_in);
	return TRUE;
bad:
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		    "%s: cannot read this KRL (%s at byte %zu)", source, why,
		    (gsize)(r.p - data));
	return FALSE;
}

/* sshkey_in_file(): one key per line; a line that is not a key is an
 * error, except an RSA key too small to use. */
static gboolean list_check(const char *source, const guint8 *data, gsize len,
			   const KnownHostsKey *key, gboolean *revoked, char **where,
			   GError **error)
{
	const char *p = (const char *)data, *end = p + len;
	guint number = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *line_end = nl != NULL ? nl : end;
		const char *nul = memchr(p, '\0', line_end - p);
		const char *stop = nul != NULL ? nul : line_end;
		const char *next = nl != NULL ? nl + 1 : end;
		number++;
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		if (p == stop || *p == '#') {
			p = next;
			continue;
		}
		const char *type = p;
		while (p < stop && *p != ' ' && *p != '\t')
			p++;
		gsize type_len = p - type;
		KnownHostsKeyError why = KNOWNHOSTS_KEY_BAD_BLOB;
		KnownHostsKey *listed = NULL;
		if (p < stop) {
			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			const char *base64 = p;
			while (p < stop && *p != ' ' && *p != '\t')
				p++;
			if (p > base64)
				listed = knownhosts_key_parse(type, type_len, base64, p - base64, &why);
		}
		if (listed == NULL && why != KNOWNHOSTS_KEY_TOO_SMALL) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
				    "%s line %u: not a public key (%s); OpenSSH refuses "
				    "every connection while this file cannot be read",
				    source, number, knownhosts_key_error_text(why));
			return FALSE;
		}
		if (listed != NULL && knownhosts_key_equal_public(key, listed)) {
			knownhosts_key_free(listed);
			*revoked = TRUE;
			*where = g_strdup_printf("line %u", number);
			return TRUE;
		}
		knownhosts_key_free(listed);
		p = next;
	}
	*revoked = FALSE;
	return TRUE;
}

gboolean knownhosts_revoked_check(const char *source, const guint8 *data,
				  gsize len, const KnownHostsKey *key,
				  gboolean *revoked, char **where, GError **error)
{
	*revoked = FALSE;
	*where = NULL;
	if (len >= KRL_MAGIC_LEN && memcmp(data, KRL_MAGIC, KRL_MAGIC_LEN) == 0)
		return krl_check(source, data, len, key, revoked, where, error);
	return list_check(source, data, len, key, revoked, where, error);
}
