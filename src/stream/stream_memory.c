/*
 * The memory backend: a view of caller bytes (read-only), a caller's fixed
 * buffer, or a buffer the stream owns and grows geometrically.
 *
 * Invariant: size <= capacity, and bytes [0, size) are the content. A write
 * past size zero-fills the gap first, so a hole reads back as zeros.
 */
#include "core/checked.h"
#include "stream/stream_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct memory_ctx {
    unsigned char *data;
    size_t size, capacity;
    bool owned; /* data is ours: free it, and grow it when needed */
};

static stash_status memory_pread(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got)
{
    const struct memory_ctx *m = ctx;
    size_t n = 0;
    if (offset < m->size) {
        n = m->size - (size_t)offset < len ? m->size - (size_t)offset : len;
        memcpy(buf, m->data + offset, n);
    }
    *got = n;
    return STASH_OK;
}

static stash_status memory_peek(void *ctx, uint64_t offset, const void **data, size_t *len)
{
    const struct memory_ctx *m = ctx;
    *data = offset < m->size ? m->data + offset : NULL;
    *len = offset < m->size ? m->size - (size_t)offset : 0;
    return STASH_OK;
}

static stash_status grow(struct memory_ctx *m, size_t needed)
{
    if (!m->owned)
        return STASH_E_FULL;
    size_t capacity = m->capacity < 64 ? 64 : m->capacity;
    while (capacity < needed)
        capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
    unsigned char *data = realloc(m->data, capacity);
    if (data == NULL)
        return -ENOMEM;
    m->data = data;
    m->capacity = capacity;
    return STASH_OK;
}

static stash_status memory_pwrite(void *ctx, const void *buf, size_t len, uint64_t offset)
{
    struct memory_ctx *m = ctx;
    if (!range_within(offset, len, SIZE_MAX))
        return m->owned ? -ENOMEM : STASH_E_FULL;
    size_t end = (size_t)offset + len;
    if (end > m->capacity) {
        stash_status status = grow(m, end);
        if (status != STASH_OK)
            return status;
    }
    if (offset > m->size)
        memset(m->data + m->size, 0, (size_t)offset - m->size);
    memcpy(m->data + offset, buf, len);
    if (end > m->size)
        m->size = end;
    assert(m->size <= m->capacity);
    return STASH_OK;
}

static stash_status memory_size(void *ctx, uint64_t *size)
{
    *size = ((const struct memory_ctx *)ctx)->size;
    return STASH_OK;
}

static stash_status memory_close(void *ctx)
{
    struct memory_ctx *m = ctx;
    if (m->owned)
        free(m->data);
    free(m);
    return STASH_OK;
}

const stash_stream_backend stash_memory_backend_ = {
    .version = STASH_STREAM_BACKEND_V1,
    .pread = memory_pread,
    .pwrite = memory_pwrite,
    .size = memory_size,
    .peek = memory_peek,
    .close = memory_close,
};

static stash_status open_memory(struct memory_ctx init, unsigned directions, stash_stream **out)
{
    struct memory_ctx *m = malloc(sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    *m = init;
    stash_status status = stream_create(&stash_memory_backend_, m, directions, out);
    if (status != STASH_OK)
        free(m);
    return status;
}

stash_status stash_stream_open_memory(const void *data, size_t size, stash_stream **out)
{
    if ((data == NULL && size != 0) || out == NULL)
        return STASH_E_INVALID;
    /* The cast drops const only for the shared struct; without
     * STASH_STREAM_WRITE the stream layer never lets a write reach it. */
    struct memory_ctx init = {.data = (unsigned char *)(uintptr_t)data, .size = size,
                              .capacity = size};
    return open_memory(init, STASH_STREAM_READ, out);
}

stash_status stash_stream_open_buffer(void *buffer, size_t capacity, size_t size,
                                      stash_stream **out)
{
    if ((buffer == NULL && capacity != 0) || size > capacity || out == NULL)
        return STASH_E_INVALID;
    struct memory_ctx init = {.data = buffer, .size = size, .capacity = capacity};
    return open_memory(init, STASH_STREAM_READ | STASH_STREAM_WRITE, out);
}

stash_status stash_stream_open_growable(size_t initial_capacity, stash_stream **out)
{
    if (out == NULL)
        return STASH_E_INVALID;
    struct memory_ctx init = {.owned = true};
    if (initial_capacity > 0) {
        if ((init.data = malloc(initial_capacity)) == NULL)
            return -ENOMEM;
        init.capacity = initial_capacity;
    }
    stash_status status = open_memory(init, STASH_STREAM_READ | STASH_STREAM_WRITE, out);
    if (status != STASH_OK)
        free(init.data);
    return status;
}

stash_status stash_stream_memory_contents(stash_stream *s, const void **data, size_t *size)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (data == NULL || size == NULL)
        return STASH_E_INVALID;
    if (s->backend != &stash_memory_backend_)
        return STASH_E_UNSUPPORTED;
    const struct memory_ctx *m = s->ctx;
    *data = m->data;
    *size = m->size;
    return STASH_OK;
}
