/*
 * libFuzzer target: the shared ring's header page, as an attacher checks it.
 * The input is the header's first bytes (zero-padded to one 4 KiB page)
 * followed by 8 bytes giving the object's size. Invariants on every accepted
 * header: the geometry fits inside the object, the sizes agree with each
 * other, and the metadata block splits into exactly 2 x channels strings.
 */
#include "ring/ring_layout.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t object_bytes;
    memcpy(&object_bytes, data + size - 8, 8);
    size_t len = size - 8, cap = len > RING_HEADER_GRANULE ? len : RING_HEADER_GRANULE;
    unsigned char *page = calloc(1, cap);
    memcpy(page, data, len);
    struct ring_geometry geo;
    if (ring_header_check(page, cap, object_bytes, &geo) == STASH_OK) {
        if ((uint64_t)geo.header_bytes + geo.data_bytes > object_bytes || geo.header_bytes > cap ||
            geo.frame_bytes != geo.channels * stash_dtype_size(geo.dtype) ||
            geo.data_bytes != geo.capacity * geo.frame_bytes * (geo.pocket ? 2 : 1) ||
            RING_META_OFFSET + (uint64_t)geo.meta_bytes > geo.header_bytes)
            abort();
        const char **strings = malloc(2 * (size_t)geo.channels * sizeof *strings);
        if (ring_meta_split((const char *)page + RING_META_OFFSET, geo.meta_bytes, geo.channels,
                            strings) == STASH_OK)
            for (uint32_t i = 0; i < 2 * geo.channels; i++)
                if (strlen(strings[i]) > STASH_RING_LABEL_MAX)
                    abort();
        free(strings);
    }
    free(page);
    return 0;
}
