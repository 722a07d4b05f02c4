/* fs/newdirs.c: which names are surely absent from directories we made. */
#include <glib.h>

#include "fs/newdirs.h"

static void test_made_then_touched(void)
{
	NewDirs *d = newdirs_new(20);
	/* Nothing known before a mkdir. */
	g_assert_false(newdirs_absent(d, "/new/a"));
	newdirs_touched(d, "/new", FALSE);
	newdirs_made(d, "/new");
	g_assert_true(newdirs_absent(d, "/new/a"));
	g_assert_false(newdirs_absent(d, "/new"));   /* its parent was not made */
	g_assert_false(newdirs_absent(d, "/"));
	/* A name made (or renamed there, linked...) may exist from now on,
	 * even once removed again. */
	newdirs_touched(d, "/new/a", FALSE);
	g_assert_false(newdirs_absent(d, "/new/a"));
	g_assert_true(newdirs_absent(d, "/new/b"));
	/* Subdirectories we made are followed; one renamed or removed is
	 * forgotten with everything under it. */
	newdirs_touched(d, "/new/sub", FALSE);
	newdirs_made(d, "/new/sub");
	newdirs_made(d, "/new/sub/deep");
	g_assert_true(newdirs_absent(d, "/new/sub/x"));
	g_assert_true(newdirs_absent(d, "/new/sub/deep/x"));
	newdirs_touched(d, "/new/sub", TRUE);
	g_assert_false(newdirs_absent(d, "/new/sub/x"));
	g_assert_false(newdirs_absent(d, "/new/sub/deep/x"));
	g_assert_false(newdirs_absent(d, "/new/sub"));
	g_assert_true(newdirs_absent(d, "/new/c"));
	newdirs_free(d);
}

static void test_timeout(void)
{
	NewDirs *off = newdirs_new(0);
	newdirs_made(off, "/d");
	g_assert_false(newdirs_absent(off, "/d/x")); /* cache_timeout=0: never */
	newdirs_free(off);

	NewDirs *d = newdirs_new(0.05);
	newdirs_made(d, "/d");
	g_assert_true(newdirs_absent(d, "/d/x"));
	g_usleep(80 * 1000);
	g_assert_false(newdirs_absent(d, "/d/x")); /* others may have made it */
	newdirs_free(d);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fs/newdirs/made-then-touched", test_made_then_touched);
	g_test_add_func("/fs/newdirs/timeout", test_timeout);
	return g_test_run();
}
