#include "chain/errors.h"

G_DEFINE_QUARK(jumpfs-error-quark, jumpfs_error)
