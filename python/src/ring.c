/*
 * ring.c - stash.Ring: the shared ring of samples x channels (stash/ring.h).
 *
 * The C handle belongs to a Region (region.c), not to the Ring object: the
 * Ring holds one reference and drops it at close(), and so does everything
 * that must outlive close: every window (a NumPy view of the mapped data),
 * and a wait, copy or put running without the GIL in another thread.
 * close() detaches the handle from its ring at once (stash_ring_detach: a
 * writer's claim ends, its readers are told), or when the last call in
 * flight returns; the handle, and its mapping, are freed when the last
 * reference goes. So no view ever points at unmapped memory, and nothing
 * races a call in flight (ring.h: close must not race any other call).
 *
 * Windows are slices of one read-only ndarray over the whole data area,
 * made on the first window() (numpy.asarray of a View, once): both layouts
 * hold slot capacity + i right after slot capacity - 1, so the window
 * [first, end) is rows [first mod capacity, + (end - first)) of it, a NumPy
 * slice (a few hundred ns) rather than a new buffer export per call.
 *
 * Threads: the reading calls of a C handle may run in any number of threads
 * at once; a writer's put, one thread at a time: put takes the Ring's lock.
 *
 * Fork: a child must neither write through the parent's writer handle nor,
 * by closing it, mark the ring's writer gone while the parent still writes.
 * Every live Ring is listed (without a reference), and os.register_at_fork's
 * after_in_child hook closes each of them in the child without touching the
 * ring (stash_ring_abandon). A region's release makes the same choice by
 * process id, so views a child inherited are abandoned too when they go.
 */
#include "stashpy.h"

#include <stash/ring.h>

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * What a ring's Region owns: the C handle, the process that may close it,
 * and the calls running without the GIL. close() detaches the handle from
 * its ring at once (a writer's claim ends, readers are told) unless such a
 * call is in flight, in which case the last of them does; the mapping stays
 * until the region's last reference goes.
 */
struct ring_handle {
    stash_ring *ring;
    pid_t pid;
    int busy;      /* calls in flight without the GIL */
    bool closing;  /* the Ring was closed: detach when nothing is in flight */
    bool detached;
};

typedef struct RingObject {
    PyObject_HEAD
    stash_ring *ring;   /* the region's handle; NULL once closed */
    PyObject *region;   /* owns the struct ring_handle; NULL once closed */
    PyObject *frames;   /* the read-only (2 x capacity, channels) ndarray, made on first use */
    const unsigned char *data; /* where frames starts: slot 0 */
    stashpy_lock lock;  /* one put at a time */
    PyObject *name;     /* str, as given */
    PyObject *dtype;    /* numpy.dtype */
    stash_dtype element;
    uint32_t channels;
    uint64_t capacity;
    size_t frame_bytes;
    double rate;
    bool writer;
    stash_ring_mapping mapping;
    struct RingObject *prev, *next; /* the live rings, for the fork hook */
    PyObject *weakrefs;
} RingObject;

static PyTypeObject RingType;
static RingObject *live_rings;
static PyObject *numpy_empty;

static void live_add(RingObject *self)
{
    self->prev = NULL;
    self->next = live_rings;
    if (live_rings)
        live_rings->prev = self;
    live_rings = self;
}

static void live_remove(RingObject *self)
{
    if (self->prev)
        self->prev->next = self->next;
    else if (live_rings == self)
        live_rings = self->next;
    if (self->next)
        self->next->prev = self->prev;
    self->prev = self->next = NULL;
}

/* The region's release: close in the process that made the handle, abandon in a forked child. */
static void release_handle(void *resource)
{
    struct ring_handle *handle = resource;
    if (handle->pid == getpid())
        (void)stash_ring_close(&handle->ring); /* close() reported what it could */
    else
        (void)stash_ring_abandon(&handle->ring);
    PyMem_RawFree(handle);
}

/* stash_ring_detach, once, and never in a forked child (which abandons). */
static stash_status detach_handle(struct ring_handle *handle)
{
    if (handle->detached || handle->pid != getpid())
        return STASH_OK;
    handle->detached = true;
    return stash_ring_detach(handle->ring);
}

/* Before letting go of the GIL in a call: the handle stays, and is not detached, until call_end. */
static PyObject *call_begin(RingObject *self)
{
    PyObject *region = Py_NewRef(self->region);
    ((struct ring_handle *)stashpy_region_resource(region))->busy++;
    return region;
}

static void call_end(PyObject *region)
{
    struct ring_handle *handle = stashpy_region_resource(region);
    if (--handle->busy == 0 && handle->closing)
        (void)detach_handle(handle); /* close() has returned: nobody to tell of a failure */
    Py_DECREF(region);
}

static int64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Waits run in slices against a monotonic deadline (-1: none), Ctrl-C checked between. */
static int64_t deadline_ns(int64_t timeout_ns)
{
    return timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns;
}

static int64_t wait_slice_ns(int64_t deadline)
{
    int64_t slice = (int64_t)STASHPY_WAIT_SLICE_MS * 1000000;
    if (deadline < 0)
        return slice;
    int64_t left = deadline - monotonic_ns();
    return left < 0 ? 0 : left < slice ? left : slice;
}

static bool deadline_passed(int64_t deadline)
{
    return deadline >= 0 && monotonic_ns() >= deadline;
}

/* ---- Arguments ------------------------------------------------------------- */

/* A sample number: an int (or anything with __index__) from 0 to 2**64 - 1. */
static int sample_arg(PyObject *obj, uint64_t *out)
{
    unsigned long long value;
    if (PyLong_CheckExact(obj)) {
        value = PyLong_AsUnsignedLongLong(obj);
    } else {
        PyObject *index = PyNumber_Index(obj);
        if (!index)
            return -1;
        value = PyLong_AsUnsignedLongLong(index);
        Py_DECREF(index);
    }
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            stashpy_raise_context(STASH_E_RANGE, "expected an int from 0 to 2**64 - 1");
        }
        return -1;
    }
    *out = value;
    return 0;
}

static int sample_converter(PyObject *obj, void *out)
{
    return sample_arg(obj, out) < 0 ? 0 : 1;
}

/*
 * A timeout in seconds to nanoseconds: None or math.inf is no limit (-1).
 * Negative and NaN timeouts are refused.
 */
static int timeout_arg(PyObject *obj, int64_t *timeout_ns)
{
    *timeout_ns = -1;
    if (obj == NULL || obj == Py_None)
        return 0;
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(seconds) || seconds < 0) {
        stashpy_raise_context(STASH_E_INVALID, "a timeout is a number of seconds >= 0");
        return -1;
    }
    if (seconds < 9e9) /* about 285 years; longer is no limit */
        *timeout_ns = (int64_t)(seconds * 1e9);
    return 0;
}

/*
 * A ring name from a str or os.PathLike: *name is the str kept for .name and
 * pickling, *path the file-system encoded bytes (both new references).
 */
static int name_arg(PyObject *obj, PyObject **name, PyObject **path)
{
    PyObject *fs = PyOS_FSPath(obj);
    if (!fs)
        return -1;
    *name = PyUnicode_Check(fs) ? Py_NewRef(fs) : PyUnicode_DecodeFSDefaultAndSize(
                                                      PyBytes_AS_STRING(fs), PyBytes_GET_SIZE(fs));
    Py_DECREF(fs);
    if (!*name)
        return -1;
    *path = PyUnicode_EncodeFSDefault(*name);
    if (*path && strlen(PyBytes_AS_STRING(*path)) == (size_t)PyBytes_GET_SIZE(*path))
        return 0;
    if (*path)
        stashpy_raise_context(STASH_E_INVALID, "ring name %R: it holds a NUL", *name);
    Py_CLEAR(*path);
    Py_CLEAR(*name);
    return -1;
}

/* Raises a failed status of a call naming the ring: the name's problem for STASH_E_INVALID. */
static PyObject *raise_named(stash_status status, PyObject *name, const char *path)
{
    const char *problem = status == STASH_E_INVALID ? stash_ring_name_problem(path) : NULL;
    if (problem)
        return stashpy_raise_context(status, "ring name %R: %s", name, problem);
    if (stash_is_system_error(status))
        return stashpy_raise_path(status, name);
    return stashpy_raise_context(status, "ring %R", name);
}

/* ---- Making Ring objects ----------------------------------------------------- */

/* A Ring over a new C handle, which it takes (closing it on failure). */
static PyObject *ring_wrap(stash_ring *ring, PyObject *name)
{
    stash_ring_info info;
    stash_status status = stash_ring_info_get(ring, &info);
    struct ring_handle *handle = status == STASH_OK ? PyMem_RawMalloc(sizeof *handle) : NULL;
    if (!handle) {
        stash_ring_close(&ring);
        return status == STASH_OK ? PyErr_NoMemory() : stashpy_raise(status);
    }
    *handle = (struct ring_handle){.ring = ring, .pid = getpid()};
    PyObject *region = stashpy_region_new(handle, release_handle);
    if (!region)
        return NULL;
    stash_array_desc desc;
    stash_array_desc_init(&desc, info.dtype, 0, NULL);
    PyObject *dtype = stashpy_dtype_object(&desc);
    RingObject *self = dtype ? PyObject_New(RingObject, &RingType) : NULL;
    if (!self || stashpy_lock_init(&self->lock) < 0) {
        if (self)
            PyObject_Free(self);
        Py_XDECREF(dtype);
        Py_DECREF(region);
        return NULL;
    }
    self->ring = ring;
    self->region = region;
    self->frames = NULL;
    self->data = NULL;
    self->name = Py_NewRef(name);
    self->dtype = dtype;
    self->element = info.dtype;
    self->channels = info.channels;
    self->capacity = info.capacity_samples;
    self->frame_bytes = info.frame_bytes;
    self->rate = info.rate_hz;
    self->writer = info.is_writer;
    self->mapping = info.mapping;
    self->weakrefs = NULL;
    live_add(self);
    return (PyObject *)self;
}

static PyObject *ring_create(PyObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"name", "channels",        "capacity",     "dtype", "rate",
                               "mode", "remove_on_close", "first_sample", NULL};
    PyObject *name_obj, *dtype_obj = NULL;
    uint64_t channels, capacity, first_sample = 0;
    double rate = 0.0;
    int mode = 0600;
    int remove_on_close = 0;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO&O&|Odi$pO&:create", keywords, &name_obj,
                                     sample_converter, &channels, sample_converter, &capacity,
                                     &dtype_obj, &rate, &mode, &remove_on_close,
                                     sample_converter, &first_sample))
        return NULL;
    if (mode <= 0 || mode > 07777)
        return stashpy_raise_context(STASH_E_INVALID, "mode %d: permission bits, such as 0o640",
                                     mode);
    stash_ring_config cfg = {.capacity_samples = capacity, .rate_hz = rate, .mode = (unsigned)mode,
                             .first_sample = first_sample};
    if (channels > UINT32_MAX)
        return stashpy_raise_context(STASH_E_RANGE, "%llu channels",
                                     (unsigned long long)channels);
    cfg.channels = (uint32_t)channels;
    if (remove_on_close)
        cfg.flags |= STASH_RING_REMOVE_ON_CLOSE;
    stash_byte_order order;
    PyObject *float32 = NULL;
    if (!dtype_obj && !(dtype_obj = float32 = PyUnicode_FromString("float32")))
        return NULL;
    int bad = stashpy_dtype_from_object(dtype_obj, &cfg.dtype, &order);
    Py_XDECREF(float32);
    if (bad)
        return NULL;
    PyObject *name, *path;
    if (name_arg(name_obj, &name, &path) < 0)
        return NULL;
    stash_ring *ring = NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS /* the data is allocated and touched up front */
    status = stash_ring_create(PyBytes_AS_STRING(path), &cfg, &ring);
    Py_END_ALLOW_THREADS
    PyObject *result = status == STASH_OK ? ring_wrap(ring, name)
                                          : raise_named(status, name, PyBytes_AS_STRING(path));
    Py_DECREF(name);
    Py_DECREF(path);
    return result;
}

/* Attaches in slices, checking for signals between them, until timeout_ns (-1: no limit). */
static stash_status attach_in_slices(const char *path, unsigned flags, int64_t timeout_ns,
                                     stash_ring **ring)
{
    stash_status status;
    if (timeout_ns == 0) { /* one try: NOT_FOUND rather than TIMEOUT for a missing ring */
        Py_BEGIN_ALLOW_THREADS
        status = stash_ring_attach(path, flags, ring);
        Py_END_ALLOW_THREADS
        return status;
    }
    int64_t deadline = deadline_ns(timeout_ns);
    for (;;) {
        int64_t slice = wait_slice_ns(deadline);
        Py_BEGIN_ALLOW_THREADS
        status = stash_ring_attach_wait(path, flags, slice, ring);
        Py_END_ALLOW_THREADS
        if (status != STASH_E_TIMEOUT || deadline_passed(deadline))
            return status;
        if (PyErr_CheckSignals() < 0)
            return STASH_E_CLOSED; /* any failure: the exception is set */
    }
}

static PyObject *ring_attach(PyObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"name", "timeout", "writer", NULL};
    PyObject *name_obj, *timeout_obj = Py_None;
    int writer = 0;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O$p:attach", keywords, &name_obj,
                                     &timeout_obj, &writer))
        return NULL;
    int64_t timeout_ns = 0; /* None: one try */
    if (timeout_obj != Py_None && timeout_arg(timeout_obj, &timeout_ns) < 0)
        return NULL;
    PyObject *name, *path;
    if (name_arg(name_obj, &name, &path) < 0)
        return NULL;
    stash_ring *ring = NULL;
    unsigned flags = writer ? STASH_RING_WRITER : 0;
    stash_status status = attach_in_slices(PyBytes_AS_STRING(path), flags, timeout_ns, &ring);
    PyObject *result = NULL;
    if (status == STASH_OK)
        result = ring_wrap(ring, name);
    else if (!PyErr_Occurred())
        raise_named(status, name, PyBytes_AS_STRING(path));
    Py_DECREF(name);
    Py_DECREF(path);
    return result;
}

static PyObject *ring_remove(PyObject *cls, PyObject *name_obj)
{
    (void)cls;
    PyObject *name, *path;
    if (name_arg(name_obj, &name, &path) < 0)
        return NULL;
    stash_status status = stash_ring_remove(PyBytes_AS_STRING(path));
    PyObject *result = status == STASH_OK ? Py_NewRef(Py_None)
                                          : raise_named(status, name, PyBytes_AS_STRING(path));
    Py_DECREF(name);
    Py_DECREF(path);
    return result;
}

/* ---- Closing ----------------------------------------------------------------- */

/*
 * Drops the Ring's hold on its handle: detached from the ring now (the
 * status returned) unless a call is in flight, freed when the last view or
 * call lets go. In a forked child (abandon) nothing shared is touched.
 */
static stash_status ring_drop(RingObject *self, bool abandon)
{
    stash_status status = STASH_OK;
    if (!self->region)
        return status;
    live_remove(self);
    Py_CLEAR(self->frames); /* its view of the region, unless a window still uses it */
    struct ring_handle *handle = stashpy_region_resource(self->region);
    if (!abandon) {
        handle->closing = true;
        if (handle->busy == 0)
            status = detach_handle(handle);
    }
    self->ring = NULL;
    Py_CLEAR(self->region);
    return status;
}

static PyObject *ring_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    stash_status status = ring_drop((RingObject *)op, false);
    return status < 0 ? stashpy_raise_context(status, "ring %R", ((RingObject *)op)->name)
                      : Py_NewRef(Py_None);
}

static PyObject *closed_error(RingObject *self)
{
    return stashpy_raise_context(STASH_E_CLOSED, "ring %R", self->name);
}

static void ring_dealloc(PyObject *op)
{
    RingObject *self = (RingObject *)op;
    if (self->weakrefs)
        PyObject_ClearWeakRefs(op);
    ring_drop(self, false);
    Py_XDECREF(self->name);
    Py_XDECREF(self->dtype);
    stashpy_lock_fini(&self->lock);
    Py_TYPE(op)->tp_free(op);
}

/* after_in_child: every Ring the parent had open is closed here without touching its ring. */
static PyObject *ring_after_fork_in_child(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    while (live_rings)
        ring_drop(live_rings, true);
    Py_RETURN_NONE;
}

/* ---- Writing ----------------------------------------------------------------- */

/* What put refused: the ring's shape and type beside the array's. */
static PyObject *shape_error(RingObject *self, const stash_array_desc *desc)
{
    PyObject *shape = PyTuple_New(desc->ndim);
    for (unsigned i = 0; shape && i < desc->ndim; i++) {
        PyObject *n = PyLong_FromUnsignedLongLong(desc->shape[i]);
        if (!n)
            Py_CLEAR(shape);
        else
            PyTuple_SET_ITEM(shape, i, n);
    }
    if (!shape)
        return NULL;
    stashpy_raise_context(STASH_E_SHAPE,
                          "ring %R holds arrays of shape (n, %u)%s of %s, not %R of %s",
                          self->name, (unsigned)self->channels, self->channels == 1 ? " or (n,)" : "",
                          stash_dtype_name(self->element), shape,
                          stash_dtype_name(desc->dtype));
    Py_DECREF(shape);
    return NULL;
}

static PyObject *ring_put(PyObject *op, PyObject *obj)
{
    RingObject *self = (RingObject *)op;
    if (!self->ring)
        return closed_error(self);
    Py_buffer view;
    stash_array_desc desc;
    if (stashpy_buffer_get(obj, &view, &desc, 0) < 0)
        return NULL;
    stashpy_lock_acquire(&self->lock); /* may let other threads run: look again */
    if (!self->ring) {
        stashpy_lock_release(&self->lock);
        PyBuffer_Release(&view);
        return closed_error(self);
    }
    stash_ring *ring = self->ring;
    stash_status status;
    if (view.len >= STASHPY_GIL_FREE_BYTES) {
        PyObject *region = call_begin(self); /* the handle outlives a close meanwhile */
        Py_BEGIN_ALLOW_THREADS
        status = stash_ring_put_array(ring, &desc, view.buf);
        Py_END_ALLOW_THREADS
        call_end(region);
    } else {
        status = stash_ring_put_array(ring, &desc, view.buf);
    }
    stashpy_lock_release(&self->lock);
    PyBuffer_Release(&view);
    if (status == STASH_E_SHAPE)
        return shape_error(self, &desc);
    if (status < 0)
        return stashpy_raise_context(status, "ring %R", self->name);
    Py_RETURN_NONE;
}

/* A copy of another ring that lost samples on the way: the gap reads as overwritten. */
static PyObject *ring_skip_to(PyObject *op, PyObject *arg)
{
    RingObject *self = (RingObject *)op;
    uint64_t sample;
    if (sample_arg(arg, &sample) < 0)
        return NULL;
    stashpy_lock_acquire(&self->lock); /* a writer's calls, one at a time, as put */
    stash_status status = self->ring ? stash_ring_skip_to(self->ring, sample) : STASH_E_CLOSED;
    stashpy_lock_release(&self->lock);
    if (status == STASH_E_CLOSED)
        return closed_error(self);
    if (status < 0)
        return stashpy_raise_context(status, "ring %R, skipping to sample %llu", self->name,
                                     (unsigned long long)sample);
    Py_RETURN_NONE;
}

/* ---- Relaying: the conveniences over stash.Relay (relay.c) --------------------- */

/* ring.publish(endpoint, **options): Relay.publish(ring.name, endpoint, **options). */
static PyObject *ring_publish(PyObject *op, PyObject *args, PyObject *kwargs)
{
    RingObject *self = (RingObject *)op;
    if (!self->ring)
        return closed_error(self);
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *full = PyTuple_New(n + 1);
    if (!full)
        return NULL;
    PyTuple_SET_ITEM(full, 0, Py_NewRef(self->name));
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
    PyObject *relay = stashpy_relay_open(true, full, kwargs);
    Py_DECREF(full);
    return relay;
}

/* Ring.subscribe(endpoint, name, **options): Relay.subscribe(...) by another name. */
static PyObject *ring_subscribe(PyObject *cls, PyObject *args, PyObject *kwargs)
{
    (void)cls;
    return stashpy_relay_open(false, args, kwargs);
}

/* ---- Reading ----------------------------------------------------------------- */

static PyObject *window_error(RingObject *self, stash_status status, uint64_t first, uint64_t end)
{
    return stashpy_raise_context(status, "ring %R, samples [%llu, %llu)", self->name,
                                 (unsigned long long)first, (unsigned long long)end);
}

/* The ndarray of every slot, made from the pointer a view of [first, ...) returned. */
static int make_frames(RingObject *self, uint64_t first, const void *at)
{
    const unsigned char *data =
        (const unsigned char *)at - (first % self->capacity) * self->frame_bytes;
    stash_array_desc desc;
    uint64_t shape[2] = {2 * self->capacity, self->channels};
    if (stashpy_check(stash_array_desc_init(&desc, self->element, 2, shape)))
        return -1;
    PyObject *frames = stashpy_array_view(self->region, data, &desc, false);
    if (!frames)
        return -1;
    if (!self->ring) { /* making it ran Python code, which closed the ring: keep nothing */
        Py_DECREF(frames);
        closed_error(self);
        return -1;
    }
    self->frames = frames;
    self->data = data;
    return 0;
}

/* The (start, end) of window() and read(), on an open ring; -1 with the error raised. */
static int range_args(RingObject *self, const char *call, PyObject *const *args,
                      Py_ssize_t nargs, uint64_t *first, uint64_t *end)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 2 arguments (start, end), not %zd", call,
                     nargs);
        return -1;
    }
    if (sample_arg(args[0], first) < 0 || sample_arg(args[1], end) < 0)
        return -1;
    if (!self->ring) {
        closed_error(self);
        return -1;
    }
    return 0;
}

static PyObject *ring_window(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    RingObject *self = (RingObject *)op;
    uint64_t first, end;
    if (range_args(self, "window", args, nargs, &first, &end) < 0)
        return NULL;
    const void *at;
    stash_status status = stash_ring_view(self->ring, first, end, &at);
    if (status < 0)
        return window_error(self, status, first, end);
    if (!self->frames && make_frames(self, first, at) < 0)
        return NULL;
    Py_ssize_t row = (Py_ssize_t)(first % self->capacity);
    if ((const unsigned char *)at != self->data + (size_t)row * self->frame_bytes) {
        PyErr_SetString(PyExc_SystemError, "stash: a ring window is not where its slot is");
        return NULL;
    }
    return PySequence_GetSlice(self->frames, row, row + (Py_ssize_t)(end - first));
}

static PyObject *ring_validate(PyObject *op, PyObject *arg)
{
    RingObject *self = (RingObject *)op;
    uint64_t first;
    if (sample_arg(arg, &first) < 0)
        return NULL;
    if (!self->ring)
        return closed_error(self);
    stash_status status = stash_ring_validate(self->ring, first);
    if (status == STASH_OK)
        Py_RETURN_TRUE;
    if (status == STASH_E_OVERWRITTEN)
        Py_RETURN_FALSE;
    return stashpy_raise_context(status, "ring %R", self->name);
}

static stash_status availability_status(stash_ring_availability availability)
{
    switch (availability) {
    case STASH_RING_AVAILABLE: return STASH_OK;
    case STASH_RING_OVERWRITTEN: return STASH_E_OVERWRITTEN;
    case STASH_RING_NOT_WRITTEN: return STASH_E_NOT_WRITTEN;
    default: return STASH_E_RANGE;
    }
}

static PyObject *ring_read(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    RingObject *self = (RingObject *)op;
    uint64_t first, end;
    if (range_args(self, "read", args, nargs, &first, &end) < 0)
        return NULL;
    /* Before allocating: a window longer than the ring is refused, not allocated. */
    stash_status status = availability_status(stash_ring_check(self->ring, first, end));
    if (status < 0)
        return window_error(self, status, first, end);
    if (!numpy_empty && (!stashpy_numpy() ||
                         !(numpy_empty = PyObject_GetAttrString(stashpy_numpy(), "empty"))))
        return NULL;
    PyObject *out = PyObject_CallFunction(numpy_empty, "(KI)O", (unsigned long long)(end - first),
                                          (unsigned)self->channels, self->dtype);
    if (!out)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(out, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    if (!self->ring) { /* allocating ran Python code (a collection's finalizers): closed */
        PyBuffer_Release(&view);
        Py_DECREF(out);
        return closed_error(self);
    }
    if (view.len >= STASHPY_GIL_FREE_BYTES) {
        stash_ring *ring = self->ring;
        PyObject *region = call_begin(self);
        Py_BEGIN_ALLOW_THREADS
        status = stash_ring_copy(ring, first, end, view.buf);
        Py_END_ALLOW_THREADS
        call_end(region);
    } else {
        status = stash_ring_copy(self->ring, first, end, view.buf);
    }
    PyBuffer_Release(&view);
    if (status < 0) {
        Py_DECREF(out);
        return window_error(self, status, first, end);
    }
    return out;
}

/* Waits in slices without the GIL, checking for signals between them. */
static PyObject *ring_wait(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"end", "timeout", NULL};
    RingObject *self = (RingObject *)op;
    uint64_t end;
    PyObject *timeout_obj = Py_None;
    int64_t timeout_ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|O:wait", keywords, sample_converter, &end,
                                     &timeout_obj) ||
        timeout_arg(timeout_obj, &timeout_ns) < 0)
        return NULL;
    if (!self->ring)
        return closed_error(self);
    stash_ring *ring = self->ring;
    uint64_t written = stash_ring_written(ring);
    if (written >= end)
        return PyLong_FromUnsignedLongLong(written);
    PyObject *region = call_begin(self); /* a close() meanwhile waits for us */
    int64_t deadline = deadline_ns(timeout_ns);
    stash_status status;
    for (;;) {
        int64_t slice = wait_slice_ns(deadline);
        Py_BEGIN_ALLOW_THREADS
        status = stash_ring_wait(ring, end, slice, 0);
        Py_END_ALLOW_THREADS
        if (status != STASH_E_TIMEOUT || deadline_passed(deadline))
            break;
        if (PyErr_CheckSignals() < 0) {
            call_end(region);
            return NULL;
        }
    }
    written = stash_ring_written(ring);
    call_end(region);
    if (status < 0)
        return stashpy_raise_context(status, "ring %R, waiting for sample %llu (written: %llu)",
                                     self->name, (unsigned long long)end - 1,
                                     (unsigned long long)written);
    return PyLong_FromUnsignedLongLong(written);
}

/* ---- Properties and the rest ------------------------------------------------- */

static PyObject *get_written(PyObject *op, void *closure)
{
    RingObject *self = (RingObject *)op;
    (void)closure;
    if (!self->ring)
        return closed_error(self);
    return PyLong_FromUnsignedLongLong(stash_ring_written(self->ring));
}

static PyObject *get_info(PyObject *op, void *closure)
{
    RingObject *self = (RingObject *)op;
    stash_ring_info info;
    if (!self->ring)
        return closed_error(self);
    if (stashpy_check(stash_ring_info_get(self->ring, &info)))
        return NULL;
    const char *what = closure;
    if (strcmp(what, "readable_from") == 0)
        return PyLong_FromUnsignedLongLong(info.readable_from);
    if (strcmp(what, "writer_attached") == 0)
        return PyBool_FromLong(info.writer_attached);
    const char *const *strings = strcmp(what, "labels") == 0 ? info.labels : info.units;
    PyObject *tuple = PyTuple_New(info.channels);
    for (uint32_t i = 0; tuple && i < info.channels; i++) {
        PyObject *text = PyUnicode_DecodeUTF8(strings[i], (Py_ssize_t)strlen(strings[i]), "replace");
        if (!text)
            Py_CLEAR(tuple);
        else
            PyTuple_SET_ITEM(tuple, i, text);
    }
    return tuple;
}

static PyObject *get_field(PyObject *op, void *closure)
{
    RingObject *self = (RingObject *)op;
    const char *what = closure;
    if (strcmp(what, "channels") == 0)
        return PyLong_FromUnsignedLong(self->channels);
    if (strcmp(what, "capacity") == 0)
        return PyLong_FromUnsignedLongLong(self->capacity);
    if (strcmp(what, "rate") == 0)
        return PyFloat_FromDouble(self->rate);
    if (strcmp(what, "dtype") == 0)
        return Py_NewRef(self->dtype);
    if (strcmp(what, "name") == 0)
        return Py_NewRef(self->name);
    if (strcmp(what, "is_writer") == 0)
        return PyBool_FromLong(self->writer);
    if (strcmp(what, "mapping") == 0)
        return PyUnicode_FromString(stash_ring_mapping_name(self->mapping));
    return PyBool_FromLong(self->ring == NULL); /* closed */
}

static PyObject *ring_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((RingObject *)op)->ring)
        return closed_error((RingObject *)op);
    return Py_NewRef(op);
}

static PyObject *ring_exit(PyObject *op, PyObject *args)
{
    (void)args;
    return ring_close(op, NULL);
}

/* Pickles by name: the receiving process attaches as a reader. */
static PyObject *ring_reduce(PyObject *op, PyObject *unused)
{
    (void)unused;
    PyObject *attach = PyObject_GetAttrString((PyObject *)&RingType, "attach");
    if (!attach)
        return NULL;
    PyObject *result = Py_BuildValue("(N(O))", attach, ((RingObject *)op)->name);
    return result;
}

static PyObject *ring_repr(PyObject *op)
{
    RingObject *self = (RingObject *)op;
    return PyUnicode_FromFormat("<stash.Ring %R: %u x %s, capacity %llu, %s%s>", self->name,
                                (unsigned)self->channels, stash_dtype_name(self->element),
                                (unsigned long long)self->capacity,
                                self->writer ? "writer" : "reader", self->ring ? "" : ", closed");
}

static PyMethodDef ring_methods[] = {
    {"create", (PyCFunction)(void (*)(void))ring_create, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "create(name, channels, capacity, dtype='float32', rate=0.0, mode=0o600, *, "
     "remove_on_close=False, first_sample=0)\n--\n\nCreates the ring name and returns its "
     "writer; its samples are numbered from first_sample."},
    {"attach", (PyCFunction)(void (*)(void))ring_attach, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "attach(name, timeout=None, *, writer=False)\n--\n\nAttaches to the ring name as a reader "
     "(or its writer); timeout None tries once, else waits that many seconds for it to appear."},
    {"remove", ring_remove, METH_O | METH_CLASS,
     "remove($type, name, /)\n--\n\nUnlinks the ring's name; attached handles keep working."},
    {"put", ring_put, METH_O,
     "put($self, array, /)\n--\n\n"
     "Writes samples: shape (n, channels), or (n,) for one channel, of the "
     "ring's dtype."},
    {"skip_to", ring_skip_to, METH_O,
     "skip_to($self, sample, /)\n--\n\n"
     "Moves the written count forward to sample without writing: the samples "
     "skipped read as overwritten, never as zeros (a copy of a ring that lost "
     "samples on the way)."},
    {"publish", (PyCFunction)(void (*)(void))ring_publish, METH_VARARGS | METH_KEYWORDS,
     "publish(endpoint, *, mode='pubsub', chunk=0, hwm=0, secret_key=None)\n--\n\n"
     "stash.Relay.publish(self.name, endpoint, ...): a Relay to run()."},
    {"subscribe", (PyCFunction)(void (*)(void))ring_subscribe,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "subscribe(endpoint, ring, *, mode='pubsub', capacity=0, timeout=None, server_key=None, "
     "public_key=None, secret_key=None, remove_on_close=False)\n--\n\n"
     "stash.Relay.subscribe(endpoint, name, ...): a Relay to run(), whose .ring "
     "follows the publisher's ring."},
    {"window", (PyCFunction)(void (*)(void))ring_window, METH_FASTCALL,
     "window($self, start, end, /)\n--\n\n"
     "Samples [start, end) as a read-only ndarray view (zero copy); "
     "check validate(start) after using it."},
    {"validate", ring_validate, METH_O,
     "validate($self, start, /)\n--\n\n"
     "True if no sample at or after start has been overwritten since "
     "it was viewed."},
    {"read", (PyCFunction)(void (*)(void))ring_read, METH_FASTCALL,
     "read($self, start, end, /)\n--\n\nA validated copy of samples [start, end)."},
    {"wait", (PyCFunction)(void (*)(void))ring_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(end, timeout=None)\n--\n\nWaits until samples before end are written (None: no "
     "limit); returns the count written."},
    {"close", ring_close, METH_NOARGS, "close()\n--\n\nDetaches (views keep the memory)."},
    {"__enter__", ring_enter, METH_NOARGS, NULL},
    {"__exit__", ring_exit, METH_VARARGS, NULL},
    {"__reduce__", ring_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ring_getset[] = {
    {"written", get_written, NULL, "The count of samples written and published.", NULL},
    {"readable_from", get_info, NULL, "The oldest sample that can still be read.",
     "readable_from"},
    {"writer_attached", get_info, NULL, "True while a live writer holds the ring.",
     "writer_attached"},
    {"labels", get_info, NULL, "The channels' labels.", "labels"},
    {"units", get_info, NULL, "The channels' units.", "units"},
    {"channels", get_field, NULL, "Channels per sample.", "channels"},
    {"capacity", get_field, NULL, "Samples kept.", "capacity"},
    {"rate", get_field, NULL, "The nominal sample rate in Hz (0: irregular).", "rate"},
    {"dtype", get_field, NULL, "The element type (numpy.dtype).", "dtype"},
    {"name", get_field, NULL, "The ring's name, as given.", "name"},
    {"is_writer", get_field, NULL, "True for the writer's handle.", "is_writer"},
    {"mapping", get_field, NULL, "'mirrored' or 'pocket'.", "mapping"},
    {"closed", get_field, NULL, "True once closed.", "closed"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.Ring",
    .tp_doc = "A ring of samples x channels shared between processes (Ring.create, Ring.attach).",
    .tp_basicsize = sizeof(RingObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = ring_dealloc,
    .tp_repr = ring_repr,
    .tp_methods = ring_methods,
    .tp_getset = ring_getset,
    .tp_weaklistoffset = offsetof(RingObject, weakrefs),
};

int stashpy_ring_name_arg(PyObject *obj, PyObject **name, PyObject **path)
{
    return name_arg(obj, name, path);
}

PyObject *stashpy_ring_error(stash_status status, PyObject *name, const char *path)
{
    return raise_named(status, name, path);
}

PyObject *stashpy_ring_attach_name(PyObject *name)
{
    PyObject *args = PyTuple_Pack(1, name);
    PyObject *ring = args ? ring_attach((PyObject *)&RingType, args, NULL) : NULL;
    Py_XDECREF(args);
    return ring;
}

static PyMethodDef after_fork_def = {"_ring_after_fork_in_child", ring_after_fork_in_child,
                                     METH_NOARGS, NULL};

int stashpy_add_ring(PyObject *module)
{
    if (PyType_Ready(&RingType) < 0 || PyModule_AddObjectRef(module, "Ring",
                                                             (PyObject *)&RingType) < 0)
        return -1;
    PyObject *hook = PyCFunction_New(&after_fork_def, NULL);
    PyObject *os = hook ? PyImport_ImportModule("os") : NULL;
    PyObject *registered = NULL;
    if (os) {
        PyObject *register_at_fork = PyObject_GetAttrString(os, "register_at_fork");
        PyObject *kwargs = register_at_fork ? Py_BuildValue("{sO}", "after_in_child", hook) : NULL;
        PyObject *none = kwargs ? PyTuple_New(0) : NULL;
        if (none)
            registered = PyObject_Call(register_at_fork, none, kwargs);
        Py_XDECREF(none);
        Py_XDECREF(kwargs);
        Py_XDECREF(register_at_fork);
        Py_DECREF(os);
    }
    Py_XDECREF(hook);
    if (!registered)
        return -1;
    Py_DECREF(registered);
    return 0;
}
