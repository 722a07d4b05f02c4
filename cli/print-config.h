/* `jumpfs -G`: print the resolved configuration, as `ssh -G` does. */
#ifndef JUMPFS_CLI_PRINT_CONFIG_H
#define JUMPFS_CLI_PRINT_CONFIG_H

#include <glib.h>

/* argv[1] is -G. */
gboolean print_config_requested(int argc, char **argv);
/* The whole command; returns the exit status (255 on a config error, as
 * ssh). */
int print_config_main(int argc, char **argv);

#endif
