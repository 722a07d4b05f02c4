/* Which symlink targets stay inside the mount (fs/symlinks.c), as a
 * table: root, link, stored target -> what readlink shows (NULL: EPERM),
 * and which prefixes must be directories on the server. */
#include <string.h>

#include <glib.h>

#include "fs/symlinks.h"

typedef struct {
	const char *root, *link, *target;
	const char *shown;      /* NULL: EPERM */
	const char *dirs;       /* must_be_dirs joined by ' ', "" for none */
} Case;

static const Case cases[] = {
	/* relative, staying inside */
	{ "/home/u", "/l", "f", "f", "" },
	{ "/home/u", "/a/b/l", "../../f", "../../f", "" },
	{ "/home/u", "/a/b/l", "../c/./d", "../c/./d", "" },
	{ "/home/u", "/a/l", "..", "..", "" },
	{ "/home/u", "/l", ".", ".", "" },
	{ "/home/u", "/a/l", "x//y/", "x//y/", "" },
	/* ".." after a target component: only if it is a real directory */
	{ "/home/u", "/a/l", "x/../y", "x/../y", "/a/x" },
	{ "/home/u", "/l", "x/y/../../z", "x/y/../../z", "/x/y /x" },
	{ "/home/u", "/a/l", "../x/..", "../x/..", "/x" },
	/* relative, leaving */
	{ "/home/u", "/l", "..", NULL, "" },
	{ "/home/u", "/a/b/l", "../../../etc/passwd", NULL, "" },
	{ "/home/u", "/l", "../../..", NULL, "" },
	{ "/home/u", "/l", "x/../../y", NULL, "/x" },
	{ "/", "/l", "..", NULL, "" },
	/* absolute inside the mounted directory: shown relative */
	{ "/home/u", "/l", "/home/u/f", "f", "" },
	{ "/home/u", "/a/b/l", "/home/u/c/d", "../../c/d", "" },
	{ "/home/u", "/a/l", "/home/u", "..", "" },
	{ "/home/u", "/l", "/home/u", ".", "" },
	{ "/home/u", "/l", "/home/u/", ".", "" },
	{ "/", "/etc/l", "/etc/passwd", "../etc/passwd", "" },
	{ "/home/u", "/l", "/home/u/x/../y", "x/../y", "/x" },
	/* absolute elsewhere */
	{ "/home/u", "/l", "/etc/passwd", NULL, "" },
	{ "/home/u", "/l", "/home/u2/f", NULL, "" },
	{ "/home/u", "/l", "/home", NULL, "" },
	{ "/home/u", "/l", "/home/u/../x", NULL, "" },
	{ "/home/u", "/l", "", NULL, "" },
};

static void test_table(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const Case *c = &cases[i];
		GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
		char *shown = symlinks_contain(c->root, c->link, c->target, dirs);
		g_ptr_array_add(dirs, NULL);
		char *joined = g_strjoinv(" ", (char **)dirs->pdata);
		if (g_strcmp0(shown, c->shown) != 0 || (c->shown && strcmp(joined, c->dirs) != 0))
			g_error("case %zu: %s in %s -> %s: shown '%s' (want '%s'), dirs '%s' "
				"(want '%s')", i, c->link, c->root, c->target,
				shown ? shown : "(EPERM)", c->shown ? c->shown : "(EPERM)",
				joined, c->dirs);
		g_free(joined);
		g_free(shown);
		g_ptr_array_unref(dirs);
	}
}

static void test_transform(void)
{
	char *t = symlinks_transform("/home/u", "/a/l", "/home/u/b");
	g_assert_cmpstr(t, ==, "../b");
	g_free(t);
	g_assert_null(symlinks_transform("/home/u", "/a/l", "/etc/passwd"));
	g_assert_null(symlinks_transform("/home/u", "/a/l", "b"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fs/symlinks/contain", test_table);
	g_test_add_func("/fs/symlinks/transform", test_transform);
	return g_test_run();
}
