/*
 * The range backend: a read-only window [start, end) over another stream,
 * nengo's Subfile done right. Offsets are relative to start; every read and
 * peek is cut at end (nengo's readinto was not), seeks clamp into the window,
 * and the base's own position is never used or moved, so any number of
 * windows can read one base.
 */
#include "stream/stream_internal.h"

#include <errno.h>
#include <stdlib.h>

struct range_ctx {
    stash_stream *base;
    uint64_t start, len;
};

static size_t clip(const struct range_ctx *r, uint64_t offset, size_t len)
{
    if (offset >= r->len)
        return 0;
    return r->len - offset < len ? (size_t)(r->len - offset) : len;
}

static stash_status range_pread(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got)
{
    const struct range_ctx *r = ctx;
    size_t n = clip(r, offset, len);
    if (n == 0) {
        *got = 0;
        return STASH_OK;
    }
    return stash_stream_pread(r->base, buf, n, r->start + offset, got);
}

static stash_status range_peek(void *ctx, uint64_t offset, const void **data, size_t *len)
{
    const struct range_ctx *r = ctx;
    if (offset >= r->len) {
        *data = NULL;
        *len = 0;
        return STASH_OK;
    }
    size_t n;
    stash_status status = stream_peek_at(r->base, r->start + offset, data, &n);
    if (status == STASH_OK)
        *len = clip(r, offset, n);
    return status;
}

static stash_status range_size(void *ctx, uint64_t *size)
{
    *size = ((const struct range_ctx *)ctx)->len;
    return STASH_OK;
}

static stash_status range_close(void *ctx)
{
    free(ctx);
    return STASH_OK;
}

static const stash_stream_backend range_backend = {
    .version = STASH_STREAM_BACKEND_V1,
    .flags = STASH_BACKEND_CLAMP_SEEK | BACKEND_VIEW_BORROWED,
    .pread = range_pread,
    .size = range_size,
    .peek = range_peek,
    .close = range_close,
};

stash_status stash_stream_open_range(stash_stream *base, uint64_t start, uint64_t end,
                                     stash_stream **out)
{
    if (base == NULL)
        return STASH_E_CLOSED;
    if (out == NULL || start > end)
        return STASH_E_INVALID;
    if (!(base->directions & STASH_STREAM_READ))
        return STASH_E_NOT_READABLE;
    uint64_t base_size;
    stash_status status = stash_stream_size(base, &base_size);
    if (status != STASH_OK)
        return status;
    if (end > base_size)
        return STASH_E_RANGE;
    struct range_ctx *r = malloc(sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    *r = (struct range_ctx){.base = base, .start = start, .len = end - start};
    status = stream_create(&range_backend, r, STASH_STREAM_READ, out);
    if (status != STASH_OK)
        free(r);
    return status;
}
