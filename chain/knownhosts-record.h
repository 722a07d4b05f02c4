/* Adding a host key to known_hosts, as OpenSSH's add_host_to_hostfile()
 * does: one line "NAME TYPE BASE64" appended to the first
 * UserKnownHostsFile, NAME lowercased, or hashed (|1|salt|hash) with
 * HashKnownHosts; ~/.ssh is created (0700) when the file is in it and it
 * does not exist yet. One difference: when the file does not end with a
 * newline, one is added first (OpenSSH would glue the new entry onto the
 * last line and spoil both).
 *
 * Pure: GLib only. The line goes out in one write() with O_APPEND, so two
 * processes recording at once cannot interleave inside a line. */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_RECORD_H
#define JUMPFS_CHAIN_KNOWNHOSTS_RECORD_H

#include <glib.h>
#include "chain/knownhosts-key.h"

/* home_dir: where ~/.ssh is (NULL = g_get_home_dir()). On success
 * returns TRUE and the number of the line written in *line. */
gboolean knownhosts_record(const char *path, const char *name,
			   const KnownHostsKey *key, gboolean hash,
			   const char *home_dir, guint *line, GError **error);

/* OpenSSH never records a host whose name has one of @?*#[]|'"\ in it
 * (check_host_key(): it could not be matched back). */
gboolean knownhosts_record_name_ok(const char *hostname);

#endif
