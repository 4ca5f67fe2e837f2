/*
 * The interop tools' one file reader: a whole file into a malloc'd buffer.
 */
#ifndef STASH_TESTS_INTEROP_SLURP_H
#define STASH_TESTS_INTEROP_SLURP_H

#include <stdio.h>
#include <stdlib.h>

/* The bytes of path and their count, or NULL if it cannot be read. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap)
            continue;
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    fclose(f);
    *len = n;
    return buf;
}

#endif
