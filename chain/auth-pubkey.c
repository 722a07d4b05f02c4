/* publickey: the agent (IdentityAgent) and key files (IdentityFile, else
 * OpenSSH's default names), asking for a passphrase only for a key the
 * server would accept. Never forwards the agent: it only signs here. */
#include "chain/auth-private.h"

#include <string.h>
#include <unistd.h>

/* The agent signs; nothing is forwarded. With IdentitiesOnly, OpenSSH
 * offers agent keys only when they match an IdentityFile; jumpfs keeps
 * it simpler and does not ask the agent at all. */
static AuthOutcome auth_try_agent(AuthAttempt *attempt)
{
	if (attempt->spec->identities_only || attempt->spec->identity_agent == NULL)
		return AUTH_NOT_APPLICABLE;
	ssh_options_set(attempt->session, SSH_OPTIONS_IDENTITY_AGENT,
			attempt->spec->identity_agent);
	auth_note_tried(attempt, "ssh-agent keys");
	g_debug("%s: trying the keys of ssh-agent", attempt->label);
	AuthOutcome outcome = auth_outcome(ssh_userauth_agent(attempt->session, NULL));
	if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL)
		attempt->method = g_strdup("publickey (ssh-agent)");
	return outcome;
}

static const char *const default_identities[] = {
	"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa",
};

/* IdentityFile entries, or OpenSSH's default key names when there are
 * none, in the home directory jumpfs was told (another user's, for root
 * mounting for them), not necessarily $HOME. */
static GPtrArray *auth_key_files(const HopSpec *spec, const char *home)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	if (spec->identity_files->len > 0) {
		for (guint i = 0; i < spec->identity_files->len; i++)
			g_ptr_array_add(files, g_strdup(g_ptr_array_index(spec->identity_files, i)));
		return files;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(default_identities); i++)
		g_ptr_array_add(files, g_build_filename(home, ".ssh", default_identities[i], NULL));
	return files;
}

/* libssh calls this only for an encrypted key: note it, give nothing. */
static int auth_detect_passphrase(const char *prompt, char *buf, size_t len, int echo,
				  int verify, void *userdata)
{
	(void)prompt, (void)buf, (void)len, (void)echo, (void)verify;
	*(gboolean *)userdata = TRUE;
	return SSH_ERROR;
}

/* The public half of an encrypted key, to ask the server before asking the
 * user: KEY.pub, or the clear part of an OpenSSH-format private key. */
static ssh_key auth_public_half(const char *path)
{
	ssh_key key = NULL;
	g_autofree char *pub_path = g_strconcat(path, ".pub", NULL);
	if (ssh_pki_import_pubkey_file(pub_path, &key) == SSH_OK)
		return key;
	if (ssh_pki_import_pubkey_file(path, &key) == SSH_OK)
		return key;
	return NULL;
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
		if (!auth_ask(attempt, prompt, FALSE, feedback, passphrase,
				       sizeof(passphrase))) {
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

/* A key file's private key, asking for its passphrase only if the server
 * would accept the key. NULL (with a note) when it cannot be used. */
static ssh_key auth_load_key(AuthAttempt *attempt, const char *path, AuthOutcome *outcome)
{
	ssh_key key = NULL;
	gboolean encrypted = FALSE;
	*outcome = AUTH_DENIED;
	if (ssh_pki_import_privkey_file(path, NULL, auth_detect_passphrase, &encrypted,
					&key) == SSH_OK)
		return key;
	if (!encrypted) {
		auth_note_tried(attempt, "%s (unreadable)", path);
		return NULL;
	}
	ssh_key pub = auth_public_half(path);
	if (pub != NULL) {
		int rc = ssh_userauth_try_publickey(attempt->session, NULL, pub);
		ssh_key_free(pub);
		if (rc != SSH_AUTH_SUCCESS) {
			*outcome = rc == SSH_AUTH_ERROR ? AUTH_FAILED : AUTH_DENIED;
			auth_note_tried(attempt, "%s (encrypted, not accepted)", path);
			return NULL;
		}
	}
	return auth_unlock_key(attempt, path);
}

static AuthOutcome auth_try_key_files(AuthAttempt *attempt)
{
	g_autoptr(GPtrArray) files = auth_key_files(attempt->spec, attempt->home_dir);
	AuthOutcome result = AUTH_NOT_APPLICABLE;

	for (guint i = 0; i < files->len; i++) {
		const char *path = g_ptr_array_index(files, i);
		if (access(path, R_OK) != 0)
			continue;
		g_debug("%s: trying key %s", attempt->label, path);
		AuthOutcome outcome;
		ssh_key key = auth_load_key(attempt, path, &outcome);
		if (key == NULL) {
			if (outcome == AUTH_FAILED)
				return outcome;
			result = AUTH_DENIED;
			continue;
		}
		outcome = auth_outcome(ssh_userauth_publickey(attempt->session, NULL, key));
		ssh_key_free(key);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL) {
			attempt->method = g_strdup_printf("publickey (%s)", path);
			return outcome;
		}
		auth_note_tried(attempt, "%s", path);
		if (outcome == AUTH_FAILED)
			return outcome;
		result = AUTH_DENIED;
	}
	return result;
}

AuthOutcome auth_method_publickey(AuthAttempt *attempt)
{
	AuthOutcome agent = auth_try_agent(attempt);
	if (agent != AUTH_DENIED && agent != AUTH_NOT_APPLICABLE)
		return agent;
	AuthOutcome files = auth_try_key_files(attempt);
	if (files == AUTH_NOT_APPLICABLE)
		return agent;
	return files;
}
