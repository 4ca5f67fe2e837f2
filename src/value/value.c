/*
 * The value tree: nodes, containers, and the dict's insertion-ordered index.
 *
 * Dicts keep their entries in an array in insertion order. Small dicts are
 * searched linearly; from DICT_INDEX_MIN entries on, an open-addressing table
 * of entry indices makes lookups constant time, so building a dict of n keys
 * (a pickle's SETITEMS, a JSON object) costs O(n), not O(n^2).
 */
#include "value/value_internal.h"

#include "array/array_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DICT_INDEX_MIN 16

static const char *const kind_names[] = {
    [STASH_VALUE_NULL] = "null",     [STASH_VALUE_BOOL] = "bool",   [STASH_VALUE_INT] = "int",
    [STASH_VALUE_FLOAT] = "float",   [STASH_VALUE_STRING] = "string",
    [STASH_VALUE_BYTES] = "bytes",   [STASH_VALUE_ARRAY] = "array", [STASH_VALUE_LIST] = "list",
    [STASH_VALUE_TUPLE] = "tuple",   [STASH_VALUE_DICT] = "dict",
};

const char *stash_value_kind_name(stash_value_kind kind)
{
    if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0])
        return "unknown";
    return kind_names[kind];
}

/* A node with extra bytes after it (a blob's data lives there: one allocation, not two). */
static stash_status value_alloc_with(stash_value_kind kind, size_t extra, stash_value **out)
{
    if (!out)
        return STASH_E_INVALID;
    stash_value *v = malloc(sizeof *v + extra);
    if (v)
        memset(v, 0, sizeof *v);
    if (!v)
        return -ENOMEM;
    v->kind = kind;
    v->refs = 1;
    v->expanded_nodes = 1;
    bool container = kind == STASH_VALUE_LIST || kind == STASH_VALUE_TUPLE ||
                     kind == STASH_VALUE_DICT || kind == VALUE_KIND_ARGS;
    v->depth = container ? 1 : 0;
    *out = v;
    return STASH_OK;
}

static stash_status value_alloc(stash_value_kind kind, stash_value **out)
{
    return value_alloc_with(kind, 0, out);
}

stash_status value_new_constructor(int64_t which, stash_value **out)
{
    stash_status st = value_alloc(VALUE_KIND_CONSTRUCTOR, out);
    if (st == STASH_OK)
        (*out)->u.i = which;
    return st;
}

stash_status value_new_args(stash_value **out)
{
    return value_alloc(VALUE_KIND_ARGS, out);
}

/* A node's own item slots, right after it (value_new_seq_sized). */
static stash_value **trailing_items(stash_value *v)
{
    return (stash_value **)(v + 1);
}

stash_status value_new_seq_sized(stash_value_kind kind, size_t n, stash_value **out)
{
    if (n > (SIZE_MAX - sizeof(stash_value)) / sizeof(stash_value *))
        return -ENOMEM;
    stash_status st = value_alloc_with(kind, n * sizeof(stash_value *), out);
    if (st == STASH_OK && n) {
        (*out)->u.seq.items = trailing_items(*out);
        (*out)->u.seq.cap = n;
    }
    return st;
}

void value_become(stash_value *node, stash_value **from)
{
    /* Not for strings and bytes, whose bytes follow their node and would stay behind. */
    uint32_t refs = node->refs;
    bool frozen = node->frozen;
    *node = **from;
    node->refs = refs;
    node->frozen = frozen;
    free(*from); /* its contents are node's now */
    *from = NULL;
}

stash_status stash_value_new_null(stash_value **out)
{
    return value_alloc(STASH_VALUE_NULL, out);
}

stash_status stash_value_new_bool(bool b, stash_value **out)
{
    stash_status st = value_alloc(STASH_VALUE_BOOL, out);
    if (st == STASH_OK)
        (*out)->u.b = b;
    return st;
}

stash_status stash_value_new_int(int64_t i, stash_value **out)
{
    stash_status st = value_alloc(STASH_VALUE_INT, out);
    if (st == STASH_OK)
        (*out)->u.i = i;
    return st;
}

stash_status stash_value_new_float(double f, stash_value **out)
{
    stash_status st = value_alloc(STASH_VALUE_FLOAT, out);
    if (st == STASH_OK)
        (*out)->u.f = f;
    return st;
}

static stash_status value_new_blob(stash_value_kind kind, const void *data, size_t len,
                                   stash_value **out)
{
    if ((!data && len) || len >= SIZE_MAX - sizeof(stash_value))
        return STASH_E_INVALID;
    stash_status st = value_alloc_with(kind, len + 1, out);
    if (st != STASH_OK)
        return st;
    char *copy = (char *)(*out + 1); /* the bytes follow the node, freed with it */
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    (*out)->u.blob.data = copy;
    (*out)->u.blob.len = len;
    (*out)->expanded_bytes = len;
    return STASH_OK;
}

stash_status value_new_string_unchecked(const char *utf8, size_t len, stash_value **out)
{
    return value_new_blob(STASH_VALUE_STRING, utf8, len, out);
}

stash_status stash_value_new_string(const char *utf8, size_t len, stash_value **out)
{
    if ((!utf8 && len) || !utf8_is_valid(utf8, len))
        return STASH_E_INVALID;
    return value_new_blob(STASH_VALUE_STRING, utf8, len, out);
}

stash_status stash_value_new_bytes(const void *data, size_t len, stash_value **out)
{
    return value_new_blob(STASH_VALUE_BYTES, data, len, out);
}

stash_status value_new_array_uninit(const stash_array_desc *desc, stash_value **out, void **data)
{
    uint64_t nbytes;
    stash_status st = stash_array_nbytes(desc, &nbytes);
    if (st != STASH_OK)
        return st;
    if (nbytes > SIZE_MAX - sizeof(stash_array_desc))
        return STASH_E_RANGE;
    /* sizeof(stash_array_desc) is a multiple of 16, so the data stays aligned. */
    _Static_assert(sizeof(stash_array_desc) % 16 == 0, "array data alignment");
    stash_array_desc *block = malloc(sizeof *block + (size_t)nbytes);
    if (!block)
        return -ENOMEM;
    st = value_alloc(STASH_VALUE_ARRAY, out);
    if (st != STASH_OK) {
        free(block);
        return st;
    }
    *block = *desc;
    (*out)->u.array.desc = block;
    (*out)->u.array.data = block + 1;
    (*out)->u.array.nbytes = (size_t)nbytes;
    (*out)->expanded_bytes = (uint64_t)nbytes;
    *data = block + 1;
    return STASH_OK;
}

stash_status stash_value_new_array(const stash_array_desc *desc, const void *data,
                                   stash_value **out)
{
    uint64_t nbytes;
    stash_status st = stash_array_nbytes(desc, &nbytes);
    if (st != STASH_OK)
        return st;
    if (!data && nbytes)
        return STASH_E_INVALID;
    void *copy;
    st = value_new_array_uninit(desc, out, &copy);
    if (st == STASH_OK && nbytes)
        memcpy(copy, data, (size_t)nbytes);
    return st;
}

stash_status value_new_array_view(const stash_array_desc *desc, const void *data,
                                  struct value_owner *owner, stash_value **out)
{
    uint64_t nbytes;
    stash_status st = stash_array_nbytes(desc, &nbytes);
    if (st != STASH_OK)
        return st;
    stash_array_desc *copy = malloc(sizeof *copy);
    if (!copy)
        return -ENOMEM;
    st = value_alloc(STASH_VALUE_ARRAY, out);
    if (st != STASH_OK) {
        free(copy);
        return st;
    }
    *copy = *desc;
    if (owner)
        atomic_fetch_add_explicit(&owner->refs, 1, memory_order_relaxed);
    (*out)->u.array.desc = copy;
    (*out)->u.array.data = (void *)data;
    (*out)->u.array.nbytes = (size_t)nbytes;
    (*out)->u.array.owner = owner;
    (*out)->expanded_bytes = nbytes;
    return STASH_OK;
}

stash_status stash_value_new_array_borrowed(const stash_array_desc *desc, const void *data,
                                            stash_value **out)
{
    uint64_t nbytes;
    if (!desc || !out)
        return STASH_E_INVALID;
    stash_status st = stash_array_nbytes(desc, &nbytes);
    if (st != STASH_OK)
        return st;
    if (!data && nbytes)
        return STASH_E_INVALID;
    return value_new_array_view(desc, data, NULL, out); /* no owner: the caller keeps data */
}

void value_owner_release(struct value_owner *owner)
{
    if (owner && atomic_fetch_sub_explicit(&owner->refs, 1, memory_order_acq_rel) == 1)
        owner->release(owner);
}

stash_status stash_value_new_list(stash_value **out)
{
    return value_alloc(STASH_VALUE_LIST, out);
}

stash_status stash_value_new_tuple(stash_value **out)
{
    return value_alloc(STASH_VALUE_TUPLE, out);
}

stash_status stash_value_new_dict(stash_value **out)
{
    return value_alloc(STASH_VALUE_DICT, out);
}

/* ---- Shared scalars ---------------------------------------------------------- */

/*
 * None, True, False and the ints -1 to 255, one node each for every reader:
 * the pickle reader pushes them for the NONE, NEWTRUE, NEWFALSE and small
 * int opcodes (a NumPy dtype state holds eight of them) instead of
 * allocating. They are frozen from the start and never counted or freed, so
 * threads share them without writing to them.
 */
#define SHARED_REFS UINT32_MAX
#define SHARED_INT_MIN (-1)
#define SHARED_INT_MAX 255

static stash_value shared_null, shared_bool[2], shared_int[SHARED_INT_MAX - SHARED_INT_MIN + 1];
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_node(stash_value *v, stash_value_kind kind)
{
    v->kind = kind;
    v->refs = SHARED_REFS;
    v->frozen = true;
    v->expanded_nodes = 1;
}

static void shared_init(void)
{
    shared_node(&shared_null, STASH_VALUE_NULL);
    for (int b = 0; b < 2; b++) {
        shared_node(&shared_bool[b], STASH_VALUE_BOOL);
        shared_bool[b].u.b = b;
    }
    for (int64_t i = SHARED_INT_MIN; i <= SHARED_INT_MAX; i++) {
        shared_node(&shared_int[i - SHARED_INT_MIN], STASH_VALUE_INT);
        shared_int[i - SHARED_INT_MIN].u.i = i;
    }
}

stash_value *value_shared_scalar(stash_value_kind kind, int64_t i)
{
    pthread_once(&shared_once, shared_init);
    if (kind == STASH_VALUE_NULL)
        return &shared_null;
    if (kind == STASH_VALUE_BOOL)
        return &shared_bool[i != 0];
    if (kind == STASH_VALUE_INT && i >= SHARED_INT_MIN && i <= SHARED_INT_MAX)
        return &shared_int[i - SHARED_INT_MIN];
    return NULL;
}

bool value_is_shared(const stash_value *v)
{
    return v->refs == SHARED_REFS;
}

stash_status value_unshare(stash_value **v)
{
    stash_value *shared = *v;
    if (!value_is_shared(shared))
        return STASH_OK;
    *v = NULL;
    if (shared->kind == STASH_VALUE_NULL)
        return stash_value_new_null(v);
    if (shared->kind == STASH_VALUE_BOOL)
        return stash_value_new_bool(shared->u.b, v);
    return stash_value_new_int(shared->u.i, v);
}

void value_retain(stash_value *v)
{
    if (v->refs != SHARED_REFS)
        v->refs++;
}

static void value_release(stash_value *v);

static void value_destroy(stash_value *v)
{
    /* An argument tuple (value_internal.h) holds its items as a tuple does. */
    switch (v->kind == VALUE_KIND_ARGS ? STASH_VALUE_TUPLE : v->kind) {
    case STASH_VALUE_ARRAY:
        free(v->u.array.desc);
        value_owner_release(v->u.array.owner);
        break;
    case STASH_VALUE_LIST:
    case STASH_VALUE_TUPLE:
        for (size_t i = 0; i < v->u.seq.len; i++)
            value_release(v->u.seq.items[i]);
        if (v->u.seq.items != trailing_items(v))
            free(v->u.seq.items);
        break;
    case STASH_VALUE_DICT:
        for (size_t i = 0; i < v->u.dict.len; i++) {
            free(v->u.dict.entries[i].key);
            value_release(v->u.dict.entries[i].value);
        }
        free(v->u.dict.entries);
        free(v->u.dict.slots);
        break;
    default:
        break;
    }
    free(v);
}

/* Recursion is bounded by STASH_VALUE_MAX_DEPTH. */
static void value_release(stash_value *v)
{
    if (v && v->refs != SHARED_REFS && --v->refs == 0)
        value_destroy(v);
}

void stash_value_free(stash_value **v)
{
    if (!v || !*v)
        return;
    value_release(*v);
    *v = NULL;
}

/* ---- Adding to containers ---------------------------------------------------- */

static bool is_seq(const stash_value *v)
{
    return v && (v->kind == STASH_VALUE_LIST || v->kind == STASH_VALUE_TUPLE ||
                 v->kind == VALUE_KIND_ARGS);
}

/* Checks that item may join container, before anything changes. */
static stash_status check_adoption(const stash_value *container, const stash_value *item)
{
    /* Reader-only nodes: a constructor goes into call arguments only. */
    if (item->kind == VALUE_KIND_ARGS ||
        (item->kind == VALUE_KIND_CONSTRUCTOR && container->kind != VALUE_KIND_ARGS))
        return STASH_E_UNSAFE;
    if (container->frozen || container == item)
        return STASH_E_UNSUPPORTED;
    if (item->depth + 1 > STASH_VALUE_MAX_DEPTH)
        return STASH_E_LIMIT;
    return STASH_OK;
}

/* Saturating, so a shared node expanding past 2^64 still compares as huge. */
static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void account_child(stash_value *container, stash_value *item, size_t key_len)
{
    if (!item->frozen) /* shared scalars are frozen already, and never written */
        item->frozen = true;
    if (item->depth + 1 > container->depth)
        container->depth = item->depth + 1;
    container->expanded_nodes = add_saturating(container->expanded_nodes, item->expanded_nodes);
    container->expanded_bytes = add_saturating(container->expanded_bytes, item->expanded_bytes);
    container->expanded_bytes = add_saturating(container->expanded_bytes, key_len);
}

static stash_status grow(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return STASH_OK;
    size_t new_cap = *cap ? *cap * 2 : 4;
    if (new_cap < need)
        new_cap = need;
    if (new_cap > SIZE_MAX / elem)
        return -ENOMEM;
    void *p = realloc(*array, new_cap * elem);
    if (!p)
        return -ENOMEM;
    *array = p;
    *cap = new_cap;
    return STASH_OK;
}

stash_status value_adopt(stash_value *container, stash_value *item)
{
    if (!is_seq(container) || !item)
        return STASH_E_INVALID;
    stash_status st = check_adoption(container, item);
    if (st == STASH_OK && container->u.seq.items == trailing_items(container) &&
        container->u.seq.len == container->u.seq.cap) {
        /* Outgrowing the slots it was made with: move the items to the heap. */
        stash_value **heap = malloc(2 * container->u.seq.cap * sizeof *heap);
        if (!heap)
            return -ENOMEM;
        memcpy(heap, container->u.seq.items, container->u.seq.len * sizeof *heap);
        container->u.seq.items = heap;
        container->u.seq.cap *= 2;
    }
    if (st == STASH_OK)
        st = grow((void **)&container->u.seq.items, &container->u.seq.cap,
                  container->u.seq.len + 1, sizeof(stash_value *));
    if (st != STASH_OK)
        return st;
    container->u.seq.items[container->u.seq.len++] = item;
    account_child(container, item, 0);
    return STASH_OK;
}

stash_status stash_value_append(stash_value *container, stash_value *item)
{
    if (item && item->frozen)
        return STASH_E_INVALID;
    return value_adopt(container, item);
}

/* ---- The dict index -------------------------------------------------------- */

/* FNV-1a: keys are short, and this needs no state. */
static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static bool key_equal(const struct value_entry *e, const char *key, size_t len)
{
    return e->key_len == len && memcmp(e->key, key, len) == 0;
}

/* The slot for key: where it is, or the empty slot where it would go. */
static size_t slot_find(const stash_value *d, const char *key, size_t len)
{
    size_t mask = d->u.dict.slot_count - 1;
    size_t i = (size_t)key_hash(key, len) & mask;
    while (d->u.dict.slots[i] &&
           !key_equal(&d->u.dict.entries[d->u.dict.slots[i] - 1], key, len))
        i = (i + 1) & mask;
    return i;
}

/* Rebuilds the table with room for twice the entries (load <= 1/2). */
static stash_status dict_reindex(stash_value *d, size_t entries)
{
    size_t count = 32;
    while (count < entries * 2)
        count *= 2;
    if (entries > UINT32_MAX - 1)
        return -ENOMEM;
    uint32_t *slots = calloc(count, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    free(d->u.dict.slots);
    d->u.dict.slots = slots;
    d->u.dict.slot_count = count;
    for (size_t e = 0; e < d->u.dict.len; e++) {
        const struct value_entry *entry = &d->u.dict.entries[e];
        d->u.dict.slots[slot_find(d, entry->key, entry->key_len)] = (uint32_t)(e + 1);
    }
    return STASH_OK;
}

static struct value_entry *dict_lookup(const stash_value *d, const char *key, size_t len)
{
    if (d->u.dict.slots) {
        uint32_t slot = d->u.dict.slots[slot_find(d, key, len)];
        return slot ? &d->u.dict.entries[slot - 1] : NULL;
    }
    for (size_t i = 0; i < d->u.dict.len; i++)
        if (key_equal(&d->u.dict.entries[i], key, len))
            return &d->u.dict.entries[i];
    return NULL;
}

/* Makes room for one more entry, index included, before anything changes. */
static stash_status dict_reserve(stash_value *d)
{
    size_t need = d->u.dict.len + 1;
    stash_status st = grow((void **)&d->u.dict.entries, &d->u.dict.cap, need,
                           sizeof(struct value_entry));
    if (st == STASH_OK && need >= DICT_INDEX_MIN && need * 2 > d->u.dict.slot_count)
        st = dict_reindex(d, need);
    return st;
}

static stash_status dict_replace(stash_value *d, struct value_entry *e, stash_value *item)
{
    /* The old value's cost leaves the totals (depth stays a safe upper bound). */
    d->expanded_nodes -= e->value->expanded_nodes < d->expanded_nodes ? e->value->expanded_nodes : 0;
    d->expanded_bytes -= e->value->expanded_bytes < d->expanded_bytes ? e->value->expanded_bytes : 0;
    value_release(e->value);
    e->value = item;
    account_child(d, item, 0);
    return STASH_OK;
}

stash_status value_dict_adopt(stash_value *d, const char *key, size_t key_len, stash_value *item)
{
    if (!d || d->kind != STASH_VALUE_DICT || !item || (!key && key_len))
        return STASH_E_INVALID;
    stash_status st = check_adoption(d, item);
    if (st != STASH_OK)
        return st;
    struct value_entry *existing = dict_lookup(d, key, key_len);
    if (existing)
        return dict_replace(d, existing, item);
    char *copy = malloc(key_len + 1);
    if (!copy)
        return -ENOMEM;
    st = dict_reserve(d);
    if (st != STASH_OK) {
        free(copy);
        return st;
    }
    if (key_len)
        memcpy(copy, key, key_len);
    copy[key_len] = '\0';
    size_t index = d->u.dict.len++;
    d->u.dict.entries[index] = (struct value_entry){copy, key_len, item};
    if (d->u.dict.slots)
        d->u.dict.slots[slot_find(d, copy, key_len)] = (uint32_t)(index + 1);
    account_child(d, item, key_len);
    return STASH_OK;
}

stash_status stash_value_dict_set(stash_value *dict, const char *key, stash_value *item)
{
    if (!key || (item && item->frozen))
        return STASH_E_INVALID;
    size_t len = strlen(key);
    if (!utf8_is_valid(key, len))
        return STASH_E_INVALID;
    return value_dict_adopt(dict, key, len, item);
}

/* ---- Reading ----------------------------------------------------------------- */

stash_value_kind stash_value_kind_of(const stash_value *v)
{
    return v ? v->kind : STASH_VALUE_NULL;
}

static stash_status expect(const stash_value *v, stash_value_kind kind, const void *out)
{
    return v && v->kind == kind && out ? STASH_OK : STASH_E_INVALID;
}

stash_status stash_value_get_bool(const stash_value *v, bool *out)
{
    stash_status st = expect(v, STASH_VALUE_BOOL, out);
    if (st == STASH_OK)
        *out = v->u.b;
    return st;
}

stash_status stash_value_get_int(const stash_value *v, int64_t *out)
{
    stash_status st = expect(v, STASH_VALUE_INT, out);
    if (st == STASH_OK)
        *out = v->u.i;
    return st;
}

stash_status stash_value_get_float(const stash_value *v, double *out)
{
    stash_status st = expect(v, STASH_VALUE_FLOAT, out);
    if (st == STASH_OK)
        *out = v->u.f;
    return st;
}

stash_status stash_value_get_string(const stash_value *v, const char **utf8, size_t *len)
{
    stash_status st = expect(v, STASH_VALUE_STRING, utf8);
    if (st == STASH_OK) {
        *utf8 = v->u.blob.data;
        if (len)
            *len = v->u.blob.len;
    }
    return st;
}

stash_status stash_value_get_bytes(const stash_value *v, const void **data, size_t *len)
{
    stash_status st = expect(v, STASH_VALUE_BYTES, data);
    if (st == STASH_OK) {
        *data = v->u.blob.data;
        if (len)
            *len = v->u.blob.len;
    }
    return st;
}

stash_status stash_value_get_array(const stash_value *v, const stash_array_desc **desc,
                                   const void **data)
{
    stash_status st = expect(v, STASH_VALUE_ARRAY, desc);
    if (st == STASH_OK && !data)
        st = STASH_E_INVALID;
    if (st == STASH_OK) {
        *desc = v->u.array.desc;
        *data = v->u.array.data;
    }
    return st;
}

size_t stash_value_length(const stash_value *v)
{
    if (is_seq(v))
        return v->u.seq.len;
    if (v && v->kind == STASH_VALUE_DICT)
        return v->u.dict.len;
    return 0;
}

const stash_value *stash_value_item(const stash_value *v, size_t i)
{
    if (i >= stash_value_length(v))
        return NULL;
    return is_seq(v) ? v->u.seq.items[i] : v->u.dict.entries[i].value;
}

const stash_value *stash_value_dict_get(const stash_value *dict, const char *key)
{
    if (!dict || dict->kind != STASH_VALUE_DICT || !key)
        return NULL;
    const struct value_entry *e = dict_lookup(dict, key, strlen(key));
    return e ? e->value : NULL;
}

stash_status stash_value_dict_key(const stash_value *dict, size_t i, const char **key,
                                  size_t *key_len)
{
    if (!dict || dict->kind != STASH_VALUE_DICT || !key || i >= dict->u.dict.len)
        return STASH_E_INVALID;
    *key = dict->u.dict.entries[i].key;
    if (key_len)
        *key_len = dict->u.dict.entries[i].key_len;
    return STASH_OK;
}

static bool float_equal(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Equal elements, whatever the memory layout or byte order of either. */
static bool array_equal(const stash_value *a, const stash_value *b)
{
    const stash_array_desc *x = a->u.array.desc, *y = b->u.array.desc;
    if (x->dtype != y->dtype || x->ndim != y->ndim || a->u.array.nbytes != b->u.array.nbytes)
        return false;
    for (unsigned d = 0; d < x->ndim; d++)
        if (x->shape[d] != y->shape[d])
            return false;
    bool same_order = stash_dtype_size(x->dtype) == 1 || x->byte_order == y->byte_order;
    bool same_layout = x->order == y->order || stash_array_layout_is_trivial(x);
    if (same_order && same_layout)
        return memcmp(a->u.array.data, b->u.array.data, a->u.array.nbytes) == 0;
    void *p = NULL, *q = NULL;
    bool equal = array_copy_c_order(x, a->u.array.data, STASH_LITTLE_ENDIAN, &p) == STASH_OK &&
                 array_copy_c_order(y, b->u.array.data, STASH_LITTLE_ENDIAN, &q) == STASH_OK &&
                 memcmp(p, q, a->u.array.nbytes) == 0;
    free(p);
    free(q);
    return equal;
}

bool stash_value_equal(const stash_value *a, const stash_value *b)
{
    if (!a || !b || a->kind != b->kind)
        return a == b;
    switch (a->kind) {
    case STASH_VALUE_NULL:
        return true;
    case STASH_VALUE_BOOL:
        return a->u.b == b->u.b;
    case STASH_VALUE_INT:
        return a->u.i == b->u.i;
    case STASH_VALUE_FLOAT:
        return float_equal(a->u.f, b->u.f);
    case STASH_VALUE_STRING:
    case STASH_VALUE_BYTES:
        return a->u.blob.len == b->u.blob.len &&
               memcmp(a->u.blob.data, b->u.blob.data, a->u.blob.len) == 0;
    case STASH_VALUE_ARRAY:
        return array_equal(a, b);
    case STASH_VALUE_LIST:
    case STASH_VALUE_TUPLE:
        if (a->u.seq.len != b->u.seq.len)
            return false;
        for (size_t i = 0; i < a->u.seq.len; i++)
            if (!stash_value_equal(a->u.seq.items[i], b->u.seq.items[i]))
                return false;
        return true;
    case STASH_VALUE_DICT:
        /* As Python's ==: the same keys and values, in any order. */
        if (a->u.dict.len != b->u.dict.len)
            return false;
        for (size_t i = 0; i < a->u.dict.len; i++) {
            const struct value_entry *x = &a->u.dict.entries[i];
            const struct value_entry *y = dict_lookup(b, x->key, x->key_len);
            if (!y || !stash_value_equal(x->value, y->value))
                return false;
        }
        return true;
    }
    return false;
}
