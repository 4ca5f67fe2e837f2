/*
 * What src/array/npy.c needs of src/array/npy_header.c beyond the public header.
 */
#ifndef STASH_NPY_INTERNAL_H
#define STASH_NPY_INTERNAL_H

#include <stash/npy.h>

/* Every version's fixed prefix fits in this many bytes. */
#define NPY_PREFIX_MAX 12

/*
 * Checks the magic, version and header length in the first len bytes (len
 * may be less than NPY_PREFIX_MAX at the end of a file). *total is the size
 * of the whole header, prefix included. Statuses as stash_npy_header_parse.
 */
stash_status npy_prefix_parse(const unsigned char *b, size_t len, size_t *total);

#endif
