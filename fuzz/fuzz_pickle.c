/*
 * libFuzzer target: the pickle reader.
 * Invariants on every accepted input: the tree stays within the limits, and
 * writing it as a pickle and reading that back gives an equal tree, NumPy
 * arrays included (the seeds hold NumPy's own array pickles, protocols 2
 * to 5, NumPy 1 and 2 names, and near misses the reader refuses).
 */
#include <stash/pickle.h>

#include <stdlib.h>

static const stash_pickle_limits limits = {1u << 16, 1u << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stash_value *v = NULL, *back = NULL;
    if (stash_pickle_read(data, size, &limits, &v, NULL) != STASH_OK)
        return 0;
    stash_stream *s;
    const void *bytes;
    size_t len;
    if (stash_stream_open_growable(256, &s) != STASH_OK || stash_pickle_write(s, v, 0) != STASH_OK ||
        stash_stream_memory_contents(s, &bytes, &len) != STASH_OK ||
        stash_pickle_read(bytes, len, &limits, &back, NULL) != STASH_OK ||
        !stash_value_equal(v, back))
        abort();
    stash_stream_close(&s);
    stash_value_free(&back);
    stash_value_free(&v);
    return 0;
}
