/* `jumpfs status` as text: one block per mount, a line per hop and per
 * SFTP channel, from the status document's mounts (cli/status-data.h).
 * Fields that are missing or of another type print as "?", so a
 * document of a newer or broken daemon never crashes the client. */
#ifndef JUMPFS_CLI_STATUS_TEXT_H
#define JUMPFS_CLI_STATUS_TEXT_H

#include <glib.h>

/* mounts: GVariant * a{sv}. Times in tz (NULL: local); those of the day
 * of now_us (wall clock, us) without the date. */
char *status_text_format(GPtrArray *mounts, GTimeZone *tz, gint64 now_us);

/* "512 B", "12.3 KiB", "4.0 MiB". */
char *status_text_bytes(guint64 bytes);

#endif
