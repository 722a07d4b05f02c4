/* The status document: what `jumpfs status` shows of the mounts one
 * process serves, as a GVariant that travels over the control socket
 * (CONTROL_DOCUMENT) and that the client prints as text or JSON.
 *
 * Every dictionary is a{sv} and its keys are the JSON field names
 * (docs/status.md documents each; they are stable: add, never rename).
 * The document:
 *   version  u  STATUS_DATA_VERSION
 *   mounts   aa{sv}, each:
 *     mount_point, source, remote_root  s
 *     pid  i   (the process serving it)   shared  b (the user's daemon)
 *     reconnect, hard  b    max_conns  u
 *     write_behind_queued_bytes  t
 *     hops  aa{sv}: hop (1-based) u, hops u, address s, state s
 *       ("up" "connecting" "reconnecting" "down"), since_unix_us mx,
 *       why ms, why_code ms (chain/errors.h names), auth_method ms,
 *       logins u, rtt_us mx, last_rx_age_us mx, bytes_in t, bytes_out t,
 *       channels u, opens_pending u, keepalives_missed u
 *     channels  aa{sv}: channel (1-based) u, open b,
 *       requests_in_flight u
 *
 * Building it reads counters under short locks only: never the network. */
#ifndef JUMPFS_CLI_STATUS_DATA_H
#define JUMPFS_CLI_STATUS_DATA_H

#include <glib.h>

#include "cli/mount.h"

#define STATUS_DATA_VERSION 1

/* One mount's a{sv} (floating). The mount must stay alive meanwhile. */
GVariant *status_data_mount(Mount *mount, gboolean shared);
/* The document over mounts (GVariant * a{sv}, floating refs sunk). */
GVariant *status_data_document(GPtrArray *mounts);

/* For the control frame (strings cannot hold NUL bytes): base64 of the
 * serialized document. */
char *status_data_encode(GVariant *document);
/* The document from a frame, or NULL with *error (JUMPFS_ERROR_PROTOCOL)
 * when it is not a well-formed document of this version. */
GVariant *status_data_decode(const char *text, GError **error);

/* Its mounts, each an a{sv} (new references), in document order. */
GPtrArray *status_data_mounts(GVariant *document);

#endif
