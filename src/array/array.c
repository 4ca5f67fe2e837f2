/*
 * Array descriptions: the dtype table, checked sizes, NPY descr strings and
 * byte-order conversion.
 */
#include "array/array_internal.h"

#include <endian.h>
#include <string.h>

struct dtype_info {
    const char *name;
    char kind;
    unsigned char size;
};

static const struct dtype_info dtypes[STASH_DTYPE_COUNT] = {
#define DTYPE_INFO_(name, numpy_name, kind, size) [STASH_DTYPE_##name] = {numpy_name, kind, size},
    STASH_DTYPE_TABLE(DTYPE_INFO_)
#undef DTYPE_INFO_
};

static bool known(stash_dtype dtype)
{
    return (unsigned)dtype < STASH_DTYPE_COUNT;
}

size_t stash_dtype_size(stash_dtype dtype)
{
    return known(dtype) ? dtypes[dtype].size : 0;
}

const char *stash_dtype_name(stash_dtype dtype)
{
    return known(dtype) ? dtypes[dtype].name : "";
}

stash_status stash_dtype_from_name(const char *name, stash_dtype *dtype)
{
    if (name == NULL || dtype == NULL)
        return STASH_E_INVALID;
    for (unsigned i = 0; i < STASH_DTYPE_COUNT; i++) {
        if (strcmp(dtypes[i].name, name) == 0) {
            *dtype = (stash_dtype)i;
            return STASH_OK;
        }
    }
    return STASH_E_DTYPE;
}

stash_status stash_array_desc_init(stash_array_desc *desc, stash_dtype dtype, unsigned ndim,
                                   const uint64_t *shape)
{
    if (desc == NULL || !known(dtype) || ndim > STASH_ARRAY_MAX_DIMS ||
        (shape == NULL && ndim > 0))
        return STASH_E_INVALID;
    memset(desc, 0, sizeof *desc);
    desc->dtype = dtype;
    desc->ndim = ndim;
    if (ndim > 0)
        memcpy(desc->shape, shape, ndim * sizeof *shape);
    return STASH_OK;
}

stash_status stash_array_check(const stash_array_desc *desc)
{
    if (desc == NULL || !known(desc->dtype) || desc->ndim > STASH_ARRAY_MAX_DIMS)
        return STASH_E_INVALID;
    if ((unsigned)desc->byte_order > STASH_BIG_ENDIAN || (unsigned)desc->order > STASH_ORDER_F)
        return STASH_E_INVALID;
    return STASH_OK;
}

/* The product of the shape times factor, or STASH_E_RANGE past INT64_MAX.
 * A zero anywhere makes the product 0, whatever the other dimensions are. */
static stash_status checked_product(const stash_array_desc *desc, uint64_t factor,
                                    uint64_t *out)
{
    stash_status status = stash_array_check(desc);
    if (status != STASH_OK)
        return status;
    for (unsigned i = 0; i < desc->ndim; i++) {
        if (desc->shape[i] == 0) {
            *out = 0;
            return STASH_OK;
        }
    }
    uint64_t product = factor;
    for (unsigned i = 0; i < desc->ndim; i++) {
        if (desc->shape[i] > (uint64_t)INT64_MAX / product)
            return STASH_E_RANGE;
        product *= desc->shape[i];
    }
    *out = product;
    return STASH_OK;
}

stash_status stash_array_count(const stash_array_desc *desc, uint64_t *count)
{
    if (count == NULL)
        return STASH_E_INVALID;
    return checked_product(desc, 1, count);
}

stash_status stash_array_nbytes(const stash_array_desc *desc, uint64_t *nbytes)
{
    if (nbytes == NULL || desc == NULL)
        return STASH_E_INVALID;
    return checked_product(desc, stash_dtype_size(desc->dtype), nbytes);
}

bool stash_array_layout_is_trivial(const stash_array_desc *desc)
{
    unsigned long_dims = 0;
    for (unsigned i = 0; i < desc->ndim; i++) {
        if (desc->shape[i] == 0)
            return true;
        long_dims += desc->shape[i] > 1;
    }
    return long_dims <= 1;
}

stash_status stash_array_descr(const stash_array_desc *desc, char buf[STASH_DESCR_MAX])
{
    stash_status status = stash_array_check(desc);
    if (status != STASH_OK || buf == NULL)
        return status != STASH_OK ? status : STASH_E_INVALID;
    const struct dtype_info *d = &dtypes[desc->dtype];
    char order = d->size == 1 ? '|' : desc->byte_order == STASH_BIG_ENDIAN ? '>' : '<';
    buf[0] = order;
    buf[1] = d->kind;
    if (d->size >= 10) {
        buf[2] = (char)('0' + d->size / 10);
        buf[3] = (char)('0' + d->size % 10);
        buf[4] = '\0';
    } else {
        buf[2] = (char)('0' + d->size);
        buf[3] = '\0';
    }
    return STASH_OK;
}

static stash_status parse_order(char c, stash_byte_order *order)
{
    switch (c) {
    case '<': *order = STASH_LITTLE_ENDIAN; return STASH_OK;
    case '>': *order = STASH_BIG_ENDIAN; return STASH_OK;
    case '|': *order = STASH_LITTLE_ENDIAN; return STASH_OK; /* "not applicable" */
    case '=':
        *order = BYTE_ORDER == BIG_ENDIAN ? STASH_BIG_ENDIAN : STASH_LITTLE_ENDIAN;
        return STASH_OK;
    default: return STASH_E_DTYPE;
    }
}

stash_status stash_array_parse_descr(const char *descr, size_t len, stash_dtype *dtype,
                                     stash_byte_order *byte_order)
{
    if (descr == NULL || dtype == NULL || byte_order == NULL)
        return STASH_E_INVALID;
    stash_byte_order order;
    if (len < 3 || len > 4 || parse_order(descr[0], &order) != STASH_OK)
        return STASH_E_DTYPE;
    unsigned size = 0;
    for (size_t i = 2; i < len; i++) {
        if (descr[i] < '0' || descr[i] > '9')
            return STASH_E_DTYPE;
        size = size * 10 + (unsigned)(descr[i] - '0');
    }
    for (unsigned i = 0; i < STASH_DTYPE_COUNT; i++) {
        if (dtypes[i].kind != descr[1] || dtypes[i].size != size)
            continue;
        if (size > 1 && descr[0] == '|')
            return STASH_E_DTYPE; /* a multi-byte type needs a byte order */
        *dtype = (stash_dtype)i;
        *byte_order = order;
        return STASH_OK;
    }
    return STASH_E_DTYPE;
}

static void swap_each(unsigned char *p, uint64_t count, size_t width)
{
    for (uint64_t i = 0; i < count; i++, p += width) {
        for (size_t lo = 0, hi = width - 1; lo < hi; lo++, hi--) {
            unsigned char t = p[lo];
            p[lo] = p[hi];
            p[hi] = t;
        }
    }
}

void array_swap_elements(stash_dtype dtype, void *data, uint64_t count)
{
    size_t size = stash_dtype_size(dtype);
    if (size <= 1)
        return;
    bool complex = dtypes[dtype].kind == 'c';
    /* A complex number is two floats, each swapped on its own. */
    swap_each(data, complex ? count * 2 : count, complex ? size / 2 : size);
}

stash_status stash_array_to_native(stash_array_desc *desc, void *data)
{
    uint64_t count;
    stash_status status = stash_array_count(desc, &count);
    if (status != STASH_OK)
        return status;
    if (data == NULL && count > 0)
        return STASH_E_INVALID;
    stash_byte_order native = BYTE_ORDER == BIG_ENDIAN ? STASH_BIG_ENDIAN : STASH_LITTLE_ENDIAN;
    if (desc->byte_order != native)
        array_swap_elements(desc->dtype, data, count);
    desc->byte_order = native;
    return STASH_OK;
}
