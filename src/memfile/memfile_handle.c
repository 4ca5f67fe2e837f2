/*
 * Handles on a memory file: streams whose backend is the memory file itself,
 * and FILE *s over such streams. The stream layer keeps each handle's
 * position and mode; a handle owns one reference to its memory file.
 */
#include "core/checked.h"
#include "memfile/memfile_internal.h"
#include "core/mode.h"
#include "stream/stream_internal.h"

#include <stdlib.h>

static stash_status handle_pread(void *ctx, void *buf, size_t len, uint64_t offset,
                                 size_t *got)
{
    if (offset > FILE_OFFSET_MAX) {
        *got = 0; /* past any possible end */
        return STASH_OK;
    }
    return memfile_read(ctx, buf, len, offset, got);
}

static stash_status handle_pwrite(void *ctx, const void *buf, size_t len, uint64_t offset)
{
    return memfile_write(ctx, buf, len, offset);
}

static stash_status handle_append(void *ctx, const void *buf, size_t len, uint64_t *offset)
{
    return memfile_append(ctx, buf, len, offset);
}

static stash_status handle_size(void *ctx, uint64_t *size)
{
    return memfile_current_size(ctx, size);
}

/* A view straight into the mapping. The stream never caches it (another
 * handle may shrink the file), and locked files do not offer it at all:
 * a read through it would bypass the lock. */
static stash_status handle_peek(void *ctx, uint64_t offset, const void **data, size_t *len)
{
    stash_memfile *mf = ctx;
    uint64_t size;
    stash_status status = memfile_current_size(mf, &size);
    if (status != STASH_OK)
        return status;
    if (offset >= mf->max_size && offset < size)
        return STASH_E_UNSUPPORTED; /* grown through a descriptor past the mapping */
    size = size < mf->max_size ? size : mf->max_size;
    *data = offset < size ? mf->base + offset : NULL;
    *len = offset < size ? (size_t)(size - offset) : 0;
    return STASH_OK;
}

static stash_status handle_close(void *ctx)
{
    return memfile_release(ctx);
}

#define HANDLE_OPERATIONS                                                         \
    .version = STASH_STREAM_BACKEND_V1,                                           \
    .flags = BACKEND_VIEW_BORROWED | BACKEND_ATOMIC_APPEND | BACKEND_DIRECT_READS,       \
    .pread = handle_pread,                                                        \
    .pwrite = handle_pwrite, .size = handle_size, .close = handle_close

static const struct stream_appending_backend unlocked_handle = {
    .base = {HANDLE_OPERATIONS, .peek = handle_peek},
    .append = handle_append,
};

static const struct stream_appending_backend locked_handle = {
    .base = {HANDLE_OPERATIONS},
    .append = handle_append,
};

stash_status stash_memfile_open(stash_memfile *mf, const char *mode, stash_stream **out)
{
    struct stash_mode m;
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_status status = mode_parse(mode, &m);
    if (status != STASH_OK)
        return status;
    const struct stream_appending_backend *backend =
        (mf->flags & STASH_MEMFILE_LOCKED) ? &locked_handle : &unlocked_handle;
    stash_stream *s;
    status = stream_create(&backend->base, mf, m.directions, &s);
    if (status != STASH_OK)
        return status;
    memfile_retain(mf); /* from here closing s releases it */
    uint64_t end;
    status = memfile_prepare_open(mf, m.open_flags, &end);
    if (status != STASH_OK) {
        stash_stream_close(&s);
        return status;
    }
    if (m.directions & STASH_STREAM_APPEND)
        s->pos = end;
    *out = s;
    return STASH_OK;
}

stash_status stash_memfile_fopen(stash_memfile *mf, const char *mode, FILE **out)
{
    if (mf == NULL)
        return STASH_E_CLOSED;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_stream *s;
    stash_status status = stash_memfile_open(mf, mode, &s);
    if (status != STASH_OK)
        return status;
    status = stream_fopen(s, mode, true, out);
    if (status != STASH_OK)
        stash_stream_close(&s);
    return status;
}
