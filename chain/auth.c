/* Authentication at one hop as OpenSSH's sshconnect2.c does it: a table of
 * methods (name, function, the HopSpec flag that enables it, whether it
 * asks a person), walked in PreferredAuthentications order, each method
 * run only when the server offers it. After a partial success
 * (AuthenticationMethods a,b) the walk starts over with the server's new
 * list.
 *
 * Each method either succeeds, is denied (try the next), or cannot apply
 * (no agent, no key file, nobody to ask). What was tried is collected for
 * the error message, because "authentication failed" alone sends users
 * guessing which hop and which key. */
#include "chain/auth.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "chain/auth-private.h"
#include "chain/errors.h"
#include "chain/prompt-tty.h"
#include "chain/prompt.h"

#define AUTH_MAX_PARTIAL 4  /* AuthenticationMethods a,b,c chains */

/* Process-wide; written by auth_setup() before any thread exists. */
static struct {
	char *home_dir;
	char *password_hop;     /* -o password_stdin=HOP; NULL = the target */
} auth_state;

/* OpenSSH's Authmethod table, in its order (the default of
 * PreferredAuthentications is this order too). hostbased is missing:
 * libssh 0.10 has no client side for it. */
static const AuthMethod auth_methods[] = {
	{ "gssapi-with-mic", auth_method_gssapi, SSH_AUTH_METHOD_GSSAPI_MIC,
	  offsetof(HopSpec, gssapi_auth), FALSE },
	{ "publickey", auth_method_publickey, SSH_AUTH_METHOD_PUBLICKEY,
	  offsetof(HopSpec, pubkey_auth), FALSE },
	{ "keyboard-interactive", auth_method_kbdint, SSH_AUTH_METHOD_INTERACTIVE,
	  offsetof(HopSpec, kbdint_auth), TRUE },
	{ "password", auth_method_password, SSH_AUTH_METHOD_PASSWORD,
	  offsetof(HopSpec, password_auth), TRUE },
};

const AuthMethod *auth_method_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(auth_methods); i++) {
		if (strcmp(auth_methods[i].name, name) == 0)
			return &auth_methods[i];
	}
	return NULL;
}

/* OpenSSH's authmethod_is_enabled(): the config flag, and BatchMode turns
 * off the methods that ask. jumpfs's one exception: a hop with an unused
 * -o password_stdin password may use it under BatchMode, since nobody is
 * asked for it (the methods themselves still ask nothing). */
static gboolean auth_method_enabled(const AuthMethod *method, const HopSpec *spec,
				    gboolean have_stdin_password)
{
	if (!G_STRUCT_MEMBER(gboolean, spec, method->enabled_offset))
		return FALSE;
	if (method->interactive && spec->batch_mode && !have_stdin_password)
		return FALSE;
	return TRUE;
}

GPtrArray *auth_methods_plan(const HopSpec *spec, int server_allows,
			     gboolean have_stdin_password)
{
	GPtrArray *plan = g_ptr_array_new();
	const char *preferred = spec->preferred_authentications;
	if (preferred == NULL) /* only before config fills it */
		preferred = "gssapi-with-mic,hostbased,publickey,keyboard-interactive,password";
	g_auto(GStrv) names = g_strsplit(preferred, ",", -1);
	for (guint i = 0; names[i] != NULL; i++) {
		const AuthMethod *method = auth_method_lookup(g_strstrip(names[i]));
		if (method == NULL) {
			/* hostbased: OpenSSH's default list has it; libssh has none */
			if (*names[i] != '\0' && strcmp(names[i], "hostbased") != 0)
				g_debug("PreferredAuthentications: jumpfs cannot use '%s'; skipped",
					names[i]);
			continue;
		}
		if (!(server_allows & method->server_bit) ||
		    !auth_method_enabled(method, spec, have_stdin_password))
			continue;
		gboolean seen = FALSE;
		for (guint j = 0; j < plan->len; j++)
			seen = seen || g_ptr_array_index(plan, j) == method;
		if (!seen)
			g_ptr_array_add(plan, (gpointer)method);
	}
	return plan;
}

/* ---- gssapi-with-mic ---- */

/* Without any Kerberos configuration there can be no ticket. Checked
 * here because libssh 0.10.6 leaks its GSSAPI context (about 240 bytes)
 * at every failed try, and Debian's ssh_config turns GSSAPIAuthentication
 * on for Host * on machines that have no Kerberos at all. */
static gboolean auth_kerberos_configured(void)
{
	return g_getenv("KRB5CCNAME") != NULL || g_getenv("KRB5_CONFIG") != NULL ||
	       g_file_test("/etc/krb5.conf", G_FILE_TEST_EXISTS);
}

/* Kerberos: without a ticket libgssapi fails before anything is sent, so
 * a try costs nothing but that leak. Credentials are delegated only to
 * the target, and only with GSSAPIDelegateCredentials yes: a jump host
 * only relays bytes and gets no credential of the user's, as it gets no
 * agent. */
AuthOutcome auth_method_gssapi(AuthAttempt *attempt)
{
	if (!auth_kerberos_configured()) {
		g_debug("%s: skipping gssapi-with-mic: no Kerberos here (no /etc/krb5.conf, "
			"KRB5_CONFIG or KRB5CCNAME)", attempt->label);
		return AUTH_NOT_APPLICABLE;
	}
	int delegate = attempt->spec->gssapi_delegate && attempt->is_target;
	if (attempt->spec->gssapi_delegate && !attempt->is_target)
		g_debug("%s: GSSAPIDelegateCredentials: not to a jump host", attempt->label);
	ssh_options_set(attempt->session, SSH_OPTIONS_GSSAPI_DELEGATE_CREDENTIALS, &delegate);
	g_debug("%s: trying gssapi-with-mic%s", attempt->label,
		delegate ? " (delegating credentials)" : "");
	AuthOutcome outcome = auth_outcome(ssh_userauth_gssapi(attempt->session));
	if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL)
		attempt->method = g_strdup("gssapi-with-mic");
	else if (outcome == AUTH_DENIED)
		auth_note_tried(attempt, "gssapi-with-mic (no Kerberos ticket accepted)");
	return outcome;
}

/* ---- setup ---- */

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

gboolean auth_setup(const AuthSetup *setup, GError **error)
{
	g_free(auth_state.home_dir);
	auth_state.home_dir = g_strdup(setup->home_dir);
	g_free(auth_state.password_hop);
	auth_state.password_hop = g_strdup(setup->password_stdin_hop);
	prompt_tty_open();
	prompt_set_default_asker(prompt_tty_ask, NULL);
	if (!setup->password_stdin)
		return TRUE;

	struct termios saved;
	gboolean is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (is_tty) {
		struct termios quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char password[AUTH_SECRET_MAX];
	gboolean any = auth_read_line(STDIN_FILENO, password, sizeof(password));
	if (is_tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	gboolean ok = any && password[0] != '\0';
	if (ok)
		auth_store_stdin_password(password);
	explicit_bzero(password, sizeof(password));
	if (!ok)
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
			    "-o password_stdin: no password on standard input");
	return ok;
}

gboolean auth_check_chain(const ChainSpec *chain, GError **error)
{
	const char *name = auth_state.password_hop;
	if (name == NULL)
		return TRUE;
	guint matches = 0;
	g_autoptr(GString) hops = g_string_new(NULL);
	for (guint i = 0; i < chain->hops->len; i++) {
		const HopSpec *hop = g_ptr_array_index(chain->hops, i);
		matches += auth_hop_matches(hop, name);
		g_autofree char *key = hop_spec_key(hop);
		g_string_append_printf(hops, "%s%s (%s)", i ? ", " : "", hop->alias, key);
	}
	if (matches == 1)
		return TRUE;
	g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG,
		    "-o password_stdin=%s: %s hop of the chain is %s (the hops: %s); name "
		    "one by its alias or as user@host[:port]", name,
		    matches == 0 ? "no" : "more than one", name, hops->str);
	return FALSE;
}

void auth_detach_tty(void)
{
	prompt_tty_detach();
}

void auth_cleanup(void)
{
	auth_detach_tty();
	auth_wipe_stdin_password();
	g_clear_pointer(&auth_state.home_dir, g_free);
	g_clear_pointer(&auth_state.password_hop, g_free);
}

/* ---- the walk ---- */

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

/* One pass of the table over what the server allows now. */
static AuthOutcome auth_run_plan(AuthAttempt *attempt, int allowed)
{
	g_autofree char *text = auth_describe_allowed(allowed);
	g_debug("%s: the server accepts %s", attempt->label, text);
	g_autoptr(GPtrArray) plan = auth_methods_plan(attempt->spec, allowed,
						      auth_has_stdin_password(attempt));
	if (plan->len == 0 && attempt->spec->batch_mode &&
	    (allowed & (SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE))) {
		auth_note_blocked(attempt, "BatchMode=yes: jumpfs asks for no password or passphrase");
		attempt->cannot_ask = TRUE;
	}
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	for (guint i = 0; i < plan->len; i++) {
		const AuthMethod *method = g_ptr_array_index(plan, i);
		g_debug("%s: next method: %s", attempt->label, method->name);
		outcome = method->run(attempt);
		if (outcome != AUTH_DENIED && outcome != AUTH_NOT_APPLICABLE)
			return outcome;
	}
	return outcome;
}

static AuthOutcome auth_run_methods(AuthAttempt *attempt, int *allowed)
{
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	for (int round = 0; round <= AUTH_MAX_PARTIAL; round++) {
		outcome = auth_run_plan(attempt, *allowed);
		if (outcome != AUTH_PARTIAL)
			return outcome;
		g_debug("%s: %s accepted, the server wants more", attempt->label, attempt->method);
		auth_note_tried(attempt, "%s (partial success)", attempt->method);
		g_clear_pointer(&attempt->method, g_free);
		*allowed = ssh_userauth_list(attempt->session, NULL);
	}
	return outcome == AUTH_PARTIAL ? AUTH_DENIED : outcome;
}

gboolean auth_authenticate(ssh_session session, const HopSpec *spec, const char *label,
			   gboolean is_target, char **method, GError **error)
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
		.position = auth_position(label), .is_target = is_target,
		.stdin_password_here = auth_state.password_hop != NULL
				       ? auth_hop_matches(spec, auth_state.password_hop)
				       : is_target,
		.tried = g_string_new(NULL),
		.home_dir = g_strdup(auth_state.home_dir ? auth_state.home_dir
							 : g_get_home_dir()),
	};
	AuthOutcome outcome = auth_run_methods(&attempt, &allowed);
	auth_pubkey_finish(&attempt);

	gboolean ok = outcome == AUTH_SUCCESS;
	if (ok) {
		*method = g_steal_pointer(&attempt.method);
	} else {
		g_autofree char *allowed_text = auth_describe_allowed(allowed);
		const char *why = outcome == AUTH_FAILED ? ssh_get_error(session) : attempt.blocked;
		g_set_error(error, JUMPFS_ERROR,
			    attempt.cannot_ask && outcome != AUTH_FAILED
			    ? JUMPFS_ERROR_AUTH_NO_PROMPT : JUMPFS_ERROR_AUTH,
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
	g_free(attempt.home_dir);
	return ok;
}
