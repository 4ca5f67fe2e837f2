/*
 * The memory file shared by src/memfile/memfile.c (the file) and
 * src/memfile/memfile_handle.c (its streams and FILE *s).
 *
 * Layout: a memfd mapped once, MAP_SHARED, over max_size bytes of reserved
 * address space at base. The memfd's length (capacity) only changes with
 * ftruncate, so growth never moves base. Before the first export capacity
 * grows geometrically ahead of size, and bytes in [size, capacity) are always
 * zero (shrinks go through ftruncate, which drops them), so a write past the
 * end needs no memset for its gap. After the export the descriptor's own
 * length is the size: others may grow it, so reads that reach past the known
 * size re-read it with fstat, and a seal forbids shrinking it. Others may
 * even grow it past max_size: the cached size stays capped at max_size, so
 * the memcpy fast paths never leave the mapping, and reads past it use pread.
 */
#ifndef STASH_MEMFILE_INTERNAL_H
#define STASH_MEMFILE_INTERNAL_H

#include <stash/memfile.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct stash_memfile {
    atomic_ulong refs;    /* the creator's reference + one per handle */
    unsigned flags;       /* STASH_MEMFILE_* */
    int fd;               /* the memfd */
    unsigned char *base;  /* max_size bytes mapped from fd */
    uint64_t max_size;
    _Atomic uint64_t size; /* <= max_size; atomic: readers may refresh it after export */
    uint64_t capacity;     /* the memfd's length, before the export */
    bool exported;         /* sealed against shrinking; fd length == size */
    pthread_rwlock_t lock; /* taken only with STASH_MEMFILE_LOCKED */
    char name[];
};

void memfile_retain(stash_memfile *mf);
stash_status memfile_release(stash_memfile *mf);

/* Each takes the lock itself when the file is locked. offset is unchecked
 * for sign: the callers pass offsets already known to be in [0, INT64_MAX]. */
stash_status memfile_read(stash_memfile *mf, void *buf, size_t len, uint64_t offset,
                          size_t *got);
stash_status memfile_write(stash_memfile *mf, const void *buf, size_t len, uint64_t offset);
stash_status memfile_append(stash_memfile *mf, const void *buf, size_t len, uint64_t *offset);
stash_status memfile_current_size(stash_memfile *mf, uint64_t *size);

/* Prepares the file for a handle opened with open_flags (O_TRUNC, O_EXCL) and,
 * for append modes, says where the handle starts. */
stash_status memfile_prepare_open(stash_memfile *mf, int open_flags, uint64_t *end);

#endif
