/* chain/prompt: escaping of server text, and who gets asked. */
#include <string.h>

#include "chain/errors.h"
#include "chain/prompt.h"

static void check_escape(const char *in, gboolean keep_newlines, const char *want)
{
	g_autofree char *got = prompt_escape(in, keep_newlines);
	g_assert_cmpstr(got, ==, want);
}

static void test_escape_plain(void)
{
	check_escape("Password: ", FALSE, "Password: ");
	check_escape("", FALSE, "");
	check_escape("Mot de passe (é, ü, 日本): ", FALSE, "Mot de passe (é, ü, 日本): ");
}

static void test_escape_controls(void)
{
	/* ESC sequences that would clear the line, move the cursor, set the
	 * title; CR that returns to column 0; BEL; DEL; backspace. */
	check_escape("\x1b[2K\rhop 1/3 Password: ", FALSE, "\\x1b[2K\\x0dhop 1/3 Password: ");
	check_escape("a\bb\x7f\a", FALSE, "a\\x08b\\x7f\\x07");
	check_escape("\x1b]0;title\x07", FALSE, "\\x1b]0;title\\x07");
	check_escape("tab\there", FALSE, "tab\\x09here");
}

static void test_escape_newlines(void)
{
	check_escape("one\ntwo", FALSE, "one\\x0atwo");
	check_escape("one\ntwo", TRUE, "one\ntwo");
	check_escape("one\r\ntwo", TRUE, "one\\x0d\ntwo");
}

static void test_escape_unicode_controls(void)
{
	/* C1 CSI (U+009B), RLO (U+202E), zero-width space (U+200B), LINE
	 * SEPARATOR (U+2028), a private-use character. */
	check_escape("a\xc2\x9b" "2Kb", FALSE, "a\\x9b2Kb");
	check_escape("x\xe2\x80\xaeyz", FALSE, "x\\u202eyz");
	check_escape("x\xe2\x80\x8by", FALSE, "x\\u200by");
	check_escape("x\xe2\x80\xa8y", FALSE, "x\\u2028y");
	check_escape("x\xee\x80\x80y", FALSE, "x\\ue000y");
}

static void test_escape_invalid_utf8(void)
{
	check_escape("a\xff" "b", FALSE, "a\\xffb");
	check_escape("\xc3", FALSE, "\\xc3");          /* truncated sequence */
	check_escape("\xc0\xaf", FALSE, "\\xc0\\xaf"); /* overlong '/' */
}

/* ---- askers ---- */

typedef struct {
	const char *answer;
	int calls;
	char *last_text;
	char *last_feedback;
	gboolean last_echo;
} FakeAsker;

static char *fake_ask(const PromptQuestion *question, gpointer user_data, GError **error)
{
	FakeAsker *fake = user_data;
	fake->calls++;
	g_free(fake->last_text);
	g_free(fake->last_feedback);
	fake->last_text = g_strdup(question->text);
	fake->last_feedback = g_strdup(question->feedback);
	fake->last_echo = question->echo;
	if (fake->answer == NULL) {
		g_set_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH, "declined");
		return NULL;
	}
	return g_strdup(fake->answer);
}

static void fake_clear(FakeAsker *fake)
{
	g_free(fake->last_text);
	g_free(fake->last_feedback);
}

static void test_nobody_to_ask(void)
{
	prompt_set_default_asker(NULL, NULL);
	prompt_set_thread_asker(NULL, NULL);
	g_autoptr(GError) error = NULL;
	PromptQuestion q = { .hop_label = "hop 1/1 (u@h:22)", .text = "Password: " };
	g_assert_null(prompt_ask(&q, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT);
}

static void test_default_and_thread_askers(void)
{
	FakeAsker fallback = { .answer = "default" }, mine = { .answer = "mine" };
	prompt_set_default_asker(fake_ask, &fallback);
	PromptQuestion q = { .hop_label = "hop 1/1 (u@h:22)", .text = "Code: ", .echo = TRUE,
			     .feedback = "Permission denied, please try again." };
	g_autoptr(GError) error = NULL;

	char *answer = prompt_ask(&q, &error);
	g_assert_cmpstr(answer, ==, "default");
	prompt_answer_free(answer);
	g_assert_cmpstr(fallback.last_text, ==, "Code: ");
	g_assert_cmpstr(fallback.last_feedback, ==, "Permission denied, please try again.");
	g_assert_true(fallback.last_echo);

	prompt_set_thread_asker(fake_ask, &mine);
	answer = prompt_ask(&q, &error);
	g_assert_cmpstr(answer, ==, "mine");
	prompt_answer_free(answer);
	g_assert_cmpint(mine.calls, ==, 1);
	g_assert_cmpint(fallback.calls, ==, 1);

	mine.answer = NULL;
	g_assert_null(prompt_ask(&q, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_AUTH);

	prompt_set_thread_asker(NULL, NULL);
	answer = prompt_ask(&q, NULL);
	g_assert_cmpstr(answer, ==, "default");
	prompt_answer_free(answer);
	g_assert_cmpint(fallback.calls, ==, 2);
	prompt_set_default_asker(NULL, NULL);
	fake_clear(&fallback);
	fake_clear(&mine);
}

/* Another thread's asker is not ours. */
static gpointer ask_from_thread(gpointer data)
{
	(void)data;
	PromptQuestion q = { .hop_label = "hop 1/1 (u@h:22)", .text = "x" };
	return prompt_ask(&q, NULL);
}

static void test_thread_asker_is_per_thread(void)
{
	FakeAsker fallback = { .answer = "default" }, mine = { .answer = "mine" };
	prompt_set_default_asker(fake_ask, &fallback);
	prompt_set_thread_asker(fake_ask, &mine);
	GThread *thread = g_thread_new("other", ask_from_thread, NULL);
	char *answer = g_thread_join(thread);
	g_assert_cmpstr(answer, ==, "default");
	prompt_answer_free(answer);
	g_assert_cmpint(mine.calls, ==, 0);
	prompt_set_thread_asker(NULL, NULL);
	prompt_set_default_asker(NULL, NULL);
	fake_clear(&fallback);
	fake_clear(&mine);
}

/* Two threads asking at once: the asker never runs twice at a time. */
static gint in_asker, most_in_asker;

static char *slow_ask(const PromptQuestion *question, gpointer user_data, GError **error)
{
	(void)question, (void)user_data, (void)error;
	gint now = g_atomic_int_add(&in_asker, 1) + 1;
	if (now > g_atomic_int_get(&most_in_asker))
		g_atomic_int_set(&most_in_asker, now);
	g_usleep(20000);
	g_atomic_int_add(&in_asker, -1);
	return g_strdup("ok");
}

static void test_one_question_at_a_time(void)
{
	prompt_set_default_asker(slow_ask, NULL);
	GThread *threads[4];
	for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("asker", ask_from_thread, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
		prompt_answer_free(g_thread_join(threads[i]));
	g_assert_cmpint(most_in_asker, ==, 1);
	prompt_set_default_asker(NULL, NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/prompt/escape/plain", test_escape_plain);
	g_test_add_func("/chain/prompt/escape/controls", test_escape_controls);
	g_test_add_func("/chain/prompt/escape/newlines", test_escape_newlines);
	g_test_add_func("/chain/prompt/escape/unicode-controls", test_escape_unicode_controls);
	g_test_add_func("/chain/prompt/escape/invalid-utf8", test_escape_invalid_utf8);
	g_test_add_func("/chain/prompt/ask/nobody", test_nobody_to_ask);
	g_test_add_func("/chain/prompt/ask/default-and-thread", test_default_and_thread_askers);
	g_test_add_func("/chain/prompt/ask/per-thread", test_thread_asker_is_per_thread);
	g_test_add_func("/chain/prompt/ask/one-at-a-time", test_one_question_at_a_time);
	return g_test_run();
}
