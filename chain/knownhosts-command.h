/* KnownHostsCommand: a program whose output is read as known_hosts lines,
 * run as OpenSSH 9.2's load_hostkeys_command() runs it: the command line
 * split into words (quotes and backslashes as argv_split()), every word
 * after the first expanded (the client tokens and %H %I %K %f %t, and
 * ${VAR}), the first word an absolute path, run directly (no shell) with
 * stdin from nothing, stdout read, stderr left as it is.
 *
 * Like ssh: a command that cannot be started is skipped with a warning
 * (and the files alone decide); one that exits with a failure status
 * refuses the connection. Unlike ssh, which waits forever, it gets the
 * hop's ConnectTimeout (default 30 s) and at most 16 MiB of output. */
#ifndef JUMPFS_CHAIN_KNOWNHOSTS_COMMAND_H
#define JUMPFS_CHAIN_KNOWNHOSTS_COMMAND_H

#include <glib.h>
#include "chain/config.h"
#include "chain/knownhosts-file.h"

/* invocation: "ORDER" (before the key exchange; key NULL) or "HOSTNAME"
 * (with the server's key). name is %H. The output goes into match, lines
 * marked from_command. FALSE with *error (naming the hop and the
 * command) when the command failed. */
gboolean knownhosts_command_read(const HopSpec *spec, const char *label,
				 const char *invocation, const char *name,
				 const KnownHostsKey *key, KnownHostsMatch *match,
				 GError **error);

/* argv_split(s, ..., terminate_on_comment=0); NULL on an unclosed quote. */
char **knownhosts_command_split(const char *text);

#endif
