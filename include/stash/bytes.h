/*
 * stash/bytes.h - typed little- and big-endian codecs.
 *
 * Types: u8, i8 (no byte order), and u16, u32, u64, i16, i32, i64, f32, f64,
 * each in little endian (le) and big endian (be). Three layers:
 *
 *   1. Raw buffers, unchecked, static inline (one load and a byte swap):
 *        uint32_t stash_bytes_load_u32le(const void *p);
 *        void     stash_bytes_store_u32le(void *p, uint32_t v);
 *      The caller guarantees the bytes exist. Any alignment is fine.
 *
 *   2. Raw buffers with a cursor, bounds-checked, static inline:
 *        stash_status stash_bytes_read_u32le(const void *buf, size_t len,
 *                                            size_t *offset, uint32_t *v);
 *        stash_status stash_bytes_write_u32le(void *buf, size_t cap,
 *                                             size_t *offset, uint32_t v);
 *      If fewer than sizeof(v) bytes remain after *offset they return
 *      STASH_E_EOF (read) or STASH_E_FULL (write) and leave *offset and *v
 *      untouched; otherwise they advance *offset.
 *
 *   3. Streams, at the current position (see stream.h):
 *        stash_status stash_stream_read_u32le(stash_stream *s, uint32_t *v);
 *        stash_status stash_stream_write_u32le(stash_stream *s, uint32_t v);
 *        stash_status stash_stream_read_u32le_array(stash_stream *s,
 *                                                   uint32_t *v, size_t n);
 *        stash_status stash_stream_write_u32le_array(stash_stream *s,
 *                                                    const uint32_t *v, size_t n);
 *      A short read returns STASH_E_EOF and consumes nothing. Reads served
 *      from a stream's buffer cost one bounds check and a load; the arrays
 *      move whole blocks and swap in place.
 *
 * Writers take the exact-width type, so a wider value keeps its low bits
 * (C's conversion to the unsigned type), as SpiNNaker's writers did. Bytes
 * written are counted by stash_stream_bytes_written().
 *
 * Thread-safety: layers 1 and 2 are pure functions; layer 3 follows the
 * stream's rules (one thread at a time per stream).
 */
#ifndef STASH_BYTES_H
#define STASH_BYTES_H

#include <stash/error.h>
#include <stash/stream.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__)
#error "stash/bytes.h needs a compiler that defines __BYTE_ORDER__ (gcc or clang)"
#endif

/* Byte order conversions between the host and le/be: identity or a bswap. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define STASH_BYTES_LE_(bits, x) (x)
#define STASH_BYTES_BE_(bits, x) __builtin_bswap##bits(x)
#else
#define STASH_BYTES_LE_(bits, x) __builtin_bswap##bits(x)
#define STASH_BYTES_BE_(bits, x) (x)
#endif

/* Every multi-byte type: X(name, C type, bits). */
#define STASH_BYTES_TYPES(X)                                                                 \
    X(u16, uint16_t, 16)                                                                     \
    X(u32, uint32_t, 32)                                                                     \
    X(u64, uint64_t, 64)                                                                     \
    X(i16, int16_t, 16)                                                                      \
    X(i32, int32_t, 32)                                                                      \
    X(i64, int64_t, 64)                                                                      \
    X(f32, float, 32)                                                                        \
    X(f64, double, 64)

/* Both byte orders: Y(suffix, STASH_BYTES_LE_ or STASH_BYTES_BE_). */
#define STASH_BYTES_ORDERS(Y, name, ctype, bits)                                             \
    Y(name, ctype, bits, le, STASH_BYTES_LE_)                                                \
    Y(name, ctype, bits, be, STASH_BYTES_BE_)

/* Layers 1 and 2 for one type and byte order. The memcpy calls compile to
 * single loads and stores; going through uintN_t keeps floats bit-exact. */
#define STASH_BYTES_DEFINE_(name, ctype, bits, order, convert)                               \
    static inline ctype stash_bytes_load_##name##order(const void *p)                        \
    {                                                                                        \
        uint##bits##_t raw;                                                                  \
        ctype v;                                                                             \
        memcpy(&raw, p, sizeof raw);                                                         \
        raw = convert(bits, raw);                                                            \
        memcpy(&v, &raw, sizeof v);                                                          \
        return v;                                                                            \
    }                                                                                        \
    static inline void stash_bytes_store_##name##order(void *p, ctype v)                     \
    {                                                                                        \
        uint##bits##_t raw;                                                                  \
        memcpy(&raw, &v, sizeof raw);                                                        \
        raw = convert(bits, raw);                                                            \
        memcpy(p, &raw, sizeof raw);                                                         \
    }                                                                                        \
    static inline stash_status stash_bytes_read_##name##order(const void *buf, size_t len,   \
                                                              size_t *offset, ctype *v)      \
    {                                                                                        \
        if (len < sizeof(ctype) || *offset > len - sizeof(ctype)) /* one test in a loop */   \
            return STASH_E_EOF;                                                              \
        *v = stash_bytes_load_##name##order((const unsigned char *)buf + *offset);           \
        *offset += sizeof(ctype);                                                            \
        return STASH_OK;                                                                     \
    }                                                                                        \
    static inline stash_status stash_bytes_write_##name##order(void *buf, size_t cap,        \
                                                               size_t *offset, ctype v)      \
    {                                                                                        \
        if (cap < sizeof(ctype) || *offset > cap - sizeof(ctype))                            \
            return STASH_E_FULL;                                                             \
        stash_bytes_store_##name##order((unsigned char *)buf + *offset, v);                  \
        *offset += sizeof(ctype);                                                            \
        return STASH_OK;                                                                     \
    }

#define STASH_BYTES_DEFINE_BOTH_(name, ctype, bits)                                          \
    STASH_BYTES_ORDERS(STASH_BYTES_DEFINE_, name, ctype, bits)
STASH_BYTES_TYPES(STASH_BYTES_DEFINE_BOTH_)
#undef STASH_BYTES_DEFINE_BOTH_
#undef STASH_BYTES_DEFINE_

/* Single bytes have no byte order. */
static inline uint8_t stash_bytes_load_u8(const void *p)
{
    return *(const uint8_t *)p;
}
static inline int8_t stash_bytes_load_i8(const void *p)
{
    return (int8_t)*(const uint8_t *)p;
}
static inline void stash_bytes_store_u8(void *p, uint8_t v)
{
    *(uint8_t *)p = v;
}
static inline void stash_bytes_store_i8(void *p, int8_t v)
{
    *(uint8_t *)p = (uint8_t)v;
}

/* Layer 3: stream codecs, defined in src/stream/bytes.c. */
#define STASH_BYTES_DECLARE_STREAM_(name, ctype, bits, order, convert)                       \
    STASH_API stash_status stash_stream_read_##name##order(stash_stream *s, ctype *v);       \
    STASH_API stash_status stash_stream_write_##name##order(stash_stream *s, ctype v);       \
    STASH_API stash_status stash_stream_read_##name##order##_array(stash_stream *s,          \
                                                                   ctype *v, size_t n);      \
    STASH_API stash_status stash_stream_write_##name##order##_array(                         \
        stash_stream *s, const ctype *v, size_t n);
#define STASH_BYTES_DECLARE_BOTH_(name, ctype, bits)                                         \
    STASH_BYTES_ORDERS(STASH_BYTES_DECLARE_STREAM_, name, ctype, bits)
STASH_BYTES_TYPES(STASH_BYTES_DECLARE_BOTH_)
#undef STASH_BYTES_DECLARE_BOTH_
#undef STASH_BYTES_DECLARE_STREAM_

STASH_API stash_status stash_stream_read_u8(stash_stream *s, uint8_t *v);
STASH_API stash_status stash_stream_read_i8(stash_stream *s, int8_t *v);
STASH_API stash_status stash_stream_write_u8(stash_stream *s, uint8_t v);
STASH_API stash_status stash_stream_write_i8(stash_stream *s, int8_t v);

#ifdef __cplusplus
}
#endif
#endif /* STASH_BYTES_H */
