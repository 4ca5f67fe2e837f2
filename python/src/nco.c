/*
 * nco.c - the nco part of stash._stash (being written).
 */
#include "stashpy.h"

int stashpy_add_nco(PyObject *module)
{
    (void)module;
    return 0;
}
