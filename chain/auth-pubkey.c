/* publickey, as OpenSSH's pubkey_prepare() orders it:
 *   1. CertificateFile certificates;
 *   2. the agent's keys (IdentityAgent): first those that match an
 *      IdentityFile (by its .pub, or the public half of the key file),
 *      then, unless IdentitiesOnly, all others;
 *   3. the remaining IdentityFile keys (OpenSSH's default names when none
 *      is set), each followed by KEY-cert.pub when no CertificateFile is set.
 * A certificate is signed by the first identity of that list with its
 * plain key: the agent's, or a key file's. Each identity is offered alone: a key
 * file's passphrase is asked only once the server said it would take the
 * key. The agent only signs here: it is never forwarded. */
#include "chain/auth-private.h"

#include <string.h>
#include <unistd.h>

#include "chain/auth-agent.h"
#include "chain/auth-wire.h"

typedef struct {
	char *name;          /* for messages: the file, or the agent's comment */
	GBytes *blob;        /* what the server sees (key or certificate); NULL
	                        = unknown until the key file is read */
	GBytes *plain;       /* its plain public key (blob, or the cert's key) */
	char *key_file;      /* the private key file; NULL: none known */
	gboolean from_agent; /* the agent holds plain's private key */
	gboolean is_cert;
} AuthIdentity;

static void auth_identity_free(AuthIdentity *id)
{
	g_free(id->name);
	if (id->blob)
		g_bytes_unref(id->blob);
	if (id->plain)
		g_bytes_unref(id->plain);
	g_free(id->key_file);
	g_free(id);
}

static const char *const default_identities[] = {
	"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa",
};

/* ---- reading keys ---- */

static GBytes *auth_read_pub_file(const char *path)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, NULL))
		return NULL;
	return auth_wire_pub_line(text, len);
}

static GBytes *auth_key_blob(ssh_key key)
{
	char *b64 = NULL;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return NULL;
	gsize len = 0;
	guchar *data = g_base64_decode(b64, &len);
	ssh_string_free_char(b64);
	return g_bytes_new_take(data, len);
}

/* The libssh key for a blob (a certificate keeps its certificate). */
static ssh_key auth_blob_key(GBytes *blob)
{
	g_autofree char *type = auth_wire_blob_type(blob);
	if (type == NULL)
		return NULL;
	gsize len;
	const guchar *data = g_bytes_get_data(blob, &len);
	g_autofree char *b64 = g_base64_encode(data, len);
	ssh_key key = NULL;
	enum ssh_keytypes_e kind = ssh_key_type_from_name(type);
	int rc = auth_wire_is_cert(blob) ? ssh_pki_import_cert_base64(b64, kind, &key)
					 : ssh_pki_import_pubkey_base64(b64, kind, &key);
	return rc == SSH_OK ? key : NULL;
}

/* KEY.pub, else the clear public half of an OpenSSH-format key file. */
static GBytes *auth_file_public(const char *path)
{
	g_autofree char *pub_path = g_strconcat(path, ".pub", NULL);
	GBytes *blob = auth_read_pub_file(pub_path);
	if (blob != NULL || access(path, R_OK) != 0)
		return blob;
	ssh_key key = NULL;
	if (ssh_pki_import_pubkey_file(path, &key) != SSH_OK)
		return NULL;
	blob = auth_key_blob(key);
	ssh_key_free(key);
	return blob;
}

static gboolean auth_blob_equal(GBytes *a, GBytes *b)
{
	return a != NULL && b != NULL && g_bytes_equal(a, b);
}

/* ---- the list of identities ---- */

static AuthIdentity *auth_cert_identity(const char *cert_path, const char *key_file,
					const char *label)
{
	GBytes *blob = auth_read_pub_file(cert_path);
	if (blob == NULL)
		return NULL;
	const char *why = NULL;
	GBytes *plain = auth_wire_cert_plain(blob, &why);
	if (plain == NULL) {
		g_debug("%s: ignoring certificate %s: %s", label, cert_path, why);
		g_bytes_unref(blob);
		return NULL;
	}
	AuthIdentity *id = g_new0(AuthIdentity, 1);
	id->name = g_strdup(cert_path);
	id->blob = blob;
	id->plain = plain;
	id->key_file = g_strdup(key_file);
	id->is_cert = TRUE;
	return id;
}

/* IdentityFile entries (or the default names), each followed by its
 * -cert.pub unless CertificateFile is set; files that do not exist at all
 * (neither the key nor its .pub) are left out. */
static GPtrArray *auth_file_identities(const AuthAttempt *attempt)
{
	const HopSpec *spec = attempt->spec;
	GPtrArray *ids = g_ptr_array_new_with_free_func((GDestroyNotify)auth_identity_free);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < spec->identity_files->len; i++)
		g_ptr_array_add(paths, g_strdup(g_ptr_array_index(spec->identity_files, i)));
	if (paths->len == 0) {
		for (gsize i = 0; i < G_N_ELEMENTS(default_identities); i++)
			g_ptr_array_add(paths, g_build_filename(attempt->home_dir, ".ssh",
								default_identities[i], NULL));
	}
	gboolean auto_certs = spec->certificate_files == NULL ||
			      spec->certificate_files->len == 0;
	for (guint i = 0; i < paths->len; i++) {
		const char *path = g_ptr_array_index(paths, i);
		if (g_ascii_strcasecmp(path, "none") == 0)
			continue;
		g_autofree char *pub_path = g_strconcat(path, ".pub", NULL);
		if (access(path, F_OK) != 0 && access(pub_path, F_OK) != 0)
			continue;
		AuthIdentity *id = g_new0(AuthIdentity, 1);
		id->name = g_strdup(path);
		id->blob = auth_file_public(path);
		id->plain = id->blob ? g_bytes_ref(id->blob) : NULL;
		id->key_file = access(path, F_OK) == 0 ? g_strdup(path) : NULL;
		g_ptr_array_add(ids, id);
		if (!auto_certs)
			continue;
		g_autofree char *cert_path = g_strconcat(path, "-cert.pub", NULL);
		AuthIdentity *cert = auth_cert_identity(cert_path, id->key_file, attempt->label);
		if (cert != NULL)
			g_ptr_array_add(ids, cert);
	}
	return ids;
}

static void auth_steal_into(GPtrArray *to, GPtrArray *from, guint index)
{
	g_ptr_array_add(to, g_ptr_array_steal_index(from, index));
}

/* The identities in the order to try them (see the top of this file). */
static GPtrArray *auth_identities(const AuthAttempt *attempt)
{
	const HopSpec *spec = attempt->spec;
	GPtrArray *order = g_ptr_array_new_with_free_func((GDestroyNotify)auth_identity_free);
	g_autoptr(GPtrArray) files = auth_file_identities(attempt);

	for (guint i = 0; spec->certificate_files && i < spec->certificate_files->len; i++) {
		AuthIdentity *cert = auth_cert_identity(g_ptr_array_index(spec->certificate_files, i),
							NULL, attempt->label);
		if (cert != NULL)
			g_ptr_array_add(order, cert);
	}

	if (attempt->agent != NULL) {
		const GPtrArray *keys = auth_agent_identities(attempt->agent);
		g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func(
			(GDestroyNotify)auth_identity_free);
		for (guint i = 0; i < keys->len; i++) {
			const AuthWireIdentity *key = g_ptr_array_index(keys, i);
			gboolean matched = FALSE;
			for (guint j = 0; j < files->len && !matched; j++) {
				AuthIdentity *file = g_ptr_array_index(files, j);
				if (auth_blob_equal(file->blob, key->blob)) {
					file->from_agent = matched = TRUE;
					auth_steal_into(order, files, j);
				}
			}
			if (matched || spec->identities_only)
				continue;
			AuthIdentity *id = g_new0(AuthIdentity, 1);
			id->name = g_strdup(*key->comment ? key->comment : "(no comment)");
			id->blob = g_bytes_ref(key->blob);
			id->is_cert = auth_wire_is_cert(key->blob);
			const char *why;
			id->plain = id->is_cert ? auth_wire_cert_plain(key->blob, &why)
						: g_bytes_ref(key->blob);
			id->from_agent = TRUE;
			g_ptr_array_add(others, id);
		}
		while (others->len > 0)
			auth_steal_into(order, others, 0);
	}
	while (files->len > 0)
		auth_steal_into(order, files, 0);

	/* As OpenSSH's sign_and_send_pubkey(): a certificate is signed by the
	 * first identity of the list with its plain key, which is the agent's
	 * when the agent's key made it into the list. */
	for (guint i = 0; i < order->len; i++) {
		AuthIdentity *id = g_ptr_array_index(order, i);
		if (!id->is_cert || id->from_agent)
			continue;
		for (guint j = 0; j < order->len; j++) {
			const AuthIdentity *signer = g_ptr_array_index(order, j);
			if (signer->is_cert || !auth_blob_equal(signer->plain, id->plain))
				continue;
			if (signer->from_agent)
				id->from_agent = TRUE;
			else if (id->key_file == NULL)
				id->key_file = g_strdup(signer->key_file);
			break;
		}
	}
	return order;
}

/* ---- trying them ---- */

/* libssh calls this only for an encrypted key: note it, give nothing. */
static int auth_detect_passphrase(const char *prompt, char *buf, size_t len, int echo,
				  int verify, void *userdata)
{
	(void)prompt, (void)buf, (void)len, (void)echo, (void)verify;
	*(gboolean *)userdata = TRUE;
	return SSH_ERROR;
}

/* Decrypts an encrypted key with a passphrase the user types (up to
 * NumberOfPasswordPrompts times; an empty answer skips the key, as in ssh). */
static ssh_key auth_unlock_key(AuthAttempt *attempt, const char *path)
{
	g_autofree char *prompt = g_strdup_printf("Enter passphrase for key '%s' (%s, %s@%s): ",
						  path, attempt->position,
						  attempt->spec->user, attempt->spec->hostname);
	char passphrase[AUTH_SECRET_MAX];
	const char *feedback = NULL;
	for (int i = 0; i < attempt->spec->number_of_password_prompts; i++) {
		if (!auth_ask(attempt, prompt, FALSE, feedback, passphrase, sizeof(passphrase))) {
			auth_note_tried(attempt, "%s (encrypted, no passphrase given)", path);
			return NULL;
		}
		if (passphrase[0] == '\0') {
			auth_note_tried(attempt, "%s (encrypted, skipped)", path);
			return NULL;
		}
		ssh_key key = NULL;
		int rc = ssh_pki_import_privkey_file(path, passphrase, NULL, NULL, &key);
		explicit_bzero(passphrase, sizeof(passphrase));
		if (rc == SSH_OK)
			return key;
		g_debug("%s: bad passphrase for %s", attempt->label, path);
		feedback = "Bad passphrase, try again.";
	}
	auth_note_tried(attempt, "%s (bad passphrase)", path);
	return NULL;
}

static ssh_key auth_load_private(AuthAttempt *attempt, const AuthIdentity *id)
{
	ssh_key key = NULL;
	gboolean encrypted = FALSE;
	if (id->key_file == NULL) {
		auth_note_tried(attempt, "%s (no private key here or in the agent)", id->name);
		return NULL;
	}
	if (ssh_pki_import_privkey_file(id->key_file, NULL, auth_detect_passphrase, &encrypted,
					&key) == SSH_OK)
		return key;
	if (!encrypted) {
		auth_note_tried(attempt, "%s (unreadable)", id->key_file);
		return NULL;
	}
	return auth_unlock_key(attempt, id->key_file);
}

/* Would the server take it? Asked before any passphrase is. */
static AuthOutcome auth_query(AuthAttempt *attempt, const AuthIdentity *id)
{
	ssh_key key = auth_blob_key(id->blob);
	if (key == NULL) {
		g_debug("%s: libssh cannot read the key of %s", attempt->label, id->name);
		return AUTH_NOT_APPLICABLE;
	}
	int rc = ssh_userauth_try_publickey(attempt->session, NULL, key);
	ssh_key_free(key);
	return auth_outcome(rc);
}

static AuthOutcome auth_try_file(AuthAttempt *attempt, const AuthIdentity *id)
{
	if (id->blob != NULL) {
		AuthOutcome answer = auth_query(attempt, id);
		if (answer != AUTH_SUCCESS) {
			if (answer == AUTH_DENIED)
				auth_note_tried(attempt, "%s", id->name);
			return answer;
		}
	}
	ssh_key key = auth_load_private(attempt, id);
	if (key == NULL)
		return AUTH_DENIED;
	if (id->is_cert) {
		ssh_key cert = auth_blob_key(id->blob);
		int rc = cert ? ssh_pki_copy_cert_to_privkey(cert, key) : SSH_ERROR;
		ssh_key_free(cert);
		if (rc != SSH_OK) {
			ssh_key_free(key);
			auth_note_tried(attempt, "%s (libssh cannot use the certificate)", id->name);
			return AUTH_DENIED;
		}
	} else if (id->blob != NULL) {
		/* KEY.pub of another key than KEY: say so, do not sign. */
		GBytes *real = auth_key_blob(key);
		gboolean same = auth_blob_equal(real, id->blob);
		if (real)
			g_bytes_unref(real);
		if (!same) {
			ssh_key_free(key);
			auth_note_tried(attempt, "%s (its .pub is another key)", id->name);
			return AUTH_DENIED;
		}
	}
	AuthOutcome outcome = auth_outcome(ssh_userauth_publickey(attempt->session, NULL, key));
	ssh_key_free(key);
	if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL)
		attempt->method = g_strdup_printf("publickey (%s)", id->name);
	else
		auth_note_tried(attempt, "%s (signature refused)", id->name);
	return outcome;
}

static AuthOutcome auth_try_agent(AuthAttempt *attempt, const AuthIdentity *id)
{
	if (!attempt->agent_given) {
		g_autoptr(GError) error = NULL;
		int fd = auth_agent_filter_fd(attempt->agent, &error);
		if (fd < 0 || ssh_set_agent_socket(attempt->session, fd) != SSH_OK) {
			if (fd >= 0)
				close(fd);
			g_debug("%s: %s", attempt->label, error ? error->message : "agent socket refused");
			return AUTH_NOT_APPLICABLE;
		}
		attempt->agent_given = TRUE;
	}
	auth_agent_offer(attempt->agent, id->blob, id->name, id->is_cert ? id->plain : NULL);
	AuthOutcome outcome = auth_outcome(ssh_userauth_agent(attempt->session, NULL));
	auth_agent_offer(attempt->agent, NULL, NULL, NULL);
	if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL)
		attempt->method = g_strdup_printf("publickey (ssh-agent: %s)", id->name);
	else if (outcome == AUTH_DENIED)
		auth_note_tried(attempt, "%s (ssh-agent)", id->name);
	return outcome;
}

/* The agent, when IdentityAgent names one that answers. */
static void auth_open_agent(AuthAttempt *attempt)
{
	if (attempt->agent != NULL || attempt->agent_tried || attempt->spec->identity_agent == NULL)
		return;
	attempt->agent_tried = TRUE;
	g_autoptr(GError) error = NULL;
	attempt->agent = auth_agent_open(attempt->spec->identity_agent, &error);
	if (attempt->agent == NULL)
		g_debug("%s: no agent: %s", attempt->label, error->message);
	else
		g_debug("%s: the agent at %s holds %u key(s)", attempt->label,
			attempt->spec->identity_agent, auth_agent_identities(attempt->agent)->len);
}

AuthOutcome auth_method_publickey(AuthAttempt *attempt)
{
	auth_open_agent(attempt);
	g_autoptr(GPtrArray) ids = auth_identities(attempt);
	AuthOutcome result = AUTH_NOT_APPLICABLE;
	for (guint i = 0; i < ids->len; i++) {
		const AuthIdentity *id = g_ptr_array_index(ids, i);
		g_debug("%s: trying %s %s%s", attempt->label, id->is_cert ? "certificate" : "key",
			id->name, id->from_agent ? " (ssh-agent)" : "");
		AuthOutcome outcome = id->from_agent ? auth_try_agent(attempt, id)
						     : auth_try_file(attempt, id);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL || outcome == AUTH_FAILED)
			return outcome;
		if (outcome == AUTH_DENIED)
			result = AUTH_DENIED;
	}
	return result;
}

void auth_pubkey_finish(AuthAttempt *attempt)
{
	g_clear_pointer(&attempt->agent, auth_agent_close);
}
