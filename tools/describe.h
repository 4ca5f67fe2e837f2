/*
 * Printing array descriptions for the info commands: one line for people,
 * one JSON object for programs.
 */
#ifndef STASH_TOOLS_DESCRIBE_H
#define STASH_TOOLS_DESCRIBE_H

#include <stash/npy.h>

#include <stdio.h>

/* "float64, shape (3, 4), C order, little-endian" */
void describe_array(FILE *out, const stash_array_desc *d);

/* "dtype": ..., "descr": ..., "shape": [...], "order": ..., "byte_order": ... (no braces) */
void describe_array_json(FILE *out, const stash_array_desc *d);

#endif
