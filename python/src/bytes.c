/*
 * bytes.c - stash.ByteReader and stash.ByteWriter: typed little- and
 * big-endian codecs (include/stash/bytes.h) over streams.
 *
 * Both are one stash_stream and its lock, so every source is read one way:
 *   ByteReader(buf)         a read-only memory stream over the object's
 *                           buffer, held (Py_buffer) for the reader's life:
 *                           zero copy, and a bytearray cannot resize under it
 *   ByteReader.file(path)   a buffered file stream, read-only
 *   ByteWriter()            a growable memory stream; getvalue() copies it
 *   ByteWriter.file(path)   a buffered file stream
 * A value read or written costs the stream's bounds check, a load and a
 * byte swap; arrays move whole and are swapped in place. The lock is taken
 * by every call, because arrays and byte runs of STASHPY_GIL_FREE_BYTES or
 * more move without the GIL and the stream serves one thread at a time.
 *
 * Choices (docs/python.md): array() returns a NumPy copy in native byte
 * order; writers refuse values outside a type's range with OverflowError,
 * as int.to_bytes and struct do, instead of keeping the low bits.
 */
#include "stashpy.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NATIVE_BIG true
#else
#define NATIVE_BIG false
#endif

/* What a reader and a writer share; each type starts with it. */
typedef struct {
    PyObject_HEAD
    stash_stream *stream;   /* NULL once closed; guarded by lock */
    stashpy_lock lock;
    bool big;               /* the data's byte order */
    PyObject *filename;     /* file codecs: the path as os.fspath gave it */
} Codec;

typedef struct {
    Codec codec;
    Py_buffer source;       /* the bytes-like object read, held until close */
    bool has_source;
} ByteReader;

typedef struct {
    Codec codec;
} ByteWriter;

static PyTypeObject ByteReaderType;
static PyTypeObject ByteWriterType;

/* ---- What readers and writers share --------------------------------------- */

/* "<", ">", "little" or "big"; anything else raises stash.InvalidArgument. */
static int parse_order(PyObject *order, bool *big)
{
    if (!PyUnicode_Check(order)) {
        PyErr_Format(PyExc_TypeError, "order must be a str, not %.100s", Py_TYPE(order)->tp_name);
        return -1;
    }
    const char *text = PyUnicode_AsUTF8(order);
    if (!text)
        return -1;
    if (!strcmp(text, "<") || !strcmp(text, "little"))
        *big = false;
    else if (!strcmp(text, ">") || !strcmp(text, "big"))
        *big = true;
    else {
        stashpy_raise_context(STASH_E_INVALID, "order %R (use '<', '>', 'little' or 'big')",
                              order);
        return -1;
    }
    return 0;
}

static Codec *codec_alloc(PyTypeObject *type, PyObject *order)
{
    bool big = false;
    if (order && parse_order(order, &big) < 0)
        return NULL;
    Codec *self = (Codec *)type->tp_alloc(type, 0); /* zeroed */
    if (!self)
        return NULL;
    self->big = big;
    if (stashpy_lock_init(&self->lock) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

/* Opens path for a file codec with mode; raises the path's error. */
static int codec_open_file(Codec *self, PyObject *path, const char *mode)
{
    PyObject *encoded;
    self->filename = PyOS_FSPath(path);
    if (!self->filename || !PyUnicode_FSConverter(self->filename, &encoded))
        return -1;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_stream_open_file(PyBytes_AS_STRING(encoded), mode, &self->stream);
    Py_END_ALLOW_THREADS
    Py_DECREF(encoded);
    if (status < 0) {
        stashpy_raise_path(status, self->filename);
        return -1;
    }
    return 0;
}

/* Takes the lock; false with stash.Closed raised if the codec is closed. */
static bool codec_enter(Codec *self)
{
    stashpy_lock_acquire(&self->lock);
    if (self->stream)
        return true;
    stashpy_lock_release(&self->lock);
    stashpy_raise(STASH_E_CLOSED);
    return false;
}

static void codec_leave(Codec *self)
{
    stashpy_lock_release(&self->lock);
}

/* Bytes from the position to the end (0 past it). Called with the lock held. */
static stash_status codec_remaining(Codec *self, uint64_t *left)
{
    uint64_t size, at = stash_stream_tell(self->stream);
    stash_status status = stash_stream_size(self->stream, &size);
    if (status >= 0)
        *left = at < size ? size - at : 0;
    return status;
}

/* Closes the stream (flushing a file writer) and releases a reader's source. */
static stash_status codec_close_locked(Codec *self)
{
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_stream_close(&self->stream);
    Py_END_ALLOW_THREADS
    if (Py_IS_TYPE((PyObject *)self, &ByteReaderType) && ((ByteReader *)self)->has_source) {
        PyBuffer_Release(&((ByteReader *)self)->source);
        ((ByteReader *)self)->has_source = false;
    }
    return status;
}

static PyObject *codec_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    stashpy_lock_acquire(&self->lock);
    stash_status status = codec_close_locked(self);
    stashpy_lock_release(&self->lock);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static void codec_dealloc(PyObject *op)
{
    Codec *self = (Codec *)op;
    if (self->lock.lock)
        codec_close_locked(self); /* no other thread holds a reference; close() reports */
    stashpy_lock_fini(&self->lock);
    Py_XDECREF(self->filename);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *codec_context_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((Codec *)op)->stream)
        return stashpy_raise(STASH_E_CLOSED);
    return Py_NewRef(op);
}

static PyObject *codec_context_exit(PyObject *op, PyObject *args)
{
    (void)args;
    return codec_close(op, NULL);
}

static PyObject *codec_tell(PyObject *op, PyObject *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    if (!codec_enter(self))
        return NULL;
    uint64_t at = stash_stream_tell(self->stream);
    codec_leave(self);
    return PyLong_FromUnsignedLongLong(at);
}

static PyObject *codec_position(PyObject *op, void *unused)
{
    (void)unused;
    return codec_tell(op, NULL);
}

static PyObject *codec_seek(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"offset", "whence", NULL};
    Codec *self = (Codec *)op;
    long long offset;
    int whence = STASH_SEEK_SET;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "L|i:seek", keywords, &offset, &whence))
        return NULL;
    if (!codec_enter(self))
        return NULL;
    uint64_t at = 0;
    stash_status status = stash_stream_seek(self->stream, (int64_t)offset, whence, &at);
    codec_leave(self);
    if (status < 0)
        return stashpy_raise_context(status, "seek(%lld, whence=%d)", offset, whence);
    return PyLong_FromUnsignedLongLong(at);
}

static PyObject *codec_flush(PyObject *op, PyObject *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    if (!codec_enter(self))
        return NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_stream_flush(self->stream);
    Py_END_ALLOW_THREADS
    codec_leave(self);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *codec_closed(PyObject *op, void *unused)
{
    (void)unused;
    return PyBool_FromLong(((Codec *)op)->stream == NULL);
}

static PyObject *codec_order(PyObject *op, void *unused)
{
    (void)unused;
    return PyUnicode_FromString(((Codec *)op)->big ? ">" : "<");
}

static PyObject *codec_filename(PyObject *op, void *unused)
{
    (void)unused;
    PyObject *filename = ((Codec *)op)->filename;
    return Py_NewRef(filename ? filename : Py_None);
}

static PyObject *codec_repr(PyObject *op)
{
    Codec *self = (Codec *)op;
    const char *name = Py_TYPE(op)->tp_name;
    const char *order = self->big ? ">" : "<";
    PyObject *where = self->filename ? PyUnicode_FromFormat(" file %R", self->filename)
                                     : PyUnicode_FromString("");
    if (!where)
        return NULL;
    PyObject *repr;
    stashpy_lock_acquire(&self->lock);
    if (!self->stream) {
        repr = PyUnicode_FromFormat("<%s%U '%s' closed>", name, where, order);
    } else {
        uint64_t size = 0;
        stash_stream_size(self->stream, &size);
        repr = PyUnicode_FromFormat("<%s%U '%s' position=%llu size=%llu>", name, where, order,
                                    (unsigned long long)stash_stream_tell(self->stream),
                                    (unsigned long long)size);
    }
    stashpy_lock_release(&self->lock);
    Py_DECREF(where);
    return repr;
}

/* ---- The codecs ----------------------------------------------------------- */

/*
 * X(name, C type, kind, select) for every codec. kind says how values reach
 * Python (signed, unsigned, float); select(op, name) picks the stream codec
 * for the data's byte order (a local `big`); u8 and i8 have none.
 */
#define ORDERED(op, name) (big ? stash_stream_##op##_##name##be : stash_stream_##op##_##name##le)
#define UNORDERED(op, name) stash_stream_##op##_##name
#define CODECS(X)                                                                            \
    X(u8, uint8_t, unsigned, UNORDERED)                                                      \
    X(u16, uint16_t, unsigned, ORDERED)                                                      \
    X(u32, uint32_t, unsigned, ORDERED)                                                      \
    X(u64, uint64_t, unsigned, ORDERED)                                                      \
    X(i8, int8_t, signed, UNORDERED)                                                         \
    X(i16, int16_t, signed, ORDERED)                                                         \
    X(i32, int32_t, signed, ORDERED)                                                         \
    X(i64, int64_t, signed, ORDERED)                                                         \
    X(f32, float, float, ORDERED)                                                            \
    X(f64, double, float, ORDERED)

/* Values to Python, by kind. */
static PyObject *from_unsigned(unsigned long long v) { return PyLong_FromUnsignedLongLong(v); }
static PyObject *from_signed(long long v) { return PyLong_FromLongLong(v); }
static PyObject *from_float(double v) { return PyFloat_FromDouble(v); }

/* Python to values, by kind: a type's range or OverflowError, as struct.pack. */
typedef unsigned long long raw_unsigned;
typedef long long raw_signed;
typedef double raw_float;

static int to_unsigned(PyObject *value, const char *name, size_t size, raw_unsigned *out)
{
    PyObject *index = PyNumber_Index(value); /* TypeError for floats, as struct */
    if (!index)
        return -1;
    unsigned long long max = size == 8 ? ULLONG_MAX : (1ULL << (8 * size)) - 1;
    unsigned long long v = PyLong_AsUnsignedLongLong(index);
    bool failed = v == (unsigned long long)-1 && PyErr_Occurred();
    if (failed && !PyErr_ExceptionMatches(PyExc_OverflowError)) {
        Py_DECREF(index);
        return -1;
    }
    PyErr_Clear();
    if (failed || v > max) {
        PyErr_Format(PyExc_OverflowError, "%s takes 0..%llu, not %R", name, max, index);
        Py_DECREF(index);
        return -1;
    }
    Py_DECREF(index);
    *out = v;
    return 0;
}

static int to_signed(PyObject *value, const char *name, size_t size, raw_signed *out)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow); /* __index__, not floats */
    if (v == -1 && PyErr_Occurred())
        return -1;
    long long max = size == 8 ? LLONG_MAX : (1LL << (8 * size - 1)) - 1, min = -max - 1;
    if (overflow || v < min || v > max) {
        PyErr_Format(PyExc_OverflowError, "%s takes %lld..%lld, not %R", name, min, max, value);
        return -1;
    }
    *out = v;
    return 0;
}

static int to_float(PyObject *value, const char *name, size_t size, raw_float *out)
{
    double v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred())
        return -1;
    /* As struct.pack('f'): a finite value too large for float32 overflows. */
    if (size == 4 && isinf((float)v) && !isinf(v)) {
        PyErr_Format(PyExc_OverflowError, "%s cannot hold %R", name, value);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- ByteReader ----------------------------------------------------------- */

static PyObject *reader_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"buf", "order", NULL};
    PyObject *source, *order = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:ByteReader", keywords, &source, &order))
        return NULL;
    ByteReader *self = (ByteReader *)codec_alloc(type, order);
    if (!self)
        return NULL;
    if (PyObject_GetBuffer(source, &self->source, PyBUF_SIMPLE) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->has_source = true;
    static const char empty = 0; /* a memory stream wants a pointer, even for 0 bytes */
    const void *data = self->source.len ? self->source.buf : &empty;
    if (stashpy_check(stash_stream_open_memory(data, (size_t)self->source.len,
                                               &self->codec.stream))) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *reader_file(PyObject *cls, PyObject *args, PyObject *kwds)
{
    (void)cls;
    static char *keywords[] = {"path", "order", NULL};
    PyObject *path, *order = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:ByteReader.file", keywords, &path, &order))
        return NULL;
    Codec *self = codec_alloc(&ByteReaderType, order);
    if (self && codec_open_file(self, path, "r") < 0)
        Py_CLEAR(self);
    return (PyObject *)self;
}

/* Raises a failed read, saying what and where: "u32 at byte 6: end of data". */
static PyObject *read_failed(stash_status status, const char *what, uint64_t at)
{
    return stashpy_raise_context(status, "%s at byte %llu", what, (unsigned long long)at);
}

#define READER_METHOD(name, ctype, kind, select)                                            \
    static PyObject *reader_##name(PyObject *op, PyObject *unused)                           \
    {                                                                                        \
        (void)unused;                                                                        \
        Codec *self = (Codec *)op;                                                           \
        ctype v;                                                                             \
        if (!codec_enter(self))                                                              \
            return NULL;                                                                     \
        bool big = self->big;                                                                \
        (void)big;                                                                           \
        stash_status status = select(read, name)(self->stream, &v);                          \
        uint64_t at = stash_stream_tell(self->stream);                                       \
        codec_leave(self);                                                                   \
        if (status < 0)                                                                      \
            return read_failed(status, #name, at);                                           \
        return from_##kind(v);                                                               \
    }
CODECS(READER_METHOD)
#undef READER_METHOD

/* Reads n elements of dtype in order into out, converted to native order. */
static stash_status read_array(stash_stream *s, bool big, stash_dtype dtype, void *out,
                               size_t n)
{
    switch (dtype) {
#define CASE(DTYPE, name)                                                                    \
    case STASH_DTYPE_##DTYPE:                                                                \
        return big ? stash_stream_read_##name##be_array(s, out, n)                           \
                   : stash_stream_read_##name##le_array(s, out, n);
        CASE(UINT16, u16) CASE(UINT32, u32) CASE(UINT64, u64)
        CASE(INT16, i16) CASE(INT32, i32) CASE(INT64, i64)
        CASE(FLOAT32, f32) CASE(FLOAT64, f64)
#undef CASE
    case STASH_DTYPE_UINT8:
    case STASH_DTYPE_INT8:
        return stash_stream_read_exact(s, out, n);
    default:
        return STASH_E_DTYPE;
    }
}

/* The codec dtypes: the ten integer and float types of bytes.h. */
static bool has_codec(stash_dtype dtype)
{
    switch (dtype) {
    case STASH_DTYPE_UINT8: case STASH_DTYPE_UINT16: case STASH_DTYPE_UINT32:
    case STASH_DTYPE_UINT64: case STASH_DTYPE_INT8: case STASH_DTYPE_INT16:
    case STASH_DTYPE_INT32: case STASH_DTYPE_INT64: case STASH_DTYPE_FLOAT32:
    case STASH_DTYPE_FLOAT64:
        return true;
    default:
        return false;
    }
}

/*
 * Checks that count elements of size bytes remain before anything is
 * allocated, so a hostile count costs nothing. Called with the lock held.
 */
static stash_status check_available(Codec *self, Py_ssize_t count, size_t size)
{
    uint64_t left;
    if (count < 0)
        return STASH_E_INVALID;
    stash_status status = codec_remaining(self, &left);
    if (status >= 0 && (uint64_t)count > left / size)
        status = STASH_E_EOF;
    return status;
}

static PyObject *reader_array(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"dtype", "count", NULL};
    Codec *self = (Codec *)op;
    PyObject *dtype_object;
    Py_ssize_t count;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "On:array", keywords, &dtype_object, &count))
        return NULL;
    stash_dtype element;
    stash_byte_order ignored; /* the reader's order says how the bytes lie */
    if (stashpy_dtype_from_object(dtype_object, &element, &ignored) < 0)
        return NULL;
    if (!has_codec(element))
        return stashpy_raise_context(STASH_E_DTYPE, "ByteReader.array(%R)", dtype_object);
    stash_array_desc desc;
    uint64_t shape[1] = {count < 0 ? 0 : (uint64_t)count};
    stash_array_desc_init(&desc, element, 1, shape);
    desc.byte_order = NATIVE_BIG ? STASH_BIG_ENDIAN : STASH_LITTLE_ENDIAN;
    size_t size = stash_dtype_size(desc.dtype);
    if (!codec_enter(self))
        return NULL;
    uint64_t at = stash_stream_tell(self->stream);
    stash_status status = check_available(self, count, size);
    codec_leave(self);
    if (status < 0)
        return stashpy_raise_context(status, "array(%R, %zd) at byte %llu", dtype_object, count,
                                     (unsigned long long)at);
    PyObject *numpy = stashpy_numpy(), *dtype = numpy ? stashpy_dtype_object(&desc) : NULL;
    PyObject *array = dtype ? PyObject_CallMethod(numpy, "empty", "nO", count, dtype) : NULL;
    Py_XDECREF(dtype);
    Py_buffer into;
    if (!array || PyObject_GetBuffer(array, &into, PyBUF_WRITABLE) < 0) {
        Py_XDECREF(array);
        return NULL;
    }
    /* Checked again under the lock: another thread may have read meanwhile. */
    if (codec_enter(self)) {
        at = stash_stream_tell(self->stream);
        status = check_available(self, count, size);
        if (status >= 0)
            STASHPY_RELEASE_GIL_IF(into.len >= STASHPY_GIL_FREE_BYTES,
                                 status = read_array(self->stream, self->big, desc.dtype,
                                                     into.buf, (size_t)count));
        codec_leave(self);
    } else {
        status = STASH_E_CLOSED;
    }
    PyBuffer_Release(&into);
    if (status < 0) {
        Py_DECREF(array);
        return PyErr_Occurred() ? NULL : read_failed(status, "array", at);
    }
    return array;
}

static PyObject *reader_bytes(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"n", NULL};
    Codec *self = (Codec *)op;
    PyObject *n_object = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:bytes", keywords, &n_object))
        return NULL;
    Py_ssize_t n = -1;
    if (n_object != Py_None) {
        n = PyNumber_AsSsize_t(n_object, PyExc_OverflowError);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        if (n < 0)
            return stashpy_raise_context(STASH_E_INVALID, "bytes(%zd)", n);
    }
    if (!codec_enter(self))
        return NULL;
    uint64_t at = stash_stream_tell(self->stream), left = 0;
    stash_status status = n < 0 ? codec_remaining(self, &left) : check_available(self, n, 1);
    if (status >= 0 && n >= 0)
        left = (uint64_t)n;
    PyObject *bytes = NULL;
    if (status >= 0 && left > (uint64_t)PY_SSIZE_T_MAX)
        PyErr_NoMemory();
    else if (status >= 0 && (bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)left)))
        STASHPY_RELEASE_GIL_IF(left >= STASHPY_GIL_FREE_BYTES,
                             status = stash_stream_read_exact(self->stream,
                                                              PyBytes_AS_STRING(bytes), left));
    codec_leave(self);
    if (status < 0) {
        Py_XDECREF(bytes);
        return read_failed(status, "bytes", at);
    }
    return bytes;
}

static PyObject *reader_remaining(PyObject *op, void *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    if (!codec_enter(self))
        return NULL;
    uint64_t left = 0;
    stash_status status = codec_remaining(self, &left);
    codec_leave(self);
    if (stashpy_check(status))
        return NULL;
    return PyLong_FromUnsignedLongLong(left);
}

static PyObject *reader_eof(PyObject *op, PyObject *unused)
{
    (void)unused;
    PyObject *left = reader_remaining(op, NULL);
    if (!left)
        return NULL;
    int zero = PyObject_Not(left);
    Py_DECREF(left);
    return PyBool_FromLong(zero);
}

#define READER_ENTRY(name, ctype, kind, select)                                              \
    {#name, reader_##name, METH_NOARGS,                                                      \
     #name "()\n--\n\nReads one " #name ", advancing; stash.EndOfData if too few bytes remain."},
static PyMethodDef reader_methods[] = {
    CODECS(READER_ENTRY)
    {"file", (PyCFunction)(void (*)(void))reader_file, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "file(path, order='<')\n--\n\nA reader over a file (buffered, read-only)."},
    {"array", (PyCFunction)(void (*)(void))reader_array, METH_VARARGS | METH_KEYWORDS,
     "array(dtype, count)\n--\n\nReads count values of dtype (one of the ten codec types) as a "
     "new 1-d numpy.ndarray in native byte order; the dtype's own byte order is ignored."},
    {"bytes", (PyCFunction)(void (*)(void))reader_bytes, METH_VARARGS | METH_KEYWORDS,
     "bytes(n=None)\n--\n\nReads exactly n bytes (None: the rest)."},
    {"tell", codec_tell, METH_NOARGS, "tell($self, /)\n--\n\n"
     "The position, in bytes from the start."},
    {"seek", (PyCFunction)(void (*)(void))codec_seek, METH_VARARGS | METH_KEYWORDS,
     "seek(offset, whence=0)\n--\n\nMoves the position; returns it."},
    {"eof", reader_eof, METH_NOARGS, "eof($self, /)\n--\n\nTrue if nothing remains."},
    {"close", codec_close, METH_NOARGS, "close($self, /)\n--\n\n"
     "Releases the stream and the source buffer."},
    {"__enter__", codec_context_enter, METH_NOARGS, NULL},
    {"__exit__", codec_context_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
#undef READER_ENTRY

static PyGetSetDef reader_getset[] = {
    {"position", codec_position, NULL, "The position, in bytes from the start.", NULL},
    {"remaining", reader_remaining, NULL, "Bytes from the position to the end.", NULL},
    {"order", codec_order, NULL, "'<' (little endian) or '>' (big endian).", NULL},
    {"closed", codec_closed, NULL, "True after close().", NULL},
    {"filename", codec_filename, NULL, "The path of a file reader, else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ByteReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.ByteReader",
    .tp_doc = "ByteReader(buf, order='<')\n--\n\n"
              "Typed values read from a bytes-like object (zero copy; its buffer is held\n"
              "until close) or, with ByteReader.file(path, order), from a file.",
    .tp_basicsize = sizeof(ByteReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = reader_new,
    .tp_dealloc = codec_dealloc,
    .tp_repr = codec_repr,
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
};

/* ---- ByteWriter ----------------------------------------------------------- */

static PyObject *writer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"order", NULL};
    PyObject *order = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:ByteWriter", keywords, &order))
        return NULL;
    Codec *self = codec_alloc(type, order);
    if (self && stashpy_check(stash_stream_open_growable(0, &self->stream)))
        Py_CLEAR(self);
    return (PyObject *)self;
}

static PyObject *writer_file(PyObject *cls, PyObject *args, PyObject *kwds)
{
    (void)cls;
    static char *keywords[] = {"path", "order", "mode", NULL};
    PyObject *path, *order = NULL;
    const char *mode = "w";
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|Os:ByteWriter.file", keywords, &path, &order,
                                     &mode))
        return NULL;
    Codec *self = codec_alloc(&ByteWriterType, order);
    if (self && codec_open_file(self, path, mode) < 0)
        Py_CLEAR(self);
    return (PyObject *)self;
}

#define WRITER_METHOD(name, ctype, kind, select)                                             \
    static PyObject *writer_##name(PyObject *op, PyObject *value)                            \
    {                                                                                        \
        Codec *self = (Codec *)op;                                                           \
        raw_##kind raw;                                                                      \
        if (to_##kind(value, #name, sizeof(ctype), &raw) < 0)                                \
            return NULL;                                                                     \
        if (!codec_enter(self))                                                              \
            return NULL;                                                                     \
        bool big = self->big;                                                                \
        (void)big;                                                                           \
        stash_status status = select(write, name)(self->stream, (ctype)raw);                 \
        codec_leave(self);                                                                   \
        if (stashpy_check(status))                                                           \
            return NULL;                                                                     \
        Py_RETURN_NONE;                                                                      \
    }
CODECS(WRITER_METHOD)
#undef WRITER_METHOD

/*
 * Writes n elements with every element's bytes reversed. Whichever way the
 * source and the target orders differ, reversing is the whole conversion,
 * and the codec of the non-native order is the one that reverses.
 */
static stash_status write_swapped(stash_stream *s, stash_dtype dtype, const void *in, size_t n)
{
    switch (dtype) {
#define CASE(DTYPE, name)                                                                    \
    case STASH_DTYPE_##DTYPE:                                                                \
        return NATIVE_BIG ? stash_stream_write_##name##le_array(s, in, n)                    \
                          : stash_stream_write_##name##be_array(s, in, n);
        CASE(UINT16, u16) CASE(UINT32, u32) CASE(UINT64, u64)
        CASE(INT16, i16) CASE(INT32, i32) CASE(INT64, i64)
        CASE(FLOAT32, f32) CASE(FLOAT64, f64)
#undef CASE
    default:
        return STASH_E_DTYPE;
    }
}

/* Elements a swapped write copies to aligned memory at a time. */
#define SWAP_BLOCK_WORDS 512

/* Writes the array's elements in memory order, converted from from to the codec's order. */
static stash_status write_elements(Codec *self, const stash_array_desc *desc, const char *data,
                                   size_t n)
{
    size_t size = stash_dtype_size(desc->dtype);
    bool from_big = desc->byte_order == STASH_BIG_ENDIAN;
    if (size == 1 || from_big == self->big)
        return stash_stream_write(self->stream, data, n * size);
    /* The source may be unaligned (numpy.frombuffer at an odd offset): copy first. */
    uint64_t block[SWAP_BLOCK_WORDS];
    size_t per_block = sizeof block / size;
    stash_status status = STASH_OK;
    for (size_t i = 0; i < n && status >= 0; i += per_block) {
        size_t count = n - i < per_block ? n - i : per_block;
        memcpy(block, data + i * size, count * size);
        status = write_swapped(self->stream, desc->dtype, block, count);
    }
    return status;
}

static PyObject *writer_array(PyObject *op, PyObject *values)
{
    Codec *self = (Codec *)op;
    Py_buffer buffer;
    stash_array_desc desc;
    if (stashpy_buffer_get(values, &buffer, &desc, 0) < 0)
        return NULL;
    if (!has_codec(desc.dtype)) {
        PyBuffer_Release(&buffer);
        return stashpy_raise_context(STASH_E_DTYPE, "ByteWriter.array of %s",
                                     stashpy_format(&desc));
    }
    if (desc.order != STASH_ORDER_C) {
        PyBuffer_Release(&buffer);
        PyErr_SetString(PyExc_BufferError,
                        "ByteWriter.array writes C order: pass numpy.ascontiguousarray(x)");
        return NULL;
    }
    size_t n = (size_t)(buffer.len / buffer.itemsize);
    if (!codec_enter(self)) {
        PyBuffer_Release(&buffer);
        return NULL;
    }
    stash_status status;
    STASHPY_RELEASE_GIL_IF(buffer.len >= STASHPY_GIL_FREE_BYTES,
                         status = write_elements(self, &desc, buffer.buf, n));
    codec_leave(self);
    PyBuffer_Release(&buffer);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *writer_bytes(PyObject *op, PyObject *data)
{
    Codec *self = (Codec *)op;
    Py_buffer buffer;
    if (PyObject_GetBuffer(data, &buffer, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!codec_enter(self)) {
        PyBuffer_Release(&buffer);
        return NULL;
    }
    stash_status status;
    STASHPY_RELEASE_GIL_IF(buffer.len >= STASHPY_GIL_FREE_BYTES,
                         status = stash_stream_write(self->stream, buffer.buf,
                                                     (size_t)buffer.len));
    codec_leave(self);
    PyBuffer_Release(&buffer);
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *writer_getvalue(PyObject *op, PyObject *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    if (!codec_enter(self))
        return NULL;
    const void *data;
    size_t size;
    stash_status status = stash_stream_memory_contents(self->stream, &data, &size);
    PyObject *bytes = NULL;
    if (status >= 0 && size > (size_t)PY_SSIZE_T_MAX)
        PyErr_NoMemory();
    else if (status >= 0 && (bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size)) &&
             size > 0) /* an empty stream may have no memory at all */
        STASHPY_RELEASE_GIL_IF(size >= STASHPY_GIL_FREE_BYTES,
                             memcpy(PyBytes_AS_STRING(bytes), data, size));
    codec_leave(self);
    if (status < 0)
        return stashpy_raise_context(status, "getvalue() of a file writer");
    return bytes;
}

static PyObject *writer_bytes_written(PyObject *op, void *unused)
{
    (void)unused;
    Codec *self = (Codec *)op;
    if (!codec_enter(self))
        return NULL;
    uint64_t written = stash_stream_bytes_written(self->stream);
    codec_leave(self);
    return PyLong_FromUnsignedLongLong(written);
}

#define WRITER_ENTRY(name, ctype, kind, select)                                              \
    {#name, writer_##name, METH_O,                                                           \
     #name "(value, /)\n--\n\nWrites one " #name "; OverflowError outside its range."},
static PyMethodDef writer_methods[] = {
    CODECS(WRITER_ENTRY)
    {"file", (PyCFunction)(void (*)(void))writer_file, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "file(path, order='<', mode='w')\n--\n\nA writer into a file (buffered; mode as "
     "Storage.file's)."},
    {"array", writer_array, METH_O,
     "array(values, /)\n--\n\nWrites a C-contiguous array of one of the ten codec types, in "
     "memory order, converted to the writer's byte order."},
    {"bytes", writer_bytes, METH_O, "bytes(data, /)\n--\n\nWrites a bytes-like object as is."},
    {"getvalue", writer_getvalue, METH_NOARGS,
     "getvalue($self, /)\n--\n\n"
     "Everything written, as bytes (memory writers; stash.Unsupported for files)."},
    {"tell", codec_tell, METH_NOARGS, "tell($self, /)\n--\n\n"
     "The position, in bytes from the start."},
    {"seek", (PyCFunction)(void (*)(void))codec_seek, METH_VARARGS | METH_KEYWORDS,
     "seek(offset, whence=0)\n--\n\nMoves the position (writes past the end leave zeros); "
     "returns it."},
    {"flush", codec_flush, METH_NOARGS, "flush($self, /)\n--\n\n"
     "Hands a file writer's buffered bytes to the system."},
    {"close", codec_close, METH_NOARGS, "close($self, /)\n--\n\nFlushes and releases the writer."},
    {"__enter__", codec_context_enter, METH_NOARGS, NULL},
    {"__exit__", codec_context_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
#undef WRITER_ENTRY

static PyGetSetDef writer_getset[] = {
    {"position", codec_position, NULL, "The position, in bytes from the start.", NULL},
    {"bytes_written", writer_bytes_written, NULL, "Bytes written since the writer opened.",
     NULL},
    {"order", codec_order, NULL, "'<' (little endian) or '>' (big endian).", NULL},
    {"closed", codec_closed, NULL, "True after close().", NULL},
    {"filename", codec_filename, NULL, "The path of a file writer, else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ByteWriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.ByteWriter",
    .tp_doc = "ByteWriter(order='<')\n--\n\n"
              "Typed values written to memory (getvalue()) or, with ByteWriter.file(path,\n"
              "order, mode), to a file.",
    .tp_basicsize = sizeof(ByteWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = writer_new,
    .tp_dealloc = codec_dealloc,
    .tp_repr = codec_repr,
    .tp_methods = writer_methods,
    .tp_getset = writer_getset,
};

int stashpy_add_bytes(PyObject *module)
{
    if (PyType_Ready(&ByteReaderType) < 0 || PyType_Ready(&ByteWriterType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "ByteReader", (PyObject *)&ByteReaderType) < 0 ||
        PyModule_AddObjectRef(module, "ByteWriter", (PyObject *)&ByteWriterType) < 0)
        return -1;
    return 0;
}
