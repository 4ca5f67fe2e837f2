/*
 * The dir: backend's state, shared by its two halves: store_dir.c (entries:
 * put, get, list) and store_dir_gc.c (the recency log, eviction, sweeping).
 *
 * Layout of a store directory (docs/store.md, "dir: layout"):
 *   .stash-store              marker: "stash dir store 1\n"
 *   .stash-lock               flock'd: puts and deletes share it, gc holds it alone
 *   .stash-lru                recency log: one entry file name per line, oldest first
 *   <name>.nco                an entry; name is the key, percent-encoded
 *   <name>.nco.tmp-PID-N      an entry being written (or left by a crash)
 *   <name>.nco.stashidx       an NCO index older versions wrote beside entries;
 *                             removed with its entry, and by gc once its entry is gone
 */
#ifndef STASH_STORE_DIR_H
#define STASH_STORE_DIR_H

#include "store/store_internal.h"

#include <stash/nco.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DIR_MARKER ".stash-store"
#define DIR_MARKER_TEXT "stash dir store 1\n"
#define DIR_LOCK ".stash-lock"
#define DIR_LRU ".stash-lru"
#define DIR_ENTRY_SUFFIX ".nco"
/* File names: the encoded key and the suffix stay under NAME_MAX with room for ".tmp-PID-N". */
#define DIR_NAME_MAX 200
#define DIR_CACHE_SLOTS 64

struct cached_entry;

struct dir_store {
    char *root;
    stash_store_options options;
    int dir_fd;              /* the store's directory, for *at calls */
    uid_t owner;             /* the directory's owner: its files are this user's or ours */
    int lock_fd;             /* -1 if read-only and there is none */
    struct cached_entry *cache;  /* DIR_CACHE_SLOTS small entries, by name hash */
    char recent[4096];       /* recency records not yet appended to the log */
    size_t recent_len;
    uint64_t approx_bytes;   /* entries' total as last scanned, plus puts since */
    uint64_t log_compact_at; /* the recency log's size that makes a batch compact it */
};

/* key -> "<encoded key>.nco" in name (DIR_NAME_MAX + 1 bytes); STASH_E_LIMIT if too long. */
stash_status dir_name_of(const char *key, char *name);

/* The key of an entry's file name into key (STASH_STORE_KEY_MAX + 1 bytes), or STASH_E_CORRUPT. */
stash_status dir_key_of(const char *name, char *key);

/*
 * Opens one of the store's own files (name in its directory) with flags
 * (O_RDONLY, O_RDWR, O_WRONLY | O_APPEND, each maybe | O_CREAT), never
 * following a symlink and never blocking in open: anything but a regular
 * file owned by us or by the directory's owner (a link, a FIFO, a device,
 * someone else's file planted there) is STASH_E_CORRUPT. A missing file is
 * -ENOENT.
 */
stash_status dir_open_own(const struct dir_store *d, const char *name, int flags, int *fd);

/* root + "/" + name, or -ENAMETOOLONG. */
stash_status dir_path(const struct dir_store *d, const char *name, char *path, size_t cap);

/* Notes that name was used; buffered, appended to the log in batches. */
void dir_note_use(struct dir_store *d, const char *name);

/* Appends the buffered records to the log. */
void dir_flush_uses(struct dir_store *d);

/* Removes the NCO index an older version may have left beside entry name. */
void dir_remove_index(const struct dir_store *d, const char *name);

/* Removes files of writers that are gone (*swept counts them), and indexes of entries that are gone. */
stash_status dir_sweep(struct dir_store *d, uint64_t *swept);

/* Adds up the entries' sizes. */
stash_status dir_total_bytes(struct dir_store *d, uint64_t *bytes, uint64_t *entries);

stash_status dir_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats);

/* Frees the cache of small entries. */
void dir_cache_free(struct dir_store *d);

/* The entry file name, from the cache or the file: STASH_E_NOT_FOUND if none. */
stash_status dir_open_entry(struct dir_store *d, const char *name, stash_nco **nco);

#endif
