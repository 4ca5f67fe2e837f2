/*
 * JSON the program prints, built as a value tree and written by the
 * library's own JSON writer (stash_value_to_json), so every string is
 * escaped and every number printed the one way. A builder gives a new value,
 * or NULL when memory ran out (or, for json_out_string, the text is not UTF-8);
 * json_out_add moves an item into an object or list and keeps the first failure.
 * (Not json_*: jansson, linked into the static library, owns those names.)
 */
#ifndef STASH_TOOLS_JSON_OUT_H
#define STASH_TOOLS_JSON_OUT_H

#include <stash/array.h>
#include <stash/value.h>

#include <stdbool.h>
#include <stdint.h>

stash_value *json_out_object(void);
stash_value *json_out_list(void);
stash_value *json_out_int(int64_t n);
stash_value *json_out_uint(uint64_t n);
stash_value *json_out_float(double x);
stash_value *json_out_bool(bool b);
stash_value *json_out_string(const char *s);
stash_value *json_out_strings(const char *const *strings, uint32_t n);

/* dtype, descr, shape, order and byte_order of d, as members of object. */
void json_out_add_array_desc(stash_value *object, const stash_array_desc *d, stash_status *status);

/* Moves item into container: under key for an object, at the end for a list (key NULL).
 * On any failure item is freed, and the first failure stays in *status. */
void json_out_add(stash_value *container, const char *key, stash_value *item, stash_status *status);

/* Prints value as one line of JSON on standard output and frees it; status is
 * the building's, passed on (nothing printed) if it failed. */
stash_status json_out_print(stash_value **value, stash_status status);

#endif
