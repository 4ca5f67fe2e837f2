/*
 * stash/memfile.h - one block of RAM, opened through many independent handles.
 *
 * A stash_memfile is a file that lives in memory: a memfd, mapped once into
 * this process at an address that never changes. The same bytes are offered
 * four ways, none of which copies them:
 *
 *   - positional calls on the memory file itself (stash_memfile_pread and
 *     _pwrite are a bounds check and a memcpy: no system call);
 *   - handles, each a stash_stream with its own position and fopen-like mode
 *     (stash_memfile_open), so any code that takes a stream can use one;
 *   - a stdio FILE * per handle (stash_memfile_fopen);
 *   - a real file descriptor (stash_memfile_fd), for code that wants a
 *     descriptor, or a path: "/proc/self/fd/N".
 *
 * Semantics follow POSIX files: reads at or past the end return 0 bytes; a
 * write past the end leaves a gap that reads as zeros; truncate shrinks or
 * extends (the extension reads as zeros); negative offsets are refused with
 * STASH_E_INVALID. In append modes ("a", "a+") every write goes to the end
 * of the file at the moment of that write, also when other handles grow it.
 *
 * Size limit: a memory file reserves max_size bytes of address space when it
 * is created (no memory is used until written). Writes or truncates past it
 * fail with STASH_E_FULL and change nothing. The limit binds stash's own
 * calls only: after the export, a holder of the descriptor may grow the file
 * past it (see below).
 *
 * The view (stash_memfile_data): the base address never moves while the file
 * grows, so a pointer from stash_memfile_data stays valid until the last
 * reference (the memory file and every handle) is closed. Only bytes below
 * the current size may be touched through it: after the file shrinks, bytes
 * past the new size are gone and touching them raises SIGBUS, as with any
 * mapped file. Never write past the size through the view; extend the file
 * with pwrite or truncate first.
 *
 * The descriptor (stash_memfile_fd): every call returns a new descriptor
 * (close-on-exec) that the caller owns; it stays valid, with the same bytes,
 * for as long as the caller keeps it, even after the memory file is closed.
 * Writes through it, in place or growing the file, are seen at once by the
 * memory file, its handles and its view. Because other code may now map the
 * file too, exporting seals it against shrinking (F_SEAL_SHRINK): from then
 * on truncating to a smaller size, or opening a non-empty file with "w" or
 * "x", fails with STASH_E_BUSY, and so does a shrink through any descriptor
 * (-EPERM there). After the export, writes that extend the file cost one
 * system call (pwrite) and reads that reach past the known end check the
 * size with one fstat; everything else stays a memcpy.
 *
 * Growth past max_size through the descriptor cannot be refused (a memfd has
 * no length limit but a seal against all growth), so it is told truthfully:
 * stash_memfile_size reports the descriptor's length, and reads of bytes
 * past max_size, which the mapping does not cover, are served by pread(2) on
 * the memfd. Writes and truncates past max_size still fail with
 * STASH_E_FULL, an append handle's writes too. stash_memfile_data fails with
 * STASH_E_FULL, since its view cannot show the whole file, and a handle's
 * peek at an offset past max_size returns STASH_E_UNSUPPORTED.
 *
 * Ownership and lifetimes: stash_memfile_create gives one reference, held by
 * the caller; each handle (stream or FILE *) holds another. Closing the
 * memory file (stash_memfile_close) drops the caller's reference; the memory
 * is freed when the last handle closes. Calls on a closed or NULL memory file
 * or handle return STASH_E_CLOSED.
 *
 * Thread-safety: by default a memory file is thread-compatible, like pyppin's
 * MemFile: concurrent reads are safe, and a write needs the caller to
 * exclude every other access. With STASH_MEMFILE_LOCKED, every call takes an
 * internal read-write lock (reads shared, writes and truncates exclusive), so
 * any number of threads may read and write through any handles at once and
 * each read sees a write entirely or not at all. A handle, like any stream, is
 * used by one thread at a time; use one handle per thread. The view and the
 * descriptor bypass the lock.
 *
 * Errors: STASH_E_CLOSED, STASH_E_INVALID (NULL argument, negative offset),
 * STASH_E_MODE, STASH_E_NOT_READABLE / STASH_E_NOT_WRITABLE (wrong direction
 * for a handle), STASH_E_FULL (past max_size; from stash_memfile_data, a file
 * grown past max_size through a descriptor), STASH_E_BUSY (shrinking an
 * exported file), -EEXIST ("x" mode on a non-empty file), -ENOMEM, or -errno
 * from memfd_create, mmap, ftruncate or fcntl.
 */
#ifndef STASH_MEMFILE_H
#define STASH_MEMFILE_H

#include <stash/error.h>
#include <stash/stream.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stash_memfile stash_memfile;

/** Creation flags. */
enum {
    /** Every call takes an internal read-write lock (see the file comment). */
    STASH_MEMFILE_LOCKED = 1u << 0,
};

/** The default reservation when max_size is 0: 64 GiB of address space. */
#define STASH_MEMFILE_DEFAULT_MAX_SIZE ((uint64_t)64 << 30)

typedef struct stash_memfile_options {
    unsigned flags;    /* STASH_MEMFILE_* */
    uint64_t max_size; /* bytes; 0: the default, halved until the system grants it */
} stash_memfile_options;

/**
 * Creates an empty memory file. name labels it (stash_memfile_name, and the
 * descriptor's link in /proc/self/fd); NULL means "memfile". options may be
 * NULL for the defaults. An explicit max_size is rounded up to whole pages;
 * if the system cannot reserve it, -ENOMEM.
 */
STASH_API stash_status stash_memfile_create(const char *name,
                                            const stash_memfile_options *options,
                                            stash_memfile **out);

/** Drops the creator's reference and sets *mf to NULL; no-op on NULL. */
STASH_API stash_status stash_memfile_close(stash_memfile **mf);

/** The name given at creation; "" for NULL. Valid while the memory file is. */
STASH_API const char *stash_memfile_name(const stash_memfile *mf);

/**
 * Opens a handle: a stream with its own position, starting at 0 (at the end
 * in append modes). mode as fopen: "r", "r+", "w", "w+", "a", "a+", "x",
 * "x+", with "b" or "t" (ignored). "w" and "x" truncate the file to 0 for
 * every handle; "x" fails with -EEXIST if the file is not empty.
 * Close the handle with stash_stream_close.
 */
STASH_API stash_status stash_memfile_open(stash_memfile *mf, const char *mode,
                                          stash_stream **out);

/**
 * Opens a handle as a stdio FILE * (buffered by stdio). fclose() flushes and
 * closes the handle. Seeking discards stdio's buffer (~0.65 us a seek); for
 * random access use stash_memfile_pread.
 */
STASH_API stash_status stash_memfile_fopen(stash_memfile *mf, const char *mode, FILE **out);

/**
 * Reads up to len bytes at offset; *got is how many (0 at or past the end).
 * Offsets are uint64_t, as everywhere in stash (stash_stream_pread).
 */
STASH_API stash_status stash_memfile_pread(stash_memfile *mf, void *buf, size_t len,
                                           uint64_t offset, size_t *got);

/**
 * Writes all len bytes at offset, extending the file (zero-filled gap).
 * STASH_E_RANGE if offset + len passes the largest file offset (2^63 - 1),
 * STASH_E_FULL if it passes max_size.
 */
STASH_API stash_status stash_memfile_pwrite(stash_memfile *mf, const void *buf, size_t len,
                                            uint64_t offset);

/** The size in bytes. */
STASH_API stash_status stash_memfile_size(stash_memfile *mf, uint64_t *size);

/** Sets the size: shrinks, or extends with zeros. */
STASH_API stash_status stash_memfile_truncate(stash_memfile *mf, uint64_t size);

/**
 * The view: the base address of the bytes and the current size. The address
 * never changes; see the file comment for which bytes may be touched.
 * STASH_E_FULL if a holder of the descriptor grew the file past max_size,
 * which the view cannot cover (read those bytes with stash_memfile_pread).
 */
STASH_API stash_status stash_memfile_data(stash_memfile *mf, void **data, uint64_t *size);

/**
 * A new descriptor for the same bytes, owned by the caller (close it with
 * close(2)). The first export seals the file against shrinking; see the file
 * comment.
 */
STASH_API stash_status stash_memfile_fd(stash_memfile *mf, int *fd);

#ifdef __cplusplus
}
#endif
#endif /* STASH_MEMFILE_H */
