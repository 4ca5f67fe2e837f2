/*
 * The result store's insides: the backend table every backend fills, and
 * the helpers they share (key rules, the dir: entry codec).
 */
#ifndef STASH_STORE_INTERNAL_H
#define STASH_STORE_INTERNAL_H

#include <stash/store.h>

/* One backend: each call gets the backend's own state. Keys are checked. */
struct store_ops {
    const char *name;
    stash_status (*put)(void *impl, const char *key, const stash_value *value);
    /* A memoised result with what it was computed from (NULL: as put). */
    stash_status (*put_memo)(void *impl, const char *key, const stash_value *value,
                             const stash_value *inputs, const stash_value *meta);
    stash_status (*get)(void *impl, const char *key, stash_value **out);
    stash_status (*has)(void *impl, const char *key);
    stash_status (*remove)(void *impl, const char *key);
    stash_status (*list)(void *impl, stash_store_list_fn fn, void *ctx);
    stash_status (*gc)(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats);
    stash_status (*close)(void *impl); /* what releasing found; frees impl in any case */
};

/* Backends: open what path names, or fail leaving nothing open. */
stash_status store_dir_open(const char *path, const stash_store_options *options, void **impl);
extern const struct store_ops store_dir_ops;
stash_status store_hdf5_open(const char *path, const stash_store_options *options, void **impl);
extern const struct store_ops store_hdf5_ops;
/* Rolls back what a killed writer left in the hdf5: file path (stash_store_recover). */
stash_status store_hdf5_recover(const char *path, bool *rolled_back);
stash_status store_pickle_open(const char *path, const stash_store_options *options, void **impl);
extern const struct store_ops store_pickle_ops;
stash_status store_redis_open(const char *rest, const stash_store_options *options, void **impl);
stash_status store_redis_unix_open(const char *rest, const stash_store_options *options,
                                   void **impl);
extern const struct store_ops store_redis_ops;

/* Checks a key against the rules in store.h. */
stash_status store_key_check(const char *key);

/*
 * The dir: entry codec (docs/store.md, "dir: entries"): an NCO file whose
 * first object's pickle is {"format": "stash-entry", "version": 1, "key":
 * key, "value": value}, with value's arrays as persistent ids 0, 1, ...
 * and array i in object i. Arrays come back as views of the file's bytes.
 * A reader given a key (not NULL) refuses, with STASH_E_CORRUPT, an entry
 * that names another key.
 */
stash_status store_entry_write(int fd, const char *key, const stash_value *value);
/* The same bytes into any stream (redis: writes them into memory). */
struct stash_stream;
stash_status store_entry_write_stream(struct stash_stream *out, const char *key,
                                      const stash_value *value);
stash_status store_entry_read(int fd, const char *path, const char *key, stash_value **value);

/* The entry in an open NCO handle, which it takes over (also on failure). */
struct stash_nco;
stash_status store_entry_decode(struct stash_nco *nco, const char *key, stash_value **value);

/* Entries up to this size are read with one pread (and cached by dir:); larger ones mapped. */
#define SMALL_ENTRY_BYTES 4096

#endif
