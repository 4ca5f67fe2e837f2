/*
 * Storages: a stream plus a read pointer, a write pointer and the length.
 * Every access is positional (pread/pwrite at rp or wp), so the two pointers
 * never disturb each other and need no seek. The length is tracked here, so
 * eof and seeks cost no system call.
 */
#include <stash/storage.h>

#include "storage/storage_pool.h"
#include "stream/stream_internal.h"

#include <errno.h>
#include <stdlib.h>

/* Temp storages are many and small: a smaller buffer each. */
#define TEMP_BUFFER_BYTES ((size_t)16 * 1024)

struct stash_storage {
    stash_stream *stream;
    uint64_t rp, wp, length;
};

static stash_status wrap(stash_stream *stream, stash_storage **out)
{
    uint64_t length = 0;
    stash_status status = stash_stream_size(stream, &length);
    stash_storage *st = status == STASH_OK ? calloc(1, sizeof *st) : NULL;
    if (st == NULL) {
        stash_stream_close(&stream);
        return status != STASH_OK ? status : -ENOMEM;
    }
    st->stream = stream;
    st->length = length;
    *out = st;
    return STASH_OK;
}

stash_status stash_storage_open_memory(stash_storage **out)
{
    stash_stream *stream;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_status status = stash_stream_open_growable(0, &stream);
    return status == STASH_OK ? wrap(stream, out) : status;
}

stash_status stash_storage_open_file(const char *path, const char *mode, stash_storage **out)
{
    stash_stream *stream;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_status status = stash_stream_open_file(path, mode, &stream);
    return status == STASH_OK ? wrap(stream, out) : status;
}

stash_status stash_storage_open_temp(stash_storage_pool *pool, stash_storage **out)
{
    struct pool_slot *slot;
    stash_stream *stream;
    if (pool == NULL)
        return STASH_E_CLOSED;
    if (out == NULL)
        return STASH_E_INVALID;
    stash_status status = pool_slot_create(pool, &slot);
    if (status != STASH_OK)
        return status;
    status = pool_slot_open_stream(slot, TEMP_BUFFER_BYTES, &stream);
    return status == STASH_OK ? wrap(stream, out) : status;
}

stash_status stash_storage_close(stash_storage **stp)
{
    if (stp == NULL || *stp == NULL)
        return STASH_OK;
    stash_storage *st = *stp;
    *stp = NULL;
    stash_status status = stash_stream_close(&st->stream);
    free(st);
    return status;
}

stash_status stash_storage_write(stash_storage *st, const void *data, size_t len)
{
    if (st == NULL)
        return STASH_E_CLOSED;
    uint64_t at = (st->stream->directions & STASH_STREAM_APPEND) ? st->length : st->wp;
    stash_status status = stash_stream_pwrite(st->stream, data, len, at);
    if (status != STASH_OK)
        return status;
    st->wp = at + len;
    if (st->wp > st->length)
        st->length = st->wp;
    return STASH_OK;
}

stash_status stash_storage_readinto(stash_storage *st, void *buf, size_t len, size_t *got)
{
    if (st == NULL)
        return STASH_E_CLOSED;
    size_t n = 0;
    stash_status status = stash_stream_pread(st->stream, buf, len, st->rp, &n);
    if (status != STASH_OK)
        return status;
    st->rp += n;
    *got = n;
    return STASH_OK;
}

/* Reads [offset, offset + len) into a new buffer; *data is NULL when empty. */
static stash_status read_new(stash_storage *st, uint64_t offset, uint64_t len, void **data,
                             size_t *got)
{
    if (len > SIZE_MAX)
        return -ENOMEM;
    void *buf = NULL;
    size_t n = 0;
    if (len > 0) {
        if ((buf = malloc((size_t)len)) == NULL)
            return -ENOMEM;
        stash_status status = stash_stream_pread(st->stream, buf, (size_t)len, offset, &n);
        if (status != STASH_OK) {
            free(buf);
            return status;
        }
    }
    if (n == 0) {
        free(buf);
        buf = NULL;
    }
    *data = buf;
    *got = n;
    return STASH_OK;
}

/* Reads up to max bytes from offset on into a new buffer; rp ends after them. */
static stash_status read_from(stash_storage *st, uint64_t offset, size_t max, void **data,
                              size_t *len)
{
    if (st == NULL)
        return STASH_E_CLOSED;
    if (data == NULL || len == NULL)
        return STASH_E_INVALID;
    if (!(st->stream->directions & STASH_STREAM_READ))
        return STASH_E_NOT_READABLE;
    uint64_t left = offset < st->length ? st->length - offset : 0;
    size_t got;
    stash_status status = read_new(st, offset, left < max ? left : max, data, &got);
    if (status == STASH_OK) {
        st->rp = offset + got;
        *len = got;
    }
    return status;
}

stash_status stash_storage_read(stash_storage *st, size_t max, void **data, size_t *len)
{
    return read_from(st, st == NULL ? 0 : st->rp, max, data, len);
}

stash_status stash_storage_read_all(stash_storage *st, void **data, size_t *len)
{
    return read_from(st, 0, STASH_STORAGE_ALL, data, len);
}

static stash_status seek_pointer(stash_storage *st, uint64_t *pointer, int64_t offset,
                                 int whence, uint64_t *pos)
{
    if (st == NULL)
        return STASH_E_CLOSED;
    stash_status status = stream_resolve_seek(*pointer, st->length, offset, whence, true,
                                              pointer);
    if (status == STASH_OK && pos != NULL)
        *pos = *pointer;
    return status;
}

stash_status stash_storage_seek_read(stash_storage *st, int64_t offset, int whence,
                                     uint64_t *pos)
{
    return seek_pointer(st, st == NULL ? NULL : &st->rp, offset, whence, pos);
}

stash_status stash_storage_seek_write(stash_storage *st, int64_t offset, int whence,
                                      uint64_t *pos)
{
    return seek_pointer(st, st == NULL ? NULL : &st->wp, offset, whence, pos);
}

uint64_t stash_storage_tell_read(const stash_storage *st)
{
    return st == NULL ? 0 : st->rp;
}

uint64_t stash_storage_tell_write(const stash_storage *st)
{
    return st == NULL ? 0 : st->wp;
}

uint64_t stash_storage_length(const stash_storage *st)
{
    return st == NULL ? 0 : st->length;
}

bool stash_storage_eof(const stash_storage *st)
{
    return st == NULL || st->rp >= st->length;
}

stash_status stash_storage_flush(stash_storage *st)
{
    return st == NULL ? STASH_E_CLOSED : stash_stream_flush(st->stream);
}

stash_stream *stash_storage_stream(stash_storage *st)
{
    return st == NULL ? NULL : st->stream;
}
