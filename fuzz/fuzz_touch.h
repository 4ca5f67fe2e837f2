/*
 * What every value-tree fuzz target checks of a tree a reader gave it: a
 * status that agrees with the tree, each array's description sound and all
 * its bytes readable (a view past the end of its buffer faults under ASan),
 * a content key, and equality with itself. A failed check aborts.
 */
#ifndef STASH_FUZZ_TOUCH_H
#define STASH_FUZZ_TOUCH_H

#include <stash/hash.h>
#include <stash/value.h>

#include <stdint.h>
#include <stdlib.h>

/* A sum of every array byte, to keep the reads. */
static inline uint64_t fuzz_touch_value(const stash_value *v)
{
    uint64_t sum = 0;
    const stash_array_desc *desc;
    const void *data;
    if (stash_value_get_array(v, &desc, &data) == STASH_OK) {
        uint64_t nbytes = 0;
        if (stash_array_nbytes(desc, &nbytes) != STASH_OK)
            abort();
        for (uint64_t i = 0; i < nbytes; i++)
            sum += ((const unsigned char *)data)[i];
    }
    for (size_t i = 0; i < stash_value_length(v); i++)
        sum += fuzz_touch_value(stash_value_item(v, i));
    return sum;
}

/* Checks what a reader returned (st, *v), then frees the tree. */
static inline void fuzz_check_value(stash_status st, stash_value **v)
{
    if ((st == STASH_OK) != (*v != NULL))
        abort();
    if (*v == NULL)
        return;
    stash_key key;
    if (stash_hash_value(*v, &key) != STASH_OK || !stash_value_equal(*v, *v))
        abort();
    volatile uint64_t sink = fuzz_touch_value(*v);
    (void)sink;
    stash_value_free(v);
}

#endif
