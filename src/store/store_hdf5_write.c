/*
 * Writing value trees as HDF5 objects (the layout is in hdf5_value.h).
 * h5v_check runs over the whole tree first, so a write that starts only
 * fails on I/O; the store writes under a temporary name and links the
 * result in place, so even then no half-written value is ever under a key.
 */
#include "store/store_hdf5_types.h"
#include "store/store_hdf5_value.h"

#include "array/array_internal.h"
#include "value/value_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H5_WRITE_FAILED (-EIO)

/* ---- Checking ---------------------------------------------------------------------- */

static bool member_name_ok(const char *key, size_t len)
{
    return len > 0 && !memchr(key, '/', len) && !memchr(key, '\0', len) &&
           !(len == 1 && key[0] == '.');
}

stash_status h5v_check(const stash_value *v)
{
    switch (v->kind) {
    case STASH_VALUE_STRING:
        return memchr(v->u.blob.data, '\0', v->u.blob.len) ? STASH_E_UNSUPPORTED : STASH_OK;
    case STASH_VALUE_ARRAY:
        return v->u.array.desc->ndim > H5S_MAX_RANK ? STASH_E_UNSUPPORTED : STASH_OK;
    case STASH_VALUE_LIST:
    case STASH_VALUE_TUPLE:
        for (size_t i = 0; i < v->u.seq.len; i++) {
            stash_status st = h5v_check(v->u.seq.items[i]);
            if (st != STASH_OK)
                return st;
        }
        return STASH_OK;
    case STASH_VALUE_DICT:
        for (size_t i = 0; i < v->u.dict.len; i++) {
            const struct value_entry *e = &v->u.dict.entries[i];
            if (!member_name_ok(e->key, e->key_len))
                return STASH_E_UNSUPPORTED;
            stash_status st = h5v_check(e->value);
            if (st != STASH_OK)
                return st;
        }
        return STASH_OK;
    default:
        return STASH_OK;
    }
}

/* ---- Attributes and property lists -------------------------------------------------- */

static hid_t utf8_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static stash_status mark_type(hid_t obj, const char *word)
{
    hid_t t = utf8_string_type(), space = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    if (t >= 0 && space >= 0)
        a = H5Acreate2(obj, H5V_TYPE_ATTRIBUTE, t, space, H5P_DEFAULT, H5P_DEFAULT);
    stash_status st = a >= 0 && H5Awrite(a, t, &word) >= 0 ? STASH_OK : H5_WRITE_FAILED;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    return st;
}

/* Groups remember the order members were made in (h5py's track_order). */
static hid_t ordered_group(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
    if (gcpl >= 0 &&
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

/* ---- Datasets ------------------------------------------------------------------------- */

struct dataset {
    hid_t type;        /* in the file and in memory: no conversion */
    hid_t space;
    const void *data;  /* NULL: nothing to write (a null or empty dataset) */
    const char *word;  /* the type attribute, or NULL */
};

static stash_status create_dataset(hid_t loc, const char *name, const struct dataset *d)
{
    if (d->type < 0 || d->space < 0)
        return H5_WRITE_FAILED;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), ds = H5I_INVALID_HID;
    /* As h5py: no timestamps, so equal values make equal files. */
    if (dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0)
        ds = H5Dcreate2(loc, name, d->type, d->space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    stash_status st = ds >= 0 ? STASH_OK : H5_WRITE_FAILED;
    if (st == STASH_OK && d->data &&
        H5Dwrite(ds, d->type, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->data) < 0)
        st = H5_WRITE_FAILED;
    if (st == STASH_OK && d->word)
        st = mark_type(ds, d->word);
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return st;
}

static stash_status write_with(hid_t loc, const char *name, hid_t type, hid_t space,
                               const void *data, const char *word)
{
    struct dataset d = {type, space, data, word};
    stash_status st = create_dataset(loc, name, &d);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

static stash_status write_scalar(hid_t loc, const char *name, const stash_value *v)
{
    signed char flag;
    const char *text;
    switch (v->kind) {
    case STASH_VALUE_NULL:
        return write_with(loc, name, H5Tcopy(H5T_STD_U8LE), H5Screate(H5S_NULL), NULL, "null");
    case STASH_VALUE_BOOL:
        flag = v->u.b ? 1 : 0;
        return write_with(loc, name, h5t_of_dtype(STASH_DTYPE_BOOL, STASH_LITTLE_ENDIAN),
                          H5Screate(H5S_SCALAR), &flag, NULL);
    case STASH_VALUE_INT:
        return write_with(loc, name, H5Tcopy(H5T_NATIVE_INT64), H5Screate(H5S_SCALAR), &v->u.i,
                          NULL);
    case STASH_VALUE_FLOAT:
        return write_with(loc, name, H5Tcopy(H5T_NATIVE_DOUBLE), H5Screate(H5S_SCALAR), &v->u.f,
                          NULL);
    case STASH_VALUE_STRING:
        text = v->u.blob.data;
        return write_with(loc, name, utf8_string_type(), H5Screate(H5S_SCALAR), &text, NULL);
    default: {
        hsize_t len = v->u.blob.len; /* bytes: a uint8 vector h5py reads as an array */
        return write_with(loc, name, H5Tcopy(H5T_STD_U8LE), H5Screate_simple(1, &len, NULL),
                          len ? v->u.blob.data : NULL, "bytes");
    }
    }
}

/* The array's bytes in C order (HDF5's only order): itself, or a copy in *copy. */
static stash_status c_order_bytes(const stash_array_desc *desc, const void *data, size_t nbytes,
                                  const void **bytes, void **copy)
{
    *copy = NULL;
    *bytes = data;
    if (desc->order == STASH_ORDER_C || stash_array_layout_is_trivial(desc) || nbytes == 0)
        return STASH_OK;
    stash_status st = array_copy_c_order(desc, data, desc->byte_order, copy);
    if (st == STASH_OK)
        *bytes = *copy;
    return st;
}

static stash_status write_array(hid_t loc, const char *name, const stash_value *v)
{
    const stash_array_desc *desc = v->u.array.desc;
    hsize_t dims[H5S_MAX_RANK];
    for (unsigned i = 0; i < desc->ndim; i++)
        dims[i] = desc->shape[i];
    const void *bytes;
    void *copy;
    stash_status st = c_order_bytes(desc, v->u.array.data, v->u.array.nbytes, &bytes, &copy);
    if (st != STASH_OK)
        return st;
    hid_t space = desc->ndim ? H5Screate_simple((int)desc->ndim, dims, NULL)
                             : H5Screate(H5S_SCALAR);
    st = write_with(loc, name, h5t_of_dtype(desc->dtype, desc->byte_order), space,
                    v->u.array.nbytes ? bytes : NULL, desc->ndim ? NULL : "array");
    free(copy);
    return st;
}

/* ---- Groups ---------------------------------------------------------------------------- */

static stash_status write_sequence(hid_t loc, const char *name, const stash_value *v,
                                   int digits)
{
    hid_t g = ordered_group(loc, name);
    if (g < 0)
        return H5_WRITE_FAILED;
    stash_status st = mark_type(g, v->kind == STASH_VALUE_TUPLE ? "tuple" : "list");
    for (size_t i = 0; i < v->u.seq.len && st == STASH_OK; i++) {
        char member[32];
        snprintf(member, sizeof member, "%0*zu", digits, i);
        st = h5v_write(g, member, v->u.seq.items[i], 0);
    }
    H5Gclose(g);
    return st;
}

static stash_status write_dict(hid_t loc, const char *name, const stash_value *v)
{
    hid_t g = ordered_group(loc, name);
    if (g < 0)
        return H5_WRITE_FAILED;
    stash_status st = STASH_OK;
    for (size_t i = 0; i < v->u.dict.len && st == STASH_OK; i++)
        st = h5v_write(g, v->u.dict.entries[i].key, v->u.dict.entries[i].value, 0);
    H5Gclose(g);
    return st;
}

stash_status h5v_write(hid_t loc, const char *name, const stash_value *v, int tuple_digits)
{
    switch (v->kind) {
    case STASH_VALUE_ARRAY:
        return write_array(loc, name, v);
    case STASH_VALUE_LIST:
    case STASH_VALUE_TUPLE:
        return write_sequence(loc, name, v, tuple_digits);
    case STASH_VALUE_DICT:
        return write_dict(loc, name, v);
    default:
        return write_scalar(loc, name, v);
    }
}
