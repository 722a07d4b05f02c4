/* Authentication methods as a table, tried in OpenSSH's order (publickey,
 * keyboard-interactive, password).
 *
 * Each method either succeeds, is denied (try the next), or cannot apply
 * (no agent, no key file, nobody to ask). What was tried is collected for
 * the error message, because "authentication failed" alone sends users
 * guessing which hop and which key. */
#include "chain/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "chain/errors.h"

extern char **environ;

#define AUTH_SECRET_MAX 1024
#define AUTH_PROMPT_TRIES 3 /* OpenSSH's NumberOfPasswordPrompts */
#define AUTH_MAX_PARTIAL 4  /* AuthenticationMethods a,b,c chains */

/* Process-wide; written by auth_setup() before any thread exists. */
static struct {
	char *home_dir;
	int tty_fd;             /* /dev/tty, opened before daemonizing; -1 */
	GMutex lock;            /* one prompt at a time; guards the rest */
	gboolean have_stdin_password;
	char stdin_password[AUTH_SECRET_MAX];
} auth_state = { .tty_fd = -1 };

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

/* Terminal state while a prompt has echo off; a signal must put it back
 * (else the user's shell is left without echo). */
static struct termios auth_tty_saved;
static volatile sig_atomic_t auth_tty_signal;

static void auth_tty_on_signal(int sig)
{
	auth_tty_signal = sig;
}

static const int auth_tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* The prompt on the terminal. Polls, so that a signal caught by another
 * thread, or the death of the process that waits for us (the daemon's
 * parent, whose Ctrl-C the user pressed), ends the prompt. */
static gboolean auth_tty_read(const char *prompt, gboolean echo, char *buf, size_t size)
{
	int fd = auth_state.tty_fd;
	struct sigaction handler = { .sa_handler = auth_tty_on_signal }, old[G_N_ELEMENTS(auth_tty_signals)];
	gboolean restore = !echo && tcgetattr(fd, &auth_tty_saved) == 0;
	pid_t parent = getppid();
	size_t len = 0;
	gboolean done = FALSE, ok = FALSE;

	auth_tty_signal = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(auth_tty_signals); i++)
		sigaction(auth_tty_signals[i], &handler, &old[i]);
	if (restore) {
		struct termios quiet = auth_tty_saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nobody will read the answer either: the read below fails */
	}
	while (!done && auth_tty_signal == 0 && getppid() == parent) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 250);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			break;
		if (c == '\n' || c == '\r') {
			done = ok = TRUE;
		} else if (len + 1 < size) {
			buf[len++] = c;
		}
		c = 0;
	}
	buf[len] = '\0';
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &auth_tty_saved);
		if (write(fd, "\n", 1) < 0) {
			/* cosmetic only */
		}
	}
	for (gsize i = 0; i < G_N_ELEMENTS(auth_tty_signals); i++)
		sigaction(auth_tty_signals[i], &old[i], NULL);
	if (auth_tty_signal != 0)
		raise(auth_tty_signal); /* now with the normal disposition */
	if (!ok)
		auth_wipe(buf, size);
	return ok;
}

/* As OpenSSH: $SSH_ASKPASS PROMPT, the answer is its first line of output;
 * a non-zero exit means the user cancelled. posix_spawn, because other
 * threads (earlier hops' pumps) are running. */
static gboolean auth_askpass(const char *program, const char *prompt, char *buf, size_t size)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return FALSE;
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	char *argv[] = { (char *)program, (char *)prompt, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		g_warning("cannot run SSH_ASKPASS program %s: %s", program, g_strerror(rc));
		return FALSE;
	}
	gboolean any = auth_read_line(fds[0], buf, size);
	char drain[256];
	while (read(fds[0], drain, sizeof(drain)) > 0)
		; /* let it finish writing */
	auth_wipe(drain, sizeof(drain));
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!any || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		auth_wipe(buf, size);
		return FALSE;
	}
	return TRUE;
}

/* Asks for a secret as OpenSSH would: never with BatchMode; the terminal
 * if there is one (unless SSH_ASKPASS_REQUIRE=force|prefer), else
 * SSH_ASKPASS (unless SSH_ASKPASS_REQUIRE=never). Unlike OpenSSH, DISPLAY
 * is not required: automount and fstab mounts have none. */
static gboolean auth_ask(AuthAttempt *attempt, const char *prompt, gboolean echo,
			 char *buf, size_t size)
{
	if (attempt->spec->batch_mode) {
		auth_note_blocked(attempt, "BatchMode=yes: jumpfs asks for no password or passphrase");
		return FALSE;
	}
	const char *askpass = g_getenv("SSH_ASKPASS");
	const char *require = g_getenv("SSH_ASKPASS_REQUIRE");
	gboolean askpass_ok = askpass != NULL && *askpass != '\0' &&
			      g_strcmp0(require, "never") != 0;
	gboolean askpass_first = askpass_ok && (g_strcmp0(require, "force") == 0 ||
						g_strcmp0(require, "prefer") == 0);
	gboolean ok = FALSE;

	g_mutex_lock(&auth_state.lock);
	/* A foreground jumpfs (-f) sent to the background later would stop
	 * on SIGTTIN; the daemon's child has no controlling terminal (-1). */
	pid_t owner = auth_state.tty_fd >= 0 ? tcgetpgrp(auth_state.tty_fd) : -1;
	gboolean tty_ok = auth_state.tty_fd >= 0 && (owner < 0 || owner == getpgrp());
	if (tty_ok && !askpass_first) {
		ok = auth_tty_read(prompt, echo, buf, size);
		if (!ok)
			auth_note_blocked(attempt, "the prompt on the terminal was cancelled");
	} else if (askpass_ok) {
		ok = auth_askpass(askpass, prompt, buf, size);
		if (!ok)
			auth_note_blocked(attempt, "SSH_ASKPASS gave no answer (cancelled or failed)");
	} else {
		auth_note_blocked(attempt, "no terminal to ask on and SSH_ASKPASS is not set "
				  "(use ssh-agent, -o password_stdin or SSH_ASKPASS)");
	}
	g_mutex_unlock(&auth_state.lock);
	return ok;
}

/* Feedback between two prompts on the terminal, as ssh's "Permission
 * denied, please try again."; goes nowhere when there is no terminal. */
static void auth_tty_say(const char *text)
{
	g_mutex_lock(&auth_state.lock);
	if (auth_state.tty_fd >= 0 && write(auth_state.tty_fd, text, strlen(text)) < 0) {
		/* nothing to do: the next prompt fails the same way */
	}
	g_mutex_unlock(&auth_state.lock);
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
	/* Opened now: the daemon's child leaves the terminal's session, after
	 * which it could not open /dev/tty any more. */
	if (auth_state.tty_fd < 0)
		auth_state.tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	/* Started in the background (`jumpfs ... &`): the terminal belongs to
	 * the shell, whose input a prompt would steal. */
	if (auth_state.tty_fd >= 0 && tcgetpgrp(auth_state.tty_fd) != getpgrp()) {
		close(auth_state.tty_fd);
		auth_state.tty_fd = -1;
	}
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
	g_mutex_lock(&auth_state.lock);
	if (auth_state.tty_fd >= 0)
		close(auth_state.tty_fd);
	auth_state.tty_fd = -1;
	g_mutex_unlock(&auth_state.lock);
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
	for (int i = 0; i < AUTH_PROMPT_TRIES; i++) {
		if (!auth_ask(attempt, prompt, FALSE, passphrase, sizeof(passphrase))) {
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
		auth_tty_say("Bad passphrase, try again.\n");
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
static gboolean auth_get_password(AuthAttempt *attempt, const char *prompt, gboolean *from_stdin,
				  char *buf, size_t size)
{
	*from_stdin = auth_take_stdin_password(buf, size);
	if (*from_stdin) {
		g_debug("%s: using the password from stdin", attempt->label);
		return TRUE;
	}
	return auth_ask(attempt, prompt, FALSE, buf, size);
}

/* Keyboard-interactive: the server's prompts (PAM's "Password: ", one-time
 * codes, ...), each shown with the hop it comes from. */
static int auth_kbdint_round(AuthAttempt *attempt, gboolean *from_stdin, gboolean *unanswered)
{
	ssh_session session = attempt->session;
	int n = ssh_userauth_kbdint_getnprompts(session);
	const char *instruction = ssh_userauth_kbdint_getinstruction(session);
	if (instruction != NULL && *instruction != '\0')
		g_debug("%s: keyboard-interactive says: %s", attempt->label, instruction);
	for (int i = 0; i < n; i++) {
		char echo = 0;
		const char *text = ssh_userauth_kbdint_getprompt(session, (unsigned)i, &echo);
		g_autofree char *prompt = g_strdup_printf("(%s@%s, %s) %s", attempt->spec->user,
							  attempt->spec->hostname,
							  attempt->position, text ? text : "");
		char answer[AUTH_SECRET_MAX];
		gboolean stdin_used = FALSE;
		gboolean ok = echo ? auth_ask(attempt, prompt, TRUE, answer, sizeof(answer))
				   : auth_get_password(attempt, prompt, &stdin_used, answer,
						       sizeof(answer));
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
	for (int tries = 0; tries < AUTH_PROMPT_TRIES; tries++) {
		gboolean from_stdin = FALSE, unanswered = FALSE;
		int rc = ssh_userauth_kbdint(attempt->session, NULL, NULL);
		for (int rounds = 0; rc == SSH_AUTH_INFO && rounds < 16; rounds++)
			rc = auth_kbdint_round(attempt, &from_stdin, &unanswered);
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
		auth_tty_say("Permission denied, please try again.\n");
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
	for (int tries = 0; tries < AUTH_PROMPT_TRIES; tries++) {
		char password[AUTH_SECRET_MAX];
		gboolean from_stdin = FALSE;
		if (!auth_get_password(attempt, prompt, &from_stdin, password, sizeof(password))) {
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
		auth_tty_say("Permission denied, please try again.\n");
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
