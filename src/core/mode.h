/*
 * fopen-like mode strings, parsed once for files, storages, memory files and
 * FILE * export.
 */
#ifndef STASH_MODE_H
#define STASH_MODE_H

#include <stash/error.h>

struct stash_mode {
    int open_flags;      /* for open(2): access, O_CREAT, O_TRUNC, O_EXCL, O_CLOEXEC */
    unsigned directions; /* STASH_STREAM_READ | _WRITE | _APPEND */
};

/*
 * One of "r", "w", "a" or "x" (Python's exclusive create: write, fail if the
 * file exists), then any of "+", "x" (glibc's "wx", "ax") and one of "b" or
 * "t" (both ignored: POSIX has no text mode), each at most once. Anything
 * else is STASH_E_MODE.
 */
stash_status mode_parse(const char *mode, struct stash_mode *out);

/* The fopen mode glibc accepts for these directions: "r", "w", "r+", "a", "a+". */
const char *mode_for_stdio(unsigned directions);

#endif
