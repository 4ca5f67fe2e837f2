/*
 * libFuzzer target: JSON metadata into value trees.
 * Invariant on every accepted input: writing the tree as JSON and parsing
 * that gives an equal tree (tags included).
 */
#include <stash/value.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stash_value *v = NULL, *back = NULL;
    if (stash_value_from_json((const char *)data, size, &v, NULL) != STASH_OK)
        return 0;
    char *text;
    size_t len;
    if (stash_value_to_json(v, 0, &text, &len) != STASH_OK ||
        stash_value_from_json(text, len, &back, NULL) != STASH_OK || !stash_value_equal(v, back))
        abort();
    free(text);
    stash_value_free(&back);
    stash_value_free(&v);
    return 0;
}
