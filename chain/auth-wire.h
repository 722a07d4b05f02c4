/* The bytes of public-key authentication, GLib only (unit tests and a
 * fuzz target need no libssh): the few ssh-agent messages jumpfs speaks
 * (draft-miller-ssh-agent), OpenSSH certificate blobs, and .pub lines.
 *
 * Key "blobs" are the SSH wire form of a public key or certificate
 * (string type, then the type's fields), as the agent and the server see
 * them; two keys are the same key when their blobs are equal. */
#ifndef JUMPFS_CHAIN_AUTH_WIRE_H
#define JUMPFS_CHAIN_AUTH_WIRE_H

#include <glib.h>

#define AUTH_WIRE_AGENT_FAILURE 5
#define AUTH_WIRE_AGENT_REQUEST_IDENTITIES 11
#define AUTH_WIRE_AGENT_IDENTITIES_ANSWER 12
#define AUTH_WIRE_AGENT_SIGN_REQUEST 13
#define AUTH_WIRE_AGENT_SIGN_RESPONSE 14
/* OpenSSH's agent refuses messages over 256 KiB; so do we. */
#define AUTH_WIRE_AGENT_MAX (256 * 1024)

typedef struct {
	GBytes *blob;
	char *comment;
} AuthWireIdentity;

void auth_wire_identity_free(AuthWireIdentity *identity);

/* The type name a blob starts with ("ssh-ed25519",
 * "ssh-ed25519-cert-v01@openssh.com"); NULL if it has none. */
char *auth_wire_blob_type(GBytes *blob);
/* The plain public key of a user certificate blob: its type without
 * "-cert-v01@openssh.com" and the key's own fields. NULL with *why when the
 * blob is no certificate jumpfs can read, or not a user certificate. */
GBytes *auth_wire_cert_plain(GBytes *cert, const char **why);
gboolean auth_wire_is_cert(GBytes *blob);

/* A .pub or -cert.pub file's first key line ("TYPE BASE64 [COMMENT]"):
 * its blob, or NULL when there is none, or the base64 does not decode to
 * a blob of the type the line names. */
GBytes *auth_wire_pub_line(const char *text, gsize len);

/* ---- agent messages: payloads, without the u32 length in front ---- */

/* The identities of an IDENTITIES_ANSWER payload (AuthWireIdentity *),
 * or NULL with *error (JUMPFS_ERROR_PROTOCOL) for anything else. */
GPtrArray *auth_wire_parse_identities(const guint8 *payload, gsize len, GError **error);
GBytes *auth_wire_identities_answer(const GPtrArray *identities);
GBytes *auth_wire_request_identities(void);
GBytes *auth_wire_failure(void);

/* What the filtering agent does with one of libssh's requests: it offers
 * only `shown` (with `comment`) and has a SIGN_REQUEST for it signed by
 * the real agent's key `signer` (the plain key of a certificate, or
 * `shown` itself). Returns the reply for libssh, or NULL with *forward
 * set to the request for the real agent. shown NULL = offer nothing. */
GBytes *auth_wire_filter(GBytes *shown, const char *comment, GBytes *signer,
			 const guint8 *request, gsize len, GBytes **forward);
/* The real agent's reply to a forwarded SIGN_REQUEST, if it is one
 * (SIGN_RESPONSE or FAILURE), else a FAILURE. */
GBytes *auth_wire_sign_reply(GBytes *reply);

#endif
