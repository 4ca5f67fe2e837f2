/*
 * stash/hash.h - content keys: a printable name for the content of a value
 * tree, the same on every machine and in every language.
 *
 * A key is "xxh3-128:" followed by 32 lowercase hex digits: XXH3-128 (seed
 * 0, from libxxhash) of the value's canonical encoding, version 1. The
 * encoding (docs/store.md gives it byte by byte) depends on the content only:
 *
 *   - every node starts with a one-byte type tag, every integer and length
 *     is little-endian, every string is length-prefixed;
 *   - dict entries are taken in sorted key order (bytewise), so insertion
 *     order does not matter;
 *   - floats are canonical: every NaN is one NaN and -0.0 is 0.0, so values
 *     that stash_value_equal calls equal have equal keys;
 *   - an array is its dtype in little-endian form ("<f8"), its shape, and
 *     its elements in C order and little-endian byte order, whatever its
 *     memory layout: a big-endian or Fortran-order array has the key of the
 *     same values in C order and little-endian. Such arrays are converted
 *     through a small buffer, never copied whole.
 *
 * The algorithm's name is part of the key, so a store can tell keys of a
 * later algorithm or encoding apart (they will have another prefix).
 *
 * XXH3 is not a cryptographic hash: it is built to spread honest inputs, and
 * someone who controls the inputs can make two of them collide. Use content
 * keys for caches whose inputs you trust.
 *
 * Thread-safety: every function here is pure and safe from any thread.
 */
#ifndef STASH_HASH_H
#define STASH_HASH_H

#include <stash/array.h>
#include <stash/error.h>
#include <stash/value.h>

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The prefix every content key starts with. */
#define STASH_KEY_PREFIX "xxh3-128:"

/** The length of a content key: the prefix and 32 hex digits. */
#define STASH_KEY_CHARS 41

/** The version of the canonical encoding that STASH_KEY_PREFIX names. */
#define STASH_KEY_ENCODING_VERSION 1

typedef struct stash_key {
    char text[STASH_KEY_CHARS + 1]; /* NUL-terminated */
} stash_key;

/**
 * The content key of a value tree. STASH_E_INVALID for a NULL argument;
 * STASH_E_RANGE if an array's description is bad (the tree was built by the
 * value constructors, which check it, so only a corrupt tree fails).
 */
STASH_API stash_status stash_hash_value(const stash_value *v, stash_key *key);

/**
 * The key a memoised result is stored under: the key of the 2-tuple
 * (inputs, meta), with meta NULL read as null. STASH_E_INVALID if inputs is
 * NULL.
 */
STASH_API stash_status stash_hash_inputs(const stash_value *inputs, const stash_value *meta,
                                         stash_key *key);

/** The key of an array held outside a value tree, equal to that of the array value. */
STASH_API stash_status stash_hash_array(const stash_array_desc *desc, const void *data,
                                        stash_key *key);

/** True if text is a content key: the prefix and 32 lowercase hex digits, nothing more. */
STASH_API bool stash_key_is_content(const char *text);

#ifdef __cplusplus
}
#endif
#endif /* STASH_HASH_H */
