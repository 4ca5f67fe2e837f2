/*
 * The hdf5: crash interop test's writer:
 *   store_crash_writer URI FIRST [exclusive]
 * puts item i under "slot-<i % 8>" for i = FIRST, FIRST + 1, ... until it is
 * killed, and prints "i" (flushed) after each put returned: the items it
 * prints are committed. Item i is a float64 array of 64 B (even i) or 1 MiB
 * (odd i) whose element j is i * 1000003 + j, which the Python side
 * recomputes. Exit 2 if the store refuses anything.
 */
#include "crash_items.h"

#include <stash/store.h>
#include <stash/value.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    stash_store_options options = {0};
    if (argc > 3 && strcmp(argv[3], "exclusive") == 0)
        options.flags = STASH_STORE_EXCLUSIVE;
    stash_store *s = NULL;
    stash_status st = stash_store_open(argv[1], &options, &s);
    for (unsigned long long i = strtoull(argv[2], NULL, 10); st == STASH_OK; i++) {
        stash_value *v = crash_hdf5_item(i);
        char key[32];
        snprintf(key, sizeof key, "slot-%llu", i % 8);
        st = v ? stash_store_put(s, key, v) : -1;
        stash_value_free(&v);
        if (st == STASH_OK) {
            printf("%llu\n", i);
            fflush(stdout);
        }
    }
    fprintf(stderr, "store_crash_writer: %s\n", stash_strerror(st));
    return 2;
}
