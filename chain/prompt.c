/* Who is asked, and one question at a time. See prompt.h. */
#include "chain/prompt.h"

#include <string.h>

#include "chain/errors.h"

typedef struct {
	PromptAsker asker;
	gpointer user_data;
} PromptTarget;

static GMutex prompt_lock;           /* protects prompt_default */
static PromptTarget prompt_default;
static GMutex prompt_one_at_a_time;  /* held while a question is out */
static GPrivate prompt_thread_target = G_PRIVATE_INIT(g_free);

void prompt_set_default_asker(PromptAsker asker, gpointer user_data)
{
	g_mutex_lock(&prompt_lock);
	prompt_default = (PromptTarget){ asker, user_data };
	g_mutex_unlock(&prompt_lock);
}

void prompt_set_thread_asker(PromptAsker asker, gpointer user_data)
{
	if (asker == NULL) {
		g_private_replace(&prompt_thread_target, NULL);
		return;
	}
	PromptTarget *target = g_new(PromptTarget, 1);
	*target = (PromptTarget){ asker, user_data };
	g_private_replace(&prompt_thread_target, target);
}

PromptAsker prompt_get_thread_asker(gpointer *user_data)
{
	PromptTarget *mine = g_private_get(&prompt_thread_target);
	*user_data = mine ? mine->user_data : NULL;
	return mine ? mine->asker : NULL;
}

char *prompt_ask(const PromptQuestion *question, GError **error)
{
	PromptTarget *mine = g_private_get(&prompt_thread_target);
	PromptTarget target;
	if (mine != NULL) {
		target = *mine;
	} else {
		g_mutex_lock(&prompt_lock);
		target = prompt_default;
		g_mutex_unlock(&prompt_lock);
	}
	if (target.asker == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT,
			    "nobody to ask (no terminal, no SSH_ASKPASS)");
		return NULL;
	}
	/* Two hops asking at once would interleave on one terminal. */
	g_mutex_lock(&prompt_one_at_a_time);
	char *answer = target.asker(question, target.user_data, error);
	g_mutex_unlock(&prompt_one_at_a_time);
	return answer;
}

void prompt_answer_free(char *answer)
{
	if (answer == NULL)
		return;
	explicit_bzero(answer, strlen(answer));
	g_free(answer);
}

/* Characters that steer the display instead of being shown. */
static gboolean prompt_is_control(gunichar c)
{
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
		return TRUE;
	switch (g_unichar_type(c)) {
	case G_UNICODE_FORMAT:              /* bidi overrides, zero-width */
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
	case G_UNICODE_SURROGATE:
	case G_UNICODE_PRIVATE_USE:
	case G_UNICODE_UNASSIGNED:
		return TRUE;
	default:
		return FALSE;
	}
}

char *prompt_escape(const char *text, gboolean keep_newlines)
{
	GString *out = g_string_sized_new(strlen(text));
	const char *p = text;
	while (*p != '\0') {
		gunichar c = g_utf8_get_char_validated(p, -1);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
			p++;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		if (c == '\n' && keep_newlines)
			g_string_append_c(out, '\n');
		else if (c < 0xa0 && prompt_is_control(c))
			g_string_append_printf(out, "\\x%02x", (unsigned)c);
		else if (prompt_is_control(c))
			g_string_append_printf(out, "\\u%04x", (unsigned)c);
		else
			g_string_append_len(out, p, next - p);
		p = next;
	}
	return g_string_free(out, FALSE);
}
