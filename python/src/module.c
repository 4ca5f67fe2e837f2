/*
 * module.c - stash._stash: the extension module, assembled from its parts.
 *
 * Only PyInit__stash leaves the shared object (python/CMakeLists.txt); each
 * part adds its own names through stashpy_add_<part>() (stashpy.h).
 */
#include "stashpy.h"

static struct PyModuleDef stash_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "stash._stash",
    .m_doc = "The C extension under the stash package: use `import stash`.",
    .m_size = -1,
};

static int (*const parts[])(PyObject *) = {
    stashpy_add_errors,  stashpy_add_region, stashpy_add_value, stashpy_add_memfile,
    stashpy_add_npy,     stashpy_add_nco,    stashpy_add_store, stashpy_add_ring,
    stashpy_add_storage, stashpy_add_bytes,  stashpy_add_relay,
};

PyMODINIT_FUNC PyInit__stash(void)
{
    PyObject *module = PyModule_Create(&stash_module);
    if (!module)
        return NULL;
    if (PyModule_AddStringConstant(module, "__version__", stash_version_string()) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i](module) < 0)
            goto fail;
    return module;
fail:
    Py_DECREF(module);
    return NULL;
}
