/*
 * The stream layer: argument checks, directions, the position and the view
 * cache, over any backend. Backends (stream_file.c, stream_memory.c,
 * stream_range.c) only move bytes at offsets.
 */
#include "core/checked.h"
#include "stream/stream_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads shorter than this refill the view instead of calling pread, so a run
 * of small reads costs one backend call per buffer, not per read. */
#define SMALL_READ_BYTES 4096

stash_status stream_create(const stash_stream_backend *backend, void *ctx,
                           unsigned directions, stash_stream **out)
{
    stash_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->backend = backend;
    s->ctx = ctx;
    s->directions = directions;
    *out = s;
    return STASH_OK;
}

stash_status stash_stream_open_backend(const stash_stream_backend *backend, void *ctx,
                                       unsigned directions, stash_stream **out)
{
    const unsigned known = STASH_STREAM_READ | STASH_STREAM_WRITE | STASH_STREAM_APPEND;
    if (backend == NULL || out == NULL || backend->version != STASH_STREAM_BACKEND_V1)
        return STASH_E_INVALID;
    if (backend->pread == NULL || backend->size == NULL || (directions & ~known) != 0)
        return STASH_E_INVALID;
    if ((backend->flags & ~(unsigned)STASH_BACKEND_CLAMP_SEEK) != 0)
        return STASH_E_INVALID; /* the other bits are internal */
    if ((directions & STASH_STREAM_WRITE) && backend->pwrite == NULL)
        return STASH_E_INVALID;
    if ((directions & STASH_STREAM_APPEND) && !(directions & STASH_STREAM_WRITE))
        return STASH_E_INVALID;
    return stream_create(backend, ctx, directions, out);
}

stash_status stash_stream_close(stash_stream **sp)
{
    if (sp == NULL || *sp == NULL)
        return STASH_OK;
    stash_stream *s = *sp;
    *sp = NULL;
    stash_status status = STASH_OK;
    if (s->backend->close != NULL)
        status = s->backend->close(s->ctx);
    free(s);
    return status;
}

static stash_status check_read(const stash_stream *s, const void *buf, size_t len)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (buf == NULL && len != 0)
        return STASH_E_INVALID;
    if (!(s->directions & STASH_STREAM_READ))
        return STASH_E_NOT_READABLE;
    return STASH_OK;
}

static stash_status check_write(const stash_stream *s, const void *buf, size_t len)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (buf == NULL && len != 0)
        return STASH_E_INVALID;
    if (!(s->directions & STASH_STREAM_WRITE))
        return STASH_E_NOT_WRITABLE;
    return STASH_OK;
}

stash_status stream_peek_at(stash_stream *s, uint64_t offset, const void **data, size_t *len)
{
    uint64_t into = offset - s->view_offset;
    if (s->view_len > 0 && offset >= s->view_offset && into < s->view_len) {
        *data = s->view + into;
        *len = s->view_len - (size_t)into;
        return STASH_OK;
    }
    if (s->backend->peek == NULL)
        return STASH_E_UNSUPPORTED;
    const void *view = NULL;
    size_t view_len = 0;
    stream_drop_view(s);
    stash_status status = s->backend->peek(s->ctx, offset, &view, &view_len);
    if (status != STASH_OK)
        return status;
    if (!(s->backend->flags & BACKEND_VIEW_BORROWED)) {
        s->view = view;
        s->view_offset = offset;
        s->view_len = view_len;
    }
    *data = view;
    *len = view_len;
    return STASH_OK;
}

stash_status stash_stream_peek(stash_stream *s, const void **data, size_t *len)
{
    stash_status status = check_read(s, data, 1);
    if (status != STASH_OK)
        return status;
    if (len == NULL)
        return STASH_E_INVALID;
    return stream_peek_at(s, s->pos, data, len);
}

/* Copies what the view holds at offset; returns how many bytes. */
static size_t copy_from_view(const stash_stream *s, void *buf, size_t len, uint64_t offset)
{
    if (s->view_len == 0 || offset < s->view_offset || offset - s->view_offset >= s->view_len)
        return 0;
    size_t into = (size_t)(offset - s->view_offset);
    size_t n = s->view_len - into < len ? s->view_len - into : len;
    memcpy(buf, s->view + into, n);
    return n;
}

/* The read path shared by read and pread: view first, then the backend. */
static stash_status read_at(stash_stream *s, void *buf, size_t len, uint64_t offset,
                            size_t *got)
{
    size_t done = copy_from_view(s, buf, len, offset);
    while (done < len) {
        size_t want = len - done;
        bool refill_view = want < SMALL_READ_BYTES && s->backend->peek != NULL &&
                           !(s->backend->flags & BACKEND_DIRECT_READS);
        if (refill_view) {
            const void *view;
            size_t view_len;
            stash_status status = stream_peek_at(s, offset + done, &view, &view_len);
            if (status == STASH_OK && view_len == 0)
                break;
            if (status == STASH_OK) {
                size_t n = view_len < want ? view_len : want;
                memcpy((char *)buf + done, view, n);
                done += n;
                continue;
            }
            /* A backend that cannot show this range (a memory file grown
             * past its view through its descriptor) can still read it. */
            if (status != STASH_E_UNSUPPORTED)
                return status;
        }
        size_t n = 0;
        stream_drop_view(s);
        stash_status status = s->backend->pread(s->ctx, (char *)buf + done, want,
                                                offset + done, &n);
        if (status != STASH_OK)
            return status;
        done += n;
        break; /* a backend returns less than asked only at the end */
    }
    *got = done;
    return STASH_OK;
}

stash_status stash_stream_pread(stash_stream *s, void *buf, size_t len, uint64_t offset,
                                size_t *got)
{
    stash_status status = check_read(s, buf, len);
    if (status != STASH_OK)
        return status;
    if (got == NULL)
        return STASH_E_INVALID;
    return read_at(s, buf, len, offset, got);
}

stash_status stash_stream_read(stash_stream *s, void *buf, size_t len, size_t *got)
{
    stash_status status = check_read(s, buf, len);
    if (status != STASH_OK)
        return status;
    if (got == NULL)
        return STASH_E_INVALID;
    /* Fast path: the view holds all of it. */
    const unsigned char *p = stream_view_at_pos(s, len);
    if (p != NULL) {
        memcpy(buf, p, len);
        s->pos += len;
        *got = len;
        return STASH_OK;
    }
    size_t n = 0;
    status = read_at(s, buf, len, s->pos, &n);
    if (status != STASH_OK)
        return status;
    s->pos += n;
    *got = n;
    return STASH_OK;
}

stash_status stash_stream_read_exact(stash_stream *s, void *buf, size_t len)
{
    stash_status status = check_read(s, buf, len);
    if (status != STASH_OK)
        return status;
    size_t n = 0;
    status = read_at(s, buf, len, s->pos, &n);
    if (status != STASH_OK)
        return status;
    if (n < len)
        return STASH_E_EOF;
    s->pos += n;
    return STASH_OK;
}

stash_status stream_take_slow(stash_stream *s, size_t n, void *scratch,
                              const unsigned char **bytes)
{
    stash_status status = stash_stream_read_exact(s, scratch, n);
    if (status == STASH_OK)
        *bytes = scratch;
    return status;
}

/* Bytes a readline without a view reads ahead; what it overshoots is unread
 * by not moving the position past the newline. */
#define READLINE_CHUNK 256

stash_status stash_stream_readline(stash_stream *s, char *buf, size_t cap, size_t *got)
{
    stash_status status = check_read(s, buf, cap);
    if (status != STASH_OK)
        return status;
    if (cap == 0 || got == NULL)
        return STASH_E_INVALID;
    size_t done = 0;
    bool newline = false;
    while (done < cap - 1 && !newline) {
        size_t room = cap - 1 - done;
        const void *view = NULL;
        size_t n = 0;
        status = stream_peek_at(s, s->pos, &view, &n);
        if (status == STASH_E_UNSUPPORTED) {
            view = buf + done;
            status = read_at(s, buf + done, room < READLINE_CHUNK ? room : READLINE_CHUNK,
                             s->pos, &n);
        }
        if (status != STASH_OK)
            return status;
        if (n == 0)
            break;
        n = n < room ? n : room;
        const char *nl = memchr(view, '\n', n);
        if (nl != NULL) {
            n = (size_t)(nl - (const char *)view) + 1;
            newline = true;
        }
        memmove(buf + done, view, n);
        done += n;
        s->pos += n;
    }
    buf[done] = '\0';
    *got = done;
    return STASH_OK;
}

static stash_status write_at(stash_stream *s, const void *buf, size_t len, uint64_t offset)
{
    if (len == 0)
        return STASH_OK;
    if (!range_within(offset, len, FILE_OFFSET_MAX))
        return STASH_E_RANGE;
    stream_drop_view(s);
    stash_status status = s->backend->pwrite(s->ctx, buf, len, offset);
    if (status == STASH_OK)
        s->bytes_written += len;
    return status;
}

stash_status stash_stream_pwrite(stash_stream *s, const void *buf, size_t len, uint64_t offset)
{
    stash_status status = check_write(s, buf, len);
    if (status != STASH_OK)
        return status;
    return write_at(s, buf, len, offset);
}

static stash_status append_atomically(stash_stream *s, const void *buf, size_t len)
{
    const struct stream_appending_backend *b = (const void *)s->backend;
    uint64_t offset;
    stream_drop_view(s);
    stash_status status = b->append(s->ctx, buf, len, &offset);
    if (status != STASH_OK)
        return status;
    s->bytes_written += len;
    s->pos = offset + len;
    return STASH_OK;
}

stash_status stash_stream_write(stash_stream *s, const void *buf, size_t len)
{
    stash_status status = check_write(s, buf, len);
    if (status != STASH_OK)
        return status;
    uint64_t offset = s->pos;
    if ((s->directions & STASH_STREAM_APPEND) && (s->backend->flags & BACKEND_ATOMIC_APPEND))
        return append_atomically(s, buf, len);
    if (s->directions & STASH_STREAM_APPEND) {
        status = s->backend->size(s->ctx, &offset);
        if (status != STASH_OK)
            return status;
    }
    status = write_at(s, buf, len, offset);
    if (status == STASH_OK)
        s->pos = offset + len;
    return status;
}

stash_status stash_stream_size(stash_stream *s, uint64_t *size)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (size == NULL)
        return STASH_E_INVALID;
    return s->backend->size(s->ctx, size);
}

bool stash_stream_at_end(stash_stream *s)
{
    uint64_t size;
    return stash_stream_size(s, &size) != STASH_OK || s->pos >= size;
}

/* Contract in stream_internal.h; storages share it. */
stash_status stream_resolve_seek(uint64_t current, uint64_t size, int64_t offset, int whence,
                                 bool clamp, uint64_t *result)
{
    uint64_t base;
    switch (whence) {
    case STASH_SEEK_SET: base = 0; break;
    case STASH_SEEK_CUR: base = current; break;
    case STASH_SEEK_END: base = size; break;
    default: return STASH_E_INVALID;
    }
    uint64_t limit = clamp ? size : (uint64_t)INT64_MAX;
    if (offset < 0) {
        uint64_t back = (uint64_t)(-(offset + 1)) + 1; /* |offset| without overflow */
        if (back > base) {
            if (!clamp)
                return STASH_E_INVALID;
            *result = 0;
            return STASH_OK;
        }
        *result = base - back < limit ? base - back : limit;
        return STASH_OK;
    }
    if (base > limit || (uint64_t)offset > limit - base) {
        if (!clamp)
            return STASH_E_RANGE;
        *result = limit;
        return STASH_OK;
    }
    *result = base + (uint64_t)offset;
    return STASH_OK;
}

stash_status stash_stream_seek(stash_stream *s, int64_t offset, int whence, uint64_t *pos)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    bool clamp = (s->backend->flags & STASH_BACKEND_CLAMP_SEEK) != 0;
    uint64_t size = 0;
    if (whence == STASH_SEEK_END || clamp) {
        stash_status status = s->backend->size(s->ctx, &size);
        if (status != STASH_OK)
            return status;
    }
    uint64_t result;
    stash_status status = stream_resolve_seek(s->pos, size, offset, whence, clamp, &result);
    if (status != STASH_OK)
        return status;
    s->pos = result;
    if (pos != NULL)
        *pos = result;
    return STASH_OK;
}

stash_status stash_stream_skip(stash_stream *s, uint64_t len)
{
    if (len > (uint64_t)INT64_MAX)
        return STASH_E_RANGE;
    return stash_stream_seek(s, (int64_t)len, STASH_SEEK_CUR, NULL);
}

uint64_t stash_stream_tell(const stash_stream *s)
{
    return s == NULL ? 0 : s->pos;
}

uint64_t stash_stream_bytes_written(const stash_stream *s)
{
    return s == NULL ? 0 : s->bytes_written;
}

stash_status stash_stream_flush(stash_stream *s)
{
    if (s == NULL)
        return STASH_E_CLOSED;
    if (s->backend->flush == NULL)
        return STASH_OK;
    stream_drop_view(s);
    return s->backend->flush(s->ctx);
}
