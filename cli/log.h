/* Where messages go: stderr in the foreground, syslog/journal once the
 * daemon is detached. libfuse's own messages take the same way. */
#ifndef JUMPFS_CLI_LOG_H
#define JUMPFS_CLI_LOG_H

#include <glib.h>

/* First thing in main(): GLib's and libfuse's messages take our way from
 * then on. Debug messages are dropped until log_set_debug(TRUE). */
void log_setup(void);
void log_set_debug(gboolean debug);
/* Until _end, FUSE's error messages from the calling thread are kept
 * (returned by _end, owned by the caller) instead of logged. */
void log_fuse_capture_begin(void);
char *log_fuse_capture_end(void);
void log_to_syslog(void);
/* A failure that ends jumpfs before the mount is up: it is printed on
 * stderr by the caller; when stderr is no terminal (fstab at boot,
 * systemd automount) it goes to syslog as well, where people look. */
void log_failure_unattended(const char *message);

#endif
