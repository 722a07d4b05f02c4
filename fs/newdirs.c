/* Names surely absent from the directories this mount made (fs/newdirs.h). */
#include "fs/newdirs.h"

#include <string.h>

/* Directories followed at most: a tree of more is followed in part. */
#define NEWDIRS_MAX 4096

typedef struct {
	gint64 made_at;       /* monotonic */
	GHashTable *touched;  /* names (owned) in it that may exist */
} NewDir;

struct NewDirs {
	GMutex lock;
	gint64 timeout_us;
	GHashTable *dirs;     /* path (owned) -> NewDir * (owned) */
};

static void newdir_free(NewDir *dir)
{
	g_hash_table_destroy(dir->touched);
	g_free(dir);
}

NewDirs *newdirs_new(double timeout_s)
{
	NewDirs *dirs = g_new0(NewDirs, 1);
	g_mutex_init(&dirs->lock);
	dirs->timeout_us = (gint64)(timeout_s * G_TIME_SPAN_SECOND);
	dirs->dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)newdir_free);
	return dirs;
}

void newdirs_free(NewDirs *dirs)
{
	if (dirs == NULL)
		return;
	g_hash_table_destroy(dirs->dirs);
	g_mutex_clear(&dirs->lock);
	g_free(dirs);
}

static gboolean newdirs_expired(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	return ((NewDir *)value)->made_at < *(gint64 *)data;
}

void newdirs_made(NewDirs *dirs, const char *path)
{
	if (dirs->timeout_us <= 0)
		return;
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&dirs->lock);
	if (g_hash_table_size(dirs->dirs) >= NEWDIRS_MAX) {
		gint64 horizon = now - dirs->timeout_us;
		g_hash_table_foreach_remove(dirs->dirs, newdirs_expired, &horizon);
	}
	if (g_hash_table_size(dirs->dirs) < NEWDIRS_MAX) {
		NewDir *dir = g_new0(NewDir, 1);
		dir->made_at = now;
		dir->touched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_replace(dirs->dirs, g_strdup(path), dir);
	}
	g_mutex_unlock(&dirs->lock);
}

static gboolean newdirs_under(gpointer key, gpointer value, gpointer data)
{
	(void)value;
	const char *prefix = data;
	size_t len = strlen(prefix);
	return strncmp(key, prefix, len) == 0 && ((const char *)key)[len] == '/';
}

void newdirs_touched(NewDirs *dirs, const char *path, gboolean subtree)
{
	if (dirs->timeout_us <= 0 || path == NULL)
		return;
	g_autofree char *parent = g_path_get_dirname(path);
	g_autofree char *name = g_path_get_basename(path);
	g_mutex_lock(&dirs->lock);
	NewDir *dir = g_hash_table_lookup(dirs->dirs, parent);
	if (dir != NULL)
		g_hash_table_add(dir->touched, g_steal_pointer(&name));
	if (subtree) {
		g_hash_table_remove(dirs->dirs, path);
		g_hash_table_foreach_remove(dirs->dirs, newdirs_under, (gpointer)path);
	}
	g_mutex_unlock(&dirs->lock);
}

gboolean newdirs_absent(NewDirs *dirs, const char *path)
{
	if (dirs->timeout_us <= 0 || path == NULL || strcmp(path, "/") == 0)
		return FALSE;
	g_autofree char *parent = g_path_get_dirname(path);
	const char *name = strrchr(path, '/') + 1;
	gboolean absent = FALSE;
	g_mutex_lock(&dirs->lock);
	NewDir *dir = g_hash_table_lookup(dirs->dirs, parent);
	if (dir != NULL && g_get_monotonic_time() - dir->made_at >= dirs->timeout_us) {
		g_hash_table_remove(dirs->dirs, parent);
		dir = NULL;
	}
	if (dir != NULL)
		absent = !g_hash_table_contains(dir->touched, name);
	g_mutex_unlock(&dirs->lock);
	return absent;
}
