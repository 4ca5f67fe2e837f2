/*
 * errors.c - stash statuses as Python exceptions.
 *
 * stash.StashError is the base of one class per row of the C error table;
 * each class also inherits the builtin a Python user would catch for that
 * condition (NotFound is a KeyError, Timeout a TimeoutError), so code that
 * knows nothing of stash still handles stash's errors. A system failure
 * (-errno) raises the builtin OSError subclass for that errno
 * (FileNotFoundError for -ENOENT), as open() would.
 */
#include "stashpy.h"

#include <stdarg.h>
#include <string.h>

/* X(C name, Python name, builtin base expression) */
#define STASHPY_ERROR_TABLE(X)                                         \
    X(STASH_E_EOF, "EndOfData", PyExc_EOFError)                        \
    X(STASH_E_INVALID, "InvalidArgument", PyExc_ValueError)            \
    X(STASH_E_CLOSED, "Closed", PyExc_ValueError)                      \
    X(STASH_E_MODE, "BadMode", PyExc_ValueError)                       \
    X(STASH_E_NOT_READABLE, "NotReadable", unsupported_operation)      \
    X(STASH_E_NOT_WRITABLE, "NotWritable", unsupported_operation)      \
    X(STASH_E_UNSUPPORTED, "Unsupported", unsupported_operation)       \
    X(STASH_E_RANGE, "OutOfRange", PyExc_ValueError)                   \
    X(STASH_E_FULL, "Full", PyExc_OSError)                             \
    X(STASH_E_BUSY, "Busy", PyExc_BlockingIOError)                     \
    X(STASH_E_CORRUPT, "Corrupt", PyExc_ValueError)                    \
    X(STASH_E_VERSION, "UnsupportedVersion", PyExc_ValueError)         \
    X(STASH_E_NOT_FOUND, "NotFound", PyExc_KeyError)                   \
    X(STASH_E_LIMIT, "LimitExceeded", PyExc_ValueError)                \
    X(STASH_E_DTYPE, "UnsupportedDtype", PyExc_ValueError)             \
    X(STASH_E_TRUNCATED, "Truncated", PyExc_ValueError)                \
    X(STASH_E_UNSAFE, "Unsafe", unpickling_error)                      \
    X(STASH_E_NO_SOURCE, "NoSource", PyExc_KeyError)                   \
    X(STASH_E_NO_TARGET, "NoTarget", unsupported_operation)            \
    X(STASH_E_TIMEOUT, "Timeout", PyExc_TimeoutError)                  \
    X(STASH_E_OVERWRITTEN, "Overwritten", PyExc_IndexError)            \
    X(STASH_E_NOT_WRITTEN, "NotYetWritten", PyExc_IndexError)          \
    X(STASH_E_WRITER_GONE, "WriterGone", PyExc_EOFError)               \
    X(STASH_E_SHAPE, "ShapeMismatch", PyExc_ValueError)                \
    X(STASH_E_NOT_FILE, "NotAFile", PyExc_OSError)                     \
    X(STASH_E_UNAVAILABLE, "Unavailable", PyExc_ConnectionError)       \
    X(STASH_E_NEEDS_RECOVERY, "NeedsRecovery", PyExc_OSError)

#define STASHPY_COUNT_(c, py, base) +1
enum { error_count = 0 STASHPY_ERROR_TABLE(STASHPY_COUNT_) };
#undef STASHPY_COUNT_

static const struct {
    stash_status status;
    const char *name;
} error_rows[error_count] = {
#define STASHPY_ROW_(c, py, base) {c, py},
    STASHPY_ERROR_TABLE(STASHPY_ROW_)
#undef STASHPY_ROW_
};

static PyObject *base_error;               /* stash.StashError */
static PyObject *error_classes[error_count]; /* in table order */

PyObject *stashpy_error_class(stash_status status)
{
    for (size_t i = 0; i < error_count; i++)
        if (error_rows[i].status == status)
            return error_classes[i];
    return base_error;
}

/* The builtin a system failure maps to, as PyErr_SetFromErrno would choose. */
static PyObject *raise_system(stash_status status, PyObject *message, PyObject *path)
{
    PyObject *args = path ? Py_BuildValue("(iOO)", stash_errno(status), message, path)
                          : Py_BuildValue("(iO)", stash_errno(status), message);
    if (!args)
        return NULL;
    /* OSError(errno, ...) returns the errno's subclass (FileNotFoundError, ...). */
    PyObject *error = PyObject_Call(PyExc_OSError, args, NULL);
    Py_DECREF(args);
    if (!error)
        return NULL;
    PyObject *code = PyLong_FromLong(status);
    PyObject *name = PyUnicode_FromString(stash_status_name(status));
    if (code && name && PyObject_SetAttrString(error, "status", code) == 0 &&
        PyObject_SetAttrString(error, "name", name) == 0)
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
    Py_XDECREF(code);
    Py_XDECREF(name);
    Py_DECREF(error);
    return NULL;
}

static PyObject *raise_message(stash_status status, PyObject *message, PyObject *path)
{
    if (status >= 0) {
        PyErr_Format(PyExc_SystemError, "stash: status %d raised as an error", status);
        return NULL;
    }
    if (stash_is_system_error(status))
        return raise_system(status, message, path);
    PyObject *cls = stashpy_error_class(status);
    /* The path goes into the text, and into .filename (see class_dict). */
    PyObject *text = path ? PyUnicode_FromFormat("%U: %R", message, path) : Py_NewRef(message);
    PyObject *error = text ? PyObject_CallOneArg(cls, text) : NULL;
    Py_XDECREF(text);
    if (!error)
        return NULL;
    PyObject *code = PyLong_FromLong(status);
    PyObject *name = PyUnicode_FromString(stash_status_name(status));
    if (code && name && PyObject_SetAttrString(error, "status", code) == 0 &&
        PyObject_SetAttrString(error, "name", name) == 0 &&
        (!path || PyObject_SetAttrString(error, "filename", path) == 0))
        PyErr_SetObject(cls, error);
    Py_XDECREF(code);
    Py_XDECREF(name);
    Py_DECREF(error);
    return NULL;
}

PyObject *stashpy_raise(stash_status status)
{
    PyObject *message = PyUnicode_FromString(stash_strerror(status));
    if (!message)
        return NULL;
    raise_message(status, message, NULL);
    Py_DECREF(message);
    return NULL;
}

PyObject *stashpy_raise_context(stash_status status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    PyObject *context = PyUnicode_FromFormatV(format, args);
    va_end(args);
    if (!context)
        return NULL;
    PyObject *message = PyUnicode_FromFormat("%U: %s", context, stash_strerror(status));
    Py_DECREF(context);
    if (!message)
        return NULL;
    raise_message(status, message, NULL);
    Py_DECREF(message);
    return NULL;
}

PyObject *stashpy_raise_path(stash_status status, PyObject *path)
{
    PyObject *message = PyUnicode_FromString(stash_strerror(status));
    if (!message)
        return NULL;
    raise_message(status, message, path);
    Py_DECREF(message);
    return NULL;
}

PyObject *stashpy_raise_fspath(stash_status status, PyObject *fspath)
{
    PyObject *name = PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(fspath),
                                                      PyBytes_GET_SIZE(fspath));
    if (!name)
        return NULL;
    stashpy_raise_path(status, name);
    Py_DECREF(name);
    return NULL;
}

/*
 * A class of stash's own that is also an OSError prints its message as any
 * exception does (BaseException.__str__), not OSError's "[Errno None] None:
 * 'path'", which it would print once given a .filename without an errno.
 */
static PyObject *class_dict(PyObject *bases)
{
    int is_os_error = PyTuple_Check(bases) ? PyObject_IsSubclass(PyTuple_GET_ITEM(bases, 1),
                                                                 PyExc_OSError)
                                           : 0;
    if (is_os_error <= 0)
        return is_os_error < 0 ? NULL : PyDict_New();
    PyObject *str = PyObject_GetAttrString(PyExc_BaseException, "__str__");
    PyObject *dict = str ? Py_BuildValue("{sO}", "__str__", str) : NULL;
    Py_XDECREF(str);
    return dict;
}

static PyObject *new_class(PyObject *module, const char *name, PyObject *bases, const char *doc)
{
    char qualified[64];
    snprintf(qualified, sizeof qualified, "stash.%s", name);
    PyObject *dict = class_dict(bases);
    PyObject *cls = dict ? PyErr_NewExceptionWithDoc(qualified, doc, bases, dict) : NULL;
    Py_XDECREF(dict);
    if (!cls)
        return NULL;
    if (PyModule_AddObjectRef(module, name, cls) < 0) {
        Py_DECREF(cls);
        return NULL;
    }
    return cls;
}

static PyObject *import_attr(const char *module_name, const char *attr)
{
    PyObject *module = PyImport_ImportModule(module_name);
    if (!module)
        return NULL;
    PyObject *value = PyObject_GetAttrString(module, attr);
    Py_DECREF(module);
    return value;
}

int stashpy_add_errors(PyObject *module)
{
    PyObject *unsupported_operation = import_attr("io", "UnsupportedOperation");
    PyObject *unpickling_error = import_attr("pickle", "UnpicklingError");
    if (!unsupported_operation || !unpickling_error)
        goto fail;
    base_error = new_class(module, "StashError", PyExc_Exception,
                           "A stash call failed: .status is the C status, .name its name.");
    if (!base_error)
        goto fail;
    PyObject *builtins[error_count] = {
#define STASHPY_BASE_(c, py, base) base,
        STASHPY_ERROR_TABLE(STASHPY_BASE_)
#undef STASHPY_BASE_
    };
    for (size_t i = 0; i < error_count; i++) {
        PyObject *bases = PyTuple_Pack(2, base_error, builtins[i]);
        if (!bases)
            goto fail;
        error_classes[i] = new_class(module, error_rows[i].name, bases,
                                     stash_strerror(error_rows[i].status));
        Py_DECREF(bases);
        if (!error_classes[i])
            goto fail;
    }
    Py_DECREF(unsupported_operation);
    Py_DECREF(unpickling_error);
    return 0;
fail:
    Py_XDECREF(unsupported_operation);
    Py_XDECREF(unpickling_error);
    return -1;
}
