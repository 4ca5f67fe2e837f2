/*
 * libFuzzer target: NPY headers, from bytes and through a stream.
 * Invariants checked on every accepted input:
 *   - the header lies inside the input and its data size fits;
 *   - formatting the parsed description and parsing that again gives the
 *     same description (what we read, we can write and read back).
 */
#include <stash/npy.h>

#include <stdlib.h>
#include <string.h>

static void check_round_trip(const stash_npy_header *h)
{
    char buf[STASH_NPY_FORMATTED_MAX];
    size_t len;
    stash_npy_header again;
    if (stash_npy_header_format(&h->desc, 0, buf, sizeof buf, &len) != STASH_OK ||
        stash_npy_header_parse(buf, len, &again) != STASH_OK)
        abort();
    bool trivial = stash_array_layout_is_trivial(&h->desc);
    if (again.desc.dtype != h->desc.dtype || again.desc.ndim != h->desc.ndim ||
        (stash_dtype_size(h->desc.dtype) > 1 && again.desc.byte_order != h->desc.byte_order) ||
        (!trivial && again.desc.order != h->desc.order) ||
        memcmp(again.desc.shape, h->desc.shape, h->desc.ndim * sizeof h->desc.shape[0]) != 0 ||
        again.data_bytes != h->data_bytes)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stash_npy_header h;
    if (stash_npy_header_parse(data, size, &h) == STASH_OK) {
        if (h.data_offset > size)
            abort();
        check_round_trip(&h);
    }
    stash_stream *s;
    if (stash_stream_open_memory(data, size, &s) == STASH_OK) {
        if (stash_npy_read_header(s, &h) == STASH_OK &&
            (h.data_offset + h.data_bytes > size || stash_stream_tell(s) != h.data_offset))
            abort();
        stash_stream_close(&s);
    }
    return 0;
}
