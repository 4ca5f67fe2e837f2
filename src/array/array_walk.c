/*
 * Reading an array's elements in C order and a chosen byte order, for the
 * writers and hashers that need one canonical form (content keys, HDF5).
 *
 * A Fortran-order array is read by walking its C-order indices with a
 * counter: the last index moves fastest, and in Fortran order that index has
 * the largest stride, so the walk jumps through memory. Such arrays are rare
 * on the paths that care about speed; C-order arrays go out untouched.
 */
#include "array/array_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (64u * 1024u)

struct c_order_walk {
    const unsigned char *data;
    size_t itemsize;
    unsigned ndim;
    const uint64_t *shape;
    uint64_t stride[STASH_ARRAY_MAX_DIMS]; /* bytes, Fortran order */
    uint64_t index[STASH_ARRAY_MAX_DIMS];
    uint64_t offset; /* of the element at index */
};

static void walk_init(struct c_order_walk *w, const stash_array_desc *desc, const void *data)
{
    memset(w, 0, sizeof *w);
    w->data = data;
    w->itemsize = stash_dtype_size(desc->dtype);
    w->ndim = desc->ndim;
    w->shape = desc->shape;
    uint64_t stride = w->itemsize;
    for (unsigned d = 0; d < desc->ndim; d++) {
        w->stride[d] = stride;
        stride *= desc->shape[d]; /* cannot overflow: nbytes was checked */
    }
}

/* Moves to the next element in C order (last index fastest). */
static void walk_next(struct c_order_walk *w)
{
    for (unsigned d = w->ndim; d-- > 0;) {
        w->offset += w->stride[d];
        if (++w->index[d] < w->shape[d])
            return;
        w->offset -= w->stride[d] * w->shape[d];
        w->index[d] = 0;
    }
}

/* Copies up to cap bytes of whole elements from the walk into buf. */
static size_t walk_fill(struct c_order_walk *w, unsigned char *buf, size_t cap,
                        uint64_t *remaining)
{
    size_t n = 0;
    while (*remaining > 0 && n + w->itemsize <= cap) {
        memcpy(buf + n, w->data + w->offset, w->itemsize);
        n += w->itemsize;
        --*remaining;
        walk_next(w);
    }
    return n;
}

stash_status array_emit_c_order(const stash_array_desc *desc, const void *data,
                                stash_byte_order want, array_chunk_fn emit, void *ctx)
{
    uint64_t count, nbytes;
    stash_status status = stash_array_count(desc, &count);
    if (status == STASH_OK)
        status = stash_array_nbytes(desc, &nbytes);
    if (status != STASH_OK)
        return status;
    size_t itemsize = stash_dtype_size(desc->dtype);
    bool swap = itemsize > 1 && desc->byte_order != want;
    bool c_layout = desc->order == STASH_ORDER_C || stash_array_layout_is_trivial(desc);
    if (!swap && c_layout)
        return nbytes ? emit(ctx, data, (size_t)nbytes) : STASH_OK;

    unsigned char *buf = malloc(CHUNK_BYTES);
    if (!buf)
        return -ENOMEM;
    struct c_order_walk w;
    walk_init(&w, desc, data);
    const unsigned char *next = data;
    uint64_t remaining = count;
    while (status == STASH_OK && remaining > 0) {
        size_t n;
        if (c_layout) {
            n = (size_t)(remaining * itemsize < CHUNK_BYTES ? remaining * itemsize
                                                            : CHUNK_BYTES / itemsize * itemsize);
            memcpy(buf, next, n);
            next += n;
            remaining -= n / itemsize;
        } else {
            n = walk_fill(&w, buf, CHUNK_BYTES, &remaining);
        }
        if (swap)
            array_swap_elements(desc->dtype, buf, n / itemsize);
        status = emit(ctx, buf, n);
    }
    free(buf);
    return status;
}

struct gather {
    unsigned char *out;
    size_t at;
};

static stash_status gather_chunk(void *ctx, const void *bytes, size_t len)
{
    struct gather *g = ctx;
    memcpy(g->out + g->at, bytes, len);
    g->at += len;
    return STASH_OK;
}

stash_status array_copy_c_order(const stash_array_desc *desc, const void *data,
                                stash_byte_order want, void **copy)
{
    uint64_t nbytes;
    stash_status status = stash_array_nbytes(desc, &nbytes);
    if (status != STASH_OK)
        return status;
    struct gather g = {malloc(nbytes ? (size_t)nbytes : 1), 0};
    if (!g.out)
        return -ENOMEM;
    status = array_emit_c_order(desc, data, want, gather_chunk, &g);
    if (status != STASH_OK) {
        free(g.out);
        return status;
    }
    *copy = g.out;
    return STASH_OK;
}
