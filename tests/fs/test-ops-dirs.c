/* The FUSE operations on a real mount: the namespace. Listings (seekdir,
 * d_type), mkdir and rmdir, rename, symbolic and hard links, odd names.
 * The fixture: ops-fixture.h. */
#include <dirent.h>
#include <stdio.h>

#include "ops-fixture.h"

/* Names in a directory stream: each once, "." and ".." included. */
static GHashTable *list_dir(DIR *dir, long stop_after, long *tell, char **next_name)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct dirent *de;
	long count = 0;
	while ((de = readdir(dir)) != NULL) {
		if (!g_hash_table_add(seen, g_strdup(de->d_name)))
			g_test_message("duplicate entry %s", de->d_name);
		if (++count == stop_after && tell != NULL) {
			*tell = telldir(dir);
			de = readdir(dir);
			*next_name = de ? g_strdup(de->d_name) : NULL;
			break;
		}
	}
	return seen;
}

static void test_readdir(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const int n = 2000;
	g_mkdir(B(fx, "many"), 0755);
	for (int i = 0; i < n; i++) {
		char *name = g_strdup_printf("many/entry-with-a-longish-name-%04d", i);
		put_file(B(fx, name), "", 0);
		g_free(name);
	}
	g_mkdir(B(fx, "many/subdir"), 0755);

	DIR *dir = opendir(P(fx, "many"));
	g_assert_nonnull(dir);
	if (dir == NULL)
		return;
	GHashTable *seen = list_dir(dir, -1, NULL, NULL);
	g_assert_cmpuint(g_hash_table_size(seen), ==, n + 3);
	g_assert_true(g_hash_table_contains(seen, "."));
	g_assert_true(g_hash_table_contains(seen, ".."));
	g_assert_true(g_hash_table_contains(seen, "subdir"));
	for (int i = 0; i < n; i++) {
		char *name = g_strdup_printf("entry-with-a-longish-name-%04d", i);
		if (!g_hash_table_contains(seen, name))
			g_test_message("missing %s", name);
		g_assert_true(g_hash_table_contains(seen, name));
		g_free(name);
	}
	g_hash_table_unref(seen);

	/* rewinddir lists it all again */
	rewinddir(dir);
	seen = list_dir(dir, -1, NULL, NULL);
	g_assert_cmpuint(g_hash_table_size(seen), ==, n + 3);
	g_hash_table_unref(seen);

	/* seekdir back to the middle: the same entry comes next */
	rewinddir(dir);
	long tell = -1;
	char *next = NULL;
	seen = list_dir(dir, 1234, &tell, &next);
	g_hash_table_unref(seen);
	g_assert_nonnull(next);
	struct dirent *de = readdir(dir); /* move on, then back */
	g_assert_nonnull(de);
	seekdir(dir, tell);
	de = readdir(dir);
	g_assert_nonnull(de);
	if (de != NULL && next != NULL)
		g_assert_cmpstr(de->d_name, ==, next);
	g_free(next);
	closedir(dir);

	/* d_type comes from the listing */
	dir = opendir(P(fx, "many"));
	int types_ok = 0;
	while (dir != NULL && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, "subdir") == 0 && de->d_type == DT_DIR)
			types_ok++;
		if (strcmp(de->d_name, "entry-with-a-longish-name-0007") == 0 &&
		    de->d_type == DT_REG)
			types_ok++;
	}
	g_assert_cmpint(types_ok, ==, 2);
	if (dir != NULL)
		closedir(dir);

	/* readdirplus attributes are the entries' */
	struct stat st;
	assert_ok(stat(P(fx, "many/subdir"), &st));
	g_assert_true(S_ISDIR(st.st_mode));
	assert_fails(opendir(P(fx, "many/nothing")) == NULL ? -1 : 0, ENOENT);
}

static void test_mkdir_rmdir(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	assert_ok(mkdir(P(fx, "d"), 0750));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "d"), &bst), ==, 0);
	g_assert_true(S_ISDIR(bst.st_mode));
	g_assert_cmpuint(bst.st_mode & 0777, ==, 0750);
	assert_fails(mkdir(P(fx, "d"), 0755), EEXIST);
	assert_fails(mkdir(P(fx, "nope/d"), 0755), ENOENT);

	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	g_mkdir(B(fx, "late"), 0755);
	assert_fails(mkdir(P(fx, "late"), 0755), EEXIST);

	put_file(B(fx, "d/inside"), "x", 1);
	assert_fails(rmdir(P(fx, "d")), ENOTEMPTY);
	g_assert_cmpint(stat(B(fx, "d/inside"), &bst), ==, 0);
	assert_ok(unlink(P(fx, "d/inside")));
	assert_ok(rmdir(P(fx, "d")));
	assert_fails(stat(B(fx, "d"), &bst), ENOENT);
	assert_fails(rmdir(P(fx, "d")), ENOENT);
}

static void test_rename(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "a"), "AAAA", 4);
	put_file(B(fx, "b"), "BB", 2);
	put_file(B(fx, "c"), "CC", 2);
	g_mkdir(B(fx, "full"), 0755);
	put_file(B(fx, "full/x"), "x", 1);
	g_mkdir(B(fx, "empty"), 0755);
	g_mkdir(B(fx, "src"), 0755);

	/* atomic replace */
	assert_ok(rename(P(fx, "a"), P(fx, "b")));
	gsize len;
	char *got = get_file(B(fx, "b"), &len);
	g_assert_cmpstr(got, ==, "AAAA");
	g_free(got);
	struct stat st;
	assert_fails(stat(B(fx, "a"), &st), ENOENT);
	assert_fails(stat(P(fx, "a"), &st), ENOENT);
	assert_ok(stat(P(fx, "b"), &st));
	g_assert_cmpint(st.st_size, ==, 4);

	/* a directory over a non-empty / an empty one */
	assert_fails(rename(P(fx, "src"), P(fx, "full")), ENOTEMPTY);
	assert_ok(rename(P(fx, "src"), P(fx, "empty")));
	assert_fails(stat(B(fx, "src"), &st), ENOENT);

	/* no replace */
	assert_fails(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "b"), RENAME_NOREPLACE),
		     EEXIST);
	got = get_file(B(fx, "b"), &len);
	g_assert_cmpstr(got, ==, "AAAA");
	g_free(got);
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "LATE", 4);
	assert_fails(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "late"),
			       RENAME_NOREPLACE), EEXIST);
	got = get_file(B(fx, "late"), &len);
	g_assert_cmpstr(got, ==, "LATE");
	g_free(got);
	assert_ok(renameat2(AT_FDCWD, P(fx, "c"), AT_FDCWD, P(fx, "d"), RENAME_NOREPLACE));
	got = get_file(B(fx, "d"), &len);
	g_assert_cmpstr(got, ==, "CC");
	g_free(got);

	/* no exchange over SFTP */
	assert_fails(renameat2(AT_FDCWD, P(fx, "d"), AT_FDCWD, P(fx, "b"), RENAME_EXCHANGE),
		     EINVAL);
	assert_fails(rename(P(fx, "missing"), P(fx, "e")), ENOENT);
}

static void check_readlink(const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >=, 0);
	buf[n < 0 ? 0 : n] = '\0';
	g_assert_cmpstr(buf, ==, want);
}

static void test_symlink(Fixture *fx, gconstpointer data)
{
	const Variant *variant = data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "target"), "pointed at", -1);
	g_mkdir(B(fx, "sub"), 0755);

	assert_ok(symlink("target", P(fx, "rel")));
	check_readlink(B(fx, "rel"), "target");
	check_readlink(P(fx, "rel"), "target");
	GByteArray *through = read_all(P(fx, "rel"));
	g_assert_nonnull(through);
	if (through != NULL) {
		g_assert_cmpmem(through->data, through->len, "pointed at", 10);
		g_byte_array_unref(through);
	}

	assert_ok(symlink("/elsewhere/entirely", P(fx, "abs-out")));
	assert_ok(symlink("../..", P(fx, "sub/rel-out")));
	check_readlink(B(fx, "abs-out"), "/elsewhere/entirely");
	check_readlink(B(fx, "sub/rel-out"), "../..");
	char buf[8];
	if (variant->transform_symlinks) {
		check_readlink(P(fx, "abs-out"), "/elsewhere/entirely");
		check_readlink(P(fx, "sub/rel-out"), "../..");
	} else {
		/* contained: out of the mount reads as EPERM */
		assert_fails(readlink(P(fx, "abs-out"), buf, sizeof(buf)), EPERM);
		assert_fails(readlink(P(fx, "sub/rel-out"), buf, sizeof(buf)), EPERM);
		check_readlink(P(fx, "sub/../rel"), "target");
	}

	/* absolute targets inside the mounted directory */
	const char *inside = B(fx, "target");
	char *sibling = g_strconcat(fx->backend, "2/target", NULL); /* not inside */
	assert_ok(symlink(inside, P(fx, "sub/abs-in")));
	assert_ok(symlink(fx->backend, P(fx, "abs-root")));
	assert_ok(symlink(sibling, P(fx, "abs-sibling")));
	check_readlink(B(fx, "sub/abs-in"), inside);
	/* transformed, and contained alike: made relative */
	check_readlink(P(fx, "sub/abs-in"), "../target");
	check_readlink(P(fx, "abs-root"), ".");
	/* and the kernel resolves them inside the mount */
	GByteArray *via = read_all(P(fx, "sub/abs-in"));
	g_assert_nonnull(via);
	if (via != NULL) {
		g_assert_cmpmem(via->data, via->len, "pointed at", 10);
		g_byte_array_unref(via);
	}
	if (variant->transform_symlinks)
		check_readlink(P(fx, "abs-sibling"), sibling);
	else
		assert_fails(readlink(P(fx, "abs-sibling"), buf, sizeof(buf)), EPERM);
	g_free(sibling);

	assert_fails(symlink("x", P(fx, "rel")), EEXIST);
	struct stat st;
	assert_fails(lstat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "", 0);
	assert_fails(symlink("x", P(fx, "late")), EEXIST);
	assert_fails(readlink(P(fx, "target"), buf, sizeof(buf)), EINVAL);
}

static void test_link(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	put_file(B(fx, "f"), "shared", -1);
	put_file(B(fx, "other"), "", 0);
	struct stat a, b;
	/* Known to the kernel before the link: its cached count must go. */
	g_assert_cmpint(stat(P(fx, "f"), &a), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 1);
	assert_ok(link(P(fx, "f"), P(fx, "g")));
	/* Both names show the new count at once (SFTP's STAT has none:
	 * learnt from the directory's listing). */
	g_assert_cmpint(stat(P(fx, "f"), &a), ==, 0);
	g_assert_cmpint(stat(P(fx, "g"), &b), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
	g_assert_cmpuint(b.st_nlink, ==, 2);
	assert_ok(link(P(fx, "g"), P(fx, "h3")));
	g_assert_cmpint(stat(P(fx, "f"), &a), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 3);
	assert_ok(unlink(P(fx, "h3")));
	g_assert_cmpint(stat(P(fx, "f"), &a), ==, 0);
	g_assert_cmpint(stat(P(fx, "g"), &b), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
	g_assert_cmpuint(b.st_nlink, ==, 2);
	g_assert_cmpint(stat(B(fx, "f"), &a), ==, 0);
	g_assert_cmpint(stat(B(fx, "g"), &b), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
	g_assert_cmpuint(a.st_ino, ==, b.st_ino);
	assert_fails(link(P(fx, "f"), P(fx, "other")), EEXIST);
	assert_fails(link(P(fx, "missing"), P(fx, "h")), ENOENT);

	struct stat st;
	assert_fails(stat(P(fx, "late"), &st), ENOENT);
	put_file(B(fx, "late"), "", 0);
	assert_fails(link(P(fx, "f"), P(fx, "late")), EEXIST);
	g_assert_cmpint(stat(B(fx, "f"), &a), ==, 0);
	g_assert_cmpuint(a.st_nlink, ==, 2);
}

static void test_names(Fixture *fx, gconstpointer data)
{
	(void)data;
	REQUIRE_MOUNT(fx);
	const char *names[] = { "with space", "ünïcødé ☃ 日本", "new\nline", " lead", "trail " };
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		int fd = open(P(fx, names[i]), O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_ok(fd);
		g_assert_true(write_all(fd, names[i], strlen(names[i])));
		close(fd);
		gsize len;
		char *got = get_file(B(fx, names[i]), &len);
		g_assert_cmpstr(got, ==, names[i]);
		g_free(got);
	}
	g_mkdir(B(fx, "dir with ☃"), 0755);
	put_file(B(fx, "dir with ☃/in\nside"), "deep", 4);
	GByteArray *deep = read_all(P(fx, "dir with ☃/in\nside"));
	g_assert_nonnull(deep);
	if (deep != NULL) {
		g_assert_cmpmem(deep->data, deep->len, "deep", 4);
		g_byte_array_unref(deep);
	}

	DIR *dir = opendir(fx->mnt);
	g_assert_nonnull(dir);
	guint found = 0;
	struct dirent *de;
	while (dir != NULL && (de = readdir(dir)) != NULL)
		for (guint i = 0; i < G_N_ELEMENTS(names); i++)
			if (strcmp(de->d_name, names[i]) == 0)
				found++;
	if (dir != NULL)
		closedir(dir);
	g_assert_cmpuint(found, ==, G_N_ELEMENTS(names));

	assert_ok(rename(P(fx, "new\nline"), P(fx, "dir with ☃/moved ☃")));
	struct stat bst;
	g_assert_cmpint(stat(B(fx, "dir with ☃/moved ☃"), &bst), ==, 0);
	assert_ok(unlink(P(fx, "ünïcødé ☃ 日本")));
	assert_fails(stat(B(fx, "ünïcødé ☃ 日本"), &bst), ENOENT);
}

int main(int argc, char **argv)
{
	ops_tests_init(&argc, &argv);
	ADD("/fs/ops/readdir", plain, test_readdir);
	ADD("/fs/ops/mkdir-rmdir", negcache, test_mkdir_rmdir);
	ADD("/fs/ops/rename", negcache, test_rename);
	ADD("/fs/ops/symlink", negcache, test_symlink);
	ADD("/fs/ops/symlink-transform", transform, test_symlink);
	ADD("/fs/ops/link", negcache, test_link);
	ADD("/fs/ops/names", plain, test_names);
	return g_test_run();
}
