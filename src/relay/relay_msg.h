/*
 * The relay's messages (docs/ring.md, "Relaying a ring", is the
 * specification): a 32-byte little-endian header, then a body. Encoding and
 * checking only, with no socket and no state beyond what the caller passes,
 * so every check is fuzzed (fuzz/fuzz_relay_msg.c).
 */
#ifndef STASH_RELAY_MSG_H
#define STASH_RELAY_MSG_H

#include <stash/ring.h>

#include <stddef.h>
#include <stdint.h>

#define RELAY_MAGIC "SRLY"
#define RELAY_VERSION 1u
#define RELAY_HEADER_BYTES 32u
#define RELAY_META_FIXED_BYTES 40u
/* A body is at most this long; the subscriber has ZeroMQ refuse longer messages. */
#define RELAY_BODY_MAX (64u << 20)
/* Sample numbers stay below this (the ring's own limit is 2^63). */
#define RELAY_SAMPLE_MAX (UINT64_C(1) << 62)
/* No stream jumps this far ahead at once: 2^40 samples are 1.1 years at 30 kHz. */
#define RELAY_JUMP_MAX (UINT64_C(1) << 40)

enum relay_type {
    RELAY_META = 1,
    RELAY_DATA = 2,
    RELAY_GAP = 3,
    RELAY_HEARTBEAT = 4,
    RELAY_GOODBYE = 5,
};

/* A checked header and where its body is (inside the bytes given to relay_msg_parse). */
struct relay_msg {
    enum relay_type type;
    uint32_t writer_session;
    uint64_t first_sample;
    uint64_t count;
    const unsigned char *body;
    size_t body_bytes;
};

/* A checked META body. strings (2 x channels, labels then units) point into the body. */
struct relay_meta {
    uint32_t channels;
    uint32_t frame_bytes;
    stash_dtype dtype;
    uint64_t capacity_samples;
    double rate_hz;
    uint32_t chunk_samples;
    const char **strings; /* malloc'd by relay_meta_parse; relay_meta_free frees it */
};

/* Writes a header into out. */
void relay_header_put(unsigned char out[RELAY_HEADER_BYTES], enum relay_type type,
                      uint32_t writer_session, uint64_t first_sample, uint64_t count);

/*
 * Checks a message's header and what its type says of its count and body
 * (not a DATA body against the frame size: relay_data_check), and fills
 * msg. STASH_E_CORRUPT or STASH_E_VERSION (docs/ring.md, "Refused
 * messages"); msg is untouched then.
 */
stash_status relay_msg_parse(const void *bytes, size_t len, struct relay_msg *msg);

/* A DATA message against the stream's META: count <= chunk, body = count x frame. */
stash_status relay_data_check(const struct relay_msg *msg, const struct relay_meta *meta);

/*
 * Where a message leaves a stream that expects sample expected next and has
 * seen writer session session: *skip_to is where the ring must skip to
 * first (expected if nothing was lost), *next what to expect after it.
 * STASH_E_CORRUPT for a sample number behind expected or absurdly far
 * ahead, or an older writer session.
 */
stash_status relay_sequence(uint64_t expected, uint32_t session, const struct relay_msg *msg,
                            uint64_t *skip_to, uint64_t *next);

/* The bytes of a META body for a ring like info (labels and units included). */
size_t relay_meta_body_bytes(const stash_ring_info *info);

/* Writes that body into out (relay_meta_body_bytes long). */
void relay_meta_put(unsigned char *out, const stash_ring_info *info, uint32_t chunk_samples);

/*
 * Checks a META body (sizes, dtype, a geometry a ring can have, labels and
 * units) and fills meta, which then owns an array to free with
 * relay_meta_free. STASH_E_CORRUPT, STASH_E_DTYPE, -ENOMEM.
 */
stash_status relay_meta_parse(const unsigned char *body, size_t len, struct relay_meta *meta);

void relay_meta_free(struct relay_meta *meta);

/* The most samples of frame_bytes a message may carry (at least 1). */
uint64_t relay_chunk_limit(uint32_t frame_bytes);

#endif
