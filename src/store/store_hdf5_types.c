/*
 * Element types between stash and HDF5, in h5py's conventions: bool is an
 * int8 enum {FALSE, TRUE}, complex a compound {r, i} of two floats, float16
 * IEEE half precision built from a float32, and every type keeps its byte
 * order in the file as h5py does.
 */
#include "store/store_hdf5_value.h"
#include "store/store_hdf5_types.h"

#include <string.h>

static hid_t ordered(hid_t base, stash_byte_order order)
{
    hid_t t = H5Tcopy(base);
    if (t >= 0 && H5Tget_size(t) > 1 &&
        H5Tset_order(t, order == STASH_BIG_ENDIAN ? H5T_ORDER_BE : H5T_ORDER_LE) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static hid_t bool_type(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    signed char no = 0, yes = 1;
    if (t >= 0 && (H5Tenum_insert(t, "FALSE", &no) < 0 || H5Tenum_insert(t, "TRUE", &yes) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static hid_t half_type(stash_byte_order order)
{
    hid_t t = ordered(H5T_IEEE_F32LE, order);
    if (t >= 0 && (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 ||
                   H5Tset_ebias(t, 15) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static hid_t complex_type(hid_t part_base, size_t part_size, stash_byte_order order)
{
    hid_t part = ordered(part_base, order);
    hid_t t = part >= 0 ? H5Tcreate(H5T_COMPOUND, 2 * part_size) : H5I_INVALID_HID;
    if (t >= 0 && (H5Tinsert(t, "r", 0, part) < 0 || H5Tinsert(t, "i", part_size, part) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    if (part >= 0)
        H5Tclose(part);
    return t;
}

hid_t h5t_of_dtype(stash_dtype dtype, stash_byte_order order)
{
    switch (dtype) {
    case STASH_DTYPE_BOOL: return bool_type();
    case STASH_DTYPE_INT8: return H5Tcopy(H5T_STD_I8LE);
    case STASH_DTYPE_INT16: return ordered(H5T_STD_I16LE, order);
    case STASH_DTYPE_INT32: return ordered(H5T_STD_I32LE, order);
    case STASH_DTYPE_INT64: return ordered(H5T_STD_I64LE, order);
    case STASH_DTYPE_UINT8: return H5Tcopy(H5T_STD_U8LE);
    case STASH_DTYPE_UINT16: return ordered(H5T_STD_U16LE, order);
    case STASH_DTYPE_UINT32: return ordered(H5T_STD_U32LE, order);
    case STASH_DTYPE_UINT64: return ordered(H5T_STD_U64LE, order);
    case STASH_DTYPE_FLOAT16: return half_type(order);
    case STASH_DTYPE_FLOAT32: return ordered(H5T_IEEE_F32LE, order);
    case STASH_DTYPE_FLOAT64: return ordered(H5T_IEEE_F64LE, order);
    case STASH_DTYPE_COMPLEX64: return complex_type(H5T_IEEE_F32LE, 4, order);
    case STASH_DTYPE_COMPLEX128: return complex_type(H5T_IEEE_F64LE, 8, order);
    case STASH_DTYPE_COUNT: break;
    }
    return H5I_INVALID_HID;
}

static stash_status order_of(hid_t t, stash_byte_order *order)
{
    H5T_order_t o = H5Tget_order(t);
    if (o != H5T_ORDER_LE && o != H5T_ORDER_BE && o != H5T_ORDER_NONE)
        return STASH_E_DTYPE; /* VAX or mixed orders */
    *order = o == H5T_ORDER_BE ? STASH_BIG_ENDIAN : STASH_LITTLE_ENDIAN;
    return STASH_OK;
}

static stash_status integer_dtype(hid_t t, stash_dtype *dtype)
{
    bool is_signed = H5Tget_sign(t) == H5T_SGN_2;
    size_t precision = H5Tget_precision(t), offset = H5Tget_offset(t);
    if (offset != 0 || precision != 8 * H5Tget_size(t))
        return STASH_E_DTYPE; /* padded integers have no NumPy twin */
    switch (H5Tget_size(t)) {
    case 1: *dtype = is_signed ? STASH_DTYPE_INT8 : STASH_DTYPE_UINT8; return STASH_OK;
    case 2: *dtype = is_signed ? STASH_DTYPE_INT16 : STASH_DTYPE_UINT16; return STASH_OK;
    case 4: *dtype = is_signed ? STASH_DTYPE_INT32 : STASH_DTYPE_UINT32; return STASH_OK;
    case 8: *dtype = is_signed ? STASH_DTYPE_INT64 : STASH_DTYPE_UINT64; return STASH_OK;
    }
    return STASH_E_DTYPE;
}

/* Only IEEE layouts: the bytes must mean what NumPy's float types say. */
static stash_status float_dtype(hid_t t, stash_dtype *dtype)
{
    size_t spos, epos, esize, mpos, msize;
    if (H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) < 0)
        return STASH_E_DTYPE;
    size_t size = H5Tget_size(t);
    if (size == 2 && spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10)
        *dtype = STASH_DTYPE_FLOAT16;
    else if (size == 4 && spos == 31 && epos == 23 && esize == 8 && mpos == 0 && msize == 23)
        *dtype = STASH_DTYPE_FLOAT32;
    else if (size == 8 && spos == 63 && epos == 52 && esize == 11 && mpos == 0 && msize == 52)
        *dtype = STASH_DTYPE_FLOAT64;
    else
        return STASH_E_DTYPE;
    return STASH_OK;
}

/* h5py's bool: an enum of a 1-byte integer with exactly FALSE = 0 and TRUE = 1. */
static stash_status enum_dtype(hid_t t, stash_dtype *dtype)
{
    if (H5Tget_size(t) != 1 || H5Tget_nmembers(t) != 2)
        return STASH_E_DTYPE;
    signed char no = 0, yes = 1;
    char name[8];
    if (H5Tenum_nameof(t, &no, name, sizeof name) < 0 || strcmp(name, "FALSE") != 0 ||
        H5Tenum_nameof(t, &yes, name, sizeof name) < 0 || strcmp(name, "TRUE") != 0)
        return STASH_E_DTYPE;
    *dtype = STASH_DTYPE_BOOL;
    return STASH_OK;
}

static bool member_is(hid_t t, unsigned i, const char *want, size_t offset)
{
    char *name = H5Tget_member_name(t, i);
    bool ok = name && strcmp(name, want) == 0 && H5Tget_member_offset(t, i) == offset;
    H5free_memory(name);
    return ok;
}

/* h5py's complex: {r, i} of one float type, packed, in that order. */
static stash_status compound_dtype(hid_t t, stash_dtype *dtype, stash_byte_order *order)
{
    size_t size = H5Tget_size(t), half = size / 2;
    if (H5Tget_nmembers(t) != 2 || (size != 8 && size != 16) || !member_is(t, 0, "r", 0) ||
        !member_is(t, 1, "i", half))
        return STASH_E_DTYPE;
    hid_t r = H5Tget_member_type(t, 0), i = H5Tget_member_type(t, 1);
    stash_dtype part;
    stash_status st = r >= 0 && i >= 0 && H5Tequal(r, i) > 0 && H5Tget_class(r) == H5T_FLOAT
                          ? float_dtype(r, &part)
                          : STASH_E_DTYPE;
    if (st == STASH_OK)
        st = order_of(r, order);
    if (st == STASH_OK && stash_dtype_size(part) != half)
        st = STASH_E_DTYPE;
    if (st == STASH_OK)
        *dtype = part == STASH_DTYPE_FLOAT32 ? STASH_DTYPE_COMPLEX64 : STASH_DTYPE_COMPLEX128;
    if (st == STASH_OK && part == STASH_DTYPE_FLOAT16)
        st = STASH_E_DTYPE;
    if (r >= 0)
        H5Tclose(r);
    if (i >= 0)
        H5Tclose(i);
    return st;
}

stash_status h5t_to_dtype(hid_t t, stash_dtype *dtype, stash_byte_order *order)
{
    *order = STASH_LITTLE_ENDIAN;
    switch (H5Tget_class(t)) {
    case H5T_INTEGER: {
        stash_status st = integer_dtype(t, dtype);
        return st == STASH_OK ? order_of(t, order) : st;
    }
    case H5T_FLOAT: {
        stash_status st = float_dtype(t, dtype);
        return st == STASH_OK ? order_of(t, order) : st;
    }
    case H5T_ENUM:
        return enum_dtype(t, dtype);
    case H5T_COMPOUND:
        return compound_dtype(t, dtype, order);
    default:
        return STASH_E_DTYPE;
    }
}
