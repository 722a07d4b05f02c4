/* cli/forward.c: a question asked in the daemon's setup thread reaches the
 * client's asker and its answer comes back; refusals keep their meaning. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/errors.h"
#include "chain/prompt.h"
#include "cli/forward.h"

typedef struct {
	ForwardTarget target;
	PromptQuestion question;
	char *answer;
	GError *error;
} DaemonSide;

/* The daemon's setup thread: its asker is the forwarding one. */
static gpointer daemon_side(gpointer data)
{
	DaemonSide *side = data;
	prompt_set_thread_asker(forward_ask, &side->target);
	side->answer = prompt_ask(&side->question, &side->error);
	prompt_set_thread_asker(NULL, NULL);
	return NULL;
}

/* The client's own asker (its terminal, in jumpfs). */
static PromptQuestion client_saw;
static char *client_label, *client_text, *client_feedback;
static const char *client_reply;     /* NULL: decline */
static int client_decline_code;

static char *client_asker(const PromptQuestion *question, gpointer data, GError **error)
{
	(void)data;
	g_free(client_label);
	g_free(client_text);
	client_label = g_strdup(question->hop_label);
	client_text = g_strdup(question->text);
	g_free(client_feedback);
	client_feedback = g_strdup(question->feedback ? question->feedback : "(none)");
	client_saw = *question;
	if (client_reply != NULL)
		return g_strdup(client_reply);
	g_set_error(error, JUMPFS_ERROR, client_decline_code, "%s: declined at the client",
		    question->hop_label);
	return NULL;
}

static DaemonSide *ask_over(int fds[2], const char *label, const char *text, gboolean secret)
{
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
	DaemonSide *side = g_new0(DaemonSide, 1);
	side->target = (ForwardTarget){ fds[0], -1 };
	side->question = (PromptQuestion){ label, text, !secret, secret, NULL };
	return side;
}

static void side_free(DaemonSide *side)
{
	prompt_answer_free(side->answer);
	g_clear_error(&side->error);
	g_free(side);
}

/* One round: the client answers the daemon's question with its asker,
 * in a process of its own as in jumpfs (prompt_ask keeps one question out
 * at a time per process: fork before the daemon thread asks); it reports
 * what its asker saw. */
typedef struct {
	pid_t pid;
	int report;
} Client;

static Client client_start(int fd)
{
	int report[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, report), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(report[0]);
		ControlMessage *q = control_recv(fd, -1, -1, NULL);
		gboolean ok = q != NULL && q->type == CONTROL_QUESTION && forward_answer(fd, q);
		const char *strings[] = { client_label, client_text,
					  client_saw.echo ? "1" : "0",
					  client_saw.secret ? "1" : "0", client_feedback };
		control_send(report[1], 'r', strings, 5, NULL, 0);
		control_message_free(q);
		g_free(client_label);
		g_free(client_text);
		g_free(client_feedback);
		exit(ok ? 0 : 1);
	}
	close(report[1]);
	return (Client){ pid, report[0] };
}

static void client_finish(Client client)
{
	GError *error = NULL;
	ControlMessage *seen = control_recv(client.report, -1, -1, &error);
	g_assert_no_error(error);
	close(client.report);
	int status;
	g_assert_cmpint(waitpid(client.pid, &status, 0), ==, client.pid);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_free(client_label);
	g_free(client_text);
	client_label = g_strdup(g_ptr_array_index(seen->strings, 0));
	client_text = g_strdup(g_ptr_array_index(seen->strings, 1));
	client_saw.echo = strcmp(g_ptr_array_index(seen->strings, 2), "1") == 0;
	client_saw.secret = strcmp(g_ptr_array_index(seen->strings, 3), "1") == 0;
	g_free(client_feedback);
	client_feedback = g_strdup(g_ptr_array_index(seen->strings, 4));
	control_message_free(seen);
}

static void test_answer_comes_back(void)
{
	int fds[2];
	DaemonSide *side = ask_over(fds, "hop 2/3 (u@h:22)", "u@h's password: ", TRUE);
	side->question.feedback = "Permission denied, please try again.";
	client_reply = "s3cret";
	Client client = client_start(fds[1]);
	GThread *daemon = g_thread_new("daemon", daemon_side, side);
	client_finish(client);
	g_thread_join(daemon);
	g_assert_no_error(side->error);
	g_assert_cmpstr(side->answer, ==, "s3cret");
	g_assert_cmpstr(client_label, ==, "hop 2/3 (u@h:22)");
	g_assert_cmpstr(client_text, ==, "u@h's password: ");
	g_assert_true(client_saw.secret);
	g_assert_false(client_saw.echo);
	g_assert_cmpstr(client_feedback, ==, "Permission denied, please try again.");
	side_free(side);
	close(fds[0]);
	close(fds[1]);
}

static void test_relayed_text_cannot_drive_the_terminal(void)
{
	int fds[2];
	/* Escaped text is passed through; raw control bytes never reach the
	 * client's asker, even if a daemon relayed them. */
	DaemonSide *side = ask_over(fds, "hop 1/1 (a@b:22)\x1b[2J", "Code:\x1b]0;x\x07\nnext", FALSE);
	client_reply = "123456";
	Client client = client_start(fds[1]);
	GThread *daemon = g_thread_new("daemon", daemon_side, side);
	client_finish(client);
	g_thread_join(daemon);
	g_assert_cmpstr(side->answer, ==, "123456");
	g_assert_null(strchr(client_label, '\x1b'));
	g_assert_null(strchr(client_text, '\x1b'));
	g_assert_null(strchr(client_text, '\x07'));
	g_assert_nonnull(strstr(client_text, "\nnext")); /* newlines kept in the text */
	g_assert_true(client_saw.echo);
	g_assert_cmpstr(client_feedback, ==, "(none)");
	side_free(side);
	close(fds[0]);
	close(fds[1]);
}

static void test_refusals_keep_their_code(void)
{
	const int codes[] = { JUMPFS_ERROR_NO_PROMPT, JUMPFS_ERROR_AUTH };
	for (gsize i = 0; i < G_N_ELEMENTS(codes); i++) {
		int fds[2];
		DaemonSide *side = ask_over(fds, "hop 1/2 (a@b:22)", "Password: ", TRUE);
		client_reply = NULL;
		client_decline_code = codes[i];
		Client client = client_start(fds[1]);
		GThread *daemon = g_thread_new("daemon", daemon_side, side);
		client_finish(client);
		g_thread_join(daemon);
		g_assert_null(side->answer);
		g_assert_error(side->error, JUMPFS_ERROR, codes[i]);
		g_assert_cmpstr(side->error->message, ==, "hop 1/2 (a@b:22): declined at the client");
		side_free(side);
		close(fds[0]);
		close(fds[1]);
	}
}

static void test_client_gone_or_daemon_stopping(void)
{
	int fds[2];
	DaemonSide *side = ask_over(fds, "hop 3/3 (a@b:22)", "Password: ", TRUE);
	close(fds[1]); /* Ctrl-C at the client */
	daemon_side(side);
	g_assert_error(side->error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT);
	g_assert_nonnull(strstr(side->error->message, "hop 3/3 (a@b:22): nobody to ask"));
	side_free(side);
	close(fds[0]);

	side = ask_over(fds, "hop 3/3 (a@b:22)", "Password: ", TRUE);
	side->target.cancel_fd = eventfd(1, EFD_CLOEXEC); /* SIGTERM in the daemon */
	daemon_side(side);
	g_assert_error(side->error, JUMPFS_ERROR, JUMPFS_ERROR_NO_PROMPT);
	g_assert_nonnull(strstr(side->error->message, "stopping"));
	close(side->target.cancel_fd);
	side_free(side);
	close(fds[0]);
	close(fds[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	prompt_set_default_asker(client_asker, NULL);
	g_test_add_func("/cli/forward/answer-comes-back", test_answer_comes_back);
	g_test_add_func("/cli/forward/escaped", test_relayed_text_cannot_drive_the_terminal);
	g_test_add_func("/cli/forward/refusals", test_refusals_keep_their_code);
	g_test_add_func("/cli/forward/client-gone-or-stopping", test_client_gone_or_daemon_stopping);
	int rc = g_test_run();
	g_free(client_label);
	g_free(client_text);
	g_free(client_feedback);
	return rc;
}
