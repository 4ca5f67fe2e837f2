/*
 * stashpy.h - what the files of the extension stash._stash share.
 *
 * One file per part (memfile.c, npy.c, nco.c, store.c, ring.c, storage.c,
 * bytes.c), each adding its types and functions to the module through its
 * stashpy_add_<part>(); and four shared pieces every part uses:
 *
 *   errors.c   stash statuses to Python exceptions (one class per row of
 *              the C error table, each also a builtin; -errno to OSError)
 *   region.c   memory that Python views keep alive: a Region owns a
 *              resource (a mapping, a C handle, a value tree) and releases
 *              it when its last reference goes, so close() with views alive
 *              defers the unmap; a View exports one typed window of it
 *              through the buffer protocol, read-only or not
 *   array.c    the buffer protocol to stash_array_desc and back
 *   value.c    Python objects to stash_value trees and back
 *   lock.c     a per-handle lock taken without blocking the interpreter
 *
 * Every function here that can fail sets a Python exception and returns
 * NULL or -1, the C-API's own convention.
 */
#ifndef STASHPY_H
#define STASHPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stash/stash.h>

#include <stdbool.h>
#include <stddef.h>

/* ---- The parts: each adds its names to the module ------------------------- */

int stashpy_add_errors(PyObject *module);
int stashpy_add_region(PyObject *module);
int stashpy_add_value(PyObject *module);
int stashpy_add_memfile(PyObject *module);
int stashpy_add_npy(PyObject *module);
int stashpy_add_nco(PyObject *module);
int stashpy_add_store(PyObject *module);
int stashpy_add_ring(PyObject *module);
int stashpy_add_relay(PyObject *module);
int stashpy_add_storage(PyObject *module);
int stashpy_add_bytes(PyObject *module);

/* ---- ring.c and relay.c: what the Relay and the Ring share ----------------- */

/**
 * A ring name from a str or os.PathLike: *name the str (for messages and
 * .name), *path its file-system encoding (bytes); new references.
 */
int stashpy_ring_name_arg(PyObject *obj, PyObject **name, PyObject **path);

/** Raises a failed status of a call naming a ring: the name's problem for STASH_E_INVALID. */
PyObject *stashpy_ring_error(stash_status status, PyObject *name, const char *path);

/** Ring.attach(name): a new reader Ring. */
PyObject *stashpy_ring_attach_name(PyObject *name);

/** Relay.publish(*args, **kwargs) or Relay.subscribe(*args, **kwargs). */
PyObject *stashpy_relay_open(bool publisher, PyObject *args, PyObject *kwargs);

/* ---- errors.c ------------------------------------------------------------- */

/**
 * Raises the exception for a failed status and returns NULL: the table's
 * class (stash.NotFound, ...) for stash's own conditions, the matching
 * OSError subclass for -errno (FileNotFoundError for -ENOENT). Every
 * exception carries .status (the C status) and .name ("STASH_E_NOT_FOUND",
 * "ENOENT"). A status >= 0 raises SystemError (a caller's bug).
 */
PyObject *stashpy_raise(stash_status status);

/** The same, with context before the message: "'run-3': no such entry". */
PyObject *stashpy_raise_context(stash_status status, const char *format, ...);

/** The same for a call about a file: OSError subclasses get .filename. */
PyObject *stashpy_raise_path(stash_status status, PyObject *path);

/** stashpy_raise_path for a path as PyUnicode_FSConverter gives it (bytes). */
PyObject *stashpy_raise_fspath(stash_status status, PyObject *fspath);

/** -1 with the exception raised if status failed, else 0: `if (stashpy_check(st)) return NULL;` */
static inline int stashpy_check(stash_status status)
{
    if (status >= 0)
        return 0;
    stashpy_raise(status);
    return -1;
}

/**
 * A non-negative size or offset from Python: negative is stash.InvalidArgument
 * and past the largest file offset (2**63 - 1) stash.OutOfRange, as the C
 * calls say; a non-integer is a TypeError. Inline: hot paths parse with it.
 */
static inline int stashpy_unsigned_arg(PyObject *obj, const char *what, uint64_t *out)
{
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && !overflow && PyErr_Occurred())
        return -1;
    if (overflow > 0) {
        stashpy_raise_context(STASH_E_RANGE, "%s past 2**63 - 1", what);
        return -1;
    }
    if (overflow < 0 || value < 0) {
        stashpy_raise_context(STASH_E_INVALID, "negative %s", what);
        return -1;
    }
    *out = (uint64_t)value;
    return 0;
}

/** The exception class for a status (borrowed), for tests and isinstance. */
PyObject *stashpy_error_class(stash_status status);

/* ---- region.c ------------------------------------------------------------- */

/** Releases what a Region owns; called once, with the GIL held. */
typedef void (*stashpy_release_fn)(void *resource);

/**
 * A new Region owning resource: release(resource) runs when the last
 * reference goes (the owner's and every View's). A handle keeps one
 * reference and drops it at close(); views keep theirs. NULL release means
 * the resource needs no releasing.
 */
PyObject *stashpy_region_new(void *resource, stashpy_release_fn release);

/** The resource a Region owns (borrowed). */
void *stashpy_region_resource(PyObject *region);

/**
 * How many Views of this region are alive (for "shrinking while views
 * exist raises BufferError", as bytearray and mmap do).
 */
Py_ssize_t stashpy_region_exports(PyObject *region);

/**
 * A View exporting data, described by desc, through the buffer protocol;
 * it keeps region alive. The data must stay valid for the region's life.
 * desc may be C or Fortran order, any byte order; writable views export
 * writable buffers.
 */
PyObject *stashpy_view_new(PyObject *region, const void *data, const stash_array_desc *desc,
                           bool writable);

/** A NumPy array over data (numpy.asarray of a View), zero copy. */
PyObject *stashpy_array_view(PyObject *region, const void *data, const stash_array_desc *desc,
                             bool writable);

/** A memoryview of len bytes at data, zero copy. */
PyObject *stashpy_bytes_view(PyObject *region, const void *data, size_t len, bool writable);

/** The release of a Region that owns malloc'd memory: free(). */
void stashpy_release_malloced(void *data);

/**
 * A writable NumPy array over malloc'd data (what a C call returned for the
 * caller to free), which frees it when it goes; data is freed on failure too.
 */
PyObject *stashpy_owned_array(void *data, const stash_array_desc *desc);

/** numpy, imported on first use (borrowed; NULL with ImportError raised if absent). */
PyObject *stashpy_numpy(void);

/* ---- array.c -------------------------------------------------------------- */

/**
 * Reads obj's buffer as an array: fills view (release it with
 * PyBuffer_Release) and desc. The buffer must be C- or Fortran-contiguous
 * (others raise BufferError: pass numpy.ascontiguousarray(x)) with a
 * format stash knows (bool, int8..uint64, float16..float64, complex64 and
 * complex128, any byte order); others raise stash.UnsupportedDtype.
 * flags adds PyBUF_WRITABLE for a buffer to write into.
 */
int stashpy_buffer_get(PyObject *obj, Py_buffer *view, stash_array_desc *desc, int flags);

/** The buffer-protocol format of desc's element type ("<f8" style), static. */
const char *stashpy_format(const stash_array_desc *desc);

/** The numpy.dtype of desc's element type and byte order (new reference). */
PyObject *stashpy_dtype_object(const stash_array_desc *desc);

/**
 * A stash element type from what Python users pass as a dtype: a
 * numpy.dtype, a type such as numpy.float32, or a name ("float32", "<f4").
 */
int stashpy_dtype_from_object(PyObject *obj, stash_dtype *dtype, stash_byte_order *order);

/* ---- value.c -------------------------------------------------------------- */

/**
 * Arrays a value tree borrows from Python objects: the tree points into
 * their buffers, which stay held until stashpy_borrowed_release().
 */
typedef struct stashpy_borrowed {
    Py_buffer *views;
    size_t count, capacity;
} stashpy_borrowed;

/**
 * A value tree from a Python object: None, bool, int (int64), float,
 * complex, str, bytes, list, tuple, dict with str keys, NumPy arrays and
 * scalars (anything exporting a numeric buffer). With borrowed non-NULL,
 * arrays point into their objects' buffers (no copy; the tree must be freed
 * before borrowed is released); with NULL they are copied. Anything else
 * raises TypeError naming the path to it ("value['a'][2]: set is not ...").
 */
int stashpy_value_from_object(PyObject *obj, stash_value **out, stashpy_borrowed *borrowed);
void stashpy_borrowed_release(stashpy_borrowed *borrowed);

/**
 * A Python object from a value tree: None, bool, int, float, str, bytes,
 * list, tuple, dict; arrays become NumPy arrays that view the tree in place
 * (zero copy), 0-d arrays NumPy scalars (complex scalars come back as
 * numpy.complex128, a subclass of complex). Arrays are writable only if
 * writable is true: pass it when the tree's arrays are the caller's own
 * memory (a copy), never when they view a mapped file. Takes ownership of
 * *value (sets it to NULL): the tree is freed when nothing views it.
 */
PyObject *stashpy_value_to_object(stash_value **value, bool writable);

/* ---- lock.c --------------------------------------------------------------- */

/**
 * A handle's lock, for C handles that serve one thread at a time: taken
 * without the GIL when another thread holds it, so a long call in one
 * thread never blocks the interpreter.
 */
typedef struct stashpy_lock {
    PyThread_type_lock lock;
} stashpy_lock;

int stashpy_lock_init(stashpy_lock *lock);
void stashpy_lock_fini(stashpy_lock *lock);
void stashpy_lock_acquire(stashpy_lock *lock);
void stashpy_lock_release(stashpy_lock *lock);

/* ---- Releasing the GIL ---------------------------------------------------- */

/** Copies and I/O of this many bytes or more run without the GIL. */
#define STASHPY_GIL_FREE_BYTES (64 * 1024)

/**
 * Runs statement without the GIL when big is true (a wait, I/O, or a copy or
 * hash of STASHPY_GIL_FREE_BYTES or more), else with it: letting the GIL go
 * costs more than a short call. statement must not touch Python objects.
 */
#define STASHPY_RELEASE_GIL_IF(big, statement)                                              \
    do {                                                                                     \
        if (big) {                                                                           \
            Py_BEGIN_ALLOW_THREADS statement;                                                \
            Py_END_ALLOW_THREADS                                                             \
        } else {                                                                             \
            statement;                                                                       \
        }                                                                                    \
    } while (0)

/**
 * Waits run in slices of at most this long, with PyErr_CheckSignals()
 * between them, against a monotonic deadline, so Ctrl-C works.
 */
#define STASHPY_WAIT_SLICE_MS 50

#endif /* STASHPY_H */
