/*
 * stash/storage.h - byte storages with separate read and write pointers.
 *
 * A storage holds bytes in memory, in a named file or in a temp file, and
 * keeps two independent positions: the read pointer (rp) and the write
 * pointer (wp), both starting at 0. write() stores at wp and advances it;
 * read() takes from rp and advances it. This is SpiNNaker's buffered data
 * storage done in C (spinn_storage_handlers: BufferedBytearrayDataStorage,
 * BufferedFileDataStorage, BufferedTempfileDataStorage); the differences
 * are listed in docs/storage.md and in the notes below.
 *
 * Seeks: STASH_SEEK_SET (offset), _CUR (pointer + offset), _END (length +
 * offset). The result is clamped into [0, length], as SpiNNaker's storage
 * handlers did: a storage has no holes. Any other whence is STASH_E_INVALID.
 *
 * Temp storages live in files of a stash_storage_pool, which keeps at most
 * max_open descriptors open: the least recently used one is closed and
 * reopened on that storage's next system call, transparently. When the
 * process or the system runs out of descriptors first (EMFILE, ENFILE), the
 * pool evicts its idle descriptors the same way and retries; the open fails
 * with that error only when none of the pool's is idle. Eviction only
 * closes the descriptor; buffered writes stay with their storage until its
 * next flush. A temp file is removed when its storage closes; the pool's
 * private directory when the pool's last user closes, and, for pools still
 * open, at normal process exit (a library destructor, in the creating process
 * only). A process killed by a signal leaves that directory behind
 * (stash-<pid>-XXXXXX under the pool's parent directory).
 *
 * Differences from SpiNNaker's storage handlers, on purpose:
 *   - read with a limit of STASH_STORAGE_ALL reads to the end (their
 *     read(-1) stopped one byte short);
 *   - read_all returns a copy and moves rp to the end for every kind
 *     (BufferedBytearrayDataStorage returned its own buffer and left rp
 *     alone);
 *   - close is idempotent for every kind (BufferedTempfileDataStorage
 *     raised KeyError);
 *   - opening a file reports the system's reason (-ENOENT, -EACCES, -EISDIR),
 *     not a read error for a write mode;
 *   - pools are explicit objects, so re-creating one leaks nothing;
 *   - END seeks use length + offset; theirs ignored the offset's sign.
 *
 * Ownership and lifetimes: stash_storage_close(&st) releases everything, sets
 * st to NULL and is a no-op on NULL; calls on NULL return STASH_E_CLOSED.
 * Buffers returned by stash_storage_read and stash_storage_read_all are the
 * caller's, released with free(). A pool is reference-counted: each temp
 * storage holds it, so closing the pool first is safe.
 *
 * Thread-safety: a storage is used by one thread at a time. A pool may be
 * shared by storages used from different threads (it has its own lock).
 *
 * Errors: as stream.h, plus -errno from mkdtemp/open for temp storages.
 */
#ifndef STASH_STORAGE_H
#define STASH_STORAGE_H

#include <stash/error.h>
#include <stash/stream.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stash_storage stash_storage;
typedef struct stash_storage_pool stash_storage_pool;

/** A read limit meaning "everything up to the end". */
#define STASH_STORAGE_ALL SIZE_MAX

/* ---- Pools of temp-file descriptors ------------------------------------ */

/**
 * A pool that keeps at most max_open (>= 1) temp files open at once. The temp
 * files go in a new private (0700) directory under parent_dir, or under
 * $TMPDIR (else /tmp) when parent_dir is NULL.
 */
STASH_API stash_status stash_storage_pool_create(size_t max_open, const char *parent_dir,
                                                 stash_storage_pool **out);

/**
 * Drops the caller's reference and sets *pool to NULL; no-op on NULL.
 * Always STASH_OK: the pool and its directory go when the last temp storage
 * using it closes, and that close reports what removing them found.
 */
STASH_API stash_status stash_storage_pool_close(stash_storage_pool **pool);

/** How many descriptors the pool holds open right now. */
STASH_API size_t stash_storage_pool_open_count(stash_storage_pool *pool);

/* ---- Opening and closing ----------------------------------------------- */

/** An empty storage in memory. */
STASH_API stash_status stash_storage_open_memory(stash_storage **out);

/**
 * A storage over a named file, with an fopen-like mode (see
 * stash_stream_open_file). "r" storages reject writes (STASH_E_NOT_WRITABLE),
 * "w" and "a" storages reject reads (STASH_E_NOT_READABLE).
 */
STASH_API stash_status stash_storage_open_file(const char *path, const char *mode,
                                               stash_storage **out);

/** An empty read-write storage in a temp file of pool. */
STASH_API stash_status stash_storage_open_temp(stash_storage_pool *pool,
                                               stash_storage **out);

/** Flushes, releases and sets *st to NULL; no-op on NULL. */
STASH_API stash_status stash_storage_close(stash_storage **st);

/* ---- Data -------------------------------------------------------------- */

/** Stores len bytes at wp and advances wp. */
STASH_API stash_status stash_storage_write(stash_storage *st, const void *data, size_t len);

/**
 * Reads up to len bytes at rp into buf and advances rp; *got says how many
 * (0 at the end). This is the readinto of SpiNNaker's storage handlers.
 */
STASH_API stash_status stash_storage_readinto(stash_storage *st, void *buf, size_t len,
                                              size_t *got);

/**
 * Reads up to max bytes at rp (STASH_STORAGE_ALL: to the end) into a new
 * buffer *data of *len bytes (free() it; NULL when *len == 0) and advances rp.
 */
STASH_API stash_status stash_storage_read(stash_storage *st, size_t max, void **data,
                                          size_t *len);

/** A copy of the whole content in *data (free() it); rp moves to the end. */
STASH_API stash_status stash_storage_read_all(stash_storage *st, void **data, size_t *len);

/* ---- Pointers ---------------------------------------------------------- */

/** Moves rp; *pos (optional) gets the result. See the file comment. */
STASH_API stash_status stash_storage_seek_read(stash_storage *st, int64_t offset,
                                               int whence, uint64_t *pos);
/** Moves wp; *pos (optional) gets the result. */
STASH_API stash_status stash_storage_seek_write(stash_storage *st, int64_t offset,
                                                int whence, uint64_t *pos);

/** rp, or 0 for NULL. */
STASH_API uint64_t stash_storage_tell_read(const stash_storage *st);
/** wp, or 0 for NULL. */
STASH_API uint64_t stash_storage_tell_write(const stash_storage *st);
/** The length in bytes, or 0 for NULL. */
STASH_API uint64_t stash_storage_length(const stash_storage *st);
/** True if rp is at the end (or st is NULL). */
STASH_API bool stash_storage_eof(const stash_storage *st);

/** Hands buffered writes to the system. */
STASH_API stash_status stash_storage_flush(stash_storage *st);

/** The stream under the storage, for typed codecs; owned by the storage. */
STASH_API stash_stream *stash_storage_stream(stash_storage *st);

#ifdef __cplusplus
}
#endif
#endif /* STASH_STORAGE_H */
