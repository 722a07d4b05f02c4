/* Which symlink targets stay inside the mount (see fs/symlinks.h). */
#include "fs/symlinks.h"

#include <string.h>

/* target inside root: the part after root ("" for root itself), else NULL. */
static const char *symlinks_inside_root(const char *root, const char *target)
{
	if (strcmp(root, "/") == 0)
		return target + 1;
	size_t len = strlen(root);
	if (strncmp(target, root, len) != 0)
		return NULL;
	if (target[len] == '\0')
		return target + len;
	if (target[len] == '/')
		return target + len + 1;
	return NULL; /* "/root2/x" is not inside "/root" */
}

/* How many directories deep the link sits: "/l" 0, "/a/b/l" 2. */
static guint symlinks_link_depth(const char *link_path)
{
	guint depth = 0;
	for (const char *p = link_path + 1; *p != '\0'; p++)
		if (*p == '/')
			depth++;
	return depth;
}

/* "../" once per level of the link's directory, then rest ("." if all
 * is empty). */
static char *symlinks_relative(const char *link_path, const char *rest)
{
	GString *rel = g_string_new(NULL);
	for (guint i = symlinks_link_depth(link_path); i > 0; i--)
		g_string_append(rel, "../");
	g_string_append(rel, rest);
	while (rel->len > 1 && rel->str[rel->len - 1] == '/')
		g_string_truncate(rel, rel->len - 1);
	if (rel->len == 0)
		g_string_append_c(rel, '.');
	return g_string_free(rel, FALSE);
}

char *symlinks_transform(const char *root, const char *link_path, const char *target)
{
	if (target[0] != '/')
		return NULL;
	const char *rest = symlinks_inside_root(root, target);
	return rest != NULL ? symlinks_relative(link_path, rest) : NULL;
}

static char *symlinks_join(GPtrArray *parts)
{
	GString *path = g_string_new(NULL);
	for (guint i = 0; i < parts->len; i++) {
		g_string_append_c(path, '/');
		g_string_append(path, g_ptr_array_index(parts, i));
	}
	if (path->len == 0)
		g_string_append_c(path, '/');
	return g_string_free(path, FALSE);
}

/* Walks rel from the directory parts (FUSE path components; the first
 * real_len of them are real directories). FALSE when ".." leaves the
 * mount. */
static gboolean symlinks_walk(GPtrArray *parts, guint real_len, const char *rel,
			      GPtrArray *must_be_dirs)
{
	gchar **components = g_strsplit(rel, "/", -1);
	gboolean inside = TRUE;
	for (gchar **c = components; *c != NULL && inside; c++) {
		if (**c == '\0' || strcmp(*c, ".") == 0)
			continue;
		if (strcmp(*c, "..") != 0) {
			g_ptr_array_add(parts, *c);
			continue;
		}
		if (parts->len == 0) {
			inside = FALSE; /* above the mount's root */
			break;
		}
		if (parts->len > real_len)
			g_ptr_array_add(must_be_dirs, symlinks_join(parts));
		else
			real_len--;
		g_ptr_array_set_size(parts, parts->len - 1);
	}
	g_ptr_array_unref(parts); /* borrows the strings */
	g_strfreev(components);
	return inside;
}

char *symlinks_contain(const char *root, const char *link_path, const char *target,
		       GPtrArray *must_be_dirs)
{
	if (target[0] == '\0')
		return NULL; /* no file has that name */
	GPtrArray *parts = g_ptr_array_new();
	if (target[0] == '/') {
		const char *rest = symlinks_inside_root(root, target);
		if (rest == NULL) {
			g_ptr_array_unref(parts);
			return NULL;
		}
		if (!symlinks_walk(parts, 0, rest, must_be_dirs))
			return NULL;
		return symlinks_relative(link_path, rest);
	}
	/* The link's directory, as real components. */
	gchar **dir = g_strsplit(link_path + 1, "/", -1);
	guint n = g_strv_length(dir);
	for (guint i = 0; i + 1 < n; i++)
		if (*dir[i] != '\0')
			g_ptr_array_add(parts, dir[i]);
	gboolean inside = symlinks_walk(parts, parts->len, target, must_be_dirs);
	g_strfreev(dir);
	return inside ? g_strdup(target) : NULL;
}
