/*
 * The descriptor pool behind temp storages, as the file backend sees it.
 *
 * A slot is one temp file. Its descriptor may be closed by the pool at any
 * time the slot is not pinned; pool_slot_acquire() pins it (reopening the
 * file if the pool had closed it) and pool_slot_release() unpins it. Only
 * the descriptor is ever touched by the pool: a slot's owner keeps its
 * buffer, so eviction never writes data on another thread's behalf.
 */
#ifndef STASH_STORAGE_POOL_H
#define STASH_STORAGE_POOL_H

#include <stash/storage.h>

struct pool_slot;

/* A new empty temp file in pool; takes a reference on the pool. */
stash_status pool_slot_create(stash_storage_pool *pool, struct pool_slot **out);

/* Pins the slot's descriptor open and returns it in *fd. */
stash_status pool_slot_acquire(struct pool_slot *slot, int *fd);

/* Unpins a descriptor returned by pool_slot_acquire. */
void pool_slot_release(struct pool_slot *slot);

/* Closes and removes the temp file, frees the slot, drops its pool reference. */
stash_status pool_slot_destroy(struct pool_slot *slot);

/* A read-write file stream over the slot's empty file, owning the slot from
 * then on (closing the stream destroys it); on failure the slot is destroyed. */
stash_status pool_slot_open_stream(struct pool_slot *slot, size_t buffer_bytes,
                                   stash_stream **out);

#endif
