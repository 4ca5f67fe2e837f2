/*
 * store.c - the store part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_store(PyObject *module)
{
    (void)module;
    return 0;
}
