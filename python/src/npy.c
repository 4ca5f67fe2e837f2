/*
 * npy.c - NumPy's NPY files from Python: the functions under stash.npy.
 *
 * save writes what numpy.save writes (stash_npy_save, atomically); load
 * reads a copy the caller may write to, as numpy.load returns; map shows the
 * file's data with zero copies, read-only, through a Region that owns the
 * mapping, so the array keeps the mapping alive on its own; info describes a
 * file from its header alone. Every call does file I/O, so the GIL is
 * released around the C call whatever the size.
 */
#include "stashpy.h"

static PyObject *npy_save(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "array", "durable", NULL};
    PyObject *path, *array;
    int durable = 0;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&O|p:save", keywords,
                                     PyUnicode_FSConverter, &path, &array, &durable))
        return NULL;
    Py_buffer view;
    stash_array_desc desc;
    if (stashpy_buffer_get(array, &view, &desc, 0) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_npy_save(PyBytes_AS_STRING(path), &desc, view.buf,
                            durable ? STASH_NPY_DURABLE : 0);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *result = status < 0 ? stashpy_raise_fspath(status, path) : Py_NewRef(Py_None);
    Py_DECREF(path);
    return result;
}

static PyObject *npy_load(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", NULL};
    PyObject *path;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&:load", keywords, PyUnicode_FSConverter,
                                     &path))
        return NULL;
    stash_array_desc desc;
    void *data = NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_npy_load(PyBytes_AS_STRING(path), &desc, &data);
    Py_END_ALLOW_THREADS
    PyObject *result = status < 0 ? stashpy_raise_fspath(status, path)
                                  : stashpy_owned_array(data, &desc);
    Py_DECREF(path);
    return result;
}

static void close_map(void *map)
{
    stash_npy_map *m = map;
    stash_npy_map_close(&m); /* a read-only unmap: nothing to report */
}

static PyObject *npy_map(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", NULL};
    PyObject *path;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&:map", keywords, PyUnicode_FSConverter,
                                     &path))
        return NULL;
    stash_npy_map *map = NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_npy_map_open(PyBytes_AS_STRING(path), &map);
    Py_END_ALLOW_THREADS
    if (status < 0) {
        stashpy_raise_fspath(status, path);
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    /* The region is the mapping's only owner once it exists: the array's
     * View holds it, so the mapping lives exactly as long as the array. */
    PyObject *region = stashpy_region_new(map, close_map);
    if (!region)
        return NULL;
    PyObject *array = stashpy_array_view(region, stash_npy_map_data(map),
                                         &stash_npy_map_header(map)->desc, false);
    Py_DECREF(region);
    return array;
}

/* (shape, dtype, fortran_order, (major, minor), data_offset, data_bytes) */
static PyObject *header_tuple(const stash_npy_header *h)
{
    PyObject *shape = PyTuple_New(h->desc.ndim);
    if (!shape)
        return NULL;
    for (unsigned i = 0; i < h->desc.ndim; i++) {
        PyObject *n = PyLong_FromUnsignedLongLong(h->desc.shape[i]);
        if (!n) {
            Py_DECREF(shape);
            return NULL;
        }
        PyTuple_SET_ITEM(shape, i, n);
    }
    PyObject *dtype = stashpy_dtype_object(&h->desc);
    if (!dtype) {
        Py_DECREF(shape);
        return NULL;
    }
    return Py_BuildValue("(NNO(II)KK)", shape, dtype,
                         h->desc.order == STASH_ORDER_F ? Py_True : Py_False, h->major, h->minor,
                         (unsigned long long)h->data_offset, (unsigned long long)h->data_bytes);
}

static stash_status read_header(const char *path, stash_npy_header *h)
{
    stash_stream *s;
    stash_status status = stash_stream_open_file(path, "r", &s);
    if (status < 0)
        return status;
    status = stash_npy_read_header(s, h);
    stash_status closed = stash_stream_close(&s);
    return status < 0 ? status : closed;
}

static PyObject *npy_info(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", NULL};
    PyObject *path;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&:info", keywords, PyUnicode_FSConverter,
                                     &path))
        return NULL;
    stash_npy_header h;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = read_header(PyBytes_AS_STRING(path), &h);
    Py_END_ALLOW_THREADS
    PyObject *result = status < 0 ? stashpy_raise_fspath(status, path) : header_tuple(&h);
    Py_DECREF(path);
    return result;
}

static PyMethodDef npy_methods[] = {
    {"_npy_save", (PyCFunction)(void (*)(void))npy_save, METH_VARARGS | METH_KEYWORDS,
     "_npy_save(path, array, durable=False): stash.npy.save."},
    {"_npy_load", (PyCFunction)(void (*)(void))npy_load, METH_VARARGS | METH_KEYWORDS,
     "_npy_load(path): stash.npy.load."},
    {"_npy_map", (PyCFunction)(void (*)(void))npy_map, METH_VARARGS | METH_KEYWORDS,
     "_npy_map(path): stash.npy.map."},
    {"_npy_info", (PyCFunction)(void (*)(void))npy_info, METH_VARARGS | METH_KEYWORDS,
     "_npy_info(path): the header's fields as a tuple, for stash.npy.info."},
    {NULL, NULL, 0, NULL},
};

int stashpy_add_npy(PyObject *module)
{
    return PyModule_AddFunctions(module, npy_methods);
}
