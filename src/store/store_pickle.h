/*
 * The pickle: backend's insides, shared by store_pickle.c (opening, puts,
 * gets, the index) and store_pickle_rewrite.c (delete and gc, which write
 * the file anew).
 */
#ifndef STASH_STORE_PICKLE_H
#define STASH_STORE_PICKLE_H

#include "store/store_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* One whole record of the file: its bytes [offset, end). */
struct pickle_record {
    uint64_t offset, end;
    size_t slot; /* its key's place in pickle_index.keys */
};

/*
 * What the handle knows of the file as it last read it: every whole record
 * in file order, and for each key the number of its last record. A file
 * with another inode (delete and gc publish a new one) or shorter than end
 * is read again from the start; a longer one from end on.
 */
struct pickle_index {
    bool valid;
    dev_t dev;
    ino_t ino;
    uint64_t end; /* where the last whole record ends */
    struct pickle_record *records;
    size_t count, cap;
    stash_value *keys; /* dict: key -> int, the number of its last record */
};

struct pickle_store {
    char *path;
    int lock_fd; /* PATH.lock; -1 for a read-only handle without one */
    int read_fd; /* the file as readers last found it, kept open; -1: none yet */
    dev_t read_dev;
    ino_t read_ino;
    char *record_buf; /* a get's record, read into this buffer kept between gets */
    size_t record_cap;
    stash_store_options options;
    struct pickle_index index;
};

/* Forgets the index, so the next read starts from the file's beginning. */
void pickle_index_reset(struct pickle_index *ix);

/*
 * Brings the index up to the file open at fd: reads the records after
 * ix->end. *torn (optional) says whether a record was cut short at the
 * end (a writer killed mid-append, or one appending now); its bytes are not
 * indexed. A record that is not a dict with a str "key" and a "data" is
 * STASH_E_CORRUPT; a pickle stash refuses gives the reader's status.
 */
stash_status pickle_index_update(struct pickle_index *ix, int fd, bool *torn);

/* The same for a file whose identity and size the caller has just read (about). */
stash_status pickle_index_update_to(struct pickle_index *ix, int fd, const struct stat *about,
                                    bool *torn);

/* Takes the lock file alone (writers), or STASH_E_NOT_WRITABLE for a read-only handle. */
stash_status pickle_lock(struct pickle_store *p);
void pickle_unlock(struct pickle_store *p);

/* Opens the file for reading or, under the lock, writing. */
stash_status pickle_open_file(const struct pickle_store *p, bool write, int *fd);

/* delete and gc: store_pickle_rewrite.c. */
stash_status pickle_remove(void *impl, const char *key);
stash_status pickle_gc(void *impl, uint64_t max_bytes, stash_store_gc_stats *stats);

#endif
