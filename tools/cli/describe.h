/*
 * Array descriptions for people (json_out.h has them for programs), and
 * values and numbers from the command line's arguments.
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

/*
 * A value from a JSON argument: the text itself, or @FILE for a file's text
 * (@- for standard input's), at most INPUT_JSON_MAX_BYTES. Any failure is
 * one line on stderr after who: a syntax error with its line and column, a
 * file that cannot be read or is too long, a value too deep.
 */
stash_status json_argument(const char *who, const char *arg, stash_value **value);

/* A value from JSON text, as json_argument parses it. */
stash_status json_value(const char *who, const char *text, size_t len, stash_value **value);

struct input;

/* Why the NPY file in could not be read, on stderr after who; an element
 * type stash does not read is named as the file spells it ('<U2', '|O'). */
void npy_complain(const char *who, const struct input *in, stash_status status);

/* An unsigned decimal argument: digits only, so no sign, space, suffix or overflow slips by. */
bool parse_u64(const char *text, uint64_t *n);

#endif
