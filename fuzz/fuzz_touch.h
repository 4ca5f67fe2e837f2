/*
 * What every value-tree fuzz target checks of a tree it was given: each
 * array's description is sound and all its bytes can be read (a view past
 * the end of its buffer faults under ASan). Returns a sum to keep the reads.
 */
#ifndef STASH_FUZZ_TOUCH_H
#define STASH_FUZZ_TOUCH_H

#include <stash/value.h>

#include <stdint.h>
#include <stdlib.h>

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

#endif
