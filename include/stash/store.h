/*
 * stash/store.h - the result store: values kept under keys, in a directory
 * of files, in an HDF5 file that h5py and corelay read, or nowhere.
 *
 * A store is opened from a URI that names its backend:
 *
 *   dir:PATH     one file per entry under the directory PATH (created if
 *                missing); a bare path with no scheme means dir:.
 *   hdf5:PATH    one HDF5 file (created if missing) in corelay's layouts.
 *   pickle:PATH  one file (created if missing) in corelay's PickleStorage
 *                format: pickled records {"data": value, "key": key}, one
 *                after another; the last record of a key is its value.
 *   redis://HOST[:PORT][,HOST[:PORT]...][/DB][?prefix=P&timeout_ms=T&max_entry_bytes=N]
 *   redis+unix:///PATH[?db=N&...]
 *                one Redis hash per entry on a server, or on several (each
 *                key on one of them); STASH_REDIS_PASSWORD or user:password@
 *                authenticates. A server that is down, paused or unreachable
 *                is STASH_E_UNAVAILABLE within about timeout_ms (default
 *                1000); a full one STASH_E_FULL (docs/store.md, "redis:").
 *   none:        holds nothing and keeps nothing: gets fail with
 *                STASH_E_NO_SOURCE, puts with STASH_E_NO_TARGET, and
 *                stash_store_is_active says false (corelay's NoStorage).
 *
 * Schemes are exact and case-sensitive. A URI with a ':' that has no '/'
 * before it and starts with none of these schemes is STASH_E_INVALID, and
 * nothing is created: "hdf:x.h5", "h5:x", "DIR:x", "file:x" and " dir:x" are
 * mistyped URIs, not directory names. A bare path whose first ':' comes
 * before any '/' needs "dir:" or "./" in front ("dir:a:b", "./a:b").
 *
 * Values are value trees (stash/value.h). Keys are of two sorts:
 *
 *   named keys    "weights", "run-3/features": 1 to STASH_STORE_KEY_MAX
 *                 bytes of UTF-8 with no control characters, made of
 *                 "/"-separated parts that are neither empty nor "." nor
 *                 "..". In hdf5: a "/" makes groups, as in corelay.
 *   content keys  "xxh3-128:<32 hex>" from stash/hash.h: what memoise uses.
 *                 In hdf5 they take corelay's HashedHDF5 layout.
 *
 * A bad key is STASH_E_INVALID (STASH_E_LIMIT if only too long), checked
 * before the store is touched.
 *
 * Putting a key that exists replaces its value. A put either happens whole
 * or not at all: the value is checked completely before anything is
 * written, and a reader sees the old value or the new one, never a part
 * (docs/store.md says how each backend makes sure, also across a crash).
 *
 * Concurrency: many processes may put, get and delete in one store at once.
 * dir: readers take no lock; an entry appears by rename. hdf5: writers queue
 * on a lock file beside the HDF5 file, and a reader waits at most for the
 * write in progress (STASH_STORE_EXCLUSIVE trades that for speed). pickle:
 * writers queue on a lock file beside the file and append; readers take no
 * lock and leave out a record still being written. A handle
 * belongs to one thread at a time; use one handle per thread. Debian builds
 * HDF5 thread-safe (one global lock), so hdf5: handles in several threads
 * are safe, one call at a time.
 *
 * Errors: STASH_E_INVALID (NULL or bad arguments, a malformed URI or key),
 * STASH_E_NOT_FOUND (get, has and delete of a missing key),
 * STASH_E_NO_SOURCE / STASH_E_NO_TARGET (none:), STASH_E_NOT_WRITABLE (a
 * put or delete on a read-only store), STASH_E_UNSUPPORTED (a value the
 * backend cannot hold, such as a dict key containing "/" in hdf5:; in
 * hdf5: also a key whose path crosses a soft or external link, which get,
 * has, put and delete all refuse rather than follow), STASH_E_CORRUPT and the other reader errors for a damaged entry (which is
 * reported, never returned as a value), STASH_E_NEEDS_RECOVERY (hdf5: a
 * read-only handle found the journal of a writer killed mid-put, which only
 * a writable open or stash_store_recover may roll back), and system errors
 * as -errno.
 */
#ifndef STASH_STORE_H
#define STASH_STORE_H

#include <stash/error.h>
#include <stash/hash.h>
#include <stash/value.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The i-th URI scheme stash knows, with its ':' ("none:", "dir:", "hdf5:",
 * "pickle:", "redis://", "redis+unix://"),
 * or NULL past the last: for messages that list them. Static strings.
 */
STASH_API const char *stash_store_scheme(size_t i);

/** The longest named key, in bytes. */
#define STASH_STORE_KEY_MAX 1024

/**
 * The rule of the key rules above that key breaks, as one sentence ("a
 * key's parts between '/' are not '.' or '..'"), or NULL for a good key:
 * for messages that say why a key was refused. A static string.
 */
STASH_API const char *stash_store_key_rule(const char *key);

enum stash_store_flags {
    /** fsync each entry and its directory (dir:), flush to disk (hdf5:) before a put returns. */
    STASH_STORE_DURABLE = STASH_DURABLE,
    /** Refuse puts, deletes and gc with STASH_E_NOT_WRITABLE; never create anything. */
    STASH_STORE_READ_ONLY = 1u << 1,
    /**
     * hdf5: hold the file open and its lock alone from open to close, as
     * corelay holds an h5py.File: each call then skips opening and closing
     * the file (about 100 us), and other processes wait until the close.
     * Each put is still flushed before it returns. Ignored by dir: and none:.
     */
    STASH_STORE_EXCLUSIVE = 1u << 2,
    /**
     * dir: gets read every entry into memory instead of mapping the large
     * ones, so arrays never point into a file (see stash_store_get). Costs
     * one copy of the entry per get. hdf5: always copies.
     */
    STASH_STORE_COPY = 1u << 3,
};

typedef struct stash_store_options {
    unsigned flags; /* stash_store_flags */
    /**
     * dir: keep the entries' total size at most this many bytes by evicting
     * the least recently used entries after puts (0: no limit). Recency is
     * the store's own record of gets and puts, not file access times.
     * hdf5: and pickle: refuse a limit with STASH_E_INVALID (pickle: keeps
     * one through stash_store_gc).
     */
    uint64_t max_bytes;
} stash_store_options;

typedef struct stash_store stash_store;

/**
 * Opens the store uri names. options may be NULL for the defaults (no
 * flags, no size limit). dir: sweeps files left by writers that crashed.
 */
STASH_API stash_status stash_store_open(const char *uri, const stash_store_options *options,
                                        stash_store **out);

/**
 * Flushes what the store records, closes and frees it, and sets *store to
 * NULL, whatever the status says (a failure closing its files, or in hdf5:
 * a failed final flush of an exclusive handle). NULL is a no-op.
 */
STASH_API stash_status stash_store_close(stash_store **store);

/**
 * Makes a store whose writer was killed whole again, as opening it to
 * write does, but creating nothing: for hdf5:, rolls the put a killed
 * writer left half done back out of the file, from the journal beside it
 * ("PATH.journal", docs/store.md), under the store's lock (a file with no
 * journal beside it has nothing to roll back: STASH_OK, and no lock file
 * or journal is made); other backends
 * are opened to write and closed (dir: sweeps what killed writers left),
 * and a dir: or pickle: path that names nothing is STASH_E_NOT_FOUND.
 * *rolled_back (may be NULL) says whether a put was rolled back. Errors:
 * -ENOENT if the hdf5: file does not exist, STASH_E_BUSY while a writer in
 * this process holds the journal, STASH_E_CORRUPT for a journal that
 * belongs to another file (left untouched: see docs/store.md), and what
 * stash_store_open gives. Safe to run at any time and any number of
 * times; for `stash store recover`.
 */
STASH_API stash_status stash_store_recover(const char *uri, bool *rolled_back);

/** False for none: (corelay's NoStorage is falsy), true for a store that keeps values. */
STASH_API bool stash_store_is_active(const stash_store *store);

/** "dir", "hdf5", "pickle", "redis" or "none". */
STASH_API const char *stash_store_backend(const stash_store *store);

/** Stores value under key, replacing any value there. The store does not keep value. */
STASH_API stash_status stash_store_put(stash_store *store, const char *key,
                                       const stash_value *value);

/**
 * The value under key, as a new tree the caller frees with
 * stash_value_free. From dir:, arrays of large entries (over 4 KiB) point
 * into a read-only mapping of the entry's file (zero copy), which lives as
 * long as any of them; deleting or replacing the entry meanwhile does not
 * disturb them, because stash only ever replaces an entry by renaming a new
 * file over it.
 *
 * A foreign writer that changes the entry's file in place is another
 * matter: `cp other.nco entry.nco` truncates and rewrites the same file, and
 * a process that then touches an array past the new end gets SIGBUS (as
 * with any mapped file). Open the store with STASH_STORE_COPY where other
 * programs may write into the store's directory in place; then get copies
 * and never maps.
 */
STASH_API stash_status stash_store_get(stash_store *store, const char *key, stash_value **out);

/**
 * STASH_OK if key holds a value, STASH_E_NOT_FOUND if not; in hdf5:
 * STASH_E_UNSUPPORTED if the key's path crosses a soft or external link.
 */
STASH_API stash_status stash_store_has(stash_store *store, const char *key);

/**
 * Removes key's value; STASH_E_NOT_FOUND if there was none. In hdf5: a key
 * reached through a soft or external link is STASH_E_UNSUPPORTED and
 * nothing is removed (it could name an object of another file).
 */
STASH_API stash_status stash_store_delete(stash_store *store, const char *key);

/** Called once per entry by stash_store_list; a non-zero return stops the listing with it. */
typedef stash_status (*stash_store_list_fn)(void *ctx, const char *key, uint64_t bytes);

/**
 * Lists the entries, in no particular order: dir: every key with its
 * file's size; redis: every key with its payload's size (by SCAN, so a key
 * may come twice if the server resizes its tables meanwhile); hdf5: every key with the bytes its datasets hold. An HDF5
 * file does not record where a key ends (a key "a" holding {"b": 1} and a
 * key "a/b" holding 1 are the same objects), so hdf5: lists the deepest
 * keys: each dataset, list, tuple, memoised entry and empty dict reached
 * through plain groups ("a/b" in both cases). Each listed key can be got,
 * and together they hold every value. Soft and external links are listed
 * with 0 bytes, never followed (a get of one is STASH_E_UNSUPPORTED).
 * (corelay's keys() gives only the top-level names.)
 */
STASH_API stash_status stash_store_list(stash_store *store, stash_store_list_fn fn, void *ctx);

/**
 * Computes a result from inputs and meta (meta may be NULL), into a new tree
 * in *result. A non-zero status fails the memoise call with it.
 */
typedef stash_status (*stash_store_compute_fn)(void *ctx, const stash_value *inputs,
                                               const stash_value *meta, stash_value **result);

/** What a memoise call did. */
typedef struct stash_store_memo {
    stash_key key; /* stash_hash_inputs(inputs, meta) */
    bool hit;      /* served from the store; compute was not called */
    bool stored;   /* computed and stored (false for none: and on a hit) */
    /**
     * STASH_OK, or why the entry under key was damaged (STASH_E_CORRUPT,
     * STASH_E_TRUNCATED, ...): the result was then recomputed, and stored
     * says whether it replaced the damaged entry.
     */
    stash_status damaged;
    /**
     * STASH_OK, or why a computed result was not stored: the store's server
     * was unavailable (STASH_E_UNAVAILABLE), full (STASH_E_FULL), or the
     * result larger than the store takes (STASH_E_LIMIT). The call still
     * returns the result: a store that cannot keep it costs a recomputation
     * later, never the result now.
     */
    stash_status not_stored;
} stash_store_memo;

/**
 * The result stored for (inputs, meta), or compute's result, which is then
 * stored under stash_hash_inputs(inputs, meta). In hdf5: the entry is
 * HashedHDF5's group with "data", "meta", "input" and "output". A none:
 * store always computes. A store that is unavailable, full or given a
 * result too large for it is a miss: the result is computed, returned and
 * not stored, and memo->not_stored says why (after an unavailable get the
 * put is not tried, so the call waits out one timeout, not two). If storing
 * fails otherwise, the call fails with that status and *result is unset
 * (the computed tree is freed). memo may be NULL.
 *
 * A damaged entry under the key (one the reader refuses as corrupt,
 * truncated, of an unknown version or type, or unsafe) is not a result: it
 * is recomputed and replaced, and memo->damaged says why it was refused, so
 * one bad file costs one recomputation rather than failing every call. A
 * failure to read that is not about the entry (-ENOMEM, -EMFILE, -EACCES,
 * STASH_E_LIMIT, STASH_E_UNSUPPORTED) fails the call, and nothing is
 * replaced.
 */
STASH_API stash_status stash_store_memoise(stash_store *store, const stash_value *inputs,
                                           const stash_value *meta,
                                           stash_store_compute_fn compute, void *ctx,
                                           stash_value **result, stash_store_memo *memo);

typedef struct stash_store_gc_stats {
    uint64_t entries, bytes;                 /* before */
    uint64_t evicted_entries, evicted_bytes; /* removed, least recently used first */
    uint64_t swept_temps;                    /* files of crashed writers removed */
} stash_store_gc_stats;

/**
 * dir: sweeps crashed writers' files and evicts least recently used entries
 * until the total is at most max_bytes. pickle: rewrites the file (aside,
 * then renamed into place) with the last record of each key only, dropping
 * the keys put longest ago while the records exceed max_bytes (0: no
 * limit) and a torn record at the end (counted in swept_temps); entries
 * counts keys, bytes the file. redis: evicts nothing (the server does, by
 * its maxmemory-policy) and ignores max_bytes; stats->entries and bytes say
 * what the servers hold under the prefix. stats may be NULL. hdf5:
 * STASH_E_UNSUPPORTED (HDF5 does not give space back; use h5repack).
 */
STASH_API stash_status stash_store_gc(stash_store *store, uint64_t max_bytes,
                                      stash_store_gc_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* STASH_STORE_H */
