/*
 * stash/pickle.h - Python pickles of plain values, read safely and written
 * so that Python's pickle.load gives back the same values.
 *
 * Reading understands every opcode of protocols 0 to 5 that builds None,
 * bool, int, float, str, bytes, bytearray, list, tuple and dict, plus the
 * memo (shared references become shared, read-only subtrees) and framing,
 * and NumPy arrays and scalars.
 *
 * It never imports, calls or executes anything. INST, OBJ, NEWOBJ,
 * NEWOBJ_EX, EXT1/2/4 and persistent ids are refused with STASH_E_UNSAFE at
 * that opcode. GLOBAL and STACK_GLOBAL are accepted for these names only,
 * and REDUCE and BUILD only on what they name, with exactly the arguments
 * the writers below give them (the effect is rebuilt here; every other
 * name, and every other use of these names, is STASH_E_UNSAFE, and
 * stash_pickle_error.name says which name was refused):
 *
 *   _codecs.encode(text, "latin1"), builtins.bytes(), builtins.bytearray(b)
 *     (also __builtin__.*): how Python writes bytes before protocol 3
 *   numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b") then
 *     BUILD (1, shape, dtype, is_fortran, raw bytes): ndarray.__reduce__
 *   numpy.core.numeric._frombuffer(buffer, dtype, shape, "C" or "F"):
 *     ndarray.__reduce_ex__(5), the buffer in-band (BYTEARRAY8) or
 *     out-of-band (NEXT_BUFFER, with stash_pickle_read_buffers)
 *   numpy.core.multiarray.scalar(dtype, raw bytes): a NumPy scalar, which
 *     becomes a 0-d array
 *   numpy.dtype(code, False, True) then BUILD (3, endian, None, None, None,
 *     -1, -1, flags) or version 4 with a ninth item None: dtype.__reduce__
 *
 * NumPy 2's module names (numpy._core.multiarray, numpy._core.numeric) are
 * the same calls. A dtype code stash has no type for ("U3", "O8", "M8",
 * "V16", a structured or subarray state, metadata) is STASH_E_DTYPE, named in
 * stash_pickle_error.name; a dtype state whose item size is not its type's
 * is STASH_E_CORRUPT; raw bytes that are not shape times item size
 * (computed with overflow checks, STASH_E_RANGE) are STASH_E_SHAPE. The array
 * keeps the pickled byte order and C or Fortran order.
 *
 * Python types the value tree has no place for are refused with
 * STASH_E_UNSUPPORTED: sets, dict keys other than str, ints outside int64,
 * out-of-band buffers (unless the caller supplies them), strings with lone
 * surrogates, and self-referencing containers.
 *
 * Python 2 byte strings (STRING, BINSTRING, SHORT_BINSTRING) become strings
 * when they are ASCII, as Python 3 reads them by default, and bytes
 * otherwise. bytearray becomes bytes.
 *
 * Hostile input: every length is checked against the bytes that remain
 * before anything is allocated; memo indices must be below the pickle's own
 * length; nesting stops at STASH_VALUE_MAX_DEPTH (STASH_E_LIMIT); and because
 * memo references share a subtree rather than copy it, the tree a pickle
 * stands for is bounded by stash_pickle_limits (STASH_E_LIMIT), so a few
 * hundred bytes cannot expand into a tree of 2^30 nodes when written out.
 * Each NumPy array made is also taken from max_bytes as it is made, so bytes
 * shared through the memo cannot be rebuilt into arrays without bound.
 * Time and memory are linear in the input.
 *
 * Writing: protocol 3, 4 or 5 (4 by default), the compact opcodes Python's
 * own pickler uses, no memo and no frames. Arrays are written as NumPy
 * writes them, so pickle.load gives back equal ndarrays (NumPy 1.x and 2.x):
 * protocols 3 and 4 as _reconstruct then BUILD (GLOBAL in 3, STACK_GLOBAL in
 * 4), protocol 5 as _frombuffer with the bytes in-band (BYTEARRAY8), each
 * under the numpy.core names, which every NumPy reads. A 0-d array becomes
 * a 0-d ndarray, not a NumPy scalar.
 *
 * Thread-safety: the functions share no state.
 */
#ifndef STASH_PICKLE_H
#define STASH_PICKLE_H

#include <stash/error.h>
#include <stash/stream.h>
#include <stash/value.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The newest protocol read and written. */
#define STASH_PICKLE_PROTOCOL_MAX 5
/** The protocol written when the caller passes 0. */
#define STASH_PICKLE_PROTOCOL_DEFAULT 4

/** Bounds on the tree a pickle stands for, counted as if written out in full. */
typedef struct stash_pickle_limits {
    uint64_t max_nodes; /* values, containers included */
    uint64_t max_bytes; /* bytes of strings, bytes and dict keys */
} stash_pickle_limits;

/** The defaults: 16 Mi values and 1 GiB of payload. */
#define STASH_PICKLE_DEFAULT_MAX_NODES ((uint64_t)1 << 24)
#define STASH_PICKLE_DEFAULT_MAX_BYTES ((uint64_t)1 << 30)

/** Where and why a pickle was refused. */
typedef struct stash_pickle_error {
    size_t offset;        /* of the opcode at fault */
    int opcode;           /* its byte, or -1 if the input ended */
    char opcode_name[24]; /* Python's name for it ("GLOBAL"), or "" */
    char name[64];        /* the global refused ("os.system"), the dtype code
                             refused ("U3"), or "" */
} stash_pickle_error;

/**
 * Reads the pickle in buf[0..len) into a new tree. Bytes after the STOP
 * opcode are ignored, as Python's pickle.loads ignores them. limits may be
 * NULL for the defaults; err (optional) is filled on failure.
 * Errors: STASH_E_UNSAFE, STASH_E_UNSUPPORTED, STASH_E_LIMIT (see above);
 * STASH_E_VERSION for a protocol above 5; STASH_E_TRUNCATED if the input ends
 * before STOP; STASH_E_CORRUPT for unknown opcodes, malformed arguments or an
 * inconsistent stack; -ENOMEM.
 */
STASH_API stash_status stash_pickle_read(const void *buf, size_t len,
                                         const stash_pickle_limits *limits, stash_value **out,
                                         stash_pickle_error *err);

/** An out-of-band buffer of a protocol 5 pickle (pickle.dumps's buffer_callback). */
typedef struct stash_pickle_buffer {
    const void *data;
    size_t len;
} stash_pickle_buffer;

/**
 * stash_pickle_read for a pickle written with out-of-band buffers: each
 * NEXT_BUFFER takes the next of buffers[0..buffer_count) in order (copied),
 * as Python's pickle.loads(data, buffers=...) does; one too many is
 * STASH_E_CORRUPT. stash_pickle_read itself refuses NEXT_BUFFER with
 * STASH_E_UNSUPPORTED. The buffers are only read during the call.
 */
STASH_API stash_status stash_pickle_read_buffers(const void *buf, size_t len,
                                                 const stash_pickle_limits *limits,
                                                 const stash_pickle_buffer *buffers,
                                                 size_t buffer_count, stash_value **out,
                                                 stash_pickle_error *err);

/**
 * Writes v as a pickle of the given protocol (3, 4 or 5; 0 for the default)
 * to s, arrays as NumPy writes them (above). STASH_E_INVALID for another
 * protocol; STASH_E_LIMIT for bytes or an array of 4 GiB or more in
 * protocol 3; the stream's own errors.
 */
STASH_API stash_status stash_pickle_write(stash_stream *s, const stash_value *v, int protocol);

#ifdef __cplusplus
}
#endif
#endif /* STASH_PICKLE_H */
