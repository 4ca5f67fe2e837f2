/*
 * The values the crash tests put, shared by test_crash.c and the h5py crash
 * interop writer (interop/store_crash_writer.c), whose Python side
 * recomputes them: float64 arrays whose element j is i * 1000003 + j.
 */
#ifndef STASH_TESTS_CRASH_ITEMS_H
#define STASH_TESTS_CRASH_ITEMS_H

#include <stash/array.h>
#include <stash/value.h>

#include <stdint.h>
#include <stdlib.h>

/* Item i's array of count float64s, or NULL if memory is short. */
static inline stash_value *crash_ramp(uint64_t i, uint64_t count)
{
    double *data = malloc(count * sizeof *data);
    stash_array_desc d;
    stash_value *array = NULL;
    if (data && stash_array_desc_init(&d, STASH_DTYPE_FLOAT64, 1, &count) == STASH_OK) {
        for (uint64_t j = 0; j < count; j++)
            data[j] = (double)(i * 1000003 + j);
        stash_value_new_array(&d, data, &array);
    }
    free(data);
    return array;
}

/* hdf5: item i: 64 B for even i, 1 MiB for odd i. */
static inline stash_value *crash_hdf5_item(uint64_t i)
{
    return crash_ramp(i, i % 2 ? (1u << 20) / sizeof(double) : 64 / sizeof(double));
}

#endif
