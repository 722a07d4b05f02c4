/* jumpfs --check: build the chain hop by hop and say what happened. */
#ifndef JUMPFS_CLI_CHECK_H
#define JUMPFS_CLI_CHECK_H

#include "chain/config.h"

/* Prints a report on stdout; returns the exit status (0 = all works). */
int check_chain(const ChainSpec *chain);

#endif
