/*
 * Typed codecs on streams. A value served from the stream's view costs a
 * bounds check, a load and a byte swap (stream_take); otherwise it is read
 * whole or not at all. Arrays move in one read or in blocks and are swapped
 * in place.
 */
#include <stash/bytes.h>

#include "stream/stream_internal.h"

#include <errno.h>

/* Bytes an array write byte-swaps on the stack at a time. */
#define SWAP_BLOCK_BYTES 4096

static stash_status check_count(size_t n, size_t size, size_t *bytes)
{
    if (n > SIZE_MAX / size)
        return STASH_E_RANGE;
    *bytes = n * size;
    return STASH_OK;
}

#define DEFINE_STREAM_CODEC(name, ctype, bits, order, convert)                               \
    stash_status stash_stream_read_##name##order(stash_stream *s, ctype *v)                  \
    {                                                                                        \
        unsigned char scratch[sizeof(ctype)];                                                \
        const unsigned char *bytes;                                                          \
        if (s == NULL)                                                                       \
            return STASH_E_CLOSED;                                                           \
        if (v == NULL)                                                                       \
            return STASH_E_INVALID;                                                          \
        stash_status status = stream_take(s, sizeof(ctype), scratch, &bytes);                \
        if (status == STASH_OK)                                                              \
            *v = stash_bytes_load_##name##order(bytes);                                      \
        return status;                                                                       \
    }                                                                                        \
    stash_status stash_stream_write_##name##order(stash_stream *s, ctype v)                  \
    {                                                                                        \
        unsigned char bytes[sizeof(ctype)];                                                  \
        stash_bytes_store_##name##order(bytes, v);                                           \
        return stash_stream_write(s, bytes, sizeof bytes);                                   \
    }                                                                                        \
    stash_status stash_stream_read_##name##order##_array(stash_stream *s, ctype *v,          \
                                                         size_t n)                           \
    {                                                                                        \
        size_t bytes;                                                                        \
        stash_status status = check_count(n, sizeof(ctype), &bytes);                         \
        if (status == STASH_OK)                                                              \
            status = stash_stream_read_exact(s, v, bytes);                                   \
        if (status == STASH_OK && convert(bits, (uint##bits##_t)1) != 1)                     \
            for (size_t i = 0; i < n; i++)                                                   \
                v[i] = stash_bytes_load_##name##order(&v[i]);                                \
        return status;                                                                       \
    }                                                                                        \
    stash_status stash_stream_write_##name##order##_array(stash_stream *s, const ctype *v,   \
                                                          size_t n)                          \
    {                                                                                        \
        size_t bytes;                                                                        \
        stash_status status = check_count(n, sizeof(ctype), &bytes);                         \
        if (status != STASH_OK)                                                              \
            return status;                                                                   \
        if (convert(bits, (uint##bits##_t)1) == 1)                                           \
            return stash_stream_write(s, v, bytes);                                          \
        unsigned char block[SWAP_BLOCK_BYTES];                                               \
        const size_t per_block = sizeof block / sizeof(ctype);                               \
        for (size_t i = 0; i < n && status == STASH_OK; i += per_block) {                    \
            size_t count = n - i < per_block ? n - i : per_block;                            \
            for (size_t j = 0; j < count; j++)                                               \
                stash_bytes_store_##name##order(block + j * sizeof(ctype), v[i + j]);        \
            status = stash_stream_write(s, block, count * sizeof(ctype));                    \
        }                                                                                    \
        return status;                                                                       \
    }

#define DEFINE_BOTH(name, ctype, bits) STASH_BYTES_ORDERS(DEFINE_STREAM_CODEC, name, ctype, bits)
STASH_BYTES_TYPES(DEFINE_BOTH)

stash_status stash_stream_read_u8(stash_stream *s, uint8_t *v)
{
    return stash_stream_read_exact(s, v, 1);
}

stash_status stash_stream_read_i8(stash_stream *s, int8_t *v)
{
    return stash_stream_read_exact(s, v, 1);
}

stash_status stash_stream_write_u8(stash_stream *s, uint8_t v)
{
    return stash_stream_write(s, &v, 1);
}

stash_status stash_stream_write_i8(stash_stream *s, int8_t v)
{
    return stash_stream_write(s, &v, 1);
}
