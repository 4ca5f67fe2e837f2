/*
 * memfile.c - stash.MemFile: one block of RAM read and written from Python,
 * over include/stash/memfile.h.
 *
 * A MemFile holds a Region that owns a core: the C memory file and the lock
 * of that file, shared by the MemFile and every handle from open() (a
 * handle is a stash_stream, which serves one thread at a time).
 *
 * Threads: no two calls on one memory file ever overlap. Calls that keep the
 * GIL are kept apart by it: nothing between call_begin() and call_end() runs
 * Python code or lets the GIL go. Only copies of STASHPY_GIL_FREE_BYTES or
 * more let it go, and those hold the lock, taken at call_begin() without the
 * GIL (stashpy_lock_acquire) by the copy and by any call that begins while a
 * copy runs (core->copying). So a call that keeps the GIL takes no lock at
 * all when no copy is in flight (an 8-byte pread costs 60 ns, not 85), and
 * no thread ever waits holding the GIL. For the same reason the C file is
 * created without STASH_MEMFILE_LOCKED: its read-write lock would never be
 * contended and costs 15 ns a call.
 *
 * Lifetimes: the core lives as long as its Region, which the MemFile holds
 * until close(), each view() holds, each handle holds, and each call holds
 * while it runs (so a close() from another thread never frees the lock a
 * call waits on). Closing with views or handles alive therefore defers the
 * release of the memory until the last of them is gone.
 *
 * Growth never moves the memory (memfile.h: the base address is fixed), so
 * views stay valid however the file grows; shrinking would leave them over
 * bytes that fault, so it raises BufferError while any view is alive, as
 * bytearray and mmap do: truncate() to a smaller size, and open() with "w"
 * of a non-empty file.
 *
 * Nothing that can run Python code (raising, allocating objects the cycle
 * collector tracks, whose collection may run finalizers) happens inside a
 * call: a finalizer closing a handle of the same file would wait for the
 * lock its own thread holds, or break the GIL's exclusion above.
 */
#include "stashpy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Reads of up to this many bytes need no size query (pread_bytes). */
#define SMALL_READ_BYTES 256

typedef struct {
    stash_memfile *mf;
    stashpy_lock lock;
    bool copying; /* a call holding the lock is copying without the GIL */
    /* The mapping (it never moves) and the longest view() handed out: a
     * buffer inside [base, base + viewed_bytes) is the file's own memory. */
    const unsigned char *base;
    uint64_t viewed_bytes;
} memfile_core;

/* The Region's release: nothing can report a status from a deallocator;
 * close() reports it when it drops the last reference itself. */
static void core_release(void *resource)
{
    memfile_core *core = resource;
    (void)stash_memfile_close(&core->mf);
    stashpy_lock_fini(&core->lock);
    PyMem_Free(core);
}

typedef struct {
    PyObject_HEAD
    PyObject *region; /* owns the core; NULL once closed */
    PyObject *name;
    int fd;           /* the descriptor fileno() exported, or -1 */
    PyObject *small_result; /* the last small read's (n, data), for reuse */
} MemFile;

typedef struct {
    PyObject_HEAD
    PyObject *region; /* NULL once closed */
    stash_stream *stream;
    bool writable;
} Stream;

/* ---- One call on a memory file (see the top of the file) ------------------- */

/* call_begin, call_end and stashpy_unsigned_arg are inline: an 8-byte pread is mostly
 * them, and inlining them takes a tenth off its instructions (callgrind). */

typedef struct {
    PyObject *region; /* the call's own reference */
    memfile_core *core;
    bool locked;
} memfile_call;

/* Unlocks if need be and drops the call's reference (which may release the
 * core, so the lock goes first). */
static inline void call_end(memfile_call *call)
{
    if (call->locked)
        stashpy_lock_release(&call->core->lock);
    Py_DECREF(call->region);
}

/*
 * Begins a call on the file whose region *slot holds, one that will copy up
 * to copy_bytes: takes a reference to the region, and the lock if this call
 * will copy without the GIL or another call is doing so. -1 with
 * stash.Closed raised if *slot is NULL, or became NULL while this thread
 * waited for the lock.
 */
static inline int call_begin(PyObject *const *slot, uint64_t copy_bytes, memfile_call *call)
{
    PyObject *region = *slot;
    if (!region) {
        stashpy_raise(STASH_E_CLOSED);
        return -1;
    }
    call->region = Py_NewRef(region);
    call->core = stashpy_region_resource(region);
    call->locked = copy_bytes >= STASHPY_GIL_FREE_BYTES || call->core->copying;
    if (call->locked) {
        stashpy_lock_acquire(&call->core->lock);
        if (*slot != region) {
            call_end(call);
            stashpy_raise(STASH_E_CLOSED);
            return -1;
        }
    }
    return 0;
}

/* Runs expr, a copy of bytes bytes, without the GIL when the call holds the
 * lock and the copy is large enough to pay. */
#define COPY_CALL(call, status, bytes, expr)                           \
    do {                                                               \
        if ((call)->locked && (bytes) >= STASHPY_GIL_FREE_BYTES) {     \
            (call)->core->copying = true;                              \
            Py_BEGIN_ALLOW_THREADS                                     \
            (status) = (expr);                                         \
            Py_END_ALLOW_THREADS                                       \
            (call)->core->copying = false;                             \
        } else {                                                       \
            (status) = (expr);                                         \
        }                                                              \
    } while (0)

/* Why a shrink was refused; raised after call_end(). */
static PyObject *raise_views_alive(void)
{
    PyErr_SetString(PyExc_BufferError,
                    "stash: cannot shrink a memory file while views of it exist");
    return NULL;
}

/* Whether setting the size to new_size would shrink the file under a live view. */
static stash_status would_shrink_viewed(const memfile_call *call, uint64_t new_size,
                                        bool *refused)
{
    *refused = false;
    if (stashpy_region_exports(call->region) == 0)
        return STASH_OK;
    uint64_t size;
    stash_status status = stash_memfile_size(call->core->mf, &size);
    *refused = status == STASH_OK && new_size < size;
    return status;
}

/*
 * A source buffer inside the file's own memory (a slice of view()) is
 * copied first: the C write is a memcpy, undefined when the ranges overlap.
 * *copy (freed by the caller with PyMem_Free) is NULL when no copy was made.
 */
static int source_outside(const memfile_core *core, const void **data, size_t len,
                          void **copy)
{
    uintptr_t p = (uintptr_t)*data, base = (uintptr_t)core->base;
    *copy = NULL;
    if (len == 0 || p < base || p - base >= core->viewed_bytes)
        return 0;
    *copy = PyMem_Malloc(len);
    if (!*copy)
        return -1;
    memcpy(*copy, *data, len);
    *data = *copy;
    return 0;
}

/* ---- Arguments ------------------------------------------------------------ */

/* A signed offset (seek): out of int64 is stash.OutOfRange. */
static int signed_arg(PyObject *obj, const char *what, int64_t *out)
{
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && !overflow && PyErr_Occurred())
        return -1;
    if (overflow) {
        stashpy_raise_context(STASH_E_RANGE, "%s out of the 64-bit range", what);
        return -1;
    }
    *out = value;
    return 0;
}

/*
 * The keyword path of a METH_FASTCALL method: PyArg's own parsing over a
 * tuple and a dict built from the vector. The objects it gives are borrowed
 * from args, which the caller holds for the whole call.
 */
static int parse_vector(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                        const char *format, char **keywords, ...)
{
    PyObject *tuple = PyTuple_New(nargs);
    PyObject *dict = kwnames ? PyDict_New() : NULL;
    int ok = tuple && (!kwnames || dict);
    for (Py_ssize_t i = 0; ok && i < nargs; i++)
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    for (Py_ssize_t i = 0; ok && kwnames && i < PyTuple_GET_SIZE(kwnames); i++)
        ok = PyDict_SetItem(dict, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) == 0;
    if (ok) {
        va_list va;
        va_start(va, keywords);
        ok = PyArg_VaParseTupleAndKeywords(tuple, dict, format, keywords, va);
        va_end(va);
    }
    Py_XDECREF(tuple);
    Py_XDECREF(dict);
    return ok ? 0 : -1;
}

/* (n, data), the result of pread; steals data. */
static PyObject *read_result(size_t n, PyObject *data)
{
    if (!data)
        return NULL;
    PyObject *count = PyLong_FromSize_t(n);
    PyObject *result = count ? PyTuple_New(2) : NULL;
    if (!result) {
        Py_XDECREF(count);
        Py_DECREF(data);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, count);
    PyTuple_SET_ITEM(result, 1, data);
    return result;
}

/* ---- MemFile: creation and the positional calls ---------------------------- */

static PyObject *memfile_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"name", "max_size", NULL};
    const char *name = "memfile";
    PyObject *max_size_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|sO:MemFile", keywords, &name,
                                     &max_size_obj))
        return NULL;
    stash_memfile_options options = {0}; /* not STASH_MEMFILE_LOCKED: see the top */
    if (max_size_obj != Py_None && stashpy_unsigned_arg(max_size_obj, "max_size", &options.max_size) < 0)
        return NULL;
    MemFile *self = (MemFile *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->fd = -1;
    memfile_core *core = PyMem_Calloc(1, sizeof *core);
    if (!core) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    if (stashpy_lock_init(&core->lock) < 0) {
        PyMem_Free(core);
        Py_DECREF(self);
        return NULL;
    }
    void *base;
    uint64_t size;
    stash_status status = stash_memfile_create(name, &options, &core->mf);
    if (status == STASH_OK)
        status = stash_memfile_data(core->mf, &base, &size);
    if (status != STASH_OK) {
        core_release(core);
        Py_DECREF(self);
        return stashpy_raise(status);
    }
    core->base = base;
    self->region = stashpy_region_new(core, core_release); /* releases it on failure */
    if (self->region)
        self->name = PyUnicode_FromString(stash_memfile_name(core->mf));
    if (!self->name) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/*
 * The (n, data) of a small read: the last one again when its caller has let
 * go of it (`n, data = f.pread(...)` does), as zip() reuses its tuple; it
 * saves a third of an 8-byte read. It only ever holds an int and at most
 * SMALL_READ_BYTES of bytes, so keeping it costs nothing. Steals data.
 */
static PyObject *small_read_result(MemFile *self, size_t n, PyObject *data)
{
    if (!data)
        return NULL;
    PyObject *result = self->small_result;
    if (!result || Py_REFCNT(result) != 1) {
        result = read_result(n, data);
        if (result)
            Py_XSETREF(self->small_result, Py_NewRef(result));
        return result;
    }
    PyObject *count = PyLong_FromSize_t(n);
    if (!count) {
        Py_DECREF(data);
        return NULL;
    }
    PyObject *old_count = PyTuple_GET_ITEM(result, 0), *old_data = PyTuple_GET_ITEM(result, 1);
    PyTuple_SET_ITEM(result, 0, count);
    PyTuple_SET_ITEM(result, 1, data);
    Py_DECREF(old_count);
    Py_DECREF(old_data);
    return Py_NewRef(result);
}

/* A read of len bytes at offset: the file's own (read_at) or a handle's (read_stream). */
typedef stash_status (*read_fn)(const memfile_call *call, void *stream, void *into, size_t len,
                                uint64_t offset, size_t *got);

static stash_status read_at(const memfile_call *call, void *stream, void *into, size_t len,
                            uint64_t offset, size_t *got)
{
    (void)stream;
    return stash_memfile_pread(call->core->mf, into, len, offset, got);
}

/*
 * New bytes holding a read of up to n bytes through read (n <= PY_SSIZE_T_MAX), shrunk
 * to the *got that came; ends the call. Bytes are not tracked by the cycle collector:
 * allocating them inside the call runs no Python code. Inline: pread's hot path.
 */
static inline PyObject *read_new_bytes(memfile_call *call, uint64_t n, read_fn read, void *stream,
                                       uint64_t offset, size_t *got)
{
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    stash_status status = STASH_OK;
    *got = 0;
    if (bytes)
        COPY_CALL(call, status, n,
                  read(call, stream, PyBytes_AS_STRING(bytes), (size_t)n, offset, got));
    call_end(call);
    if (!bytes)
        return NULL;
    if (stashpy_check(status)) {
        Py_DECREF(bytes);
        return NULL;
    }
    if (*got < n && _PyBytes_Resize(&bytes, (Py_ssize_t)*got) < 0)
        return NULL;
    return bytes;
}

/*
 * Reads into new bytes. A small read allocates them at the size asked and
 * shrinks them after (no size query); a larger one sizes them to what the
 * file holds past offset, so a huge size costs nothing.
 */
static PyObject *pread_bytes(MemFile *self, uint64_t offset, uint64_t size)
{
    memfile_call call;
    if (call_begin(&self->region, size, &call) < 0)
        return NULL;
    stash_status status = STASH_OK;
    uint64_t n = size;
    if (size > SMALL_READ_BYTES) {
        uint64_t file_size;
        status = stash_memfile_size(call.core->mf, &file_size);
        uint64_t available = file_size > offset ? file_size - offset : 0;
        n = size < available ? size : available;
    }
    if (status != STASH_OK || n > PY_SSIZE_T_MAX) {
        call_end(&call);
        return status != STASH_OK ? stashpy_raise(status) : PyErr_NoMemory();
    }
    size_t got;
    PyObject *bytes = read_new_bytes(&call, n, read_at, NULL, offset, &got);
    if (!bytes)
        return NULL;
    if (size <= SMALL_READ_BYTES)
        return small_read_result(self, got, bytes);
    return read_result(got, bytes);
}

/* Reads into the caller's writable buffer, which comes back as the data. */
static PyObject *pread_into(MemFile *self, uint64_t offset, uint64_t size, PyObject *buffer)
{
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0)
        return NULL;
    if (size > (uint64_t)view.len) {
        PyBuffer_Release(&view);
        return stashpy_raise_context(STASH_E_INVALID,
                                     "size %llu is larger than the buffer (%zd bytes)",
                                     (unsigned long long)size, view.len);
    }
    memfile_call call;
    if (call_begin(&self->region, size, &call) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    size_t got = 0;
    stash_status status;
    COPY_CALL(&call, status, size,
              stash_memfile_pread(call.core->mf, view.buf, (size_t)size, offset, &got));
    call_end(&call);
    PyBuffer_Release(&view);
    if (stashpy_check(status))
        return NULL;
    return read_result(got, Py_NewRef(buffer));
}

static PyObject *memfile_pread(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    static char *keywords[] = {"offset", "size", "buffer", NULL};
    PyObject *offset_obj, *size_obj, *buffer = Py_None;
    /* The hot path parses nothing by name. */
    if (!kwnames && (nargs == 2 || nargs == 3)) {
        offset_obj = args[0];
        size_obj = args[1];
        if (nargs == 3)
            buffer = args[2];
    } else if (parse_vector(args, nargs, kwnames, "OO|O:pread", keywords, &offset_obj,
                            &size_obj, &buffer) < 0) {
        return NULL;
    }
    uint64_t offset, size;
    if (stashpy_unsigned_arg(offset_obj, "offset", &offset) < 0 ||
        stashpy_unsigned_arg(size_obj, "size", &size) < 0)
        return NULL;
    MemFile *self = (MemFile *)op;
    if (buffer != Py_None)
        return pread_into(self, offset, size, buffer);
    return pread_bytes(self, offset, size);
}

/* A write of len bytes at offset: the file's own (write_at) or a handle's (write_stream). */
typedef stash_status (*write_fn)(const memfile_call *call, void *stream, const void *data,
                                 size_t len, uint64_t offset);

static stash_status write_at(const memfile_call *call, void *stream, const void *data, size_t len,
                             uint64_t offset)
{
    (void)stream;
    return stash_memfile_pwrite(call->core->mf, data, len, offset);
}

/* Writes all of data's bytes through write; n is their count. Shared by pwrite and a
 * handle's write. */
static PyObject *write_buffer(PyObject *const *slot, PyObject *data, write_fn write,
                              void *stream, uint64_t offset)
{
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    size_t len = (size_t)view.len;
    memfile_call call;
    if (call_begin(slot, len, &call) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const void *source = view.buf;
    void *copy;
    stash_status status = STASH_OK;
    if (source_outside(call.core, &source, len, &copy) < 0)
        status = -ENOMEM;
    else
        COPY_CALL(&call, status, len, write(&call, stream, source, len, offset));
    call_end(&call);
    PyMem_Free(copy);
    PyBuffer_Release(&view);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromSize_t(len);
}

static PyObject *memfile_pwrite(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames)
{
    static char *keywords[] = {"offset", "data", NULL};
    PyObject *offset_obj, *data;
    if (!kwnames && nargs == 2) {
        offset_obj = args[0];
        data = args[1];
    } else if (parse_vector(args, nargs, kwnames, "OO:pwrite", keywords, &offset_obj, &data) <
               0) {
        return NULL;
    }
    uint64_t offset;
    if (stashpy_unsigned_arg(offset_obj, "offset", &offset) < 0)
        return NULL;
    return write_buffer(&((MemFile *)op)->region, data, write_at, NULL, offset);
}

static PyObject *memfile_size(PyObject *op, PyObject *unused)
{
    (void)unused;
    memfile_call call;
    if (call_begin(&((MemFile *)op)->region, 0, &call) < 0)
        return NULL;
    uint64_t size;
    stash_status status = stash_memfile_size(call.core->mf, &size);
    call_end(&call);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromUnsignedLongLong(size);
}

/* Sets the size of the file region holds, unless that shrinks it under a
 * view; shared by MemFile.truncate and a handle's. */
static PyObject *truncate_file(PyObject *const *slot, PyObject *size_obj)
{
    uint64_t size;
    if (stashpy_unsigned_arg(size_obj, "size", &size) < 0)
        return NULL;
    memfile_call call;
    if (call_begin(slot, 0, &call) < 0)
        return NULL;
    bool refused;
    stash_status status = would_shrink_viewed(&call, size, &refused);
    if (status == STASH_OK && !refused)
        status = stash_memfile_truncate(call.core->mf, size);
    call_end(&call);
    if (refused)
        return raise_views_alive();
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromUnsignedLongLong(size);
}

static PyObject *memfile_truncate(PyObject *op, PyObject *size)
{
    return truncate_file(&((MemFile *)op)->region, size);
}

/* The descriptor is exported once and owned by the MemFile, as a file
 * object owns its fileno(); it is closed by close(). */
static PyObject *memfile_fileno(PyObject *op, PyObject *unused)
{
    (void)unused;
    MemFile *self = (MemFile *)op;
    memfile_call call;
    if (call_begin(&self->region, 0, &call) < 0)
        return NULL;
    stash_status status = STASH_OK;
    if (self->fd < 0)
        status = stash_memfile_fd(call.core->mf, &self->fd);
    int fd = self->fd;
    call_end(&call);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromLong(fd);
}

static PyObject *memfile_view(PyObject *op, PyObject *unused)
{
    (void)unused;
    memfile_call call;
    if (call_begin(&((MemFile *)op)->region, 0, &call) < 0)
        return NULL;
    void *data;
    uint64_t size;
    stash_status status = stash_memfile_data(call.core->mf, &data, &size);
    if (status == STASH_OK && size > call.core->viewed_bytes)
        call.core->viewed_bytes = size;
    /* The view is made after the call (making it may run the collector); no
     * other thread can shrink the file before it counts: that takes the
     * GIL, which this thread keeps until the view exists. */
    PyObject *region = Py_NewRef(call.region);
    call_end(&call);
    PyObject *view = NULL;
    if (status != STASH_OK)
        stashpy_raise(status);
    else if (size > PY_SSIZE_T_MAX)
        PyErr_NoMemory();
    else
        view = stashpy_bytes_view(region, data, (size_t)size, false);
    Py_DECREF(region);
    return view;
}

/* Drops the MemFile's reference. With nothing else holding the region (no
 * views, handles or calls in flight) the C file is closed here so its status
 * can be reported; otherwise the last holder releases it. */
static PyObject *memfile_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    MemFile *self = (MemFile *)op;
    PyObject *region = self->region;
    if (!region)
        Py_RETURN_NONE;
    self->region = NULL;
    stash_status status = STASH_OK;
    if (self->fd >= 0 && close(self->fd) != 0)
        status = -errno;
    self->fd = -1;
    if (Py_REFCNT(region) == 1) {
        memfile_core *core = stashpy_region_resource(region);
        stash_status closed = stash_memfile_close(&core->mf);
        status = status != STASH_OK ? status : closed;
    }
    Py_DECREF(region);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

/* ---- MemFile: open(), the context manager, attributes ---------------------- */

/* A handle: the C stream under the Python io layer (stash/_memfile.py). */
static PyTypeObject StreamType;

static PyObject *memfile_open_stream(PyObject *op, PyObject *mode_obj)
{
    const char *mode = PyUnicode_AsUTF8(mode_obj);
    if (!mode)
        return NULL;
    Stream *handle = PyObject_New(Stream, &StreamType);
    if (!handle)
        return NULL;
    handle->region = NULL;
    handle->stream = NULL;
    handle->writable = strpbrk(mode, "wax+") != NULL;
    memfile_call call;
    if (call_begin(&((MemFile *)op)->region, 0, &call) < 0) {
        Py_DECREF(handle);
        return NULL;
    }
    bool refused = false;
    stash_status status = STASH_OK;
    if (strchr(mode, 'w')) /* "w" empties the file */
        status = would_shrink_viewed(&call, 0, &refused);
    if (status == STASH_OK && !refused)
        status = stash_memfile_open(call.core->mf, mode, &handle->stream);
    if (status == STASH_OK && !refused)
        handle->region = Py_NewRef(call.region);
    call_end(&call);
    if (refused || status != STASH_OK) {
        Py_DECREF(handle);
        return refused ? raise_views_alive() : stashpy_raise(status);
    }
    return (PyObject *)handle;
}

/* open() is Python (stash/_memfile.py): it stacks what io.open would. */
static PyObject *memfile_open(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static PyObject *open_memfile;
    if (!open_memfile) {
        PyObject *module = PyImport_ImportModule("stash._memfile");
        if (!module)
            return NULL;
        open_memfile = PyObject_GetAttrString(module, "open_memfile");
        Py_DECREF(module);
        if (!open_memfile)
            return NULL;
    }
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    PyObject *with_self = PyTuple_New(nargs + 1);
    if (!with_self)
        return NULL;
    PyTuple_SET_ITEM(with_self, 0, Py_NewRef(self));
    for (Py_ssize_t i = 0; i < nargs; i++)
        PyTuple_SET_ITEM(with_self, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
    PyObject *file = PyObject_Call(open_memfile, with_self, kwargs);
    Py_DECREF(with_self);
    return file;
}

static PyObject *memfile_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((MemFile *)op)->region)
        return stashpy_raise(STASH_E_CLOSED);
    return Py_NewRef(op);
}

static PyObject *memfile_exit(PyObject *op, PyObject *args)
{
    (void)args;
    PyObject *closed = memfile_close(op, NULL);
    if (!closed)
        return NULL;
    Py_DECREF(closed);
    Py_RETURN_FALSE;
}

static PyObject *memfile_get_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((MemFile *)op)->region == NULL);
}

static PyObject *memfile_get_name(PyObject *op, void *unused)
{
    (void)unused;
    return Py_NewRef(((MemFile *)op)->name);
}

static PyObject *memfile_repr(PyObject *op)
{
    MemFile *self = (MemFile *)op;
    if (!self->region)
        return PyUnicode_FromFormat("<stash.MemFile %R, closed>", self->name);
    PyObject *size = memfile_size(op, NULL);
    if (!size)
        return NULL;
    PyObject *repr = PyUnicode_FromFormat("<stash.MemFile %R, %S bytes>", self->name, size);
    Py_DECREF(size);
    return repr;
}

static void memfile_dealloc(PyObject *op)
{
    MemFile *self = (MemFile *)op;
    if (self->fd >= 0)
        close(self->fd);
    Py_XDECREF(self->region);
    Py_XDECREF(self->name);
    Py_XDECREF(self->small_result);
    Py_TYPE(op)->tp_free(op);
}

static PyMethodDef memfile_methods[] = {
    {"pread", (PyCFunction)(void (*)(void))memfile_pread, METH_FASTCALL | METH_KEYWORDS,
     "pread($self, /, offset, size, buffer=None)\n--\n\n"
     "Reads up to size bytes at offset; returns (n, data), n being how many (0 at or past\n"
     "the end). Without a buffer, data is new bytes; with a writable buffer of at least\n"
     "size bytes, the bytes land in it (no copy in between) and data is that buffer."},
    {"pwrite", (PyCFunction)(void (*)(void))memfile_pwrite, METH_FASTCALL | METH_KEYWORDS,
     "pwrite($self, /, offset, data)\n--\n\n"
     "Writes all of data (any contiguous bytes-like object) at offset, extending the file\n"
     "(a gap reads as zeros); n is len(data) in bytes. stash.Full past max_size."},
    {"size", memfile_size, METH_NOARGS, "size($self, /)\n--\n\nThe size in bytes."},
    {"truncate", memfile_truncate, METH_O,
     "truncate($self, size, /)\n--\n\n"
     "Shrinks the file, or extends it with zeros; returns size. BufferError if it would\n"
     "shrink while views exist; stash.Busy if it would shrink after fileno() exported it."},
    {"fileno", memfile_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\n"
     "A descriptor for the same bytes, owned by this MemFile (closed by close()). Exporting\n"
     "seals the file against shrinking."},
    {"view", memfile_view, METH_NOARGS,
     "view($self, /)\n--\n\n"
     "A read-only view of the whole current content, without a copy. It stays valid after\n"
     "close(), which defers releasing the memory until the last view is gone."},
    {"open", (PyCFunction)(void (*)(void))memfile_open, METH_VARARGS | METH_KEYWORDS,
     "open($self, /, mode='r', buffering=-1, encoding=None, errors=None, newline=None)\n--\n\n"
     "A new handle with its own position, of the type io.open would return for the mode."},
    {"_open_stream", memfile_open_stream, METH_O, "The raw handle under open() (C modes)."},
    {"close", memfile_close, METH_NOARGS,
     "close($self, /)\n--\n\nCloses the file; the memory stays while views or handles use it."},
    {"__enter__", memfile_enter, METH_NOARGS, NULL},
    {"__exit__", memfile_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef memfile_getset[] = {
    {"closed", memfile_get_closed, NULL, "True after close().", NULL},
    {"name", memfile_get_name, NULL, "The name given at creation.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject MemFileType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.MemFile",
    .tp_doc = "MemFile(name='memfile', max_size=None)\n--\n\n"
              "A file that lives in memory, opened through any number of handles, each with its\n"
              "own position, with positional calls, a read-only zero-copy view and a descriptor.\n"
              "max_size bounds the file (rounded up to whole pages; None or 0: 64 GiB of\n"
              "address space, reserved, not used). Any threads may share it and its handles.",
    .tp_basicsize = sizeof(MemFile),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = memfile_new,
    .tp_dealloc = memfile_dealloc,
    .tp_repr = memfile_repr,
    .tp_methods = memfile_methods,
    .tp_getset = memfile_getset,
};

/* ---- Handles: the raw layer's C half ------------------------------------- */

static PyObject *stream_readinto(PyObject *op, PyObject *buffer)
{
    Stream *self = (Stream *)op;
    Py_buffer view;
    if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0)
        return NULL;
    memfile_call call;
    if (call_begin(&self->region, (uint64_t)view.len, &call) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    size_t got = 0;
    stash_status status;
    COPY_CALL(&call, status, (size_t)view.len,
              stash_stream_read(self->stream, view.buf, (size_t)view.len, &got));
    call_end(&call);
    PyBuffer_Release(&view);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromSize_t(got);
}

static stash_status read_stream(const memfile_call *call, void *stream, void *into, size_t len,
                                uint64_t offset, size_t *got)
{
    (void)call, (void)offset;
    return stash_stream_read(((Stream *)stream)->stream, into, len, got);
}

/* read(size=-1): bytes, up to the end for a negative size or None. */
static PyObject *stream_read(PyObject *op, PyObject *args)
{
    PyObject *size_obj = Py_None;
    if (!PyArg_ParseTuple(args, "|O:read", &size_obj))
        return NULL;
    Py_ssize_t size = size_obj == Py_None ? -1 : PyLong_AsSsize_t(size_obj);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    Stream *self = (Stream *)op;
    memfile_call call;
    if (call_begin(&self->region, size < 0 ? UINT64_MAX : (uint64_t)size, &call) < 0)
        return NULL;
    uint64_t file_size;
    stash_status status = stash_stream_size(self->stream, &file_size);
    uint64_t pos = stash_stream_tell(self->stream);
    uint64_t n = file_size > pos ? file_size - pos : 0;
    if (size >= 0 && (uint64_t)size < n)
        n = (uint64_t)size;
    if (status != STASH_OK || n > PY_SSIZE_T_MAX) {
        call_end(&call);
        return status != STASH_OK ? stashpy_raise(status) : PyErr_NoMemory();
    }
    size_t got;
    return read_new_bytes(&call, n, read_stream, self, 0, &got);
}

static stash_status write_stream(const memfile_call *call, void *stream, const void *data,
                                 size_t len, uint64_t offset)
{
    (void)call, (void)offset;
    return stash_stream_write(((Stream *)stream)->stream, data, len);
}

static PyObject *stream_write(PyObject *op, PyObject *data)
{
    return write_buffer(&((Stream *)op)->region, data, write_stream, op, 0);
}

static PyObject *stream_seek(PyObject *op, PyObject *args)
{
    PyObject *offset_obj;
    int whence = STASH_SEEK_SET;
    int64_t offset;
    if (!PyArg_ParseTuple(args, "O|i:seek", &offset_obj, &whence) ||
        signed_arg(offset_obj, "offset", &offset) < 0)
        return NULL;
    Stream *self = (Stream *)op;
    memfile_call call;
    if (call_begin(&self->region, 0, &call) < 0)
        return NULL;
    uint64_t pos;
    stash_status status = stash_stream_seek(self->stream, offset, whence, &pos);
    call_end(&call);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromUnsignedLongLong(pos);
}

static PyObject *stream_tell(PyObject *op, PyObject *unused)
{
    (void)unused;
    Stream *self = (Stream *)op;
    memfile_call call;
    if (call_begin(&self->region, 0, &call) < 0)
        return NULL;
    uint64_t pos = stash_stream_tell(self->stream);
    call_end(&call);
    return PyLong_FromUnsignedLongLong(pos);
}

static PyObject *stream_truncate(PyObject *op, PyObject *size)
{
    Stream *self = (Stream *)op;
    if (!self->region)
        return stashpy_raise(STASH_E_CLOSED);
    if (!self->writable)
        return stashpy_raise(STASH_E_NOT_WRITABLE);
    return truncate_file(&self->region, size);
}

static PyObject *stream_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    Stream *self = (Stream *)op;
    if (!self->region)
        Py_RETURN_NONE;
    memfile_call call;
    if (call_begin(&self->region, 0, &call) < 0)
        return NULL;
    stash_status status = stash_stream_close(&self->stream);
    PyObject *own = self->region;
    self->region = NULL;
    call_end(&call);
    Py_DECREF(own);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

/* No lock: nothing else can use a stream being deallocated, and closing it
 * only drops its C reference to the file, atomically. */
static void stream_dealloc(PyObject *op)
{
    Stream *self = (Stream *)op;
    (void)stash_stream_close(&self->stream);
    Py_XDECREF(self->region);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *stream_get_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((Stream *)op)->region == NULL);
}

static PyMethodDef stream_methods[] = {
    {"readinto", stream_readinto, METH_O, NULL},
    {"read", stream_read, METH_VARARGS, NULL},
    {"write", stream_write, METH_O, NULL},
    {"seek", stream_seek, METH_VARARGS, NULL},
    {"tell", stream_tell, METH_NOARGS, NULL},
    {"truncate", stream_truncate, METH_O, NULL},
    {"close", stream_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef stream_getset[] = {
    {"closed", stream_get_closed, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash._MemFileStream",
    .tp_doc = "A handle on a MemFile with its own position (under stash._memfile.MemFileIO).",
    .tp_basicsize = sizeof(Stream),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = stream_dealloc,
    .tp_methods = stream_methods,
    .tp_getset = stream_getset,
};

int stashpy_add_memfile(PyObject *module)
{
    if (PyType_Ready(&MemFileType) < 0 || PyType_Ready(&StreamType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "MemFile", (PyObject *)&MemFileType) < 0 ||
        PyModule_AddObjectRef(module, "_MemFileStream", (PyObject *)&StreamType) < 0)
        return -1;
    return 0;
}
