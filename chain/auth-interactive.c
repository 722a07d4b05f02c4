/* The methods whose secret a person types: keyboard-interactive (PAM's
 * "Password: ", one-time codes, ...) and password, each at most
 * NumberOfPasswordPrompts times per hop, as OpenSSH counts them.
 *
 * Everything a server says reaches the person escaped (prompt_escape) and
 * with every line prefixed by the hop it comes from, so that a hostile
 * hop can neither repaint the screen nor pose as another hop. */
#include "chain/auth-private.h"

#include <string.h>

#include "chain/prompt.h"

#define AUTH_KBDINT_MAX_ROUNDS 16 /* a server that never stops asking */
#define AUTH_TRY_AGAIN "Permission denied, please try again."

/* "(user2@jumphost2, hop 2/3)": what every line from this hop starts with */
static char *auth_hop_tag(const AuthAttempt *attempt)
{
	return g_strdup_printf("(%s@%s, %s)", attempt->spec->user, attempt->spec->hostname,
			       attempt->position);
}

/* Appends each line of a server's text, escaped and tagged, to out. */
void auth_append_server_lines(GString *out, const char *tag, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	g_autofree char *escaped = prompt_escape(text, TRUE);
	g_auto(GStrv) lines = g_strsplit(escaped, "\n", -1);
	guint n = g_strv_length(lines);
	while (n > 0 && lines[n - 1][0] == '\0')
		n--; /* "text\n": no empty tagged line after it */
	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "%s%s %s", out->len ? "\n" : "", tag, lines[i]);
}

/* The whole question for one prompt: what the server said before it
 * (name, instruction, PAM messages; carried over from rounds without
 * prompts), then the prompt line itself, last, so the cursor always sits
 * after this hop's own tag. */
char *auth_kbdint_question(const char *tag, const GString *pending, const char *prompt)
{
	GString *text = g_string_new(pending->str);
	const char *last_newline = prompt ? strrchr(prompt, '\n') : NULL;
	if (last_newline != NULL) {
		g_autofree char *before = g_strndup(prompt, (gsize)(last_newline - prompt));
		auth_append_server_lines(text, tag, before);
		prompt = last_newline + 1;
	}
	g_autofree char *line = prompt_escape(prompt ? prompt : "", FALSE);
	g_string_append_printf(text, "%s%s %s", text->len ? "\n" : "", tag, line);
	return g_string_free(text, FALSE);
}

typedef struct {
	const char *feedback;    /* for the next question, then NULL */
	gboolean from_stdin;     /* an answer was the stdin password */
	gboolean unanswered;     /* nobody could be asked */
	GString *pending;        /* server text not shown yet */
} AuthKbdintRound;

/* Answers one INFO_REQUEST; returns libssh's next status. */
static int auth_kbdint_answer(AuthAttempt *attempt, const char *tag, AuthKbdintRound *round)
{
	ssh_session session = attempt->session;
	attempt->kbdint_info_seen = TRUE;
	auth_append_server_lines(round->pending, tag, ssh_userauth_kbdint_getname(session));
	auth_append_server_lines(round->pending, tag, ssh_userauth_kbdint_getinstruction(session));
	int n = ssh_userauth_kbdint_getnprompts(session);
	for (int i = 0; i < n; i++) {
		char echo = 0;
		const char *prompt = ssh_userauth_kbdint_getprompt(session, (unsigned)i, &echo);
		char answer[AUTH_SECRET_MAX];
		gboolean ok = FALSE;
		if (auth_prompt_is_password(prompt, echo) &&
		    auth_take_stdin_password(attempt, answer, sizeof(answer))) {
			g_debug("%s: answering the password prompt with the password from stdin",
				attempt->label);
			round->from_stdin = ok = TRUE;
		} else {
			g_autofree char *question = auth_kbdint_question(tag, round->pending, prompt);
			ok = auth_ask(attempt, question, echo != 0, round->feedback, answer,
				      sizeof(answer));
			round->feedback = NULL;
		}
		g_string_truncate(round->pending, 0);
		if (ok)
			ssh_userauth_kbdint_setanswer(session, (unsigned)i, answer);
		explicit_bzero(answer, sizeof(answer));
		if (!ok) {
			round->unanswered = TRUE;
			return SSH_AUTH_DENIED;
		}
	}
	return ssh_userauth_kbdint(session, NULL, NULL);
}

AuthOutcome auth_method_kbdint(AuthAttempt *attempt)
{
	g_autofree char *tag = auth_hop_tag(attempt);
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	AuthKbdintRound round = { .pending = g_string_new(NULL) };

	while (attempt->kbdint_attempts < attempt->spec->number_of_password_prompts) {
		/* OpenSSH: a server that sent no INFO_REQUEST the first time
		 * will not send one the second time either. */
		if (attempt->kbdint_attempts > 0 && !attempt->kbdint_info_seen)
			break;
		attempt->kbdint_attempts++;
		round.from_stdin = round.unanswered = FALSE;
		g_debug("%s: trying keyboard-interactive (attempt %d of %d)", attempt->label,
			attempt->kbdint_attempts, attempt->spec->number_of_password_prompts);
		int rc = ssh_userauth_kbdint(attempt->session, NULL, NULL);
		for (int n = 0; rc == SSH_AUTH_INFO && n < AUTH_KBDINT_MAX_ROUNDS; n++)
			rc = auth_kbdint_answer(attempt, tag, &round);
		if (rc == SSH_AUTH_INFO)
			rc = SSH_AUTH_DENIED;
		outcome = auth_outcome(rc);
		if (round.pending->len > 0)
			g_debug("%s: the server's last words were never shown (no prompt followed)",
				attempt->label);
		g_string_truncate(round.pending, 0);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL) {
			attempt->method = g_strdup(round.from_stdin
						   ? "keyboard-interactive (password from stdin)"
						   : "keyboard-interactive");
			break;
		}
		if (outcome == AUTH_FAILED)
			break;
		if (round.unanswered) {
			auth_note_tried(attempt, "keyboard-interactive (not answered)");
			outcome = AUTH_DENIED;
			break;
		}
		if (!attempt->kbdint_info_seen)
			continue; /* nothing was asked: no "try again" */
		auth_note_tried(attempt, "keyboard-interactive%s (rejected)",
				round.from_stdin ? " with the password from stdin" : "");
		g_debug("%s: keyboard-interactive answers rejected for %s", attempt->label,
			attempt->spec->user);
		round.feedback = AUTH_TRY_AGAIN;
	}
	g_string_free(round.pending, TRUE);
	return outcome;
}

AuthOutcome auth_method_password(AuthAttempt *attempt)
{
	g_autofree char *prompt = g_strdup_printf("%s@%s's password (%s): ", attempt->spec->user,
						  attempt->spec->hostname, attempt->position);
	AuthOutcome outcome = AUTH_NOT_APPLICABLE;
	const char *feedback = NULL;
	while (attempt->password_attempts < attempt->spec->number_of_password_prompts) {
		char password[AUTH_SECRET_MAX];
		gboolean from_stdin = auth_take_stdin_password(attempt, password, sizeof(password));
		if (from_stdin) {
			g_debug("%s: using the password from stdin", attempt->label);
		} else if (!auth_ask(attempt, prompt, FALSE, feedback, password, sizeof(password))) {
			if (outcome == AUTH_NOT_APPLICABLE)
				auth_note_tried(attempt, "password (not asked)");
			return AUTH_DENIED;
		}
		attempt->password_attempts++;
		g_debug("%s: trying password (attempt %d of %d)", attempt->label,
			attempt->password_attempts, attempt->spec->number_of_password_prompts);
		int rc = ssh_userauth_password(attempt->session, NULL, password);
		explicit_bzero(password, sizeof(password));
		outcome = auth_outcome(rc);
		if (outcome == AUTH_SUCCESS || outcome == AUTH_PARTIAL) {
			attempt->method = g_strdup(from_stdin ? "password (from stdin)" : "password");
			return outcome;
		}
		auth_note_tried(attempt, "password%s (rejected)", from_stdin ? " from stdin" : "");
		if (outcome == AUTH_FAILED)
			return outcome;
		g_debug("%s: wrong password for %s", attempt->label, attempt->spec->user);
		feedback = AUTH_TRY_AGAIN;
	}
	return outcome;
}
