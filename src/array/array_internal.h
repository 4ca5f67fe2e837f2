/*
 * Array helpers shared by the parts that move array bytes: byte swapping and
 * reading an array's elements in C order whatever its layout.
 */
#ifndef STASH_ARRAY_INTERNAL_H
#define STASH_ARRAY_INTERNAL_H

#include <stash/array.h>

/* Reverses the bytes of each of count elements (each half of a complex). */
void array_swap_elements(stash_dtype dtype, void *data, uint64_t count);

/* Receives the next len bytes of an array's elements; non-zero stops the walk. */
typedef stash_status (*array_chunk_fn)(void *ctx, const void *bytes, size_t len);

/*
 * Hands the elements of data (laid out as desc says) to emit in C order and
 * in the byte order want, in pieces. An array already in that form goes out
 * in one piece with no copy; any other is converted through a 64 KiB buffer,
 * so nothing as large as the array is allocated. Returns emit's first
 * non-zero status, STASH_E_RANGE for a bad description, or -ENOMEM.
 */
stash_status array_emit_c_order(const stash_array_desc *desc, const void *data,
                                stash_byte_order want, array_chunk_fn emit, void *ctx);

/* The elements in C order and byte order want, in a new malloc'd buffer (*copy). */
stash_status array_copy_c_order(const stash_array_desc *desc, const void *data,
                                stash_byte_order want, void **copy);

#endif
