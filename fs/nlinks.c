/* Link counts learnt from listings and link(2) (see fs/nlinks.h). */
#include "fs/nlinks.h"

#include <string.h>
#include <sys/stat.h>

typedef struct {
	uint32_t nlink;
	uint64_t size;
	uint32_t mtime;
	gint64 expires;       /* monotonic microseconds */
	gboolean rekey;       /* changed through the mount: the next
			       * attributes seen are the file's own */
} FsNlinkEntry;

struct FsNlinks {
	GMutex lock;
	GHashTable *paths;    /* char * -> FsNlinkEntry * */
	gint64 timeout_us;
};

FsNlinks *fs_nlinks_new(double timeout)
{
	FsNlinks *nlinks = g_new0(FsNlinks, 1);
	g_mutex_init(&nlinks->lock);
	nlinks->paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	nlinks->timeout_us = (gint64)(timeout * G_USEC_PER_SEC);
	return nlinks;
}

void fs_nlinks_free(FsNlinks *nlinks)
{
	if (nlinks == NULL)
		return;
	g_hash_table_unref(nlinks->paths);
	g_mutex_clear(&nlinks->lock);
	g_free(nlinks);
}

static gboolean fs_nlinks_usable(const SftpAttrs *attrs)
{
	return (attrs->flags & SFTP_ATTR_PERMISSIONS) && S_ISREG(attrs->permissions) &&
	       (attrs->flags & SFTP_ATTR_SIZE) && (attrs->flags & SFTP_ATTR_ACMODTIME);
}

static gboolean fs_nlinks_expired(gpointer key, gpointer value, gpointer now)
{
	(void)key;
	return ((FsNlinkEntry *)value)->expires <= *(gint64 *)now;
}

void fs_nlinks_learn(FsNlinks *nlinks, const char *path, const SftpAttrs *attrs,
		     uint32_t nlink)
{
	if (nlinks->timeout_us <= 0 || !fs_nlinks_usable(attrs) ||
	    strlen(path) > NLINKS_MAX_PATH)
		return;
	g_mutex_lock(&nlinks->lock);
	if (nlink <= 1) {
		g_hash_table_remove(nlinks->paths, path);
		g_mutex_unlock(&nlinks->lock);
		return;
	}
	gint64 now = g_get_monotonic_time();
	if (g_hash_table_size(nlinks->paths) >= NLINKS_MAX) {
		g_hash_table_foreach_remove(nlinks->paths, fs_nlinks_expired, &now);
		if (g_hash_table_size(nlinks->paths) >= NLINKS_MAX)
			g_hash_table_remove_all(nlinks->paths);
	}
	FsNlinkEntry *entry = g_new(FsNlinkEntry, 1);
	*entry = (FsNlinkEntry){ nlink, attrs->size, attrs->mtime,
				 now + nlinks->timeout_us, FALSE };
	g_hash_table_replace(nlinks->paths, g_strdup(path), entry);
	g_mutex_unlock(&nlinks->lock);
}

void fs_nlinks_linked(FsNlinks *nlinks, const char *from, const char *to,
		      const SftpAttrs *attrs, uint32_t nlink,
		      void (*changed)(const char *path))
{
	uint32_t before = fs_nlinks_get(nlinks, from, attrs);
	g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func(g_free);
	if (before > 1 && fs_nlinks_usable(attrs)) {
		g_mutex_lock(&nlinks->lock);
		GHashTableIter iter;
		const char *other;
		FsNlinkEntry *entry;
		g_hash_table_iter_init(&iter, nlinks->paths);
		while (g_hash_table_iter_next(&iter, (gpointer *)&other, (gpointer *)&entry)) {
			if (entry->nlink == before && entry->size == attrs->size &&
			    entry->mtime == attrs->mtime && strcmp(other, from) != 0) {
				entry->nlink = nlink;
				g_ptr_array_add(others, g_strdup(other));
			}
		}
		g_mutex_unlock(&nlinks->lock);
	}
	fs_nlinks_learn(nlinks, from, attrs, nlink);
	fs_nlinks_learn(nlinks, to, attrs, nlink);
	if (changed == NULL)
		return;
	changed(from);
	for (guint i = 0; i < others->len; i++)
		changed(others->pdata[i]);
}

uint32_t fs_nlinks_get(FsNlinks *nlinks, const char *path, const SftpAttrs *attrs)
{
	uint32_t nlink = 1;
	if (!fs_nlinks_usable(attrs))
		return nlink;
	g_mutex_lock(&nlinks->lock);
	FsNlinkEntry *entry = g_hash_table_lookup(nlinks->paths, path);
	if (entry != NULL && entry->expires <= g_get_monotonic_time()) {
		g_hash_table_remove(nlinks->paths, path);
	} else if (entry != NULL && entry->rekey) {
		entry->size = attrs->size;
		entry->mtime = attrs->mtime;
		entry->rekey = FALSE;
		nlink = entry->nlink;
	} else if (entry != NULL && entry->size == attrs->size &&
		   entry->mtime == attrs->mtime) {
		nlink = entry->nlink;
	}
	/* Otherwise changed behind our back, or being written: 1 until it
	 * is relisted, or the change through the mount is complete. */
	g_mutex_unlock(&nlinks->lock);
	return nlink;
}

void fs_nlinks_removed(FsNlinks *nlinks, const char *path, const char *to,
		       void (*changed)(const char *path))
{
	g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func(g_free);
	g_mutex_lock(&nlinks->lock);
	gpointer key;
	FsNlinkEntry *gone = NULL;
	if (g_hash_table_steal_extended(nlinks->paths, path, &key, (gpointer *)&gone))
		g_free(key);
	if (to != NULL && gone != NULL) {
		/* A rename: the same links under another name. */
		g_hash_table_replace(nlinks->paths, g_strdup(to), gone);
		gone = NULL;
	}
	if (gone != NULL) {
		/* Names that look like the same file lose the link. */
		GHashTableIter iter;
		const char *other;
		FsNlinkEntry *entry;
		g_hash_table_iter_init(&iter, nlinks->paths);
		while (g_hash_table_iter_next(&iter, (gpointer *)&other, (gpointer *)&entry)) {
			if (entry->nlink == gone->nlink && entry->size == gone->size &&
			    entry->mtime == gone->mtime) {
				g_ptr_array_add(others, g_strdup(other));
				if (--entry->nlink <= 1)
					g_hash_table_iter_remove(&iter);
			}
		}
		g_free(gone);
	}
	g_mutex_unlock(&nlinks->lock);
	for (guint i = 0; changed != NULL && i < others->len; i++)
		changed(others->pdata[i]);
}

void fs_nlinks_touched(FsNlinks *nlinks, const char *path)
{
	g_mutex_lock(&nlinks->lock);
	FsNlinkEntry *changed = g_hash_table_lookup(nlinks->paths, path);
	if (changed != NULL) {
		FsNlinkEntry was = *changed;
		GHashTableIter iter;
		FsNlinkEntry *entry;
		g_hash_table_iter_init(&iter, nlinks->paths);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&entry))
			if (entry->nlink == was.nlink && entry->size == was.size &&
			    entry->mtime == was.mtime)
				entry->rekey = TRUE;
	}
	g_mutex_unlock(&nlinks->lock);
}
