/*
 * region.c - memory that Python views keep alive.
 *
 * A Region owns one resource (a mapping, a C handle, a value tree) and
 * releases it when its last reference goes. A handle holds one reference
 * and drops it at close(); every View holds one too, so closing a handle
 * while NumPy arrays still view its memory defers the release until the
 * last of them is gone, instead of leaving them pointing at unmapped pages.
 *
 * A View exports one typed window of a region through the buffer protocol
 * (format, shape, strides), so numpy.asarray(view) is a zero-copy ndarray
 * whose base chain ends at the region. The region counts its live views,
 * which is what a resize checks before it moves memory.
 */
#include "stashpy.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    void *resource;
    stashpy_release_fn release;
    Py_ssize_t views;
} Region;

typedef struct {
    PyObject_HEAD
    PyObject *region;
    void *data;
    Py_ssize_t len, itemsize;
    int ndim;
    bool writable, c_order, f_order;
    char format[8];
    Py_ssize_t *shape;   /* ndim entries, then ndim strides */
} View;

static void region_dealloc(PyObject *self)
{
    Region *region = (Region *)self;
    if (region->release)
        region->release(region->resource);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject RegionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash.Region",
    .tp_doc = "Memory owned by a stash handle, kept alive by the views of it.",
    .tp_basicsize = sizeof(Region),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = region_dealloc,
};

PyObject *stashpy_region_new(void *resource, stashpy_release_fn release)
{
    Region *region = PyObject_New(Region, &RegionType);
    if (!region) {
        if (release)
            release(resource);
        return NULL;
    }
    region->resource = resource;
    region->release = release;
    region->views = 0;
    return (PyObject *)region;
}

void *stashpy_region_resource(PyObject *region)
{
    return ((Region *)region)->resource;
}

Py_ssize_t stashpy_region_exports(PyObject *region)
{
    return ((Region *)region)->views;
}

/* ---- View ------------------------------------------------------------------ */

static int view_getbuffer(PyObject *self, Py_buffer *buffer, int flags)
{
    View *view = (View *)self;
    if ((flags & PyBUF_WRITABLE) && !view->writable) {
        PyErr_SetString(PyExc_BufferError, "stash: this view is read-only");
        return -1;
    }
    bool with_shape = (flags & PyBUF_ND) == PyBUF_ND;
    bool with_strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES;
    if (with_shape && !with_strides && !view->c_order) {
        PyErr_SetString(PyExc_BufferError, "stash: this view is Fortran-ordered; ask for strides");
        return -1;
    }
    /* A consumer that asks for one order relies on it and reads no strides. */
    if (((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS && !view->c_order) ||
        ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && !view->f_order)) {
        PyErr_SetString(PyExc_BufferError, "stash: this view is not in the order asked for");
        return -1;
    }
    buffer->buf = view->data;
    buffer->obj = Py_NewRef(self);
    buffer->len = view->len;
    buffer->readonly = !view->writable;
    /* Without shapes a consumer sees the bytes (contiguous in either order). */
    buffer->itemsize = with_shape ? view->itemsize : 1;
    buffer->format = !(flags & PyBUF_FORMAT) ? NULL : with_shape ? view->format : "B";
    buffer->ndim = with_shape ? view->ndim : 1;
    buffer->shape = with_shape ? view->shape : NULL;
    buffer->strides = with_strides ? view->shape + view->ndim : NULL;
    buffer->suboffsets = NULL;
    buffer->internal = NULL;
    return 0;
}

static void view_dealloc(PyObject *self)
{
    View *view = (View *)self;
    ((Region *)view->region)->views--;
    Py_DECREF(view->region);
    PyMem_Free(view->shape);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs view_as_buffer = {.bf_getbuffer = view_getbuffer};

static PyTypeObject ViewType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash.View",
    .tp_doc = "A typed window of stash memory, exported through the buffer protocol.",
    .tp_basicsize = sizeof(View),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = view_dealloc,
    .tp_as_buffer = &view_as_buffer,
};

/* Strides of a contiguous array in desc's order. */
static void fill_strides(const stash_array_desc *desc, Py_ssize_t itemsize, Py_ssize_t *shape,
                         Py_ssize_t *strides)
{
    int ndim = (int)desc->ndim;
    Py_ssize_t step = itemsize;
    for (int k = 0; k < ndim; k++) {
        int i = desc->order == STASH_ORDER_F ? k : ndim - 1 - k;
        strides[i] = step;
        step *= shape[i];
    }
}

PyObject *stashpy_view_new(PyObject *region, const void *data, const stash_array_desc *desc,
                           bool writable)
{
    uint64_t nbytes;
    if (stashpy_check(stash_array_nbytes(desc, &nbytes)))
        return NULL;
    if (nbytes > PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    View *view = PyObject_New(View, &ViewType);
    if (!view)
        return NULL;
    view->shape = PyMem_Calloc(2 * (desc->ndim ? desc->ndim : 1), sizeof(Py_ssize_t));
    if (!view->shape) {
        view->region = NULL;
        Py_TYPE(view)->tp_free(view);
        return PyErr_NoMemory();
    }
    view->region = Py_NewRef(region);
    ((Region *)region)->views++;
    view->data = (void *)data;
    view->len = (Py_ssize_t)nbytes;
    view->itemsize = (Py_ssize_t)stash_dtype_size(desc->dtype);
    view->ndim = (int)desc->ndim;
    view->writable = writable;
    bool both = stash_array_layout_is_trivial(desc); /* one long dimension at most */
    view->c_order = desc->order == STASH_ORDER_C || both;
    view->f_order = desc->order == STASH_ORDER_F || both;
    snprintf(view->format, sizeof view->format, "%s", stashpy_format(desc));
    for (unsigned i = 0; i < desc->ndim; i++)
        view->shape[i] = (Py_ssize_t)desc->shape[i];
    fill_strides(desc, view->itemsize, view->shape, view->shape + desc->ndim);
    return (PyObject *)view;
}

static PyObject *numpy_module;

PyObject *stashpy_numpy(void)
{
    if (!numpy_module)
        numpy_module = PyImport_ImportModule("numpy");
    return numpy_module;
}

PyObject *stashpy_array_view(PyObject *region, const void *data, const stash_array_desc *desc,
                             bool writable)
{
    PyObject *numpy = stashpy_numpy();
    if (!numpy)
        return NULL;
    PyObject *view = stashpy_view_new(region, data, desc, writable);
    if (!view)
        return NULL;
    PyObject *array = PyObject_CallMethod(numpy, "asarray", "O", view);
    Py_DECREF(view);
    return array;
}

PyObject *stashpy_bytes_view(PyObject *region, const void *data, size_t len, bool writable)
{
    stash_array_desc desc;
    uint64_t shape[1] = {len};
    if (stashpy_check(stash_array_desc_init(&desc, STASH_DTYPE_UINT8, 1, shape)))
        return NULL;
    PyObject *view = stashpy_view_new(region, data, &desc, writable);
    if (!view)
        return NULL;
    PyObject *memory = PyMemoryView_FromObject(view);
    Py_DECREF(view);
    return memory;
}

void stashpy_release_malloced(void *data)
{
    free(data);
}

PyObject *stashpy_owned_array(void *data, const stash_array_desc *desc)
{
    PyObject *region = stashpy_region_new(data, stashpy_release_malloced); /* frees on failure */
    if (!region)
        return NULL;
    PyObject *array = stashpy_array_view(region, data, desc, true);
    Py_DECREF(region);
    return array;
}

int stashpy_add_region(PyObject *module)
{
    (void)module;
    if (PyType_Ready(&RegionType) < 0 || PyType_Ready(&ViewType) < 0)
        return -1;
    return 0;
}
