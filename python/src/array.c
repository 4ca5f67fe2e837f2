/*
 * array.c - the buffer protocol to stash_array_desc and back.
 *
 * Formats are struct-module codes with an optional byte-order prefix, as
 * NumPy exports them ("d", "<f", ">i", "Zd", "?"); element sizes come from
 * the buffer's itemsize, so "l" means int64 here as it does to NumPy.
 */
#include "stashpy.h"

#include <string.h>

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NATIVE_ORDER STASH_BIG_ENDIAN
#else
#define NATIVE_ORDER STASH_LITTLE_ENDIAN
#endif

/* The element type for a kind ('b' 'i' 'u' 'f' 'c') and size, or -1. */
static int dtype_of(char kind, Py_ssize_t size)
{
    static const struct {
        char kind;
        Py_ssize_t size;
        stash_dtype dtype;
    } types[] = {
#define STASHPY_TYPE_(name, numpy_name, kind, size) {kind, size, STASH_DTYPE_##name},
        STASH_DTYPE_TABLE(STASHPY_TYPE_)
#undef STASHPY_TYPE_
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].kind == kind && types[i].size == size)
            return (int)types[i].dtype;
    return -1;
}

/* Parses a buffer format into dtype and order; false if stash has no such type. */
static bool parse_format(const char *format, Py_ssize_t itemsize, stash_dtype *dtype,
                         stash_byte_order *order)
{
    if (!format)
        format = "B";
    *order = NATIVE_ORDER;
    switch (*format) {
    case '<': *order = STASH_LITTLE_ENDIAN; format++; break;
    case '>': case '!': *order = STASH_BIG_ENDIAN; format++; break;
    case '@': case '=': format++; break;
    default: break;
    }
    char kind;
    if (format[0] == 'Z' && (format[1] == 'f' || format[1] == 'd') && !format[2])
        kind = 'c';
    else if (!format[0] || format[1])
        return false;
    else if (format[0] == '?')
        kind = 'b';
    else if (strchr("bhilqn", format[0]))
        kind = 'i';
    else if (strchr("BHILQN", format[0]))
        kind = 'u';
    else if (strchr("efd", format[0]))
        kind = 'f';
    else
        return false;
    int found = dtype_of(kind, itemsize);
    if (found < 0)
        return false;
    *dtype = (stash_dtype)found;
    return true;
}

int stashpy_buffer_get(PyObject *obj, Py_buffer *view, stash_array_desc *desc, int flags)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_RECORDS_RO | flags) < 0)
        return -1;
    stash_dtype dtype;
    stash_byte_order order;
    const char *problem = NULL;
    if (!parse_format(view->format, view->itemsize, &dtype, &order))
        problem = "element type";
    else if (view->ndim > STASH_ARRAY_MAX_DIMS)
        problem = "number of dimensions";
    if (problem) {
        PyErr_Format(stashpy_error_class(STASH_E_DTYPE),
                     "stash cannot hold this array's %s (format '%s', %zd bytes an item)",
                     problem, view->format ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    uint64_t shape[STASH_ARRAY_MAX_DIMS];
    for (int i = 0; i < view->ndim; i++)
        shape[i] = (uint64_t)view->shape[i];
    stash_array_desc made;
    stash_array_desc_init(&made, dtype, (unsigned)view->ndim, shape);
    made.byte_order = order;
    if (PyBuffer_IsContiguous(view, 'C'))
        made.order = STASH_ORDER_C;
    else if (PyBuffer_IsContiguous(view, 'F'))
        made.order = STASH_ORDER_F;
    else {
        PyErr_SetString(PyExc_BufferError,
                        "stash needs a contiguous array: pass numpy.ascontiguousarray(x)");
        PyBuffer_Release(view);
        return -1;
    }
    if (made.order == STASH_ORDER_F && stash_array_layout_is_trivial(&made))
        made.order = STASH_ORDER_C;
    *desc = made;
    return 0;
}

const char *stashpy_format(const stash_array_desc *desc)
{
    /* [dtype][big endian] */
    static const char *const formats[STASH_DTYPE_COUNT][2] = {
        [STASH_DTYPE_BOOL] = {"?", "?"},       [STASH_DTYPE_INT8] = {"b", "b"},
        [STASH_DTYPE_INT16] = {"<h", ">h"},    [STASH_DTYPE_INT32] = {"<i", ">i"},
        [STASH_DTYPE_INT64] = {"<q", ">q"},    [STASH_DTYPE_UINT8] = {"B", "B"},
        [STASH_DTYPE_UINT16] = {"<H", ">H"},   [STASH_DTYPE_UINT32] = {"<I", ">I"},
        [STASH_DTYPE_UINT64] = {"<Q", ">Q"},   [STASH_DTYPE_FLOAT16] = {"<e", ">e"},
        [STASH_DTYPE_FLOAT32] = {"<f", ">f"},  [STASH_DTYPE_FLOAT64] = {"<d", ">d"},
        [STASH_DTYPE_COMPLEX64] = {"<Zf", ">Zf"}, [STASH_DTYPE_COMPLEX128] = {"<Zd", ">Zd"},
    };
    if ((unsigned)desc->dtype >= STASH_DTYPE_COUNT)
        return "B";
    return formats[desc->dtype][desc->byte_order == STASH_BIG_ENDIAN];
}

PyObject *stashpy_dtype_object(const stash_array_desc *desc)
{
    PyObject *numpy = stashpy_numpy();
    char descr[STASH_DESCR_MAX];
    if (!numpy || stashpy_check(stash_array_descr(desc, descr)))
        return NULL;
    return PyObject_CallMethod(numpy, "dtype", "s", descr);
}

int stashpy_dtype_from_object(PyObject *obj, stash_dtype *dtype, stash_byte_order *order)
{
    /* numpy.dtype(obj).str is the descr ("<f4"), whatever form obj took. */
    PyObject *numpy = stashpy_numpy();
    if (!numpy)
        return -1;
    PyObject *made = PyObject_CallMethod(numpy, "dtype", "O", obj);
    if (!made)
        return -1;
    PyObject *text = PyObject_GetAttrString(made, "str");
    Py_DECREF(made);
    if (!text)
        return -1;
    Py_ssize_t len;
    const char *descr = PyUnicode_AsUTF8AndSize(text, &len);
    int result = -1;
    if (descr) {
        stash_status status = stash_array_parse_descr(descr, (size_t)len, dtype, order);
        if (status < 0)
            stashpy_raise_context(status, "dtype '%s'", descr);
        else
            result = 0;
    }
    Py_DECREF(text);
    return result;
}
