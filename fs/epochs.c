/* Write epochs by path hash (see fs/epochs.h). */
#include "fs/epochs.h"

static gint *fs_epochs_slot(const FsEpochs *epochs, const char *path)
{
	guint h = g_str_hash(path != NULL ? path : "");
	return (gint *)&epochs->slots[h % G_N_ELEMENTS(epochs->slots)];
}

void fs_epochs_bump(FsEpochs *epochs, const char *path)
{
	g_atomic_int_inc(fs_epochs_slot(epochs, path));
}

guint fs_epochs_get(const FsEpochs *epochs, const char *path)
{
	return (guint)g_atomic_int_get(fs_epochs_slot(epochs, path));
}
