/*
 * stash/pickle.h - Python pickles of plain values, read safely and written
 * so that Python's pickle.load gives back the same values.
 *
 * Reading understands every opcode of protocols 0 to 5 that builds None,
 * bool, int, float, str, bytes, bytearray, list, tuple and dict, plus the
 * memo (shared references become shared, read-only subtrees) and framing.
 * It never imports, calls or executes anything: a pickle holding BUILD, INST,
 * OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4 or a persistent id is refused with
 * STASH_E_UNSAFE at that opcode, and so is GLOBAL, STACK_GLOBAL or REDUCE
 * with any name but three: before protocol 3 Python can only write bytes as
 * _codecs.encode(text, "latin1"), bytes() and bytearray(bytes), so those
 * names, applied to exactly those arguments, are recognised and the bytes
 * rebuilt here (nothing is looked up or called). Python types
 * the value tree has no place for are refused with STASH_E_UNSUPPORTED: sets,
 * dict keys other than str, ints outside int64, out-of-band buffers, strings
 * with lone surrogates, and self-referencing containers.
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
 * Time and memory are linear in the input.
 *
 * Writing: protocol 3, 4 or 5 (4 by default), the compact opcodes Python's
 * own pickler uses, no memo and no frames. Arrays cannot be pickled without
 * NumPy's constructors, so a tree holding one is STASH_E_UNSUPPORTED.
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

/**
 * Writes v as a pickle of the given protocol (3, 4 or 5; 0 for the default)
 * to s. STASH_E_UNSUPPORTED for a tree holding an array; STASH_E_INVALID for
 * another protocol; the stream's own errors.
 */
STASH_API stash_status stash_pickle_write(stash_stream *s, const stash_value *v, int protocol);

#ifdef __cplusplus
}
#endif
#endif /* STASH_PICKLE_H */
