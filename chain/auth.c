/* Authentication methods as a table, tried in OpenSSH's order (publickey,
 * keyboard-interactive, password).
 *
 * Each method either succeeds, is denied (try the next), or cannot apply
 * (no agent, no key file, nobody to ask). What was tried is collected for
 * the error message, because "authentication failed" alone sends users
 * guessing which hop and which key. */
#include "chain/auth.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "chain/errors.h"
#include "chain/prompt-tty.h"
#include "chain/prompt.h"

#define AUTH_SECRET_MAX 1024
#define AUTH_PROMPT_TRIES 3 /* OpenSSH's NumberOfPasswordPrompts */
#define AUTH_MAX_PARTIAL 4  /* AuthenticationMethods a,b,c chains */

/* Process-wide; written by auth_setup() before any thread exists. */
static struct {
	char *home_dir;
	GMutex lock;            /* guards the stdin password */
	gboolean have_stdin_password;
	char stdin_password[AUTH_SECRET_MAX];
} auth_state;

typedef enum {
	AUTH_SUCCESS, AUTH_PARTIAL, AUTH_DENIED, AUTH_NOT_APPLICABLE, AUTH_FAILED
} AuthOutcome;

typedef struct {
	ssh_session session;
	const HopSpec *spec;
	const char *label;
	char *position;        /* "hop 2/3", for prompts */
	GString *tried;        /* human list of what was offered */
	char *blocked;         /* first reason a secret could not be asked */
	char *method;          /* what worked */
} AuthAttempt;

typedef struct {
	unsigned required;     /* SSH_AUTH_METHOD_* the server must allow */
	AuthOutcome (*run)(AuthAttempt *attempt);
} AuthMethod;

static void auth_wipe(void *buf, size_t len)
{
	explicit_bzero(buf, len);
}

static G_GNUC_PRINTF(2, 3) void auth_note_tried(AuthAttempt *attempt, const char *format, ...)
{
	va_list ap;
	if (attempt->tried->len > 0)
		g_string_append(attempt->tried, ", ");
	va_start(ap, format);
	g_string_append_vprintf(attempt->tried, format, ap);
	va_end(ap);
}

static void auth_note_blocked(AuthAttempt *attempt, const char *why)
{
	if (attempt->blocked == NULL)
		attempt->blocked = g_strdup(why);
}

static AuthOutcome auth_outcome(int rc)
{
	switch (rc) {
	case SSH_AUTH_SUCCESS:
		return AUTH_SUCCESS;
	case SSH_AUTH_PARTIAL:
		return AUTH_PARTIAL;
	case SSH_AUTH_DENIED:
		return AUTH_DENIED;
	default:
		return AUTH_FAILED;
	}
}

/* ---- where secrets come from ---- */

/* Reads one line from fd into buf (NUL-terminated, newline dropped,
 * overlong input truncated). FALSE on EOF before anything, or error. */
static gboolean auth_read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	gboolean any = FALSE;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		any = TRUE;
		if (c == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = c;
		c = 0;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return any;
}

/* Asks through chain/prompt (the terminal, SSH_ASKPASS, or the jumpfs
 * command the shared daemon serves); never with BatchMode. The answer is
 * copied into buf, the only copy left once this returns. */
static gboolean auth_ask(AuthAttempt *attempt, const char *prompt, gboolean echo,
				  const char *feedback, char *buf, size_t size)
{
	if (attempt->spec->batch_mode) {
		auth_note_blocked(attempt, "BatchMode=yes: jumpfs asks for no password or passphrase");
		return FALSE;
	}
	g_autoptr(GError) error = NULL;
	PromptQuestion question = {
		.hop_label = attempt->label, .text = prompt, .echo = echo, .secret = !echo,
		.feedback = feedback,
	};
	char *answer = prompt_ask(&question, &error);
	if (answer == NULL) {
		auth_note_blocked(attempt, error->message);
		return FALSE;
	}
	g_strlcpy(buf, answer, size);
	prompt_answer_free(answer);
	return TRUE;
}

/* The -o password_stdin password, once: the first hop that wants a
 * password gets it, and it is wiped here. */
static gboolean auth_take_stdin_password(char *buf, size_t size)
{
	gboolean have;
	g_mutex_lock(&auth_state.lock);
	have = auth_state.have_stdin_password;
	if (have) {
		g_strlcpy(buf, auth_state.stdin_password, size);
		auth_wipe(auth_state.stdin_password, sizeof(auth_state.stdin_password));
		auth_state.have_stdin_password = FALSE;
	}
	g_mutex_unlock(&auth_state.lock);
	return have;
}

gboolean auth_setup(const AuthSetup *setup, GError **error)
{
	g_free(auth_state.home_dir);
	auth_state.home_dir = g_strdup(setup->home_dir);
	prompt_tty_open();
	prompt_set_default_asker(prompt_tty_ask, NULL);
	/* Best effort: keep the password out of swap. */
	mlock(auth_state.stdin_password, sizeof(auth_state.stdin_password));
	if (!setup->password_stdin)
		return TRUE;

	struct termios saved;
	gboolean is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (is_tty) {
		struct termios quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	gboolean any = auth_read_line(STDIN_FILENO, auth_state.stdin_password,
				      sizeof(auth_state.stdin_password));
	if (is_tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	if (!any || auth_state.stdin_password[0] == '\0') {
		auth_wipe(auth_state.stdin_password, sizeof(auth_state.stdin_password));
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "-o password_stdin: no password on standard input");
		return FALSE;
	}
	auth_state.have_stdin_password = TRUE;
	return TRUE;
}

void auth_detach_tty(void)
{
	prompt_tty_detach();
}

void auth_cleanup(void)
{
	auth_detach_tty();
	g_mutex_lock(&auth_state.lock);
	auth_wipe(auth_state.stdin_password, sizeof(auth_state.stdin_password));
	auth_state.have_stdin_password = FALSE;
	g_clear_pointer(&auth_state.home_dir, g_free);
	g_mutex_unlock(&auth_state.lock);
}

/* ---- the methods ---- */

/* The agent signs; nothing is forwarded. With IdentitiesOnly, OpenSSH
 * offers agent keys only when they match an IdentityFile; jumpfs keeps
 * it simpler and does not ask the agent at all. */
static AuthOutcome auth_try_agent(AuthAttempt *attempt)
{
	if (attempt->spec->identities_only || g_getenv("SSH_AUTH_SOCK") == NULL)
		return AUTH_NOT_APPLICABLE;
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
static GPtrArray *auth_key_files(const HopSpec *spec)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	if (spec->identity_files->len > 0) {
		for (guint i = 0; i < spec->identity_files->len; i++)
			g_ptr_array_add(files, g_strdup(g_ptr_array_index(spec->identity_files, i)));
		return files;
	}
	const char *home = auth_state.home_dir ? auth_state.home_dir : g_get_home_dir();
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
 * AUTH_PROMPT_TRIES times; an empty answer skips the key, as in ssh). */
static ssh_key auth_unlock_key(AuthAttempt *attempt, const char *path)
{
	g_autofree char *prompt = g_strdup_printf("Enter passphrase for key '%s' (%s, %s@%s): ",
						  path, attempt->position,
						  attempt->spec->user, attempt->spec->hostname);
	char passphrase[AUTH_SECRET_MAX];
	const char *feedback = NULL;
	for (int i = 0; i < AUTH_PROMPT_TRIES; i++) {
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
		auth_wipe(passphrase, sizeof(passphrase));
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
	g_autoptr(GPtrArray) files = auth_key_files(attempt->spec);
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

/* A password-like secret: the stdin password if still unused, else ask. */
static gboolean auth_get_password(AuthAttempt *attempt, const char *prompt,
				  const char *feedback, gboolean *from_stdin, char *buf, size_t size)
{
	*from_stdin = auth_take_stdin_password(buf, size);
	if (*from_stdin) {
		g_debug("%s: using the password from stdin", attempt->label);
		return TRUE;
	}
	return auth_ask(attempt, prompt, FALSE, feedback, buf, size);
}

/* Keyboard-interactive: the server's prompts (PAM's "Password: ", one-time
 * codes, ...), each shown with the hop it comes from. */
static int auth_kbdint_round(AuthAttempt *attempt, const char **feedback, gboolean *from_stdin,
			     gboolean *unanswered)
{
	ssh_session session = attempt->session;
	int n = ssh_userauth_kbdint_getnprompts(session);
	const char *instruction = ssh_userauth_kbdint_getinstruction(session);
	if (instruction != NULL && *instruction != '\0')
		g_debug("%s: keyboard-interactive says: %s", attempt->label, instruction);
	for (int i = 0; i < n; i++) {
		char echo = 0;
		const char *text = ssh_userauth_kbdint_getprompt(session, (unsigned)i, &echo);
		g_autofree char *shown = prompt_escape(text ? text : "", FALSE);
		g_autofree char *prompt = g_strdup_printf("(%s@%s, %s) %s", attempt->spec->user,
							  attempt->spec->hostname,
							  attempt->position, shown);
		char answer[AUTH_SECRET_MAX];
		gboolean stdin_used = FALSE;
		gboolean ok = echo ? auth_ask(attempt, prompt, TRUE, *feedback, answer,
						       sizeof(answer))
				   : auth_get_password(attempt, prompt, *feedback, &stdin_used,
						       answer, sizeof(answer));
		*feedback = NULL;
		*from_stdin = *from_stdin || stdin_used;
		if (ok)
			ssh_userauth_kbdint_setanswer(session, (unsigned)i, answer);
		auth_wipe(answer, sizeof(answer));
		if (!ok) {
			*unanswered = TRUE;
			return SSH_AUTH_DENIED;
		}
	}
	return ssh_userauth_kbdint(session, NULL, NULL);
}

static AuthOutcome auth_try_kbdint(AuthAttempt *attempt)
{
	if (!attempt->spec->kbdint_auth)
		return AUTH_NOT_APPLICABLE;
	g_debug("%s: trying keyboard-interactive", attempt->label);
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	const char *feedback = NULL;
	for (int tries = 0; tries < AUTH_PROMPT_TRIES; tries++) {
		gboolean from_stdin = FALSE, unanswered = FALSE;
		int rc = ssh_userauth_kbdint(attempt->session, NULL, NULL);
		for (int rounds = 0; rc == SSH_AUTH_INFO && rounds < 16; rounds++)
			rc = auth_kbdint_round(attempt, &feedback, &from_stdin, &unanswered);
		if (rc == SSH_AUTH_INFO)
			rc = SSH_AUTH_DENIED;
		outcome = auth_outcome(rc);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL) {
			attempt->method = g_strdup("keyboard-interactive");
			return outcome;
		}
		if (outcome == AUTH_FAILED)
			return outcome;
		if (unanswered) {
			auth_note_tried(attempt, "keyboard-interactive (not answered)");
			return AUTH_DENIED;
		}
		auth_note_tried(attempt, "keyboard-interactive%s (rejected)",
				from_stdin ? " with the password from stdin" : "");
		g_debug("%s: keyboard-interactive answers rejected for %s", attempt->label,
			attempt->spec->user);
		feedback = "Permission denied, please try again.";
	}
	return outcome;
}

static AuthOutcome auth_try_password(AuthAttempt *attempt)
{
	if (!attempt->spec->password_auth)
		return AUTH_NOT_APPLICABLE;
	g_debug("%s: trying password", attempt->label);
	g_autofree char *prompt = g_strdup_printf("%s@%s's password (%s): ", attempt->spec->user,
						  attempt->spec->hostname, attempt->position);
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	const char *feedback = NULL;
	for (int tries = 0; tries < AUTH_PROMPT_TRIES; tries++) {
		char password[AUTH_SECRET_MAX];
		gboolean from_stdin = FALSE;
		if (!auth_get_password(attempt, prompt, feedback, &from_stdin, password,
				       sizeof(password))) {
			if (outcome == AUTH_NOT_APPLICABLE)
				auth_note_tried(attempt, "password (not asked)");
			return outcome == AUTH_NOT_APPLICABLE ? AUTH_DENIED : outcome;
		}
		int rc = ssh_userauth_password(attempt->session, NULL, password);
		auth_wipe(password, sizeof(password));
		outcome = auth_outcome(rc);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL) {
			attempt->method = g_strdup(from_stdin ? "password (from stdin)" : "password");
			return outcome;
		}
		auth_note_tried(attempt, "password%s (rejected)", from_stdin ? " from stdin" : "");
		if (outcome == AUTH_FAILED)
			return outcome;
		g_debug("%s: wrong password for %s", attempt->label, attempt->spec->user);
		feedback = "Permission denied, please try again.";
	}
	return outcome;
}

static const AuthMethod auth_methods[] = {
	{ SSH_AUTH_METHOD_PUBLICKEY, auth_try_agent },
	{ SSH_AUTH_METHOD_PUBLICKEY, auth_try_key_files },
	{ SSH_AUTH_METHOD_INTERACTIVE, auth_try_kbdint },
	{ SSH_AUTH_METHOD_PASSWORD, auth_try_password },
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
	if (s->len == 0)
		g_string_append(s, "nothing jumpfs knows");
	return g_string_free(s, FALSE);
}

/* "hop 2/3 (user2@host:2222)" -> "hop 2/3" */
static char *auth_position(const char *label)
{
	const char *paren = strstr(label, " (");
	return paren ? g_strndup(label, (gsize)(paren - label)) : g_strdup(label);
}

/* Runs the table against what the server allows; after a partial success
 * (AuthenticationMethods a,b) the server's new list decides again. */
static AuthOutcome auth_run_methods(AuthAttempt *attempt, int *allowed)
{
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	for (int round = 0; round <= AUTH_MAX_PARTIAL; round++) {
		g_autofree char *text = auth_describe_allowed(*allowed);
		g_debug("%s: the server accepts %s", attempt->label, text);
		outcome = AUTH_NOT_APPLICABLE;
		for (gsize i = 0; i < G_N_ELEMENTS(auth_methods); i++) {
			if (!(*allowed & auth_methods[i].required))
				continue;
			if (auth_methods[i].required == SSH_AUTH_METHOD_PUBLICKEY &&
			    !attempt->spec->pubkey_auth)
				continue;
			outcome = auth_methods[i].run(attempt);
			if (outcome != AUTH_DENIED && outcome != AUTH_NOT_APPLICABLE)
				break;
		}
		if (outcome != AUTH_PARTIAL)
			return outcome;
		g_debug("%s: %s accepted, the server wants more", attempt->label, attempt->method);
		auth_note_tried(attempt, "%s (partial success)", attempt->method);
		g_clear_pointer(&attempt->method, g_free);
		*allowed = ssh_userauth_list(attempt->session, NULL);
	}
	return outcome == AUTH_PARTIAL ? AUTH_DENIED : outcome;
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
		.position = auth_position(label), .tried = g_string_new(NULL),
	};
	AuthOutcome outcome = auth_run_methods(&attempt, &allowed);

	gboolean ok = outcome == AUTH_SUCCESS;
	if (ok) {
		*method = g_steal_pointer(&attempt.method);
	} else {
		g_autofree char *allowed_text = auth_describe_allowed(allowed);
		const char *why = outcome == AUTH_FAILED ? ssh_get_error(session) : attempt.blocked;
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH,
			    "%s: authentication failed for user '%s' (tried: %s; "
			    "the server accepts: %s)%s%s",
			    label, spec->user,
			    attempt.tried->len ? attempt.tried->str : "nothing usable",
			    allowed_text, why ? ": " : "", why ? why : "");
		g_free(attempt.method);
	}
	g_string_free(attempt.tried, TRUE);
	g_free(attempt.blocked);
	g_free(attempt.position);
	return ok;
}
