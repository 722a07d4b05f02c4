/* chain/auth: the method table's order, the -o password_stdin=HOP match,
 * and which prompts the stdin password may answer. */
#include <libssh/libssh.h>

#include "chain/auth-private.h"

static HopSpec *test_hop(void)
{
	HopSpec *hop = g_new0(HopSpec, 1);
	hop->alias = g_strdup("jump2");
	hop->hostname = g_strdup("jumphost2.example.org");
	hop->user = g_strdup("user2");
	hop->port = 2222;
	hop->pubkey_auth = hop->password_auth = hop->kbdint_auth = TRUE;
	hop->preferred_authentications =
		g_strdup("gssapi-with-mic,hostbased,publickey,keyboard-interactive,password");
	hop->number_of_password_prompts = 3;
	return hop;
}

static void test_hop_free(HopSpec *hop)
{
	g_free(hop->alias);
	g_free(hop->hostname);
	g_free(hop->user);
	g_free(hop->preferred_authentications);
	g_free(hop);
}

static char *plan_names(const HopSpec *hop, int allows, gboolean stdin_password)
{
	g_autoptr(GPtrArray) plan = auth_methods_plan(hop, allows, stdin_password);
	GString *names = g_string_new(NULL);
	for (guint i = 0; i < plan->len; i++) {
		const AuthMethod *method = g_ptr_array_index(plan, i);
		g_string_append_printf(names, "%s%s", i ? "," : "", method->name);
	}
	return g_string_free(names, FALSE);
}

#define ALL (SSH_AUTH_METHOD_PUBLICKEY | SSH_AUTH_METHOD_PASSWORD | \
	     SSH_AUTH_METHOD_INTERACTIVE | SSH_AUTH_METHOD_GSSAPI_MIC)

static void check_plan(const HopSpec *hop, int allows, gboolean stdin_password, const char *want)
{
	g_autofree char *got = plan_names(hop, allows, stdin_password);
	g_assert_cmpstr(got, ==, want);
}

static void test_plan_default_order(void)
{
	HopSpec *hop = test_hop();
	/* GSSAPIAuthentication no (the default) leaves it out. */
	check_plan(hop, ALL, FALSE, "publickey,keyboard-interactive,password");
	hop->gssapi_auth = TRUE;
	check_plan(hop, ALL, FALSE, "gssapi-with-mic,publickey,keyboard-interactive,password");
	/* Only what the server offers. */
	check_plan(hop, SSH_AUTH_METHOD_PASSWORD, FALSE, "password");
	check_plan(hop, 0, FALSE, "");
	test_hop_free(hop);
}

static void test_plan_preferred_order(void)
{
	HopSpec *hop = test_hop();
	g_free(hop->preferred_authentications);
	hop->preferred_authentications = g_strdup("password,publickey");
	check_plan(hop, ALL, FALSE, "password,publickey");
	/* Unknown names skipped, duplicates tried once, spaces tolerated. */
	g_free(hop->preferred_authentications);
	hop->preferred_authentications =
		g_strdup("keyboard-interactive, no-such-method,publickey,keyboard-interactive");
	check_plan(hop, ALL, FALSE, "keyboard-interactive,publickey");
	test_hop_free(hop);
}

static void test_plan_disabled_methods(void)
{
	HopSpec *hop = test_hop();
	hop->pubkey_auth = FALSE;
	hop->kbdint_auth = FALSE;
	check_plan(hop, ALL, FALSE, "password");
	test_hop_free(hop);
}

static void test_plan_batch_mode(void)
{
	HopSpec *hop = test_hop();
	hop->batch_mode = TRUE;
	/* BatchMode: nothing that asks a person... */
	check_plan(hop, ALL, FALSE, "publickey");
	/* ...unless this hop's stdin password waits, which asks nobody. */
	check_plan(hop, ALL, TRUE, "publickey,keyboard-interactive,password");
	test_hop_free(hop);
}

static void test_hop_matches(void)
{
	HopSpec *hop = test_hop();
	static const char *const yes[] = {
		"jump2", "jumphost2.example.org", "JumpHost2.Example.org", "user2@jump2",
		"user2@jumphost2.example.org", "user2@jumphost2.example.org:2222",
		"jumphost2.example.org:2222", "jump2:2222", "user2@[jumphost2.example.org]:2222",
	};
	static const char *const no[] = {
		"", "jump1", "user1@jumphost2.example.org", "user@jumphost2.example.org",
		"user22@jump2", "jumphost2.example.org:22", "jump2:", "jump2:2222x",
		"jumphost2", "[jump2", "@jump2",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(yes); i++)
		g_assert_true(auth_hop_matches(hop, yes[i]));
	for (gsize i = 0; i < G_N_ELEMENTS(no); i++) {
		if (auth_hop_matches(hop, no[i]))
			g_error("'%s' should not match", no[i]);
	}
	g_assert_false(auth_hop_matches(hop, NULL));
	test_hop_free(hop);
}

static void test_hop_matches_ipv6(void)
{
	HopSpec *hop = test_hop();
	g_free(hop->hostname);
	hop->hostname = g_strdup("fd00::2");
	g_assert_true(auth_hop_matches(hop, "fd00::2"));
	g_assert_true(auth_hop_matches(hop, "user2@[fd00::2]:2222"));
	g_assert_true(auth_hop_matches(hop, "[fd00::2]"));
	g_assert_false(auth_hop_matches(hop, "[fd00::2]:22"));
	test_hop_free(hop);
}

static void test_prompt_is_password(void)
{
	static const char *const yes[] = {
		"Password: ", "password:", "user2@host's password: ",
		"(user2@host) Password for user2@EXAMPLE.ORG: ",
		"Hostile message\nPassword: ",
	};
	static const char *const no[] = {
		"Verification code: ", "One-time password (OATH) for `user2': ",
		"Enter PASSCODE: ", "Token: ", "PIN: ", "OTP password: ", "New password: ",
		"Retype new password: ", "(current) UNIX password: ", "Passwort: ",
		"Enter your password again: ", "Code: ", "passwords: ",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (!auth_prompt_is_password(yes[i], FALSE))
			g_error("'%s' should be the password prompt", yes[i]);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(no); i++) {
		if (auth_prompt_is_password(no[i], FALSE))
			g_error("'%s' is not the password prompt", no[i]);
	}
	/* Shown as typed: never a password. */
	g_assert_false(auth_prompt_is_password("Password: ", TRUE));
	g_assert_false(auth_prompt_is_password(NULL, FALSE));
}

static void test_kbdint_question(void)
{
	const char *tag = "(u2@h2, hop 2/3)";
	g_autoptr(GString) pending = g_string_new(NULL);
	g_autofree char *plain = auth_kbdint_question(tag, pending, "Password: ");
	g_assert_cmpstr(plain, ==, "(u2@h2, hop 2/3) Password: ");

	/* Name and instruction lines, then a prompt with PAM messages in it:
	 * every line tagged, control characters escaped, the prompt last. */
	auth_append_server_lines(pending, tag, "Login\n");
	auth_append_server_lines(pending, tag, "line one\n\x1b[2K\r(u1@h1, hop 1/3) Password: ");
	g_autofree char *hostile = auth_kbdint_question(tag, pending,
							"Warning\a\nVerification code: ");
	g_assert_cmpstr(hostile, ==,
			"(u2@h2, hop 2/3) Login\n"
			"(u2@h2, hop 2/3) line one\n"
			"(u2@h2, hop 2/3) \\x1b[2K\\x0d(u1@h1, hop 1/3) Password: \n"
			"(u2@h2, hop 2/3) Warning\\x07\n"
			"(u2@h2, hop 2/3) Verification code: ");
	/* Nothing from the server: still tagged. */
	g_autoptr(GString) none = g_string_new(NULL);
	g_autofree char *empty = auth_kbdint_question(tag, none, NULL);
	g_assert_cmpstr(empty, ==, "(u2@h2, hop 2/3) ");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/auth/plan/default-order", test_plan_default_order);
	g_test_add_func("/chain/auth/plan/preferred-order", test_plan_preferred_order);
	g_test_add_func("/chain/auth/plan/disabled", test_plan_disabled_methods);
	g_test_add_func("/chain/auth/plan/batch-mode", test_plan_batch_mode);
	g_test_add_func("/chain/auth/password-hop/matches", test_hop_matches);
	g_test_add_func("/chain/auth/password-hop/ipv6", test_hop_matches_ipv6);
	g_test_add_func("/chain/auth/password-prompt", test_prompt_is_password);
	g_test_add_func("/chain/auth/kbdint-question", test_kbdint_question);
	return g_test_run();
}
