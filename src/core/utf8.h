/*
 * UTF-8 validation (RFC 3629), shared by every layer that takes text from
 * outside: value trees, ring labels, HDF5 names.
 */
#ifndef STASH_CORE_UTF8_H
#define STASH_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether text[0, len) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF. NUL bytes are allowed. */
bool utf8_is_valid(const char *text, size_t len);

#endif
