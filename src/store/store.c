/*
 * The result store's front: URIs, key rules, the none: backend, memoise,
 * and the dispatch to a backend's table (store_dir.c, store_hdf5.c,
 * store_pickle.c).
 */
#include "store/store_internal.h"

#include "value/value_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The limit in messages; the assertion keeps the two in step. */
#define STASH_STORE_KEY_MAX_TEXT "1024"
_Static_assert(STASH_STORE_KEY_MAX == 1024, "STASH_STORE_KEY_MAX_TEXT says 1024");

struct stash_store {
    const struct store_ops *ops; /* NULL for none: */
    void *impl;
};

/* ---- Keys ------------------------------------------------------------------------ */

/* What is wrong with one "/"-separated part of n bytes (NULL: nothing). */
static const char *part_fault(const char *part, size_t n)
{
    if (n == 0)
        return "a key's parts between '/' are not empty (no leading, trailing or double '/')";
    if ((n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
        return "a key's parts between '/' are not '.' or '..'";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)part[i] < 0x20 || part[i] == 0x7f)
            return "a key holds no control characters";
    return NULL;
}

/* The rule key breaks, NULL if none, and the status that says so: STASH_E_LIMIT
 * only when length is the key's one fault (store.h), so "../" x 5000 is INVALID. */
static const char *key_fault(const char *key, stash_status *status)
{
    size_t len = key ? strlen(key) : 0;
    *status = STASH_E_INVALID;
    if (len == 0)
        return "a key is not empty";
    if (!utf8_is_valid(key, len))
        return "a key is UTF-8";
    for (const char *part = key;; part++) {
        const char *end = strchr(part, '/');
        const char *fault = part_fault(part, end ? (size_t)(end - part) : strlen(part));
        if (fault)
            return fault;
        if (!end)
            break;
        part = end;
    }
    *status = len > STASH_STORE_KEY_MAX ? STASH_E_LIMIT : STASH_OK;
    return *status ? "a key is at most " STASH_STORE_KEY_MAX_TEXT " bytes" : NULL;
}

stash_status store_key_check(const char *key)
{
    stash_status status;
    key_fault(key, &status);
    return status;
}

const char *stash_store_key_rule(const char *key)
{
    stash_status status;
    return key_fault(key, &status);
}

/* ---- Opening ---------------------------------------------------------------------- */

/* The backends by URI scheme. none: has no table: it keeps nothing. A new
 * backend is one more row (docs/architecture.md). */
static const struct scheme {
    const char *prefix;
    const struct store_ops *ops;
    stash_status (*open)(const char *path, const stash_store_options *options, void **impl);
} schemes[] = {
    {"none:", NULL, NULL},
    {"dir:", &store_dir_ops, store_dir_open},
    {"hdf5:", &store_hdf5_ops, store_hdf5_open},
    {"pickle:", &store_pickle_ops, store_pickle_open},
    {"redis://", &store_redis_ops, store_redis_open},
    {"redis+unix://", &store_redis_ops, store_redis_unix_open},
};

#define SCHEME_COUNT (sizeof schemes / sizeof schemes[0])

const char *stash_store_scheme(size_t i)
{
    return i < SCHEME_COUNT ? schemes[i].prefix : NULL;
}

/*
 * The scheme uri starts with, and the path after it. A bare path is dir:,
 * but only if nothing before its first ':' could be read as a scheme: a
 * text with a ':' and no '/' before it ("hdf:x.h5", "DIR:x", " dir:x") is
 * a mistyped URI, and NULL, rather than a directory named after the typo.
 */
static const struct scheme *scheme_of(const char *uri, const char **path)
{
    for (size_t i = 0; i < SCHEME_COUNT; i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(uri, schemes[i].prefix, n) == 0) {
            *path = uri + n;
            return &schemes[i];
        }
    }
    const char *colon = strchr(uri, ':');
    if (colon && !memchr(uri, '/', (size_t)(colon - uri)))
        return NULL;
    *path = uri;
    return &schemes[1];
}

stash_status stash_store_open(const char *uri, const stash_store_options *options,
                              stash_store **out)
{
    static const unsigned known =
        STASH_STORE_DURABLE | STASH_STORE_READ_ONLY | STASH_STORE_EXCLUSIVE | STASH_STORE_COPY;
    stash_store_options defaults = {0};
    if (!options)
        options = &defaults;
    if (!uri || !out || (options->flags & ~known))
        return STASH_E_INVALID;
    const char *path;
    const struct scheme *scheme = scheme_of(uri, &path);
    if (!scheme)
        return STASH_E_INVALID; /* an unknown scheme */
    if (!scheme->ops && *path)
        return STASH_E_INVALID; /* none: names nothing */
    stash_store *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->ops = scheme->ops;
    stash_status st = scheme->open ? scheme->open(path, options, &s->impl) : STASH_OK;
    if (st != STASH_OK) {
        free(s);
        return st;
    }
    *out = s;
    return STASH_OK;
}

/* A dir: or pickle: URI whose path names nothing (not even a dangling link). */
static bool names_missing_file(const struct scheme *scheme, const char *path)
{
    struct stat about;
    bool on_disk = scheme->ops == &store_dir_ops || scheme->ops == &store_pickle_ops;
    return on_disk && lstat(path, &about) != 0 && errno == ENOENT;
}

stash_status stash_store_recover(const char *uri, bool *rolled_back)
{
    bool rolled = false;
    const char *path;
    const struct scheme *scheme = uri ? scheme_of(uri, &path) : NULL;
    stash_status st = scheme ? STASH_OK : STASH_E_INVALID;
    if (st == STASH_OK && scheme->ops == &store_hdf5_ops) {
        st = store_hdf5_recover(path, &rolled);
    } else if (st == STASH_OK && names_missing_file(scheme, path)) {
        st = STASH_E_NOT_FOUND; /* opening it to write would make an empty store */
    } else if (st == STASH_OK) {
        stash_store *s = NULL;
        st = stash_store_open(uri, NULL, &s);
        stash_status closed = stash_store_close(&s);
        st = st != STASH_OK ? st : closed;
    }
    if (rolled_back)
        *rolled_back = st == STASH_OK && rolled;
    return st;
}

stash_status stash_store_close(stash_store **store)
{
    if (!store || !*store)
        return STASH_OK;
    stash_status st = (*store)->ops ? (*store)->ops->close((*store)->impl) : STASH_OK;
    free(*store);
    *store = NULL;
    return st;
}

bool stash_store_is_active(const stash_store *store)
{
    return store && store->ops;
}

const char *stash_store_backend(const stash_store *store)
{
    return !store ? "" : store->ops ? store->ops->name : "none";
}

/* ---- Entries ---------------------------------------------------------------------- */

/* The common checks: a store, a good key; none: answers for its backend. */
static stash_status begin(const stash_store *store, const char *key, stash_status none_says)
{
    if (!store)
        return STASH_E_CLOSED;
    stash_status st = store_key_check(key);
    if (st != STASH_OK)
        return st;
    return store->ops ? STASH_OK : none_says;
}

stash_status stash_store_put(stash_store *store, const char *key, const stash_value *value)
{
    stash_status st = !store || value ? begin(store, key, STASH_E_NO_TARGET) : STASH_E_INVALID;
    return st == STASH_OK ? store->ops->put(store->impl, key, value) : st;
}

stash_status stash_store_get(stash_store *store, const char *key, stash_value **out)
{
    stash_status st = !store || out ? begin(store, key, STASH_E_NO_SOURCE) : STASH_E_INVALID;
    return st == STASH_OK ? store->ops->get(store->impl, key, out) : st;
}

stash_status stash_store_has(stash_store *store, const char *key)
{
    stash_status st = begin(store, key, STASH_E_NO_SOURCE);
    return st == STASH_OK ? store->ops->has(store->impl, key) : st;
}

stash_status stash_store_delete(stash_store *store, const char *key)
{
    stash_status st = begin(store, key, STASH_E_NO_TARGET);
    return st == STASH_OK ? store->ops->remove(store->impl, key) : st;
}

stash_status stash_store_list(stash_store *store, stash_store_list_fn fn, void *ctx)
{
    if (!store)
        return STASH_E_CLOSED;
    if (!fn)
        return STASH_E_INVALID;
    return store->ops ? store->ops->list(store->impl, fn, ctx) : STASH_E_NO_SOURCE;
}

stash_status stash_store_gc(stash_store *store, uint64_t max_bytes, stash_store_gc_stats *stats)
{
    stash_store_gc_stats ignored;
    if (!store)
        return STASH_E_CLOSED;
    if (!store->ops)
        return STASH_E_NO_TARGET;
    return store->ops->gc(store->impl, max_bytes, stats ? stats : &ignored);
}

/* ---- Memoise ---------------------------------------------------------------------- */

/* What a reader says of an entry that is there but bad (not of a failure to read it). */
static bool is_damage(stash_status st)
{
    return st == STASH_E_CORRUPT || st == STASH_E_TRUNCATED || st == STASH_E_EOF ||
           st == STASH_E_VERSION || st == STASH_E_DTYPE || st == STASH_E_UNSAFE ||
           st == STASH_E_RANGE || st == STASH_E_SHAPE;
}

/* What a store says when it cannot keep a result now, which costs memoise only the storing. */
static bool is_not_kept(stash_status st)
{
    return st == STASH_E_UNAVAILABLE || st == STASH_E_FULL || st == STASH_E_LIMIT;
}

static stash_status store_result(stash_store *store, const char *key, const stash_value *result,
                                 const stash_value *inputs, const stash_value *meta)
{
    if (store->ops->put_memo)
        return store->ops->put_memo(store->impl, key, result, inputs, meta);
    return store->ops->put(store->impl, key, result);
}

stash_status stash_store_memoise(stash_store *store, const stash_value *inputs,
                                 const stash_value *meta, stash_store_compute_fn compute,
                                 void *ctx, stash_value **result, stash_store_memo *memo)
{
    stash_store_memo m = {0};
    if (!store)
        return STASH_E_CLOSED;
    if (!inputs || !compute || !result)
        return STASH_E_INVALID;
    stash_status st = stash_hash_inputs(inputs, meta, &m.key);
    if (st != STASH_OK)
        return st;
    stash_value *v = NULL;
    if (store->ops) {
        st = store->ops->get(store->impl, m.key.text, &v);
        m.hit = st == STASH_OK;
        if (is_damage(st))
            m.damaged = st; /* recomputed and replaced below, and said so in memo */
        else if (st == STASH_E_UNAVAILABLE)
            m.not_stored = st; /* a miss; and no put to wait on after it */
        else if (st != STASH_OK && st != STASH_E_NOT_FOUND)
            return st; /* a failure to read, not a bad entry: nothing to replace */
    }
    if (!m.hit) {
        st = compute(ctx, inputs, meta, &v);
        if (st == STASH_OK && !v)
            st = STASH_E_INVALID;
        if (st == STASH_OK && store->ops && !m.not_stored) {
            st = store_result(store, m.key.text, v, inputs, meta);
            m.stored = st == STASH_OK;
            if (is_not_kept(st)) {
                m.not_stored = st;
                st = STASH_OK;
            }
        }
        if (st != STASH_OK) {
            stash_value_free(&v);
            return st;
        }
    }
    *result = v;
    if (memo)
        *memo = m;
    return STASH_OK;
}
