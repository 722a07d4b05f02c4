/* Authentication methods as a table, tried in OpenSSH's order.
 *
 * Each method either succeeds, is denied (try the next), or cannot apply
 * (no agent, no key file). What was tried is collected for the error
 * message, because "authentication failed" alone sends users guessing
 * which hop and which key. */
#include "chain/auth.h"

#include <unistd.h>

#include "chain/errors.h"

typedef enum { AUTH_SUCCESS, AUTH_DENIED, AUTH_NOT_APPLICABLE, AUTH_FAILED } AuthOutcome;

typedef struct {
	ssh_session session;
	const HopSpec *spec;
	const char *label;
	GString *tried;        /* human list of what was offered */
	char *method;          /* what worked */
} AuthAttempt;

typedef struct {
	unsigned required;     /* SSH_AUTH_METHOD_* the server must allow */
	AuthOutcome (*run)(AuthAttempt *attempt);
} AuthMethod;

static void auth_note_tried(AuthAttempt *attempt, const char *what)
{
	if (attempt->tried->len > 0)
		g_string_append(attempt->tried, ", ");
	g_string_append(attempt->tried, what);
}

static AuthOutcome auth_outcome(int rc)
{
	switch (rc) {
	case SSH_AUTH_SUCCESS:
		return AUTH_SUCCESS;
	case SSH_AUTH_DENIED:
	case SSH_AUTH_PARTIAL:
		return AUTH_DENIED;
	default:
		return AUTH_FAILED;
	}
}

/* The agent signs; nothing is forwarded. With IdentitiesOnly, OpenSSH
 * offers agent keys only when they match an IdentityFile; jumpfs keeps
 * it simpler and does not ask the agent at all. */
static AuthOutcome auth_try_agent(AuthAttempt *attempt)
{
	if (attempt->spec->identities_only || g_getenv("SSH_AUTH_SOCK") == NULL)
		return AUTH_NOT_APPLICABLE;
	auth_note_tried(attempt, "ssh-agent keys");
	AuthOutcome outcome = auth_outcome(ssh_userauth_agent(attempt->session, NULL));
	if (outcome == AUTH_SUCCESS)
		attempt->method = g_strdup("publickey (ssh-agent)");
	return outcome;
}

static const char *const default_identities[] = {
	"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa",
};

/* IdentityFile entries, or OpenSSH's default key names when there are
 * none. Keys that need a passphrase are skipped for now. */
static GPtrArray *auth_key_files(const HopSpec *spec)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	if (spec->identity_files->len > 0) {
		for (guint i = 0; i < spec->identity_files->len; i++)
			g_ptr_array_add(files, g_strdup(g_ptr_array_index(spec->identity_files, i)));
		return files;
	}
	const char *home = g_get_home_dir();
	for (gsize i = 0; i < G_N_ELEMENTS(default_identities); i++)
		g_ptr_array_add(files, g_build_filename(home, ".ssh", default_identities[i], NULL));
	return files;
}

static AuthOutcome auth_try_key_files(AuthAttempt *attempt)
{
	g_autoptr(GPtrArray) files = auth_key_files(attempt->spec);
	AuthOutcome result = AUTH_NOT_APPLICABLE;

	for (guint i = 0; i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		ssh_key key = NULL;
		if (access(path, R_OK) != 0)
			continue;
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK) {
			g_autofree char *what = g_strdup_printf("%s (unreadable or needs a passphrase)", path);
			auth_note_tried(attempt, what);
			continue;
		}
		auth_note_tried(attempt, path);
		AuthOutcome outcome = auth_outcome(ssh_userauth_publickey(attempt->session, NULL, key));
		ssh_key_free(key);
		if (outcome == AUTH_SUCCESS) {
			attempt->method = g_strdup_printf("publickey (%s)", path);
			return outcome;
		}
		if (outcome == AUTH_FAILED)
			return outcome;
		result = AUTH_DENIED;
	}
	return result;
}

static const AuthMethod auth_methods[] = {
	{ SSH_AUTH_METHOD_PUBLICKEY, auth_try_agent },
	{ SSH_AUTH_METHOD_PUBLICKEY, auth_try_key_files },
};

static char *auth_describe_allowed(int allowed)
{
	GString *s = g_string_new(NULL);
	static const struct { int bit; const char *name; } names[] = {
		{ SSH_AUTH_METHOD_PUBLICKEY, "publickey" },
		{ SSH_AUTH_METHOD_PASSWORD, "password" },
		{ SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive" },
		{ SSH_AUTH_METHOD_HOSTBASED, "hostbased" },
		{ SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic" },
	};
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		if (allowed & names[i].bit)
			g_string_append_printf(s, "%s%s", s->len ? "," : "", names[i].name);
	}
	return g_string_free(s, FALSE);
}

gboolean auth_authenticate(ssh_session session, const HopSpec *spec,
			   const char *label, char **method, GError **error)
{
	/* "none" first: it returns the list of methods the server allows. */
	int rc = ssh_userauth_none(session, NULL);
	if (rc == SSH_AUTH_SUCCESS) {
		*method = g_strdup("none");
		return TRUE;
	}
	if (rc == SSH_AUTH_ERROR) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
			    "%s: authentication as '%s' failed: %s",
			    label, spec->user, ssh_get_error(session));
		return FALSE;
	}
	int allowed = ssh_userauth_list(session, NULL);

	AuthAttempt attempt = {
		.session = session, .spec = spec, .label = label,
		.tried = g_string_new(NULL),
	};
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	for (gsize i = 0; i < G_N_ELEMENTS(auth_methods); i++) {
		if (!(allowed & auth_methods[i].required))
			continue;
		if (auth_methods[i].required == SSH_AUTH_METHOD_PUBLICKEY && !spec->pubkey_auth)
			continue;
		outcome = auth_methods[i].run(&attempt);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_FAILED)
			break;
	}

	gboolean ok = outcome == AUTH_SUCCESS;
	if (ok) {
		*method = attempt.method;
	} else {
		g_autofree char *allowed_text = auth_describe_allowed(allowed);
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
			    "%s: authentication failed for user '%s' (tried: %s; "
			    "the server accepts: %s)%s%s",
			    label, spec->user,
			    attempt.tried->len ? attempt.tried->str : "nothing usable",
			    allowed_text,
			    outcome == AUTH_FAILED ? ": " : "",
			    outcome == AUTH_FAILED ? ssh_get_error(session) : "");
		g_free(attempt.method);
	}
	g_string_free(attempt.tried, TRUE);
	return ok;
}
