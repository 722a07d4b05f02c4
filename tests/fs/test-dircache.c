/* The listing cache's memory bound (fs/dircache.c): listings beyond
 * DIRCACHE_MAX_BYTES in all push the oldest out. */
#include <glib.h>

#include "fs/dircache.h"
#include "fs/sftp.h"

/* A listing of n entries with names of len bytes. */
static GPtrArray *listing(guint n, gsize len)
{
	GPtrArray *names = g_ptr_array_new_with_free_func((GDestroyNotify)sftp_name_free);
	for (guint i = 0; i < n; i++) {
		SftpName *name = g_new0(SftpName, 1);
		name->name = g_strdup_printf("%0*u", (int)len, i);
		g_ptr_array_add(names, name);
	}
	return names;
}

static void test_budget(void)
{
	DirCache *cache = dircache_new(60);
	/* ~6 MiB each: two fit in 16 MiB, the third pushes the first out. */
	const char *paths[] = { "/a", "/b", "/c" };
	for (int i = 0; i < 3; i++) {
		GPtrArray *names = listing(DIRCACHE_MAX_ENTRIES, 250);
		dircache_put(cache, paths[i], names, g_get_monotonic_time());
		g_ptr_array_unref(names);
	}
	GPtrArray *got = dircache_get(cache, "/a");
	g_assert_null(got);
	for (int i = 1; i < 3; i++) {
		got = dircache_get(cache, paths[i]);
		g_assert_nonnull(got);
		g_assert_cmpuint(got->len, ==, DIRCACHE_MAX_ENTRIES);
		g_ptr_array_unref(got);
	}
	/* Small listings keep fitting; a replaced one is counted once. */
	for (int i = 0; i < 1000; i++) {
		GPtrArray *names = listing(10, 8);
		dircache_put(cache, "/small", names, g_get_monotonic_time());
		g_ptr_array_unref(names);
	}
	got = dircache_get(cache, "/b");
	g_assert_nonnull(got);
	g_ptr_array_unref(got);
	dircache_free(cache);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fs/dircache/budget", test_budget);
	return g_test_run();
}
