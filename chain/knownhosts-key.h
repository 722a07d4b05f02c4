/* Public keys as OpenSSH writes them: "type base64-blob" in known_hosts,
 * revocation lists and .pub files, and the blob inside.
 *
 * Pure: GLib only (no libssh), so that the readers built on it can be
 * fuzzed. Follows OpenSSH 9.2's sshkey_read(): the type must be a full key
 * type name, base64 is decoded as strictly as b64_pton() does, the blob
 * must be complete with nothing after it, and its type must agree with the
 * line's. Keys compare by their public values (as sshkey_equal() does),
 * here as canonical blobs. Not checked, for want of curve arithmetic and
 * signatures: that an ECDSA point lies on its curve, and certificate
 * signatures. */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_KEY_H
#define JUMPFS_CHAIN_KNOWNHOSTS_KEY_H

#include <glib.h>

typedef enum {
	KNOWNHOSTS_KEY_ED25519 = 1,
	KNOWNHOSTS_KEY_ED25519_SK,
	KNOWNHOSTS_KEY_ECDSA,
	KNOWNHOSTS_KEY_ECDSA_SK,
	KNOWNHOSTS_KEY_RSA,
	KNOWNHOSTS_KEY_DSA,
} KnownHostsKeyKind;

/* Why a key could not be read. */
typedef enum {
	KNOWNHOSTS_KEY_OK,
	KNOWNHOSTS_KEY_BAD_TYPE,      /* not a key type OpenSSH knows */
	KNOWNHOSTS_KEY_BAD_BASE64,
	KNOWNHOSTS_KEY_BAD_BLOB,      /* truncated, trailing bytes, bad field */
	KNOWNHOSTS_KEY_TYPE_MISMATCH, /* the blob is another type than the line */
	KNOWNHOSTS_KEY_TOO_SMALL,     /* RSA modulus under 1024 bits */
} KnownHostsKeyError;

typedef struct {
	KnownHostsKeyKind kind;
	int curve;            /* 256, 384 or 521 for the ECDSA kinds, else 0 */
	gboolean cert;        /* a *-cert-v01@openssh.com certificate */
	GBytes *plain;        /* the public key alone, canonically encoded (a
	                         certificate's certified key): what compares */
} KnownHostsKey;

/* "type base64" fields of a line (base64 as delimited by spaces and tabs;
 * other white space inside it is skipped, as b64_pton does). */
KnownHostsKey *knownhosts_key_parse(const char *type, gsize type_len,
				    const char *base64, gsize base64_len,
				    KnownHostsKeyError *why);
/* A blob as the server sent it (or as a KRL lists it). */
KnownHostsKey *knownhosts_key_from_blob(const guint8 *blob, gsize len,
					KnownHostsKeyError *why);
void knownhosts_key_free(KnownHostsKey *key);

/* Same public key, as sshkey_equal() (certificate only equals certificate)
 * or sshkey_equal_public() (a certificate equals its certified key). */
gboolean knownhosts_key_equal(const KnownHostsKey *a, const KnownHostsKey *b);
gboolean knownhosts_key_equal_public(const KnownHostsKey *a, const KnownHostsKey *b);

/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa": the name written into
 * known_hosts for the plain key. */
const char *knownhosts_key_name(const KnownHostsKey *key);
/* "ED25519", "ECDSA", "RSA": as OpenSSH names the type in messages. */
const char *knownhosts_key_short_name(const KnownHostsKey *key);
/* "SHA256:" + unpadded base64 of the plain blob, as ssh-keygen -l. */
char *knownhosts_key_fingerprint(const KnownHostsKey *key);
/* "ssh-ed25519 AAAA...": the plain key as a known_hosts line ends. */
char *knownhosts_key_to_text(const KnownHostsKey *key);
/* RSA modulus bits (0 for other kinds). */
guint knownhosts_key_rsa_bits(const KnownHostsKey *key);

/* Kind and curve of a full type name ("rsa-sha2-512" is RSA); FALSE if
 * OpenSSH 9.2 knows no such type. */
gboolean knownhosts_key_type_from_name(const char *name, gsize len,
				       KnownHostsKeyKind *kind, int *curve,
				       gboolean *cert);
/* TRUE when host key algorithm alg signs with keys of this kind and curve
 * (rsa-sha2-256 with RSA keys, its -cert- form too). */
gboolean knownhosts_key_algorithm_uses(const char *alg, KnownHostsKeyKind kind,
				       int curve);

/* Base64 as OpenSSH's b64_pton() reads it: white space skipped, padding
 * required, no bits left over; NULL if it is not valid. */
GBytes *knownhosts_key_base64_decode(const char *text, gsize len);
const char *knownhosts_key_error_text(KnownHostsKeyError why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(KnownHostsKey, knownhosts_key_free)

#endif
