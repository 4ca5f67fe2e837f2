/*
 * memfile.c - the memfile part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_memfile(PyObject *module)
{
    (void)module;
    return 0;
}
