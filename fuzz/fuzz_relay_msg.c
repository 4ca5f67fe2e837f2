/*
 * libFuzzer target: a message as the relay's subscriber receives it. The
 * input is 8 bytes of the sample it expects next and 4 of the writer
 * session it has seen (both little-endian), then the message. Invariants on
 * what is accepted: the body lies inside the message; a META describes a
 * ring that can exist (frame size, chunk within a message, 2 x channels
 * strings of at most 255 bytes); a DATA body is count whole frames of the
 * stream (2 channels of float64, 64 samples a chunk); a sequence never
 * moves backwards nor past the limits.
 */
#include "relay/relay_msg.h"

#include <stdlib.h>
#include <string.h>

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void check_meta(const struct relay_msg *msg)
{
    struct relay_meta meta;
    if (relay_meta_parse(msg->body, msg->body_bytes, &meta) != STASH_OK)
        return;
    if (meta.frame_bytes != meta.channels * stash_dtype_size(meta.dtype) ||
        meta.chunk_samples == 0 ||
        (uint64_t)meta.chunk_samples * meta.frame_bytes > RELAY_BODY_MAX ||
        meta.capacity_samples == 0)
        abort();
    for (uint32_t i = 0; i < 2 * meta.channels; i++)
        if (strlen(meta.strings[i]) > STASH_RING_LABEL_MAX)
            abort();
    relay_meta_free(&meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    uint64_t expected = get_le(data, 8) % (RELAY_SAMPLE_MAX + 1);
    uint32_t session = (uint32_t)get_le(data + 8, 4);
    size_t len = size - 12;
    unsigned char *bytes = malloc(len ? len : 1); /* its own allocation: ASan sees overreads */
    memcpy(bytes, data + 12, len);
    struct relay_msg msg;
    if (relay_msg_parse(bytes, len, &msg) == STASH_OK) {
        if (msg.body != bytes + RELAY_HEADER_BYTES || msg.body_bytes != len - RELAY_HEADER_BYTES ||
            msg.first_sample > RELAY_SAMPLE_MAX || msg.count > RELAY_SAMPLE_MAX - msg.first_sample)
            abort();
        if (msg.type == RELAY_META)
            check_meta(&msg);
        struct relay_meta stream = {.channels = 2, .frame_bytes = 16,
                                    .dtype = STASH_DTYPE_FLOAT64, .chunk_samples = 64};
        if (msg.type == RELAY_DATA && relay_data_check(&msg, &stream) == STASH_OK &&
            (msg.count == 0 || msg.count > 64 || msg.body_bytes != msg.count * 16))
            abort();
        uint64_t skip_to, next;
        if (relay_sequence(expected, session, &msg, &skip_to, &next) == STASH_OK &&
            (skip_to < expected || next < skip_to || next > RELAY_SAMPLE_MAX ||
             msg.writer_session < session || (msg.type != RELAY_DATA && skip_to != next)))
            abort();
    }
    free(bytes);
    return 0;
}
