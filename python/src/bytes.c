/*
 * bytes.c - the bytes part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_bytes(PyObject *module)
{
    (void)module;
    return 0;
}
