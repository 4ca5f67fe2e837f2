/*
 * store.c - the result store from Python: stash.content_key, the C type
 * under stash.Store (_Store) and the memoized function (_Memoized).
 *
 * A _Store owns one stash_store handle. The C handle serves one thread at a
 * time (store.h), so every call takes the handle's stashpy_lock, and calls
 * that do I/O (all of them on dir: and hdf5:) run without the GIL. none:
 * calls are 20 ns answers and keep it.
 *
 * Values go in through stashpy_value_from_object with their arrays
 * borrowed: a put or a hash reads the caller's buffers in place. Values come
 * out through stashpy_value_to_object: the tree a get returns owns its
 * mapping of the entry (dir:), so arrays viewing it outlive close().
 *
 * A memoized call is stash_store_memoise with a compute callback that calls
 * the Python function. The callback takes the GIL back and gives the
 * handle's lock up while the function runs, so the function may call the
 * store (recursion, other memoized functions) and other threads may use it;
 * an exception it raises is left set and comes out of the call unchanged.
 * close() from another thread meanwhile closes the handle when the last
 * such call ends (busy counts them).
 *
 * The binding of a call's arguments to the function's parameters (so that
 * f(1) and f(x=1) have one key) is done here for the calls Python accepts
 * without a fuss; anything else (a call that is an error, a binding this
 * code does not follow) goes to inspect.Signature.bind, through the bind
 * callable the Python side passes in, which raises Python's own TypeError.
 */
#include "stashpy.h"

#include <stdlib.h>
#include <string.h>

/* ---- Store --------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    stash_store *store; /* NULL once closed (and no call is still inside it) */
    stashpy_lock lock;  /* guards store, closed and busy */
    bool closed;
    bool gets_copy;     /* gets hand out the caller's own copy: arrays may be writable */
    unsigned busy;      /* memoise calls whose function is running */
    PyObject *uri;      /* as given, for repr */
    PyObject *weakrefs;
} Store;

static PyTypeObject StoreType;

/* Takes the handle's lock: the handle, or NULL with stash.Closed raised. */
static stash_store *store_enter(Store *self)
{
    stashpy_lock_acquire(&self->lock);
    if (self->closed) {
        stashpy_lock_release(&self->lock);
        stashpy_raise_context(STASH_E_CLOSED, "store %R", self->uri);
        return NULL;
    }
    return self->store;
}

/* Gives the lock back, closing a handle whose close() waited for the last call in it. */
static void store_leave(Store *self)
{
    if (self->closed && !self->busy && self->store)
        stash_store_close(&self->store); /* close() returned already: nobody to tell */
    stashpy_lock_release(&self->lock);
}

/* The key's UTF-8, or NULL with TypeError or a key error raised. */
static const char *key_text(PyObject *key)
{
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "stash.Store keys are str, not %.100s",
                     Py_TYPE(key)->tp_name);
        return NULL;
    }
    Py_ssize_t len;
    const char *text = PyUnicode_AsUTF8AndSize(key, &len);
    if (text && strlen(text) != (size_t)len) {
        /* The C key would end at the NUL: refuse it as the rule does. */
        stashpy_raise_context(STASH_E_INVALID, "key %R is refused (a key holds no control "
                              "characters)", key);
        return NULL;
    }
    return text;
}

/* Raises for a failed call about key, naming the key rule it breaks if that was the fault. */
static PyObject *key_error(stash_status status, PyObject *key, const char *text)
{
    const char *rule = status == STASH_E_INVALID || status == STASH_E_LIMIT
                           ? stash_store_key_rule(text) : NULL;
    if (rule)
        return stashpy_raise_context(status, "key %R is refused (%s)", key, rule);
    if (status < 0 && stash_errno(status))
        return stashpy_raise(status);
    return stashpy_raise_context(status, "key %R", key);
}

/* Bytes of the arrays a conversion borrowed: big inputs are hashed without the GIL. */
static size_t borrowed_bytes(const stashpy_borrowed *borrowed)
{
    size_t total = 0;
    for (size_t i = 0; i < borrowed->count; i++)
        total += (size_t)borrowed->views[i].len;
    return total;
}

static PyObject *store_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"uri", "max_bytes", "read_only", "durable", "exclusive", "copy",
                               NULL};
    PyObject *uri, *path = NULL, *max_bytes_obj = NULL;
    int read_only = 0, durable = 0, exclusive = 0, copy = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$Opppp:Store", keywords, &uri,
                                     &max_bytes_obj, &read_only, &durable, &exclusive, &copy))
        return NULL;
    stash_store_options options = {0};
    if (max_bytes_obj && stashpy_unsigned_arg(max_bytes_obj, "max_bytes", &options.max_bytes) < 0)
        return NULL;
    options.flags = (read_only ? STASH_STORE_READ_ONLY : 0) | (durable ? STASH_STORE_DURABLE : 0) |
                    (exclusive ? STASH_STORE_EXCLUSIVE : 0) | (copy ? STASH_STORE_COPY : 0);
    if (!PyUnicode_FSConverter(uri, &path))
        return NULL;
    Store *self = (Store *)type->tp_alloc(type, 0);
    if (!self || stashpy_lock_init(&self->lock) < 0) {
        Py_XDECREF(self);
        Py_DECREF(path);
        return NULL;
    }
    self->uri = Py_NewRef(uri);
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_store_open(PyBytes_AS_STRING(path), &options, &self->store);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (status < 0) {
        self->closed = true;
        Py_DECREF(self);
        if (status == STASH_E_INVALID)
            return stashpy_raise_context(status, "store URI %R (use %s, %sPATH or %sPATH)", uri,
                                         stash_store_scheme(0), stash_store_scheme(1),
                                         stash_store_scheme(2));
        return stashpy_raise_path(status, uri);
    }
    /* Only dir: maps its entries; every other backend's gets are copies. */
    self->gets_copy = copy || strcmp(stash_store_backend(self->store), "dir") != 0;
    return (PyObject *)self;
}

static void store_dealloc(PyObject *obj)
{
    Store *self = (Store *)obj;
    if (self->weakrefs)
        PyObject_ClearWeakRefs(obj);
    stash_store_close(&self->store);
    stashpy_lock_fini(&self->lock);
    Py_XDECREF(self->uri);
    Py_TYPE(obj)->tp_free(obj);
}

static PyObject *store_close(PyObject *obj, PyObject *unused)
{
    (void)unused;
    Store *self = (Store *)obj;
    stashpy_lock_acquire(&self->lock);
    stash_status status = STASH_OK;
    bool now = !self->closed && !self->busy;
    self->closed = true;
    stash_store *store = now ? self->store : NULL;
    if (now)
        self->store = NULL;
    stashpy_lock_release(&self->lock);
    if (store) {
        Py_BEGIN_ALLOW_THREADS
        status = stash_store_close(&store);
        Py_END_ALLOW_THREADS
    }
    if (stashpy_check(status))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *store_exit(PyObject *self, PyObject *args)
{
    (void)args;
    return store_close(self, NULL);
}

static PyObject *store_enter_context(PyObject *self, PyObject *unused)
{
    (void)unused;
    Store *store = (Store *)self;
    if (store->closed)
        return stashpy_raise_context(STASH_E_CLOSED, "store %R", store->uri);
    return Py_NewRef(self);
}

/* s[key]: the value; arrays read-only views from dir:, writable copies elsewhere. */
static PyObject *store_subscript(PyObject *obj, PyObject *key)
{
    Store *self = (Store *)obj;
    const char *text = key_text(key);
    if (!text)
        return NULL;
    stash_store *store = store_enter(self);
    if (!store)
        return NULL;
    stash_value *value = NULL;
    stash_status status;
    STASHPY_RELEASE_GIL_IF(stash_store_is_active(store),
                           status = stash_store_get(store, text, &value));
    store_leave(self);
    if (status < 0)
        return key_error(status, key, text);
    return stashpy_value_to_object(&value, self->gets_copy);
}

static int store_put(Store *self, PyObject *key, const char *text, PyObject *value)
{
    stashpy_borrowed borrowed = {0};
    stash_value *tree = NULL;
    if (stashpy_value_from_object(value, &tree, &borrowed) < 0) {
        stashpy_borrowed_release(&borrowed);
        return -1;
    }
    stash_status status = STASH_E_CLOSED;
    stash_store *store = store_enter(self);
    if (store) {
        STASHPY_RELEASE_GIL_IF(stash_store_is_active(store),
                           status = stash_store_put(store, text, tree));
        store_leave(self);
    }
    stash_value_free(&tree);
    stashpy_borrowed_release(&borrowed);
    if (!store)
        return -1;
    return status < 0 ? (key_error(status, key, text), -1) : 0;
}

static int store_delete(Store *self, PyObject *key, const char *text)
{
    stash_store *store = store_enter(self);
    if (!store)
        return -1;
    stash_status status;
    STASHPY_RELEASE_GIL_IF(stash_store_is_active(store),
                           status = stash_store_delete(store, text));
    store_leave(self);
    return status < 0 ? (key_error(status, key, text), -1) : 0;
}

/* s[key] = value and del s[key]. */
static int store_ass_subscript(PyObject *obj, PyObject *key, PyObject *value)
{
    const char *text = key_text(key);
    if (!text)
        return -1;
    return value ? store_put((Store *)obj, key, text, value)
                 : store_delete((Store *)obj, key, text);
}

/* key in s: False for keys of other types and for none:, which holds nothing. */
static int store_contains(PyObject *obj, PyObject *key)
{
    if (!PyUnicode_Check(key))
        return 0;
    const char *text = key_text(key);
    if (!text)
        return -1;
    Store *self = (Store *)obj;
    stash_store *store = store_enter(self);
    if (!store)
        return -1;
    stash_status status;
    STASHPY_RELEASE_GIL_IF(stash_store_is_active(store),
                           status = stash_store_has(store, text));
    store_leave(self);
    if (status == STASH_OK)
        return 1;
    if (status == STASH_E_NOT_FOUND || status == STASH_E_NO_SOURCE)
        return 0;
    key_error(status, key, text);
    return -1;
}

/* The keys stash_store_list gives, NUL-separated, gathered without the GIL. */
typedef struct {
    char *text;
    size_t used, capacity, count;
} key_list;

static stash_status gather_key(void *ctx, const char *key, uint64_t bytes)
{
    (void)bytes;
    key_list *list = ctx;
    size_t len = strlen(key) + 1;
    if (list->used + len > list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 4096;
        while (capacity < list->used + len)
            capacity *= 2;
        char *grown = realloc(list->text, capacity);
        if (!grown)
            return -ENOMEM;
        list->text = grown;
        list->capacity = capacity;
    }
    memcpy(list->text + list->used, key, len);
    list->used += len;
    list->count++;
    return STASH_OK;
}

/* Lists the keys into list (empty for none:); -1 with the exception raised. */
static int store_gather(Store *self, key_list *list)
{
    stash_store *store = store_enter(self);
    if (!store)
        return -1;
    stash_status status = STASH_OK;
    if (stash_store_is_active(store)) {
        Py_BEGIN_ALLOW_THREADS
        status = stash_store_list(store, gather_key, list);
        Py_END_ALLOW_THREADS
    }
    store_leave(self);
    if (stashpy_check(status)) {
        free(list->text);
        return -1;
    }
    return 0;
}

static Py_ssize_t store_length(PyObject *obj)
{
    key_list list = {0};
    if (store_gather((Store *)obj, &list) < 0)
        return -1;
    free(list.text);
    return (Py_ssize_t)list.count;
}

/* The keys as a list of str, in no particular order. */
static PyObject *store_keys_list(PyObject *obj)
{
    key_list list = {0};
    if (store_gather((Store *)obj, &list) < 0)
        return NULL;
    PyObject *keys = PyList_New((Py_ssize_t)list.count);
    const char *key = list.text;
    for (size_t i = 0; keys && i < list.count; i++) {
        size_t len = strlen(key);
        PyObject *item = PyUnicode_DecodeUTF8(key, (Py_ssize_t)len, NULL);
        if (!item)
            Py_CLEAR(keys);
        else
            PyList_SET_ITEM(keys, (Py_ssize_t)i, item);
        key += len + 1;
    }
    free(list.text);
    return keys;
}

static PyObject *store_iter(PyObject *obj)
{
    PyObject *keys = store_keys_list(obj);
    if (!keys)
        return NULL;
    PyObject *iter = PyObject_GetIter(keys);
    Py_DECREF(keys);
    return iter;
}

static PyObject *store_gc(PyObject *obj, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"max_bytes", NULL};
    uint64_t max_bytes;
    PyObject *limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:gc", keywords, &limit) ||
        stashpy_unsigned_arg(limit, "max_bytes", &max_bytes) < 0)
        return NULL;
    Store *self = (Store *)obj;
    stash_store *store = store_enter(self);
    if (!store)
        return NULL;
    stash_store_gc_stats stats = {0};
    stash_status status;
    Py_BEGIN_ALLOW_THREADS
    status = stash_store_gc(store, max_bytes, &stats);
    Py_END_ALLOW_THREADS
    store_leave(self);
    if (stashpy_check(status))
        return NULL;
    return Py_BuildValue("{sKsKsKsKsK}", "entries", (unsigned long long)stats.entries, "bytes",
                         (unsigned long long)stats.bytes, "evicted_entries",
                         (unsigned long long)stats.evicted_entries, "evicted_bytes",
                         (unsigned long long)stats.evicted_bytes, "swept_temps",
                         (unsigned long long)stats.swept_temps);
}

static int store_bool(PyObject *obj)
{
    Store *self = (Store *)obj;
    stashpy_lock_acquire(&self->lock);
    bool active = !self->closed && stash_store_is_active(self->store);
    stashpy_lock_release(&self->lock);
    return active;
}

static PyObject *store_backend(PyObject *obj, void *closure)
{
    (void)closure;
    Store *self = (Store *)obj;
    stash_store *store = store_enter(self);
    if (!store)
        return NULL;
    PyObject *name = PyUnicode_FromString(stash_store_backend(store));
    store_leave(self);
    return name;
}

static PyObject *store_closed(PyObject *obj, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((Store *)obj)->closed);
}

static PyObject *store_uri(PyObject *obj, void *closure)
{
    (void)closure;
    return Py_NewRef(((Store *)obj)->uri);
}

static PyObject *store_repr(PyObject *obj)
{
    Store *self = (Store *)obj;
    const char *state = self->closed ? "closed" : stash_store_backend(self->store);
    return PyUnicode_FromFormat("<stash.Store %R (%s)>", self->uri, state);
}

static PyMethodDef store_methods[] = {
    {"close", store_close, METH_NOARGS,
     "close()\n--\n\nFlushes and closes the store. Arrays got from it stay valid."},
    {"gc", (PyCFunction)(void (*)(void))store_gc, METH_VARARGS | METH_KEYWORDS,
     "gc(max_bytes)\n--\n\ndir: sweeps crashed writers' files and evicts least recently "
     "used entries until the total is at most max_bytes; a dict of what it found and did."},
    {"__enter__", store_enter_context, METH_NOARGS, NULL},
    {"__exit__", store_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef store_getset[] = {
    {"backend", store_backend, NULL, "'dir', 'hdf5', 'pickle' or 'none'.", NULL},
    {"closed", store_closed, NULL, "True once close() was called.", NULL},
    {"uri", store_uri, NULL, "The URI the store was opened with.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMappingMethods store_as_mapping = {
    .mp_length = store_length,
    .mp_subscript = store_subscript,
    .mp_ass_subscript = store_ass_subscript,
};

static PySequenceMethods store_as_sequence = {.sq_contains = store_contains};
static PyNumberMethods store_as_number = {.nb_bool = store_bool};

static PyTypeObject StoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash._Store",
    .tp_doc = "_Store(uri, *, max_bytes=0, read_only=False, durable=False, exclusive=False, "
              "copy=False)\n--\n\nThe C part of stash.Store: use stash.Store.",
    .tp_basicsize = sizeof(Store),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = store_new,
    .tp_dealloc = store_dealloc,
    .tp_repr = store_repr,
    .tp_iter = store_iter,
    .tp_methods = store_methods,
    .tp_getset = store_getset,
    .tp_as_mapping = &store_as_mapping,
    .tp_as_sequence = &store_as_sequence,
    .tp_as_number = &store_as_number,
    .tp_weaklistoffset = offsetof(Store, weakrefs),
};

/* ---- content_key ----------------------------------------------------------- */

static PyObject *content_key(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"value", "meta", NULL};
    PyObject *value, *meta = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:content_key", keywords, &value, &meta))
        return NULL;
    stashpy_borrowed borrowed = {0};
    stash_value *inputs = NULL, *meta_tree = NULL;
    PyObject *result = NULL;
    if (stashpy_value_from_object(value, &inputs, &borrowed) < 0 ||
        (meta != Py_None && stashpy_value_from_object(meta, &meta_tree, &borrowed) < 0))
        goto done;
    stash_key key;
    stash_status status;
    STASHPY_RELEASE_GIL_IF(borrowed_bytes(&borrowed) >= STASHPY_GIL_FREE_BYTES,
                           status = stash_hash_inputs(inputs, meta_tree, &key));
    if (!stashpy_check(status))
        result = PyUnicode_FromStringAndSize(key.text, STASH_KEY_CHARS);
done:
    stash_value_free(&inputs);
    stash_value_free(&meta_tree);
    stashpy_borrowed_release(&borrowed);
    return result;
}

/* ---- Memoized -------------------------------------------------------------- */

/* inspect.Parameter kinds, as the Python side passes them. */
enum { POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, VAR_POSITIONAL, KEYWORD_ONLY, VAR_KEYWORD };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *store;     /* a Store, or NULL until opener has given one */
    PyObject *opener;    /* opens the store at the first call (stash.memoize(uri)), or NULL */
    PyObject *func;
    PyObject *key_func;  /* computes the inputs from the arguments, or NULL */
    PyObject *bind;      /* (*args, **kwargs) -> dict of every argument, for the rare calls */
    PyObject *names;     /* tuple of the parameters' names */
    PyObject *defaults;  /* tuple: each parameter's default, or empty where it has none */
    PyObject *empty;     /* inspect.Parameter.empty */
    int *kinds;          /* each parameter's kind */
    Py_ssize_t count;    /* parameters */
    Py_ssize_t positional; /* positional-only and positional-or-keyword parameters, first */
    Py_ssize_t var_positional, var_keyword; /* their index, or -1 */
    stash_value *meta;   /* {"function": name, "version": version} */
    bool last_hit;
    PyObject *dict;
    PyObject *weakrefs;
} Memoized;

static PyTypeObject MemoizedType;

/*
 * Replaces the conversion error raised with a TypeError naming what could
 * not be stored ("argument 'x'"), caused by it.
 */
static void name_unstorable(Memoized *self, PyObject *what)
{
    PyObject *type, *cause, *trace;
    PyErr_Fetch(&type, &cause, &trace);
    PyErr_NormalizeException(&type, &cause, &trace);
    if (trace)
        PyException_SetTraceback(cause, trace);
    PyObject *qualname = PyObject_GetAttrString(self->func, "__qualname__");
    PyErr_Clear();
    PyObject *error = PyObject_CallFunction(PyExc_TypeError, "N",
                                            PyUnicode_FromFormat("%S(): %U cannot be stored: %S",
                                                                 qualname ? qualname : self->func,
                                                                 what, cause));
    if (error) {
        PyException_SetCause(error, cause); /* steals cause */
        cause = NULL;
        PyErr_SetObject(PyExc_TypeError, error);
        Py_DECREF(error);
    }
    Py_XDECREF(qualname);
    Py_XDECREF(type);
    Py_XDECREF(cause);
    Py_XDECREF(trace);
}

/* True if the error raised says a value cannot be stored (not a failure of the machine). */
static bool unstorable_raised(void)
{
    return PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_BufferError) ||
           PyErr_ExceptionMatches(stashpy_error_class(STASH_E_DTYPE));
}

/*
 * Converts one argument into dict[name]. A value the store cannot hold is
 * a TypeError naming the argument (the conversion's error is its cause).
 */
static int put_argument(Memoized *self, stash_value *dict, PyObject *name, PyObject *value,
                        stashpy_borrowed *borrowed)
{
    stash_value *item = NULL;
    if (stashpy_value_from_object(value, &item, borrowed) < 0) {
        if (unstorable_raised()) {
            PyObject *what = PyUnicode_FromFormat("argument %R", name);
            if (what)
                name_unstorable(self, what);
            Py_XDECREF(what);
        }
        return -1;
    }
    const char *key = PyUnicode_AsUTF8(name);
    stash_status status = key ? stash_value_dict_set(dict, key, item) : STASH_E_INVALID;
    if (status < 0) {
        stash_value_free(&item);
        return key ? (stashpy_check(status), -1) : -1;
    }
    return 0;
}

/* The arguments by name from the Python binder (inspect.Signature.bind, defaults applied). */
static stash_value *bind_slowly(Memoized *self, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames, stashpy_borrowed *borrowed)
{
    PyObject *arguments = PyObject_Vectorcall(self->bind, args, nargsf, kwnames);
    if (!arguments)
        return NULL;
    stash_value *dict = NULL;
    if (stashpy_check(stash_value_new_dict(&dict))) {
        Py_DECREF(arguments);
        return NULL;
    }
    PyObject *name, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(arguments, &pos, &name, &value))
        if (put_argument(self, dict, name, value, borrowed) < 0) {
            stash_value_free(&dict);
            break;
        }
    Py_DECREF(arguments);
    return dict;
}

/* The index of the parameter kwname may name (not positional-only or variadic), or -1. */
static Py_ssize_t parameter_named(Memoized *self, PyObject *kwname)
{
    for (Py_ssize_t i = 0; i < self->count; i++) {
        int kind = self->kinds[i];
        if (kind != POSITIONAL_OR_KEYWORD && kind != KEYWORD_ONLY)
            continue;
        PyObject *name = PyTuple_GET_ITEM(self->names, i);
        if (name == kwname || PyUnicode_Compare(name, kwname) == 0)
            return i;
    }
    return -1;
}

/*
 * The inputs tree: {parameter: argument} for every parameter, defaults
 * applied, *args as a tuple and **kwargs as a dict, as
 * inspect.BoundArguments.apply_defaults gives them.
 */
static stash_value *bind_arguments(Memoized *self, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames, stashpy_borrowed *borrowed)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > self->positional && self->var_positional < 0)
        return bind_slowly(self, args, nargsf, kwnames, borrowed);
    PyObject *stack_slots[16];
    PyObject **slots = self->count <= 16 ? stack_slots : PyMem_Calloc((size_t)self->count,
                                                                      sizeof *slots);
    if (!slots)
        return (stash_value *)PyErr_NoMemory();
    memset(slots, 0, (size_t)self->count * sizeof *slots);
    PyObject *extra_kw = NULL, *extra_args = NULL;
    stash_value *dict = NULL;
    bool slow = false;
    for (Py_ssize_t i = 0; i < nargs && i < self->positional; i++)
        slots[i] = args[i];
    for (Py_ssize_t k = 0; k < nkw && !slow; k++) {
        PyObject *kwname = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t i = parameter_named(self, kwname);
        if (i >= 0 && !slots[i]) {
            slots[i] = args[nargs + k];
        } else if (i < 0 && self->var_keyword >= 0) {
            if ((!extra_kw && !(extra_kw = PyDict_New())) ||
                PyDict_SetItem(extra_kw, kwname, args[nargs + k]) < 0)
                goto fail;
        } else {
            slow = true; /* twice the same argument, or no such parameter: Python says how */
        }
    }
    for (Py_ssize_t i = 0; i < self->count && !slow; i++)
        if (!slots[i] && i != self->var_positional && i != self->var_keyword) {
            slots[i] = PyTuple_GET_ITEM(self->defaults, i);
            slow = slots[i] == self->empty; /* missing: Python says how */
        }
    if (slow) {
        dict = bind_slowly(self, args, nargsf, kwnames, borrowed);
        goto done;
    }
    if (stashpy_check(stash_value_new_dict(&dict)))
        goto fail;
    for (Py_ssize_t i = 0; i < self->count; i++) {
        PyObject *value = slots[i];
        if (i == self->var_positional) {
            Py_ssize_t n = nargs > self->positional ? nargs - self->positional : 0;
            value = extra_args = PyTuple_New(n);
            if (!extra_args)
                goto fail;
            for (Py_ssize_t j = 0; j < n; j++)
                PyTuple_SET_ITEM(extra_args, j, Py_NewRef(args[self->positional + j]));
        } else if (i == self->var_keyword) {
            if (!extra_kw && !(extra_kw = PyDict_New()))
                goto fail;
            value = extra_kw;
        }
        if (put_argument(self, dict, PyTuple_GET_ITEM(self->names, i), value, borrowed) < 0)
            goto fail;
    }
    goto done;
fail:
    stash_value_free(&dict);
done:
    Py_XDECREF(extra_kw);
    Py_XDECREF(extra_args);
    if (slots != stack_slots)
        PyMem_Free(slots);
    return dict;
}

/* The inputs tree from the user's key function: key(*args, **kwargs). */
static stash_value *key_inputs(Memoized *self, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames, stashpy_borrowed *borrowed)
{
    PyObject *inputs = PyObject_Vectorcall(self->key_func, args, nargsf, kwnames);
    if (!inputs)
        return NULL;
    stash_value *tree = NULL;
    if (stashpy_value_from_object(inputs, &tree, borrowed) < 0 && unstorable_raised()) {
        PyObject *what = PyUnicode_FromString("the key function's result");
        if (what)
            name_unstorable(self, what);
        Py_XDECREF(what);
    }
    Py_DECREF(inputs); /* the borrowed buffers hold what the tree points into */
    return tree;
}

/* One memoized call: what the compute callback needs, and what it made. */
typedef struct {
    Memoized *memo;
    Store *store;
    PyObject *const *args;
    size_t nargsf;
    PyObject *kwnames;
    PyThreadState *thread;     /* saved while memoise runs without the GIL, else NULL */
    PyObject *result;          /* what the function returned */
    stashpy_borrowed borrowed; /* the result's arrays, stored in place */
    bool raised;               /* a Python exception is set: it is the call's outcome */
} memo_call;

/*
 * stash_store_memoise's compute: calls the function and converts what it
 * returned with the GIL and without the handle's lock.
 */
static stash_status compute(void *ctx, const stash_value *inputs, const stash_value *meta,
                            stash_value **out)
{
    (void)inputs, (void)meta;
    memo_call *call = ctx;
    if (call->thread)
        PyEval_RestoreThread(call->thread);
    call->store->busy++;
    stashpy_lock_release(&call->store->lock);
    call->result = PyObject_Vectorcall(call->memo->func, call->args, call->nargsf, call->kwnames);
    /* Converting runs Python code (a collection's finalizers may call the store): unlocked. */
    if (!call->result) {
        call->raised = true;
    } else if (stashpy_value_from_object(call->result, out, &call->borrowed) < 0) {
        call->raised = true;
        if (unstorable_raised()) {
            PyObject *what = PyUnicode_FromString("its result");
            if (what)
                name_unstorable(call->memo, what);
            Py_XDECREF(what);
        }
    }
    stashpy_lock_acquire(&call->store->lock);
    call->store->busy--;
    if (call->thread)
        call->thread = PyEval_SaveThread();
    return call->raised ? STASH_E_INVALID : STASH_OK;
}

/* Opens the store of stash.memoize(uri) at the first call. */
static int memoized_open(Memoized *self)
{
    PyObject *store = PyObject_CallNoArgs(self->opener);
    if (!store)
        return -1;
    if (!PyObject_TypeCheck(store, &StoreType)) {
        PyErr_Format(PyExc_TypeError, "memoize: the opener gave %.100s, not a stash.Store",
                     Py_TYPE(store)->tp_name);
        Py_DECREF(store);
        return -1;
    }
    if (!self->store)
        self->store = store;
    else
        Py_DECREF(store); /* another thread opened it meanwhile */
    return 0;
}

static PyObject *memoized_call(PyObject *callable, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    Memoized *self = (Memoized *)callable;
    if (!self->store && memoized_open(self) < 0)
        return NULL;
    Store *owner = (Store *)Py_NewRef(self->store);
    memo_call call = {.memo = self, .store = owner, .args = args, .nargsf = nargsf,
                      .kwnames = kwnames};
    stashpy_borrowed borrowed = {0};
    stash_value *result = NULL;
    stash_store_memo memo = {0};
    PyObject *out = NULL;
    stash_value *inputs = self->key_func ? key_inputs(self, args, nargsf, kwnames, &borrowed)
                                         : bind_arguments(self, args, nargsf, kwnames, &borrowed);
    stash_store *store = inputs ? store_enter(owner) : NULL;
    if (store) {
        stash_status status;
        /* Without the GIL: I/O, or (none:) hashing big inputs. */
        if (stash_store_is_active(store) || borrowed_bytes(&borrowed) >= STASHPY_GIL_FREE_BYTES) {
            call.thread = PyEval_SaveThread();
            status = stash_store_memoise(store, inputs, self->meta, compute, &call, &result,
                                         &memo);
            PyEval_RestoreThread(call.thread);
        } else {
            status = stash_store_memoise(store, inputs, self->meta, compute, &call, &result,
                                         &memo);
        }
        store_leave(owner);
        self->last_hit = status == STASH_OK && memo.hit;
        if (status < 0) {
            if (!call.raised) /* the store failed, not the function */
                stashpy_raise_context(status, "memoized %R", self->func);
        } else if (memo.hit) {
            out = stashpy_value_to_object(&result, owner->gets_copy);
        } else {
            out = Py_NewRef(call.result); /* a miss gives what the function returned */
        }
    }
    Py_XDECREF(call.result);
    stash_value_free(&result);
    stash_value_free(&inputs);
    stashpy_borrowed_release(&call.borrowed);
    stashpy_borrowed_release(&borrowed);
    Py_DECREF(owner);
    return out;
}

static PyObject *memoized_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *store, *opener, *func, *key_func, *bind, *names, *kinds, *defaults, *empty, *meta;
    if (kwargs && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "_Memoized takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOOOOO!O!O!OO:_Memoized", &store, &opener, &func, &key_func,
                          &bind, &PyTuple_Type, &names, &PyTuple_Type, &kinds, &PyTuple_Type,
                          &defaults, &empty, &meta))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(kinds) != count || PyTuple_GET_SIZE(defaults) != count ||
        (store != Py_None && !PyObject_TypeCheck(store, &StoreType))) {
        PyErr_SetString(PyExc_TypeError, "_Memoized: bad arguments (use Store.memoize)");
        return NULL;
    }
    Memoized *self = (Memoized *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = memoized_call;
    self->store = store == Py_None ? NULL : Py_NewRef(store);
    self->opener = opener == Py_None ? NULL : Py_NewRef(opener);
    self->func = Py_NewRef(func);
    self->key_func = key_func == Py_None ? NULL : Py_NewRef(key_func);
    self->bind = Py_NewRef(bind);
    self->names = Py_NewRef(names);
    self->defaults = Py_NewRef(defaults);
    self->empty = Py_NewRef(empty);
    self->count = count;
    self->var_positional = self->var_keyword = -1;
    self->kinds = PyMem_Calloc((size_t)(count ? count : 1), sizeof *self->kinds);
    if (!self->kinds) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i));
        if (kind < POSITIONAL_ONLY || kind > VAR_KEYWORD ||
            !PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "_Memoized: bad parameter kinds");
            Py_DECREF(self);
            return NULL;
        }
        self->kinds[i] = (int)kind;
        if (kind <= POSITIONAL_OR_KEYWORD)
            self->positional = i + 1;
        else if (kind == VAR_POSITIONAL)
            self->var_positional = i;
        else if (kind == VAR_KEYWORD)
            self->var_keyword = i;
    }
    if (!self->store && !self->opener) {
        PyErr_SetString(PyExc_TypeError, "_Memoized needs a store or an opener");
        Py_DECREF(self);
        return NULL;
    }
    if (stashpy_value_from_object(meta, &self->meta, NULL) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int memoized_traverse(PyObject *obj, visitproc visit, void *arg)
{
    Memoized *self = (Memoized *)obj;
    Py_VISIT(self->store);
    Py_VISIT(self->opener);
    Py_VISIT(self->func);
    Py_VISIT(self->key_func);
    Py_VISIT(self->bind);
    Py_VISIT(self->names);
    Py_VISIT(self->defaults);
    Py_VISIT(self->empty);
    Py_VISIT(self->dict);
    return 0;
}

static int memoized_clear(PyObject *obj)
{
    Memoized *self = (Memoized *)obj;
    Py_CLEAR(self->store);
    Py_CLEAR(self->opener);
    Py_CLEAR(self->func);
    Py_CLEAR(self->key_func);
    Py_CLEAR(self->bind);
    Py_CLEAR(self->names);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->empty);
    Py_CLEAR(self->dict);
    return 0;
}

static void memoized_dealloc(PyObject *obj)
{
    Memoized *self = (Memoized *)obj;
    PyObject_GC_UnTrack(obj);
    if (self->weakrefs)
        PyObject_ClearWeakRefs(obj);
    memoized_clear(obj);
    stash_value_free(&self->meta);
    PyMem_Free(self->kinds);
    Py_TYPE(obj)->tp_free(obj);
}

/* A method's memoized function binds as functions do. */
static PyObject *memoized_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *memoized_last_hit(PyObject *obj, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((Memoized *)obj)->last_hit);
}

static PyObject *memoized_store(PyObject *obj, void *closure)
{
    (void)closure;
    Memoized *self = (Memoized *)obj;
    return Py_NewRef(self->store ? self->store : Py_None);
}

static PyObject *memoized_repr(PyObject *obj)
{
    Memoized *self = (Memoized *)obj;
    return PyUnicode_FromFormat("<stash memoized %R>", self->func);
}

static PyGetSetDef memoized_getset[] = {
    {"last_hit", memoized_last_hit, NULL,
     "True if the last call was served from the store (the function did not run).", NULL},
    {"store", memoized_store, NULL, "The stash.Store (None until stash.memoize opens it).", NULL},
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject MemoizedType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "stash._stash._Memoized",
    .tp_doc = "A function memoized in a stash.Store: made by Store.memoize and stash.memoize.",
    .tp_basicsize = sizeof(Memoized),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = memoized_new,
    .tp_dealloc = memoized_dealloc,
    .tp_traverse = memoized_traverse,
    .tp_clear = memoized_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Memoized, vectorcall),
    .tp_descr_get = memoized_descr_get,
    .tp_repr = memoized_repr,
    .tp_getset = memoized_getset,
    .tp_dictoffset = offsetof(Memoized, dict),
    .tp_weaklistoffset = offsetof(Memoized, weakrefs),
};

/* ---- The module's names ------------------------------------------------------ */

static PyMethodDef store_functions[] = {
    {"content_key", (PyCFunction)(void (*)(void))content_key, METH_VARARGS | METH_KEYWORDS,
     "content_key(value, meta=None)\n--\n\n"
     "The key memoise stores a result of (value, meta) under: \"xxh3-128:<32 hex>\", the\n"
     "same as the C library's stash_hash_inputs and `stash store hash` (docs/store.md)."},
    {NULL, NULL, 0, NULL},
};

int stashpy_add_store(PyObject *module)
{
    if (PyType_Ready(&StoreType) < 0 || PyType_Ready(&MemoizedType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "_Store", (PyObject *)&StoreType) < 0 ||
        PyModule_AddObjectRef(module, "_Memoized", (PyObject *)&MemoizedType) < 0)
        return -1;
    return PyModule_AddFunctions(module, store_functions);
}
