/* What every method of chain/auth needs: notes for the error message,
 * asking the person, and the -o password_stdin secret. See auth-private.h. */
#include "chain/auth-private.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "chain/errors.h"
#include "chain/prompt.h"

/* The stdin password: written by auth_store_stdin_password() before any
 * thread exists, taken once by the hop it is for. */
static struct {
	GMutex lock;
	gboolean have;
	char password[AUTH_SECRET_MAX];
} auth_stdin;

void auth_note_tried(AuthAttempt *attempt, const char *format, ...)
{
	va_list ap;
	if (attempt->tried->len > 0)
		g_string_append(attempt->tried, ", ");
	va_start(ap, format);
	g_string_append_vprintf(attempt->tried, format, ap);
	va_end(ap);
}

void auth_note_blocked(AuthAttempt *attempt, const char *why)
{
	if (attempt->blocked == NULL)
		attempt->blocked = g_strdup(why);
}

AuthOutcome auth_outcome(int rc)
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

gboolean auth_ask(AuthAttempt *attempt, const char *prompt, gboolean echo,
		  const char *feedback, char *buf, size_t size)
{
	if (attempt->spec->batch_mode) {
		auth_note_blocked(attempt, "BatchMode=yes: jumpfs asks for no password or passphrase");
		attempt->cannot_ask = TRUE;
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
		if (g_error_matches(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT))
			attempt->cannot_ask = TRUE;
		return FALSE;
	}
	g_strlcpy(buf, answer, size);
	prompt_answer_free(answer);
	return TRUE;
}

/* ---- the -o password_stdin secret ---- */

void auth_store_stdin_password(const char *password)
{
	g_mutex_lock(&auth_stdin.lock);
	mlock(auth_stdin.password, sizeof(auth_stdin.password)); /* best effort: not to swap */
	g_strlcpy(auth_stdin.password, password, sizeof(auth_stdin.password));
	auth_stdin.have = TRUE;
	g_mutex_unlock(&auth_stdin.lock);
}

void auth_wipe_stdin_password(void)
{
	g_mutex_lock(&auth_stdin.lock);
	explicit_bzero(auth_stdin.password, sizeof(auth_stdin.password));
	auth_stdin.have = FALSE;
	g_mutex_unlock(&auth_stdin.lock);
}

gboolean auth_has_stdin_password(const AuthAttempt *attempt)
{
	if (!attempt->stdin_password_here)
		return FALSE;
	g_mutex_lock(&auth_stdin.lock);
	gboolean have = auth_stdin.have;
	g_mutex_unlock(&auth_stdin.lock);
	return have;
}

gboolean auth_take_stdin_password(AuthAttempt *attempt, char *buf, size_t size)
{
	if (!attempt->stdin_password_here)
		return FALSE;
	g_mutex_lock(&auth_stdin.lock);
	gboolean have = auth_stdin.have;
	if (have) {
		g_strlcpy(buf, auth_stdin.password, size);
		explicit_bzero(auth_stdin.password, sizeof(auth_stdin.password));
		auth_stdin.have = FALSE;
	}
	g_mutex_unlock(&auth_stdin.lock);
	return have;
}

/* ---- which hop, which prompt ---- */

static gboolean auth_host_matches(const HopSpec *hop, const char *host)
{
	if (g_ascii_strcasecmp(host, hop->hostname) == 0)
		return TRUE;
	return hop->alias != NULL && g_ascii_strcasecmp(host, hop->alias) == 0;
}

gboolean auth_hop_matches(const HopSpec *hop, const char *name)
{
	if (name == NULL || *name == '\0')
		return FALSE;
	if (hop->alias != NULL && strcmp(name, hop->alias) == 0)
		return TRUE;
	const char *at = strrchr(name, '@');
	const char *host = at ? at + 1 : name;
	if (at != NULL && (strncmp(name, hop->user, (size_t)(at - name)) != 0 ||
			   hop->user[at - name] != '\0'))
		return FALSE;
	g_autofree char *host_only = NULL;
	/* host:port, or [host]:port for an IPv6 address */
	const char *colon = strrchr(host, ':');
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return FALSE;
		host_only = g_strndup(host + 1, (gsize)(close - host - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else if (colon != NULL && strchr(host, ':') == colon) {
		host_only = g_strndup(host, (gsize)(colon - host));
	} else {
		host_only = g_strdup(host);
		colon = NULL; /* a bare IPv6 address: no port */
	}
	if (colon != NULL) {
		char *end = NULL;
		long port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end != '\0' || port != hop->port)
			return FALSE;
	}
	return auth_host_matches(hop, host_only);
}

/* word appears in text as a whole word (not inside "typing" for "pin"). */
static gboolean auth_has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word)) {
		gboolean starts = p == text || !g_ascii_isalnum(p[-1]);
		gboolean ends = !g_ascii_isalnum(p[len]);
		if (starts && ends)
			return TRUE;
	}
	return FALSE;
}

gboolean auth_prompt_is_password(const char *prompt, gboolean echo)
{
	/* One-time codes (pam_oath: "One-time password (OATH)"), tokens,
	 * PINs, and the questions of a password change. */
	static const char *const not_the_password[] = {
		"one-time", "one time", "otp", "oath", "token", "verification", "code",
		"passcode", "pin", "new", "retype", "again", "old", "current",
	};
	if (echo || prompt == NULL)
		return FALSE;
	g_autofree char *lower = g_utf8_strdown(prompt, -1);
	if (!auth_has_word(lower, "password"))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(not_the_password); i++) {
		if (auth_has_word(lower, not_the_password[i]))
			return FALSE;
	}
	return TRUE;
}
