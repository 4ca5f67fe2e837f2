/*
 * Printing array descriptions for the info commands: one line for people,
 * one JSON object for programs.
 */
#ifndef STASH_TOOLS_DESCRIBE_H
#define STASH_TOOLS_DESCRIBE_H

#include <stash/npy.h>
#include <stash/value.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "float64, shape (3, 4), C order, little-endian" */
void describe_array(FILE *out, const stash_array_desc *d);

/* "dtype": ..., "descr": ..., "shape": [...], "order": ..., "byte_order": ... (no braces) */
void describe_array_json(FILE *out, const stash_array_desc *d);

/*
 * A value from a JSON argument: the text itself, or @FILE for a file's text.
 * A syntax error is printed after who, with its line and column.
 */
stash_status json_argument(const char *who, const char *arg, stash_value **value);

/* An unsigned decimal argument: digits only, so no sign, space, suffix or overflow slips by. */
bool parse_u64(const char *text, uint64_t *n);

#endif
