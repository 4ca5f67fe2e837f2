/*
 * fopen-like mode strings, parsed once for files, storages and FILE * export.
 */
#ifndef STASH_MODE_H
#define STASH_MODE_H

#include <stash/error.h>

struct stash_mode {
    int open_flags;      /* for open(2): access, O_CREAT, O_TRUNC, O_EXCL, O_CLOEXEC */
    unsigned directions; /* STASH_STREAM_READ | _WRITE | _APPEND */
};

/*
 * "r", "w" or "a", then any of "+", "b", "x" at most once each; "x" only with
 * "w" or "a". Anything else is STASH_E_MODE.
 */
stash_status mode_parse(const char *mode, struct stash_mode *out);

#endif
