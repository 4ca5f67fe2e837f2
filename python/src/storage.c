/*
 * storage.c - stash.Storage and stash.StoragePool: byte storages with
 * separate read and write pointers (include/stash/storage.h).
 *
 * A Storage is one stash_storage and its lock: the C handle serves one
 * thread at a time, and reads and writes of STASHPY_GIL_FREE_BYTES or more
 * run without the GIL, so every method takes the lock (without blocking the
 * interpreter) before it touches the handle. close() takes it too, so a
 * close never frees a handle another thread is reading.
 *
 * Reads go straight into the bytes object they return (one copy), through
 * stash_storage_readinto at the read pointer, instead of through
 * stash_storage_read's malloc'd buffer and a second copy.
 *
 * A StoragePool is one stash_storage_pool. The C pool has its own lock and
 * each temp storage holds a reference to it, so a pool needs no Python
 * lock: Storage.temp() and StoragePool.close() both run with the GIL held.
 */
#include "stashpy.h"

#include <string.h>

/* The longest fopen-like mode kept for repr, with its NUL. */
#define MODE_MAX 8

typedef struct {
    PyObject_HEAD
    stash_storage_pool *pool;   /* NULL once closed */
    size_t max_open;
} StoragePool;

typedef struct {
    PyObject_HEAD
    stash_storage *st;          /* NULL once closed; guarded by lock */
    stashpy_lock lock;
    const char *kind;           /* "memory", "file" or "temp" */
    PyObject *filename;         /* file storages: the path as os.fspath gave it */
    char mode[MODE_MAX];
} Storage;

static PyTypeObject StorageType;
static PyTypeObject StoragePoolType;

/* ---- StoragePool ---------------------------------------------------------- */

static PyObject *pool_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"max_open", "parent_dir", NULL};
    Py_ssize_t max_open;
    PyObject *parent = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n|O&:StoragePool", keywords, &max_open,
                                     PyUnicode_FSConverter, &parent))
        return NULL;
    if (max_open < 1) {
        Py_XDECREF(parent);
        return stashpy_raise_context(STASH_E_INVALID, "StoragePool(max_open=%zd)", max_open);
    }
    StoragePool *self = (StoragePool *)type->tp_alloc(type, 0);
    if (!self) {
        Py_XDECREF(parent);
        return NULL;
    }
    self->max_open = (size_t)max_open;
    stash_status status = stash_storage_pool_create(
        (size_t)max_open, parent ? PyBytes_AS_STRING(parent) : NULL, &self->pool);
    if (status < 0) {
        if (parent)
            stashpy_raise_path(status, parent);
        else
            stashpy_raise(status);
        Py_XDECREF(parent);
        Py_DECREF(self);
        return NULL;
    }
    Py_XDECREF(parent);
    return (PyObject *)self;
}

static void pool_dealloc(PyObject *op)
{
    stash_storage_pool_close(&((StoragePool *)op)->pool);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *pool_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    /* Always STASH_OK: the directory goes with the pool's last temp storage. */
    stash_storage_pool_close(&((StoragePool *)op)->pool);
    Py_RETURN_NONE;
}

static PyObject *pool_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((StoragePool *)op)->pool)
        return stashpy_raise(STASH_E_CLOSED);
    return Py_NewRef(op);
}

static PyObject *pool_exit(PyObject *op, PyObject *args)
{
    (void)args;
    return pool_close(op, NULL);
}

static PyObject *pool_open_count(PyObject *op, void *unused)
{
    (void)unused;
    StoragePool *self = (StoragePool *)op;
    return PyLong_FromSize_t(self->pool ? stash_storage_pool_open_count(self->pool) : 0);
}

static PyObject *pool_max_open(PyObject *op, void *unused)
{
    (void)unused;
    return PyLong_FromSize_t(((StoragePool *)op)->max_open);
}

static PyObject *pool_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((StoragePool *)op)->pool == NULL);
}

static PyObject *pool_repr(PyObject *op)
{
    StoragePool *self = (StoragePool *)op;
    if (!self->pool)
        return PyUnicode_FromFormat("<stash.StoragePool max_open=%zu closed>", self->max_open);
    return PyUnicode_FromFormat("<stash.StoragePool max_open=%zu open=%zu>", self->max_open,
                                stash_storage_pool_open_count(self->pool));
}

static PyMethodDef pool_methods[] = {
    {"close", pool_close, METH_NOARGS,
     "close($self, /)\n--\n\n"
     "Drops the pool; its temp storages keep working, and its directory goes with the last."},
    {"__enter__", pool_enter, METH_NOARGS, NULL},
    {"__exit__", pool_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pool_getset[] = {
    {"open_count", pool_open_count, NULL, "How many temp-file descriptors are open now.", NULL},
    {"max_open", pool_max_open, NULL, "The most descriptors the pool keeps open.", NULL},
    {"closed", pool_closed, NULL, "True after close().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StoragePoolType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.StoragePool",
    .tp_doc = "StoragePool(max_open, parent_dir=None)\n--\n\n"
              "Temp files for Storage.temp(), at most max_open descriptors open at once:\n"
              "the least recently used is closed and reopened on its next use.",
    .tp_basicsize = sizeof(StoragePool),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = pool_new,
    .tp_dealloc = pool_dealloc,
    .tp_repr = pool_repr,
    .tp_methods = pool_methods,
    .tp_getset = pool_getset,
};

/* ---- Storage: opening and closing ----------------------------------------- */

static Storage *storage_alloc(const char *kind)
{
    Storage *self = PyObject_New(Storage, &StorageType);
    if (!self)
        return NULL;
    self->st = NULL;
    self->lock.lock = NULL;
    self->kind = kind;
    self->filename = NULL;
    self->mode[0] = '\0';
    if (stashpy_lock_init(&self->lock) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

static void storage_dealloc(PyObject *op)
{
    Storage *self = (Storage *)op;
    /* No other thread can hold a reference, so no lock; close() reports errors. */
    stash_storage_close(&self->st);
    stashpy_lock_fini(&self->lock);
    Py_XDECREF(self->filename);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *storage_memory(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    Storage *self = storage_alloc("memory");
    if (self && stashpy_check(stash_storage_open_memory(&self->st)))
        Py_CLEAR(self);
    return (PyObject *)self;
}

static PyObject *storage_file(PyObject *cls, PyObject *args, PyObject *kwds)
{
    (void)cls;
    static char *keywords[] = {"path", "mode", NULL};
    PyObject *path, *encoded;
    const char *mode = "r";
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|s:Storage.file", keywords, &path, &mode))
        return NULL;
    if (strlen(mode) >= MODE_MAX)
        return stashpy_raise_context(STASH_E_MODE, "mode '%s'", mode);
    PyObject *filename = PyOS_FSPath(path);
    if (!filename)
        return NULL;
    if (!PyUnicode_FSConverter(filename, &encoded)) {
        Py_DECREF(filename);
        return NULL;
    }
    Storage *self = storage_alloc("file");
    if (!self) {
        Py_DECREF(filename);
        Py_DECREF(encoded);
        return NULL;
    }
    self->filename = filename;
    snprintf(self->mode, sizeof self->mode, "%s", mode);
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_storage_open_file(PyBytes_AS_STRING(encoded), mode, &self->st);
    Py_END_ALLOW_THREADS
    Py_DECREF(encoded);
    if (status < 0) {
        stashpy_raise_path(status, filename);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *storage_temp(PyObject *cls, PyObject *args, PyObject *kwds)
{
    (void)cls;
    static char *keywords[] = {"pool", NULL};
    PyObject *pool;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:Storage.temp", keywords, &StoragePoolType,
                                     &pool))
        return NULL;
    Storage *self = storage_alloc("temp");
    /* With the GIL held throughout, the pool cannot be closed under the call. */
    if (self && stashpy_check(stash_storage_open_temp(((StoragePool *)pool)->pool, &self->st)))
        Py_CLEAR(self);
    return (PyObject *)self;
}

/* Takes the lock; false with stash.Closed raised if the storage is closed. */
static bool storage_enter(Storage *self)
{
    stashpy_lock_acquire(&self->lock);
    if (self->st)
        return true;
    stashpy_lock_release(&self->lock);
    stashpy_raise(STASH_E_CLOSED);
    return false;
}

static void storage_leave(Storage *self)
{
    stashpy_lock_release(&self->lock);
}

static PyObject *storage_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    Storage *self = (Storage *)op;
    stashpy_lock_acquire(&self->lock);
    stash_status status;
    Py_BEGIN_ALLOW_THREADS /* the final flush is I/O */
    status = stash_storage_close(&self->st);
    Py_END_ALLOW_THREADS
    stashpy_lock_release(&self->lock);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *storage_flush(PyObject *op, PyObject *unused)
{
    (void)unused;
    Storage *self = (Storage *)op;
    if (!storage_enter(self))
        return NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_storage_flush(self->st);
    Py_END_ALLOW_THREADS
    storage_leave(self);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *storage_context_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((Storage *)op)->st)
        return stashpy_raise(STASH_E_CLOSED);
    return Py_NewRef(op);
}

static PyObject *storage_context_exit(PyObject *op, PyObject *args)
{
    (void)args;
    return storage_close(op, NULL);
}

/* ---- Storage: data -------------------------------------------------------- */

static PyObject *storage_write(PyObject *op, PyObject *data)
{
    Storage *self = (Storage *)op;
    Py_buffer buffer;
    if (PyObject_GetBuffer(data, &buffer, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!storage_enter(self)) {
        PyBuffer_Release(&buffer);
        return NULL;
    }
    stash_status status;
    STASHPY_RELEASE_GIL_IF(buffer.len >= STASHPY_GIL_FREE_BYTES,
                         status = stash_storage_write(self->st, buffer.buf, (size_t)buffer.len));
    storage_leave(self);
    Py_ssize_t written = buffer.len;
    PyBuffer_Release(&buffer);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromSsize_t(written);
}

static PyObject *storage_readinto(PyObject *op, PyObject *into)
{
    Storage *self = (Storage *)op;
    Py_buffer buffer;
    if (PyObject_GetBuffer(into, &buffer, PyBUF_WRITABLE) < 0)
        return NULL;
    if (!storage_enter(self)) {
        PyBuffer_Release(&buffer);
        return NULL;
    }
    stash_status status;
    size_t got = 0;
    STASHPY_RELEASE_GIL_IF(
        buffer.len >= STASHPY_GIL_FREE_BYTES,
        status = stash_storage_readinto(self->st, buffer.buf, (size_t)buffer.len, &got));
    storage_leave(self);
    PyBuffer_Release(&buffer);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromSize_t(got);
}

/*
 * Reads up to max bytes (negative: to the end) from offset on into a new
 * bytes object *out; the read pointer ends after them. Called with the lock
 * held, so a failed read is returned for raising after it is released (an
 * exception object may start a collection, whose finalizers could call this
 * storage); bytes objects are never collected, so allocating one here is
 * safe. Out of memory: MemoryError is raised and *out stays NULL.
 */
static stash_status read_from(Storage *self, uint64_t offset, Py_ssize_t max, PyObject **out)
{
    uint64_t length = stash_storage_length(self->st);
    uint64_t left = offset < length ? length - offset : 0;
    if (max >= 0 && (uint64_t)max < left)
        left = (uint64_t)max;
    PyObject *bytes = left <= (uint64_t)PY_SSIZE_T_MAX
                          ? PyBytes_FromStringAndSize(NULL, (Py_ssize_t)left)
                          : PyErr_NoMemory();
    if (!bytes)
        return STASH_OK;
    uint64_t was = stash_storage_tell_read(self->st);
    size_t got = 0;
    stash_status status = stash_storage_seek_read(self->st, (int64_t)offset, STASH_SEEK_SET, NULL);
    if (status >= 0)
        STASHPY_RELEASE_GIL_IF(left >= STASHPY_GIL_FREE_BYTES,
                             status = stash_storage_readinto(self->st, PyBytes_AS_STRING(bytes),
                                                             (size_t)left, &got));
    if (status < 0) {
        stash_storage_seek_read(self->st, (int64_t)was, STASH_SEEK_SET, NULL);
        Py_DECREF(bytes);
        return status;
    }
    if (got < left && _PyBytes_Resize(&bytes, (Py_ssize_t)got) < 0)
        return STASH_OK; /* MemoryError, bytes gone */
    *out = bytes;
    return STASH_OK;
}

/* Reads at offset (negative max: to the end) under the lock, then raises what failed. */
static PyObject *storage_read_at(Storage *self, bool from_start, Py_ssize_t max)
{
    if (!storage_enter(self))
        return NULL;
    PyObject *bytes = NULL;
    stash_status status = read_from(self, from_start ? 0 : stash_storage_tell_read(self->st), max,
                                    &bytes);
    storage_leave(self);
    return status < 0 ? stashpy_raise(status) : bytes;
}

static PyObject *storage_read(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"n", NULL};
    PyObject *n_object = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:read", keywords, &n_object))
        return NULL;
    Py_ssize_t n = -1;
    if (n_object != Py_None) {
        /* Clamped, not an OverflowError: a read returns what there is. */
        n = PyNumber_AsSsize_t(n_object, NULL);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        if (n < -1)
            return stashpy_raise_context(STASH_E_INVALID, "read(%zd)", n);
    }
    return storage_read_at((Storage *)op, false, n);
}

static PyObject *storage_read_all(PyObject *op, PyObject *unused)
{
    (void)unused;
    return storage_read_at((Storage *)op, true, -1);
}

/* ---- Storage: pointers ---------------------------------------------------- */

typedef stash_status (*seek_fn)(stash_storage *, int64_t, int, uint64_t *);

static PyObject *storage_seek(Storage *self, PyObject *args, PyObject *kwds, seek_fn seek,
                              const char *format)
{
    static char *keywords[] = {"offset", "whence", NULL};
    long long offset;
    int whence = STASH_SEEK_SET;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, format, keywords, &offset, &whence))
        return NULL;
    if (!storage_enter(self))
        return NULL;
    uint64_t pos = 0;
    stash_status status = seek(self->st, (int64_t)offset, whence, &pos);
    storage_leave(self);
    if (status < 0)
        return stashpy_raise_context(status, "seek(%lld, whence=%d)", offset, whence);
    return PyLong_FromUnsignedLongLong(pos);
}

static PyObject *storage_seek_read(PyObject *op, PyObject *args, PyObject *kwds)
{
    return storage_seek((Storage *)op, args, kwds, stash_storage_seek_read, "L|i:seek_read");
}

static PyObject *storage_seek_write(PyObject *op, PyObject *args, PyObject *kwds)
{
    return storage_seek((Storage *)op, args, kwds, stash_storage_seek_write, "L|i:seek_write");
}

/* A pointer or the length, read under the lock (another thread may be writing). */
static PyObject *storage_number(Storage *self, uint64_t (*get)(const stash_storage *))
{
    if (!storage_enter(self))
        return NULL;
    uint64_t value = get(self->st);
    storage_leave(self);
    return PyLong_FromUnsignedLongLong(value);
}

static PyObject *storage_tell_read(PyObject *op, PyObject *unused)
{
    (void)unused;
    return storage_number((Storage *)op, stash_storage_tell_read);
}

static PyObject *storage_tell_write(PyObject *op, PyObject *unused)
{
    (void)unused;
    return storage_number((Storage *)op, stash_storage_tell_write);
}

static PyObject *storage_length(PyObject *op, void *unused)
{
    (void)unused;
    return storage_number((Storage *)op, stash_storage_length);
}

static PyObject *storage_eof(PyObject *op, PyObject *unused)
{
    (void)unused;
    Storage *self = (Storage *)op;
    if (!storage_enter(self))
        return NULL;
    bool eof = stash_storage_eof(self->st);
    storage_leave(self);
    return PyBool_FromLong(eof);
}

static PyObject *storage_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((Storage *)op)->st == NULL);
}

static PyObject *storage_kind(PyObject *op, void *unused)
{
    (void)unused;
    return PyUnicode_FromString(((Storage *)op)->kind);
}

static PyObject *storage_filename(PyObject *op, void *unused)
{
    (void)unused;
    PyObject *filename = ((Storage *)op)->filename;
    return Py_NewRef(filename ? filename : Py_None);
}

static PyObject *storage_repr(PyObject *op)
{
    Storage *self = (Storage *)op;
    PyObject *where = self->filename ? PyUnicode_FromFormat(" %R mode='%s'", self->filename,
                                                            self->mode)
                                     : PyUnicode_FromString("");
    if (!where)
        return NULL;
    PyObject *repr;
    stashpy_lock_acquire(&self->lock);
    if (!self->st)
        repr = PyUnicode_FromFormat("<stash.Storage %s%U closed>", self->kind, where);
    else
        repr = PyUnicode_FromFormat(
            "<stash.Storage %s%U rp=%llu wp=%llu length=%llu>", self->kind, where,
            (unsigned long long)stash_storage_tell_read(self->st),
            (unsigned long long)stash_storage_tell_write(self->st),
            (unsigned long long)stash_storage_length(self->st));
    stashpy_lock_release(&self->lock);
    Py_DECREF(where);
    return repr;
}

static PyMethodDef storage_methods[] = {
    {"memory", storage_memory, METH_NOARGS | METH_CLASS, "memory($type, /)\n--\n\n"
     "An empty storage in memory."},
    {"file", (PyCFunction)(void (*)(void))storage_file, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "file(path, mode='r')\n--\n\nA storage over a named file; mode as fopen's (r, r+, w, w+, "
     "a, a+, x, x+, with b or t ignored). 'r' refuses writes, 'w' and 'a' refuse reads."},
    {"temp", (PyCFunction)(void (*)(void))storage_temp, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "temp(pool)\n--\n\nAn empty read-write storage in a temp file of pool (a StoragePool), "
     "removed at close."},
    {"write", storage_write, METH_O,
     "write(data, /)\n--\n\nStores a bytes-like object at the write pointer and advances it; "
     "returns its length."},
    {"read", (PyCFunction)(void (*)(void))storage_read, METH_VARARGS | METH_KEYWORDS,
     "read(n=-1)\n--\n\nUp to n bytes from the read pointer (-1 or None: to the end), "
     "advancing it; b'' at the end."},
    {"readinto", storage_readinto, METH_O,
     "readinto(buf, /)\n--\n\nReads up to len(buf) bytes from the read pointer into a "
     "writable bytes-like object; returns how many (0 at the end)."},
    {"read_all", storage_read_all, METH_NOARGS,
     "read_all($self, /)\n--\n\nThe whole content as bytes; the read pointer moves to the end."},
    {"seek_read", (PyCFunction)(void (*)(void))storage_seek_read, METH_VARARGS | METH_KEYWORDS,
     "seek_read(offset, whence=0)\n--\n\nMoves the read pointer (os.SEEK_SET, SEEK_CUR, "
     "SEEK_END), clamped into [0, length]; returns it."},
    {"seek_write", (PyCFunction)(void (*)(void))storage_seek_write, METH_VARARGS | METH_KEYWORDS,
     "seek_write(offset, whence=0)\n--\n\nMoves the write pointer, clamped into [0, length]; "
     "returns it."},
    {"tell_read", storage_tell_read, METH_NOARGS, "tell_read($self, /)\n--\n\nThe read pointer."},
    {"tell_write", storage_tell_write, METH_NOARGS, "tell_write($self, /)\n--\n\n"
     "The write pointer."},
    {"eof", storage_eof, METH_NOARGS, "eof($self, /)\n--\n\n"
     "True if the read pointer is at the end."},
    {"flush", storage_flush, METH_NOARGS, "flush($self, /)\n--\n\n"
     "Hands buffered writes to the system (no fsync)."},
    {"close", storage_close, METH_NOARGS,
     "close($self, /)\n--\n\n"
     "Flushes and releases the storage (a temp file is removed); again is a no-op."},
    {"__enter__", storage_context_enter, METH_NOARGS, NULL},
    {"__exit__", storage_context_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef storage_getset[] = {
    {"length", storage_length, NULL, "The length in bytes.", NULL},
    {"closed", storage_closed, NULL, "True after close().", NULL},
    {"kind", storage_kind, NULL, "'memory', 'file' or 'temp'.", NULL},
    {"filename", storage_filename, NULL, "The path of a file storage, else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StorageType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.Storage",
    .tp_doc = "Bytes in memory, a file or a temp file, with separate read and write pointers.\n"
              "Open one with Storage.memory(), Storage.file(path, mode) or Storage.temp(pool).",
    .tp_basicsize = sizeof(Storage),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = storage_dealloc,
    .tp_repr = storage_repr,
    .tp_methods = storage_methods,
    .tp_getset = storage_getset,
};

int stashpy_add_storage(PyObject *module)
{
    if (PyType_Ready(&StorageType) < 0 || PyType_Ready(&StoragePoolType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Storage", (PyObject *)&StorageType) < 0 ||
        PyModule_AddObjectRef(module, "StoragePool", (PyObject *)&StoragePoolType) < 0)
        return -1;
    return 0;
}
