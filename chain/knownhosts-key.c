/* Public key text and blobs, read as OpenSSH 9.2 reads them. See
 * knownhosts-key.h. */
#include "chain/knownhosts-key.h"

#include <string.h>

/* Every key type OpenSSH 9.2 (Debian's build: no XMSS) reads. The short
 * name is what messages call it; inside a blob OpenSSH also accepts it,
 * case-insensitively, for plain RSA, DSA and Ed25519 types (sshkey.c
 * sshkey_type_from_name()). */
typedef struct {
	const char *name;
	const char *short_name;
	KnownHostsKeyKind kind;
	int curve;
	gboolean cert;
} KeyType;

#define CERT "-cert-v01@openssh.com"
static const KeyType knownhosts_key_types[] = {
	{ "ssh-ed25519", "ED25519", KNOWNHOSTS_KEY_ED25519, 0, FALSE },
	{ "ssh-ed25519" CERT, "ED25519-CERT", KNOWNHOSTS_KEY_ED25519, 0, TRUE },
	{ "sk-ssh-ed25519@openssh.com", "ED25519-SK", KNOWNHOSTS_KEY_ED25519_SK, 0, FALSE },
	{ "sk-ssh-ed25519" CERT, "ED25519-SK-CERT", KNOWNHOSTS_KEY_ED25519_SK, 0, TRUE },
	{ "ecdsa-sha2-nistp256", "ECDSA", KNOWNHOSTS_KEY_ECDSA, 256, FALSE },
	{ "ecdsa-sha2-nistp256" CERT, "ECDSA-CERT", KNOWNHOSTS_KEY_ECDSA, 256, TRUE },
	{ "ecdsa-sha2-nistp384", "ECDSA", KNOWNHOSTS_KEY_ECDSA, 384, FALSE },
	{ "ecdsa-sha2-nistp384" CERT, "ECDSA-CERT", KNOWNHOSTS_KEY_ECDSA, 384, TRUE },
	{ "ecdsa-sha2-nistp521", "ECDSA", KNOWNHOSTS_KEY_ECDSA, 521, FALSE },
	{ "ecdsa-sha2-nistp521" CERT, "ECDSA-CERT", KNOWNHOSTS_KEY_ECDSA, 521, TRUE },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK", KNOWNHOSTS_KEY_ECDSA_SK, 256, FALSE },
	{ "sk-ecdsa-sha2-nistp256" CERT, "ECDSA-SK-CERT", KNOWNHOSTS_KEY_ECDSA_SK, 256, TRUE },
	{ "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK",
	  KNOWNHOSTS_KEY_ECDSA_SK, 256, FALSE },
	{ "ssh-dss", "DSA", KNOWNHOSTS_KEY_DSA, 0, FALSE },
	{ "ssh-dss" CERT, "DSA-CERT", KNOWNHOSTS_KEY_DSA, 0, TRUE },
	{ "ssh-rsa", "RSA", KNOWNHOSTS_KEY_RSA, 0, FALSE },
	{ "ssh-rsa" CERT, "RSA-CERT", KNOWNHOSTS_KEY_RSA, 0, TRUE },
	{ "rsa-sha2-256", "RSA", KNOWNHOSTS_KEY_RSA, 0, FALSE },
	{ "rsa-sha2-256" CERT, "RSA-CERT", KNOWNHOSTS_KEY_RSA, 0, TRUE },
	{ "rsa-sha2-512", "RSA", KNOWNHOSTS_KEY_RSA, 0, FALSE },
	{ "rsa-sha2-512" CERT, "RSA-CERT", KNOWNHOSTS_KEY_RSA, 0, TRUE },
};
#undef CERT

#define RSA_MIN_BITS 1024     /* SSH_RSA_MINIMUM_MODULUS_SIZE */
#define BIGNUM_MAX_BYTES 2048 /* SSHBUF_MAX_BIGNUM: 16384 bits */
#define ED25519_KEY_BYTES 32

static const KeyType *knownhosts_key_type(const char *name, gsize len)
{
	for (gsize i = 0; i < G_N_ELEMENTS(knownhosts_key_types); i++) {
		const KeyType *t = &knownhosts_key_types[i];
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	}
	return NULL;
}

/* A blob's type string: a full name, or a plain type's short name. */
static const KeyType *knownhosts_key_blob_type(const char *name, gsize len)
{
	const KeyType *t = knownhosts_key_type(name, len);
	if (t != NULL)
		return t;
	for (gsize i = 0; i < G_N_ELEMENTS(knownhosts_key_types); i++) {
		t = &knownhosts_key_types[i];
		/* ECDSA takes its curve from the full name: the short one
		 * fails in OpenSSH too. */
		if (t->cert || t->kind == KNOWNHOSTS_KEY_ECDSA ||
		    t->kind == KNOWNHOSTS_KEY_ECDSA_SK)
			continue;
		if (strlen(t->short_name) == len &&
		    g_ascii_strncasecmp(t->short_name, name, len) == 0)
			return t;
	}
	return NULL;
}

gboolean knownhosts_key_type_from_name(const char *name, gsize len,
				       KnownHostsKeyKind *kind, int *curve,
				       gboolean *cert)
{
	const KeyType *t = knownhosts_key_type(name, len);
	if (t == NULL)
		return FALSE;
	*kind = t->kind;
	*curve = t->curve;
	*cert = t->cert;
	return TRUE;
}

gboolean knownhosts_key_algorithm_uses(const char *alg, KnownHostsKeyKind kind, int curve)
{
	const KeyType *t = knownhosts_key_type(alg, strlen(alg));
	return t != NULL && t->kind == kind && t->curve == curve;
}

/* The plain type's canonical name (what sshkey_ssh_name() gives). */
static const char *knownhosts_key_plain_name(KnownHostsKeyKind kind, int curve)
{
	for (gsize i = 0; i < G_N_ELEMENTS(knownhosts_key_types); i++) {
		const KeyType *t = &knownhosts_key_types[i];
		if (!t->cert && t->kind == kind && t->curve == curve)
			return t->name;
	}
	return "ssh-unknown";
}

const char *knownhosts_key_name(const KnownHostsKey *key)
{
	return knownhosts_key_plain_name(key->kind, key->curve);
}

const char *knownhosts_key_short_name(const KnownHostsKey *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(knownhosts_key_types); i++) {
		const KeyType *t = &knownhosts_key_types[i];
		if (t->cert == key->cert && t->kind == key->kind && t->curve == key->curve)
			return t->short_name;
	}
	return "UNKNOWN";
}

/* --- base64 ---------------------------------------------------------- */

static int knownhosts_key_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static gboolean knownhosts_key_is_space(char c)
{
	/* isspace() in the C locale */
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

GBytes *knownhosts_key_base64_decode(const char *text, gsize len)
{
	GByteArray *out = g_byte_array_sized_new(len / 4 * 3 + 3);
	guint32 bits = 0;
	int state = 0; /* base64 digits of the current quantum seen */
	gsize i = 0;

	for (; i < len && text[i] != '='; i++) {
		if (knownhosts_key_is_space(text[i]))
			continue;
		int v = knownhosts_key_base64_value(text[i]);
		if (v < 0)
			goto bad;
		bits = (bits << 6) | (guint32)v;
		if (++state == 4) {
			guint8 b[3] = { bits >> 16, bits >> 8, bits };
			g_byte_array_append(out, b, 3);
			bits = 0;
			state = 0;
		}
	}
	if (i == len) {
		/* Ended without padding: only on a whole quantum. */
		if (state != 0)
			goto bad;
		return g_byte_array_free_to_bytes(out);
	}
	/* At '=': one digit of a quantum is never enough; two need "==". */
	if (state < 2)
		goto bad;
	i++;
	if (state == 2) {
		while (i < len && knownhosts_key_is_space(text[i]))
			i++;
		if (i == len || text[i] != '=')
			goto bad;
		i++;
	}
	for (; i < len; i++) {
		if (!knownhosts_key_is_space(text[i]))
			goto bad;
	}
	/* The bits past the last whole byte must be zero (no hidden data). */
	if (state == 2) {
		if (bits & 0xf)
			goto bad;
		guint8 b = bits >> 4;
		g_byte_array_append(out, &b, 1);
	} else {
		if (bits & 0x3)
			goto bad;
		guint8 b[2] = { bits >> 10, bits >> 2 };
		g_byte_array_append(out, b, 2);
	}
	return g_byte_array_free_to_bytes(out);
bad:
	g_byte_array_unref(out);
	return NULL;
}

/* --- blobs ------------------------------------------------------------ */

typedef struct {
	const guint8 *p;
	gsize left;
} BlobReader;

static gboolean blob_skip(BlobReader *r, gsize n)
{
	if (r->left < n)
		return FALSE;
	r->p += n;
	r->left -= n;
	return TRUE;
}

static gboolean blob_string(BlobReader *r, const guint8 **value, gsize *len)
{
	if (r->left < 4)
		return FALSE;
	guint32 n = (guint32)r->p[0] << 24 | (guint32)r->p[1] << 16 |
		    (guint32)r->p[2] << 8 | r->p[3];
	if (r->left - 4 < n)
		return FALSE;
	*value = r->p + 4;
	*len = n;
	r->p += 4 + (gsize)n;
	r->left -= 4 + (gsize)n;
	return TRUE;
}

/* A string that must hold no NUL (sshbuf_get_cstring). */
static gboolean blob_cstring(BlobReader *r, const guint8 **value, gsize *len)
{
	return blob_string(r, value, len) && memchr(*value, 0, *len) == NULL;
}

static void blob_put_string(GByteArray *out, const void *data, gsize len)
{
	guint8 n[4] = { len >> 24, len >> 16, len >> 8, len };
	g_byte_array_append(out, n, 4);
	g_byte_array_append(out, data, len);
}

/* An mpint as sshbuf_get_bignum2() takes it (not negative, at most 16384
 * bits, leading zeros dropped), put back in its canonical encoding. */
static gboolean blob_mpint(BlobReader *r, GByteArray *out, guint *bits)
{
	const guint8 *d;
	gsize len;
	if (!blob_string(r, &d, &len))
		return FALSE;
	if (len > 0 && (d[0] & 0x80))
		return FALSE;
	if (len > BIGNUM_MAX_BYTES + 1 || (len == BIGNUM_MAX_BYTES + 1 && d[0] != 0))
		return FALSE;
	while (len > 0 && d[0] == 0) {
		d++;
		len--;
	}
	if (bits != NULL) {
		*bits = 0;
		if (len > 0) {
			guint top = 0;
			for (guint8 b = d[0]; b != 0; b >>= 1)
				top++;
			*bits = (guint)(len - 1) * 8 + top;
		}
	}
	gboolean pad = len > 0 && (d[0] & 0x80);
	guint32 n = (guint32)len + (pad ? 1 : 0);
	guint8 head[5] = { n >> 24, n >> 16, n >> 8, n, 0 };
	g_byte_array_append(out, head, pad ? 5 : 4);
	g_byte_array_append(out, d, len);
	return TRUE;
}

static const char *knownhosts_key_curve_name(int curve)
{
	switch (curve) {
	case 256: return "nistp256";
	case 384: return "nistp384";
	case 521: return "nistp521";
	default: return NULL;
	}
}

/* The public fields of a key of type t, appended canonically to out. */
static KnownHostsKeyError blob_public_fields(BlobReader *r, const KeyType *t,
					     GByteArray *out, guint *rsa_bits)
{
	const guint8 *d;
	gsize len;
	switch (t->kind) {
	case KNOWNHOSTS_KEY_ED25519:
	case KNOWNHOSTS_KEY_ED25519_SK:
		if (!blob_string(r, &d, &len) || len != ED25519_KEY_BYTES)
			return KNOWNHOSTS_KEY_BAD_BLOB;
		blob_put_string(out, d, len);
		break;
	case KNOWNHOSTS_KEY_ECDSA:
	case KNOWNHOSTS_KEY_ECDSA_SK: {
		const char *curve = knownhosts_key_curve_name(t->curve);
		if (!blob_cstring(r, &d, &len) || len != strlen(curve) ||
		    memcmp(d, curve, len) != 0)
			return KNOWNHOSTS_KEY_BAD_BLOB;
		blob_put_string(out, curve, len);
		/* Uncompressed points only, as OpenSSH reads them. */
		gsize field = (gsize)(t->curve + 7) / 8;
		if (!blob_string(r, &d, &len) || len != 1 + 2 * field || d[0] != 0x04)
			return KNOWNHOSTS_KEY_BAD_BLOB;
		blob_put_string(out, d, len);
		break;
	}
	case KNOWNHOSTS_KEY_RSA:
		if (!blob_mpint(r, out, NULL) || !blob_mpint(r, out, rsa_bits))
			return KNOWNHOSTS_KEY_BAD_BLOB;
		break;
	case KNOWNHOSTS_KEY_DSA:
		for (int i = 0; i < 4; i++) {
			if (!blob_mpint(r, out, NULL))
				return KNOWNHOSTS_KEY_BAD_BLOB;
		}
		break;
	}
	if (t->kind == KNOWNHOSTS_KEY_ED25519_SK || t->kind == KNOWNHOSTS_KEY_ECDSA_SK) {
		/* The security key's application ("ssh:") */
		if (!blob_cstring(r, &d, &len))
			return KNOWNHOSTS_KEY_BAD_BLOB;
		blob_put_string(out, d, len);
	}
	return KNOWNHOSTS_KEY_OK;
}

/* What follows a certificate's key (cert_parse() in sshkey.c), checked for
 * shape: the signature cannot be checked here. */
static KnownHostsKeyError blob_cert_fields(BlobReader *r)
{
	const guint8 *d;
	gsize len;
	if (!blob_skip(r, 8 + 4)) /* serial, type */
		return KNOWNHOSTS_KEY_BAD_BLOB;
	for (int i = 0; i < 2; i++) /* key id, principals */
		if (!blob_string(r, &d, &len))
			return KNOWNHOSTS_KEY_BAD_BLOB;
	if (!blob_skip(r, 8 + 8)) /* valid after, valid before */
		return KNOWNHOSTS_KEY_BAD_BLOB;
	for (int i = 0; i < 3; i++) /* critical options, extensions, reserved */
		if (!blob_string(r, &d, &len))
			return KNOWNHOSTS_KEY_BAD_BLOB;
	/* The signing CA: a plain key. */
	if (!blob_string(r, &d, &len))
		return KNOWNHOSTS_KEY_BAD_BLOB;
	KnownHostsKeyError why = KNOWNHOSTS_KEY_OK;
	KnownHostsKey *ca = knownhosts_key_from_blob(d, len, &why);
	gboolean plain_ca = ca != NULL && !ca->cert;
	knownhosts_key_free(ca);
	if (!plain_ca)
		return KNOWNHOSTS_KEY_BAD_BLOB;
	if (!blob_string(r, &d, &len)) /* signature */
		return KNOWNHOSTS_KEY_BAD_BLOB;
	return KNOWNHOSTS_KEY_OK;
}

KnownHostsKey *knownhosts_key_from_blob(const guint8 *blob, gsize len,
					KnownHostsKeyError *why)
{
	BlobReader r = { blob, len };
	const guint8 *name, *nonce;
	gsize name_len, nonce_len;
	guint rsa_bits = 0;

	if (!blob_cstring(&r, &name, &name_len)) {
		*why = KNOWNHOSTS_KEY_BAD_BLOB;
		return NULL;
	}
	const KeyType *t = knownhosts_key_blob_type((const char *)name, name_len);
	if (t == NULL) {
		*why = KNOWNHOSTS_KEY_BAD_TYPE;
		return NULL;
	}
	if (t->cert && !blob_string(&r, &nonce, &nonce_len)) {
		*why = KNOWNHOSTS_KEY_BAD_BLOB;
		return NULL;
	}
	GByteArray *plain = g_byte_array_new();
	const char *plain_name = knownhosts_key_plain_name(t->kind, t->curve);
	blob_put_string(plain, plain_name, strlen(plain_name));
	*why = blob_public_fields(&r, t, plain, &rsa_bits);
	if (*why == KNOWNHOSTS_KEY_OK && t->cert)
		*why = blob_cert_fields(&r);
	if (*why == KNOWNHOSTS_KEY_OK && r.left != 0)
		*why = KNOWNHOSTS_KEY_BAD_BLOB;
	if (*why == KNOWNHOSTS_KEY_OK && t->kind == KNOWNHOSTS_KEY_RSA &&
	    rsa_bits < RSA_MIN_BITS)
		*why = KNOWNHOSTS_KEY_TOO_SMALL;
	if (*why != KNOWNHOSTS_KEY_OK) {
		g_byte_array_unref(plain);
		return NULL;
	}
	KnownHostsKey *key = g_new0(KnownHostsKey, 1);
	key->kind = t->kind;
	key->curve = t->curve;
	key->cert = t->cert;
	key->plain = g_byte_array_free_to_bytes(plain);
	return key;
}

KnownHostsKey *knownhosts_key_parse(const char *type, gsize type_len,
				    const char *base64, gsize base64_len,
				    KnownHostsKeyError *why)
{
	const KeyType *t = knownhosts_key_type(type, type_len);
	if (t == NULL) {
		*why = KNOWNHOSTS_KEY_BAD_TYPE;
		return NULL;
	}
	g_autoptr(GBytes) blob = knownhosts_key_base64_decode(base64, base64_len);
	if (blob == NULL) {
		*why = KNOWNHOSTS_KEY_BAD_BASE64;
		return NULL;
	}
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(blob, &len);
	KnownHostsKey *key = knownhosts_key_from_blob(data, len, why);
	if (key == NULL)
		return NULL;
	/* "ssh-rsa" on the line may carry an rsa-sha2-512 blob (both are
	 * RSA keys), but never an Ed25519 one, nor another curve. */
	if (key->kind != t->kind || key->curve != t->curve || key->cert != t->cert) {
		knownhosts_key_free(key);
		*why = KNOWNHOSTS_KEY_TYPE_MISMATCH;
		return NULL;
	}
	return key;
}

void knownhosts_key_free(KnownHostsKey *key)
{
	if (key == NULL)
		return;
	g_bytes_unref(key->plain);
	g_free(key);
}

gboolean knownhosts_key_equal_public(const KnownHostsKey *a, const KnownHostsKey *b)
{
	return a != NULL && b != NULL && a->kind == b->kind && a->curve == b->curve &&
	       g_bytes_equal(a->plain, b->plain);
}

gboolean knownhosts_key_equal(const KnownHostsKey *a, const KnownHostsKey *b)
{
	/* Two certificates would also need equal certificate fields; the
	 * server's key is never one here (libssh 0.10 takes no host
	 * certificates), so a certificate equals nothing. */
	return a != NULL && b != NULL && !a->cert && !b->cert &&
	       knownhosts_key_equal_public(a, b);
}

char *knownhosts_key_fingerprint(const KnownHostsKey *key)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(key->plain, &len);
	guint8 digest[32];
	gsize digest_len = sizeof(digest);
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, data, len);
	g_checksum_get_digest(sum, digest, &digest_len);
	g_checksum_free(sum);
	g_autofree char *text = g_base64_encode(digest, digest_len);
	char *end = strchr(text, '=');
	if (end != NULL)
		*end = '\0';
	return g_strconcat("SHA256:", text, NULL);
}

char *knownhosts_key_to_text(const KnownHostsKey *key)
{
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(key->plain, &len);
	g_autofree char *text = g_base64_encode(data, len);
	return g_strconcat(knownhosts_key_name(key), " ", text, NULL);
}

guint knownhosts_key_rsa_bits(const KnownHostsKey *key)
{
	if (key->kind != KNOWNHOSTS_KEY_RSA)
		return 0;
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(key->plain, &len);
	BlobReader r = { data, len };
	const guint8 *d;
	gsize n;
	guint bits = 0;
	g_autoptr(GByteArray) scratch = g_byte_array_new();
	if (blob_string(&r, &d, &n) && blob_string(&r, &d, &n))
		blob_mpint(&r, scratch, &bits);
	return bits;
}

const char *knownhosts_key_error_text(KnownHostsKeyError why)
{
	switch (why) {
	case KNOWNHOSTS_KEY_OK: return "no error";
	case KNOWNHOSTS_KEY_BAD_TYPE: return "unknown key type";
	case KNOWNHOSTS_KEY_BAD_BASE64: return "invalid base64";
	case KNOWNHOSTS_KEY_BAD_BLOB: return "invalid key data";
	case KNOWNHOSTS_KEY_TYPE_MISMATCH: return "key data of another type than the line says";
	case KNOWNHOSTS_KEY_TOO_SMALL: return "RSA key under 1024 bits";
	}
	return "invalid key";
}
