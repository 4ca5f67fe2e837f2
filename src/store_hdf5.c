#include "store_internal.h"
stash_status store_hdf5_open(const char *path, const stash_store_options *options, void **impl)
{
    (void)path; (void)options; (void)impl;
    return STASH_E_UNSUPPORTED;
}
const struct store_ops store_hdf5_ops = {.name = "hdf5"};
