/*
 * value.c - Python objects to stash value trees and back (being written).
 */
#include "stashpy.h"

int stashpy_value_from_object(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed)
{
    (void)obj, (void)out, (void)borrowed;
    PyErr_SetString(PyExc_NotImplementedError, "value conversion is being written");
    return -1;
}

void stashpy_borrowed_release(stashpy_borrowed *borrowed)
{
    (void)borrowed;
}

PyObject *stashpy_value_to_object(stash_value **value)
{
    stash_value_free(value);
    PyErr_SetString(PyExc_NotImplementedError, "value conversion is being written");
    return NULL;
}

int stashpy_add_value(PyObject *module)
{
    (void)module;
    return 0;
}
