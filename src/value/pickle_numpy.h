/*
 * NumPy arrays inside pickles, rebuilt by the reader itself (pickle_numpy.c):
 * the few calls NumPy's ndarray.__reduce__, __reduce_ex__ and dtype's
 * __reduce__ write, recognised by name and applied here to exactly the
 * arguments NumPy gives them. Nothing is imported or called.
 *
 * The reader keeps what these calls make as constructor nodes
 * (value_internal.h) whose code says what they are: a name, a dtype (with
 * its byte order once its state is set), or an array waiting for its state.
 * A BUILD turns that last one into an array value in place.
 */
#ifndef STASH_PICKLE_NUMPY_H
#define STASH_PICKLE_NUMPY_H

#include "value/value_internal.h"

#include <stddef.h>
#include <stdint.h>

/* Constructor codes: below NUMPY_FIRST are the reader's own (bytes and friends). */
enum numpy_code {
    NUMPY_FIRST = 16,
    NUMPY_RECONSTRUCT = NUMPY_FIRST, /* numpy.core.multiarray._reconstruct */
    NUMPY_NDARRAY,                   /* numpy.ndarray, _reconstruct's first argument */
    NUMPY_DTYPE,                     /* numpy.dtype */
    NUMPY_SCALAR,                    /* numpy.core.multiarray.scalar */
    NUMPY_FROMBUFFER,                /* numpy.core.numeric._frombuffer (protocol 5) */
    NUMPY_PENDING_ARRAY,             /* _reconstruct's result, before BUILD */
    NUMPY_DTYPE_OBJECT = 0x1000,     /* + dtype * 2 + byte order: a numpy.dtype */
};

/* Room for a name in a refusal ("os.system", "<U3"). */
#define NUMPY_WHY_MAX 64

/* The code of NumPy's module.name if it is one of the allowlist, else 0. */
int numpy_name(const char *module, size_t module_len, const char *name, size_t name_len);

/*
 * REDUCE of the NumPy name code on args (a tuple or argument tuple): a new
 * node in *made. STASH_E_UNSAFE for arguments NumPy never writes,
 * STASH_E_DTYPE for a dtype stash has no type for (named in why),
 * STASH_E_SHAPE when an array's bytes and shape disagree, STASH_E_RANGE for
 * a shape whose size overflows, STASH_E_LIMIT for an array larger than
 * *budget (the bytes of arrays a read may still make; each array made is
 * taken from it, so bytes shared through the memo cannot be rebuilt into
 * arrays without bound), -ENOMEM.
 */
stash_status numpy_reduce(int code, const stash_value *args, uint64_t *budget,
                          stash_value **made, char why[NUMPY_WHY_MAX]);

/*
 * BUILD on obj (a node numpy_reduce made) with state: a dtype takes its byte
 * order, an array waiting for its state becomes an array value in place.
 * STASH_E_UNSAFE for any other object; the errors of numpy_reduce.
 */
stash_status numpy_build(stash_value *obj, const stash_value *state, uint64_t *budget,
                         char why[NUMPY_WHY_MAX]);

#endif
