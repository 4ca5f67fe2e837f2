/*
 * nco.c - nengo's cache objects from Python: the functions under stash.nco
 * and the types NcoFile and NcoBatch.
 *
 * read and write work on Python file objects, as nengo.utils.nco does, and
 * in as few calls into Python as can be: write builds the whole object in
 * C memory (stash_nco_write on a stream that starts at the file's position,
 * so the offsets in the header are the file's, as nengo writes them) and
 * hands it to fileobj.write once; read asks tell() where the object
 * starts, reads the 40-byte header, then everything up to the array's end
 * with readinto, and parses the pickle with stash's safe reader and the NPY
 * part in place. The bytes nengo reads through its Subfile are the same,
 * and the file is left where nengo leaves it: at the object's end.
 *
 * Memory handed to Python (the buffer fileobj.write receives, the one
 * readinto fills, the array read returns) belongs to a Region, so a file
 * object that keeps what it was given never sees it freed.
 *
 * NcoFile maps a file (stash_nco_open) through a Region: arrays are
 * zero-copy views that keep the mapping alive after close(). Opened with
 * mapped=False (STASH_NCO_NO_MAP, for files other programs may truncate)
 * it reads with pread and hands out copies instead. An open
 * stash_nco is read-only and thread-safe, so NcoFile has no lock; each call
 * holds its own reference to the region, so a close() from another thread
 * cannot pull the mapping away from under it. NcoBatch (stash_nco_batch,
 * one thread at a time) takes its lock for each call.
 */
#include "stashpy.h"

#include <stash/bytes.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static PyObject *str_tell, *str_read, *str_readinto, *str_write;

/* ---- Metadata: Python objects to pickles and back ------------------------- */

/*
 * metadata as a tree (NULL for None), its arrays borrowed from their
 * objects. Arrays, NumPy scalars and complex numbers are pickled as NumPy
 * pickles them, and the safe reader rebuilds them without calling NumPy.
 */
static int meta_tree(PyObject *metadata, stash_value **tree, stashpy_borrowed *borrowed)
{
    *tree = NULL;
    *borrowed = (stashpy_borrowed){0};
    if (metadata == Py_None)
        return 0;
    return stashpy_value_from_object(metadata, tree, borrowed);
}

static void meta_tree_free(stash_value **tree, stashpy_borrowed *borrowed)
{
    stash_value_free(tree);
    stashpy_borrowed_release(borrowed);
}

/* The exception for a pickle the safe reader refused, saying where. */
static PyObject *raise_pickle(stash_status status, const stash_pickle_error *err)
{
    if (!err->opcode_name[0])
        return stashpy_raise_context(status, "metadata pickle, byte %zu", err->offset);
    return stashpy_raise_context(status, "metadata pickle, %s at byte %zu", err->opcode_name,
                                 err->offset);
}

/* The Python object for a metadata tree; takes the tree. */
static PyObject *meta_object(stash_value **tree)
{
    if (stash_value_kind_of(*tree) == STASH_VALUE_NULL) {
        stash_value_free(tree);
        Py_RETURN_NONE;
    }
    return stashpy_value_to_object(tree, false);
}

/* Reads a pickle with stash's safe reader: nothing in it is imported or run. */
static PyObject *meta_from_pickle(const void *pickle, size_t len)
{
    stash_value *tree = NULL;
    stash_pickle_error err = {0};
    stash_status status;
    STASHPY_RELEASE_GIL_IF(len >= STASHPY_GIL_FREE_BYTES,
                           status = stash_pickle_read(pickle, len, NULL, &tree, &err));
    if (status < 0)
        return raise_pickle(status, &err);
    return meta_object(&tree);
}

/* ---- write(fileobj, metadata, array) ----------------------------------------- */

/*
 * A growable buffer that stands for the file from offset base on, so that
 * stash_nco_write at position base writes the offsets and the alignment
 * padding the object will have at base in the file.
 */
struct shifted {
    unsigned char *data;
    size_t len, cap;
    uint64_t base;
};

static stash_status shifted_reserve(struct shifted *b, size_t need)
{
    if (need <= b->cap)
        return STASH_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *data = realloc(b->data, cap);
    if (!data)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return STASH_OK;
}

static stash_status shifted_pwrite(void *ctx, const void *buf, size_t len, uint64_t offset)
{
    struct shifted *b = ctx;
    if (offset < b->base || offset - b->base > SIZE_MAX - len)
        return STASH_E_RANGE;
    size_t at = (size_t)(offset - b->base);
    stash_status status = shifted_reserve(b, at + len);
    if (status < 0)
        return status;
    if (at > b->len)
        memset(b->data + b->len, 0, at - b->len);
    memcpy(b->data + at, buf, len);
    if (at + len > b->len)
        b->len = at + len;
    return STASH_OK;
}

static stash_status shifted_pread(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got)
{
    struct shifted *b = ctx;
    *got = 0;
    if (offset < b->base || offset - b->base >= b->len)
        return STASH_OK;
    size_t at = (size_t)(offset - b->base);
    *got = len < b->len - at ? len : b->len - at;
    memcpy(buf, b->data + at, *got);
    return STASH_OK;
}

static stash_status shifted_size(void *ctx, uint64_t *size)
{
    struct shifted *b = ctx;
    *size = b->base + b->len;
    return STASH_OK;
}

static const stash_stream_backend shifted_backend = {
    .version = STASH_STREAM_BACKEND_V1,
    .pread = shifted_pread,
    .pwrite = shifted_pwrite,
    .size = shifted_size,
};

/* The object as it will sit at base in the file: b->data[0, b->len). */
static stash_status serialise(struct shifted *b, const stash_value *meta,
                              const stash_array_desc *desc, const void *data, uint64_t nbytes)
{
    stash_stream *s = NULL;
    stash_status status = shifted_reserve(b, nbytes > SIZE_MAX - 4096 ? SIZE_MAX : nbytes + 4096);
    if (status == STASH_OK)
        status = stash_stream_open_backend(&shifted_backend, b, STASH_STREAM_READ |
                                           STASH_STREAM_WRITE, &s);
    if (status == STASH_OK && b->base > INT64_MAX)
        status = STASH_E_RANGE;
    if (status == STASH_OK)
        status = stash_stream_seek(s, (int64_t)b->base, STASH_SEEK_SET, NULL);
    if (status == STASH_OK)
        status = stash_nco_write(s, meta, desc, data, NULL);
    stash_stream_close(&s); /* the buffer is b's: the backend has no close */
    return status;
}

/* A file position from tell() as a u64. */
static int file_position(PyObject *fileobj, uint64_t *pos)
{
    PyObject *told = PyObject_CallMethodNoArgs(fileobj, str_tell);
    if (!told)
        return -1;
    unsigned long long value = PyLong_AsUnsignedLongLong(told);
    Py_DECREF(told);
    if (value == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *pos = value;
    return 0;
}

/* fileobj.write of all len bytes (a raw file may take them in parts). */
static int write_all(PyObject *fileobj, PyObject *region, unsigned char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        PyObject *memory = stashpy_bytes_view(region, data + done, len - done, false);
        if (!memory)
            return -1;
        PyObject *wrote = PyObject_CallMethodOneArg(fileobj, str_write, memory);
        Py_DECREF(memory);
        if (!wrote)
            return -1;
        if (wrote == Py_None) { /* a file-like object that does not count took it all */
            Py_DECREF(wrote);
            return 0;
        }
        Py_ssize_t n = PyLong_AsSsize_t(wrote);
        Py_DECREF(wrote);
        if (n < 0 && PyErr_Occurred())
            return -1;
        if (n <= 0 || (size_t)n > len - done) {
            PyErr_Format(PyExc_OSError, "stash.nco.write: fileobj.write returned %zd", n);
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

static PyObject *nco_write(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fileobj", "metadata", "array", NULL};
    PyObject *fileobj, *metadata, *array;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:write", keywords, &fileobj, &metadata,
                                     &array))
        return NULL;
    struct shifted b = {0};
    if (file_position(fileobj, &b.base) < 0)
        return NULL;
    Py_buffer view;
    stash_array_desc desc;
    uint64_t nbytes = 0;
    if (stashpy_buffer_get(array, &view, &desc, 0) < 0)
        return NULL;
    stash_value *meta;
    stashpy_borrowed borrowed;
    if (meta_tree(metadata, &meta, &borrowed) < 0) {
        meta_tree_free(&meta, &borrowed);
        PyBuffer_Release(&view);
        return NULL;
    }
    stash_status status = stash_array_nbytes(&desc, &nbytes);
    if (status == STASH_OK)
        STASHPY_RELEASE_GIL_IF(nbytes >= STASHPY_GIL_FREE_BYTES,
                               status = serialise(&b, meta, &desc, view.buf, nbytes));
    meta_tree_free(&meta, &borrowed);
    PyBuffer_Release(&view);
    if (status < 0) {
        free(b.data);
        return stashpy_raise(status);
    }
    PyObject *region = stashpy_region_new(b.data, stashpy_release_malloced);
    if (!region)
        return NULL;
    int written = write_all(fileobj, region, b.data, b.len);
    Py_DECREF(region);
    if (written < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- read(fileobj) -> (metadata, array) --------------------------------------- */

/* Buffers of this size and below are read whole; larger ones grow as bytes come. */
#define READ_FIRST_BYTES ((size_t)16 << 20)

/*
 * What read() reads after the header: the bytes of [at, end) of the file
 * into memory that region owns, placed so that file offsets congruent
 * modulo 64 sit at addresses congruent modulo 64 (the NPY data, 64-byte
 * aligned in the file by stash and by NumPy, is aligned in memory too).
 */
struct body {
    PyObject *region;
    unsigned char *data;
    size_t len, cap;
    uint64_t at;
};

static int body_grow(struct body *body, size_t cap)
{
    if (cap > SIZE_MAX - 2 * STASH_NPY_ALIGN) {
        PyErr_NoMemory();
        return -1;
    }
    unsigned char *raw = malloc(cap + 2 * STASH_NPY_ALIGN);
    if (!raw) {
        PyErr_NoMemory();
        return -1;
    }
    uintptr_t aligned = ((uintptr_t)raw + STASH_NPY_ALIGN - 1) & ~(uintptr_t)(STASH_NPY_ALIGN - 1);
    unsigned char *data = (unsigned char *)aligned + body->at % STASH_NPY_ALIGN;
    PyObject *region = stashpy_region_new(raw, stashpy_release_malloced);
    if (!region)
        return -1;
    if (body->len)
        STASHPY_RELEASE_GIL_IF(body->len >= STASHPY_GIL_FREE_BYTES,
                               memcpy(data, body->data, body->len));
    Py_XSETREF(body->region, region);
    body->data = data;
    body->cap = cap;
    return 0;
}

/* Up to cap bytes from fileobj.read into buf, more calls if reads come short. */
static int read_up_to(PyObject *fileobj, unsigned char *buf, size_t cap, size_t *got)
{
    *got = 0;
    while (*got < cap) {
        PyObject *size = PyLong_FromSize_t(cap - *got);
        PyObject *part = size ? PyObject_CallMethodOneArg(fileobj, str_read, size) : NULL;
        Py_XDECREF(size);
        if (!part)
            return -1;
        Py_buffer bytes;
        if (PyObject_GetBuffer(part, &bytes, PyBUF_SIMPLE) < 0) {
            Py_DECREF(part);
            return -1;
        }
        size_t n = (size_t)bytes.len;
        if (n <= cap - *got)
            memcpy(buf + *got, bytes.buf, n);
        PyBuffer_Release(&bytes);
        Py_DECREF(part);
        if (n > cap - *got) {
            PyErr_SetString(PyExc_OSError, "stash.nco.read: fileobj.read returned too many bytes");
            return -1;
        }
        if (n == 0)
            break;
        *got += n;
    }
    return 0;
}

/* One readinto (or read, for file objects without it) into [len, cap). */
static int read_some(PyObject *fileobj, struct body *body, size_t *got)
{
    size_t want = body->cap - body->len;
    PyObject *readinto = PyObject_GetAttr(fileobj, str_readinto);
    if (!readinto && !PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    if (readinto) {
        PyObject *memory = stashpy_bytes_view(body->region, body->data + body->len, want, true);
        PyObject *result = memory ? PyObject_CallOneArg(readinto, memory) : NULL;
        Py_XDECREF(memory);
        Py_DECREF(readinto);
        if (!result)
            return -1;
        Py_ssize_t n = result == Py_None ? 0 : PyLong_AsSsize_t(result);
        Py_DECREF(result);
        if (n < 0 && PyErr_Occurred())
            return -1;
        if (n < 0 || (size_t)n > want) {
            PyErr_Format(PyExc_OSError, "stash.nco.read: fileobj.readinto returned %zd", n);
            return -1;
        }
        *got = (size_t)n;
        return 0;
    }
    return read_up_to(fileobj, body->data + body->len, want, got);
}

/*
 * Reads need bytes. A header can promise any size: the buffer starts at
 * READ_FIRST_BYTES at most and doubles only as the bytes arrive, so a
 * hostile header costs at most twice what the file holds.
 */
static int read_body(PyObject *fileobj, struct body *body, uint64_t need)
{
    if (need > SIZE_MAX / 2) {
        stashpy_raise_context(STASH_E_RANGE, "stash.nco.read: an object of %llu bytes",
                              (unsigned long long)need);
        return -1;
    }
    if (body_grow(body, need < READ_FIRST_BYTES ? (size_t)need : READ_FIRST_BYTES) < 0)
        return -1;
    while (body->len < need) {
        if (body->len == body->cap &&
            body_grow(body, need - body->cap < body->cap ? (size_t)need : 2 * body->cap) < 0)
            return -1;
        size_t got;
        if (read_some(fileobj, body, &got) < 0)
            return -1;
        if (got == 0) {
            stashpy_raise_context(STASH_E_TRUNCATED, "stash.nco.read: the object ends at byte "
                                  "%llu, the file at %llu", (unsigned long long)(body->at + need),
                                  (unsigned long long)(body->at + body->len));
            return -1;
        }
        body->len += got;
    }
    return 0;
}

/*
 * The header read at pos: the checks docs/nco.md lists for a reader, but
 * the file's size, which only the reads after it find out.
 */
static stash_status decode_header(const unsigned char *h, size_t len, uint64_t pos,
                                  stash_nco_object *o)
{
    if (len == 0)
        return STASH_E_EOF;
    if (memcmp(h, "NCO", len < 3 ? len : 3) != 0)
        return STASH_E_CORRUPT;
    if (len < 4)
        return STASH_E_TRUNCATED;
    if (h[3] != STASH_NCO_VERSION)
        return STASH_E_VERSION;
    if (len < STASH_NCO_HEADER_BYTES)
        return STASH_E_TRUNCATED;
    *o = (stash_nco_object){pos, stash_bytes_load_u64le(h + 8), stash_bytes_load_u64le(h + 16),
                            stash_bytes_load_u64le(h + 24), stash_bytes_load_u64le(h + 32)};
    if (pos > UINT64_MAX - STASH_NCO_HEADER_BYTES || o->meta_start < pos + STASH_NCO_HEADER_BYTES ||
        o->meta_end < o->meta_start || o->array_start < o->meta_end ||
        o->array_end < o->array_start)
        return STASH_E_RANGE;
    return STASH_OK;
}

/* The header at the file's position. */
static int read_header(PyObject *fileobj, uint64_t pos, stash_nco_object *o)
{
    unsigned char header[STASH_NCO_HEADER_BYTES];
    size_t got;
    if (read_up_to(fileobj, header, sizeof header, &got) < 0)
        return -1;
    stash_status status = decode_header(header, got, pos, o);
    if (status < 0) {
        stashpy_raise_context(status, "stash.nco.read: the object's header at byte %llu",
                              (unsigned long long)pos);
        return -1;
    }
    return 0;
}

/* The array in the NPY bytes at npy: a writable view of the body, as np.load returns. */
static PyObject *body_array(struct body *body, const unsigned char *npy, size_t len)
{
    stash_npy_header h;
    stash_status status = stash_npy_header_parse(npy, len, &h);
    if (status == STASH_OK && (h.data_offset > len || h.data_bytes > len - h.data_offset))
        status = STASH_E_TRUNCATED;
    if (status < 0)
        return stashpy_raise_context(status, "stash.nco.read: the array");
    return stashpy_array_view(body->region, npy + h.data_offset, &h.desc, true);
}

static PyObject *nco_read(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fileobj", NULL};
    PyObject *fileobj;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:read", keywords, &fileobj))
        return NULL;
    uint64_t pos;
    stash_nco_object o;
    if (file_position(fileobj, &pos) < 0 || read_header(fileobj, pos, &o) < 0)
        return NULL;
    struct body body = {.at = pos + STASH_NCO_HEADER_BYTES};
    PyObject *meta = NULL, *array = NULL;
    if (read_body(fileobj, &body, o.array_end - body.at) == 0) {
        meta = meta_from_pickle(body.data + (o.meta_start - body.at), o.meta_end - o.meta_start);
        if (meta)
            array = body_array(&body, body.data + (o.array_start - body.at),
                               o.array_end - o.array_start);
    }
    Py_XDECREF(body.region);
    if (!array) {
        Py_XDECREF(meta);
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, meta, array);
    Py_DECREF(meta);
    Py_DECREF(array);
    return pair;
}

/* ---- append and pack: whole objects to paths ---------------------------------- */

typedef stash_status (*put_fn)(const char *path, const stash_value *meta,
                               const stash_array_desc *desc, const void *data, unsigned flags);

/* append or pack: the same arguments, the GIL released for the file work. */
static PyObject *put_object(PyObject *args, PyObject *kwargs, const char *format, put_fn put)
{
    static char *keywords[] = {"path", "metadata", "array", "durable", NULL};
    PyObject *path, *metadata, *array;
    int durable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, keywords, PyUnicode_FSConverter,
                                     &path, &metadata, &array, &durable))
        return NULL;
    Py_buffer view;
    stash_array_desc desc;
    if (stashpy_buffer_get(array, &view, &desc, 0) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    stash_value *meta;
    stashpy_borrowed borrowed;
    PyObject *result = NULL;
    if (meta_tree(metadata, &meta, &borrowed) == 0) {
        stash_status status;
        Py_BEGIN_ALLOW_THREADS
        status = put(PyBytes_AS_STRING(path), meta, &desc, view.buf,
                     durable ? STASH_NCO_DURABLE : 0);
        Py_END_ALLOW_THREADS
        result = status < 0 ? stashpy_raise_fspath(status, path) : Py_NewRef(Py_None);
    }
    meta_tree_free(&meta, &borrowed);
    PyBuffer_Release(&view);
    Py_DECREF(path);
    return result;
}

static PyObject *nco_append(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    return put_object(args, kwargs, "O&OO|p:append", stash_nco_append);
}

static PyObject *nco_pack(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    return put_object(args, kwargs, "O&OO|p:pack", stash_nco_pack);
}

/* ---- NcoFile ------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *region; /* owns the stash_nco; NULL once closed */
    size_t count;
    bool mapped;      /* else opened with STASH_NCO_NO_MAP: read with pread, copies out */
} NcoFile;

static void close_nco(void *nco)
{
    stash_nco *handle = nco;
    stash_nco_close(&handle); /* read-only: an unmap and a close, nothing to lose */
}

static PyObject *ncofile_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "mapped", NULL};
    PyObject *path;
    int mapped = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|$p:NcoFile", keywords,
                                     PyUnicode_FSConverter, &path, &mapped))
        return NULL;
    stash_nco *nco = NULL;
    stash_nco_info info;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_nco_open(PyBytes_AS_STRING(path), mapped ? 0 : STASH_NCO_NO_MAP, &nco);
    if (status == STASH_OK)
        status = stash_nco_info_get(nco, &info);
    if (status < 0)
        stash_nco_close(&nco);
    Py_END_ALLOW_THREADS
    if (status < 0) {
        stashpy_raise_fspath(status, path);
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    PyObject *region = stashpy_region_new(nco, close_nco);
    if (!region)
        return NULL;
    NcoFile *self = (NcoFile *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(region);
        return NULL;
    }
    self->region = region;
    self->count = info.count;
    self->mapped = mapped;
    return (PyObject *)self;
}

static void ncofile_dealloc(PyObject *self)
{
    Py_CLEAR(((NcoFile *)self)->region);
    Py_TYPE(self)->tp_free(self);
}

/*
 * The region (a new reference) and the object index arg names, checked
 * (negative counts from the end); NULL if closed or out of range.
 */
static PyObject *ncofile_object(NcoFile *self, PyObject *arg, size_t *index)
{
    Py_ssize_t i = PyNumber_AsSsize_t(arg, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (!self->region)
        return stashpy_raise_context(STASH_E_CLOSED, "NcoFile");
    if (i < 0)
        i += (Py_ssize_t)self->count;
    if (i < 0 || (size_t)i >= self->count) {
        PyErr_SetString(PyExc_IndexError, "NcoFile index out of range");
        return NULL;
    }
    *index = (size_t)i;
    return Py_NewRef(self->region);
}

/* Object i's pickle: in the mapping, or (not mapped) read into *copy, which the caller frees. */
static stash_status object_pickle(const NcoFile *self, PyObject *region, size_t i,
                                  const void **pickle, size_t *len, void **copy)
{
    const stash_nco *nco = stashpy_region_resource(region);
    *copy = NULL;
    if (self->mapped)
        return stash_nco_meta_bytes(nco, i, pickle, len);
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_nco_meta_bytes_read(nco, i, copy, len);
    Py_END_ALLOW_THREADS
    *pickle = *copy;
    return status;
}

/* What meta() and meta_bytes() make of a pickle; copied: read into memory the call frees. */
typedef PyObject *(*pickle_fn)(PyObject *region, const void *pickle, size_t len, bool copied);

/* Object arg's pickle handed to make, the region held meanwhile. */
static PyObject *with_pickle(PyObject *op, PyObject *arg, pickle_fn make)
{
    size_t i = 0;
    PyObject *region = ncofile_object((NcoFile *)op, arg, &i);
    if (!region)
        return NULL;
    const void *pickle;
    size_t len;
    void *copy;
    stash_status status = object_pickle((NcoFile *)op, region, i, &pickle, &len, &copy);
    PyObject *result = status < 0 ? stashpy_raise(status) : make(region, pickle, len, copy != NULL);
    free(copy);
    Py_DECREF(region);
    return result;
}

static PyObject *pickle_meta(PyObject *region, const void *pickle, size_t len, bool copied)
{
    (void)region, (void)copied;
    return meta_from_pickle(pickle, len);
}

static PyObject *pickle_bytes(PyObject *region, const void *pickle, size_t len, bool copied)
{
    if (copied)
        return PyBytes_FromStringAndSize(pickle, (Py_ssize_t)len);
    return stashpy_bytes_view(region, pickle, len, false);
}

static PyObject *ncofile_meta(PyObject *op, PyObject *arg)
{
    return with_pickle(op, arg, pickle_meta);
}

static PyObject *ncofile_meta_bytes(PyObject *op, PyObject *arg)
{
    return with_pickle(op, arg, pickle_bytes);
}

static PyObject *ncofile_array(PyObject *op, PyObject *arg)
{
    size_t i = 0;
    PyObject *region = ncofile_object((NcoFile *)op, arg, &i);
    if (!region)
        return NULL;
    const stash_nco *nco = stashpy_region_resource(region);
    stash_array_desc desc;
    stash_status status;
    PyObject *array;
    if (((NcoFile *)op)->mapped) {
        const void *data;
        status = stash_nco_array(nco, i, &desc, &data);
        array = status < 0 ? stashpy_raise(status) : stashpy_array_view(region, data, &desc, false);
    } else {
        void *data = NULL;
        Py_BEGIN_ALLOW_THREADS
        status = stash_nco_array_read(nco, i, &desc, &data);
        Py_END_ALLOW_THREADS
        array = status < 0 ? stashpy_raise(status) : stashpy_owned_array(data, &desc);
    }
    Py_DECREF(region);
    return array;
}

static PyObject *ncofile_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    Py_CLEAR(((NcoFile *)op)->region); /* views alive keep the mapping until they go */
    Py_RETURN_NONE;
}

static PyObject *ncofile_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((NcoFile *)op)->region == NULL);
}

static Py_ssize_t ncofile_len(PyObject *op)
{
    NcoFile *self = (NcoFile *)op;
    if (!self->region) {
        stashpy_raise_context(STASH_E_CLOSED, "NcoFile");
        return -1;
    }
    return (Py_ssize_t)self->count;
}

static PyMethodDef ncofile_methods[] = {
    {"meta", ncofile_meta, METH_O,
     "meta($self, i, /)\n--\n\nThe i-th object's metadata, read with stash's safe pickle reader."},
    {"meta_bytes", ncofile_meta_bytes, METH_O,
     "meta_bytes($self, i, /)\n--\n\n"
     "The i-th object's metadata pickle: a read-only memoryview, zero copy\n"
     "(bytes, read from the file, when not mapped)."},
    {"array", ncofile_array, METH_O,
     "array($self, i, /)\n--\n\n"
     "The i-th object's array, read-only and zero copy, valid after close()\n"
     "(a writable copy, read from the file, when not mapped)."},
    {"close", ncofile_close, METH_NOARGS,
     "close($self, /)\n--\n\nDrops the file's mapping once no array or memoryview of it is left."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ncofile_getset[] = {
    {"closed", ncofile_closed, NULL, "True after close().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods ncofile_as_sequence = {.sq_length = ncofile_len};

static PyTypeObject NcoFileType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash._NcoFile",
    .tp_doc = "An NCO file, mapped: its objects' metadata and arrays (see stash.nco.NcoFile).",
    .tp_basicsize = sizeof(NcoFile),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = ncofile_new,
    .tp_dealloc = ncofile_dealloc,
    .tp_methods = ncofile_methods,
    .tp_getset = ncofile_getset,
    .tp_as_sequence = &ncofile_as_sequence,
};

/* ---- NcoBatch ------------------------------------------------------------------ */

/*
 * Many appends under one lock and one index write (stash_nco_batch). The C
 * batch serves one thread at a time, so each call takes the handle's lock.
 */
typedef struct {
    PyObject_HEAD
    stash_nco_batch *batch; /* NULL once closed */
    PyObject *path;         /* bytes, for errors */
    stashpy_lock lock;
} NcoBatch;

static PyObject *ncobatch_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"path", "durable", NULL};
    PyObject *path;
    int durable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|p:NcoBatch", keywords,
                                     PyUnicode_FSConverter, &path, &durable))
        return NULL;
    NcoBatch *self = (NcoBatch *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    self->path = path;
    if (stashpy_lock_init(&self->lock) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    stash_status status = stash_nco_batch_open(PyBytes_AS_STRING(path),
                                               durable ? STASH_NCO_DURABLE : 0, &self->batch);
    if (status < 0) {
        stashpy_raise_fspath(status, path);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* Closes the C batch (the lock held): writes the index and drops the flock. */
static stash_status ncobatch_close_locked(NcoBatch *self)
{
    if (!self->batch)
        return STASH_OK;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_nco_batch_close(&self->batch);
    Py_END_ALLOW_THREADS
    return status;
}

static void ncobatch_dealloc(PyObject *op)
{
    NcoBatch *self = (NcoBatch *)op;
    if (self->lock.lock)
        ncobatch_close_locked(self); /* no one else can hold it now; nowhere to report */
    stashpy_lock_fini(&self->lock);
    Py_XDECREF(self->path);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *ncobatch_add(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"metadata", "array", NULL};
    NcoBatch *self = (NcoBatch *)op;
    PyObject *metadata, *array;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:add", keywords, &metadata, &array))
        return NULL;
    Py_buffer view;
    stash_array_desc desc;
    if (stashpy_buffer_get(array, &view, &desc, 0) < 0)
        return NULL;
    stash_value *meta;
    stashpy_borrowed borrowed;
    PyObject *result = NULL;
    if (meta_tree(metadata, &meta, &borrowed) == 0) {
        stashpy_lock_acquire(&self->lock);
        stash_status status = STASH_E_CLOSED;
        if (self->batch) {
            Py_BEGIN_ALLOW_THREADS
            status = stash_nco_batch_add(self->batch, meta, &desc, view.buf);
            Py_END_ALLOW_THREADS
        }
        stashpy_lock_release(&self->lock);
        result = status < 0 ? stashpy_raise_fspath(status, self->path) : Py_NewRef(Py_None);
    }
    meta_tree_free(&meta, &borrowed);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *ncobatch_close(PyObject *op, PyObject *unused)
{
    NcoBatch *self = (NcoBatch *)op;
    (void)unused;
    stashpy_lock_acquire(&self->lock);
    stash_status status = ncobatch_close_locked(self);
    stashpy_lock_release(&self->lock);
    if (status < 0)
        return stashpy_raise_fspath(status, self->path);
    Py_RETURN_NONE;
}

static PyObject *ncobatch_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((NcoBatch *)op)->batch == NULL);
}

static PyMethodDef ncobatch_methods[] = {
    {"add", (PyCFunction)(void (*)(void))ncobatch_add, METH_VARARGS | METH_KEYWORDS,
     "add($self, /, metadata, array)\n--\n\nAppends one object, committed when add returns."},
    {"close", ncobatch_close, METH_NOARGS,
     "close($self, /)\n--\n\nWrites the index and releases the file's lock; twice is fine."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ncobatch_getset[] = {
    {"closed", ncobatch_closed, NULL, "True after close().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject NcoBatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash._NcoBatch",
    .tp_doc = "Many appends to one NCO file under one lock (see stash.nco.NcoBatch).",
    .tp_basicsize = sizeof(NcoBatch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = ncobatch_new,
    .tp_dealloc = ncobatch_dealloc,
    .tp_methods = ncobatch_methods,
    .tp_getset = ncobatch_getset,
};

/* ---- The module's part ----------------------------------------------------------- */

static PyMethodDef nco_methods[] = {
    {"_nco_write", (PyCFunction)(void (*)(void))nco_write, METH_VARARGS | METH_KEYWORDS,
     "_nco_write(fileobj, metadata, array): stash.nco.write."},
    {"_nco_read", (PyCFunction)(void (*)(void))nco_read, METH_VARARGS | METH_KEYWORDS,
     "_nco_read(fileobj): stash.nco.read."},
    {"_nco_append", (PyCFunction)(void (*)(void))nco_append, METH_VARARGS | METH_KEYWORDS,
     "_nco_append(path, metadata, array, durable=False): stash.nco.append."},
    {"_nco_pack", (PyCFunction)(void (*)(void))nco_pack, METH_VARARGS | METH_KEYWORDS,
     "_nco_pack(path, metadata, array, durable=False): stash.nco.pack."},
    {NULL, NULL, 0, NULL},
};

int stashpy_add_nco(PyObject *module)
{
    if (!(str_tell = PyUnicode_InternFromString("tell")) ||
        !(str_read = PyUnicode_InternFromString("read")) ||
        !(str_readinto = PyUnicode_InternFromString("readinto")) ||
        !(str_write = PyUnicode_InternFromString("write")))
        return -1;
    if (PyType_Ready(&NcoFileType) < 0 || PyType_Ready(&NcoBatchType) < 0 ||
        PyModule_AddFunctions(module, nco_methods) < 0 ||
        PyModule_AddObjectRef(module, "_NcoFile", (PyObject *)&NcoFileType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "_NcoBatch", (PyObject *)&NcoBatchType);
}
