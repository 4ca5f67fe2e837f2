/*
 * stash/array.h - the one description of an N-d array used by every part.
 *
 * A stash_array_desc says what the bytes of an array mean: the element type,
 * its byte order, the shape, and whether the first index (C order) or the
 * last index (Fortran order) varies slowest. The bytes themselves travel
 * beside it (a pointer and the size stash_array_nbytes gives), so the same
 * description serves arrays in memory, in a mapped file and in a stream.
 *
 * The element types are NumPy's plain numeric ones, named as NumPy names
 * them (dtype.name) and written as NumPy writes them in NPY headers
 * (dtype.str: "<f8", ">i4", "|b1"). Object, string, datetime and structured
 * types are not arrays here: parsing their descr gives STASH_E_DTYPE.
 *
 * Every size is computed with overflow checks: a shape whose element count
 * or byte size does not fit in 63 bits is STASH_E_RANGE, never a wrapped
 * value, so a hostile header cannot make a caller allocate a small buffer
 * for a large array.
 *
 * Thread-safety: every function here is pure and safe from any thread.
 */
#ifndef STASH_ARRAY_H
#define STASH_ARRAY_H

#include <stash/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, numpy name, kind, itemsize): the one table of element types. */
#define STASH_DTYPE_TABLE(X)                 \
    X(BOOL, "bool", 'b', 1)                  \
    X(INT8, "int8", 'i', 1)                  \
    X(INT16, "int16", 'i', 2)                \
    X(INT32, "int32", 'i', 4)                \
    X(INT64, "int64", 'i', 8)                \
    X(UINT8, "uint8", 'u', 1)                \
    X(UINT16, "uint16", 'u', 2)              \
    X(UINT32, "uint32", 'u', 4)              \
    X(UINT64, "uint64", 'u', 8)              \
    X(FLOAT16, "float16", 'f', 2)            \
    X(FLOAT32, "float32", 'f', 4)            \
    X(FLOAT64, "float64", 'f', 8)            \
    X(COMPLEX64, "complex64", 'c', 8)        \
    X(COMPLEX128, "complex128", 'c', 16)

typedef enum stash_dtype {
#define STASH_DTYPE_ENUM_(name, numpy_name, kind, size) STASH_DTYPE_##name,
    STASH_DTYPE_TABLE(STASH_DTYPE_ENUM_)
#undef STASH_DTYPE_ENUM_
    STASH_DTYPE_COUNT
} stash_dtype;

typedef enum stash_byte_order { STASH_LITTLE_ENDIAN = 0, STASH_BIG_ENDIAN = 1 } stash_byte_order;

typedef enum stash_array_order { STASH_ORDER_C = 0, STASH_ORDER_F = 1 } stash_array_order;

/** The most dimensions an array may have (NumPy 2's limit). */
#define STASH_ARRAY_MAX_DIMS 64

/** The longest descr string, with its NUL: "<c16". */
#define STASH_DESCR_MAX 5

typedef struct stash_array_desc {
    stash_dtype dtype;
    stash_byte_order byte_order; /* ignored for 1-byte types */
    stash_array_order order;
    unsigned ndim; /* 0 for a scalar (shape ()), at most STASH_ARRAY_MAX_DIMS */
    uint64_t shape[STASH_ARRAY_MAX_DIMS];
} stash_array_desc;

/**
 * A little-endian, C-order description of ndim dimensions from shape (which
 * may be NULL when ndim is 0). STASH_E_INVALID for an unknown dtype or
 * ndim > STASH_ARRAY_MAX_DIMS.
 */
STASH_API stash_status stash_array_desc_init(stash_array_desc *desc, stash_dtype dtype,
                                             unsigned ndim, const uint64_t *shape);

/** Bytes per element; 0 for an unknown dtype. */
STASH_API size_t stash_dtype_size(stash_dtype dtype);

/** NumPy's name ("float64"); "" for an unknown dtype. */
STASH_API const char *stash_dtype_name(stash_dtype dtype);

/** The dtype NumPy calls name ("float64", "bool", ...): STASH_E_DTYPE if none. */
STASH_API stash_status stash_dtype_from_name(const char *name, stash_dtype *dtype);

/** Checks a description: known dtype, byte order and order, ndim in range. */
STASH_API stash_status stash_array_check(const stash_array_desc *desc);

/** The number of elements (1 for a scalar), or STASH_E_RANGE past INT64_MAX. */
STASH_API stash_status stash_array_count(const stash_array_desc *desc, uint64_t *count);

/** The size of the data in bytes, or STASH_E_RANGE past INT64_MAX. */
STASH_API stash_status stash_array_nbytes(const stash_array_desc *desc, uint64_t *nbytes);

/**
 * True if the bytes of a Fortran-order array are also its C-order bytes: at
 * most one dimension longer than 1, or no elements at all. NumPy records such
 * arrays as fortran_order False, and so does stash.
 */
STASH_API bool stash_array_layout_is_trivial(const stash_array_desc *desc);

/** The NPY descr string ("<f8", ">i4", "|u1") into buf[STASH_DESCR_MAX]. */
STASH_API stash_status stash_array_descr(const stash_array_desc *desc,
                                         char buf[STASH_DESCR_MAX]);

/**
 * Parses a descr string of len bytes into dtype and byte_order. Accepts "<",
 * ">", "|" and "=" (this machine's order) prefixes, and "|" or "<"/">" for
 * 1-byte types. Object ("O"), strings, datetimes, voids and unknown codes are
 * STASH_E_DTYPE.
 */
STASH_API stash_status stash_array_parse_descr(const char *descr, size_t len,
                                               stash_dtype *dtype,
                                               stash_byte_order *byte_order);

/**
 * Swaps the bytes of every element of data (described by desc) into this
 * machine's order and updates desc->byte_order. Complex numbers swap each
 * half. A no-op when the order already matches.
 */
STASH_API stash_status stash_array_to_native(stash_array_desc *desc, void *data);

#ifdef __cplusplus
}
#endif
#endif /* STASH_ARRAY_H */
