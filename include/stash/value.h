/*
 * stash/value.h - a tree of plain values: the metadata of cache objects and
 * the results of the result store.
 *
 * A value is one of: null, bool, int (int64), float (double), string (UTF-8,
 * checked), bytes, array (a stash_array_desc and its bytes), list, tuple, or
 * dict (string keys, kept in insertion order; setting an existing key
 * replaces its value in place, as Python's dict does). These are the types
 * Python's json, pickle and h5py agree on, so a value converts to JSON
 * (through jansson), to and from pickles (stash/pickle.h), and to HDF5.
 *
 * Ownership: every stash_value_new_* returns a value the caller owns and
 * releases with stash_value_free(), which frees the whole tree. Adding a
 * value to a container (stash_value_append, stash_value_dict_set) moves it
 * into the container on success; on failure the caller still owns it. A value
 * can be inside one container only. Pointers from the accessors borrow from
 * the tree and stay valid until the tree is freed or that part replaced.
 * One value does not own all it shows: an array from
 * stash_value_new_array_borrowed points into the caller's memory, which the
 * caller keeps alive until the value is freed.
 *
 * Limits: a tree is at most STASH_VALUE_MAX_DEPTH containers deep; adding
 * deeper gives STASH_E_LIMIT, so every walk over a tree has a bounded stack.
 *
 * JSON (RFC 8259): null, true, false, numbers, strings, arrays and objects
 * map to null, bool, int (integers that fit in int64; larger ones are
 * STASH_E_RANGE) or float, string, list and dict. JSON has no bytes, arrays,
 * tuples or non-finite numbers, so stash_value_to_json writes:
 *   tuple      as a JSON array (as Python's json does; it reads back a list)
 *   bytes      as {"$bytes": "<base64>"}
 *   array      as {"$array": {"descr": "<f8", "fortran_order": false,
 *                             "shape": [2, 3], "data": "<base64 of the bytes>"}}
 *   NaN, +-inf as {"$float": "nan"}, {"$float": "inf"}, {"$float": "-inf"}
 * and stash_value_from_json reads those objects back (an object with exactly
 * that one key and a value of that shape; anything else is a plain dict).
 * Floats are written with the fewest digits (15, 16 or 17) that give back
 * the same double for every float in the tree.
 *
 * Errors: STASH_E_INVALID for a wrong kind or bad argument (a string that is
 * not UTF-8, a value already in a container), STASH_E_LIMIT for depth,
 * STASH_E_CORRUPT for text that is not JSON, -ENOMEM.
 *
 * Thread-safety: a tree is not locked. Any number of threads may read one
 * tree at once; changing it needs the caller's exclusion.
 */
#ifndef STASH_VALUE_H
#define STASH_VALUE_H

#include <stash/array.h>
#include <stash/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The deepest nesting of containers a tree may have. */
#define STASH_VALUE_MAX_DEPTH 512

typedef enum stash_value_kind {
    STASH_VALUE_NULL,
    STASH_VALUE_BOOL,
    STASH_VALUE_INT,
    STASH_VALUE_FLOAT,
    STASH_VALUE_STRING,
    STASH_VALUE_BYTES,
    STASH_VALUE_ARRAY,
    STASH_VALUE_LIST,
    STASH_VALUE_TUPLE,
    STASH_VALUE_DICT,
} stash_value_kind;

typedef struct stash_value stash_value;

/* ---- Making values ------------------------------------------------------- */

STASH_API stash_status stash_value_new_null(stash_value **out);
STASH_API stash_status stash_value_new_bool(bool b, stash_value **out);
STASH_API stash_status stash_value_new_int(int64_t i, stash_value **out);
STASH_API stash_status stash_value_new_float(double f, stash_value **out);
/** Copies len bytes of UTF-8 (STASH_E_INVALID if they are not valid UTF-8). */
STASH_API stash_status stash_value_new_string(const char *utf8, size_t len, stash_value **out);
STASH_API stash_status stash_value_new_bytes(const void *data, size_t len, stash_value **out);
/** Copies the description and its stash_array_nbytes(desc) bytes of data. */
STASH_API stash_status stash_value_new_array(const stash_array_desc *desc, const void *data,
                                             stash_value **out);
/**
 * An array value that borrows data instead of copying it: for a call that
 * only reads its inputs, such as stash_store_memoise or stash_hash_value on
 * a window viewed in place in a ring or a mapped file. No copy is made; the
 * description is copied. The caller keeps the stash_array_nbytes(desc)
 * bytes at data alive and unchanged until the value is freed, and frees the
 * value before the memory (stash_value_free never touches data). Otherwise
 * it is an array like any other: it hashes, compares, converts and is
 * stored exactly as stash_value_new_array's copy of the same bytes would be
 * (a store copies the bytes it keeps), and it may go into containers, which
 * then borrow too. STASH_E_INVALID for NULL desc or out, or NULL data with
 * a non-zero size.
 */
STASH_API stash_status stash_value_new_array_borrowed(const stash_array_desc *desc,
                                                      const void *data, stash_value **out);
STASH_API stash_status stash_value_new_list(stash_value **out);
STASH_API stash_status stash_value_new_tuple(stash_value **out);
STASH_API stash_status stash_value_new_dict(stash_value **out);

/** Appends item to a list or tuple; on success the container owns it. */
STASH_API stash_status stash_value_append(stash_value *container, stash_value *item);

/**
 * Sets dict[key] = item (key is NUL-terminated UTF-8). An existing key keeps
 * its place and its old value is freed. On success the dict owns item.
 */
STASH_API stash_status stash_value_dict_set(stash_value *dict, const char *key, stash_value *item);

/** Frees a whole tree and sets *v to NULL; NULL and *v == NULL are no-ops. */
STASH_API void stash_value_free(stash_value **v);

/* ---- Reading values ------------------------------------------------------ */

STASH_API stash_value_kind stash_value_kind_of(const stash_value *v);
/** "null", "bool", "int", "float", "string", "bytes", "array", "list", "tuple", "dict". */
STASH_API const char *stash_value_kind_name(stash_value_kind kind);

/* Each getter gives STASH_E_INVALID if v is not of its kind. */
STASH_API stash_status stash_value_get_bool(const stash_value *v, bool *out);
STASH_API stash_status stash_value_get_int(const stash_value *v, int64_t *out);
STASH_API stash_status stash_value_get_float(const stash_value *v, double *out);
/** The string's bytes, NUL-terminated; len excludes the NUL (may be NULL). */
STASH_API stash_status stash_value_get_string(const stash_value *v, const char **utf8,
                                              size_t *len);
STASH_API stash_status stash_value_get_bytes(const stash_value *v, const void **data,
                                             size_t *len);
STASH_API stash_status stash_value_get_array(const stash_value *v, const stash_array_desc **desc,
                                             const void **data);

/** Items of a list or tuple, entries of a dict; 0 for anything else. */
STASH_API size_t stash_value_length(const stash_value *v);
/** The i-th item of a list or tuple, or the i-th value of a dict; NULL past the end. */
STASH_API const stash_value *stash_value_item(const stash_value *v, size_t i);
/** The value under key in a dict, or NULL. */
STASH_API const stash_value *stash_value_dict_get(const stash_value *dict, const char *key);
/** The i-th key of a dict (insertion order), with its length (keys may hold NUL). */
STASH_API stash_status stash_value_dict_key(const stash_value *dict, size_t i, const char **key,
                                            size_t *key_len);

/**
 * True if a and b have the same kinds, values and structure (dicts in any
 * order, as Python compares them). Floats compare
 * as values (0.0 equals -0.0) except that NaN equals NaN; arrays are equal
 * when their dtypes, shapes and elements are, whatever their memory order
 * (C or Fortran) and byte order (elements compare bytewise in a common
 * order, so NaN payloads count). If memory runs out comparing arrays of
 * different layouts, the answer is false.
 */
STASH_API bool stash_value_equal(const stash_value *a, const stash_value *b);

/* ---- JSON ---------------------------------------------------------------- */

/** Where and why JSON text was refused. */
typedef struct stash_json_error {
    size_t line, column, position; /* 1-based line and column; byte offset */
    char message[160];
} stash_json_error;

/**
 * Parses len bytes of JSON text into a new tree. err, if not NULL, says where
 * the text went wrong on STASH_E_CORRUPT (and names the problem for the other
 * failures). Duplicate keys keep the last value, as Python's json does.
 */
STASH_API stash_status stash_value_from_json(const char *text, size_t len, stash_value **out,
                                             stash_json_error *err);

/** Flags for stash_value_to_json. */
enum {
    STASH_JSON_INDENT = 1u << 0, /* two-space indentation and newlines */
};

/**
 * Writes v as JSON text (see the file comment for the types JSON lacks).
 * *text is NUL-terminated and freed by the caller with free(); *len
 * (optional) excludes the NUL.
 */
STASH_API stash_status stash_value_to_json(const stash_value *v, unsigned flags, char **text,
                                           size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* STASH_VALUE_H */
