/*
 * stash/stream.h - byte streams over files, memory and sub-ranges.
 *
 * A stash_stream is a sequence of bytes with a current position. Every other
 * part of stash reads and writes through this one interface. A stream is
 * built from a backend (a table of positional operations, see
 * stash_stream_backend below); the stream itself keeps the position, so
 * backends never seek and two streams over one file never disturb each other.
 *
 * Backends shipped with stash:
 *   file     buffered (256 KiB by default), positional I/O: one pread/pwrite
 *            per buffer, never an lseek; large transfers bypass the buffer.
 *   memory   a read-only view of caller bytes, a caller's fixed buffer, or a
 *            growable buffer the stream owns.
 *   range    a read-only window [start, end) over another stream; positions
 *            are relative to start, seeks clamp into the window and every
 *            read is bounded by it.
 * Any stream can also be handed to stdio code as a FILE * (stash_stream_fopen).
 *
 * Reads return what is available: a read at or past the end returns STASH_OK
 * with *got == 0. Writes return STASH_OK only when every byte was accepted;
 * when the system fails part-way (a full disk), the bytes before the failure
 * may already be in the file. Writing past the end extends the stream; a gap
 * reads back as zeros.
 *
 * Ownership and lifetimes:
 *   - stash_stream_close(&s) releases the stream, sets s to NULL and is a
 *     no-op on NULL, so closing twice is safe. Any call on a NULL stream
 *     returns STASH_E_CLOSED.
 *   - A range stream borrows its base: close the range before the base.
 *   - Pointers from stash_stream_peek() and stash_stream_memory_contents()
 *     are valid until the next call on the stream.
 *
 * Thread-safety: a stream is not synchronised. Use one stream from one thread
 * at a time; distinct streams (even over the same file) are independent.
 *
 * Errors: STASH_E_CLOSED (NULL handle), STASH_E_INVALID (bad argument, such as
 * a NULL buffer with a non-zero length or a bad whence), STASH_E_MODE,
 * STASH_E_NOT_READABLE / STASH_E_NOT_WRITABLE (wrong direction),
 * STASH_E_RANGE (an offset that does not fit), STASH_E_FULL (a fixed buffer
 * is full), STASH_E_UNSUPPORTED, or -errno from the system.
 */
#ifndef STASH_STREAM_H
#define STASH_STREAM_H

#include <stash/error.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stash_stream stash_stream;

/** Seek origins; the same values as SEEK_SET, SEEK_CUR, SEEK_END. */
enum stash_whence { STASH_SEEK_SET = 0, STASH_SEEK_CUR = 1, STASH_SEEK_END = 2 };

/** Default and allowed sizes of a file stream's buffer, in bytes. */
#define STASH_STREAM_BUFFER_DEFAULT ((size_t)256 * 1024)
#define STASH_STREAM_BUFFER_MIN ((size_t)4 * 1024)
#define STASH_STREAM_BUFFER_MAX ((size_t)64 * 1024 * 1024)

/* ---- Opening ------------------------------------------------------------ */

/**
 * Opens a file with an fopen-like mode: "r", "r+", "w", "w+", "a", "a+", or
 * Python's "x", "x+" (create; fail with -EEXIST if the file exists), then
 * optionally "b" or "t" (both ignored) and, after "w" or "a", glibc's "x".
 * In "a" modes every write goes to the current end.
 * Errors: STASH_E_MODE, -errno from open (-ENOENT, -EACCES, ...), -EISDIR for
 * a directory, STASH_E_NOT_FILE for a FIFO, socket or character device.
 */
STASH_API stash_status stash_stream_open_file(const char *path, const char *mode,
                                              stash_stream **out);

/**
 * A buffered stream over an open descriptor that must support pread/pwrite
 * (a regular file or a block device). mode says which directions the stream
 * allows, as in stash_stream_open_file; "w" does not truncate here. The
 * stream does not own fd: close the stream first, then the descriptor.
 * A descriptor opened with O_APPEND needs an "a" mode (else STASH_E_MODE),
 * because the system appends every pwrite to it.
 */
STASH_API stash_status stash_stream_open_fd(int fd, const char *mode, stash_stream **out);

/** A read-only stream over size bytes at data, not copied: keep them alive. */
STASH_API stash_status stash_stream_open_memory(const void *data, size_t size,
                                                stash_stream **out);

/**
 * A read-write stream over the caller's buffer of capacity bytes, of which the
 * first size bytes are its initial content. It never grows past capacity:
 * such writes fail with STASH_E_FULL and change nothing.
 */
STASH_API stash_status stash_stream_open_buffer(void *buffer, size_t capacity, size_t size,
                                                stash_stream **out);

/** A read-write stream over memory it owns and grows; starts empty. */
STASH_API stash_status stash_stream_open_growable(size_t initial_capacity,
                                                  stash_stream **out);

/**
 * A read-only window [start, end) over base, positioned at its start. end must
 * not pass base's current size (STASH_E_RANGE) and start must not pass end
 * (STASH_E_INVALID). base must stay open while the window is.
 */
STASH_API stash_status stash_stream_open_range(stash_stream *base, uint64_t start,
                                               uint64_t end, stash_stream **out);

/**
 * Flushes, releases and sets *s to NULL. Returns the first failure of the
 * final flush or close (the stream is released all the same). NULL or *s ==
 * NULL: returns STASH_OK.
 */
STASH_API stash_status stash_stream_close(stash_stream **s);

/* ---- Sequential access at the current position ------------------------- */

/** Reads up to len bytes; *got is how many (0 at the end). */
STASH_API stash_status stash_stream_read(stash_stream *s, void *buf, size_t len,
                                         size_t *got);

/** Reads exactly len bytes, or returns STASH_E_EOF and consumes nothing. */
STASH_API stash_status stash_stream_read_exact(stash_stream *s, void *buf, size_t len);

/**
 * Reads up to and including the next '\n', at most cap - 1 bytes, and
 * NUL-terminates (cap >= 1). *got counts the bytes read, not the NUL.
 */
STASH_API stash_status stash_stream_readline(stash_stream *s, char *buf, size_t cap,
                                             size_t *got);

/** Writes all len bytes at the position (at the end in append mode). */
STASH_API stash_status stash_stream_write(stash_stream *s, const void *buf, size_t len);

/**
 * A read-only view of the bytes at the current position, without copying:
 * *data and *len (0 at the end). Valid until the next call on the stream.
 * Does not move the position. A backend without a view returns
 * STASH_E_UNSUPPORTED.
 */
STASH_API stash_status stash_stream_peek(stash_stream *s, const void **data, size_t *len);

/** Moves the position forward by len bytes without reading them. */
STASH_API stash_status stash_stream_skip(stash_stream *s, uint64_t len);

/* ---- Positional access: does not use or move the position -------------- */

STASH_API stash_status stash_stream_pread(stash_stream *s, void *buf, size_t len,
                                          uint64_t offset, size_t *got);
STASH_API stash_status stash_stream_pwrite(stash_stream *s, const void *buf, size_t len,
                                           uint64_t offset);

/* ---- Position, size, durability ---------------------------------------- */

/**
 * Sets the position to offset from whence. A position may pass the end
 * (a later write leaves a zero-filled gap) but not go below 0
 * (STASH_E_INVALID) or past INT64_MAX (STASH_E_RANGE). A range stream clamps
 * the result into [0, size] instead. *pos (optional) gets the new position.
 */
STASH_API stash_status stash_stream_seek(stash_stream *s, int64_t offset, int whence,
                                         uint64_t *pos);

/** The current position; 0 for a NULL stream. */
STASH_API uint64_t stash_stream_tell(const stash_stream *s);

/**
 * The size in bytes. A file stream knows the file's size when it was opened
 * plus its own writes; growth by other writers is not seen.
 */
STASH_API stash_status stash_stream_size(stash_stream *s, uint64_t *size);

/** True if the position is at or past the end (or on any failure). */
STASH_API bool stash_stream_at_end(stash_stream *s);

/** Hands buffered writes to the system (not fsync). */
STASH_API stash_status stash_stream_flush(stash_stream *s);

/** Total bytes accepted by write and pwrite on this stream since it opened. */
STASH_API uint64_t stash_stream_bytes_written(const stash_stream *s);

/* ---- Backend-specific -------------------------------------------------- */

/**
 * Resizes a file stream's buffer (flushing it first) to bytes in
 * [STASH_STREAM_BUFFER_MIN, STASH_STREAM_BUFFER_MAX]. STASH_E_UNSUPPORTED on
 * other backends.
 */
STASH_API stash_status stash_stream_set_buffer_bytes(stash_stream *s, size_t bytes);

/**
 * The contents of a memory stream, without copying; valid until the next
 * call on the stream. STASH_E_UNSUPPORTED on other backends.
 */
STASH_API stash_status stash_stream_memory_contents(stash_stream *s, const void **data,
                                                    size_t *size);

/**
 * A stdio FILE * over the stream (fopencookie), for code that wants stdio.
 * mode is an fopen mode and may not ask for a direction the stream lacks.
 * The FILE reads, writes and seeks through the stream's own position.
 * fclose() flushes the FILE into the stream but does not close the stream;
 * close the FILE before the stream. Seeking through the FILE discards stdio's
 * buffer, so random access costs ~0.65 us a seek: it is a compatibility path.
 */
STASH_API stash_status stash_stream_fopen(stash_stream *s, const char *mode, FILE **out);

/* ---- Writing a backend ------------------------------------------------- */

/** The version of stash_stream_backend this header describes. */
#define STASH_STREAM_BACKEND_V1 1u

/** Backend flags. */
enum {
    /** Seeks clamp into [0, size] instead of allowing positions past the end. */
    STASH_BACKEND_CLAMP_SEEK = 1u << 0,
};

/** Directions a stream allows; given when a stream is built on a backend. */
enum {
    STASH_STREAM_READ = 1u << 0,
    STASH_STREAM_WRITE = 1u << 1,
    STASH_STREAM_APPEND = 1u << 2, /* every write goes to the end */
};

/**
 * A backend is a table of positional operations on an opaque context. The
 * stream layer checks arguments, directions and closed handles and keeps the
 * position; a backend only moves bytes at offsets. See docs/streams.md.
 *
 * Contracts:
 *   pread   fill up to len bytes at offset; *got < len only at the end.
 *   pwrite  accept all len bytes at offset or fail; extends the size.
 *   size    the current size in bytes.
 *   peek    optional: a view of bytes at offset, valid until the next call
 *           into the backend; may fill an internal buffer.
 *   flush   optional: hand buffered writes on.
 *   close   optional: flush and release ctx; called exactly once.
 * pwrite may be NULL for a read-only backend.
 */
typedef struct stash_stream_backend {
    unsigned version; /* STASH_STREAM_BACKEND_V1 */
    unsigned flags;   /* STASH_BACKEND_* only; other bits: STASH_E_INVALID */
    stash_status (*pread)(void *ctx, void *buf, size_t len, uint64_t offset, size_t *got);
    stash_status (*pwrite)(void *ctx, const void *buf, size_t len, uint64_t offset);
    stash_status (*size)(void *ctx, uint64_t *size);
    stash_status (*peek)(void *ctx, uint64_t offset, const void **data, size_t *len);
    stash_status (*flush)(void *ctx);
    stash_status (*close)(void *ctx);
} stash_stream_backend;

/**
 * Builds a stream on a backend. directions is a mix of STASH_STREAM_READ,
 * _WRITE and _APPEND. On success the stream owns ctx and calls backend->close
 * once when it closes; on failure ctx is untouched and still the caller's.
 * backend must outlive the stream (a static table is usual).
 */
STASH_API stash_status stash_stream_open_backend(const stash_stream_backend *backend,
                                                 void *ctx, unsigned directions,
                                                 stash_stream **out);

#ifdef __cplusplus
}
#endif
#endif /* STASH_STREAM_H */
