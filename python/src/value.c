/*
 * value.c - Python objects to stash value trees and back.
 *
 * To a tree: None, bool, int (int64), float, complex, str, bytes (and
 * bytearray), list, tuple, dict with str keys, and anything exporting a
 * numeric buffer (NumPy arrays and scalars, array.array, memoryview). Exact
 * ints and floats are checked before buffers, so a NumPy scalar keeps its
 * dtype (numpy.float64 is a float subclass, but comes back as numpy.float64);
 * a complex becomes a 0-d complex128 array. Anything else is a TypeError
 * that names where in the object it sits: "value['runs'][2]: stash cannot
 * hold a set".
 *
 * From a tree: arrays become read-only NumPy arrays viewing the tree in
 * place; the tree lives in a Region until the last of them is gone.
 */
#include "stashpy.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* Where in the object a conversion is, for error messages: a chain of frames. */
typedef struct path_frame {
    const struct path_frame *parent;
    PyObject *key;  /* a dict key, or NULL for a list index */
    Py_ssize_t index;
} path_frame;

static PyObject *path_text(const path_frame *frame)
{
    if (!frame)
        return PyUnicode_FromString("value");
    PyObject *parent = path_text(frame->parent);
    if (!parent)
        return NULL;
    PyObject *text = frame->key ? PyUnicode_FromFormat("%U[%R]", parent, frame->key)
                                : PyUnicode_FromFormat("%U[%zd]", parent, frame->index);
    Py_DECREF(parent);
    return text;
}

/* The exception in flight, taken (NULL if none), and putting one back. */
static PyObject *take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (!type)
        return NULL;
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback && value)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

static void restore_exception(PyObject *exception)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exception);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exception)), exception,
                  PyException_GetTraceback(exception));
#endif
}

/* Raises TypeError "<path>: <message>", chained to the exception in flight if any. */
static int fail_at(const path_frame *frame, const char *format, ...)
{
    PyObject *cause = take_exception();
    va_list args;
    va_start(args, format);
    PyObject *message = PyUnicode_FromFormatV(format, args);
    va_end(args);
    PyObject *where = path_text(frame);
    if (message && where)
        PyErr_Format(PyExc_TypeError, "%U: %U", where, message);
    Py_XDECREF(message);
    Py_XDECREF(where);
    if (cause) {
        PyObject *raised = take_exception();
        if (raised) {
            PyException_SetCause(raised, cause); /* steals cause */
            restore_exception(raised);
        } else {
            Py_DECREF(cause);
        }
    }
    return -1;
}

/* A failed stash call while building: the stash exception, or TypeError at the path. */
static int fail_status(const path_frame *frame, stash_status status)
{
    if (status == -ENOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    stashpy_raise(status);
    return fail_at(frame, "%s", stash_strerror(status));
}

/* ---- Borrowed buffers --------------------------------------------------------- */

static Py_buffer *borrowed_slot(stashpy_borrowed *borrowed)
{
    if (borrowed->count == borrowed->capacity) {
        size_t capacity = borrowed->capacity ? 2 * borrowed->capacity : 4;
        Py_buffer *grown = PyMem_Realloc(borrowed->views, capacity * sizeof *grown);
        if (!grown) {
            PyErr_NoMemory();
            return NULL;
        }
        borrowed->views = grown;
        borrowed->capacity = capacity;
    }
    return &borrowed->views[borrowed->count];
}

void stashpy_borrowed_release(stashpy_borrowed *borrowed)
{
    for (size_t i = 0; i < borrowed->count; i++)
        PyBuffer_Release(&borrowed->views[i]);
    PyMem_Free(borrowed->views);
    *borrowed = (stashpy_borrowed){0};
}

/* ---- Python to tree --------------------------------------------------------------- */

static int from_object(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed,
                       const path_frame *frame);

static int from_array(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed,
                      const path_frame *frame)
{
    Py_buffer view;
    stash_array_desc desc;
    PyObject *contiguous = NULL;
    if (stashpy_buffer_get(obj, &view, &desc, 0) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_BufferError))
            return fail_at(frame, "stash cannot hold this %s", Py_TYPE(obj)->tp_name);
        /* Strided (a slice of an array): a contiguous copy, then the same path. The
         * BufferError goes first: importing numpy with an exception set fails. */
        PyErr_Clear();
        PyObject *numpy = stashpy_numpy();
        contiguous = numpy ? PyObject_CallMethod(numpy, "ascontiguousarray", "O", obj) : NULL;
        if (!contiguous || stashpy_buffer_get(contiguous, &view, &desc, 0) < 0) {
            Py_XDECREF(contiguous);
            return fail_at(frame, "stash cannot hold this %s", Py_TYPE(obj)->tp_name);
        }
    }
    stash_status status;
    if (borrowed && !contiguous) {
        Py_buffer *slot = borrowed_slot(borrowed);
        if (!slot) {
            PyBuffer_Release(&view);
            return -1;
        }
        status = stash_value_new_array_borrowed(&desc, view.buf, out);
        if (status == 0) {
            *slot = view;
            borrowed->count++;
            return 0;
        }
    } else {
        status = stash_value_new_array(&desc, view.buf, out);
    }
    PyBuffer_Release(&view);
    Py_XDECREF(contiguous);
    return status < 0 ? fail_status(frame, status) : 0;
}

static int from_complex(PyObject *obj, stash_value **out, const path_frame *frame)
{
    Py_complex c = PyComplex_AsCComplex(obj);
    if (c.real == -1.0 && PyErr_Occurred())
        return fail_at(frame, "not a complex number");
    double parts[2] = {c.real, c.imag};
    stash_array_desc desc;
    stash_array_desc_init(&desc, STASH_DTYPE_COMPLEX128, 0, NULL);
    stash_status status = stash_value_new_array(&desc, parts, out);
    return status < 0 ? fail_status(frame, status) : 0;
}

static int from_string(PyObject *obj, stash_value **out, const path_frame *frame)
{
    Py_ssize_t len;
    const char *text = PyUnicode_AsUTF8AndSize(obj, &len);
    if (!text)
        return fail_at(frame, "a str that is not valid Unicode");
    stash_status status = stash_value_new_string(text, (size_t)len, out);
    return status < 0 ? fail_status(frame, status) : 0;
}

static int from_bytes(PyObject *obj, stash_value **out, const path_frame *frame)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return fail_at(frame, "unreadable %s", Py_TYPE(obj)->tp_name);
    stash_status status = stash_value_new_bytes(view.buf, (size_t)view.len, out);
    PyBuffer_Release(&view);
    return status < 0 ? fail_status(frame, status) : 0;
}

static int from_sequence(PyObject *obj, bool tuple, stash_value **out,
                         stashpy_borrowed *borrowed, const path_frame *frame)
{
    stash_value *container = NULL;
    stash_status status = tuple ? stash_value_new_tuple(&container)
                                : stash_value_new_list(&container);
    if (status < 0)
        return fail_status(frame, status);
    /* Converting an item may run Python code (NumPy, a collection's finalizers) that
     * changes a list: its size is read again each time and the item held meanwhile. */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(obj); i++) {
        path_frame here = {frame, NULL, i};
        stash_value *item = NULL;
        PyObject *item_obj = Py_NewRef(PySequence_Fast_GET_ITEM(obj, i));
        int converted = from_object(item_obj, &item, borrowed, &here);
        Py_DECREF(item_obj);
        if (converted < 0)
            goto fail;
        status = stash_value_append(container, item);
        if (status < 0) {
            stash_value_free(&item);
            fail_status(&here, status);
            goto fail;
        }
    }
    *out = container;
    return 0;
fail:
    stash_value_free(&container);
    return -1;
}

/* dict[key] = the tree of item_obj, key checked as the store's keys are. */
static int dict_item(stash_value *dict, PyObject *key, PyObject *item_obj,
                     stashpy_borrowed *borrowed, const path_frame *frame)
{
    path_frame here = {frame, key, 0};
    if (!PyUnicode_Check(key))
        return fail_at(frame, "dict keys must be str, not %s", Py_TYPE(key)->tp_name);
    Py_ssize_t key_len;
    const char *key_text = PyUnicode_AsUTF8AndSize(key, &key_len);
    if (!key_text)
        return fail_at(frame, "a dict key that is not valid Unicode");
    if (strlen(key_text) != (size_t)key_len)
        return fail_at(&here, "dict keys may not hold NUL characters");
    stash_value *item = NULL;
    if (from_object(item_obj, &item, borrowed, &here) < 0)
        return -1;
    stash_status status = stash_value_dict_set(dict, key_text, item);
    if (status < 0) {
        stash_value_free(&item);
        return fail_status(&here, status);
    }
    return 0;
}

static int from_dict(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed,
                     const path_frame *frame)
{
    stash_value *dict = NULL;
    stash_status status = stash_value_new_dict(&dict);
    if (status < 0)
        return fail_status(frame, status);
    Py_ssize_t position = 0;
    PyObject *key, *item_obj;
    while (PyDict_Next(obj, &position, &key, &item_obj)) {
        /* Held: converting may run Python code that changes the dict (see from_sequence). */
        Py_INCREF(key);
        Py_INCREF(item_obj);
        int converted = dict_item(dict, key, item_obj, borrowed, frame);
        Py_DECREF(key);
        Py_DECREF(item_obj);
        if (converted < 0)
            goto fail;
    }
    *out = dict;
    return 0;
fail:
    stash_value_free(&dict);
    return -1;
}

static int from_container(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed,
                          const path_frame *frame)
{
    if (PyDict_Check(obj))
        return from_dict(obj, out, borrowed, frame);
    PyObject *items = PySequence_Fast(obj, "not a sequence");
    if (!items)
        return -1;
    int result = from_sequence(items, PyTuple_Check(obj), out, borrowed, frame);
    Py_DECREF(items);
    return result;
}

static int from_scalar(PyObject *obj, stash_value **out, const path_frame *frame)
{
    stash_status status;
    if (PyLong_Check(obj)) {
        int overflow;
        long long i = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow)
            return fail_at(frame, "int %R does not fit in 64 bits", obj);
        if (i == -1 && PyErr_Occurred())
            return fail_at(frame, "unreadable int");
        status = stash_value_new_int(i, out);
    } else {
        double f = PyFloat_AsDouble(obj);
        if (f == -1.0 && PyErr_Occurred())
            return fail_at(frame, "unreadable float");
        status = stash_value_new_float(f, out);
    }
    return status < 0 ? fail_status(frame, status) : 0;
}

static int from_object(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed,
                       const path_frame *frame)
{
    if (obj == Py_None) {
        stash_status status = stash_value_new_null(out);
        return status < 0 ? fail_status(frame, status) : 0;
    }
    if (PyBool_Check(obj)) {
        stash_status status = stash_value_new_bool(obj == Py_True, out);
        return status < 0 ? fail_status(frame, status) : 0;
    }
    if (PyLong_CheckExact(obj) || PyFloat_CheckExact(obj))
        return from_scalar(obj, out, frame);
    if (PyUnicode_Check(obj))
        return from_string(obj, out, frame);
    if (PyBytes_Check(obj) || PyByteArray_Check(obj))
        return from_bytes(obj, out, frame);
    if (PyComplex_CheckExact(obj))
        return from_complex(obj, out, frame);
    if (PyList_Check(obj) || PyTuple_Check(obj) || PyDict_Check(obj)) {
        if (Py_EnterRecursiveCall(" converting a value for stash"))
            return -1;
        int result = from_container(obj, out, borrowed, frame);
        Py_LeaveRecursiveCall();
        return result;
    }
    if (PyObject_CheckBuffer(obj))
        return from_array(obj, out, borrowed, frame);
    /* int and float subclasses that are not NumPy scalars: IntEnum, a float subclass. */
    if (PyLong_Check(obj) || PyFloat_Check(obj))
        return from_scalar(obj, out, frame);
    if (PyComplex_Check(obj))
        return from_complex(obj, out, frame);
    return fail_at(frame, "stash cannot hold a %s (it holds None, bool, int, float, complex, "
                          "str, bytes, list, tuple, dict with str keys and NumPy arrays)",
                   Py_TYPE(obj)->tp_name);
}

int stashpy_value_from_object(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed)
{
    stash_value *made = NULL;
    if (from_object(obj, &made, borrowed, NULL) < 0)
        return -1;
    *out = made;
    return 0;
}

/* ---- Tree to Python ---------------------------------------------------------------- */

static bool has_arrays(const stash_value *v)
{
    stash_value_kind kind = stash_value_kind_of(v);
    if (kind == STASH_VALUE_ARRAY)
        return true;
    size_t n = stash_value_length(v);
    for (size_t i = 0; i < n; i++)
        if (has_arrays(stash_value_item(v, i)))
            return true;
    return false;
}

static PyObject *to_object(const stash_value *v, PyObject *region, bool writable);

static PyObject *array_to_object(const stash_value *v, PyObject *region, bool writable)
{
    const stash_array_desc *desc;
    const void *data;
    if (stashpy_check(stash_value_get_array(v, &desc, &data)))
        return NULL;
    PyObject *array = stashpy_array_view(region, data, desc, writable);
    if (!array || desc->ndim != 0)
        return array;
    /* A 0-d array is a NumPy scalar: numpy.float64, numpy.complex128, ... */
    PyObject *empty = PyTuple_New(0);
    PyObject *scalar = empty ? PyObject_GetItem(array, empty) : NULL;
    Py_XDECREF(empty);
    Py_DECREF(array);
    return scalar;
}

static PyObject *sequence_to_object(const stash_value *v, PyObject *region, bool writable,
                                    bool tuple)
{
    size_t n = stash_value_length(v);
    PyObject *items = tuple ? PyTuple_New((Py_ssize_t)n) : PyList_New((Py_ssize_t)n);
    if (!items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *item = to_object(stash_value_item(v, i), region, writable);
        if (!item) {
            Py_DECREF(items);
            return NULL;
        }
        if (tuple)
            PyTuple_SET_ITEM(items, (Py_ssize_t)i, item);
        else
            PyList_SET_ITEM(items, (Py_ssize_t)i, item);
    }
    return items;
}

static PyObject *dict_to_object(const stash_value *v, PyObject *region, bool writable)
{
    PyObject *dict = PyDict_New();
    if (!dict)
        return NULL;
    size_t n = stash_value_length(v);
    for (size_t i = 0; i < n; i++) {
        const char *key_text;
        size_t key_len;
        if (stashpy_check(stash_value_dict_key(v, i, &key_text, &key_len)))
            goto fail;
        PyObject *key = PyUnicode_DecodeUTF8(key_text, (Py_ssize_t)key_len, "surrogatepass");
        PyObject *item = key ? to_object(stash_value_item(v, i), region, writable) : NULL;
        int set = item ? PyDict_SetItem(dict, key, item) : -1;
        Py_XDECREF(key);
        Py_XDECREF(item);
        if (set < 0)
            goto fail;
    }
    return dict;
fail:
    Py_DECREF(dict);
    return NULL;
}

static PyObject *to_object(const stash_value *v, PyObject *region, bool writable)
{
    switch (stash_value_kind_of(v)) {
    case STASH_VALUE_NULL:
        Py_RETURN_NONE;
    case STASH_VALUE_BOOL: {
        bool b = false;
        stash_value_get_bool(v, &b);
        return PyBool_FromLong(b);
    }
    case STASH_VALUE_INT: {
        int64_t i = 0;
        stash_value_get_int(v, &i);
        return PyLong_FromLongLong(i);
    }
    case STASH_VALUE_FLOAT: {
        double f = 0;
        stash_value_get_float(v, &f);
        return PyFloat_FromDouble(f);
    }
    case STASH_VALUE_STRING: {
        const char *text;
        size_t len;
        if (stashpy_check(stash_value_get_string(v, &text, &len)))
            return NULL;
        return PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "surrogatepass");
    }
    case STASH_VALUE_BYTES: {
        const void *data;
        size_t len;
        if (stashpy_check(stash_value_get_bytes(v, &data, &len)))
            return NULL;
        return PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
    }
    case STASH_VALUE_ARRAY:
        return array_to_object(v, region, writable);
    case STASH_VALUE_LIST:
        return sequence_to_object(v, region, writable, false);
    case STASH_VALUE_TUPLE:
        return sequence_to_object(v, region, writable, true);
    case STASH_VALUE_DICT:
        return dict_to_object(v, region, writable);
    }
    return stashpy_raise(STASH_E_CORRUPT);
}

static void free_tree(void *tree)
{
    stash_value *v = tree;
    stash_value_free(&v);
}

PyObject *stashpy_value_to_object(stash_value **value, bool writable)
{
    stash_value *tree = *value;
    *value = NULL;
    if (!has_arrays(tree)) {
        PyObject *result = to_object(tree, NULL, writable);
        stash_value_free(&tree);
        return result;
    }
    /* The arrays view the tree in place: it lives as long as the last of them. */
    PyObject *region = stashpy_region_new(tree, free_tree);
    if (!region)
        return NULL;
    PyObject *result = to_object(tree, region, writable);
    Py_DECREF(region);
    return result;
}

/* ---- For tests: the round trip through a tree -------------------------------------- */

static PyObject *value_roundtrip(PyObject *self, PyObject *obj)
{
    (void)self;
    stash_value *tree = NULL;
    if (stashpy_value_from_object(obj, &tree, NULL) < 0)
        return NULL;
    return stashpy_value_to_object(&tree, false);
}

static PyMethodDef value_methods[] = {
    {"_value_roundtrip", value_roundtrip, METH_O,
     "obj -> a copy of obj through a stash value tree (for tests)."},
    {NULL, NULL, 0, NULL},
};

int stashpy_add_value(PyObject *module)
{
    return PyModule_AddFunctions(module, value_methods);
}
