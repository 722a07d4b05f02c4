/* Where messages go: stderr in the foreground, syslog/journal once the
 * daemon is detached. libfuse's own messages take the same way. */
#ifndef JUMPFS_CLI_LOG_H
#define JUMPFS_CLI_LOG_H

#include <glib.h>

void log_setup(gboolean debug);
void log_to_syslog(void);
/* A failure that ends jumpfs before the mount is up: it is printed on
 * stderr by the caller; when stderr is no terminal (fstab at boot,
 * systemd automount) it goes to syslog as well, where people look. */
void log_failure_unattended(const char *message);

#endif
