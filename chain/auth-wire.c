/* SSH wire forms for public-key authentication. See auth-wire.h. */
#include "chain/auth-wire.h"

#include <string.h>

#include "chain/errors.h"

#define AUTH_WIRE_CERT_SUFFIX "-cert-v01@openssh.com"
#define AUTH_WIRE_CERT_USER 1
#define AUTH_WIRE_MAX_IDENTITIES 1024 /* as libssh */

typedef struct {
	const guint8 *p;
	gsize left;
} AuthWireReader;

static gboolean auth_wire_u32(AuthWireReader *r, guint32 *value)
{
	if (r->left < 4)
		return FALSE;
	*value = (guint32)r->p[0] << 24 | (guint32)r->p[1] << 16 | (guint32)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return TRUE;
}

static gboolean auth_wire_skip(AuthWireReader *r, gsize n)
{
	if (r->left < n)
		return FALSE;
	r->p += n;
	r->left -= n;
	return TRUE;
}

/* A string (or mpint): its bytes, without the length. */
static gboolean auth_wire_string(AuthWireReader *r, const guint8 **data, gsize *len)
{
	guint32 n;
	if (!auth_wire_u32(r, &n) || r->left < n)
		return FALSE;
	*data = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return TRUE;
}

static void auth_wire_put_u32(GByteArray *out, guint32 v)
{
	guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
	g_byte_array_append(out, b, 4);
}

static void auth_wire_put_string(GByteArray *out, const void *data, gsize len)
{
	auth_wire_put_u32(out, (guint32)len);
	g_byte_array_append(out, data, (guint)len);
}

void auth_wire_identity_free(AuthWireIdentity *identity)
{
	if (identity == NULL)
		return;
	g_bytes_unref(identity->blob);
	g_free(identity->comment);
	g_free(identity);
}

char *auth_wire_blob_type(GBytes *blob)
{
	gsize size;
	AuthWireReader r = { g_bytes_get_data(blob, &size), 0 };
	r.left = size;
	const guint8 *name;
	gsize len;
	if (!auth_wire_string(&r, &name, &len) || len == 0 || memchr(name, '\0', len) != NULL)
		return NULL;
	return g_strndup((const char *)name, len);
}

gboolean auth_wire_is_cert(GBytes *blob)
{
	g_autofree char *type = auth_wire_blob_type(blob);
	return type != NULL && g_str_has_suffix(type, AUTH_WIRE_CERT_SUFFIX);
}

/* The public-key fields after the nonce, per plain type (OpenSSH's
 * PROTOCOL.certkeys): how many strings/mpints, and the plain name. */
static const struct {
	const char *cert_type;
	const char *plain_type;
	int fields;
} auth_wire_cert_types[] = {
	{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 1 },
	{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa", 2 },
	{ "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", 2 },
	{ "ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", 2 },
	{ "ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521", 2 },
	{ "sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", 2 },
	{ "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", 3 },
	{ "ssh-dss-cert-v01@openssh.com", "ssh-dss", 4 },
};

GBytes *auth_wire_cert_plain(GBytes *cert, const char **why)
{
	gsize size;
	AuthWireReader r = { g_bytes_get_data(cert, &size), 0 };
	r.left = size;
	const guint8 *name, *field;
	gsize name_len, field_len;
	*why = "not a certificate";
	if (!auth_wire_string(&r, &name, &name_len))
		return NULL;
	int type = -1;
	for (gsize i = 0; i < G_N_ELEMENTS(auth_wire_cert_types) && type < 0; i++) {
		if (strlen(auth_wire_cert_types[i].cert_type) == name_len &&
		    memcmp(auth_wire_cert_types[i].cert_type, name, name_len) == 0)
			type = (int)i;
	}
	if (type < 0)
		return NULL;
	*why = "truncated certificate";
	if (!auth_wire_string(&r, &field, &field_len)) /* nonce */
		return NULL;
	const guint8 *key_start = r.p;
	for (int i = 0; i < auth_wire_cert_types[type].fields; i++) {
		if (!auth_wire_string(&r, &field, &field_len))
			return NULL;
	}
	gsize key_len = (gsize)(r.p - key_start);
	guint32 cert_kind;
	if (!auth_wire_skip(&r, 8) || !auth_wire_u32(&r, &cert_kind)) /* serial, type */
		return NULL;
	if (cert_kind != AUTH_WIRE_CERT_USER) {
		*why = "a host certificate, not a user certificate";
		return NULL;
	}
	GByteArray *plain = g_byte_array_new();
	const char *plain_type = auth_wire_cert_types[type].plain_type;
	auth_wire_put_string(plain, plain_type, strlen(plain_type));
	g_byte_array_append(plain, key_start, (guint)key_len);
	*why = NULL;
	return g_byte_array_free_to_bytes(plain);
}

GBytes *auth_wire_pub_line(const char *text, gsize len)
{
	g_autofree char *copy = g_strndup(text, len);
	g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_strstrip(lines[i]);
		if (lines[i][0] == '\0' || lines[i][0] == '#')
			continue;
		g_auto(GStrv) fields = g_strsplit_set(lines[i], " \t", 3);
		if (fields[0] == NULL || fields[1] == NULL)
			return NULL;
		gsize blob_len = 0;
		guchar *data = g_base64_decode(fields[1], &blob_len);
		GBytes *blob = g_bytes_new_take(data, blob_len);
		g_autofree char *type = auth_wire_blob_type(blob);
		if (type == NULL || strcmp(type, fields[0]) != 0) {
			g_bytes_unref(blob);
			return NULL;
		}
		return blob;
	}
	return NULL;
}

/* ---- agent messages ---- */

GPtrArray *auth_wire_parse_identities(const guint8 *payload, gsize len, GError **error)
{
	AuthWireReader r = { payload, len };
	guint32 count;
	if (len < 1 || payload[0] != AUTH_WIRE_AGENT_IDENTITIES_ANSWER) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the agent did not list its keys (reply type %d)", len ? payload[0] : -1);
		return NULL;
	}
	auth_wire_skip(&r, 1);
	if (!auth_wire_u32(&r, &count) || count > AUTH_WIRE_MAX_IDENTITIES) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the agent's list of keys is malformed");
		return NULL;
	}
	GPtrArray *identities = g_ptr_array_new_with_free_func(
		(GDestroyNotify)auth_wire_identity_free);
	for (guint32 i = 0; i < count; i++) {
		const guint8 *blob, *comment;
		gsize blob_len, comment_len;
		if (!auth_wire_string(&r, &blob, &blob_len) ||
		    !auth_wire_string(&r, &comment, &comment_len)) {
			g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
				    "the agent's list of keys is truncated");
			g_ptr_array_unref(identities);
			return NULL;
		}
		AuthWireIdentity *identity = g_new0(AuthWireIdentity, 1);
		identity->blob = g_bytes_new(blob, blob_len);
		identity->comment = g_strndup((const char *)comment, comment_len);
		g_ptr_array_add(identities, identity);
	}
	if (r.left != 0) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_PROTOCOL,
			    "the agent's list of keys has trailing bytes");
		g_ptr_array_unref(identities);
		return NULL;
	}
	return identities;
}

GBytes *auth_wire_identities_answer(const GPtrArray *identities)
{
	GByteArray *out = g_byte_array_new();
	guint8 type = AUTH_WIRE_AGENT_IDENTITIES_ANSWER;
	g_byte_array_append(out, &type, 1);
	auth_wire_put_u32(out, identities->len);
	for (guint i = 0; i < identities->len; i++) {
		const AuthWireIdentity *identity = g_ptr_array_index(identities, i);
		gsize blob_len;
		const void *blob = g_bytes_get_data(identity->blob, &blob_len);
		auth_wire_put_string(out, blob, blob_len);
		const char *comment = identity->comment ? identity->comment : "";
		auth_wire_put_string(out, comment, strlen(comment));
	}
	return g_byte_array_free_to_bytes(out);
}

GBytes *auth_wire_request_identities(void)
{
	static const guint8 request = AUTH_WIRE_AGENT_REQUEST_IDENTITIES;
	return g_bytes_new(&request, 1);
}

GBytes *auth_wire_failure(void)
{
	static const guint8 failure = AUTH_WIRE_AGENT_FAILURE;
	return g_bytes_new(&failure, 1);
}

GBytes *auth_wire_filter(GBytes *shown, const char *comment, GBytes *signer,
			 const guint8 *request, gsize len, GBytes **forward)
{
	*forward = NULL;
	if (len < 1)
		return auth_wire_failure();
	if (request[0] == AUTH_WIRE_AGENT_REQUEST_IDENTITIES && len == 1) {
		g_autoptr(GPtrArray) offer = g_ptr_array_new();
		AuthWireIdentity identity = { shown, (char *)comment };
		if (shown != NULL)
			g_ptr_array_add(offer, &identity);
		return auth_wire_identities_answer(offer);
	}
	if (request[0] != AUTH_WIRE_AGENT_SIGN_REQUEST || shown == NULL)
		return auth_wire_failure(); /* adding keys, locking, extensions: no */
	AuthWireReader r = { request + 1, len - 1 };
	const guint8 *key, *data;
	gsize key_len, data_len;
	guint32 flags;
	if (!auth_wire_string(&r, &key, &key_len) || !auth_wire_string(&r, &data, &data_len) ||
	    !auth_wire_u32(&r, &flags) || r.left != 0)
		return auth_wire_failure();
	/* Only the key on offer: libssh has no business with any other. */
	if (g_bytes_get_size(shown) != key_len ||
	    memcmp(g_bytes_get_data(shown, NULL), key, key_len) != 0)
		return auth_wire_failure();
	GByteArray *out = g_byte_array_new();
	guint8 type = AUTH_WIRE_AGENT_SIGN_REQUEST;
	g_byte_array_append(out, &type, 1);
	gsize signer_len;
	const void *signer_data = g_bytes_get_data(signer ? signer : shown, &signer_len);
	auth_wire_put_string(out, signer_data, signer_len);
	auth_wire_put_string(out, data, data_len);
	auth_wire_put_u32(out, flags);
	*forward = g_byte_array_free_to_bytes(out);
	return NULL;
}

GBytes *auth_wire_sign_reply(GBytes *reply)
{
	gsize len;
	const guint8 *data = g_bytes_get_data(reply, &len);
	if (len >= 1 && (data[0] == AUTH_WIRE_AGENT_SIGN_RESPONSE ||
			 data[0] == AUTH_WIRE_AGENT_FAILURE))
		return g_bytes_ref(reply);
	return auth_wire_failure();
}
