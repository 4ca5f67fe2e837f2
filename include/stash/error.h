/*
 * stash/error.h - status codes shared by every part of stash.
 *
 * Every fallible stash call returns a stash_status:
 *
 *   0                      STASH_OK, success.
 *   -4095 .. -1            a system call failed; the value is -errno
 *                          (for example -ENOENT, -EACCES, -ENOSPC).
 *   -40999 .. -40000       a stash condition from STASH_ERROR_TABLE below
 *                          (a range no other well-known C library uses:
 *                          LMDB and Berkeley DB sit in -30999 .. -30000,
 *                          mbed TLS above -32768).
 *
 * stash_strerror() says what a status means, stash_status_name() names it
 * ("STASH_E_EOF", "ENOENT").
 *
 * Handles: every part follows one rule. A call given a NULL handle (or one
 * set to NULL by its close) returns STASH_E_CLOSED, never crashes; every
 * close takes the handle's address, sets it to NULL and returns a status
 * (what flushing or releasing found; NULL is a no-op returning STASH_OK).
 * Bad arguments other than the handle are STASH_E_INVALID. Results are written through
 * out-parameters, and an out-parameter is never left half-written: on
 * failure it keeps the value it had (unless a function documents otherwise).
 *
 * The library never prints, never exits and never aborts.
 *
 * Thread-safety: everything in this header is safe to call from any thread.
 */
#ifndef STASH_ERROR_H
#define STASH_ERROR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(STASH_STATIC_BUILD)
#define STASH_API __attribute__((visibility("default")))
#else
#define STASH_API
#endif

/** A status: 0 on success, negative on failure (see the file comment). */
typedef int stash_status;

/*
 * The one table of stash's own conditions: X(name, value, message).
 * It generates the enum below and the messages of stash_strerror(), so the
 * two cannot drift apart. Values are stable from 0.2 on: append, never
 * renumber (0.1 used -30001 .. -30025 for the same names).
 */
#define STASH_ERROR_TABLE(X)                                                         \
    X(STASH_E_EOF, -40001, "end of data: fewer bytes remain than were needed")       \
    X(STASH_E_INVALID, -40002, "invalid argument")                                   \
    X(STASH_E_CLOSED, -40003, "handle is closed or null")                            \
    X(STASH_E_MODE, -40004, "invalid open mode string")                              \
    X(STASH_E_NOT_READABLE, -40005, "handle was not opened for reading")             \
    X(STASH_E_NOT_WRITABLE, -40006, "handle was not opened for writing")             \
    X(STASH_E_UNSUPPORTED, -40007, "operation not supported by this backend")        \
    X(STASH_E_RANGE, -40008, "offset or length outside the valid range")             \
    X(STASH_E_FULL, -40009, "fixed-size buffer is full")                             \
    X(STASH_E_BUSY, -40010, "resource is in use")                                    \
    X(STASH_E_CORRUPT, -40011, "data is corrupt or not in the expected format")      \
    X(STASH_E_VERSION, -40012, "unsupported format version")                         \
    X(STASH_E_NOT_FOUND, -40013, "no such entry")                                    \
    X(STASH_E_LIMIT, -40014, "input exceeds a configured limit")                    \
    X(STASH_E_DTYPE, -40015, "unsupported array element type")                      \
    X(STASH_E_TRUNCATED, -40016, "data is shorter than its header says")            \
    X(STASH_E_UNSAFE, -40017, "input would import or call code; refused unexecuted") \
    X(STASH_E_NO_SOURCE, -40018, "no data source: this store holds nothing (none:)") \
    X(STASH_E_NO_TARGET, -40019, "no data target: this store keeps nothing (none:)") \
    X(STASH_E_TIMEOUT, -40020, "timed out")                                            \
    X(STASH_E_OVERWRITTEN, -40021, "samples were overwritten before they were read")  \
    X(STASH_E_NOT_WRITTEN, -40022, "samples have not been written yet")               \
    X(STASH_E_WRITER_GONE, -40023, "the writer has gone")                             \
    X(STASH_E_SHAPE, -40024, "array shape or element type does not match")         \
    X(STASH_E_NOT_FILE, -40025, "not a regular file (a FIFO, device or socket)")     \
    X(STASH_E_UNAVAILABLE, -40026, "the server is down, paused or unreachable")     \
    X(STASH_E_NEEDS_RECOVERY, -40027, "a writer crashed: a writable open must recover it first")

enum {
    STASH_OK = 0,
#define STASH_ERROR_ENUM_(name, value, message) name = (value),
    STASH_ERROR_TABLE(STASH_ERROR_ENUM_)
#undef STASH_ERROR_ENUM_
};

/**
 * The one durability flag, the same bit in every part's flags
 * (STASH_NPY_DURABLE, STASH_NCO_DURABLE, STASH_STORE_DURABLE): fsync what a
 * call writes, and the directory of a new name, before the call returns.
 */
#define STASH_DURABLE (1u << 0)

/** The lowest errno value carried as -errno; anything below is stash's own. */
#define STASH_ERRNO_MAX 4095

/**
 * Text for any status: stash's own, -errno, or 0. Never NULL. The string is
 * static or thread-local: valid until the next call from the same thread.
 */
STASH_API const char *stash_strerror(stash_status status);

/**
 * The name of any status: "STASH_OK", a table name such as "STASH_E_EOF",
 * the errno's name for -errno ("ENOENT"), or "unknown". Never NULL; static.
 */
STASH_API const char *stash_status_name(stash_status status);

/** True if status carries an errno (a system call failed). */
static inline bool stash_is_system_error(stash_status status)
{
    return status < 0 && status >= -STASH_ERRNO_MAX;
}

/** The errno a system failure carries, or 0 if status is not one. */
static inline int stash_errno(stash_status status)
{
    return stash_is_system_error(status) ? -status : 0;
}

#ifdef __cplusplus
}
#endif
#endif /* STASH_ERROR_H */
