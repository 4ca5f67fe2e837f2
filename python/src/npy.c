/*
 * npy.c - the npy part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_npy(PyObject *module)
{
    (void)module;
    return 0;
}
