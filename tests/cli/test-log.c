/* cli/log.c with cli/options.c: the FUSE dry run of option parsing must
 * not take libfuse's messages away from the log for good. */
#include <fuse.h>
#include <glib.h>
#include <string.h>

#include "chain/errors.h"
#include "cli/log.h"
#include "cli/options.h"

static gboolean parse(const char *const *argv, GError **error)
{
	CliOptions options;
	struct fuse_args fuse_args;
	gboolean ok = cli_options_parse((int)g_strv_length((char **)argv), (char **)argv,
					&options, &fuse_args, error);
	fuse_opt_free_args(&fuse_args);
	cli_options_clear(&options);
	return ok;
}

static void test_dry_run_keeps_fuse_messages_in_the_log(void)
{
	const char *bad[] = { "jumpfs", "host", "/tmp", "-o", "bogus_option", NULL };
	const char *good[] = { "jumpfs", "host", "/tmp", "-o", "ro", NULL };
	GError *error = NULL;
	g_assert_false(parse(bad, &error));
	g_assert_error(error, JUMPFS_ERROR, JUMPFS_ERROR_CONFIG);
	/* FUSE's own words reach the user... */
	g_assert_nonnull(strstr(error->message, "unknown option(s): `-o bogus_option'"));
	g_clear_error(&error);
	g_assert_true(parse(good, &error));
	g_assert_no_error(error);

	/* ...and FUSE's later messages still reach the log. */
	g_test_expect_message("fuse", G_LOG_LEVEL_CRITICAL, "fuse: after the dry runs");
	fuse_log(FUSE_LOG_ERR, "fuse: after the dry runs\n");
	g_test_assert_expected_messages();
}

static gpointer log_from_another_thread(gpointer data)
{
	(void)data;
	fuse_log(FUSE_LOG_ERR, "from another thread\n");
	return NULL;
}

static void test_capture_is_per_thread(void)
{
	log_fuse_capture_begin();
	fuse_log(FUSE_LOG_ERR, "fuse: mine\n");
	/* Another mount's message while this thread captures: logged. */
	g_test_expect_message("fuse", G_LOG_LEVEL_CRITICAL, "fuse: from another thread");
	g_thread_join(g_thread_new("other", log_from_another_thread, NULL));
	g_test_assert_expected_messages();
	g_autofree char *captured = log_fuse_capture_end();
	g_assert_cmpstr(captured, ==, "fuse: mine\n");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	log_setup();
	g_test_add_func("/cli/log/dry-run-keeps-fuse-messages",
			test_dry_run_keeps_fuse_messages_in_the_log);
	g_test_add_func("/cli/log/capture-is-per-thread", test_capture_is_per_thread);
	return g_test_run();
}
