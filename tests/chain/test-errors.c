/* chain/errors.c: every code has a stable name, and names map back. */
#include <glib.h>

#include "chain/errors.h"

static void test_names_round_trip(void)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (int code = JUMPFS_ERROR_CONFIG; code <= JUMPFS_ERROR_LIMIT; code++) {
		const char *name = jumpfs_error_code_name(code);
		g_assert_cmpstr(name, !=, "unknown");
		g_assert_false(g_hash_table_contains(seen, name));
		g_hash_table_add(seen, (gpointer)name);
		g_assert_cmpint(jumpfs_error_code_from_name(name), ==, code);
	}
	g_hash_table_destroy(seen);
}

static void test_unknown(void)
{
	g_assert_cmpstr(jumpfs_error_code_name(-1), ==, "unknown");
	g_assert_cmpstr(jumpfs_error_code_name(10000), ==, "unknown");
	g_assert_cmpint(jumpfs_error_code_from_name("no-such-code"), ==, -1);
	g_assert_cmpint(jumpfs_error_code_from_name(NULL), ==, -1);
	g_assert_cmpstr(jumpfs_error_code_name(JUMPFS_ERROR_FORWARD_PROHIBITED), ==,
			"forward-prohibited");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/chain/errors/names", test_names_round_trip);
	g_test_add_func("/chain/errors/unknown", test_unknown);
	return g_test_run();
}
