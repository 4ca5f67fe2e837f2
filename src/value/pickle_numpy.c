/*
 * NumPy's array pickles, rebuilt without NumPy: the allowlist of names and
 * the exact arguments NumPy writes for them (stash/pickle.h lists both).
 *
 *   ndarray, protocols 2 to 4 (and 5 for arrays that are not contiguous):
 *     _reconstruct(ndarray, (0,), b"b")  then BUILD with
 *     (1, shape, dtype, is_fortran, raw bytes in that order)
 *   ndarray, protocol 5:
 *     _frombuffer(buffer, dtype, shape, "C" or "F"), the buffer in-band
 *     (BYTEARRAY8) or out-of-band (NEXT_BUFFER)
 *   numpy scalar (np.float64(2.5)):
 *     scalar(dtype, raw bytes of one element)
 *   dtype:
 *     dtype("f8", False, True)  then BUILD with
 *     (3, "<", None, None, None, -1, -1, 0), or version 4 with a ninth
 *     item (metadata, None)
 *
 * Every other argument is refused: this is a pattern match, not a call.
 */
#include "value/pickle_numpy.h"

#include <stash/array.h>

#include <stdio.h>
#include <string.h>

static bool is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

int numpy_name(const char *module, size_t mn, const char *name, size_t nn)
{
    /* NumPy 2 moved numpy.core to numpy._core; its pickles name the new module. */
    bool multiarray = is(module, mn, "numpy.core.multiarray") ||
                      is(module, mn, "numpy._core.multiarray");
    bool numeric = is(module, mn, "numpy.core.numeric") || is(module, mn, "numpy._core.numeric");
    if (multiarray && is(name, nn, "_reconstruct"))
        return NUMPY_RECONSTRUCT;
    if (multiarray && is(name, nn, "scalar"))
        return NUMPY_SCALAR;
    if (numeric && is(name, nn, "_frombuffer"))
        return NUMPY_FROMBUFFER;
    if (is(module, mn, "numpy") && is(name, nn, "ndarray"))
        return NUMPY_NDARRAY;
    if (is(module, mn, "numpy") && is(name, nn, "dtype"))
        return NUMPY_DTYPE;
    return 0;
}

/* ---- dtypes ------------------------------------------------------------------------ */

static bool is_dtype(const stash_value *v)
{
    return v->kind == VALUE_KIND_CONSTRUCTOR && v->u.i >= NUMPY_DTYPE_OBJECT &&
           v->u.i < NUMPY_DTYPE_OBJECT + 2 * STASH_DTYPE_COUNT;
}

static int64_t dtype_code(stash_dtype dtype, stash_byte_order order)
{
    return NUMPY_DTYPE_OBJECT + 2 * (int64_t)dtype + (int64_t)order;
}

static void dtype_of(const stash_value *v, stash_dtype *dtype, stash_byte_order *order)
{
    int64_t k = v->u.i - NUMPY_DTYPE_OBJECT;
    *dtype = (stash_dtype)(k / 2);
    *order = (stash_byte_order)(k % 2);
}

static stash_byte_order native_order(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one ? STASH_LITTLE_ENDIAN : STASH_BIG_ENDIAN;
}

static void name_it(char why[NUMPY_WHY_MAX], const char *s, size_t n)
{
    snprintf(why, NUMPY_WHY_MAX, "%.*s", (int)(n < NUMPY_WHY_MAX - 1 ? n : NUMPY_WHY_MAX - 1), s);
}

static bool is_string(const stash_value *v)
{
    return v->kind == STASH_VALUE_STRING;
}

static bool is_bool(const stash_value *v)
{
    return v->kind == STASH_VALUE_BOOL;
}

/* dtype("f8", align, copy): the type code without its byte order, which BUILD gives. */
static stash_status make_dtype(const stash_value *args, stash_value **made, char *why)
{
    stash_value *const *a = args->u.seq.items;
    if (args->u.seq.len != 3 || !is_string(a[0]) || !is_bool(a[1]) || !is_bool(a[2]))
        return STASH_E_UNSAFE;
    const char *code = a[0]->u.blob.data;
    size_t n = a[0]->u.blob.len;
    char descr[8] = "=";
    stash_dtype dtype;
    stash_byte_order order;
    if (n >= sizeof descr - 1) {
        name_it(why, code, n);
        return STASH_E_DTYPE;
    }
    memcpy(descr + 1, code, n);
    if (stash_array_parse_descr(descr, n + 1, &dtype, &order) != STASH_OK) {
        name_it(why, code, n); /* "U3", "O8", "M8", "V16", "f16": NumPy types stash has not */
        return STASH_E_DTYPE;
    }
    /* Before its state is set a dtype is in this machine's order, as in NumPy. */
    return value_new_constructor(dtype_code(dtype, native_order()), made);
}

static bool is_int(const stash_value *v, int64_t *i)
{
    if (v->kind != STASH_VALUE_INT)
        return false;
    *i = v->u.i;
    return true;
}

/*
 * dtype.__setstate__((version, endian, subarray, names, fields, elsize,
 * alignment, flags[, metadata])): a plain numeric type has no subarray,
 * names, fields or metadata, and its elsize is -1 or its own size. A state
 * claiming another size (2^62-byte items) is refused here, before any size
 * is computed from it.
 */
static stash_status set_dtype_state(stash_value *obj, const stash_value *state, char *why)
{
    size_t n = state->u.seq.len;
    stash_value *const *s = state->u.seq.items;
    int64_t version, elsize, alignment, flags;
    if ((n != 8 && n != 9) || !is_int(s[0], &version) || version != (n == 8 ? 3 : 4) ||
        !is_string(s[1]) || s[1]->u.blob.len != 1 || !is_int(s[5], &elsize) ||
        !is_int(s[6], &alignment) || !is_int(s[7], &flags))
        return STASH_E_UNSAFE;
    for (size_t i = 2; i < 5; i++)
        if (s[i]->kind != STASH_VALUE_NULL)
            return STASH_E_DTYPE; /* subarrays and structured types */
    if (n == 9 && s[8]->kind != STASH_VALUE_NULL)
        return STASH_E_DTYPE; /* metadata: h5py's string types and the like */
    stash_dtype dtype;
    stash_byte_order order;
    dtype_of(obj, &dtype, &order);
    if (elsize != -1 && (uint64_t)elsize != stash_dtype_size(dtype)) {
        snprintf(why, NUMPY_WHY_MAX, "%s of %lld bytes", stash_dtype_name(dtype),
                 (long long)elsize);
        return STASH_E_CORRUPT;
    }
    char endian = s[1]->u.blob.data[0];
    if (endian == '<' || endian == '>')
        order = endian == '<' ? STASH_LITTLE_ENDIAN : STASH_BIG_ENDIAN;
    else if (endian == '=' || (endian == '|' && stash_dtype_size(dtype) == 1))
        order = endian == '=' ? native_order() : STASH_LITTLE_ENDIAN;
    else
        return STASH_E_CORRUPT;
    if (stash_dtype_size(dtype) == 1)
        order = STASH_LITTLE_ENDIAN; /* one order for bytes, so equal dtypes compare equal */
    obj->u.i = dtype_code(dtype, order);
    return STASH_OK;
}

/* ---- Arrays ------------------------------------------------------------------------ */

/* A shape tuple of non-negative ints into desc. */
static stash_status shape_of(const stash_value *shape, stash_array_desc *desc)
{
    if (shape->kind != STASH_VALUE_TUPLE)
        return STASH_E_UNSAFE;
    if (shape->u.seq.len > STASH_ARRAY_MAX_DIMS)
        return STASH_E_LIMIT;
    desc->ndim = (unsigned)shape->u.seq.len;
    for (unsigned i = 0; i < desc->ndim; i++) {
        int64_t d;
        if (!is_int(shape->u.seq.items[i], &d) || d < 0)
            return STASH_E_CORRUPT;
        desc->shape[i] = (uint64_t)d;
    }
    return STASH_OK;
}

/*
 * An array value of dtype with shape and the given order, holding bytes:
 * their length must be what the shape and itemsize say, computed with
 * overflow checks before anything is allocated.
 */
static stash_status make_array(const stash_value *dtype, const stash_value *shape,
                               stash_array_order order, const stash_value *bytes,
                               uint64_t *budget, stash_value **made)
{
    stash_array_desc desc = {0};
    dtype_of(dtype, &desc.dtype, &desc.byte_order);
    desc.order = order;
    stash_status st = shape_of(shape, &desc);
    if (st != STASH_OK)
        return st;
    uint64_t nbytes;
    st = stash_array_nbytes(&desc, &nbytes);
    if (st != STASH_OK)
        return st;
    if (bytes->kind != STASH_VALUE_BYTES)
        return STASH_E_UNSAFE; /* object arrays pickle a list here */
    if (nbytes != bytes->u.blob.len)
        return STASH_E_SHAPE;
    if (nbytes > *budget)
        return STASH_E_LIMIT;
    *budget -= nbytes;
    if (desc.ndim < 2 || stash_array_layout_is_trivial(&desc))
        desc.order = STASH_ORDER_C; /* as NumPy records such arrays */
    return stash_value_new_array(&desc, bytes->u.blob.data, made);
}

/* _reconstruct(ndarray, (0,), b"b"): an empty ndarray that BUILD fills. */
static stash_status reconstruct(const stash_value *args, stash_value **made)
{
    stash_value *const *a = args->u.seq.items;
    if (args->u.seq.len != 3 || a[0]->kind != VALUE_KIND_CONSTRUCTOR ||
        a[0]->u.i != NUMPY_NDARRAY || a[1]->kind != STASH_VALUE_TUPLE ||
        (a[2]->kind != STASH_VALUE_BYTES && a[2]->kind != STASH_VALUE_STRING) ||
        a[2]->u.blob.len != 1 || a[2]->u.blob.data[0] != 'b')
        return STASH_E_UNSAFE;
    return value_new_constructor(NUMPY_PENDING_ARRAY, made);
}

/* ndarray.__setstate__((1, shape, dtype, is_fortran, raw bytes)). */
static stash_status set_array_state(stash_value *obj, const stash_value *state,
                                    uint64_t *budget)
{
    stash_value *const *s = state->u.seq.items;
    int64_t version;
    if (state->u.seq.len != 5 || !is_int(s[0], &version) || version != 1 || !is_dtype(s[2]) ||
        !is_bool(s[3]))
        return STASH_E_UNSAFE;
    stash_value *array = NULL;
    stash_status st = make_array(s[2], s[1], s[3]->u.b ? STASH_ORDER_F : STASH_ORDER_C, s[4],
                                 budget, &array);
    if (st == STASH_OK)
        value_become(obj, &array);
    return st;
}

/* scalar(dtype, raw bytes): a numpy scalar, held as a 0-d array. */
static stash_status scalar(const stash_value *args, uint64_t *budget, stash_value **made)
{
    stash_value *const *a = args->u.seq.items;
    if (args->u.seq.len != 2 || !is_dtype(a[0]))
        return STASH_E_UNSAFE;
    stash_value *none = NULL;
    stash_status st = stash_value_new_tuple(&none); /* shape () */
    if (st == STASH_OK)
        st = make_array(a[0], none, STASH_ORDER_C, a[1], budget, made);
    stash_value_free(&none);
    return st;
}

/* _frombuffer(buffer, dtype, shape, order): protocol 5's contiguous arrays. */
static stash_status frombuffer(const stash_value *args, uint64_t *budget, stash_value **made)
{
    stash_value *const *a = args->u.seq.items;
    if (args->u.seq.len != 4 || !is_dtype(a[1]) || !is_string(a[3]) ||
        a[3]->u.blob.len != 1 || (a[3]->u.blob.data[0] != 'C' && a[3]->u.blob.data[0] != 'F'))
        return STASH_E_UNSAFE;
    stash_array_order order = a[3]->u.blob.data[0] == 'F' ? STASH_ORDER_F : STASH_ORDER_C;
    return make_array(a[1], a[2], order, a[0], budget, made);
}

stash_status numpy_reduce(int code, const stash_value *args, uint64_t *budget,
                          stash_value **made, char why[NUMPY_WHY_MAX])
{
    switch (code) {
    case NUMPY_RECONSTRUCT:
        return reconstruct(args, made);
    case NUMPY_DTYPE:
        return make_dtype(args, made, why);
    case NUMPY_SCALAR:
        return scalar(args, budget, made);
    case NUMPY_FROMBUFFER:
        return frombuffer(args, budget, made);
    }
    return STASH_E_UNSAFE; /* ndarray itself, or an object already made */
}

stash_status numpy_build(stash_value *obj, const stash_value *state, uint64_t *budget,
                         char why[NUMPY_WHY_MAX])
{
    bool tuple = state->kind == STASH_VALUE_TUPLE || state->kind == VALUE_KIND_ARGS;
    if (obj->kind != VALUE_KIND_CONSTRUCTOR || !tuple)
        return STASH_E_UNSAFE;
    if (is_dtype(obj))
        return state->kind == STASH_VALUE_TUPLE ? set_dtype_state(obj, state, why)
                                                : STASH_E_UNSAFE;
    if (obj->u.i == NUMPY_PENDING_ARRAY)
        return set_array_state(obj, state, budget);
    return STASH_E_UNSAFE;
}
