/*
 * dir: entries. An entry is an NCO file (docs/nco.md): object 0's pickle is
 * the entry's header dict, whose "value" holds the stored tree with each
 * array replaced by a persistent id; array i is object i's NPY array. A
 * tree without arrays still has object 0, with an empty uint8 array.
 *
 * So the store adds no container of its own: `stash nco ls` lists an entry,
 * NumPy maps its arrays, and Python's pickle reads the tree given a
 * persistent_load that returns the arrays (docs/store.md shows how).
 */
#include "nco/nco_internal.h"
#include "value/pickle_internal.h"
#include "store/store_internal.h"
#include "value/value_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_FORMAT "stash-entry"
#define ENTRY_VERSION 1

/* ---- Writing ------------------------------------------------------------------ */

struct array_list {
    const stash_value **items;
    size_t len, cap;
};

static stash_status collect_array(void *ctx, const stash_value *array)
{
    struct array_list *l = ctx;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const stash_value **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = array;
    return STASH_OK;
}

/* The header dict pickled into memory; arrays collected, not yet written. */
static stash_status pickle_header(const char *key, const stash_value *value,
                                  stash_stream **buffer, struct array_list *arrays)
{
    stash_value *format = NULL, *version = NULL, *key_value = NULL;
    stash_status st = stash_value_new_string(ENTRY_FORMAT, strlen(ENTRY_FORMAT), &format);
    if (st == STASH_OK)
        st = stash_value_new_int(ENTRY_VERSION, &version);
    if (st == STASH_OK)
        st = stash_value_new_string(key, strlen(key), &key_value);
    if (st == STASH_OK)
        st = stash_stream_open_growable(256, buffer);
    if (st == STASH_OK) {
        const char *const names[] = {"format", "version", "key", "value"};
        const stash_value *const values[] = {format, version, key_value, value};
        st = pickle_write_dict_refs(*buffer, 4, names, values, collect_array, arrays);
    }
    stash_value_free(&format);
    stash_value_free(&version);
    stash_value_free(&key_value);
    return st;
}

static stash_status write_objects(stash_stream *s, const void *pickle, size_t len,
                                  const struct array_list *arrays)
{
    static const uint64_t no_elements[1] = {0};
    stash_array_desc empty;
    const stash_array_desc *desc = &empty;
    const void *data = NULL;
    stash_status st = stash_array_desc_init(&empty, STASH_DTYPE_UINT8, 1, no_elements);
    if (st == STASH_OK && arrays->len)
        st = stash_value_get_array(arrays->items[0], &desc, &data);
    if (st == STASH_OK)
        st = nco_write_pickled(s, pickle, len, desc, data, NULL);
    for (size_t i = 1; i < arrays->len && st == STASH_OK; i++) {
        st = stash_value_get_array(arrays->items[i], &desc, &data);
        if (st == STASH_OK)
            st = stash_nco_write(s, NULL, desc, data, NULL);
    }
    return st;
}

stash_status store_entry_write_stream(stash_stream *out, const char *key,
                                      const stash_value *value)
{
    stash_stream *buffer = NULL;
    struct array_list arrays = {0};
    const void *pickle;
    size_t len;
    stash_status st = pickle_header(key, value, &buffer, &arrays);
    if (st == STASH_OK)
        st = stash_stream_memory_contents(buffer, &pickle, &len);
    if (st == STASH_OK)
        st = write_objects(out, pickle, len, &arrays);
    stash_stream_close(&buffer);
    free(arrays.items);
    return st;
}

stash_status store_entry_write(int fd, const char *key, const stash_value *value)
{
    stash_stream *file = NULL;
    stash_status st = stash_stream_open_fd(fd, "w", &file);
    if (st == STASH_OK)
        st = store_entry_write_stream(file, key, value);
    stash_status closed = file ? stash_stream_close(&file) : STASH_OK;
    return st != STASH_OK ? st : closed;
}

/* ---- Reading ------------------------------------------------------------------ */

/* The open file, kept alive by the array views into it. */
struct entry_owner {
    struct value_owner base;
    stash_nco *nco;
};

static void release_entry(struct value_owner *owner)
{
    struct entry_owner *e = (struct entry_owner *)owner;
    stash_nco_close(&e->nco);
    free(e);
}

static stash_status load_array(void *ctx, int64_t id, stash_value **out)
{
    struct entry_owner *e = ctx;
    stash_nco_info info;
    stash_nco_info_get(e->nco, &info);
    if (id < 0 || (uint64_t)id >= info.count)
        return STASH_E_CORRUPT; /* the pickle names an array the file lacks */
    stash_array_desc desc;
    const void *data;
    stash_status st = stash_nco_array(e->nco, (size_t)id, &desc, &data);
    return st == STASH_OK ? value_new_array_view(&desc, data, &e->base, out) : st;
}

static bool is_string(const stash_value *v, const char *want)
{
    const char *text;
    size_t len;
    return v && stash_value_get_string(v, &text, &len) == STASH_OK && len == strlen(want) &&
           memcmp(text, want, len) == 0;
}

/*
 * Checks the header dict and takes its value out of it. An entry names its
 * own key, so a file copied or renamed under another key's name is refused
 * rather than returned as that key's value.
 */
static stash_status unwrap(stash_value *header, const char *key, stash_value **value)
{
    const stash_value *version = stash_value_dict_get(header, "version");
    const stash_value *v = stash_value_dict_get(header, "value");
    int64_t number;
    if (!is_string(stash_value_dict_get(header, "format"), ENTRY_FORMAT) || !v || !version ||
        stash_value_get_int(version, &number) != STASH_OK)
        return STASH_E_CORRUPT;
    if (number != ENTRY_VERSION)
        return STASH_E_VERSION;
    if (key && !is_string(stash_value_dict_get(header, "key"), key))
        return STASH_E_CORRUPT;
    stash_value *mine = (stash_value *)v;
    value_retain(mine);
    *value = mine;
    return STASH_OK;
}

static stash_status read_header(struct entry_owner *e, const char *key, stash_value **value)
{
    stash_nco_info info;
    const void *pickle;
    size_t len;
    stash_status st = stash_nco_info_get(e->nco, &info);
    if (st == STASH_OK && (info.count == 0 || info.tail_status != STASH_OK || info.tail_bytes))
        st = STASH_E_CORRUPT; /* published whole, so anything past the chain is damage */
    if (st == STASH_OK)
        st = stash_nco_meta_bytes(e->nco, 0, &pickle, &len);
    /* Arrays are views: their bytes cost nothing, so only the node count is bounded. */
    stash_pickle_limits limits = {STASH_PICKLE_DEFAULT_MAX_NODES, UINT64_MAX};
    stash_value *header = NULL;
    if (st == STASH_OK)
        st = pickle_read_refs(pickle, len, &limits, load_array, e, &header, NULL);
    if (st == STASH_OK)
        st = stash_value_kind_of(header) == STASH_VALUE_DICT ? unwrap(header, key, value)
                                                             : STASH_E_CORRUPT;
    stash_value_free(&header);
    /* Out of the header and held by no one else, the tree is the caller's to change
     * (a small int or None the reader shared becomes a node of the caller's). */
    if (st == STASH_OK)
        st = value_unshare(value);
    if (st == STASH_OK && (*value)->refs == 1)
        (*value)->frozen = false;
    return st;
}

/*
 * Small entries (most memoised results) cost one read: the first
 * SMALL_ENTRY_BYTES come in with one pread, and a file that ends within them
 * needs nothing more. Larger ones are mapped, so their arrays are views of
 * the page cache.
 */

static stash_status open_entry(int fd, const char *path, stash_nco **nco)
{
    unsigned char first[SMALL_ENTRY_BYTES];
    ssize_t got = pread(fd, first, sizeof first, 0);
    if (got < 0)
        return -errno;
    if ((size_t)got == sizeof first)
        return nco_open_fd(fd, path, STASH_NCO_NO_INDEX | NCO_READ_SMALL, nco);
    void *copy = malloc(got ? (size_t)got : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, first, (size_t)got);
    return nco_open_heap(copy, (size_t)got, nco);
}

stash_status store_entry_decode(stash_nco *nco, const char *key, stash_value **value)
{
    struct entry_owner *e = calloc(1, sizeof *e);
    if (!e) {
        stash_nco_close(&nco);
        return -ENOMEM;
    }
    e->base.release = release_entry;
    atomic_init(&e->base.refs, 1);
    e->nco = nco;
    stash_status st = read_header(e, key, value);
    value_owner_release(&e->base); /* the views, if any, keep it open */
    return st;
}

stash_status store_entry_read(int fd, const char *path, const char *key, stash_value **value)
{
    stash_nco *nco = NULL;
    stash_status st = open_entry(fd, path, &nco);
    return st == STASH_OK ? store_entry_decode(nco, key, value) : st;
}
