/*
 * Base64 (RFC 4648, standard alphabet, padded): how JSON carries bytes.
 */
#ifndef STASH_BASE64_H
#define STASH_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters base64_encode writes for len bytes (no NUL). */
size_t base64_encoded_length(size_t len);

/* Writes base64_encoded_length(len) characters to out. */
void base64_encode(const void *data, size_t len, char *out);

/*
 * Decodes len characters into out (room for len / 4 * 3 bytes); *out_len is
 * the byte count. False for a length that is not a multiple of 4, a
 * character outside the alphabet, or misplaced padding.
 */
bool base64_decode(const char *text, size_t len, void *out, size_t *out_len);

#endif
