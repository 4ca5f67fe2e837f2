/*
 * The relay's messages, encoded and checked byte by byte (little-endian
 * whatever the host). Everything a peer sends is checked here before the
 * subscriber acts on it; the checks are pure, so they are fuzzed.
 */
#include "relay/relay_msg.h"
#include "ring/ring_internal.h"
#include <stash/relay.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void relay_header_put(unsigned char out[RELAY_HEADER_BYTES], enum relay_type type,
                      uint32_t writer_session, uint64_t first_sample, uint64_t count)
{
    memcpy(out, RELAY_MAGIC, 4);
    put_u16(out + 4, RELAY_VERSION);
    out[6] = (unsigned char)type;
    out[7] = 0;
    put_u32(out + 8, writer_session);
    put_u32(out + 12, 0);
    put_u64(out + 16, first_sample);
    put_u64(out + 24, count);
}

/* What each type says of its count and body; META's body is checked by relay_meta_parse. */
static bool type_fits(enum relay_type type, uint64_t count, size_t body_bytes)
{
    switch (type) {
    case RELAY_META:
        return count == 0 && body_bytes >= RELAY_META_FIXED_BYTES;
    case RELAY_DATA:
        return count >= 1 && body_bytes >= 1;
    case RELAY_GAP:
        return count >= 1 && body_bytes == 0;
    case RELAY_HEARTBEAT:
    case RELAY_GOODBYE:
        return count == 0 && body_bytes == 0;
    }
    return false; /* an unknown type */
}

stash_status relay_msg_parse(const void *bytes, size_t len, struct relay_msg *msg)
{
    const unsigned char *p = bytes;
    if (len < RELAY_HEADER_BYTES || memcmp(p, RELAY_MAGIC, 4) != 0)
        return STASH_E_CORRUPT;
    if (get_u16(p + 4) != RELAY_VERSION)
        return STASH_E_VERSION;
    enum relay_type type = (enum relay_type)p[6];
    uint64_t first = get_u64(p + 16), count = get_u64(p + 24);
    size_t body_bytes = len - RELAY_HEADER_BYTES;
    if (p[7] != 0 || get_u32(p + 12) != 0 || body_bytes > RELAY_BODY_MAX + RELAY_META_FIXED_BYTES ||
        !type_fits(type, count, body_bytes))
        return STASH_E_CORRUPT;
    if (first > RELAY_SAMPLE_MAX || count > RELAY_SAMPLE_MAX - first)
        return STASH_E_CORRUPT;
    *msg = (struct relay_msg){.type = type, .writer_session = get_u32(p + 8),
                              .first_sample = first, .count = count,
                              .body = p + RELAY_HEADER_BYTES, .body_bytes = body_bytes};
    return STASH_OK;
}

stash_status relay_data_check(const struct relay_msg *msg, const struct relay_meta *meta)
{
    /* count <= chunk_samples < 2^32 and frame_bytes < 2^21: the product cannot overflow. */
    if (msg->count > meta->chunk_samples ||
        msg->body_bytes != msg->count * (uint64_t)meta->frame_bytes)
        return STASH_E_CORRUPT;
    return STASH_OK;
}

stash_status relay_sequence(uint64_t expected, uint32_t session, const struct relay_msg *msg,
                            uint64_t *skip_to, uint64_t *next)
{
    /* Where the message leaves the stream, its count included (a GAP's can be 2^62): the
     * jump is measured to there, so no message can move the copy absurdly far ahead. */
    uint64_t first = msg->first_sample, end = first + msg->count; /* <= 2^62: parsed */
    if (msg->writer_session < session || first < expected || end - expected > RELAY_JUMP_MAX)
        return STASH_E_CORRUPT;
    switch (msg->type) {
    case RELAY_DATA:
        *skip_to = first;
        *next = first + msg->count;
        break;
    case RELAY_GAP:
        *skip_to = first + msg->count; /* [expected, first) was lost too */
        *next = *skip_to;
        break;
    default:
        /* first is the next sample the publisher will send: whatever it sent before, DATA
         * or GAP, was lost on the way (PUB drops past its high-water mark). Said now, not
         * at the next DATA, which a paused source may not send for long. */
        *skip_to = first;
        *next = first;
        break;
    }
    return STASH_OK;
}

/* ---- META ------------------------------------------------------------------------------ */

static size_t strings_bytes(const char *const *strings, uint32_t channels)
{
    size_t total = 0;
    for (uint32_t i = 0; i < channels; i++)
        total += strlen(strings[i]) + 1;
    return total;
}

size_t relay_meta_body_bytes(const stash_ring_info *info)
{
    return RELAY_META_FIXED_BYTES + strings_bytes(info->labels, info->channels) +
           strings_bytes(info->units, info->channels);
}

static unsigned char *put_strings(unsigned char *at, const char *const *strings, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(strings[i]) + 1;
        memcpy(at, strings[i], len);
        at += len;
    }
    return at;
}

void relay_meta_put(unsigned char *out, const stash_ring_info *info, uint32_t chunk_samples)
{
    size_t body = relay_meta_body_bytes(info);
    put_u32(out, info->channels);
    put_u32(out + 4, (uint32_t)info->frame_bytes);
    ring_dtype_field(info->dtype, (char *)out + 8);
    put_u64(out + 16, info->capacity_samples);
    uint64_t rate;
    memcpy(&rate, &info->rate_hz, sizeof rate); /* IEEE double, sent as its bits */
    put_u64(out + 24, rate);
    put_u32(out + 32, chunk_samples);
    put_u32(out + 36, (uint32_t)(body - RELAY_META_FIXED_BYTES));
    put_strings(put_strings(out + RELAY_META_FIXED_BYTES, info->labels, info->channels),
                info->units, info->channels);
}

uint64_t relay_copy_capacity(const struct relay_meta *m, uint64_t asked)
{
    if (asked)
        return asked;
    uint64_t most = STASH_RELAY_DEFAULT_COPY_BYTES / (m->frame_bytes ? m->frame_bytes : 1);
    return m->capacity_samples < most ? m->capacity_samples : (most ? most : 1);
}

uint64_t relay_chunk_limit(uint32_t frame_bytes)
{
    uint64_t n = frame_bytes ? RELAY_BODY_MAX / frame_bytes : 1;
    return n ? n : 1;
}

/* The fixed fields against each other and against what a ring may be. */
static stash_status meta_geometry(const unsigned char *body, struct relay_meta *m)
{
    uint64_t rate_bits = get_u64(body + 24);
    memcpy(&m->rate_hz, &rate_bits, sizeof m->rate_hz);
    m->channels = get_u32(body);
    m->frame_bytes = get_u32(body + 4);
    m->capacity_samples = get_u64(body + 16);
    m->chunk_samples = get_u32(body + 32);
    stash_status st = ring_dtype_parse((const char *)body + 8, &m->dtype);
    if (st != STASH_OK)
        return st == STASH_E_DTYPE ? st : STASH_E_CORRUPT;
    if (!isfinite(m->rate_hz) || m->rate_hz < 0 || m->channels == 0 ||
        m->channels > STASH_RING_MAX_CHANNELS ||
        m->frame_bytes != m->channels * stash_dtype_size(m->dtype) || m->chunk_samples == 0 ||
        m->chunk_samples > relay_chunk_limit(m->frame_bytes))
        return STASH_E_CORRUPT;
    return STASH_OK;
}

stash_status relay_meta_parse(const unsigned char *body, size_t len, struct relay_meta *meta)
{
    if (len < RELAY_META_FIXED_BYTES || get_u32(body + 36) != len - RELAY_META_FIXED_BYTES)
        return STASH_E_CORRUPT;
    struct relay_meta m = {0};
    stash_status st = meta_geometry(body, &m);
    if (st != STASH_OK)
        return st;
    m.strings = calloc(2 * (size_t)m.channels, sizeof *m.strings);
    if (m.strings == NULL)
        return -ENOMEM;
    st = ring_meta_split((const char *)body + RELAY_META_FIXED_BYTES,
                         (uint32_t)(len - RELAY_META_FIXED_BYTES), m.channels, m.strings);
    /* The capacity and the strings' room in a header, as creating a copy would check them. */
    stash_ring_config cfg = {.channels = m.channels, .capacity_samples = m.capacity_samples,
                             .dtype = m.dtype, .rate_hz = m.rate_hz, .labels = m.strings,
                             .units = m.strings + m.channels};
    struct ring_geometry geo;
    if (st == STASH_OK && ring_geometry_plan(&cfg, false, &geo) != STASH_OK)
        st = STASH_E_CORRUPT;
    if (st != STASH_OK) {
        free(m.strings);
        return STASH_E_CORRUPT;
    }
    *meta = m;
    return STASH_OK;
}

void relay_meta_free(struct relay_meta *meta)
{
    free(meta->strings);
    meta->strings = NULL;
}
