/* Where messages go: stderr in the foreground, syslog/journal once the
 * daemon is detached. */
#ifndef JUMPFS_CLI_LOG_H
#define JUMPFS_CLI_LOG_H

#include <glib.h>

void log_setup(gboolean debug);
void log_to_syslog(void);

#endif
