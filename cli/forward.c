/* Forwarded questions: the frames are CONTROL_QUESTION (hop label, text,
 * echo "0"/"1", secret "0"/"1", feedback or ""), answered by CONTROL_ANSWER (the answer) or
 * CONTROL_DECLINE (error code, message). */
#include "cli/forward.h"

#include <stdlib.h>
#include <string.h>

#include "chain/errors.h"

char *forward_ask(const PromptQuestion *question, gpointer user_data, GError **error)
{
	const ForwardTarget *target = user_data;
	const char *strings[] = {
		question->hop_label, question->text,
		question->echo ? "1" : "0", question->secret ? "1" : "0",
		question->feedback ? question->feedback : "",
	};
	GError *local_error = NULL;
	ControlMessage *reply = NULL;
	if (control_send(target->client_fd, CONTROL_QUESTION, strings, 5, NULL, 0))
		reply = control_recv(target->client_fd, -1, target->cancel_fd,
				     &local_error);
	if (reply == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "%s: nobody to ask: the jumpfs command that asked for this "
			    "mount went away%s%s", question->hop_label,
			    local_error ? ": " : "", local_error ? local_error->message : "");
		g_clear_error(&local_error);
		return NULL;
	}
	char *answer = NULL;
	if (reply->type == CONTROL_ANSWER && reply->strings->len == 1) {
		answer = g_strdup(g_ptr_array_index(reply->strings, 0));
	} else if (reply->type == CONTROL_DECLINE && reply->strings->len == 2) {
		int code = atoi(g_ptr_array_index(reply->strings, 0));
		if (code != JUMPFS_ERROR_NO_PROMPT)
			code = JUMPFS_ERROR_AUTH;
		g_set_error(error, JUMPFS_ERROR, code, "%s",
			    (char *)g_ptr_array_index(reply->strings, 1));
	} else {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "%s: the jumpfs command gave no answer", question->hop_label);
	}
	control_message_free(reply); /* wipes the client's copy of the answer */
	return answer;
}

/* One forwarded question, asked here as if this process had asked it. */
gboolean forward_answer(int fd, const ControlMessage *question)
{
	if (question->strings->len < 5)
		return FALSE;
	const char *const *s = (const char *const *)question->strings->pdata;
	/* The daemon relays server text: escape again (idempotent) so that
	 * nothing it passes on can drive this terminal. */
	g_autofree char *label = prompt_escape(s[0], FALSE);
	g_autofree char *text = prompt_escape(s[1], TRUE);
	g_autofree char *feedback = *s[4] ? prompt_escape(s[4], FALSE) : NULL;
	PromptQuestion q = {
		.hop_label = label,
		.text = text,
		.echo = strcmp(s[2], "1") == 0,
		.secret = strcmp(s[3], "1") == 0,
		.feedback = feedback,
	};
	GError *error = NULL;
	char *answer = prompt_ask(&q, &error);
	gboolean sent;
	if (answer != NULL) {
		const char *strings[] = { answer };
		sent = control_send(fd, CONTROL_ANSWER, strings, 1, NULL, 0);
		prompt_answer_free(answer);
	} else {
		g_autofree char *code = g_strdup_printf("%d", error->code);
		const char *strings[] = { code, error->message };
		sent = control_send(fd, CONTROL_DECLINE, strings, 2, NULL, 0);
		g_error_free(error);
	}
	return sent;
}

