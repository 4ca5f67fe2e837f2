/*
 * Reading HDF5 objects as value trees: what stash, h5py and corelay write
 * (the layout is in hdf5_value.h). The file is untrusted: only hard links
 * are followed (an external link would open another file), nesting is
 * bounded (HDF5 allows any depth), and every dataset's size is checked
 * against what the file holds before memory is allocated for it, with a
 * budget for the whole tree so shared datasets cannot multiply it. Groups
 * inside a value may not be shared at all (read_object says why).
 */
#include "store/store_hdf5_types.h"
#include "store/store_hdf5_value.h"

#include "value/value_internal.h"

#include <stash/pickle.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>


struct reader {
    uint64_t nodes;
    uint64_t bytes_left; /* the file's size, plus the pickle reader's byte limit as slack for
                          * decompression: one limit for every value reader */
};

static stash_status read_object(struct reader *r, hid_t loc, const char *name, unsigned depth,
                                bool tuple_if_numbered, stash_value **out);

/* ---- The type attribute ------------------------------------------------------------- */

/* One string: an attribute of more elements would be read past the buffer. */
static bool scalar_string(hid_t a, hid_t t)
{
    hid_t space = H5Aget_space(a);
    bool ok = space >= 0 && H5Sget_simple_extent_type(space) == H5S_SCALAR && t >= 0 &&
              H5Tget_class(t) == H5T_STRING;
    if (space >= 0)
        H5Sclose(space);
    return ok;
}

/* The "stash:type" word into buf ("" if absent). */
static stash_status type_word(hid_t obj, char *buf, size_t cap)
{
    buf[0] = '\0';
    htri_t has = H5Aexists(obj, H5V_TYPE_ATTRIBUTE);
    if (has <= 0)
        return has == 0 ? STASH_OK : STASH_E_CORRUPT;
    hid_t a = H5Aopen(obj, H5V_TYPE_ATTRIBUTE, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    stash_status st = a >= 0 && scalar_string(a, t) ? STASH_OK : STASH_E_CORRUPT;
    if (st == STASH_OK && H5Tis_variable_str(t) > 0) {
        char *text = NULL;
        hid_t mem = H5Tcopy(t);
        if (mem < 0 || H5Aread(a, mem, &text) < 0 || !text)
            st = STASH_E_CORRUPT;
        else
            snprintf(buf, cap, "%s", text);
        H5free_memory(text);
        if (mem >= 0)
            H5Tclose(mem);
    } else if (st == STASH_OK) {
        size_t size = H5Tget_size(t);
        if (size >= cap || H5Aread(a, t, buf) < 0)
            st = STASH_E_CORRUPT;
        else
            buf[size] = '\0';
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return st;
}

/* ---- Datasets ------------------------------------------------------------------------ */

static stash_status spend(struct reader *r, uint64_t bytes)
{
    if (bytes > r->bytes_left)
        return STASH_E_LIMIT;
    r->bytes_left -= bytes;
    return STASH_OK;
}

static stash_status read_string(struct reader *r, hid_t ds, hid_t type, stash_value **out)
{
    bool utf8 = H5Tget_cset(type) == H5T_CSET_UTF8;
    char *text = NULL;
    size_t len = 0;
    stash_status st = STASH_OK;
    if (H5Tis_variable_str(type) > 0) {
        hid_t mem = H5Tcopy(type);
        if (mem < 0 || H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0)
            st = STASH_E_CORRUPT;
        if (mem >= 0)
            H5Tclose(mem);
        len = text ? strlen(text) : 0;
        if (st == STASH_OK)
            st = spend(r, len);
        if (st == STASH_OK)
            st = utf8 ? stash_value_new_string(text ? text : "", len, out)
                      : stash_value_new_bytes(text, len, out);
        H5free_memory(text);
        return st == STASH_E_INVALID ? STASH_E_CORRUPT : st;
    }
    size_t size = H5Tget_size(type);
    st = spend(r, size);
    char *fixed = st == STASH_OK ? calloc(1, size + 1) : NULL;
    if (st == STASH_OK && !fixed)
        st = -ENOMEM;
    if (st == STASH_OK && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed) < 0)
        st = STASH_E_CORRUPT;
    if (st == STASH_OK) {
        len = strnlen(fixed, size); /* NUL-padded or NUL-terminated */
        st = utf8 ? stash_value_new_string(fixed, len, out) : stash_value_new_bytes(fixed, len, out);
    }
    free(fixed);
    return st == STASH_E_INVALID ? STASH_E_CORRUPT : st;
}

/*
 * Every chunk of a filtered dataset must be written. A chunk never written
 * reads as fill values, which cost no bytes in the file but memory and time
 * to read: HDF5 visits each, so 4 Mi never-written 16-element chunks in a
 * 2 KiB file took 21 s and 512 MiB. Written chunks each take file space, so
 * the work is bounded by the file's size.
 */
static stash_status check_chunks(hid_t ds, hid_t dcpl)
{
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], written = 0, total = 1;
    hid_t space = H5Dget_space(ds); /* all of it selected */
    int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    bool ok = rank >= 0 && H5Pget_chunk(dcpl, rank, chunk) == rank &&
              H5Dget_num_chunks(ds, space, &written) >= 0;
    if (space >= 0)
        H5Sclose(space);
    if (!ok)
        return STASH_E_CORRUPT;
    for (int i = 0; i < rank; i++) {
        if (chunk[i] == 0)
            return STASH_E_CORRUPT;
        hsize_t across = dims[i] / chunk[i] + (dims[i] % chunk[i] != 0);
        total = across && total > UINT64_MAX / across ? UINT64_MAX : total * across;
    }
    return written < total ? STASH_E_TRUNCATED : STASH_OK;
}

/*
 * A dataset whose bytes the file does not hold is refused before allocating:
 * unfiltered, its storage must be its size; filtered, every chunk written.
 */
static stash_status check_storage(struct reader *r, hid_t ds, uint64_t nbytes)
{
    hid_t dcpl = H5Dget_create_plist(ds);
    int filters = dcpl >= 0 ? H5Pget_nfilters(dcpl) : -1;
    stash_status st = filters < 0 ? STASH_E_CORRUPT : STASH_OK;
    if (st == STASH_OK && filters == 0 && H5Dget_storage_size(ds) < nbytes)
        st = STASH_E_TRUNCATED;
    if (st == STASH_OK)
        st = spend(r, nbytes);
    if (st == STASH_OK && filters > 0 && nbytes > 0)
        st = check_chunks(ds, dcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

static stash_status read_array(struct reader *r, hid_t ds, hid_t type, hid_t space,
                               const char *word, stash_value **out)
{
    stash_array_desc desc;
    hsize_t dims[H5S_MAX_RANK];
    int ndim = H5Sget_simple_extent_dims(space, dims, NULL);
    stash_dtype dtype;
    stash_byte_order order;
    stash_status st = ndim >= 0 && ndim <= STASH_ARRAY_MAX_DIMS ? h5t_to_dtype(type, &dtype, &order)
                                                                : STASH_E_CORRUPT;
    uint64_t shape[H5S_MAX_RANK], nbytes = 0;
    for (int i = 0; st == STASH_OK && i < ndim; i++)
        shape[i] = dims[i];
    if (st == STASH_OK)
        st = stash_array_desc_init(&desc, dtype, (unsigned)ndim, shape);
    if (st == STASH_OK)
        desc.byte_order = order;
    if (st == STASH_OK)
        st = stash_array_nbytes(&desc, &nbytes);
    bool bytes = strcmp(word, "bytes") == 0;
    if (st == STASH_OK && bytes && (dtype != STASH_DTYPE_UINT8 || ndim != 1))
        st = STASH_E_CORRUPT; /* stash's bytes are a uint8 vector */
    if (st == STASH_OK)
        st = check_storage(r, ds, nbytes);
    if (st != STASH_OK)
        return st;
    /* Scalars of Python's own types come back as those types. */
    if (ndim == 0 && strcmp(word, "array") != 0) {
        if (dtype == STASH_DTYPE_INT64 || dtype == STASH_DTYPE_FLOAT64 || dtype == STASH_DTYPE_BOOL) {
            int64_t i;
            double f;
            signed char b;
            hid_t mem = dtype == STASH_DTYPE_INT64     ? H5T_NATIVE_INT64
                        : dtype == STASH_DTYPE_FLOAT64 ? H5T_NATIVE_DOUBLE
                                                       : type;
            void *buf = dtype == STASH_DTYPE_INT64 ? (void *)&i
                        : dtype == STASH_DTYPE_FLOAT64 ? (void *)&f : (void *)&b;
            if (H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
                return STASH_E_CORRUPT;
            return dtype == STASH_DTYPE_INT64     ? stash_value_new_int(i, out)
                   : dtype == STASH_DTYPE_FLOAT64 ? stash_value_new_float(f, out)
                                                  : stash_value_new_bool(b != 0, out);
        }
    }
    void *data;
    stash_value *v = NULL;
    st = value_new_array_uninit(&desc, &v, &data);
    if (st == STASH_OK && nbytes && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = STASH_E_CORRUPT;
    if (st == STASH_OK && bytes) {
        stash_value *blob;
        st = stash_value_new_bytes(data, (size_t)nbytes, &blob);
        stash_value_free(&v);
        v = blob;
    }
    if (st == STASH_OK)
        *out = v;
    else
        stash_value_free(&v);
    return st;
}

/*
 * A dataset's word must be one stash writes on datasets, and fit it: a word
 * this reader does not know may mean what it cannot give back, and a word
 * that contradicts the dataset means a damaged or forged file.
 */
static stash_status check_word(const char *word, H5S_class_t shape, hid_t type)
{
    bool text = H5Tget_class(type) == H5T_STRING;
    if (!word[0])
        return STASH_OK;
    if (strcmp(word, "null") == 0)
        return shape == H5S_NULL ? STASH_OK : STASH_E_CORRUPT;
    if (strcmp(word, "array") == 0)
        return shape == H5S_SCALAR && !text ? STASH_OK : STASH_E_CORRUPT;
    if (strcmp(word, "bytes") == 0) /* read_array checks the element type and rank */
        return shape == H5S_SIMPLE && !text ? STASH_OK : STASH_E_CORRUPT;
    return STASH_E_UNSUPPORTED;
}

static stash_status read_dataset(struct reader *r, hid_t ds, stash_value **out)
{
    char word[16];
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    stash_status st = type >= 0 && space >= 0 ? type_word(ds, word, sizeof word) : STASH_E_CORRUPT;
    H5S_class_t shape = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
    if (st == STASH_OK)
        st = check_word(word, shape, type);
    if (st == STASH_OK && shape == H5S_NULL)
        st = stash_value_new_null(out);
    else if (st == STASH_OK && H5Tget_class(type) == H5T_STRING)
        st = shape == H5S_SCALAR ? read_string(r, ds, type, out) : STASH_E_UNSUPPORTED;
    else if (st == STASH_OK)
        st = read_array(r, ds, type, space, word, out);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* ---- Groups -------------------------------------------------------------------------- */

struct members {
    char **names;
    size_t len, cap;
    stash_status status;
};

/*
 * HDF5 resolves a name as a path, so a member whose stored name holds a '/'
 * (which only a forged file can have) would lead elsewhere: "/ext/x" through
 * an external link into another file, "/g" to any group however often. Only
 * names that are one link are members; "." would be the group itself.
 */
static bool one_link_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0;
}

static herr_t collect_member(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)g, (void)info;
    struct members *m = ctx;
    if (!one_link_name(name)) {
        m->status = STASH_E_CORRUPT;
        return -1;
    }
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        bool allowed = cap <= STASH_PICKLE_DEFAULT_MAX_NODES;
        char **names = allowed ? realloc(m->names, cap * sizeof *names) : NULL;
        if (!names) {
            m->status = allowed ? -ENOMEM : STASH_E_LIMIT;
            return -1;
        }
        m->names = names;
        m->cap = cap;
    }
    if (!(m->names[m->len] = strdup(name))) {
        m->status = -ENOMEM;
        return -1;
    }
    m->len++;
    return 0;
}

static void free_members(struct members *m)
{
    for (size_t i = 0; i < m->len; i++)
        free(m->names[i]);
    free(m->names);
}

/* Members in creation order where the group tracks it (dicts), else by name. */
static stash_status list_members(hid_t g, struct members *m)
{
    hid_t gcpl = H5Gget_create_plist(g);
    unsigned flags = 0;
    if (gcpl >= 0) {
        H5Pget_link_creation_order(gcpl, &flags);
        H5Pclose(gcpl);
    }
    H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    *m = (struct members){0};
    if (H5Literate(g, index, H5_ITER_INC, NULL, collect_member, m) < 0)
        return m->status != STASH_OK ? m->status : STASH_E_CORRUPT;
    return STASH_OK;
}

static bool decimal(const char *s, uint64_t *n)
{
    *n = 0;
    if (!*s || strlen(s) > 18)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        *n = *n * 10 + (uint64_t)(*s - '0');
    }
    return true;
}

/* Members named 0 .. n-1 (any zero padding), in that order, or STASH_E_CORRUPT. */
static stash_status numeric_order(struct members *m, char ***ordered)
{
    char **slots = calloc(m->len ? m->len : 1, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->len; i++) {
        uint64_t n;
        if (!decimal(m->names[i], &n) || n >= m->len || slots[n]) {
            free(slots);
            return STASH_E_CORRUPT;
        }
        slots[n] = m->names[i];
    }
    *ordered = slots;
    return STASH_OK;
}

static bool all_numbered(const struct members *m)
{
    uint64_t n;
    for (size_t i = 0; i < m->len; i++)
        if (!decimal(m->names[i], &n))
            return false;
    return m->len > 0;
}

static stash_status read_sequence(struct reader *r, hid_t g, struct members *m,
                                  stash_value_kind kind, unsigned depth, stash_value **out)
{
    char **order;
    stash_status st = numeric_order(m, &order);
    if (st != STASH_OK)
        return st;
    stash_value *seq = NULL;
    st = kind == STASH_VALUE_LIST ? stash_value_new_list(&seq) : stash_value_new_tuple(&seq);
    for (size_t i = 0; i < m->len && st == STASH_OK; i++) {
        stash_value *item = NULL;
        st = read_object(r, g, order[i], depth + 1, false, &item);
        if (st == STASH_OK && (st = value_adopt(seq, item)) != STASH_OK)
            stash_value_free(&item);
    }
    free(order);
    if (st == STASH_OK)
        *out = seq;
    else
        stash_value_free(&seq);
    return st;
}

static stash_status read_dict(struct reader *r, hid_t g, const struct members *m, unsigned depth,
                              stash_value **out)
{
    stash_value *dict = NULL;
    stash_status st = stash_value_new_dict(&dict);
    for (size_t i = 0; i < m->len && st == STASH_OK; i++) {
        stash_value *item = NULL;
        size_t len = strlen(m->names[i]);
        st = utf8_is_valid(m->names[i], len) ? read_object(r, g, m->names[i], depth + 1, false, &item)
                                             : STASH_E_CORRUPT;
        if (st == STASH_OK && (st = value_dict_adopt(dict, m->names[i], len, item)) != STASH_OK)
            stash_value_free(&item);
    }
    if (st == STASH_OK)
        *out = dict;
    else
        stash_value_free(&dict);
    return st;
}

static stash_status read_group(struct reader *r, hid_t g, unsigned depth, bool tuple_if_numbered,
                               stash_value **out)
{
    char word[16];
    struct members m = {0};
    stash_status st = type_word(g, word, sizeof word);
    if (st == STASH_OK)
        st = list_members(g, &m);
    if (st == STASH_OK) {
        if (strcmp(word, "tuple") == 0 || (!word[0] && tuple_if_numbered && all_numbered(&m)))
            st = read_sequence(r, g, &m, STASH_VALUE_TUPLE, depth, out);
        else if (strcmp(word, "list") == 0)
            st = read_sequence(r, g, &m, STASH_VALUE_LIST, depth, out);
        else if (!word[0] || strcmp(word, "dict") == 0)
            st = read_dict(r, g, &m, depth, out);
        else
            st = STASH_E_UNSUPPORTED;
    }
    free_members(&m);
    return st;
}

/* ---- Objects ---------------------------------------------------------------------------- */

/* The number of hard links to obj (its object header's reference count); 0 on failure. */
static unsigned hard_links(hid_t obj)
{
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    return H5Oget_info3(obj, &info, H5O_INFO_BASIC) >= 0 ? info.rc : 0;
#else
    H5O_info_t info;
    return H5Oget_info2(obj, &info, H5O_INFO_BASIC) >= 0 ? info.rc : 0;
#endif
}

static stash_status read_object(struct reader *r, hid_t loc, const char *name, unsigned depth,
                                bool tuple_if_numbered, stash_value **out)
{
    if (depth > STASH_VALUE_MAX_DEPTH || ++r->nodes > STASH_PICKLE_DEFAULT_MAX_NODES)
        return STASH_E_LIMIT;
    H5L_info_t link;
    if (H5Lget_info(loc, name, &link, H5P_DEFAULT) < 0)
        return STASH_E_NOT_FOUND;
    if (link.type != H5L_TYPE_HARD)
        return STASH_E_UNSUPPORTED; /* soft and external links are not followed */
    hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
    if (obj < 0)
        return STASH_E_CORRUPT;
    stash_status st;
    switch (H5Iget_type(obj)) {
    case H5I_GROUP:
        /*
         * A tree has no shared parts. A group inside the value that is linked
         * from elsewhere too is refused: it could be the value's own ancestor
         * (a loop), or groups that link twice to the next would multiply the
         * tree exponentially. Only the top may be shared (an alias of a key).
         */
        st = depth > 0 && hard_links(obj) != 1
                 ? STASH_E_UNSUPPORTED
                 : read_group(r, obj, depth, tuple_if_numbered, out);
        break;
    case H5I_DATASET:
        st = read_dataset(r, obj, out);
        break;
    default:
        st = STASH_E_UNSUPPORTED; /* a named datatype */
    }
    H5Oclose(obj);
    return st;
}

stash_status h5v_read(hid_t loc, const char *name, bool tuple_if_numbered, stash_value **out)
{
    hid_t file = H5Iget_file_id(loc);
    hsize_t size = 0;
    if (file < 0 || H5Fget_filesize(file, &size) < 0)
        size = 0;
    if (file >= 0)
        H5Fclose(file);
    struct reader r = {0, (uint64_t)size + STASH_PICKLE_DEFAULT_MAX_BYTES};
    return read_object(&r, loc, name, 0, tuple_if_numbered, out);
}
