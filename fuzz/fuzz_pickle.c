/*
 * libFuzzer target: the pickle reader, and the skimmer the pickle: store
 * indexes records with.
 * Invariants on every input: the skimmer never reads outside it; where the
 * reader accepts a pickle, the skimmer finds the same end (just past STOP),
 * and any key it names lies inside the input. On every accepted input: the
 * tree stays within the limits, and writing it as a pickle and reading that
 * back gives an equal tree, NumPy arrays included (the seeds hold NumPy's
 * own array pickles, protocols 2 to 5, NumPy 1 and 2 names, and near misses
 * the reader refuses).
 */
#include "value/pickle_internal.h"

#include <stash/pickle.h>

#include <stdlib.h>

static const stash_pickle_limits limits = {1u << 16, 1u << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t skim_end = 0, read_end = 0, key_len = 0;
    const char *key = NULL;
    stash_status skimmed = pickle_skim_record(data, size, &skim_end, &key, &key_len);
    if (skimmed == STASH_OK &&
        (skim_end > size || (key && (key < (const char *)data || key + key_len > (const char *)data + size))))
        abort();
    stash_value *v = NULL, *back = NULL;
    struct pickle_read_options o = {.limits = &limits, .end = &read_end};
    if (pickle_read_with(data, size, &o, &v, NULL) != STASH_OK)
        return 0;
    if (skimmed != STASH_OK || skim_end != read_end)
        abort();
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
