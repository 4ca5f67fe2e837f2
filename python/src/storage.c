/*
 * storage.c - the storage part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_storage(PyObject *module)
{
    (void)module;
    return 0;
}
