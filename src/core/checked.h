/*
 * Overflow-safe range arithmetic: the one spelling of "does this range fit",
 * so no file re-derives it (and gets an edge wrong).
 */
#ifndef STASH_CORE_CHECKED_H
#define STASH_CORE_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* The largest offset a file can have: off_t's maximum. */
#define FILE_OFFSET_MAX ((uint64_t)INT64_MAX)

/* Whether [offset, offset + len) lies inside [0, limit], without computing
 * offset + len (which could wrap). */
static inline bool range_within(uint64_t offset, uint64_t len, uint64_t limit)
{
    return offset <= limit && len <= limit - offset;
}

#endif
