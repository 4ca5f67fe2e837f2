/*
 * relay.c - stash.Relay: a ring followed across machines over ZeroMQ
 * (stash/relay.h).
 *
 * A Relay is one C relay handle, publisher or subscriber, run by run() in
 * slices of STASHPY_WAIT_SLICE_MS without the GIL, with signal checks
 * between them, so Ctrl-C raises KeyboardInterrupt within a slice and other
 * threads run meanwhile. The C handle serves one thread at a time (run,
 * stats, close): each slice, stats and close take the Relay's lock, so a
 * thread asking for stats while another runs the relay waits at most one
 * slice. stop() needs no lock: stash_relay_stop may be called from any
 * thread at any time, and close() clears the pointer, with the GIL held,
 * before it frees the handle. A stop also sets a flag that run() looks at
 * between slices, so a stop that falls between two slices is not lost.
 *
 * The relay's ring belongs to the C relay (stash_relay_ring: "do not close
 * it"), so Relay.ring is not a wrapper of that handle but a Ring of its own,
 * attached by name as a reader on first use: it stays valid after the
 * Relay is closed, as any Ring does.
 */
#include "stashpy.h"

#include <stash/relay.h>

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct RelayObject {
    PyObject_HEAD
    stash_relay *relay; /* NULL once closed */
    stashpy_lock lock;  /* one call into the C handle at a time */
    atomic_bool stop_requested;
    bool publisher;
    pid_t pid;           /* the process that opened it: ZeroMQ's sockets do not cross fork */
    PyObject *ring_name; /* str, as given */
    PyObject *ring;      /* the Ring attached on first use of .ring, or NULL */
    PyObject *endpoint;  /* str */
} RelayObject;

static PyTypeObject RelayType;

static int64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* ---- Arguments ------------------------------------------------------------- */

static int mode_arg(const char *text, stash_relay_mode *mode)
{
    if (strcmp(text, "pubsub") == 0)
        *mode = STASH_RELAY_PUBSUB;
    else if (strcmp(text, "pushpull") == 0)
        *mode = STASH_RELAY_PUSHPULL;
    else {
        stashpy_raise_context(STASH_E_INVALID, "mode '%s': 'pubsub' or 'pushpull'", text);
        return -1;
    }
    return 0;
}

/* A CURVE key: None, or a Z85 str or bytes of 40 characters (zmq.curve_keypair gives bytes). */
static int key_arg(PyObject *obj, const char *what, char key[STASH_RELAY_KEY_CHARS + 1],
                   const char **out)
{
    *out = NULL;
    if (obj == Py_None)
        return 0;
    const char *text;
    Py_ssize_t len;
    if (PyBytes_Check(obj)) {
        text = PyBytes_AS_STRING(obj);
        len = PyBytes_GET_SIZE(obj);
    } else if (PyUnicode_Check(obj)) {
        text = PyUnicode_AsUTF8AndSize(obj, &len);
        if (!text)
            return -1;
    } else {
        PyErr_Format(PyExc_TypeError, "%s: a Z85 key as str or bytes, not %.200s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (len != STASH_RELAY_KEY_CHARS || strlen(text) != (size_t)len) {
        stashpy_raise_context(STASH_E_INVALID, "%s: a Z85 key is %u characters", what,
                              STASH_RELAY_KEY_CHARS);
        return -1;
    }
    memcpy(key, text, STASH_RELAY_KEY_CHARS + 1);
    *out = key;
    return 0;
}

/* A count for the configuration: 0 to max. */
static int count_arg(PyObject *obj, const char *what, uint64_t max, uint64_t *out)
{
    if (stashpy_unsigned_arg(obj, what, out) < 0)
        return -1;
    if (*out > max) {
        stashpy_raise_context(STASH_E_RANGE, "%s %llu: at most %llu", what,
                              (unsigned long long)*out, (unsigned long long)max);
        return -1;
    }
    return 0;
}

/* Seconds to nanoseconds for a timeout > 0 (None: the default, 0). */
static int seconds_arg(PyObject *obj, const char *what, int64_t *ns)
{
    *ns = 0;
    if (obj == Py_None)
        return 0;
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(seconds) || seconds <= 0) {
        stashpy_raise_context(STASH_E_INVALID, "%s: a number of seconds > 0", what);
        return -1;
    }
    *ns = seconds < 9e9 ? (int64_t)(seconds * 1e9) : INT64_MAX;
    if (*ns == 0)
        *ns = 1;
    return 0;
}

/* A timeout for run(): None or math.inf is no limit (-1); negative and NaN are refused. */
static int run_timeout_arg(PyObject *obj, int64_t *ns)
{
    *ns = -1;
    if (obj == Py_None)
        return 0;
    double seconds = PyFloat_AsDouble(obj);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    if (isnan(seconds) || seconds < 0) {
        stashpy_raise_context(STASH_E_INVALID, "a timeout is a number of seconds >= 0");
        return -1;
    }
    if (seconds < 9e9)
        *ns = (int64_t)(seconds * 1e9);
    return 0;
}

/* ---- Opening ------------------------------------------------------------------ */

static PyObject *relay_wrap(stash_relay *relay, bool publisher, PyObject *ring_name,
                            PyObject *endpoint)
{
    RelayObject *self = PyObject_New(RelayObject, &RelayType);
    if (!self || stashpy_lock_init(&self->lock) < 0) {
        if (self)
            PyObject_Free(self);
        (void)stash_relay_close(&relay); /* nobody to tell of its failure */
        return NULL;
    }
    self->relay = relay;
    atomic_init(&self->stop_requested, false);
    self->publisher = publisher;
    self->pid = getpid();
    self->ring_name = Py_NewRef(ring_name);
    self->ring = NULL;
    self->endpoint = Py_NewRef(endpoint);
    return (PyObject *)self;
}

/* Raises what opening refused, naming the endpoint or the ring as the status concerns. */
static PyObject *open_error(stash_status status, PyObject *ring_name, const char *path,
                            PyObject *endpoint)
{
    if (status == STASH_E_INVALID && stash_ring_name_problem(path) == NULL)
        return stashpy_raise_context(status, "endpoint %R (tcp://HOST:PORT, ipc:///PATH), or "
                                     "its CURVE keys", endpoint);
    if (status == STASH_E_UNAVAILABLE || status == STASH_E_TIMEOUT)
        return stashpy_raise_context(status, "endpoint %R", endpoint);
    return stashpy_ring_error(status, ring_name, path);
}

static PyObject *relay_publish(PyObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"ring", "endpoint", "mode", "chunk", "hwm", "secret_key", NULL};
    PyObject *ring_obj, *endpoint, *chunk_obj = NULL, *hwm_obj = NULL, *secret = Py_None;
    const char *mode = "pubsub";
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OU|$sOOO:publish", keywords, &ring_obj,
                                     &endpoint, &mode, &chunk_obj, &hwm_obj, &secret))
        return NULL;
    stash_relay_config cfg = {0};
    uint64_t chunk = 0, hwm = 0;
    char key[STASH_RELAY_KEY_CHARS + 1];
    if (mode_arg(mode, &cfg.mode) < 0 ||
        (chunk_obj && count_arg(chunk_obj, "chunk", UINT32_MAX, &chunk) < 0) ||
        (hwm_obj && count_arg(hwm_obj, "hwm", INT32_MAX, &hwm) < 0) ||
        key_arg(secret, "secret_key", key, &cfg.server_secret_key) < 0)
        return NULL;
    cfg.chunk_samples = (uint32_t)chunk;
    cfg.high_water_mark = (int)hwm;
    const char *where = PyUnicode_AsUTF8(endpoint);
    PyObject *name, *path;
    if (!where || stashpy_ring_name_arg(ring_obj, &name, &path) < 0)
        return NULL;
    stash_relay *relay = NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_relay_publish(PyBytes_AS_STRING(path), where, &cfg, &relay);
    Py_END_ALLOW_THREADS
    memset(key, 0, sizeof key);
    PyObject *result = status == STASH_OK
                           ? relay_wrap(relay, true, name, endpoint)
                           : open_error(status, name, PyBytes_AS_STRING(path), endpoint);
    Py_DECREF(name);
    Py_DECREF(path);
    return result;
}

static PyObject *relay_subscribe(PyObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"endpoint",   "ring",       "mode",       "capacity",
                               "timeout",    "server_key", "public_key", "secret_key",
                               "remove_on_close", NULL};
    PyObject *ring_obj, *endpoint, *capacity_obj = NULL, *timeout_obj = Py_None;
    PyObject *server = Py_None, *public = Py_None, *secret = Py_None;
    const char *mode = "pubsub";
    int remove_on_close = 0;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UO|$sOOOOOp:subscribe", keywords, &endpoint,
                                     &ring_obj, &mode, &capacity_obj, &timeout_obj, &server,
                                     &public, &secret, &remove_on_close))
        return NULL;
    stash_relay_config cfg = {0};
    char keys[3][STASH_RELAY_KEY_CHARS + 1];
    if (mode_arg(mode, &cfg.mode) < 0 ||
        (capacity_obj && count_arg(capacity_obj, "capacity", INT64_MAX,
                                   &cfg.capacity_samples) < 0) ||
        seconds_arg(timeout_obj, "timeout", &cfg.source_timeout_ns) < 0 ||
        key_arg(server, "server_key", keys[0], &cfg.server_public_key) < 0 ||
        key_arg(public, "public_key", keys[1], &cfg.client_public_key) < 0 ||
        key_arg(secret, "secret_key", keys[2], &cfg.client_secret_key) < 0)
        return NULL;
    if (remove_on_close)
        cfg.ring_flags |= STASH_RING_REMOVE_ON_CLOSE;
    const char *where = PyUnicode_AsUTF8(endpoint);
    PyObject *name, *path;
    if (!where || stashpy_ring_name_arg(ring_obj, &name, &path) < 0)
        return NULL;
    if (stash_ring_name_problem(PyBytes_AS_STRING(path))) { /* now, not after the metadata */
        stashpy_ring_error(STASH_E_INVALID, name, PyBytes_AS_STRING(path));
        Py_DECREF(name);
        Py_DECREF(path);
        return NULL;
    }
    stash_relay *relay = NULL;
    stash_status status;
    Py_BEGIN_ALLOW_THREADS /* waits for the publisher's metadata, up to the timeout */
    status = stash_relay_subscribe(where, PyBytes_AS_STRING(path), &cfg, &relay);
    Py_END_ALLOW_THREADS
    memset(keys, 0, sizeof keys);
    PyObject *result = status == STASH_OK
                           ? relay_wrap(relay, false, name, endpoint)
                           : open_error(status, name, PyBytes_AS_STRING(path), endpoint);
    Py_DECREF(name);
    Py_DECREF(path);
    return result;
}

/* ---- Running ------------------------------------------------------------------ */

static PyObject *closed_error(RelayObject *self)
{
    return stashpy_raise_context(STASH_E_CLOSED, "relay of ring %R", self->ring_name);
}

/* One slice of run, under the lock and without the GIL; STASH_E_CLOSED if closed meanwhile. */
static stash_status run_slice(RelayObject *self, int64_t slice_ns)
{
    stashpy_lock_acquire(&self->lock);
    stash_relay *relay = self->relay;
    stash_status status = STASH_E_CLOSED;
    if (relay) {
        Py_BEGIN_ALLOW_THREADS
        status = stash_relay_run(relay, slice_ns);
        Py_END_ALLOW_THREADS
    }
    stashpy_lock_release(&self->lock);
    return status;
}

static PyObject *relay_run(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"timeout", NULL};
    RelayObject *self = (RelayObject *)op;
    PyObject *timeout_obj = Py_None;
    int64_t timeout_ns;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:run", keywords, &timeout_obj) ||
        run_timeout_arg(timeout_obj, &timeout_ns) < 0)
        return NULL;
    if (!self->relay || self->pid != getpid())
        return closed_error(self);
    int64_t deadline = timeout_ns < 0 ? -1 : monotonic_ns() + timeout_ns;
    int64_t slice_max = (int64_t)STASHPY_WAIT_SLICE_MS * 1000000;
    for (;;) {
        if (atomic_exchange(&self->stop_requested, false))
            break;
        int64_t left = deadline < 0 ? slice_max : deadline - monotonic_ns();
        int64_t slice = left < 0 ? 0 : left < slice_max ? left : slice_max;
        stash_status status = run_slice(self, slice);
        if (status == STASH_E_CLOSED && !self->relay)
            break; /* closed by another thread meanwhile: a stop */
        if (status == STASH_E_WRITER_GONE)
            return stashpy_raise_context(status, self->publisher
                                                     ? "relay of ring %R: the ring's writer"
                                                     : "relay from %R: the publisher",
                                         self->publisher ? self->ring_name : self->endpoint);
        if (status < 0)
            return stashpy_raise_context(status, "relay of ring %R", self->ring_name);
        if (deadline >= 0 && monotonic_ns() >= deadline)
            break;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *relay_stop(PyObject *op, PyObject *unused)
{
    RelayObject *self = (RelayObject *)op;
    (void)unused;
    atomic_store(&self->stop_requested, true);
    if (self->relay) /* close() clears it, with the GIL held, before freeing it */
        stash_relay_stop(self->relay);
    Py_RETURN_NONE;
}

static PyObject *relay_close(PyObject *op, PyObject *unused)
{
    RelayObject *self = (RelayObject *)op;
    (void)unused;
    if (self->pid != getpid()) /* a forked child: the handle is the parent's (dealloc) */
        self->relay = NULL;
    if (self->relay) /* a run in another thread returns within its slice */
        stash_relay_stop(self->relay);
    stashpy_lock_acquire(&self->lock);
    stash_relay *relay = self->relay;
    self->relay = NULL;
    stash_status status = STASH_OK;
    if (relay) {
        Py_BEGIN_ALLOW_THREADS /* a publisher's goodbye goes out */
        status = stash_relay_close(&relay);
        Py_END_ALLOW_THREADS
    }
    stashpy_lock_release(&self->lock);
    if (status < 0)
        return stashpy_raise_context(status, "relay of ring %R", self->ring_name);
    Py_RETURN_NONE;
}

/* ---- Properties and the rest --------------------------------------------------- */

static int add_count(PyObject *dict, const char *key, unsigned long long value)
{
    PyObject *n = PyLong_FromUnsignedLongLong(value);
    int rc = n ? PyDict_SetItemString(dict, key, n) : -1;
    Py_XDECREF(n);
    return rc;
}

static PyObject *get_stats(PyObject *op, void *closure)
{
    RelayObject *self = (RelayObject *)op;
    (void)closure;
    stash_relay_stats s;
    stashpy_lock_acquire(&self->lock); /* waits for a running slice: at most 50 ms */
    stash_status status = self->relay ? stash_relay_stats_get(self->relay, &s) : STASH_E_CLOSED;
    stashpy_lock_release(&self->lock);
    if (status == STASH_E_CLOSED)
        return closed_error(self);
    if (stashpy_check(status))
        return NULL;
    PyObject *d = PyDict_New();
    if (!d || add_count(d, "messages", s.messages) < 0 || add_count(d, "samples", s.samples) < 0 ||
        add_count(d, "bytes", s.bytes) < 0 || add_count(d, "gaps", s.gaps) < 0 ||
        add_count(d, "samples_lost", s.samples_lost) < 0 ||
        add_count(d, "rejected", s.rejected) < 0 ||
        add_count(d, "next_sample", s.next_sample) < 0 ||
        add_count(d, "writer_session", s.writer_session) < 0)
        Py_CLEAR(d);
    PyObject *last = s.last_rejected ? PyUnicode_FromString(stash_status_name(s.last_rejected))
                                     : Py_NewRef(Py_None);
    if (d && (!last || PyDict_SetItemString(d, "last_rejected", last) < 0))
        Py_CLEAR(d);
    Py_XDECREF(last);
    return d;
}

static PyObject *get_ring(PyObject *op, void *closure)
{
    RelayObject *self = (RelayObject *)op;
    (void)closure;
    if (!self->ring) {
        if (!self->relay)
            return closed_error(self);
        PyObject *ring = stashpy_ring_attach_name(self->ring_name);
        if (!ring)
            return NULL;
        if (!self->ring)
            self->ring = ring;
        else
            Py_DECREF(ring); /* another thread was first */
    }
    return Py_NewRef(self->ring);
}

static PyObject *get_field(PyObject *op, void *closure)
{
    RelayObject *self = (RelayObject *)op;
    const char *what = closure;
    if (strcmp(what, "endpoint") == 0)
        return Py_NewRef(self->endpoint);
    if (strcmp(what, "is_publisher") == 0)
        return PyBool_FromLong(self->publisher);
    return PyBool_FromLong(self->relay == NULL); /* closed */
}

static PyObject *relay_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (!((RelayObject *)op)->relay)
        return closed_error((RelayObject *)op);
    return Py_NewRef(op);
}

static PyObject *relay_exit(PyObject *op, PyObject *args)
{
    (void)args;
    return relay_close(op, NULL);
}

static void relay_dealloc(PyObject *op)
{
    RelayObject *self = (RelayObject *)op;
    /* A forked child leaves the handle alone: its context's threads live in the parent. */
    if (self->relay && self->pid == getpid())
        (void)stash_relay_close(&self->relay); /* nobody to tell of a failure */
    Py_XDECREF(self->ring_name);
    Py_XDECREF(self->ring);
    Py_XDECREF(self->endpoint);
    stashpy_lock_fini(&self->lock);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *relay_repr(PyObject *op)
{
    RelayObject *self = (RelayObject *)op;
    return PyUnicode_FromFormat("<stash.Relay %s ring %R %s %R%s>",
                                self->publisher ? "publishing" : "subscribing", self->ring_name,
                                self->publisher ? "on" : "from", self->endpoint,
                                self->relay ? "" : ", closed");
}

static PyMethodDef relay_methods[] = {
    {"publish", (PyCFunction)(void (*)(void))relay_publish,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "publish(ring, endpoint, *, mode='pubsub', chunk=0, hwm=0, secret_key=None)\n--\n\n"
     "Relays the ring named ring from its current sample on: binds endpoint "
     "(tcp://HOST:PORT, ipc:///PATH); run() sends."},
    {"subscribe", (PyCFunction)(void (*)(void))relay_subscribe,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "subscribe(endpoint, ring, *, mode='pubsub', capacity=0, timeout=None, server_key=None, "
     "public_key=None, secret_key=None, remove_on_close=False)\n--\n\n"
     "Connects to a publisher and makes the ring named ring, a copy numbered as its source; "
     "run() receives."},
    {"run", (PyCFunction)(void (*)(void))relay_run, METH_VARARGS | METH_KEYWORDS,
     "run(timeout=None)\n--\n\nRelays until timeout seconds have passed (None: no limit) or "
     "stop(); stash.WriterGone when the source has gone."},
    {"stop", relay_stop, METH_NOARGS,
     "stop()\n--\n\nMakes run() return soon, from any thread."},
    {"close", relay_close, METH_NOARGS,
     "close()\n--\n\nStops, says goodbye (publisher) and closes the sockets."},
    {"__enter__", relay_enter, METH_NOARGS, NULL},
    {"__exit__", relay_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef relay_getset[] = {
    {"stats", get_stats, NULL, "The counters, as a dict.", NULL},
    {"ring", get_ring, NULL, "The relayed ring, attached by name as a reader.", NULL},
    {"endpoint", get_field, NULL, "The endpoint, as given.", "endpoint"},
    {"is_publisher", get_field, NULL, "True for a publisher.", "is_publisher"},
    {"closed", get_field, NULL, "True once closed.", "closed"},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash.Relay",
    .tp_doc = "A ring followed across machines over ZeroMQ (Relay.publish, Relay.subscribe).",
    .tp_basicsize = sizeof(RelayObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = relay_dealloc,
    .tp_repr = relay_repr,
    .tp_methods = relay_methods,
    .tp_getset = relay_getset,
};

PyObject *stashpy_relay_open(bool publisher, PyObject *args, PyObject *kwargs)
{
    return publisher ? relay_publish((PyObject *)&RelayType, args, kwargs)
                     : relay_subscribe((PyObject *)&RelayType, args, kwargs);
}

int stashpy_add_relay(PyObject *module)
{
    if (PyType_Ready(&RelayType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Relay", (PyObject *)&RelayType);
}
